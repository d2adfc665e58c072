//! Customers' rights (issue 16): the data export (everything the shop
//! holds about a customer, in one document) and the erasure of their
//! personal data, asked by staff or by the customer (with their password).
//! Both are audited (`customer.data_exported`, `customer.erased`, never
//! with PII). The placeholders an erasure leaves are sealed here, like any
//! address, so every reader opens them as before. See docs/privacy.md.

use std::future::Future;
use std::sync::Arc;

use storekeep_domain::{
    AuditContext, ContractFilter, FieldError, OrderFilter, OrderId, PageRequest, Tenant, UserId,
    UserRecord,
};
use storekeep_store::privacy::{ErasedOrder, Erasure, ErasureOutcome};
use storekeep_store::rules::identity::user_target;
use storekeep_store::rules::privacy::{
    self as rules, CUSTOMER_DATA_EXPORTED, ErasureReport, Obligations,
};
use storekeep_store::{StoreError, now};

use crate::services::accounts::{self, LoginFailure, open_account};
use crate::services::contracts;
use crate::services::orders::{address_context, email_context};
use crate::services::{ServiceError, ServiceResult, Services};
use crate::wire::contracts::ContractView;
use crate::wire::orders::{Address, OrderView};
use crate::wire::privacy::{CustomerExport, ErasureView};

/// Page size of the export's reads.
const PAGE: u32 = 200;

/// Who asked for an export, as its audit entry says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Requester {
    Customer,
    Staff,
}

impl Requester {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::Customer => "customer",
            Self::Staff => "staff",
        }
    }
}

/// Everything shop `tenant` holds about customer `id` (another shop's
/// customer, or a staff account, is not found), and the audit entry
/// `customer.data_exported` recording who asked.
pub async fn export(
    svc: &Services,
    tenant: &Tenant,
    id: UserId,
    by: Requester,
    audit: &AuditContext,
) -> ServiceResult<CustomerExport> {
    let document = build_export(svc, tenant, id, by).await?;
    svc.store
        .append_audit(
            &tenant.id.to_string(),
            audit,
            CUSTOMER_DATA_EXPORTED,
            &user_target(id),
            Some(serde_json::json!({ "by": by.as_str() })),
        )
        .await?;
    Ok(document)
}

/// Customer `id`'s export document, not audited (the caller writes the
/// entry).
pub(crate) async fn build_export(
    svc: &Services,
    tenant: &Tenant,
    id: UserId,
    by: Requester,
) -> ServiceResult<CustomerExport> {
    let user = svc.store.customer(tenant.id, id).await?;
    let orders = all_orders(svc, tenant, id, by).await?;
    let mut addresses: Vec<Address> = Vec::new();
    for o in &orders {
        if !addresses.contains(&o.shipping_address) {
            addresses.push(o.shipping_address.clone());
        }
    }
    let rentals = all_contracts(svc, tenant, id, by).await?;
    let mut targets: Vec<String> = orders.iter().map(|o| format!("order:{}", o.id)).collect();
    targets.extend(
        rentals
            .iter()
            .map(|c| format!("rental_contract:{}", c.summary.id)),
    );
    let sessions = svc.store.list_sessions(id, now()).await?;
    let mut history = svc.store.audit_about(tenant.id, Some(id), &targets).await?;
    if by == Requester::Customer {
        for entry in &mut history {
            rules::redact_for_customer(entry, id);
        }
    }
    let erased = rules::is_erased_index(&user.email_index);
    let profile = open_account(&svc.keyring, &user)?;
    Ok(CustomerExport {
        generated_at: now(),
        shop: tenant.slug.to_string(),
        profile,
        erased,
        addresses,
        orders,
        rental_contracts: rentals,
        sessions,
        consents: Vec::new(),
        audit: history,
    })
}

async fn all_orders(
    svc: &Services,
    tenant: &Tenant,
    id: UserId,
    by: Requester,
) -> ServiceResult<Vec<OrderView>> {
    let filter = OrderFilter {
        customer_id: Some(id),
        ..Default::default()
    };
    orders_matching(svc, tenant, &filter, by).await
}

/// Every order of the shop `filter` selects, newest first, as `by` sees
/// them (a customer's own export names no staff member or key).
pub(crate) async fn orders_matching(
    svc: &Services,
    tenant: &Tenant,
    filter: &OrderFilter,
    by: Requester,
) -> ServiceResult<Vec<OrderView>> {
    let audience = match by {
        Requester::Customer => crate::services::orders::Audience::Customer,
        Requester::Staff => crate::services::orders::Audience::Staff,
    };
    let mut page = PageRequest {
        limit: PAGE,
        after: None,
    };
    let mut out = Vec::new();
    loop {
        let found = crate::services::orders::list(svc, tenant, filter, &page, audience).await?;
        out.extend(found.items);
        match found.next_cursor {
            Some(next) => page.after = Some(next),
            None => return Ok(out),
        }
    }
}

async fn all_contracts(
    svc: &Services,
    tenant: &Tenant,
    id: UserId,
    by: Requester,
) -> ServiceResult<Vec<ContractView>> {
    let filter = ContractFilter {
        customer_id: Some(id),
        ..Default::default()
    };
    let mut page = PageRequest {
        limit: PAGE,
        after: None,
    };
    let mut out = Vec::new();
    loop {
        let found = contracts::list(svc, tenant, &filter, &page).await?;
        for c in &found.items {
            let detail = contracts::get(svc, tenant, c.id).await?;
            out.push(match by {
                Requester::Customer => ContractView::for_customer(&detail, id),
                Requester::Staff => ContractView::new(&detail),
            });
        }
        match found.next_cursor {
            Some(next) => page.after = Some(next),
            None => return Ok(out),
        }
    }
}

/// The placeholder shipping address an erasure leaves: no person, the
/// order's country kept (its tax records name it anyway).
pub(crate) fn erased_address(country: &str) -> Address {
    Address {
        name: "erased".into(),
        line1: "erased".into(),
        line2: None,
        city: "erased".into(),
        region: None,
        postal_code: "erased".into(),
        country: country.to_owned(),
        phone: None,
    }
}

/// Erases customer `id`'s personal data (see docs/privacy.md): refused
/// with 409 naming the open orders and contracts; erasing again scrubs
/// what a race wrote since (an order, a session) and says
/// `erased_now: false` only when nothing was left.
pub async fn erase(
    svc: &Services,
    tenant: &Tenant,
    id: UserId,
    audit: &AuditContext,
) -> ServiceResult<ErasureView> {
    let (done, ()) = with_retries("the customer's orders", || async move {
        let erasure = prepare(svc, tenant, id).await?;
        Ok((svc.store.erase_customer(&erasure, audit).await?, ()))
    })
    .await?;
    let r = done.unwrap_or_default();
    if done.is_some() {
        tracing::info!(customer = %id, orders = r.orders, "customer erased");
    }
    Ok(ErasureView {
        customer_id: id,
        erased_now: done.is_some(),
        orders: r.orders,
        sessions: r.sessions,
        jobs: r.jobs,
    })
}

/// Runs `attempt` (prepare an erasure and hand it to the store) until the
/// store neither finds the orders changed since they were read (one placed
/// meanwhile) nor loses a lock conflict, at most three times; `what`
/// names what kept changing. The report of an erasure done now, `None`
/// when nothing was left (and the attempt's `T`); `409` for open
/// obligations.
pub(crate) async fn with_retries<T, F, Fut>(
    what: &str,
    mut attempt: F,
) -> ServiceResult<(Option<ErasureReport>, T)>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = ServiceResult<(ErasureOutcome, T)>>,
{
    for _ in 0..3 {
        match attempt().await? {
            (ErasureOutcome::Erased(r), t) => return Ok((Some(r), t)),
            (ErasureOutcome::AlreadyErased, t) => return Ok((None, t)),
            (ErasureOutcome::Blocked(open), _) => return Err(blocked(&open)),
            (ErasureOutcome::OrdersChanged | ErasureOutcome::Contended, _) => {}
        }
    }
    Err(StoreError::Other(format!("{what} kept changing during the erasure").into()).into())
}

/// The 409 of an erasure refused for open obligations, naming each.
pub(crate) fn blocked(open: &Obligations) -> ServiceError {
    let errors = open
        .orders
        .iter()
        .map(|o| FieldError {
            field: format!("orders[{o}]"),
            message: "is unpaid or not yet shipped".into(),
        })
        .chain(open.contracts.iter().map(|c| FieldError {
            field: format!("rental_contracts[{c}]"),
            message: "is still running".into(),
        }))
        .collect();
    ServiceError::Conflict {
        detail: rules::OPEN_OBLIGATIONS.into(),
        errors,
    }
}

/// The erasure's sealed placeholders, for the account and each of its
/// orders as read now.
pub(crate) async fn prepare(svc: &Services, tenant: &Tenant, id: UserId) -> ServiceResult<Erasure> {
    let user = svc.store.customer(tenant.id, id).await?;
    let email = rules::erased_email(user.id);
    let order_ids: Vec<OrderId> = svc.store.customer_order_ids(tenant.id, id).await?;
    let mut orders = Vec::with_capacity(order_ids.len());
    for order in order_ids {
        // The country stays as the order has it (a plain column too).
        let detail = svc.store.order(tenant.id, order).await?;
        orders.push(erased_order(svc, order, &email, &detail.order.country));
    }
    Ok(Erasure {
        tenant: tenant.id,
        customer: id,
        email_sealed: svc.keyring.seal(&email, &accounts::email_context(id)),
        orders,
    })
}

/// Order `order`'s sealed placeholders: `email`, and the erased address
/// keeping `country`.
pub(crate) fn erased_order(
    svc: &Services,
    order: OrderId,
    email: &str,
    country: &str,
) -> ErasedOrder {
    let address =
        serde_json::to_string(&erased_address(country)).expect("a plain struct serialises");
    ErasedOrder {
        id: order,
        email_sealed: svc.keyring.seal(email, &email_context(order)),
        address_sealed: svc.keyring.seal(&address, &address_context(order)),
    }
}

/// A customer's own erasure: their password again and, when MFA is on, a
/// second factor (a current TOTP code or a recovery code, checked as
/// turning MFA off checks it), throttled like a login, per account; then
/// [`erase`]. `MfaRequired`: MFA is on and no code was given.
pub async fn erase_own(
    svc: &Arc<Services>,
    tenant: &Tenant,
    user: &UserRecord,
    password: &str,
    code: Option<&str>,
    audit: &AuditContext,
) -> Result<ErasureView, LoginFailure> {
    let code = match (user.mfa_enabled(), code) {
        (false, _) => None,
        (true, Some(code)) => Some(code),
        (true, None) => return Err(LoginFailure::MfaRequired),
    };
    let scope = "account-erase";
    let key = user.id.to_string();
    match accounts::begin_attempt(svc.store.as_ref(), scope, &key).await {
        Ok(_) => {}
        Err(e @ (LoginFailure::Locked { .. } | LoginFailure::Error(_))) => return Err(e),
        Err(_) => return Err(LoginFailure::Invalid),
    }
    if !accounts::verify_user_password(user, password).await {
        return Err(LoginFailure::Invalid);
    }
    if let Some(code) = code
        && !accounts::check_second_factor(svc, user, code)
            .await
            .map_err(LoginFailure::Error)?
    {
        return Err(LoginFailure::Invalid);
    }
    svc.store.clear_login_failures(scope, &key).await?;
    erase(svc, tenant, user.id, audit)
        .await
        .map_err(LoginFailure::Error)
}
