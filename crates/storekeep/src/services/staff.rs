//! A shop's staff accounts, as its admins list and add them.

use storekeep_domain::{AuditContext, PageRequest, Permission, Role, Tenant, UserKind};

use crate::services::accounts;
use crate::services::{ServiceError, ServiceResult, Services};
use crate::wire::accounts::Account;
use crate::wire::accounts::NewAccountInput;

/// One page of the shop's staff, opened (sealed fields readable), and the
/// next page's cursor.
pub async fn list(
    svc: &Services,
    tenant: &Tenant,
    page: &PageRequest,
) -> ServiceResult<(Vec<Account>, Option<String>)> {
    let page = svc
        .store
        .list_users(tenant.id, UserKind::Staff, page)
        .await?;
    let items = page
        .items
        .iter()
        .map(|u| accounts::open_account(&svc.keyring, u))
        .collect::<Result<Vec<_>, _>>()?;
    Ok((items, page.next_cursor))
}

/// Whether an account of `own_role` holding `own` may give `role`:
/// nobody hands out more than they hold. Integrations (no role) create no
/// accounts at all, only an owner adds an owner, and staff give only roles
/// within their own permissions. `Err` is the refusal's message (a 403).
pub fn may_give(own_role: Option<Role>, own: &[Permission], role: Role) -> Result<(), String> {
    let Some(own_role) = own_role else {
        return Err("staff accounts are created by staff, not by integrations".into());
    };
    if role == Role::Owner && own_role != Role::Owner {
        return Err("only an owner can add an owner".into());
    }
    if !role.permissions().iter().all(|p| own.contains(p)) {
        return Err("you cannot give a role more permissions than you have".into());
    }
    Ok(())
}

/// Adds a staff member, within the plan's `max_staff`.
pub async fn add(
    svc: &Services,
    tenant: &Tenant,
    role: Role,
    input: &NewAccountInput,
    audit: &AuditContext,
) -> ServiceResult<Account> {
    let limit = tenant.limits.max_staff;
    if svc.store.count_users(tenant.id, UserKind::Staff).await? >= limit {
        return Err(ServiceError::PlanLimit(format!(
            "the shop's plan '{}' allows {limit} staff accounts; upgrade the plan to add more",
            tenant.plan
        )));
    }
    accounts::create_account(
        svc,
        Some(tenant.id),
        UserKind::Staff,
        Some(role),
        input,
        Some(audit),
    )
    .await
}
