//! `/console/audit`: the shop's audit log, newest first, a page at a time
//! through the service `GET /api/v1/admin/audit-log` uses (keyset on the
//! log's sequence numbers, never a count), narrowed by the filter form
//! above the table: an actor and an action (exact), and a span of whole
//! days in UTC (`to` includes its day). The same form and its reading
//! serve the operators' `/console/platform-audit` ([`FilterQuery`],
//! [`Filters`]).

use askama::Template;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use chrono::{DateTime, Days, NaiveDate, NaiveTime, Utc};
use serde::Deserialize;
use storekeep_domain::{AuditFilter, Permission, ValidationErrors};

use crate::app::AppState;
use crate::services::audit;
use crate::web::console::desk::Staff;
use crate::web::console::page;
use crate::web::console::page::when;

/// Entries per page.
const PAGE_SIZE: u32 = 50;

/// The filter form's values and the page link, as typed (checked by
/// [`Filters::read`], so a bad one is a 400 page naming it, never a
/// rejection of axum's).
#[derive(Debug, Default, Deserialize)]
pub struct FilterQuery {
    #[serde(default)]
    pub actor: String,
    #[serde(default)]
    pub action: String,
    #[serde(default)]
    pub from: String,
    #[serde(default)]
    pub to: String,
    #[serde(default)]
    pub after: String,
}

/// The filter form as the page shows it again, and what it asks for.
pub struct Filters {
    pub actor: String,
    pub action: String,
    pub from: String,
    pub to: String,
    /// Whether any filter is set (the page offers to clear them).
    pub active: bool,
    pub filter: AuditFilter,
    /// The page link's sequence number.
    pub before: Option<i64>,
}

/// A day of the form (`YYYY-MM-DD`), or blank.
fn day(raw: &str, field: &str) -> Result<Option<NaiveDate>, String> {
    if raw.is_empty() {
        return Ok(None);
    }
    NaiveDate::parse_from_str(raw, "%Y-%m-%d")
        .map(Some)
        .map_err(|_| format!("{field} must be a date such as 2026-11-28"))
}

/// The first instant of `d` in UTC.
fn midnight(d: NaiveDate) -> DateTime<Utc> {
    d.and_time(NaiveTime::MIN).and_utc()
}

impl Filters {
    /// Reads the query: the days become the span `[from 00:00, the day
    /// after to 00:00)` in UTC. A bad value is the message of its 400
    /// page, naming the field.
    pub fn read(q: &FilterQuery) -> Result<Self, String> {
        let (actor, action) = (q.actor.trim(), q.action.trim());
        let (from, to) = (q.from.trim(), q.to.trim());
        let from_day = day(from, "from")?;
        let to_day = day(to, "to")?;
        if let (Some(f), Some(t)) = (from_day, to_day)
            && f > t
        {
            return Err("from must not be after to".into());
        }
        let end = match to_day {
            None => None,
            Some(t) => match t.checked_add_days(Days::new(1)) {
                Some(next) => Some(midnight(next)),
                None => return Err("to must be a date such as 2026-11-28".into()),
            },
        };
        let mut errors = ValidationErrors::new();
        let filter = audit::filter(
            Some(actor),
            Some(action),
            from_day.map(midnight),
            end,
            &mut errors,
        );
        if let Some(e) = errors.0.first() {
            return Err(format!("{} {}", e.field, e.message));
        }
        let before = match q.after.trim() {
            "" => None,
            a => match a.parse::<i64>() {
                Ok(seq) if seq > 0 => Some(seq),
                _ => return Err("This page link is not valid.".into()),
            },
        };
        Ok(Self {
            actor: actor.to_owned(),
            action: action.to_owned(),
            from: from.to_owned(),
            to: to.to_owned(),
            active: !filter.is_empty(),
            filter,
            before,
        })
    }

    /// The filters as the next page's link keeps them.
    pub fn pairs(&self) -> [(&str, &str); 4] {
        [
            ("actor", self.actor.as_str()),
            ("action", self.action.as_str()),
            ("from", self.from.as_str()),
            ("to", self.to.as_str()),
        ]
    }
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
    f: Filters,
    path: &'static str,
    rows: Vec<Row>,
    next: Option<String>,
}

/// `GET /console/audit`.
pub async fn log(
    State(state): State<AppState>,
    staff: Staff,
    q: Result<Query<FilterQuery>, QueryRejection>,
) -> Response {
    if let Err(r) = staff.require(&state, Permission::AuditRead) {
        return r;
    }
    let Ok(Query(q)) = q else {
        return page::bad_request(&state, &staff.desk, "This page's address is not valid.");
    };
    let f = match Filters::read(&q) {
        Ok(f) => f,
        Err(m) => return page::bad_request(&state, &staff.desk, m),
    };
    let scope = staff.tenant().id.to_string();
    let found = audit::page(&state.services, &scope, &f.filter, f.before, PAGE_SIZE).await;
    let (items, next_cursor) = match found {
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
    let next = page::next_link("/console/audit", &f.pairs(), next_cursor.as_deref());
    let main = AuditPage {
        f,
        path: "/console/audit",
        rows,
        next,
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
