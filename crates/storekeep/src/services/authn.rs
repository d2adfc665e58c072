//! Who presents which credential: one look-up per request, by the
//! credential's prefix, against its stored hash (see `http::authn` for the
//! prefixes and where a request carries its credential).

use chrono::Duration;
use storekeep_domain::{
    AccessTokenRecord, ApiKeyRecord, SessionRecord, TenantId, UserKind, UserRecord,
};
use storekeep_store::{StoreError, now};
use subtle::ConstantTimeEq;

use crate::crypto::tokens;
use crate::services::{ServiceResult, Services, accounts};

/// An authenticated caller.
#[derive(Debug, Clone)]
pub enum Principal {
    User {
        user: Box<UserRecord>,
        session: SessionRecord,
    },
    ApiKey(ApiKeyRecord),
    OAuth(AccessTokenRecord),
    PlatformToken,
}

impl Principal {
    /// The tenant the credential belongs to (`None`: the platform).
    pub fn tenant(&self) -> Option<TenantId> {
        match self {
            Self::User { user, .. } => user.tenant_id,
            Self::ApiKey(k) => Some(k.tenant_id),
            Self::OAuth(t) => Some(t.tenant_id),
            Self::PlatformToken => None,
        }
    }

    /// How the audit log names this caller.
    pub fn actor(&self) -> String {
        match self {
            Self::User { user, .. } => format!("{}:{}", user.kind.as_str(), user.id),
            Self::ApiKey(k) => format!("api_key:{}", k.id),
            Self::OAuth(t) => format!("oauth_client:{}", t.client),
            Self::PlatformToken => "platform_token".into(),
        }
    }

    /// The key rate limits count against, when the caller is an integration:
    /// its shop, so every API key and OAuth token of a shop draws on one
    /// quota (a shop that mints more keys gets no more requests).
    pub fn rate_key(&self) -> Option<String> {
        match self {
            Self::ApiKey(k) => Some(format!("integrations:{}", k.tenant_id)),
            Self::OAuth(t) => Some(format!("integrations:{}", t.tenant_id)),
            _ => None,
        }
    }

    pub fn is_operator(&self) -> bool {
        matches!(self, Self::PlatformToken)
            || matches!(self, Self::User { user, .. } if user.kind == UserKind::Operator)
    }
}

/// The outcome of looking at a request's credentials, kept in the request
/// extensions by the context middleware.
#[derive(Debug, Clone)]
pub enum Authentication {
    None,
    Valid(Principal),
    /// A credential was presented and is unknown, expired or revoked.
    Invalid,
}

const TOUCH_KEY_EVERY: Duration = Duration::seconds(60);

/// Who `token` (the request's bearer credential, if any) is.
pub async fn authenticate(svc: &Services, token: Option<&str>) -> ServiceResult<Authentication> {
    let Some(token) = token else {
        return Ok(Authentication::None);
    };
    let store = svc.store.as_ref();
    let found = |r: Result<Principal, StoreError>| match r {
        Ok(p) => Ok(Authentication::Valid(p)),
        Err(StoreError::NotFound(_)) => Ok(Authentication::Invalid),
        Err(e) => Err(e.into()),
    };
    if token.starts_with(tokens::SESSION) {
        let at = now();
        let r = store.session_by_token(&tokens::hash(token), at).await;
        if let Ok((session, _)) = &r {
            accounts::touch_session(svc, session).await?;
        }
        return found(r.map(|(session, user)| Principal::User {
            user: Box::new(user),
            session,
        }));
    }
    if token.starts_with(tokens::API_KEY) {
        let r = store.api_key_by_hash(&tokens::hash(token)).await;
        return match r {
            Ok(key) if key.revoked_at.is_none() => {
                let at = now();
                if key.last_used_at.is_none_or(|t| at - t >= TOUCH_KEY_EVERY) {
                    store.touch_api_key(key.id, at).await?;
                }
                Ok(Authentication::Valid(Principal::ApiKey(key)))
            }
            Ok(_) => Ok(Authentication::Invalid),
            Err(e) => found(Err(e)),
        };
    }
    if token.starts_with(tokens::ACCESS_TOKEN) {
        let r = store.access_token(&tokens::hash(token), now()).await;
        return found(r.map(Principal::OAuth));
    }
    if let Some(expected) = &svc.settings.platform_token
        && bool::from(token.as_bytes().ct_eq(expected.expose().as_bytes()))
    {
        return Ok(Authentication::Valid(Principal::PlatformToken));
    }
    Ok(Authentication::Invalid)
}
