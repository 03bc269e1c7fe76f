use std::collections::HashMap;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Alias, Expr, ExprTrait, Func, OnConflict, Query};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder, QuerySelect, Set,
};

use crate::domain::error::BackendResult;
use crate::domain::page::Page;
use crate::domain::video::{
    ListScope, NewVideo, SortKey, Video, VideoChanges, VideoFilter, VideoRepository, VideoSort,
    VideoStatus, VideoVersion, MAX_VERSIONS,
};
use crate::domain::{BackendError, UserId, VideoId, WriteError};
use crate::infra::db::convert::{to_json_list, video_from};
use crate::infra::db::entities::{video, video_version, video_view};
use crate::infra::db::outbox::IndexedWrite;
use crate::infra::db::{db_err, Database};

mod listing;
pub(crate) mod trending;
mod writes;

use self::listing::{after_condition, filtered, key_of, sort_column};
use self::trending::TrendEvent;
pub use self::writes::label_key;
use self::writes::replace_labels;
pub(crate) use self::writes::{add_version, VersionMedia};

pub struct SqlVideoRepository {
    pub db: Database,
}

#[async_trait]
impl VideoRepository for SqlVideoRepository {
    async fn create(&self, new: NewVideo) -> BackendResult<Video> {
        let id = new.id.as_uuid();
        let mut write = IndexedWrite::begin(&self.db).await?;
        let txn = write.txn();
        let model = video::ActiveModel {
            id: Set(id),
            owner_id: Set(new.owner_id.as_uuid()),
            title: Set(new.title),
            description: Set(new.description),
            categories: Set(to_json_list(&new.categories)),
            tags: Set(to_json_list(&new.tags)),
            status: Set(VideoStatus::Draft.as_str().to_owned()),
            visibility: Set(new.visibility.as_str().to_owned()),
            seo_title: Set(new.seo_title),
            seo_description: Set(new.seo_description),
            seo_keywords: Set(to_json_list(&new.seo_keywords)),
            created_at: Set(new.now),
            updated_at: Set(new.now),
            ..Default::default()
        };
        let row = video::Entity::insert(model)
            .exec_with_returning(txn)
            .await
            .map_err(db_err)?;
        replace_labels(txn, id, Some(&new.tags), Some(&new.categories)).await?;
        add_version(txn, id, "created", new.owner_id, new.now, None).await?;
        write.changed(id, new.now).await?;
        write.commit().await?;
        video_from(row)
    }

    async fn by_id(&self, id: VideoId) -> BackendResult<Option<Video>> {
        video::Entity::find_by_id(id.as_uuid())
            .one(&self.db.conn)
            .await
            .map_err(db_err)?
            .map(video_from)
            .transpose()
    }

    async fn update(
        &self,
        id: VideoId,
        changes: VideoChanges,
        changed: &[&str],
        by: UserId,
        now: DateTime<Utc>,
    ) -> Result<Video, WriteError> {
        let uuid = id.as_uuid();
        let mut write = IndexedWrite::begin(&self.db).await?;
        let txn = write.txn();
        let exists = video::Entity::find_by_id(uuid)
            .filter(video::Column::DeletedAt.is_null())
            .count(txn)
            .await
            .map_err(db_err)?;
        if exists == 0 {
            return Err(WriteError::NotFound("video"));
        }
        let mut model = video::ActiveModel {
            id: Set(uuid),
            updated_at: Set(now),
            ..Default::default()
        };
        if let Some(v) = changes.title {
            model.title = Set(v);
        }
        if let Some(v) = changes.description {
            model.description = Set(v);
        }
        if let Some(v) = &changes.categories {
            model.categories = Set(to_json_list(v));
        }
        if let Some(v) = &changes.tags {
            model.tags = Set(to_json_list(v));
        }
        if let Some(v) = changes.visibility {
            model.visibility = Set(v.as_str().to_owned());
        }
        if let Some(v) = changes.seo_title {
            model.seo_title = Set(v);
        }
        if let Some(v) = changes.seo_description {
            model.seo_description = Set(v);
        }
        if let Some(v) = &changes.seo_keywords {
            model.seo_keywords = Set(to_json_list(v));
        }
        let row = model.update(txn).await.map_err(db_err)?;
        replace_labels(
            txn,
            uuid,
            changes.tags.as_deref(),
            changes.categories.as_deref(),
        )
        .await?;
        add_version(txn, uuid, &changed.join(", "), by, now, None).await?;
        write.changed(uuid, now).await?;
        write.commit().await?;
        Ok(video_from(row)?)
    }

    async fn set_published(
        &self,
        id: VideoId,
        published_at: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> Result<Video, WriteError> {
        let model = video::ActiveModel {
            id: Set(id.as_uuid()),
            published_at: Set(published_at),
            updated_at: Set(now),
            ..Default::default()
        };
        let mut write = IndexedWrite::begin(&self.db).await?;
        let txn = write.txn();
        let row = match model.update(txn).await {
            Ok(row) => row,
            Err(sea_orm::DbErr::RecordNotUpdated) => return Err(WriteError::NotFound("video")),
            Err(err) => return Err(db_err(err).into()),
        };
        if published_at.is_some() {
            trending::bump(txn, row.id, TrendEvent::Publish, now).await?;
        }
        write.changed(row.id, now).await?;
        write.commit().await?;
        Ok(video_from(row)?)
    }

    async fn soft_delete(&self, id: VideoId, now: DateTime<Utc>) -> Result<(), WriteError> {
        let mut write = IndexedWrite::begin(&self.db).await?;
        let txn = write.txn();
        let res = video::Entity::update_many()
            .col_expr(video::Column::DeletedAt, Expr::value(now))
            .col_expr(video::Column::UpdatedAt, Expr::value(now))
            .filter(video::Column::Id.eq(id.as_uuid()))
            .filter(video::Column::DeletedAt.is_null())
            .exec(txn)
            .await
            .map_err(db_err)?;
        if res.rows_affected == 0 {
            return Err(WriteError::NotFound("video"));
        }
        write.changed(id.as_uuid(), now).await?;
        write.commit().await?;
        Ok(())
    }

    async fn list(
        &self,
        scope: ListScope,
        filter: &VideoFilter,
        sort: VideoSort,
        after: Option<SortKey>,
        first: u64,
    ) -> BackendResult<Page<Video, SortKey>> {
        if sort == VideoSort::Trending {
            return Err(BackendError::internal(anyhow::anyhow!(
                "a TRENDING listing reads its ranking (VideoRepository::trending)"
            )));
        }
        let (col, order) = sort_column(sort);
        let mut q = filtered(scope, filter);
        if let Some(key) = &after {
            q = q.filter(after_condition(sort, key)?);
        }
        let rows = q
            .order_by(col, order.clone())
            .order_by(video::Column::Id, order)
            .limit(first + 1)
            .all(&self.db.conn)
            .await
            .map_err(db_err)?;
        let videos = rows
            .into_iter()
            .map(video_from)
            .collect::<BackendResult<Vec<_>>>()?;
        Ok(Page::from_rows(videos, first, after.is_some(), |v| {
            key_of(sort, v)
        }))
    }

    async fn count(&self, scope: ListScope, filter: &VideoFilter) -> BackendResult<u64> {
        filtered(scope, filter)
            .count(&self.db.conn)
            .await
            .map_err(db_err)
    }

    async fn versions(
        &self,
        ids: &[VideoId],
    ) -> BackendResult<HashMap<VideoId, Vec<VideoVersion>>> {
        // Versions are numbered 1, 2, 3... per video, so "the newest MAX" is every version
        // within MAX of the video's highest: one indexed query, bounded per video.
        let newer = Alias::new("newer");
        let highest = Query::select()
            .expr(Func::max(Expr::col((
                newer.clone(),
                video_version::Column::Version,
            ))))
            .from_as(video_version::Entity, newer.clone())
            .and_where(
                Expr::col((newer, video_version::Column::VideoId))
                    .equals((video_version::Entity, video_version::Column::VideoId)),
            )
            .to_owned();
        let rows = video_version::Entity::find()
            .filter(video_version::Column::VideoId.is_in(ids.iter().map(VideoId::as_uuid)))
            .filter(
                Expr::col((video_version::Entity, video_version::Column::Version))
                    .add(MAX_VERSIONS)
                    .gt(Expr::SubQuery(None, Box::new(highest.into()))),
            )
            .order_by_asc(video_version::Column::VideoId)
            .order_by_asc(video_version::Column::Version)
            .all(&self.db.conn)
            .await
            .map_err(db_err)?;
        let mut out: HashMap<VideoId, Vec<VideoVersion>> = HashMap::new();
        for m in rows {
            out.entry(VideoId::from_uuid(m.video_id))
                .or_default()
                .push(VideoVersion {
                    version: m.version,
                    size_bytes: m.size_bytes,
                    changes: m.changes,
                    created_at: m.created_at,
                });
        }
        Ok(out)
    }

    async fn by_ids(&self, ids: &[VideoId]) -> BackendResult<Vec<Video>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        video::Entity::find()
            .filter(video::Column::Id.is_in(ids.iter().map(VideoId::as_uuid)))
            .all(&self.db.conn)
            .await
            .map_err(db_err)?
            .into_iter()
            .map(video_from)
            .collect()
    }

    async fn record_view(
        &self,
        id: VideoId,
        viewer_key: &str,
        now: DateTime<Utc>,
        window_start: DateTime<Utc>,
    ) -> Result<(i64, i64), WriteError> {
        let uuid = id.as_uuid();
        let mut write = IndexedWrite::begin(&self.db).await?;
        // Inserted, or updated because the last counted view is older than the window:
        // either way exactly one row is affected and the view counts.
        let upsert = Query::insert()
            .into_table(video_view::Entity)
            .columns([
                video_view::Column::VideoId,
                video_view::Column::ViewerKey,
                video_view::Column::CountedAt,
            ])
            .values([uuid.into(), viewer_key.into(), now.into()])
            .map_err(BackendError::internal)?
            .on_conflict(
                OnConflict::columns([video_view::Column::VideoId, video_view::Column::ViewerKey])
                    .update_column(video_view::Column::CountedAt)
                    .action_and_where(
                        Expr::col((video_view::Entity, video_view::Column::CountedAt))
                            .lt(window_start),
                    )
                    .to_owned(),
            )
            .to_owned();
        let counted = write
            .txn()
            .execute(&upsert)
            .await
            .map_err(db_err)?
            .rows_affected()
            > 0;
        if counted {
            video::Entity::update_many()
                .col_expr(
                    video::Column::ViewCount,
                    Expr::col(video::Column::ViewCount).add(1),
                )
                .filter(video::Column::Id.eq(uuid))
                .exec(write.txn())
                .await
                .map_err(db_err)?;
            trending::bump(write.txn(), uuid, TrendEvent::View, now).await?;
            write.changed(uuid, now).await?;
        }
        let counts: Option<(i64, i64)> = video::Entity::find_by_id(uuid)
            .filter(video::Column::DeletedAt.is_null())
            .select_only()
            .columns([video::Column::ViewCount, video::Column::LikeCount])
            .into_tuple()
            .one(write.txn())
            .await
            .map_err(db_err)?;
        write.commit().await?;
        counts.ok_or(WriteError::NotFound("video"))
    }

    async fn build_trending(&self, generation: i64, now: DateTime<Utc>) -> BackendResult<bool> {
        trending::build(&self.db, generation, now).await
    }

    async fn score_unscored(&self, now: DateTime<Utc>) -> BackendResult<u64> {
        trending::score_unscored(&self.db, now).await
    }

    async fn latest_trending(&self) -> BackendResult<Option<i64>> {
        trending::latest(&self.db).await
    }

    async fn trending_exists(&self, generation: i64) -> BackendResult<bool> {
        trending::exists(&self.db, generation).await
    }

    async fn trending(
        &self,
        generation: i64,
        filter: &VideoFilter,
        after: Option<i64>,
        first: u64,
    ) -> BackendResult<Page<Video, SortKey>> {
        trending::page(&self.db, generation, filter, after, first).await
    }

    async fn count_trending(&self, generation: i64, filter: &VideoFilter) -> BackendResult<u64> {
        trending::count(&self.db, generation, filter).await
    }

    async fn prune_trending(&self, before: DateTime<Utc>) -> BackendResult<u64> {
        trending::prune(&self.db, before).await
    }
}
