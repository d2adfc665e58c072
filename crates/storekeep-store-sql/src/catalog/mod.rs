//! The catalog's share of what both SQL backends have in common: the rows
//! they decode alike and their conversion into records ([`rows`]), the SQL
//! text both databases accept to the letter and the binding of its
//! arguments ([`sql`]). Each backend keeps the statements only it
//! understands (id lists, full-text search, locks, aggregate casts) and its
//! transactions.

pub mod categories;
pub mod images;
pub mod import;
pub mod imports;
pub mod inventory;
pub mod list;
pub mod products;
pub mod rows;
pub mod sql;
pub mod store;
pub mod variants;

pub use import::warn_if_broken;
pub use list::{list_products, product_page};
pub use rows::{
    CategoryRow, ImageRow, LedgerRow, ProductRow, SearchRow, VariantRow, adjustment, assemble,
};
pub use sql::ProductFields;
