use async_graphql::{Context, Object, ID};

use super::types::{CreateVideoInput, UpdateVideoInput, VideoStats, VideoView};
use crate::api::context::ContextExt;
use crate::api::error::GqlResultExt;
use crate::api::patch::patch;
use crate::app::videos::CreateVideo;
use crate::domain::video::VideoChanges;
use crate::domain::VideoId;

#[derive(Default)]
pub struct VideoMutation;

fn video_id(id: &ID) -> async_graphql::Result<VideoId> {
    VideoId::parse(id, "id").gql()
}

#[Object]
impl VideoMutation {
    /// CREATOR and up. The video starts as an unpublished DRAFT.
    async fn create_video(
        &self,
        ctx: &Context<'_>,
        input: CreateVideoInput,
    ) -> async_graphql::Result<VideoView> {
        let input = CreateVideo {
            title: input.title,
            description: input.description,
            categories: input.categories,
            tags: input.tags,
            visibility: input.visibility.map(Into::into),
            seo_title: input.seo_title,
            seo_description: input.seo_description,
            seo_keywords: input.seo_keywords,
        };
        Ok(VideoView(
            ctx.state().videos.create(ctx.viewer(), input).await.gql()?,
        ))
    }

    /// The owner or an admin. Each effective change is recorded as a version.
    async fn update_video(
        &self,
        ctx: &Context<'_>,
        id: ID,
        input: UpdateVideoInput,
    ) -> async_graphql::Result<VideoView> {
        let changes = VideoChanges {
            title: input.title,
            description: patch(input.description),
            categories: input.categories,
            tags: input.tags,
            visibility: input.visibility.map(Into::into),
            seo_title: patch(input.seo_title),
            seo_description: patch(input.seo_description),
            seo_keywords: input.seo_keywords,
        };
        Ok(VideoView(
            ctx.state()
                .videos
                .update(ctx.viewer(), video_id(&id)?, changes)
                .await
                .gql()?,
        ))
    }

    async fn publish_video(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<VideoView> {
        Ok(VideoView(
            ctx.state()
                .videos
                .publish(ctx.viewer(), video_id(&id)?)
                .await
                .gql()?,
        ))
    }

    async fn unpublish_video(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<VideoView> {
        Ok(VideoView(
            ctx.state()
                .videos
                .unpublish(ctx.viewer(), video_id(&id)?)
                .await
                .gql()?,
        ))
    }

    /// Soft delete: the video disappears for everyone, its row stays.
    async fn delete_video(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<bool> {
        ctx.state()
            .videos
            .delete(ctx.viewer(), video_id(&id)?)
            .await
            .gql()
    }

    /// Counts a view once per viewer (user, or client address when anonymous) per video
    /// per 30 minutes.
    async fn record_view(
        &self,
        ctx: &Context<'_>,
        video_id: ID,
    ) -> async_graphql::Result<VideoStats> {
        let id = VideoId::parse(&video_id, "videoId").gql()?;
        let (views, likes) = ctx
            .state()
            .videos
            .record_view(ctx.viewer(), id)
            .await
            .gql()?;
        Ok(VideoStats::new(
            video_id,
            views,
            likes,
            crate::domain::clock::now(),
        ))
    }
}
