//! The business rules the backends apply and never decide (STYLE.md §4):
//! each is one pure function or constant here, called by both backends,
//! which keep only SQL, locks and transactions. A module per area.

pub mod identity;
pub mod platform;
