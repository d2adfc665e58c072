//! A customer's contracts as their account pages show them (issue 17): each
//! installment paid, due or overdue on the contract's own calendar (the
//! daily job's rule, `rules::rental_daily::decide`), the next one the
//! customer may pay, what is paid and what is left, the goods' title (the
//! order line's) and the plan's name. Reads only; paying goes through
//! `customer_pay::pay`, the buy-out price through `end::quote`.

use chrono::{DateTime, NaiveDate, Utc};
use storekeep_domain::{
    ContractDetail, ContractFilter, ContractStatus, InstallmentId, Page, PageRequest,
    RentalContractId, RentalPlanId, Tenant, UserId,
};
use storekeep_store::StoreError;
use storekeep_store::contracts::InstallmentPayment;
use storekeep_store::rules::rental_daily::decide;
use storekeep_store::rules::rental_disclosure::{Disclosure, disclosure};
use storekeep_store::rules::rentals::shop_today;

use crate::services::{ServiceResult, Services};

/// Where an installment stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InstallmentState {
    Paid,
    /// Unpaid, its due date today or later.
    Due,
    /// Unpaid past its due date (what makes a contract overdue).
    Overdue,
}

/// One installment of the schedule.
#[derive(Debug, Clone)]
pub struct ScheduleLine {
    pub id: InstallmentId,
    pub seq: i32,
    pub due_date: NaiveDate,
    pub amount: i64,
    /// A late fee charged on it (0 if none).
    pub late_fee: i64,
    pub state: InstallmentState,
}

/// A contract's schedule and balance on the contract's date.
#[derive(Debug, Clone)]
pub struct Statement {
    pub lines: Vec<ScheduleLine>,
    /// The first unpaid installment (index into `lines`) while the contract
    /// takes payments from its customer: running (`active`, `overdue`) and
    /// started (its order paid, which paid the first installment).
    pub next_due: Option<usize>,
    /// Installments paid (rent, late fees apart).
    pub paid: i64,
    /// Unpaid installments and their late fees while the contract runs;
    /// 0 once it has closed (bought out, returned, completed…).
    pub left: i64,
}

impl Statement {
    /// `d`'s statement at `now`.
    pub fn new(d: &ContractDetail, now: DateTime<Utc>) -> Self {
        let c = &d.contract;
        let today = shop_today(now, &c.time_zone);
        let lines: Vec<ScheduleLine> = d
            .installments
            .iter()
            .map(|i| {
                let state = if i.paid_at.is_some() {
                    InstallmentState::Paid
                } else if decide(
                    &c.terms,
                    i.amount,
                    i.due_date,
                    today,
                    &i.reminders_sent,
                    i.late_fee > 0,
                )
                .overdue
                {
                    InstallmentState::Overdue
                } else {
                    InstallmentState::Due
                };
                ScheduleLine {
                    id: i.id,
                    seq: i.seq,
                    due_date: i.due_date,
                    amount: i.amount,
                    late_fee: i.late_fee,
                    state,
                }
            })
            .collect();
        let running = matches!(c.status, ContractStatus::Active | ContractStatus::Overdue);
        let next_due = (running && super::end::started(d))
            .then(|| lines.iter().position(|l| l.state != InstallmentState::Paid))
            .flatten();
        let paid = lines
            .iter()
            .filter(|l| l.state == InstallmentState::Paid)
            .map(|l| l.amount)
            .sum();
        let left = if running {
            lines
                .iter()
                .filter(|l| l.state != InstallmentState::Paid)
                .map(|l| l.amount + l.late_fee)
                .sum()
        } else {
            0
        };
        Self {
            lines,
            next_due,
            paid,
            left,
        }
    }

    /// The next installment the customer may pay.
    pub fn next(&self) -> Option<&ScheduleLine> {
        self.next_due.map(|i| &self.lines[i])
    }
}

/// One of the customer's contracts with what the pages show of it.
#[derive(Debug, Clone)]
pub struct CustomerRental {
    pub detail: ContractDetail,
    /// The rented goods: the order line's title.
    pub title: String,
    /// The plan's name (empty if the plan was deleted since).
    pub plan_name: String,
    pub statement: Statement,
    /// The disclosure as agreed: from the terms, cash price, term and start
    /// date the contract snapshotted (as its API view and agreement show).
    pub disclosure: Disclosure,
}

async fn describe(
    svc: &Services,
    tenant: &Tenant,
    detail: ContractDetail,
    plan_names: &[(RentalPlanId, String)],
    now: DateTime<Utc>,
) -> ServiceResult<CustomerRental> {
    let c = &detail.contract;
    let order = svc.store.order(tenant.id, c.order_id).await?.order;
    let title = order
        .lines
        .iter()
        .find(|l| l.variant_id == c.variant_id)
        .map(|l| l.title.clone())
        .unwrap_or_default();
    let plan_name = plan_names
        .iter()
        .find(|(id, _)| *id == c.plan_id)
        .map(|(_, n)| n.clone())
        .unwrap_or_default();
    let statement = Statement::new(&detail, now);
    let disclosure = disclosure(&c.terms, c.cash_price, c.term, c.start_date);
    Ok(CustomerRental {
        detail,
        title,
        plan_name,
        statement,
        disclosure,
    })
}

async fn plan_names(
    svc: &Services,
    tenant: &Tenant,
    ids: &[RentalPlanId],
) -> ServiceResult<Vec<(RentalPlanId, String)>> {
    let mut unique = ids.to_vec();
    unique.sort_by_key(|id| id.0);
    unique.dedup();
    Ok(super::plans_by_id(svc, tenant, &unique)
        .await?
        .into_iter()
        .map(|p| (p.id, p.name))
        .collect())
}

/// A page of `customer`'s contracts, newest first (as
/// `GET /api/v1/store/rentals` lists them), each described.
pub async fn customer_rentals(
    svc: &Services,
    tenant: &Tenant,
    customer: UserId,
    page: &PageRequest,
) -> ServiceResult<Page<CustomerRental>> {
    let filter = ContractFilter {
        customer_id: Some(customer),
        ..Default::default()
    };
    let found = super::list(svc, tenant, &filter, page).await?;
    let ids: Vec<RentalPlanId> = found.items.iter().map(|c| c.plan_id).collect();
    let names = plan_names(svc, tenant, &ids).await?;
    let now = storekeep_store::now();
    let mut items = Vec::with_capacity(found.items.len());
    for c in &found.items {
        let detail = super::own(svc, tenant, customer, c.id).await?;
        items.push(describe(svc, tenant, detail, &names, now).await?);
    }
    Ok(Page {
        items,
        next_cursor: found.next_cursor,
    })
}

/// One of `customer`'s contracts, described; anyone else's is not found.
pub async fn customer_rental(
    svc: &Services,
    tenant: &Tenant,
    customer: UserId,
    id: RentalContractId,
) -> ServiceResult<CustomerRental> {
    let detail = super::own(svc, tenant, customer, id).await?;
    let names = plan_names(svc, tenant, &[detail.contract.plan_id]).await?;
    describe(svc, tenant, detail, &names, storekeep_store::now()).await
}

/// The newest payment attempt `customer` started on their contract `id`
/// (pending, confirmed, declined or expired), if any.
pub async fn latest_attempt(
    svc: &Services,
    tenant: &Tenant,
    customer: UserId,
    id: RentalContractId,
) -> ServiceResult<Option<InstallmentPayment>> {
    match svc
        .store
        .latest_installment_attempt(tenant.id, id, customer)
        .await
    {
        Ok(a) => Ok(a),
        Err(StoreError::NotFound(_)) => Ok(None),
        Err(e) => Err(e.into()),
    }
}
