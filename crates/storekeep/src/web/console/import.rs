//! The console's CSV import at `/console/products/import`: a file in the
//! format of `POST /api/v1/admin/imports/products` and `storekeep catalog
//! import` (docs/API.md), checked as a whole at upload, then stored and
//! imported in the background (`services::product_imports`, job
//! `catalog.import`); `/console/products/imports/{id}` shows how far it
//! got and, once done, every row error the service reports (line, column,
//! message). The upload page also lists the shop's recent imports. Like
//! the image upload, the form's token travels in its action (`?csrf=`).

use askama::Template;
use axum::extract::multipart::MultipartRejection;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Multipart, Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;
use storekeep_domain::{ImportStatus, PageRequest, Permission, ProductImport, ProductImportId};

use crate::app::AppState;
use crate::services::bulk::{self, Format};
use crate::services::product_imports::{self, StartError};
use crate::web::WebError;
use crate::web::console::desk::{Staff, upload_token};
use crate::web::console::page;
use crate::web::console::products::id_or_404;

const PATH: &str = "/console/products/import";
/// Imports listed on the upload page at a time.
const RECENT: u32 = 20;

/// One problem of one row, as the page lists it.
struct Problem {
    line: u64,
    column: String,
    message: String,
}

/// An import in the upload page's list.
struct Recent {
    href: String,
    when: String,
    status: &'static str,
    summary: String,
}

#[derive(Template)]
#[template(path = "console/import_upload.html")]
struct UploadPage {
    action: String,
    can_write: bool,
    columns: String,
    file_error: Option<String>,
    recent: Vec<Recent>,
    next: Option<String>,
}

#[derive(Template)]
#[template(path = "console/import_show.html")]
struct ShowPage {
    href: String,
    started: String,
    by: String,
    status: &'static str,
    finished: bool,
    failure: Option<String>,
    has_total: bool,
    total: i64,
    done_rows: i64,
    done_text: String,
    total_text: String,
    created: i64,
    updated: i64,
    not_imported: i64,
    problems: Vec<Problem>,
    unlisted: i64,
}

#[derive(Debug, Deserialize)]
pub struct ListQuery {
    #[serde(default)]
    after: String,
}

/// `1200` as `1,200`.
fn thousands(n: i64) -> String {
    let digits = n.unsigned_abs().to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    if n < 0 { format!("-{out}") } else { out }
}

fn status_text(s: ImportStatus) -> &'static str {
    match s {
        ImportStatus::Queued => "Queued",
        ImportStatus::Running => "Running",
        ImportStatus::Done => "Done",
        ImportStatus::Failed => "Failed",
    }
}

fn href_of(i: &ProductImport) -> String {
    format!("/console/products/imports/{}", i.id)
}

async fn render(
    state: &AppState,
    staff: &Staff,
    status: StatusCode,
    file_error: Option<String>,
    after: &str,
) -> Response {
    let after = (!after.is_empty()).then(|| after.to_owned());
    let req = match PageRequest::new(Some(RECENT), after) {
        Ok(r) => r,
        Err(m) => return page::error(state, &staff.desk, WebError::BadRequest(m)),
    };
    let found = match product_imports::list(&state.services, staff.tenant().id, &req).await {
        Ok(f) => f,
        Err(e) => return page::error(state, &staff.desk, e),
    };
    let recent = found
        .items
        .iter()
        .map(|i| Recent {
            href: href_of(i),
            when: page::when(i.created_at),
            status: status_text(i.status),
            summary: format!(
                "{} created, {} updated, {} not imported",
                thousands(i.progress.created),
                thousands(i.progress.updated),
                thousands(i.progress.not_imported)
            ),
        })
        .collect();
    let main = UploadPage {
        action: format!(
            "{PATH}?csrf={}",
            upload_token(&state.services.keyring, &staff.desk, PATH)
        ),
        can_write: staff.desk.can(Permission::CatalogWrite),
        columns: bulk::CSV_COLUMNS.join(", "),
        file_error,
        recent,
        next: page::next_link(PATH, &[], found.next_cursor.as_deref()),
    }
    .render();
    page::render(state, &staff.desk, PATH, status, "Import products", main)
}

/// `GET /console/products/import`: the upload form (for those who may
/// write the catalog) and the shop's recent imports.
pub async fn page(
    State(state): State<AppState>,
    staff: Staff,
    query: Result<Query<ListQuery>, QueryRejection>,
) -> Response {
    if let Err(r) = staff.require(&state, Permission::CatalogRead) {
        return r;
    }
    let Ok(Query(q)) = query else {
        return page::error(
            &state,
            &staff.desk,
            WebError::BadRequest("The address's query could not be read.".into()),
        );
    };
    render(&state, &staff, StatusCode::OK, None, &q.after).await
}

/// `GET /console/products/imports/{id}`: one import, how far it got, and
/// once done its row errors.
pub async fn show(
    State(state): State<AppState>,
    staff: Staff,
    Path(raw): Path<String>,
) -> Response {
    if let Err(r) = staff.require(&state, Permission::CatalogRead) {
        return r;
    }
    let id: ProductImportId = match id_or_404(&state, &staff, &raw) {
        Ok(id) => id,
        Err(r) => return *r,
    };
    let i = match product_imports::get(&state.services, staff.tenant().id, id).await {
        Ok(i) => i,
        Err(e) => return page::error(&state, &staff.desk, e),
    };
    let p = i.progress;
    let total = p.total_rows.unwrap_or(0);
    let listed_rows = {
        let mut lines: Vec<u64> = i.errors.iter().map(|e| e.line).collect();
        lines.dedup();
        lines.len() as i64
    };
    let problems = i
        .errors
        .iter()
        .map(|e| Problem {
            line: e.line,
            column: e.column.clone().unwrap_or_default(),
            message: e.message.clone(),
        })
        .collect();
    let href = href_of(&i);
    let main = ShowPage {
        href: href.clone(),
        started: page::when(i.created_at),
        by: i.created_by.clone(),
        status: status_text(i.status),
        finished: i.status.is_final(),
        failure: i.failure.clone(),
        has_total: p.total_rows.is_some(),
        total,
        done_rows: p.rows_done.min(total),
        done_text: thousands(p.rows_done),
        total_text: thousands(total),
        created: p.created,
        updated: p.updated,
        not_imported: p.not_imported,
        problems,
        unlisted: (p.not_imported - listed_rows).max(0),
    }
    .render();
    page::render(&state, &staff.desk, &href, StatusCode::OK, "Import", main)
}

/// `POST /console/products/import`: checks the file, stores it and queues
/// its import, then 303 to the import's page. A file the service cannot
/// read at all (empty, no header, an unknown column) is a 422 with the
/// reason beside the file input, and nothing is stored.
pub async fn upload(
    State(state): State<AppState>,
    staff: Staff,
    multipart: Result<Multipart, MultipartRejection>,
) -> Response {
    if let Err(r) = staff.require(&state, Permission::CatalogWrite) {
        return r;
    }
    let bad_form = || page::unreadable_form(&state, &staff.desk);
    let Ok(mut multipart) = multipart else {
        return bad_form();
    };
    let mut file = None;
    loop {
        match multipart.next_field().await {
            Ok(Some(field)) if field.name() == Some("file") => {
                let name = field.file_name().unwrap_or("").to_owned();
                match field.bytes().await {
                    Ok(b) => file = Some((name, b)),
                    Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                        let m = format!(
                            "The file is too large: at most {} MiB",
                            crate::http::middleware::IMPORT_BODY_LIMIT / (1024 * 1024)
                        );
                        return render(&state, &staff, StatusCode::PAYLOAD_TOO_LARGE, Some(m), "")
                            .await;
                    }
                    Err(_) => return bad_form(),
                }
            }
            Ok(Some(_)) => {}
            Ok(None) => break,
            Err(_) => return bad_form(),
        }
    }
    let Some((name, bytes)) = file.filter(|(_, b)| !b.is_empty()) else {
        let m = "Choose a CSV file".to_owned();
        return render(
            &state,
            &staff,
            StatusCode::UNPROCESSABLE_ENTITY,
            Some(m),
            "",
        )
        .await;
    };
    // CSV, or JSON lines when the file is named so (as the CLI decides).
    let format = Format::from_path(std::path::Path::new(&name)).unwrap_or(Format::Csv);
    let tenant = staff.tenant();
    let audit = staff.desk.audit();
    match product_imports::start(&state.services, tenant, format, bytes, &audit).await {
        Ok(i) => crate::web::pages::shopper::see_other(&href_of(&i)),
        Err(StartError::Unreadable(m)) => {
            render(
                &state,
                &staff,
                StatusCode::UNPROCESSABLE_ENTITY,
                Some(format!("The file cannot be imported: {m}")),
                "",
            )
            .await
        }
        Err(StartError::Service(e)) => page::error(&state, &staff.desk, e),
    }
}
