//! Customers' rights by email, for staff (docs/privacy.md, "Guest
//! purchases"): a guest's orders carry their email (sealed, with its blind
//! index) but belong to no account, so the account export and erasure never
//! reach them. Staff export and erase a data subject by address: the
//! customer account of that email, if any (as `services::privacy` does it),
//! and every order of the shop placed with it, guest or not. Staff only:
//! the shop does not verify an account's email, so a customer's own export
//! by address would hand a stranger's guest orders to whoever registered
//! it. Both are audited without the address.

use storekeep_domain::{AuditContext, OrderFilter, Tenant, UserKind, UserRecord, ValidationErrors};
use storekeep_store::StoreError;
use storekeep_store::now;
use storekeep_store::privacy::EmailErasure;
use storekeep_store::rules::identity::user_target;
use storekeep_store::rules::privacy::{self as rules, CUSTOMER_DATA_EXPORTED, GUEST_TARGET};

use crate::services::accounts::normalize_email;
use crate::services::contracts;
use crate::services::privacy::{self, Requester};
use crate::services::{ServiceResult, Services};
use crate::wire::contracts::ContractView;
use crate::wire::orders::Address;
use crate::wire::privacy::{SubjectErasureView, SubjectExport};

/// The address, as storekeep compares addresses, and its blind index; a
/// malformed one is a 422 naming `email`.
fn parse(svc: &Services, raw: &str) -> ServiceResult<(String, String)> {
    let email = normalize_email(raw).map_err(|m| ValidationErrors::single("email", m))?;
    let index = svc.keyring.blind_index("email", &email);
    Ok((email, index))
}

/// The shop's customer account of the email whose blind index is `index`.
async fn account_of(
    svc: &Services,
    tenant: &Tenant,
    index: &str,
) -> ServiceResult<Option<UserRecord>> {
    match svc
        .store
        .user_by_email(Some(tenant.id), UserKind::Customer, index)
        .await
    {
        Ok(user) => Ok(Some(user)),
        Err(StoreError::NotFound(_)) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// Everything shop `tenant` holds about whoever uses `raw_email`: the
/// account of that email (its full export) and every order placed with
/// it, their contracts and audit entries, in one document. Nothing found
/// is an empty document, not an error. Audited (`customer.data_exported`,
/// `after: {"by": "staff", "by_email": true, "orders": n}`, target the
/// account or `guest`).
pub async fn export(
    svc: &Services,
    tenant: &Tenant,
    raw_email: &str,
    audit: &AuditContext,
) -> ServiceResult<SubjectExport> {
    let (email, index) = parse(svc, raw_email)?;
    let user = account_of(svc, tenant, &index).await?;
    let account = match &user {
        Some(u) => Some(privacy::build_export(svc, tenant, u.id, Requester::Staff).await?),
        None => None,
    };
    let filter = OrderFilter {
        email_index: Some(index),
        ..Default::default()
    };
    let orders = privacy::orders_matching(svc, tenant, &filter, Requester::Staff).await?;
    let mut addresses: Vec<Address> = Vec::new();
    let mut rentals = Vec::new();
    let mut targets = Vec::new();
    for o in &orders {
        if !addresses.contains(&o.shipping_address) {
            addresses.push(o.shipping_address.clone());
        }
        targets.push(format!("order:{}", o.id));
        for c in svc.store.order_contract_ids(tenant.id, o.id).await? {
            let detail = contracts::get(svc, tenant, c).await?;
            targets.push(format!("rental_contract:{c}"));
            rentals.push(ContractView::new(&detail));
        }
    }
    let history = svc.store.audit_about(tenant.id, None, &targets).await?;
    let target = user
        .as_ref()
        .map_or(GUEST_TARGET.to_owned(), |u| user_target(u.id));
    svc.store
        .append_audit(
            &tenant.id.to_string(),
            audit,
            CUSTOMER_DATA_EXPORTED,
            &target,
            Some(serde_json::json!({
                "by": Requester::Staff.as_str(), "by_email": true, "orders": orders.len(),
            })),
        )
        .await?;
    Ok(SubjectExport {
        generated_at: now(),
        shop: tenant.slug.to_string(),
        email,
        account,
        orders,
        addresses,
        rental_contracts: rentals,
        audit: history,
    })
}

/// Erases the personal data of whoever uses `raw_email` in one
/// transaction: the account of that email, if any (as an account erasure
/// does), and every order placed with it (email and address replaced by
/// placeholders; lines, amounts and status kept), with the email jobs
/// about them. `409` names the open orders and running contracts that stop
/// it; asking again changes nothing (`erased_now: false`). Audited
/// (`customer.erased_by_email`: counts and order ids, no PII).
pub async fn erase(
    svc: &Services,
    tenant: &Tenant,
    raw_email: &str,
    audit: &AuditContext,
) -> ServiceResult<SubjectErasureView> {
    let (_, index) = parse(svc, raw_email)?;
    let index = index.as_str();
    let (done, customer_id) = privacy::with_retries("the orders of this email", || async move {
        let user = account_of(svc, tenant, index).await?;
        let account = match &user {
            Some(u) => Some(privacy::prepare(svc, tenant, u.id).await?),
            None => None,
        };
        let mut orders = Vec::new();
        for id in svc.store.orders_by_email(tenant.id, index).await? {
            let detail = svc.store.order(tenant.id, id).await?;
            // An account's order gets the account's placeholder, a
            // guest's one of its own.
            let email = match detail.order.customer_id {
                Some(c) => rules::erased_email(c),
                None => rules::erased_order_email(id.0),
            };
            orders.push(privacy::erased_order(
                svc,
                id,
                &email,
                &detail.order.country,
            ));
        }
        let erasure = EmailErasure {
            tenant: tenant.id,
            email_index: index.to_owned(),
            orders,
            account,
        };
        let outcome = svc.store.erase_by_email(&erasure, audit).await?;
        Ok((outcome, user.map(|u| u.id)))
    })
    .await?;
    let r = done.unwrap_or_default();
    if done.is_some() {
        tracing::info!(orders = r.orders, "data subject erased by email");
    }
    Ok(SubjectErasureView {
        customer_id,
        erased_now: done.is_some(),
        orders: r.orders,
        sessions: r.sessions,
        jobs: r.jobs,
    })
}
