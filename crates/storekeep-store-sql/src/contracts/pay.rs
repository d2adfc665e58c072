//! Staff recording a payment of one installment (and its late fee).

use sqlx::Pool;
use storekeep_domain::{AuditContext, InstallmentId, RentalContractId, TenantId};
use storekeep_store::audit::Change;
use storekeep_store::{StoreError, StoreResult, now};

use crate::DbId;
use crate::backend::{Backend, Conn};
use crate::stmt::Stmt;

/// Only a running contract takes installments.
pub const NOT_RUNNING: &str = "the contract is not active or overdue: it takes no payments";
/// Every installment of the contract is paid.
pub const NOTHING_DUE: &str = "every installment of the contract is paid";

/// An installment's `(id, seq, amount, late_fee, paid_at)`.
type InstallmentDue = (DbId, i32, i64, i64, Option<chrono::DateTime<chrono::Utc>>);

const CONTRACT_STATUS: &str =
    "SELECT status FROM rental_contracts WHERE id = $1 AND tenant_id = $2";
const CONTRACT_STATUS_LOCKED: &str =
    "SELECT status FROM rental_contracts WHERE id = $1 AND tenant_id = $2 FOR UPDATE";

/// Records installment `installment` (the first unpaid one if `None`) of
/// the contract as paid by staff through `provider` with `reference`: one
/// `installment:<id>` payment of its amount and, if a late fee was
/// charged, one `late_fee:<id>` payment of it; the installment's `paid_at`
/// set; an audit entry. `Conflict { field: "installment_id" }` if it was
/// paid already, `UnknownReference` if the contract has no such
/// installment.
pub async fn pay_installment<B: Backend>(
    pool: &Pool<B::Db>,
    tenant: TenantId,
    id: RentalContractId,
    installment: Option<InstallmentId>,
    reference: &str,
    audit: &AuditContext,
) -> StoreResult<()> {
    let at = now();
    let mut tx = B::write_tx(pool).await?;
    let (c, t) = (DbId(id.0), DbId(tenant.0));
    let sql = B::read_for_update(CONTRACT_STATUS, CONTRACT_STATUS_LOCKED);
    let status: Option<String> = B::scalar_optional(&mut tx, Stmt::new(sql, (c, t))).await?;
    match status.as_deref() {
        None => return Err(StoreError::NotFound("rental contract")),
        Some("active" | "overdue") => {}
        Some(_) => return Err(StoreError::Invalid(NOT_RUNNING)),
    }
    // Before the order is paid its payment records the first installment.
    if !super::returns::started::<B>(&mut tx, c).await? {
        return Err(StoreError::Invalid(
            storekeep_store::rules::rental_end::NOT_STARTED,
        ));
    }
    let (inst, seq, amount, late_fee) = installment_due::<B>(&mut tx, c, installment).await?;
    let moves = super::installment_moves(inst, amount, late_fee);
    let paid_by = ("manual", reference);
    if !super::record_moves::<B>(&mut tx, tenant, c, moves, paid_by, &audit.actor, at).await? {
        return Err(StoreError::Conflict {
            field: "installment_id",
        });
    }
    B::exec(
        &mut tx,
        Stmt::new(
            "UPDATE rental_installments SET paid_at = $2 WHERE id = $1 AND paid_at IS NULL",
            (inst, at),
        ),
    )
    .await?;
    let change = Change {
        after: Some(serde_json::json!({
            "installment_id": inst.0, "seq": seq, "amount": amount, "late_fee": late_fee,
            "reference": reference,
        })),
        ..Change::new(
            tenant.to_string(),
            "rental_contract.installment_paid",
            format!("rental_contract:{id}"),
        )
    };
    B::record_change(&mut tx, audit, change).await?;
    // i15 phase 3: a customer's `manual` attempt (a bank transfer) is
    // settled by staff recording the installment.
    B::exec(
        &mut tx,
        Stmt::new(
            "UPDATE rental_payment_attempts SET status = 'confirmed', updated_at = $2 \
             WHERE installment_id = $1 AND status = 'pending' AND provider = 'manual'",
            (inst, at),
        ),
    )
    .await?;
    super::life::after_payment::<B>(&mut tx, tenant, c, &audit.actor, at).await?;
    B::commit(tx).await
}

/// The installment to pay, `installment` or else the first unpaid one, as
/// `(id, seq, amount, late_fee)`. `UnknownReference` if the contract has no
/// such installment, `Invalid(NOTHING_DUE)` if none is unpaid, `Conflict {
/// field: "installment_id" }` if the one named is paid.
pub(crate) async fn installment_due<B: Backend>(
    conn: &mut Conn<B::Db>,
    c: DbId,
    installment: Option<InstallmentId>,
) -> StoreResult<(DbId, i32, i64, i64)> {
    let row: Option<InstallmentDue> = match installment {
        Some(i) => {
            B::optional(
                conn,
                Stmt::new(
                    "SELECT id, seq, amount, late_fee, paid_at FROM rental_installments \
                     WHERE contract_id = $1 AND id = $2",
                    (c, DbId(i.0)),
                ),
            )
            .await?
        }
        None => {
            B::optional(
                conn,
                Stmt::new(
                    "SELECT id, seq, amount, late_fee, paid_at FROM rental_installments \
                     WHERE contract_id = $1 AND paid_at IS NULL ORDER BY seq LIMIT 1",
                    (c,),
                ),
            )
            .await?
        }
    };
    let (inst, seq, amount, late_fee, paid_at) = match (row, installment) {
        (Some(r), _) => r,
        (None, Some(_)) => {
            return Err(StoreError::UnknownReference {
                field: "installment_id",
            });
        }
        (None, None) => return Err(StoreError::Invalid(NOTHING_DUE)),
    };
    if paid_at.is_some() {
        return Err(StoreError::Conflict {
            field: "installment_id",
        });
    }
    Ok((inst, seq, amount, late_fee))
}
