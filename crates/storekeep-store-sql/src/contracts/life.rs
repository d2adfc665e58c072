//! The contract life cycle after checkout (issue 15, phase 2): a
//! rent-to-own contract whose every installment is paid is `completed`,
//! its unit `sold` to the customer.

use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::types::Json;
use storekeep_domain::{OrderId, RentalUnitId, TenantId, UnitEventKind};
use storekeep_store::StoreResult;
use storekeep_store::contracts::events;

use crate::DbId;
use crate::backend::{Backend, Conn};
use crate::stmt::Stmt;

/// `(order_id, unit_id, terms)` of a running contract.
const RUNNING: &str = "SELECT order_id, unit_id, terms FROM rental_contracts \
     WHERE id = $1 AND status IN ('active', 'overdue')";

const UNPAID: &str = "SELECT count(*) FROM rental_installments \
     WHERE contract_id = $1 AND paid_at IS NULL";

/// In the caller's transaction, after an installment was paid: a running
/// rent-to-own contract with nothing left unpaid becomes `completed`, its
/// unit (if any) `sold` with a history row, and an outbox event
/// `rental.contract_completed` is written. A fixed-term contract stays
/// active until it is returned. Returns whether it completed.
pub async fn complete_if_paid<B: Backend>(
    conn: &mut Conn<B::Db>,
    tenant: TenantId,
    contract: DbId,
    actor: &str,
    at: DateTime<Utc>,
) -> StoreResult<bool> {
    let row: Option<(DbId, Option<DbId>, Json<Value>)> =
        B::optional(conn, Stmt::new(RUNNING, (contract,))).await?;
    let Some((order, unit, terms)) = row else {
        return Ok(false);
    };
    if !is_rent_to_own(&terms.0) {
        return Ok(false);
    }
    let unpaid: i64 = B::scalar(conn, Stmt::new(UNPAID, (contract,))).await?;
    if unpaid > 0 {
        return Ok(false);
    }
    if B::exec(
        conn,
        Stmt::new(
            "UPDATE rental_contracts SET status = 'completed', updated_at = $2 \
             WHERE id = $1 AND status IN ('active', 'overdue')",
            (contract, at),
        ),
    )
    .await?
        == 0
    {
        return Ok(false);
    }
    if let Some(unit) = unit {
        sell_unit::<B>(
            conn,
            tenant,
            RentalUnitId(unit.0),
            contract,
            "paid in full",
            actor,
            at,
        )
        .await?;
    }
    let (topic, payload) = events::contract_completed(
        storekeep_domain::RentalContractId(contract.0),
        unit.map(|u| RentalUnitId(u.0)),
    );
    crate::commerce::outbox::emit::<B>(conn, tenant, OrderId(order.0), topic, payload).await?;
    Ok(true)
}

/// Whether stored terms are rent-to-own.
pub(crate) fn is_rent_to_own(terms: &Value) -> bool {
    terms["kind"] == "rent_to_own"
}

/// The unit passes to the customer: `sold`, with a history row.
pub(crate) async fn sell_unit<B: Backend>(
    conn: &mut Conn<B::Db>,
    tenant: TenantId,
    unit: RentalUnitId,
    contract: DbId,
    note: &str,
    actor: &str,
    at: DateTime<Utc>,
) -> StoreResult<()> {
    B::exec(
        conn,
        Stmt::new(
            "UPDATE rental_units SET status = 'sold', contract_id = NULL, updated_at = $2 \
             WHERE id = $1",
            (DbId(unit.0), at),
        ),
    )
    .await?;
    super::unit_event::<B>(
        conn,
        tenant,
        unit,
        UnitEventKind::Sold,
        contract.0,
        note,
        actor,
        at,
    )
    .await
}

// i15 phase 3, payments: a paid-up overdue contract runs again.
/// In the caller's transaction, after an installment was paid at `at`: an
/// `overdue` contract with no unpaid installment past its due date on its
/// shop's date (`rules::rental_daily::paid_up`) becomes `active` again.
/// Returns whether it did.
pub async fn reinstate_if_paid_up<B: Backend>(
    conn: &mut Conn<B::Db>,
    contract: DbId,
    at: DateTime<Utc>,
) -> StoreResult<bool> {
    let zone: Option<String> = B::scalar_optional(
        conn,
        Stmt::new(
            "SELECT time_zone FROM rental_contracts WHERE id = $1 AND status = 'overdue'",
            (contract,),
        ),
    )
    .await?;
    let Some(zone) = zone else {
        return Ok(false);
    };
    let unpaid: Vec<(chrono::NaiveDate,)> = B::all(
        conn,
        Stmt::new(
            "SELECT due_date FROM rental_installments WHERE contract_id = $1 AND paid_at IS NULL",
            (contract,),
        ),
    )
    .await?;
    let unpaid: Vec<chrono::NaiveDate> = unpaid.into_iter().map(|(d,)| d).collect();
    let today = storekeep_store::rules::rentals::shop_today(at, &zone);
    if !storekeep_store::rules::rental_daily::paid_up(&unpaid, today) {
        return Ok(false);
    }
    let moved = B::exec(
        conn,
        Stmt::new(
            "UPDATE rental_contracts SET status = 'active', updated_at = $2 \
             WHERE id = $1 AND status = 'overdue'",
            (contract, at),
        ),
    )
    .await?;
    Ok(moved == 1)
}

/// After an installment was paid: the contract completes if it is paid in
/// full, otherwise it runs again if it is paid up. Returns whether it
/// completed.
pub async fn after_payment<B: Backend>(
    conn: &mut Conn<B::Db>,
    tenant: TenantId,
    contract: DbId,
    actor: &str,
    at: DateTime<Utc>,
) -> StoreResult<bool> {
    if complete_if_paid::<B>(conn, tenant, contract, actor, at).await? {
        return Ok(true);
    }
    reinstate_if_paid_up::<B>(conn, contract, at).await?;
    Ok(false)
}
