//! Extractors: the only way handlers read a request, so every rejection is
//! a problem response.

mod encoding;
mod json;
pub mod page;
mod platform;
pub mod tenant;

pub use encoding::AcceptsGzip;
pub use json::{Json, OptionalJson, Query};
pub use page::PageParams;
pub use platform::PlatformOperator;
pub use tenant::CurrentTenant;
