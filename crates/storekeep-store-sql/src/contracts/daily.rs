//! The daily rentals pass over one batch of running contracts
//! (`rules::rental_daily` decides, this applies): late fees, reminders,
//! overdue and defaulted contracts, each by a conditional write that only
//! the first pass to reach it makes — so two nodes running the pass at once,
//! or one pass run twice on a day, charge and send everything once. On
//! PostgreSQL a second writer waits for the first's row lock and then finds
//! the condition false (READ COMMITTED re-checks the updated row).

use chrono::{DateTime, NaiveDate, Utc};
use serde_json::json;
use sqlx::Pool;
use sqlx::types::Json;
use storekeep_domain::{AuditContext, EventId, NewJob, RentalContractId, TenantId};
use storekeep_store::audit::Change;
use storekeep_store::rules::delivery::EMAIL_QUEUE;
use storekeep_store::rules::rental_daily::{
    self as rules, CONTRACT_DEFAULTED, DailyOutcome, DailyPass, INSTALLMENT_OVERDUE,
    LATE_FEE_APPLIED, REMINDER_JOB,
};
use storekeep_store::{StoreResult, now};

use super::terms::TermsJson;
use crate::DbId;
use crate::backend::{Backend, Conn};
use crate::stmt::Stmt;

const CONTRACT_PAGE: &str = "SELECT id FROM rental_contracts \
     WHERE status IN ('active', 'overdue') AND id > $1 ORDER BY id LIMIT $2";

/// The unpaid installments due by `$3` of the running contracts in the id
/// range `($1, $2]`.
const DUE_INSTALLMENTS: &str = "SELECT i.id, i.contract_id, c.tenant_id, c.terms, \
     c.time_zone, i.seq, i.due_date, i.amount, i.late_fee_at, i.reminders \
     FROM rental_installments i JOIN rental_contracts c ON c.id = i.contract_id \
     WHERE c.id > $1 AND c.id <= $2 AND c.status IN ('active', 'overdue') \
     AND i.paid_at IS NULL AND i.due_date <= $3 ORDER BY c.id, i.seq";

const CHARGE_FEE: &str = "UPDATE rental_installments SET late_fee = $2, late_fee_at = $3 \
     WHERE id = $1 AND late_fee_at IS NULL AND paid_at IS NULL";

/// Claims a reminder: the array is replaced only if it is still what the
/// pass read (every write serialises it the same way).
const CLAIM_REMINDER: &str = "UPDATE rental_installments SET reminders = $2 \
     WHERE id = $1 AND paid_at IS NULL AND reminders = $3";

const MARK_OVERDUE: &str = "UPDATE rental_contracts SET status = 'overdue', updated_at = $2 \
     WHERE id = $1 AND status = 'active'";

const MARK_DEFAULTED: &str = "UPDATE rental_contracts SET status = 'defaulted', updated_at = $2 \
     WHERE id = $1 AND status IN ('active', 'overdue')";

const INSERT_EVENT: &str = "INSERT INTO outbox_events (id, tenant_id, topic, subject, \
     payload, created_at) VALUES ($1, $2, $3, $4, $5, $6)";

type DueRow = (
    DbId,
    DbId,
    DbId,
    Json<TermsJson>,
    String,
    i32,
    NaiveDate,
    i64,
    Option<DateTime<Utc>>,
    Json<Vec<String>>,
);

/// The audit actor of the pass.
pub const ACTOR: &str = "job:rentals.daily";

/// Runs the pass over the next `limit` running contracts after `after`
/// (`None`: from the first), in one transaction. Returns what it did and
/// the last contract seen (`None`: no contract left).
pub async fn daily_batch<B: Backend>(
    pool: &Pool<B::Db>,
    pass: &DailyPass,
    after: Option<RentalContractId>,
    limit: usize,
) -> StoreResult<(DailyOutcome, Option<RentalContractId>)> {
    let at = now();
    let from = DbId(after.map_or(uuid::Uuid::nil(), |c| c.0));
    // Read outside the write transaction (every write below re-checks its
    // condition), so an hour with nothing due takes no write lock.
    let mut conn = B::conn(pool).await?;
    let page: Vec<(DbId,)> = B::all(
        &mut conn,
        Stmt::new(
            CONTRACT_PAGE,
            (from, i64::try_from(limit).unwrap_or(i64::MAX)),
        ),
    )
    .await?;
    let Some(&(last,)) = page.last() else {
        return Ok((DailyOutcome::default(), None));
    };
    let mut out = DailyOutcome {
        contracts: page.len() as u64,
        ..DailyOutcome::default()
    };
    let rows: Vec<DueRow> = B::all(
        &mut conn,
        Stmt::new(DUE_INSTALLMENTS, (from, last, pass.horizon())),
    )
    .await?;
    drop(conn);
    if rows.is_empty() {
        return Ok((out, Some(RentalContractId(last.0))));
    }
    let mut tx = B::write_tx(pool).await?;
    let audit = AuditContext {
        actor: ACTOR.to_owned(),
        ip: None,
        request_id: None,
    };
    // (contract, tenant, overdue, default) of the contract being walked.
    let mut current: Option<(DbId, TenantId, bool, bool)> = None;
    for (inst, contract, tenant, terms, zone, seq, due, amount, fee_at, reminders) in rows {
        let tenant = TenantId(tenant.0);
        if current.is_some_and(|c| c.0 != contract) {
            settle::<B>(&mut tx, current.take(), at, &mut out).await?;
        }
        let cur = current.get_or_insert((contract, tenant, false, false));
        let terms = storekeep_domain::RentalTerms::from(terms.0);
        let today = pass.today(&zone);
        let d = rules::decide(&terms, amount, due, today, &reminders.0, fee_at.is_some());
        cur.2 |= d.overdue;
        cur.3 |= d.default;
        let facts = json!({
            "contract_id": contract.0, "installment_id": inst.0, "seq": seq,
            "due_date": due, "amount": amount,
        });
        if let Some(fee) = d.late_fee {
            let charged = B::exec(&mut tx, Stmt::new(CHARGE_FEE, (inst, fee, at))).await?;
            if charged == 1 {
                out.late_fees += 1;
                let mut payload = facts.clone();
                payload["late_fee"] = json!(fee);
                let change = Change {
                    after: Some(payload.clone()),
                    ..Change::new(
                        tenant.to_string(),
                        "rental_contract.late_fee",
                        format!("rental_contract:{}", contract.0),
                    )
                };
                B::record_change(&mut tx, &audit, change).await?;
                emit::<B>(&mut tx, tenant, contract, LATE_FEE_APPLIED, payload, at).await?;
            }
        }
        if let Some(which) = d.reminder {
            let mut sent = reminders.0.clone();
            sent.push(which.to_owned());
            let claim = (inst, Json(sent), Json(reminders.0));
            if B::exec(&mut tx, Stmt::new(CLAIM_REMINDER, claim)).await? == 1 {
                out.reminders += 1;
                let job = NewJob::new(
                    REMINDER_JOB,
                    json!({
                        "contract_id": contract.0, "installment_id": inst.0,
                        "reminder": which,
                    }),
                )
                .queue(EMAIL_QUEUE)
                .tenant(tenant)
                .unique_key(format!("rental_reminder:{}:{which}", inst.0));
                crate::jobs::enqueue_in::<B>(&mut tx, &job).await?;
                if which == "overdue" {
                    emit::<B>(&mut tx, tenant, contract, INSTALLMENT_OVERDUE, facts, at).await?;
                }
            }
        }
    }
    settle::<B>(&mut tx, current, at, &mut out).await?;
    B::commit(tx).await?;
    Ok((out, Some(RentalContractId(last.0))))
}

/// Moves a contract walked by the pass to `defaulted` or `overdue`.
async fn settle<B: Backend>(
    conn: &mut Conn<B::Db>,
    walked: Option<(DbId, TenantId, bool, bool)>,
    at: DateTime<Utc>,
    out: &mut DailyOutcome,
) -> StoreResult<()> {
    let Some((contract, tenant, overdue, default)) = walked else {
        return Ok(());
    };
    if default {
        if B::exec(conn, Stmt::new(MARK_DEFAULTED, (contract, at))).await? == 1 {
            out.defaulted += 1;
            let payload = json!({ "contract_id": contract.0 });
            emit::<B>(conn, tenant, contract, CONTRACT_DEFAULTED, payload, at).await?;
        }
    } else if overdue && B::exec(conn, Stmt::new(MARK_OVERDUE, (contract, at))).await? == 1 {
        out.overdue += 1;
    }
    Ok(())
}

async fn emit<B: Backend>(
    conn: &mut Conn<B::Db>,
    tenant: TenantId,
    contract: DbId,
    topic: &str,
    payload: serde_json::Value,
    at: DateTime<Utc>,
) -> StoreResult<()> {
    let args = (
        DbId(EventId::new().0),
        DbId(tenant.0),
        topic,
        format!("rental_contract:{}", contract.0),
        Json(payload),
        at,
    );
    B::exec(conn, Stmt::new(INSERT_EVENT, args)).await?;
    Ok(())
}
