//! Customers paying an installment of their own contract through the
//! shop's payment providers, the way an order is paid (i15 phase 3): the
//! attempt is started here and settled by the provider's confirmation
//! (`services::payments::settle`).

use storekeep_domain::{
    AuditContext, ContractDetail, PaymentOutcome, RentalContractId, Tenant, UserId,
    ValidationErrors,
};
use storekeep_store::contracts::{InstallmentPayment, NewInstallmentPayment};

use crate::payments::StartPayment;
use crate::services::{ServiceResult, Services};
use crate::wire::contracts::RentalPayBody;

/// Starts the customer's payment of an installment (the next unpaid one
/// unless `body.installment_id` names it) with `body.payment_provider`
/// (the shop's first provider this server offers if absent), and asks the
/// provider to collect it. A request repeating `key` answers the attempt
/// it started, collecting nothing again; one that repeats the key for
/// another installment or provider is refused (422). The attempt and the
/// contract as it is now.
pub async fn pay(
    svc: &Services,
    tenant: &Tenant,
    customer: UserId,
    id: RentalContractId,
    body: &RentalPayBody,
    key: Option<String>,
    audit: &AuditContext,
) -> ServiceResult<(InstallmentPayment, ContractDetail)> {
    let detail = super::own(svc, tenant, customer, id).await?;
    let outcome = match body.test_outcome.as_deref() {
        None | Some("confirm") => PaymentOutcome::Confirmed,
        Some("decline") => PaymentOutcome::Declined,
        Some(_) => {
            return Err(
                ValidationErrors::single("test_outcome", "must be confirm or decline").into(),
            );
        }
    };
    let usable = svc.payments.usable(&tenant.settings);
    let name = body
        .payment_provider
        .as_deref()
        .or_else(|| usable.first().copied())
        .unwrap_or_default();
    let provider = svc
        .payments
        .for_shop(&tenant.settings, name)
        .map_err(|m| ValidationErrors::single("payment_provider", m))?;
    let req = NewInstallmentPayment {
        customer,
        installment: body.installment_id,
        provider: provider.name().to_owned(),
        reference: provider.new_reference(),
        idempotency_key: key,
        // An attempt its provider never settled blocks the installment no
        // longer than an unpaid order holds its stock.
        expire_started_before: storekeep_store::now()
            - chrono::Duration::seconds(tenant.settings.payment_timeout_secs),
    };
    let started = svc
        .store
        .start_installment_payment(tenant.id, id, &req, audit)
        .await?;
    // A key answers only the request it started: another installment or
    // provider under it is a client's mistake, not a retry.
    let differs = body
        .installment_id
        .is_some_and(|asked| asked != started.installment_id)
        || started.provider != provider.name();
    if started.replayed && differs {
        return Err(ValidationErrors::single(
            "Idempotency-Key",
            "was already used for a different payment request; use a new key",
        )
        .into());
    }
    if !started.replayed {
        provider.start(StartPayment {
            reference: started.reference.clone(),
            amount: started.amount + started.late_fee,
            currency: detail.contract.currency.clone(),
            test_outcome: outcome,
        });
    }
    Ok((started, svc.store.contract(tenant.id, id).await?))
}
