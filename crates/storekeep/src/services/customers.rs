//! A shop's customer accounts as staff browse them (the console's
//! customers screens): one keyset page at a time, and one customer,
//! each opened (sealed fields readable). Exports and erasures are
//! `services::privacy`'s.

use storekeep_domain::{PageRequest, Tenant, UserId, UserKind, UserRecord};
use storekeep_store::rules::privacy::is_erased_index;

use crate::crypto::Keyring;
use crate::services::accounts::open_account;
use crate::services::{ServiceResult, Services};
use crate::wire::accounts::Account;

/// A customer account, opened, and whether it has been erased.
#[derive(Debug)]
pub struct Customer {
    pub account: Account,
    pub erased: bool,
}

fn open(keyring: &Keyring, u: &UserRecord) -> ServiceResult<Customer> {
    Ok(Customer {
        account: open_account(keyring, u)?,
        erased: is_erased_index(&u.email_index),
    })
}

/// One page of the shop's customer accounts, oldest first (ids are
/// UUIDv7, so by sign-up time), and the next page's cursor. No count.
pub async fn list(
    svc: &Services,
    tenant: &Tenant,
    page: &PageRequest,
) -> ServiceResult<(Vec<Customer>, Option<String>)> {
    let page = svc
        .store
        .list_users(tenant.id, UserKind::Customer, page)
        .await?;
    let items = page
        .items
        .iter()
        .map(|u| open(&svc.keyring, u))
        .collect::<Result<Vec<_>, _>>()?;
    Ok((items, page.next_cursor))
}

/// Customer `id` of the shop, opened; staff, operators and other shops'
/// customers are not found.
pub async fn get(svc: &Services, tenant: &Tenant, id: UserId) -> ServiceResult<Customer> {
    let user = svc.store.customer(tenant.id, id).await?;
    open(&svc.keyring, &user)
}
