//! Key rotation: every value sealed with the keyring, re-encrypted under
//! its newest key so the older ones can be dropped from the configuration.
//! Accounts (address, name, phone, TOTP secrets), orders (address, shipping
//! address), webhook endpoints' signing secrets (current and previous),
//! shops' DKIM keys and the reset tokens waiting in email jobs.
//!
//! Safe beside running servers: each value is replaced only if it is still
//! the one that was read (a value changed meanwhile was sealed under the
//! newest key already), and servers read every configured key. An account
//! is replaced whole (its five sealed fields) only if none of them changed;
//! one changed meanwhile is read again and re-sealed once more, one that
//! changes again is left and counted in [`Resealed::skipped`] (a second
//! run finishes it), one deleted meanwhile is passed over.

use storekeep_domain::{OrderId, TenantId, UserId, WebhookEndpointId};
use storekeep_store::sealed::SealedField;
use storekeep_store::{Store, StoreError};

use super::ServiceResult;
use crate::crypto::Keyring;

/// Rows read per page.
const BATCH: i64 = 500;

/// What a rotation did in one place.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resealed {
    /// `accounts`, or the place's name (`orders.email`…).
    pub place: &'static str,
    /// Values found.
    pub seen: u64,
    /// Values re-encrypted (the others were under the newest key already).
    pub resealed: u64,
    /// Values left under an older key because they kept changing while
    /// being re-encrypted (accounts only): run the rotation again.
    pub skipped: u64,
}

/// The keyring context a value of `field` owned by `owner` is sealed under.
fn context(field: SealedField, owner: uuid::Uuid) -> String {
    match field {
        SealedField::OrderEmail => super::orders::email_context(OrderId(owner)),
        SealedField::OrderAddress => super::orders::address_context(OrderId(owner)),
        SealedField::WebhookSecret | SealedField::WebhookPreviousSecret => {
            super::webhooks::secret_context(WebhookEndpointId(owner))
        }
        SealedField::TenantDkimKey => super::notify::dkim_context(TenantId(owner)),
        SealedField::JobResetToken => super::notify::reset_token_context(UserId(owner)),
    }
}

/// Re-encrypts every sealed value under `keyring`'s newest key; what was
/// done, place by place (accounts first).
pub async fn rotate(store: &dyn Store, keyring: &Keyring) -> ServiceResult<Vec<Resealed>> {
    let mut done = vec![accounts(store, keyring).await?];
    for field in SealedField::ALL {
        let mut report = Resealed {
            place: field.name(),
            seen: 0,
            resealed: 0,
            skipped: 0,
        };
        let mut after = None;
        loop {
            let page = store.sealed_values(field, after, BATCH).await?;
            let Some(last) = page.last_row else { break };
            after = Some(last);
            for value in page.values {
                report.seen += 1;
                let ctx = context(field, value.owner);
                if let Some(new) = keyring.reseal(&value.sealed, &ctx)?
                    && store
                        .replace_sealed(field, value.row, &value.sealed, &new)
                        .await?
                {
                    report.resealed += 1;
                }
            }
        }
        done.push(report);
    }
    Ok(done)
}

async fn accounts(store: &dyn Store, keyring: &Keyring) -> ServiceResult<Resealed> {
    let mut report = Resealed {
        place: "accounts",
        seen: 0,
        resealed: 0,
        skipped: 0,
    };
    let mut after = None;
    loop {
        let batch = store.users_after(after, BATCH).await?;
        let Some(last) = batch.last() else { break };
        after = Some(last.id);
        for user in batch {
            report.seen += 1;
            match reseal_account(store, keyring, user).await? {
                Account::Resealed => report.resealed += 1,
                Account::Current => {}
                Account::Skipped => report.skipped += 1,
            }
        }
    }
    Ok(report)
}

/// What became of one account.
enum Account {
    Resealed,
    /// Under the newest key already, or deleted.
    Current,
    /// Changed twice while being re-sealed: still (partly) under an older key.
    Skipped,
}

/// Re-seals `read` if it is not under the newest key; if it changed since
/// it was read, reads it again and tries once more.
async fn reseal_account(
    store: &dyn Store,
    keyring: &Keyring,
    read: storekeep_domain::UserRecord,
) -> ServiceResult<Account> {
    let mut old = read;
    for attempt in 0..2 {
        if attempt > 0 {
            old = match store.user_by_id(old.id).await {
                Ok(user) => user,
                Err(StoreError::NotFound(_)) => return Ok(Account::Current),
                Err(e) => return Err(e.into()),
            };
        }
        let mut new = old.clone();
        if !super::accounts::reseal(keyring, &mut new)? {
            return Ok(Account::Current);
        }
        if store.replace_user_sealed(&old, &new).await? {
            return Ok(Account::Resealed);
        }
    }
    Ok(Account::Skipped)
}
