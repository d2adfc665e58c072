//! Background jobs as staff and platform operators see them, and the list
//! filters.

use serde::{Deserialize, Serialize};
use storekeep_domain::Job;

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct JobPage {
    pub items: Vec<Job>,
    pub next_cursor: Option<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct JobBody {
    pub job: Job,
}

/// A shop's jobs, newest first.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct JobQuery {
    /// Only this queue, e.g. `email`.
    pub queue: Option<String>,
    /// Only this state: available, running, retryable, completed, dead or
    /// discarded.
    pub state: Option<String>,
    /// Only this kind, e.g. `email.send`.
    pub kind: Option<String>,
    /// Items per page, 1 to 200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<u32>,
    pub after: Option<String>,
}

/// Every shop's jobs, newest first.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct PlatformJobQuery {
    /// Only this queue, e.g. `email`.
    pub queue: Option<String>,
    /// Only this state: available, running, retryable, completed, dead or
    /// discarded.
    pub state: Option<String>,
    /// Only this kind, e.g. `email.send`.
    pub kind: Option<String>,
    /// Only this shop's jobs (its id).
    pub tenant: Option<String>,
    /// Items per page, 1 to 200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<u32>,
    pub after: Option<String>,
}
