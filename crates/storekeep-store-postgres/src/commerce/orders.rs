//! Orders: reads, status moves and what each move does to stock and deals.

use std::collections::{BTreeMap, BTreeSet};

use crate::Conn;
use crate::backend::PgBackend as B;
use chrono::{DateTime, Utc};
use sqlx::types::Json;
use sqlx::{Postgres, QueryBuilder};
use storekeep_domain::{
    OrderDetail, OrderFilter, OrderId, OrderStatus, Page, PageRequest, TenantId,
};
use storekeep_store::commerce::events;
use storekeep_store::rules::commerce::orders::{self as rules, StockEffect};
use storekeep_store::{StoreError, StoreResult, TransitionActor, now};
use storekeep_store_sql::commerce::sql;
use storekeep_store_sql::commerce::{
    LINE_COLUMNS, LineRow, ORDER_COLUMNS, OrderParts, OrderRow, PAYMENT_COLUMNS, PaymentRow,
    REFUND_COLUMNS, RefundRow, TRANSITION_COLUMNS, TransitionRow, order_details, order_status,
    page_before,
};
use uuid::Uuid;

use super::json_rows;
use crate::catalog::{record_ledger, refresh_summary};
use crate::error::other;
use crate::run::RUN;
use crate::{Store, write_tx};
use storekeep_store_sql::commerce::outbox::emit;
use storekeep_store_sql::stmt::Stmt;

/// Lock 2: the order row. Returns its status, total and refunded amount.
pub(crate) async fn lock_order(
    conn: &mut Conn,
    tenant: TenantId,
    id: OrderId,
) -> StoreResult<(OrderStatus, i64, i64)> {
    let row: Option<(String, i64, i64)> = sqlx::query_as(
        "SELECT status, total, refunded FROM orders WHERE tenant_id = $1 AND id = $2 FOR UPDATE",
    )
    .bind(tenant.0)
    .bind(id.0)
    .fetch_optional(&mut *conn)
    .await
    .map_err(other)?;
    let (status, total, refunded) = row.ok_or(StoreError::NotFound("order"))?;
    Ok((order_status(&status)?, total, refunded))
}

/// Lock 3: the products owning `variants`, by id, so a concurrent catalog
/// write (which locks the product before its variants) queues behind this
/// transaction's stock changes, or this one behind it.
///
/// The variants are found by primary key alone; the shop is checked on
/// the products (a variant of another shop locks nothing, and its line is
/// refused by its reservation, which is by id and shop). With
/// `v.tenant_id = $1` in the subquery too, PostgreSQL's generic plan for
/// the prepared statement (taken after five runs when its estimate is
/// within the planning cost of the custom plans') could read every
/// variant of the shop through `variants_sku_key (tenant_id, sku)` and
/// filter by id: 177 index entries and 26 heap pages for one line in the
/// checkout bench, and every variant of a large shop.
pub(crate) async fn lock_products_of(
    conn: &mut Conn,
    tenant: TenantId,
    variants: &[Uuid],
) -> StoreResult<()> {
    if variants.is_empty() {
        return Ok(());
    }
    sqlx::query(
        "SELECT p.id FROM products p WHERE p.tenant_id = $1 AND p.id IN \
         (SELECT v.product_id FROM variants v WHERE v.id = ANY($2)) \
         ORDER BY p.id FOR UPDATE OF p",
    )
    .bind(tenant.0)
    .bind(variants)
    .execute(&mut *conn)
    .await
    .map_err(other)?;
    Ok(())
}

/// Orders (`{from}` names `orders o` and filters it) with their lines,
/// transitions, payments and refunds as JSON arrays, each in the order
/// they happened: one statement, so one snapshot and one round trip
/// (an order email's read was seven: `BEGIN`, five queries, `COMMIT`).
fn with_parts(from: &str) -> String {
    let part = |columns: &str, table: &str, order_by: &str| {
        json_rows(
            &format!("SELECT {columns} FROM {table} WHERE order_id = o.id"),
            order_by,
        )
    };
    format!(
        "SELECT {ORDER_COLUMNS}, {} AS lines, {} AS transitions, {} AS payments, \
         {} AS refunds FROM {from}",
        part(
            &format!("{LINE_COLUMNS}, position"),
            "order_lines",
            "x.position"
        ),
        part(
            &format!("{TRANSITION_COLUMNS}, id"),
            "order_transitions",
            "x.at, x.id"
        ),
        part(PAYMENT_COLUMNS, "payments", "x.created_at, x.id"),
        part(REFUND_COLUMNS, "refunds", "x.created_at, x.id"),
    )
}

/// A row of [`with_parts`].
#[derive(sqlx::FromRow)]
struct DetailRow {
    #[sqlx(flatten)]
    order: OrderRow,
    lines: Json<Vec<LineRow>>,
    transitions: Json<Vec<TransitionRow>>,
    payments: Json<Vec<PaymentRow>>,
    refunds: Json<Vec<RefundRow>>,
}

/// Orders with their history, in the order of `rows`.
fn details(rows: Vec<DetailRow>) -> StoreResult<Vec<OrderDetail>> {
    let mut parts = OrderParts::default();
    let mut orders = Vec::with_capacity(rows.len());
    for r in rows {
        parts.lines.extend(r.lines.0);
        parts.transitions.extend(r.transitions.0);
        parts.payments.extend(r.payments.0);
        parts.refunds.extend(r.refunds.0);
        orders.push(r.order);
    }
    order_details(orders, parts)
}

/// An order with its lines, transitions, payments and refunds.
pub(crate) async fn fetch_detail(
    conn: &mut Conn,
    tenant: TenantId,
    id: OrderId,
) -> StoreResult<OrderDetail> {
    static SQL: std::sync::LazyLock<String> =
        std::sync::LazyLock::new(|| with_parts("orders o WHERE o.tenant_id = $1 AND o.id = $2"));
    let row: Option<DetailRow> = sqlx::query_as(&SQL)
        .bind(tenant.0)
        .bind(id.0)
        .fetch_optional(&mut *conn)
        .await
        .map_err(other)?;
    let row = row.ok_or(StoreError::NotFound("order"))?;
    details(vec![row])?
        .pop()
        .ok_or(StoreError::NotFound("order"))
}

pub(crate) async fn order(s: &Store, tenant: TenantId, id: OrderId) -> StoreResult<OrderDetail> {
    fetch_detail(&mut *s.pool.acquire().await.map_err(other)?, tenant, id).await
}

pub(crate) async fn list_orders(
    s: &Store,
    tenant: TenantId,
    filter: &OrderFilter,
    page: &PageRequest,
) -> StoreResult<Page<OrderDetail>> {
    let mut sql: QueryBuilder<'_, Postgres> =
        QueryBuilder::new(with_parts("orders o WHERE tenant_id = "));
    sql.push_bind(tenant.0)
        .push(" AND id < ")
        .push_bind(page_before(page)?);
    if let Some(status) = filter.status {
        sql.push(" AND status = ").push_bind(status.as_str());
    }
    if let Some(customer) = filter.customer_id {
        sql.push(" AND customer_id = ").push_bind(customer.0);
    }
    if let Some(index) = &filter.email_index {
        sql.push(" AND email_index = ").push_bind(index.as_str());
    }
    if let Some(from) = filter.created_from {
        sql.push(" AND created_at >= ").push_bind(from);
    }
    if let Some(to) = filter.created_to {
        sql.push(" AND created_at <= ").push_bind(to);
    }
    sql.push(" ORDER BY id DESC LIMIT ")
        .push_bind(page.fetch_limit());
    let rows: Vec<DetailRow> = sql
        .build_query_as()
        .fetch_all(&s.pool)
        .await
        .map_err(other)?;
    let orders = details(rows)?;
    Ok(Page::from_rows(orders, page, |o| o.order.id.to_string()))
}

pub(crate) async fn transition_order(
    s: &Store,
    tenant: TenantId,
    id: OrderId,
    to: OrderStatus,
    by: &TransitionActor<'_>,
) -> StoreResult<OrderDetail> {
    let mut tx = write_tx(&s.pool).await?;
    let (from, _, _) = lock_order(&mut tx, tenant, id).await?;
    rules::check_move(from, to)?;
    move_order(&mut tx, tenant, id, from, to, by).await?;
    let detail = fetch_detail(&mut tx, tenant, id).await?;
    tx.commit().await.map_err(other)?;
    Ok(detail)
}

pub(crate) async fn expire_orders(s: &Store, now_: DateTime<Utc>, limit: i64) -> StoreResult<u64> {
    let mut cancelled = 0;
    // One order per transaction: each takes its products' locks in
    // order, which a batch spanning several orders could not.
    while cancelled < limit.max(0) {
        let mut tx = write_tx(&s.pool).await?;
        // Orders another node is sweeping (or anyone is moving) are
        // skipped, not waited for.
        let due: Option<(Uuid, Uuid)> = sqlx::query_as(
            "SELECT id, tenant_id FROM orders WHERE status = 'pending_payment' \
             AND expires_at <= $1 ORDER BY expires_at LIMIT 1 FOR UPDATE SKIP LOCKED",
        )
        .bind(now_)
        .fetch_optional(&mut *tx)
        .await
        .map_err(other)?;
        let Some((id, tenant)) = due else { break };
        move_order(
            &mut tx,
            TenantId(tenant),
            OrderId(id),
            OrderStatus::PendingPayment,
            OrderStatus::Cancelled,
            &rules::EXPIRY,
        )
        .await?;
        tx.commit().await.map_err(other)?;
        cancelled += 1;
    }
    Ok(u64::try_from(cancelled).unwrap_or(0))
}

/// Moves an order whose row the caller has locked from `from` to `to`:
/// the status (conditional on `from`), the stock and deal effects of the
/// move, the transition row, the outbox event and, for staff, the audit
/// entry.
pub(crate) async fn move_order(
    conn: &mut Conn,
    tenant: TenantId,
    id: OrderId,
    from: OrderStatus,
    to: OrderStatus,
    by: &TransitionActor<'_>,
) -> StoreResult<()> {
    let at = now();
    let moved = RUN
        .exec(
            &mut *conn,
            Stmt::new(sql::MOVE_ORDER, (id.0, from.as_str(), to.as_str(), at)),
        )
        .await?;
    rules::require_moved(moved > 0, to)?;
    match rules::stock_effect(to) {
        StockEffect::Sell => sell_reserved(conn, tenant, id, by.actor).await?,
        StockEffect::Release => release_order(conn, tenant, id).await?,
        StockEffect::None => {}
    }
    storekeep_store_sql::contracts::order_moved::<B>(conn, tenant, id, to, by.actor, at).await?;
    insert_transition(conn, id, Some(from), to, by.actor, by.reason, at).await?;
    let (topic, payload) = events::order_moved(id, from, to, by.actor, by.reason);
    emit::<B>(conn, tenant, id, &topic, payload).await?;
    if let Some(ctx) = by.audit {
        super::audit(
            conn,
            tenant,
            ctx,
            rules::move_audit(id, from, to, by.reason),
        )
        .await?;
    }
    Ok(())
}

pub(crate) async fn insert_transition(
    conn: &mut Conn,
    order: OrderId,
    from: Option<OrderStatus>,
    to: OrderStatus,
    actor: &str,
    reason: Option<&str>,
    at: DateTime<Utc>,
) -> StoreResult<()> {
    RUN.exec(
        &mut *conn,
        Stmt::new(
            sql::INSERT_TRANSITION,
            (
                Uuid::now_v7(),
                order.0,
                from.map(OrderStatus::as_str),
                to.as_str(),
                actor,
                reason,
                at,
            ),
        ),
    )
    .await?;
    Ok(())
}

/// Units of each variant on the order's lines, by variant id (not the
/// lines holding a serial-tracked rental unit instead of stock).
async fn units_by_variant(conn: &mut Conn, order: OrderId) -> StoreResult<BTreeMap<Uuid, i64>> {
    let rows: Vec<(Uuid, i64)> = sqlx::query_as(concat!(
        "SELECT variant_id, sum(quantity)::bigint FROM order_lines WHERE ",
        storekeep_store_sql::stock_lines_of_order!(),
        " GROUP BY variant_id"
    ))
    .bind(order.0)
    .fetch_all(&mut *conn)
    .await
    .map_err(other)?;
    Ok(rows.into_iter().collect())
}

/// Payment: the reservation becomes a sale. A variant deleted since is
/// skipped.
async fn sell_reserved(
    conn: &mut Conn,
    tenant: TenantId,
    order: OrderId,
    actor: &str,
) -> StoreResult<()> {
    let units = units_by_variant(conn, order).await?;
    let variants: Vec<Uuid> = units.keys().copied().collect();
    lock_products_of(conn, tenant, &variants).await?;
    let reason = rules::sale_reason(order);
    for (variant, q) in units {
        let on_hand: Option<i64> = sqlx::query_scalar(
            "UPDATE variants SET on_hand = on_hand - $3, reserved = reserved - $3, \
             updated_at = $4 WHERE id = $1 AND tenant_id = $2 RETURNING on_hand",
        )
        .bind(variant)
        .bind(tenant.0)
        .bind(q)
        .bind(now())
        .fetch_optional(&mut *conn)
        .await
        .map_err(other)?;
        if let Some(after) = on_hand {
            record_ledger(conn, tenant, variant, -q, &reason, after, actor).await?;
        }
    }
    Ok(())
}

/// Cancellation: the reservation is released and the deals' usage given
/// back.
async fn release_order(conn: &mut Conn, tenant: TenantId, order: OrderId) -> StoreResult<()> {
    let units = units_by_variant(conn, order).await?;
    let variants: Vec<Uuid> = units.keys().copied().collect();
    lock_products_of(conn, tenant, &variants).await?;
    let mut products = BTreeSet::new();
    for (variant, q) in units {
        let product: Option<Uuid> = sqlx::query_scalar(
            "UPDATE variants SET reserved = reserved - $3 WHERE id = $1 AND tenant_id = $2 \
             RETURNING product_id",
        )
        .bind(variant)
        .bind(tenant.0)
        .bind(q)
        .fetch_optional(&mut *conn)
        .await
        .map_err(other)?;
        products.extend(product);
    }
    for product in products {
        refresh_summary(conn, product).await?;
    }

    let mut uses: Vec<(Uuid, i64)> = sqlx::query_as(
        "UPDATE deal_uses SET released = true WHERE order_id = $1 AND NOT released \
         RETURNING deal_id, units",
    )
    .bind(order.0)
    .fetch_all(&mut *conn)
    .await
    .map_err(other)?;
    uses.sort_unstable();
    for (deal, units) in uses {
        sqlx::query(
            "UPDATE deals SET uses = greatest(uses - 1, 0), \
             units_sold = greatest(units_sold - $3, 0) WHERE id = $1 AND tenant_id = $2",
        )
        .bind(deal)
        .bind(tenant.0)
        .bind(units)
        .execute(&mut *conn)
        .await
        .map_err(other)?;
    }
    Ok(())
}

pub(crate) async fn order_sales(
    s: &Store,
    tenant: TenantId,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> StoreResult<Vec<storekeep_domain::CurrencySales>> {
    let rows: Vec<storekeep_store_sql::commerce::SalesRow> =
        storekeep_store_sql::commerce::order_sales(tenant, from, to)
            .query_as()
            .fetch_all(&s.pool)
            .await
            .map_err(other)?;
    Ok(rows.into_iter().map(Into::into).collect())
}

pub(crate) async fn count_orders_upto(
    s: &Store,
    tenant: TenantId,
    status: OrderStatus,
    cap: i64,
) -> StoreResult<i64> {
    storekeep_store_sql::commerce::count_orders_upto(tenant, status, cap)
        .query_scalar()
        .fetch_one(&s.pool)
        .await
        .map_err(other)
}
