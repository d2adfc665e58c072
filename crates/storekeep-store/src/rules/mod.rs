//! The business rules the backends apply and never decide (STYLE.md §4):
//! limits, refusals and the messages users see, each one pure function (or
//! constant) of what a backend read inside its transaction, called by both
//! backends, which keep only SQL, locks and transactions. A module per area.

pub mod catalog;
pub mod catalog_audit;
pub mod commerce;
pub mod delivery;
pub mod identity;
pub mod jobs;
pub mod platform;
// i16: customers' rights (export, erasure).
pub mod privacy;
pub mod rental_disclosure;
#[cfg(test)]
mod rental_proptests;
pub mod rental_units;
pub mod rentals;
// i15 daily job: the daily pass's decisions.
pub mod rental_daily;
// i15 phase 3, buy-out and returns: the quote and the deposit's settlement.
pub mod rental_end;
