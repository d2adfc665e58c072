//! Money that reaches a contract after it closed, or before its order was
//! paid: a provider's confirmation arriving after a buy-out records no
//! installment (the audit log says the money is the shop's to refund); a
//! customer cannot pay an installment of an unpaid order; the daily pass
//! leaves unpaid orders' contracts alone and charges no late fee on an
//! installment whose payment awaits its provider.

use chrono::{Days, Utc};
use serde_json::json;
use storekeep_test_support::{problem, spawn_app_with};

use crate::commerce_support::{accept_test_payments, selling_shop};
use crate::rentals_contract_support::count;
use crate::rentals_life_support::{act, payments, plan, unit};
use crate::rentals_pay::{admin_contract, due_on, run_daily};
use crate::rentals_self_pay::{
    app, app_without_daily_pass, customer, customer_checkout, customer_contract, pay,
};
use crate::rentals_support::ok;

#[tokio::test]
async fn a_payment_confirmed_after_a_buy_out_is_not_applied_and_is_audited() {
    // The simulated processor confirms 4 s after the payment starts: the
    // buy-out comes in between.
    let app = spawn_app_with(|s| s.payments.test_delay = std::time::Duration::from_secs(4)).await;
    let s = selling_shop(&app, "late", 12_000, 3).await;
    accept_test_payments(&app, &s).await;
    let renter = customer(&app, &s, "renter@example.com").await;
    let buyout = json!({"buyout": {"type": "cash_price_minus_rent", "bps": 5_000}});
    let plan = plan(&app, &s, buyout).await;
    unit(&app, &s, "SN-LATE-1").await;
    let id = customer_contract(&app, &s, &renter, &plan).await;

    let by_card = json!({"payment_provider": "test"});
    let started = ok(pay(&app, &s, Some(&renter), &id, by_card, None).await, 201).await;
    assert_eq!(started["payment"]["seq"], 2);
    // Staff buy the contract out while the card payment is pending:
    // 12 000 − 50 % of the 5 000 paid.
    let c = ok(act(&app, &s, &id, "buyout", json!({})).await, 200).await["contract"].clone();
    assert_eq!(c["status"], "bought_out");

    // The processor's confirmation arrives: audited as unapplied, nothing
    // recorded on the closed contract.
    let unapplied =
        "SELECT count(*) FROM audit_log WHERE action = 'rental_contract.payment_unapplied'";
    for _ in 0..200 {
        if count(&app, unapplied).await > 0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(count(&app, unapplied).await, 1);
    let c = admin_contract(&app, &s, &id).await;
    assert_eq!(c["status"], "bought_out");
    assert!(c["installments"][1]["paid_at"].is_null(), "{c}");
    assert_eq!(
        payments(&c),
        [
            ("deposit".to_owned(), 2_000),
            ("installment".to_owned(), 5_000),
            ("buyout".to_owned(), 9_500),
        ]
    );
}

#[tokio::test]
async fn nothing_is_paid_on_a_contract_before_its_order_is() {
    let app = app().await;
    let s = selling_shop(&app, "early", 12_000, 3).await;
    let renter = customer(&app, &s, "renter@example.com").await;
    let plan = plan(&app, &s, json!({})).await;
    let (_, id) = customer_checkout(&app, &s, &renter, &plan).await;
    // The order's payment takes the first installment: neither the
    // customer nor staff pay one before it.
    problem(
        pay(&app, &s, Some(&renter), &id, json!({}), None).await,
        409,
    )
    .await;
    problem(act(&app, &s, &id, "payments", json!({})).await, 409).await;
    let c = admin_contract(&app, &s, &id).await;
    assert_eq!(c["payments"], json!([]));
    assert!(c["installments"][0]["paid_at"].is_null());
}

#[tokio::test]
async fn the_daily_pass_leaves_unpaid_orders_and_pending_payments_alone() {
    let app = app_without_daily_pass().await;
    let s = selling_shop(&app, "calm", 12_000, 3).await;
    let renter = customer(&app, &s, "renter@example.com").await;
    let fee = json!({"late_fee": {"type": "fixed", "amount": 700, "grace_days": 2}});
    let plan = plan(&app, &s, fee).await;
    // One contract whose order is still unpaid, one paid with its second
    // installment 10 days late and a bank transfer for it pending.
    let (_, unpaid) = customer_checkout(&app, &s, &renter, &plan).await;
    let paid = customer_contract(&app, &s, &renter, &plan).await;
    let today = Utc::now().date_naive();
    due_on(&app, &unpaid, 1, today - Days::new(10)).await;
    due_on(&app, &paid, 2, today - Days::new(10)).await;
    let transfer = json!({"payment_provider": "manual"});
    ok(
        pay(&app, &s, Some(&renter), &paid, transfer, None).await,
        201,
    )
    .await;

    run_daily(&app, today).await;
    // The unpaid order's contract: not overdue, no fee, no reminder.
    let c = admin_contract(&app, &s, &unpaid).await;
    assert_eq!(c["status"], "active", "{c}");
    assert_eq!(c["installments"][0]["late_fee"]["amount"], 0);
    // The paid one is overdue, but its pending installment takes no fee.
    let c = admin_contract(&app, &s, &paid).await;
    assert_eq!(c["status"], "overdue");
    assert_eq!(c["installments"][1]["late_fee"]["amount"], 0, "{c}");
    let fees = "SELECT count(*) FROM rental_installments WHERE late_fee_at IS NOT NULL";
    assert_eq!(count(&app, fees).await, 0);
}
