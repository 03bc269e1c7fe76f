//! reelgraph: a GraphQL content platform server. See ARCHITECTURE.md for the map.

pub mod api;
pub mod app;
pub mod cli;
pub mod commands;
pub mod config;
pub mod domain;
/// Entry points for the fuzzers in `fuzz/` (cargo-fuzz passes `--cfg fuzzing`) and the
/// tests that replay their findings; not part of the server.
#[cfg(any(test, fuzzing))]
pub mod fuzz;
pub mod infra;
pub mod startup;
pub mod telemetry;
