//! A shop's staff accounts, as its admins list and add them.

use storekeep_domain::{AuditContext, PageRequest, Permission, Role, Tenant, UserId, UserKind};

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

/// The staff member `id` of `tenant` (an id that is not one: `NotFound`).
pub async fn member(svc: &Services, tenant: &Tenant, id: UserId) -> ServiceResult<Account> {
    let user = svc.store.user_by_id(id).await?;
    if user.tenant_id != Some(tenant.id) || user.kind != UserKind::Staff {
        return Err(storekeep_store::StoreError::NotFound("account").into());
    }
    accounts::open_account(&svc.keyring, &user)
}

/// Whether the account `own_id` (of `own_role`, holding `own`) may give
/// `member` the role `role`: the rule of adding staff (`may_give`) for the
/// new role and for the member's present one (an admin neither makes nor
/// unmakes an owner), and nobody changes their own role. `Err` is the
/// refusal's message (a 403).
pub fn may_change(
    own_id: UserId,
    own_role: Option<Role>,
    own: &[Permission],
    member: &Account,
    role: Role,
) -> Result<(), String> {
    if member.id == own_id {
        return Err("you cannot change your own role".into());
    }
    may_give(own_role, own, role)?;
    if let Some(present) = member.role {
        may_give(own_role, own, present)
            .map_err(|_| format!("you cannot change the role of an {}", present.as_str()))?;
    }
    Ok(())
}

/// Gives `member` (checked with `may_change` by the caller) the role
/// `role`, audited. Its sessions stay signed in: an account's role is read
/// with its session on every request, so the new permissions hold from
/// the next request on. The shop's last owner keeps the owner role (a 409).
pub async fn change_role(
    svc: &Services,
    tenant: &Tenant,
    member: &Account,
    role: Role,
    audit: &AuditContext,
) -> ServiceResult<Account> {
    // The role `may_change` was checked against must still be the
    // member's when the store writes (else a 409).
    let user = svc
        .store
        .set_staff_role(tenant.id, member.id, member.role, role, audit)
        .await?;
    accounts::open_account(&svc.keyring, &user)
}
