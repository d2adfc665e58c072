//! The shop's credentials for integrations: `/console/api-keys` and
//! `/console/oauth-clients`. Each lists the shop's keys (or clients),
//! keyset-paged, creates one through the service
//! `POST /api/v1/admin/api-keys` (`…/oauth-clients`) uses, and revokes
//! one. A new key's (client's) secret is on the page that answers the
//! create post and nowhere else: it is not stored, the list shows only a
//! key's prefix, and every console page is `no-store`.

use askama::Template;
use axum::Form;
use axum::extract::rejection::{FormRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;
use storekeep_domain::{PageRequest, Permission, ValidationErrors};

use crate::app::AppState;
use crate::services::{ServiceError, credentials};
use crate::web::WebError;
use crate::web::console::desk::Staff;
use crate::web::console::page;
use crate::web::pages::shopper::see_other;
use crate::wire::credentials::NewCredentialInput;

/// Rows per list page.
const PAGE_SIZE: u32 = 50;

pub use crate::web::console::page::when;

/// A list's query: its cursor and the notice of a finished action.
#[derive(Debug, Default, Deserialize)]
pub struct ListQuery {
    pub after: Option<String>,
    pub done: Option<String>,
}

impl ListQuery {
    fn page(&self) -> PageRequest {
        PageRequest {
            limit: PAGE_SIZE,
            after: self.after.clone().filter(|a| !a.is_empty()),
        }
    }
}

/// One scope checkbox of the create form.
pub struct ScopeBox {
    pub name: &'static str,
    pub id: String,
    pub checked: bool,
}

/// The create form as typed, and what the service said of it.
#[derive(Default)]
pub struct Draft {
    pub name: String,
    pub scopes: Vec<String>,
    pub name_error: Option<String>,
    pub scopes_error: Option<String>,
}

impl Draft {
    fn boxes(&self) -> Vec<ScopeBox> {
        Permission::all_names()
            .into_iter()
            .map(|name| ScopeBox {
                name,
                id: format!("scope-{}", name.replace(':', "-")),
                checked: self.scopes.iter().any(|s| s == name),
            })
            .collect()
    }

    /// The form's fields (`csrf` and anything else ignored).
    fn read(fields: Vec<(String, String)>) -> Self {
        let mut d = Self::default();
        for (k, v) in fields {
            match k.as_str() {
                "name" => d.name = v,
                "scope" => d.scopes.push(v),
                _ => {}
            }
        }
        d
    }

    fn input(&self) -> NewCredentialInput {
        NewCredentialInput {
            name: self.name.clone(),
            scopes: self.scopes.clone(),
        }
    }

    /// Puts each of the service's messages beside its field.
    fn refused(mut self, errors: &ValidationErrors) -> Self {
        for e in &errors.0 {
            let slot = if e.field == "name" {
                &mut self.name_error
            } else {
                &mut self.scopes_error
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

/// A secret on the page that answers its create post.
pub struct Created {
    pub name: String,
    /// The OAuth client's id (for clients).
    pub client_id: Option<String>,
    pub secret: String,
}

fn notice(done: Option<&str>, what: &str) -> Option<String> {
    match done? {
        "revoked" => Some(format!("The {what} was revoked.")),
        _ => None,
    }
}

// --- API keys ---

pub struct KeyRow {
    pub id: String,
    pub name: String,
    pub prefix: String,
    pub scopes: String,
    pub created: String,
    pub last_used: String,
    pub revoked: Option<String>,
}

#[derive(Template)]
#[template(path = "console/credentials_api_keys.html")]
struct KeysPage {
    csrf: String,
    notice: Option<String>,
    problem: Option<String>,
    created: Option<Created>,
    rows: Vec<KeyRow>,
    can_write: bool,
    draft: Draft,
    boxes: Vec<ScopeBox>,
    action: &'static str,
    noun: &'static str,
    next: Option<String>,
}

async fn keys_page(
    state: &AppState,
    staff: &Staff,
    q: &ListQuery,
    status: StatusCode,
    created: Option<Created>,
    draft: Draft,
) -> Response {
    // A key just made is shown even when the list cannot be read: its
    // secret exists nowhere else.
    let mut unlisted = false;
    let list = match credentials::list_api_keys(&state.services, staff.tenant().id, &q.page()).await
    {
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
        .map(|k| KeyRow {
            id: k.id.to_string(),
            name: k.name,
            prefix: k.prefix,
            scopes: k.scopes.join(", "),
            created: when(k.created_at),
            last_used: k.last_used_at.map_or_else(|| "never".into(), when),
            revoked: k.revoked_at.map(when),
        })
        .collect();
    let problem = if unlisted {
        Some("The list of keys could not be read just now; reload the page to see it.".to_owned())
    } else {
        (draft.name_error.is_some() || draft.scopes_error.is_some())
            .then(|| "The key was not created: see the fields below.".to_owned())
    };
    let main = KeysPage {
        csrf: staff.desk.csrf(state),
        notice: notice(q.done.as_deref(), "API key"),
        problem,
        created,
        rows,
        can_write: staff.desk.can(Permission::CredentialsWrite),
        boxes: draft.boxes(),
        draft,
        action: "/console/api-keys",
        noun: "key",
        next: page::next_link("/console/api-keys", &[], list.next_cursor.as_deref()),
    }
    .render();
    page::render(
        state,
        &staff.desk,
        "/console/api-keys",
        status,
        "API keys",
        main,
    )
}

/// `GET /console/api-keys`.
pub async fn api_keys(
    State(state): State<AppState>,
    staff: Staff,
    q: Result<Query<ListQuery>, QueryRejection>,
) -> Response {
    if let Err(r) = staff.require(&state, Permission::CredentialsRead) {
        return r;
    }
    let Ok(Query(q)) = q else {
        return page::bad_request(&state, &staff.desk, "This page's address is not valid.");
    };
    keys_page(&state, &staff, &q, StatusCode::OK, None, Draft::default()).await
}

/// `POST /console/api-keys`: creates a key; the answer shows its secret,
/// once.
pub async fn create_api_key(
    State(state): State<AppState>,
    staff: Staff,
    form: Result<Form<Vec<(String, String)>>, FormRejection>,
) -> Response {
    if let Err(r) = staff.require(&state, Permission::CredentialsWrite) {
        return r;
    }
    let Ok(Form(fields)) = form else {
        return page::unreadable_form(&state, &staff.desk);
    };
    let draft = Draft::read(fields);
    let q = ListQuery::default();
    match credentials::create_api_key(
        &state.services,
        staff.tenant().id,
        &draft.input(),
        &staff.user.permissions,
        &staff.desk.audit(),
    )
    .await
    {
        Ok((key, secret)) => {
            let created = Created {
                name: key.name,
                client_id: None,
                secret,
            };
            keys_page(
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
            keys_page(
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

/// `POST /console/api-keys/{id}/revoke`.
pub async fn revoke_api_key(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
) -> Response {
    if let Err(r) = staff.require(&state, Permission::CredentialsWrite) {
        return r;
    }
    let Ok(id) = id.parse() else {
        return page::error(&state, &staff.desk, WebError::NotFound);
    };
    match credentials::revoke_api_key(&state.services, staff.tenant().id, id, &staff.desk.audit())
        .await
    {
        Ok(_) => see_other("/console/api-keys?done=revoked"),
        Err(e) => page::error(&state, &staff.desk, e),
    }
}

// --- OAuth clients ---

pub struct ClientRow {
    pub id: String,
    pub client_id: String,
    pub name: String,
    pub scopes: String,
    pub created: String,
    pub revoked: Option<String>,
}

#[derive(Template)]
#[template(path = "console/credentials_oauth_clients.html")]
struct ClientsPage {
    csrf: String,
    notice: Option<String>,
    problem: Option<String>,
    created: Option<Created>,
    rows: Vec<ClientRow>,
    can_write: bool,
    draft: Draft,
    boxes: Vec<ScopeBox>,
    action: &'static str,
    noun: &'static str,
    next: Option<String>,
}

async fn clients_page(
    state: &AppState,
    staff: &Staff,
    q: &ListQuery,
    status: StatusCode,
    created: Option<Created>,
    draft: Draft,
) -> Response {
    // A client just made is shown even when the list cannot be read: its
    // secret exists nowhere else.
    let mut unlisted = false;
    let list = match credentials::list_oauth_clients(&state.services, staff.tenant().id, &q.page())
        .await
    {
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
        .map(|c| ClientRow {
            id: c.id.to_string(),
            client_id: c.client_id,
            name: c.name,
            scopes: c.scopes.join(", "),
            created: when(c.created_at),
            revoked: c.revoked_at.map(when),
        })
        .collect();
    let problem = if unlisted {
        Some(
            "The list of clients could not be read just now; reload the page to see it.".to_owned(),
        )
    } else {
        (draft.name_error.is_some() || draft.scopes_error.is_some())
            .then(|| "The client was not created: see the fields below.".to_owned())
    };
    let main = ClientsPage {
        csrf: staff.desk.csrf(state),
        notice: notice(q.done.as_deref(), "OAuth client"),
        problem,
        created,
        rows,
        can_write: staff.desk.can(Permission::CredentialsWrite),
        boxes: draft.boxes(),
        draft,
        action: "/console/oauth-clients",
        noun: "client",
        next: page::next_link("/console/oauth-clients", &[], list.next_cursor.as_deref()),
    }
    .render();
    page::render(
        state,
        &staff.desk,
        "/console/oauth-clients",
        status,
        "OAuth clients",
        main,
    )
}

/// `GET /console/oauth-clients`.
pub async fn oauth_clients(
    State(state): State<AppState>,
    staff: Staff,
    q: Result<Query<ListQuery>, QueryRejection>,
) -> Response {
    if let Err(r) = staff.require(&state, Permission::CredentialsRead) {
        return r;
    }
    let Ok(Query(q)) = q else {
        return page::bad_request(&state, &staff.desk, "This page's address is not valid.");
    };
    clients_page(&state, &staff, &q, StatusCode::OK, None, Draft::default()).await
}

/// `POST /console/oauth-clients`: creates a client; the answer shows its
/// secret, once.
pub async fn create_oauth_client(
    State(state): State<AppState>,
    staff: Staff,
    form: Result<Form<Vec<(String, String)>>, FormRejection>,
) -> Response {
    if let Err(r) = staff.require(&state, Permission::CredentialsWrite) {
        return r;
    }
    let Ok(Form(fields)) = form else {
        return page::unreadable_form(&state, &staff.desk);
    };
    let draft = Draft::read(fields);
    let q = ListQuery::default();
    match credentials::create_oauth_client(
        &state.services,
        staff.tenant().id,
        &draft.input(),
        &staff.user.permissions,
        &staff.desk.audit(),
    )
    .await
    {
        Ok((client, secret)) => {
            let created = Created {
                name: client.name,
                client_id: Some(client.client_id),
                secret,
            };
            clients_page(
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
            clients_page(
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

/// `POST /console/oauth-clients/{id}/revoke`: the client and every token
/// issued to it.
pub async fn revoke_oauth_client(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
) -> Response {
    if let Err(r) = staff.require(&state, Permission::CredentialsWrite) {
        return r;
    }
    let Ok(id) = id.parse() else {
        return page::error(&state, &staff.desk, WebError::NotFound);
    };
    match credentials::revoke_oauth_client(
        &state.services,
        staff.tenant().id,
        id,
        &staff.desk.audit(),
    )
    .await
    {
        Ok(_) => see_other("/console/oauth-clients?done=revoked"),
        Err(e) => page::error(&state, &staff.desk, e),
    }
}
