use async_graphql::{Context, Object, ID};
use uuid::Uuid;

use super::types::{FavoriteView, GqlTargetKind};
use crate::api::context::ContextExt;
use crate::api::error::GqlResultExt;
use crate::domain::{RecommendationId, VideoId};

#[derive(Default)]
pub struct FavoriteMutation;

fn target(kind: GqlTargetKind, id: &ID) -> async_graphql::Result<Uuid> {
    match kind {
        GqlTargetKind::Video => Ok(VideoId::parse(id, "targetId").gql()?.as_uuid()),
        GqlTargetKind::Recommendation => {
            Ok(RecommendationId::parse(id, "targetId").gql()?.as_uuid())
        }
    }
}

#[Object]
impl FavoriteMutation {
    /// Idempotent: favoriting twice keeps one favorite and counts one like.
    async fn add_favorite(
        &self,
        ctx: &Context<'_>,
        kind: GqlTargetKind,
        target_id: ID,
    ) -> async_graphql::Result<FavoriteView> {
        Ok(FavoriteView(
            ctx.state()
                .favorites
                .add(ctx.viewer(), kind.into(), target(kind, &target_id)?)
                .await
                .gql()?,
        ))
    }

    /// True when a favorite was removed, false when there was none.
    async fn remove_favorite(
        &self,
        ctx: &Context<'_>,
        kind: GqlTargetKind,
        target_id: ID,
    ) -> async_graphql::Result<bool> {
        ctx.state()
            .favorites
            .remove(ctx.viewer(), kind.into(), target(kind, &target_id)?)
            .await
            .gql()
    }
}
