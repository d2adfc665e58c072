//! Orders: reads, status moves and what each move does to stock and deals.

use crate::Conn;
use crate::backend::SqliteBackend as B;
use chrono::{DateTime, Utc};
use sqlx::{QueryBuilder, Sqlite};
use storekeep_domain::{
    OrderDetail, OrderFilter, OrderId, OrderStatus, Page, PageRequest, TenantId,
};
use storekeep_store::commerce::events;
use storekeep_store::rules::commerce::orders::{self as rules, StockEffect};
use storekeep_store::{StoreError, StoreResult, TransitionActor, now};
use storekeep_store_sql::DbId;
use storekeep_store_sql::commerce::sql;
use storekeep_store_sql::commerce::{
    LINE_COLUMNS, ORDER_COLUMNS, OrderParts, OrderRow, PAYMENT_COLUMNS, REFUND_COLUMNS,
    TRANSITION_COLUMNS, order_details, order_status, page_before,
};

use crate::catalog::{placeholders, record_ledger, refresh_summary};
use crate::error::other;
use crate::run::RUN;
use crate::{Store, write_tx};
use storekeep_store_sql::commerce::outbox::emit;
use storekeep_store_sql::stmt::Stmt;

/// The order row's status, total and refunded amount (the write
/// transaction holds the lock).
pub(crate) async fn lock_order(
    conn: &mut Conn,
    tenant: TenantId,
    id: OrderId,
) -> StoreResult<(OrderStatus, i64, i64)> {
    let row: Option<(String, i64, i64)> = sqlx::query_as(
        "SELECT status, total, refunded FROM orders WHERE tenant_id = $1 AND id = $2",
    )
    .bind(tenant.to_string())
    .bind(id.to_string())
    .fetch_optional(&mut *conn)
    .await
    .map_err(other)?;
    let (status, total, refunded) = row.ok_or(StoreError::NotFound("order"))?;
    Ok((order_status(&status)?, total, refunded))
}

/// `columns` of `table`'s rows that belong to these orders, grouped by
/// order, each order's by `order_by` (one query).
async fn of_orders<R>(
    conn: &mut Conn,
    columns: &str,
    table: &str,
    order_by: &str,
    orders: &[DbId],
) -> StoreResult<Vec<R>>
where
    R: for<'r> sqlx::FromRow<'r, sqlx::sqlite::SqliteRow> + Send + Unpin,
{
    if orders.is_empty() {
        return Ok(Vec::new());
    }
    let sql = format!(
        "SELECT {columns} FROM {table} WHERE order_id IN ({}) ORDER BY order_id, {order_by}",
        placeholders(orders.len())
    );
    let mut q = sqlx::query_as::<_, R>(&sql);
    for o in orders {
        q = q.bind(*o);
    }
    q.fetch_all(&mut *conn).await.map_err(other)
}

/// The lines, transitions, payments and refunds of these orders.
async fn fetch_parts(conn: &mut Conn, orders: &[DbId]) -> StoreResult<OrderParts> {
    Ok(OrderParts {
        lines: of_orders(conn, LINE_COLUMNS, "order_lines", "position", orders).await?,
        transitions: of_orders(conn, TRANSITION_COLUMNS, "order_transitions", "id", orders).await?,
        payments: of_orders(conn, PAYMENT_COLUMNS, "payments", "id", orders).await?,
        refunds: of_orders(conn, REFUND_COLUMNS, "refunds", "id", orders).await?,
    })
}

/// An order with its lines, transitions, payments and refunds.
pub(crate) async fn fetch_detail(
    conn: &mut Conn,
    tenant: TenantId,
    id: OrderId,
) -> StoreResult<OrderDetail> {
    let row: Option<OrderRow> = sqlx::query_as(&format!(
        "SELECT {ORDER_COLUMNS} FROM orders WHERE tenant_id = $1 AND id = $2"
    ))
    .bind(tenant.to_string())
    .bind(id.to_string())
    .fetch_optional(&mut *conn)
    .await
    .map_err(other)?;
    let row = row.ok_or(StoreError::NotFound("order"))?;
    let parts = fetch_parts(conn, &[row.id]).await?;
    let mut details = order_details(vec![row], parts)?;
    details.pop().ok_or(StoreError::NotFound("order"))
}

pub(crate) async fn order(s: &Store, tenant: TenantId, id: OrderId) -> StoreResult<OrderDetail> {
    // One read transaction: the parts come from one snapshot.
    let mut tx = s.pool.begin().await.map_err(other)?;
    let detail = fetch_detail(&mut tx, tenant, id).await?;
    tx.commit().await.map_err(other)?;
    Ok(detail)
}

pub(crate) async fn list_orders(
    s: &Store,
    tenant: TenantId,
    filter: &OrderFilter,
    page: &PageRequest,
) -> StoreResult<Page<OrderDetail>> {
    let mut sql: QueryBuilder<'_, Sqlite> = QueryBuilder::new(format!(
        "SELECT {ORDER_COLUMNS} FROM orders WHERE tenant_id = "
    ));
    sql.push_bind(tenant.to_string())
        .push(" AND id < ")
        .push_bind(page_before(page)?);
    if let Some(status) = filter.status {
        sql.push(" AND status = ").push_bind(status.as_str());
    }
    if let Some(customer) = filter.customer_id {
        sql.push(" AND customer_id = ")
            .push_bind(customer.to_string());
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
    // One read transaction: the orders and their lines from one snapshot.
    let mut tx = s.pool.begin().await.map_err(other)?;
    let rows: Vec<OrderRow> = sql
        .build_query_as()
        .fetch_all(&mut *tx)
        .await
        .map_err(other)?;
    let ids: Vec<DbId> = rows.iter().map(|r| r.id).collect();
    let parts = fetch_parts(&mut tx, &ids).await?;
    tx.commit().await.map_err(other)?;
    let orders = order_details(rows, parts)?;
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
    let moved = move_order(&mut tx, tenant, id, from, to, by).await?;
    rules::require_moved(moved, to)?;
    let detail = fetch_detail(&mut tx, tenant, id).await?;
    tx.commit().await.map_err(other)?;
    Ok(detail)
}

pub(crate) async fn expire_orders(s: &Store, now_: DateTime<Utc>, limit: i64) -> StoreResult<u64> {
    // Most sweeps find nothing: look before taking the write lock.
    let any: Option<i64> = sqlx::query_scalar(
        "SELECT 1 FROM orders WHERE status = 'pending_payment' AND expires_at <= $1 LIMIT 1",
    )
    .bind(now_)
    .fetch_optional(&s.pool)
    .await
    .map_err(other)?;
    if any.is_none() {
        return Ok(0);
    }
    let mut tx = write_tx(&s.pool).await?;
    let due: Vec<(DbId, DbId)> = sqlx::query_as(
        "SELECT id, tenant_id FROM orders \
         WHERE status = 'pending_payment' AND expires_at <= $1 \
         ORDER BY expires_at, id LIMIT $2",
    )
    .bind(now_)
    .bind(limit)
    .fetch_all(&mut *tx)
    .await
    .map_err(other)?;
    let mut cancelled = 0;
    for (id, tenant) in due {
        let (from, to) = (OrderStatus::PendingPayment, OrderStatus::Cancelled);
        let (tenant, id) = (TenantId(tenant.0), OrderId(id.0));
        if move_order(&mut tx, tenant, id, from, to, &rules::EXPIRY).await? {
            cancelled += 1;
        }
    }
    tx.commit().await.map_err(other)?;
    Ok(cancelled)
}

/// Moves an order from `from` (the status just read in this transaction)
/// to `to` with the stock and deal effects of the move, its transition,
/// outbox event and (for staff) audit entry. `false` if the order was no
/// longer in `from`: nothing was written.
pub(crate) async fn move_order(
    conn: &mut Conn,
    tenant: TenantId,
    id: OrderId,
    from: OrderStatus,
    to: OrderStatus,
    by: &TransitionActor<'_>,
) -> StoreResult<bool> {
    let at = now();
    let moved = RUN
        .exec(
            &mut *conn,
            Stmt::new(
                sql::MOVE_ORDER,
                (id.to_string(), from.as_str(), to.as_str(), at),
            ),
        )
        .await?;
    if moved == 0 {
        return Ok(false);
    }
    match rules::stock_effect(to) {
        StockEffect::Sell => sell_reserved(conn, tenant, id, by.actor, at).await?,
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
    Ok(true)
}

async fn insert_transition(
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
                uuid::Uuid::now_v7().to_string(),
                order.to_string(),
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

/// The lines whose stock a payment sells: not those holding a
/// serial-tracked rental unit instead of stock.
const UNIT_LINES_LEFT_OUT_SELL: &str = concat!(
    "SELECT variant_id, quantity FROM order_lines WHERE ",
    storekeep_store_sql::stock_lines_of_order!()
);

/// Payment: the reservation becomes a sale: on_hand - reserved, and so
/// the product's available stock, does not change. A variant deleted with
/// its product since checkout has no stock left to sell from.
async fn sell_reserved(
    conn: &mut Conn,
    tenant: TenantId,
    order: OrderId,
    actor: &str,
    at: DateTime<Utc>,
) -> StoreResult<()> {
    let lines: Vec<(String, i64)> = RUN
        .all(
            &mut *conn,
            Stmt::new(UNIT_LINES_LEFT_OUT_SELL, (order.to_string(),)),
        )
        .await?;
    let reason = rules::sale_reason(order);
    for (variant, quantity) in lines {
        let after: Option<i64> = sqlx::query_scalar(
            "UPDATE variants SET on_hand = on_hand - $1, reserved = reserved - $1, \
             updated_at = $2 WHERE id = $3 AND tenant_id = $4 RETURNING on_hand",
        )
        .bind(quantity)
        .bind(at)
        .bind(&variant)
        .bind(tenant.to_string())
        .fetch_optional(&mut *conn)
        .await
        .map_err(other)?;
        if let Some(after) = after {
            record_ledger(conn, tenant, &variant, -quantity, &reason, after, actor).await?;
        }
    }
    Ok(())
}

/// Cancellation: the reservation is released and the deals' usage given
/// back.
async fn release_order(conn: &mut Conn, tenant: TenantId, order: OrderId) -> StoreResult<()> {
    let lines: Vec<(String, String, i64)> = sqlx::query_as(concat!(
        "SELECT variant_id, product_id, quantity FROM order_lines WHERE ",
        storekeep_store_sql::stock_lines_of_order!()
    ))
    .bind(order.to_string())
    .fetch_all(&mut *conn)
    .await
    .map_err(other)?;
    let mut products: Vec<String> = Vec::new();
    for (variant, product, quantity) in lines {
        sqlx::query(
            "UPDATE variants SET reserved = max(reserved - $1, 0) WHERE id = $2 AND tenant_id = $3",
        )
        .bind(quantity)
        .bind(&variant)
        .bind(tenant.to_string())
        .execute(&mut *conn)
        .await
        .map_err(other)?;
        if !products.contains(&product) {
            products.push(product);
        }
    }
    for product in &products {
        refresh_summary(conn, product).await?;
    }
    let uses: Vec<(String, i64)> = RUN
        .all(
            &mut *conn,
            Stmt::new(
                "SELECT deal_id, units FROM deal_uses WHERE order_id = $1 AND released = 0",
                (order.to_string(),),
            ),
        )
        .await?;
    if uses.is_empty() {
        return Ok(());
    }
    for (deal, units) in &uses {
        sqlx::query(
            "UPDATE deals SET uses = max(uses - 1, 0), units_sold = max(units_sold - $1, 0) \
             WHERE id = $2",
        )
        .bind(units)
        .bind(deal)
        .execute(&mut *conn)
        .await
        .map_err(other)?;
    }
    RUN.exec(
        &mut *conn,
        Stmt::new(
            "UPDATE deal_uses SET released = 1 WHERE order_id = $1 AND released = 0",
            (order.to_string(),),
        ),
    )
    .await?;
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
