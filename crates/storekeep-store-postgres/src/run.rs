//! This backend's [`Runner`]: shared statements run on Postgres with every
//! failure classified by [`classify`] (an outage is `Unavailable`).

use sqlx::Postgres;
use storekeep_store_sql::run::Runner;

use crate::error::classify;

pub(crate) const RUN: Runner<Postgres> = Runner::new(classify);
