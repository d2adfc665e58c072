//! Email template previews as staff see them.

use serde::{Deserialize, Serialize};

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct EmailTemplateInfo {
    /// The template's name, as the preview path takes it.
    #[schema(example = "order_placed")]
    pub name: String,
    /// Who receives it: `customer`, `account` (the account's owner) or `staff`.
    #[schema(example = "customer")]
    pub audience: String,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct EmailTemplateList {
    pub templates: Vec<EmailTemplateInfo>,
}

/// A template rendered with the shop's branding and sample data.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct EmailPreview {
    pub template: String,
    pub subject: String,
    /// The plain-text part.
    pub text: String,
    /// The HTML part.
    pub html: String,
}

/// What the preview answers: the HTML part as `text/html`, the text part
/// as `text/plain`, or all three parts as JSON (the default).
#[derive(Debug, Clone, Copy, Default, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PreviewFormat {
    #[default]
    Json,
    Html,
    Text,
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PreviewQuery {
    /// `json` (default), `html` or `text`.
    #[param(inline)]
    pub format: Option<PreviewFormat>,
}
