//! Recommendation items and the `recommendations` feed.

pub mod loader;
pub mod types;

use async_graphql::{Context, Object, ID};

use self::types::{
    GqlRecommendationKind, RecommendationFeedView, RecommendationInput, RecommendationView,
};
use crate::api::context::ContextExt;
use crate::api::error::GqlResultExt;
use crate::domain::RecommendationId;

#[derive(Default)]
pub struct RecommendationQuery;

#[Object]
impl RecommendationQuery {
    /// A page of the feed of `kind` (every kind when left out), by score. A signed-in
    /// viewer keeps their own version; `refresh: true` starts a new one with what they
    /// have not been shown yet first (anonymous viewers share the current version, which
    /// changes whenever an item does). Later pages pass `nextCursor` as `after` and stay
    /// in their version.
    #[graphql(complexity = "first.unwrap_or(20).clamp(1, 100) as usize * child_complexity")]
    async fn recommendations(
        &self,
        ctx: &Context<'_>,
        kind: Option<GqlRecommendationKind>,
        #[graphql(default_with = "Some(20)")] first: Option<i32>,
        after: Option<String>,
        #[graphql(default_with = "Some(false)")] refresh: Option<bool>,
    ) -> async_graphql::Result<RecommendationFeedView> {
        let page = ctx
            .state()
            .recommendations
            .feed(
                ctx.viewer(),
                kind.map(Into::into),
                first.map(i64::from),
                after.as_deref(),
                refresh.unwrap_or(false),
            )
            .await
            .gql()?;
        Ok(page.into())
    }
}

#[derive(Default)]
pub struct RecommendationMutation;

fn item_id(id: &ID) -> async_graphql::Result<RecommendationId> {
    RecommendationId::parse(id, "id").gql()
}

#[Object]
impl RecommendationMutation {
    /// ADMIN and up.
    async fn create_recommendation(
        &self,
        ctx: &Context<'_>,
        input: RecommendationInput,
    ) -> async_graphql::Result<RecommendationView> {
        let item = ctx
            .state()
            .recommendations
            .create(ctx.viewer(), input.into_patch()?)
            .await
            .gql()?;
        Ok(RecommendationView(item))
    }

    /// ADMIN and up. Fields left out stay; `null` clears.
    async fn update_recommendation(
        &self,
        ctx: &Context<'_>,
        id: ID,
        input: RecommendationInput,
    ) -> async_graphql::Result<RecommendationView> {
        let item = ctx
            .state()
            .recommendations
            .update(ctx.viewer(), item_id(&id)?, input.into_patch()?)
            .await
            .gql()?;
        Ok(RecommendationView(item))
    }

    /// ADMIN and up. Favorites of the item are removed with it.
    async fn delete_recommendation(
        &self,
        ctx: &Context<'_>,
        id: ID,
    ) -> async_graphql::Result<bool> {
        ctx.state()
            .recommendations
            .delete(ctx.viewer(), item_id(&id)?)
            .await
            .gql()
    }
}
