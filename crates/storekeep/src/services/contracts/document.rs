//! The agreement document of a contract, filled from the contract, its
//! order and the shop: `services::rental_document` renders it. The order's
//! email and address are opened only to render the page, never logged.

use storekeep_domain::{ContractDetail, Tenant};
use storekeep_store::StoreError;
use storekeep_store::rules::rental_disclosure::disclosure;

use crate::services::orders::{address_context, email_context};
use crate::services::rental_document::{ContractDocument, render_contract_document};
use crate::services::{ServiceError, ServiceResult, Services};
use crate::wire::orders::Address;

/// The agreement of `detail` as one printable HTML page.
pub async fn render(
    svc: &Services,
    tenant: &Tenant,
    detail: &ContractDetail,
) -> ServiceResult<String> {
    let c = &detail.contract;
    let order = svc.store.order(tenant.id, c.order_id).await?.order;
    let customer_email = svc
        .keyring
        .open(&order.email_sealed, &email_context(order.id))?;
    let address = svc
        .keyring
        .open(&order.address_sealed, &address_context(order.id))?;
    let address: Address =
        serde_json::from_str(&address).map_err(|e| ServiceError::Store(StoreError::other(e)))?;
    let line = order.lines.iter().find(|l| l.variant_id == c.variant_id);
    let settings = &tenant.settings;
    let shop_contact = [
        settings.email_reply_to.clone(),
        settings.email_sender.clone(),
    ]
    .into_iter()
    .flatten()
    .take(1)
    .collect();
    let doc = ContractDocument {
        shop_name: tenant.name.clone(),
        shop_contact,
        customer_name: address.name,
        customer_email,
        contract_number: c.id.to_string(),
        made_on: c.start_date,
        time_zone: c.time_zone.clone(),
        product_title: line.map(|l| l.title.clone()).unwrap_or_default(),
        sku: line.map(|l| l.sku.clone()).unwrap_or_default(),
        serial: detail.unit.as_ref().map(|u| u.serial.clone()),
        currency: c.currency.clone(),
        disclosure: disclosure(&c.terms, c.cash_price, c.term, c.start_date),
    };
    Ok(render_contract_document(&doc))
}
