//! Statements whose text both databases accept as it is (`$N`
//! placeholders, standard SQL). Each backend binds them in the order of
//! their `$N`, with its own id encoding; statements that differ (locks,
//! arrays, `INSERT OR IGNORE`) stay in the backend.

// ---------------------------------------------------------------- carts

/// `$1` id, `$2` tenant, `$3` customer, `$4` token hash, `$5` now.
pub const INSERT_CART: &str = "INSERT INTO carts (id, tenant_id, customer_id, token_hash, \
     status, created_at, updated_at) VALUES ($1, $2, $3, $4, 'open', $5, $5)";
/// `$1` coupon, `$2` shipping method, `$3` country, `$4` region, `$5` now,
/// `$6` cart.
pub const UPDATE_CART: &str = "UPDATE carts SET coupon_code = $1, shipping_method = $2, \
     country = $3, region = $4, updated_at = $5 WHERE id = $6";
/// `$1` now, `$2` cart.
pub const TOUCH_CART: &str = "UPDATE carts SET updated_at = $1 WHERE id = $2";
/// A cart's line of a variant ([`CartItemRow`](super::CartItemRow)): `$1`
/// cart, `$2` variant.
pub const CART_LINE_OF: &str =
    "SELECT id, variant_id, quantity FROM cart_items WHERE cart_id = $1 AND variant_id = $2";
/// `$1` cart.
pub const COUNT_CART_LINES: &str = "SELECT count(*) FROM cart_items WHERE cart_id = $1";
/// `$1` id, `$2` cart, `$3` variant, `$4` units, `$5` now.
pub const INSERT_CART_LINE: &str = "INSERT INTO cart_items (id, cart_id, variant_id, quantity, \
     created_at) VALUES ($1, $2, $3, $4, $5)";
/// `$1` units, `$2` line.
pub const SET_LINE_UNITS: &str = "UPDATE cart_items SET quantity = $1 WHERE id = $2";
/// `$1` units, `$2` line, `$3` cart.
pub const SET_CART_LINE_UNITS: &str =
    "UPDATE cart_items SET quantity = $1 WHERE id = $2 AND cart_id = $3";
/// `$1` line, `$2` cart.
pub const DELETE_CART_LINE: &str = "DELETE FROM cart_items WHERE id = $1 AND cart_id = $2";

// ---------------------------------------------------------------- orders

/// A conditional move: `$1` order, `$2` status read, `$3` new status,
/// `$4` now. No row changed means someone moved it first.
pub const MOVE_ORDER: &str =
    "UPDATE orders SET status = $3, updated_at = $4 WHERE id = $1 AND status = $2";
/// `$1` id, `$2` order, `$3` from, `$4` to, `$5` actor, `$6` reason,
/// `$7` at.
pub const INSERT_TRANSITION: &str = "INSERT INTO order_transitions (id, order_id, from_status, \
     to_status, actor, reason, at) VALUES ($1, $2, $3, $4, $5, $6, $7)";

// ---------------------------------------------------------------- refunds

/// `$1` units, `$2` line.
pub const ADD_RESTOCKED: &str = "UPDATE order_lines SET restocked = restocked + $1 WHERE id = $2";
/// `$1` id, `$2` order, `$3` amount, `$4` reason, `$5` restock (JSON),
/// `$6` actor, `$7` at.
pub const INSERT_REFUND: &str = "INSERT INTO refunds (id, order_id, amount, reason, restock, \
     actor, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)";
/// `$1` amount, `$2` now, `$3` order.
pub const ADD_REFUNDED: &str =
    "UPDATE orders SET refunded = refunded + $1, updated_at = $2 WHERE id = $3";

// ---------------------------------------------------------------- payments

/// `$1` id, `$2` tenant, `$3` order, `$4` provider, `$5` reference,
/// `$6` amount, `$7` now.
pub const INSERT_PAYMENT: &str = "INSERT INTO payments (id, tenant_id, order_id, provider, \
     reference, status, amount, created_at, updated_at) \
     VALUES ($1, $2, $3, $4, $5, 'pending', $6, $7, $7)";
/// Whether order `$1` has an attempt pending.
pub const ATTEMPT_PENDING: &str =
    "SELECT 1 FROM payments WHERE order_id = $1 AND status = 'pending' LIMIT 1";
/// `(tenant, order)` of the payment with provider `$1` and reference `$2`.
pub const PAYMENT_BY_REFERENCE: &str =
    "SELECT tenant_id, order_id FROM payments WHERE provider = $1 AND reference = $2";

// ---------------------------------------------------------------- deals

/// `$1` id, `$2` tenant, `$3`… the deal's fields in column order
/// (`product_ids` and `category_ids` as JSON), `$16` active, `$17` now.
pub const INSERT_DEAL: &str = "INSERT INTO deals (id, tenant_id, name, description, kind, \
     value, target, product_ids, category_ids, code, starts_at, ends_at, max_uses, \
     max_uses_per_customer, max_units, uses, units_sold, active, created_at, updated_at) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, 0, 0, \
     $16, $17, $17)";
/// `$1`… the deal's fields in column order, `$14` active, `$15` now,
/// `$16` deal.
pub const UPDATE_DEAL: &str = "UPDATE deals SET name = $1, description = $2, kind = $3, \
     value = $4, target = $5, product_ids = $6, category_ids = $7, code = $8, starts_at = $9, \
     ends_at = $10, max_uses = $11, max_uses_per_customer = $12, max_units = $13, active = $14, \
     updated_at = $15 WHERE id = $16";
/// `$1` deal.
pub const DELETE_DEAL: &str = "DELETE FROM deals WHERE tenant_id = $1 AND id = $2";

// ---------------------------------------------------------------- outbox

/// `$1` id, `$2` tenant, `$3` topic, `$4` subject, `$5` payload, `$6` at.
pub const INSERT_EVENT: &str = "INSERT INTO outbox_events (id, tenant_id, topic, subject, \
     payload, created_at) VALUES ($1, $2, $3, $4, $5, $6)";

// ---------------------------------------------------------------- sales

/// A span's sales per currency ([`SalesRow`](super::SalesRow)), read from
/// the counters the store keeps (`order_sales_slots`, kept by triggers
/// with every write of an order; see its migration): `$1` tenant, `$2`/`$3`
/// the span as quarter-hour slots (their first second since the epoch,
/// start inclusive, end exclusive). Cancelled orders are left out; revenue
/// counts the paid ones (paid or later) less their refunds. A day is 96
/// slots times the shop's currencies times, on PostgreSQL, the buckets
/// used in each slot (one per committing connection, at most 64;
/// migration `…110_order_sales_buckets`), whatever the day's number of
/// orders.
pub const ORDER_SALES: &str = "SELECT currency, CAST(SUM(orders) AS BIGINT) AS orders, \
     CAST(SUM(revenue) AS BIGINT) AS revenue FROM order_sales_slots \
     WHERE tenant_id = $1 AND slot >= $2 AND slot < $3 \
     GROUP BY currency HAVING SUM(orders) <> 0 ORDER BY currency";

/// `$1` tenant, `$2` status, `$3` the cap: at most that many entries of
/// the `(tenant_id, status, id)` index are read.
pub const COUNT_ORDERS_UPTO: &str = "SELECT count(*) FROM (SELECT 1 FROM orders \
     WHERE tenant_id = $1 AND status = $2 LIMIT $3) AS capped";
