//! One module per storefront page (handler and its view types); the
//! templates are in `templates/storefront/`.

pub mod account;
pub mod cart;
pub mod checkout;
pub mod home;
pub mod shopper;
pub mod views;
