//! `/api/v1/admin/jobs`: the shop's background jobs (its emails, webhook
//! deliveries…): list, show, retry a dead one, discard one. Reading needs
//! `orders:read`, retrying and discarding `orders:write`: a shop's jobs
//! carry its order events to customers and integrations.

use axum::extract::{Path, State};
use storekeep_domain::{JobId, PageRequest};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::app::AppState;
use crate::http::authz::AdminActor;
use crate::http::error::{ApiError, ApiResult};
use crate::http::extract::{Json, Query};
use crate::http::routes::path_id;
use crate::services::jobs;
use crate::wire::jobs::{JobBody, JobPage, JobQuery};
use crate::wire::problem::Problem;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_jobs))
        .routes(routes!(get_job))
        .routes(routes!(retry_job))
        .routes(routes!(discard_job))
}

/// The shop's jobs, newest first, filtered.
#[utoipa::path(get, path = "/api/v1/admin/jobs", tag = "admin: shop",
    security(("bearer" = [])), params(JobQuery),
    responses((status = 200, body = JobPage), (status = 400, body = Problem)))]
async fn list_jobs(
    State(state): State<AppState>,
    actor: AdminActor,
    Query(q): Query<JobQuery>,
) -> ApiResult<Json<JobPage>> {
    let filter = jobs::filter(q.queue, q.state.as_deref(), q.kind, None)?;
    let page = PageRequest::new(q.limit, q.after).map_err(ApiError::BadRequest)?;
    let found = jobs::list(&state.services, Some(actor.tenant.id), &filter, &page).await?;
    Ok(Json(JobPage {
        items: found.items,
        next_cursor: found.next_cursor,
    }))
}

/// One of the shop's jobs, with its error history.
#[utoipa::path(get, path = "/api/v1/admin/jobs/{id}", tag = "admin: shop",
    security(("bearer" = [])), params(("id" = String, Path)),
    responses((status = 200, body = JobBody), (status = 404, body = Problem)))]
async fn get_job(
    State(state): State<AppState>,
    actor: AdminActor,
    Path(raw): Path<String>,
) -> ApiResult<Json<JobBody>> {
    let id: JobId = path_id(&raw, "job")?;
    let job = jobs::get(&state.services, Some(actor.tenant.id), id).await?;
    Ok(Json(JobBody { job }))
}

/// Runs a dead, discarded or retryable job again now, its attempts
/// counted afresh; any other state is a 409.
#[utoipa::path(post, path = "/api/v1/admin/jobs/{id}/retry", tag = "admin: shop",
    security(("bearer" = [])), params(("id" = String, Path)),
    responses((status = 200, body = JobBody), (status = 404, body = Problem),
        (status = 409, body = Problem)))]
async fn retry_job(
    State(state): State<AppState>,
    actor: AdminActor,
    Path(raw): Path<String>,
) -> ApiResult<Json<JobBody>> {
    let id: JobId = path_id(&raw, "job")?;
    let job = jobs::retry(&state.services, Some(actor.tenant.id), id).await?;
    Ok(Json(JobBody { job }))
}

/// Gives up a waiting or dead job; a running or finished one is a 409.
#[utoipa::path(post, path = "/api/v1/admin/jobs/{id}/discard", tag = "admin: shop",
    security(("bearer" = [])), params(("id" = String, Path)),
    responses((status = 200, body = JobBody), (status = 404, body = Problem),
        (status = 409, body = Problem)))]
async fn discard_job(
    State(state): State<AppState>,
    actor: AdminActor,
    Path(raw): Path<String>,
) -> ApiResult<Json<JobBody>> {
    let id: JobId = path_id(&raw, "job")?;
    let job = jobs::discard(&state.services, Some(actor.tenant.id), id).await?;
    Ok(Json(JobBody { job }))
}
