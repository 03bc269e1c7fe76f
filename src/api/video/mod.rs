//! GraphQL: videos, their listings and views.

mod inputs;
pub mod loader;
mod mutation;
mod query;
pub mod types;

pub use mutation::VideoMutation;
pub use query::VideoQuery;
