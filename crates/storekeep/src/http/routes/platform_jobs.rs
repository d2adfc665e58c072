//! `/api/v1/platform/jobs`: every shop's background jobs (and storekeep's
//! own upkeep) for platform operators: list, show, retry, discard.

use axum::extract::{Path, State};
use storekeep_domain::{JobId, PageRequest};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::app::AppState;
use crate::http::error::{ApiError, ApiResult};
use crate::http::extract::{Json, PlatformOperator, Query};
use crate::http::routes::path_id;
use crate::services::jobs;
use crate::wire::jobs::{JobBody, JobPage, PlatformJobQuery};
use crate::wire::problem::Problem;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(platform_list_jobs))
        .routes(routes!(platform_get_job))
        .routes(routes!(platform_retry_job))
        .routes(routes!(platform_discard_job))
}

/// Every job, newest first, filtered.
#[utoipa::path(get, path = "/api/v1/platform/jobs", tag = "platform",
    security(("platform_token" = [])), params(PlatformJobQuery),
    responses((status = 200, body = JobPage), (status = 400, body = Problem),
        (status = 401, body = Problem)))]
async fn platform_list_jobs(
    _op: PlatformOperator,
    State(state): State<AppState>,
    Query(q): Query<PlatformJobQuery>,
) -> ApiResult<Json<JobPage>> {
    let filter = jobs::filter(q.queue, q.state.as_deref(), q.kind, q.tenant.as_deref())?;
    let page = PageRequest::new(q.limit, q.after).map_err(ApiError::BadRequest)?;
    let found = jobs::list(&state.services, None, &filter, &page).await?;
    Ok(Json(JobPage {
        items: found.items,
        next_cursor: found.next_cursor,
    }))
}

/// One job, with its error history.
#[utoipa::path(get, path = "/api/v1/platform/jobs/{id}", tag = "platform",
    security(("platform_token" = [])), params(("id" = String, Path)),
    responses((status = 200, body = JobBody), (status = 401, body = Problem),
        (status = 404, body = Problem)))]
async fn platform_get_job(
    _op: PlatformOperator,
    State(state): State<AppState>,
    Path(raw): Path<String>,
) -> ApiResult<Json<JobBody>> {
    let id: JobId = path_id(&raw, "job")?;
    Ok(Json(JobBody {
        job: jobs::get(&state.services, None, id).await?,
    }))
}

/// Runs a dead, discarded or retryable job again now; any other state is
/// a 409.
#[utoipa::path(post, path = "/api/v1/platform/jobs/{id}/retry", tag = "platform",
    security(("platform_token" = [])), params(("id" = String, Path)),
    responses((status = 200, body = JobBody), (status = 401, body = Problem),
        (status = 404, body = Problem), (status = 409, body = Problem)))]
async fn platform_retry_job(
    _op: PlatformOperator,
    State(state): State<AppState>,
    Path(raw): Path<String>,
) -> ApiResult<Json<JobBody>> {
    let id: JobId = path_id(&raw, "job")?;
    Ok(Json(JobBody {
        job: jobs::retry(&state.services, None, id).await?,
    }))
}

/// Gives up a waiting or dead job; a running or finished one is a 409.
#[utoipa::path(post, path = "/api/v1/platform/jobs/{id}/discard", tag = "platform",
    security(("platform_token" = [])), params(("id" = String, Path)),
    responses((status = 200, body = JobBody), (status = 401, body = Problem),
        (status = 404, body = Problem), (status = 409, body = Problem)))]
async fn platform_discard_job(
    _op: PlatformOperator,
    State(state): State<AppState>,
    Path(raw): Path<String>,
) -> ApiResult<Json<JobBody>> {
    let id: JobId = path_id(&raw, "job")?;
    Ok(Json(JobBody {
        job: jobs::discard(&state.services, None, id).await?,
    }))
}
