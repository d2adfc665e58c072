//! Deals: staff create, change and delete them (audited); checkout claims
//! them (`checkout.rs`).

use crate::Conn;
use chrono::{DateTime, Utc};
use storekeep_domain::{AuditContext, Deal, DealId, NewDeal, Page, PageRequest, TenantId};
use storekeep_store::rules::commerce::deals as rules;
use storekeep_store::{StoreError, StoreResult, now};
use storekeep_store_sql::DbId;
use storekeep_store_sql::commerce::{DEAL_COLUMNS, DealRow, bind_deal, page_before, sql};

use super::{audit, map_err};
use crate::error::other;
use crate::run::RUN;
use crate::{Store, write_tx};
use storekeep_store_sql::stmt::Stmt;

async fn fetch_deal(conn: &mut Conn, tenant: TenantId, id: DealId) -> StoreResult<Deal> {
    let row: Option<DealRow> = sqlx::query_as(&format!(
        "SELECT {DEAL_COLUMNS} FROM deals WHERE tenant_id = $1 AND id = $2"
    ))
    .bind(tenant.0)
    .bind(id.0)
    .fetch_optional(&mut *conn)
    .await
    .map_err(other)?;
    row.ok_or(StoreError::NotFound("deal"))?.try_into()
}

/// Locks a deal row before it is replaced or deleted.
async fn lock_deal(conn: &mut Conn, tenant: TenantId, id: DealId) -> StoreResult<Deal> {
    let found: Option<DbId> = RUN
        .scalar_optional(
            &mut *conn,
            Stmt::new(
                "SELECT id FROM deals WHERE tenant_id = $1 AND id = $2 FOR UPDATE",
                (tenant.0, id.0),
            ),
        )
        .await?;
    found.ok_or(StoreError::NotFound("deal"))?;
    fetch_deal(conn, tenant, id).await
}

pub(crate) async fn create_deal(
    s: &Store,
    tenant: TenantId,
    deal: &NewDeal,
    ctx: &AuditContext,
) -> StoreResult<Deal> {
    let mut tx = write_tx(&s.pool).await?;
    let q = sqlx::query(sql::INSERT_DEAL).bind(deal.id.0).bind(tenant.0);
    bind_deal(q, deal)
        .bind(now())
        .execute(&mut *tx)
        .await
        .map_err(map_err)?;
    let created = fetch_deal(&mut tx, tenant, deal.id).await?;
    let entry = rules::deal_audit(rules::CREATED, deal.id, None, Some(&created))?;
    audit(&mut tx, tenant, ctx, entry).await?;
    tx.commit().await.map_err(other)?;
    Ok(created)
}

pub(crate) async fn update_deal(
    s: &Store,
    tenant: TenantId,
    deal: &NewDeal,
    ctx: &AuditContext,
) -> StoreResult<Deal> {
    let mut tx = write_tx(&s.pool).await?;
    let before = lock_deal(&mut tx, tenant, deal.id).await?;
    bind_deal(sqlx::query(sql::UPDATE_DEAL), deal)
        .bind(now())
        .bind(deal.id.0)
        .execute(&mut *tx)
        .await
        .map_err(map_err)?;
    let after = fetch_deal(&mut tx, tenant, deal.id).await?;
    let entry = rules::deal_audit(rules::UPDATED, deal.id, Some(&before), Some(&after))?;
    audit(&mut tx, tenant, ctx, entry).await?;
    tx.commit().await.map_err(other)?;
    Ok(after)
}

pub(crate) async fn delete_deal(
    s: &Store,
    tenant: TenantId,
    id: DealId,
    ctx: &AuditContext,
) -> StoreResult<()> {
    let mut tx = write_tx(&s.pool).await?;
    let before = lock_deal(&mut tx, tenant, id).await?;
    RUN.exec(&mut *tx, Stmt::new(sql::DELETE_DEAL, (tenant.0, id.0)))
        .await?;
    let entry = rules::deal_audit(rules::DELETED, id, Some(&before), None)?;
    audit(&mut tx, tenant, ctx, entry).await?;
    tx.commit().await.map_err(other)?;
    Ok(())
}

pub(crate) async fn deal(s: &Store, tenant: TenantId, id: DealId) -> StoreResult<Deal> {
    let mut conn = s.pool.acquire().await.map_err(other)?;
    fetch_deal(&mut conn, tenant, id).await
}

pub(crate) async fn deal_by_code(s: &Store, tenant: TenantId, code: &str) -> StoreResult<Deal> {
    let row: Option<DealRow> = sqlx::query_as(&format!(
        "SELECT {DEAL_COLUMNS} FROM deals WHERE tenant_id = $1 AND code = $2"
    ))
    .bind(tenant.0)
    .bind(code)
    .fetch_optional(&s.pool)
    .await
    .map_err(other)?;
    row.ok_or(StoreError::NotFound("deal"))?.try_into()
}

pub(crate) async fn list_deals(
    s: &Store,
    tenant: TenantId,
    page: &PageRequest,
) -> StoreResult<Page<Deal>> {
    let rows: Vec<DealRow> = sqlx::query_as(&format!(
        "SELECT {DEAL_COLUMNS} FROM deals WHERE tenant_id = $1 AND id < $2 \
         ORDER BY id DESC LIMIT $3"
    ))
    .bind(tenant.0)
    .bind(page_before(page)?)
    .bind(page.fetch_limit())
    .fetch_all(&s.pool)
    .await
    .map_err(other)?;
    let deals = rows
        .into_iter()
        .map(Deal::try_from)
        .collect::<StoreResult<Vec<_>>>()?;
    Ok(Page::from_rows(deals, page, |d| d.id.to_string()))
}

/// The deals of shop `tenant` active and live at some time between
/// `from` and `until` (SQL expressions, parameters or columns).
pub(crate) fn deals_live(tenant: &str, from: &str, until: &str) -> String {
    format!(
        "tenant_id = {tenant} AND active AND (ends_at IS NULL OR ends_at > {from}) \
         AND (starts_at IS NULL OR starts_at < {until})"
    )
}

pub(crate) async fn deals_between(
    s: &Store,
    tenant: TenantId,
    from: DateTime<Utc>,
    until: DateTime<Utc>,
) -> StoreResult<Vec<Deal>> {
    let rows: Vec<DealRow> = sqlx::query_as(&format!(
        "SELECT {DEAL_COLUMNS} FROM deals WHERE {} ORDER BY id",
        deals_live("$1", "$2", "$3")
    ))
    .bind(tenant.0)
    .bind(from)
    .bind(until)
    .fetch_all(&s.pool)
    .await
    .map_err(other)?;
    rows.into_iter().map(Deal::try_from).collect()
}
