//! API keys and OAuth clients on PostgreSQL.

use chrono::{DateTime, Utc};
use sqlx::PgPool;
use storekeep_domain::{
    AccessTokenRecord, ApiKeyId, ApiKeyRecord, AuditContext, NewApiKey, NewOAuthClient,
    OAuthClientId, OAuthClientRecord, Page, PageRequest, TenantId,
};
use storekeep_store::rules::identity::{
    ACCESS_TOKEN, API_KEY, OAUTH_CLIENT, api_key_created, api_key_revoked, client_created,
    client_revoked, revoked,
};
use storekeep_store::{StoreResult, now};
use storekeep_store_sql::DbId;
use storekeep_store_sql::identity::{
    AccessTokenRow, ApiKeyRow, CLIENT_COLUMNS, ClientRow, KEY_COLUMNS, stored_scopes,
};
use storekeep_store_sql::stmt::{Stmt, cursor, found, page_of};

use crate::error::{self, other};
use crate::{audit, write_tx};

pub async fn create_api_key(
    pool: &PgPool,
    k: &NewApiKey,
    ctx: &AuditContext,
) -> StoreResult<ApiKeyRecord> {
    let mut tx = write_tx(pool).await?;
    let record = ApiKeyRecord {
        id: k.id,
        tenant_id: k.tenant_id,
        name: k.name.clone(),
        prefix: k.prefix.clone(),
        scopes: k.scopes.clone(),
        created_by: k.created_by.clone(),
        created_at: now(),
        last_used_at: None,
        revoked_at: None,
    };
    sqlx::query(&format!(
        "INSERT INTO api_keys ({KEY_COLUMNS}, key_hash) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, NULL, NULL, $8)"
    ))
    .bind(DbId(k.id.0))
    .bind(DbId(k.tenant_id.0))
    .bind(&k.name)
    .bind(&k.prefix)
    .bind(stored_scopes(&k.scopes))
    .bind(&k.created_by)
    .bind(record.created_at)
    .bind(&k.key_hash)
    .execute(&mut *tx)
    .await
    .map_err(|e| error::map(e, &[]))?;
    audit::record(&mut tx, ctx, api_key_created(&record)).await?;
    tx.commit().await.map_err(other)?;
    Ok(record)
}

pub async fn list_api_keys(
    pool: &PgPool,
    tenant: TenantId,
    page: &PageRequest,
) -> StoreResult<Page<ApiKeyRecord>> {
    let rows: Vec<ApiKeyRow> = sqlx::query_as(&format!(
        "SELECT {KEY_COLUMNS} FROM api_keys WHERE tenant_id = $1 AND id > $2 ORDER BY id LIMIT $3"
    ))
    .bind(DbId(tenant.0))
    .bind(cursor(page)?)
    .bind(page.fetch_limit())
    .fetch_all(pool)
    .await
    .map_err(other)?;
    page_of(rows, page, |k: &ApiKeyRecord| k.id.0)
}

/// Revokes a key; its row is locked (`FOR UPDATE`) so of concurrent
/// revocations only one records it.
pub async fn revoke_api_key(
    pool: &PgPool,
    tenant: TenantId,
    id: ApiKeyId,
    ctx: &AuditContext,
) -> StoreResult<ApiKeyRecord> {
    let mut tx = write_tx(pool).await?;
    let row: Option<ApiKeyRow> = sqlx::query_as(&format!(
        "SELECT {KEY_COLUMNS} FROM api_keys WHERE id = $1 AND tenant_id = $2 FOR UPDATE"
    ))
    .bind(DbId(id.0))
    .bind(DbId(tenant.0))
    .fetch_optional(&mut *tx)
    .await
    .map_err(other)?;
    let before: ApiKeyRecord = found(row, API_KEY)?;
    let mut after = before.clone();
    if let Some(at) = revoked(before.revoked_at, now()) {
        Stmt::new(
            "UPDATE api_keys SET revoked_at = $1 WHERE id = $2",
            (at, DbId(id.0)),
        )
        .query()
        .execute(&mut *tx)
        .await
        .map_err(other)?;
        after.revoked_at = Some(at);
        audit::record(&mut tx, ctx, api_key_revoked(&before, &after)).await?;
    }
    tx.commit().await.map_err(other)?;
    Ok(after)
}

pub async fn api_key_by_hash(pool: &PgPool, key_hash: &str) -> StoreResult<ApiKeyRecord> {
    let row: Option<ApiKeyRow> = sqlx::query_as(&format!(
        "SELECT {KEY_COLUMNS} FROM api_keys WHERE key_hash = $1"
    ))
    .bind(key_hash)
    .fetch_optional(pool)
    .await
    .map_err(other)?;
    found(row, API_KEY)
}

pub async fn touch_api_key(pool: &PgPool, id: ApiKeyId, at: DateTime<Utc>) -> StoreResult<()> {
    Stmt::new(
        "UPDATE api_keys SET last_used_at = $1 WHERE id = $2",
        (at, DbId(id.0)),
    )
    .query()
    .execute(pool)
    .await
    .map_err(other)?;
    Ok(())
}

pub async fn create_client(
    pool: &PgPool,
    c: &NewOAuthClient,
    ctx: &AuditContext,
) -> StoreResult<OAuthClientRecord> {
    let mut tx = write_tx(pool).await?;
    let record = OAuthClientRecord {
        id: c.id,
        tenant_id: c.tenant_id,
        client_id: c.client_id.clone(),
        name: c.name.clone(),
        scopes: c.scopes.clone(),
        created_at: now(),
        revoked_at: None,
        secret_hash: c.secret_hash.clone(),
    };
    sqlx::query(&format!(
        "INSERT INTO oauth_clients ({CLIENT_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, NULL)"
    ))
    .bind(DbId(c.id.0))
    .bind(DbId(c.tenant_id.0))
    .bind(&c.client_id)
    .bind(&c.name)
    .bind(&c.secret_hash)
    .bind(stored_scopes(&c.scopes))
    .bind(record.created_at)
    .execute(&mut *tx)
    .await
    .map_err(other)?;
    audit::record(&mut tx, ctx, client_created(&record)).await?;
    tx.commit().await.map_err(other)?;
    Ok(record)
}

pub async fn list_clients(
    pool: &PgPool,
    tenant: TenantId,
    page: &PageRequest,
) -> StoreResult<Page<OAuthClientRecord>> {
    let rows: Vec<ClientRow> = sqlx::query_as(&format!(
        "SELECT {CLIENT_COLUMNS} FROM oauth_clients \
         WHERE tenant_id = $1 AND id > $2 ORDER BY id LIMIT $3"
    ))
    .bind(DbId(tenant.0))
    .bind(cursor(page)?)
    .bind(page.fetch_limit())
    .fetch_all(pool)
    .await
    .map_err(other)?;
    page_of(rows, page, |c: &OAuthClientRecord| c.id.0)
}

/// Revokes a client and its tokens; its row is locked (`FOR UPDATE`) so
/// of concurrent revocations only one records it.
pub async fn revoke_client(
    pool: &PgPool,
    tenant: TenantId,
    id: OAuthClientId,
    ctx: &AuditContext,
) -> StoreResult<OAuthClientRecord> {
    let mut tx = write_tx(pool).await?;
    let row: Option<ClientRow> = sqlx::query_as(&format!(
        "SELECT {CLIENT_COLUMNS} FROM oauth_clients WHERE id = $1 AND tenant_id = $2 FOR UPDATE"
    ))
    .bind(DbId(id.0))
    .bind(DbId(tenant.0))
    .fetch_optional(&mut *tx)
    .await
    .map_err(other)?;
    let before: OAuthClientRecord = found(row, OAUTH_CLIENT)?;
    let mut after = before.clone();
    if let Some(at) = revoked(before.revoked_at, now()) {
        Stmt::new(
            "UPDATE oauth_clients SET revoked_at = $1 WHERE id = $2",
            (at, DbId(id.0)),
        )
        .query()
        .execute(&mut *tx)
        .await
        .map_err(other)?;
        Stmt::new("DELETE FROM access_tokens WHERE client = $1", (DbId(id.0),))
            .query()
            .execute(&mut *tx)
            .await
            .map_err(other)?;
        after.revoked_at = Some(at);
        audit::record(&mut tx, ctx, client_revoked(&before, &after)).await?;
    }
    tx.commit().await.map_err(other)?;
    Ok(after)
}

pub async fn client_by_client_id(pool: &PgPool, client_id: &str) -> StoreResult<OAuthClientRecord> {
    let row: Option<ClientRow> = sqlx::query_as(&format!(
        "SELECT {CLIENT_COLUMNS} FROM oauth_clients WHERE client_id = $1"
    ))
    .bind(client_id)
    .fetch_optional(pool)
    .await
    .map_err(other)?;
    found(row, OAUTH_CLIENT)
}

pub async fn create_token(
    pool: &PgPool,
    token_hash: &str,
    t: &AccessTokenRecord,
) -> StoreResult<()> {
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
    .query()
    .execute(pool)
    .await
    .map_err(other)?;
    Ok(())
}

pub async fn token(
    pool: &PgPool,
    token_hash: &str,
    at: DateTime<Utc>,
) -> StoreResult<AccessTokenRecord> {
    let row: Option<AccessTokenRow> = Stmt::new(
        "SELECT t.client, t.tenant_id, t.scopes, t.expires_at FROM access_tokens t \
         JOIN oauth_clients c ON c.id = t.client \
         WHERE t.token_hash = $1 AND t.expires_at > $2 AND c.revoked_at IS NULL",
        (token_hash, at),
    )
    .query_as()
    .fetch_optional(pool)
    .await
    .map_err(other)?;
    found(row, ACCESS_TOKEN)
}
