//! The schema and its limits.

use async_graphql::{MergedObject, Schema};

use super::auth::AuthMutation;
use super::favorite::{FavoriteMutation, FavoriteQuery};
use super::limits::FieldLimit;
use super::live::SubscriptionRoot;
use super::media::{MediaMutation, MediaQuery};
use super::recommendation::{RecommendationMutation, RecommendationQuery};
use super::search::SearchQuery;
use super::user::{UserMutation, UserQuery};
use super::video::{VideoMutation, VideoQuery};
use crate::api::ApiState;

#[derive(MergedObject, Default)]
#[graphql(name = "Query")]
pub struct QueryRoot(
    UserQuery,
    VideoQuery,
    SearchQuery,
    FavoriteQuery,
    RecommendationQuery,
    MediaQuery,
);

#[derive(MergedObject, Default)]
#[graphql(name = "Mutation")]
pub struct MutationRoot(
    AuthMutation,
    UserMutation,
    VideoMutation,
    FavoriteMutation,
    RecommendationMutation,
    MediaMutation,
);

pub type AppSchema = Schema<QueryRoot, MutationRoot, SubscriptionRoot>;

pub const MAX_DEPTH: usize = 12;
/// Connection fields count `first` times their selection, so a page of 100 rich
/// videos fits and nested fan-out (users' videos' owners' videos ...) does not.
pub const MAX_COMPLEXITY: usize = 5_000;
pub const MAX_RECURSIVE_DEPTH: usize = 32;
pub const MAX_DIRECTIVES: usize = 4;
pub const MAX_FIELDS: usize = 300;

fn builder() -> async_graphql::SchemaBuilder<QueryRoot, MutationRoot, SubscriptionRoot> {
    Schema::build(
        QueryRoot::default(),
        MutationRoot::default(),
        SubscriptionRoot,
    )
    .limit_depth(MAX_DEPTH)
    .limit_complexity(MAX_COMPLEXITY)
    .limit_recursive_depth(MAX_RECURSIVE_DEPTH)
    .limit_directives(MAX_DIRECTIVES)
    .extension(FieldLimit {
        max_fields: MAX_FIELDS,
    })
}

pub fn build_schema(state: ApiState, introspection: bool) -> AppSchema {
    let builder = builder().data(state);
    if introspection {
        builder.finish()
    } else {
        builder
            .disable_introspection()
            .disable_suggestions()
            .finish()
    }
}

/// The SDL of the schema, as committed in `graphql/schema.graphql`.
pub fn sdl() -> String {
    builder().finish().sdl()
}
