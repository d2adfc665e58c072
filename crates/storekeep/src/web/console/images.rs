//! A product's images in the console: the upload form on the product's
//! page (`multipart/form-data`: a `file` and its `alt` text) and removing
//! an image, through `services::images`, the service of
//! `POST /api/v1/admin/products/{id}/images` and
//! `DELETE /api/v1/admin/images/{id}`.
//!
//! The upload's CSRF token travels in the form's action (`?csrf=`), an
//! upload token bound to the session and the path (`desk::upload_token`),
//! so the guard checks it without reading the file; the body is bounded by
//! the API's own image limit (`http::middleware::limits`).

use axum::extract::multipart::{MultipartError, MultipartRejection};
use axum::extract::{Multipart, Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use bytes::Bytes;
use storekeep_domain::{ImageId, Permission, Product, ProductId};

use crate::app::AppState;
use crate::services::{ServiceError, catalog, images, products};
use crate::web::WebError;
use crate::web::console::desk::Staff;
use crate::web::console::page;
use crate::web::console::products::{Problems, Shown, id_or_404, refusal, render_show};
use crate::web::pages::shopper::see_other;

/// The most characters of an image's alt text (the API's rule).
const MAX_ALT: usize = 500;

/// What the upload form sent.
#[derive(Default)]
struct Sent {
    file: Option<(Bytes, Option<String>)>,
    alt: String,
}

/// Why the form could not be read: the body is over the image limit (the
/// form says so), or it is no multipart form at all (the 400 page).
enum Unread {
    TooLarge,
    Malformed,
}

fn unread(e: &MultipartError) -> Unread {
    if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
        Unread::TooLarge
    } else {
        Unread::Malformed
    }
}

async fn read(mut multipart: Multipart) -> Result<Sent, Unread> {
    let mut sent = Sent::default();
    while let Some(field) = multipart.next_field().await.map_err(|e| unread(&e))? {
        match field.name() {
            Some("file") => {
                let declared = field.content_type().map(str::to_owned);
                let bytes = field.bytes().await.map_err(|e| unread(&e))?;
                // A file input left empty still sends its (empty) part.
                if !bytes.is_empty() {
                    sent.file = Some((bytes, declared));
                }
            }
            Some("alt") => sent.alt = field.text().await.map_err(|e| unread(&e))?,
            _ => {}
        }
    }
    Ok(sent)
}

fn too_large(state: &AppState) -> Problems {
    let max = state.services.settings.media.max_image_bytes;
    Problems::field(
        "file",
        format!(
            "The image is too large: at most {:.1} MB",
            max as f64 / 1_000_000.0
        ),
    )
}

async fn refused(
    state: &AppState,
    staff: &Staff,
    product: &Product,
    status: StatusCode,
    alt: &str,
    problems: Problems,
) -> Response {
    let shown = Shown {
        status,
        notice: None,
        edit: None,
        variant: None,
        image: Some((alt, problems)),
    };
    render_show(state, staff, product, shown).await
}

/// `POST /console/products/{id}/images`: one image with its alt text.
/// A file that is not an image, or too large, re-renders the product's
/// page with the message beside the file input (422, 413); nothing is
/// stored.
pub async fn upload(
    State(state): State<AppState>,
    staff: Staff,
    Path(raw): Path<String>,
    multipart: Result<Multipart, MultipartRejection>,
) -> Response {
    if let Err(r) = staff.require(&state, Permission::CatalogWrite) {
        return r;
    }
    let id: ProductId = match id_or_404(&state, &staff, &raw) {
        Ok(id) => id,
        Err(r) => return *r,
    };
    let tenant = staff.tenant();
    let svc = &state.services;
    let product = match products::get(svc, tenant, id).await {
        Ok(p) => p,
        Err(e) => return page::error(&state, &staff.desk, e),
    };
    let bad_form = || page::unreadable_form(&state, &staff.desk);
    let Ok(multipart) = multipart else {
        return bad_form();
    };
    let sent = match read(multipart).await {
        Ok(s) => s,
        Err(Unread::Malformed) => return bad_form(),
        Err(Unread::TooLarge) => {
            let p = too_large(&state);
            return refused(
                &state,
                &staff,
                &product,
                StatusCode::PAYLOAD_TOO_LARGE,
                "",
                p,
            )
            .await;
        }
    };
    let mut problems = Problems::default();
    let alt = match catalog::parse_description(&sent.alt) {
        Ok(a) if a.chars().count() <= MAX_ALT => a,
        _ => {
            problems.add("alt", format!("Write at most {MAX_ALT} characters of text"));
            String::new()
        }
    };
    if sent.file.is_none() {
        problems.add("file", "Choose an image file");
    }
    let Some((bytes, declared)) = sent.file.filter(|_| problems.is_empty()) else {
        let status = StatusCode::UNPROCESSABLE_ENTITY;
        return refused(&state, &staff, &product, status, &sent.alt, problems).await;
    };
    let upload = images::Upload {
        bytes,
        declared,
        alt,
    };
    match images::upload(svc, tenant, id, upload, &staff.desk.audit()).await {
        Ok(_) => {
            svc.cache.invalidate(tenant.id).await;
            see_other(&format!("/console/products/{id}?done=image"))
        }
        Err(ServiceError::TooLarge) => {
            let p = too_large(&state);
            let status = StatusCode::PAYLOAD_TOO_LARGE;
            refused(&state, &staff, &product, status, &sent.alt, p).await
        }
        Err(e) => match refusal(e, |_| None) {
            Ok((status, p)) => refused(&state, &staff, &product, status, &sent.alt, p).await,
            Err(e) => page::error(&state, &staff.desk, e),
        },
    }
}

/// `POST /console/products/{id}/images/{image}/delete`: the image and its
/// stored objects go. An image of another product (or shop) is a 404.
pub async fn delete(
    State(state): State<AppState>,
    staff: Staff,
    Path((raw, raw_image)): Path<(String, String)>,
) -> Response {
    if let Err(r) = staff.require(&state, Permission::CatalogWrite) {
        return r;
    }
    let id: ProductId = match id_or_404(&state, &staff, &raw) {
        Ok(id) => id,
        Err(r) => return *r,
    };
    let image: ImageId = match id_or_404(&state, &staff, &raw_image) {
        Ok(id) => id,
        Err(r) => return *r,
    };
    let tenant = staff.tenant();
    let svc = &state.services;
    let product = match products::get(svc, tenant, id).await {
        Ok(p) => p,
        Err(e) => return page::error(&state, &staff.desk, e),
    };
    if !product.images.iter().any(|i| i.id == image) {
        return page::error(&state, &staff.desk, WebError::NotFound);
    }
    match images::delete(svc, tenant, image, &staff.desk.audit()).await {
        Ok(()) => {
            svc.cache.invalidate(tenant.id).await;
            see_other(&format!("/console/products/{id}?done=image-removed"))
        }
        Err(e) => page::error(&state, &staff.desk, e),
    }
}
