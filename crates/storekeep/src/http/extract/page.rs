//! `?limit=&after=` for every list.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use serde::Deserialize;
use storekeep_domain::PageRequest;

use super::Query;
use crate::http::error::ApiError;

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// Items per page, 1 to 200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<u32>,
    /// The `next_cursor` of the previous page.
    pub after: Option<String>,
}

/// A validated page request.
#[derive(Debug, Clone)]
pub struct PageParams(pub PageRequest);

impl<S: Send + Sync> FromRequestParts<S> for PageParams {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let Query(q) = Query::<PageQuery>::from_request_parts(parts, state).await?;
        PageRequest::new(q.limit, q.after)
            .map(Self)
            .map_err(ApiError::BadRequest)
    }
}
