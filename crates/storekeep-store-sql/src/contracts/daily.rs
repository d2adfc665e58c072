//! The daily rentals pass over one batch of running contracts
//! (`rules::rental_daily` decides, this applies): late fees, reminders,
//! overdue and defaulted contracts, each by a conditional write that only
//! the first pass to reach it makes — so two nodes running the pass at once,
//! or one pass run twice on a day, charge and send everything once. On
//! PostgreSQL a second writer waits for the first's row lock and then finds
//! the condition false (READ COMMITTED re-checks the updated row).

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, NaiveDate, Utc};
use serde_json::json;
use sqlx::Pool;
use sqlx::types::Json;
use storekeep_domain::{AuditContext, EventId, JobId, NewJob, RentalContractId, TenantId};
use storekeep_store::audit::Change;
use storekeep_store::rules::delivery::EMAIL_QUEUE;
use storekeep_store::rules::jobs::check_new_job;
use storekeep_store::rules::rental_daily::{
    self as rules, CONTRACT_DEFAULTED, DailyOutcome, DailyPass, INSTALLMENT_OVERDUE,
    LATE_FEE_APPLIED, REMINDER_JOB,
};
use storekeep_store::{StoreResult, now};

use super::terms::TermsJson;
use crate::DbId;
use crate::backend::{Backend, Conn};
use crate::stmt::Stmt;
use uuid::Uuid;

const CONTRACT_PAGE: &str = "SELECT id FROM rental_contracts \
     WHERE status IN ('active', 'overdue') AND id > $1 ORDER BY id LIMIT $2";

/// The unpaid installments due by `$3` of the running contracts in the id
/// range `($1, $2]` whose order was paid (its payment records the first
/// installment): an order still awaiting payment is not late, and its
/// payment or expiry settles the contract.
const DUE_INSTALLMENTS: &str = "SELECT i.id, i.contract_id, c.tenant_id, c.terms, \
     c.time_zone, c.status, i.seq, i.due_date, i.amount, i.late_fee_at, i.reminders \
     FROM rental_installments i JOIN rental_contracts c ON c.id = i.contract_id \
     WHERE c.id > $1 AND c.id <= $2 AND c.status IN ('active', 'overdue') \
     AND i.paid_at IS NULL AND i.due_date <= $3 \
     AND EXISTS (SELECT 1 FROM rental_installments f WHERE f.contract_id = c.id \
     AND f.seq = 1 AND f.paid_at IS NOT NULL) ORDER BY c.id, i.seq";

/// The daily pass's writes, each one set-based statement over a JSON array
/// (`$1`) of the rows it changes or inserts, so a batch of contracts costs
/// a handful of round trips whatever it holds. Written once in
/// [`daily_statements!`]; a backend gives only how its dialect reads the
/// rows of a JSON array.
#[derive(Debug, Clone, Copy)]
pub struct DailyStatements {
    /// Late fees `[{id, fee}]` at `$2`, on installments still unpaid,
    /// without one and no customer payment pending, of running contracts;
    /// answers the installments charged.
    pub charge_fees: &'static str,
    /// Reminder arrays `[{id, prev, next}]` (JSON text), each replaced
    /// only if still `prev`, unpaid and its contract running; answers the
    /// installments claimed.
    pub claim_reminders: &'static str,
    /// Locks contracts `[{id}]` in id order (run only where
    /// `Backend::ROW_LOCKS`): two passes, or a pass and a payment, then
    /// meet on the first contract they share and never deadlock.
    pub lock_contracts: &'static str,
    /// Contracts `[{id, cutoff}]` still `active` with an installment unpaid
    /// that fell due before `cutoff` → `overdue` at `$2`; answers them.
    pub mark_overdue: &'static str,
    /// Contracts `[{id, cutoff}]` still running with an installment unpaid
    /// that fell due before `cutoff` → `defaulted` at `$2`; answers them.
    pub mark_defaulted: &'static str,
    /// Outbox events `[{id, tenant_id, topic, subject, payload}]` at `$2`.
    pub insert_events: &'static str,
    /// Jobs `[{id, kind, queue, tenant_id, payload, priority,
    /// max_attempts, unique_key}]` due at `$2`; a taken key inserts nothing.
    pub insert_jobs: &'static str,
}

/// The installment's contract is still running: a contract bought out,
/// returned or cancelled after the pass read it gets no fee or reminder
/// (on PostgreSQL the pass holds the contract's row lock, so the change
/// that closed it has committed or waits).
#[macro_export]
macro_rules! contract_running {
    () => {
        "EXISTS (SELECT 1 FROM rental_contracts c WHERE c.id = rental_installments.contract_id \
         AND c.status IN ('active', 'overdue'))"
    };
}

/// The contract still has an installment unpaid that fell due before the
/// row's `cutoff`: a payment made after the pass read it leaves the
/// contract as the payment left it.
#[macro_export]
macro_rules! unpaid_before_cutoff {
    () => {
        "EXISTS (SELECT 1 FROM rental_installments i \
         WHERE i.contract_id = rental_contracts.id AND i.paid_at IS NULL \
         AND i.due_date < j.cutoff)"
    };
}

/// [`DailyStatements`] from a dialect's row sources: each argument is a
/// sub-select naming the columns of the JSON array `$1` (fees, reminders,
/// ids, events, jobs).
#[macro_export]
macro_rules! daily_statements {
    ($fees:literal, $reminders:literal, $ids:literal, $events:literal, $jobs:literal) => {
        $crate::contracts::daily::DailyStatements {
            charge_fees: concat!(
                "UPDATE rental_installments SET late_fee = j.fee, late_fee_at = $2 FROM ",
                $fees,
                " AS j WHERE rental_installments.id = j.id \
                 AND rental_installments.late_fee_at IS NULL \
                 AND rental_installments.paid_at IS NULL AND NOT EXISTS \
                 (SELECT 1 FROM rental_payment_attempts a \
                 WHERE a.installment_id = rental_installments.id AND a.status = 'pending') AND ",
                $crate::contract_running!(),
                " RETURNING rental_installments.id"
            ),
            claim_reminders: concat!(
                "UPDATE rental_installments SET reminders = j.next FROM ",
                $reminders,
                " AS j WHERE rental_installments.id = j.id \
                 AND rental_installments.paid_at IS NULL \
                 AND rental_installments.reminders = j.prev AND ",
                $crate::contract_running!(),
                " RETURNING rental_installments.id"
            ),
            lock_contracts: concat!(
                "SELECT id FROM rental_contracts WHERE id IN (SELECT id FROM ",
                $ids,
                " AS j) ORDER BY id FOR UPDATE"
            ),
            mark_overdue: concat!(
                "UPDATE rental_contracts SET status = 'overdue', updated_at = $2 FROM ",
                $ids,
                " AS j WHERE rental_contracts.id = j.id AND rental_contracts.status = 'active' \
                 AND ",
                $crate::unpaid_before_cutoff!(),
                " RETURNING rental_contracts.id"
            ),
            mark_defaulted: concat!(
                "UPDATE rental_contracts SET status = 'defaulted', updated_at = $2 FROM ",
                $ids,
                " AS j WHERE rental_contracts.id = j.id \
                 AND rental_contracts.status IN ('active', 'overdue') AND ",
                $crate::unpaid_before_cutoff!(),
                " RETURNING rental_contracts.id"
            ),
            insert_events: concat!(
                "INSERT INTO outbox_events (id, tenant_id, topic, subject, payload, created_at) \
                 SELECT id, tenant_id, topic, subject, payload, $2 FROM ",
                $events,
                " AS j"
            ),
            insert_jobs: concat!(
                "INSERT INTO jobs (id, kind, queue, tenant_id, payload, state, priority, \
                 run_at, attempt, max_attempts, unique_key, created_at) \
                 SELECT id, kind, queue, tenant_id, payload, 'available', priority, $2, 0, \
                 max_attempts, unique_key, $2 FROM ",
                $jobs,
                " AS j WHERE true ON CONFLICT (unique_key) WHERE unique_key IS NOT NULL DO NOTHING"
            ),
        }
    };
}

type DueRow = (
    DbId,
    DbId,
    DbId,
    Json<TermsJson>,
    String,
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
/// (`None`: from the first). Returns what it did and the last contract
/// seen (`None`: no contract left).
///
/// Everything is read first, outside any transaction, and decided in
/// memory; then one short transaction makes the batch's writes with a
/// fixed handful of set-based statements, each conditional, so a batch
/// with nothing due takes no write lock and one whose writes another pass
/// made first changes nothing.
pub async fn daily_batch<B: Backend>(
    pool: &Pool<B::Db>,
    pass: &DailyPass,
    after: Option<RentalContractId>,
    limit: usize,
) -> StoreResult<(DailyOutcome, Option<RentalContractId>)> {
    let from = DbId(after.map_or(uuid::Uuid::nil(), |c| c.0));
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
    let rows: Vec<DueRow> = B::all(
        &mut conn,
        Stmt::new(DUE_INSTALLMENTS, (from, last, pass.horizon())),
    )
    .await?;
    drop(conn);
    let plan = Plan::decide(pass, rows);
    let mut out = DailyOutcome {
        contracts: page.len() as u64,
        ..DailyOutcome::default()
    };
    if !plan.is_empty() {
        let mut tx = B::write_tx(pool).await?;
        plan.apply::<B>(&mut tx, &mut out).await?;
        B::commit(tx).await?;
    }
    Ok((out, Some(RentalContractId(last.0))))
}

/// A contract as the pass walks its due installments.
struct Walked {
    contract: Uuid,
    tenant: TenantId,
    status: String,
    today: NaiveDate,
    default_after: chrono::Duration,
    overdue: bool,
    default: bool,
}

/// What one batch must write, decided from what it read.
#[derive(Default)]
struct Plan {
    /// Late fees to charge: the statement's rows and each one's facts.
    fees: Vec<serde_json::Value>,
    fee_facts: HashMap<Uuid, (TenantId, Uuid, serde_json::Value)>,
    /// Reminders to claim: the statement's rows and each one's facts.
    reminders: Vec<serde_json::Value>,
    reminder_facts: HashMap<Uuid, (TenantId, Uuid, &'static str, serde_json::Value)>,
    /// Contracts to move, by their tenant, with the due date before which
    /// an installment must still be unpaid when the move is written.
    overdue: Vec<(Uuid, TenantId, NaiveDate)>,
    defaulted: Vec<(Uuid, TenantId, NaiveDate)>,
}

impl Plan {
    fn decide(pass: &DailyPass, rows: Vec<DueRow>) -> Self {
        let mut plan = Self::default();
        // The contract being walked: rows come ordered by contract.
        let mut current: Option<Walked> = None;
        for (inst, contract, tenant, terms, zone, status, seq, due, amount, fee_at, sent) in rows {
            let (inst, contract, tenant) = (inst.0, contract.0, TenantId(tenant.0));
            if current.as_ref().is_some_and(|c| c.contract != contract) {
                plan.settle(current.take());
            }
            let terms = storekeep_domain::RentalTerms::from(terms.0);
            let today = pass.today(&zone);
            let cur = current.get_or_insert(Walked {
                contract,
                tenant,
                status,
                today,
                default_after: chrono::Duration::days(i64::from(terms.default_after_days)),
                overdue: false,
                default: false,
            });
            let d = rules::decide(&terms, amount, due, today, &sent.0, fee_at.is_some());
            cur.overdue |= d.overdue;
            cur.default |= d.default;
            let facts = json!({
                "contract_id": contract, "installment_id": inst, "seq": seq,
                "due_date": due, "amount": amount,
            });
            if let Some(fee) = d.late_fee {
                plan.fees.push(json!({ "id": inst, "fee": fee }));
                let mut payload = facts.clone();
                payload["late_fee"] = json!(fee);
                plan.fee_facts.insert(inst, (tenant, contract, payload));
            }
            if let Some(which) = d.reminder {
                let mut new = sent.0.clone();
                new.push(which.to_owned());
                let text = |v: &Vec<String>| serde_json::to_string(v).unwrap_or_default();
                plan.reminders
                    .push(json!({ "id": inst, "prev": text(&sent.0), "next": text(&new) }));
                plan.reminder_facts
                    .insert(inst, (tenant, contract, which, facts));
            }
        }
        plan.settle(current);
        plan
    }

    /// What the walked contract becomes: defaulted, or overdue unless it
    /// already is (no write that changes nothing).
    fn settle(&mut self, walked: Option<Walked>) {
        let Some(w) = walked else {
            return;
        };
        if w.default {
            let cutoff = w.today - w.default_after;
            self.defaulted.push((w.contract, w.tenant, cutoff));
        } else if w.overdue && w.status == "active" {
            self.overdue.push((w.contract, w.tenant, w.today));
        }
    }

    fn is_empty(&self) -> bool {
        self.fees.is_empty()
            && self.reminders.is_empty()
            && self.overdue.is_empty()
            && self.defaulted.is_empty()
    }

    /// Makes the writes in `tx`: each statement answers the rows it
    /// changed, and only those get their events, audit entries and jobs.
    async fn apply<B: Backend>(
        self,
        tx: &mut Conn<B::Db>,
        out: &mut DailyOutcome,
    ) -> StoreResult<()> {
        let at = now();
        let sql = B::DAILY;
        let ids = |v: &[(Uuid, TenantId, NaiveDate)]| {
            json!(
                v.iter()
                    .map(|c| json!({"id": c.0, "cutoff": c.2}))
                    .collect::<Vec<_>>()
            )
        };
        if B::ROW_LOCKS {
            let mut touched: Vec<Uuid> = self
                .overdue
                .iter()
                .chain(&self.defaulted)
                .map(|c| c.0)
                .collect();
            touched.extend(self.fee_facts.values().map(|f| f.1));
            touched.extend(self.reminder_facts.values().map(|f| f.1));
            touched.sort_unstable();
            touched.dedup();
            let rows = json!(
                touched
                    .iter()
                    .map(|id| json!({ "id": id }))
                    .collect::<Vec<_>>()
            );
            let _: Vec<(DbId,)> = B::all(tx, Stmt::new(sql.lock_contracts, (Json(rows),))).await?;
        }
        let mut events = Vec::new();
        let mut changes: BTreeMap<TenantId, Vec<Change>> = BTreeMap::new();
        let mut jobs = Vec::new();
        if !self.fees.is_empty() {
            let charged: Vec<(DbId,)> =
                B::all(tx, Stmt::new(sql.charge_fees, (Json(self.fees), at))).await?;
            for (inst,) in charged {
                let Some((tenant, contract, payload)) = self.fee_facts.get(&inst.0) else {
                    continue;
                };
                out.late_fees += 1;
                changes.entry(*tenant).or_default().push(Change {
                    after: Some(payload.clone()),
                    ..Change::new(
                        tenant.to_string(),
                        "rental_contract.late_fee",
                        format!("rental_contract:{contract}"),
                    )
                });
                events.push(event(*tenant, *contract, LATE_FEE_APPLIED, payload.clone()));
            }
        }
        if !self.reminders.is_empty() {
            let claimed: Vec<(DbId,)> = B::all(
                tx,
                Stmt::new(sql.claim_reminders, (Json(self.reminders), at)),
            )
            .await?;
            for (inst,) in claimed {
                let Some((tenant, contract, which, facts)) = self.reminder_facts.get(&inst.0)
                else {
                    continue;
                };
                out.reminders += 1;
                jobs.push(reminder_job(*tenant, *contract, inst.0, which)?);
                if *which == "overdue" {
                    events.push(event(
                        *tenant,
                        *contract,
                        INSTALLMENT_OVERDUE,
                        facts.clone(),
                    ));
                }
            }
        }
        if !self.defaulted.is_empty() {
            let moved: Vec<(DbId,)> = B::all(
                tx,
                Stmt::new(sql.mark_defaulted, (Json(ids(&self.defaulted)), at)),
            )
            .await?;
            let tenants: HashMap<Uuid, TenantId> =
                self.defaulted.iter().map(|c| (c.0, c.1)).collect();
            for (contract,) in moved {
                out.defaulted += 1;
                let tenant = tenants[&contract.0];
                let payload = json!({ "contract_id": contract.0 });
                events.push(event(tenant, contract.0, CONTRACT_DEFAULTED, payload));
            }
        }
        if !self.overdue.is_empty() {
            let moved: Vec<(DbId,)> = B::all(
                tx,
                Stmt::new(sql.mark_overdue, (Json(ids(&self.overdue)), at)),
            )
            .await?;
            out.overdue += moved.len() as u64;
        }
        if !events.is_empty() {
            B::exec(tx, Stmt::new(sql.insert_events, (Json(events), at))).await?;
        }
        if !jobs.is_empty() {
            B::exec(tx, Stmt::new(sql.insert_jobs, (Json(jobs), at))).await?;
        }
        let audit = AuditContext {
            actor: ACTOR.to_owned(),
            ip: None,
            request_id: None,
        };
        for (_, chain) in changes {
            B::record_changes(tx, &audit, chain).await?;
        }
        Ok(())
    }
}

/// One outbox event row of the pass about `contract`.
fn event(
    tenant: TenantId,
    contract: Uuid,
    topic: &str,
    payload: serde_json::Value,
) -> serde_json::Value {
    json!({
        "id": EventId::new().0, "tenant_id": tenant.0, "topic": topic,
        "subject": format!("rental_contract:{contract}"), "payload": payload,
    })
}

/// The job row sending one installment's reminder (`rental.remind`), once
/// per installment and reminder by its unique key.
fn reminder_job(
    tenant: TenantId,
    contract: Uuid,
    inst: Uuid,
    which: &str,
) -> StoreResult<serde_json::Value> {
    let job = NewJob::new(
        REMINDER_JOB,
        json!({ "contract_id": contract, "installment_id": inst, "reminder": which }),
    )
    .queue(EMAIL_QUEUE)
    .tenant(tenant)
    .unique_key(format!("rental_reminder:{inst}:{which}"));
    check_new_job(&job)?;
    Ok(json!({
        "id": JobId::new().0, "kind": job.kind, "queue": job.queue, "tenant_id": tenant.0,
        "payload": job.payload, "priority": job.priority,
        "max_attempts": job.max_attempts.unwrap_or(NewJob::DEFAULT_MAX_ATTEMPTS),
        "unique_key": job.unique_key,
    }))
}
