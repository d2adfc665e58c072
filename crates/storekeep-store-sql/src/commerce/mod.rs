//! Selling's rows as both databases decode them, their conversion into
//! domain records, their column lists, and the few statements whose text
//! both databases accept as it is (the stock and deal claims of checkout,
//! so the cap arithmetic is written once).

pub mod carts;
mod checkout;
mod deals;
mod orders;
pub mod outbox;
pub mod sql;
#[doc(hidden)]
pub mod store;
pub mod unmatched;

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

/// What [`sql::ORDER_SALES`] binds: the tenant, the span's slots.
pub type OrderSalesArgs = (DbId, i64, i64);

/// The length of a sales counter's slot (the rule's own,
/// `rules::commerce::sales::SLOT_SECONDS`).
pub const SALES_SLOT_SECONDS: i64 = storekeep_store::rules::commerce::sales::SLOT_SECONDS;

/// [`sql::ORDER_SALES`] of `tenant`: the orders placed in the quarter
/// hours that *begin* in `[from, to)`. A span's ends are thus rounded up
/// to the quarter hour: a shop's day (which begins on one) to now is
/// exact, the same span a week before counts up to the end of its last
/// quarter hour.
pub fn order_sales(
    tenant: storekeep_domain::TenantId,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> crate::stmt::Stmt<OrderSalesArgs> {
    crate::stmt::Stmt::new(
        sql::ORDER_SALES,
        (DbId(tenant.0), seconds_up(from), seconds_up(to)),
    )
}

/// `at` in whole seconds since the epoch, a fraction rounding up (a slot
/// beginning at or after `at`).
fn seconds_up(at: DateTime<Utc>) -> i64 {
    at.timestamp() + i64::from(at.timestamp_subsec_nanos() > 0)
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
