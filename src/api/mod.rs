//! Transport: poem routes and the async-graphql schema.
//!
//! Invariant: only `src/api` knows poem and async-graphql. Resolvers translate arguments
//! into app-layer calls and domain values into view types; they hold no business rules.

mod auth;
mod context;
pub mod error;
mod favorite;
pub mod http;
pub(crate) mod limits;
pub(crate) mod live;
mod media;
mod patch;
mod recommendation;
mod routes;
pub mod schema;
mod search;
mod serve;
mod state;
mod user;
mod video;

pub use routes::routes;
pub use schema::{build_schema, sdl, AppSchema};
pub use serve::{serve, ServeLimits};
pub use state::ApiState;
