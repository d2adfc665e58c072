//! The operators' console (at the platform's host): shops and their plans
//! (open, suspend, resume), system health (every dependency's readiness,
//! versions, migrations, the job queues, the backups) with the last hour
//! of this node's requests, errors, p99 latency and orders drawn from its
//! own metrics, and the platform's audit log with chain verification.
//! Every action goes through the same services as `/api/v1/platform/*`.

use askama::Template;
use axum::Form;
use axum::extract::rejection::{FormRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;
use storekeep_domain::{PLATFORM_SCOPE, PageRequest, TenantStatus};

use crate::app::AppState;
use crate::backup::watch::Drill;
use crate::services::{ServiceError, audit, tenants};
use crate::web::WebError;
use crate::web::console::audit::{FilterQuery, Filters};
use crate::web::console::chart::{self, Chart};
use crate::web::console::desk::Operator;
use crate::web::console::page;
use crate::web::pages::shopper::see_other;
use crate::wire::tenants::{NewTenantInput, TenantPatchInput};

const PAGE: u32 = 50;

#[derive(Debug, Deserialize, Default)]
pub struct ListQuery {
    after: Option<String>,
    done: Option<String>,
}

#[derive(Debug, Deserialize, Default)]
pub struct NewShopForm {
    #[serde(default)]
    slug: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    plan: String,
}

#[derive(Debug, Deserialize)]
pub struct StatusForm {
    status: String,
}

struct ShopRow {
    slug: String,
    name: String,
    plan: String,
    active: bool,
    domains: String,
    created: String,
}

/// A field's problem, shown beside it.
struct FieldProblem {
    field: String,
    message: String,
}

#[derive(Template)]
#[template(path = "console/platform_shops.html")]
struct ShopsPage<'a> {
    csrf: &'a str,
    rows: Vec<ShopRow>,
    next: Option<String>,
    notice: Option<String>,
    form: NewShopForm,
    plans: Vec<String>,
    problems: Vec<FieldProblem>,
}

impl ShopsPage<'_> {
    fn problem(&self, field: &str) -> Option<&str> {
        self.problems
            .iter()
            .find(|p| p.field == field)
            .map(|p| p.message.as_str())
    }
}

use crate::web::console::page::when;

async fn shops_page(
    state: &AppState,
    op: &Operator,
    q: &ListQuery,
    status: StatusCode,
    form: NewShopForm,
    problems: Vec<FieldProblem>,
) -> Response {
    let svc = &state.services;
    let req = match PageRequest::new(Some(PAGE), q.after.clone()) {
        Ok(r) => r,
        Err(m) => return page::error(state, &op.desk, WebError::BadRequest(m)),
    };
    let found = match tenants::list(svc, &req).await {
        Ok(p) => p,
        Err(e) => return page::error(state, &op.desk, e),
    };
    let plans =
        match crate::services::plans::list(svc, &PageRequest::new(Some(200), None).expect("valid"))
            .await
        {
            Ok(p) => p.items.into_iter().map(|p| p.name.to_string()).collect(),
            Err(e) => return page::error(state, &op.desk, e),
        };
    let rows = found
        .items
        .iter()
        .map(|t| ShopRow {
            slug: t.slug.to_string(),
            name: t.name.clone(),
            plan: t.plan.to_string(),
            active: t.status == TenantStatus::Active,
            domains: t
                .domains
                .iter()
                .map(|d| d.as_str())
                .collect::<Vec<_>>()
                .join(", "),
            created: when(t.created_at),
        })
        .collect();
    let notice = q.done.as_deref().and_then(|d| match d {
        "created" => Some("The shop is open.".to_owned()),
        "suspended" => Some("The shop is suspended: its storefront and API answer 404.".to_owned()),
        "active" => Some("The shop is active again.".to_owned()),
        "plan" => Some("The shop's plan is changed; its limits apply at once.".to_owned()),
        _ => None,
    });
    let csrf = op.desk.csrf(state);
    let main = ShopsPage {
        csrf: &csrf,
        rows,
        next: page::next_link("/console/shops", &[], found.next_cursor.as_deref()),
        notice,
        form,
        plans,
        problems,
    }
    .render();
    page::render(state, &op.desk, "/console/shops", status, "Shops", main)
}

/// `GET /console/shops`.
pub async fn shops(
    State(state): State<AppState>,
    op: Operator,
    Query(q): Query<ListQuery>,
) -> Response {
    shops_page(
        &state,
        &op,
        &q,
        StatusCode::OK,
        NewShopForm::default(),
        Vec::new(),
    )
    .await
}

/// `POST /console/shops`: opens a shop.
pub async fn open_shop(
    State(state): State<AppState>,
    op: Operator,
    form: Result<Form<NewShopForm>, FormRejection>,
) -> Response {
    let Ok(Form(form)) = form else {
        return page::unreadable_form(&state, &op.desk);
    };
    let input = NewTenantInput {
        slug: form.slug.trim().to_owned(),
        name: form.name.trim().to_owned(),
        plan: Some(form.plan.trim().to_owned()).filter(|p| !p.is_empty()),
        domains: Vec::new(),
        settings: None,
    };
    match tenants::open_shop(&state.services, &input, &op.desk.audit()).await {
        Ok(_) => see_other("/console/shops?done=created"),
        Err(ServiceError::Invalid(errors)) => {
            let problems = errors
                .0
                .into_iter()
                .map(|e| FieldProblem {
                    field: e.field,
                    message: e.message,
                })
                .collect();
            shops_page(
                &state,
                &op,
                &ListQuery::default(),
                StatusCode::UNPROCESSABLE_ENTITY,
                form,
                problems,
            )
            .await
        }
        Err(ServiceError::Store(storekeep_store::StoreError::Conflict { field })) => {
            let problems = vec![FieldProblem {
                field: field.into(),
                message: "is already taken by another shop".into(),
            }];
            shops_page(
                &state,
                &op,
                &ListQuery::default(),
                StatusCode::CONFLICT,
                form,
                problems,
            )
            .await
        }
        Err(ServiceError::Store(storekeep_store::StoreError::UnknownReference { field })) => {
            let problems = vec![FieldProblem {
                field: field.into(),
                message: "names no plan of this platform".into(),
            }];
            shops_page(
                &state,
                &op,
                &ListQuery::default(),
                StatusCode::UNPROCESSABLE_ENTITY,
                form,
                problems,
            )
            .await
        }
        Err(e) => page::error(&state, &op.desk, e),
    }
}

/// `POST /console/shops/{slug}/status`: suspends (`suspended`) or resumes
/// (`active`) a shop. A suspended shop's storefront, console and API
/// answer 404 on every node as soon as its cached tenant is forgotten
/// (this node at once; see `services::tenants::change_shop`).
pub async fn set_status(
    State(state): State<AppState>,
    op: Operator,
    Path(slug): Path<String>,
    form: Result<Form<StatusForm>, FormRejection>,
) -> Response {
    let Ok(Form(form)) = form else {
        return page::unreadable_form(&state, &op.desk);
    };
    let status = match form.status.as_str() {
        "suspended" => TenantStatus::Suspended,
        "active" => TenantStatus::Active,
        _ => {
            return page::bad_request(
                &state,
                &op.desk,
                "The status must be 'active' or 'suspended'.",
            );
        }
    };
    let patch = TenantPatchInput {
        name: None,
        status: Some(status),
        plan: None,
        domains: None,
        settings: None,
    };
    match tenants::change_shop(&state.services, &slug, &patch, &op.desk.audit()).await {
        Ok(t) => see_other(&format!("/console/shops?done={}", t.status.as_str())),
        Err(e) => page::error(&state, &op.desk, e),
    }
}

struct Dependency {
    name: &'static str,
    ok: bool,
    detail: String,
}

struct QueueRow {
    queue: String,
    ready: i64,
    oldest: String,
    scheduled: i64,
    running: i64,
    dead: i64,
}

#[derive(Template)]
#[template(path = "console/platform_health.html")]
struct HealthPage {
    status: &'static str,
    version: &'static str,
    revision: &'static str,
    uptime: String,
    dependencies: Vec<Dependency>,
    migrations: String,
    pool: String,
    queues: Option<Vec<QueueRow>>,
    backup_destination: String,
    backup_last: String,
    backup_age: String,
    backup_failures: u64,
    backup_error: Option<String>,
    /// The latest restore drill on this node, as words, and whether it
    /// failed; whether one is running.
    drill: Option<(String, bool)>,
    drill_running: bool,
    csrf: String,
    notice: Option<&'static str>,
    charts: Vec<Chart>,
}

#[derive(Debug, Deserialize, Default)]
pub struct HealthQuery {
    done: Option<String>,
}

fn duration_words(secs: u64) -> String {
    let (d, h, m) = (secs / 86_400, secs / 3_600 % 24, secs / 60 % 60);
    match (d, h) {
        (0, 0) => format!("{m} min"),
        (0, _) => format!("{h} h {m} min"),
        _ => format!("{d} d {h} h"),
    }
}

/// `GET /console/health`.
pub async fn health(
    State(state): State<AppState>,
    op: Operator,
    Query(q): Query<HealthQuery>,
) -> Response {
    let f = crate::http::routes::health::detailed_facts(&state).await;
    let check = |name, ok: bool, detail: Option<String>, good: String| Dependency {
        name,
        ok,
        detail: if ok {
            good
        } else {
            detail.unwrap_or_else(|| "down".into())
        },
    };
    let mut dependencies = vec![check(
        "Database",
        f.database.ok,
        Some("unreachable".into()),
        format!("{}, {:.1} ms", f.database.kind, f.database.latency_ms),
    )];
    if let Some(r) = crate::services::health::replica_status(&state.services) {
        // Not part of readiness: the primary serves when the replica cannot.
        let lag = r.lag.map_or_else(
            || "lag not measured".into(),
            |l| format!("lag {} ms", l.as_millis()),
        );
        dependencies.push(Dependency {
            name: "Read replica",
            ok: r.up,
            detail: if !r.up {
                "down: catalog reads use the primary".into()
            } else if r.serving() {
                format!("{lag}, serving catalog reads")
            } else {
                format!(
                    "{lag}, past {} ms: catalog reads use the primary",
                    r.max_lag.as_millis()
                )
            },
        });
    }
    if let Some(r) = &f.redis {
        dependencies.push(check(
            "Redis",
            r.ok,
            r.detail.clone(),
            format!(
                "rate limits: {}, read cache: {}",
                f.rate_limiter, f.read_cache
            ),
        ));
    }
    dependencies.push(check(
        "Image store",
        f.media.ok,
        f.media.detail.clone(),
        f.media_store.to_owned(),
    ));
    let queues = f.jobs.as_ref().map(|qs| {
        qs.iter()
            .map(|q| QueueRow {
                queue: q.queue.clone(),
                ready: q.ready,
                oldest: q.oldest_ready_at.map_or_else(|| "—".into(), when),
                scheduled: q.scheduled,
                running: q.running,
                dead: q.dead,
            })
            .collect()
    });
    let b = &f.backups;
    let drill = state.services.backups.drill();
    let metrics = &state.services.metrics;
    let minutes = metrics
        .history
        .minutes(chrono::Utc::now(), &crate::metrics_history::totals(metrics));
    let main = HealthPage {
        status: f.status,
        version: f.version,
        revision: f.git_revision,
        uptime: duration_words(f.uptime_seconds),
        dependencies,
        migrations: format!(
            "{} of {} applied",
            f.database.migrations_applied, f.database.migrations_known
        ),
        pool: format!(
            "{} open, {} idle, at most {}",
            f.database.pool_open, f.database.pool_idle, f.database.pool_max
        ),
        queues,
        backup_destination: b.destination.clone(),
        backup_last: match (&b.last_success_id, b.last_success_at) {
            (Some(id), Some(at)) => format!("{id} ({})", when(at)),
            _ => "none found".into(),
        },
        backup_age: b
            .age_seconds
            .map_or_else(|| "—".into(), |s| duration_words(s.max(0) as u64)),
        backup_failures: b.failures,
        backup_error: b.last_error.clone(),
        drill_running: matches!(drill, Drill::Running { .. }),
        drill: match drill {
            Drill::Never => None,
            Drill::Running { since } => Some((format!("started {}, running", when(since)), false)),
            Drill::Done { id, at, outcome } => {
                let which = id.map_or_else(String::new, |id| format!("backup {id}, "));
                Some(match outcome {
                    Ok(what) => (format!("{which}{}: verified — {what}", when(at)), false),
                    Err(why) => (format!("{which}{}: FAILED — {why}", when(at)), true),
                })
            }
        },
        csrf: op.desk.csrf(&state),
        notice: match q.done.as_deref() {
            Some("verifying") => {
                Some("The restore drill has started; this page shows its outcome.")
            }
            Some("already") => Some("A restore drill is already running on this node."),
            _ => None,
        },
        charts: chart::last_hour(&minutes),
    }
    .render();
    page::render(
        &state,
        &op.desk,
        "/console/health",
        StatusCode::OK,
        "System health",
        main,
    )
}

/// `POST /console/backups/verify`: starts a restore drill of the newest
/// backup on this node (see `BackupWatch::verify_now`).
pub async fn verify_backup(State(state): State<AppState>, _op: Operator) -> Response {
    let started = state
        .services
        .backups
        .verify_now(state.services.settings.clone());
    see_other(if started {
        "/console/health?done=verifying"
    } else {
        "/console/health?done=already"
    })
}

struct AuditRow {
    seq: i64,
    at: String,
    actor: String,
    action: String,
    target: String,
    request_id: String,
}

struct Verdict {
    scope: String,
    intact: bool,
    text: String,
}

#[derive(Template)]
#[template(path = "console/platform_audit.html")]
struct AuditPage<'a> {
    csrf: &'a str,
    f: Filters,
    path: &'static str,
    rows: Vec<AuditRow>,
    next: Option<String>,
    verdicts: Option<Vec<Verdict>>,
}

async fn audit_page(
    state: &AppState,
    op: &Operator,
    q: &FilterQuery,
    verdicts: Option<Vec<Verdict>>,
) -> Response {
    let f = match Filters::read(q) {
        Ok(f) => f,
        Err(m) => return page::bad_request(state, &op.desk, m),
    };
    let found = audit::page(&state.services, PLATFORM_SCOPE, &f.filter, f.before, PAGE).await;
    let (entries, next) = match found {
        Ok(p) => p,
        Err(e) => return page::error(state, &op.desk, e),
    };
    let rows = entries
        .into_iter()
        .map(|e| AuditRow {
            seq: e.seq,
            at: when(e.at),
            actor: e.actor,
            action: e.action,
            target: e.target,
            request_id: e.request_id.unwrap_or_default(),
        })
        .collect();
    let csrf = op.desk.csrf(state);
    let next = page::next_link("/console/platform-audit", &f.pairs(), next.as_deref());
    let main = AuditPage {
        csrf: &csrf,
        f,
        path: "/console/platform-audit",
        rows,
        next,
        verdicts,
    }
    .render();
    page::render(
        state,
        &op.desk,
        "/console/platform-audit",
        StatusCode::OK,
        "Audit log",
        main,
    )
}

/// `GET /console/platform-audit`: the platform's audit chain, newest
/// first, filtered as the shop's audit log is
/// ([`crate::web::console::audit::Filters`]).
pub async fn audit_log(
    State(state): State<AppState>,
    op: Operator,
    q: Result<Query<FilterQuery>, QueryRejection>,
) -> Response {
    let Ok(Query(q)) = q else {
        return page::bad_request(&state, &op.desk, "This page's address is not valid.");
    };
    audit_page(&state, &op, &q, None).await
}

/// `POST /console/platform-audit/verify`: recomputes every audit chain (the
/// platform's and each shop's), as `storekeep audit verify` does, and
/// shows each verdict.
pub async fn verify(State(state): State<AppState>, op: Operator) -> Response {
    let verdicts = match audit::verify_all(&state.services).await {
        Ok(v) => v,
        Err(e) => return page::error(&state, &op.desk, e),
    };
    let verdicts = verdicts
        .into_iter()
        .map(|(scope, v)| match v {
            audit::ChainVerdict::Intact(n) => Verdict {
                scope,
                intact: true,
                text: format!("intact, {n} entries"),
            },
            audit::ChainVerdict::Broken(why) => Verdict {
                scope,
                intact: false,
                text: format!("BROKEN: {why}"),
            },
        })
        .collect();
    audit_page(&state, &op, &FilterQuery::default(), Some(verdicts)).await
}

#[derive(Debug, Deserialize)]
pub struct PlanChoice {
    #[serde(default)]
    plan: String,
}

/// `POST /console/shops/{slug}/plan`: moves a shop to another plan (its
/// limits apply at once).
pub async fn set_plan(
    State(state): State<AppState>,
    op: Operator,
    Path(slug): Path<String>,
    form: Result<Form<PlanChoice>, FormRejection>,
) -> Response {
    let Ok(Form(form)) = form else {
        return page::unreadable_form(&state, &op.desk);
    };
    let patch = TenantPatchInput {
        name: None,
        status: None,
        plan: Some(form.plan.trim().to_owned()),
        domains: None,
        settings: None,
    };
    match tenants::change_shop(&state.services, &slug, &patch, &op.desk.audit()).await {
        Ok(_) => see_other("/console/shops?done=plan"),
        Err(e) => page::error(&state, &op.desk, e),
    }
}

/// The plan form's fields (blank: the default plan's value).
#[derive(Debug, Deserialize, Default)]
pub struct NewPlanForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    max_products: String,
    #[serde(default)]
    max_staff: String,
    #[serde(default)]
    api_requests_per_minute: String,
    #[serde(default)]
    auth_requests_per_minute: String,
}

struct PlanRow {
    name: String,
    limits: storekeep_domain::PlanLimits,
}

/// One field of the plan form, with what was typed and its problem.
struct PlanField {
    field: &'static str,
    label: &'static str,
    value: String,
    problem: Option<String>,
}

#[derive(Template)]
#[template(path = "console/platform_plans.html")]
struct PlansPage<'a> {
    csrf: &'a str,
    rows: Vec<PlanRow>,
    next: Option<String>,
    notice: Option<&'static str>,
    fields: Vec<PlanField>,
}

fn plan_fields(form: NewPlanForm, problems: &[FieldProblem]) -> Vec<PlanField> {
    let problem = |field: &str| {
        problems
            .iter()
            .find(|p| p.field == field || p.field == format!("limits.{field}"))
            .map(|p| p.message.clone())
    };
    [
        ("name", "Name", form.name),
        ("max_products", "Products", form.max_products),
        ("max_staff", "Staff", form.max_staff),
        (
            "api_requests_per_minute",
            "API requests per minute",
            form.api_requests_per_minute,
        ),
        (
            "auth_requests_per_minute",
            "Sign-ins per minute",
            form.auth_requests_per_minute,
        ),
    ]
    .into_iter()
    .map(|(field, label, value)| PlanField {
        field,
        label,
        value,
        problem: problem(field),
    })
    .collect()
}

async fn plans_page(
    state: &AppState,
    op: &Operator,
    q: &ListQuery,
    status: StatusCode,
    form: NewPlanForm,
    problems: Vec<FieldProblem>,
) -> Response {
    let req = match PageRequest::new(Some(PAGE), q.after.clone()) {
        Ok(r) => r,
        Err(m) => return page::error(state, &op.desk, WebError::BadRequest(m)),
    };
    let found = match crate::services::plans::list(&state.services, &req).await {
        Ok(p) => p,
        Err(e) => return page::error(state, &op.desk, e),
    };
    let csrf = op.desk.csrf(state);
    let main = PlansPage {
        csrf: &csrf,
        rows: found
            .items
            .into_iter()
            .map(|p| PlanRow {
                name: p.name.to_string(),
                limits: p.limits,
            })
            .collect(),
        next: page::next_link("/console/plans", &[], found.next_cursor.as_deref()),
        notice: (q.done.as_deref() == Some("created")).then_some("The plan is created."),
        fields: plan_fields(form, &problems),
    }
    .render();
    page::render(state, &op.desk, "/console/plans", status, "Plans", main)
}

/// `GET /console/plans`.
pub async fn plans(
    State(state): State<AppState>,
    op: Operator,
    Query(q): Query<ListQuery>,
) -> Response {
    plans_page(
        &state,
        &op,
        &q,
        StatusCode::OK,
        NewPlanForm::default(),
        Vec::new(),
    )
    .await
}

/// `POST /console/plans`: creates a plan; a limit left blank takes the
/// default plan's value.
pub async fn create_plan(
    State(state): State<AppState>,
    op: Operator,
    form: Result<Form<NewPlanForm>, FormRejection>,
) -> Response {
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
                problems.push(FieldProblem {
                    field: field.into(),
                    message: "must be a whole number".into(),
                });
                None
            }
        }
    };
    let limits = crate::wire::plans::PlanLimitsInput {
        max_products: number("max_products", &form.max_products),
        max_staff: number("max_staff", &form.max_staff),
        api_requests_per_minute: number("api_requests_per_minute", &form.api_requests_per_minute),
        auth_requests_per_minute: number(
            "auth_requests_per_minute",
            &form.auth_requests_per_minute,
        ),
        ..Default::default()
    };
    if !problems.is_empty() {
        return plans_page(
            &state,
            &op,
            &ListQuery::default(),
            StatusCode::UNPROCESSABLE_ENTITY,
            form,
            problems,
        )
        .await;
    }
    let input = crate::wire::plans::NewPlanInput {
        name: form.name.clone(),
        limits,
    };
    match crate::services::plans::create_plan(&state.services, &input, &op.desk.audit()).await {
        Ok(_) => see_other("/console/plans?done=created"),
        Err(ServiceError::Invalid(errors)) => {
            let problems = errors
                .0
                .into_iter()
                .map(|e| FieldProblem {
                    field: e.field,
                    message: e.message,
                })
                .collect();
            plans_page(
                &state,
                &op,
                &ListQuery::default(),
                StatusCode::UNPROCESSABLE_ENTITY,
                form,
                problems,
            )
            .await
        }
        Err(ServiceError::Store(storekeep_store::StoreError::Conflict { .. })) => {
            let problems = vec![FieldProblem {
                field: "name".into(),
                message: "is already the name of a plan".into(),
            }];
            plans_page(
                &state,
                &op,
                &ListQuery::default(),
                StatusCode::CONFLICT,
                form,
                problems,
            )
            .await
        }
        Err(e) => page::error(&state, &op.desk, e),
    }
}
