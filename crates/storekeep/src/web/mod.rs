//! The storefront's web layer (issue 17). Sessions and CSRF come first;
//! the layer's router, pages and templates join them.

pub mod csrf;
pub mod session;
pub mod shopping;
