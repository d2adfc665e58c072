//! The console's background jobs screen: a dead job shows with its last
//! error and on the dashboard's figure; retry moves it back to available;
//! a viewer sees no button and its forged post changes nothing; another
//! shop's job is not found here.

use reqwest::{Method, StatusCode};
use serde_json::Value;
use storekeep_domain::{NewJob, TenantId};
use storekeep_store::jobs::Failure;
use storekeep_test_support::TestApp;

use crate::catalog_support::body;
use crate::console_support::{SESSION, figure, staff_console, staffed_shop, submit, web_app};
use crate::identity::admin;
use crate::web_support::get_at;

/// A queue no worker of the test server polls: a job there stays as the
/// test leaves it.
const QUEUE: &str = "console-tests";

async fn tenant_of(app: &TestApp, slug: &str) -> TenantId {
    let slug = storekeep_domain::Slug::parse(slug).unwrap();
    app.state
        .services
        .store
        .tenant_by_slug(&slug)
        .await
        .unwrap()
        .id
}

/// A job of `slug` that failed for good on its one attempt; its id.
async fn dead_job(app: &TestApp, tenant: TenantId, error: &str) -> String {
    let store = app.state.services.store.clone();
    let id = store
        .enqueue(
            &NewJob::new("email.send", serde_json::json!({"template": "receipt"}))
                .queue(QUEUE)
                .tenant(tenant)
                .max_attempts(1),
        )
        .await
        .unwrap();
    let claimed = store
        .claim(QUEUE, 1, std::time::Duration::from_secs(60), "test")
        .await
        .unwrap();
    assert_eq!(claimed.len(), 1);
    let token = claimed[0].lease_token.unwrap();
    assert!(store.fail(id, token, error, Failure::Dead).await.unwrap());
    id.to_string()
}

async fn job(app: &TestApp, slug: &str, token: &str, id: &str) -> Value {
    let resp = admin(
        app,
        slug,
        token,
        Method::GET,
        &format!("/api/v1/admin/jobs/{id}"),
    )
    .send()
    .await
    .unwrap();
    assert_eq!(resp.status(), 200);
    body(resp).await["job"].clone()
}

#[tokio::test]
async fn a_dead_job_shows_with_its_error_and_a_retry_makes_it_available() {
    let app = web_app().await;
    let owner = staffed_shop(&app, "jobs").await;
    let tenant = tenant_of(&app, "jobs").await;
    let id = dead_job(&app, tenant, "smtp: 550 mailbox unavailable").await;
    assert_eq!(job(&app, "jobs", &owner, &id).await["state"], "dead");

    // The viewer: the job and its error, no button; a forged retry is 403.
    let mut v = staff_console(&app, "jobs", "viewer").await;
    let home = v.get("/console").await;
    assert_eq!(figure(&home, "dead_jobs"), "1");
    assert!(home.body.contains("href=\"/console/jobs?state=dead\""));
    let list = v.get("/console/jobs?state=dead").await;
    assert_eq!(list.status, StatusCode::OK, "{}", list.body);
    assert!(list.body.contains(&format!("data-job=\"{id}\"")));
    assert!(list.body.contains("smtp: 550 mailbox unavailable"));
    assert!(!list.body.contains(&format!("/console/jobs/{id}/retry")));
    let forged = submit(&mut v, &list, &format!("/console/jobs/{id}/retry"), &[]).await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN, "{}", forged.body);
    assert_eq!(job(&app, "jobs", &owner, &id).await["state"], "dead");
    let cookie = format!("{SESSION}={}", v.jar[SESSION]);
    get_at(&app, &v.host, "/console/jobs", &[("cookie", &cookie)])
        .await
        .assert_safe();

    // A state that is none: 400.
    assert_eq!(
        v.get("/console/jobs?state=sleeping").await.status,
        StatusCode::BAD_REQUEST
    );

    // Staff retry it: back to available, attempts counted afresh; the
    // figure drops and the dead list is empty.
    let mut b = staff_console(&app, "jobs", "staff").await;
    let list = b.get("/console/jobs?state=dead").await;
    assert!(
        list.body
            .contains(&format!("action=\"/console/jobs/{id}/retry\""))
    );
    let done = submit(
        &mut b,
        &list,
        &format!("/console/jobs/{id}/retry"),
        &[("state", "dead")],
    )
    .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    assert_eq!(
        done.location.as_deref(),
        Some("/console/jobs?state=dead&done=retried")
    );
    let after = b.follow(done).await;
    assert!(after.body.contains("The job will run again now."));
    assert!(!after.body.contains(&format!("data-job=\"{id}\"")));
    let j = job(&app, "jobs", &owner, &id).await;
    assert_eq!(j["state"], "available");
    assert_eq!(j["attempt"], 0);
    assert_eq!(figure(&b.get("/console").await, "dead_jobs"), "0");
    let available = b.get("/console/jobs?state=available").await;
    assert!(available.body.contains(&format!("data-job=\"{id}\"")));

    // Retrying it again: the state does not allow it, 409, nothing moved.
    let again = submit(
        &mut b,
        &available,
        &format!("/console/jobs/{id}/retry"),
        &[],
    )
    .await;
    assert_eq!(again.status, StatusCode::CONFLICT, "{}", again.body);
    assert!(again.body.contains("role=\"alert\""));
    assert_eq!(job(&app, "jobs", &owner, &id).await["state"], "available");

    // Discard: gone from the queue.
    let done = submit(
        &mut b,
        &available,
        &format!("/console/jobs/{id}/discard"),
        &[],
    )
    .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    assert_eq!(job(&app, "jobs", &owner, &id).await["state"], "discarded");

    // Another shop's dead job: not found here, and left dead.
    let other_owner = staffed_shop(&app, "elsewhere").await;
    let other = tenant_of(&app, "elsewhere").await;
    let theirs = dead_job(&app, other, "webhook: 500").await;
    let list = b.get("/console/jobs").await;
    assert!(!list.body.contains(&format!("data-job=\"{theirs}\"")));
    let forged = submit(&mut b, &list, &format!("/console/jobs/{theirs}/retry"), &[]).await;
    assert_eq!(forged.status, StatusCode::NOT_FOUND, "{}", forged.body);
    assert_eq!(
        job(&app, "elsewhere", &other_owner, &theirs).await["state"],
        "dead"
    );
}

/// A dead job of `tenant` with `payload` on the test queue; its id.
async fn dead_job_with(
    app: &TestApp,
    tenant: Option<TenantId>,
    kind: &str,
    payload: Value,
    error: &str,
) -> String {
    let store = app.state.services.store.clone();
    let mut new = NewJob::new(kind, payload).queue(QUEUE).max_attempts(1);
    if let Some(t) = tenant {
        new = new.tenant(t);
    }
    let id = store.enqueue(&new).await.unwrap();
    let claimed = store
        .claim(QUEUE, 1, std::time::Duration::from_secs(60), "test")
        .await
        .unwrap();
    assert_eq!(claimed.len(), 1);
    let token = claimed[0].lease_token.unwrap();
    assert!(store.fail(id, token, error, Failure::Dead).await.unwrap());
    id.to_string()
}

fn cookie_of(b: &crate::web_browser::Browser) -> String {
    format!("{SESSION}={}", b.jar[SESSION])
}

#[tokio::test]
async fn a_jobs_page_shows_what_it_is_about_but_no_personal_data_and_retries_it() {
    let app = web_app().await;
    let owner = staffed_shop(&app, "pagejobs").await;
    let tenant = tenant_of(&app, "pagejobs").await;
    // An account email's payload (a template, a user, a device, a sealed
    // token) plus a recipient, as a careless kind might carry.
    let error = "smtp: 550 5.1.1 mailbox unavailable\n  at attempt 1 of 1: the server said no";
    let id = dead_job_with(
        &app,
        Some(tenant),
        "email.account",
        serde_json::json!({
            "template": "password_reset",
            "user_id": "0190aaaa-0000-7000-8000-000000000001",
            "device": {"agent": "Firefox on Linux", "network": "203.0.113.7"},
            "token_sealed": "v1.k1.SECRETSEALEDTOKEN",
            "to": "alice.customer@example.com",
        }),
        error,
    )
    .await;

    // Another shop's dead job (made now: a claim takes any job of the
    // test queue, and the retry below puts one back on it).
    staffed_shop(&app, "otherjobs").await;
    let theirs = dead_job(&app, tenant_of(&app, "otherjobs").await, "webhook: 500").await;

    // The list links each row to its page.
    let mut v = staff_console(&app, "pagejobs", "viewer").await;
    let list = v.get("/console/jobs").await;
    assert!(
        list.body.contains(&format!("href=\"/console/jobs/{id}\"")),
        "{}",
        list.body
    );

    // The viewer: the job in full, what it is about, nothing private, no
    // button; a forged retry with the viewer's token is 403, nothing moved.
    let page = v.get(&format!("/console/jobs/{id}")).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(page.body.contains("<h1>Job email.account</h1>"));
    assert!(page.body.contains("data-state=\"dead\""));
    assert!(page.body.contains("<dd data-attempts>1 of 1</dd>"));
    assert!(page.body.contains("<code>password_reset</code>"));
    // The whole error, both lines.
    assert!(
        page.body.contains(
            "smtp: 550 5.1.1 mailbox unavailable\n  at attempt 1 of 1: the server said no"
        )
    );
    for private in [
        "alice.customer@example.com",
        "SECRETSEALEDTOKEN",
        "203.0.113.7",
        "Firefox on Linux",
        "0190aaaa-0000-7000-8000-000000000001",
    ] {
        assert!(
            !page.body.contains(private),
            "{private} shown: {}",
            page.body
        );
    }
    assert!(page.body.contains("data-hidden=\"4\""), "{}", page.body);
    assert!(!page.body.contains(&format!("/console/jobs/{id}/retry")));
    let forged = submit(
        &mut v,
        &page,
        &format!("/console/jobs/{id}/retry"),
        &[("from", "detail")],
    )
    .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN, "{}", forged.body);
    assert_eq!(job(&app, "pagejobs", &owner, &id).await["state"], "dead");
    get_at(
        &app,
        &v.host,
        &format!("/console/jobs/{id}"),
        &[("cookie", &cookie_of(&v))],
    )
    .await
    .assert_safe();

    // Staff retry it from its page and come back to it.
    let mut b = staff_console(&app, "pagejobs", "staff").await;
    let page = b.get(&format!("/console/jobs/{id}")).await;
    assert!(
        page.body
            .contains(&format!("action=\"/console/jobs/{id}/retry\""))
    );
    let done = submit(
        &mut b,
        &page,
        &format!("/console/jobs/{id}/retry"),
        &[("from", "detail")],
    )
    .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    assert_eq!(
        done.location.as_deref(),
        Some(format!("/console/jobs/{id}?done=retried").as_str())
    );
    let after = b.follow(done).await;
    assert!(after.body.contains("The job will run again now."));
    assert!(after.body.contains("data-state=\"available\""));
    let j = job(&app, "pagejobs", &owner, &id).await;
    assert_eq!(j["state"], "available");
    assert_eq!(j["attempt"], 0);

    // Again from the page: the state refuses it, 409 on the page itself.
    let again = submit(
        &mut b,
        &after,
        &format!("/console/jobs/{id}/retry"),
        &[("from", "detail")],
    )
    .await;
    assert_eq!(again.status, StatusCode::CONFLICT, "{}", again.body);
    assert!(again.body.contains("role=\"alert\""));
    assert!(again.body.contains("<h1>Job email.account</h1>"));
    assert_eq!(
        job(&app, "pagejobs", &owner, &id).await["state"],
        "available"
    );

    // Another shop's job, and a bad id: not found.
    let page = b.get(&format!("/console/jobs/{theirs}")).await;
    assert_eq!(page.status, StatusCode::NOT_FOUND, "{}", page.body);
    assert!(!page.body.contains("webhook: 500"));
    assert_eq!(
        b.get("/console/jobs/not-a-job").await.status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn operators_see_every_shops_jobs_filter_by_shop_and_retry_them() {
    let app = web_app().await;
    let a_owner = staffed_shop(&app, "alpha").await;
    staffed_shop(&app, "beta").await;
    let a = dead_job_with(
        &app,
        Some(tenant_of(&app, "alpha").await),
        "webhook.deliver",
        serde_json::json!({"topic": "order.created", "event_id": "e-1", "endpoint_id": "w-1"}),
        "webhook: 503 from the endpoint",
    )
    .await;
    let b_job = dead_job(&app, tenant_of(&app, "beta").await, "smtp: timeout").await;
    let own = dead_job_with(
        &app,
        None,
        "jobs.prune",
        serde_json::json!({"period_start": "2026-11-28T09:00:00Z"}),
        "database is locked",
    )
    .await;

    // A shop's staff have no operator pages (at their shop's host).
    let mut staff = staff_console(&app, "alpha", "owner").await;
    for path in [
        "/console/platform-jobs".to_owned(),
        format!("/console/platform-jobs/{a}"),
        "/console/plans/default".to_owned(),
    ] {
        let p = staff.get(&path).await;
        assert_eq!(p.status, StatusCode::NOT_FOUND, "{path}: {}", p.body);
    }
    let home = staff.get("/console/jobs").await;
    let forged = submit(
        &mut staff,
        &home,
        &format!("/console/platform-jobs/{b_job}/retry"),
        &[],
    )
    .await;
    assert_eq!(forged.status, StatusCode::NOT_FOUND, "{}", forged.body);

    let mut op = crate::console_support::operator_console(&app, "ops@platform.example").await;
    let overview = op.get("/console").await;
    assert!(overview.body.contains("href=\"/console/platform-jobs\""));
    let list = op.get("/console/platform-jobs?state=dead").await;
    assert_eq!(list.status, StatusCode::OK, "{}", list.body);
    for (id, shop) in [(&a, "alpha"), (&b_job, "beta"), (&own, "platform")] {
        let row = list
            .body
            .split(&format!("<tr data-job=\"{id}\">"))
            .nth(1)
            .unwrap_or_else(|| panic!("no row {id}: {}", list.body));
        assert!(
            row.starts_with(&format!("<td data-shop=\"{shop}\">{shop}</td>")),
            "{row}"
        );
    }
    get_at(
        &app,
        &op.host,
        "/console/platform-jobs",
        &[("cookie", &cookie_of(&op))],
    )
    .await
    .assert_safe();

    // By shop: only alpha's.
    let only = op.get("/console/platform-jobs?shop=alpha").await;
    assert_eq!(only.status, StatusCode::OK, "{}", only.body);
    assert!(only.body.contains(&format!("data-job=\"{a}\"")));
    assert!(!only.body.contains(&format!("data-job=\"{b_job}\"")));
    assert!(!only.body.contains(&format!("data-job=\"{own}\"")));
    // Filters that are none: 400 pages.
    assert_eq!(
        op.get("/console/platform-jobs?shop=nosuchshop")
            .await
            .status,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        op.get("/console/platform-jobs?state=sleeping").await.status,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        op.get("/console/platform-jobs?after=garbage").await.status,
        StatusCode::BAD_REQUEST
    );

    // A job's page names its shop and shows what it is about.
    let page = op.get(&format!("/console/platform-jobs/{a}")).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(page.body.contains("<dd data-shop=\"alpha\">alpha</dd>"));
    assert!(page.body.contains("<code>order.created</code>"));
    assert!(page.body.contains("webhook: 503 from the endpoint"));
    get_at(
        &app,
        &op.host,
        &format!("/console/platform-jobs/{a}"),
        &[("cookie", &cookie_of(&op))],
    )
    .await
    .assert_safe();

    // Retry alpha's from the filtered list: back to it, the job available.
    let done = submit(
        &mut op,
        &only,
        &format!("/console/platform-jobs/{a}/retry"),
        &[("shop", "alpha"), ("state", "")],
    )
    .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    assert_eq!(
        done.location.as_deref(),
        Some("/console/platform-jobs?shop=alpha&done=retried")
    );
    assert_eq!(job(&app, "alpha", &a_owner, &a).await["state"], "available");
    // Discard the platform's own from its page.
    let page = op.get(&format!("/console/platform-jobs/{own}")).await;
    assert!(
        page.body
            .contains("<dd data-shop=\"platform\">platform</dd>")
    );
    let done = submit(
        &mut op,
        &page,
        &format!("/console/platform-jobs/{own}/discard"),
        &[("from", "detail")],
    )
    .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    let after = op.follow(done).await;
    assert!(after.body.contains("data-state=\"discarded\""));
    // Discarding it again: 409, on its page.
    let again = submit(
        &mut op,
        &after,
        &format!("/console/platform-jobs/{own}/discard"),
        &[("from", "detail")],
    )
    .await;
    assert_eq!(again.status, StatusCode::CONFLICT, "{}", again.body);
    assert_eq!(
        op.get(&format!(
            "/console/platform-jobs/{}",
            storekeep_domain::JobId::new()
        ))
        .await
        .status,
        StatusCode::NOT_FOUND
    );
}

async fn plan_limits(app: &TestApp, name: &str) -> Value {
    let list: Value = app
        .platform(Method::GET, "/api/v1/platform/plans")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    list["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == name)
        .unwrap_or_else(|| panic!("no plan {name}: {list}"))["limits"]
        .clone()
}

#[tokio::test]
async fn an_operator_lowers_a_plans_limit_and_its_shops_are_held_to_it() {
    use crate::catalog_support::{product_json, simple};
    let app = web_app().await;
    let owner = staffed_shop(&app, "planned").await;
    let created = app
        .platform(Method::POST, "/api/v1/platform/plans")
        .json(&serde_json::json!({"plan": {"name": "small", "limits": {"max_products": 10}}}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    let moved = app
        .platform(Method::PATCH, "/api/v1/platform/tenants/planned")
        .json(&serde_json::json!({"tenant": {"plan": "small"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(moved.status(), 200);
    simple(&app, "planned", &owner, "One", "P-1", 100).await;
    simple(&app, "planned", &owner, "Two", "P-2", 100).await;
    let before = plan_limits(&app, "small").await;

    let mut op = crate::console_support::operator_console(&app, "ops@platform.example").await;
    let plans = op.get("/console/plans").await;
    assert!(plans.body.contains("href=\"/console/plans/small\""));
    let page = op.get("/console/plans/small").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(
        page.body
            .contains("<span data-limit=\"max_products\">10</span>")
    );
    get_at(
        &app,
        &op.host,
        "/console/plans/small",
        &[("cookie", &cookie_of(&op))],
    )
    .await
    .assert_safe();

    // Not a number, and a negative one beside a good one: 422 beside the
    // field, nothing saved (not even the good one).
    for (field, bad) in [("max_products", "lots"), ("max_products", "-1")] {
        let refused = submit(
            &mut op,
            &page,
            "/console/plans/small",
            &[(field, bad), ("max_staff", "3")],
        )
        .await;
        assert_eq!(
            refused.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{}",
            refused.body
        );
        assert!(
            refused
                .body
                .contains("aria-invalid=\"true\" aria-describedby=\"limit-max_products-problem\""),
            "{}",
            refused.body
        );
        assert!(refused.body.contains("id=\"limit-max_products-problem\""));
        assert!(!refused.body.contains("id=\"limit-max_staff-problem\""));
        assert!(refused.body.contains("role=\"alert\""));
        assert_eq!(plan_limits(&app, "small").await, before);
    }
    let too_fast = submit(
        &mut op,
        &page,
        "/console/plans/small",
        &[("api_requests_per_minute", "60000001")],
    )
    .await;
    assert_eq!(too_fast.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        too_fast
            .body
            .contains("id=\"limit-api_requests_per_minute-problem\"")
    );
    assert_eq!(plan_limits(&app, "small").await, before);

    // Down to one product, under the two the shop has: saved; the others
    // kept; the shop's next product is refused as the plan rule says.
    let done = submit(
        &mut op,
        &page,
        "/console/plans/small",
        &[("max_products", "1"), ("max_staff", "")],
    )
    .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    assert_eq!(
        done.location.as_deref(),
        Some("/console/plans/small?done=changed")
    );
    let after = op.follow(done).await;
    assert!(after.body.contains("role=\"status\""));
    assert!(
        after
            .body
            .contains("<span data-limit=\"max_products\">1</span>")
    );
    let limits = plan_limits(&app, "small").await;
    assert_eq!(limits["max_products"], 1);
    assert_eq!(limits["max_staff"], before["max_staff"]);
    let third = admin(
        &app,
        "planned",
        &owner,
        Method::POST,
        "/api/v1/admin/products",
    )
    .json(&product_json("Three", &[("P-3", 100, 0)]))
    .send()
    .await
    .unwrap();
    let p = storekeep_test_support::problem(third, 402).await;
    assert!(p["detail"].as_str().unwrap().contains("products"), "{p}");

    // A plan that is none: 404, for the page and the post.
    assert_eq!(
        op.get("/console/plans/platinum").await.status,
        StatusCode::NOT_FOUND
    );
    let none = submit(
        &mut op,
        &page,
        "/console/plans/platinum",
        &[("max_products", "5")],
    )
    .await;
    assert_eq!(none.status, StatusCode::NOT_FOUND);
}
