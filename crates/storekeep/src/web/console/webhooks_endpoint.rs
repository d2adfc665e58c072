//! One webhook endpoint: `/console/webhooks/{id}`. Its settings and its
//! delivery log (newest first, keyset-paged), and what staff do to it —
//! disable or enable, rotate the signing secret (the new one on the page
//! answering the post only), send a `webhook.test` event now, replay one
//! delivery's event, delete — each through the service the admin API's
//! `/api/v1/admin/webhooks/{id}…` routes use, with their permissions:
//! reading needs `settings:read`, every action `settings:write`.

use askama::Template;
use axum::Form;
use axum::extract::rejection::{FormRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;
use storekeep_domain::{PageRequest, Permission, WebhookEndpointId, WebhookStatus};
use storekeep_store::StoreError;
use storekeep_store::webhooks::TEST_EVENT;

use crate::app::AppState;
use crate::services::{ServiceError, webhooks};
use crate::web::WebError;
use crate::web::console::desk::Staff;
use crate::web::console::page::{self, when};
use crate::web::pages::shopper::see_other;
use crate::wire::webhooks::{ReplayInput, WebhookPatchInput};

/// Delivery attempts per log page.
const PAGE_SIZE: u32 = 50;

/// The page's query: the log's cursor and the notice of a finished action.
#[derive(Debug, Default, Deserialize)]
pub struct EndpointQuery {
    pub after: Option<String>,
    pub done: Option<String>,
}

/// The enable/disable form.
#[derive(Debug, Deserialize)]
pub struct StatusForm {
    #[serde(default)]
    pub status: String,
}

/// The replay form of one delivery.
#[derive(Debug, Deserialize)]
pub struct ReplayForm {
    #[serde(default)]
    pub event_id: String,
}

/// One attempt of the log.
pub struct Attempt {
    pub event_id: String,
    pub event_type: String,
    pub outcome: &'static str,
    pub attempt: i64,
    pub code: String,
    pub at: String,
    /// Whether its event can be sent again (a test ping is not kept).
    pub replayable: bool,
}

#[derive(Template)]
#[template(path = "console/webhooks_endpoint.html")]
struct EndpointPage {
    csrf: String,
    base: String,
    url: String,
    description: String,
    events: String,
    enabled: bool,
    disabled_reason: Option<String>,
    failing_since: Option<String>,
    previous_until: Option<String>,
    created: String,
    notice: Option<&'static str>,
    problem: Option<String>,
    secret: Option<String>,
    can_write: bool,
    rows: Vec<Attempt>,
    next: Option<String>,
}

fn notice(done: Option<&str>) -> Option<&'static str> {
    Some(match done? {
        "disabled" => "The endpoint was disabled: no events are sent to it.",
        "enabled" => "The endpoint was enabled: new events are sent to it again.",
        "tested" => "A test event was sent; its attempt is at the top of the log.",
        "replayed" => "The event will be sent again shortly; the attempt appears in the log.",
        _ => return None,
    })
}

/// What a post answered besides the page: a new secret, or a refusal.
#[derive(Default)]
struct Extra {
    secret: Option<String>,
    problem: Option<String>,
}

async fn endpoint_page(
    state: &AppState,
    staff: &Staff,
    id: WebhookEndpointId,
    q: &EndpointQuery,
    status: StatusCode,
    extra: Extra,
) -> Response {
    let tenant = staff.tenant().id;
    let e = match webhooks::get(&state.services, tenant, id).await {
        Ok(e) => e,
        Err(e) => return page::error(state, &staff.desk, e),
    };
    let req = PageRequest {
        limit: PAGE_SIZE,
        after: q.after.clone().filter(|a| !a.is_empty()),
    };
    let log = match webhooks::deliveries(&state.services, tenant, id, &req).await {
        Ok(l) => l,
        Err(e) => return page::error(state, &staff.desk, e),
    };
    let rows = log
        .items
        .into_iter()
        .map(|d| Attempt {
            replayable: d.event_type != TEST_EVENT,
            event_id: d.event_id,
            event_type: d.event_type,
            outcome: d.outcome.as_str(),
            attempt: d.attempt,
            code: d.status_code.map_or_else(
                || d.error.unwrap_or_else(|| "none".into()),
                |c| c.to_string(),
            ),
            at: when(d.at),
        })
        .collect();
    let base = format!("/console/webhooks/{id}");
    let now = chrono::Utc::now();
    let main = EndpointPage {
        csrf: staff.desk.csrf(state),
        url: e.url,
        description: e.description,
        events: if e.events.is_empty() {
            "every event".to_owned()
        } else {
            e.events.join(", ")
        },
        enabled: e.status == WebhookStatus::Enabled,
        disabled_reason: e.disabled_reason,
        failing_since: e.failing_since.map(when),
        previous_until: e
            .previous_secret_expires_at
            .filter(|at| *at > now)
            .map(when),
        created: when(e.created_at),
        notice: notice(q.done.as_deref()),
        problem: extra.problem,
        secret: extra.secret,
        can_write: staff.desk.can(Permission::SettingsWrite),
        rows,
        next: page::next_link(&base, &[], log.next_cursor.as_deref()),
        base: base.clone(),
    }
    .render();
    page::render(state, &staff.desk, &base, status, "Webhook endpoint", main)
}

/// The endpoint id of a path; anything else is a page that does not exist.
fn endpoint_id(raw: &str) -> Result<WebhookEndpointId, WebError> {
    raw.parse().map_err(|_| WebError::NotFound)
}

/// A refused post: the page again, with the service's words at the top
/// (422 for input, 409 for a conflict); other failures are their pages.
async fn refused(
    state: &AppState,
    staff: &Staff,
    id: WebhookEndpointId,
    e: ServiceError,
) -> Response {
    let (status, problem) = match &e {
        ServiceError::Invalid(v) => (
            StatusCode::UNPROCESSABLE_ENTITY,
            v.0.iter()
                .map(|m| {
                    let field = m.field.rsplit('.').next().unwrap_or("").replace('_', " ");
                    format!("the {field} {}", m.message)
                })
                .collect::<Vec<_>>()
                .join("; "),
        ),
        ServiceError::Store(s @ (StoreError::Invalid(_) | StoreError::Conflict { .. })) => {
            (StatusCode::CONFLICT, s.to_string())
        }
        _ => return page::error(state, &staff.desk, e),
    };
    let problem = format!("Not done: {problem}.");
    let extra = Extra {
        secret: None,
        problem: Some(problem),
    };
    endpoint_page(state, staff, id, &EndpointQuery::default(), status, extra).await
}

/// `GET /console/webhooks/{id}`.
pub async fn show(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
    q: Result<Query<EndpointQuery>, QueryRejection>,
) -> Response {
    if let Err(r) = staff.require(&state, Permission::SettingsRead) {
        return r;
    }
    let id = match endpoint_id(&id) {
        Ok(id) => id,
        Err(e) => return page::error(&state, &staff.desk, e),
    };
    let Ok(Query(q)) = q else {
        return page::bad_request(&state, &staff.desk, "This page's address is not valid.");
    };
    endpoint_page(&state, &staff, id, &q, StatusCode::OK, Extra::default()).await
}

/// `POST /console/webhooks/{id}/status`: `status=enabled|disabled`.
pub async fn set_status(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
    form: Result<Form<StatusForm>, FormRejection>,
) -> Response {
    if let Err(r) = staff.require(&state, Permission::SettingsWrite) {
        return r;
    }
    let id = match endpoint_id(&id) {
        Ok(id) => id,
        Err(e) => return page::error(&state, &staff.desk, e),
    };
    let Ok(Form(form)) = form else {
        return page::unreadable_form(&state, &staff.desk);
    };
    let input = WebhookPatchInput {
        status: Some(form.status.clone()),
        ..WebhookPatchInput::default()
    };
    match webhooks::update(
        &state.services,
        staff.tenant().id,
        id,
        &input,
        &staff.desk.audit(),
    )
    .await
    {
        Ok(e) => see_other(&format!(
            "/console/webhooks/{id}?done={}",
            e.status.as_str()
        )),
        Err(e) => refused(&state, &staff, id, e).await,
    }
}

/// `POST /console/webhooks/{id}/rotate`: a new signing secret, shown on
/// this answer only.
pub async fn rotate(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
) -> Response {
    if let Err(r) = staff.require(&state, Permission::SettingsWrite) {
        return r;
    }
    let id = match endpoint_id(&id) {
        Ok(id) => id,
        Err(e) => return page::error(&state, &staff.desk, e),
    };
    match webhooks::rotate(&state.services, staff.tenant().id, id, &staff.desk.audit()).await {
        Ok((_, secret)) => {
            let extra = Extra {
                secret: Some(secret),
                problem: None,
            };
            endpoint_page(
                &state,
                &staff,
                id,
                &EndpointQuery::default(),
                StatusCode::OK,
                extra,
            )
            .await
        }
        Err(e) => page::error(&state, &staff.desk, e),
    }
}

/// `POST /console/webhooks/{id}/test`: sends a `webhook.test` event now.
pub async fn test(State(state): State<AppState>, staff: Staff, Path(id): Path<String>) -> Response {
    if let Err(r) = staff.require(&state, Permission::SettingsWrite) {
        return r;
    }
    let id = match endpoint_id(&id) {
        Ok(id) => id,
        Err(e) => return page::error(&state, &staff.desk, e),
    };
    match webhooks::test(&state.services, staff.tenant().id, id).await {
        Ok(_) => see_other(&format!("/console/webhooks/{id}?done=tested")),
        Err(e) => page::error(&state, &staff.desk, e),
    }
}

/// `POST /console/webhooks/{id}/replay`: `event_id`, sent again as a new
/// delivery with the event's own `webhook-id`.
pub async fn replay(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
    form: Result<Form<ReplayForm>, FormRejection>,
) -> Response {
    if let Err(r) = staff.require(&state, Permission::SettingsWrite) {
        return r;
    }
    let id = match endpoint_id(&id) {
        Ok(id) => id,
        Err(e) => return page::error(&state, &staff.desk, e),
    };
    let Ok(Form(form)) = form else {
        return page::unreadable_form(&state, &staff.desk);
    };
    let Ok(event_id) = form.event_id.trim().parse() else {
        let e = storekeep_domain::ValidationErrors::single(
            "event_id",
            "is not the id of one of the shop's events",
        );
        return refused(&state, &staff, id, e.into()).await;
    };
    let input = ReplayInput {
        event_id: Some(event_id),
        since: None,
        until: None,
    };
    match webhooks::replay::replay(
        &state.services,
        staff.tenant().id,
        id,
        &input,
        &staff.desk.audit(),
    )
    .await
    {
        Ok(_) => see_other(&format!("/console/webhooks/{id}?done=replayed")),
        Err(e) => refused(&state, &staff, id, e).await,
    }
}

/// `POST /console/webhooks/{id}/delete`: the endpoint and its log go.
pub async fn delete(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
) -> Response {
    if let Err(r) = staff.require(&state, Permission::SettingsWrite) {
        return r;
    }
    let id = match endpoint_id(&id) {
        Ok(id) => id,
        Err(e) => return page::error(&state, &staff.desk, e),
    };
    match webhooks::delete(&state.services, staff.tenant().id, id, &staff.desk.audit()).await {
        Ok(()) => see_other("/console/webhooks?done=deleted"),
        Err(e) => page::error(&state, &staff.desk, e),
    }
}
