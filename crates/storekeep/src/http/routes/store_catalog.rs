//! The storefront's catalog: active products, categories and search, for
//! guests. Responses are cached as serialized bytes per shop (see
//! `crate::cache`); `X-Cache: HIT` or `MISS` says which. Large bodies are
//! also kept gzip-compressed and sent so to clients that accept gzip
//! (`Accept-Encoding`), compressed once when cached, never per request.

use axum::extract::{OriginalUri, Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use storekeep_domain::Tenant;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::app::AppState;
use crate::cache::{Body, Claim};
use crate::http::error::{ApiError, ApiResult};
use crate::http::extract::{AcceptsGzip, CurrentTenant, Query};
use crate::media;
use crate::services::ServiceResult;
use crate::services::storefront::{self, SearchQuery};
use crate::wire::catalog::ListParams;
use crate::wire::problem::Problem;
use crate::wire::storefront::{
    SearchParams, StoreCategoryList, StoreProductBody, StoreProductPage,
};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_products))
        .routes(routes!(get_product))
        .routes(routes!(list_categories))
        .routes(routes!(search))
}

fn json_response(body: Body, gzip: bool, hit: bool) -> Response {
    let (bytes, encoding) = match body.gzip {
        Some(z) if gzip => (z, Some(HeaderValue::from_static("gzip"))),
        _ => (body.identity, None),
    };
    let mut response = (
        StatusCode::OK,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        bytes,
    )
        .into_response();
    let headers = response.headers_mut();
    headers.insert(
        "x-cache",
        HeaderValue::from_static(if hit { "HIT" } else { "MISS" }),
    );
    headers.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
    if let Some(encoding) = encoding {
        headers.insert(header::CONTENT_ENCODING, encoding);
    }
    response
}

/// Serves `key` from the shop's cache, or builds, stores and serves it.
/// The ticket is taken before the database is read, so a write that lands
/// meanwhile makes this response unreachable rather than stale.
async fn cached<T: Serialize>(
    state: &AppState,
    tenant: &Tenant,
    (uri, gzip): (&axum::http::Uri, AcceptsGzip),
    build: impl Future<Output = ServiceResult<T>>,
) -> ApiResult<Response> {
    let key = uri.path_and_query().map_or(uri.path(), |p| p.as_str());
    let cache = &state.services.cache;
    let ticket = cache.ticket(tenant.id).await;
    if let Some(body) = cache.get(tenant.id, ticket, key) {
        state.services.metrics.cache_lookup(true);
        return Ok(json_response(body, gzip.0, true));
    }
    state.services.metrics.cache_lookup(false);
    // Concurrent misses of this key wait for the first to build it.
    let limit = state.services.settings.request_timeout / 2;
    let _building = match cache.claim(tenant.id, ticket, key, limit).await {
        Claim::Build(claim) => claim,
        Claim::Waited => {
            if let Some(body) = cache.get(tenant.id, ticket, key) {
                return Ok(json_response(body, gzip.0, true));
            }
            None
        }
    };
    let value = build.await?;
    let body = Body::new(serde_json::to_vec(&value).map_err(ApiError::internal)?);
    state
        .services
        .cache
        .put(tenant.id, ticket, key, body.clone());
    Ok(json_response(body, gzip.0, false))
}

/// Active products, filtered and sorted, one page at a time.
#[utoipa::path(get, path = "/api/v1/store/products", tag = "store",
    params(ListParams),
    responses((status = 200, body = StoreProductPage), (status = 400, body = Problem), (status = 404, body = Problem)))]
async fn list_products(
    State(state): State<AppState>,
    CurrentTenant(tenant): CurrentTenant,
    OriginalUri(uri): OriginalUri,
    gzip: AcceptsGzip,
    Query(params): Query<ListParams>,
) -> ApiResult<Response> {
    let build = storefront::products(&state.services, &tenant, &params);
    cached(&state, &tenant, (&uri, gzip), build).await
}

/// One active product, by id or handle.
#[utoipa::path(get, path = "/api/v1/store/products/{id_or_handle}", tag = "store",
    params(("id_or_handle" = String, Path)),
    responses((status = 200, body = StoreProductBody), (status = 404, body = Problem)))]
async fn get_product(
    State(state): State<AppState>,
    CurrentTenant(tenant): CurrentTenant,
    OriginalUri(uri): OriginalUri,
    gzip: AcceptsGzip,
    Path(raw): Path<String>,
) -> ApiResult<Response> {
    let build = storefront::product(&state.services, &tenant, &raw);
    cached(&state, &tenant, (&uri, gzip), build).await
}

/// The category tree, flat; `parent_id` links it.
#[utoipa::path(get, path = "/api/v1/store/categories", tag = "store",
    responses((status = 200, body = StoreCategoryList), (status = 404, body = Problem)))]
async fn list_categories(
    State(state): State<AppState>,
    CurrentTenant(tenant): CurrentTenant,
    OriginalUri(uri): OriginalUri,
    gzip: AcceptsGzip,
) -> ApiResult<Response> {
    let build = storefront::categories(&state.services, &tenant);
    cached(&state, &tenant, (&uri, gzip), build).await
}

/// Full-text search over active products' titles, tags and descriptions:
/// every word must match (as a word or prefix); title matches rank above
/// tag matches above description matches, then newest first.
#[utoipa::path(get, path = "/api/v1/store/search", tag = "store",
    params(SearchParams),
    responses((status = 200, body = StoreProductPage), (status = 400, body = Problem), (status = 404, body = Problem)))]
async fn search(
    State(state): State<AppState>,
    CurrentTenant(tenant): CurrentTenant,
    OriginalUri(uri): OriginalUri,
    gzip: AcceptsGzip,
    Query(params): Query<SearchParams>,
) -> ApiResult<Response> {
    let query = SearchQuery::parse(&params)?;
    let build = storefront::search(&state.services, &tenant, &query);
    cached(&state, &tenant, (&uri, gzip), build).await
}

/// Image bytes from the media store, for the local store (or when no
/// public URL is configured). Keys are unguessable; any other path is 404.
pub async fn media_object(
    State(state): State<AppState>,
    Path(key): Path<String>,
) -> ApiResult<Response> {
    // Only a key the server could have made reaches storage.
    let content_type = media::content_type_of(&key).ok_or_else(|| ApiError::not_found("image"))?;
    let bytes = state
        .services
        .media
        .get(&key)
        .await?
        .ok_or_else(|| ApiError::not_found("image"))?;
    Ok((
        [
            (header::CONTENT_TYPE, content_type),
            // Keys never change content: a new upload is a new key.
            (header::CACHE_CONTROL, "public, max-age=31536000, immutable"),
        ],
        bytes,
    )
        .into_response())
}
