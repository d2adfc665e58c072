//! The operators' job screens (at the platform's host): every shop's
//! background jobs and storekeep's own upkeep (`/console/platform-jobs`,
//! the operator jobs API's listing), newest first, filtered by state and
//! by shop (its slug), keyset-paged, each row naming its shop; a job's
//! page (`/console/platform-jobs/{id}`, the shop staff's page with the
//! shop named); retry and discard as `/api/v1/platform/jobs/{id}/…`
//! allows. Every platform operator may use them (the operator API has no
//! finer permission). Through `services::jobs` with no shop scope.

use std::collections::HashMap;

use askama::Template;
use axum::Form;
use axum::extract::rejection::{FormRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;
use storekeep_domain::{JobId, JobState, PageRequest, TenantId};
use storekeep_store::StoreError;

use crate::app::AppState;
use crate::services::{ServiceError, jobs, tenants};
use crate::web::WebError;
use crate::web::console::desk::Operator;
use crate::web::console::jobs::{
    DetailPage, DetailQuery, JobDetail, MoveForm, discardable, notice, retryable,
};
use crate::web::console::page;
use crate::web::console::rentals::{Refusal, refusal};
use crate::web::pages::shopper::see_other;

const PATH: &str = "/console/platform-jobs";

/// What a job without a shop (storekeep's own upkeep) is listed under.
const PLATFORM: &str = "platform";

#[derive(Debug, Default, Deserialize)]
pub struct ListQuery {
    pub state: Option<String>,
    pub shop: Option<String>,
    pub after: Option<String>,
    pub done: Option<String>,
}

struct Row {
    id: String,
    shop: String,
    kind: String,
    queue: String,
    state: &'static str,
    attempts: String,
    run_at: String,
    last_error: String,
    can_retry: bool,
    can_discard: bool,
}

#[derive(Template)]
#[template(path = "console/jobs_platform.html")]
struct ListPage<'a> {
    csrf: &'a str,
    states: Vec<(&'static str, bool)>,
    state: &'a str,
    shop: &'a str,
    notice: Option<&'static str>,
    problem: Option<&'a str>,
    rows: Vec<Row>,
    next: Option<String>,
}

/// Each shop's slug by id, looked up once per shop on the page (a page
/// holds at most 50 jobs).
async fn slugs(
    state: &AppState,
    ids: impl Iterator<Item = TenantId>,
) -> Result<HashMap<TenantId, String>, ServiceError> {
    let mut found = HashMap::new();
    for id in ids {
        if found.contains_key(&id) {
            continue;
        }
        let slug = match tenants::find_by_id(&state.services, id).await {
            Ok(t) => t.slug.to_string(),
            // A shop gone meanwhile: its id.
            Err(ServiceError::Store(StoreError::NotFound(_))) => id.to_string(),
            Err(e) => return Err(e),
        };
        found.insert(id, slug);
    }
    Ok(found)
}

fn shop_name(slugs: &HashMap<TenantId, String>, tenant: Option<TenantId>) -> String {
    tenant.map_or_else(
        || PLATFORM.to_owned(),
        |t| slugs.get(&t).cloned().unwrap_or_else(|| t.to_string()),
    )
}

async fn list_page(
    state: &AppState,
    op: &Operator,
    status: StatusCode,
    q: ListQuery,
    refused: Option<&Refusal>,
) -> Response {
    let trimmed = |v: Option<String>| v.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty());
    let filter_state = trimmed(q.state);
    let filter_shop = trimmed(q.shop).map(|s| s.to_ascii_lowercase());
    let tenant = match &filter_shop {
        None => None,
        Some(slug) => match tenants::find(&state.services, slug).await {
            Ok(t) => Some(t.id.to_string()),
            Err(ServiceError::Store(StoreError::NotFound(_))) => {
                return page::bad_request(
                    state,
                    &op.desk,
                    "No shop has that name in its address (the shop filter takes a shop's slug).",
                );
            }
            Err(e) => return page::error(state, &op.desk, e),
        },
    };
    let filter = match jobs::filter(None, filter_state.as_deref(), None, tenant.as_deref()) {
        Ok(f) => f,
        Err(e) => return page::error(state, &op.desk, e),
    };
    let page_req = match PageRequest::new(Some(50), q.after) {
        Ok(p) => p,
        Err(m) => return page::error(state, &op.desk, WebError::BadRequest(m)),
    };
    let found = match jobs::list(&state.services, None, &filter, &page_req).await {
        Ok(f) => f,
        Err(e) => return page::error(state, &op.desk, e),
    };
    let slugs = match slugs(state, found.items.iter().filter_map(|j| j.tenant_id)).await {
        Ok(s) => s,
        Err(e) => return page::error(state, &op.desk, e),
    };
    let rows = found
        .items
        .iter()
        .map(|j| Row {
            id: j.id.to_string(),
            shop: shop_name(&slugs, j.tenant_id),
            kind: j.kind.clone(),
            queue: j.queue.clone(),
            state: j.state.as_str(),
            attempts: format!("{} of {}", j.attempt, j.max_attempts),
            run_at: page::when(j.run_at),
            last_error: j.last_error.clone().unwrap_or_default(),
            can_retry: retryable(j.state),
            can_discard: discardable(j.state),
        })
        .collect();
    let current = filter_state.unwrap_or_default();
    let shop = filter_shop.unwrap_or_default();
    let next = page::next_link(
        PATH,
        &[("state", current.as_str()), ("shop", shop.as_str())],
        found.next_cursor.as_deref(),
    );
    let csrf = op.desk.csrf(state);
    let main = ListPage {
        csrf: &csrf,
        states: JobState::ALL
            .iter()
            .map(|s| (s.as_str(), s.as_str() == current))
            .collect(),
        state: &current,
        shop: &shop,
        notice: notice(q.done.as_deref()),
        problem: refused.and_then(|r| r.top.as_deref()),
        rows,
        next,
    }
    .render();
    page::render(state, &op.desk, PATH, status, "Jobs of every shop", main)
}

/// `GET /console/platform-jobs`.
pub async fn list(
    State(state): State<AppState>,
    op: Operator,
    q: Result<Query<ListQuery>, QueryRejection>,
) -> Response {
    let Ok(Query(q)) = q else {
        return page::bad_request(&state, &op.desk, "The filter could not be read.");
    };
    list_page(&state, &op, StatusCode::OK, q, None).await
}

async fn detail_page(
    state: &AppState,
    op: &Operator,
    status: StatusCode,
    id: JobId,
    done: Option<&str>,
    refused: Option<&Refusal>,
) -> Response {
    let job = match jobs::get(&state.services, None, id).await {
        Ok(j) => j,
        Err(e) => return page::error(state, &op.desk, e),
    };
    let slugs = match slugs(state, job.tenant_id.into_iter()).await {
        Ok(s) => s,
        Err(e) => return page::error(state, &op.desk, e),
    };
    let csrf = op.desk.csrf(state);
    let title = format!("Job {}", job.kind);
    let main = DetailPage {
        csrf: &csrf,
        base: PATH,
        shop: Some(shop_name(&slugs, job.tenant_id)),
        notice: notice(done),
        problem: refused.and_then(|r| r.top.as_deref()),
        job: JobDetail::of(&job, true),
    }
    .render();
    page::render(
        state,
        &op.desk,
        &format!("{PATH}/{id}"),
        status,
        &title,
        main,
    )
}

/// `GET /console/platform-jobs/{id}`.
pub async fn detail(
    State(state): State<AppState>,
    op: Operator,
    Path(raw): Path<String>,
    q: Result<Query<DetailQuery>, QueryRejection>,
) -> Response {
    let Ok(id) = raw.parse::<JobId>() else {
        return page::error(&state, &op.desk, WebError::NotFound);
    };
    let done = q.ok().and_then(|Query(q)| q.done);
    detail_page(&state, &op, StatusCode::OK, id, done.as_deref(), None).await
}

/// `POST /console/platform-jobs/{id}/retry`.
pub async fn retry(
    State(state): State<AppState>,
    op: Operator,
    Path(raw): Path<String>,
    form: Result<Form<MoveForm>, FormRejection>,
) -> Response {
    act(state, op, raw, form, true).await
}

/// `POST /console/platform-jobs/{id}/discard`.
pub async fn discard(
    State(state): State<AppState>,
    op: Operator,
    Path(raw): Path<String>,
    form: Result<Form<MoveForm>, FormRejection>,
) -> Response {
    act(state, op, raw, form, false).await
}

async fn act(
    state: AppState,
    op: Operator,
    raw: String,
    form: Result<Form<MoveForm>, FormRejection>,
    retry: bool,
) -> Response {
    let Ok(id) = raw.parse::<JobId>() else {
        return page::error(&state, &op.desk, WebError::NotFound);
    };
    let Ok(Form(f)) = form else {
        return page::unreadable_form(&state, &op.desk);
    };
    let from_detail = f.from == "detail";
    // Only a state's name and a slug's characters go back into the link.
    let back_state = JobState::parse(f.state.trim()).map(JobState::as_str);
    let back_shop = storekeep_domain::Slug::parse(f.shop.trim())
        .ok()
        .map(|s| s.to_string());
    let (done, result) = if retry {
        ("retried", jobs::retry(&state.services, None, id).await)
    } else {
        ("discarded", jobs::discard(&state.services, None, id).await)
    };
    match result {
        Ok(_) if from_detail => see_other(&format!("{PATH}/{id}?done={done}")),
        Ok(_) => {
            let mut q = url::form_urlencoded::Serializer::new(String::new());
            if let Some(s) = back_state {
                q.append_pair("state", s);
            }
            if let Some(s) = &back_shop {
                q.append_pair("shop", s);
            }
            q.append_pair("done", done);
            see_other(&format!("{PATH}?{}", q.finish()))
        }
        Err(e) => match refusal(e) {
            Ok(r) if from_detail => detail_page(&state, &op, r.status, id, None, Some(&r)).await,
            Ok(r) => {
                let q = ListQuery {
                    state: back_state.map(str::to_owned),
                    shop: back_shop,
                    ..ListQuery::default()
                };
                list_page(&state, &op, r.status, q, Some(&r)).await
            }
            Err(e) => page::error(&state, &op.desk, e),
        },
    }
}
