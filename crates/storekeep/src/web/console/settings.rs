//! `/console/settings`: the shop's main settings and branding as one form,
//! saved through the service `PATCH /api/v1/admin/settings` uses
//! (`services::tenants::change_settings`: the same checks, the same audit
//! entry, the tenant caches cleared).
//!
//! The form holds the settings a person edits by hand (currency, time
//! zone, payment timeout, staff MFA, the storefront's name, language,
//! colours, font, logo and policies, the emails' sender and colours).
//! What it does not show (tax rates, shipping methods, CORS origins,
//! payment providers, DKIM, custom CSS) is sent back as it is stored, so
//! saving the form never loses it; those stay API-only for now.

use askama::Template;
use axum::Form;
use axum::extract::rejection::{FormRejection, QueryRejection};
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;
use storekeep_domain::{Permission, TenantSettings};

use crate::app::AppState;
use crate::services::{ServiceError, tenants};
use crate::web::console::desk::Staff;
use crate::web::console::page;
use crate::web::pages::shopper::see_other;

const PATH: &str = "/console/settings";

/// How a field is typed in.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Text,
    Number,
    Check,
    Area,
    Choice(&'static [&'static str]),
}

/// One field of the form: its name (the settings path the service names
/// in its problems, without `settings.`), label and hint.
struct Spec {
    name: &'static str,
    label: &'static str,
    hint: &'static str,
    kind: Kind,
}

const LANGUAGES: &[&str] = &["", "en", "de"];
const FONTS: &[&str] = &["", "system", "humanist", "geometric", "serif", "mono"];

/// The form's sections and their fields, in order.
const SECTIONS: &[(&str, &[Spec])] = &[
    (
        "Shop",
        &[
            Spec {
                name: "storefront.name",
                label: "Shop name shown to customers",
                hint: "Blank: the shop's registered name.",
                kind: Kind::Text,
            },
            Spec {
                name: "currency",
                label: "Currency",
                hint: "Three-letter ISO 4217 code, such as USD or EUR.",
                kind: Kind::Text,
            },
            Spec {
                name: "time_zone",
                label: "Time zone",
                hint: "IANA name, such as Europe/Berlin or UTC.",
                kind: Kind::Text,
            },
            Spec {
                name: "payment_timeout_secs",
                label: "Seconds an order may wait for payment",
                hint: "1 to 2592000 (30 days).",
                kind: Kind::Number,
            },
            Spec {
                name: "require_staff_mfa",
                label: "Staff must use two-step sign-in",
                hint: "",
                kind: Kind::Check,
            },
        ],
    ),
    (
        "Storefront",
        &[
            Spec {
                name: "storefront.language",
                label: "Language",
                hint: "Blank: English.",
                kind: Kind::Choice(LANGUAGES),
            },
            Spec {
                name: "storefront.follow_browser_language",
                label: "Let the browser's language choose",
                hint: "",
                kind: Kind::Check,
            },
            Spec {
                name: "storefront.primary_color",
                label: "Header and button colour",
                hint: "#rrggbb",
                kind: Kind::Text,
            },
            Spec {
                name: "storefront.accent_color",
                label: "Link and highlight colour",
                hint: "#rrggbb",
                kind: Kind::Text,
            },
            Spec {
                name: "storefront.font",
                label: "Font",
                hint: "Blank: system.",
                kind: Kind::Choice(FONTS),
            },
            Spec {
                name: "storefront.logo",
                label: "Logo",
                hint: "The key of one of the shop's images ({shop}/{image}.{ext}); blank for none.",
                kind: Kind::Text,
            },
            Spec {
                name: "storefront.terms",
                label: "Terms of service",
                hint: "Plain text; blank lines separate paragraphs.",
                kind: Kind::Area,
            },
            Spec {
                name: "storefront.privacy",
                label: "Privacy policy",
                hint: "",
                kind: Kind::Area,
            },
            Spec {
                name: "storefront.returns",
                label: "Returns policy",
                hint: "",
                kind: Kind::Area,
            },
        ],
    ),
    (
        "Emails",
        &[
            Spec {
                name: "email_sender",
                label: "Sender address",
                hint: "Blank: the platform's.",
                kind: Kind::Text,
            },
            Spec {
                name: "email_sender_name",
                label: "Sender name",
                hint: "Blank: the shop's name.",
                kind: Kind::Text,
            },
            Spec {
                name: "email_reply_to",
                label: "Reply-To address",
                hint: "",
                kind: Kind::Text,
            },
            Spec {
                name: "email_logo_url",
                label: "Logo URL",
                hint: "An https:// address.",
                kind: Kind::Text,
            },
            Spec {
                name: "email_brand_color",
                label: "Header colour",
                hint: "#rrggbb",
                kind: Kind::Text,
            },
            Spec {
                name: "email_accent_color",
                label: "Button colour",
                hint: "#rrggbb",
                kind: Kind::Text,
            },
        ],
    ),
];

/// A setting's value as the form shows it.
fn value_of(s: &TenantSettings, name: &str) -> String {
    let opt = |v: &Option<String>| v.clone().unwrap_or_default();
    let sf = &s.storefront;
    match name {
        "storefront.name" => opt(&sf.name),
        "currency" => s.currency.clone(),
        "time_zone" => s.time_zone.clone(),
        "payment_timeout_secs" => s.payment_timeout_secs.to_string(),
        "require_staff_mfa" => flag(s.require_staff_mfa),
        "storefront.language" => opt(&sf.language),
        "storefront.follow_browser_language" => flag(sf.follow_browser_language.unwrap_or(true)),
        "storefront.primary_color" => opt(&sf.primary_color),
        "storefront.accent_color" => opt(&sf.accent_color),
        "storefront.font" => opt(&sf.font),
        "storefront.logo" => opt(&sf.logo),
        "storefront.terms" => opt(&sf.terms),
        "storefront.privacy" => opt(&sf.privacy),
        "storefront.returns" => opt(&sf.returns),
        "email_sender" => opt(&s.email_sender),
        "email_sender_name" => opt(&s.email_sender_name),
        "email_reply_to" => opt(&s.email_reply_to),
        "email_logo_url" => opt(&s.email_logo_url),
        "email_brand_color" => opt(&s.email_brand_color),
        "email_accent_color" => opt(&s.email_accent_color),
        _ => String::new(),
    }
}

fn flag(b: bool) -> String {
    if b { "on" } else { "" }.to_owned()
}

/// The stored settings with the form's values written over them; `Err` is
/// a field the service cannot be asked about (a number that is no number).
fn apply(
    mut s: TenantSettings,
    form: &[(String, String)],
) -> Result<TenantSettings, (&'static str, String)> {
    let get = |name: &str| {
        form.iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.trim().to_owned())
            .unwrap_or_default()
    };
    let opt = |name: &str| Some(get(name)).filter(|v| !v.is_empty());
    let area = |name: &str| {
        form.iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.replace("\r\n", "\n").trim().to_owned())
            .filter(|v| !v.is_empty())
    };
    let on = |name: &str| form.iter().any(|(k, v)| k == name && v == "on");
    let timeout = get("payment_timeout_secs");
    s.payment_timeout_secs = timeout.parse().map_err(|_| {
        (
            "payment_timeout_secs",
            "must be a whole number of seconds".to_owned(),
        )
    })?;
    s.currency = get("currency");
    s.time_zone = get("time_zone");
    s.require_staff_mfa = on("require_staff_mfa");
    s.email_sender = opt("email_sender");
    s.email_sender_name = opt("email_sender_name");
    s.email_reply_to = opt("email_reply_to");
    s.email_logo_url = opt("email_logo_url");
    s.email_brand_color = opt("email_brand_color");
    s.email_accent_color = opt("email_accent_color");
    let sf = &mut s.storefront;
    sf.name = opt("storefront.name");
    sf.language = opt("storefront.language");
    // Left unset while it is the default, so an untouched shop stays so.
    sf.follow_browser_language =
        Some(on("storefront.follow_browser_language")).filter(|follow| !follow);
    sf.primary_color = opt("storefront.primary_color");
    sf.accent_color = opt("storefront.accent_color");
    sf.font = opt("storefront.font");
    sf.logo = opt("storefront.logo");
    sf.terms = area("storefront.terms");
    sf.privacy = area("storefront.privacy");
    sf.returns = area("storefront.returns");
    Ok(s)
}

pub struct ChoiceOption {
    pub value: &'static str,
    pub label: &'static str,
    pub selected: bool,
}

pub struct Field {
    pub name: &'static str,
    pub id: String,
    pub label: &'static str,
    pub hint: &'static str,
    /// `text`, `number`, `check`, `area` or `choice`.
    pub kind: &'static str,
    pub value: String,
    pub options: Vec<ChoiceOption>,
    pub problem: Option<String>,
}

pub struct Section {
    pub heading: &'static str,
    pub fields: Vec<Field>,
}

/// What the service refused, by field (`settings.` left off) and at the top.
#[derive(Default)]
struct Problems {
    top: Option<String>,
    fields: Vec<(String, String)>,
}

impl Problems {
    fn of(&self, name: &str) -> Option<String> {
        let all: Vec<&str> = self
            .fields
            .iter()
            .filter(|(f, _)| f == name)
            .map(|(_, m)| m.as_str())
            .collect();
        (!all.is_empty()).then(|| all.join("; "))
    }
}

fn sections(values: &dyn Fn(&str) -> String, problems: &Problems) -> Vec<Section> {
    SECTIONS
        .iter()
        .map(|(heading, specs)| Section {
            heading,
            fields: specs
                .iter()
                .map(|spec| {
                    let value = values(spec.name);
                    let (kind, options) = match spec.kind {
                        Kind::Text => ("text", Vec::new()),
                        Kind::Number => ("number", Vec::new()),
                        Kind::Check => ("check", Vec::new()),
                        Kind::Area => ("area", Vec::new()),
                        Kind::Choice(values) => (
                            "choice",
                            values
                                .iter()
                                .map(|v| ChoiceOption {
                                    value: v,
                                    label: if v.is_empty() { "(default)" } else { v },
                                    selected: *v == value,
                                })
                                .collect(),
                        ),
                    };
                    Field {
                        name: spec.name,
                        id: format!("set-{}", spec.name.replace(['.', '_'], "-")),
                        label: spec.label,
                        hint: spec.hint,
                        kind,
                        value,
                        options,
                        problem: problems.of(spec.name),
                    }
                })
                .collect(),
        })
        .collect()
}

#[derive(Template)]
#[template(path = "console/settings_edit.html")]
struct SettingsPage {
    csrf: String,
    notice: Option<&'static str>,
    problem: Option<String>,
    can_write: bool,
    sections: Vec<Section>,
}

#[derive(Debug, Deserialize)]
pub struct SettingsQuery {
    pub done: Option<String>,
}

fn settings_page(
    state: &AppState,
    staff: &Staff,
    status: StatusCode,
    notice: Option<&'static str>,
    values: &dyn Fn(&str) -> String,
    problems: Problems,
) -> Response {
    let main = SettingsPage {
        csrf: staff.desk.csrf(state),
        notice,
        problem: problems.top.clone(),
        can_write: staff.desk.can(Permission::SettingsWrite),
        sections: sections(values, &problems),
    }
    .render();
    page::render(state, &staff.desk, PATH, status, "Settings", main)
}

/// `GET /console/settings`.
pub async fn show(
    State(state): State<AppState>,
    staff: Staff,
    q: Result<Query<SettingsQuery>, QueryRejection>,
) -> Response {
    if let Err(r) = staff.require(&state, Permission::SettingsRead) {
        return r;
    }
    let Ok(Query(q)) = q else {
        return page::bad_request(&state, &staff.desk, "This page's address is not valid.");
    };
    // The shop as the desk resolved it for this request (the settings
    // `GET /api/v1/admin/settings` answers).
    let settings = staff.tenant().settings.clone();
    let notice = (q.done.as_deref() == Some("saved")).then_some("The settings were saved.");
    settings_page(
        &state,
        &staff,
        StatusCode::OK,
        notice,
        &|name| value_of(&settings, name),
        Problems::default(),
    )
}

/// `POST /console/settings`: saves the form.
pub async fn save(
    State(state): State<AppState>,
    staff: Staff,
    form: Result<Form<Vec<(String, String)>>, FormRejection>,
) -> Response {
    if let Err(r) = staff.require(&state, Permission::SettingsWrite) {
        return r;
    }
    let Ok(Form(form)) = form else {
        return page::unreadable_form(&state, &staff.desk);
    };
    let tenant = staff.tenant().clone();
    // What was typed goes back into the form as it was.
    let typed = |name: &str| {
        form.iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    let refused = |problems: Problems, status: StatusCode| {
        let problems = Problems {
            top: problems
                .top
                .or_else(|| Some("The settings were not saved: see the fields below.".to_owned())),
            ..problems
        };
        settings_page(&state, &staff, status, None, &typed, problems)
    };
    let settings = match apply(tenant.settings.clone(), &form) {
        Ok(s) => s,
        Err((field, message)) => {
            return refused(
                Problems {
                    top: None,
                    fields: vec![(field.to_owned(), message)],
                },
                StatusCode::UNPROCESSABLE_ENTITY,
            );
        }
    };
    match tenants::change_settings(&state.services, &tenant, settings, &staff.desk.audit()).await {
        Ok(_) => see_other("/console/settings?done=saved"),
        Err(ServiceError::Invalid(errors)) => {
            let mut problems = Problems::default();
            for e in &errors.0 {
                let field = e.field.strip_prefix("settings.").unwrap_or(&e.field);
                let known = SECTIONS
                    .iter()
                    .any(|(_, specs)| specs.iter().any(|s| s.name == field));
                if known {
                    problems.fields.push((field.to_owned(), e.message.clone()));
                } else {
                    // A stored setting the form does not show (a tax rate,
                    // say) that the service no longer accepts.
                    let line = format!("{field}: {}", e.message);
                    problems.top = Some(match problems.top.take() {
                        Some(t) => format!("{t}; {line}"),
                        None => format!("The settings were not saved: {line}"),
                    });
                }
            }
            refused(problems, StatusCode::UNPROCESSABLE_ENTITY)
        }
        Err(e) => page::error(&state, &staff.desk, e),
    }
}
