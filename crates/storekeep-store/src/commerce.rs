//! Carts, checkout, orders, payments, deals and the outbox: the store's
//! share of selling. Every operation is scoped to one tenant; another
//! tenant's row is `NotFound`.
//!
//! Rules every backend keeps (the tests check them on both databases):
//! - checkout is one transaction: idempotency key, stock reservations,
//!   deal usage, order, lines, first transition, payment attempt, outbox
//!   events and the cart's closing are written together or not at all;
//!   any outcome but `Created` writes nothing;
//! - stock is reserved by a conditional update (`on_hand - reserved >= q`)
//!   so no interleaving can oversell; deal caps likewise;
//! - every status change is a conditional update on the current status, so
//!   racing actors (staff, webhooks, the expiry sweep) change an order once;
//! - every order, payment and status change appends an outbox event in
//!   its transaction.
//!
//! Stock: checkout reserves (`reserved += q`); payment turns the
//! reservation into a sale (`on_hand -= q, reserved -= q`, with a ledger
//! entry); cancelling or expiring an unpaid order releases it
//! (`reserved -= q`); a refund may put units back (`on_hand += q`, ledger).
//! Deal usage is given back when an order is cancelled or expires.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use storekeep_domain::{
    AuditContext, Cart, CartId, CartItemId, CartPatch, CheckoutOutcome, CurrencySales, Deal,
    DealId, EventId, NewCart, NewDeal, NewOrder, NewPayment, NewRefund, OrderDetail, OrderFilter,
    OrderId, OrderStatus, OutboxEvent, Page, PageRequest, PaymentId, PaymentOutcome, SaleVariant,
    Settlement, TenantId, UnmatchedPayment, VariantId,
};

use crate::StoreResult;

/// A cart with what pricing it reads ([`CommerceStore::cart_to_price`]).
#[derive(Debug, Clone)]
pub struct CartToPrice {
    pub cart: Cart,
    /// The sale view of the cart's lines' variants (unknown ones left out).
    pub variants: Vec<SaleVariant>,
    /// The shop's deals live at the time asked for.
    pub deals: Vec<Deal>,
}

/// Who moved an order, for its transition history.
#[derive(Debug, Clone)]
pub struct TransitionActor<'a> {
    /// `staff:{id}`, `customer:{id}`, `guest`, `system`, `provider:{name}`.
    pub actor: &'a str,
    pub reason: Option<&'a str>,
    /// Staff actions are also written to the audit log.
    pub audit: Option<&'a AuditContext>,
}

#[async_trait]
pub trait CommerceStore: Send + Sync {
    // --- carts

    async fn create_cart(&self, tenant: TenantId, cart: &NewCart) -> StoreResult<Cart>;
    async fn cart(&self, tenant: TenantId, id: CartId) -> StoreResult<Cart>;
    /// `Invalid("the cart is checked out")` once the cart became an order.
    async fn update_cart(
        &self,
        tenant: TenantId,
        id: CartId,
        patch: &CartPatch,
    ) -> StoreResult<Cart>;
    /// Adds `quantity` to the cart's line for the variant (creating it).
    /// `UnknownReference { field: "variant_id" }` for a variant not in the
    /// shop; `Invalid` when the line would exceed `MAX_LINE_QUANTITY` or
    /// the cart `MAX_CART_LINES`, or the cart is checked out.
    async fn add_cart_item(
        &self,
        tenant: TenantId,
        cart: CartId,
        variant: VariantId,
        quantity: i64,
    ) -> StoreResult<Cart>;
    /// Sets a line's quantity (≥ 1).
    async fn set_cart_item(
        &self,
        tenant: TenantId,
        cart: CartId,
        item: CartItemId,
        quantity: i64,
    ) -> StoreResult<Cart>;
    async fn remove_cart_item(
        &self,
        tenant: TenantId,
        cart: CartId,
        item: CartItemId,
    ) -> StoreResult<Cart>;
    /// These variants with their product's title, status and categories
    /// (one query: pricing runs on every cart read and checkout); unknown
    /// variants are left out.
    async fn sale_variants(
        &self,
        tenant: TenantId,
        variants: &[VariantId],
    ) -> StoreResult<Vec<SaleVariant>>;

    /// The cart, its variants' sale view and the shop's deals live at
    /// `at`: what pricing the cart reads, as `cart`, `sale_variants` and
    /// `deals_between(at, at)` answer them. PostgreSQL reads all three in
    /// one statement (one snapshot, one round trip instead of four: it
    /// runs before every checkout).
    async fn cart_to_price(
        &self,
        tenant: TenantId,
        id: CartId,
        at: DateTime<Utc>,
    ) -> StoreResult<CartToPrice>;

    // --- checkout

    /// Creates the order as described in the module docs. A key seen
    /// before returns `Replayed` (same `request_hash`) or `KeyReused`.
    async fn checkout(&self, tenant: TenantId, order: &NewOrder) -> StoreResult<CheckoutOutcome>;

    // --- orders

    async fn order(&self, tenant: TenantId, id: OrderId) -> StoreResult<OrderDetail>;
    /// Newest first; the cursor is the last order id seen.
    async fn list_orders(
        &self,
        tenant: TenantId,
        filter: &OrderFilter,
        page: &PageRequest,
    ) -> StoreResult<Page<OrderDetail>>;
    /// How many of `tenant`'s orders are in `status`, counted up to `cap`
    /// (an index range of at most `cap` entries: the console's bounded
    /// figures, never a count of the whole table).
    async fn count_orders_upto(
        &self,
        tenant: TenantId,
        status: OrderStatus,
        cap: i64,
    ) -> StoreResult<i64>;
    /// What `tenant` sold from `from` up to (not including) `to`, per
    /// currency (see `CurrencySales`), to the quarter hour: the orders
    /// placed in the quarter hours that begin in the span, read from the
    /// counters the store keeps per shop, currency and quarter hour (a
    /// day is 96 of them, whatever its number of orders).
    async fn order_sales(
        &self,
        tenant: TenantId,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> StoreResult<Vec<CurrencySales>>;
    /// Moves the order to `to` if its current status is one of
    /// `OrderStatus::sources(to)`, else `Invalid` (409). Applies the stock
    /// effect of the move (see module docs). Not for `Refunded`: use
    /// `refund_order`.
    async fn transition_order(
        &self,
        tenant: TenantId,
        id: OrderId,
        to: OrderStatus,
        by: &TransitionActor<'_>,
    ) -> StoreResult<OrderDetail>;
    /// Records a refund of `amount` (≤ total − refunded so far) and puts
    /// the given units back into stock (≤ units not yet restocked per
    /// line); a refund that completes the total moves the order to
    /// `refunded`. Only paid, fulfilled or delivered orders (`Invalid`).
    async fn refund_order(
        &self,
        tenant: TenantId,
        id: OrderId,
        refund: &NewRefund,
        by: &TransitionActor<'_>,
    ) -> StoreResult<OrderDetail>;
    /// Cancels up to `limit` unpaid orders of every shop whose `expires_at`
    /// has passed (actor `system`, reason `payment timeout`), releasing
    /// stock and deal usage. Returns how many it cancelled. Safe to run on
    /// several nodes at once.
    async fn expire_orders(&self, now: DateTime<Utc>, limit: i64) -> StoreResult<u64>;

    // --- payments

    /// A new attempt for an unpaid order with no attempt still pending
    /// (`Invalid` otherwise: two attempts in flight could both be collected).
    async fn create_payment(
        &self,
        tenant: TenantId,
        order: OrderId,
        payment: &NewPayment,
    ) -> StoreResult<OrderDetail>;
    /// The shop and order of a provider's payment reference.
    async fn payment_by_reference(
        &self,
        provider: &str,
        reference: &str,
    ) -> StoreResult<(TenantId, OrderId)>;
    /// Settles a pending payment. `event_id` (the provider's event id) is
    /// recorded so a replayed event is `Duplicate` and changes nothing. A
    /// confirmation moves a `pending_payment` order to paid (once); on an
    /// order no longer awaiting payment the payment is still recorded as
    /// confirmed and an `payment.unmatched` event is written for staff.
    async fn settle_payment(
        &self,
        provider: &str,
        reference: &str,
        event_id: &str,
        outcome: PaymentOutcome,
        by: &TransitionActor<'_>,
    ) -> StoreResult<Settlement>;
    /// The shop's open unmatched payments (confirmed for an order no longer
    /// awaiting payment, not yet marked resolved), newest first, read from
    /// a partial index of the open ones only.
    async fn list_unmatched_payments(
        &self,
        tenant: TenantId,
        page: &PageRequest,
    ) -> StoreResult<Page<UnmatchedPayment>>;
    /// How many open unmatched payments `tenant` has, counted up to `cap`.
    async fn count_unmatched_payments_upto(&self, tenant: TenantId, cap: i64) -> StoreResult<i64>;
    /// Marks an unmatched payment resolved with staff's note, audited
    /// `payment.resolve` in the shop's chain. `NotFound` for a payment of
    /// another shop or one that paid its order; `Invalid` (409) when it is
    /// already resolved.
    async fn resolve_unmatched_payment(
        &self,
        tenant: TenantId,
        id: PaymentId,
        note: &str,
        ctx: &AuditContext,
    ) -> StoreResult<UnmatchedPayment>;

    // --- deals

    /// A taken coupon code is `Conflict { field: "code" }`.
    async fn create_deal(
        &self,
        tenant: TenantId,
        deal: &NewDeal,
        audit: &AuditContext,
    ) -> StoreResult<Deal>;
    /// Replaces the deal's definition (its usage counters stay).
    async fn update_deal(
        &self,
        tenant: TenantId,
        deal: &NewDeal,
        audit: &AuditContext,
    ) -> StoreResult<Deal>;
    async fn delete_deal(
        &self,
        tenant: TenantId,
        id: DealId,
        audit: &AuditContext,
    ) -> StoreResult<()>;
    async fn deal(&self, tenant: TenantId, id: DealId) -> StoreResult<Deal>;
    async fn deal_by_code(&self, tenant: TenantId, code: &str) -> StoreResult<Deal>;
    /// Newest first.
    async fn list_deals(&self, tenant: TenantId, page: &PageRequest) -> StoreResult<Page<Deal>>;
    /// Active deals that have not ended by `now` and start before `until`
    /// (automatic and coupon), for pricing and the public listing.
    async fn deals_between(
        &self,
        tenant: TenantId,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> StoreResult<Vec<Deal>>;

    // --- outbox

    /// The shop's outbox events in the order they were written (oldest
    /// first), optionally only one topic.
    async fn list_events(
        &self,
        tenant: TenantId,
        topic: Option<&str>,
        page: &PageRequest,
    ) -> StoreResult<Page<OutboxEvent>>;

    /// One of the shop's events.
    async fn event(&self, tenant: TenantId, id: EventId) -> StoreResult<OutboxEvent>;

    /// Hands up to `limit` events not yet dispatched (oldest first) to
    /// their destinations — the jobs `rules::delivery::delivery_jobs`
    /// names — and marks them dispatched, in one transaction; how many
    /// events. Nodes dispatching at once take disjoint events.
    async fn dispatch_events(&self, limit: i64) -> StoreResult<usize>;
}

/// The outbox events both backends write, so payloads are identical.
pub mod events {
    use serde_json::{Value, json};
    use storekeep_domain::{NewOrder, NewRefund, OrderId, OrderStatus};

    pub fn order_created(order: &NewOrder) -> (&'static str, Value) {
        (
            "order.created",
            json!({
                "order_id": order.id,
                "status": OrderStatus::PendingPayment.as_str(),
                "total": order.quote.total,
                "currency": order.currency,
                "customer_id": order.customer_id,
                "lines": order.quote.lines.iter().map(|l| json!({
                    "variant_id": l.variant_id, "sku": l.sku, "quantity": l.quantity, "total": l.total
                })).collect::<Vec<_>>(),
            }),
        )
    }

    /// `order.paid`, `order.fulfilled`, `order.delivered`,
    /// `order.cancelled`, `order.refunded`.
    pub fn order_moved(
        order: OrderId,
        from: OrderStatus,
        to: OrderStatus,
        actor: &str,
        reason: Option<&str>,
    ) -> (String, Value) {
        (
            format!("order.{}", to.as_str()),
            json!({
                "order_id": order, "from": from.as_str(), "to": to.as_str(),
                "actor": actor, "reason": reason,
            }),
        )
    }

    pub fn refund_created(order: OrderId, refund: &NewRefund) -> (&'static str, Value) {
        (
            "refund.created",
            json!({
                "order_id": order, "refund_id": refund.id, "amount": refund.amount,
                "restock": refund.restock,
            }),
        )
    }

    /// `payment.created`, `payment.confirmed`, `payment.declined`,
    /// `payment.unmatched` (confirmed for an order no longer awaiting it).
    pub fn payment(
        what: &str,
        order: OrderId,
        payment: impl serde::Serialize,
        provider: &str,
        amount: i64,
    ) -> (String, Value) {
        (
            format!("payment.{what}"),
            json!({
                "order_id": order, "payment_id": payment, "provider": provider, "amount": amount,
            }),
        )
    }
}
