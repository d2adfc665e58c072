//! Early buy-out of a rent-to-own contract (issue 15, phase 3): the quote
//! (`rules::rental_end::buyout_quote`) taken under the contract's lock,
//! the payments, the contract `bought_out` and its unit sold, at once.

use chrono::{DateTime, Utc};
use sqlx::Pool;
use sqlx::types::Json;
use storekeep_domain::{
    AuditContext, ContractStatus, OrderId, RentalContractId, RentalUnitId, TenantId,
};
use storekeep_store::audit::Change;
use storekeep_store::contracts::events;
use storekeep_store::rules::rental_end::{Due, QUOTE_CHANGED, buyout_quote};
use storekeep_store::{StoreError, StoreResult, now};

use super::terms::TermsJson;
use crate::DbId;
use crate::backend::Backend;
use crate::stmt::Stmt;

/// `(status, terms, cash_price, order_id, unit_id)` of a shop's contract.
const CONTRACT: &str = "SELECT status, terms, cash_price, order_id, unit_id \
     FROM rental_contracts WHERE id = $1 AND tenant_id = $2";
const CONTRACT_LOCKED: &str = "SELECT status, terms, cash_price, order_id, unit_id \
     FROM rental_contracts WHERE id = $1 AND tenant_id = $2 FOR UPDATE";

type ContractRow = (String, Json<TermsJson>, i64, DbId, Option<DbId>);
/// `(id, amount, late_fee, paid_at)` of an installment.
type DueRow = (DbId, i64, i64, Option<DateTime<Utc>>);

pub async fn buy_out<B: Backend>(
    pool: &Pool<B::Db>,
    tenant: TenantId,
    id: RentalContractId,
    expected: Option<i64>,
    reference: &str,
    audit: &AuditContext,
) -> StoreResult<()> {
    let at = now();
    let mut tx = B::write_tx(pool).await?;
    let (c, t) = (DbId(id.0), DbId(tenant.0));
    let sql = B::read_for_update(CONTRACT, CONTRACT_LOCKED);
    let row: Option<ContractRow> = B::optional(&mut tx, Stmt::new(sql, (c, t))).await?;
    let (status, terms, cash_price, order, unit) =
        row.ok_or(StoreError::NotFound("rental contract"))?;
    let status = ContractStatus::parse(&status)
        .ok_or_else(|| StoreError::Other(format!("stored contract status {status:?}").into()))?;
    let dues: Vec<DueRow> = B::all(
        &mut tx,
        Stmt::new(
            "SELECT id, amount, late_fee, paid_at FROM rental_installments \
             WHERE contract_id = $1 ORDER BY seq",
            (c,),
        ),
    )
    .await?;
    let states: Vec<Due> = dues
        .iter()
        .map(|&(_, amount, late_fee, paid_at)| Due {
            amount,
            late_fee,
            paid: paid_at.is_some(),
        })
        .collect();
    let terms = terms.0.into();
    let started = super::returns::started::<B>(&mut tx, c).await?;
    let quote =
        buyout_quote(&terms, status, started, cash_price, &states).map_err(StoreError::Invalid)?;
    if expected.is_some_and(|a| a != quote.total) {
        return Err(StoreError::Invalid(QUOTE_CHANGED));
    }
    let mut moves = vec![(None, "buyout", quote.buyout_price, "buyout".to_owned())];
    for &(inst, _, late_fee, paid_at) in &dues {
        if paid_at.is_none() && late_fee > 0 {
            moves.push((
                Some(inst),
                "late_fee",
                late_fee,
                format!("late_fee:{}", inst.0),
            ));
        }
    }
    let paid_by = ("manual", reference);
    if !super::record_moves::<B>(&mut tx, tenant, c, moves, paid_by, &audit.actor, at).await? {
        return Err(StoreError::Invalid(
            storekeep_store::rules::rental_end::NOT_RUNNING,
        ));
    }
    B::exec(
        &mut tx,
        Stmt::new(
            "UPDATE rental_contracts SET status = 'bought_out', updated_at = $2 WHERE id = $1",
            (c, at),
        ),
    )
    .await?;
    if let Some(unit) = unit {
        let unit = RentalUnitId(unit.0);
        super::life::sell_unit::<B>(&mut tx, tenant, unit, c, "bought out", &audit.actor, at)
            .await?;
    }
    let (topic, payload) = events::contract_bought_out(
        id,
        unit.map(|u| RentalUnitId(u.0)),
        quote.buyout_price,
        quote.late_fees,
    );
    crate::commerce::outbox::emit::<B>(&mut tx, tenant, OrderId(order.0), topic, payload).await?;
    let change = Change {
        before: Some(serde_json::json!({ "status": status.as_str() })),
        after: Some(serde_json::json!({
            "status": "bought_out", "buyout_price": quote.buyout_price,
            "late_fees": quote.late_fees, "total": quote.total, "rent_paid": quote.rent_paid,
            "remaining": quote.remaining, "reference": reference,
        })),
        ..Change::new(
            tenant.to_string(),
            "rental_contract.bought_out",
            format!("rental_contract:{id}"),
        )
    };
    B::record_change(&mut tx, audit, change).await?;
    B::commit(tx).await
}
