//! This backend's [`Runner`]: shared statements run on Sqlite with every
//! failure classified by [`classify`] (an outage is `Unavailable`).

use sqlx::Sqlite;
use storekeep_store_sql::run::Runner;

use crate::error::classify;

pub(crate) const RUN: Runner<Sqlite> = Runner::new(classify);
