use async_graphql::{Context, Object};

use super::types::{FavoriteConnection, FavoriteStats, GqlTargetKind, KindCount};
use crate::api::context::ContextExt;
use crate::api::error::GqlResultExt;
use crate::app::cursor;

#[derive(Default)]
pub struct FavoriteQuery;

#[Object]
impl FavoriteQuery {
    /// The signed-in user's favorites, newest first. Targets that were deleted or hidden
    /// from the user drop out.
    #[graphql(complexity = "first.unwrap_or(20).clamp(1, 100) as usize * child_complexity")]
    async fn my_favorites(
        &self,
        ctx: &Context<'_>,
        kind: Option<GqlTargetKind>,
        #[graphql(default_with = "Some(20)")] first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<FavoriteConnection> {
        let kind = kind.map(Into::into);
        let (user, page) = ctx
            .state()
            .favorites
            .list(ctx.viewer(), kind, first.map(i64::from), after.as_deref())
            .await
            .gql()?;
        Ok(FavoriteConnection {
            edges: page
                .items
                .into_iter()
                .map(|(f, key)| (cursor::encode_favorite(&key), f))
                .collect(),
            page_info: (page.has_next_page, page.has_previous_page),
            user,
            kind,
        })
    }

    async fn favorite_stats(&self, ctx: &Context<'_>) -> async_graphql::Result<FavoriteStats> {
        let by_kind = ctx.state().favorites.stats(ctx.viewer()).await.gql()?;
        Ok(FavoriteStats {
            total: by_kind.iter().map(|(_, n)| *n as i64).sum(),
            by_kind: by_kind
                .into_iter()
                .map(|(kind, n)| KindCount {
                    kind: kind.into(),
                    count: n as i64,
                })
                .collect(),
        })
    }
}
