//! `/api/metrics` in the Prometheus text exposition format.

use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::app::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(metrics))
}

/// Request counts and latencies by route, in-flight requests, database pool,
/// readiness, jobs, webhooks, emails, backups.
#[utoipa::path(get, path = "/api/metrics", tag = "operations",
    responses((status = 200, content_type = "text/plain; version=0.0.4", body = String)))]
async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    state.services.backups.refresh().await;
    // One probe per scrape on the store's own health connection (a ping;
    // the migrations are read only until seen current), bounded like
    // readiness itself by database.acquire_timeout_ms.
    let ready = super::health::is_ready(&state).await;
    state.services.metrics.ready.set(i64::from(ready));
    let body = state.services.metrics.render(
        crate::services::health::pool_stats(&state.services),
        crate::services::health::replica_status(&state.services),
        state.services.store.checkout_batches(),
        state.started.elapsed().as_secs_f64(),
    );
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        body,
    )
}
