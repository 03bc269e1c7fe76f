//! What a search replica reads from the videos table: pages in id order for rebuilds,
//! the count for their progress, and videos by id as the outbox names them.

use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect};
use uuid::Uuid;

use super::convert::video_from;
use super::entities::video;
use super::{db_err, Database};
use crate::domain::error::BackendResult;
use crate::domain::video::Video;

impl Database {
    /// Undeleted videos with an id after `after`, in id order: how rebuilds read the
    /// table without holding a cursor open.
    pub async fn live_videos_after(
        &self,
        after: Option<Uuid>,
        limit: u64,
    ) -> BackendResult<Vec<Video>> {
        let mut q = video::Entity::find().filter(video::Column::DeletedAt.is_null());
        if let Some(after) = after {
            q = q.filter(video::Column::Id.gt(after));
        }
        q.order_by_asc(video::Column::Id)
            .limit(limit)
            .all(&self.conn)
            .await
            .map_err(db_err)?
            .into_iter()
            .map(video_from)
            .collect()
    }

    pub async fn count_live_videos(&self) -> BackendResult<u64> {
        video::Entity::find()
            .filter(video::Column::DeletedAt.is_null())
            .count(&self.conn)
            .await
            .map_err(db_err)
    }

    /// The videos among `ids`, deleted ones included.
    pub async fn videos_by_ids(&self, ids: &[crate::domain::VideoId]) -> BackendResult<Vec<Video>> {
        video::Entity::find()
            .filter(video::Column::Id.is_in(ids.iter().map(|id| id.as_uuid())))
            .all(&self.conn)
            .await
            .map_err(db_err)?
            .into_iter()
            .map(video_from)
            .collect()
    }
}
