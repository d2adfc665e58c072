//! `?limit=&after=` for every list.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use storekeep_domain::PageRequest;

use super::Query;
use crate::http::error::ApiError;
use crate::wire::page::PageQuery;

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
