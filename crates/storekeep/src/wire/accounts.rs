//! Accounts, sessions, MFA, password resets and the OAuth token endpoint,
//! as clients send and see them.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use storekeep_domain::{Role, SessionId, SessionRecord, UserId, UserKind};

/// The plaintext view of an account, for responses.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct Account {
    pub id: UserId,
    pub kind: UserKind,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub role: Option<Role>,
    pub email: String,
    pub name: Option<String>,
    pub phone: Option<String>,
    pub mfa_enabled: bool,
    pub created_at: DateTime<Utc>,
}

/// A new account, validated. Every field problem is reported at once.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewAccountInput {
    #[schema(
        max_length = 254,
        pattern = r"^\s*[^\s@]{1,64}@[^\s@.][^\s@]*\.[^\s@]*[^\s@.]\s*$",
        example = "ann@example.com"
    )]
    pub email: String,
    /// 12 to 256 characters, not a common password, not the email.
    #[schema(
        min_length = 12,
        max_length = 256,
        example = "a long and uncommon passphrase"
    )]
    pub password: String,
    #[schema(max_length = 200)]
    pub name: Option<String>,
    #[schema(max_length = 32, pattern = r"^[0-9 +\-().]*$")]
    pub phone: Option<String>,
}

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginInput {
    pub email: String,
    pub password: String,
    /// A current TOTP code, for accounts with MFA.
    pub totp: Option<String>,
    /// A single-use recovery code instead of `totp`.
    pub recovery_code: Option<String>,
    /// `customer` (default) or `staff` for a shop; `operator` for the platform.
    pub account: Option<UserKind>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RegisterBody {
    pub account: NewAccountInput,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AccountBody {
    pub account: Account,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct LoginResponse {
    /// Send as `Authorization: Bearer <token>`.
    pub token: String,
    pub session_id: SessionId,
    pub expires_at: chrono::DateTime<chrono::Utc>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SessionView {
    #[serde(flatten)]
    pub session: SessionRecord,
    /// This request's own session.
    pub current: bool,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SessionList {
    pub items: Vec<SessionView>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct TotpEnrollment {
    /// Base32 secret, for typing into an authenticator app.
    pub secret: String,
    /// `otpauth://` URI, for a QR code.
    pub otpauth_uri: String,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CodeBody {
    pub code: String,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct RecoveryCodes {
    /// Single-use codes for when the device is lost; shown this once.
    pub recovery_codes: Vec<String>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DisableBody {
    pub password: String,
    /// A current TOTP code or a recovery code.
    pub code: String,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResetRequest {
    pub email: String,
    /// `customer` (default) or `staff`; `operator` without a shop.
    pub account: Option<UserKind>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResetConfirm {
    pub token: String,
    /// 12 to 256 characters, not a common password.
    #[schema(min_length = 12, max_length = 256)]
    pub password: String,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct TokenRequest {
    #[schema(pattern = "^client_credentials$")]
    pub grant_type: String,
    pub client_id: Option<String>,
    pub client_secret: Option<String>,
    pub scope: Option<String>,
}

/// An OAuth error (RFC 6749 §5.2), not a problem: what OAuth clients expect.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct OAuthErrorBody {
    /// `invalid_request`, `invalid_client`, `unsupported_grant_type`, `invalid_scope`…
    #[schema(example = "invalid_client")]
    pub error: String,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct TokenResponse {
    pub access_token: String,
    pub token_type: &'static str,
    pub expires_in: i64,
    pub scope: String,
}
