//! Business rules both backends apply: one pure function (or message) per
//! rule, so SQLite and PostgreSQL decide alike and differ only in how they
//! store. Backends own SQL, locks and transactions; what is allowed, how
//! much, and what the user is told is decided here.

pub mod commerce;
