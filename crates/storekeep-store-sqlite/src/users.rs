//! The accounts' SQLite dialect. The store functions of accounts, login
//! throttling, MFA and password resets are written once, generic over the
//! backend, in `storekeep_store_sql::identity::accounts`.

use storekeep_store::rules::identity::FIELD_EMAIL;
use storekeep_store_sql::identity::USERS_EMAIL_KEY;

/// SQLite names the expression index, or (in older files) the columns.
pub(crate) const UNIQUES: &[(&str, &str)] = &[USERS_EMAIL_KEY, ("users.", FIELD_EMAIL)];

/// The account with this email in a shop (or the platform's, for no
/// shop), as the unique index spells it: `coalesce` folds the platform's
/// NULL so the index serves the look-up.
pub(crate) const BY_EMAIL: &str = storekeep_store_sql::select_users!(
    "coalesce(u.tenant_id, '') = coalesce($1, '') AND u.kind = $2 AND u.email_index = $3"
);
