//! API keys and OAuth clients on SQLite.

use chrono::{DateTime, Utc};
use sqlx::SqlitePool;
use storekeep_domain::{
    AccessTokenRecord, ApiKeyId, ApiKeyRecord, AuditContext, NewApiKey, NewOAuthClient,
    OAuthClientId, OAuthClientRecord, Page, PageRequest, TenantId,
};
use storekeep_store::{StoreError, StoreResult, now};

use crate::{audit, cursor, error, write_tx};

fn scopes(s: &str) -> Vec<String> {
    s.split_whitespace().map(str::to_owned).collect()
}

#[derive(sqlx::FromRow)]
struct ApiKeyRow {
    id: String,
    tenant_id: String,
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
            id: r.id.parse().map_err(crate::error::other)?,
            tenant_id: r.tenant_id.parse().map_err(crate::error::other)?,
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

const KEY_COLUMNS: &str =
    "id, tenant_id, name, prefix, scopes, created_by, created_at, last_used_at, revoked_at";

fn key_summary(k: &ApiKeyRecord) -> serde_json::Value {
    serde_json::json!({"id": k.id, "name": k.name, "prefix": k.prefix, "scopes": k.scopes, "revoked": k.revoked_at.is_some()})
}

pub async fn create_api_key(
    pool: &SqlitePool,
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
        "INSERT INTO api_keys ({KEY_COLUMNS}, key_hash) VALUES (?, ?, ?, ?, ?, ?, ?, NULL, NULL, ?)"
    ))
    .bind(k.id.to_string())
    .bind(k.tenant_id.to_string())
    .bind(&k.name)
    .bind(&k.prefix)
    .bind(k.scopes.join(" "))
    .bind(&k.created_by)
    .bind(record.created_at)
    .bind(&k.key_hash)
    .execute(&mut *tx)
    .await
    .map_err(|e| error::map(e, &[]))?;
    audit::append(
        &mut tx,
        &k.tenant_id.to_string(),
        ctx,
        "api_key.create",
        &format!("api_key:{}", k.id),
        None,
        Some(key_summary(&record)),
    )
    .await?;
    tx.commit().await.map_err(crate::error::other)?;
    Ok(record)
}

pub async fn list_api_keys(
    pool: &SqlitePool,
    tenant: TenantId,
    page: &PageRequest,
) -> StoreResult<Page<ApiKeyRecord>> {
    let rows: Vec<ApiKeyRow> = sqlx::query_as(&format!(
        "SELECT {KEY_COLUMNS} FROM api_keys WHERE tenant_id = ? AND id > ? ORDER BY id LIMIT ?"
    ))
    .bind(tenant.to_string())
    .bind(cursor(page)?)
    .bind(page.fetch_limit())
    .fetch_all(pool)
    .await
    .map_err(crate::error::other)?;
    let keys = rows
        .into_iter()
        .map(ApiKeyRecord::try_from)
        .collect::<StoreResult<Vec<_>>>()?;
    Ok(Page::from_rows(keys, page, |k| k.id.to_string()))
}

pub async fn revoke_api_key(
    pool: &SqlitePool,
    tenant: TenantId,
    id: ApiKeyId,
    ctx: &AuditContext,
) -> StoreResult<ApiKeyRecord> {
    let mut tx = write_tx(pool).await?;
    let before: Option<ApiKeyRow> = sqlx::query_as(&format!(
        "SELECT {KEY_COLUMNS} FROM api_keys WHERE id = ? AND tenant_id = ?"
    ))
    .bind(id.to_string())
    .bind(tenant.to_string())
    .fetch_optional(&mut *tx)
    .await
    .map_err(crate::error::other)?;
    let before: ApiKeyRecord = before.ok_or(StoreError::NotFound("API key"))?.try_into()?;
    let mut after = before.clone();
    if before.revoked_at.is_none() {
        let at = now();
        sqlx::query("UPDATE api_keys SET revoked_at = ? WHERE id = ?")
            .bind(at)
            .bind(id.to_string())
            .execute(&mut *tx)
            .await
            .map_err(crate::error::other)?;
        after.revoked_at = Some(at);
        audit::append(
            &mut tx,
            &tenant.to_string(),
            ctx,
            "api_key.revoke",
            &format!("api_key:{id}"),
            Some(key_summary(&before)),
            Some(key_summary(&after)),
        )
        .await?;
    }
    tx.commit().await.map_err(crate::error::other)?;
    Ok(after)
}

pub async fn api_key_by_hash(pool: &SqlitePool, key_hash: &str) -> StoreResult<ApiKeyRecord> {
    let row: Option<ApiKeyRow> = sqlx::query_as(&format!(
        "SELECT {KEY_COLUMNS} FROM api_keys WHERE key_hash = ?"
    ))
    .bind(key_hash)
    .fetch_optional(pool)
    .await
    .map_err(crate::error::other)?;
    row.ok_or(StoreError::NotFound("API key"))?.try_into()
}

pub async fn touch_api_key(pool: &SqlitePool, id: ApiKeyId, at: DateTime<Utc>) -> StoreResult<()> {
    sqlx::query("UPDATE api_keys SET last_used_at = ? WHERE id = ?")
        .bind(at)
        .bind(id.to_string())
        .execute(pool)
        .await
        .map_err(crate::error::other)?;
    Ok(())
}

#[derive(sqlx::FromRow)]
struct ClientRow {
    id: String,
    tenant_id: String,
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
            id: r.id.parse().map_err(crate::error::other)?,
            tenant_id: r.tenant_id.parse().map_err(crate::error::other)?,
            client_id: r.client_id,
            name: r.name,
            scopes: scopes(&r.scopes),
            created_at: r.created_at,
            revoked_at: r.revoked_at,
            secret_hash: r.secret_hash,
        })
    }
}

const CLIENT_COLUMNS: &str =
    "id, tenant_id, client_id, name, secret_hash, scopes, created_at, revoked_at";

fn client_summary(c: &OAuthClientRecord) -> serde_json::Value {
    serde_json::json!({"id": c.id, "client_id": c.client_id, "name": c.name, "scopes": c.scopes, "revoked": c.revoked_at.is_some()})
}

pub async fn create_client(
    pool: &SqlitePool,
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
        "INSERT INTO oauth_clients ({CLIENT_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, NULL)"
    ))
    .bind(c.id.to_string())
    .bind(c.tenant_id.to_string())
    .bind(&c.client_id)
    .bind(&c.name)
    .bind(&c.secret_hash)
    .bind(c.scopes.join(" "))
    .bind(record.created_at)
    .execute(&mut *tx)
    .await
    .map_err(crate::error::other)?;
    audit::append(
        &mut tx,
        &c.tenant_id.to_string(),
        ctx,
        "oauth_client.create",
        &format!("oauth_client:{}", c.id),
        None,
        Some(client_summary(&record)),
    )
    .await?;
    tx.commit().await.map_err(crate::error::other)?;
    Ok(record)
}

pub async fn list_clients(
    pool: &SqlitePool,
    tenant: TenantId,
    page: &PageRequest,
) -> StoreResult<Page<OAuthClientRecord>> {
    let rows: Vec<ClientRow> = sqlx::query_as(&format!(
        "SELECT {CLIENT_COLUMNS} FROM oauth_clients WHERE tenant_id = ? AND id > ? ORDER BY id LIMIT ?"
    ))
    .bind(tenant.to_string())
    .bind(cursor(page)?)
    .bind(page.fetch_limit())
    .fetch_all(pool)
    .await
    .map_err(crate::error::other)?;
    let clients = rows
        .into_iter()
        .map(OAuthClientRecord::try_from)
        .collect::<StoreResult<Vec<_>>>()?;
    Ok(Page::from_rows(clients, page, |c| c.id.to_string()))
}

pub async fn revoke_client(
    pool: &SqlitePool,
    tenant: TenantId,
    id: OAuthClientId,
    ctx: &AuditContext,
) -> StoreResult<OAuthClientRecord> {
    let mut tx = write_tx(pool).await?;
    let before: Option<ClientRow> = sqlx::query_as(&format!(
        "SELECT {CLIENT_COLUMNS} FROM oauth_clients WHERE id = ? AND tenant_id = ?"
    ))
    .bind(id.to_string())
    .bind(tenant.to_string())
    .fetch_optional(&mut *tx)
    .await
    .map_err(crate::error::other)?;
    let before: OAuthClientRecord = before
        .ok_or(StoreError::NotFound("OAuth client"))?
        .try_into()?;
    let mut after = before.clone();
    if before.revoked_at.is_none() {
        let at = now();
        sqlx::query("UPDATE oauth_clients SET revoked_at = ? WHERE id = ?")
            .bind(at)
            .bind(id.to_string())
            .execute(&mut *tx)
            .await
            .map_err(crate::error::other)?;
        sqlx::query("DELETE FROM access_tokens WHERE client = ?")
            .bind(id.to_string())
            .execute(&mut *tx)
            .await
            .map_err(crate::error::other)?;
        after.revoked_at = Some(at);
        audit::append(
            &mut tx,
            &tenant.to_string(),
            ctx,
            "oauth_client.revoke",
            &format!("oauth_client:{id}"),
            Some(client_summary(&before)),
            Some(client_summary(&after)),
        )
        .await?;
    }
    tx.commit().await.map_err(crate::error::other)?;
    Ok(after)
}

pub async fn client_by_client_id(
    pool: &SqlitePool,
    client_id: &str,
) -> StoreResult<OAuthClientRecord> {
    let row: Option<ClientRow> = sqlx::query_as(&format!(
        "SELECT {CLIENT_COLUMNS} FROM oauth_clients WHERE client_id = ?"
    ))
    .bind(client_id)
    .fetch_optional(pool)
    .await
    .map_err(crate::error::other)?;
    row.ok_or(StoreError::NotFound("OAuth client"))?.try_into()
}

pub async fn create_token(
    pool: &SqlitePool,
    token_hash: &str,
    t: &AccessTokenRecord,
) -> StoreResult<()> {
    sqlx::query("INSERT INTO access_tokens (token_hash, client, tenant_id, scopes, expires_at) VALUES (?, ?, ?, ?, ?)")
        .bind(token_hash)
        .bind(t.client.to_string())
        .bind(t.tenant_id.to_string())
        .bind(t.scopes.join(" "))
        .bind(t.expires_at)
        .execute(pool)
        .await
        .map_err(crate::error::other)?;
    Ok(())
}

pub async fn token(
    pool: &SqlitePool,
    token_hash: &str,
    at: DateTime<Utc>,
) -> StoreResult<AccessTokenRecord> {
    let row: Option<(String, String, String, DateTime<Utc>)> = sqlx::query_as(
        "SELECT t.client, t.tenant_id, t.scopes, t.expires_at FROM access_tokens t \
         JOIN oauth_clients c ON c.id = t.client \
         WHERE t.token_hash = ? AND t.expires_at > ? AND c.revoked_at IS NULL",
    )
    .bind(token_hash)
    .bind(at)
    .fetch_optional(pool)
    .await
    .map_err(crate::error::other)?;
    let (client, tenant, s, expires_at) = row.ok_or(StoreError::NotFound("access token"))?;
    Ok(AccessTokenRecord {
        client: client.parse().map_err(crate::error::other)?,
        tenant_id: tenant.parse().map_err(crate::error::other)?,
        scopes: scopes(&s),
        expires_at,
    })
}
