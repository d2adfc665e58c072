//! The business rules both backends apply: limits, refusals and the
//! messages users see, each one pure function of what a backend read
//! inside its transaction. Backends own the SQL, the locks and the
//! transactions; the decisions are made here, once.

pub mod catalog;
pub mod catalog_audit;
