//! GraphQL: videos, their listings and views.

mod inputs;
pub mod loader;
mod mutation;
mod query;
mod recommended;
pub mod types;

pub use mutation::VideoMutation;
pub use query::VideoQuery;
