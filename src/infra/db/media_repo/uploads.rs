//! Upload tickets, accepted uploads and released objects.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseTransaction, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect, Set,
};

use super::{job_from, release, upload_from, SqlMediaRepository};
use crate::domain::error::BackendResult;
use crate::domain::media::{
    AcceptedUpload, Job, JobStatus, MediaChangeError, MediaKind, NewJob, NewUpload, Upload,
    UploadRepository,
};
use crate::domain::video::{Video, VideoStatus};
use crate::domain::{UploadId, VideoId};
use crate::infra::db::convert::video_from;
use crate::infra::db::db_err;
use crate::infra::db::entities::{media_job, released_media, upload, video};
use crate::infra::db::outbox::IndexedWrite;
use crate::infra::db::video_repo::{add_version, VersionMedia};

#[async_trait]
impl UploadRepository for SqlMediaRepository {
    async fn create_upload(&self, u: NewUpload) -> BackendResult<()> {
        upload::Entity::insert(upload::ActiveModel {
            id: Set(u.id.as_uuid()),
            video_id: Set(u.video_id.as_uuid()),
            owner_id: Set(u.owner_id.as_uuid()),
            kind: Set(u.kind.as_str().to_owned()),
            object_key: Set(u.object_key),
            filename: Set(u.filename),
            declared_type: Set(u.declared_type),
            declared_bytes: Set(u.declared_bytes),
            max_bytes: Set(u.max_bytes),
            expires_at: Set(u.expires_at),
            completed_at: Set(u.completed_at),
            created_at: Set(crate::domain::clock::now()),
        })
        .exec_without_returning(&self.db.conn)
        .await
        .map_err(db_err)?;
        Ok(())
    }

    async fn upload(&self, id: UploadId) -> BackendResult<Option<Upload>> {
        upload::Entity::find_by_id(id.as_uuid())
            .one(&self.db.conn)
            .await
            .map_err(db_err)?
            .map(upload_from)
            .transpose()
    }

    async fn accept_upload(
        &self,
        a: AcceptedUpload,
    ) -> Result<(Video, Option<Job>), MediaChangeError> {
        let u = &a.upload;
        let mut write = IndexedWrite::begin(&self.db).await?;
        let txn = write.txn();
        let claimed = upload::Entity::update_many()
            .col_expr(upload::Column::CompletedAt, Expr::value(a.now))
            .filter(upload::Column::Id.eq(u.id.as_uuid()))
            .filter(upload::Column::CompletedAt.is_null())
            .exec(txn)
            .await
            .map_err(db_err)?;
        if claimed.rows_affected == 0 {
            return Err(MediaChangeError::Conflict(
                "this upload was already completed; request a new ticket",
            ));
        }
        let current = video::Entity::find_by_id(u.video_id.as_uuid())
            .one(txn)
            .await
            .map_err(db_err)?
            .filter(|v| v.deleted_at.is_none())
            .ok_or(MediaChangeError::NotFound("video"))?;
        let row = point_video_at(txn, &a, current).await?;
        if u.kind == MediaKind::Video {
            retire_jobs(txn, u.video_id, a.now).await?;
        }
        let job = match &a.job {
            Some(new) => Some(insert_job(txn, u, new, a.now).await?),
            None => None,
        };
        write.changed(row.id, a.now).await?;
        write.commit().await?;
        Ok((video_from(row)?, job))
    }

    async fn abandoned_uploads(
        &self,
        before: DateTime<Utc>,
        limit: u64,
    ) -> BackendResult<Vec<Upload>> {
        upload::Entity::find()
            .filter(upload::Column::CompletedAt.is_null())
            .filter(upload::Column::ExpiresAt.lt(before))
            .order_by_asc(upload::Column::ExpiresAt)
            .limit(limit)
            .all(&self.db.conn)
            .await
            .map_err(db_err)?
            .into_iter()
            .map(upload_from)
            .collect()
    }

    async fn delete_upload(&self, id: UploadId) -> BackendResult<()> {
        upload::Entity::delete_many()
            .filter(upload::Column::Id.eq(id.as_uuid()))
            .filter(upload::Column::CompletedAt.is_null())
            .exec(&self.db.conn)
            .await
            .map_err(db_err)?;
        Ok(())
    }

    async fn released_before(
        &self,
        before: DateTime<Utc>,
        limit: u64,
    ) -> BackendResult<Vec<String>> {
        Ok(released_media::Entity::find()
            .filter(released_media::Column::ReleasedAt.lt(before))
            .order_by_asc(released_media::Column::ReleasedAt)
            .limit(limit)
            .all(&self.db.conn)
            .await
            .map_err(db_err)?
            .into_iter()
            .map(|r| r.object_key)
            .collect())
    }

    async fn forget_released(&self, key: &str) -> BackendResult<()> {
        released_media::Entity::delete_by_id(key.to_owned())
            .exec(&self.db.conn)
            .await
            .map_err(db_err)?;
        Ok(())
    }
}

/// Records a version for the accepted object, releases the object it replaces and points
/// the video at it (new video media: PROCESSING, facts unknown until the job runs).
async fn point_video_at(
    txn: &DatabaseTransaction,
    a: &AcceptedUpload,
    current: video::Model,
) -> BackendResult<video::Model> {
    let u = &a.upload;
    let what = match u.kind {
        MediaKind::Video => "media",
        MediaKind::Thumbnail => "thumbnail",
    };
    let changes = format!("{what}: {} ({} bytes)", u.filename, a.size_bytes);
    add_version(
        txn,
        current.id,
        &changes,
        a.by,
        a.now,
        Some(VersionMedia {
            key: &u.object_key,
            content_type: &a.content_type,
            size_bytes: a.size_bytes,
        }),
    )
    .await?;
    let replaced = match u.kind {
        MediaKind::Thumbnail => current.thumbnail_key.clone(),
        MediaKind::Video => current.media_key.clone(),
    };
    if let Some(old) = replaced.filter(|k| *k != u.object_key) {
        release(txn, old, a.now).await?;
    }
    let mut model: video::ActiveModel = current.into();
    model.updated_at = Set(a.now);
    match u.kind {
        MediaKind::Thumbnail => model.thumbnail_key = Set(Some(u.object_key.clone())),
        MediaKind::Video => {
            model.media_key = Set(Some(u.object_key.clone()));
            model.size_bytes = Set(Some(a.size_bytes));
            model.format = Set(Some(a.content_type.clone()));
            model.duration_seconds = Set(None);
            model.width = Set(None);
            model.height = Set(None);
            model.status = Set(VideoStatus::Processing.as_str().to_owned());
            model.processing_stage = Set(Some("queued".into()));
            model.processing_progress = Set(0);
            model.processing_error = Set(None);
            model.processing_updated_at = Set(Some(a.now));
        }
    }
    model.update(txn).await.map_err(db_err)
}

/// New media: unfinished jobs on the video's old media stop counting.
async fn retire_jobs<C: ConnectionTrait>(
    conn: &C,
    video_id: VideoId,
    now: DateTime<Utc>,
) -> BackendResult<()> {
    media_job::Entity::update_many()
        .col_expr(
            media_job::Column::Status,
            Expr::value(JobStatus::Dead.as_str()),
        )
        .col_expr(
            media_job::Column::Error,
            Expr::value("replaced by a newer upload"),
        )
        .col_expr(media_job::Column::UpdatedAt, Expr::value(now))
        .col_expr(media_job::Column::FinishedAt, Expr::value(now))
        .filter(media_job::Column::VideoId.eq(video_id.as_uuid()))
        .filter(media_job::Column::Status.is_in([
            JobStatus::Queued.as_str(),
            JobStatus::Running.as_str(),
            JobStatus::Failed.as_str(),
        ]))
        .exec(conn)
        .await
        .map_err(db_err)?;
    Ok(())
}

/// The processing job of an accepted video upload, QUEUED.
async fn insert_job(
    txn: &DatabaseTransaction,
    u: &Upload,
    new: &NewJob,
    now: DateTime<Utc>,
) -> BackendResult<Job> {
    let job = media_job::ActiveModel {
        id: Set(new.id.as_uuid()),
        kind: Set(new.kind.to_owned()),
        video_id: Set(u.video_id.as_uuid()),
        owner_id: Set(u.owner_id.as_uuid()),
        object_key: Set(u.object_key.clone()),
        status: Set(JobStatus::Queued.as_str().to_owned()),
        attempts: Set(0),
        max_attempts: Set(new.max_attempts),
        stage: Set(Some("queued".into())),
        progress: Set(0),
        error: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
        started_at: Set(None),
        finished_at: Set(None),
    }
    .insert(txn)
    .await
    .map_err(db_err)?;
    job_from(job)
}
