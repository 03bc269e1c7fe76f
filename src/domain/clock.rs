//! The current time, at microsecond precision.
//!
//! PostgreSQL keeps microseconds and SQLite keeps whatever it is given; cursors carry
//! microseconds. Taking every stored timestamp from here makes a row and a cursor built
//! from it compare equal on both backends, which keyset paging depends on.

use chrono::{DateTime, SubsecRound, Utc};

pub fn now() -> DateTime<Utc> {
    Utc::now().trunc_subsecs(6)
}
