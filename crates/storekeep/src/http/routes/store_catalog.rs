//! The storefront's catalog: active products, categories and search, for
//! guests. Responses are cached as serialized bytes per shop (see
//! `crate::cache`); `X-Cache: HIT` or `MISS` says which.

use axum::extract::{OriginalUri, Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use serde::Serialize;
use storekeep_domain::{Handle, PageRequest, ProductId, ProductStatus, Tenant, search_terms};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::app::AppState;
use crate::http::error::{ApiError, ApiResult};
use crate::http::extract::{CurrentTenant, Query};
use crate::media;
use crate::services::catalog::{self, SEARCH_CANDIDATES};
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

fn json_response(body: Bytes, hit: bool) -> Response {
    let mut response = (
        StatusCode::OK,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        body,
    )
        .into_response();
    response.headers_mut().insert(
        "x-cache",
        HeaderValue::from_static(if hit { "HIT" } else { "MISS" }),
    );
    response
}

/// Serves `key` from the shop's cache, or builds, stores and serves it.
/// The ticket is taken before the database is read, so a write that lands
/// meanwhile makes this response unreachable rather than stale.
async fn cached<T: Serialize>(
    state: &AppState,
    tenant: &Tenant,
    uri: &axum::http::Uri,
    build: impl Future<Output = ApiResult<T>>,
) -> ApiResult<Response> {
    let key = uri
        .path_and_query()
        .map_or_else(|| uri.path().to_owned(), |p| p.as_str().to_owned());
    let ticket = state.services.cache.ticket(tenant.id).await;
    if let Some(body) = state.services.cache.get(tenant.id, ticket, &key) {
        state.services.metrics.cache_lookup(true);
        return Ok(json_response(body, true));
    }
    state.services.metrics.cache_lookup(false);
    let value = build.await?;
    let body = Bytes::from(serde_json::to_vec(&value).map_err(ApiError::internal)?);
    state
        .services
        .cache
        .put(tenant.id, ticket, &key, body.clone());
    Ok(json_response(body, false))
}

/// Active products, filtered and sorted, one page at a time.
#[utoipa::path(get, path = "/api/v1/store/products", tag = "store",
    params(ListParams),
    responses((status = 200, body = StoreProductPage), (status = 400, body = Problem), (status = 404, body = Problem)))]
async fn list_products(
    State(state): State<AppState>,
    CurrentTenant(tenant): CurrentTenant,
    OriginalUri(uri): OriginalUri,
    Query(params): Query<ListParams>,
) -> ApiResult<Response> {
    cached(&state, &tenant, &uri, async {
        let query = catalog::product_query(&state.services, &tenant, &params, true).await?;
        let page = state
            .services
            .store
            .list_products(tenant.id, &query)
            .await?;
        Ok(StoreProductPage {
            items: page
                .items
                .into_iter()
                .map(|p| catalog::with_urls(&state.services, p))
                .collect(),
            next_cursor: page.next_cursor,
        })
    })
    .await
}

/// One active product, by id or handle.
#[utoipa::path(get, path = "/api/v1/store/products/{id_or_handle}", tag = "store",
    params(("id_or_handle" = String, Path)),
    responses((status = 200, body = StoreProductBody), (status = 404, body = Problem)))]
async fn get_product(
    State(state): State<AppState>,
    CurrentTenant(tenant): CurrentTenant,
    OriginalUri(uri): OriginalUri,
    Path(raw): Path<String>,
) -> ApiResult<Response> {
    cached(&state, &tenant, &uri, async {
        let product = if let Ok(id) = raw.parse::<ProductId>() {
            state.services.store.product(tenant.id, id).await?
        } else {
            let handle = Handle::parse(&raw).map_err(|_| ApiError::not_found("product"))?;
            state
                .services
                .store
                .product_by_handle(tenant.id, &handle)
                .await?
        };
        if product.status != ProductStatus::Active {
            return Err(ApiError::not_found("product"));
        }
        Ok(StoreProductBody {
            product: catalog::with_urls(&state.services, product),
        })
    })
    .await
}

/// The category tree, flat; `parent_id` links it.
#[utoipa::path(get, path = "/api/v1/store/categories", tag = "store",
    responses((status = 200, body = StoreCategoryList), (status = 404, body = Problem)))]
async fn list_categories(
    State(state): State<AppState>,
    CurrentTenant(tenant): CurrentTenant,
    OriginalUri(uri): OriginalUri,
) -> ApiResult<Response> {
    cached(&state, &tenant, &uri, async {
        Ok(StoreCategoryList {
            items: state.services.store.list_categories(tenant.id).await?,
        })
    })
    .await
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
    Query(params): Query<SearchParams>,
) -> ApiResult<Response> {
    let q = params.q.trim();
    if q.is_empty() || q.chars().count() > 200 {
        return Err(ApiError::BadRequest("q must be 1 to 200 characters".into()));
    }
    let mut terms = search_terms(q);
    // Each term once, first occurrence kept (the first term earns a bonus).
    let mut seen = std::collections::HashSet::new();
    terms.retain(|t| seen.insert(t.clone()));
    if terms.is_empty() {
        return Err(ApiError::BadRequest(
            "q must contain at least one letter or digit".into(),
        ));
    }
    terms.truncate(10);
    let page = PageRequest::new(params.limit, None).map_err(ApiError::BadRequest)?;
    // The cursor of a ranked list is the last item's (score, id): the next
    // page starts strictly after it in rank order, so products added or
    // changed meanwhile never make a page repeat or skip what was there.
    let after: Option<(u32, ProductId)> = match params.after.as_deref().filter(|a| !a.is_empty()) {
        Some(a) => Some(
            a.strip_prefix("r.")
                .and_then(|rest| rest.split_once('.'))
                .and_then(|(score, id)| Some((score.parse().ok()?, id.parse().ok()?)))
                .ok_or_else(|| {
                    ApiError::BadRequest("after is not a cursor this server issued".into())
                })?,
        ),
        None => None,
    };
    cached(&state, &tenant, &uri, async {
        let docs = state
            .services
            .store
            .search_candidates(tenant.id, &terms, SEARCH_CANDIDATES)
            .await?;
        let ranked = catalog::rank(&terms, docs);
        let start = match after {
            // Rank order is score descending, then id descending.
            Some((score, id)) => ranked
                .iter()
                .position(|r| r.0 < score || (r.0 == score && r.1 < id))
                .unwrap_or(ranked.len()),
            None => 0,
        };
        let end = start.saturating_add(page.limit as usize).min(ranked.len());
        let page_items = &ranked[start..end];
        let ids: Vec<ProductId> = page_items.iter().map(|r| r.1).collect();
        let ids = &ids[..];
        let mut products = state.services.store.products_by_ids(tenant.id, ids).await?;
        // A product may have left the storefront since it was matched.
        products.retain(|p| p.status == ProductStatus::Active);
        products.sort_by_key(|p| ids.iter().position(|id| *id == p.id));
        Ok(StoreProductPage {
            items: products
                .into_iter()
                .map(|p| catalog::with_urls(&state.services, p))
                .collect(),
            next_cursor: (end < ranked.len())
                .then(|| {
                    page_items
                        .last()
                        .map(|(score, id)| format!("r.{score}.{id}"))
                })
                .flatten(),
        })
    })
    .await
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
        .await
        .map_err(ApiError::internal)?
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
