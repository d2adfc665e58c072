//! Accounts, sessions, credentials and the audit trail, as the store keeps
//! them. PII arrives here already sealed (see `storekeep::crypto`): the
//! store never sees a plaintext email.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::TenantId;

macro_rules! uuid_id {
    ($(#[$m:meta])* $name:ident) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, utoipa::ToSchema)]
        #[serde(transparent)]
        #[schema(value_type = String, format = Uuid)]
        pub struct $name(pub uuid::Uuid);

        impl $name {
            pub fn new() -> Self {
                Self(uuid::Uuid::now_v7())
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                self.0.fmt(f)
            }
        }

        impl std::str::FromStr for $name {
            type Err = uuid::Error;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                uuid::Uuid::parse_str(s).map(Self)
            }
        }
    };
}

uuid_id!(
    /// Identifies a customer, staff member or platform operator.
    UserId
);
uuid_id!(
    /// Identifies a login session.
    SessionId
);
uuid_id!(
    /// Identifies an API key.
    ApiKeyId
);
uuid_id!(
    /// Identifies an OAuth client (its public `client_id` is separate).
    OAuthClientId
);

/// Who an account belongs to: a shop's customers, a shop's staff, or the
/// platform's operators. Each has its own email namespace.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum UserKind {
    Customer,
    Staff,
    Operator,
}

impl UserKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Customer => "customer",
            Self::Staff => "staff",
            Self::Operator => "operator",
        }
    }

    pub fn parse(s: &str) -> Result<Self, String> {
        match s {
            "customer" => Ok(Self::Customer),
            "staff" => Ok(Self::Staff),
            "operator" => Ok(Self::Operator),
            _ => Err("must be customer, staff or operator".into()),
        }
    }
}

/// A staff member's role, most powerful first.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Owner,
    Admin,
    Staff,
    Viewer,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Owner => "owner",
            Self::Admin => "admin",
            Self::Staff => "staff",
            Self::Viewer => "viewer",
        }
    }

    pub fn parse(s: &str) -> Result<Self, String> {
        match s {
            "owner" => Ok(Self::Owner),
            "admin" => Ok(Self::Admin),
            "staff" => Ok(Self::Staff),
            "viewer" => Ok(Self::Viewer),
            _ => Err("must be owner, admin, staff or viewer".into()),
        }
    }
}

/// An account as stored. `*_sealed` fields are ciphertexts.
#[derive(Debug, Clone, PartialEq)]
pub struct UserRecord {
    pub id: UserId,
    pub tenant_id: Option<TenantId>,
    pub kind: UserKind,
    pub role: Option<Role>,
    pub email_index: String,
    pub email_sealed: String,
    pub name_sealed: Option<String>,
    pub phone_sealed: Option<String>,
    pub password_hash: String,
    pub totp_sealed: Option<String>,
    pub totp_pending_sealed: Option<String>,
    pub totp_last_step: Option<i64>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl UserRecord {
    pub fn mfa_enabled(&self) -> bool {
        self.totp_sealed.is_some()
    }
}

/// Per-account login failures, keyed by blind index so that unknown emails
/// are throttled exactly like known ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LoginThrottle {
    pub failures: i64,
    pub locked_until: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct SessionRecord {
    pub id: SessionId,
    #[serde(skip)]
    pub user_id: UserId,
    #[serde(skip)]
    pub tenant_id: Option<TenantId>,
    pub created_at: DateTime<Utc>,
    pub last_seen_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct NewSession {
    pub id: SessionId,
    pub token_hash: String,
    pub user_id: UserId,
    pub tenant_id: Option<TenantId>,
    pub expires_at: DateTime<Utc>,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
}

/// A pending second step of a sign-in with MFA: made once the password is
/// verified, answered with a code. Only the hash of its token is stored.
#[derive(Debug, Clone, PartialEq)]
pub struct NewSignInChallenge {
    pub token_hash: String,
    pub user_id: UserId,
    /// The account's shop (`None`: the platform's).
    pub tenant_id: Option<TenantId>,
    pub expires_at: DateTime<Utc>,
}

/// An API key as listed; the secret itself is never stored.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct ApiKeyRecord {
    pub id: ApiKeyId,
    #[serde(skip)]
    pub tenant_id: TenantId,
    pub name: String,
    /// The first characters of the key, to recognise it.
    pub prefix: String,
    pub scopes: Vec<String>,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct NewApiKey {
    pub id: ApiKeyId,
    pub tenant_id: TenantId,
    pub name: String,
    pub prefix: String,
    pub key_hash: String,
    pub scopes: Vec<String>,
    pub created_by: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct OAuthClientRecord {
    pub id: OAuthClientId,
    #[serde(skip)]
    pub tenant_id: TenantId,
    pub client_id: String,
    pub name: String,
    pub scopes: Vec<String>,
    pub created_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
    #[serde(skip)]
    pub secret_hash: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct NewOAuthClient {
    pub id: OAuthClientId,
    pub tenant_id: TenantId,
    pub client_id: String,
    pub name: String,
    pub secret_hash: String,
    pub scopes: Vec<String>,
}

/// An OAuth access token as stored (by hash).
#[derive(Debug, Clone, PartialEq)]
pub struct AccessTokenRecord {
    pub client: OAuthClientId,
    pub tenant_id: TenantId,
    pub scopes: Vec<String>,
    pub expires_at: DateTime<Utc>,
}

/// Who did an audited action, from where.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct AuditContext {
    /// `operator:<id>`, `platform-token`, `staff:<id>`, `api-key:<id>`, `cli`…
    pub actor: String,
    pub ip: Option<String>,
    pub request_id: Option<String>,
}

/// One link of a hash-chained, append-only audit log. `scope` is the
/// tenant id, or `platform` for platform actions; each scope is a chain.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct AuditEntry {
    pub seq: i64,
    #[serde(skip)]
    pub scope: String,
    pub actor: String,
    pub action: String,
    pub target: String,
    pub before: Option<serde_json::Value>,
    pub after: Option<serde_json::Value>,
    pub ip: Option<String>,
    pub request_id: Option<String>,
    pub at: DateTime<Utc>,
    pub prev_hash: String,
    pub hash: String,
}

/// Which entries of one audit chain a listing shows: each part set narrows
/// it, all of them together (an empty filter shows every entry).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AuditFilter {
    /// Exactly this actor (`staff:<id>`, `api_key:<id>`, `operator:<id>`…).
    pub actor: Option<String>,
    /// Exactly this action (`order.refund`, `product.create`…).
    pub action: Option<String>,
    /// Entries at or after this time.
    pub from: Option<DateTime<Utc>>,
    /// Entries before this time.
    pub to: Option<DateTime<Utc>>,
}

impl AuditFilter {
    /// Whether the filter narrows nothing.
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }
}

/// The scope of the platform's own audit chain.
pub const PLATFORM_SCOPE: &str = "platform";
