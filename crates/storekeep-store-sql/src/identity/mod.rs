//! Accounts, sessions and credentials: their rows as both databases
//! return them, and the SQL both accept verbatim.

use chrono::{DateTime, Utc};
use storekeep_domain::{
    AccessTokenRecord, ApiKeyId, ApiKeyRecord, OAuthClientId, OAuthClientRecord, Role, SessionId,
    SessionRecord, TenantId, UserId, UserKind, UserRecord,
};
use storekeep_store::rules::identity::ACCOUNT;
use storekeep_store::{StoreError, StoreResult};

use crate::DbId;
use crate::stmt::Stmt;

pub mod access;
pub mod accounts;
pub mod challenges;
pub mod credentials;
pub mod sessions;
pub mod users;

fn corrupt(why: String) -> StoreError {
    StoreError::Other(format!("stored account is invalid: {why}").into())
}

/// [`USER_COLUMNS`] as a literal, for `concat!`.
#[doc(hidden)]
#[macro_export]
macro_rules! user_columns {
    () => {
        "u.id, u.tenant_id, u.kind, u.role, u.email_index, \
         u.email_sealed, u.name_sealed, u.phone_sealed, u.password_hash, u.totp_sealed, \
         u.totp_pending_sealed, u.totp_last_step, u.created_at, u.updated_at"
    };
}

/// The statement selecting the accounts (`users u`) `WHERE` the literal
/// clause holds, as a `&'static str`, in [`UserRow`]'s column order.
#[macro_export]
macro_rules! select_users {
    ($clause:literal) => {
        concat!(
            "SELECT ",
            $crate::user_columns!(),
            " FROM users u WHERE ",
            $clause
        )
    };
}

/// The columns of `users` (aliased `u`), in [`UserRow`]'s order.
pub const USER_COLUMNS: &str = user_columns!();

type UserValues<'a> = (
    DbId,
    Option<DbId>,
    &'a str,
    Option<&'a str>,
    &'a str,
    &'a str,
    Option<&'a str>,
    Option<&'a str>,
    &'a str,
    Option<&'a str>,
    Option<&'a str>,
    Option<i64>,
    DateTime<Utc>,
    DateTime<Utc>,
);

/// Stores a new account.
pub fn insert_user(u: &UserRecord) -> Stmt<UserValues<'_>> {
    Stmt::new(
        "INSERT INTO users (id, tenant_id, kind, role, email_index, email_sealed, name_sealed, \
         phone_sealed, password_hash, totp_sealed, totp_pending_sealed, totp_last_step, \
         created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
        (
            DbId(u.id.0),
            u.tenant_id.map(|t| DbId(t.0)),
            u.kind.as_str(),
            u.role.map(Role::as_str),
            &u.email_index,
            &u.email_sealed,
            u.name_sealed.as_deref(),
            u.phone_sealed.as_deref(),
            &u.password_hash,
            u.totp_sealed.as_deref(),
            u.totp_pending_sealed.as_deref(),
            u.totp_last_step,
            u.created_at,
            u.updated_at,
        ),
    )
}

/// The unique index on an account's email within its shop and kind: a
/// taken email blames the `email` input.
pub const USERS_EMAIL_KEY: (&str, &str) = ("users_email_key", "email");

#[derive(sqlx::FromRow)]
pub struct UserRow {
    id: DbId,
    tenant_id: Option<DbId>,
    kind: String,
    role: Option<String>,
    email_index: String,
    email_sealed: String,
    name_sealed: Option<String>,
    phone_sealed: Option<String>,
    password_hash: String,
    totp_sealed: Option<String>,
    totp_pending_sealed: Option<String>,
    totp_last_step: Option<i64>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl TryFrom<UserRow> for UserRecord {
    type Error = StoreError;
    fn try_from(r: UserRow) -> StoreResult<Self> {
        Ok(UserRecord {
            id: UserId(r.id.0),
            tenant_id: r.tenant_id.map(|t| TenantId(t.0)),
            kind: UserKind::parse(&r.kind).map_err(corrupt)?,
            role: r
                .role
                .as_deref()
                .map(Role::parse)
                .transpose()
                .map_err(corrupt)?,
            email_index: r.email_index,
            email_sealed: r.email_sealed,
            name_sealed: r.name_sealed,
            phone_sealed: r.phone_sealed,
            password_hash: r.password_hash,
            totp_sealed: r.totp_sealed,
            totp_pending_sealed: r.totp_pending_sealed,
            totp_last_step: r.totp_last_step,
            created_at: r.created_at,
            updated_at: r.updated_at,
        })
    }
}

/// The shop of the account an `UPDATE users … RETURNING tenant_id`
/// changed (`None`: the platform's), or `NotFound` if it changed none.
pub fn changed_account(returned: Option<Option<DbId>>) -> StoreResult<Option<TenantId>> {
    let tenant = returned.ok_or(StoreError::NotFound(ACCOUNT))?;
    Ok(tenant.map(|t| TenantId(t.0)))
}

/// A session, as [`sessions::BY_TOKEN`] and [`sessions::OF_USER`] select it.
#[derive(sqlx::FromRow)]
pub struct SessionRow {
    id: DbId,
    user_id: DbId,
    tenant_id: Option<DbId>,
    created_at: DateTime<Utc>,
    last_seen_at: DateTime<Utc>,
    expires_at: DateTime<Utc>,
    ip: Option<String>,
    user_agent: Option<String>,
}

impl From<SessionRow> for SessionRecord {
    fn from(r: SessionRow) -> Self {
        SessionRecord {
            id: SessionId(r.id.0),
            user_id: UserId(r.user_id.0),
            tenant_id: r.tenant_id.map(|t| TenantId(t.0)),
            created_at: r.created_at,
            last_seen_at: r.last_seen_at,
            expires_at: r.expires_at,
            ip: r.ip,
            user_agent: r.user_agent,
        }
    }
}

/// Scopes as stored: space-separated.
pub fn scopes(stored: &str) -> Vec<String> {
    stored.split_whitespace().map(str::to_owned).collect()
}

/// Scopes as [`scopes`] reads them back.
pub fn stored_scopes(scopes: &[String]) -> String {
    scopes.join(" ")
}

/// An API key, as the `KEY_*` selects of [`credentials`] return it.
#[derive(sqlx::FromRow)]
pub struct ApiKeyRow {
    id: DbId,
    tenant_id: DbId,
    name: String,
    prefix: String,
    scopes: String,
    created_by: String,
    created_at: DateTime<Utc>,
    last_used_at: Option<DateTime<Utc>>,
    revoked_at: Option<DateTime<Utc>>,
}

impl TryFrom<ApiKeyRow> for ApiKeyRecord {
    type Error = StoreError;
    fn try_from(r: ApiKeyRow) -> StoreResult<Self> {
        Ok(ApiKeyRecord {
            id: ApiKeyId(r.id.0),
            tenant_id: TenantId(r.tenant_id.0),
            name: r.name,
            prefix: r.prefix,
            scopes: scopes(&r.scopes),
            created_by: r.created_by,
            created_at: r.created_at,
            last_used_at: r.last_used_at,
            revoked_at: r.revoked_at,
        })
    }
}

/// An OAuth client, as the `CLIENT_*` selects of [`credentials`] return it.
#[derive(sqlx::FromRow)]
pub struct ClientRow {
    id: DbId,
    tenant_id: DbId,
    client_id: String,
    name: String,
    secret_hash: String,
    scopes: String,
    created_at: DateTime<Utc>,
    revoked_at: Option<DateTime<Utc>>,
}

impl TryFrom<ClientRow> for OAuthClientRecord {
    type Error = StoreError;
    fn try_from(r: ClientRow) -> StoreResult<Self> {
        Ok(OAuthClientRecord {
            id: OAuthClientId(r.id.0),
            tenant_id: TenantId(r.tenant_id.0),
            client_id: r.client_id,
            name: r.name,
            scopes: scopes(&r.scopes),
            created_at: r.created_at,
            revoked_at: r.revoked_at,
            secret_hash: r.secret_hash,
        })
    }
}

/// An access token, as [`credentials::TOKEN`] selects it.
#[derive(sqlx::FromRow)]
pub struct AccessTokenRow {
    client: DbId,
    tenant_id: DbId,
    scopes: String,
    expires_at: DateTime<Utc>,
}

impl TryFrom<AccessTokenRow> for AccessTokenRecord {
    type Error = StoreError;
    fn try_from(r: AccessTokenRow) -> StoreResult<Self> {
        Ok(AccessTokenRecord {
            client: OAuthClientId(r.client.0),
            tenant_id: TenantId(r.tenant_id.0),
            scopes: scopes(&r.scopes),
            expires_at: r.expires_at,
        })
    }
}
