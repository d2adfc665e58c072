//! Values sealed with the keyring outside the accounts (whose rows the
//! store hands out whole, `users_after`): read page by page and replaced
//! one by one, so `storekeep keys rotate` can re-encrypt every one of them
//! under the newest key while the servers keep running.

use async_trait::async_trait;
use uuid::Uuid;

use crate::StoreResult;

/// A stored place that holds sealed values, one per row (or none).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SealedField {
    /// `orders.email_sealed`: the customer's address.
    OrderEmail,
    /// `orders.address_sealed`: the shipping address.
    OrderAddress,
    /// `webhook_endpoints.secret_sealed`: the signing secret.
    WebhookSecret,
    /// `webhook_endpoints.previous_secret_sealed`: the secret a rotation
    /// replaced, still signing for a while.
    WebhookPreviousSecret,
    /// `tenants.settings` → `email_dkim.key_sealed`: the shop's DKIM key.
    TenantDkimKey,
    /// `jobs.payload` → `token_sealed`: a password-reset token travelling
    /// to its email (sealed for the account in `payload.user_id`).
    JobResetToken,
}

impl SealedField {
    /// Every one, for a rotation to walk.
    pub const ALL: [Self; 6] = [
        Self::OrderEmail,
        Self::OrderAddress,
        Self::WebhookSecret,
        Self::WebhookPreviousSecret,
        Self::TenantDkimKey,
        Self::JobResetToken,
    ];

    /// Where it is stored, as reports name it.
    pub fn name(self) -> &'static str {
        match self {
            Self::OrderEmail => "orders.email",
            Self::OrderAddress => "orders.address",
            Self::WebhookSecret => "webhook_endpoints.secret",
            Self::WebhookPreviousSecret => "webhook_endpoints.previous_secret",
            Self::TenantDkimKey => "tenants.email_dkim",
            Self::JobResetToken => "jobs.reset_token",
        }
    }
}

/// One stored sealed value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SealedValue {
    /// The row that holds it (order, endpoint, tenant or job id).
    pub row: Uuid,
    /// The id its keyring context names: the row's own, or for a reset
    /// token the account's.
    pub owner: Uuid,
    pub sealed: String,
}

/// A page of a field's values, rows in id order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SealedPage {
    /// The values of the rows read (rows without one are left out).
    pub values: Vec<SealedValue>,
    /// The last row read: the next page starts after it; `None` when no
    /// row was left.
    pub last_row: Option<Uuid>,
}

#[async_trait]
pub trait SealedStore {
    /// Up to `limit` rows of `field`'s place after row `after`, in id
    /// order, with their values.
    async fn sealed_values(
        &self,
        field: SealedField,
        after: Option<Uuid>,
        limit: i64,
    ) -> StoreResult<SealedPage>;

    /// Replaces `field`'s value in `row` by `new` if it still is `old`
    /// (one that changed meanwhile is already under the newest key);
    /// whether it was replaced.
    async fn replace_sealed(
        &self,
        field: SealedField,
        row: Uuid,
        old: &str,
        new: &str,
    ) -> StoreResult<bool>;
}
