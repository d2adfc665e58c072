//! Middleware, outermost first: `observe` (request id, problem rendering,
//! metrics, the request log line, security headers, and — by calling
//! `limits::run` — body size and time limits), the panic catcher,
//! `replica_reads` (may this request's catalog reads use the read
//! replica?), `context` (authentication, tenant, CORS, rate limits), then
//! routing;
//! `record_route` runs inside routing to learn the route template.

mod context;
mod limits;
mod observe;
mod replica;
mod security;

pub use context::{Tier, context};
pub use limits::IMPORT_BODY_LIMIT;
pub use observe::{RequestContext, observe, record_route};
pub use replica::{RecentWriters, WROTE_COOKIE, replica_reads, stale_route};
