use async_graphql::dataloader::DataLoader;
use async_graphql::{Context, Enum, Object, SimpleObject, Union};
use chrono::{DateTime, Utc};

use crate::api::context::ContextExt;
use crate::api::error::{code, GqlResultExt};
use crate::api::recommendation::loader::RecommendationLoader;
use crate::api::recommendation::types::RecommendationView;
use crate::api::video::loader::{loader_error, VideoLoader};
use crate::api::video::types::{PageInfo, VideoView};
use crate::domain::favorite::{Favorite, TargetKind};
use crate::domain::{ErrorCode, RecommendationId, UserId, VideoId};

#[derive(Enum, Copy, Clone, Eq, PartialEq)]
#[graphql(
    name = "FavoriteTargetKind",
    remote = "crate::domain::favorite::TargetKind"
)]
pub enum GqlTargetKind {
    Video,
    Recommendation,
}

/// What a favorite points at.
#[derive(Union)]
pub enum FavoriteTarget {
    Video(VideoView),
    Recommendation(RecommendationView),
}

pub struct FavoriteView(pub Favorite);

#[Object(name = "Favorite")]
impl FavoriteView {
    async fn target(&self, ctx: &Context<'_>) -> async_graphql::Result<FavoriteTarget> {
        match self.0.kind {
            TargetKind::Video => {
                let loader = ctx.data_unchecked::<DataLoader<VideoLoader>>();
                let video = loader
                    .load_one(VideoId::from_uuid(self.0.target_id))
                    .await
                    .map_err(loader_error)?;
                video
                    .map(|v| FavoriteTarget::Video(VideoView(v)))
                    .ok_or_else(|| code(ErrorCode::NotFound, "video not found"))
            }
            TargetKind::Recommendation => {
                let loader = ctx.data_unchecked::<DataLoader<RecommendationLoader>>();
                let item = loader
                    .load_one(RecommendationId::from_uuid(self.0.target_id))
                    .await
                    .map_err(loader_error)?;
                item.map(|i| FavoriteTarget::Recommendation(RecommendationView(i)))
                    .ok_or_else(|| code(ErrorCode::NotFound, "recommendation not found"))
            }
        }
    }

    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
}

#[derive(SimpleObject)]
pub struct FavoriteEdge {
    pub cursor: String,
    pub node: FavoriteView,
}

pub struct FavoriteConnection {
    pub edges: Vec<(String, Favorite)>,
    pub page_info: (bool, bool),
    pub user: UserId,
    pub kind: Option<TargetKind>,
}

#[Object]
impl FavoriteConnection {
    async fn edges(&self) -> Vec<FavoriteEdge> {
        self.edges
            .iter()
            .map(|(c, f)| FavoriteEdge {
                cursor: c.clone(),
                node: FavoriteView(f.clone()),
            })
            .collect()
    }

    async fn page_info(&self) -> PageInfo {
        PageInfo {
            has_next_page: self.page_info.0,
            has_previous_page: self.page_info.1,
            start_cursor: self.edges.first().map(|(c, _)| c.clone()),
            end_cursor: self.edges.last().map(|(c, _)| c.clone()),
        }
    }

    async fn total_count(&self, ctx: &Context<'_>) -> async_graphql::Result<i64> {
        Ok(ctx
            .state()
            .favorites
            .count(self.user, self.kind)
            .await
            .gql()? as i64)
    }
}

#[derive(SimpleObject)]
pub struct KindCount {
    pub kind: GqlTargetKind,
    pub count: i64,
}

#[derive(SimpleObject)]
pub struct FavoriteStats {
    pub total: i64,
    pub by_kind: Vec<KindCount>,
}
