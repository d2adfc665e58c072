//! Extending a running contract by more periods (i15 phase 3): the
//! installments a longer contract would have had, on the same anchor.

use chrono::NaiveDate;
use serde_json::{Value, json};
use sqlx::Pool;
use sqlx::types::Json;
use storekeep_domain::{AuditContext, OrderId, RentalContractId, RentalTerms, TenantId};
use storekeep_store::audit::Change;
use storekeep_store::contracts::events;
use storekeep_store::rules::rentals::extension;
use storekeep_store::{StoreError, StoreResult, now};

use super::terms::TermsJson;
use crate::DbId;
use crate::backend::Backend;
use crate::stmt::Stmt;

/// The contract's term changed since the caller read it.
pub const TERM_CHANGED: &str =
    "the contract's term changed while it was being extended: read it again";

/// `(order_id, status, term, terms, start_date)` of a contract.
type Row = (DbId, String, i32, Json<TermsJson>, NaiveDate);

const CONTRACT: &str = "SELECT order_id, status, term, terms, start_date FROM rental_contracts \
     WHERE id = $1 AND tenant_id = $2";
const CONTRACT_LOCKED: &str = "SELECT order_id, status, term, terms, start_date \
     FROM rental_contracts WHERE id = $1 AND tenant_id = $2 FOR UPDATE";

/// Extends contract `id`, whose term the caller read as `from_term` and
/// checked against its terms, by `periods`: appends installments
/// `from_term + 1 …` with `rules::rentals::extension`, sets the term,
/// writes the audit entry `rental_contract.extended` and the outbox event
/// `rental.contract_extended`, in one transaction. `Invalid(NOT_RUNNING)`
/// unless the contract is active or overdue; `Invalid(TERM_CHANGED)` if its
/// term is no longer `from_term`.
pub async fn extend_contract<B: Backend>(
    pool: &Pool<B::Db>,
    tenant: TenantId,
    id: RentalContractId,
    from_term: i32,
    periods: i32,
    audit: &AuditContext,
) -> StoreResult<()> {
    let at = now();
    let mut tx = B::write_tx(pool).await?;
    let (c, t) = (DbId(id.0), DbId(tenant.0));
    let sql = B::read_for_update(CONTRACT, CONTRACT_LOCKED);
    let row: Option<Row> = B::optional(&mut tx, Stmt::new(sql, (c, t))).await?;
    let (order, status, term, terms, start) = row.ok_or(StoreError::NotFound("rental contract"))?;
    if !matches!(status.as_str(), "active" | "overdue") {
        return Err(StoreError::Invalid(super::NOT_RUNNING));
    }
    if term != from_term {
        return Err(StoreError::Invalid(TERM_CHANGED));
    }
    let terms = RentalTerms::from(terms.0);
    let added = extension(start, &terms, term, periods);
    let to_term = term
        .checked_add(periods)
        .filter(|_| usize::try_from(periods).is_ok_and(|p| p == added.len()))
        .ok_or(StoreError::Invalid(
            "the extension's dates are out of range",
        ))?;
    let rows = added.iter().map(|i| (i.seq, i.due_date, i.amount));
    super::insert_installments::<B>(&mut tx, t, c, rows).await?;
    B::exec(
        &mut tx,
        Stmt::new(
            "UPDATE rental_contracts SET term = $2, updated_at = $3 WHERE id = $1",
            (c, to_term, at),
        ),
    )
    .await?;
    let schedule: Vec<Value> = added
        .iter()
        .map(|i| json!({"seq": i.seq, "due_date": i.due_date, "amount": i.amount}))
        .collect();
    let change = Change {
        before: Some(json!({ "term": term })),
        after: Some(json!({ "term": to_term, "periods": periods, "installments": schedule })),
        ..Change::new(
            tenant.to_string(),
            "rental_contract.extended",
            format!("rental_contract:{id}"),
        )
    };
    B::record_change(&mut tx, audit, change).await?;
    let last_due = added.last().map(|i| i.due_date);
    let (topic, payload) = events::contract_extended(id, term, to_term, last_due);
    crate::commerce::outbox::emit::<B>(&mut tx, tenant, OrderId(order.0), topic, payload).await?;
    B::commit(tx).await
}
