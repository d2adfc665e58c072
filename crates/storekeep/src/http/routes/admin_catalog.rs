//! `/api/v1/admin/products`, `/variants`, `/categories`, `/images`: the
//! shop's catalog for staff and integrations. Every change invalidates the
//! shop's storefront cache once committed, in one place:
//! [`invalidate_after_writes`].

use axum::extract::{Multipart, Path, State};
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use bytes::Bytes;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::app::AppState;
use crate::http::authz::AdminActor;
use crate::http::error::{ApiError, ApiResult};
use crate::http::extract::{Json, PageParams, Query};
use crate::http::routes::path_id;
use crate::services::{catalog, images, products};
use crate::wire::catalog::{
    AdjustedBody, AdjustmentInput, CategoryBody, CategoryList, CategoryPatchBody, ImageBody,
    LedgerPage, ListParams, NewCategoryBody, NewProductBody, NewVariantBody, ProductBody,
    ProductPage, ProductPatchBody, VariantBody, VariantPatchBody,
};
use crate::wire::problem::Problem;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_products, create_product))
        .routes(routes!(get_product, update_product, delete_product))
        .routes(routes!(add_variant))
        .routes(routes!(update_variant, delete_variant))
        .routes(routes!(adjust_inventory, inventory_ledger))
        .routes(routes!(upload_image))
        .routes(routes!(delete_image))
        .routes(routes!(list_categories, create_category))
        .routes(routes!(update_category, delete_category))
}

/// Route layer on every catalog admin route (here and in `admin_bulk`):
/// after any request that may write — whatever its outcome, since a bulk
/// import can fail after committing batches — the shop's storefront cache
/// is invalidated. Handlers never have to remember to.
pub async fn invalidate_after_writes(
    State(state): State<AppState>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let shop = (req.method() != axum::http::Method::GET)
        .then(|| req.extensions().get::<AdminActor>().map(|a| a.tenant.id))
        .flatten();
    let response = next.run(req).await;
    if let Some(shop) = shop {
        state.services.cache.invalidate(shop).await;
    }
    response
}

/// The shop's products in every status, with the storefront's filters.
#[utoipa::path(get, path = "/api/v1/admin/products", tag = "admin: catalog",
    security(("bearer" = [])), params(ListParams),
    responses((status = 200, body = ProductPage), (status = 400, body = Problem), (status = 401, body = Problem), (status = 403, body = Problem)))]
async fn list_products(
    State(state): State<AppState>,
    actor: AdminActor,
    Query(params): Query<ListParams>,
) -> ApiResult<Json<ProductPage>> {
    let page = products::list(&state.services, &actor.tenant, &params).await?;
    Ok(Json(ProductPage {
        items: page.items,
        next_cursor: page.next_cursor,
    }))
}

/// Creates a product with its variants and initial stock.
#[utoipa::path(post, path = "/api/v1/admin/products", tag = "admin: catalog",
    security(("bearer" = [])), request_body = NewProductBody,
    responses((status = 201, body = ProductBody), (status = 402, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn create_product(
    State(state): State<AppState>,
    actor: AdminActor,
    Json(body): Json<NewProductBody>,
) -> ApiResult<impl IntoResponse> {
    let product =
        catalog::create_product(&state.services, &actor.tenant, &body.product, &actor.audit)
            .await?;
    Ok((
        StatusCode::CREATED,
        [(
            header::LOCATION,
            format!("/api/v1/admin/products/{}", product.id),
        )],
        Json(ProductBody { product }),
    ))
}

#[utoipa::path(get, path = "/api/v1/admin/products/{id}", tag = "admin: catalog",
    security(("bearer" = [])), params(("id" = String, Path)),
    responses((status = 200, body = ProductBody), (status = 404, body = Problem)))]
async fn get_product(
    State(state): State<AppState>,
    actor: AdminActor,
    Path(raw): Path<String>,
) -> ApiResult<Json<ProductBody>> {
    let id = path_id(&raw, "product")?;
    let product = products::get(&state.services, &actor.tenant, id).await?;
    Ok(Json(ProductBody { product }))
}

/// Changes the fields present; `tags` and `categories` replace the stored lists.
#[utoipa::path(patch, path = "/api/v1/admin/products/{id}", tag = "admin: catalog",
    security(("bearer" = [])), params(("id" = String, Path)), request_body = ProductPatchBody,
    responses((status = 200, body = ProductBody), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn update_product(
    State(state): State<AppState>,
    actor: AdminActor,
    Path(raw): Path<String>,
    Json(body): Json<ProductPatchBody>,
) -> ApiResult<Json<ProductBody>> {
    let id = path_id(&raw, "product")?;
    let product = products::update(
        &state.services,
        &actor.tenant,
        id,
        &body.product,
        &actor.audit,
    )
    .await?;
    Ok(Json(ProductBody { product }))
}

/// Deletes the product, its variants, stock ledger and images.
#[utoipa::path(delete, path = "/api/v1/admin/products/{id}", tag = "admin: catalog",
    security(("bearer" = [])), params(("id" = String, Path)),
    responses((status = 204), (status = 404, body = Problem)))]
async fn delete_product(
    State(state): State<AppState>,
    actor: AdminActor,
    Path(raw): Path<String>,
) -> ApiResult<StatusCode> {
    catalog::delete_product(
        &state.services,
        &actor.tenant,
        path_id(&raw, "product")?,
        &actor.audit,
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(post, path = "/api/v1/admin/products/{id}/variants", tag = "admin: catalog",
    security(("bearer" = [])), params(("id" = String, Path)), request_body = NewVariantBody,
    responses((status = 201, body = VariantBody), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn add_variant(
    State(state): State<AppState>,
    actor: AdminActor,
    Path(raw): Path<String>,
    Json(body): Json<NewVariantBody>,
) -> ApiResult<(StatusCode, Json<VariantBody>)> {
    let product = path_id(&raw, "product")?;
    let variant = products::add_variant(
        &state.services,
        &actor.tenant,
        product,
        &body.variant,
        &actor.audit,
    )
    .await?;
    Ok((StatusCode::CREATED, Json(VariantBody { variant })))
}

/// Changes a variant's SKU, title, options or prices (stock changes go
/// through inventory adjustments).
#[utoipa::path(patch, path = "/api/v1/admin/variants/{id}", tag = "admin: catalog",
    security(("bearer" = [])), params(("id" = String, Path)), request_body = VariantPatchBody,
    responses((status = 200, body = VariantBody), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn update_variant(
    State(state): State<AppState>,
    actor: AdminActor,
    Path(raw): Path<String>,
    Json(body): Json<VariantPatchBody>,
) -> ApiResult<Json<VariantBody>> {
    let id = path_id(&raw, "variant")?;
    let variant = products::update_variant(
        &state.services,
        &actor.tenant,
        id,
        &body.variant,
        &actor.audit,
    )
    .await?;
    Ok(Json(VariantBody { variant }))
}

#[utoipa::path(delete, path = "/api/v1/admin/variants/{id}", tag = "admin: catalog",
    security(("bearer" = [])), params(("id" = String, Path)),
    responses((status = 204), (status = 404, body = Problem), (status = 409, body = Problem)))]
async fn delete_variant(
    State(state): State<AppState>,
    actor: AdminActor,
    Path(raw): Path<String>,
) -> ApiResult<StatusCode> {
    let id = path_id(&raw, "variant")?;
    products::delete_variant(&state.services, &actor.tenant, id, &actor.audit).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Adds to or removes from on-hand stock, recorded in the ledger with the reason.
#[utoipa::path(post, path = "/api/v1/admin/variants/{id}/inventory", tag = "admin: catalog",
    security(("bearer" = [])), params(("id" = String, Path)), request_body = AdjustmentInput,
    responses((status = 200, body = AdjustedBody), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn adjust_inventory(
    State(state): State<AppState>,
    actor: AdminActor,
    Path(raw): Path<String>,
    Json(body): Json<AdjustmentInput>,
) -> ApiResult<Json<AdjustedBody>> {
    let id = path_id(&raw, "variant")?;
    let (variant, adjustment) = products::adjust_inventory(
        &state.services,
        &actor.tenant,
        id,
        body.delta,
        &body.reason,
        &actor.audit,
    )
    .await?;
    Ok(Json(AdjustedBody {
        variant,
        adjustment,
    }))
}

/// The variant's stock ledger, newest first.
#[utoipa::path(get, path = "/api/v1/admin/variants/{id}/inventory", tag = "admin: catalog",
    security(("bearer" = [])), params(("id" = String, Path), crate::wire::page::PageQuery),
    responses((status = 200, body = LedgerPage), (status = 404, body = Problem)))]
async fn inventory_ledger(
    State(state): State<AppState>,
    actor: AdminActor,
    Path(raw): Path<String>,
    PageParams(page): PageParams,
) -> ApiResult<Json<LedgerPage>> {
    let id = path_id(&raw, "variant")?;
    let page = products::ledger(&state.services, &actor.tenant, id, &page).await?;
    Ok(Json(LedgerPage {
        items: page.items,
        next_cursor: page.next_cursor,
    }))
}

/// Uploads an image (`multipart/form-data`: a `file` part, optional `alt`).
/// The format is read from the bytes (JPEG, PNG, WebP, GIF) and must match
/// the part's content type; the dimensions are read from the header.
#[utoipa::path(post, path = "/api/v1/admin/products/{id}/images", tag = "admin: catalog",
    security(("bearer" = [])), params(("id" = String, Path)),
    request_body(content_type = "multipart/form-data", content = String),
    responses((status = 201, body = ImageBody), (status = 402, body = Problem), (status = 404, body = Problem), (status = 413, body = Problem), (status = 422, body = Problem)))]
async fn upload_image(
    State(state): State<AppState>,
    actor: AdminActor,
    Path(raw): Path<String>,
    mut multipart: Multipart,
) -> ApiResult<(StatusCode, Json<ImageBody>)> {
    let product_id = path_id(&raw, "product")?;
    let mut file: Option<(Bytes, Option<String>)> = None;
    let mut alt = String::new();
    while let Some(field) = multipart.next_field().await.map_err(multipart_error)? {
        match field.name() {
            Some("file") => {
                let declared = field.content_type().map(str::to_owned);
                let bytes = field.bytes().await.map_err(multipart_error)?;
                file = Some((bytes, declared));
            }
            Some("alt") => {
                let text = field.text().await.map_err(multipart_error)?;
                alt = catalog::parse_description(&text)
                    .ok()
                    .filter(|a| a.chars().count() <= 500)
                    .ok_or_else(|| {
                        storekeep_domain::ValidationErrors::single(
                            "alt",
                            "must be at most 500 characters of text",
                        )
                    })?;
            }
            _ => {}
        }
    }
    let (bytes, declared) = file.ok_or_else(|| {
        storekeep_domain::ValidationErrors::single("file", "send the image as a part named file")
    })?;
    let upload = images::Upload {
        bytes,
        declared,
        alt,
    };
    let image = images::upload(
        &state.services,
        &actor.tenant,
        product_id,
        upload,
        &actor.audit,
    )
    .await?;
    Ok((StatusCode::CREATED, Json(ImageBody { image })))
}

fn multipart_error(e: axum::extract::multipart::MultipartError) -> ApiError {
    if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
        ApiError::PayloadTooLarge
    } else {
        ApiError::BadRequest(format!(
            "the multipart body is malformed: {}",
            e.body_text()
        ))
    }
}

#[utoipa::path(delete, path = "/api/v1/admin/images/{id}", tag = "admin: catalog",
    security(("bearer" = [])), params(("id" = String, Path)),
    responses((status = 204), (status = 404, body = Problem)))]
async fn delete_image(
    State(state): State<AppState>,
    actor: AdminActor,
    Path(raw): Path<String>,
) -> ApiResult<StatusCode> {
    let id = path_id(&raw, "image")?;
    images::delete(&state.services, &actor.tenant, id, &actor.audit).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Every category, flat, ordered by position then name; `parent_id` links the tree.
#[utoipa::path(get, path = "/api/v1/admin/categories", tag = "admin: catalog",
    security(("bearer" = [])),
    responses((status = 200, body = CategoryList)))]
async fn list_categories(
    State(state): State<AppState>,
    actor: AdminActor,
) -> ApiResult<Json<CategoryList>> {
    let items = products::categories(&state.services, &actor.tenant).await?;
    Ok(Json(CategoryList { items }))
}

#[utoipa::path(post, path = "/api/v1/admin/categories", tag = "admin: catalog",
    security(("bearer" = [])), request_body = NewCategoryBody,
    responses((status = 201, body = CategoryBody), (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn create_category(
    State(state): State<AppState>,
    actor: AdminActor,
    Json(body): Json<NewCategoryBody>,
) -> ApiResult<(StatusCode, Json<CategoryBody>)> {
    let category =
        products::create_category(&state.services, &actor.tenant, &body.category, &actor.audit)
            .await?;
    Ok((StatusCode::CREATED, Json(CategoryBody { category })))
}

/// Renames or moves a category (`parent_id: null` moves it to the top).
#[utoipa::path(patch, path = "/api/v1/admin/categories/{id}", tag = "admin: catalog",
    security(("bearer" = [])), params(("id" = String, Path)), request_body = CategoryPatchBody,
    responses((status = 200, body = CategoryBody), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn update_category(
    State(state): State<AppState>,
    actor: AdminActor,
    Path(raw): Path<String>,
    Json(body): Json<CategoryPatchBody>,
) -> ApiResult<Json<CategoryBody>> {
    let id = path_id(&raw, "category")?;
    let category = products::update_category(
        &state.services,
        &actor.tenant,
        id,
        &body.category,
        &actor.audit,
    )
    .await?;
    Ok(Json(CategoryBody { category }))
}

/// Deletes a category without subcategories; its products stay, unfiled from it.
#[utoipa::path(delete, path = "/api/v1/admin/categories/{id}", tag = "admin: catalog",
    security(("bearer" = [])), params(("id" = String, Path)),
    responses((status = 204), (status = 404, body = Problem), (status = 409, body = Problem)))]
async fn delete_category(
    State(state): State<AppState>,
    actor: AdminActor,
    Path(raw): Path<String>,
) -> ApiResult<StatusCode> {
    let id = path_id(&raw, "category")?;
    products::delete_category(&state.services, &actor.tenant, id, &actor.audit).await?;
    Ok(StatusCode::NO_CONTENT)
}
