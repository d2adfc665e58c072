//! The console's background jobs screen (`/console/jobs`, `orders:read`,
//! as the admin jobs API): the shop's emails, webhook deliveries and other
//! jobs, newest first, filtered by state, each with its last error; staff
//! with `orders:write` retry a dead one or discard one, through
//! `services::jobs` (the API's rules: a move the job's state does not
//! allow is a 409). A job's own page (`/console/jobs/{id}`) shows all of
//! it but its payload, of which only [`ABOUT`]'s keys are shown: ids,
//! topics and template names, never a recipient, a device, a token or any
//! other field a job may carry (`ABOUT` is an allow-list, so a new kind's
//! fields stay hidden until they are added to it). The operators' job
//! screens (`platform_jobs.rs`) share [`JobDetail`] and its template.

use askama::Template;
use axum::Form;
use axum::extract::rejection::{FormRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;
use storekeep_domain::{Job, JobId, JobState, PageRequest, Permission};

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

/// Whether the API lets a job in `state` be retried.
pub(crate) fn retryable(state: JobState) -> bool {
    matches!(
        state,
        JobState::Dead | JobState::Discarded | JobState::Retryable
    )
}

/// Whether the API lets a job in `state` be discarded.
pub(crate) fn discardable(state: JobState) -> bool {
    matches!(
        state,
        JobState::Available | JobState::Retryable | JobState::Dead
    )
}

/// The payload keys a job's page shows, with their labels: what the job is
/// about, never whom (the jobs that send mail carry no address — they read
/// it, sealed, when they run — and an account email's device, user and
/// sealed reset token are left out). Any other key is counted, not shown.
pub(crate) const ABOUT: &[(&str, &str)] = &[
    ("topic", "Event"),
    ("template", "Email template"),
    ("reminder", "Reminder"),
    ("event_id", "Event id"),
    ("endpoint_id", "Webhook endpoint id"),
    ("contract_id", "Rental contract id"),
    ("installment_id", "Installment id"),
    ("period_start", "Period starting"),
];

/// A job as its page shows it.
pub(crate) struct JobDetail {
    pub id: String,
    pub kind: String,
    pub queue: String,
    pub state: &'static str,
    pub attempts: String,
    pub priority: i32,
    pub run_at: String,
    pub created: String,
    pub finished: String,
    pub last_error: Option<String>,
    /// Each failed attempt: (attempt, when, error).
    pub errors: Vec<(i32, String, String)>,
    /// What the job is about: (label, value), from [`ABOUT`] only.
    pub about: Vec<(&'static str, String)>,
    /// How many payload fields are not shown.
    pub hidden: usize,
    pub can_retry: bool,
    pub can_discard: bool,
}

impl JobDetail {
    pub(crate) fn of(j: &Job, can_write: bool) -> Self {
        let mut about = Vec::new();
        let mut hidden = 0;
        if let Some(fields) = j.payload.as_object() {
            for (key, value) in fields {
                let shown =
                    ABOUT
                        .iter()
                        .find(|(k, _)| k == key)
                        .and_then(|(_, label)| match value {
                            serde_json::Value::String(v) => Some((*label, v.clone())),
                            serde_json::Value::Number(n) => Some((*label, n.to_string())),
                            _ => None,
                        });
                match shown {
                    Some(pair) => about.push(pair),
                    None if value.is_null() => {}
                    None => hidden += 1,
                }
            }
        } else if !j.payload.is_null() {
            hidden = 1;
        }
        // In ABOUT's order, whatever the payload's.
        about.sort_by_key(|(label, _)| ABOUT.iter().position(|(_, l)| l == label));
        Self {
            id: j.id.to_string(),
            kind: j.kind.clone(),
            queue: j.queue.clone(),
            state: j.state.as_str(),
            attempts: format!("{} of {}", j.attempt, j.max_attempts),
            priority: j.priority,
            run_at: when(j.run_at),
            created: when(j.created_at),
            finished: j.finished_at.map(when).unwrap_or_default(),
            last_error: j.last_error.clone(),
            errors: j
                .errors
                .iter()
                .rev()
                .map(|e| (e.attempt, when(e.at), e.error.clone()))
                .collect(),
            about,
            hidden,
            can_retry: can_write && retryable(j.state),
            can_discard: can_write && discardable(j.state),
        }
    }
}

/// A job's page, for a shop's staff (`base` = `/console/jobs`) or for
/// operators (`/console/platform-jobs`, naming the job's shop).
#[derive(Template)]
#[template(path = "console/jobs_detail.html")]
pub(crate) struct DetailPage<'a> {
    pub csrf: &'a str,
    pub base: &'static str,
    /// The operators' page: the shop's slug (or "platform").
    pub shop: Option<String>,
    pub notice: Option<&'static str>,
    pub problem: Option<&'a str>,
    pub job: JobDetail,
}

#[derive(Debug, Default, Deserialize)]
pub struct DetailQuery {
    pub done: Option<String>,
}

async fn detail_page(
    state: &AppState,
    staff: &Staff,
    status: StatusCode,
    id: JobId,
    done: Option<&str>,
    refused: Option<&Refusal>,
) -> Response {
    let job = match jobs::get(&state.services, Some(staff.tenant().id), id).await {
        Ok(j) => j,
        Err(e) => return page::error(state, &staff.desk, e),
    };
    let csrf = staff.desk.csrf(state);
    let title = format!("Job {}", job.kind);
    let main = DetailPage {
        csrf: &csrf,
        base: "/console/jobs",
        shop: None,
        notice: notice(done),
        problem: refused.and_then(|r| r.top.as_deref()),
        job: JobDetail::of(&job, staff.desk.can(Permission::OrdersWrite)),
    }
    .render();
    page::render(
        state,
        &staff.desk,
        &format!("/console/jobs/{id}"),
        status,
        &title,
        main,
    )
}

/// `GET /console/jobs/{id}`: one of the shop's jobs (another shop's is
/// not found).
pub async fn detail(
    State(state): State<AppState>,
    staff: Staff,
    Path(raw): Path<String>,
    q: Result<Query<DetailQuery>, QueryRejection>,
) -> Response {
    if let Err(r) = staff.require(&state, Permission::OrdersRead) {
        return r;
    }
    let Ok(id) = raw.parse::<JobId>() else {
        return page::error(&state, &staff.desk, WebError::NotFound);
    };
    let done = q.ok().and_then(|Query(q)| q.done);
    detail_page(&state, &staff, StatusCode::OK, id, done.as_deref(), None).await
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

pub(crate) fn notice(done: Option<&str>) -> Option<&'static str> {
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
            can_retry: can_write && retryable(j.state),
            can_discard: can_write && discardable(j.state),
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
    /// `detail` when posted from the job's own page, to come back to it.
    #[serde(default)]
    pub from: String,
    /// The operators' list's shop filter, to come back to.
    #[serde(default)]
    pub shop: String,
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
    let from_detail = f.from == "detail";
    let tenant = Some(staff.tenant().id);
    let (done, result) = match m {
        Move::Retry => ("retried", jobs::retry(&state.services, tenant, id).await),
        Move::Discard => (
            "discarded",
            jobs::discard(&state.services, tenant, id).await,
        ),
    };
    match result {
        Ok(_) if from_detail => see_other(&format!("/console/jobs/{id}?done={done}")),
        Ok(_) => match back {
            Some(s) => see_other(&format!("/console/jobs?state={s}&done={done}")),
            None => see_other(&format!("/console/jobs?done={done}")),
        },
        Err(e) => match refusal(e) {
            Ok(r) if from_detail => detail_page(&state, &staff, r.status, id, None, Some(&r)).await,
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
