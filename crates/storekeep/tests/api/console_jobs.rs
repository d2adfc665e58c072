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
