//! Adapters that implement the domain's ports.

pub mod auth;
pub mod db;
pub mod events;
pub mod health;
pub mod jobs;
pub mod kv;
pub mod media;
pub mod search;
