//! API keys and OAuth clients on SQLite.

use crate::Pool;
use chrono::{DateTime, Utc};
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
use storekeep_store_sql::identity::credentials::{
    self as sql, CLIENT_BY_CLIENT_ID, CLIENT_BY_ID, CLIENT_PAGE, KEY_BY_HASH, KEY_BY_ID, KEY_PAGE,
    TOKEN,
};
use storekeep_store_sql::identity::{AccessTokenRow, ApiKeyRow, ClientRow};
use storekeep_store_sql::stmt::{Stmt, cursor, found, page_of};

use crate::error::{self, other};
use crate::run::RUN;
use crate::{audit, write_tx};

pub async fn create_api_key(
    pool: &Pool,
    k: &NewApiKey,
    ctx: &AuditContext,
) -> StoreResult<ApiKeyRecord> {
    let mut tx = write_tx(pool).await?;
    let record = sql::new_key(k, now());
    sql::insert_key(&record, &k.key_hash)
        .query()
        .execute(&mut *tx)
        .await
        .map_err(|e| error::map(e, &[]))?;
    audit::record(&mut tx, ctx, api_key_created(&record)).await?;
    tx.commit().await.map_err(other)?;
    Ok(record)
}

pub async fn list_api_keys(
    pool: &Pool,
    tenant: TenantId,
    page: &PageRequest,
) -> StoreResult<Page<ApiKeyRecord>> {
    let rows: Vec<ApiKeyRow> = RUN
        .all(
            pool,
            Stmt::new(
                KEY_PAGE,
                (DbId(tenant.0), cursor(page)?, page.fetch_limit()),
            ),
        )
        .await?;
    page_of(rows, page, |k: &ApiKeyRecord| k.id.0)
}

/// Revokes a key; the write transaction (`BEGIN IMMEDIATE`) serialises
/// concurrent revocations, so only one records it.
pub async fn revoke_api_key(
    pool: &Pool,
    tenant: TenantId,
    id: ApiKeyId,
    ctx: &AuditContext,
) -> StoreResult<ApiKeyRecord> {
    let mut tx = write_tx(pool).await?;
    let row: Option<ApiKeyRow> = RUN
        .optional(&mut *tx, Stmt::new(KEY_BY_ID, (DbId(id.0), DbId(tenant.0))))
        .await?;
    let before: ApiKeyRecord = found(row, API_KEY)?;
    let mut after = before.clone();
    if let Some(at) = revoked(before.revoked_at, now()) {
        RUN.exec(&mut *tx, sql::revoke_key(id, at)).await?;
        after.revoked_at = Some(at);
        audit::record(&mut tx, ctx, api_key_revoked(&before, &after)).await?;
    }
    tx.commit().await.map_err(other)?;
    Ok(after)
}

pub async fn api_key_by_hash(pool: &Pool, key_hash: &str) -> StoreResult<ApiKeyRecord> {
    let row: Option<ApiKeyRow> = RUN
        .optional(pool, Stmt::new(KEY_BY_HASH, (key_hash,)))
        .await?;
    found(row, API_KEY)
}

pub async fn touch_api_key(pool: &Pool, id: ApiKeyId, at: DateTime<Utc>) -> StoreResult<()> {
    RUN.exec(pool, sql::touch_key(id, at)).await?;
    Ok(())
}

pub async fn create_client(
    pool: &Pool,
    c: &NewOAuthClient,
    ctx: &AuditContext,
) -> StoreResult<OAuthClientRecord> {
    let mut tx = write_tx(pool).await?;
    let record = sql::new_client(c, now());
    RUN.exec(&mut *tx, sql::insert_client(&record)).await?;
    audit::record(&mut tx, ctx, client_created(&record)).await?;
    tx.commit().await.map_err(other)?;
    Ok(record)
}

pub async fn list_clients(
    pool: &Pool,
    tenant: TenantId,
    page: &PageRequest,
) -> StoreResult<Page<OAuthClientRecord>> {
    let rows: Vec<ClientRow> = RUN
        .all(
            pool,
            Stmt::new(
                CLIENT_PAGE,
                (DbId(tenant.0), cursor(page)?, page.fetch_limit()),
            ),
        )
        .await?;
    page_of(rows, page, |c: &OAuthClientRecord| c.id.0)
}

/// Revokes a client and its tokens; the write transaction (`BEGIN
/// IMMEDIATE`) serialises concurrent revocations, so only one records it.
pub async fn revoke_client(
    pool: &Pool,
    tenant: TenantId,
    id: OAuthClientId,
    ctx: &AuditContext,
) -> StoreResult<OAuthClientRecord> {
    let mut tx = write_tx(pool).await?;
    let row: Option<ClientRow> = RUN
        .optional(
            &mut *tx,
            Stmt::new(CLIENT_BY_ID, (DbId(id.0), DbId(tenant.0))),
        )
        .await?;
    let before: OAuthClientRecord = found(row, OAUTH_CLIENT)?;
    let mut after = before.clone();
    if let Some(at) = revoked(before.revoked_at, now()) {
        RUN.exec(&mut *tx, sql::revoke_client(id, at)).await?;
        RUN.exec(&mut *tx, sql::delete_tokens(id)).await?;
        after.revoked_at = Some(at);
        audit::record(&mut tx, ctx, client_revoked(&before, &after)).await?;
    }
    tx.commit().await.map_err(other)?;
    Ok(after)
}

pub async fn client_by_client_id(pool: &Pool, client_id: &str) -> StoreResult<OAuthClientRecord> {
    let row: Option<ClientRow> = RUN
        .optional(pool, Stmt::new(CLIENT_BY_CLIENT_ID, (client_id,)))
        .await?;
    found(row, OAUTH_CLIENT)
}

pub async fn create_token(pool: &Pool, token_hash: &str, t: &AccessTokenRecord) -> StoreResult<()> {
    RUN.exec(pool, sql::insert_token(token_hash, t)).await?;
    Ok(())
}

pub async fn token(
    pool: &Pool,
    token_hash: &str,
    at: DateTime<Utc>,
) -> StoreResult<AccessTokenRecord> {
    let row: Option<AccessTokenRow> = RUN
        .optional(pool, Stmt::new(TOKEN, (token_hash, at)))
        .await?;
    found(row, ACCESS_TOKEN)
}
