//! One error type for every handler, rendered as RFC 9457
//! `application/problem+json`.
//!
//! Handlers return `Result<T, ApiError>`. `IntoResponse` only records the
//! problem in a response extension; the observe middleware renders it,
//! because only the middleware knows the request id that becomes
//! `instance`. The same middleware turns any other error response (axum's
//! 405, a body-limit 413) into a problem, so every error has one shape.
//! 5xx bodies are generic; the cause is logged once, never sent.

use crate::wire::problem::Problem;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use storekeep_domain::{FieldError, ValidationErrors};
use storekeep_store::StoreError;

pub type ApiResult<T> = Result<T, ApiError>;

/// `Retry-After` of every 503: long enough for a database restart or a
/// failover to finish, short enough that a client's retry is not late.
pub const RETRY_AFTER_SECS: u64 = 5;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    BadRequest(String),
    #[error("authentication required: {0}")]
    Unauthorized(String),
    #[error("this account uses MFA: send a current code as totp, or a recovery_code")]
    MfaRequired,
    #[error("{0}")]
    PaymentRequired(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{detail}")]
    TooManyRequests {
        detail: String,
        retry_after_secs: u64,
    },
    #[error("{detail}")]
    Conflict { detail: String, field: &'static str },
    /// A conflict naming several things (each line short of stock…).
    #[error("{detail}")]
    Conflicts {
        detail: String,
        errors: Vec<FieldError>,
    },
    #[error("{0}")]
    Validation(ValidationErrors),
    #[error("{0}")]
    UnsupportedMediaType(String),
    #[error("the request body is larger than this server accepts")]
    PayloadTooLarge,
    /// 503 of the server itself: draining, or over the time limit.
    #[error("{0}")]
    Unavailable(String),
    /// 503 because a dependency cannot serve now: the database (down,
    /// restarting, unreachable, out of connections or disk) or the image
    /// store; the cause is logged.
    #[error("the {dependency} is not answering; retry after the Retry-After delay")]
    DependencyUnavailable {
        /// `database`, `image store`: named to the client.
        dependency: &'static str,
        #[source]
        cause: Box<dyn std::error::Error + Send + Sync>,
    },
    /// 503 because the database rolled the request's transaction back to
    /// resolve a collision with a concurrent one (a deadlock victim, a
    /// serialization failure): nothing was written; the cause is logged.
    #[error(
        "the request collided with a concurrent change to the same data and nothing was written; retry it"
    )]
    Contended(#[source] Box<dyn std::error::Error + Send + Sync>),
    #[error("internal error: {0}")]
    Internal(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl ApiError {
    pub fn internal(e: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Self {
        Self::Internal(e.into())
    }

    pub fn not_found(what: &str) -> Self {
        Self::NotFound(format!("{what} not found"))
    }

    pub fn status(&self) -> StatusCode {
        match self {
            Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::Unauthorized(_) | Self::MfaRequired => StatusCode::UNAUTHORIZED,
            Self::PaymentRequired(_) => StatusCode::PAYMENT_REQUIRED,
            Self::Forbidden(_) => StatusCode::FORBIDDEN,
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            Self::Conflict { .. } | Self::Conflicts { .. } => StatusCode::CONFLICT,
            Self::Validation(_) => StatusCode::UNPROCESSABLE_ENTITY,
            Self::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::Unavailable(_) | Self::DependencyUnavailable { .. } | Self::Contended(_) => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl From<ValidationErrors> for ApiError {
    fn from(e: ValidationErrors) -> Self {
        Self::Validation(e)
    }
}

impl From<crate::services::catalog::ListError> for ApiError {
    fn from(e: crate::services::catalog::ListError) -> Self {
        use crate::services::catalog::ListError;
        match e {
            ListError::Invalid(v) => Self::BadRequest(v.to_string()),
            ListError::BadCursor => {
                Self::BadRequest("after is not a cursor this server issued for this sort".into())
            }
            ListError::Store(s) => s.into(),
        }
    }
}

/// What a service reports, as the problem the client sees.
impl From<crate::services::ServiceError> for ApiError {
    fn from(e: crate::services::ServiceError) -> Self {
        use crate::services::ServiceError;
        match e {
            ServiceError::Invalid(v) => v.into(),
            ServiceError::Store(s) => s.into(),
            ServiceError::BadRequest(m) => Self::BadRequest(m),
            ServiceError::TooLarge => Self::PayloadTooLarge,
            ServiceError::PlanLimit(m) => Self::PaymentRequired(m),
            ServiceError::Conflict { detail, errors } => Self::Conflicts { detail, errors },
            ServiceError::Media(m) => m.into(),
        }
    }
}

/// An image store that is down is a 503 to retry; any other failure of
/// it a 500.
impl From<crate::media::MediaError> for ApiError {
    fn from(e: crate::media::MediaError) -> Self {
        match e {
            crate::media::MediaError::Unavailable(_) => Self::DependencyUnavailable {
                dependency: "image store",
                cause: e.into(),
            },
            crate::media::MediaError::Other(_) => Self::Internal(e.into()),
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound(what) => Self::not_found(what),
            StoreError::Conflict { field } => Self::Conflict {
                detail: format!("{field} is already taken"),
                field,
            },
            StoreError::UnknownReference { field } => Self::Validation(ValidationErrors::single(
                field,
                "refers to something that does not exist",
            )),
            StoreError::Invalid(m) => Self::Conflict {
                detail: m.to_owned(),
                field: "state",
            },
            StoreError::LimitReached(what) => Self::PaymentRequired(format!(
                "the shop's plan allows no more {what}; upgrade the plan to add more"
            )),
            StoreError::InvalidCursor => {
                Self::BadRequest("after is not a cursor this server issued".into())
            }
            StoreError::Unavailable(e) => Self::DependencyUnavailable {
                dependency: "database",
                cause: e,
            },
            StoreError::Contended(e) => Self::Contended(e),
            StoreError::Other(e) => Self::Internal(e),
        }
    }
}

impl Problem {
    /// A problem for `status` with the standard title and a `type` slug
    /// derived from it.
    pub fn new(status: StatusCode, detail: impl Into<String>) -> Self {
        let title = status.canonical_reason().unwrap_or("Error");
        let slug = title.to_ascii_lowercase().replace([' ', '\''], "-");
        Self {
            kind: format!("/api/docs#problem-{slug}"),
            title: title.to_owned(),
            status: status.as_u16(),
            detail: detail.into(),
            instance: String::new(),
            errors: Vec::new(),
        }
    }
}

/// Marks a response as a problem still to be rendered by the middleware.
#[derive(Debug, Clone)]
pub struct PendingProblem(pub Problem);

/// The cause of a 5xx, kept for the request log line and never sent (at
/// `WARN` for a 503, a dependency's outage; `ERROR` otherwise).
#[derive(Debug, Clone)]
pub struct ErrorCause(pub String);

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        let mut problem = match &self {
            Self::Internal(_) => Problem::new(
                status,
                "the server failed to answer; quote the instance id when reporting it",
            ),
            other => Problem::new(status, other.to_string()),
        };
        if let Self::Validation(errors) = &self {
            problem.detail = "the request has invalid fields; see errors".into();
            problem.errors = errors.0.clone();
        }
        if let Self::MfaRequired = &self {
            problem.errors = vec![FieldError {
                field: "totp".into(),
                message: "required".into(),
            }];
        }
        if let Self::Conflict { field, detail } = &self {
            problem.errors = vec![FieldError {
                field: (*field).to_owned(),
                message: detail.clone(),
            }];
        }
        if let Self::Conflicts { errors, .. } = &self {
            problem.errors = errors.clone();
        }
        let mut response = status.into_response();
        if let Self::Unauthorized(_) = &self {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        if let Self::TooManyRequests {
            retry_after_secs, ..
        } = &self
        {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(*retry_after_secs));
        }
        if let Self::Unavailable(_) | Self::DependencyUnavailable { .. } | Self::Contended(_) =
            &self
        {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(RETRY_AFTER_SECS));
        }
        if let Self::Internal(cause)
        | Self::DependencyUnavailable { cause, .. }
        | Self::Contended(cause) = &self
        {
            response
                .extensions_mut()
                .insert(ErrorCause(error_chain(cause.as_ref())));
        }
        response.extensions_mut().insert(PendingProblem(problem));
        response
    }
}

/// `outer: inner: innermost`, so the log names the root cause.
pub fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        // A cause its error already says in its own message (sqlx's
        // `Io`, thiserror's `{0}` beside `#[source]`) is not said again.
        let said = s.to_string();
        if !(out == said || out.ends_with(&format!(": {said}"))) {
            out.push_str(": ");
            out.push_str(&said);
        }
        source = s.source();
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_cause_its_error_already_says_is_not_repeated() {
        let e = sqlx::Error::Io(std::io::Error::other("connection refused"));
        assert_eq!(
            super::error_chain(&e),
            "error communicating with database: connection refused"
        );
        let wrapped = anyhow::Error::new(std::io::Error::other("disk full")).context("writing");
        assert_eq!(super::error_chain(wrapped.as_ref()), "writing: disk full");
        // A cause that only happens to end the message is still said.
        let port = anyhow::Error::new(std::io::Error::other("5")).context("no answer on port 5");
        assert_eq!(super::error_chain(port.as_ref()), "no answer on port 5: 5");
    }
}
