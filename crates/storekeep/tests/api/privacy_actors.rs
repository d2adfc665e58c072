//! Who did what to a customer's orders and contracts, as a staff export
//! and the audit log say it (i16 review: "staff order status changes and
//! rental buy-outs are audited with actor `system`"). A named staff member
//! and an API key each mark an order paid, fulfil, deliver, cancel and
//! refund, and buy a rental contract out; the shop's audit log, the
//! orders' status history and the contracts' payments in the staff export
//! of the customer name them (`staff:<id>`, `api_key:<id>`), never
//! `system`.

use reqwest::Method;
use serde_json::{Value, json};
use storekeep_test_support::{TestApp, spawn_app};

use crate::catalog_support::body;
use crate::commerce_support::selling_shop;
use crate::identity::{admin, cli_staff, customer_token, token};
use crate::privacy::{customer_order, register_named};
use crate::rentals_contract_support::seed_contract;

const ANN: &str = "ann.actors@example.com";

async fn post(app: &TestApp, tok: &str, path: &str, json: Option<Value>) -> Value {
    let mut req = admin(app, "acme", tok, Method::POST, path);
    if let Some(b) = json {
        req = req.json(&b);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status();
    let b = body(resp).await;
    assert!(status == 200 || status == 201, "POST {path}: {status} {b}");
    b
}

async fn get(app: &TestApp, tok: &str, path: &str) -> Value {
    let resp = admin(app, "acme", tok, Method::GET, path)
        .send()
        .await
        .unwrap();
    let status = resp.status();
    let b = body(resp).await;
    assert_eq!(status, 200, "GET {path}: {b}");
    b
}

/// The whole audit log of the shop, newest first.
async fn audit_log(app: &TestApp, owner: &str) -> Vec<Value> {
    let mut out = Vec::new();
    let mut path = "/api/v1/admin/audit-log?limit=200".to_owned();
    loop {
        let page = get(app, owner, &path).await;
        out.extend(page["items"].as_array().unwrap().iter().cloned());
        match page["next_cursor"].as_str() {
            Some(c) => path = format!("/api/v1/admin/audit-log?limit=200&after={c}"),
            None => return out,
        }
    }
}

#[tokio::test]
async fn staff_and_api_key_actions_on_orders_and_contracts_name_who_did_them() {
    let app = spawn_app().await;
    let s = selling_shop(&app, "acme", 5_000, 40).await;
    cli_staff(&app, "acme", "clerk@acme.example", "staff").await;
    let clerk = token(&app, Some("acme"), "clerk@acme.example", "staff").await;
    let clerk_id = get(&app, &clerk, "/api/v1/auth/me").await["account"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let created = admin(
        &app,
        "acme",
        &s.token,
        Method::POST,
        "/api/v1/admin/api-keys",
    )
    .json(&json!({"api_key": {"name": "ERP", "scopes": ["orders:read", "orders:write"]}}))
    .send()
    .await
    .unwrap();
    assert_eq!(created.status(), 201);
    let created = body(created).await;
    let key = created["secret"].as_str().unwrap().to_owned();
    let key_id = created["api_key"]["id"].as_str().unwrap().to_owned();
    let as_clerk = format!("staff:{clerk_id}");
    let as_key = format!("api_key:{key_id}");

    let ann_id = register_named(&app, "acme", ANN, "Ann Actors").await;
    let ann = customer_token(&app, "acme", ANN).await;
    let order = || customer_order(&app, "acme", &ann, &s.variant, ANN, "1 Actor Street");
    let id = |o: Value| o["id"].as_str().unwrap().to_owned();
    let first = order().await;
    let total = first["total"].clone();
    let (shipped_c, cancelled_c, shipped_k, cancelled_k) = (
        id(first),
        id(order().await),
        id(order().await),
        id(order().await),
    );
    // Each order: who moved it, and to what (the status history's `to`).
    let mut expected: Vec<(String, String, Vec<&str>)> = Vec::new();
    for (tok, actor, shipped, cancelled) in [
        (&clerk, &as_clerk, &shipped_c, &cancelled_c),
        (&key, &as_key, &shipped_k, &cancelled_k),
    ] {
        let path = |a: &str| format!("/api/v1/admin/orders/{shipped}/{a}");
        post(&app, tok, &path("mark-paid"), None).await;
        post(&app, tok, &path("fulfil"), None).await;
        post(&app, tok, &path("deliver"), None).await;
        // A full refund: the order moves to refunded, by the same hand.
        post(
            &app,
            tok,
            &path("refunds"),
            Some(json!({"amount": total, "reason": "returned"})),
        )
        .await;
        let cancel = format!("/api/v1/admin/orders/{cancelled}/cancel");
        post(&app, tok, &cancel, None).await;
        expected.push((
            shipped.clone(),
            actor.clone(),
            vec!["paid", "fulfilled", "delivered", "refunded"],
        ));
        expected.push((cancelled.clone(), actor.clone(), vec!["cancelled"]));
    }

    // Two rental contracts (paid by the owner), bought out by each.
    let contract_c = seed_contract(&app, "acme", &s.token, &ann, &s.variant).await;
    let buyout = |c: &str| format!("/api/v1/admin/rental-contracts/{c}/buyout");
    post(
        &app,
        &clerk,
        &buyout(&contract_c),
        Some(json!({"reference": "till 1"})),
    )
    .await;
    let contract_k = seed_contract(&app, "acme", &s.token, &ann, &s.variant).await;
    assert_ne!(contract_c, contract_k);
    post(
        &app,
        &key,
        &buyout(&contract_k),
        Some(json!({"reference": "till 2"})),
    )
    .await;

    // The audit log names the clerk and the key.
    let log = audit_log(&app, &s.token).await;
    let actor_of = |action: &str, target: &str| -> Vec<String> {
        log.iter()
            .filter(|e| e["action"] == action && e["target"] == target)
            .map(|e| e["actor"].as_str().unwrap().to_owned())
            .collect()
    };
    for (order, actor, moves) in &expected {
        let target = format!("order:{order}");
        for to in moves.iter().filter(|&&to| to != "refunded") {
            assert_eq!(
                actor_of(&format!("order.{to}"), &target),
                [actor.as_str()],
                "order.{to} of {order}"
            );
        }
        if moves.contains(&"refunded") {
            assert_eq!(actor_of("order.refund", &target), [actor.as_str()]);
        }
    }
    for (contract, actor) in [(&contract_c, &as_clerk), (&contract_k, &as_key)] {
        let target = format!("rental_contract:{contract}");
        assert_eq!(
            actor_of("rental_contract.bought_out", &target),
            [actor.as_str()]
        );
    }
    assert!(
        log.iter().all(|e| e["actor"] != "system"),
        "no staff action is the system's: {log:?}"
    );

    // The staff export of Ann: each order's status history and each
    // contract's buy-out payment name who did them.
    let export = get(
        &app,
        &s.token,
        &format!("/api/v1/admin/customers/{ann_id}/export"),
    )
    .await;
    let export = &export["export"];
    for (order, actor, moves) in &expected {
        let o = export["orders"]
            .as_array()
            .unwrap()
            .iter()
            .find(|o| o["id"] == order.as_str())
            .unwrap_or_else(|| panic!("order {order} in the export"));
        let history: Vec<(&str, &str)> = o["transitions"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|t| !t["from"].is_null())
            .map(|t| (t["to"].as_str().unwrap(), t["actor"].as_str().unwrap()))
            .collect();
        let want: Vec<(&str, &str)> = moves.iter().map(|&to| (to, actor.as_str())).collect();
        assert_eq!(history, want, "the status history of {order}");
        for r in o["refunds"].as_array().unwrap() {
            assert_eq!(r["actor"], actor.as_str(), "the refund of {order}");
        }
    }
    for (contract, actor) in [(&contract_c, &as_clerk), (&contract_k, &as_key)] {
        let c = export["rental_contracts"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["id"] == contract.as_str())
            .unwrap_or_else(|| panic!("contract {contract} in the export"));
        let buyouts: Vec<&Value> = c["payments"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|p| p["kind"] == "buyout")
            .collect();
        assert_eq!(buyouts.len(), 1, "{c}");
        assert_eq!(
            buyouts[0]["actor"],
            actor.as_str(),
            "the buy-out of {contract}"
        );
        // The payments of the order's own settlement were the owner's
        // mark-paid, not the system's either.
        for p in c["payments"].as_array().unwrap() {
            assert!(
                p["actor"].as_str().is_some_and(|a| a != "system"),
                "payment {p} of {contract}"
            );
        }
    }
    // Ann's own view of a contract names no staff member or key.
    let resp = app
        .shop(
            "acme",
            Method::GET,
            &format!("/api/v1/store/rentals/{contract_k}"),
        )
        .bearer_auth(&ann)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let own = body(resp).await;
    let actors: Vec<&str> = own["contract"]["payments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["actor"].as_str().unwrap())
        .collect();
    assert!(
        !actors.is_empty() && actors.iter().all(|&a| a == "staff"),
        "{actors:?}"
    );

    // Ann's own views of her orders, one by one, in her list and in her
    // own export: staff moves and refunds are `staff`, her own checkout
    // is hers.
    let own_actors = |o: &Value| -> (Vec<String>, Vec<String>) {
        let moves = o["transitions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["actor"].as_str().unwrap().to_owned())
            .collect();
        let refunds = o["refunds"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["actor"].as_str().unwrap().to_owned())
            .collect();
        (moves, refunds)
    };
    let as_ann = format!("customer:{ann_id}");
    let check = |o: &Value, moves: &[&str], place: &str| {
        let (actors, refunds) = own_actors(o);
        let mut want = vec![as_ann.clone()];
        want.extend(moves.iter().map(|_| "staff".to_owned()));
        assert_eq!(actors, want, "{place}: {o}");
        assert!(refunds.iter().all(|a| a == "staff"), "{place}: {refunds:?}");
    };
    let shop_get = |path: String| {
        let (app, ann) = (&app, &ann);
        async move {
            let resp = app
                .shop("acme", Method::GET, &path)
                .bearer_auth(ann)
                .send()
                .await
                .unwrap();
            assert_eq!(resp.status(), 200, "{path}");
            body(resp).await
        }
    };
    let list = shop_get("/api/v1/store/orders?limit=50".into()).await;
    let own_export = shop_get("/api/v1/store/account/export".into()).await;
    for (order, _, moves) in &expected {
        let one = shop_get(format!("/api/v1/store/orders/{order}")).await;
        check(&one["order"], moves, "GET order");
        let find = |items: &Value| {
            items
                .as_array()
                .unwrap()
                .iter()
                .find(|o| o["id"] == order.as_str())
                .cloned()
                .unwrap_or_else(|| panic!("order {order}"))
        };
        check(&find(&list["items"]), moves, "order list");
        check(&find(&own_export["export"]["orders"]), moves, "own export");
    }
    app.stop().await;
}
