//! Uploads and job records (`uploads`, `media_jobs`), and the video fields they drive.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, Set,
};

use super::convert::video_from;
use super::entities::{media_job, released_media, upload, video};
use super::video_repo::{add_version, VersionMedia};
use super::{db_err, outbox, Database};
use crate::domain::error::DomainResult;
use crate::domain::media::{
    AcceptedUpload, Job, JobStatus, MediaFacts, MediaKind, MediaRepository, NewUpload,
    QueueMetrics, Upload,
};
use crate::domain::video::{Video, VideoStatus};
use crate::domain::{DomainError, JobId, UploadId, UserId, VideoId};

pub struct SqlMediaRepository {
    pub db: Database,
}

fn upload_from(m: upload::Model) -> DomainResult<Upload> {
    Ok(Upload {
        id: UploadId::from_uuid(m.id),
        video_id: VideoId::from_uuid(m.video_id),
        owner_id: UserId::from_uuid(m.owner_id),
        kind: MediaKind::parse(&m.kind).ok_or_else(|| {
            DomainError::internal(anyhow::anyhow!("corrupt upload row: kind {:?}", m.kind))
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

fn job_from(m: media_job::Model) -> DomainResult<Job> {
    Ok(Job {
        id: JobId::from_uuid(m.id),
        kind: m.kind,
        video_id: VideoId::from_uuid(m.video_id),
        owner_id: UserId::from_uuid(m.owner_id),
        object_key: m.object_key,
        status: m
            .status
            .parse()
            .map_err(|e: String| DomainError::internal(anyhow::anyhow!("corrupt job row: {e}")))?,
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
) -> DomainResult<()> {
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

impl SqlMediaRepository {
    async fn job_model(&self, id: JobId) -> DomainResult<Option<media_job::Model>> {
        media_job::Entity::find_by_id(id.as_uuid())
            .one(&self.db.conn)
            .await
            .map_err(db_err)
    }
}

/// Records, inside the replacing transaction, that nothing points at `key` any more.
async fn release<C: sea_orm::ConnectionTrait>(
    conn: &C,
    key: String,
    now: DateTime<Utc>,
) -> DomainResult<()> {
    let insert = sea_orm::sea_query::Query::insert()
        .into_table(released_media::Entity)
        .columns([
            released_media::Column::ObjectKey,
            released_media::Column::ReleasedAt,
        ])
        .values([key.into(), now.into()])
        .map_err(DomainError::internal)?
        .on_conflict(
            sea_orm::sea_query::OnConflict::column(released_media::Column::ObjectKey)
                .do_nothing()
                .to_owned(),
        )
        .to_owned();
    conn.execute(&insert).await.map_err(db_err)?;
    Ok(())
}

#[async_trait]
impl MediaRepository for SqlMediaRepository {
    async fn create_upload(&self, u: NewUpload) -> DomainResult<()> {
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

    async fn upload(&self, id: UploadId) -> DomainResult<Option<Upload>> {
        upload::Entity::find_by_id(id.as_uuid())
            .one(&self.db.conn)
            .await
            .map_err(db_err)?
            .map(upload_from)
            .transpose()
    }

    async fn accept_upload(&self, a: AcceptedUpload) -> DomainResult<(Video, Option<Job>)> {
        let u = &a.upload;
        let txn = self.db.write().await.map_err(db_err)?;
        let claimed = upload::Entity::update_many()
            .col_expr(upload::Column::CompletedAt, Expr::value(a.now))
            .filter(upload::Column::Id.eq(u.id.as_uuid()))
            .filter(upload::Column::CompletedAt.is_null())
            .exec(&txn)
            .await
            .map_err(db_err)?;
        if claimed.rows_affected == 0 {
            return Err(DomainError::Conflict(
                "this upload was already completed; request a new ticket".into(),
            ));
        }
        let current = video::Entity::find_by_id(u.video_id.as_uuid())
            .one(&txn)
            .await
            .map_err(db_err)?
            .filter(|v| v.deleted_at.is_none())
            .ok_or(DomainError::NotFound("video"))?;
        let what = match u.kind {
            MediaKind::Video => "media",
            MediaKind::Thumbnail => "thumbnail",
        };
        let changes = format!("{what}: {} ({} bytes)", u.filename, a.size_bytes);
        add_version(
            &txn,
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
            release(&txn, old, a.now).await?;
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
        let row = model.update(&txn).await.map_err(db_err)?;
        if u.kind == MediaKind::Video {
            // New media: unfinished jobs on the old media stop counting.
            media_job::Entity::update_many()
                .col_expr(
                    media_job::Column::Status,
                    Expr::value(JobStatus::Dead.as_str()),
                )
                .col_expr(
                    media_job::Column::Error,
                    Expr::value("replaced by a newer upload"),
                )
                .col_expr(media_job::Column::UpdatedAt, Expr::value(a.now))
                .col_expr(media_job::Column::FinishedAt, Expr::value(a.now))
                .filter(media_job::Column::VideoId.eq(u.video_id.as_uuid()))
                .filter(media_job::Column::Status.is_in([
                    JobStatus::Queued.as_str(),
                    JobStatus::Running.as_str(),
                    JobStatus::Failed.as_str(),
                ]))
                .exec(&txn)
                .await
                .map_err(db_err)?;
        }
        let job = match &a.job {
            Some(new) => {
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
                    created_at: Set(a.now),
                    updated_at: Set(a.now),
                    started_at: Set(None),
                    finished_at: Set(None),
                }
                .insert(&txn)
                .await
                .map_err(db_err)?;
                Some(job_from(job)?)
            }
            None => None,
        };
        outbox::push(&txn, Some(row.id), a.now)
            .await
            .map_err(db_err)?;
        txn.commit().await.map_err(db_err)?;
        self.db.outbox_written();
        Ok((video_from(row)?, job))
    }

    async fn job(&self, id: JobId) -> DomainResult<Option<Job>> {
        self.job_model(id).await?.map(job_from).transpose()
    }

    async fn latest_job(&self, video_id: VideoId) -> DomainResult<Option<Job>> {
        media_job::Entity::find()
            .filter(media_job::Column::VideoId.eq(video_id.as_uuid()))
            .order_by_desc(media_job::Column::CreatedAt)
            .one(&self.db.conn)
            .await
            .map_err(db_err)?
            .map(job_from)
            .transpose()
    }

    async fn start_attempt(&self, id: JobId, now: DateTime<Utc>) -> DomainResult<Option<Job>> {
        let txn = self.db.write().await.map_err(db_err)?;
        let res = media_job::Entity::update_many()
            .col_expr(
                media_job::Column::Status,
                Expr::value(JobStatus::Running.as_str()),
            )
            .col_expr(
                media_job::Column::Attempts,
                Expr::col(media_job::Column::Attempts).add(1),
            )
            .col_expr(media_job::Column::StartedAt, Expr::value(now))
            .col_expr(media_job::Column::UpdatedAt, Expr::value(now))
            .col_expr(media_job::Column::Stage, Expr::value("probe"))
            .col_expr(media_job::Column::Progress, Expr::value(0))
            .filter(media_job::Column::Id.eq(id.as_uuid()))
            .filter(media_job::Column::Status.is_in([
                JobStatus::Queued.as_str(),
                JobStatus::Failed.as_str(),
                JobStatus::Running.as_str(),
            ]))
            .exec(&txn)
            .await
            .map_err(db_err)?;
        if res.rows_affected == 0 {
            return Ok(None);
        }
        let job = media_job::Entity::find_by_id(id.as_uuid())
            .one(&txn)
            .await
            .map_err(db_err)?
            .map(job_from)
            .transpose()?;
        if let Some(job) = &job {
            set_video_processing(
                &txn,
                job,
                Some(VideoStatus::Processing),
                "probe",
                0,
                None,
                now,
            )
            .await?;
        }
        txn.commit().await.map_err(db_err)?;
        Ok(job)
    }

    async fn progress(
        &self,
        job: &Job,
        stage: &str,
        progress: i32,
        now: DateTime<Utc>,
    ) -> DomainResult<()> {
        let txn = self.db.write().await.map_err(db_err)?;
        let res = media_job::Entity::update_many()
            .col_expr(media_job::Column::Stage, Expr::value(stage))
            .col_expr(media_job::Column::Progress, Expr::value(progress))
            .col_expr(media_job::Column::UpdatedAt, Expr::value(now))
            .filter(this_run(job))
            .exec(&txn)
            .await
            .map_err(db_err)?;
        if res.rows_affected > 0 {
            set_video_processing(&txn, job, None, stage, progress, None, now).await?;
        }
        txn.commit().await.map_err(db_err)
    }

    async fn succeed(
        &self,
        job: &Job,
        facts: MediaFacts,
        thumbnail_key: Option<String>,
        note: Option<String>,
        now: DateTime<Utc>,
    ) -> DomainResult<()> {
        let txn = self.db.write().await.map_err(db_err)?;
        let res = media_job::Entity::update_many()
            .col_expr(
                media_job::Column::Status,
                Expr::value(JobStatus::Succeeded.as_str()),
            )
            .col_expr(media_job::Column::Stage, Expr::value("done"))
            .col_expr(media_job::Column::Progress, Expr::value(100))
            .col_expr(
                media_job::Column::Error,
                Expr::value(Option::<String>::None),
            )
            .col_expr(media_job::Column::UpdatedAt, Expr::value(now))
            .col_expr(media_job::Column::FinishedAt, Expr::value(now))
            .filter(this_run(job))
            .exec(&txn)
            .await
            .map_err(db_err)?;
        // A thumbnail this run generated but that will not be used goes to the sweeper.
        let unused = |txn| {
            let generated = thumbnail_key.clone();
            async move {
                match generated {
                    Some(key) => release(txn, key, now).await,
                    None => Ok(()),
                }
            }
        };
        if res.rows_affected == 0 {
            // This run lost the job: its outcome is not the job's.
            unused(&txn).await?;
            return txn.commit().await.map_err(db_err);
        }
        let Some(current) = video::Entity::find_by_id(job.video_id.as_uuid())
            .one(&txn)
            .await
            .map_err(db_err)?
        else {
            unused(&txn).await?;
            return txn.commit().await.map_err(db_err);
        };
        // A newer upload replaced this media while the job ran: leave the video to that
        // upload's job.
        if current.media_key.as_deref() == Some(job.object_key.as_str()) {
            let keep_thumbnail = current.thumbnail_key.is_some()
                && !current
                    .thumbnail_key
                    .as_deref()
                    .is_some_and(|k| k.contains("/auto-"));
            // Whichever thumbnail is not kept is released: the generated one when the
            // owner's stays, else the one it replaces.
            let dropped = match (&thumbnail_key, keep_thumbnail) {
                (Some(generated), true) => Some(generated.clone()),
                (Some(generated), false) => {
                    current.thumbnail_key.clone().filter(|old| old != generated)
                }
                (None, _) => None,
            };
            if let Some(old) = dropped {
                release(&txn, old, now).await?;
            }
            let mut model: video::ActiveModel = current.into();
            model.status = Set(VideoStatus::Ready.as_str().to_owned());
            model.duration_seconds = Set(facts.duration_seconds);
            model.width = Set(facts.width);
            model.height = Set(facts.height);
            if facts.format.is_some() {
                model.format = Set(facts.format);
            }
            model.size_bytes = Set(Some(facts.size_bytes));
            if !keep_thumbnail && thumbnail_key.is_some() {
                model.thumbnail_key = Set(thumbnail_key);
            }
            model.processing_stage = Set(Some("done".into()));
            model.processing_progress = Set(100);
            model.processing_error = Set(None);
            model.processing_note = Set(note);
            model.processing_updated_at = Set(Some(now));
            model.updated_at = Set(now);
            model.update(&txn).await.map_err(db_err)?;
        } else {
            // Newer media replaced this job's while it ran.
            unused(&txn).await?;
        }
        txn.commit().await.map_err(db_err)
    }

    async fn fail(
        &self,
        job: &Job,
        status: JobStatus,
        error: &str,
        now: DateTime<Utc>,
    ) -> DomainResult<()> {
        let txn = self.db.write().await.map_err(db_err)?;
        let mut update = media_job::Entity::update_many()
            .col_expr(media_job::Column::Status, Expr::value(status.as_str()))
            .col_expr(media_job::Column::Error, Expr::value(error))
            .col_expr(media_job::Column::UpdatedAt, Expr::value(now));
        if status == JobStatus::Dead {
            update = update.col_expr(media_job::Column::FinishedAt, Expr::value(now));
        }
        let res = update
            .filter(this_run(job))
            .exec(&txn)
            .await
            .map_err(db_err)?;
        if res.rows_affected > 0 {
            let (video_status, stage) = if status == JobStatus::Dead {
                (VideoStatus::Failed, "failed")
            } else {
                (VideoStatus::Processing, "retrying")
            };
            set_video_processing(
                &txn,
                job,
                Some(video_status),
                stage,
                job.progress,
                Some(error),
                now,
            )
            .await?;
        }
        txn.commit().await.map_err(db_err)
    }

    async fn requeue(&self, id: JobId, now: DateTime<Utc>) -> DomainResult<Job> {
        let txn = self.db.write().await.map_err(db_err)?;
        let res = media_job::Entity::update_many()
            .col_expr(
                media_job::Column::Status,
                Expr::value(JobStatus::Queued.as_str()),
            )
            .col_expr(media_job::Column::Attempts, Expr::value(0))
            .col_expr(media_job::Column::Stage, Expr::value("queued"))
            .col_expr(media_job::Column::Progress, Expr::value(0))
            .col_expr(
                media_job::Column::Error,
                Expr::value(Option::<String>::None),
            )
            .col_expr(media_job::Column::UpdatedAt, Expr::value(now))
            .col_expr(
                media_job::Column::FinishedAt,
                Expr::value(Option::<DateTime<Utc>>::None),
            )
            .filter(media_job::Column::Id.eq(id.as_uuid()))
            .filter(media_job::Column::Status.eq(JobStatus::Dead.as_str()))
            .exec(&txn)
            .await
            .map_err(db_err)?;
        if res.rows_affected == 0 {
            return Err(DomainError::Conflict(
                "the job is queued, running, waiting for its next attempt or finished; only a job out of attempts can be retried".into(),
            ));
        }
        let job = media_job::Entity::find_by_id(id.as_uuid())
            .one(&txn)
            .await
            .map_err(db_err)?
            .ok_or(DomainError::NotFound("job"))
            .and_then(job_from)?;
        set_video_processing(
            &txn,
            &job,
            Some(VideoStatus::Processing),
            "queued",
            0,
            None,
            now,
        )
        .await?;
        txn.commit().await.map_err(db_err)?;
        Ok(job)
    }

    async fn stalled_since(&self, before: DateTime<Utc>, limit: u64) -> DomainResult<Vec<Job>> {
        media_job::Entity::find()
            .filter(media_job::Column::Status.is_in([
                JobStatus::Queued.as_str(),
                JobStatus::Failed.as_str(),
                JobStatus::Running.as_str(),
            ]))
            .filter(media_job::Column::UpdatedAt.lt(before))
            .order_by_asc(media_job::Column::UpdatedAt)
            .limit(limit)
            .all(&self.db.conn)
            .await
            .map_err(db_err)?
            .into_iter()
            .map(job_from)
            .collect()
    }

    async fn requeue_stalled(&self, job: &Job, now: DateTime<Utc>) -> DomainResult<Option<Job>> {
        let res = media_job::Entity::update_many()
            .col_expr(
                media_job::Column::Status,
                Expr::value(JobStatus::Queued.as_str()),
            )
            .col_expr(media_job::Column::UpdatedAt, Expr::value(now))
            .filter(media_job::Column::Id.eq(job.id.as_uuid()))
            .filter(media_job::Column::Status.eq(job.status.as_str()))
            .filter(media_job::Column::UpdatedAt.eq(job.updated_at))
            .exec(&self.db.conn)
            .await
            .map_err(db_err)?;
        if res.rows_affected == 0 {
            return Ok(None);
        }
        self.job(job.id).await
    }

    async fn abandoned_uploads(
        &self,
        before: DateTime<Utc>,
        limit: u64,
    ) -> DomainResult<Vec<Upload>> {
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

    async fn delete_upload(&self, id: UploadId) -> DomainResult<()> {
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
    ) -> DomainResult<Vec<String>> {
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

    async fn forget_released(&self, key: &str) -> DomainResult<()> {
        released_media::Entity::delete_by_id(key.to_owned())
            .exec(&self.db.conn)
            .await
            .map_err(db_err)?;
        Ok(())
    }

    async fn queue_metrics(&self, concurrency: usize) -> DomainResult<QueueMetrics> {
        // One statement for the four counts (the status index serves it).
        let counts: Vec<(String, i64)> = media_job::Entity::find()
            .select_only()
            .column(media_job::Column::Status)
            .column_as(media_job::Column::Id.count(), "n")
            .filter(media_job::Column::Status.is_in([
                JobStatus::Queued.as_str(),
                JobStatus::Running.as_str(),
                JobStatus::Failed.as_str(),
                JobStatus::Dead.as_str(),
            ]))
            .group_by(media_job::Column::Status)
            .into_tuple()
            .all(&self.db.conn)
            .await
            .map_err(db_err)?;
        let count = |status: JobStatus| {
            counts
                .iter()
                .find(|(s, _)| s == status.as_str())
                .map_or(0, |(_, n)| *n)
        };
        let (pending, running, failed, dead) = (
            count(JobStatus::Queued),
            count(JobStatus::Running),
            count(JobStatus::Failed),
            count(JobStatus::Dead),
        );
        let recent: Vec<(Option<DateTime<Utc>>, Option<DateTime<Utc>>)> = media_job::Entity::find()
            .select_only()
            .column(media_job::Column::StartedAt)
            .column(media_job::Column::FinishedAt)
            .filter(media_job::Column::Status.eq(JobStatus::Succeeded.as_str()))
            .order_by_desc(media_job::Column::FinishedAt)
            .limit(50)
            .into_tuple()
            .all(&self.db.conn)
            .await
            .map_err(db_err)?;
        let durations: Vec<f64> = recent
            .into_iter()
            .filter_map(|(s, f)| Some((f? - s?).num_milliseconds() as f64 / 1e3))
            .collect();
        let mean = if durations.is_empty() {
            0.0
        } else {
            durations.iter().sum::<f64>() / durations.len() as f64
        };
        let slots = concurrency.max(1) as f64;
        // Jobs ahead of a new one, spread over the worker slots, each taking the mean.
        let estimated_wait_seconds = ((pending + failed + running) as f64 / slots).ceil() * mean;
        Ok(QueueMetrics {
            pending,
            running,
            failed,
            dead,
            estimated_wait_seconds,
        })
    }
}
