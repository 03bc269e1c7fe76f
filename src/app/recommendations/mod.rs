//! Recommendation items and their feeds: admins' changes, imports from sources, and the
//! `recommendations` feed with pull-to-refresh versions.

use std::collections::HashMap;
use std::sync::Arc;

use super::videos::VideoService;
use crate::domain::auth::Viewer;
use crate::domain::clock;
use crate::domain::error::{DomainResult, WriteError};
use crate::domain::recommendation::{
    ImportOutcome, Recommendation, RecommendationFields, RecommendationKind, RecommendationPatch,
    RecommendationRepository,
};
use crate::domain::user::Permission;
use crate::domain::{DomainError, RecommendationId, VideoId};

mod feed;

pub use feed::FeedPage;

/// How often an admin's update is applied again after a concurrent edit got in first.
const UPDATE_ATTEMPTS: u32 = 3;

pub struct RecommendationService {
    items: Arc<dyn RecommendationRepository>,
    videos: Arc<VideoService>,
    pages: feed::PageCache,
}

impl RecommendationService {
    pub fn new(items: Arc<dyn RecommendationRepository>, videos: Arc<VideoService>) -> Self {
        Self {
            items,
            videos,
            pages: feed::PageCache::new(),
        }
    }

    /// The fields checked, and a VIDEO item's video present (admins see every video).
    async fn checked(
        &self,
        viewer: &Viewer,
        fields: RecommendationFields,
    ) -> DomainResult<RecommendationFields> {
        let fields = fields.validated().map_err(|e| e.in_field("input"))?;
        if let Some(video) = fields.video_id {
            self.videos
                .get(viewer, video)
                .await?
                .ok_or_else(|| DomainError::bad_input("input.videoId", "no such video"))?;
        }
        Ok(fields)
    }

    /// ADMIN and up. `kind` and `title` are required; what is left out is empty.
    pub async fn create(
        &self,
        viewer: &Viewer,
        mut patch: RecommendationPatch,
    ) -> DomainResult<Recommendation> {
        let by = viewer.require(Permission::ManageRecommendations, "manage recommendations")?;
        let kind = patch
            .kind
            .take()
            .ok_or_else(|| DomainError::bad_input("input.kind", "kind is required"))?;
        let title = patch
            .title
            .take()
            .ok_or_else(|| DomainError::bad_input("input.title", "title is required"))?;
        let fields = patch.apply(RecommendationFields::new(kind, title));
        let fields = self.checked(viewer, fields).await?;
        Ok(self
            .items
            .create(RecommendationId::new(), fields, Some(by), clock::now())
            .await?)
    }

    /// ADMIN and up. Fields left out of `patch` stay; the result is checked as a whole.
    pub async fn update(
        &self,
        viewer: &Viewer,
        id: RecommendationId,
        patch: RecommendationPatch,
    ) -> DomainResult<Recommendation> {
        viewer.require(Permission::ManageRecommendations, "manage recommendations")?;
        // The patch applies to the item as it is when written: an edit made meanwhile
        // (another admin, an import) makes the write refuse, and the patch is applied
        // again to the new state; left-out fields keep whatever that edit set.
        let mut attempts = 0;
        loop {
            let current = self
                .items
                .by_ids(&[id])
                .await?
                .pop()
                .ok_or(DomainError::NotFound("recommendation"))?;
            let fields = self
                .checked(viewer, patch.clone().apply(current.fields))
                .await?;
            match self
                .items
                .update(id, fields, current.updated_at, clock::now())
                .await
            {
                Err(WriteError::Conflict(_)) if attempts < UPDATE_ATTEMPTS => attempts += 1,
                result => return Ok(result?),
            }
        }
    }

    /// ADMIN and up. Favorites of the item go with it.
    pub async fn delete(&self, viewer: &Viewer, id: RecommendationId) -> DomainResult<bool> {
        viewer.require(Permission::ManageRecommendations, "manage recommendations")?;
        self.items.delete(id).await?;
        Ok(true)
    }

    /// Writes one batch of already validated items from a source in one transaction
    /// (imports and feed polls; operators, not viewers, start these).
    pub async fn import(&self, items: &[RecommendationFields]) -> DomainResult<ImportOutcome> {
        Ok(self.items.upsert_sourced(items, clock::now()).await?)
    }

    /// The items among `ids` that `viewer` may be shown, by id: a VIDEO item only while
    /// its video is listed for them.
    pub async fn shown_to(
        &self,
        viewer: &Viewer,
        ids: &[RecommendationId],
    ) -> DomainResult<HashMap<RecommendationId, Recommendation>> {
        let items = self.items.by_ids(ids).await?;
        let video_ids: Vec<VideoId> = items.iter().filter_map(|i| i.fields.video_id).collect();
        let listed = if video_ids.is_empty() {
            HashMap::new()
        } else {
            self.videos.listed_many(viewer, &video_ids).await?
        };
        Ok(items
            .into_iter()
            .filter(|item| match item.fields.kind {
                RecommendationKind::Video => item
                    .fields
                    .video_id
                    .is_some_and(|v| listed.contains_key(&v)),
                _ => true,
            })
            .map(|item| (item.id, item))
            .collect())
    }

    /// Exact like counts of `ids`, read now (cached pages do not carry them).
    pub async fn like_counts(
        &self,
        ids: &[RecommendationId],
    ) -> DomainResult<HashMap<RecommendationId, i64>> {
        Ok(self.items.like_counts(ids).await?)
    }
}
