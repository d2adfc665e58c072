//! Middleware, outermost first: `observe` (request id, problem rendering,
//! metrics, the request log line, security headers), `limits` (body size
//! and time), `context` (authentication, tenant, CORS, rate limits), then
//! routing; `record_route` runs inside routing to learn the route template.

mod context;
mod limits;
mod observe;
mod security;

pub use context::{Tier, context};
pub use limits::{IMPORT_BODY_LIMIT, limits};
pub use observe::{RequestContext, observe, record_route};
