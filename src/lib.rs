//! reelgraph: a GraphQL content platform server. See ARCHITECTURE.md for the map.

pub mod api;
pub mod app;
pub mod cli;
pub mod commands;
pub mod config;
pub mod domain;
pub mod infra;
pub mod startup;
pub mod telemetry;
