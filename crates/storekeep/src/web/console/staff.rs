//! `/console/staff`: the shop's staff and their roles, keyset-paged, and
//! adding a staff member (email, name, role, initial password) through the
//! service `POST /api/v1/admin/staff` uses, with its rules
//! (`services::staff::may_give`: only an owner adds an owner, nobody gives
//! more than they hold; the plan's staff limit), and changing a member's
//! role (`POST /console/staff/{id}/role`) through the service
//! `PATCH /api/v1/admin/staff/{id}` uses (`services::staff::may_change`:
//! nobody changes their own role, only an owner makes or unmakes an owner;
//! the shop's last owner keeps the owner role, a 409).

use askama::Template;
use axum::Form;
use axum::extract::rejection::{FormRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;
use storekeep_domain::{PageRequest, Permission, Role, ValidationErrors};
use storekeep_store::StoreError;

use crate::app::AppState;
use crate::services::{ServiceError, staff as staff_svc};
use crate::web::WebError;
use crate::web::console::credentials::{ListQuery, when};
use crate::web::console::desk::Staff;
use crate::web::console::page;
use crate::web::pages::shopper::see_other;
use crate::wire::accounts::NewAccountInput;

const PAGE_SIZE: u32 = 50;
const ROLES: [Role; 4] = [Role::Owner, Role::Admin, Role::Staff, Role::Viewer];

pub struct Row {
    pub id: String,
    /// The roles this account may give the member, if it may change its
    /// role at all (empty: no form).
    pub role_options: Vec<RoleOption>,
    pub email: String,
    pub name: String,
    pub role: &'static str,
    pub mfa: bool,
    pub added: String,
    pub you: bool,
}

pub struct RoleOption {
    pub value: &'static str,
    pub selected: bool,
}

/// The add form as typed, and what the service said of it.
#[derive(Debug, Default, Deserialize)]
pub struct StaffForm {
    #[serde(default)]
    pub email: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub role: String,
    #[serde(default)]
    pub password: String,
}

#[derive(Default)]
pub struct Problems {
    pub top: Option<String>,
    pub email: Option<String>,
    pub name: Option<String>,
    pub role: Option<String>,
    pub password: Option<String>,
}

impl Problems {
    fn from_errors(errors: &ValidationErrors) -> Self {
        let mut p = Self::default();
        for e in &errors.0 {
            let slot = match e.field.as_str() {
                "email" => &mut p.email,
                "name" => &mut p.name,
                "role" => &mut p.role,
                "password" => &mut p.password,
                _ => &mut p.top,
            };
            match slot {
                Some(m) => {
                    m.push_str("; ");
                    m.push_str(&e.message);
                }
                None => *slot = Some(e.message.clone()),
            }
        }
        if p.top.is_none() {
            p.top = Some("The staff member was not added: see the fields below.".into());
        }
        p
    }
}

#[derive(Template)]
#[template(path = "console/staff_list.html")]
struct StaffPage {
    csrf: String,
    notice: Option<&'static str>,
    rows: Vec<Row>,
    can_write: bool,
    roles: Vec<RoleOption>,
    form: StaffForm,
    problems: Problems,
    next: Option<String>,
}

async fn staff_page(
    state: &AppState,
    staff: &Staff,
    q: &ListQuery,
    status: StatusCode,
    form: StaffForm,
    problems: Problems,
) -> Response {
    let page_req = PageRequest {
        limit: PAGE_SIZE,
        after: q.after.clone().filter(|a| !a.is_empty()),
    };
    let (items, next_cursor) =
        match staff_svc::list(&state.services, staff.tenant(), &page_req).await {
            Ok(l) => l,
            Err(e) => return page::error(state, &staff.desk, e),
        };
    let can_write = staff.desk.can(Permission::StaffWrite);
    let rows = items
        .into_iter()
        .map(|a| Row {
            id: a.id.to_string(),
            role_options: if can_write {
                role_options(staff, &a)
            } else {
                Vec::new()
            },
            you: a.id == staff.user.user.id,
            email: a.email,
            name: a.name.unwrap_or_default(),
            role: a.role.map_or("", Role::as_str),
            mfa: a.mfa_enabled,
            added: when(a.created_at),
        })
        .collect();
    // Only the roles this account may give are offered.
    let chosen = if form.role.is_empty() {
        "staff"
    } else {
        form.role.as_str()
    };
    let roles = ROLES
        .into_iter()
        .filter(|r| staff_svc::may_give(staff.user.role, &staff.user.permissions, *r).is_ok())
        .map(|r| RoleOption {
            value: r.as_str(),
            selected: r.as_str() == chosen,
        })
        .collect();
    let notice = match q.done.as_deref() {
        Some("added") => Some("The staff member was added."),
        Some("role") => Some("The role was changed."),
        _ => None,
    };
    let main = StaffPage {
        csrf: staff.desk.csrf(state),
        notice,
        rows,
        can_write,
        roles,
        form,
        problems,
        next: page::next_link("/console/staff", &[], next_cursor.as_deref()),
    }
    .render();
    page::render(state, &staff.desk, "/console/staff", status, "Staff", main)
}

/// `GET /console/staff`.
pub async fn list(
    State(state): State<AppState>,
    staff: Staff,
    q: Result<Query<ListQuery>, QueryRejection>,
) -> Response {
    if let Err(r) = staff.require(&state, Permission::StaffRead) {
        return r;
    }
    let Ok(Query(q)) = q else {
        return page::bad_request(&state, &staff.desk, "This page's address is not valid.");
    };
    staff_page(
        &state,
        &staff,
        &q,
        StatusCode::OK,
        StaffForm::default(),
        Problems::default(),
    )
    .await
}

/// `POST /console/staff`: adds a staff member.
pub async fn add(
    State(state): State<AppState>,
    staff: Staff,
    form: Result<Form<StaffForm>, FormRejection>,
) -> Response {
    if let Err(r) = staff.require(&state, Permission::StaffWrite) {
        return r;
    }
    let Ok(Form(form)) = form else {
        return page::unreadable_form(&state, &staff.desk);
    };
    let q = ListQuery::default();
    let role = match Role::parse(form.role.trim()) {
        Ok(r) => r,
        Err(m) => {
            let problems = Problems::from_errors(&ValidationErrors::single("role", m));
            return staff_page(
                &state,
                &staff,
                &q,
                StatusCode::UNPROCESSABLE_ENTITY,
                form,
                problems,
            )
            .await;
        }
    };
    if let Err(m) = staff_svc::may_give(staff.user.role, &staff.user.permissions, role) {
        return page::forbidden(&state, &staff.desk, &format!("Not added: {m}."));
    }
    let input = NewAccountInput {
        email: form.email.clone(),
        password: form.password.clone(),
        name: Some(form.name.clone()),
        phone: None,
    };
    let refused = |problems: Problems, status: StatusCode| {
        let form = StaffForm {
            password: String::new(),
            ..form
        };
        (problems, status, form)
    };
    let (problems, status, form) = match staff_svc::add(
        &state.services,
        staff.tenant(),
        role,
        &input,
        &staff.desk.audit(),
    )
    .await
    {
        Ok(_) => return see_other("/console/staff?done=added"),
        Err(ServiceError::Invalid(errors)) => refused(
            Problems::from_errors(&errors),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        Err(ServiceError::Store(StoreError::Conflict { .. })) => refused(
            Problems::from_errors(&ValidationErrors::single(
                "email",
                "a staff member or customer of this shop already has this email",
            )),
            StatusCode::CONFLICT,
        ),
        Err(ServiceError::PlanLimit(m)) => refused(
            Problems {
                top: Some(m),
                ..Problems::default()
            },
            StatusCode::PAYMENT_REQUIRED,
        ),
        Err(e) => return page::error(&state, &staff.desk, e),
    };
    staff_page(&state, &staff, &q, status, form, problems).await
}

/// The roles `staff` may give `member` (none if it may not change its role).
fn role_options(staff: &Staff, member: &crate::wire::accounts::Account) -> Vec<RoleOption> {
    let me = &staff.user;
    ROLES
        .into_iter()
        .filter(|r| staff_svc::may_change(me.user.id, me.role, &me.permissions, member, *r).is_ok())
        .map(|r| RoleOption {
            value: r.as_str(),
            selected: Some(r) == member.role,
        })
        .collect()
}

#[derive(Debug, Default, Deserialize)]
pub struct RoleForm {
    #[serde(default)]
    pub role: String,
}

/// `POST /console/staff/{id}/role`: gives a staff member another role.
pub async fn change_role(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
    form: Result<Form<RoleForm>, FormRejection>,
) -> Response {
    if let Err(r) = staff.require(&state, Permission::StaffWrite) {
        return r;
    }
    let Ok(Form(form)) = form else {
        return page::unreadable_form(&state, &staff.desk);
    };
    let Ok(id) = id.parse() else {
        return page::error(&state, &staff.desk, WebError::NotFound);
    };
    let member = match staff_svc::member(&state.services, staff.tenant(), id).await {
        Ok(m) => m,
        Err(e) => return page::error(&state, &staff.desk, e),
    };
    let q = ListQuery::default();
    let refused = |top: String, status: StatusCode| {
        let problems = Problems {
            top: Some(top),
            ..Problems::default()
        };
        (problems, status)
    };
    let role = match Role::parse(form.role.trim()) {
        Ok(r) => r,
        Err(m) => {
            let (problems, status) = refused(
                format!("{}'s role was not changed: {m}.", member.email),
                StatusCode::UNPROCESSABLE_ENTITY,
            );
            return staff_page(&state, &staff, &q, status, StaffForm::default(), problems).await;
        }
    };
    let me = &staff.user;
    if let Err(m) = staff_svc::may_change(me.user.id, me.role, &me.permissions, &member, role) {
        return page::forbidden(&state, &staff.desk, &format!("Not changed: {m}."));
    }
    let (problems, status) = match staff_svc::change_role(
        &state.services,
        staff.tenant(),
        &member,
        role,
        &staff.desk.audit(),
    )
    .await
    {
        Ok(_) => return see_other("/console/staff?done=role"),
        Err(ServiceError::Store(StoreError::Invalid(m))) => refused(
            format!("{}'s role was not changed: {m}.", member.email),
            StatusCode::CONFLICT,
        ),
        Err(e) => return page::error(&state, &staff.desk, e),
    };
    staff_page(&state, &staff, &q, status, StaffForm::default(), problems).await
}
