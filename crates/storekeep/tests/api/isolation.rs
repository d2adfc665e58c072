//! Tenant isolation: every route of the OpenAPI document that takes an id,
//! called with shop A's credentials (staff session, API key, OAuth token,
//! customer session, cart token, or none) on shop B's ids, is refused and
//! shows nothing of B, and changes nothing of B; a credential disagreeing
//! with the shop that `Host` or `X-Tenant` names is refused; platform routes
//! refuse every shop credential.
//!
//! What counts as refused: 401 (no or unknown credential), 403 (a valid
//! credential without the right: wrong shop, kind or scope) and 404 (no
//! such object *in this shop*, which is also what a shop's own caller gets
//! for an id that does not exist, so B's ids cannot be told from unused
//! ones). Nothing else is: a 2xx is a leak or a write, a 409 or 422 means
//! the request reached B's object (a conflict or a rule about its state),
//! a 400 or 5xx is a bug. The sweep's bodies are the document's own
//! examples, which a shop accepts, so a 422 cannot be blamed on the body.

use std::collections::{BTreeMap, BTreeSet};

use reqwest::Method;
use serde_json::json;
use storekeep_test_support::TestApp;

use crate::commerce_support::{cart_with, checkout, checkout_body};
use crate::isolation_support::{
    Cred, Seeded, credentials_of, distinctive, judge, operations, read, snapshot, sweep_app,
    with_body, with_cred,
};

/// Which of shop B's objects (or which value) a path parameter takes.
#[derive(Debug, Clone, Copy)]
enum Obj {
    Product,
    Handle,
    Variant,
    Image,
    Category,
    ApiKey,
    OAuthClient,
    Deal,
    Order,
    Cart,
    CartItem,
    Session,
    Tenant,
    Plan,
    Provider,
    Webhook,
    EmailTemplate,
    Job,
    RentalPlan,
    RentalUnit,
    Contract,
    Customer,
    Staff,
    Payment,
}

/// Every parameterised route of the document, each parameter and the
/// value(s) of shop B it is tried with. A route the document gains is
/// missing here and fails the sweep until it is added.
const ROUTES: &[(&str, &str, Obj)] = &[
    ("/api/v1/admin/products/{id}", "id", Obj::Product),
    ("/api/v1/admin/products/{id}/variants", "id", Obj::Product),
    ("/api/v1/admin/products/{id}/images", "id", Obj::Product),
    ("/api/v1/admin/variants/{id}", "id", Obj::Variant),
    ("/api/v1/admin/variants/{id}/inventory", "id", Obj::Variant),
    ("/api/v1/admin/images/{id}", "id", Obj::Image),
    ("/api/v1/admin/categories/{id}", "id", Obj::Category),
    ("/api/v1/admin/api-keys/{id}", "id", Obj::ApiKey),
    ("/api/v1/admin/oauth-clients/{id}", "id", Obj::OAuthClient),
    ("/api/v1/admin/deals/{id}", "id", Obj::Deal),
    ("/api/v1/admin/orders/{id}", "id", Obj::Order),
    ("/api/v1/admin/orders/{id}/mark-paid", "id", Obj::Order),
    ("/api/v1/admin/orders/{id}/fulfil", "id", Obj::Order),
    ("/api/v1/admin/orders/{id}/deliver", "id", Obj::Order),
    ("/api/v1/admin/orders/{id}/cancel", "id", Obj::Order),
    ("/api/v1/admin/orders/{id}/refunds", "id", Obj::Order),
    ("/api/v1/admin/payments/{id}/resolve", "id", Obj::Payment),
    ("/api/v1/auth/sessions/{id}", "id", Obj::Session),
    ("/api/v1/platform/tenants/{slug}", "slug", Obj::Tenant),
    ("/api/v1/platform/plans/{name}", "name", Obj::Plan),
    ("/api/v1/store/carts/{id}", "id", Obj::Cart),
    ("/api/v1/store/carts/{id}/items", "id", Obj::Cart),
    ("/api/v1/store/carts/{id}/items/{item_id}", "id", Obj::Cart),
    (
        "/api/v1/store/carts/{id}/items/{item_id}",
        "item_id",
        Obj::CartItem,
    ),
    ("/api/v1/store/carts/{id}/checkout", "id", Obj::Cart),
    (
        "/api/v1/store/products/{id_or_handle}",
        "id_or_handle",
        Obj::Product,
    ),
    (
        "/api/v1/store/products/{id_or_handle}",
        "id_or_handle",
        Obj::Handle,
    ),
    ("/api/v1/store/orders/{id}", "id", Obj::Order),
    ("/api/v1/store/orders/{id}/payments", "id", Obj::Order),
    (
        "/api/v1/webhooks/payments/{provider}",
        "provider",
        Obj::Provider,
    ),
    ("/api/v1/admin/webhooks/{id}", "id", Obj::Webhook),
    (
        "/api/v1/admin/webhooks/{id}/rotate-secret",
        "id",
        Obj::Webhook,
    ),
    ("/api/v1/admin/webhooks/{id}/deliveries", "id", Obj::Webhook),
    ("/api/v1/admin/webhooks/{id}/test", "id", Obj::Webhook),
    ("/api/v1/admin/webhooks/{id}/replay", "id", Obj::Webhook),
    (
        "/api/v1/admin/email-templates/{template}/preview",
        "template",
        Obj::EmailTemplate,
    ),
    ("/api/v1/admin/jobs/{id}", "id", Obj::Job),
    ("/api/v1/admin/jobs/{id}/retry", "id", Obj::Job),
    ("/api/v1/admin/jobs/{id}/discard", "id", Obj::Job),
    ("/api/v1/platform/jobs/{id}", "id", Obj::Job),
    ("/api/v1/platform/jobs/{id}/retry", "id", Obj::Job),
    ("/api/v1/platform/jobs/{id}/discard", "id", Obj::Job),
    ("/api/v1/admin/rental-plans/{id}", "id", Obj::RentalPlan),
    ("/api/v1/admin/rental-units/{id}", "id", Obj::RentalUnit),
    (
        "/api/v1/admin/rental-units/{id}/status",
        "id",
        Obj::RentalUnit,
    ),
    (
        "/api/v1/store/products/{id_or_handle}/rental-plans",
        "id_or_handle",
        Obj::Product,
    ),
    (
        "/api/v1/store/products/{id_or_handle}/rental-plans",
        "id_or_handle",
        Obj::Handle,
    ),
    ("/api/v1/admin/rental-contracts/{id}", "id", Obj::Contract),
    ("/api/v1/store/rentals/{id}", "id", Obj::Contract),
    (
        "/api/v1/admin/rental-contracts/{id}/payments",
        "id",
        Obj::Contract,
    ),
    // i15 phase 2, glue: the agreement document.
    (
        "/api/v1/admin/rental-contracts/{id}/document",
        "id",
        Obj::Contract,
    ),
    ("/api/v1/store/rentals/{id}/document", "id", Obj::Contract), // i15 phase 3, buy-out and returns.
    (
        "/api/v1/admin/rental-contracts/{id}/buyout",
        "id",
        Obj::Contract,
    ),
    (
        "/api/v1/admin/rental-contracts/{id}/return",
        "id",
        Obj::Contract,
    ),
    ("/api/v1/store/rentals/{id}/buyout", "id", Obj::Contract),
    // i15 phase 3, payments and extension.
    (
        "/api/v1/admin/rental-contracts/{id}/extend",
        "id",
        Obj::Contract,
    ),
    // i15 phase 3: customers paying installments.
    ("/api/v1/store/rentals/{id}/payments", "id", Obj::Contract),
    // i16: customers' rights (export, erasure).
    ("/api/v1/admin/customers/{id}/export", "id", Obj::Customer),
    ("/api/v1/admin/customers/{id}/erase", "id", Obj::Customer),
    // i18: staff role changes.
    ("/api/v1/admin/staff/{id}", "id", Obj::Staff),
];

fn value_of(b: &Seeded, obj: Obj) -> String {
    match obj {
        Obj::Product => b.product.clone(),
        Obj::Handle => b.handle.clone(),
        Obj::Variant => b.variant.clone(),
        Obj::Image => b.image.clone(),
        Obj::Category => b.category.clone(),
        Obj::ApiKey => b.api_key_id.clone(),
        Obj::OAuthClient => b.oauth_client_id.clone(),
        Obj::Deal => b.deal.clone(),
        Obj::Order => b.order.clone(),
        Obj::Cart => b.cart.clone(),
        Obj::CartItem => b.cart_item.clone(),
        Obj::Session => b.owner_session.clone(),
        Obj::Tenant => b.slug.clone(),
        Obj::Plan => crate::isolation_support::PLAN.to_owned(),
        // Signed by the processor, shop-less: a shop's credential is no
        // signature.
        Obj::Provider => "test".to_owned(),
        Obj::Webhook => b.webhook.clone(),
        // Every shop has the same templates; shop A sees its own branding.
        Obj::EmailTemplate => "order_placed".to_owned(),
        Obj::Job => b.job.clone(),
        Obj::RentalPlan => b.rental_plan.clone(),
        Obj::RentalUnit => b.rental_unit.clone(),
        Obj::Contract => b.contract.clone(),
        Obj::Customer => b.customer_id.clone(),
        Obj::Staff => b.clerk_id.clone(),
        Obj::Payment => b.payment.clone(),
    }
}

/// Whether the route's parameters name nothing of one shop (every shop
/// has the same email templates).
fn shared(template: &str) -> bool {
    ROUTES
        .iter()
        .filter(|(p, _, _)| *p == template)
        .all(|(_, _, o)| matches!(o, Obj::EmailTemplate))
}

/// The path parameters of a template, in order.
fn params_of(path: &str) -> Vec<&str> {
    path.split('{')
        .skip(1)
        .filter_map(|p| p.split_once('}').map(|(name, _)| name))
        .collect()
}

/// Every filled-in path for `template` from the table (each parameter's
/// values combined), or the parameters the table does not know.
fn fill(template: &str, b: &Seeded, used: &mut BTreeSet<usize>) -> Result<Vec<String>, String> {
    let mut paths = vec![template.to_owned()];
    for param in params_of(template) {
        let rows: Vec<(usize, Obj)> = ROUTES
            .iter()
            .enumerate()
            .filter(|(_, (p, n, _))| *p == template && *n == param)
            .map(|(i, (_, _, o))| (i, *o))
            .collect();
        if rows.is_empty() {
            return Err(format!("{template} {{{param}}}"));
        }
        used.extend(rows.iter().map(|(i, _)| *i));
        let hole = format!("{{{param}}}");
        paths = paths
            .iter()
            .flat_map(|p| rows.iter().map(move |(_, o)| (p, *o)))
            .map(|(p, o)| p.replace(&hole, &value_of(b, o)))
            .collect();
    }
    Ok(paths)
}

#[tokio::test]
async fn every_route_with_an_id_refuses_shop_a_callers_on_shop_b_objects() {
    let (app, a, b) = sweep_app().await;
    let secrets = distinctive(&app, &a, &b).await;
    let before = snapshot(&app, &b).await;

    let mut unknown = Vec::new();
    let mut used = BTreeSet::new();
    let mut failures = Vec::new();
    let mut sent = 0;
    for (method, template, op) in operations(&app).await {
        if !template.contains('{') {
            continue;
        }
        let paths = match fill(&template, &b, &mut used) {
            Ok(p) => p,
            Err(e) => {
                unknown.push(e);
                continue;
            }
        };
        for path in paths {
            for (who, cred) in credentials_of(&a) {
                let req = app
                    .shop(&a.slug, method.clone(), &path)
                    .header("idempotency-key", uuid::Uuid::now_v7().to_string());
                let resp = with_body(with_cred(req, &cred), &op, &b)
                    .send()
                    .await
                    .unwrap();
                sent += 1;
                let (status, text) = read(resp).await;
                // A parameter every shop shares (a template name) is A's
                // own to use: the answer must just show nothing of B's.
                let status = if shared(&template) && status == 200 {
                    404
                } else {
                    status
                };
                if let Some(wrong) = judge(status, &text, &secrets) {
                    failures.push(format!("{method} {path} as A's {who}: {wrong}"));
                }
            }
        }
    }
    assert!(
        unknown.is_empty(),
        "parameterised routes the sweep's table does not know (add them to ROUTES): {unknown:#?}"
    );
    let stale: Vec<_> = (0..ROUTES.len())
        .filter(|i| !used.contains(i))
        .map(|i| ROUTES[i])
        .collect();
    assert!(stale.is_empty(), "ROUTES rows no operation uses: {stale:?}");
    assert!(
        failures.is_empty(),
        "{} of {sent} requests were not refused cleanly:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert!(sent > 150, "the sweep sent {sent} requests");

    let after = snapshot(&app, &b).await;
    for ((path, was), (_, now)) in before.iter().zip(&after) {
        assert_eq!(was, now, "shop B's {path} changed");
    }
    rightful_callers_reach_every_object(&app, &b).await;
    app.stop().await;
}

/// The control: the same requests by B's own callers reach B's objects (no
/// 401, 403 or 404), so the refusals above are about whose objects they
/// are, not about a malformed path, body or stale id. Deletions go last,
/// the owner's own session very last.
async fn rightful_callers_reach_every_object(app: &TestApp, b: &Seeded) {
    let mut ops: Vec<_> = operations(app)
        .await
        .into_iter()
        .filter(|(_, p, _)| p.contains('{') && !p.starts_with("/api/v1/webhooks/"))
        .collect();
    ops.sort_by_key(|(m, p, _)| control_order(m, p));
    let mut failures = Vec::new();
    for (method, template, op) in ops {
        for path in fill(&template, b, &mut BTreeSet::new()).unwrap() {
            let req = if template.starts_with("/api/v1/platform/") {
                app.platform(method.clone(), &path)
            } else {
                let cred = if template.starts_with("/api/v1/store/carts/") {
                    Cred::CartToken(b.cart_token.clone())
                } else if template.starts_with("/api/v1/store/orders/")
                    || template.starts_with("/api/v1/store/rentals/")
                {
                    Cred::Bearer(b.customer.clone())
                } else if template.starts_with("/api/v1/store/") {
                    Cred::Nothing
                } else {
                    Cred::Bearer(b.owner.clone())
                };
                with_cred(app.shop(&b.slug, method.clone(), &path), &cred)
            };
            let req = req.header("idempotency-key", uuid::Uuid::now_v7().to_string());
            let resp = with_body(req, &op, b).send().await.unwrap();
            let status = resp.status().as_u16();
            if !(200..300).contains(&status) && status != 409 && status != 422 {
                let text = resp.text().await.unwrap();
                failures.push(format!(
                    "{method} {path} as B's own caller: {status} {text}"
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "B's own callers did not reach their objects:\n{}",
        failures.join("\n")
    );
}

/// When the control sends an operation: reads and edits, checkout (so a
/// cart line's deletion after it is a 409, which still shows the cart was
/// found), deletions of parts (a variant, an image), of whole objects, and
/// of the caller's own session.
fn control_order(method: &Method, path: &str) -> u8 {
    let part = path.ends_with("/variants/{id}") || path.ends_with("/images/{id}");
    match (method == Method::DELETE, path) {
        (false, p) if p.ends_with("/checkout") => 1,
        (false, _) => 0,
        (true, p) if p.ends_with("/items/{item_id}") => 2,
        (true, _) if part => 3,
        (true, p) if p.starts_with("/api/v1/auth/") => 5,
        (true, _) => 4,
    }
}

/// A request to shop `b` (named by `how`) with one of A's credentials.
fn aimed(
    app: &TestApp,
    how: &str,
    a: &Seeded,
    b: &Seeded,
    method: Method,
    path: &str,
) -> reqwest::RequestBuilder {
    let req = app.request(method, path);
    match how {
        "X-Tenant" => req.header("x-tenant", &b.slug),
        "custom domain" => req.header("host", &b.domain).header("x-tenant", &a.slug),
        "subdomain" => req
            .header("host", format!("{}.shops.example", b.slug))
            .header("x-tenant", &a.slug),
        other => panic!("{other}"),
    }
}

#[tokio::test]
async fn a_credential_of_one_shop_is_refused_in_the_shop_host_or_x_tenant_names() {
    let (app, a, b) = sweep_app().await;
    let secrets = distinctive(&app, &a, &b).await;
    let before = snapshot(&app, &b).await;
    let reads = [
        "/api/v1/admin/settings".to_owned(),
        "/api/v1/admin/products".to_owned(),
        format!("/api/v1/admin/products/{}", b.product),
        "/api/v1/admin/orders".to_owned(),
        format!("/api/v1/admin/orders/{}", b.order),
        "/api/v1/admin/staff".to_owned(),
        "/api/v1/admin/api-keys".to_owned(),
        "/api/v1/admin/oauth-clients".to_owned(),
        "/api/v1/admin/audit-log".to_owned(),
        "/api/v1/admin/events".to_owned(),
        "/api/v1/admin/payments/unmatched".to_owned(),
        "/api/v1/admin/exports/products".to_owned(),
        "/api/v1/auth/me".to_owned(),
        "/api/v1/auth/sessions".to_owned(),
        "/api/v1/store/orders".to_owned(),
        format!("/api/v1/store/orders/{}", b.order),
        format!("/api/v1/store/carts/{}", b.cart),
    ];
    let writes = [
        (
            Method::PATCH,
            format!("/api/v1/admin/products/{}", b.product),
            json!({"product": {"title": "Taken over"}}),
        ),
        (
            Method::POST,
            "/api/v1/admin/products".to_owned(),
            json!({"product": {"title": "Planted", "variants": []}}),
        ),
        (
            Method::PATCH,
            "/api/v1/admin/settings".to_owned(),
            json!({"settings": {"currency": "EUR"}}),
        ),
        (
            Method::POST,
            "/api/v1/admin/api-keys".to_owned(),
            json!({"api_key": {"name": "Backdoor", "scopes": ["catalog:read"]}}),
        ),
        (
            Method::DELETE,
            "/api/v1/auth/sessions".to_owned(),
            json!({}),
        ),
    ];
    let mut failures = Vec::new();
    let creds: Vec<_> = credentials_of(&a)
        .into_iter()
        .filter(|(_, c)| !matches!(c, Cred::Nothing | Cred::CartToken(_)))
        .collect();
    for how in ["X-Tenant", "custom domain", "subdomain"] {
        for (who, cred) in &creds {
            for path in &reads {
                let resp = with_cred(aimed(&app, how, &a, &b, Method::GET, path), cred)
                    .send()
                    .await
                    .unwrap();
                let (status, text) = read(resp).await;
                if let Some(wrong) = judge(status, &text, &secrets) {
                    failures.push(format!("GET {path} at B by {how} as A's {who}: {wrong}"));
                }
            }
            for (method, path, payload) in &writes {
                let resp = with_cred(aimed(&app, how, &a, &b, method.clone(), path), cred)
                    .json(payload)
                    .send()
                    .await
                    .unwrap();
                let (status, text) = read(resp).await;
                if let Some(wrong) = judge(status, &text, &secrets) {
                    failures.push(format!(
                        "{method} {path} at B by {how} as A's {who}: {wrong}"
                    ));
                }
            }
        }
    }

    // The other way round: B's cart token and customer session in shop A,
    // on B's cart and order, are worth nothing there.
    let b_creds = [
        ("cart token", Cred::CartToken(b.cart_token.clone())),
        ("customer session", Cred::Bearer(b.customer.clone())),
    ];
    let in_a = [
        (Method::GET, format!("/api/v1/store/carts/{}", b.cart), None),
        (
            Method::POST,
            format!("/api/v1/store/carts/{}/items", b.cart),
            Some(json!({"variant_id": b.variant, "quantity": 1})),
        ),
        (
            Method::GET,
            format!("/api/v1/store/orders/{}", b.order),
            None,
        ),
        (Method::GET, "/api/v1/store/orders".to_owned(), None),
        (Method::GET, "/api/v1/auth/me".to_owned(), None),
    ];
    for (who, cred) in &b_creds {
        for (method, path, payload) in &in_a {
            let mut req = with_cred(app.shop(&a.slug, method.clone(), path), cred);
            if let Some(p) = payload {
                req = req.json(p);
            }
            let resp = req.send().await.unwrap();
            let (status, text) = read(resp).await;
            if let Some(wrong) = judge(status, &text, &secrets) {
                failures.push(format!("{method} {path} in A with B's {who}: {wrong}"));
            }
        }
    }
    assert!(failures.is_empty(), "not refused:\n{}", failures.join("\n"));

    // Idempotency keys are the shop's own: B's key in A places A's order.
    let (cart, token) = cart_with(&app, &a.slug, &[(&a.variant, 1)]).await;
    let resp = checkout(
        &app,
        &a.slug,
        &cart,
        &token,
        &b.checkout_key,
        &checkout_body("someone@amber.example"),
    )
    .await;
    let (status, text) = read(resp).await;
    assert_eq!(status, 201, "a new order of A: {text}");
    assert_eq!(judge(404, &text, &secrets), None, "nothing of B's order");

    let after = snapshot(&app, &b).await;
    for ((path, was), (_, now)) in before.iter().zip(&after) {
        assert_eq!(was, now, "shop B's {path} changed");
    }
    app.stop().await;
}

#[tokio::test]
async fn platform_routes_refuse_every_shop_credential() {
    let (app, a, b) = sweep_app().await;
    let secrets = distinctive(&app, &a, &b).await;
    let tenants_before = app
        .platform(Method::GET, "/api/v1/platform/tenants?limit=100")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let plans_before = app
        .platform(Method::GET, "/api/v1/platform/plans")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();

    let mut failures = Vec::new();
    let mut sent = 0;
    let mut used = BTreeSet::new();
    let platform_ops: Vec<_> = operations(&app)
        .await
        .into_iter()
        .filter(|(_, p, _)| p.starts_with("/api/v1/platform/"))
        .collect();
    assert!(
        platform_ops.len() >= 7,
        "platform operations: {}",
        platform_ops.len()
    );
    let mut owners: BTreeMap<&str, Cred> = BTreeMap::new();
    owners.insert("B's staff session", Cred::Bearer(b.owner.clone()));
    owners.insert("B's API key", Cred::Bearer(b.api_key.clone()));
    for (method, template, op) in &platform_ops {
        for path in fill(template, &b, &mut used).expect("platform routes are in ROUTES") {
            let creds = credentials_of(&a)
                .into_iter()
                .map(|(w, c)| (format!("A's {w}"), c))
                .chain(owners.iter().map(|(w, c)| ((*w).to_owned(), c.clone())));
            for (who, cred) in creds {
                let req = with_cred(app.request(method.clone(), &path), &cred)
                    .header("x-tenant", &a.slug);
                let resp = with_body(req, op, &b).send().await.unwrap();
                sent += 1;
                let (status, text) = read(resp).await;
                if let Some(wrong) = judge(status, &text, &secrets) {
                    failures.push(format!("{method} {path} as {who}: {wrong}"));
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {sent} platform requests not refused:\n{}",
        failures.len(),
        failures.join("\n")
    );
    let tenants_after = app
        .platform(Method::GET, "/api/v1/platform/tenants?limit=100")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let plans_after = app
        .platform(Method::GET, "/api/v1/platform/plans")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(tenants_before, tenants_after, "no tenant made or changed");
    assert_eq!(plans_before, plans_after, "no plan made or changed");
    app.stop().await;
}

/// A query value naming shop B for each list filter the document offers.
fn b_filter(name: &str, b: &Seeded) -> Option<String> {
    Some(match name {
        "q" => "zircon secret lamp".to_owned(),
        "category" => b.category.clone(),
        "tag" => "zircontag".to_owned(),
        "customer_id" => b.customer_id.clone(),
        "email" => b.customer_email.clone(),
        "limit" => "100".to_owned(),
        _ => return None,
    })
}

#[tokio::test]
async fn shop_a_lists_searches_and_filters_show_nothing_of_shop_b() {
    let (app, a, b) = sweep_app().await;
    let secrets = distinctive(&app, &a, &b).await;
    let mut failures = Vec::new();
    let mut sent = 0;
    let lists: Vec<_> = operations(&app)
        .await
        .into_iter()
        .filter(|(m, p, _)| {
            *m == Method::GET && p.starts_with("/api/v1/") && !p.starts_with("/api/v1/platform/")
        })
        .filter(|(_, p, _)| !p.contains('{'))
        .collect();
    assert!(lists.len() >= 15, "list routes: {}", lists.len());
    for (_, path, op) in &lists {
        let query: Vec<(String, String)> = op["parameters"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|p| p["in"] == "query")
            .filter_map(|p| {
                let name = p["name"].as_str()?;
                b_filter(name, &b).map(|v| (name.to_owned(), v))
            })
            .collect();
        for (who, cred) in credentials_of(&a) {
            let resp = with_cred(app.shop(&a.slug, Method::GET, path), &cred)
                .query(&query)
                .send()
                .await
                .unwrap();
            sent += 1;
            let (status, text) = read(resp).await;
            let lower = text.to_lowercase();
            let shown: Vec<&String> = secrets.iter().filter(|s| lower.contains(*s)).collect();
            if status >= 500 || status == 400 || !shown.is_empty() {
                failures.push(format!(
                    "GET {path} {query:?} as A's {who}: {status} shows {shown:?}: {text}"
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {sent} reads of shop A showed shop B:\n{}",
        failures.len(),
        failures.join("\n")
    );
    // The same search in B finds B's product: the query is one that matches.
    let found = app
        .shop(&b.slug, Method::GET, "/api/v1/store/search")
        .query(&[("q", "zircon secret lamp")])
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        found.contains(&b.product),
        "B's search finds B's product: {found}"
    );
    app.stop().await;
}
