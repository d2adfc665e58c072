//! The console's background jobs screen (`/console/jobs`, `orders:read`,
//! as the admin jobs API): the shop's emails, webhook deliveries and other
//! jobs, newest first, filtered by state, each with its last error; staff
//! with `orders:write` retry a dead one or discard one, through
//! `services::jobs` (the API's rules: a move the job's state does not
//! allow is a 409).

use askama::Template;
use axum::Form;
use axum::extract::rejection::{FormRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;
use storekeep_domain::{JobId, JobState, PageRequest, Permission};

use crate::app::AppState;
use crate::services::jobs;
use crate::web::WebError;
use crate::web::console::desk::Staff;
use crate::web::console::page;
use crate::web::console::rentals::{Refusal, refusal, when};
use crate::web::pages::shopper::see_other;

#[derive(Debug, Default, Deserialize)]
pub struct ListQuery {
    pub state: Option<String>,
    pub after: Option<String>,
    pub done: Option<String>,
}

pub struct JobRow {
    pub id: String,
    pub kind: String,
    pub queue: String,
    pub state: &'static str,
    pub attempts: String,
    pub run_at: String,
    pub created: String,
    pub last_error: String,
    pub can_retry: bool,
    pub can_discard: bool,
}

#[derive(Template)]
#[template(path = "console/jobs_list.html")]
struct JobsPage<'a> {
    csrf: &'a str,
    states: Vec<(&'static str, bool)>,
    state: &'a str,
    notice: Option<&'static str>,
    problem: Option<&'a str>,
    rows: Vec<JobRow>,
    next: Option<String>,
}

fn notice(done: Option<&str>) -> Option<&'static str> {
    Some(match done? {
        "retried" => "The job will run again now.",
        "discarded" => "The job was discarded.",
        _ => return None,
    })
}

async fn list_page(
    state: &AppState,
    staff: &Staff,
    status: StatusCode,
    q: ListQuery,
    refused: Option<&Refusal>,
) -> Response {
    let filter_state = q
        .state
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty());
    let filter = match jobs::filter(None, filter_state.as_deref(), None, None) {
        Ok(f) => f,
        Err(e) => return page::error(state, &staff.desk, e),
    };
    let page_req = match PageRequest::new(Some(50), q.after) {
        Ok(p) => p,
        Err(m) => return page::error(state, &staff.desk, WebError::BadRequest(m)),
    };
    let tenant = Some(staff.tenant().id);
    let found = match jobs::list(&state.services, tenant, &filter, &page_req).await {
        Ok(f) => f,
        Err(e) => return page::error(state, &staff.desk, e),
    };
    let can_write = staff.desk.can(Permission::OrdersWrite);
    let rows = found
        .items
        .iter()
        .map(|j| JobRow {
            id: j.id.to_string(),
            kind: j.kind.clone(),
            queue: j.queue.clone(),
            state: j.state.as_str(),
            attempts: format!("{} of {}", j.attempt, j.max_attempts),
            run_at: when(j.run_at),
            created: when(j.created_at),
            last_error: j.last_error.clone().unwrap_or_default(),
            can_retry: can_write
                && matches!(
                    j.state,
                    JobState::Dead | JobState::Discarded | JobState::Retryable
                ),
            can_discard: can_write
                && matches!(
                    j.state,
                    JobState::Available | JobState::Retryable | JobState::Dead
                ),
        })
        .collect();
    let current = filter_state.unwrap_or_default();
    let next = page::next_link(
        "/console/jobs",
        &[("state", current.as_str())],
        found.next_cursor.as_deref(),
    );
    let csrf = staff.desk.csrf(state);
    let main = JobsPage {
        csrf: &csrf,
        states: JobState::ALL
            .iter()
            .map(|s| (s.as_str(), s.as_str() == current))
            .collect(),
        state: &current,
        notice: notice(q.done.as_deref()),
        problem: refused.and_then(|r| r.top.as_deref()),
        rows,
        next,
    }
    .render();
    page::render(
        state,
        &staff.desk,
        "/console/jobs",
        status,
        "Background jobs",
        main,
    )
}

/// `GET /console/jobs`.
pub async fn list(
    State(state): State<AppState>,
    staff: Staff,
    q: Result<Query<ListQuery>, QueryRejection>,
) -> Response {
    if let Err(r) = staff.require(&state, Permission::OrdersRead) {
        return r;
    }
    let Ok(Query(q)) = q else {
        return page::bad_request(&state, &staff.desk, "The filter could not be read.");
    };
    list_page(&state, &staff, StatusCode::OK, q, None).await
}

#[derive(Debug, Default, Deserialize)]
pub struct MoveForm {
    /// The list's state filter, to come back to.
    #[serde(default)]
    pub state: String,
}

/// `POST /console/jobs/{id}/retry`.
pub async fn retry(
    State(state): State<AppState>,
    staff: Staff,
    Path(raw): Path<String>,
    form: Result<Form<MoveForm>, FormRejection>,
) -> Response {
    act(state, staff, raw, form, Move::Retry).await
}

/// `POST /console/jobs/{id}/discard`.
pub async fn discard(
    State(state): State<AppState>,
    staff: Staff,
    Path(raw): Path<String>,
    form: Result<Form<MoveForm>, FormRejection>,
) -> Response {
    act(state, staff, raw, form, Move::Discard).await
}

#[derive(Clone, Copy)]
enum Move {
    Retry,
    Discard,
}

async fn act(
    state: AppState,
    staff: Staff,
    raw: String,
    form: Result<Form<MoveForm>, FormRejection>,
    m: Move,
) -> Response {
    if let Err(r) = staff.require(&state, Permission::OrdersWrite) {
        return r;
    }
    let Ok(id) = raw.parse::<JobId>() else {
        return page::error(&state, &staff.desk, WebError::NotFound);
    };
    let Ok(Form(f)) = form else {
        return page::unreadable_form(&state, &staff.desk);
    };
    // Only a state's name goes back into the link.
    let back = JobState::parse(f.state.trim()).map(JobState::as_str);
    let tenant = Some(staff.tenant().id);
    let (done, result) = match m {
        Move::Retry => ("retried", jobs::retry(&state.services, tenant, id).await),
        Move::Discard => (
            "discarded",
            jobs::discard(&state.services, tenant, id).await,
        ),
    };
    match result {
        Ok(_) => match back {
            Some(s) => see_other(&format!("/console/jobs?state={s}&done={done}")),
            None => see_other(&format!("/console/jobs?done={done}")),
        },
        Err(e) => match refusal(e) {
            Ok(r) => {
                let q = ListQuery {
                    state: back.map(str::to_owned),
                    ..ListQuery::default()
                };
                list_page(&state, &staff, r.status, q, Some(&r)).await
            }
            Err(e) => page::error(&state, &staff.desk, e),
        },
    }
}
