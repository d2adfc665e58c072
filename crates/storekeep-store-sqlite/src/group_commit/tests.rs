//! What only SQLite has: the group-commit batch and its throughput. Every
//! backend-neutral behaviour (checkout, orders, payments, refunds, deals,
//! carts, the races) is in the contract suite, `storekeep-store-tests`, run
//! on both databases.

use std::collections::BTreeMap;

use chrono::{Duration, Utc};
use storekeep_domain::{
    AuditContext, Cart, CartId, CartStatus, CheckoutOutcome, Deal, DealId, DealKind, DealTarget,
    Handle, Money, NewCart, NewDeal, NewOrder, NewPayment, NewProduct, NewTenant, NewVariant,
    OrderDetail, OrderId, PaymentId, PricingContext, PricingLine, Product, ProductStatus, Sku,
    Slug, TenantId, TenantSettings, Variant, VariantId, price,
};
use storekeep_store::{CatalogStore, CommerceStore, Store, StoreError, now};

use crate::SqliteStore;

struct Shop {
    store: SqliteStore,
    tenant: TenantId,
    dir: std::path::PathBuf,
}

impl Drop for Shop {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn ctx() -> AuditContext {
    AuditContext {
        actor: "staff:test".into(),
        ip: None,
        request_id: None,
    }
}

async fn shop() -> Shop {
    let dir = std::env::temp_dir().join(format!("storekeep-commerce-{}", uuid::Uuid::now_v7()));
    std::fs::create_dir_all(&dir).unwrap();
    let url = format!("sqlite://{}", dir.join("db.sqlite").display());
    let store = SqliteStore::connect(
        &url,
        storekeep_store::PoolConfig {
            max_connections: 8,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    store.migrate().await.unwrap();
    let tenant = store
        .create_tenant(
            &NewTenant {
                slug: Slug::parse("shop").unwrap(),
                name: "Shop".into(),
                plan: None,
                domains: vec![],
                settings: TenantSettings::default(),
            },
            &ctx(),
        )
        .await
        .unwrap()
        .id;
    Shop { store, tenant, dir }
}

impl Shop {
    async fn product(&self, handle: &str, variants: &[(&str, i64, i64)]) -> Product {
        self.store
            .create_product(
                self.tenant,
                &NewProduct {
                    handle: Handle::parse(handle).unwrap(),
                    title: handle.into(),
                    description: String::new(),
                    status: ProductStatus::Active,
                    tags: vec![],
                    categories: vec![],
                    variants: variants
                        .iter()
                        .map(|(sku, price, on_hand)| NewVariant {
                            sku: Sku::parse(sku).unwrap(),
                            title: (*sku).into(),
                            options: BTreeMap::new(),
                            price: Money {
                                amount: *price,
                                currency: "USD".into(),
                            },
                            compare_at_price: None,
                            on_hand: *on_hand,
                        })
                        .collect(),
                },
                1000,
                &ctx(),
            )
            .await
            .unwrap()
    }

    async fn cart(&self, items: &[(&Variant, i64)]) -> Cart {
        let cart = self
            .store
            .create_cart(
                self.tenant,
                &NewCart {
                    id: CartId::new(),
                    customer_id: None,
                    token_hash: "t".into(),
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

    async fn order_for(&self, cart: &Cart, deals: &[Deal], who: &str) -> NewOrder {
        let variants: Vec<VariantId> = cart.items.iter().map(|i| i.variant_id).collect();
        let found = self
            .store
            .sale_variants(self.tenant, &variants)
            .await
            .unwrap();
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
                    categories: vec![],
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
            Utc::now(),
        );
        NewOrder {
            id: OrderId::new(),
            cart_id: cart.id,
            customer_id: None,
            customer_key: who.into(),
            idempotency_key: uuid::Uuid::now_v7().to_string(),
            request_hash: "hash".into(),
            currency: "USD".into(),
            email_sealed: "sealed".into(),
            email_index: "index".into(),
            address_sealed: "address".into(),
            country: "US".into(),
            region: None,
            shipping_method: "standard".into(),
            payment: NewPayment {
                id: PaymentId::new(),
                provider: "test".into(),
                reference: uuid::Uuid::now_v7().to_string(),
                amount: quote.total,
            },
            expires_at: Utc::now() + Duration::minutes(30),
            actor: "guest".into(),
            rentals: Vec::new(),
            quote,
        }
    }

    async fn variant(&self, p: &Product, i: usize) -> Variant {
        self.store
            .product(self.tenant, p.id)
            .await
            .unwrap()
            .variants
            .remove(i)
    }

    /// Every product's summary matches its variants.
    async fn assert_summaries(&self) {
        let wrong: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM products p WHERE available != coalesce((SELECT \
             sum(max(on_hand - reserved, 0)) FROM variants v WHERE v.product_id = p.id), 0)",
        )
        .fetch_one(&self.store.pool)
        .await
        .unwrap();
        assert_eq!(wrong, 0, "product summaries out of date");
    }

    async fn count(&self, table: &str) -> i64 {
        sqlx::query_scalar(&format!("SELECT count(*) FROM {table}"))
            .fetch_one(&self.store.pool)
            .await
            .unwrap()
    }

    async fn available(&self, p: &Product) -> i64 {
        sqlx::query_scalar("SELECT available FROM products WHERE id = ?")
            .bind(p.id.to_string())
            .fetch_one(&self.store.pool)
            .await
            .unwrap()
    }
}

fn created(o: CheckoutOutcome) -> OrderDetail {
    match o {
        CheckoutOutcome::Created(d) => *d,
        other => panic!("expected Created, got {other:?}"),
    }
}

/// Many checkouts in one batch see each other's claims exactly as if
/// they had run one after another.
#[tokio::test]
async fn one_batch_behaves_like_a_sequence() {
    let s = shop().await;
    let p = s.product("p", &[("A", 1000, 3), ("B", 250, 10)]).await;
    let (a, b) = (&p.variants[0], &p.variants[1]);
    let deal = s
        .store
        .create_deal(
            s.tenant,
            &NewDeal {
                id: DealId::new(),
                name: "once each".into(),
                description: String::new(),
                kind: DealKind::Fixed,
                value: 10,
                target: DealTarget::Products,
                product_ids: vec![p.id],
                category_ids: vec![],
                code: None,
                starts_at: None,
                ends_at: None,
                max_uses: None,
                max_uses_per_customer: Some(1),
                max_units: None,
                active: true,
            },
            &ctx(),
        )
        .await
        .unwrap();
    let one = s.order_for(&s.cart(&[(a, 1)]).await, &[], "email:x").await;
    let mut reused = one.clone();
    reused.request_hash = "different".into();
    let mut same_cart = one.clone();
    same_cart.id = OrderId::new();
    same_cart.idempotency_key = "other key".into();
    let multi = s
        .order_for(&s.cart(&[(a, 2), (b, 1)]).await, &[], "email:x")
        .await;
    let short = s
        .order_for(&s.cart(&[(b, 1), (a, 1)]).await, &[], "email:x")
        .await;
    let single = s.order_for(&s.cart(&[(b, 1)]).await, &[], "email:x").await;
    let deals = std::slice::from_ref(&deal);
    let first_use = s.order_for(&s.cart(&[(b, 1)]).await, deals, "user:9").await;
    let second_use = s.order_for(&s.cart(&[(b, 1)]).await, deals, "user:9").await;
    assert_eq!(second_use.quote.deals.len(), 1);
    let results = crate::group_commit::run_together(
        &s.store.pool,
        [
            &one,
            &one,
            &reused,
            &same_cart,
            &multi,
            &short,
            &single,
            &first_use,
            &second_use,
        ]
        .into_iter()
        .map(|o| (s.tenant, o.clone()))
        .collect(),
    )
    .await;
    let mut results = results.into_iter().map(Result::unwrap);
    let first = created(results.next().unwrap());
    match results.next().unwrap() {
        CheckoutOutcome::Replayed(d) => assert_eq!(*d, first),
        other => panic!("{other:?}"),
    }
    assert!(matches!(results.next(), Some(CheckoutOutcome::KeyReused)));
    assert!(matches!(results.next(), Some(CheckoutOutcome::CartClosed)));
    created(results.next().unwrap());
    match results.next().unwrap() {
        CheckoutOutcome::ShortOfStock(lines) => {
            assert_eq!(lines.len(), 1);
            assert_eq!((lines[0].variant_id, lines[0].available), (a.id, 0));
        }
        other => panic!("{other:?}"),
    }
    created(results.next().unwrap());
    created(results.next().unwrap());
    assert!(matches!(
        results.next(),
        Some(CheckoutOutcome::DealUnavailable(_))
    ));

    assert_eq!(s.variant(&p, 0).await.inventory.reserved, 3);
    assert_eq!(s.variant(&p, 1).await.inventory.reserved, 3);
    assert_eq!(s.available(&p).await, 7);
    s.assert_summaries().await;
    assert_eq!(s.count("orders").await, 4);
    assert_eq!(s.count("idempotency_keys").await, 4);
    assert_eq!(s.count("deal_uses").await, 1);
    assert_eq!(s.count("outbox_events").await, 8);
    assert_eq!(
        s.count("carts WHERE status = 'checked_out'").await,
        4,
        "carts closed"
    );
    let stored = s.store.deal(s.tenant, deal.id).await.unwrap();
    assert_eq!(stored.uses, 1);
    for o in [&one, &multi, &single, &first_use] {
        let d = s.store.order(s.tenant, o.id).await.unwrap();
        assert_eq!(d.order.lines.len(), o.quote.lines.len());
        assert_eq!(d.payments.len(), 1);
        assert_eq!(d.transitions.len(), 1);
    }
    // Replaying now reads the committed order.
    match s.store.checkout(s.tenant, &one).await.unwrap() {
        CheckoutOutcome::Replayed(d) => assert_eq!(*d, first),
        other => panic!("{other:?}"),
    }
}

/// An order whose rows cannot be written fails alone.
#[tokio::test]
async fn a_bad_order_does_not_fail_its_batch() {
    let s = shop().await;
    let p = s.product("p", &[("A", 1000, 10)]).await;
    let a = &p.variants[0];
    let good = s.order_for(&s.cart(&[(a, 1)]).await, &[], "email:x").await;
    let mut bad = s.order_for(&s.cart(&[(a, 1)]).await, &[], "email:x").await;
    bad.payment.reference = good.payment.reference.clone();
    let also_good = s.order_for(&s.cart(&[(a, 2)]).await, &[], "email:x").await;
    let results = crate::group_commit::run_together(
        &s.store.pool,
        vec![
            (s.tenant, good.clone()),
            (s.tenant, bad.clone()),
            (s.tenant, also_good.clone()),
        ],
    )
    .await;
    assert!(matches!(results[0], Ok(CheckoutOutcome::Created(_))));
    assert!(matches!(
        results[1],
        Err(StoreError::Conflict { field: "reference" })
    ));
    assert!(matches!(results[2], Ok(CheckoutOutcome::Created(_))));
    assert_eq!(s.variant(&p, 0).await.inventory.reserved, 3);
    assert_eq!(s.count("orders").await, 2);
    assert_eq!(
        s.store.cart(s.tenant, bad.cart_id).await.unwrap().status,
        CartStatus::Open
    );
    s.assert_summaries().await;
}

/// Checkout throughput of the group-commit path alone (`CLIENTS`
/// concurrent callers, `CHECKOUTS` one-line orders):
/// `cargo test -p storekeep-store-sqlite --release -- --ignored --nocapture checkout_throughput`
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore]
async fn checkout_throughput() {
    let env = |k: &str, d: usize| {
        std::env::var(k)
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(d)
    };
    let (n, clients) = (env("CHECKOUTS", 20_000), env("CLIENTS", 64));
    let s = shop().await;
    let p = s.product("p", &[("A", 100, 1_000_000)]).await;
    let v = &p.variants[0];
    let template = {
        let cart = s.cart(&[(v, 1)]).await;
        s.order_for(&cart, &[], "email:x").await
    };
    // Carts written directly, in one transaction. Client k checks out
    // carts k, k + clients, …, so carts in flight are recent ones (as
    // when shoppers check out carts they just filled); order, payment
    // and key ids are made at checkout, as the service does.
    let mut carts: Vec<Vec<CartId>> = vec![Vec::new(); clients];
    let mut tx = s.store.pool.begin().await.unwrap();
    for i in 0..n {
        let cart = CartId::new();
        sqlx::query(
            "INSERT INTO carts (id, tenant_id, token_hash, status, created_at, updated_at) \
             VALUES (?, ?, 't', 'open', ?, ?)",
        )
        .bind(cart.to_string())
        .bind(s.tenant.to_string())
        .bind(now())
        .bind(now())
        .execute(&mut *tx)
        .await
        .unwrap();
        carts[i % clients].push(cart);
    }
    tx.commit().await.unwrap();
    let started = std::time::Instant::now();
    let mut tasks = Vec::new();
    for mine in carts {
        let store = s.store.clone();
        let tenant = s.tenant;
        let template = template.clone();
        tasks.push(tokio::spawn(async move {
            for cart in mine {
                let mut o = template.clone();
                o.id = OrderId::new();
                o.cart_id = cart;
                o.idempotency_key = uuid::Uuid::now_v7().to_string();
                o.payment.id = PaymentId::new();
                o.payment.reference = uuid::Uuid::now_v7().to_string();
                o.expires_at = Utc::now() + Duration::minutes(30);
                created(store.checkout(tenant, &o).await.unwrap());
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let secs = started.elapsed().as_secs_f64();
    println!(
        "{n} checkouts by {clients} clients in {secs:.2}s: {:.0}/s ({:.0} µs each)",
        n as f64 / secs,
        secs * 1e6 / n as f64
    );
    assert_eq!(s.count("orders").await, n as i64);
    s.assert_summaries().await;
}
