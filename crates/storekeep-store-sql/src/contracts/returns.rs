//! A contract's goods coming back, inspected (issue 15, phase 3): the
//! deposit settled (`rules::rental_end::settle`, checked by the service),
//! the unit to inspection or retired — or, rented from ordinary stock, one
//! back on the shelf — and the contract `returned`, at once.

use sqlx::Pool;
use storekeep_domain::{
    AuditContext, ContractStatus, InspectionOutcome, OrderId, RentalContractId, RentalUnitId,
    TenantId, UnitEventKind,
};
use storekeep_store::audit::Change;
use storekeep_store::contracts::{ReturnOfGoods, events};
use storekeep_store::rules::rental_end::{NOT_OUT, check_returnable};
use storekeep_store::{StoreError, StoreResult, now};

use crate::DbId;
use crate::backend::Backend;
use crate::catalog::inventory::change_stock;
use crate::stmt::Stmt;

/// `(status, deposit_held, order_id, unit_id, variant_id)` of a contract.
const CONTRACT: &str = "SELECT status, deposit_held, order_id, unit_id, variant_id \
     FROM rental_contracts WHERE id = $1 AND tenant_id = $2";
const CONTRACT_LOCKED: &str = "SELECT status, deposit_held, order_id, unit_id, variant_id \
     FROM rental_contracts WHERE id = $1 AND tenant_id = $2 FOR UPDATE";

/// Counts contract `$1`'s order line restocked by one, unless a refund
/// already put it back.
const RESTOCK_LINE: &str = "UPDATE order_lines SET restocked = restocked + 1 \
     WHERE id = (SELECT order_line_id FROM rental_contracts WHERE id = $1) \
     AND restocked < quantity";

/// A settlement payment, with its reason, once per `(contract, key)`.
const INSERT_SETTLEMENT: &str = "INSERT INTO rental_payments (id, tenant_id, contract_id, \
     installment_id, kind, amount, provider, reference, reason, actor_id, key, created_at, \
     actor) VALUES ($1, $2, $3, NULL, $4, $5, 'manual', 'return', $6, NULL, $4, $7, $8) \
     ON CONFLICT (contract_id, key) DO NOTHING";

pub async fn return_contract<B: Backend>(
    pool: &Pool<B::Db>,
    tenant: TenantId,
    id: RentalContractId,
    ret: &ReturnOfGoods,
    audit: &AuditContext,
) -> StoreResult<()> {
    let at = now();
    let mut tx = B::write_tx(pool).await?;
    let (c, t) = (DbId(id.0), DbId(tenant.0));
    let sql = B::read_for_update(CONTRACT, CONTRACT_LOCKED);
    let row: Option<(String, i64, DbId, Option<DbId>, DbId)> =
        B::optional(&mut tx, Stmt::new(sql, (c, t))).await?;
    let (status, held, order, unit, variant) =
        row.ok_or(StoreError::NotFound("rental contract"))?;
    let status = ContractStatus::parse(&status)
        .ok_or_else(|| StoreError::Other(format!("stored contract status {status:?}").into()))?;
    let started = started::<B>(&mut tx, c).await?;
    check_returnable(status, started).map_err(StoreError::Invalid)?;
    if held != ret.held {
        return Err(StoreError::Invalid(NOT_OUT));
    }
    let moves = [
        ("damage_charge", ret.charge, ret.reason.as_deref()),
        ("deposit_refund", ret.refund, None),
    ];
    for (kind, amount, reason) in moves {
        if amount <= 0 {
            continue;
        }
        let id = DbId(uuid::Uuid::now_v7());
        let args = (id, t, c, kind, amount, reason, at, audit.actor.as_str());
        if B::exec(&mut tx, Stmt::new(INSERT_SETTLEMENT, args)).await? == 0 {
            return Err(StoreError::Invalid(NOT_OUT));
        }
    }
    B::exec(
        &mut tx,
        Stmt::new(
            "UPDATE rental_contracts SET status = 'returned', deposit_held = 0, updated_at = $2 \
             WHERE id = $1",
            (c, at),
        ),
    )
    .await?;
    let note = unit_note(ret);
    match (unit, ret.outcome) {
        (Some(unit), outcome) => {
            let (to, kind) = match outcome {
                InspectionOutcome::Missing => ("retired", UnitEventKind::Retired),
                _ => ("inspection", UnitEventKind::Returned),
            };
            let moved = B::exec(
                &mut tx,
                Stmt::new(
                    "UPDATE rental_units SET status = $3, contract_id = NULL, updated_at = $4 \
                     WHERE id = $1 AND contract_id = $2 AND status = 'rented'",
                    (unit, c, to, at),
                ),
            )
            .await?;
            if moved > 0 {
                let unit = RentalUnitId(unit.0);
                super::unit_event::<B>(&mut tx, tenant, unit, kind, c.0, &note, &audit.actor, at)
                    .await?;
            }
        }
        (None, InspectionOutcome::Missing) => {}
        (None, _) => {
            // Back on the shelf once: the order line counts it restocked,
            // so a refund that restocked the line already put it back (and
            // a later refund cannot restock it again).
            let back = B::exec(&mut tx, Stmt::new(RESTOCK_LINE, (c,))).await?;
            if back == 1 {
                let reason = format!("rental contract {id} returned");
                change_stock::<B>(&mut tx, tenant, variant.0, 1, &reason, &audit.actor).await?;
                let product: DbId = B::scalar(
                    &mut tx,
                    Stmt::new("SELECT product_id FROM variants WHERE id = $1", (variant,)),
                )
                .await?;
                B::refresh_summary(&mut tx, product).await?;
            }
        }
    }
    let unit_id = unit.map(|u| RentalUnitId(u.0));
    let (topic, payload) =
        events::contract_returned(id, unit_id, ret.outcome, ret.charge, ret.refund);
    crate::commerce::outbox::emit::<B>(&mut tx, tenant, OrderId(order.0), topic, payload).await?;
    let change = Change {
        before: Some(serde_json::json!({ "status": status.as_str(), "deposit_held": held })),
        after: Some(serde_json::json!({
            "status": "returned", "deposit_held": 0, "outcome": ret.outcome.as_str(),
            "charge": ret.charge, "refund": ret.refund, "reason": ret.reason,
            "notes": ret.notes,
        })),
        ..Change::new(
            tenant.to_string(),
            "rental_contract.returned",
            format!("rental_contract:{id}"),
        )
    };
    B::record_change(&mut tx, audit, change).await?;
    B::commit(tx).await
}

/// Whether the contract's order was paid: its deposit is recorded (key
/// `deposit`, written with the order's payment even when it is 0).
pub(super) async fn started<B: Backend>(
    conn: &mut crate::backend::Conn<B::Db>,
    contract: DbId,
) -> StoreResult<bool> {
    let n: i64 = B::scalar(
        conn,
        Stmt::new(
            "SELECT count(*) FROM rental_payments WHERE contract_id = $1 AND key = 'deposit'",
            (contract,),
        ),
    )
    .await?;
    Ok(n > 0)
}

/// The unit's history note: the outcome, the charge's reason and staff's
/// notes.
fn unit_note(ret: &ReturnOfGoods) -> String {
    let mut note = match ret.outcome {
        InspectionOutcome::Ok => "returned: ok, awaiting inspection".to_owned(),
        InspectionOutcome::Damaged => "returned damaged, awaiting inspection".to_owned(),
        InspectionOutcome::Missing => "missing: not returned with its contract".to_owned(),
    };
    for part in [&ret.reason, &ret.notes].into_iter().flatten() {
        note.push_str(" — ");
        note.push_str(part);
    }
    note
}
