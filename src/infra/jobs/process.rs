//! `process_media`: probe (ffprobe), thumbnail (ffmpeg), finalize. Every step can run
//! again after a crash: the thumbnail's key is fixed per job and the last step writes all
//! results in one transaction.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use serde::Deserialize;
use tokio::process::Command;

use crate::domain::clock;
use crate::domain::error::DomainResult;
use crate::domain::events::{Event, EventBus};
use crate::domain::media::{
    sniff, Format, Job, JobQueue, JobStatus, MediaFacts, MediaKind, MediaRepository, MediaStore,
    SNIFF_BYTES,
};
use crate::domain::{DomainError, JobId};

/// External programs, each `None` when it cannot be run here.
#[derive(Debug, Clone)]
pub struct Tools {
    pub ffprobe: Option<String>,
    pub ffmpeg: Option<String>,
}

impl Tools {
    /// Keeps each program that answers `-version`.
    pub async fn detect(ffprobe: &str, ffmpeg: &str) -> Self {
        async fn works(program: &str) -> bool {
            Command::new(program)
                .arg("-version")
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .await
                .is_ok_and(|s| s.success())
        }
        let tools = Tools {
            ffprobe: works(ffprobe).await.then(|| ffprobe.to_owned()),
            ffmpeg: works(ffmpeg).await.then(|| ffmpeg.to_owned()),
        };
        if tools.ffprobe.is_none() || tools.ffmpeg.is_none() {
            tracing::info!(
                ffprobe = tools.ffprobe.is_some(),
                ffmpeg = tools.ffmpeg.is_some(),
                "media processing without ffprobe/ffmpeg: videos become READY with their size and type only"
            );
        }
        tools
    }
}

pub struct MediaProcessor {
    pub repo: Arc<dyn MediaRepository>,
    pub store: Arc<dyn MediaStore>,
    pub queue: Arc<dyn JobQueue>,
    pub tools: Tools,
    pub backoff: Duration,
    pub work_dir: PathBuf,
    pub events: Arc<dyn EventBus>,
}

#[derive(Deserialize)]
struct Probe {
    #[serde(default)]
    streams: Vec<ProbeStream>,
    format: Option<ProbeFormat>,
}

#[derive(Deserialize)]
struct ProbeStream {
    codec_type: Option<String>,
    codec_name: Option<String>,
    width: Option<i32>,
    height: Option<i32>,
}

#[derive(Deserialize)]
struct ProbeFormat {
    duration: Option<String>,
}

/// Why an attempt failed, as the owner reads it.
struct Failure(String);

impl From<DomainError> for Failure {
    fn from(e: DomainError) -> Self {
        tracing::error!(error = ?e, "media job step failed");
        Failure(match e {
            DomainError::Internal(_) => "storage or database error (logged)".into(),
            other => other.to_string(),
        })
    }
}

/// Runs a media tool on `input`. The reason it gives for a failure is kept (users see it
/// in `processing.error`), with the input, a file path or signed URL, replaced.
async fn run_tool(mut cmd: Command, what: &str, input: &str) -> Result<Vec<u8>, Failure> {
    let out = cmd
        .stdin(Stdio::null())
        .kill_on_drop(true)
        .output()
        .await
        .map_err(|e| Failure(format!("cannot run {what}: {e}")))?;
    if !out.status.success() {
        let stderr = String::from_utf8_lossy(&out.stderr);
        let line = stderr
            .lines()
            .rfind(|l| !l.trim().is_empty())
            .unwrap_or("no output")
            .replace(input, "the media file");
        return Err(Failure(format!(
            "{what} could not read the file: {}",
            line.trim()
        )));
    }
    Ok(out.stdout)
}

impl MediaProcessor {
    /// Runs one attempt of a job and records its outcome. Errors of the attempt become
    /// the job's state; only failures to record that state are returned.
    pub async fn run(&self, id: JobId) -> DomainResult<()> {
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
            Err(Failure(message)) => {
                let last = job.attempts >= job.max_attempts;
                let outcome = if last { "dead" } else { "failed" };
                metrics::counter!("reelgraph_media_jobs_total", "outcome" => outcome).increment(1);
                let status = if last {
                    JobStatus::Dead
                } else {
                    JobStatus::Failed
                };
                let error = if last {
                    format!(
                        "attempt {} of {} failed: {message}",
                        job.attempts, job.max_attempts
                    )
                } else {
                    let delay = self.backoff_for(job.attempts);
                    format!(
                        "attempt {} of {} failed: {message}; retrying in {:.1} s",
                        job.attempts,
                        job.max_attempts,
                        delay.as_secs_f64()
                    )
                };
                tracing::warn!(job = %job.id, video = %job.video_id, attempt = job.attempts, %error, "media job attempt failed");
                self.repo.fail(&job, status, &error, clock::now()).await?;
                if last {
                    self.announce(&job, "FAILED", "failed", job.progress, Some(&error))
                        .await;
                    self.notify(&job, "VIDEO_FAILED", "Your video could not be processed")
                        .await;
                } else {
                    self.announce(&job, "PROCESSING", "retrying", job.progress, Some(&error))
                        .await;
                }
                if !last {
                    let job = self
                        .repo
                        .job(job.id)
                        .await?
                        .ok_or(DomainError::NotFound("job"))?;
                    self.queue
                        .enqueue(&job, self.backoff_for(job.attempts))
                        .await?;
                }
                Ok(())
            }
        }
    }

    /// Exponential: the base after the first attempt, doubling after each later one,
    /// rounded up to whole seconds (the queue schedules in seconds).
    pub fn backoff_for(&self, attempts: i32) -> Duration {
        let delay =
            self.backoff * 2u32.saturating_pow(attempts.saturating_sub(1).clamp(0, 16) as u32);
        Duration::from_secs(delay.as_secs() + u64::from(delay.subsec_nanos() > 0))
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
        // ffprobe and ffmpeg read the object where it is: a local file, or a signed URL
        // they fetch ranges of (never the whole file for a probe and one frame).
        let local = match self.store.local_path(key) {
            Some(path) => path.display().to_string(),
            None => {
                let expires = clock::now() + chrono::Duration::hours(1);
                self.store.read_url(key, expires).await?
            }
        };
        let mut facts = MediaFacts {
            format: Some(format.mime.to_owned()),
            size_bytes: size as i64,
            ..Default::default()
        };
        let mut missing = Vec::new();
        let mut has_video = false;
        if let Some(ffprobe) = &self.tools.ffprobe {
            let mut cmd = Command::new(ffprobe);
            cmd.args([
                "-v",
                "error",
                "-print_format",
                "json",
                "-show_format",
                "-show_streams",
            ])
            .args(input_args(format))
            .arg(&local);
            let out = run_tool(cmd, "ffprobe", &local).await?;
            let probe: Probe = serde_json::from_slice(&out)
                .map_err(|e| Failure(format!("ffprobe gave unreadable output: {e}")))?;
            let video = probe
                .streams
                .iter()
                .find(|s| s.codec_type.as_deref() == Some("video"));
            let Some(video) = video else {
                return Err(Failure("the file has no video stream".into()));
            };
            has_video = true;
            facts.width = video.width;
            facts.height = video.height;
            let duration = probe
                .format
                .as_ref()
                .and_then(|f| f.duration.as_deref())
                .and_then(|d| d.parse::<f64>().ok())
                .filter(|d| d.is_finite() && *d > 0.0);
            if duration.is_none() {
                return Err(Failure(
                    "the file has no readable duration (truncated or corrupt?)".into(),
                ));
            }
            facts.duration_seconds = duration;
            // ffprobe names demuxers ("mov,mp4,m4a,..."); the sniffed format is precise.
            let container = format.extension.to_owned();
            facts.format = Some(match &video.codec_name {
                Some(codec) => format!("{container}/{codec}"),
                None => container,
            });
        } else {
            missing.push("ffprobe (duration, width, height, codec)");
        }
        self.progress(job, "thumbnail", 50).await?;
        let mut thumbnail_key = None;
        match (&self.tools.ffmpeg, facts.duration_seconds) {
            (Some(ffmpeg), Some(duration)) if has_video => {
                let out = dir.join("thumb.jpg");
                let at = format!("{:.3}", duration * 0.1);
                let mut cmd = Command::new(ffmpeg);
                cmd.args(["-nostdin", "-v", "error", "-y", "-ss", &at])
                    .args(input_args(format))
                    .arg(&local)
                    .args([
                        "-frames:v",
                        "1",
                        "-vf",
                        "scale='min(640,iw)':-2",
                        "-q:v",
                        "3",
                        "-f",
                        "image2",
                    ])
                    .arg(&out);
                run_tool(cmd, "ffmpeg", &local).await?;
                let key = auto_thumbnail_key(job);
                let file = std::fs::File::open(&out)
                    .map_err(|e| Failure(format!("ffmpeg made no thumbnail: {e}")))?;
                self.store.put_file(&key, "image/jpeg", file).await?;
                thumbnail_key = Some(key);
            }
            (None, _) => missing.push("ffmpeg (thumbnail)"),
            _ => {}
        }
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

    async fn progress(&self, job: &Job, stage: &str, progress: i32) -> DomainResult<()> {
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

/// Input options that pin the demuxer to the sniffed container (so the file's contents
/// cannot pick another, such as a playlist reader) and the protocols to reading a file or
/// the store's URL; they end with `-i`.
fn input_args(format: &Format) -> [&'static str; 5] {
    let demuxer = match format.extension {
        "webm" | "mkv" => "matroska",
        _ => "mov",
    };
    [
        "-protocol_whitelist",
        "file,http,https,tcp,tls",
        "-f",
        demuxer,
        "-i",
    ]
}

/// Generated thumbnails have a key of their own per job (so a re-run overwrites its own
/// file) and are told apart from uploaded ones by `/auto-`.
pub fn auto_thumbnail_key(job: &Job) -> String {
    format!("videos/{}/auto-{}.jpg", job.video_id, job.id)
}
