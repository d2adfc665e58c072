//! Builders the contract tests share: shops, products, carts, orders, deals
//! and accounts, made through `Arc<dyn Store>` only, and the checks many
//! tests end with (the audit chain verifies, stock summaries agree).

use std::collections::{BTreeMap, HashSet};
use std::future::Future;
use std::sync::Arc;

use chrono::Duration;
use storekeep_domain::{
    AuditContext, AuditEntry, Cart, CartId, CheckoutOutcome, Deal, DealId, DealKind, DealTarget,
    Handle, Inventory, Money, NewCart, NewDeal, NewOrder, NewPayment, NewProduct, NewTenant,
    NewVariant, Order, OrderDetail, OrderFilter, OrderId, OutboxEvent, Page, PageRequest,
    PaymentId, PaymentOutcome, PricingContext, PricingLine, Product, ProductQuery, ProductStatus,
    Settlement, Sku, Slug, TenantId, TenantSettings, UserId, UserKind, UserRecord, Variant,
    VariantId, price,
};
use storekeep_store::audit::verify_chain;
use storekeep_store::{Store, StoreResult, TransitionActor, now};
pub use storekeep_store_tests::{POOL_SIZE, TestStore, on_postgres};

/// A fresh, migrated store for one test.
pub async fn connect() -> TestStore {
    TestStore::new().await
}

/// The staff member every audited test write is made by.
pub fn ctx() -> AuditContext {
    AuditContext {
        actor: "staff:test".into(),
        ip: Some("192.0.2.1".into()),
        request_id: Some("req-test".into()),
    }
}

pub fn staff(audit: &AuditContext) -> TransitionActor<'_> {
    TransitionActor {
        actor: "staff:test",
        reason: None,
        audit: Some(audit),
    }
}

pub fn provider() -> TransitionActor<'static> {
    TransitionActor {
        actor: "provider:test",
        reason: None,
        audit: None,
    }
}

pub fn page(limit: u32, after: Option<String>) -> PageRequest {
    PageRequest::new(Some(limit), after).expect("a valid page request")
}

/// Every item of a cursor-paged list, asserting each page's size.
pub async fn all_pages<T>(
    limit: u32,
    mut fetch: impl AsyncFnMut(PageRequest) -> StoreResult<Page<T>>,
) -> Vec<T> {
    let mut items = Vec::new();
    let mut after = None;
    loop {
        let got = fetch(page(limit, after)).await.expect("a page");
        assert!(got.items.len() <= limit as usize, "a page over its limit");
        if got.next_cursor.is_some() {
            assert_eq!(
                got.items.len(),
                limit as usize,
                "a short page with a cursor"
            );
        }
        items.extend(got.items);
        match got.next_cursor {
            Some(next) => after = Some(next),
            None => return items,
        }
    }
}

/// Runs `n` copies of `task` at once (each released by one barrier, on
/// the multi-threaded runtime) and returns their results in index order.
pub async fn race<T, F, Fut>(n: usize, task: F) -> Vec<T>
where
    F: Fn(usize) -> Fut,
    Fut: Future<Output = T> + Send + 'static,
    T: Send + 'static,
{
    let start = Arc::new(tokio::sync::Barrier::new(n));
    let tasks: Vec<_> = (0..n)
        .map(|i| {
            let start = start.clone();
            let run = task(i);
            tokio::spawn(async move {
                start.wait().await;
                run.await
            })
        })
        .collect();
    let mut out = Vec::with_capacity(n);
    for t in tasks {
        out.push(t.await.expect("a racing task panicked"));
    }
    out
}

/// One scope's whole audit chain, checked link by link, and its recorded
/// head agreeing with the last entry.
pub async fn chain(store: &dyn Store, scope: &str) -> Vec<AuditEntry> {
    let mut entries: Vec<AuditEntry> = Vec::new();
    loop {
        let after = entries.last().map_or(0, |e| e.seq);
        let more = store.audit_chain(scope, after, 100).await.unwrap();
        if more.is_empty() {
            break;
        }
        entries.extend(more);
    }
    assert_eq!(verify_chain(&entries), Ok(entries.len()), "{scope}'s chain");
    let head = store.audit_head(scope).await.unwrap();
    assert_eq!(
        head,
        entries.last().map(|e| (e.seq, e.hash.clone())),
        "{scope}'s head"
    );
    entries
}

pub async fn actions(store: &dyn Store, scope: &str) -> Vec<String> {
    chain(store, scope)
        .await
        .into_iter()
        .map(|e| e.action)
        .collect()
}

pub fn new_tenant(slug: &str) -> NewTenant {
    NewTenant {
        slug: Slug::parse(slug).unwrap(),
        name: format!("Shop {slug}"),
        plan: None,
        domains: vec![],
        settings: TenantSettings::default(),
    }
}

pub fn usd(amount: i64) -> Money {
    Money {
        amount,
        currency: "USD".into(),
    }
}

pub fn new_variant(sku: &str, price: i64, on_hand: i64) -> NewVariant {
    NewVariant {
        sku: Sku::parse(sku).unwrap(),
        title: sku.into(),
        options: BTreeMap::new(),
        price: usd(price),
        compare_at_price: None,
        on_hand,
    }
}

/// An active product; each variant is `(sku, price, on_hand)`.
pub fn new_product(handle: &str, variants: &[(&str, i64, i64)]) -> NewProduct {
    NewProduct {
        handle: Handle::parse(handle).unwrap(),
        title: handle.replace('-', " "),
        description: String::new(),
        status: ProductStatus::Active,
        tags: vec![],
        categories: vec![],
        variants: variants
            .iter()
            .map(|(sku, price, on_hand)| new_variant(sku, *price, *on_hand))
            .collect(),
    }
}

/// An active order-wide deal of 10 % with no caps; tests change what they need.
pub fn new_deal(name: &str) -> NewDeal {
    NewDeal {
        id: DealId::new(),
        name: name.into(),
        description: String::new(),
        kind: DealKind::Percentage,
        value: 10,
        target: DealTarget::Order,
        product_ids: vec![],
        category_ids: vec![],
        code: None,
        starts_at: None,
        ends_at: None,
        max_uses: None,
        max_uses_per_customer: None,
        max_units: None,
        active: true,
    }
}

/// An account as the services make it (sealed fields are opaque here).
pub fn account(tenant: Option<TenantId>, kind: UserKind, email_index: &str) -> UserRecord {
    let at = now();
    UserRecord {
        id: UserId::new(),
        tenant_id: tenant,
        kind,
        role: (kind == UserKind::Staff).then_some(storekeep_domain::Role::Admin),
        email_index: email_index.into(),
        email_sealed: format!("sealed:{email_index}"),
        name_sealed: None,
        phone_sealed: None,
        password_hash: "hash-1".into(),
        totp_sealed: None,
        totp_pending_sealed: None,
        totp_last_step: None,
        created_at: at,
        updated_at: at,
    }
}

pub fn created(o: CheckoutOutcome) -> OrderDetail {
    match o {
        CheckoutOutcome::Created(d) => *d,
        other => panic!("expected Created, got {other:?}"),
    }
}

/// One shop (tenant) of the store under test.
#[derive(Clone)]
pub struct Shop {
    pub store: Arc<dyn Store>,
    pub tenant: TenantId,
}

pub async fn shop(db: &TestStore, slug: &str) -> Shop {
    let tenant = db
        .store
        .create_tenant(&new_tenant(slug), &ctx())
        .await
        .unwrap();
    Shop {
        store: db.store.clone(),
        tenant: tenant.id,
    }
}

impl Shop {
    pub fn scope(&self) -> String {
        self.tenant.to_string()
    }

    /// An active product; each variant is `(sku, price, on_hand)`.
    pub async fn product(&self, handle: &str, variants: &[(&str, i64, i64)]) -> Product {
        self.store
            .create_product(self.tenant, &new_product(handle, variants), 1000, &ctx())
            .await
            .unwrap()
    }

    /// A top-level category.
    pub async fn category(&self, handle: &str) -> storekeep_domain::Category {
        self.store
            .create_category(
                self.tenant,
                &storekeep_domain::NewCategory {
                    parent_id: None,
                    handle: Handle::parse(handle).unwrap(),
                    name: handle.into(),
                    position: 0,
                },
                &ctx(),
            )
            .await
            .unwrap()
    }

    /// A variant's stock as stored now.
    pub async fn inventory(&self, v: &Variant) -> Inventory {
        self.store
            .product(self.tenant, v.product_id)
            .await
            .unwrap()
            .variants
            .into_iter()
            .find(|x| x.id == v.id)
            .expect("the variant")
            .inventory
    }

    /// A product's available stock: what its summary must agree with.
    pub async fn available(&self, p: &Product) -> i64 {
        let p = self.store.product(self.tenant, p.id).await.unwrap();
        p.variants.iter().map(|v| v.inventory.available).sum()
    }

    pub async fn cart(&self, items: &[(&Variant, i64)]) -> Cart {
        let cart = self
            .store
            .create_cart(
                self.tenant,
                &NewCart {
                    id: CartId::new(),
                    customer_id: None,
                    token_hash: "token-hash".into(),
                },
            )
            .await
            .unwrap();
        for (v, q) in items {
            self.store
                .add_cart_item(self.tenant, cart.id, v.id, *q)
                .await
                .unwrap();
        }
        self.store.cart(self.tenant, cart.id).await.unwrap()
    }

    /// The order a checkout of `cart` asks for, priced under `deals` (a
    /// coupon among them is the one entered) for customer `who`.
    pub async fn order_for(&self, cart: &Cart, deals: &[Deal], who: &str) -> NewOrder {
        let ids: Vec<VariantId> = cart.items.iter().map(|i| i.variant_id).collect();
        let found = self.store.sale_variants(self.tenant, &ids).await.unwrap();
        let lines: Vec<PricingLine> = cart
            .items
            .iter()
            .map(|i| {
                let v = found.iter().find(|v| v.variant_id == i.variant_id).unwrap();
                PricingLine {
                    item_id: Some(i.id),
                    variant_id: v.variant_id,
                    product_id: v.product_id,
                    sku: v.sku.clone(),
                    title: v.variant_title.clone(),
                    unit_price: v.price,
                    quantity: i.quantity,
                    categories: v.categories.clone(),
                }
            })
            .collect();
        let quote = price(
            &lines,
            &PricingContext {
                deals,
                coupon: deals.iter().find(|d| d.code.is_some()),
                ..Default::default()
            },
            chrono::Utc::now(),
        );
        NewOrder {
            id: OrderId::new(),
            cart_id: cart.id,
            customer_id: None,
            customer_key: who.into(),
            idempotency_key: uuid::Uuid::now_v7().to_string(),
            request_hash: "hash".into(),
            currency: "USD".into(),
            email_sealed: format!("sealed:{who}"),
            email_index: who.into(),
            address_sealed: "sealed-address".into(),
            country: "US".into(),
            region: None,
            shipping_method: "standard".into(),
            payment: NewPayment {
                id: PaymentId::new(),
                provider: "test".into(),
                reference: uuid::Uuid::now_v7().to_string(),
                amount: quote.total,
            },
            expires_at: now() + Duration::minutes(30),
            actor: "guest".into(),
            rentals: Vec::new(),
            quote,
        }
    }

    /// A new cart of `items` and the order for it, not yet checked out.
    pub async fn order(&self, items: &[(&Variant, i64)]) -> NewOrder {
        let cart = self.cart(items).await;
        self.order_for(&cart, &[], "email:x").await
    }

    pub async fn checkout(&self, order: &NewOrder) -> CheckoutOutcome {
        self.store.checkout(self.tenant, order).await.unwrap()
    }

    /// An order of `items`, created.
    pub async fn place(&self, items: &[(&Variant, i64)]) -> OrderDetail {
        let order = self.order(items).await;
        created(self.checkout(&order).await)
    }

    /// The provider confirms the order's first payment attempt.
    pub async fn confirm(&self, order: &OrderDetail, event: &str) -> StoreResult<Settlement> {
        self.store
            .settle_payment(
                "test",
                &order.payments[0].reference,
                event,
                PaymentOutcome::Confirmed,
                &provider(),
            )
            .await
    }

    /// An order of `items`, created and paid.
    pub async fn paid(&self, items: &[(&Variant, i64)]) -> OrderDetail {
        let order = self.place(items).await;
        assert_eq!(
            self.confirm(&order, &format!("paid-{}", order.order.id))
                .await
                .unwrap(),
            Settlement::Applied { order_paid: true }
        );
        self.store.order(self.tenant, order.order.id).await.unwrap()
    }

    pub async fn deal(&self, new: NewDeal) -> Deal {
        self.store
            .create_deal(self.tenant, &new, &ctx())
            .await
            .unwrap()
    }

    pub async fn orders(&self) -> Vec<Order> {
        all_pages(50, async |p| {
            self.store
                .list_orders(self.tenant, &OrderFilter::default(), &p)
                .await
        })
        .await
        .into_iter()
        .map(|detail| detail.order)
        .collect()
    }

    pub async fn events(&self, topic: Option<&str>) -> Vec<OutboxEvent> {
        all_pages(50, async |p| {
            self.store.list_events(self.tenant, topic, &p).await
        })
        .await
    }

    /// Every outbox topic, oldest first.
    pub async fn topics(&self) -> Vec<String> {
        self.events(None)
            .await
            .into_iter()
            .map(|e| e.topic)
            .collect()
    }

    /// The shop's audit actions, oldest first, its chain verified.
    pub async fn actions(&self) -> Vec<String> {
        actions(self.store.as_ref(), &self.scope()).await
    }

    /// The stock summaries lists filter on agree with the variants: a
    /// product is listed as in stock exactly when a variant has stock
    /// available.
    pub async fn assert_stock_listing(&self) {
        let all = self
            .store
            .products_after(self.tenant, None, 1000)
            .await
            .unwrap();
        let in_stock: HashSet<_> = self
            .store
            .list_products(
                self.tenant,
                &ProductQuery {
                    in_stock: true,
                    limit: 200,
                    ..Default::default()
                },
            )
            .await
            .unwrap()
            .items
            .into_iter()
            .map(|p| p.id)
            .collect();
        for p in &all {
            let available: i64 = p.variants.iter().map(|v| v.inventory.available).sum();
            assert_eq!(
                in_stock.contains(&p.id),
                available > 0,
                "product {} has {available} available",
                p.handle
            );
        }
    }
}
