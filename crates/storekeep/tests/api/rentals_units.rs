//! Serial-tracked rental units through the admin API (unique serials per
//! shop, staff status moves with contract moves refused, the history, other
//! shops' ids), and the storefront's view of a product's rental plans.

use reqwest::Method;
use serde_json::json;
use storekeep_test_support::{problem, spawn_app};

use crate::catalog_support::fields;
use crate::rentals_support::{call, ids, move_unit, ok, plan, post_plan, post_unit, rental_shop};

#[tokio::test]
async fn units_are_tracked_by_serial_with_a_history() {
    let app = spawn_app().await;
    let (tok, _, v) = rental_shop(&app, "units").await;
    let (other, _, theirs) = rental_shop(&app, "other").await;

    let unit = |serial: &str, variant: &str| json!({"variant_id": variant, "serial": serial});
    let first = ok(
        post_unit(&app, "units", &tok, unit(" C02-001 ", &v[0])).await,
        201,
    )
    .await;
    let first = first["rental_unit"].clone();
    assert_eq!(first["serial"], "C02-001");
    assert_eq!(
        (first["status"].as_str(), first["condition"].as_str()),
        (Some("available"), Some("a"))
    );
    let id = first["id"].as_str().unwrap().to_owned();
    let mut graded = unit("C02-002", &v[0]);
    graded["condition"] = json!("b");
    graded["notes"] = json!("small dent");
    let second = ok(post_unit(&app, "units", &tok, graded).await, 201).await;
    let second_id = second["rental_unit"]["id"].as_str().unwrap().to_owned();
    let third = ok(
        post_unit(&app, "units", &tok, unit("C02-003", &v[1])).await,
        201,
    )
    .await;
    let third_id = third["rental_unit"]["id"].as_str().unwrap().to_owned();

    // A serial once per shop (after trimming); another shop may reuse it.
    let p = problem(
        post_unit(&app, "units", &tok, unit("C02-001  ", &v[1])).await,
        409,
    )
    .await;
    assert!(p["detail"].as_str().unwrap().contains("serial"), "{p}");
    ok(
        post_unit(&app, "other", &other, unit("C02-001", &theirs[0])).await,
        201,
    )
    .await;
    // Bad input, every problem at once.
    let bad = json!({"variant_id": theirs[0], "serial": "bad\u{7}serial", "condition": "z", "notes": "n".repeat(2_001)});
    let p = problem(post_unit(&app, "units", &tok, bad).await, 422).await;
    assert_eq!(fields(&p), ["condition", "notes", "serial", "variant_id"]);
    for serial in [String::new(), "   ".into(), "s".repeat(101)] {
        let p = problem(
            post_unit(&app, "units", &tok, unit(&serial, &v[0])).await,
            422,
        )
        .await;
        assert_eq!(fields(&p), ["serial"]);
    }

    // Staff moves, and the ones only contracts make.
    let one = format!("/api/v1/admin/rental-units/{id}");
    let moved = ok(
        move_unit(
            &app,
            "units",
            &tok,
            &id,
            json!({"status": "repair", "note": "cracked screen"}),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(moved["rental_unit"]["status"], "repair");
    for to in ["rented", "sold"] {
        let p = problem(
            move_unit(&app, "units", &tok, &id, json!({"status": to})).await,
            409,
        )
        .await;
        assert!(p["detail"].as_str().unwrap().contains("contract"), "{p}");
    }
    let p = problem(
        move_unit(&app, "units", &tok, &id, json!({"status": "inspection"})).await,
        409,
    )
    .await;
    assert!(p["detail"].as_str().unwrap().contains("cannot move"), "{p}");
    let p = problem(
        move_unit(
            &app,
            "units",
            &tok,
            &id,
            json!({"status": "lost", "condition": "d"}),
        )
        .await,
        422,
    )
    .await;
    assert_eq!(fields(&p), ["condition", "status"]);
    let back = ok(
        move_unit(
            &app,
            "units",
            &tok,
            &id,
            json!({"status": "available", "condition": "b", "note": "new screen"}),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(
        (
            back["rental_unit"]["status"].as_str(),
            back["rental_unit"]["condition"].as_str()
        ),
        (Some("available"), Some("b"))
    );
    ok(
        move_unit(
            &app,
            "units",
            &tok,
            &third_id,
            json!({"status": "retired", "note": "water damage"}),
        )
        .await,
        200,
    )
    .await;
    problem(
        move_unit(
            &app,
            "units",
            &tok,
            &third_id,
            json!({"status": "available"}),
        )
        .await,
        409,
    )
    .await;
    let edited = ok(
        call(
            &app,
            "units",
            &tok,
            Method::PATCH,
            &one,
            Some(json!({"rental_unit": {"notes": "keyboard replaced"}})),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(edited["rental_unit"]["notes"], "keyboard replaced");
    assert_eq!(edited["rental_unit"]["condition"], "b");

    // The history, newest first, with who did it.
    let detail = ok(
        call(&app, "units", &tok, Method::GET, &one, None).await,
        200,
    )
    .await;
    let history = detail["history"].as_array().unwrap();
    let kinds: Vec<&str> = history
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["updated", "repaired", "updated", "added"]);
    assert_eq!(history[0]["note"], "keyboard replaced");
    assert_eq!(
        (
            history[1]["note"].as_str(),
            history[1]["condition"].as_str()
        ),
        (Some("new screen"), Some("b"))
    );
    assert_eq!(history[2]["note"], "cracked screen");
    let me = crate::catalog_support::actor_of(&app, "units", &tok).await;
    assert_eq!(
        format!("staff:{}", history[0]["actor_id"].as_str().unwrap()),
        me
    );

    // Lists: filters and pages.
    let list = |q: &str| format!("/api/v1/admin/rental-units{q}");
    let get = |q: String| {
        let app = &app;
        let tok = &tok;
        async move { ok(call(app, "units", tok, Method::GET, &q, None).await, 200).await }
    };
    assert_eq!(
        ids(&get(list("")).await),
        [id.clone(), second_id.clone(), third_id.clone()]
    );
    assert_eq!(
        ids(&get(list("?status=retired")).await),
        [third_id.as_str()]
    );
    assert_eq!(
        ids(&get(list(&format!("?variant_id={}&condition=b", v[0]))).await),
        [id.clone(), second_id.clone()]
    );
    assert_eq!(
        ids(&get(list("?status=available&condition=a")).await),
        Vec::<String>::new()
    );
    let page = get(list("?limit=2")).await;
    assert_eq!(ids(&page), [id.clone(), second_id.clone()]);
    let rest = get(list(&format!(
        "?limit=2&after={}",
        page["next_cursor"].as_str().unwrap()
    )))
    .await;
    assert_eq!(ids(&rest), [third_id.as_str()]);
    for q in [
        "?status=lost",
        "?condition=z",
        "?variant_id=x",
        "?colour=red",
    ] {
        problem(
            call(&app, "units", &tok, Method::GET, &list(q), None).await,
            400,
        )
        .await;
    }

    // Another shop's unit is not found, and stays as it was.
    problem(
        call(&app, "other", &other, Method::GET, &one, None).await,
        404,
    )
    .await;
    problem(
        call(
            &app,
            "other",
            &other,
            Method::PATCH,
            &one,
            Some(json!({"rental_unit": {"notes": "mine"}})),
        )
        .await,
        404,
    )
    .await;
    problem(
        move_unit(&app, "other", &other, &id, json!({"status": "repair"})).await,
        404,
    )
    .await;
    let after = ok(
        call(&app, "units", &tok, Method::GET, &one, None).await,
        200,
    )
    .await;
    assert_eq!(after, detail);
}

#[tokio::test]
async fn the_storefront_lists_a_published_products_active_plans_with_units() {
    let app = spawn_app().await;
    let (tok, product, v) = rental_shop(&app, "front").await;
    let (other, _, _) = rental_shop(&app, "other").await;
    let monthly = ok(post_plan(&app, "front", &tok, plan(&v[0])).await, 201).await;
    let mut hidden = plan(&v[0]);
    hidden["active"] = json!(false);
    ok(post_plan(&app, "front", &tok, hidden).await, 201).await;
    let weekly = json!({
        "variant_id": v[1], "name": "Weekly", "kind": "fixed_term", "term": 4, "term_unit": "week",
        "price_per_period": {"amount": 1_500, "currency": "USD"}
    });
    let weekly = ok(post_plan(&app, "front", &tok, weekly).await, 201).await;
    for serial in ["A-1", "A-2", "A-3"] {
        ok(
            post_unit(
                &app,
                "front",
                &tok,
                json!({"variant_id": v[0], "serial": serial}),
            )
            .await,
            201,
        )
        .await;
    }
    let units = ok(
        call(
            &app,
            "front",
            &tok,
            Method::GET,
            "/api/v1/admin/rental-units?limit=1",
            None,
        )
        .await,
        200,
    )
    .await;
    let in_repair = ids(&units)[0].clone();
    ok(
        move_unit(&app, "front", &tok, &in_repair, json!({"status": "repair"})).await,
        200,
    )
    .await;

    let read = |path: String| {
        let app = &app;
        async move { app.shop("front", Method::GET, &path).send().await.unwrap() }
    };
    let id = product["id"].as_str().unwrap();
    for key in [id, product["handle"].as_str().unwrap()] {
        let list = ok(
            read(format!("/api/v1/store/products/{key}/rental-plans")).await,
            200,
        )
        .await;
        let items = list["items"].as_array().unwrap();
        assert_eq!(items.len(), 2, "{list}");
        assert_eq!(items[0]["id"], monthly["rental_plan"]["id"]);
        assert_eq!(items[0]["available_units"], 2);
        assert_eq!(
            items[0]["price_per_period"],
            json!({"amount": 4_900, "currency": "USD"})
        );
        assert_eq!(
            items[0]["buyout"],
            json!({"type": "cash_price_minus_rent", "bps": 5_000})
        );
        assert!(items[0].get("active").is_none());
        assert_eq!(items[1]["id"], weekly["rental_plan"]["id"]);
        assert!(
            items[1]["available_units"].is_null(),
            "no units: the variant's stock applies"
        );
    }
    // Another shop, and an unpublished product: not found.
    let resp = app
        .shop(
            "other",
            Method::GET,
            &format!("/api/v1/store/products/{id}/rental-plans"),
        )
        .send()
        .await
        .unwrap();
    problem(resp, 404).await;
    let _ = other;
    crate::catalog_support::patch_product(&app, "front", &tok, id, json!({"status": "draft"}))
        .await;
    problem(
        read(format!("/api/v1/store/products/{id}/rental-plans")).await,
        404,
    )
    .await;
}
