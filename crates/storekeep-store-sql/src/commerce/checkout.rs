//! The statements that decide a checkout, one text for both databases so
//! the conditions they enforce are written once. Bind them in the order
//! of their `$N`.

/// Reserves a line's units if enough are available at the quoted price:
/// `$1` variant, `$2` tenant, `$3` units, `$4` quoted unit price. Returns
/// the variant's product; no row means short of stock or repriced.
pub const RESERVE_STOCK: &str = "UPDATE variants SET reserved = reserved + $3 \
     WHERE id = $1 AND tenant_id = $2 AND on_hand - reserved >= $3 AND price = $4 \
     RETURNING product_id";

/// A variant's `(price, on_hand - reserved)`, to tell why a reservation
/// failed: `$1` variant, `$2` tenant.
pub const STOCK_OF: &str =
    "SELECT price, on_hand - reserved FROM variants WHERE id = $1 AND tenant_id = $2";

/// Claims one use of a deal and `$3` units under it while the deal is
/// active, inside its window at `$4`, and under its global caps: `$1` deal,
/// `$2` tenant. Returns the per-customer cap (`NULL`: none); no row means
/// the deal is unavailable.
pub const CLAIM_DEAL: &str = "UPDATE deals SET uses = uses + 1, units_sold = units_sold + $3 \
     WHERE id = $1 AND tenant_id = $2 AND active \
     AND (starts_at IS NULL OR starts_at <= $4) AND (ends_at IS NULL OR ends_at > $4) \
     AND (max_uses IS NULL OR uses < max_uses) \
     AND (max_units IS NULL OR units_sold + $3 <= max_units) \
     RETURNING max_uses_per_customer";
