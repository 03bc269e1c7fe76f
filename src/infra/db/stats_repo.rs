//! Platform counters for the dashboard, each one indexed count.

use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect};

use super::entities::{favorite, user, video, video_view};
use super::{db_err, Database};
use crate::domain::dashboard::{PlatformCounts, StatsRepository};
use crate::domain::error::BackendResult;
use crate::domain::video::VideoStatus;
use crate::domain::VideoId;

pub struct SqlStatsRepository {
    pub db: Database,
}

#[async_trait]
impl StatsRepository for SqlStatsRepository {
    async fn platform_counts(&self, now: DateTime<Utc>, top: u64) -> BackendResult<PlatformCounts> {
        let conn = &self.db.conn;
        let live = || video::Entity::find().filter(video::Column::DeletedAt.is_null());
        let minute_ago = now - Duration::minutes(1);
        let videos_total = live().count(conn).await.map_err(db_err)? as i64;
        let videos_processing = live()
            .filter(video::Column::Status.eq(VideoStatus::Processing.as_str()))
            .count(conn)
            .await
            .map_err(db_err)? as i64;
        let users_total = user::Entity::find().count(conn).await.map_err(db_err)? as i64;
        let views_last_minute = video_view::Entity::find()
            .filter(video_view::Column::CountedAt.gt(minute_ago))
            .count(conn)
            .await
            .map_err(db_err)? as i64;
        let favorites_last_minute = favorite::Entity::find()
            .filter(favorite::Column::CreatedAt.gt(minute_ago))
            .count(conn)
            .await
            .map_err(db_err)? as i64;
        let top_videos: Vec<(uuid::Uuid, i64)> = video_view::Entity::find()
            .select_only()
            .column(video_view::Column::VideoId)
            .column_as(video_view::Column::VideoId.count(), "views")
            .filter(video_view::Column::CountedAt.gt(now - Duration::minutes(10)))
            .group_by(video_view::Column::VideoId)
            .order_by_desc(video_view::Column::VideoId.count())
            .limit(top)
            .into_tuple()
            .all(conn)
            .await
            .map_err(db_err)?;
        Ok(PlatformCounts {
            videos_total,
            videos_processing,
            users_total,
            views_last_minute,
            favorites_last_minute,
            top_videos: top_videos
                .into_iter()
                .map(|(id, _)| VideoId::from_uuid(id))
                .collect(),
        })
    }
}
