//! The console's CSV import at `/console/products/import`: a file in the
//! format of `POST /api/v1/admin/imports/products` and `storekeep catalog
//! import` (docs/API.md), read and applied by the same service
//! (`services::bulk`), then the outcome: rows created and updated, and
//! every row error the service reports (line, column, message).
//!
//! The import runs within the request (synchronously), bounded by the
//! API's import limits (64 MiB, ten minutes: `http::middleware::limits`);
//! a progress page is left for later (docs/console.md says why). Like the
//! image upload, the form's token travels in its action (`?csrf=`).

use askama::Template;
use axum::extract::multipart::MultipartRejection;
use axum::extract::{Multipart, State};
use axum::http::StatusCode;
use axum::response::Response;
use storekeep_domain::Permission;

use crate::app::AppState;
use crate::services::bulk::{self, Format, ImportError};
use crate::web::console::desk::{Staff, upload_token};
use crate::web::console::page;
use crate::wire::bulk::ImportReport;

const PATH: &str = "/console/products/import";

/// One problem of one row, as the page lists it.
struct Problem {
    line: u64,
    column: String,
    message: String,
}

struct Outcome {
    created: u64,
    updated: u64,
    failed: u64,
    problems: Vec<Problem>,
    /// Row errors counted but not listed (past the service's cap).
    unlisted: u64,
}

#[derive(Template)]
#[template(path = "console/import_upload.html")]
struct UploadPage {
    action: String,
    columns: String,
    file_error: Option<String>,
    outcome: Option<Outcome>,
}

fn outcome(report: ImportReport) -> Outcome {
    let listed = report.errors.len() as u64;
    let problems = report
        .errors
        .into_iter()
        .flat_map(|e| {
            bulk::columns_of(&e.message)
                .into_iter()
                .map(move |(column, message)| Problem {
                    line: e.line,
                    column,
                    message,
                })
        })
        .collect();
    Outcome {
        created: report.created,
        updated: report.updated,
        failed: report.failed,
        problems,
        unlisted: report.failed.saturating_sub(listed),
    }
}

fn render(
    state: &AppState,
    staff: &Staff,
    status: StatusCode,
    file_error: Option<String>,
    outcome: Option<Outcome>,
) -> Response {
    let main = UploadPage {
        action: format!(
            "{PATH}?csrf={}",
            upload_token(&state.services.keyring, &staff.desk, PATH)
        ),
        columns: bulk::CSV_COLUMNS.join(", "),
        file_error,
        outcome,
    }
    .render();
    page::render(state, &staff.desk, PATH, status, "Import products", main)
}

/// `GET /console/products/import`: the upload form.
pub async fn page(State(state): State<AppState>, staff: Staff) -> Response {
    if let Err(r) = staff.require(&state, Permission::CatalogWrite) {
        return r;
    }
    render(&state, &staff, StatusCode::OK, None, None)
}

/// `POST /console/products/import`: imports the file and shows the
/// outcome (200, even when some rows failed: the others are in). A file
/// the service cannot read at all (no header, an unknown column) is a 422
/// with the reason beside the file input, and nothing is written.
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
                        return render(
                            &state,
                            &staff,
                            StatusCode::PAYLOAD_TOO_LARGE,
                            Some(m),
                            None,
                        );
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
            None,
        );
    };
    // CSV, or JSON lines when the file is named so (as the CLI decides).
    let format = Format::from_path(std::path::Path::new(&name)).unwrap_or(Format::Csv);
    let tenant = staff.tenant();
    let refused = |e: ImportError| match e {
        ImportError::Format(m) => render(
            &state,
            &staff,
            StatusCode::UNPROCESSABLE_ENTITY,
            Some(format!("The file cannot be imported: {m}")),
            None,
        ),
        ImportError::Store(e) => {
            page::error(&state, &staff.desk, crate::services::ServiceError::from(e))
        }
    };
    let rows = match bulk::read_rows(&bytes[..], format, &tenant.settings.currency) {
        Ok(r) => r,
        Err(e) => return refused(e),
    };
    let report = bulk::import_into(&state.services, tenant, rows, &staff.desk.audit()).await;
    // Rows may have been written even when a later batch failed.
    state.services.cache.invalidate(tenant.id).await;
    match report {
        Ok(report) => render(&state, &staff, StatusCode::OK, None, Some(outcome(report))),
        Err(e) => refused(e),
    }
}
