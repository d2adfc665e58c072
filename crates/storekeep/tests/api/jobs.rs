//! Background jobs through HTTP: staff see and move their shop's jobs only,
//! platform operators everyone's; a dead job retried runs again; retrying
//! or discarding a job in the wrong state is a 409; the runner's figures
//! show in the detailed health.

use reqwest::Method;
use serde_json::Value;
use storekeep_domain::{NewJob, TenantId};
use storekeep_test_support::{TestApp, problem, spawn_app_with};

use crate::catalog_support::{body, shop};
use crate::identity::admin;

async fn app() -> TestApp {
    spawn_app_with(|s| {
        s.jobs.poll_interval = std::time::Duration::from_millis(50);
        s.order_expiry_interval = std::time::Duration::from_millis(300);
    })
    .await
}

async fn staff(
    app: &TestApp,
    slug: &str,
    token: &str,
    method: Method,
    path: &str,
) -> reqwest::Response {
    admin(app, slug, token, method, path).send().await.unwrap()
}

/// Polls the shop's job until `done` holds.
async fn wait_for(
    app: &TestApp,
    slug: &str,
    token: &str,
    id: &str,
    done: impl Fn(&Value) -> bool,
) -> Value {
    for _ in 0..200 {
        let resp = staff(
            app,
            slug,
            token,
            Method::GET,
            &format!("/api/v1/admin/jobs/{id}"),
        )
        .await;
        assert_eq!(resp.status(), 200);
        let job = body(resp).await["job"].clone();
        if done(&job) {
            return job;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("job {id} never got there");
}

#[tokio::test]
async fn a_dead_job_is_listed_and_a_retry_runs_it_again() {
    let app = app().await;
    let (token, tenant) = shop(&app, "deadjobs", None).await;
    let tenant: TenantId = tenant["id"].as_str().unwrap().parse().unwrap();
    // A job of a kind this build has no handler for (as from a newer
    // node), allowed one attempt: it dies on its first run.
    let id = app
        .state
        .services
        .jobs
        .enqueue(
            NewJob::new("report.build", serde_json::json!({"week": 47}))
                .tenant(tenant)
                .max_attempts(1),
        )
        .await
        .unwrap()
        .to_string();

    let dead = wait_for(&app, "deadjobs", &token, &id, |j| j["state"] == "dead").await;
    assert_eq!(dead["attempt"], 1);
    assert!(
        dead["last_error"]
            .as_str()
            .unwrap()
            .contains("no handler for kind report.build")
    );
    assert_eq!(dead["errors"].as_array().unwrap().len(), 1);
    assert!(
        dead.get("lease_token").is_none(),
        "the lease token stays inside"
    );
    let listed = body(
        staff(
            &app,
            "deadjobs",
            &token,
            Method::GET,
            "/api/v1/admin/jobs?state=dead",
        )
        .await,
    )
    .await;
    let ids: Vec<&str> = listed["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|j| j["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [id.as_str()]);

    let resp = staff(
        &app,
        "deadjobs",
        &token,
        Method::POST,
        &format!("/api/v1/admin/jobs/{id}/retry"),
    )
    .await;
    assert_eq!(resp.status(), 200);
    assert_eq!(body(resp).await["job"]["attempt"], 0);

    // It ran again (and, still without a handler, died again).
    let again = wait_for(&app, "deadjobs", &token, &id, |j| {
        j["state"] == "dead" && j["errors"].as_array().unwrap().len() == 2
    })
    .await;
    assert_eq!(again["attempt"], 1);
}

#[tokio::test]
async fn staff_see_only_their_shops_jobs_and_wrong_moves_are_conflicts() {
    let app = app().await;
    let (token, a) = shop(&app, "jobs-a", None).await;
    let (_, b) = shop(&app, "jobs-b", None).await;
    let later = storekeep_store::now() + chrono::Duration::hours(1);
    let enqueue = |t: &Value| {
        let t: TenantId = t["id"].as_str().unwrap().parse().unwrap();
        NewJob::new("report.build", serde_json::json!({}))
            .tenant(t)
            .run_at(later)
    };
    let mine = app
        .state
        .services
        .jobs
        .enqueue(enqueue(&a))
        .await
        .unwrap()
        .to_string();
    let theirs = app
        .state
        .services
        .jobs
        .enqueue(enqueue(&b))
        .await
        .unwrap()
        .to_string();

    let listed = body(staff(&app, "jobs-a", &token, Method::GET, "/api/v1/admin/jobs").await).await;
    let ids: Vec<&str> = listed["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|j| j["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids,
        [mine.as_str()],
        "neither the other shop's jobs nor storekeep's own"
    );
    for path in [
        format!("/api/v1/admin/jobs/{theirs}"),
        "/api/v1/admin/jobs/not-an-id".to_owned(),
        format!("/api/v1/admin/jobs/{}", uuid::Uuid::now_v7()),
    ] {
        problem(staff(&app, "jobs-a", &token, Method::GET, &path).await, 404).await;
    }
    problem(
        staff(
            &app,
            "jobs-a",
            &token,
            Method::POST,
            &format!("/api/v1/admin/jobs/{theirs}/discard"),
        )
        .await,
        404,
    )
    .await;
    let bad = problem(
        staff(
            &app,
            "jobs-a",
            &token,
            Method::GET,
            "/api/v1/admin/jobs?state=sleeping",
        )
        .await,
        400,
    )
    .await;
    assert!(
        bad["detail"]
            .as_str()
            .unwrap()
            .contains("state must be one of")
    );
    // An empty filter filters nothing.
    let all = body(
        staff(
            &app,
            "jobs-a",
            &token,
            Method::GET,
            "/api/v1/admin/jobs?state=&queue=&kind=",
        )
        .await,
    )
    .await;
    assert_eq!(all["items"].as_array().unwrap().len(), 1);

    // A scheduled job cannot be retried (it waits already), but can be
    // discarded, once.
    let p = problem(
        staff(
            &app,
            "jobs-a",
            &token,
            Method::POST,
            &format!("/api/v1/admin/jobs/{mine}/retry"),
        )
        .await,
        409,
    )
    .await;
    assert!(
        p["detail"]
            .as_str()
            .unwrap()
            .contains("only a dead, discarded or retryable job can be retried"),
        "{p}"
    );
    let resp = staff(
        &app,
        "jobs-a",
        &token,
        Method::POST,
        &format!("/api/v1/admin/jobs/{mine}/discard"),
    )
    .await;
    assert_eq!(resp.status(), 200);
    assert_eq!(body(resp).await["job"]["state"], "discarded");
    problem(
        staff(
            &app,
            "jobs-a",
            &token,
            Method::POST,
            &format!("/api/v1/admin/jobs/{mine}/discard"),
        )
        .await,
        409,
    )
    .await;
    let other = app.state.services.jobs.enqueue(enqueue(&b)).await.unwrap();
    assert_ne!(other.to_string(), theirs);
}

#[tokio::test]
async fn operators_see_every_job_and_a_completed_one_cannot_be_retried() {
    let app = app().await;
    // The order-expiry sweep is a periodic job of the runner.
    let mut done: Option<Value> = None;
    for _ in 0..100 {
        let resp = app
            .platform(
                Method::GET,
                "/api/v1/platform/jobs?kind=orders.expire&state=completed",
            )
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200);
        let page = body(resp).await;
        if let Some(j) = page["items"].as_array().unwrap().first() {
            done = Some(j.clone());
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let done = done.expect("the periodic expiry job ran");
    assert_eq!(done["queue"], "maintenance");
    assert!(
        done["unique_key"]
            .as_str()
            .unwrap()
            .starts_with("periodic:orders.expire:")
    );
    let id = done["id"].as_str().unwrap();

    let resp = app
        .platform(Method::POST, &format!("/api/v1/platform/jobs/{id}/retry"))
        .send()
        .await
        .unwrap();
    let p = problem(resp, 409).await;
    assert!(p["detail"].as_str().unwrap().contains("can be retried"));
    let shown = app
        .platform(Method::GET, &format!("/api/v1/platform/jobs/{id}"))
        .send()
        .await
        .unwrap();
    assert_eq!(body(shown).await["job"]["state"], "completed");
    let bad = app
        .platform(Method::GET, "/api/v1/platform/jobs?tenant=nope")
        .send()
        .await
        .unwrap();
    problem(bad, 400).await;
    // No platform token, no jobs.
    let anon = app
        .client
        .get(format!("http://{}/api/v1/platform/jobs", app.addr))
        .send()
        .await
        .unwrap();
    assert_eq!(anon.status(), 401);

    // The runner's figures are in the detailed health.
    let mut queues = Value::Null;
    for _ in 0..300 {
        let health = body(
            app.platform(Method::GET, "/api/health/detailed")
                .send()
                .await
                .unwrap(),
        )
        .await;
        if health["jobs"].is_array() {
            queues = health["jobs"].clone();
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(queues.is_array(), "jobs figures in the detailed health");
}
