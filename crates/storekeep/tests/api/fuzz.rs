//! Property tests through HTTP, for the parsers only a request reaches:
//! list filters and cursors in query strings, cart and checkout bodies,
//! payment webhooks and bulk imports. Whatever is sent, the answer is a
//! success within the documented limits or an RFC 9457 problem, never a
//! 5xx; an issued cursor is always accepted; a checkout is idempotent.
//!
//! Each test starts one server and runs its cases against it (few cases:
//! they go over HTTP; the pure parsers have many more in their unit
//! tests). Failures are not persisted to files (`failure_persistence:
//! None`): a shrunk failing case is kept as an ordinary test instead.

use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use reqwest::{Method, Response};
use serde_json::{Value, json};
use storekeep_test_support::{TestApp, problem, spawn_app, spawn_app_with};

use crate::catalog_support::{body, create, product_json};
use crate::commerce_support::{Shop, cart_req, cart_with, checkout_body, selling_shop, stock};
use crate::identity::admin;

fn runner(cases: u32) -> TestRunner {
    TestRunner::new(Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    })
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

/// Runs `cases` cases of `strategy` through `case` on `rt`, panicking with
/// the shrunk input if one fails.
fn check<S: Strategy>(
    rt: &tokio::runtime::Runtime,
    cases: u32,
    strategy: &S,
    case: impl AsyncFn(S::Value) -> Result<(), TestCaseError>,
) where
    S::Value: std::fmt::Debug,
{
    if let Err(e) = runner(cases).run(strategy, |v| rt.block_on(case(v))) {
        panic!("{e}");
    }
}

/// A success (2xx with a JSON body) or a problem (4xx, RFC 9457); the
/// status and the body.
async fn answer(resp: Response) -> Result<(u16, Value), TestCaseError> {
    let status = resp.status().as_u16();
    let ct = resp
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let text = resp.text().await.unwrap();
    prop_assert!(status < 500, "{status}: {text}");
    let body: Value = serde_json::from_str(&text)
        .map_err(|e| TestCaseError::fail(format!("{status} not JSON ({e}): {text}")))?;
    if status >= 400 {
        prop_assert_eq!(ct.as_str(), "application/problem+json", "{}", text);
        prop_assert_eq!(&body["status"], status, "{}", text);
        prop_assert!(body["detail"].is_string() && body["title"].is_string());
    } else {
        prop_assert!(status < 300, "{status}: {text}");
    }
    Ok((status, body))
}

/// Text a header can carry: visible ASCII, spaces and tabs.
fn header_text() -> impl Strategy<Value = String> {
    "[ -~\t]{0,80}"
}

fn json_leaf() -> BoxedStrategy<Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        prop_oneof![-2i64..=2, 999i64..=1001].prop_map(Value::from),
        any::<f64>().prop_map(|f| json!(f)),
        Just(json!(1.5)),
        any::<String>().prop_map(Value::from),
        "[ -~]{0,20}".prop_map(Value::from),
        Just(Value::from("\u{0}")),
    ]
    .boxed()
}

/// Any JSON, nested a little.
fn any_json() -> BoxedStrategy<Value> {
    json_leaf()
        .prop_recursive(3, 16, 4, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                proptest::collection::btree_map("[a-z_]{1,12}", inner, 0..4)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
        .boxed()
}

/// `base` with some fields replaced by anything, removed, or added.
fn mutated(base: Value) -> BoxedStrategy<Value> {
    let fields: Vec<String> = base
        .as_object()
        .map(|o| o.keys().cloned().collect())
        .unwrap_or_default();
    let edits = proptest::collection::vec(
        (
            prop_oneof![proptest::sample::select(fields.clone()), "[a-z_]{1,10}",],
            proptest::option::of(any_json()),
        ),
        0..4,
    );
    (Just(base), edits)
        .prop_map(|(mut v, edits)| {
            if let Some(o) = v.as_object_mut() {
                for (k, new) in edits {
                    match new {
                        Some(new) => o.insert(k, new),
                        None => o.remove(&k),
                    };
                }
            }
            v
        })
        .boxed()
}

// --- list filters and cursors

struct Lists {
    shop: Shop,
    cursors: Vec<String>,
    ids: Vec<String>,
}

async fn lists_setup(app: &TestApp) -> Lists {
    let shop = selling_shop(app, "fuzzlists", 1999, 10).await;
    for (i, title) in ["Alpha dock", "beta Cable", "Gamma charger"]
        .iter()
        .enumerate()
    {
        let mut p = product_json(title, &[(&format!("FZ-{i}"), 100 * i as i64, i as i64)]);
        p["product"]["tags"] = json!(["usb", format!("t{i}")]);
        create(app, &shop.slug, &shop.token, &p).await;
    }
    let mut cursors = Vec::new();
    for path in [
        "/api/v1/admin/products?limit=1&sort=newest",
        "/api/v1/admin/products?limit=1&sort=price_asc",
        "/api/v1/admin/products?limit=1&sort=price_desc",
        "/api/v1/admin/products?limit=1&sort=title",
        "/api/v1/admin/audit-log?limit=1",
        "/api/v1/store/search?q=usb&limit=1",
    ] {
        let req = if path.starts_with("/api/v1/store/") {
            app.shop(&shop.slug, Method::GET, path)
        } else {
            admin(app, &shop.slug, &shop.token, Method::GET, path)
        };
        let resp = req.send().await.unwrap();
        let b = body(resp).await;
        cursors.push(b["next_cursor"].as_str().expect(path).to_owned());
    }
    let ids = vec![
        shop.product.clone(),
        shop.variant.clone(),
        uuid::Uuid::now_v7().to_string(),
    ];
    Lists { shop, cursors, ids }
}

const LISTS: &[(&str, &[&str])] = &[
    (
        "/api/v1/admin/products",
        &[
            "category",
            "tag",
            "min_price",
            "max_price",
            "in_stock",
            "sort",
            "status",
            "limit",
            "after",
        ],
    ),
    (
        "/api/v1/store/products",
        &[
            "category",
            "tag",
            "min_price",
            "max_price",
            "in_stock",
            "sort",
            "status",
            "limit",
            "after",
        ],
    ),
    ("/api/v1/store/search", &["q", "limit", "after"]),
    (
        "/api/v1/admin/orders",
        &[
            "status",
            "customer_id",
            "email",
            "created_from",
            "created_to",
            "limit",
            "after",
        ],
    ),
    ("/api/v1/admin/events", &["topic", "limit", "after"]),
    (
        "/api/v1/admin/audit-log",
        &["limit", "after", "actor", "action", "from", "to"],
    ),
    ("/api/v1/admin/staff", &["limit", "after"]),
    ("/api/v1/admin/api-keys", &["limit", "after"]),
    ("/api/v1/store/deals", &["soon_hours"]),
];

fn query_value(l: &Lists) -> BoxedStrategy<String> {
    let cursors = l.cursors.clone();
    let tampered = (
        proptest::sample::select(cursors.clone()),
        any::<prop::sample::Index>(),
        "[ -~]",
    )
        .prop_map(|(c, at, with)| {
            let mut chars: Vec<char> = c.chars().collect();
            let i = at.index(chars.len());
            chars[i] = with.chars().next().unwrap();
            chars.into_iter().collect()
        });
    prop_oneof![
        any::<String>(),
        "[ -~]{0,30}",
        any::<i64>().prop_map(|n| n.to_string()),
        prop_oneof![-1i64..=2, 199i64..=201, 719i64..=721].prop_map(|n| n.to_string()),
        Just(u64::MAX.to_string()),
        "(newest|price_asc|price_desc|title|draft|active|archived|pending_payment|paid|true|false|1|usb|order.paid)",
        "(2026-11-26T12:00:00Z|2026-13-01T00:00:00Z|0000-01-01T00:00:00Z|9999-12-31T23:59:59Z)",
        "[a-z]{1,8}@example\\.com",
        proptest::sample::select(cursors),
        tampered,
        proptest::sample::select(l.ids.clone()),
    ]
    .boxed()
}

fn list_request(l: &Lists) -> impl Strategy<Value = (usize, Vec<(String, String)>)> {
    let value = query_value(l);
    (0..LISTS.len()).prop_flat_map(move |i| {
        let names: Vec<String> = LISTS[i]
            .1
            .iter()
            .map(|n| (*n).to_owned())
            .chain(["x".to_owned()])
            .collect();
        (
            Just(i),
            proptest::collection::vec((proptest::sample::select(names), value.clone()), 0..5),
            // A small page often, so there is a next page to follow.
            proptest::option::of(1u32..=3),
        )
            .prop_map(|(i, mut params, small)| {
                if let Some(n) = small {
                    params.insert(0, ("limit".to_owned(), n.to_string()));
                }
                (i, params)
            })
    })
}

async fn get_list(
    app: &TestApp,
    l: &Lists,
    path: &str,
    params: &[(String, String)],
) -> Result<(u16, Value), TestCaseError> {
    // The storefront is read without credentials, the admin API with them.
    let req = if path.starts_with("/api/v1/store/") {
        app.shop(&l.shop.slug, Method::GET, path)
    } else {
        admin(app, &l.shop.slug, &l.shop.token, Method::GET, path)
    };
    let resp = req.query(params).send().await.unwrap();
    answer(resp).await
}

#[test]
fn list_filters_and_cursors_answer_a_page_or_a_bad_request() {
    let rt = runtime();
    let app = rt.block_on(spawn_app());
    let l = rt.block_on(lists_setup(&app));
    check(&rt, 96, &list_request(&l), async |(i, params)| {
        let path = LISTS[i].0;
        let (status, page) = get_list(&app, &l, path, &params).await?;
        if status != 200 {
            prop_assert_eq!(status, 400, "{} {:?}: {}", path, params, page);
            return Ok(());
        }
        let Some(items) = page["items"].as_array() else {
            // The deals listing is not a page: three lists.
            prop_assert!(page["active"].is_array(), "{}", page);
            return Ok(());
        };
        let limit = params
            .iter()
            .rev()
            .find(|(k, _)| k == "limit")
            .and_then(|(_, v)| v.parse::<usize>().ok())
            .unwrap_or(50);
        prop_assert!(items.len() <= limit.min(200), "{} items", items.len());
        // The cursor of a page is always accepted with the same filters.
        if let Some(next) = page["next_cursor"].as_str() {
            let mut again: Vec<_> = params
                .iter()
                .filter(|(k, _)| k != "after")
                .cloned()
                .collect();
            again.push(("after".into(), next.to_owned()));
            let (status, next_page) = get_list(&app, &l, path, &again).await?;
            prop_assert_eq!(status, 200, "{} {:?}: {}", path, again, next_page);
            for item in next_page["items"].as_array().unwrap() {
                prop_assert!(!items.contains(item), "a page repeats an item: {}", item);
            }
        }
        Ok(())
    });
    // The random cases may all miss a second page (their seed differs per
    // run): following a cursor is exercised here whatever they did, a page
    // of one item from every list, then the next.
    let followed = rt.block_on(async {
        let mut followed = 0;
        for (path, names) in LISTS {
            if !names.contains(&"limit") {
                continue;
            }
            let mut one = vec![("limit".to_owned(), "1".to_owned())];
            if names.contains(&"q") {
                one.push(("q".to_owned(), "usb".to_owned()));
            }
            let (status, page) = get_list(&app, &l, path, &one).await.unwrap();
            assert_eq!(status, 200, "{path}: {page}");
            let Some(next) = page["next_cursor"].as_str() else {
                continue;
            };
            let mut again = one.clone();
            again.push(("after".to_owned(), next.to_owned()));
            let (status, next_page) = get_list(&app, &l, path, &again).await.unwrap();
            assert_eq!(status, 200, "{path} after {next}: {next_page}");
            assert_eq!(
                next_page["items"].as_array().unwrap().len(),
                1,
                "{next_page}"
            );
            assert_ne!(
                next_page["items"], page["items"],
                "{path}: the next page repeats"
            );
            followed += 1;
        }
        followed
    });
    assert!(followed > 1, "only {followed} lists had a second page");
}

// --- carts

fn items_body(variant: String) -> BoxedStrategy<Value> {
    let variant_id = prop_oneof![
        3 => Just(Value::from(variant)),
        1 => Just(Value::from(uuid::Uuid::now_v7().to_string())),
        1 => json_leaf(),
    ]
    .boxed();
    let quantity = prop_oneof![
        3 => (-1i64..=1002).prop_map(Value::from),
        1 => json_leaf(),
    ]
    .boxed();
    let item = mutated(json!({"variant_id": null, "quantity": null}))
        .prop_flat_map(move |item| (Just(item), variant_id.clone(), quantity.clone()))
        .prop_map(|(mut item, v, q)| {
            if let Some(o) = item.as_object_mut() {
                // Fields the mutation left in place get a likely value.
                for (k, new) in [("variant_id", v), ("quantity", q)] {
                    if o.get(k).is_some_and(Value::is_null) {
                        o.insert(k.into(), new);
                    }
                }
            }
            item
        })
        .boxed();
    prop_oneof![
        3 => proptest::collection::vec(item.clone(), 0..4).prop_map(|items| json!({"items": items})),
        1 => mutated(json!({"items": []})),
        1 => item,
        1 => any_json(),
    ]
    .boxed()
}

/// Every line of a cart is within the limits, and its money adds up.
fn assert_cart(cart: &Value) -> Result<(), TestCaseError> {
    let items = cart["items"].as_array().expect("a cart has items");
    prop_assert!(items.len() <= 100);
    for item in items {
        let q = item["quantity"].as_i64().unwrap();
        prop_assert!((1..=1000).contains(&q), "quantity {q}");
    }
    for m in ["subtotal", "discount", "shipping", "tax", "total"] {
        prop_assert!(cart[m]["amount"].as_i64().unwrap() >= 0, "{m}: {cart}");
    }
    Ok(())
}

fn cart_changes() -> impl Strategy<Value = Value> {
    let field = prop_oneof![
        Just(Value::Null),
        "(US|us|DE|XX|U|USA|CA|ca|123|standard|express|SAVE10|ab)".prop_map(Value::from),
        json_leaf(),
    ];
    proptest::collection::btree_map(
        prop_oneof![
            "(coupon_code|shipping_method|country|region)",
            "[a-z_]{1,10}",
        ],
        field,
        0..4,
    )
    .prop_map(|m| Value::Object(m.into_iter().collect()))
}

#[test]
fn cart_bodies_make_a_cart_within_limits_or_a_problem() {
    let rt = runtime();
    let app = rt.block_on(spawn_app());
    let s = rt.block_on(selling_shop(&app, "fuzzcarts", 1999, 10));
    let (cart, token) = rt.block_on(cart_with(&app, &s.slug, &[]));
    let made = std::cell::Cell::new(0);
    let cart_path = format!("/api/v1/store/carts/{cart}");
    let strategy = (
        items_body(s.variant.clone()),
        cart_changes(),
        items_body(s.variant.clone()),
        any::<bool>(),
    );
    check(&rt, 48, &strategy, async |(new, changes, add, as_json)| {
        let mut req = app.shop(&s.slug, Method::POST, "/api/v1/store/carts");
        req = if as_json {
            req.json(&new)
        } else {
            req.body(new.to_string())
        };
        let (status, b) = answer(req.send().await.unwrap()).await?;
        if status < 300 {
            prop_assert!(as_json && status == 201, "{status}: {b}");
            assert_cart(&b["cart"])?;
            made.set(made.get() + 1);
        }
        let resp = cart_req(&app, &s.slug, &token, Method::PATCH, &cart_path)
            .json(&changes)
            .send()
            .await
            .unwrap();
        let (status, b) = answer(resp).await?;
        if status < 300 {
            let c = &b["cart"];
            assert_cart(c)?;
            if let Some(country) = c["country"].as_str() {
                prop_assert!(country.len() == 2 && country.bytes().all(|b| b.is_ascii_uppercase()));
            }
            if let Some(region) = c["region"].as_str() {
                prop_assert!((1..=3).contains(&region.len()));
            }
        }
        // Items added to one cart, over and over: a line never passes 1,000.
        let resp = cart_req(
            &app,
            &s.slug,
            &token,
            Method::POST,
            &format!("{cart_path}/items"),
        )
        .json(add.get("items").and_then(|i| i.get(0)).unwrap_or(&add))
        .send()
        .await
        .unwrap();
        let (status, b) = answer(resp).await?;
        if status < 300 {
            assert_cart(&b["cart"])?;
        }
        Ok(())
    });
    assert!(made.get() > 0, "no case made a cart");
}

// --- checkout

fn checkout_request() -> impl Strategy<Value = (Value, Option<String>)> {
    let base = checkout_body("buyer@example.com");
    let address = mutated(base["shipping_address"].clone());
    let changed = (mutated(base.clone()), address, any::<bool>()).prop_map(|(mut b, a, keep)| {
        if keep && b.get("shipping_address").is_some() {
            b["shipping_address"] = a;
        }
        b
    });
    // A valid request often enough that orders are made and replayed.
    let body = prop_oneof![1 => Just(base), 2 => changed];
    let key = prop_oneof![
        1 => Just(None),
        6 => Just(()).prop_map(|_| Some(uuid::Uuid::now_v7().to_string())),
        1 => header_text().prop_map(Some),
        1 => "[!-~]{250,260}".prop_map(Some),
    ];
    (body, key)
}

#[test]
fn checkout_bodies_make_an_idempotent_order_or_a_problem() {
    let rt = runtime();
    let app = rt.block_on(spawn_app());
    let s = rt.block_on(selling_shop(&app, "fuzzcheckout", 1999, 1000));
    let ordered = std::cell::Cell::new(0);
    check(&rt, 40, &checkout_request(), async |(body, key)| {
        let (cart, token) = cart_with(&app, &s.slug, &[(&s.variant, 1)]).await;
        let path = format!("/api/v1/store/carts/{cart}/checkout");
        let send = async || {
            let mut req = cart_req(&app, &s.slug, &token, Method::POST, &path).json(&body);
            if let Some(k) = &key {
                req = req.header("idempotency-key", k);
            }
            answer(req.send().await.unwrap()).await
        };
        let (status, b) = send().await?;
        if status >= 300 {
            return Ok(());
        }
        prop_assert_eq!(status, 201, "{}", b);
        ordered.set(ordered.get() + 1);
        let order = &b["order"];
        prop_assert!(order["total"]["amount"].as_i64().unwrap() >= 0);
        prop_assert_eq!(order["lines"].as_array().map(Vec::len), Some(1));
        // HTTP drops the spaces and tabs around a header value.
        let key = key.as_deref().unwrap().trim_matches([' ', '\t']);
        prop_assert!((1..=255).contains(&key.len()) && key.bytes().all(|b| b.is_ascii_graphic()));
        // The same request with the same key is the same order.
        let (again, replay) = send().await?;
        prop_assert!(again < 300, "{again}: {replay}");
        prop_assert_eq!(&replay["order"]["id"], &order["id"]);
        Ok(())
    });
    assert!(ordered.get() > 0, "no case made an order");
    // Every order holds its one unit; nothing else was taken.
    let (on_hand, reserved) = rt.block_on(stock(&app, &s));
    assert_eq!((on_hand, reserved), (1000, ordered.get()));
}

// --- payment webhooks

const WEBHOOK_SECRET: &str = "fuzz-webhook-secret-0123456789";

fn signed(t: i64, body: &[u8]) -> String {
    use hmac::{Hmac, Mac};
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(WEBHOOK_SECRET.as_bytes()).unwrap();
    mac.update(format!("{t}.").as_bytes());
    mac.update(body);
    let sig: String = mac
        .finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("t={t},v1={sig}")
}

fn webhook() -> impl Strategy<Value = (String, Option<String>, Vec<u8>, bool)> {
    // Text with control characters (NUL included) often.
    let text = prop_oneof![
        any::<String>(),
        ("[ -~]{0,10}", "[\\x00\\x01\\x1b]", "[ -~]{0,10}")
            .prop_map(|(a, c, b)| format!("{a}{c}{b}")),
    ];
    let event = (text.clone(), any::<String>(), text, any::<bool>()).prop_map(
        |(id, kind, reference, likely)| {
            let kind = if likely {
                "payment.confirmed".to_owned()
            } else {
                kind
            };
            json!({"id": id, "type": kind, "reference": reference})
                .to_string()
                .into_bytes()
        },
    );
    (
        prop_oneof![
            3 => Just("test".to_owned()),
            1 => Just("manual".to_owned()),
            1 => "[a-z0-9_-]{1,12}",
        ],
        proptest::option::of(prop_oneof![header_text(), "t=[0-9]{10},v1=[0-9a-f]{64}"]),
        prop_oneof![
            any::<Vec<u8>>(),
            event,
            any_json().prop_map(|v| v.to_string().into_bytes())
        ],
        any::<bool>(),
    )
}

#[test]
fn webhooks_are_refused_without_the_secret_and_never_fail_with_it() {
    let rt = runtime();
    let app = rt.block_on(spawn_app_with(|s| {
        s.payments.test_webhook_secret = Some(storekeep::config::Secret::new(WEBHOOK_SECRET));
    }));
    check(
        &rt,
        64,
        &webhook(),
        async |(provider, header, body, sign)| {
            let mut req = app
                .request(
                    Method::POST,
                    &format!("/api/v1/webhooks/payments/{provider}"),
                )
                .header("content-type", "application/json")
                .body(body.clone());
            let header = if sign {
                Some(signed(chrono::Utc::now().timestamp(), &body))
            } else {
                header
            };
            if let Some(h) = &header {
                req = req.header("storekeep-signature", h);
            }
            let (status, b) = answer(req.send().await.unwrap()).await?;
            match (provider.as_str(), sign) {
                ("test", false) => prop_assert_eq!(status, 401, "{}", b),
                // Signed: an event for no payment of this server, or not an event.
                ("test", true) => prop_assert!(status == 400 || status == 404, "{status}: {b}"),
                _ => prop_assert_eq!(status, 404, "{}", b),
            }
            Ok(())
        },
    );
}

// --- bulk import

fn import_file() -> impl Strategy<Value = (&'static str, String)> {
    let cell = prop_oneof![
        any::<String>(),
        "[a-z0-9-]{1,10}",
        (0i64..=2_000_000_000).prop_map(|n| n.to_string()),
        "[=+@'\" ,|-]{0,2}[ -~]{0,12}",
        Just("USD".to_owned()),
        proptest::collection::vec("[a-z]{1,3}=[a-z]{1,80}", 1..8).prop_map(|o| o.join("|")),
    ];
    let csv = (
        proptest::sample::select(vec![
            "handle,title,sku,price",
            "handle,title,sku,price,inventory,options,variant_title",
            "handle,title,description,status,tags,categories,sku,variant_title,options,price,compare_at_price,currency,inventory",
            "title,sku",
            "",
        ]),
        proptest::collection::vec(proptest::collection::vec(cell.clone(), 0..14), 0..5),
    )
        .prop_map(|(header, rows)| {
            let mut text = header.to_owned();
            for row in rows {
                text.push('\n');
                text.push_str(&row.join(","));
            }
            ("text/csv", text)
        });
    let jsonl = proptest::collection::vec(
        mutated(json!({
            "handle": "fz", "title": "Fuzz", "variants": [
                {"sku": "FZ-1", "price": {"amount": 100, "currency": "USD"}, "inventory": 1}
            ]
        }))
        .prop_map(|v| v.to_string()),
        0..5,
    )
    .prop_map(|lines| ("application/x-ndjson", lines.join("\n")));
    prop_oneof![csv, jsonl]
}

#[test]
fn imported_files_are_reported_row_by_row_and_store_only_valid_products() {
    let rt = runtime();
    let app = rt.block_on(spawn_app());
    let s = rt.block_on(selling_shop(&app, "fuzzimport", 1999, 10));
    let imported = std::cell::Cell::new(0);
    check(&rt, 32, &import_file(), async |(content_type, file)| {
        let resp = admin(
            &app,
            &s.slug,
            &s.token,
            Method::POST,
            "/api/v1/admin/imports/products",
        )
        .header("content-type", content_type)
        .body(file.clone())
        .send()
        .await
        .unwrap();
        let (status, report) = answer(resp).await?;
        if status == 200 {
            let failed = report["failed"].as_u64().unwrap();
            let errors = report["errors"].as_array().unwrap();
            prop_assert_eq!(errors.len() as u64, failed);
            let lines: Vec<u64> = errors.iter().map(|e| e["line"].as_u64().unwrap()).collect();
            prop_assert!(lines.is_sorted(), "{:?}", lines);
            imported.set(imported.get() + report["created"].as_u64().unwrap());
        } else {
            prop_assert!(status == 400 || status == 422, "{status}: {report}");
        }
        Ok(())
    });
    assert!(imported.get() > 0, "no case imported a product");
    // What was stored is within the catalog's limits.
    let mut after = String::new();
    loop {
        let resp = rt.block_on(
            admin(
                &app,
                &s.slug,
                &s.token,
                Method::GET,
                &format!("/api/v1/admin/products?limit=200{after}"),
            )
            .send(),
        );
        let page = rt.block_on(body(resp.unwrap()));
        for p in page["items"].as_array().unwrap() {
            let title = p["title"].as_str().unwrap();
            assert!((1..=200).contains(&title.chars().count()), "{p}");
            for v in p["variants"].as_array().unwrap() {
                let vt = v["title"].as_str().unwrap();
                assert!((1..=200).contains(&vt.chars().count()), "{v}");
                assert!(v["price"]["amount"].as_i64().unwrap() >= 0);
                assert!(v["inventory"]["on_hand"].as_i64().unwrap() >= 0);
            }
        }
        match page["next_cursor"].as_str() {
            Some(c) => after = format!("&after={c}"),
            None => break,
        }
    }
}

/// Found by the import property: a variant with no title took its option
/// values as title however long they were (past the 200-character limit).
#[tokio::test]
async fn a_variant_title_made_from_long_option_values_is_refused() {
    let app = spawn_app().await;
    let s = selling_shop(&app, "longopts", 1999, 1).await;
    let resp = admin(
        &app,
        &s.slug,
        &s.token,
        Method::POST,
        "/api/v1/admin/products",
    )
    .json(&json!({"product": {"title": "Long options", "variants": [{
        "sku": "LO-1",
        "options": {"A": "a".repeat(100), "B": "b".repeat(100)},
        "price": {"amount": 100, "currency": "USD"},
    }]}}))
    .send()
    .await
    .unwrap();
    let p = problem(resp, 422).await;
    assert_eq!(p["errors"][0]["field"], "variants[0].title", "{p}");
    // Within the limit the option values still make the title.
    let resp = admin(
        &app,
        &s.slug,
        &s.token,
        Method::POST,
        "/api/v1/admin/products",
    )
    .json(&json!({"product": {"title": "Short options", "variants": [{
        "sku": "LO-2",
        "options": {"A": "a".repeat(98), "B": "b".repeat(99)},
        "price": {"amount": 100, "currency": "USD"},
    }]}}))
    .send()
    .await
    .unwrap();
    let b = body(resp).await;
    let title = b["product"]["variants"][0]["title"].as_str().unwrap();
    assert_eq!(title.chars().count(), 200, "{b}");
}

/// Every timeout the settings loader accepts, however long, is one the
/// server runs with: a connection's deadlines were `now + timeout`, which
/// panicked past the clock's range (every connection dropped unanswered).
#[tokio::test]
async fn the_longest_timeouts_the_settings_accept_still_serve_requests() {
    let max = u64::MAX.to_string();
    let loaded = storekeep::config::load(
        None,
        [
            "HTTP_REQUEST_TIMEOUT_SECS",
            "HTTP_HEADER_READ_TIMEOUT_SECS",
            "HTTP_KEEP_ALIVE_IDLE_SECS",
            "DATABASE_ACQUIRE_TIMEOUT_MS",
            "CACHE_TTL_SECS",
        ]
        .map(|k| (format!("STOREKEEP_{k}"), max.clone())),
    );
    let long = loaded.settings.expect("the loader accepts them");
    let app = spawn_app_with(|s| {
        s.request_timeout = long.request_timeout;
        s.header_read_timeout = long.header_read_timeout;
        s.keep_alive_idle = long.keep_alive_idle;
        s.database_acquire_timeout = long.database_acquire_timeout;
        s.cache_ttl = long.cache_ttl;
    })
    .await;
    // Several requests on one kept-alive connection, one of them a write.
    for _ in 0..3 {
        assert_eq!(app.get("/api/health/ready").await.status(), 200);
    }
    app.create_tenant("longtimeouts", json!({})).await;
    assert_eq!(app.get("/api/health/live").await.status(), 200);
}

/// A validly signed event naming no payment of this server is a 404,
/// or a 400 if its id or reference holds control characters: NUL, which
/// PostgreSQL text cannot hold, made it a 500 there.
#[tokio::test]
async fn a_signed_event_with_control_characters_is_answered_not_failed() {
    let app = spawn_app_with(|s| {
        s.payments.test_webhook_secret = Some(storekeep::config::Secret::new(WEBHOOK_SECRET));
    })
    .await;
    for (id, reference) in [
        ("evt\u{0}1", "test_1"),
        ("evt_1", "test\u{0}1"),
        ("evt\n1", "t\u{1b}"),
    ] {
        let body =
            json!({"id": id, "type": "payment.confirmed", "reference": reference}).to_string();
        let resp = app
            .request(Method::POST, "/api/v1/webhooks/payments/test")
            .header("content-type", "application/json")
            .header(
                "storekeep-signature",
                signed(chrono::Utc::now().timestamp(), body.as_bytes()),
            )
            .body(body)
            .send()
            .await
            .unwrap();
        let status = resp.status().as_u16();
        assert!(
            status == 400 || status == 404,
            "{id:?} {reference:?}: {status}"
        );
    }
}
