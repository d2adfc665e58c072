//! Key rotation: every value sealed with the keyring, re-encrypted under
//! its newest key so the older ones can be dropped from the configuration.
//! Accounts (address, name, phone, TOTP secrets), orders (address, shipping
//! address), webhook endpoints' signing secrets (current and previous),
//! shops' DKIM keys and the reset tokens waiting in email jobs.
//!
//! Safe beside running servers: each value is replaced only if it is still
//! the one that was read (a value changed meanwhile was sealed under the
//! newest key already), and servers read every configured key.

use storekeep_domain::{OrderId, TenantId, UserId, WebhookEndpointId};
use storekeep_store::Store;
use storekeep_store::sealed::SealedField;

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
    };
    let mut after = None;
    loop {
        let batch = store.users_after(after, BATCH).await?;
        let Some(last) = batch.last() else { break };
        after = Some(last.id);
        for mut user in batch {
            report.seen += 1;
            if super::accounts::reseal(keyring, &mut user)? {
                store.update_user_sealed(&user).await?;
                report.resealed += 1;
            }
        }
    }
    Ok(report)
}
