//! `/api/v1/admin/imports/products` and `/api/v1/admin/exports/products`:
//! the catalog in and out as CSV or JSON lines (format in docs/API.md).

use axum::extract::State;
use axum::http::{HeaderMap, header};
use axum::response::IntoResponse;
use bytes::Bytes;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::app::AppState;
use crate::http::authz::AdminActor;
use crate::http::error::{ApiError, ApiResult};
use crate::http::extract::{Json, Query};
use crate::services::bulk::{self, Format, ImportError};
use crate::wire::bulk::ExportParams;
use crate::wire::bulk::ImportReport;
use crate::wire::problem::Problem;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(import_products))
        .routes(routes!(export_products))
}

/// Creates or updates products from a CSV (`text/csv`) or JSON lines
/// (`application/x-ndjson`) body. Each row is applied atomically on its
/// own; failures are listed with their line numbers.
#[utoipa::path(post, path = "/api/v1/admin/imports/products", tag = "admin: catalog",
    security(("bearer" = [])),
    request_body(content_type = "text/csv", content = String),
    responses((status = 200, body = ImportReport), (status = 413, body = Problem), (status = 415, body = Problem), (status = 422, body = Problem)))]
async fn import_products(
    State(state): State<AppState>,
    actor: AdminActor,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Json<ImportReport>> {
    let format = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(Format::from_content_type)
        .ok_or_else(|| {
            ApiError::UnsupportedMediaType("send text/csv or application/x-ndjson".into())
        })?;
    let rows = bulk::read_rows(&body[..], format, &actor.tenant.settings.currency)
        .map_err(import_error)?;
    let report = bulk::import_into(&state.services, &actor.tenant, rows, &actor.audit)
        .await
        .map_err(import_error)?;
    Ok(Json(report))
}

fn import_error(e: ImportError) -> ApiError {
    match e {
        ImportError::Format(m) => storekeep_domain::ValidationErrors::single("body", m).into(),
        ImportError::Store(s) => s.into(),
    }
}

/// Every product of the shop, in the import format.
#[utoipa::path(get, path = "/api/v1/admin/exports/products", tag = "admin: catalog",
    security(("bearer" = [])), params(ExportParams),
    responses((status = 200, content_type = "text/csv", body = String), (status = 400, body = Problem)))]
async fn export_products(
    State(state): State<AppState>,
    actor: AdminActor,
    Query(params): Query<ExportParams>,
) -> ApiResult<impl IntoResponse> {
    let format = match params.format.as_deref() {
        None => Format::Csv,
        Some(f) => Format::parse(f)
            .ok_or_else(|| ApiError::BadRequest("format must be csv or jsonl".into()))?,
    };
    let mut out = Vec::new();
    bulk::export_from(&state.services, &actor.tenant, format, &mut out)
        .await
        .map_err(|e| ApiError::internal(e.to_string()))?;
    let extension = if format == Format::Csv {
        "csv"
    } else {
        "jsonl"
    };
    Ok((
        [
            (header::CONTENT_TYPE, format.content_type().to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!(
                    "attachment; filename=\"{}-products.{extension}\"",
                    actor.tenant.slug
                ),
            ),
        ],
        out,
    ))
}
