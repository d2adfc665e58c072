//! `/console/audit`: the shop's audit log, newest first, a page at a time
//! through the service `GET /api/v1/admin/audit-log` uses (keyset on the
//! log's sequence numbers, never a count).

use askama::Template;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;
use storekeep_domain::Permission;

use crate::app::AppState;
use crate::services::audit;
use crate::web::WebError;
use crate::web::console::desk::Staff;
use crate::web::console::page;
use crate::web::console::page::when;

/// Entries per page.
const PAGE_SIZE: u32 = 50;

#[derive(Debug, Deserialize)]
pub struct AuditQuery {
    pub after: Option<String>,
}

pub struct Row {
    pub at: String,
    pub actor: String,
    pub action: String,
    pub target: String,
    pub request_id: String,
}

#[derive(Template)]
#[template(path = "console/audit_log.html")]
struct AuditPage {
    rows: Vec<Row>,
    next: Option<String>,
}

/// `GET /console/audit`.
pub async fn log(
    State(state): State<AppState>,
    staff: Staff,
    q: Result<Query<AuditQuery>, QueryRejection>,
) -> Response {
    if let Err(r) = staff.require(&state, Permission::AuditRead) {
        return r;
    }
    let bad = |m: &str| page::error(&state, &staff.desk, WebError::BadRequest(m.into()));
    let Ok(Query(q)) = q else {
        return bad("This page's address is not valid.");
    };
    let before = match q.after.as_deref().filter(|a| !a.is_empty()) {
        None => None,
        Some(a) => match a.parse::<i64>() {
            Ok(seq) => Some(seq),
            Err(_) => return bad("This page link is not valid."),
        },
    };
    let scope = staff.tenant().id.to_string();
    let (items, next_cursor) = match audit::page(&state.services, &scope, before, PAGE_SIZE).await {
        Ok(p) => p,
        Err(e) => return page::error(&state, &staff.desk, e),
    };
    let rows = items
        .into_iter()
        .map(|e| Row {
            at: when(e.at),
            actor: e.actor,
            action: e.action,
            target: e.target,
            request_id: e.request_id.unwrap_or_default(),
        })
        .collect();
    let main = AuditPage {
        rows,
        next: page::next_link("/console/audit", &[], next_cursor.as_deref()),
    }
    .render();
    page::render(
        &state,
        &staff.desk,
        "/console/audit",
        StatusCode::OK,
        "Audit log",
        main,
    )
}
