//! The console's rental screens driven as staff use them: a rent-to-own
//! contract's return recorded with damage charged to the deposit, the
//! unit's inspection finished, payments and a buy-out recorded; the
//! refusals (a charge above the deposit, a viewer's forged posts, another
//! shop's records) leave everything as it was, checked through the admin
//! API.

use reqwest::StatusCode;
use serde_json::{Value, json};
use storekeep_test_support::TestApp;

use crate::commerce_support::{Shop, selling_shop};
use crate::console_support::{SESSION, figure, staff_console, submit, web_app};
use crate::identity::cli_staff;
use crate::rentals_life_support::{contract, get, payments, plan, unit, unit_state};
use crate::web_browser::Browser;
use crate::web_support::get_at;

/// A selling shop `slug` (a 120.00 laptop) with a viewer, a 3-month
/// rent-to-own plan (`plan_fields` over 50.00 a month and a 20.00
/// deposit), one serial-tracked unit and a paid contract renting it:
/// `(shop, unit id, contract id)`.
async fn rented(app: &TestApp, slug: &str, plan_fields: Value) -> (Shop, String, String) {
    let s = selling_shop(app, slug, 12_000, 3).await;
    cli_staff(app, slug, &format!("viewer@{slug}.example"), "viewer").await;
    let plan = plan(app, &s, plan_fields).await;
    let laptop = unit(app, &s, &format!("SN-{slug}-1")).await;
    let id = contract(app, &s, &plan).await;
    (s, laptop, id)
}

async fn detail(app: &TestApp, s: &Shop, id: &str) -> Value {
    get(app, s, &format!("/api/v1/admin/rental-contracts/{id}")).await["contract"].clone()
}

/// A console page fetched with `b`'s session, with its headers (for
/// `assert_safe`).
async fn safe(app: &TestApp, b: &Browser, path: &str) {
    let cookie = format!("{SESSION}={}", b.jar[SESSION]);
    let page = get_at(app, &b.host, path, &[("cookie", &cookie)]).await;
    assert_eq!(page.status, 200, "{path}: {}", page.body);
    page.assert_safe();
}

#[tokio::test]
async fn a_damaged_return_is_recorded_in_the_console_and_the_unit_waits_for_its_inspection() {
    let app = web_app().await;
    let (s, laptop, id) = rented(&app, "rent", json!({})).await;
    let mut b = staff_console(&app, "rent", "owner").await;

    // The list, its filter, and a filter value that is no status.
    let list = b.get("/console/rentals").await;
    assert_eq!(list.status, StatusCode::OK, "{}", list.body);
    assert!(list.body.contains(&format!("data-contract=\"{id}\"")));
    let active = b.get("/console/rentals?status=active").await;
    assert!(active.body.contains(&format!("data-contract=\"{id}\"")));
    let returned = b.get("/console/rentals?status=returned").await;
    assert!(!returned.body.contains(&format!("data-contract=\"{id}\"")));
    let bad = b.get("/console/rentals?status=sleeping").await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert!(bad.body.contains("status must be one of"), "{}", bad.body);

    // The contract: terms, schedule, payments, deposit, the return form.
    let path = format!("/console/rentals/{id}");
    let page = b.get(&path).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(page.body.contains("renter@example.com"), "{}", page.body);
    assert!(page.body.contains("SN-rent-1"));
    assert!(page.body.contains("data-status=\"active\""));
    assert!(page.body.contains("data-payment=\"deposit\""));
    assert!(page.body.contains("data-payment=\"installment\""));
    assert!(page.body.contains("state-paid") && page.body.contains("state-due"));
    assert!(page.body.contains("No buy-out"), "{}", page.body);
    assert!(
        page.body
            .contains(&format!("action=\"/console/rentals/{id}/return\""))
    );
    safe(&app, &b, &path).await;
    safe(&app, &b, "/console/rentals").await;

    // A charge above the deposit held (20.00): 422, the message beside the
    // field, nothing written.
    let ret = format!("/console/rentals/{id}/return");
    let over = submit(
        &mut b,
        &page,
        &ret,
        &[
            ("outcome", "damaged"),
            ("charge", "25.00"),
            ("reason", "cracked screen"),
            ("notes", ""),
        ],
    )
    .await;
    assert_eq!(
        over.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        over.body
    );
    assert!(
        over.body
            .contains("must be more than zero and at most the deposit held"),
        "{}",
        over.body
    );
    assert!(over.body.contains("aria-describedby=\"charge-error\""));
    assert!(
        over.body.contains("value=\"cracked screen\""),
        "kept as typed"
    );
    // Not an amount at all, and a charge without its reason: 422 too.
    let nan = submit(
        &mut b,
        &page,
        &ret,
        &[("outcome", "damaged"), ("charge", "lots"), ("reason", "x")],
    )
    .await;
    assert_eq!(nan.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(nan.body.contains("must be an amount such as 15.00"));
    let no_reason = submit(
        &mut b,
        &page,
        &ret,
        &[("outcome", "damaged"), ("charge", "5.00"), ("reason", "")],
    )
    .await;
    assert_eq!(no_reason.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(no_reason.body.contains("is required with a charge"));
    let c = detail(&app, &s, &id).await;
    assert_eq!(c["status"], "active");
    assert_eq!(payments(&c).len(), 2);
    assert_eq!(unit_state(&app, &s, &laptop).await.0, "rented");

    // The return with 15.00 of damage kept from the deposit.
    let done = submit(
        &mut b,
        &page,
        &ret,
        &[
            ("outcome", "damaged"),
            ("charge", "15.00"),
            ("reason", "cracked screen"),
            ("notes", "hinge loose"),
        ],
    )
    .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    assert_eq!(
        done.location.as_deref(),
        Some(format!("/console/rentals/{id}?done=return").as_str())
    );
    let after = b.follow(done).await;
    assert!(after.body.contains("<p class=\"notice\" role=\"status\">"));
    assert!(after.body.contains("data-status=\"returned\""));
    assert!(
        !after
            .body
            .contains(&format!("action=\"/console/rentals/{id}/return\""))
    );
    let c = detail(&app, &s, &id).await;
    assert_eq!(c["status"], "returned");
    assert_eq!(c["deposit_held"]["amount"], 0);
    assert_eq!(
        payments(&c),
        [
            ("deposit".to_owned(), 2_000),
            ("installment".to_owned(), 5_000),
            ("damage_charge".to_owned(), 1_500),
            ("deposit_refund".to_owned(), 500),
        ]
    );
    assert_eq!(c["payments"][2]["reason"], "cracked screen");
    assert!(
        c["payments"][2]["actor"]
            .as_str()
            .unwrap()
            .starts_with("staff:"),
        "{}",
        c["payments"][2]
    );
    let (status, history) = unit_state(&app, &s, &laptop).await;
    assert_eq!(status, "inspection");
    assert_eq!(history[0], "returned");

    // The dashboard counts it; the units list and the unit show it.
    let home = b.get("/console").await;
    assert_eq!(figure(&home, "to_inspect"), "1");
    let units = b.get("/console/rentals/units?status=inspection").await;
    assert_eq!(units.status, StatusCode::OK, "{}", units.body);
    assert!(units.body.contains(&format!("data-unit=\"{laptop}\"")));
    let none = b.get("/console/rentals/units?status=available").await;
    assert!(!none.body.contains(&format!("data-unit=\"{laptop}\"")));
    assert_eq!(
        b.get("/console/rentals/units?status=lost").await.status,
        StatusCode::BAD_REQUEST
    );
    let upath = format!("/console/rentals/units/{laptop}");
    let u = b.get(&upath).await;
    assert_eq!(u.status, StatusCode::OK, "{}", u.body);
    assert!(u.body.contains("hinge loose"), "{}", u.body);
    assert!(u.body.contains("Finish the inspection"));
    safe(&app, &b, &upath).await;
    safe(&app, &b, "/console/rentals/units").await;

    // The inspection: back on the shelf at grade b; the figure drops.
    let moved = submit(
        &mut b,
        &u,
        &format!("{upath}/status"),
        &[
            ("status", "available"),
            ("condition", "b"),
            ("note", "screen replaced"),
        ],
    )
    .await;
    assert_eq!(moved.status, StatusCode::SEE_OTHER, "{}", moved.body);
    let (status, history) = unit_state(&app, &s, &laptop).await;
    assert_eq!(status, "available");
    assert_eq!(history[0], "inspected");
    let home = b.get("/console").await;
    assert_eq!(figure(&home, "to_inspect"), "0");
    // No inspection form for an available unit; a move the unit rules do
    // not allow (renting is a contract's) is a 409 with nothing changed.
    let u = b.get(&upath).await;
    assert!(!u.body.contains("Finish the inspection"));
    let again = submit(
        &mut b,
        &u,
        &format!("{upath}/status"),
        &[("status", "rented"), ("condition", "a"), ("note", "")],
    )
    .await;
    assert_eq!(again.status, StatusCode::CONFLICT, "{}", again.body);
    assert_eq!(unit_state(&app, &s, &laptop).await.0, "available");
}

#[tokio::test]
async fn payments_and_a_buyout_are_recorded_in_the_console() {
    let app = web_app().await;
    let rule = json!({"buyout": {"type": "cash_price_minus_rent", "bps": 5_000}});
    let (s, laptop, id) = rented(&app, "own", rule).await;
    cli_staff(&app, "own", "admin@own.example", "admin").await;
    let mut b = staff_console(&app, "own", "admin").await;
    let path = format!("/console/rentals/{id}");
    let page = b.get(&path).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(page.body.contains("data-buyout-total"), "{}", page.body);

    // A reference too long: 422, nothing paid.
    let pay = format!("/console/rentals/{id}/payments");
    let long = "x".repeat(201);
    let bad = submit(&mut b, &page, &pay, &[("reference", &long)]).await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", bad.body);
    assert!(bad.body.contains("at most 200 characters"));
    assert!(detail(&app, &s, &id).await["installments"][1]["paid_at"].is_null());

    // An installment that is none of this contract's: 422; the first,
    // paid at checkout: 409; nothing paid either way.
    let unknown = uuid::Uuid::now_v7().to_string();
    let bad = submit(&mut b, &page, &pay, &[("installment_id", &unknown)]).await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", bad.body);
    assert!(bad.body.contains("refers to something that does not exist"));
    assert!(
        bad.body
            .contains("aria-describedby=\"installment_id-error\"")
    );
    let first = detail(&app, &s, &id).await["installments"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let paid = submit(&mut b, &page, &pay, &[("installment_id", &first)]).await;
    assert_eq!(paid.status, StatusCode::CONFLICT, "{}", paid.body);
    assert!(paid.body.contains("is paid already"), "{}", paid.body);
    assert_eq!(payments(&detail(&app, &s, &id).await).len(), 2);

    // The second installment paid in cash.
    let second = detail(&app, &s, &id).await["installments"][1]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let done = submit(
        &mut b,
        &page,
        &pay,
        &[("installment_id", &second), ("reference", "cash 42")],
    )
    .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    let c = detail(&app, &s, &id).await;
    assert!(!c["installments"][1]["paid_at"].is_null());
    assert!(c["installments"][2]["paid_at"].is_null());
    assert_eq!(c["payments"][2]["reference"], "cash 42");

    // The buy-out at the quote the page shows: 120.00 less half the 100.00
    // paid.
    let page = b.follow(done).await;
    assert!(page.body.contains("The payment was recorded."));
    let amount = page.input("amount").unwrap();
    assert_eq!(amount, "7000");
    let stale = submit(
        &mut b,
        &page,
        &format!("/console/rentals/{id}/buyout"),
        &[("amount", "6999"), ("reference", "")],
    )
    .await;
    assert_eq!(stale.status, StatusCode::CONFLICT, "{}", stale.body);
    assert_eq!(detail(&app, &s, &id).await["status"], "active");
    let bought = submit(
        &mut b,
        &page,
        &format!("/console/rentals/{id}/buyout"),
        &[("amount", &amount), ("reference", "transfer 7")],
    )
    .await;
    assert_eq!(bought.status, StatusCode::SEE_OTHER, "{}", bought.body);
    let c = detail(&app, &s, &id).await;
    assert_eq!(c["status"], "bought_out");
    assert_eq!(unit_state(&app, &s, &laptop).await.0, "sold");
}

#[tokio::test]
async fn a_viewer_sees_no_rental_forms_and_its_forged_posts_change_nothing() {
    let app = web_app().await;
    let (s, laptop, id) = rented(&app, "peek", json!({})).await;
    let mut v = staff_console(&app, "peek", "viewer").await;
    let path = format!("/console/rentals/{id}");
    let page = v.get(&path).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(!page.body.contains(&format!("/console/rentals/{id}/return")));
    assert!(
        !page
            .body
            .contains(&format!("/console/rentals/{id}/payments"))
    );
    assert!(!page.body.contains("Record the return"));

    // Forged posts with the viewer's own valid token: 403, nothing written.
    for (action, fields) in [
        (
            "return",
            vec![
                ("outcome", "damaged"),
                ("charge", "15.00"),
                ("reason", "cracked"),
            ],
        ),
        ("payments", vec![("reference", "cash")]),
        ("buyout", vec![("reference", "cash")]),
    ] {
        let forged = submit(
            &mut v,
            &page,
            &format!("/console/rentals/{id}/{action}"),
            &fields,
        )
        .await;
        assert_eq!(
            forged.status,
            StatusCode::FORBIDDEN,
            "{action}: {}",
            forged.body
        );
    }
    let c = detail(&app, &s, &id).await;
    assert_eq!(c["status"], "active");
    assert_eq!(payments(&c).len(), 2);
    assert_eq!(unit_state(&app, &s, &laptop).await.0, "rented");

    // Another shop's contract and unit are not found here, to read or to
    // act on; nor is a malformed id.
    let (other, their_unit, theirs) = rented(&app, "else", json!({})).await;
    let mut b = staff_console(&app, "peek", "owner").await;
    let mine = b.get(&path).await;
    for p in [
        format!("/console/rentals/{theirs}"),
        format!("/console/rentals/units/{their_unit}"),
        "/console/rentals/not-an-id".to_owned(),
    ] {
        let page = b.get(&p).await;
        assert_eq!(page.status, StatusCode::NOT_FOUND, "{p}: {}", page.body);
    }
    let forged = submit(
        &mut b,
        &mine,
        &format!("/console/rentals/{theirs}/return"),
        &[("outcome", "missing")],
    )
    .await;
    assert_eq!(forged.status, StatusCode::NOT_FOUND, "{}", forged.body);
    assert_eq!(detail(&app, &other, &theirs).await["status"], "active");
    // The viewer's rental screens carry the CSP and no inline style.
    safe(&app, &v, &path).await;
}

#[tokio::test]
async fn the_overdue_filter_lists_a_contract_behind_on_an_installment() {
    let app = web_app().await;
    let (_s, _laptop, id) = rented(&app, "late", json!({})).await;
    // The daily pass, run as an operator would for a day six weeks on:
    // the second installment (due a month after the start) is overdue.
    let day = (chrono::Utc::now() + chrono::Duration::days(45))
        .date_naive()
        .to_string();
    let mut cmd =
        storekeep_test_support::storekeep_command(env!("CARGO_BIN_EXE_storekeep"), &app.db);
    cmd.args(["rentals", "run-daily", "--date", &day]);
    let out = tokio::task::spawn_blocking(move || cmd.output())
        .await
        .unwrap()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut b = staff_console(&app, "late", "viewer").await;
    let overdue = b.get("/console/rentals?status=overdue").await;
    assert_eq!(overdue.status, StatusCode::OK, "{}", overdue.body);
    assert!(
        overdue.body.contains(&format!("data-contract=\"{id}\"")),
        "{}",
        overdue.body
    );
    let active = b.get("/console/rentals?status=active").await;
    assert!(!active.body.contains(&format!("data-contract=\"{id}\"")));
    let home = b.get("/console").await;
    assert_eq!(figure(&home, "overdue_rentals"), "1");
}

#[tokio::test]
async fn a_contract_is_extended_and_units_are_added_and_graded_in_the_console() {
    let app = web_app().await;
    let long = json!({"max_term": 6, "extension_allowed": true});
    let (s, laptop, id) = rented(&app, "grow", long).await;
    let mut b = staff_console(&app, "grow", "owner").await;

    // Extension: at most three more months under the plan's six; a number
    // past that is refused beside the field, nothing appended.
    let path = format!("/console/rentals/{id}");
    let page = b.get(&path).await;
    assert!(page.body.contains("Extend the contract"), "{}", page.body);
    let extend = format!("/console/rentals/{id}/extend");
    for (typed, words) in [
        ("4", "at most 3 more"),
        ("many", "whole number"),
        ("0", "at least 1"),
    ] {
        let bad = submit(&mut b, &page, &extend, &[("periods", typed)]).await;
        assert_eq!(
            bad.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{typed}: {}",
            bad.body
        );
        assert!(bad.body.contains(words), "{typed}: {}", bad.body);
        assert!(bad.body.contains("aria-describedby=\"periods-error\""));
    }
    assert_eq!(
        detail(&app, &s, &id).await["installments"]
            .as_array()
            .unwrap()
            .len(),
        3
    );
    let done = submit(&mut b, &page, &extend, &[("periods", "2")]).await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    let c = detail(&app, &s, &id).await;
    assert_eq!(c["term"], 5);
    assert_eq!(c["installments"].as_array().unwrap().len(), 5);
    let page = b.follow(done).await;
    assert!(
        page.body.contains("The contract was extended"),
        "{}",
        page.body
    );

    // A unit's grade and notes, audited as the unit's change.
    let unit_path = format!("/console/rentals/units/{laptop}");
    let page = b.get(&unit_path).await;
    let bad = submit(
        &mut b,
        &page,
        &unit_path,
        &[("condition", "z"), ("notes", "")],
    )
    .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", bad.body);
    assert!(bad.body.contains("must be a, b or c"), "{}", bad.body);
    assert!(
        bad.body
            .contains("aria-describedby=\"edit-condition-error\"")
    );
    let u = get(&app, &s, &format!("/api/v1/admin/rental-units/{laptop}")).await;
    assert_eq!(u["rental_unit"]["condition"], "a");
    let saved = submit(
        &mut b,
        &page,
        &unit_path,
        &[("condition", "b"), ("notes", "scratch on the lid")],
    )
    .await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.body);
    let u = get(&app, &s, &format!("/api/v1/admin/rental-units/{laptop}")).await;
    assert_eq!(u["rental_unit"]["condition"], "b");
    assert_eq!(u["rental_unit"]["notes"], "scratch on the lid");

    // A new unit: a serial already taken is refused, a new one is added.
    let page = b.get("/console/rentals/units").await;
    assert!(page.body.contains("Add a unit"), "{}", page.body);
    let taken = "SN-grow-1";
    let bad = submit(
        &mut b,
        &page,
        "/console/rentals/units",
        &[
            ("variant_id", &s.variant),
            ("serial", taken),
            ("condition", "a"),
        ],
    )
    .await;
    assert_eq!(bad.status, StatusCode::CONFLICT, "{}", bad.body);
    assert!(
        bad.body.contains(taken),
        "the typed serial is kept: {}",
        bad.body
    );
    let bad = submit(
        &mut b,
        &page,
        "/console/rentals/units",
        &[
            ("variant_id", "nope"),
            ("serial", "SN-grow-2"),
            ("condition", "a"),
        ],
    )
    .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", bad.body);
    assert!(bad.body.contains("aria-describedby=\"variant-error\""));
    let units = get(&app, &s, "/api/v1/admin/rental-units").await;
    assert_eq!(units["items"].as_array().unwrap().len(), 1, "{units}");
    let added = submit(
        &mut b,
        &page,
        "/console/rentals/units",
        &[
            ("variant_id", &s.variant),
            ("serial", "SN-grow-2"),
            ("condition", "c"),
        ],
    )
    .await;
    assert_eq!(added.status, StatusCode::SEE_OTHER, "{}", added.body);
    let page = b.follow(added).await;
    assert!(page.body.contains("Unit SN-grow-2"), "{}", page.body);
    let units = get(&app, &s, "/api/v1/admin/rental-units").await;
    let items = units["items"].as_array().unwrap();
    assert_eq!(items.len(), 2, "{units}");
    assert!(items.iter().any(|u| u["serial"] == "SN-grow-2"
        && u["condition"] == "c"
        && u["status"] == "available"));
}

#[tokio::test]
async fn a_viewer_can_neither_extend_nor_add_nor_grade_units() {
    let app = web_app().await;
    let long = json!({"max_term": 6, "extension_allowed": true});
    let (s, laptop, id) = rented(&app, "still", long).await;
    let mut v = staff_console(&app, "still", "viewer").await;
    let page = v.get(&format!("/console/rentals/{id}")).await;
    assert!(!page.body.contains("Extend the contract"));
    let units = v.get("/console/rentals/units").await;
    assert!(!units.body.contains("Add a unit"));
    let unit_page = v.get(&format!("/console/rentals/units/{laptop}")).await;
    assert!(!unit_page.body.contains("Grade and notes"));
    let forged = submit(
        &mut v,
        &page,
        &format!("/console/rentals/{id}/extend"),
        &[("periods", "1")],
    )
    .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN, "{}", forged.body);
    let forged = submit(
        &mut v,
        &units,
        "/console/rentals/units",
        &[("variant_id", &s.variant), ("serial", "SN-still-9")],
    )
    .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN, "{}", forged.body);
    let forged = submit(
        &mut v,
        &unit_page,
        &format!("/console/rentals/units/{laptop}"),
        &[("condition", "c"), ("notes", "")],
    )
    .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN, "{}", forged.body);
    assert_eq!(detail(&app, &s, &id).await["term"], 3);
    let u = get(&app, &s, &format!("/api/v1/admin/rental-units/{laptop}")).await;
    assert_eq!(u["rental_unit"]["condition"], "a");
    let all = get(&app, &s, "/api/v1/admin/rental-units").await;
    assert_eq!(all["items"].as_array().unwrap().len(), 1);
}
