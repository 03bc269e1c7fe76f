//! GraphQL: registration, login and sessions.

mod mutation;

pub use mutation::AuthMutation;
