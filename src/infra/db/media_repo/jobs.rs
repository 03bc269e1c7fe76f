//! Processing jobs: attempts, progress and outcomes, each also written to the video.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, DatabaseTransaction, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, Set,
};

use super::{job_from, release, set_video_processing, this_run, SqlMediaRepository};
use crate::domain::error::BackendResult;
use crate::domain::media::{
    Job, JobRepository, JobStatus, MediaChangeError, MediaFacts, QueueMetrics,
};
use crate::domain::video::VideoStatus;
use crate::domain::{JobId, VideoId};
use crate::infra::db::db_err;
use crate::infra::db::entities::{media_job, video};

impl SqlMediaRepository {
    async fn job_model(&self, id: JobId) -> BackendResult<Option<media_job::Model>> {
        media_job::Entity::find_by_id(id.as_uuid())
            .one(&self.db.conn)
            .await
            .map_err(db_err)
    }
}

#[async_trait]
impl JobRepository for SqlMediaRepository {
    async fn job(&self, id: JobId) -> BackendResult<Option<Job>> {
        self.job_model(id).await?.map(job_from).transpose()
    }

    async fn latest_job(&self, video_id: VideoId) -> BackendResult<Option<Job>> {
        media_job::Entity::find()
            .filter(media_job::Column::VideoId.eq(video_id.as_uuid()))
            .order_by_desc(media_job::Column::CreatedAt)
            .one(&self.db.conn)
            .await
            .map_err(db_err)?
            .map(job_from)
            .transpose()
    }

    async fn start_attempt(&self, id: JobId, now: DateTime<Utc>) -> BackendResult<Option<Job>> {
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
    ) -> BackendResult<()> {
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
    ) -> BackendResult<()> {
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
        // This run won the job, and its media is still the video's (a newer upload that
        // replaced it while the job ran leaves the video to that upload's job).
        let current = if res.rows_affected > 0 {
            video::Entity::find_by_id(job.video_id.as_uuid())
                .one(&txn)
                .await
                .map_err(db_err)?
                .filter(|v| v.media_key.as_deref() == Some(job.object_key.as_str()))
        } else {
            None
        };
        match current {
            Some(current) => {
                let outcome = Outcome {
                    facts,
                    thumbnail_key,
                    note,
                };
                make_ready(&txn, current, outcome, now).await?;
            }
            // The run's outcome is not the video's: a thumbnail it generated goes to the
            // sweeper.
            None => {
                if let Some(key) = thumbnail_key {
                    release(&txn, key, now).await?;
                }
            }
        }
        txn.commit().await.map_err(db_err)
    }

    async fn fail(
        &self,
        job: &Job,
        status: JobStatus,
        error: &str,
        now: DateTime<Utc>,
    ) -> BackendResult<()> {
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

    async fn requeue(&self, id: JobId, now: DateTime<Utc>) -> Result<Job, MediaChangeError> {
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
            return Err(MediaChangeError::Conflict(
                "the job is queued, running, waiting for its next attempt or finished; only a job out of attempts can be retried",
            ));
        }
        let job = media_job::Entity::find_by_id(id.as_uuid())
            .one(&txn)
            .await
            .map_err(db_err)?
            .ok_or(MediaChangeError::NotFound("job"))?;
        let job = job_from(job)?;
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

    async fn stalled_since(&self, before: DateTime<Utc>, limit: u64) -> BackendResult<Vec<Job>> {
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

    async fn requeue_stalled(&self, job: &Job, now: DateTime<Utc>) -> BackendResult<Option<Job>> {
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

    async fn queue_metrics(&self, concurrency: usize) -> BackendResult<QueueMetrics> {
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

/// What a successful run learnt.
struct Outcome {
    facts: MediaFacts,
    thumbnail_key: Option<String>,
    note: Option<String>,
}

/// The video becomes READY with what the job learnt. A generated thumbnail is used unless
/// the owner uploaded one; whichever thumbnail is not kept is released: the generated one
/// when the owner's stays, else the one it replaces.
async fn make_ready(
    txn: &DatabaseTransaction,
    current: video::Model,
    outcome: Outcome,
    now: DateTime<Utc>,
) -> BackendResult<()> {
    let Outcome {
        facts,
        thumbnail_key,
        note,
    } = outcome;
    let keep_thumbnail = current.thumbnail_key.is_some()
        && !current
            .thumbnail_key
            .as_deref()
            .is_some_and(|k| k.contains("/auto-"));
    let dropped = match (&thumbnail_key, keep_thumbnail) {
        (Some(generated), true) => Some(generated.clone()),
        (Some(generated), false) => current.thumbnail_key.clone().filter(|old| old != generated),
        (None, _) => None,
    };
    if let Some(old) = dropped {
        release(txn, old, now).await?;
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
    model.update(txn).await.map_err(db_err)?;
    Ok(())
}
