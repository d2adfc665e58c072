//! A plan's own page for operators (`/console/plans/{name}`): its limits
//! as they are, and a form changing any of them through the same service
//! as `PATCH /api/v1/platform/plans/{name}` (`services::plans::change_plan`:
//! every shop on the plan is held to the new limits from its next
//! request). A field left blank keeps its limit; a refused value is shown
//! beside its field with a 422 and nothing is saved.

use askama::Template;
use axum::Form;
use axum::extract::rejection::{FormRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;
use storekeep_domain::{Plan, PlanLimits};

use crate::app::AppState;
use crate::services::{ServiceError, plans};
use crate::web::console::desk::Operator;
use crate::web::console::page;
use crate::web::pages::shopper::see_other;
use crate::wire::plans::{PlanLimitsInput, PlanPatchInput};

/// The form's fields: what was typed (blank: unchanged).
#[derive(Debug, Default, Deserialize)]
pub struct LimitsForm {
    #[serde(default)]
    max_products: String,
    #[serde(default)]
    max_staff: String,
    #[serde(default)]
    storage_bytes: String,
    #[serde(default)]
    api_requests_per_minute: String,
    #[serde(default)]
    auth_requests_per_minute: String,
    #[serde(default)]
    search_requests_per_minute: String,
    #[serde(default)]
    admin_requests_per_minute: String,
}

/// One limit: its field, label, value now, what was typed and its problem.
struct Field {
    field: &'static str,
    label: &'static str,
    current: i64,
    typed: String,
    problem: Option<String>,
}

#[derive(Template)]
#[template(path = "console/plans_edit.html")]
struct EditPage<'a> {
    csrf: &'a str,
    name: &'a str,
    notice: Option<&'static str>,
    problem: Option<&'static str>,
    fields: Vec<Field>,
}

fn fields(limits: &PlanLimits, form: LimitsForm, problems: &[(String, String)]) -> Vec<Field> {
    let problem = |field: &str| {
        problems
            .iter()
            .find(|(f, _)| f == field || f.strip_prefix("limits.") == Some(field))
            .map(|(_, m)| m.clone())
    };
    [
        (
            "max_products",
            "Products",
            limits.max_products,
            form.max_products,
        ),
        (
            "max_staff",
            "Staff accounts",
            limits.max_staff,
            form.max_staff,
        ),
        (
            "storage_bytes",
            "Image storage (bytes)",
            limits.storage_bytes,
            form.storage_bytes,
        ),
        (
            "api_requests_per_minute",
            "API requests per minute",
            limits.api_requests_per_minute,
            form.api_requests_per_minute,
        ),
        (
            "auth_requests_per_minute",
            "Sign-ins per minute",
            limits.auth_requests_per_minute,
            form.auth_requests_per_minute,
        ),
        (
            "search_requests_per_minute",
            "Searches per minute",
            limits.search_requests_per_minute,
            form.search_requests_per_minute,
        ),
        (
            "admin_requests_per_minute",
            "Admin requests per minute",
            limits.admin_requests_per_minute,
            form.admin_requests_per_minute,
        ),
    ]
    .into_iter()
    .map(|(field, label, current, typed)| Field {
        field,
        label,
        current,
        problem: problem(field),
        typed,
    })
    .collect()
}

fn edit_page(
    state: &AppState,
    op: &Operator,
    status: StatusCode,
    plan: &Plan,
    done: bool,
    form: LimitsForm,
    problems: &[(String, String)],
) -> Response {
    let csrf = op.desk.csrf(state);
    let name = plan.name.to_string();
    let main = EditPage {
        csrf: &csrf,
        name: &name,
        notice: done
            .then_some("The limits are changed; every shop on the plan is held to them now."),
        problem: (!problems.is_empty())
            .then_some("Nothing was saved: correct the limits marked below."),
        fields: fields(&plan.limits, form, problems),
    }
    .render();
    page::render(
        state,
        &op.desk,
        &format!("/console/plans/{name}"),
        status,
        &format!("Plan {name}"),
        main,
    )
}

#[derive(Debug, Default, Deserialize)]
pub struct EditQuery {
    done: Option<String>,
}

/// `GET /console/plans/{name}`.
pub async fn show(
    State(state): State<AppState>,
    op: Operator,
    Path(name): Path<String>,
    q: Result<Query<EditQuery>, QueryRejection>,
) -> Response {
    let plan = match plans::get(&state.services, &name).await {
        Ok(p) => p,
        Err(e) => return page::error(&state, &op.desk, e),
    };
    let done = q.ok().and_then(|Query(q)| q.done).as_deref() == Some("changed");
    edit_page(
        &state,
        &op,
        StatusCode::OK,
        &plan,
        done,
        LimitsForm::default(),
        &[],
    )
}

/// `POST /console/plans/{name}`: changes the limits typed in.
pub async fn update(
    State(state): State<AppState>,
    op: Operator,
    Path(name): Path<String>,
    form: Result<Form<LimitsForm>, FormRejection>,
) -> Response {
    let plan = match plans::get(&state.services, &name).await {
        Ok(p) => p,
        Err(e) => return page::error(&state, &op.desk, e),
    };
    let Ok(Form(form)) = form else {
        return page::unreadable_form(&state, &op.desk);
    };
    let mut problems = Vec::new();
    let mut number = |field: &str, raw: &str| -> Option<i64> {
        let raw = raw.trim();
        if raw.is_empty() {
            return None;
        }
        match raw.replace(['_', ','], "").parse::<i64>() {
            Ok(n) => Some(n),
            Err(_) => {
                problems.push((field.to_owned(), "must be a whole number".to_owned()));
                None
            }
        }
    };
    let limits = PlanLimitsInput {
        max_products: number("max_products", &form.max_products),
        max_staff: number("max_staff", &form.max_staff),
        storage_bytes: number("storage_bytes", &form.storage_bytes),
        api_requests_per_minute: number("api_requests_per_minute", &form.api_requests_per_minute),
        auth_requests_per_minute: number(
            "auth_requests_per_minute",
            &form.auth_requests_per_minute,
        ),
        search_requests_per_minute: number(
            "search_requests_per_minute",
            &form.search_requests_per_minute,
        ),
        admin_requests_per_minute: number(
            "admin_requests_per_minute",
            &form.admin_requests_per_minute,
        ),
    };
    let status = StatusCode::UNPROCESSABLE_ENTITY;
    if !problems.is_empty() {
        return edit_page(&state, &op, status, &plan, false, form, &problems);
    }
    let input = PlanPatchInput { limits };
    match plans::change_plan(&state.services, &name, &input, &op.desk.audit()).await {
        Ok(p) => see_other(&format!("/console/plans/{}?done=changed", p.name)),
        Err(ServiceError::Invalid(errors)) => {
            let problems: Vec<_> = errors.0.into_iter().map(|e| (e.field, e.message)).collect();
            edit_page(&state, &op, status, &plan, false, form, &problems)
        }
        Err(e) => page::error(&state, &op.desk, e),
    }
}
