//! The accounts' PostgreSQL dialect. The store functions of accounts,
//! login throttling, MFA and password resets are written once, generic
//! over the backend, in `storekeep_store_sql::identity::accounts`.

use storekeep_store_sql::identity::USERS_EMAIL_KEY;

/// The unique constraint of a taken email.
pub(crate) const UNIQUES: &[(&str, &str)] = &[USERS_EMAIL_KEY];

/// The account with this email in a shop (or the platform's, for no
/// shop).
pub(crate) const BY_EMAIL: &str = storekeep_store_sql::select_users!(
    "u.tenant_id IS NOT DISTINCT FROM $1 AND u.kind = $2 AND u.email_index = $3"
);
