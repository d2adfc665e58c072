//! Middleware, outermost first: `observe` (request id, problem rendering,
//! metrics, the request log line), `timeout`, then the body limit, then
//! routing; `record_route` runs inside routing to learn the route template.

mod observe;
mod timeout;

pub use observe::{RequestContext, observe, record_route};
pub use timeout::timeout;
