//! Middleware, outermost first: `observe` (request id, problem rendering,
//! metrics, the request log line, security headers), `timeout`, the body
//! limit, `context` (authentication, tenant, CORS, rate limits), then routing; `record_route` runs inside routing to learn the route template.

mod body_limit;
mod context;
mod observe;
mod security;
mod timeout;

pub use body_limit::{IMPORT_BODY_LIMIT, body_limit};
pub use context::{Tier, context};
pub use observe::{RequestContext, observe, record_route};
pub use timeout::timeout;
