//! Credentials for integrations: API keys and OAuth 2.0 clients
//! (client-credentials grant). Secrets are shown once and kept hashed.

use chrono::Duration;
use storekeep_domain::{
    AccessTokenRecord, ApiKeyId, ApiKeyRecord, AuditContext, NewApiKey, NewOAuthClient,
    OAuthClientId, OAuthClientRecord, Page, PageRequest, Permission, TenantId, ValidationErrors,
};
use storekeep_store::{StoreError, now};

use super::{ServiceError, ServiceResult, Services};
use crate::crypto::tokens;
use crate::wire::credentials::NewCredentialInput;

/// How long an OAuth access token lives.
pub const ACCESS_TOKEN_TTL: Duration = Duration::hours(1);

fn parse(
    input: &NewCredentialInput,
    granter: &[Permission],
) -> Result<(String, Vec<String>), ValidationErrors> {
    let mut errors = ValidationErrors::new();
    let name = input.name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        errors.add("name", "must be 1 to 100 characters long");
    }
    if input.scopes.is_empty() {
        errors.add("scopes", "name at least one scope");
    }
    let mut scopes = Vec::new();
    for (i, s) in input.scopes.iter().enumerate() {
        match Permission::parse(s) {
            None => errors.add(
                &format!("scopes[{i}]"),
                format!(
                    "'{s}' is not a scope; known: {}",
                    Permission::all_names().join(", ")
                ),
            ),
            Some(p) if !granter.contains(&p) => {
                errors.add(
                    &format!("scopes[{i}]"),
                    format!("you cannot grant '{s}', which you do not have"),
                );
            }
            Some(p) => {
                if !scopes.contains(&p.as_str().to_owned()) {
                    scopes.push(p.as_str().to_owned());
                }
            }
        }
    }
    errors.into_result()?;
    Ok((name.to_owned(), scopes))
}

/// Creates an API key; returns it and its secret (shown once).
pub async fn create_api_key(
    svc: &Services,
    tenant: TenantId,
    input: &NewCredentialInput,
    granter: &[Permission],
    audit: &AuditContext,
) -> ServiceResult<(ApiKeyRecord, String)> {
    let (name, scopes) = parse(input, granter)?;
    let (secret, hash) = tokens::generate(tokens::API_KEY);
    let key = svc
        .store
        .create_api_key(
            &NewApiKey {
                id: ApiKeyId::new(),
                tenant_id: tenant,
                name,
                prefix: secret.chars().take(12).collect(),
                key_hash: hash,
                scopes,
                created_by: audit.actor.clone(),
            },
            audit,
        )
        .await?;
    Ok((key, secret))
}

/// Creates an OAuth client; returns it and its secret (shown once).
pub async fn create_oauth_client(
    svc: &Services,
    tenant: TenantId,
    input: &NewCredentialInput,
    granter: &[Permission],
    audit: &AuditContext,
) -> ServiceResult<(OAuthClientRecord, String)> {
    let (name, scopes) = parse(input, granter)?;
    let (secret, hash) = tokens::generate(tokens::CLIENT_SECRET);
    let client = svc
        .store
        .create_oauth_client(
            &NewOAuthClient {
                id: OAuthClientId::new(),
                tenant_id: tenant,
                client_id: format!("skid_{}", tokens::code(4).replace('-', "").to_lowercase()),
                name,
                secret_hash: hash,
                scopes,
            },
            audit,
        )
        .await?;
    Ok((client, secret))
}

/// RFC 6749 §5.2 error codes of the token endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OAuthError {
    InvalidRequest,
    InvalidClient,
    UnsupportedGrantType,
    InvalidScope,
}

impl OAuthError {
    pub fn code(self) -> &'static str {
        match self {
            Self::InvalidRequest => "invalid_request",
            Self::InvalidClient => "invalid_client",
            Self::UnsupportedGrantType => "unsupported_grant_type",
            Self::InvalidScope => "invalid_scope",
        }
    }
}

pub struct IssuedToken {
    pub token: String,
    pub scopes: Vec<String>,
    pub expires_in: i64,
}

/// The client-credentials grant: a client authenticates with its secret and
/// gets a short-lived token for (a subset of) its scopes, in its tenant.
pub async fn issue_token(
    svc: &Services,
    client_id: &str,
    client_secret: &str,
    requested: Option<&str>,
) -> Result<IssuedToken, Result<OAuthError, ServiceError>> {
    let client = match svc.store.oauth_client_by_client_id(client_id).await {
        Ok(c) => c,
        Err(StoreError::NotFound(_)) => return Err(Ok(OAuthError::InvalidClient)),
        Err(e) => return Err(Err(e.into())),
    };
    let presented = tokens::hash(client_secret);
    let secret_ok =
        subtle::ConstantTimeEq::ct_eq(presented.as_bytes(), client.secret_hash.as_bytes());
    if !bool::from(secret_ok) || client.revoked_at.is_some() {
        return Err(Ok(OAuthError::InvalidClient));
    }
    let scopes: Vec<String> = match requested.map(str::split_whitespace) {
        Some(asked) => {
            let asked: Vec<String> = asked.map(str::to_owned).collect();
            if asked.is_empty() || asked.iter().any(|s| !client.scopes.contains(s)) {
                return Err(Ok(OAuthError::InvalidScope));
            }
            asked
        }
        None => client.scopes.clone(),
    };
    let (token, hash) = tokens::generate(tokens::ACCESS_TOKEN);
    svc.store
        .create_access_token(
            &hash,
            &AccessTokenRecord {
                client: client.id,
                tenant_id: client.tenant_id,
                scopes: scopes.clone(),
                expires_at: now() + ACCESS_TOKEN_TTL,
            },
        )
        .await
        .map_err(|e| Err(e.into()))?;
    Ok(IssuedToken {
        token,
        scopes,
        expires_in: ACCESS_TOKEN_TTL.num_seconds(),
    })
}

pub async fn list_api_keys(
    svc: &Services,
    tenant: TenantId,
    page: &PageRequest,
) -> ServiceResult<Page<ApiKeyRecord>> {
    Ok(svc.store.list_api_keys(tenant, page).await?)
}

pub async fn revoke_api_key(
    svc: &Services,
    tenant: TenantId,
    id: ApiKeyId,
    audit: &AuditContext,
) -> ServiceResult<ApiKeyRecord> {
    Ok(svc.store.revoke_api_key(tenant, id, audit).await?)
}

pub async fn list_oauth_clients(
    svc: &Services,
    tenant: TenantId,
    page: &PageRequest,
) -> ServiceResult<Page<OAuthClientRecord>> {
    Ok(svc.store.list_oauth_clients(tenant, page).await?)
}

pub async fn revoke_oauth_client(
    svc: &Services,
    tenant: TenantId,
    id: OAuthClientId,
    audit: &AuditContext,
) -> ServiceResult<OAuthClientRecord> {
    Ok(svc.store.revoke_oauth_client(tenant, id, audit).await?)
}
