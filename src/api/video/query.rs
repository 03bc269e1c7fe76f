use async_graphql::{Context, Object, ID};

use super::recommended::RecommendedConnection;
use super::types::{GqlVideoSort, VideoConnection, VideoFilterInput, VideoView};
use crate::api::context::ContextExt;
use crate::api::error::GqlResultExt;
use crate::domain::VideoId;

#[derive(Default)]
pub struct VideoQuery;

#[Object]
impl VideoQuery {
    /// A video the viewer may see (published PUBLIC or UNLISTED, or their own), else null.
    async fn video(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<Option<VideoView>> {
        let id = VideoId::parse(&id, "id").gql()?;
        Ok(ctx
            .state()
            .videos
            .get(ctx.viewer(), id)
            .await
            .gql()?
            .map(VideoView))
    }

    /// Videos the viewer may list: published PUBLIC ones, plus their own (all, for admins).
    /// `first` is clamped to 1..=100.
    #[graphql(complexity = "first.unwrap_or(20).clamp(1, 100) as usize * child_complexity")]
    async fn videos(
        &self,
        ctx: &Context<'_>,
        filter: Option<VideoFilterInput>,
        #[graphql(default_with = "Some(GqlVideoSort::Newest)")] sort: Option<GqlVideoSort>,
        #[graphql(default_with = "Some(20)")] first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<VideoConnection> {
        let filter = filter
            .map(|f| f.to_domain())
            .transpose()?
            .unwrap_or_default();
        VideoConnection::load(ctx, filter, sort, first, after).await
    }

    /// Published PUBLIC videos by hot score: `videos(sort: TRENDING)` without a filter.
    /// `first` is clamped to 1..=100.
    #[graphql(complexity = "first.unwrap_or(20).clamp(1, 100) as usize * child_complexity")]
    async fn trending_videos(
        &self,
        ctx: &Context<'_>,
        #[graphql(default_with = "Some(20)")] first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<VideoConnection> {
        let filter = Default::default();
        VideoConnection::load(ctx, filter, Some(GqlVideoSort::Trending), first, after).await
    }

    /// For the signed-in viewer: videos that viewers who liked what they liked (and
    /// watched) also liked, then trending ones; never their own videos or anything not
    /// published PUBLIC, and nothing they had favorited, or watched in the 14 days
    /// before, when the list was made. A favorite or a view changes the next first page
    /// at once; later pages stay in the list their first page started and skip what was
    /// hidden or favorited since. Anonymous viewers get `trendingVideos`. `first` is
    /// clamped to 1..=100.
    #[graphql(complexity = "first.unwrap_or(20).clamp(1, 100) as usize * child_complexity")]
    async fn recommended_videos(
        &self,
        ctx: &Context<'_>,
        #[graphql(default_with = "Some(20)")] first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<RecommendedConnection> {
        let page = ctx
            .state()
            .for_you
            .page(ctx.viewer(), first.map(i64::from), after.as_deref())
            .await
            .gql()?;
        Ok(RecommendedConnection(page))
    }
}
