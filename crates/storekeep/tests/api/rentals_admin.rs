//! Rental plans through the admin API: every input rule in one 422, PATCH
//! re-checking the whole plan, paging and filters, other shops' ids, the
//! audit trail, and permissions (catalog read and write).

use reqwest::Method;
use serde_json::json;
use storekeep_test_support::{problem, spawn_app};

use crate::catalog_support::fields;
use crate::identity::{cli_staff, token};
use crate::rentals_support::{call, ids, ok, plan, post_plan, post_unit, rental_shop};

#[tokio::test]
async fn plans_are_created_checked_changed_and_deleted() {
    let app = spawn_app().await;
    let (tok, _, v) = rental_shop(&app, "lease").await;
    let (other, _, theirs) = rental_shop(&app, "other").await;

    let created = ok(post_plan(&app, "lease", &tok, plan(&v[0])).await, 201).await;
    let p = &created["rental_plan"];
    assert_eq!(p["name"], "Laptop, rent to own");
    assert_eq!(p["term_unit"], "month");
    assert_eq!(p["maintainer"], "shop");
    assert_eq!(p["default_after_days"], 30);
    assert_eq!(
        p["price_per_period"],
        json!({"amount": 4_900, "currency": "USD"})
    );
    assert_eq!(p["deposit"], json!({"type": "percent", "bps": 1_000}));
    assert_eq!(p["active"], true);
    let id = p["id"].as_str().unwrap().to_owned();

    // Everything wrong at once: one 422 naming every field.
    let bad = json!({
        "variant_id": "not-an-id", "name": "", "kind": "lease", "term_unit": "day",
        "term": 0, "min_term": 0, "max_term": 600,
        "price_per_period": {"amount": -1, "currency": "USD"},
        "deposit": {"type": "percent", "bps": 10_001},
        "late_fee": {"type": "fixed", "amount": -5, "grace_days": 400},
        "buyout": {"type": "remaining_share", "bps": -1},
        "maintainer": "nobody", "default_after_days": 366
    });
    let p = problem(post_plan(&app, "lease", &tok, bad).await, 422).await;
    assert_eq!(
        fields(&p),
        [
            "buyout.bps",
            "default_after_days",
            "deposit.bps",
            "kind",
            "late_fee.amount",
            "late_fee.grace_days",
            "maintainer",
            "max_term",
            "min_term",
            "name",
            "price_per_period",
            "term",
            "term_unit",
            "variant_id",
        ]
    );
    // The rules between fields.
    let mut crossed = plan(&v[0]);
    crossed["min_term"] = json!(13);
    crossed["max_term"] = json!(11);
    crossed["kind"] = json!("fixed_term");
    crossed["name"] = json!("x".repeat(201));
    let p = problem(post_plan(&app, "lease", &tok, crossed).await, 422).await;
    assert_eq!(fields(&p), ["buyout", "max_term", "min_term", "name"]);
    let mut free = plan(&v[0]);
    free["price_per_period"] = json!({"amount": 0, "currency": "USD"});
    let p = problem(post_plan(&app, "lease", &tok, free).await, 422).await;
    assert_eq!(fields(&p), ["price_per_period"]);
    let mut euros = plan(&v[0]);
    euros["price_per_period"] = json!({"amount": 100, "currency": "EUR"});
    let p = problem(post_plan(&app, "lease", &tok, euros).await, 422).await;
    assert_eq!(fields(&p), ["price_per_period"]);
    // Another shop's variant is no variant of this shop.
    let p = problem(post_plan(&app, "lease", &tok, plan(&theirs[0])).await, 422).await;
    assert_eq!(fields(&p), ["variant_id"]);

    // A fixed-term plan with the defaults, on the other variant.
    let fixed = json!({
        "variant_id": v[1], "name": "Monthly", "kind": "fixed_term", "term": 3,
        "price_per_period": {"amount": 2_500, "currency": "USD"}, "term_unit": "week"
    });
    let second = ok(post_plan(&app, "lease", &tok, fixed).await, 201).await;
    let second_id = second["rental_plan"]["id"].as_str().unwrap().to_owned();
    assert_eq!(second["rental_plan"]["buyout"], json!({"type": "none"}));
    assert_eq!(
        (
            second["rental_plan"]["min_term"].clone(),
            second["rental_plan"]["max_term"].clone()
        ),
        (json!(3), json!(3))
    );

    // Lists: paged, filtered by variant.
    let list = |q: &str| format!("/api/v1/admin/rental-plans{q}");
    let first_page = ok(
        call(&app, "lease", &tok, Method::GET, &list("?limit=1"), None).await,
        200,
    )
    .await;
    assert_eq!(ids(&first_page), [id.as_str()]);
    let cursor = first_page["next_cursor"].as_str().unwrap();
    let next = ok(
        call(
            &app,
            "lease",
            &tok,
            Method::GET,
            &list(&format!("?limit=1&after={cursor}")),
            None,
        )
        .await,
        200,
    )
    .await;
    assert_eq!(ids(&next), [second_id.as_str()]);
    let of_v1 = ok(
        call(
            &app,
            "lease",
            &tok,
            Method::GET,
            &list(&format!("?variant_id={}", v[1])),
            None,
        )
        .await,
        200,
    )
    .await;
    assert_eq!(ids(&of_v1), [second_id.as_str()]);
    problem(
        call(
            &app,
            "lease",
            &tok,
            Method::GET,
            &list("?variant_id=x"),
            None,
        )
        .await,
        400,
    )
    .await;
    let theirs_list = ok(
        call(&app, "other", &other, Method::GET, &list(""), None).await,
        200,
    )
    .await;
    assert!(ids(&theirs_list).is_empty());

    // PATCH changes only what it names and re-checks the whole plan.
    let one = format!("/api/v1/admin/rental-plans/{id}");
    let patched = ok(
        call(&app, "lease", &tok, Method::PATCH, &one,
            Some(json!({"rental_plan": {"price_per_period": {"amount": 5_900, "currency": "USD"}, "maintainer": "customer"}}))).await,
        200,
    )
    .await;
    assert_eq!(patched["rental_plan"]["price_per_period"]["amount"], 5_900);
    assert_eq!(patched["rental_plan"]["maintainer"], "customer");
    assert_eq!(patched["rental_plan"]["term"], 12);
    assert_eq!(
        patched["rental_plan"]["buyout"],
        json!({"type": "cash_price_minus_rent", "bps": 5_000})
    );
    let p = problem(
        call(
            &app,
            "lease",
            &tok,
            Method::PATCH,
            &one,
            Some(json!({"rental_plan": {"kind": "fixed_term", "term": 30}})),
        )
        .await,
        422,
    )
    .await;
    assert_eq!(fields(&p), ["buyout", "max_term"]);
    let got = ok(
        call(&app, "lease", &tok, Method::GET, &one, None).await,
        200,
    )
    .await;
    assert_eq!(
        got["rental_plan"], patched["rental_plan"],
        "a refused PATCH changes nothing"
    );
    let off = ok(
        call(
            &app,
            "lease",
            &tok,
            Method::PATCH,
            &one,
            Some(json!({"rental_plan": {"active": false}})),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(off["rental_plan"]["active"], false);
    let active = ok(
        call(
            &app,
            "lease",
            &tok,
            Method::GET,
            &list("?active=true"),
            None,
        )
        .await,
        200,
    )
    .await;
    assert_eq!(ids(&active), [second_id.as_str()]);

    // Other shops' plans, unknown and malformed ids: 404, nothing changes.
    for method in [Method::GET, Method::DELETE] {
        problem(call(&app, "other", &other, method, &one, None).await, 404).await;
    }
    problem(
        call(
            &app,
            "other",
            &other,
            Method::PATCH,
            &one,
            Some(json!({"rental_plan": {"name": "Mine"}})),
        )
        .await,
        404,
    )
    .await;
    let unknown = format!("/api/v1/admin/rental-plans/{}", uuid::Uuid::now_v7());
    problem(
        call(&app, "lease", &tok, Method::GET, &unknown, None).await,
        404,
    )
    .await;
    problem(
        call(
            &app,
            "lease",
            &tok,
            Method::GET,
            "/api/v1/admin/rental-plans/nope",
            None,
        )
        .await,
        404,
    )
    .await;

    // An unused plan is deleted, and audited.
    let del = call(&app, "lease", &tok, Method::DELETE, &one, None).await;
    assert_eq!(del.status(), 204);
    problem(
        call(&app, "lease", &tok, Method::GET, &one, None).await,
        404,
    )
    .await;
    let log = ok(
        call(
            &app,
            "lease",
            &tok,
            Method::GET,
            "/api/v1/admin/audit-log?limit=200",
            None,
        )
        .await,
        200,
    )
    .await;
    let actions: Vec<&str> = log["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["action"].as_str())
        .collect();
    for a in [
        "rental_plan.create",
        "rental_plan.update",
        "rental_plan.delete",
    ] {
        assert!(actions.contains(&a), "{a} in {actions:?}");
    }
}

#[tokio::test]
async fn viewers_read_rentals_but_only_catalog_writers_change_them() {
    let app = spawn_app().await;
    let (tok, _, v) = rental_shop(&app, "perm").await;
    let created = ok(post_plan(&app, "perm", &tok, plan(&v[0])).await, 201).await;
    let plan_id = created["rental_plan"]["id"].as_str().unwrap().to_owned();
    let u = ok(
        post_unit(
            &app,
            "perm",
            &tok,
            json!({"variant_id": v[0], "serial": "SN-1"}),
        )
        .await,
        201,
    )
    .await;
    let unit_id = u["rental_unit"]["id"].as_str().unwrap().to_owned();
    cli_staff(&app, "perm", "viewer@perm.example", "viewer").await;
    let viewer = token(&app, Some("perm"), "viewer@perm.example", "staff").await;

    for path in [
        "/api/v1/admin/rental-plans".to_owned(),
        format!("/api/v1/admin/rental-plans/{plan_id}"),
        "/api/v1/admin/rental-units".to_owned(),
        format!("/api/v1/admin/rental-units/{unit_id}"),
    ] {
        ok(
            call(&app, "perm", &viewer, Method::GET, &path, None).await,
            200,
        )
        .await;
    }
    let writes = [
        (
            Method::POST,
            "/api/v1/admin/rental-plans".to_owned(),
            json!({"rental_plan": plan(&v[1])}),
        ),
        (
            Method::PATCH,
            format!("/api/v1/admin/rental-plans/{plan_id}"),
            json!({"rental_plan": {"active": false}}),
        ),
        (
            Method::DELETE,
            format!("/api/v1/admin/rental-plans/{plan_id}"),
            json!({}),
        ),
        (
            Method::POST,
            "/api/v1/admin/rental-units".to_owned(),
            json!({"rental_unit": {"variant_id": v[0], "serial": "SN-2"}}),
        ),
        (
            Method::PATCH,
            format!("/api/v1/admin/rental-units/{unit_id}"),
            json!({"rental_unit": {"notes": "x"}}),
        ),
        (
            Method::POST,
            format!("/api/v1/admin/rental-units/{unit_id}/status"),
            json!({"status": "repair"}),
        ),
    ];
    for (method, path, payload) in writes {
        problem(
            call(&app, "perm", &viewer, method, &path, Some(payload)).await,
            403,
        )
        .await;
    }
    let units = ok(
        call(
            &app,
            "perm",
            &tok,
            Method::GET,
            "/api/v1/admin/rental-units",
            None,
        )
        .await,
        200,
    )
    .await;
    assert_eq!(ids(&units), [unit_id]);
    let plan = ok(
        call(
            &app,
            "perm",
            &tok,
            Method::GET,
            &format!("/api/v1/admin/rental-plans/{plan_id}"),
            None,
        )
        .await,
        200,
    )
    .await;
    assert_eq!(plan["rental_plan"]["active"], true);
}

/// Runs one statement on the app's database (a contract row, until
/// checkout makes them).
async fn run_sql(app: &storekeep_test_support::TestApp, stmt: &str) {
    use sqlx::Connection;
    if app.db.url.starts_with("postgres") {
        let mut c = sqlx::PgConnection::connect(&app.db.url).await.unwrap();
        sqlx::query(stmt).execute(&mut c).await.unwrap();
    } else {
        let mut c = sqlx::SqliteConnection::connect(&app.db.url).await.unwrap();
        sqlx::query(stmt).execute(&mut c).await.unwrap();
    }
}

#[tokio::test]
async fn a_plan_with_a_contract_is_deactivated_not_deleted() {
    let app = spawn_app().await;
    let s = crate::commerce_support::selling_shop(&app, "used", 90_000, 5).await;
    let created = ok(
        post_plan(&app, "used", &s.token, plan(&s.variant)).await,
        201,
    )
    .await;
    let plan_id = created["rental_plan"]["id"].as_str().unwrap().to_owned();
    let order = crate::commerce_support::order_of(&app, &s, 1).await;
    let order_id = order["id"].as_str().unwrap();
    // A contract made on the plan, as checkout will write it.
    run_sql(
        &app,
        &format!(
            "INSERT INTO rental_contracts (id, tenant_id, order_id, order_line_id, plan_id, \
             variant_id, status, terms, cash_price, currency, deposit, deposit_held, term, \
             time_zone, start_date, created_at, updated_at) VALUES ('{}', \
             (SELECT tenant_id FROM rental_plans WHERE id = '{plan_id}'), '{order_id}', '{}', \
             '{plan_id}', '{}', 'active', '{{}}', 90000, 'USD', 0, 0, 12, 'UTC', '2026-11-27', \
             '2026-11-27T10:00:00Z', '2026-11-27T10:00:00Z')",
            uuid::Uuid::now_v7(),
            uuid::Uuid::now_v7(),
            s.variant
        ),
    )
    .await;

    let one = format!("/api/v1/admin/rental-plans/{plan_id}");
    let p = problem(
        call(&app, "used", &s.token, Method::DELETE, &one, None).await,
        409,
    )
    .await;
    assert!(
        p["detail"].as_str().unwrap().contains("active: false"),
        "{p}"
    );
    let still = ok(
        call(&app, "used", &s.token, Method::GET, &one, None).await,
        200,
    )
    .await;
    assert_eq!(still["rental_plan"], created["rental_plan"]);
    let off = json!({"rental_plan": {"active": false}});
    let off = ok(
        call(&app, "used", &s.token, Method::PATCH, &one, Some(off)).await,
        200,
    )
    .await;
    assert_eq!(off["rental_plan"]["active"], false);
    let listed = app
        .shop(
            "used",
            Method::GET,
            &format!("/api/v1/store/products/{}/rental-plans", s.product),
        )
        .send()
        .await
        .unwrap();
    let listed = ok(listed, 200).await;
    assert!(
        ids(&listed).is_empty(),
        "a withdrawn plan is not offered: {listed}"
    );
}
