//! [`impl_commerce_store!`](crate::impl_commerce_store): the
//! `CommerceStore` impl both backends share, written once, and the names
//! it uses (public only for the macro).

pub use async_trait::async_trait;
pub use chrono::{DateTime, Utc};
pub use storekeep_domain::{
    AuditContext, Cart, CartId, CartItemId, CartPatch, CheckoutOutcome, CurrencySales, Deal,
    DealId, EventId, NewCart, NewDeal, NewOrder, NewPayment, NewRefund, Order, OrderDetail,
    OrderFilter, OrderId, OrderStatus, OutboxEvent, Page, PageRequest, PaymentId, PaymentOutcome,
    SaleVariant, Settlement, TenantId, UnmatchedPayment, VariantId,
};
pub use storekeep_store::{CartToPrice, CommerceStore, StoreResult, TransitionActor};

/// Implements `CommerceStore` for a backend's store type by calling, for
/// each method, the function of the same name in the backend's
/// `commerce/<aggregate>.rs` (the store first, then the method's
/// arguments): `carts`, `checkout`, `orders`, `refunds`, `payments`,
/// `deals`; creating, reading and patching a cart, and the outbox, are
/// this crate's generic `commerce::carts` and `commerce::outbox` with
/// `$backend` (the backend's `Backend` impl). The paths are the invoking crate's
/// (`crate::commerce::…`), so both backends keep the same file and
/// function names, and the trait's signatures are repeated once here
/// rather than once per backend.
#[macro_export]
#[expect(
    clippy::crate_in_macro_def,
    reason = "`crate::commerce` is meant to be the invoking backend's folder"
)]
macro_rules! impl_commerce_store {
    ($store:ty, $backend:ty) => {
        const _: () = {
            use $crate::commerce::store::*;

            #[async_trait]
            impl CommerceStore for $store {
                async fn create_cart(&self, tenant: TenantId, cart: &NewCart) -> StoreResult<Cart> {
                    $crate::commerce::carts::create_cart::<$backend>(&self.pool, tenant, cart).await
                }
                async fn cart(&self, tenant: TenantId, id: CartId) -> StoreResult<Cart> {
                    $crate::commerce::carts::cart::<$backend>(&self.pool, tenant, id).await
                }
                async fn update_cart(
                    &self,
                    tenant: TenantId,
                    id: CartId,
                    patch: &CartPatch,
                ) -> StoreResult<Cart> {
                    $crate::commerce::carts::update_cart::<$backend>(&self.pool, tenant, id, patch)
                        .await
                }
                async fn add_cart_item(
                    &self,
                    tenant: TenantId,
                    cart: CartId,
                    variant: VariantId,
                    quantity: i64,
                ) -> StoreResult<Cart> {
                    crate::commerce::carts::add_cart_item(self, tenant, cart, variant, quantity)
                        .await
                }
                async fn set_cart_item(
                    &self,
                    tenant: TenantId,
                    cart: CartId,
                    item: CartItemId,
                    quantity: i64,
                ) -> StoreResult<Cart> {
                    crate::commerce::carts::set_cart_item(self, tenant, cart, item, quantity).await
                }
                async fn remove_cart_item(
                    &self,
                    tenant: TenantId,
                    cart: CartId,
                    item: CartItemId,
                ) -> StoreResult<Cart> {
                    crate::commerce::carts::remove_cart_item(self, tenant, cart, item).await
                }
                async fn sale_variants(
                    &self,
                    tenant: TenantId,
                    variants: &[VariantId],
                ) -> StoreResult<Vec<SaleVariant>> {
                    crate::commerce::carts::sale_variants(self, tenant, variants).await
                }
                async fn cart_to_price(
                    &self,
                    tenant: TenantId,
                    id: CartId,
                    at: DateTime<Utc>,
                ) -> StoreResult<CartToPrice> {
                    crate::commerce::carts::cart_to_price(self, tenant, id, at).await
                }
                async fn checkout(
                    &self,
                    tenant: TenantId,
                    order: &NewOrder,
                ) -> StoreResult<CheckoutOutcome> {
                    crate::commerce::checkout::checkout(self, tenant, order).await
                }
                async fn order(&self, tenant: TenantId, id: OrderId) -> StoreResult<OrderDetail> {
                    crate::commerce::orders::order(self, tenant, id).await
                }
                async fn list_orders(
                    &self,
                    tenant: TenantId,
                    filter: &OrderFilter,
                    page: &PageRequest,
                ) -> StoreResult<Page<OrderDetail>> {
                    crate::commerce::orders::list_orders(self, tenant, filter, page).await
                }
                async fn count_orders_upto(
                    &self,
                    tenant: TenantId,
                    status: OrderStatus,
                    cap: i64,
                ) -> StoreResult<i64> {
                    crate::commerce::orders::count_orders_upto(self, tenant, status, cap).await
                }
                async fn order_sales(
                    &self,
                    tenant: TenantId,
                    from: DateTime<Utc>,
                    to: DateTime<Utc>,
                ) -> StoreResult<Vec<CurrencySales>> {
                    crate::commerce::orders::order_sales(self, tenant, from, to).await
                }
                async fn transition_order(
                    &self,
                    tenant: TenantId,
                    id: OrderId,
                    to: OrderStatus,
                    by: &TransitionActor<'_>,
                ) -> StoreResult<OrderDetail> {
                    crate::commerce::orders::transition_order(self, tenant, id, to, by).await
                }
                async fn refund_order(
                    &self,
                    tenant: TenantId,
                    id: OrderId,
                    refund: &NewRefund,
                    by: &TransitionActor<'_>,
                ) -> StoreResult<OrderDetail> {
                    crate::commerce::refunds::refund_order(self, tenant, id, refund, by).await
                }
                async fn expire_orders(&self, now: DateTime<Utc>, limit: i64) -> StoreResult<u64> {
                    crate::commerce::orders::expire_orders(self, now, limit).await
                }
                async fn create_payment(
                    &self,
                    tenant: TenantId,
                    order: OrderId,
                    payment: &NewPayment,
                ) -> StoreResult<OrderDetail> {
                    crate::commerce::payments::create_payment(self, tenant, order, payment).await
                }
                async fn payment_by_reference(
                    &self,
                    provider: &str,
                    reference: &str,
                ) -> StoreResult<(TenantId, OrderId)> {
                    crate::commerce::payments::payment_by_reference(self, provider, reference).await
                }
                async fn settle_payment(
                    &self,
                    provider: &str,
                    reference: &str,
                    event_id: &str,
                    outcome: PaymentOutcome,
                    by: &TransitionActor<'_>,
                ) -> StoreResult<Settlement> {
                    crate::commerce::payments::settle_payment(
                        self, provider, reference, event_id, outcome, by,
                    )
                    .await
                }
                async fn list_unmatched_payments(
                    &self,
                    tenant: TenantId,
                    page: &PageRequest,
                ) -> StoreResult<Page<UnmatchedPayment>> {
                    $crate::commerce::unmatched::list::<$backend>(&self.pool, tenant, page).await
                }
                async fn count_unmatched_payments_upto(
                    &self,
                    tenant: TenantId,
                    cap: i64,
                ) -> StoreResult<i64> {
                    $crate::commerce::unmatched::count_upto::<$backend>(&self.pool, tenant, cap)
                        .await
                }
                async fn resolve_unmatched_payment(
                    &self,
                    tenant: TenantId,
                    id: PaymentId,
                    note: &str,
                    ctx: &AuditContext,
                ) -> StoreResult<UnmatchedPayment> {
                    $crate::commerce::unmatched::resolve::<$backend>(
                        &self.pool, tenant, id, note, ctx,
                    )
                    .await
                }
                async fn create_deal(
                    &self,
                    tenant: TenantId,
                    deal: &NewDeal,
                    audit: &AuditContext,
                ) -> StoreResult<Deal> {
                    crate::commerce::deals::create_deal(self, tenant, deal, audit).await
                }
                async fn update_deal(
                    &self,
                    tenant: TenantId,
                    deal: &NewDeal,
                    audit: &AuditContext,
                ) -> StoreResult<Deal> {
                    crate::commerce::deals::update_deal(self, tenant, deal, audit).await
                }
                async fn delete_deal(
                    &self,
                    tenant: TenantId,
                    id: DealId,
                    audit: &AuditContext,
                ) -> StoreResult<()> {
                    crate::commerce::deals::delete_deal(self, tenant, id, audit).await
                }
                async fn deal(&self, tenant: TenantId, id: DealId) -> StoreResult<Deal> {
                    crate::commerce::deals::deal(self, tenant, id).await
                }
                async fn deal_by_code(&self, tenant: TenantId, code: &str) -> StoreResult<Deal> {
                    crate::commerce::deals::deal_by_code(self, tenant, code).await
                }
                async fn list_deals(
                    &self,
                    tenant: TenantId,
                    page: &PageRequest,
                ) -> StoreResult<Page<Deal>> {
                    crate::commerce::deals::list_deals(self, tenant, page).await
                }
                async fn deals_between(
                    &self,
                    tenant: TenantId,
                    now: DateTime<Utc>,
                    until: DateTime<Utc>,
                ) -> StoreResult<Vec<Deal>> {
                    crate::commerce::deals::deals_between(self, tenant, now, until).await
                }
                async fn list_events(
                    &self,
                    tenant: TenantId,
                    topic: Option<&str>,
                    page: &PageRequest,
                ) -> StoreResult<Page<OutboxEvent>> {
                    $crate::commerce::outbox::list_events::<$backend>(
                        &self.pool, tenant, topic, page,
                    )
                    .await
                }
                async fn event(&self, tenant: TenantId, id: EventId) -> StoreResult<OutboxEvent> {
                    $crate::commerce::outbox::event::<$backend>(&self.pool, tenant, id).await
                }
                async fn dispatch_events(&self, limit: i64) -> StoreResult<usize> {
                    $crate::commerce::outbox::dispatch::<$backend>(&self.pool, limit).await
                }
            }
        };
    };
}
