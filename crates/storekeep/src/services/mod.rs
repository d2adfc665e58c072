//! Business operations shared by the HTTP API and the CLI: they parse raw
//! input into domain types, collecting every problem, then call the store.

pub mod accounts;
pub mod bulk;
pub mod bulk_csv;
pub mod carts;
pub mod catalog;
pub mod checkout;
pub mod credentials;
pub mod deals;
pub mod demo_catalog;
pub mod orders;
pub mod plans;
pub mod tenants;

use storekeep_domain::ValidationErrors;
use storekeep_store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    #[error(transparent)]
    Invalid(#[from] ValidationErrors),
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The request is valid but conflicts with the current state; `errors`
    /// name what (for example each line short of stock).
    #[error("{detail}")]
    Conflict {
        detail: String,
        errors: Vec<storekeep_domain::FieldError>,
    },
}

pub type ServiceResult<T> = Result<T, ServiceError>;

/// A sealed value that does not open is a fault of the stored data or the
/// configured keys, never of the request.
impl From<crate::crypto::keyring::OpenError> for ServiceError {
    fn from(e: crate::crypto::keyring::OpenError) -> Self {
        Self::Store(StoreError::other(e))
    }
}

impl From<ServiceError> for crate::http::error::ApiError {
    fn from(e: ServiceError) -> Self {
        match e {
            ServiceError::Invalid(v) => v.into(),
            ServiceError::Store(s) => s.into(),
            ServiceError::Conflict { detail, errors } => Self::Conflicts { detail, errors },
        }
    }
}
