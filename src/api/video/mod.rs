//! GraphQL: videos, their listings and views.

pub mod loader;
mod mutation;
mod query;
pub mod types;

pub use mutation::VideoMutation;
pub use query::VideoQuery;
