//! `/api/v1/admin/email-templates`: the shop's email templates, previewed
//! with its branding and sample data.

use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::app::AppState;
use crate::http::authz::AdminActor;
use crate::http::error::ApiResult;
use crate::http::extract::{Json, Query};
use crate::services::notify::preview;
use crate::wire::email::{EmailPreview, EmailTemplateList, PreviewFormat, PreviewQuery};
use crate::wire::problem::Problem;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_templates))
        .routes(routes!(preview_template))
}

/// Every email template the shop sends, and who receives it.
#[utoipa::path(get, path = "/api/v1/admin/email-templates", tag = "admin: shop",
    security(("bearer" = [])),
    responses((status = 200, body = EmailTemplateList), (status = 401, body = Problem), (status = 403, body = Problem)))]
async fn list_templates(_actor: AdminActor) -> Json<EmailTemplateList> {
    Json(EmailTemplateList {
        templates: preview::list(),
    })
}

/// One template rendered with the shop's branding and sample data: as
/// JSON (subject, text, html), or one part alone with `format=html|text`.
#[utoipa::path(get, path = "/api/v1/admin/email-templates/{template}/preview", tag = "admin: shop",
    security(("bearer" = [])),
    params(("template" = String, Path, description = "a template name from the list"), PreviewQuery),
    responses(
        (status = 200, body = EmailPreview, content_type = "application/json"),
        (status = 200, body = String, content_type = "text/html"),
        (status = 200, body = String, content_type = "text/plain"),
        (status = 400, body = Problem), (status = 401, body = Problem),
        (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn preview_template(
    State(state): State<AppState>,
    actor: AdminActor,
    Path(template): Path<String>,
    Query(q): Query<PreviewQuery>,
) -> ApiResult<Response> {
    let p = preview::render(&state.services, &actor.tenant, &template).await?;
    Ok(match q.format.unwrap_or_default() {
        PreviewFormat::Json => Json(p).into_response(),
        PreviewFormat::Html => {
            ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], p.html).into_response()
        }
        PreviewFormat::Text => (
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            p.text,
        )
            .into_response(),
    })
}
