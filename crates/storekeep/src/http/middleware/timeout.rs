//! Bounds how long a request may take; a request over the limit is
//! answered 503 and its work is dropped.

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::app::AppState;
use crate::http::error::ApiError;

pub async fn timeout(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let (_, limit) = super::body_limit::limits_for(&state, req.method(), req.uri().path());
    match tokio::time::timeout(limit, next.run(req)).await {
        Ok(response) => response,
        Err(_) => ApiError::Unavailable(format!(
            "the request took longer than {} s and was abandoned",
            limit.as_secs()
        ))
        .into_response(),
    }
}
