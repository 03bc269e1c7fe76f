//! Black-box tests through the real server. One binary, so the build links once.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod auth;
mod bad_inputs;
mod cli;
mod faults;
mod favorites;
mod for_you;
mod hardening;
mod helpers;
mod http_spec;
mod layering;
mod live;
mod media;
mod media_recovery;
mod operations;
mod recommendations;
mod schema;
mod search;
mod search_recovery;
mod shared_redis;
mod trending;
mod videos;
