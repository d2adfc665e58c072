//! API keys and OAuth clients as shop admins send and see them. Secrets are
//! in the create responses only.

use serde::{Deserialize, Serialize};
use storekeep_domain::{ApiKeyRecord, OAuthClientRecord, Permission};

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewCredentialInput {
    /// 1 to 100 characters, not only spaces.
    #[schema(
        example = "ERP sync",
        min_length = 1,
        max_length = 100,
        pattern = r"\S"
    )]
    pub name: String,
    /// Permissions granted, e.g. `["catalog:read", "orders:write"]`; at most
    /// those of whoever creates it.
    #[schema(schema_with = scopes_schema, example = json!(["catalog:read", "orders:write"]))]
    pub scopes: Vec<String>,
}

/// At least one permission name.
fn scopes_schema() -> utoipa::openapi::schema::Array {
    use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, Type};
    ArrayBuilder::new()
        .items(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .enum_values(Some(Permission::all_names())),
        )
        .min_items(Some(1))
        .build()
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewApiKeyBody {
    pub api_key: NewCredentialInput,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ApiKeyBody {
    pub api_key: ApiKeyRecord,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CreatedApiKey {
    pub api_key: ApiKeyRecord,
    /// The key itself. It is not stored and cannot be shown again.
    pub secret: String,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ApiKeyPage {
    pub items: Vec<ApiKeyRecord>,
    pub next_cursor: Option<String>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewClientBody {
    pub oauth_client: NewCredentialInput,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ClientBody {
    pub oauth_client: OAuthClientRecord,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CreatedClient {
    pub oauth_client: OAuthClientRecord,
    /// The client secret. It is not stored and cannot be shown again.
    pub client_secret: String,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ClientPage {
    pub items: Vec<OAuthClientRecord>,
    pub next_cursor: Option<String>,
}
