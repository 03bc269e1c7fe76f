//! GraphQL: favorites and their statistics.

mod mutation;
mod query;
mod types;

pub use mutation::FavoriteMutation;
pub use query::FavoriteQuery;
