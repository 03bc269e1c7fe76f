//! `process_media`, the use case: probe, thumbnail, finalize, with attempts, exponential
//! backoff and the events subscribers see. The programs that read media are behind
//! [`MediaTools`]; the queue (apalis) only delivers "run job X" through [`JobRunner`].
//! Every step can run again after a crash: the thumbnail's key is fixed per job and the
//! last step writes all results in one transaction.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;

use crate::domain::clock;
use crate::domain::error::BackendResult;
use crate::domain::events::{Event, EventBus};
use crate::domain::media::{
    sniff, Format, Job, JobQueue, JobRepository, JobRunner, JobStatus, MediaFacts, MediaKind,
    MediaStore, MediaTools, SNIFF_BYTES,
};
use crate::domain::{BackendError, JobId};

pub struct MediaProcessor {
    repo: Arc<dyn JobRepository>,
    store: Arc<dyn MediaStore>,
    queue: Arc<dyn JobQueue>,
    tools: Arc<dyn MediaTools>,
    backoff: Duration,
    work_dir: PathBuf,
    events: Arc<dyn EventBus>,
}

/// What a processor needs besides its ports.
pub struct ProcessorSettings {
    /// The delay after the first failed attempt; it doubles after each later one.
    pub backoff: Duration,
    /// Where attempts keep their temporary files (one folder each).
    pub work_dir: PathBuf,
}

/// Why an attempt failed, as the owner reads it.
struct Failure(String);

impl From<BackendError> for Failure {
    fn from(e: BackendError) -> Self {
        tracing::error!(error = ?e, "media job step failed");
        Failure(match e {
            BackendError::Internal(_) => "storage or database error (logged)".into(),
            BackendError::Unavailable(reason) => reason,
        })
    }
}

impl From<String> for Failure {
    fn from(reason: String) -> Self {
        Failure(reason)
    }
}

/// The object as the tools read it: its sniffed format and where it is.
struct Source<'a> {
    format: &'a Format,
    /// A local path or a signed URL.
    input: String,
}

#[async_trait]
impl JobRunner for MediaProcessor {
    async fn run(&self, id: JobId) -> BackendResult<()> {
        let Some(job) = self.repo.start_attempt(id, clock::now()).await? else {
            return Ok(());
        };
        // One folder per attempt: a run that lost the job never shares files with the one
        // that took it over.
        let dir = self.work_dir.join(format!("{}-{}", job.id, job.attempts));
        let started = std::time::Instant::now();
        let outcome = self.attempt(&job, &dir).await;
        let _ = tokio::fs::remove_dir_all(&dir).await;
        metrics::histogram!("reelgraph_media_job_seconds").record(started.elapsed().as_secs_f64());
        match outcome {
            Ok(()) => {
                metrics::counter!("reelgraph_media_jobs_total", "outcome" => "succeeded")
                    .increment(1);
                Ok(())
            }
            Err(Failure(message)) => self.record_failure(&job, &message).await,
        }
    }
}

impl MediaProcessor {
    pub fn new(
        repo: Arc<dyn JobRepository>,
        store: Arc<dyn MediaStore>,
        queue: Arc<dyn JobQueue>,
        tools: Arc<dyn MediaTools>,
        events: Arc<dyn EventBus>,
        settings: ProcessorSettings,
    ) -> Self {
        Self {
            repo,
            store,
            queue,
            tools,
            backoff: settings.backoff,
            work_dir: settings.work_dir,
            events,
        }
    }

    /// Exponential: the base after the first attempt, doubling after each later one,
    /// rounded up to whole seconds (the queue schedules in seconds).
    pub fn backoff_for(&self, attempts: i32) -> Duration {
        let delay =
            self.backoff * 2u32.saturating_pow(attempts.saturating_sub(1).clamp(0, 16) as u32);
        Duration::from_secs(delay.as_secs() + u64::from(delay.subsec_nanos() > 0))
    }

    /// A failed attempt: FAILED and queued again after its backoff, or DEAD (and the
    /// video FAILED) after the last one.
    async fn record_failure(&self, job: &Job, message: &str) -> BackendResult<()> {
        let last = job.attempts >= job.max_attempts;
        let outcome = if last { "dead" } else { "failed" };
        metrics::counter!("reelgraph_media_jobs_total", "outcome" => outcome).increment(1);
        let (status, error) = if last {
            let error = format!(
                "attempt {} of {} failed: {message}",
                job.attempts, job.max_attempts
            );
            (JobStatus::Dead, error)
        } else {
            let delay = self.backoff_for(job.attempts);
            let error = format!(
                "attempt {} of {} failed: {message}; retrying in {:.1} s",
                job.attempts,
                job.max_attempts,
                delay.as_secs_f64()
            );
            (JobStatus::Failed, error)
        };
        tracing::warn!(job = %job.id, video = %job.video_id, attempt = job.attempts, %error, "media job attempt failed");
        self.repo.fail(job, status, &error, clock::now()).await?;
        if last {
            self.announce(job, "FAILED", "failed", job.progress, Some(&error))
                .await;
            self.notify(job, "VIDEO_FAILED", "Your video could not be processed")
                .await;
            return Ok(());
        }
        self.announce(job, "PROCESSING", "retrying", job.progress, Some(&error))
            .await;
        let job = self.repo.job(job.id).await?.ok_or_else(|| {
            BackendError::internal(anyhow::anyhow!("job {} vanished while running", job.id))
        })?;
        self.queue
            .enqueue(&job, self.backoff_for(job.attempts))
            .await
    }

    async fn attempt(&self, job: &Job, dir: &Path) -> Result<(), Failure> {
        tokio::fs::create_dir_all(dir)
            .await
            .map_err(|e| Failure(format!("cannot create a work folder: {e}")))?;
        self.progress(job, "probe", 5).await?;
        let key = &job.object_key;
        let size = self
            .store
            .size(key)
            .await?
            .ok_or_else(|| Failure("the uploaded media is gone from storage".into()))?;
        let head = self.store.read_head(key, SNIFF_BYTES).await?;
        let format = sniff(MediaKind::Video, &head).map_err(Failure)?;
        // The tools read the object where it is: a local file, or a signed URL they fetch
        // ranges of (never the whole file for a probe and one frame).
        let input = match self.store.local_path(key) {
            Some(path) => path.display().to_string(),
            None => {
                let expires = clock::now() + chrono::Duration::hours(1);
                self.store.read_url(key, expires).await?
            }
        };
        let source = Source { format, input };
        let mut facts = MediaFacts {
            format: Some(format.mime.to_owned()),
            size_bytes: size as i64,
            ..Default::default()
        };
        let mut missing = Vec::new();
        if self.tools.can_probe() {
            self.read_facts(&source, &mut facts).await?;
        } else {
            missing.push("ffprobe (duration, width, height, codec)");
        }
        self.progress(job, "thumbnail", 50).await?;
        let thumbnail_key = match facts.duration_seconds {
            _ if !self.tools.can_render() => {
                missing.push("ffmpeg (thumbnail)");
                None
            }
            Some(duration) => Some(self.render_thumbnail(job, &source, duration, dir).await?),
            None => None,
        };
        self.progress(job, "finalize", 90).await?;
        let note = (!missing.is_empty()).then(|| {
            format!(
                "processed without {}: only size and type are known",
                missing.join(" and ")
            )
        });
        self.repo
            .succeed(job, facts, thumbnail_key, note, clock::now())
            .await?;
        self.announce(job, "READY", "done", 100, None).await;
        self.notify(job, "VIDEO_READY", "Your video is ready").await;
        Ok(())
    }

    /// Probes the object: a file without a video stream or a readable duration fails.
    async fn read_facts(&self, source: &Source<'_>, facts: &mut MediaFacts) -> Result<(), Failure> {
        let probed = self.tools.probe(&source.input, source.format).await?;
        let Some(video) = probed.video else {
            return Err(Failure("the file has no video stream".into()));
        };
        let Some(duration) = probed.duration_seconds else {
            return Err(Failure(
                "the file has no readable duration (truncated or corrupt?)".into(),
            ));
        };
        facts.width = video.width;
        facts.height = video.height;
        facts.duration_seconds = Some(duration);
        // Probers name demuxers ("mov,mp4,m4a,..."); the sniffed format is precise.
        let container = source.format.extension.to_owned();
        facts.format = Some(match video.codec {
            Some(codec) => format!("{container}/{codec}"),
            None => container,
        });
        Ok(())
    }

    /// Renders a frame a tenth of the way in and stores it under the job's own key.
    async fn render_thumbnail(
        &self,
        job: &Job,
        source: &Source<'_>,
        duration: f64,
        dir: &Path,
    ) -> Result<String, Failure> {
        let out = dir.join("thumb.jpg");
        self.tools
            .thumbnail(&source.input, source.format, duration * 0.1, &out)
            .await?;
        let key = auto_thumbnail_key(job);
        let file = std::fs::File::open(&out)
            .map_err(|e| Failure(format!("ffmpeg made no thumbnail: {e}")))?;
        self.store.put_file(&key, "image/jpeg", file).await?;
        Ok(key)
    }

    async fn progress(&self, job: &Job, stage: &str, progress: i32) -> BackendResult<()> {
        self.repo
            .progress(job, stage, progress, clock::now())
            .await?;
        self.announce(job, "PROCESSING", stage, progress, None)
            .await;
        Ok(())
    }

    /// Tells live subscribers (after the commit) where the job's video stands.
    async fn announce(
        &self,
        job: &Job,
        status: &str,
        stage: &str,
        progress: i32,
        error: Option<&str>,
    ) {
        self.events
            .publish(Event::Processing {
                video_id: job.video_id,
                owner_id: job.owner_id,
                status: status.to_owned(),
                stage: Some(stage.to_owned()),
                progress,
                error: error.map(str::to_owned),
                at: clock::now(),
            })
            .await;
        if matches!(status, "READY" | "FAILED") || stage == "probe" {
            self.events
                .publish(Event::QueueChanged { at: clock::now() })
                .await;
        }
    }

    async fn notify(&self, job: &Job, kind: &str, message: &str) {
        self.events
            .publish(Event::Notification {
                user_id: job.owner_id,
                kind: kind.to_owned(),
                message: message.to_owned(),
                video_id: Some(job.video_id),
                at: clock::now(),
            })
            .await;
    }
}

/// Generated thumbnails have a key of their own per job (so a re-run overwrites its own
/// file) and are told apart from uploaded ones by `/auto-`.
pub fn auto_thumbnail_key(job: &Job) -> String {
    format!("videos/{}/auto-{}.jpg", job.video_id, job.id)
}
