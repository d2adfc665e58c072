//! Helpers for the tenant isolation sweep: a shop seeded through the API
//! with one of every object some route takes an id of, the credentials a
//! caller of that shop can hold, and everything distinctive about it (so a
//! response can be searched for a leak).

use std::collections::BTreeSet;

use reqwest::Method;
use serde_json::{Value, json};
use storekeep_test_support::{TestApp, spawn_app_with};

use crate::catalog_support::{body, create, create_category, multipart, png, upload};
use crate::commerce_support::{cart_with, checkout_body, set_settings, settings};
use crate::identity::{PASSWORD, admin, customer_token, register};

/// The plan both shops are on: rate limits high enough for a sweep of
/// hundreds of requests from one address.
pub const PLAN: &str = "sweep";

/// Every scope, for API keys and OAuth clients that may do anything.
pub const ALL_SCOPES: &[&str] = &[
    "settings:read",
    "settings:write",
    "staff:read",
    "staff:write",
    "credentials:read",
    "credentials:write",
    "audit:read",
    "catalog:read",
    "catalog:write",
    "orders:read",
    "orders:write",
    "customers:read",
    "customers:erase",
];

/// One seeded shop: the ids of its objects, its credentials and its
/// distinctive strings.
pub struct Seeded {
    pub slug: String,
    pub domain: String,
    pub owner: String,
    pub owner_session: String,
    /// A staff member's account id.
    pub clerk_id: String,
    pub api_key: String,
    pub api_key_id: String,
    pub oauth_token: String,
    pub oauth_client_id: String,
    pub customer: String,
    pub customer_id: String,
    pub customer_email: String,
    pub product: String,
    pub handle: String,
    pub variant: String,
    pub image: String,
    pub category: String,
    pub deal: String,
    pub order: String,
    /// The `Idempotency-Key` the order was placed with.
    pub checkout_key: String,
    pub cart: String,
    pub cart_token: String,
    pub cart_item: String,
    pub webhook: String,
    /// A background job of the shop (in a queue no worker runs, so it
    /// stays as seeded).
    pub job: String,
    pub rental_plan: String,
    pub rental_unit: String,
    /// Names, emails, SKUs, codes, tokens: strings only this shop has.
    pub secrets: BTreeSet<String>,
    /// The customer's rental contract.
    pub contract: String,
    /// A payment confirmed for an order cancelled meanwhile (unmatched).
    pub payment: String,
}

pub async fn create_sweep_plan(app: &TestApp) {
    let limits = json!({
        "api_requests_per_minute": 100_000, "auth_requests_per_minute": 100_000,
        "search_requests_per_minute": 100_000, "admin_requests_per_minute": 100_000
    });
    crate::catalog_support::create_plan(app, PLAN, limits).await;
}

fn created(status: reqwest::StatusCode, b: &Value, what: &str) {
    assert_eq!(status, 201, "creating {what}: {b}");
}

async fn post(app: &TestApp, slug: &str, token: &str, path: &str, payload: Value) -> Value {
    let resp = admin(app, slug, token, Method::POST, path)
        .json(&payload)
        .send()
        .await
        .unwrap();
    let status = resp.status();
    let b = body(resp).await;
    created(status, &b, path);
    b
}

fn s(v: &Value) -> String {
    v.as_str()
        .unwrap_or_else(|| panic!("a string: {v}"))
        .to_owned()
}

/// Seeds shop `slug`; `word` (capitalised) marks every name it gets.
pub async fn seed(app: &TestApp, slug: &str, word: &str) -> Seeded {
    let upper = word.to_uppercase();
    let domain = format!("shop.{slug}.example");
    // The tenant, on the roomy plan, with a custom domain.
    let resp = app
        .platform(Method::POST, "/api/v1/platform/tenants")
        .json(&json!({"tenant": {
            "slug": slug, "name": format!("{word} Holdings"), "plan": PLAN, "domains": [domain]
        }}))
        .send()
        .await
        .unwrap();
    let status = resp.status();
    let tenant = body(resp).await;
    created(status, &tenant, "tenant");
    let tenant_id: storekeep_domain::TenantId = tenant["tenant"]["id"]
        .as_str()
        .or(tenant["id"].as_str())
        .expect("the tenant's id")
        .parse()
        .unwrap();
    let job = app
        .state
        .services
        .jobs
        .enqueue(
            storekeep_domain::NewJob::new("report.build", json!({}))
                .tenant(tenant_id)
                .queue("isolation-sweep"),
        )
        .await
        .unwrap()
        .to_string();
    let owner_email = format!("owner@{slug}.example");
    crate::identity::cli_staff(app, slug, &owner_email, "owner").await;
    let owner = crate::identity::token(app, Some(slug), &owner_email, "staff").await;
    set_settings(app, slug, &owner, &settings(1800)).await;

    let sessions = body(
        admin(app, slug, &owner, Method::GET, "/api/v1/auth/sessions")
            .send()
            .await
            .unwrap(),
    )
    .await;
    let owner_session = sessions["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["current"] == true)
        .map(|x| s(&x["id"]))
        .expect("the current session is listed");

    let clerk_email = format!("clerk@{slug}.example");
    let clerk = post(
        app,
        slug,
        &owner,
        "/api/v1/admin/staff",
        json!({"staff": {"email": clerk_email, "password": PASSWORD,
                         "name": format!("{word} Clerk"), "role": "staff"}}),
    )
    .await;

    let key = post(
        app,
        slug,
        &owner,
        "/api/v1/admin/api-keys",
        json!({"api_key": {"name": format!("{word} ERP"), "scopes": ALL_SCOPES}}),
    )
    .await;
    let client = post(
        app,
        slug,
        &owner,
        "/api/v1/admin/oauth-clients",
        json!({"oauth_client": {"name": format!("{word} Warehouse"), "scopes": ALL_SCOPES}}),
    )
    .await;
    let client_id = s(&client["oauth_client"]["client_id"]);
    let client_secret = s(&client["client_secret"]);
    let issued = app
        .request(Method::POST, "/api/v1/auth/oauth/token")
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", &client_id),
            ("client_secret", &client_secret),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(issued.status(), 200, "an OAuth token");
    let oauth_token = s(&body(issued).await["access_token"]);

    let title = format!("{word} Secret Lamp");
    let sku = format!("{upper}-SKU-1");
    let product = create(
        app,
        slug,
        &owner,
        &json!({"product": {
            "title": title, "handle": format!("{word}-secret-lamp").to_lowercase(), "status": "active", "description": format!("{word} description"),
            "tags": [format!("{word}tag").to_lowercase()],
            "variants": [{"sku": sku, "price": {"amount": 4_321, "currency": "USD"}, "inventory": 50}]
        }}),
    )
    .await;
    let category = create_category(
        app,
        slug,
        &owner,
        json!({"name": format!("{word} Hidden Aisle")}),
    )
    .await;
    let resp = upload(
        app,
        slug,
        &owner,
        product["id"].as_str().unwrap(),
        &png(4, 4),
        "image/png",
    )
    .await;
    let status = resp.status();
    let image = body(resp).await;
    created(status, &image, "image");
    let deal = post(
        app,
        slug,
        &owner,
        "/api/v1/admin/deals",
        json!({"deal": {"name": format!("{word} Bargain"), "percent_off": 5,
                        "applies_to": "order", "code": format!("{upper}CODE")}}),
    )
    .await;

    // A customer who orders (paid, partly refunded) and keeps a cart open.
    let customer_email = format!("buyer@{slug}.example");
    let resp = register(app, slug, &customer_email).await;
    assert_eq!(resp.status(), 201, "registering a customer");
    let customer = customer_token(app, slug, &customer_email).await;
    let variant = s(&product["variants"][0]["id"]);
    let cart = body(
        app.shop(slug, Method::POST, "/api/v1/store/carts")
            .bearer_auth(&customer)
            .json(&json!({"items": [{"variant_id": variant, "quantity": 2}]}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    let mut order_body = checkout_body(&customer_email);
    order_body["shipping_address"]["name"] = json!(format!("{word} Recipient"));
    let cart_id = s(&cart["cart"]["id"]);
    let checkout_key = uuid::Uuid::now_v7().to_string();
    let coupon = app
        .shop(
            slug,
            Method::PATCH,
            &format!("/api/v1/store/carts/{cart_id}"),
        )
        .bearer_auth(&customer)
        .json(&json!({"coupon_code": format!("{upper}CODE")}))
        .send()
        .await
        .unwrap();
    assert_eq!(coupon.status(), 200, "the coupon applies");
    let resp = app
        .shop(
            slug,
            Method::POST,
            &format!("/api/v1/store/carts/{}/checkout", s(&cart["cart"]["id"])),
        )
        .bearer_auth(&customer)
        .header("x-cart-token", s(&cart["cart"]["token"]))
        .header("idempotency-key", &checkout_key)
        .json(&order_body)
        .send()
        .await
        .unwrap();
    let status = resp.status();
    let order = body(resp).await;
    created(status, &order, "an order");
    let order_id = s(&order["order"]["id"]);
    let paid = admin(
        app,
        slug,
        &owner,
        Method::POST,
        &format!("/api/v1/admin/orders/{order_id}/mark-paid"),
    )
    .send()
    .await
    .unwrap();
    assert_eq!(paid.status(), 200, "mark-paid");
    post(
        app,
        slug,
        &owner,
        &format!("/api/v1/admin/orders/{order_id}/refunds"),
        json!({"amount": {"amount": 100, "currency": "USD"}, "reason": format!("{word} scuff")}),
    )
    .await;

    let (open_cart, cart_token) = cart_with(app, slug, &[(&variant, 1)]).await;
    let open = body(
        app.shop(
            slug,
            Method::GET,
            &format!("/api/v1/store/carts/{open_cart}"),
        )
        .header("x-cart-token", &cart_token)
        .send()
        .await
        .unwrap(),
    )
    .await;

    // An outbound webhook endpoint on the discard port: a test ping is
    // refused at once (the sweep allows 127.0.0.1).
    let webhook = post(
        app,
        slug,
        &owner,
        "/api/v1/admin/webhooks",
        json!({"webhook": {
            "url": format!("http://127.0.0.1:9/{slug}-hook"), "description": format!("{word} Integration"),
            // No event the sweep makes: background deliveries would change
            // the attempts the sweep compares.
            "events": ["webhook_endpoint.disabled"]
        }}),
    )
    .await;

    // A rental plan and a serial-tracked unit, on a product of their own
    // (the control deletes the first product's variant).
    let rentable = create(
        app,
        slug,
        &owner,
        &json!({"product": {
            "title": format!("{word} Rental Laptop"), "status": "active",
            "variants": [{"sku": format!("{upper}-RENT-1"), "price": {"amount": 90_000, "currency": "USD"}, "inventory": 1}]
        }}),
    )
    .await;
    let rentable = s(&rentable["variants"][0]["id"]);
    let rental_plan = post(
        app,
        slug,
        &owner,
        "/api/v1/admin/rental-plans",
        json!({"rental_plan": {
            "variant_id": rentable, "name": format!("{word} Lease"), "kind": "rent_to_own",
            "term": 12, "price_per_period": {"amount": 900, "currency": "USD"}
        }}),
    )
    .await;
    let rental_unit = post(
        app,
        slug,
        &owner,
        "/api/v1/admin/rental-units",
        json!({"rental_unit": {"variant_id": rentable, "serial": format!("{upper}-SERIAL-1")}}),
    )
    .await;

    let secrets = [
        slug.to_owned(),
        format!("{word} Lease"),
        format!("{word} Rental Laptop"),
        format!("{upper}-RENT-1"),
        format!("{upper}-SERIAL-1"),
        format!("{word} Integration"),
        format!("{slug}-hook"),
        s(&webhook["secret"]),
        domain.clone(),
        format!("{word} Holdings"),
        owner_email,
        clerk_email,
        customer_email.clone(),
        format!("{word} Clerk"),
        format!("{word} ERP"),
        format!("{word} Warehouse"),
        s(&key["secret"]),
        s(&key["api_key"]["prefix"]),
        client_id,
        client_secret,
        oauth_token.clone(),
        owner.clone(),
        customer.clone(),
        title,
        sku,
        s(&product["handle"]),
        format!("{word} description"),
        format!("{word} Hidden Aisle"),
        format!("{word} Bargain"),
        format!("{upper}CODE"),
        format!("{word} Recipient"),
        format!("{word} scuff"),
        cart_token.clone(),
        s(&cart["cart"]["token"]),
    ]
    .into_iter()
    .collect();

    // Money the processor confirmed for an order cancelled meanwhile.
    let shop = crate::commerce_support::Shop {
        slug: slug.to_owned(),
        token: owner.clone(),
        product: s(&product["id"]),
        variant: variant.clone(),
    };
    let (_, payment) =
        crate::payments_unmatched::unmatched_payment(app, &shop, &format!("{slug}-late")).await;
    let contract =
        crate::rentals_contract_support::seed_contract(app, slug, &owner, &customer, &variant)
            .await;
    Seeded {
        contract,
        payment: s(&payment["id"]),
        slug: slug.to_owned(),
        domain,
        owner,
        owner_session,
        clerk_id: s(&clerk["staff"]["id"]),
        api_key: s(&key["secret"]),
        api_key_id: s(&key["api_key"]["id"]),
        oauth_token,
        oauth_client_id: s(&client["oauth_client"]["id"]),
        customer,
        customer_email,
        customer_id: s(&order["order"]["customer_id"]),
        handle: s(&product["handle"]),
        product: s(&product["id"]),
        variant,
        image: s(&image["image"]["id"]),
        category: s(&category["id"]),
        deal: s(&deal["deal"]["id"]),
        order: order_id,
        checkout_key,
        cart: open_cart,
        cart_token,
        cart_item: s(&open["cart"]["items"][0]["id"]),
        webhook: s(&webhook["webhook"]["id"]),
        job,
        rental_plan: s(&rental_plan["rental_plan"]["id"]),
        rental_unit: s(&rental_unit["rental_unit"]["id"]),
        secrets,
    }
}

/// Everything a shop's staff can read about it, as its owner (and its
/// cart as the cart's holder): compared before and after the sweep.
pub async fn snapshot(app: &TestApp, shop: &Seeded) -> Vec<(String, Value)> {
    let mut out = Vec::new();
    let admin_reads = [
        format!("/api/v1/admin/products/{}", shop.product),
        format!("/api/v1/admin/variants/{}/inventory", shop.variant),
        "/api/v1/admin/products?limit=100".to_owned(),
        "/api/v1/admin/categories".to_owned(),
        format!("/api/v1/admin/deals/{}", shop.deal),
        format!("/api/v1/admin/orders/{}", shop.order),
        "/api/v1/admin/orders?limit=100".to_owned(),
        "/api/v1/admin/staff".to_owned(),
        "/api/v1/admin/api-keys".to_owned(),
        "/api/v1/admin/oauth-clients".to_owned(),
        "/api/v1/admin/settings".to_owned(),
        "/api/v1/admin/events?limit=200".to_owned(),
        "/api/v1/admin/audit-log?limit=200".to_owned(),
        "/api/v1/auth/sessions".to_owned(),
        format!("/api/v1/admin/webhooks/{}", shop.webhook),
        format!("/api/v1/admin/webhooks/{}/deliveries", shop.webhook),
        format!("/api/v1/admin/rental-plans/{}", shop.rental_plan),
        format!("/api/v1/admin/rental-units/{}", shop.rental_unit),
        "/api/v1/admin/rental-units".to_owned(),
        format!("/api/v1/admin/rental-contracts/{}", shop.contract),
    ];
    for path in admin_reads {
        let resp = admin(app, &shop.slug, &shop.owner, Method::GET, &path)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200, "{path} as the owner");
        out.push((path, body(resp).await));
    }
    let cart_path = format!("/api/v1/store/carts/{}", shop.cart);
    let resp = app
        .shop(&shop.slug, Method::GET, &cart_path)
        .header("x-cart-token", &shop.cart_token)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200, "the open cart");
    out.push((cart_path, body(resp).await));
    let tenant_path = format!("/api/v1/platform/tenants/{}", shop.slug);
    let resp = app
        .platform(Method::GET, &tenant_path)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200, "the tenant");
    out.push((tenant_path, body(resp).await));
    out
}

/// Every UUID in `v` (ids of lines, payments, refunds, events, entries…).
pub fn uuids(v: &Value, out: &mut BTreeSet<String>) {
    match v {
        Value::String(x) if uuid::Uuid::parse_str(x).is_ok() && x.len() == 36 => {
            out.insert(x.clone());
        }
        Value::Array(a) => a.iter().for_each(|x| uuids(x, out)),
        Value::Object(o) => o.values().for_each(|x| uuids(x, out)),
        _ => {}
    }
}

/// How a caller of shop A presents itself.
#[derive(Clone)]
pub enum Cred {
    Bearer(String),
    CartToken(String),
    Nothing,
}

pub fn credentials_of(a: &Seeded) -> Vec<(&'static str, Cred)> {
    vec![
        ("staff session", Cred::Bearer(a.owner.clone())),
        ("API key", Cred::Bearer(a.api_key.clone())),
        ("OAuth token", Cred::Bearer(a.oauth_token.clone())),
        ("customer session", Cred::Bearer(a.customer.clone())),
        ("cart token", Cred::CartToken(a.cart_token.clone())),
        ("no credential", Cred::Nothing),
    ]
}

pub fn with_cred(req: reqwest::RequestBuilder, cred: &Cred) -> reqwest::RequestBuilder {
    match cred {
        Cred::Bearer(t) => req.bearer_auth(t),
        Cred::CartToken(t) => req.header("x-cart-token", t),
        Cred::Nothing => req,
    }
}

/// `None` if `status` is a refusal and `text` shows nothing of `secrets`,
/// else what is wrong.
pub fn judge(status: u16, text: &str, secrets: &BTreeSet<String>) -> Option<String> {
    let lower = text.to_lowercase();
    let shown: Vec<&String> = secrets.iter().filter(|s| lower.contains(*s)).collect();
    if ![401, 403, 404].contains(&status) {
        return Some(format!("answered {status}: {text}"));
    }
    if !shown.is_empty() {
        return Some(format!("shows {shown:?}: {text}"));
    }
    None
}

/// `(method, path template, operation)` of every operation in the document.
pub async fn operations(app: &TestApp) -> Vec<(Method, String, Value)> {
    let resp = app.get("/api/openapi.json").await;
    assert_eq!(resp.status(), 200);
    let doc: Value = resp.json().await.unwrap();
    let mut out = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            if let Ok(m) = Method::from_bytes(method.to_uppercase().as_bytes())
                && op.is_object()
                && method != "parameters"
            {
                out.push((m, path.clone(), op.clone()));
            }
        }
    }
    assert!(out.len() > 50, "the document lists the API");
    out
}

/// The status, and the response as text to search: its headers' values
/// (a `Location` leaks as well as a body) and its body.
pub async fn read(resp: reqwest::Response) -> (u16, String) {
    let status = resp.status().as_u16();
    let mut text: String = resp
        .headers()
        .iter()
        .map(|(k, v)| format!("{k}: {}\n", String::from_utf8_lossy(v.as_bytes())))
        .collect();
    text.push_str(&resp.text().await.unwrap());
    (status, text)
}

/// The placeholder id of the document's examples; the sweep puts B's
/// variant there, so a body, too, names B's objects.
pub const EXAMPLE_ID: &str = "0199a3e4-5b6c-7d8e-9f01-23456789abcd";

/// The operation's body: its example (JSON with B's variant in place of the
/// placeholder id, or a real image for a multipart upload).
pub fn with_body(req: reqwest::RequestBuilder, op: &Value, b: &Seeded) -> reqwest::RequestBuilder {
    let Some(content) = op["requestBody"]["content"].as_object() else {
        return req;
    };
    if let Some(json) = content.get("application/json") {
        let example = json.get("example").cloned().unwrap_or_else(|| json!({}));
        let text = example.to_string().replace(EXAMPLE_ID, &b.variant);
        return req.header("content-type", "application/json").body(text);
    }
    if content.contains_key("multipart/form-data") {
        let (ct, bytes) = multipart(&png(4, 4), "p.png", "image/png", Some("alt"));
        return req.header("content-type", ct).body(bytes);
    }
    panic!("no body to send for {op}");
}

/// Lower-cased strings of `b` no response to anyone else may contain.
pub async fn distinctive(app: &TestApp, a: &Seeded, b: &Seeded) -> BTreeSet<String> {
    let (mut of_a, mut of_b) = (BTreeSet::new(), BTreeSet::new());
    for (_, v) in snapshot(app, a).await {
        uuids(&v, &mut of_a);
    }
    for (_, v) in snapshot(app, b).await {
        uuids(&v, &mut of_b);
    }
    of_b.retain(|u| !of_a.contains(u));
    assert!(of_b.len() > 20, "B's snapshot names its objects: {of_b:?}");
    of_b.extend(b.secrets.iter().cloned());
    of_b.iter().map(|s| s.to_lowercase()).collect()
}

pub async fn sweep_app() -> (TestApp, Seeded, Seeded) {
    let app = spawn_app_with(|s| {
        s.base_domain = Some(storekeep_domain::DomainName::parse("shops.example").unwrap());
        s.webhooks.allow_networks = vec!["127.0.0.1/32".parse().unwrap()];
        // The simulated processor never settles by itself: the seed sends
        // its signed confirmation (an unmatched payment).
        s.payments.test_webhook_secret =
            Some(storekeep::config::Secret::new(crate::orders::SECRET));
        s.payments.test_delay = std::time::Duration::from_secs(3600);
    })
    .await;
    create_sweep_plan(&app).await;
    let a = seed(&app, "amber", "Amber").await;
    let b = seed(&app, "zircon", "Zircon").await;
    (app, a, b)
}
