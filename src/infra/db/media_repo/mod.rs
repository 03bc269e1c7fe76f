//! Uploads and job records (`uploads`, `media_jobs`), and the video fields they drive:
//! [`UploadRepository`](crate::domain::media::UploadRepository) in `uploads.rs`,
//! [`JobRepository`](crate::domain::media::JobRepository) in `jobs.rs`.

mod jobs;
mod uploads;

use chrono::{DateTime, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};

use super::entities::{media_job, released_media, upload, video};
use super::{db_err, Database};
use crate::domain::error::BackendResult;
use crate::domain::media::{Job, JobStatus, MediaKind, Upload};
use crate::domain::video::VideoStatus;
use crate::domain::{BackendError, JobId, UploadId, UserId, VideoId};

pub struct SqlMediaRepository {
    pub db: Database,
}

fn upload_from(m: upload::Model) -> BackendResult<Upload> {
    Ok(Upload {
        id: UploadId::from_uuid(m.id),
        video_id: VideoId::from_uuid(m.video_id),
        owner_id: UserId::from_uuid(m.owner_id),
        kind: MediaKind::parse(&m.kind).ok_or_else(|| {
            BackendError::internal(anyhow::anyhow!("corrupt upload row: kind {:?}", m.kind))
        })?,
        object_key: m.object_key,
        filename: m.filename,
        declared_type: m.declared_type,
        declared_bytes: m.declared_bytes,
        max_bytes: m.max_bytes,
        expires_at: m.expires_at,
        completed_at: m.completed_at,
    })
}

fn job_from(m: media_job::Model) -> BackendResult<Job> {
    Ok(Job {
        id: JobId::from_uuid(m.id),
        kind: m.kind,
        video_id: VideoId::from_uuid(m.video_id),
        owner_id: UserId::from_uuid(m.owner_id),
        object_key: m.object_key,
        status: m.status.parse().map_err(|_| {
            BackendError::internal(anyhow::anyhow!("corrupt job row: status {:?}", m.status))
        })?,
        attempts: m.attempts,
        max_attempts: m.max_attempts,
        stage: m.stage,
        progress: m.progress,
        error: m.error,
        created_at: m.created_at,
        updated_at: m.updated_at,
        started_at: m.started_at,
        finished_at: m.finished_at,
    })
}

/// Sets the processing fields of a job's video, unless newer media replaced the media
/// the job works on (then that media's own job owns these fields).
async fn set_video_processing<C: ConnectionTrait>(
    conn: &C,
    job: &Job,
    status: Option<VideoStatus>,
    stage: &str,
    progress: i32,
    error: Option<&str>,
    now: DateTime<Utc>,
) -> BackendResult<()> {
    let mut update = video::Entity::update_many()
        .col_expr(video::Column::ProcessingStage, Expr::value(stage))
        .col_expr(video::Column::ProcessingProgress, Expr::value(progress))
        .col_expr(
            video::Column::ProcessingError,
            Expr::value(error.map(str::to_owned)),
        )
        .col_expr(video::Column::ProcessingUpdatedAt, Expr::value(now))
        .col_expr(video::Column::UpdatedAt, Expr::value(now));
    if let Some(status) = status {
        update = update.col_expr(video::Column::Status, Expr::value(status.as_str()));
    }
    update
        .filter(video::Column::Id.eq(job.video_id.as_uuid()))
        .filter(video::Column::MediaKey.eq(job.object_key.as_str()))
        .exec(conn)
        .await
        .map_err(db_err)?;
    Ok(())
}

/// The job's row as this run of it left it: RUNNING with this run's attempt number. A
/// run that lost the job (taken over after a crash, or superseded) changes nothing.
fn this_run(job: &Job) -> sea_orm::Condition {
    sea_orm::Condition::all()
        .add(media_job::Column::Id.eq(job.id.as_uuid()))
        .add(media_job::Column::Status.eq(JobStatus::Running.as_str()))
        .add(media_job::Column::Attempts.eq(job.attempts))
}

/// Records, inside the replacing transaction, that nothing points at `key` any more.
async fn release<C: ConnectionTrait>(
    conn: &C,
    key: String,
    now: DateTime<Utc>,
) -> BackendResult<()> {
    let insert = sea_orm::sea_query::Query::insert()
        .into_table(released_media::Entity)
        .columns([
            released_media::Column::ObjectKey,
            released_media::Column::ReleasedAt,
        ])
        .values([key.into(), now.into()])
        .map_err(BackendError::internal)?
        .on_conflict(
            sea_orm::sea_query::OnConflict::column(released_media::Column::ObjectKey)
                .do_nothing()
                .to_owned(),
        )
        .to_owned();
    conn.execute(&insert).await.map_err(db_err)?;
    Ok(())
}
