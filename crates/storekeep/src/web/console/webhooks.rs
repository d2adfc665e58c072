//! The shop's outbound webhook endpoints: `/console/webhooks`. Lists the
//! endpoints, keyset-paged, and registers one through the service
//! `POST /api/v1/admin/webhooks` uses. A new endpoint's signing secret is
//! on the page that answers the create post and nowhere else (every
//! console page is `no-store`). Reading needs `settings:read`, creating
//! `settings:write`, as in the admin API. One endpoint's page, its log and
//! its actions are in `webhooks_endpoint.rs`.

use askama::Template;
use axum::Form;
use axum::extract::Query;
use axum::extract::State;
use axum::extract::rejection::{FormRejection, QueryRejection};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;
use storekeep_domain::{PageRequest, Permission, ValidationErrors};
use storekeep_store::webhooks::EVENT_TYPES;

use crate::app::AppState;
use crate::services::{ServiceError, webhooks};
use crate::web::console::desk::Staff;
use crate::web::console::page::{self, when};
use crate::wire::webhooks::NewWebhookInput;

/// Rows per list page.
const PAGE_SIZE: u32 = 50;

/// The list's query: its cursor and the notice of a finished action.
#[derive(Debug, Default, Deserialize)]
pub struct ListQuery {
    pub after: Option<String>,
    pub done: Option<String>,
}

/// One event checkbox of the create form.
pub struct EventBox {
    pub name: &'static str,
    pub id: String,
    pub checked: bool,
}

/// The create form as typed, and what the service said of it.
#[derive(Default)]
pub struct Draft {
    pub url: String,
    pub description: String,
    pub events: Vec<String>,
    pub url_error: Option<String>,
    pub description_error: Option<String>,
    pub events_error: Option<String>,
}

impl Draft {
    fn read(fields: Vec<(String, String)>) -> Self {
        let mut d = Self::default();
        for (k, v) in fields {
            match k.as_str() {
                "url" => d.url = v,
                "description" => d.description = v,
                "event" => d.events.push(v),
                _ => {}
            }
        }
        d
    }

    fn boxes(&self) -> Vec<EventBox> {
        EVENT_TYPES
            .iter()
            .map(|name| EventBox {
                name,
                id: format!("event-{}", name.replace('.', "-")),
                checked: self.events.iter().any(|e| e == name),
            })
            .collect()
    }

    fn refused(mut self, errors: &ValidationErrors) -> Self {
        for e in &errors.0 {
            let slot = if e.field == "webhook.url" {
                &mut self.url_error
            } else if e.field == "webhook.description" {
                &mut self.description_error
            } else {
                &mut self.events_error
            };
            match slot {
                Some(m) => {
                    m.push_str("; ");
                    m.push_str(&e.message);
                }
                None => *slot = Some(e.message.clone()),
            }
        }
        self
    }
}

/// A new endpoint's secret, on the page answering its create post.
pub struct Created {
    pub url: String,
    pub secret: String,
}

pub struct Row {
    pub id: String,
    pub url: String,
    pub events: String,
    pub status: &'static str,
    pub created: String,
}

#[derive(Template)]
#[template(path = "console/webhooks_list.html")]
struct ListPage {
    csrf: String,
    notice: Option<&'static str>,
    problem: Option<String>,
    created: Option<Created>,
    rows: Vec<Row>,
    can_write: bool,
    boxes: Vec<EventBox>,
    draft: Draft,
    next: Option<String>,
}

async fn list_page(
    state: &AppState,
    staff: &Staff,
    q: &ListQuery,
    status: StatusCode,
    created: Option<Created>,
    draft: Draft,
) -> Response {
    let req = PageRequest {
        limit: PAGE_SIZE,
        after: q.after.clone().filter(|a| !a.is_empty()),
    };
    // A secret just made is shown even when the list cannot be read.
    let mut unlisted = false;
    let list = match webhooks::list(&state.services, staff.tenant().id, &req).await {
        Ok(l) => l,
        Err(e) if created.is_none() => return page::error(state, &staff.desk, e),
        Err(_) => {
            unlisted = true;
            storekeep_domain::Page {
                items: Vec::new(),
                next_cursor: None,
            }
        }
    };
    let rows = list
        .items
        .into_iter()
        .map(|w| Row {
            id: w.id.to_string(),
            url: w.url,
            events: if w.events.is_empty() {
                "every event".to_owned()
            } else {
                w.events.join(", ")
            },
            status: w.status.as_str(),
            created: when(w.created_at),
        })
        .collect();
    let problem = if unlisted {
        Some(
            "The list of endpoints could not be read just now; reload the page to see it."
                .to_owned(),
        )
    } else {
        (draft.url_error.is_some()
            || draft.description_error.is_some()
            || draft.events_error.is_some())
        .then(|| "The endpoint was not created: see the fields below.".to_owned())
    };
    let main = ListPage {
        csrf: staff.desk.csrf(state),
        notice: (q.done.as_deref() == Some("deleted"))
            .then_some("The endpoint was deleted: nothing more is sent to it."),
        problem,
        created,
        rows,
        can_write: staff.desk.can(Permission::SettingsWrite),
        boxes: draft.boxes(),
        draft,
        next: page::next_link("/console/webhooks", &[], list.next_cursor.as_deref()),
    }
    .render();
    page::render(
        state,
        &staff.desk,
        "/console/webhooks",
        status,
        "Webhooks",
        main,
    )
}

/// `GET /console/webhooks`.
pub async fn list(
    State(state): State<AppState>,
    staff: Staff,
    q: Result<Query<ListQuery>, QueryRejection>,
) -> Response {
    if let Err(r) = staff.require(&state, Permission::SettingsRead) {
        return r;
    }
    let Ok(Query(q)) = q else {
        return page::bad_request(&state, &staff.desk, "This page's address is not valid.");
    };
    list_page(&state, &staff, &q, StatusCode::OK, None, Draft::default()).await
}

/// `POST /console/webhooks`: registers an endpoint; the answer shows its
/// signing secret, once.
pub async fn create(
    State(state): State<AppState>,
    staff: Staff,
    form: Result<Form<Vec<(String, String)>>, FormRejection>,
) -> Response {
    if let Err(r) = staff.require(&state, Permission::SettingsWrite) {
        return r;
    }
    let Ok(Form(fields)) = form else {
        return page::unreadable_form(&state, &staff.desk);
    };
    let draft = Draft::read(fields);
    let input = NewWebhookInput {
        url: draft.url.clone(),
        description: draft.description.clone(),
        events: draft.events.clone(),
    };
    let q = ListQuery::default();
    match webhooks::create(
        &state.services,
        staff.tenant().id,
        &input,
        &staff.desk.audit(),
    )
    .await
    {
        Ok((endpoint, secret)) => {
            let created = Created {
                url: endpoint.url,
                secret,
            };
            list_page(
                &state,
                &staff,
                &q,
                StatusCode::CREATED,
                Some(created),
                Draft::default(),
            )
            .await
        }
        Err(ServiceError::Invalid(errors)) => {
            let draft = draft.refused(&errors);
            list_page(
                &state,
                &staff,
                &q,
                StatusCode::UNPROCESSABLE_ENTITY,
                None,
                draft,
            )
            .await
        }
        Err(e) => page::error(&state, &staff.desk, e),
    }
}
