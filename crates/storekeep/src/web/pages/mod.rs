//! One module per storefront page (handler and its view types); the
//! templates are in `templates/storefront/`.

pub mod home;
pub mod views;
