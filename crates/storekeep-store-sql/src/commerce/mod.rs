//! Selling's rows as both databases decode them, their conversion into
//! domain records, their column lists, and the few statements whose text
//! both databases accept as it is (the stock and deal claims of checkout,
//! so the cap arithmetic is written once).

mod carts;
mod checkout;
mod deals;
mod orders;
pub mod outbox;
pub mod sql;
#[doc(hidden)]
pub mod store;

pub use carts::{CART_COLUMNS, CartItemRow, CartRow, SaleVariantRow};
pub use checkout::{CLAIM_DEAL, RESERVE_STOCK, STOCK_OF};
pub use deals::{DEAL_COLUMNS, DealRow, bind_deal};
pub use orders::{
    LINE_COLUMNS, LineRow, ORDER_COLUMNS, OrderParts, OrderRow, PAYMENT_COLUMNS, PaymentRow,
    REFUND_COLUMNS, RefundRow, SOLD_LINES, SoldLineRow, TRANSITION_COLUMNS, TransitionRow,
    order_details, order_status, sold_lines,
};
pub use outbox::{EVENT_COLUMNS, EventRow};

use chrono::{DateTime, Utc};
use storekeep_domain::PageRequest;
use storekeep_store::{StoreError, StoreResult};
use uuid::Uuid;

use crate::DbId;

/// A stored value no record can hold: a fault, never the user's.
fn corrupt(what: &str, value: &str) -> StoreError {
    StoreError::Other(format!("stored {what} is invalid: {value:?}").into())
}

/// The cursor of a newest-first page: ids below it. Without one, the
/// largest uuid (never a v7 id) bounds nothing.
pub fn page_before(page: &PageRequest) -> StoreResult<DbId> {
    Ok(DbId(
        storekeep_store::parse_cursor(page)?.unwrap_or(Uuid::max()),
    ))
}

/// The smallest UUIDv7 of `at`'s millisecond: every id made at `at` or
/// later is at least this (UUIDv7s begin with their 48-bit millisecond
/// time), every id made earlier is below it.
pub fn id_floor(at: DateTime<Utc>) -> DbId {
    let ms = u128::try_from(at.timestamp_millis()).unwrap_or(0) & ((1 << 48) - 1);
    DbId(Uuid::from_u128(ms << 80))
}

/// How long before its `created_at` an order's id may have been made (a
/// checkout's whole run is far shorter: the request timeout bounds it).
pub const ID_SLACK: chrono::TimeDelta = chrono::TimeDelta::minutes(10);

/// A row of [`sql::ORDER_SALES`].
#[derive(Debug, sqlx::FromRow)]
pub struct SalesRow {
    pub currency: String,
    pub orders: i64,
    pub revenue: i64,
}

impl From<SalesRow> for storekeep_domain::CurrencySales {
    fn from(r: SalesRow) -> Self {
        Self {
            currency: r.currency,
            orders: r.orders,
            revenue: r.revenue,
        }
    }
}

/// What [`sql::ORDER_SALES`] binds: the tenant, the id floors, the span.
pub type OrderSalesArgs = (DbId, DbId, DbId, DateTime<Utc>, DateTime<Utc>);

/// [`sql::ORDER_SALES`] of `tenant` over `[from, to)`, bound.
pub fn order_sales(
    tenant: storekeep_domain::TenantId,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> crate::stmt::Stmt<OrderSalesArgs> {
    // An id is made when checkout begins, a moment before the order's
    // `created_at`: the id range starts earlier by `ID_SLACK`, and the
    // exact span is the `created_at` condition.
    crate::stmt::Stmt::new(
        sql::ORDER_SALES,
        (
            DbId(tenant.0),
            id_floor(from - ID_SLACK),
            id_floor(to),
            from,
            to,
        ),
    )
}

/// [`sql::COUNT_ORDERS_UPTO`], bound.
pub fn count_orders_upto(
    tenant: storekeep_domain::TenantId,
    status: storekeep_domain::OrderStatus,
    cap: i64,
) -> crate::stmt::Stmt<(DbId, &'static str, i64)> {
    crate::stmt::Stmt::new(
        sql::COUNT_ORDERS_UPTO,
        (DbId(tenant.0), status.as_str(), cap),
    )
}
