//! Crash safety: the server is killed with SIGKILL (`kill -9`: no drain,
//! no flush) at random moments while guests check out and staff pay and
//! cancel orders, and restarted on the same database. After every restart
//! what was acknowledged is there, stock and deal caps add up exactly, the
//! audit chain verifies, and checkouts retried with their Idempotency-Key
//! return the order that was made or make exactly one. (A kill during a
//! bulk import: `crash_import.rs`.)
//!
//! `STOREKEEP_TEST_CRASH_KILLS` sets the number of kills (default 5; the
//! release run sets 50), `STOREKEEP_TEST_CRASH_SEED` replays a run's
//! random choices (the seed is printed). The figures go to stderr as
//! `crash-figures …` lines.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use reqwest::{Method, RequestBuilder};
use serde_json::{Value, json};
use storekeep_test_support::TestDb;
use tokio::sync::mpsc;

use crate::crash_support::{Api, audit_intact, call, expect, seed, serve, shop_with_owner};

/// Guests checking out at once.
const CLIENTS: usize = 8;
/// The products: (SKU, price, units on hand). The first runs out within a
/// round or two (and comes back as staff cancel orders), so checkouts short
/// of stock race the kills too; the others last the long run.
const PRODUCTS: [(&str, i64, i64); 3] = [
    ("CRASH-SCARCE", 2500, 20),
    ("CRASH-PLENTY", 900, 1_000_000),
    ("CRASH-SOME", 4000, 5_000),
];
/// The deal's caps: orders and units (on the scarce and the middle product).
const MAX_USES: i64 = 30;
const MAX_UNITS: i64 = 60;

fn kills() -> usize {
    std::env::var("STOREKEEP_TEST_CRASH_KILLS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5)
}

fn checkout_body(email: &str) -> Value {
    json!({
        "email": email,
        "shipping_address": {
            "name": "Ada Lovelace", "line1": "1 Analytical Way", "city": "San Francisco",
            "region": "CA", "postal_code": "94105", "country": "US"
        },
        "shipping_method": "standard",
        "payment_provider": "manual"
    })
}

/// A checkout as the guest sent it, to send again.
#[derive(Debug, Clone)]
struct Attempt {
    key: String,
    cart: String,
    token: String,
    body: Value,
}

impl Attempt {
    fn send(&self, api: &Api) -> RequestBuilder {
        api.shop(
            Method::POST,
            &format!("/api/v1/store/carts/{}/checkout", self.cart),
        )
        .header("x-cart-token", &self.token)
        .header("idempotency-key", &self.key)
        .json(&self.body)
    }
}

/// What the parts of an order a buyer was told must still say.
fn essentials(order: &Value) -> Value {
    let lines: Vec<Value> = order["lines"]
        .as_array()
        .expect("an order has lines")
        .iter()
        .map(|l| {
            json!([
                l["variant_id"],
                l["sku"],
                l["quantity"],
                l["unit_price"],
                l["discount"],
                l["total"],
                l["deal_id"]
            ])
        })
        .collect();
    json!({
        "id": order["id"], "lines": lines, "subtotal": order["subtotal"],
        "discount": order["discount"], "shipping": order["shipping"], "tax": order["tax"],
        "total": order["total"], "email": order["email"],
    })
}

#[derive(Debug, Default)]
struct GuestLog {
    acked: Vec<(Attempt, Value)>,
    refused: usize,
    in_flight: Option<Attempt>,
    unexpected: Vec<String>,
}

/// A guest who fills carts and checks out until the server stops
/// answering; every acknowledged order goes to `orders` for staff.
async fn guest(
    api: Api,
    variants: Arc<Vec<String>>,
    mut rng: StdRng,
    orders: mpsc::UnboundedSender<String>,
) -> GuestLog {
    let mut log = GuestLog::default();
    loop {
        let lines = rng.random_range(1..=2);
        let first = rng.random_range(0..variants.len());
        let items: Vec<Value> = (0..lines)
            .map(|i| {
                json!({"variant_id": variants[(first + i) % variants.len()],
                       "quantity": rng.random_range(1..=3)})
            })
            .collect();
        let req = api
            .shop(Method::POST, "/api/v1/store/carts")
            .json(&json!({ "items": items }));
        // Killed while making a cart: nothing to check.
        let Some((status, cart)) = call(req).await else {
            return log;
        };
        if status != 201 {
            log.unexpected.push(format!("cart {status}: {cart}"));
            continue;
        }
        let attempt = Attempt {
            key: uuid::Uuid::now_v7().to_string(),
            cart: cart["cart"]["id"].as_str().unwrap().to_owned(),
            token: cart["cart"]["token"].as_str().unwrap().to_owned(),
            body: checkout_body(&format!("guest{}@example.com", rng.random_range(0..1000))),
        };
        match call(attempt.send(&api)).await {
            None => {
                log.in_flight = Some(attempt);
                return log;
            }
            Some((201, b)) => {
                let _ = orders.send(b["order"]["id"].as_str().unwrap().to_owned());
                log.acked.push((attempt, b["order"].clone()));
            }
            // Short of stock or the deal used up: refused, nothing written.
            Some((409, _)) => log.refused += 1,
            Some((status, b)) => log.unexpected.push(format!("checkout {status}: {b}")),
        }
    }
}

#[derive(Debug, Default)]
struct StaffLog {
    /// (order, action) acknowledged.
    done: Vec<(String, &'static str)>,
    in_flight: Option<(String, &'static str)>,
    unexpected: Vec<String>,
}

/// The status an action moves an order to.
fn target(action: &str) -> &'static str {
    match action {
        "mark-paid" => "paid",
        "cancel" => "cancelled",
        _ => unreachable!("only these two"),
    }
}

/// Staff who pay about a third of the new orders and cancel another
/// third, as they come in.
async fn staff(api: Api, mut orders: mpsc::UnboundedReceiver<String>, mut rng: StdRng) -> StaffLog {
    let mut log = StaffLog::default();
    while let Some(id) = orders.recv().await {
        let action = match rng.random_range(0..3) {
            0 => "mark-paid",
            1 => "cancel",
            _ => continue,
        };
        let req = api.admin(Method::POST, &format!("/api/v1/admin/orders/{id}/{action}"));
        match call(req).await {
            None => {
                log.in_flight = Some((id, action));
                return log;
            }
            Some((200, _)) => log.done.push((id, action)),
            Some((status, b)) => log.unexpected.push(format!("{action} {id}: {status} {b}")),
        }
    }
    log
}

/// Every order of the shop, by id.
async fn all_orders(api: &Api) -> HashMap<String, Value> {
    let mut all = HashMap::new();
    let mut after = String::new();
    loop {
        let page = expect(
            api.admin(
                Method::GET,
                &format!("/api/v1/admin/orders?limit=200{after}"),
            ),
            200,
            "listing orders",
        )
        .await;
        for o in page["items"].as_array().unwrap() {
            all.insert(o["id"].as_str().unwrap().to_owned(), o.clone());
        }
        match page["next_cursor"].as_str() {
            Some(c) => after = format!("&after={c}"),
            None => return all,
        }
    }
}

/// What the test knows the shop holds, across kills.
struct Books {
    /// Acknowledged orders: id → (the checkout to retry, what it said).
    acked: HashMap<String, (Attempt, Value)>,
    /// The status each order must have: `pending_payment` unless staff's
    /// action on it was acknowledged (or retried after the kill).
    status: HashMap<String, &'static str>,
    /// variant id → (product id, units on hand at the start).
    initial: HashMap<String, (String, i64)>,
    deal: String,
}

impl Books {
    fn ack(&mut self, attempt: Attempt, order: Value) {
        let id = order["id"].as_str().unwrap().to_owned();
        self.status.entry(id.clone()).or_insert("pending_payment");
        self.acked.insert(id, (attempt, order));
    }
}

/// Everything that must hold after a restart; returns how many orders
/// the shop has.
async fn check(api: &Api, books: &Books, db: &TestDb, round: usize) -> usize {
    let orders = all_orders(api).await;
    // Every acknowledged order is there as the buyer was told, and there is
    // no order nobody was told of (in-flight checkouts were retried).
    for (id, (_, told)) in &books.acked {
        let found = orders
            .get(id)
            .unwrap_or_else(|| panic!("round {round}: acknowledged order {id} is missing"));
        assert_eq!(
            essentials(found),
            essentials(told),
            "round {round}: order {id}"
        );
        assert_eq!(
            found["status"], books.status[id],
            "round {round}: status of {id}"
        );
    }
    let unknown: Vec<&String> = orders
        .keys()
        .filter(|id| !books.acked.contains_key(*id))
        .collect();
    assert!(
        unknown.is_empty(),
        "round {round}: orders nobody was told of: {unknown:?}"
    );

    // Stock: payment turns a reservation into a sale (on hand goes down),
    // cancelling releases it, nothing else moves it (no refunds here).
    let mut sold: HashMap<&str, i64> = HashMap::new();
    let mut reserved: HashMap<&str, i64> = HashMap::new();
    let (mut uses, mut units) = (0, 0);
    for o in orders.values() {
        let status = o["status"].as_str().unwrap();
        let mut with_deal = false;
        for l in o["lines"].as_array().unwrap() {
            let (v, q) = (
                l["variant_id"].as_str().unwrap(),
                l["quantity"].as_i64().unwrap(),
            );
            match status {
                "pending_payment" => *reserved.entry(v).or_default() += q,
                "paid" => *sold.entry(v).or_default() += q,
                "cancelled" => {}
                other => panic!("round {round}: no one moved an order to {other}"),
            }
            if status != "cancelled" && l["deal_id"] == books.deal.as_str() {
                with_deal = true;
                units += q;
            }
        }
        uses += i64::from(with_deal);
    }
    for (variant, (product, on_hand)) in &books.initial {
        let p = expect(
            api.admin(Method::GET, &format!("/api/v1/admin/products/{product}")),
            200,
            "reading a product",
        )
        .await;
        let inv = &p["product"]["variants"][0]["inventory"];
        let (now, held) = (
            inv["on_hand"].as_i64().unwrap(),
            inv["reserved"].as_i64().unwrap(),
        );
        let sku = p["product"]["variants"][0]["sku"].clone();
        assert_eq!(
            now,
            on_hand - sold.get(variant.as_str()).unwrap_or(&0),
            "round {round}: {sku} on hand = initial − units paid for"
        );
        assert_eq!(
            held,
            *reserved.get(variant.as_str()).unwrap_or(&0),
            "round {round}: {sku} reserved = units of unpaid orders"
        );
        assert!(
            held <= now,
            "round {round}: {sku} oversold: {held} reserved of {now}"
        );
    }
    // The deal: its counters match the orders that hold it, within its caps.
    let d = expect(
        api.admin(Method::GET, &format!("/api/v1/admin/deals/{}", books.deal)),
        200,
        "reading the deal",
    )
    .await;
    assert_eq!(d["deal"]["uses"], uses, "round {round}: deal uses");
    assert_eq!(d["deal"]["units_sold"], units, "round {round}: deal units");
    assert!(
        uses <= MAX_USES && units <= MAX_UNITS,
        "round {round}: cap exceeded: {d}"
    );

    audit_intact(db);
    orders.len()
}

/// Settings, products and the capped deal; returns the starting books.
async fn set_up(api: &Api) -> (Books, Vec<String>) {
    expect(
        api.admin(Method::PATCH, "/api/v1/admin/settings").json(&json!({"settings": {
            "currency": "USD",
            "shipping_methods": [{"code": "standard", "name": "Standard", "price": 500}],
            "tax_rates": [{"country": "US", "region": "CA", "rate_bp": 725, "name": "California"}],
            // No order expires during the test: only staff move them.
            "payment_timeout_secs": 86_400
        }})),
        200,
        "settings",
    )
    .await;
    let mut initial = HashMap::new();
    let mut variants = Vec::new();
    let mut products = Vec::new();
    for (sku, price, stock) in PRODUCTS {
        let p = expect(
            api.admin(Method::POST, "/api/v1/admin/products")
                .json(&json!({"product": {
                    "title": format!("Product {sku}"), "status": "active",
                    "variants": [{"sku": sku, "inventory": stock,
                                  "price": {"amount": price, "currency": "USD"}}]
                }})),
            201,
            "creating a product",
        )
        .await;
        let product = p["product"]["id"].as_str().unwrap().to_owned();
        let variant = p["product"]["variants"][0]["id"]
            .as_str()
            .unwrap()
            .to_owned();
        initial.insert(variant.clone(), (product.clone(), stock));
        variants.push(variant);
        products.push(product);
    }
    let deal = expect(
        api.admin(Method::POST, "/api/v1/admin/deals")
            .json(&json!({"deal": {
                "name": "Crash sale", "percent_off": 10, "applies_to": "products",
                "product_ids": [products[0], products[2]],
                "max_uses": MAX_USES, "max_units": MAX_UNITS
            }})),
        201,
        "creating the deal",
    )
    .await;
    let books = Books {
        acked: HashMap::new(),
        status: HashMap::new(),
        initial,
        deal: deal["deal"]["id"].as_str().unwrap().to_owned(),
    };
    (books, variants)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn kill_9_under_checkout_load_loses_nothing_acknowledged() {
    let seed = seed();
    let kills = kills();
    eprintln!("crash: seed {seed} (STOREKEEP_TEST_CRASH_SEED={seed} replays it), {kills} kills");
    let mut rng = StdRng::seed_from_u64(seed);
    let began = Instant::now();
    let db = TestDb::new().await;
    shop_with_owner(&db);
    let (mut server, _) = serve(&db);
    let mut api = Api::new(&server);
    api.log_in().await;
    let (mut books, variants) = set_up(&api).await;
    let variants = Arc::new(variants);

    let (mut refused, mut in_flight_total, mut committed_total) = (0, 0, 0);
    let mut ready_ms = Vec::new();
    for round in 1..=kills {
        // Load: guests check out, staff pay and cancel.
        let (tx, rx) = mpsc::unbounded_channel();
        let guests: Vec<_> = (0..CLIENTS)
            .map(|_| {
                let g = guest(
                    api.clone(),
                    variants.clone(),
                    StdRng::seed_from_u64(rng.random()),
                    tx.clone(),
                );
                tokio::spawn(g)
            })
            .collect();
        drop(tx);
        let clerk = tokio::spawn(staff(api.clone(), rx, StdRng::seed_from_u64(rng.random())));

        // kill -9 at a random moment.
        let delay = Duration::from_millis(rng.random_range(300..1500));
        tokio::time::sleep(delay).await;
        let signal = tokio::task::spawn_blocking(move || server.kill9())
            .await
            .unwrap();
        assert_eq!(
            signal,
            Some(9),
            "round {round}: the server was running until killed"
        );

        let mut in_flight = Vec::new();
        let mut unexpected = Vec::new();
        let mut acked_now = 0;
        for g in guests {
            let log = g.await.expect("guest task");
            acked_now += log.acked.len();
            refused += log.refused;
            unexpected.extend(log.unexpected);
            in_flight.extend(log.in_flight);
            for (attempt, order) in log.acked {
                books.ack(attempt, order);
            }
        }
        let staff_log = clerk.await.expect("staff task");
        unexpected.extend(staff_log.unexpected);
        assert!(unexpected.is_empty(), "round {round}: {unexpected:?}");
        for (id, action) in &staff_log.done {
            books.status.insert(id.clone(), target(action));
        }

        // Restart on the same database.
        let (restarted, ready_in) = serve(&db);
        server = restarted;
        ready_ms.push(ready_in.as_millis());
        api = api.on(&server);
        let (status, ready) = call(api.client.get(server.url("/api/health/ready")))
            .await
            .expect("the restarted server answers");
        assert_eq!(
            status, 200,
            "round {round}: ready after the restart: {ready}"
        );

        // Checkouts that got no answer, retried with their key: the order
        // made before the kill, or one made now, or a refusal that made
        // nothing.
        in_flight_total += in_flight.len();
        let mut committed_unanswered = 0;
        for attempt in &in_flight {
            let resp = attempt
                .send(&api)
                .send()
                .await
                .expect("the restarted server answers");
            let replayed = resp.headers().contains_key("idempotent-replayed");
            let status = resp.status().as_u16();
            let b: Value = resp.json().await.unwrap();
            match status {
                201 => {
                    committed_unanswered += usize::from(replayed);
                    books.ack(attempt.clone(), b["order"].clone());
                }
                409 => refused += 1,
                _ => panic!("round {round}: retried checkout {status}: {b}"),
            }
        }
        committed_total += committed_unanswered;
        // The staff action that got no answer, retried: done now or before.
        if let Some((id, action)) = &staff_log.in_flight {
            let req = api.admin(Method::POST, &format!("/api/v1/admin/orders/{id}/{action}"));
            let (status, b) = call(req).await.expect("the restarted server answers");
            // 409: it was done before the kill (only this action was ever
            // asked of this order); `check` sees the status either way.
            assert!(
                status == 200 || status == 409,
                "round {round}: retried {action}: {status} {b}"
            );
            books.status.insert(id.clone(), target(action));
        }

        let before = check(&api, &books, &db, round).await;

        // Acknowledged checkouts retried with their key: the same order,
        // nothing new.
        let ids: Vec<&String> = books.acked.keys().collect();
        for _ in 0..3.min(ids.len()) {
            let id = ids[rng.random_range(0..ids.len())];
            let (attempt, _) = &books.acked[id];
            let resp = attempt.send(&api).send().await.unwrap();
            assert_eq!(resp.status(), 201, "round {round}: retry of {id}");
            assert_eq!(
                resp.headers()
                    .get("idempotent-replayed")
                    .and_then(|v| v.to_str().ok()),
                Some("true"),
                "round {round}: a replay of {id}"
            );
            let b: Value = resp.json().await.unwrap();
            assert_eq!(
                &b["order"]["id"],
                id.as_str(),
                "round {round}: the same order"
            );
        }
        assert_eq!(
            all_orders(&api).await.len(),
            before,
            "round {round}: retries made nothing"
        );

        eprintln!(
            "crash-figures round={round} killed_after_ms={} acknowledged={acked_now} \
             checkouts_in_flight={} of_which_committed={committed_unanswered} \
             staff_actions_in_flight={} ready_after_restart_ms={}",
            delay.as_millis(),
            in_flight.len(),
            usize::from(staff_log.in_flight.is_some()),
            ready_in.as_millis()
        );
    }
    let mean_ready = ready_ms.iter().sum::<u128>() / ready_ms.len().max(1) as u128;
    eprintln!(
        "crash-figures total kills={kills} orders_acknowledged={} refused={refused} \
         checkouts_in_flight_at_kill={in_flight_total} \
         of_which_committed_before_the_kill={committed_total} \
         ready_after_restart_ms_mean={mean_ready} ready_after_restart_ms_max={} \
         wall_s={:.1} seed={seed}",
        books.acked.len(),
        ready_ms.iter().max().unwrap_or(&0),
        began.elapsed().as_secs_f64()
    );
    assert!(
        books.acked.len() >= kills,
        "the load went through between kills: {} orders",
        books.acked.len()
    );
}
