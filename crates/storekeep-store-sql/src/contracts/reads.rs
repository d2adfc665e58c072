//! The contracts' rows, the cart's rental lines and the reads, and
//! [`impl_contract_store!`](crate::impl_contract_store).

use chrono::{DateTime, NaiveDate, Utc};
use sqlx::Pool;
use sqlx::types::Json;
use storekeep_domain::{
    CartId, ContractDetail, ContractFilter, ContractStatus, Installment, InstallmentId, OrderId,
    Page, PageRequest, RentalContract, RentalContractId, RentalPayment, RentalPaymentKind,
    RentalPlanId, RentalUnit, RentalUnitId, TenantId, UserId, VariantId,
};
use storekeep_store::rules::commerce::carts::{CHECKED_OUT, check_room_for_line};
use storekeep_store::{StoreError, StoreResult, now};

use super::terms::TermsJson;
use crate::DbId;
use crate::backend::Backend;
use crate::commerce::page_before;
use crate::rentals::rows::UnitRow;
use crate::stmt::{Stmt, found, page_of};

fn corrupt(what: &str, value: &str) -> StoreError {
    StoreError::Other(format!("stored {what} is invalid: {value:?}").into())
}

fn parse<T>(what: &str, value: &str, f: fn(&str) -> Option<T>) -> StoreResult<T> {
    f(value).ok_or_else(|| corrupt(what, value))
}

pub async fn set_rental_item<B: Backend>(
    pool: &Pool<B::Db>,
    tenant: TenantId,
    cart: CartId,
    variant: VariantId,
    plan: RentalPlanId,
    term: i32,
) -> StoreResult<()> {
    let at = now();
    let mut tx = B::write_tx(pool).await?;
    let (c, t) = (DbId(cart.0), DbId(tenant.0));
    let open = B::exec(
        &mut tx,
        Stmt::new(
            "UPDATE carts SET updated_at = $3 WHERE id = $1 AND tenant_id = $2 AND status = 'open'",
            (c, t, at),
        ),
    )
    .await?;
    if open == 0 {
        let known: Option<i32> = B::scalar_optional(
            &mut tx,
            Stmt::new(
                "SELECT 1 FROM carts WHERE id = $1 AND tenant_id = $2",
                (c, t),
            ),
        )
        .await?;
        return Err(match known {
            None => StoreError::NotFound("cart"),
            Some(_) => StoreError::Invalid(CHECKED_OUT),
        });
    }
    let others: i64 = B::scalar(
        &mut tx,
        Stmt::new(
            "SELECT count(*) FROM cart_items WHERE cart_id = $1 AND variant_id <> $2",
            (c, DbId(variant.0)),
        ),
    )
    .await?;
    check_room_for_line(others)?;
    B::exec(
        &mut tx,
        Stmt::new(
            "INSERT INTO cart_items (id, cart_id, variant_id, quantity, created_at, \
             rental_plan_id, rental_term) VALUES ($1, $2, $3, 1, $4, $5, $6) \
             ON CONFLICT (cart_id, variant_id) DO UPDATE SET quantity = 1, \
             rental_plan_id = excluded.rental_plan_id, rental_term = excluded.rental_term",
            (
                DbId(uuid::Uuid::now_v7()),
                c,
                DbId(variant.0),
                at,
                DbId(plan.0),
                term,
            ),
        ),
    )
    .await?;
    B::commit(tx).await
}

macro_rules! contract_columns {
    () => {
        "id, tenant_id, order_id, plan_id, variant_id, unit_id, customer_id, status, terms, \
         cash_price, currency, deposit, deposit_held, term, time_zone, start_date, created_at, \
         updated_at"
    };
}

#[derive(sqlx::FromRow)]
struct ContractRow {
    id: DbId,
    tenant_id: DbId,
    order_id: DbId,
    plan_id: DbId,
    variant_id: DbId,
    unit_id: Option<DbId>,
    customer_id: Option<DbId>,
    status: String,
    terms: Json<TermsJson>,
    cash_price: i64,
    currency: String,
    deposit: i64,
    deposit_held: i64,
    term: i32,
    time_zone: String,
    start_date: NaiveDate,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl TryFrom<ContractRow> for RentalContract {
    type Error = StoreError;
    fn try_from(r: ContractRow) -> StoreResult<Self> {
        Ok(Self {
            id: RentalContractId(r.id.0),
            tenant_id: TenantId(r.tenant_id.0),
            order_id: OrderId(r.order_id.0),
            plan_id: RentalPlanId(r.plan_id.0),
            variant_id: VariantId(r.variant_id.0),
            unit_id: r.unit_id.map(|u| RentalUnitId(u.0)),
            customer_id: r.customer_id.map(|u| UserId(u.0)),
            status: parse("contract status", &r.status, ContractStatus::parse)?,
            terms: r.terms.0.into(),
            cash_price: r.cash_price,
            currency: r.currency,
            deposit: r.deposit,
            deposit_held: r.deposit_held,
            term: r.term,
            time_zone: r.time_zone,
            start_date: r.start_date,
            created_at: r.created_at,
            updated_at: r.updated_at,
        })
    }
}

#[derive(sqlx::FromRow)]
struct InstallmentRow {
    id: DbId,
    contract_id: DbId,
    seq: i32,
    due_date: NaiveDate,
    amount: i64,
    late_fee: i64,
    paid_at: Option<DateTime<Utc>>,
    reminders: Json<Vec<String>>,
}

impl From<InstallmentRow> for Installment {
    fn from(r: InstallmentRow) -> Self {
        Self {
            id: InstallmentId(r.id.0),
            contract_id: RentalContractId(r.contract_id.0),
            seq: r.seq,
            due_date: r.due_date,
            amount: r.amount,
            late_fee: r.late_fee,
            paid_at: r.paid_at,
            reminders_sent: r.reminders.0,
        }
    }
}

#[derive(sqlx::FromRow)]
struct PaymentRow {
    id: DbId,
    contract_id: DbId,
    installment_id: Option<DbId>,
    kind: String,
    amount: i64,
    provider: String,
    reference: String,
    reason: Option<String>,
    key: String,
    created_at: DateTime<Utc>,
    actor: Option<String>,
}

impl TryFrom<PaymentRow> for RentalPayment {
    type Error = StoreError;
    fn try_from(r: PaymentRow) -> StoreResult<Self> {
        Ok(Self {
            id: r.id.0,
            contract_id: RentalContractId(r.contract_id.0),
            installment_id: r.installment_id.map(|i| InstallmentId(i.0)),
            kind: parse("rental payment kind", &r.kind, RentalPaymentKind::parse)?,
            amount: r.amount,
            provider: r.provider,
            reference: r.reference,
            reason: r.reason,
            key: r.key,
            created_at: r.created_at,
            actor: r.actor,
        })
    }
}

/// A shop's contracts with ids below `$2`, newest first, of status `$3`
/// and customer `$4` (any if NULL), at most `$5`.
const CONTRACT_PAGE: &str = concat!(
    "SELECT ",
    contract_columns!(),
    " FROM rental_contracts WHERE tenant_id = $1 AND id < $2 \
     AND (CAST($3 AS TEXT) IS NULL OR status = $3) \
     AND (CAST($4 AS TEXT) IS NULL OR customer_id = $4) ORDER BY id DESC LIMIT $5"
);

const CONTRACT_BY_ID: &str = concat!(
    "SELECT ",
    contract_columns!(),
    " FROM rental_contracts WHERE id = $1 AND tenant_id = $2"
);

pub async fn list_contracts<B: Backend>(
    pool: &Pool<B::Db>,
    tenant: TenantId,
    filter: &ContractFilter,
    page: &PageRequest,
) -> StoreResult<Page<RentalContract>> {
    let args = (
        DbId(tenant.0),
        page_before(page)?,
        filter.status.map(ContractStatus::as_str),
        filter.customer_id.map(|c| DbId(c.0)),
        page.fetch_limit(),
    );
    let mut conn = B::conn(pool).await?;
    let rows: Vec<ContractRow> = B::all(&mut conn, Stmt::new(CONTRACT_PAGE, args)).await?;
    page_of(rows, page, |c: &RentalContract| c.id.0)
}

pub async fn contract<B: Backend>(
    pool: &Pool<B::Db>,
    tenant: TenantId,
    id: RentalContractId,
) -> StoreResult<ContractDetail> {
    // One snapshot: a payment committing between the statements would
    // otherwise show its installment paid on a contract still overdue.
    let mut conn = B::snapshot_tx(pool).await?;
    let row: Option<ContractRow> = B::optional(
        &mut conn,
        Stmt::new(CONTRACT_BY_ID, (DbId(id.0), DbId(tenant.0))),
    )
    .await?;
    let contract: RentalContract = found(row, "rental contract")?;
    let installments: Vec<InstallmentRow> = B::all(
        &mut conn,
        Stmt::new(
            "SELECT id, contract_id, seq, due_date, amount, late_fee, paid_at, reminders \
             FROM rental_installments WHERE contract_id = $1 ORDER BY seq",
            (DbId(id.0),),
        ),
    )
    .await?;
    let payments: Vec<PaymentRow> = B::all(
        &mut conn,
        Stmt::new(
            "SELECT id, contract_id, installment_id, kind, amount, provider, reference, reason, \
             key, created_at, actor FROM rental_payments WHERE contract_id = $1 ORDER BY id",
            (DbId(id.0),),
        ),
    )
    .await?;
    let unit = match contract.unit_id {
        None => None,
        Some(u) => {
            let row: Option<UnitRow> = B::optional(
                &mut conn,
                Stmt::new(
                    "SELECT id, tenant_id, variant_id, serial, condition, notes, status, \
                     contract_id, created_at, updated_at FROM rental_units \
                     WHERE id = $1 AND tenant_id = $2",
                    (DbId(u.0), DbId(tenant.0)),
                ),
            )
            .await?;
            row.map(RentalUnit::try_from).transpose()?
        }
    };
    B::commit(conn).await?;
    Ok(ContractDetail {
        contract,
        installments: installments.into_iter().map(Installment::from).collect(),
        payments: payments
            .into_iter()
            .map(RentalPayment::try_from)
            .collect::<StoreResult<_>>()?,
        unit,
    })
}

/// Implements `ContractStore` for a backend's store type (with a `pool`
/// field) by calling this module's functions with `$backend`.
#[macro_export]
macro_rules! impl_contract_store {
    ($store:ty, $backend:ty) => {
        const _: () = {
            use $crate::contracts as c;
            use $crate::contracts::reexports::*;

            #[async_trait]
            impl ContractStore for $store {
                async fn set_rental_item(
                    &self,
                    tenant: TenantId,
                    cart: CartId,
                    variant: VariantId,
                    plan: RentalPlanId,
                    term: i32,
                ) -> StoreResult<()> {
                    c::set_rental_item::<$backend>(&self.pool, tenant, cart, variant, plan, term)
                        .await
                }
                async fn list_contracts(
                    &self,
                    tenant: TenantId,
                    filter: &ContractFilter,
                    page: &PageRequest,
                ) -> StoreResult<Page<RentalContract>> {
                    c::list_contracts::<$backend>(&self.pool, tenant, filter, page).await
                }
                async fn contract(
                    &self,
                    tenant: TenantId,
                    id: RentalContractId,
                ) -> StoreResult<ContractDetail> {
                    c::contract::<$backend>(&self.pool, tenant, id).await
                }
                async fn pay_installment(
                    &self,
                    tenant: TenantId,
                    id: RentalContractId,
                    installment: Option<InstallmentId>,
                    reference: &str,
                    audit: &AuditContext,
                ) -> StoreResult<()> {
                    c::pay_installment::<$backend>(
                        &self.pool,
                        tenant,
                        id,
                        installment,
                        reference,
                        audit,
                    )
                    .await
                }
                // i15 daily job: the daily pass.
                async fn rentals_daily_batch(
                    &self,
                    pass: &storekeep_store::rules::rental_daily::DailyPass,
                    after: Option<RentalContractId>,
                    limit: usize,
                ) -> StoreResult<(
                    storekeep_store::rules::rental_daily::DailyOutcome,
                    Option<RentalContractId>,
                )> {
                    c::daily::daily_batch::<$backend>(&self.pool, pass, after, limit).await
                }
                // i15 phase 3, buy-out and returns.
                async fn buy_out(
                    &self,
                    tenant: TenantId,
                    id: RentalContractId,
                    expected: Option<i64>,
                    reference: &str,
                    audit: &AuditContext,
                ) -> StoreResult<()> {
                    c::buy_out::<$backend>(&self.pool, tenant, id, expected, reference, audit).await
                }
                async fn return_contract(
                    &self,
                    tenant: TenantId,
                    id: RentalContractId,
                    ret: &storekeep_store::contracts::ReturnOfGoods,
                    audit: &AuditContext,
                ) -> StoreResult<()> {
                    c::return_contract::<$backend>(&self.pool, tenant, id, ret, audit).await
                }
                // i15 phase 3, payments and extension.
                async fn extend_contract(
                    &self,
                    tenant: TenantId,
                    id: RentalContractId,
                    from_term: i32,
                    periods: i32,
                    audit: &AuditContext,
                ) -> StoreResult<()> {
                    c::extend::extend_contract::<$backend>(
                        &self.pool, tenant, id, from_term, periods, audit,
                    )
                    .await
                }
                // i15 phase 3: customers paying installments.
                async fn start_installment_payment(
                    &self,
                    tenant: TenantId,
                    id: RentalContractId,
                    req: &storekeep_store::contracts::NewInstallmentPayment,
                    audit: &AuditContext,
                ) -> StoreResult<storekeep_store::contracts::InstallmentPayment> {
                    c::customer_pay::start_installment_payment::<$backend>(
                        &self.pool, tenant, id, req, audit,
                    )
                    .await
                }
                // i17: the storefront's rental page.
                async fn latest_installment_attempt(
                    &self,
                    tenant: TenantId,
                    id: RentalContractId,
                    customer: storekeep_domain::UserId,
                ) -> StoreResult<Option<storekeep_store::contracts::InstallmentPayment>> {
                    c::customer_pay::latest_installment_attempt::<$backend>(
                        &self.pool, tenant, id, customer,
                    )
                    .await
                }
                async fn settle_installment_payment(
                    &self,
                    provider: &str,
                    reference: &str,
                    event_id: &str,
                    outcome: storekeep_domain::PaymentOutcome,
                ) -> StoreResult<storekeep_domain::Settlement> {
                    c::customer_pay::settle_installment_payment::<$backend>(
                        &self.pool, provider, reference, event_id, outcome,
                    )
                    .await
                }
            }
        };
    };
}
