//! The contract email, sent from the `rental.contract_started` outbox event
//! (its order paid: deposit and first installment recorded) by the
//! `email.send` job like every order email: the contract's disclosure, to
//! the address sealed on its order (opened only to send).

use storekeep_domain::{OutboxEvent, RentalContractId, Tenant};
use storekeep_store::StoreError;
use storekeep_store::rules::rental_disclosure::disclosure;

use crate::mail::Email;
use crate::services::notify::rentals::{ContractFacts, rental_contract_email};
use crate::services::orders::email_context;
use crate::services::{ServiceError, ServiceResult, Services};

/// The customer's email for a `rental.contract_started` event.
pub async fn contract_started_email(
    svc: &Services,
    tenant: &Tenant,
    event: &OutboxEvent,
) -> ServiceResult<Option<Email>> {
    let id: RentalContractId = serde_json::from_value(event.payload["contract_id"].clone())
        .map_err(|_| ServiceError::Store(StoreError::Invalid("the event names no contract")))?;
    let detail = svc.store.contract(tenant.id, id).await?;
    let c = &detail.contract;
    let order = svc.store.order(tenant.id, c.order_id).await?.order;
    let to = svc
        .keyring
        .open(&order.email_sealed, &email_context(order.id))?;
    let product = order
        .lines
        .iter()
        .find(|l| l.variant_id == c.variant_id)
        .map(|l| l.title.clone())
        .unwrap_or_default();
    let id = c.id.to_string();
    let facts = ContractFacts {
        contract_ref: id[id.len().saturating_sub(8)..].to_uppercase(),
        product,
        currency: c.currency.clone(),
        disclosure: disclosure(&c.terms, c.cash_price, c.term, c.start_date),
        document_url: None,
    };
    rental_contract_email(svc, tenant, &to, &facts).map(Some)
}
