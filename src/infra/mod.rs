//! Adapters that implement the domain's ports.

pub mod auth;
pub mod db;
pub mod kv;
pub mod search;
