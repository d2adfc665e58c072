//! API keys, OAuth clients and access tokens, written once over the
//! [`Backend`]. A revocation reads the row it changes `FOR UPDATE` where the
//! database locks rows ([`Backend::ROW_LOCKS`]); on SQLite the write
//! transaction serialises concurrent revocations. Either way only one of
//! them records it.

use chrono::{DateTime, Utc};
use sqlx::Pool;
use storekeep_domain::{
    AccessTokenRecord, ApiKeyId, ApiKeyRecord, AuditContext, NewApiKey, NewOAuthClient,
    OAuthClientId, OAuthClientRecord, Page, PageRequest, TenantId,
};
use storekeep_store::rules::identity::{
    ACCESS_TOKEN, API_KEY, OAUTH_CLIENT, api_key_created, api_key_revoked, client_created,
    client_revoked, revoked,
};
use storekeep_store::{StoreResult, now};

use super::credentials::{
    self as sql, CLIENT_BY_CLIENT_ID, CLIENT_BY_ID, CLIENT_BY_ID_LOCKED, CLIENT_PAGE, KEY_BY_HASH,
    KEY_BY_ID, KEY_BY_ID_LOCKED, KEY_PAGE, TOKEN,
};
use super::{AccessTokenRow, ApiKeyRow, ClientRow};
use crate::DbId;
use crate::backend::Backend;
use crate::stmt::{Stmt, cursor, found, page_of};

pub async fn create_api_key<B: Backend>(
    pool: &Pool<B::Db>,
    k: &NewApiKey,
    ctx: &AuditContext,
) -> StoreResult<ApiKeyRecord> {
    let mut tx = B::write_tx(pool).await?;
    let record = sql::new_key(k, now());
    B::exec_unique(&mut tx, sql::insert_key(&record, &k.key_hash), &[]).await?;
    B::record_change(&mut tx, ctx, api_key_created(&record)).await?;
    B::commit(tx).await?;
    Ok(record)
}

pub async fn list_api_keys<B: Backend>(
    pool: &Pool<B::Db>,
    tenant: TenantId,
    page: &PageRequest,
) -> StoreResult<Page<ApiKeyRecord>> {
    let args = (DbId(tenant.0), cursor(page)?, page.fetch_limit());
    let rows: Vec<ApiKeyRow> =
        B::all(&mut *B::conn(pool).await?, Stmt::new(KEY_PAGE, args)).await?;
    page_of(rows, page, |k: &ApiKeyRecord| k.id.0)
}

/// Revokes a key; of concurrent revocations only one records it.
pub async fn revoke_api_key<B: Backend>(
    pool: &Pool<B::Db>,
    tenant: TenantId,
    id: ApiKeyId,
    ctx: &AuditContext,
) -> StoreResult<ApiKeyRecord> {
    let mut tx = B::write_tx(pool).await?;
    let by_id = B::read_for_update(KEY_BY_ID, KEY_BY_ID_LOCKED);
    let row: Option<ApiKeyRow> =
        B::optional(&mut tx, Stmt::new(by_id, (DbId(id.0), DbId(tenant.0)))).await?;
    let before: ApiKeyRecord = found(row, API_KEY)?;
    let mut after = before.clone();
    if let Some(at) = revoked(before.revoked_at, now()) {
        B::exec(&mut tx, sql::revoke_key(id, at)).await?;
        after.revoked_at = Some(at);
        B::record_change(&mut tx, ctx, api_key_revoked(&before, &after)).await?;
    }
    B::commit(tx).await?;
    Ok(after)
}

pub async fn api_key_by_hash<B: Backend>(
    pool: &Pool<B::Db>,
    key_hash: &str,
) -> StoreResult<ApiKeyRecord> {
    let stmt = Stmt::new(KEY_BY_HASH, (key_hash,));
    let row: Option<ApiKeyRow> = B::optional(&mut *B::conn(pool).await?, stmt).await?;
    found(row, API_KEY)
}

pub async fn touch_api_key<B: Backend>(
    pool: &Pool<B::Db>,
    id: ApiKeyId,
    at: DateTime<Utc>,
) -> StoreResult<()> {
    B::exec(&mut *B::conn(pool).await?, sql::touch_key(id, at)).await?;
    Ok(())
}

pub async fn create_client<B: Backend>(
    pool: &Pool<B::Db>,
    c: &NewOAuthClient,
    ctx: &AuditContext,
) -> StoreResult<OAuthClientRecord> {
    let mut tx = B::write_tx(pool).await?;
    let record = sql::new_client(c, now());
    B::exec(&mut tx, sql::insert_client(&record)).await?;
    B::record_change(&mut tx, ctx, client_created(&record)).await?;
    B::commit(tx).await?;
    Ok(record)
}

pub async fn list_clients<B: Backend>(
    pool: &Pool<B::Db>,
    tenant: TenantId,
    page: &PageRequest,
) -> StoreResult<Page<OAuthClientRecord>> {
    let args = (DbId(tenant.0), cursor(page)?, page.fetch_limit());
    let rows: Vec<ClientRow> =
        B::all(&mut *B::conn(pool).await?, Stmt::new(CLIENT_PAGE, args)).await?;
    page_of(rows, page, |c: &OAuthClientRecord| c.id.0)
}

/// Revokes a client and its tokens; of concurrent revocations only one
/// records it.
pub async fn revoke_client<B: Backend>(
    pool: &Pool<B::Db>,
    tenant: TenantId,
    id: OAuthClientId,
    ctx: &AuditContext,
) -> StoreResult<OAuthClientRecord> {
    let mut tx = B::write_tx(pool).await?;
    let by_id = B::read_for_update(CLIENT_BY_ID, CLIENT_BY_ID_LOCKED);
    let row: Option<ClientRow> =
        B::optional(&mut tx, Stmt::new(by_id, (DbId(id.0), DbId(tenant.0)))).await?;
    let before: OAuthClientRecord = found(row, OAUTH_CLIENT)?;
    let mut after = before.clone();
    if let Some(at) = revoked(before.revoked_at, now()) {
        B::exec(&mut tx, sql::revoke_client(id, at)).await?;
        B::exec(&mut tx, sql::delete_tokens(id)).await?;
        after.revoked_at = Some(at);
        B::record_change(&mut tx, ctx, client_revoked(&before, &after)).await?;
    }
    B::commit(tx).await?;
    Ok(after)
}

pub async fn client_by_client_id<B: Backend>(
    pool: &Pool<B::Db>,
    client_id: &str,
) -> StoreResult<OAuthClientRecord> {
    let stmt = Stmt::new(CLIENT_BY_CLIENT_ID, (client_id,));
    let row: Option<ClientRow> = B::optional(&mut *B::conn(pool).await?, stmt).await?;
    found(row, OAUTH_CLIENT)
}

pub async fn create_token<B: Backend>(
    pool: &Pool<B::Db>,
    token_hash: &str,
    t: &AccessTokenRecord,
) -> StoreResult<()> {
    B::exec(&mut *B::conn(pool).await?, sql::insert_token(token_hash, t)).await?;
    Ok(())
}

pub async fn token<B: Backend>(
    pool: &Pool<B::Db>,
    token_hash: &str,
    at: DateTime<Utc>,
) -> StoreResult<AccessTokenRecord> {
    let stmt = Stmt::new(TOKEN, (token_hash, at));
    let row: Option<AccessTokenRow> = B::optional(&mut *B::conn(pool).await?, stmt).await?;
    found(row, ACCESS_TOKEN)
}
