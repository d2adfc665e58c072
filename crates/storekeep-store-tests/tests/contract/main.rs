//! The store contract suite: every behaviour callers rely on from a
//! `Store`, written once against `Arc<dyn Store>` and run on SQLite and on
//! PostgreSQL (the crate's harness picks the database). One module per
//! aggregate; the races (stock, deal caps, idempotency, status moves) sit
//! with the aggregate they guard.

mod support;

// Platform and identity.
mod audit;
mod audit_filters;
mod challenges;
mod credentials;
mod platform;
mod sessions;
mod users;

// Catalog.
mod categories;
mod images;
mod import;
mod inventory;
mod product_lists;
mod products;
mod search;

// Selling.
mod carts;
mod checkout;
mod deals;
mod orders;
mod outbox;
mod payments;
mod refunds;

// Background work.
mod jobs;
// The outbox dispatcher.
mod dispatch;
// Outbound webhooks.
mod webhooks;
// Sealed values, for key rotation.
mod sealed;
// Rentals.
mod rentals;
// Customers' rights (export, erasure).
mod privacy;
