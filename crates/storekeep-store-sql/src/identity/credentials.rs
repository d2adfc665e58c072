//! The statements of API keys, OAuth clients and access tokens, the same
//! on both databases.

use chrono::{DateTime, Utc};
use storekeep_domain::{
    AccessTokenRecord, ApiKeyId, ApiKeyRecord, NewApiKey, NewOAuthClient, OAuthClientId,
    OAuthClientRecord,
};

use super::stored_scopes;
use crate::DbId;
use crate::stmt::Stmt;

/// A shop's keys: ids after `$2`, at most `$3`.
pub const KEY_PAGE: &str = "SELECT id, tenant_id, name, prefix, scopes, created_by, created_at, \
     last_used_at, revoked_at FROM api_keys WHERE tenant_id = $1 AND id > $2 ORDER BY id LIMIT $3";

/// A shop's key by id (`$1`, shop `$2`).
macro_rules! key_by_id {
    () => {
        "SELECT id, tenant_id, name, prefix, scopes, created_by, \
         created_at, last_used_at, revoked_at FROM api_keys WHERE id = $1 AND tenant_id = $2"
    };
}

pub const KEY_BY_ID: &str = key_by_id!();

/// [`KEY_BY_ID`], locking the row (PostgreSQL).
pub const KEY_BY_ID_LOCKED: &str = concat!(key_by_id!(), " FOR UPDATE");

pub const KEY_BY_HASH: &str = "SELECT id, tenant_id, name, prefix, scopes, created_by, \
     created_at, last_used_at, revoked_at FROM api_keys WHERE key_hash = $1";

/// A shop's clients: ids after `$2`, at most `$3`.
pub const CLIENT_PAGE: &str = "SELECT id, tenant_id, client_id, name, secret_hash, scopes, \
     created_at, revoked_at FROM oauth_clients WHERE tenant_id = $1 AND id > $2 \
     ORDER BY id LIMIT $3";

/// A shop's client by id (`$1`, shop `$2`).
macro_rules! client_by_id {
    () => {
        "SELECT id, tenant_id, client_id, name, secret_hash, scopes, \
         created_at, revoked_at FROM oauth_clients WHERE id = $1 AND tenant_id = $2"
    };
}

pub const CLIENT_BY_ID: &str = client_by_id!();

/// [`CLIENT_BY_ID`], locking the row (PostgreSQL).
pub const CLIENT_BY_ID_LOCKED: &str = concat!(client_by_id!(), " FOR UPDATE");

pub const CLIENT_BY_CLIENT_ID: &str = "SELECT id, tenant_id, client_id, name, secret_hash, \
     scopes, created_at, revoked_at FROM oauth_clients WHERE client_id = $1";

/// A live token (`$1`, unexpired at `$2`) of a client not revoked.
pub const TOKEN: &str = "SELECT t.client, t.tenant_id, t.scopes, t.expires_at \
     FROM access_tokens t JOIN oauth_clients c ON c.id = t.client \
     WHERE t.token_hash = $1 AND t.expires_at > $2 AND c.revoked_at IS NULL";

/// The key as listed once stored at `at` (never the secret).
pub fn new_key(k: &NewApiKey, at: DateTime<Utc>) -> ApiKeyRecord {
    ApiKeyRecord {
        id: k.id,
        tenant_id: k.tenant_id,
        name: k.name.clone(),
        prefix: k.prefix.clone(),
        scopes: k.scopes.clone(),
        created_by: k.created_by.clone(),
        created_at: at,
        last_used_at: None,
        revoked_at: None,
    }
}

type KeyValues<'a> = (
    DbId,
    DbId,
    &'a str,
    &'a str,
    String,
    &'a str,
    DateTime<Utc>,
    &'a str,
);

/// Stores a new key (`k` as [`new_key`] made it) with its secret's hash.
pub fn insert_key<'a>(k: &'a ApiKeyRecord, key_hash: &'a str) -> Stmt<KeyValues<'a>> {
    Stmt::new(
        "INSERT INTO api_keys (id, tenant_id, name, prefix, scopes, created_by, created_at, \
         last_used_at, revoked_at, key_hash) VALUES ($1, $2, $3, $4, $5, $6, $7, NULL, NULL, $8)",
        (
            DbId(k.id.0),
            DbId(k.tenant_id.0),
            &k.name,
            &k.prefix,
            stored_scopes(&k.scopes),
            &k.created_by,
            k.created_at,
            key_hash,
        ),
    )
}

pub fn revoke_key(id: ApiKeyId, at: DateTime<Utc>) -> Stmt<(DateTime<Utc>, DbId)> {
    Stmt::new(
        "UPDATE api_keys SET revoked_at = $1 WHERE id = $2",
        (at, DbId(id.0)),
    )
}

pub fn touch_key(id: ApiKeyId, at: DateTime<Utc>) -> Stmt<(DateTime<Utc>, DbId)> {
    Stmt::new(
        "UPDATE api_keys SET last_used_at = $1 WHERE id = $2",
        (at, DbId(id.0)),
    )
}

/// The client as listed once stored at `at`.
pub fn new_client(c: &NewOAuthClient, at: DateTime<Utc>) -> OAuthClientRecord {
    OAuthClientRecord {
        id: c.id,
        tenant_id: c.tenant_id,
        client_id: c.client_id.clone(),
        name: c.name.clone(),
        scopes: c.scopes.clone(),
        created_at: at,
        revoked_at: None,
        secret_hash: c.secret_hash.clone(),
    }
}

type ClientValues<'a> = (DbId, DbId, &'a str, &'a str, &'a str, String, DateTime<Utc>);

pub fn insert_client(c: &OAuthClientRecord) -> Stmt<ClientValues<'_>> {
    Stmt::new(
        "INSERT INTO oauth_clients (id, tenant_id, client_id, name, secret_hash, scopes, \
         created_at, revoked_at) VALUES ($1, $2, $3, $4, $5, $6, $7, NULL)",
        (
            DbId(c.id.0),
            DbId(c.tenant_id.0),
            &c.client_id,
            &c.name,
            &c.secret_hash,
            stored_scopes(&c.scopes),
            c.created_at,
        ),
    )
}

pub fn revoke_client(id: OAuthClientId, at: DateTime<Utc>) -> Stmt<(DateTime<Utc>, DbId)> {
    Stmt::new(
        "UPDATE oauth_clients SET revoked_at = $1 WHERE id = $2",
        (at, DbId(id.0)),
    )
}

/// Drops every token of a client.
pub fn delete_tokens(client: OAuthClientId) -> Stmt<(DbId,)> {
    Stmt::new(
        "DELETE FROM access_tokens WHERE client = $1",
        (DbId(client.0),),
    )
}

type TokenValues<'a> = (&'a str, DbId, DbId, String, DateTime<Utc>);

pub fn insert_token<'a>(token_hash: &'a str, t: &AccessTokenRecord) -> Stmt<TokenValues<'a>> {
    Stmt::new(
        "INSERT INTO access_tokens (token_hash, client, tenant_id, scopes, expires_at) \
         VALUES ($1, $2, $3, $4, $5)",
        (
            token_hash,
            DbId(t.client.0),
            DbId(t.tenant_id.0),
            stored_scopes(&t.scopes),
            t.expires_at,
        ),
    )
}
