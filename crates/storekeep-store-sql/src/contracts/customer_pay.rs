//! Customers paying an installment through the shop's payment providers
//! (i15 phase 3): an attempt is started (pending), then the provider's
//! confirmation records the installment (and the late fee it carried) once
//! and applies what a payment does to a contract.

use chrono::{DateTime, Utc};
use sqlx::Pool;
use storekeep_domain::{
    AuditContext, PaymentOutcome, PaymentStatus, RentalContractId, Settlement, TenantId,
};
use storekeep_store::audit::Change;
use storekeep_store::contracts::{InstallmentPayment, NewInstallmentPayment};
use storekeep_store::{StoreError, StoreResult, now};

use crate::DbId;
use crate::backend::{Backend, Conn};
use crate::stmt::Stmt;

/// A payment of the installment is awaiting its provider.
pub const ATTEMPT_PENDING: &str =
    "a payment of this installment is awaiting its provider: wait for its outcome";

/// An attempt: `(installment_id, seq, amount, late_fee, provider,
/// reference, status)`.
type AttemptRow = (DbId, i32, i64, i64, String, String, String);

const BY_KEY: &str = "SELECT a.installment_id, i.seq, a.amount, a.late_fee, a.provider, \
     a.reference, a.status FROM rental_payment_attempts a \
     JOIN rental_installments i ON i.id = a.installment_id \
     WHERE a.contract_id = $1 AND a.idempotency_key = $2";

const CONTRACT: &str = "SELECT status, customer_id FROM rental_contracts \
     WHERE id = $1 AND tenant_id = $2";
const CONTRACT_LOCKED: &str = "SELECT status, customer_id FROM rental_contracts \
     WHERE id = $1 AND tenant_id = $2 FOR UPDATE";

const INSERT_ATTEMPT: &str = "INSERT INTO rental_payment_attempts (id, tenant_id, contract_id, \
     installment_id, customer_id, provider, reference, amount, late_fee, status, \
     idempotency_key, event_id, created_at, updated_at) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'pending', $10, NULL, $11, $11)";

fn attempt(row: AttemptRow, replayed: bool) -> InstallmentPayment {
    let (inst, seq, amount, late_fee, provider, reference, status) = row;
    InstallmentPayment {
        installment_id: storekeep_domain::InstallmentId(inst.0),
        seq,
        amount,
        late_fee,
        provider,
        reference,
        status: PaymentStatus::parse(&status).unwrap_or(PaymentStatus::Pending),
        replayed,
    }
}

/// The newest attempt `customer` started on their contract `id` of
/// `tenant` (by start time, then id), if any.
pub async fn latest_installment_attempt<B: Backend>(
    pool: &Pool<B::Db>,
    tenant: TenantId,
    id: RentalContractId,
    customer: storekeep_domain::UserId,
) -> StoreResult<Option<InstallmentPayment>> {
    let mut conn = B::conn(pool).await?;
    let row: Option<AttemptRow> = B::optional(
        &mut conn,
        Stmt::new(
            "SELECT a.installment_id, i.seq, a.amount, a.late_fee, a.provider, a.reference, \
             a.status FROM rental_payment_attempts a \
             JOIN rental_installments i ON i.id = a.installment_id \
             WHERE a.contract_id = $1 AND a.tenant_id = $2 AND a.customer_id = $3 \
             ORDER BY a.created_at DESC, a.id DESC LIMIT 1",
            (DbId(id.0), DbId(tenant.0), DbId(customer.0)),
        ),
    )
    .await?;
    Ok(row.map(|r| attempt(r, false)))
}

/// Starts the customer's payment of installment `req.installment` (the
/// first unpaid one if `None`) of their contract: a pending attempt of its
/// amount and any late fee charged on it, audited as the customer. A
/// pending attempt of the installment started at or before
/// `req.expire_started_before` is expired first (audited
/// `rental_contract.payment_expired`). A key
/// seen before on this contract answers the attempt it started
/// (`replayed`). `NotFound` for a contract of anyone else,
/// `Invalid(NOT_RUNNING | NOTHING_DUE | ATTEMPT_PENDING)`,
/// `Conflict { field: "installment_id" }` for an installment paid,
/// `UnknownReference` for one the contract does not have.
pub async fn start_installment_payment<B: Backend>(
    pool: &Pool<B::Db>,
    tenant: TenantId,
    id: RentalContractId,
    req: &NewInstallmentPayment,
    audit: &AuditContext,
) -> StoreResult<InstallmentPayment> {
    let at = now();
    let mut tx = B::write_tx(pool).await?;
    let (c, t) = (DbId(id.0), DbId(tenant.0));
    let sql = B::read_for_update(CONTRACT, CONTRACT_LOCKED);
    let row: Option<(String, Option<DbId>)> = B::optional(&mut tx, Stmt::new(sql, (c, t))).await?;
    let status = match row {
        Some((status, Some(owner))) if owner.0 == req.customer.0 => status,
        _ => return Err(StoreError::NotFound("rental contract")),
    };
    if let Some(key) = &req.idempotency_key {
        let seen: Option<AttemptRow> =
            B::optional(&mut tx, Stmt::new(BY_KEY, (c, key.as_str()))).await?;
        if let Some(seen) = seen {
            return Ok(attempt(seen, true));
        }
    }
    if !matches!(status.as_str(), "active" | "overdue") {
        return Err(StoreError::Invalid(super::NOT_RUNNING));
    }
    // Before the order is paid its payment records the first installment.
    if !super::returns::started::<B>(&mut tx, c).await? {
        return Err(StoreError::Invalid(
            storekeep_store::rules::rental_end::NOT_STARTED,
        ));
    }
    let (inst, seq, amount, late_fee) =
        super::pay::installment_due::<B>(&mut tx, c, req.installment).await?;
    // An attempt its provider left pending past the shop's payment
    // timeout is closed first (a confirmation arriving later is still
    // recorded, see `settle_installment_payment`).
    let stale: Vec<(DbId, String, String)> = B::all(
        &mut tx,
        Stmt::new(
            "SELECT id, provider, reference FROM rental_payment_attempts \
             WHERE installment_id = $1 AND status = 'pending' AND created_at <= $2",
            (inst, req.expire_started_before),
        ),
    )
    .await?;
    for (old, provider, reference) in stale {
        let closed = B::exec(
            &mut tx,
            Stmt::new(
                "UPDATE rental_payment_attempts SET status = 'expired', updated_at = $2 \
                 WHERE id = $1 AND status = 'pending'",
                (old, at),
            ),
        )
        .await?;
        if closed == 0 {
            continue;
        }
        let change = Change {
            before: Some(serde_json::json!({"status": "pending"})),
            after: Some(serde_json::json!({
                "installment_id": inst.0, "seq": seq, "provider": provider,
                "reference": reference, "status": "expired",
            })),
            ..Change::new(
                tenant.to_string(),
                "rental_contract.payment_expired",
                format!("rental_contract:{id}"),
            )
        };
        B::record_change(&mut tx, audit, change).await?;
    }
    let pending: i64 = B::scalar(
        &mut tx,
        Stmt::new(
            "SELECT count(*) FROM rental_payment_attempts \
             WHERE installment_id = $1 AND status = 'pending'",
            (inst,),
        ),
    )
    .await?;
    if pending > 0 {
        return Err(StoreError::Invalid(ATTEMPT_PENDING));
    }
    let args = (
        DbId(uuid::Uuid::now_v7()),
        t,
        c,
        inst,
        DbId(req.customer.0),
        req.provider.as_str(),
        req.reference.as_str(),
        amount,
        late_fee,
        req.idempotency_key.as_deref(),
        at,
    );
    B::exec(&mut tx, Stmt::new(INSERT_ATTEMPT, args)).await?;
    let change = Change {
        after: Some(serde_json::json!({
            "installment_id": inst.0, "seq": seq, "amount": amount, "late_fee": late_fee,
            "provider": req.provider, "reference": req.reference,
        })),
        ..Change::new(
            tenant.to_string(),
            "rental_contract.payment_started",
            format!("rental_contract:{id}"),
        )
    };
    B::record_change(&mut tx, audit, change).await?;
    B::commit(tx).await?;
    Ok(attempt(
        (
            inst,
            seq,
            amount,
            late_fee,
            req.provider.clone(),
            req.reference.clone(),
            "pending".into(),
        ),
        false,
    ))
}

/// `(id, tenant_id, contract_id, installment_id, amount, late_fee, status,
/// event_id)` of an attempt.
type Settling = (DbId, DbId, DbId, DbId, i64, i64, String, Option<String>);

const ATTEMPT: &str = "SELECT id, tenant_id, contract_id, installment_id, amount, late_fee, \
     status, event_id FROM rental_payment_attempts WHERE provider = $1 AND reference = $2";
const ATTEMPT_LOCKED: &str = "SELECT id, tenant_id, contract_id, installment_id, amount, \
     late_fee, status, event_id FROM rental_payment_attempts \
     WHERE provider = $1 AND reference = $2 FOR UPDATE";

/// Records provider `provider`'s verified event `event_id` for the
/// installment attempt `reference`: confirmed, the installment and its
/// late fee are recorded once (keys `installment:<id>`, `late_fee:<id>`),
/// audited as the provider, and the contract completes or runs again as
/// after any payment; declined, the attempt is closed and another may
/// start. An attempt expired (its shop's payment timeout passed) is
/// confirmed late like a pending one; declined, it stays expired
/// (`AlreadySettled`). The event seen before is `Duplicate`; an attempt
/// settled before `AlreadySettled`; an unknown reference
/// `NotFound("payment")`.
pub async fn settle_installment_payment<B: Backend>(
    pool: &Pool<B::Db>,
    provider: &str,
    reference: &str,
    event_id: &str,
    outcome: PaymentOutcome,
) -> StoreResult<Settlement> {
    let at = now();
    let mut tx = B::write_tx(pool).await?;
    // The contract's lock first, as every payment and the daily pass take
    // it: then the attempt, under its own lock.
    let found: Option<Settling> =
        B::optional(&mut tx, Stmt::new(ATTEMPT, (provider, reference))).await?;
    let contract = found.ok_or(StoreError::NotFound("payment"))?.2;
    let sql = B::read_for_update(CONTRACT_OF, CONTRACT_OF_LOCKED);
    let running: Option<String> = B::scalar_optional(&mut tx, Stmt::new(sql, (contract,))).await?;
    let running = matches!(running.as_deref(), Some("active" | "overdue"));
    let sql = B::read_for_update(ATTEMPT, ATTEMPT_LOCKED);
    let row: Option<Settling> = B::optional(&mut tx, Stmt::new(sql, (provider, reference))).await?;
    let (attempt, tenant, contract, inst, amount, late_fee, status, seen) =
        row.ok_or(StoreError::NotFound("payment"))?;
    if seen.as_deref() == Some(event_id) {
        return Ok(Settlement::Duplicate);
    }
    let settled = storekeep_store::rules::commerce::payments::settled(outcome);
    // An attempt expired while its provider was silent: a confirmation
    // still means the money was taken, so it is recorded (or, the
    // installment paid meanwhile, audited as unapplied); a decline changes
    // nothing.
    let expired = status == PaymentStatus::Expired.as_str();
    let open = status == PaymentStatus::Pending.as_str()
        || (expired && settled == PaymentStatus::Confirmed);
    if !open {
        return Ok(Settlement::AlreadySettled);
    }
    B::exec(
        &mut tx,
        Stmt::new(
            "UPDATE rental_payment_attempts SET status = $2, event_id = $3, updated_at = $4 \
             WHERE id = $1 AND status = $5",
            (attempt, settled.as_str(), event_id, at, status.as_str()),
        ),
    )
    .await?;
    if settled == PaymentStatus::Confirmed {
        let tenant = TenantId(tenant.0);
        let audit = AuditContext {
            actor: format!("provider:{provider}"),
            ip: None,
            request_id: None,
        };
        // A contract closed since the attempt started (bought out,
        // returned, cancelled, defaulted) takes no installment, nor one paid
        // by staff meanwhile: the money collected is the shop's to refund,
        // and the audit log says so.
        let paid = running
            && record::<B>(
                &mut tx,
                tenant,
                contract,
                inst,
                (amount, late_fee),
                (provider, reference, &audit.actor),
                at,
            )
            .await?;
        let action = if paid {
            "rental_contract.installment_paid"
        } else {
            "rental_contract.payment_unapplied"
        };
        let change = Change {
            after: Some(serde_json::json!({
                "installment_id": inst.0, "amount": amount, "late_fee": late_fee,
                "provider": provider, "reference": reference,
            })),
            ..Change::new(
                tenant.to_string(),
                action,
                format!("rental_contract:{}", contract.0),
            )
        };
        B::record_change(&mut tx, &audit, change).await?;
        if paid {
            super::life::after_payment::<B>(&mut tx, tenant, contract, &audit.actor, at).await?;
        }
    }
    B::commit(tx).await?;
    Ok(Settlement::Applied { order_paid: false })
}

/// The status of contract `$1`.
const CONTRACT_OF: &str = "SELECT status FROM rental_contracts WHERE id = $1";
const CONTRACT_OF_LOCKED: &str = "SELECT status FROM rental_contracts WHERE id = $1 FOR UPDATE";

/// Records installment `inst` paid through `(provider, reference)`, by
/// `actor` (as the audit log names it): its
/// amount and late fee as payments, its `paid_at`. `false` (nothing
/// written) if it was paid meanwhile (by staff): the money is then the
/// shop's to refund by hand.
async fn record<B: Backend>(
    conn: &mut Conn<B::Db>,
    tenant: TenantId,
    contract: DbId,
    inst: DbId,
    (amount, late_fee): (i64, i64),
    (provider, reference, actor): (&str, &str, &str),
    at: DateTime<Utc>,
) -> StoreResult<bool> {
    let marked = B::exec(
        conn,
        Stmt::new(
            "UPDATE rental_installments SET paid_at = $2 WHERE id = $1 AND paid_at IS NULL",
            (inst, at),
        ),
    )
    .await?;
    if marked == 0 {
        return Ok(false);
    }
    let moves = super::installment_moves(inst, amount, late_fee);
    super::record_moves::<B>(
        conn,
        tenant,
        contract,
        moves,
        (provider, reference),
        actor,
        at,
    )
    .await?;
    Ok(true)
}
