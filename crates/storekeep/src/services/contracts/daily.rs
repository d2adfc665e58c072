//! The daily rentals pass (`rentals.daily`, `storekeep rentals run-daily`)
//! and the reminder email it enqueues; see docs/rentals.md, "The daily
//! job". The store applies the pass a batch of contracts per transaction;
//! each reminder is one `rental.remind` job sending one email.

use storekeep_domain::{ContractStatus, InstallmentId, RentalContractId, TenantId};
use storekeep_store::rules::rental_daily::{BATCH, DailyOutcome, DailyPass};
use storekeep_store::{Store, StoreError, StoreResult};

use crate::mail::Email;
use crate::services::notify::rentals::{Reminder, ReminderFacts, rental_reminder_email};
use crate::services::{ServiceError, ServiceResult, Services};
use crate::wire::orders::OrderView;

/// Runs the pass over every running contract of every shop, `BATCH`
/// contracts per transaction. Running it again for the same date changes
/// nothing.
pub async fn run_daily(store: &dyn Store, pass: &DailyPass) -> StoreResult<DailyOutcome> {
    let mut total = DailyOutcome::default();
    let mut after = None;
    loop {
        let (out, last) = batch(store, pass, after).await?;
        total.add(&out);
        match last {
            Some(last) => after = Some(last),
            None => return Ok(total),
        }
    }
}

/// One batch; a batch is one transaction and the pass is idempotent, so
/// one the database could not take (a lock held by another writer, an
/// outage) is tried again a few times before the pass gives up.
async fn batch(
    store: &dyn Store,
    pass: &DailyPass,
    after: Option<RentalContractId>,
) -> StoreResult<(DailyOutcome, Option<RentalContractId>)> {
    let mut wait = std::time::Duration::from_millis(200);
    for _ in 0..4 {
        match store.rentals_daily_batch(pass, after, BATCH).await {
            Err(e) if e.is_retryable() => {
                tracing::warn!(error = %e, "daily rentals batch not taken, trying again");
                tokio::time::sleep(wait).await;
                wait *= 2;
            }
            done => return done,
        }
    }
    store.rentals_daily_batch(pass, after, BATCH).await
}

/// What a `rental.remind` job names.
#[derive(Debug, Clone, serde::Deserialize)]
pub struct ReminderJob {
    pub contract_id: RentalContractId,
    pub installment_id: InstallmentId,
    pub reminder: String,
}

/// The reminder email of `job` to the address sealed on the contract's
/// order, or `None` when there is nothing to send any more (the installment
/// was paid since, the contract was settled otherwise, or it is gone).
pub async fn reminder_email(
    svc: &Services,
    tenant: TenantId,
    job: &ReminderJob,
) -> ServiceResult<Option<Email>> {
    let which = Reminder::parse(&job.reminder).ok_or(ServiceError::Store(StoreError::Invalid(
        "an unknown reminder",
    )))?;
    let detail = match svc.store.contract(tenant, job.contract_id).await {
        Ok(d) => d,
        Err(StoreError::NotFound(_)) => return Ok(None),
        Err(e) => return Err(e.into()),
    };
    let Some(inst) = detail
        .installments
        .iter()
        .find(|i| i.id == job.installment_id)
    else {
        return Ok(None);
    };
    // Paid since, or the contract settled otherwise (bought out, returned,
    // cancelled): nothing to remind of. A defaulted contract still owes it.
    let running = matches!(
        detail.contract.status,
        ContractStatus::Active | ContractStatus::Overdue | ContractStatus::Defaulted
    );
    if inst.paid_at.is_some() || !running {
        return Ok(None);
    }
    let shop = svc.store.tenant_by_id(tenant).await?;
    let order = svc.store.order(tenant, detail.contract.order_id).await?;
    let view = OrderView::new(&order, &svc.keyring)?;
    let c = &detail.contract;
    let product = order
        .order
        .lines
        .iter()
        .find(|l| l.variant_id == c.variant_id)
        .map(|l| l.title.clone())
        .unwrap_or_default();
    let id = c.id.to_string();
    let facts = ReminderFacts {
        contract_ref: id[id.len().saturating_sub(8)..].to_uppercase(),
        product,
        seq: inst.seq,
        due_date: inst.due_date,
        amount: inst.amount,
        late_fee: Some(inst.late_fee),
        currency: c.currency.clone(),
        pay_url: None,
    };
    rental_reminder_email(svc, &shop, &view.email, which, &facts).map(Some)
}
