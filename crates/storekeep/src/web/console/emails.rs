//! The shop's email templates: `/console/emails` lists them (as
//! `GET /api/v1/admin/email-templates` does) and `/console/emails/{name}`
//! previews one, rendered with the shop's branding and sample data by the
//! service the preview API uses (`services::notify::preview`). Both need
//! `settings:read`, as in the admin API.
//!
//! The HTML part is shown in `<iframe sandbox="" srcdoc="…">`: askama
//! escapes the attribute, the empty sandbox gives the email an opaque
//! origin with no scripts, forms or navigation, and the frame inherits the
//! console page's strict CSP (`style-src 'self'`), under which the email's
//! inline `style` attributes would not apply and each would be reported as
//! a violation: they are taken out ([`without_inline_styles`]) and the
//! email shows its structure and words unstyled (docs/console.md,
//! "Webhooks and email previews").

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use storekeep_domain::Permission;

use crate::app::AppState;
use crate::services::notify::preview;
use crate::web::console::desk::Staff;
use crate::web::console::page;
use crate::wire::email::EmailTemplateInfo;

#[derive(Template)]
#[template(path = "console/emails_list.html")]
struct ListPage {
    templates: Vec<EmailTemplateInfo>,
}

/// `GET /console/emails`.
pub async fn list(State(state): State<AppState>, staff: Staff) -> Response {
    if let Err(r) = staff.require(&state, Permission::SettingsRead) {
        return r;
    }
    let main = ListPage {
        templates: preview::list(),
    }
    .render();
    page::render(
        &state,
        &staff.desk,
        "/console/emails",
        StatusCode::OK,
        "Email templates",
        main,
    )
}

#[derive(Template)]
#[template(path = "console/emails_preview.html")]
struct PreviewPage {
    name: String,
    audience: String,
    subject: String,
    text: String,
    html: String,
}

/// `GET /console/emails/{name}`: the preview of one template.
pub async fn show(
    State(state): State<AppState>,
    staff: Staff,
    Path(name): Path<String>,
) -> Response {
    if let Err(r) = staff.require(&state, Permission::SettingsRead) {
        return r;
    }
    let p = match preview::render(&state.services, staff.tenant(), &name).await {
        Ok(p) => p,
        Err(e) => return page::error(&state, &staff.desk, e),
    };
    let audience = preview::list()
        .into_iter()
        .find(|t| t.name == p.template)
        .map(|t| t.audience)
        .unwrap_or_default();
    let path = format!("/console/emails/{}", p.template);
    let main = PreviewPage {
        name: p.template,
        audience,
        subject: p.subject,
        text: p.text,
        html: without_inline_styles(&p.html),
    }
    .render();
    page::render(
        &state,
        &staff.desk,
        &path,
        StatusCode::OK,
        "Email preview",
        main,
    )
}

/// `html` (as the email templates render it) without its `style="…"`
/// attributes. The templates quote every attribute with `"` and askama
/// escapes `"` in values and text, so an attribute's value ends at the
/// next `"`.
pub fn without_inline_styles(html: &str) -> String {
    const ATTR: &str = " style=\"";
    let mut out = String::with_capacity(html.len());
    let mut rest = html;
    while let Some(at) = rest.find(ATTR) {
        out.push_str(&rest[..at]);
        let value = &rest[at + ATTR.len()..];
        match value.find('"') {
            Some(end) => rest = &value[end + 1..],
            None => {
                rest = "";
                break;
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::without_inline_styles;

    #[test]
    fn inline_styles_are_taken_out_and_nothing_else() {
        assert_eq!(
            without_inline_styles(
                "<td style=\"padding:0\" class=\"x\">a style=&#34;b&#34;</td><img style=\"border:0\">"
            ),
            "<td class=\"x\">a style=&#34;b&#34;</td><img>"
        );
        assert_eq!(without_inline_styles("<p style=\"broken"), "<p");
        assert_eq!(without_inline_styles("plain"), "plain");
    }
}
