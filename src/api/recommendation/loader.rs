//! Per-request loaders for items: the items themselves (favorite targets) and their like
//! counts, each one query per request whatever the page size. Like counts are read
//! fresh even when the page itself came from the anonymous page cache.

use std::collections::HashMap;
use std::sync::Arc;

use async_graphql::dataloader::Loader;

use crate::api::video::loader::FavoritedLoader;
use crate::app::RecommendationService;
use crate::domain::auth::Viewer;
use crate::domain::favorite::TargetKind;
use crate::domain::recommendation::Recommendation;
use crate::domain::{DomainError, RecommendationId};

/// Items by id, as the request's viewer may be shown them.
pub struct RecommendationLoader {
    pub viewer: Viewer,
    pub items: Arc<RecommendationService>,
}

impl Loader<RecommendationId> for RecommendationLoader {
    type Value = Recommendation;
    type Error = Arc<DomainError>;

    async fn load(
        &self,
        keys: &[RecommendationId],
    ) -> Result<HashMap<RecommendationId, Recommendation>, Self::Error> {
        self.items
            .shown_to(&self.viewer, keys)
            .await
            .map_err(Arc::new)
    }
}

pub struct ItemLikesLoader {
    pub items: Arc<RecommendationService>,
}

impl Loader<RecommendationId> for ItemLikesLoader {
    type Value = i64;
    type Error = Arc<DomainError>;

    async fn load(
        &self,
        keys: &[RecommendationId],
    ) -> Result<HashMap<RecommendationId, i64>, Self::Error> {
        self.items.like_counts(keys).await.map_err(Arc::new)
    }
}

impl Loader<RecommendationId> for FavoritedLoader {
    type Value = bool;
    type Error = Arc<DomainError>;

    async fn load(
        &self,
        keys: &[RecommendationId],
    ) -> Result<HashMap<RecommendationId, bool>, Self::Error> {
        let Some(viewer) = self.viewer else {
            return Ok(keys.iter().map(|k| (*k, false)).collect());
        };
        let ids: Vec<uuid::Uuid> = keys.iter().map(RecommendationId::as_uuid).collect();
        let set = self
            .favorites
            .favorited(viewer, TargetKind::Recommendation, &ids)
            .await
            .map_err(Arc::new)?;
        Ok(keys
            .iter()
            .map(|k| (*k, set.contains(&k.as_uuid())))
            .collect())
    }
}
