//! GraphQL: users and profiles.

mod mutation;
mod query;
pub mod types;

pub use mutation::UserMutation;
pub use query::UserQuery;
