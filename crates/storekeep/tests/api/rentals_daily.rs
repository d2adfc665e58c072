//! The daily rentals pass, driven by `storekeep rentals run-daily --date`
//! (what an operator runs to catch up a missed day): reminders three days
//! before, on and after a due date that falls on a month's end, each sent
//! once and arriving by SMTP; the late fee once after the grace days;
//! overdue, then defaulted after `default_after_days`; and two passes at
//! once on one PostgreSQL charging and reminding once.

use std::time::Duration;

use chrono::{Months, NaiveDate};
use reqwest::Method;
use serde_json::{Value, json};
use storekeep_test_support::{TestApp, on_postgres, spawn_app_with, storekeep_command};

use crate::catalog_support::{body, money};
use crate::commerce_support::selling_shop;
use crate::email_support::{Mail, SmtpSink, python_has};
use crate::identity::{admin, customer_token, register};
use crate::rentals_contract_support::{count, seed_contract, sql};

const BIN: &str = env!("CARGO_BIN_EXE_storekeep");

async fn app(sink: Option<&SmtpSink>) -> TestApp {
    let smtp = sink.map(|s| (s.url(), s.ca.clone()));
    spawn_app_with(move |s| {
        if let Some((url, ca)) = smtp {
            s.mail.transport = storekeep::config::MailTransport::Smtp;
            s.mail.smtp_url = Some(storekeep::config::Secret::new(url));
            s.mail.smtp_ca_file = ca;
            s.mail.smtp_timeout = Duration::from_secs(5);
        }
        s.jobs.poll_interval = Duration::from_millis(100);
    })
    .await
}

fn cmd(app: &TestApp, date: &str) -> std::process::Command {
    let mut c = storekeep_command(BIN, &app.db);
    c.args(["rentals", "run-daily", "--date", date]);
    c
}

/// Runs the pass for `date`; what it reports it did. The process is
/// waited for off the runtime, which serves the app meanwhile.
async fn run_daily(app: &TestApp, date: &str) -> Value {
    let mut c = cmd(app, date);
    let out = tokio::task::spawn_blocking(move || c.output())
        .await
        .unwrap()
        .unwrap();
    assert!(
        out.status.success(),
        "run-daily {date}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn did(contracts: u64, overdue: u64, late_fees: u64, defaulted: u64, reminders: u64) -> Value {
    json!({
        "contracts": contracts, "overdue": overdue, "late_fees": late_fees,
        "defaulted": defaulted, "reminders": reminders,
    })
}

/// A paid rent-to-own contract (60.00 a month, 15.00 late after 5 days,
/// default after 30) whose schedule is moved to one that started on 31
/// January 2027: due 28 February, 31 March, 30 April…
async fn month_end_contract(app: &TestApp, slug: &str) -> (String, String) {
    let s = selling_shop(app, slug, 60_000, 500).await;
    assert_eq!(
        register(app, slug, "renter@example.com").await.status(),
        201
    );
    let customer = customer_token(app, slug, "renter@example.com").await;
    let contract = seed_contract(app, slug, &s.token, &customer, &s.variant).await;
    let start = NaiveDate::from_ymd_opt(2027, 1, 31).unwrap();
    let moves: Vec<String> = (1..=12u32)
        .map(|seq| {
            let due = start + Months::new(seq - 1);
            format!(
                "UPDATE rental_installments SET due_date = '{due}' \
                 WHERE contract_id = '{contract}' AND seq = {seq}"
            )
        })
        .collect();
    sql(app, &moves).await;
    (s.token, contract)
}

async fn contract(app: &TestApp, slug: &str, token: &str, id: &str) -> Value {
    let resp = admin(
        app,
        slug,
        token,
        Method::GET,
        &format!("/api/v1/admin/rental-contracts/{id}"),
    )
    .send()
    .await
    .unwrap();
    assert_eq!(resp.status(), 200);
    body(resp).await["contract"].clone()
}

fn reminder_subjects(sink: &SmtpSink) -> Vec<String> {
    sink.messages()
        .iter()
        .map(|p| Mail::read(p))
        .filter_map(|m| m.header("Subject").map(str::to_owned))
        .filter(|s| s.contains("rental payment"))
        .collect()
}

#[tokio::test]
async fn reminders_fees_overdue_and_default_across_a_month_end_each_happen_once() {
    if !python_has("aiosmtpd") {
        return;
    }
    let sink = SmtpSink::start(true);
    let app = app(Some(&sink)).await;
    let (token, id) = month_end_contract(&app, "daily").await;

    // Four days before 28 February nothing is due; three days before, the
    // "due soon" reminder, once.
    assert_eq!(run_daily(&app, "2027-02-24").await, did(1, 0, 0, 0, 0));
    assert_eq!(run_daily(&app, "2027-02-25").await, did(1, 0, 0, 0, 1));
    assert_eq!(run_daily(&app, "2027-02-25").await, did(1, 0, 0, 0, 0));
    assert_eq!(run_daily(&app, "2027-02-28").await, did(1, 0, 0, 0, 1));
    assert_eq!(
        contract(&app, "daily", &token, &id).await["status"],
        "active"
    );

    // The day after: overdue (its reminder and event), no fee in the grace
    // days; the sixth day the fee, once.
    assert_eq!(run_daily(&app, "2027-03-01").await, did(1, 1, 0, 0, 1));
    assert_eq!(run_daily(&app, "2027-03-05").await, did(1, 0, 0, 0, 0));
    assert_eq!(run_daily(&app, "2027-03-06").await, did(1, 0, 1, 0, 0));
    assert_eq!(run_daily(&app, "2027-03-06").await, did(1, 0, 0, 0, 0));
    let c = contract(&app, "daily", &token, &id).await;
    assert_eq!(c["status"], "overdue");
    assert_eq!(c["installments"][1]["due_date"], "2027-02-28");
    assert_eq!(c["installments"][1]["late_fee"], money(1_500));
    assert_eq!(c["installments"][2]["late_fee"], money(0));

    // 31 March's installment is reminded three days before; on 1 April
    // February's is unpaid 32 days (> 30): the contract defaults, and
    // March's is overdue.
    assert_eq!(run_daily(&app, "2027-03-28").await, did(1, 0, 0, 0, 1));
    assert_eq!(run_daily(&app, "2027-04-01").await, did(1, 0, 0, 1, 1));
    assert_eq!(run_daily(&app, "2027-04-01").await, did(0, 0, 0, 0, 0));
    assert_eq!(run_daily(&app, "2027-05-01").await, did(0, 0, 0, 0, 0));
    let c = contract(&app, "daily", &token, &id).await;
    assert_eq!(c["status"], "defaulted");

    let q = |topic: &str| format!("SELECT count(*) FROM outbox_events WHERE topic = '{topic}'");
    assert_eq!(count(&app, &q("rental.installment_overdue")).await, 2);
    assert_eq!(count(&app, &q("rental.late_fee_applied")).await, 1);
    assert_eq!(count(&app, &q("rental.contract_defaulted")).await, 1);
    let fees = "SELECT count(*) FROM rental_installments WHERE late_fee_at IS NOT NULL";
    assert_eq!(count(&app, fees).await, 1);
    let audited = "SELECT count(*) FROM audit_log WHERE action = 'rental_contract.late_fee'";
    assert_eq!(count(&app, audited).await, 1);

    // Five reminders reach the customer's inbox, each once.
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while reminder_subjects(&sink).len() < 5 && std::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let subjects = reminder_subjects(&sink);
    assert_eq!(subjects.len(), 5, "{subjects:?}");
    assert_eq!(
        subjects.iter().filter(|s| s.contains("is due on")).count(),
        2
    );
    assert_eq!(
        subjects.iter().filter(|s| s.contains("due today")).count(),
        1
    );
    assert_eq!(subjects.iter().filter(|s| s.contains("overdue")).count(), 2);
    let to: Vec<String> = sink
        .messages()
        .iter()
        .map(|p| Mail::read(p))
        .filter(|m| {
            m.header("Subject")
                .is_some_and(|s| s.contains("rental payment"))
        })
        .map(|m| m.header("To").unwrap_or_default().to_owned())
        .collect();
    assert!(
        to.iter().all(|t| t.contains("renter@example.com")),
        "{to:?}"
    );
}

#[tokio::test]
async fn a_bad_date_is_refused_and_changes_nothing() {
    let app = app(None).await;
    let mut c = cmd(&app, "2027-02-30");
    let out = tokio::task::spawn_blocking(move || c.output())
        .await
        .unwrap()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("not a date"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_passes_at_once_charge_and_remind_once() {
    let app = app(None).await;
    let (_, id) = month_end_contract(&app, "twice").await;
    // 299 more contracts like it, in each database's SQL.
    let copies = if on_postgres() {
        let copies = "WITH n AS (SELECT generate_series(1, 299) AS k), \
         c AS (INSERT INTO rental_contracts (id, tenant_id, order_id, order_line_id, plan_id, \
         variant_id, unit_id, customer_id, status, terms, cash_price, currency, deposit, \
         deposit_held, term, time_zone, start_date, created_at, updated_at) \
         SELECT gen_random_uuid(), tenant_id, order_id, gen_random_uuid(), plan_id, variant_id, \
         NULL, customer_id, status, terms, cash_price, currency, deposit, deposit_held, term, \
         time_zone, start_date, created_at, updated_at FROM rental_contracts, n \
         WHERE id = '{id}' RETURNING id) \
         INSERT INTO rental_installments (id, tenant_id, contract_id, seq, due_date, amount, paid_at) \
         SELECT gen_random_uuid(), i.tenant_id, c.id, i.seq, i.due_date, i.amount, i.paid_at \
         FROM c, rental_installments i WHERE i.contract_id = '{id}'"
            .replace("{id}", &id);
        vec![copies]
    } else {
        let n = "WITH RECURSIVE n(k) AS (SELECT 1 UNION ALL SELECT k + 1 FROM n WHERE k < 299) ";
        let contracts = format!(
            "{n}INSERT INTO rental_contracts (id, tenant_id, order_id, order_line_id, plan_id, \
             variant_id, unit_id, customer_id, status, terms, cash_price, currency, deposit, \
             deposit_held, term, time_zone, start_date, created_at, updated_at) \
             SELECT printf('00000000-0000-7000-8000-%012d', k), tenant_id, order_id, \
             printf('00000002-0000-7000-8000-%012d', k), plan_id, variant_id, \
             NULL, customer_id, status, terms, cash_price, currency, deposit, deposit_held, term, \
             time_zone, start_date, created_at, updated_at FROM rental_contracts, n \
             WHERE id = '{id}'"
        );
        let installments = format!(
            "{n}INSERT INTO rental_installments (id, tenant_id, contract_id, seq, due_date, \
             amount, paid_at) SELECT printf('00000001-%04d-7000-8000-%012d', i.seq, k), \
             i.tenant_id, printf('00000000-0000-7000-8000-%012d', k), i.seq, i.due_date, \
             i.amount, i.paid_at FROM n, rental_installments i WHERE i.contract_id = '{id}'"
        );
        vec![contracts, installments]
    };
    sql(&app, &copies).await;

    // Both on the sixth day after 28 February: overdue, the fee, the
    // overdue reminder for each of the 300 contracts, once between them.
    let start = || {
        cmd(&app, "2027-03-06")
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap()
    };
    let (a, b) = (start(), start());
    let (a, b) = tokio::task::spawn_blocking(move || {
        (a.wait_with_output().unwrap(), b.wait_with_output().unwrap())
    })
    .await
    .unwrap();
    for out in [&a, &b] {
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "a pass failed: {err}");
    }
    let a: Value = serde_json::from_slice(&a.stdout).unwrap_or(Value::Null);
    let b: Value = serde_json::from_slice(&b.stdout).unwrap_or(Value::Null);
    let sum = |k: &str| a[k].as_u64().unwrap_or(0) + b[k].as_u64().unwrap_or(0);
    assert_eq!(sum("late_fees"), 300, "{a} {b}");
    assert_eq!(sum("reminders"), 300, "{a} {b}");
    assert_eq!(sum("overdue"), 300, "{a} {b}");

    let fees = "SELECT count(*) FROM rental_installments WHERE late_fee_at IS NOT NULL";
    assert_eq!(count(&app, fees).await, 300);
    let reminded = "SELECT count(*) FROM rental_installments \
         WHERE CAST(reminders AS TEXT) = '[\"overdue\"]'";
    assert_eq!(count(&app, reminded).await, 300);
    let jobs = "SELECT count(*) FROM jobs WHERE kind = 'rental.remind'";
    assert_eq!(count(&app, jobs).await, 300);
    let events = "SELECT count(*) FROM outbox_events WHERE topic = 'rental.late_fee_applied'";
    assert_eq!(count(&app, events).await, 300);
    assert_eq!(run_daily(&app, "2027-03-06").await, did(300, 0, 0, 0, 0));
    // Each fee audited once, the shop's chain appended in batches intact.
    let audited = "SELECT count(*) FROM audit_log WHERE action = 'rental_contract.late_fee'";
    assert_eq!(count(&app, audited).await, 300);
    let mut verify = storekeep_command(BIN, &app.db);
    verify.args(["audit", "verify"]);
    let out = tokio::task::spawn_blocking(move || verify.output())
        .await
        .unwrap()
        .unwrap();
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "audit verify: {said}");
}
