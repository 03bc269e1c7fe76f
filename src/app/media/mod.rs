//! Uploads (direct with tickets, or multipart), processing jobs and signed media URLs.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};

mod jobs;
pub mod processing;
mod sweeps;

use super::{RecentWrites, VideoService};
use crate::domain::auth::Viewer;
use crate::domain::clock;
use crate::domain::error::DomainResult;
use crate::domain::events::EventBus;
use crate::domain::media::{
    clean_filename, sniff, AcceptedUpload, Format, Job, JobQueue, JobRepository, MediaKind,
    MediaStore, NewJob, SignedRequest, Upload, UploadLimits, UploadRepository,
    JOB_KIND_PROCESS_MEDIA, SNIFF_BYTES,
};
use crate::domain::user::Permission;
use crate::domain::video::{can_be_edited_by, Video, VideoStatus};
use crate::domain::{DomainError, JobId, UploadId, VideoId};

/// Longest an upload ticket may live.
pub const MAX_TICKET_TTL: Duration = Duration::from_secs(15 * 60);
/// How long signed read URLs live.
pub const READ_URL_TTL: Duration = Duration::from_secs(15 * 60);
/// A job untouched this long (no progress, no state change) is handed out again.
pub const STALLED_AFTER: Duration = Duration::from_secs(10 * 60);
/// How long after its expiry an uncompleted ticket's bytes are deleted (the sweeper runs
/// every 30 s by default, so they are gone within five and a half minutes of expiry).
/// Longer than [`UPLOAD_FINISH_GRACE`], so an upload still allowed to finish is never
/// swept from under it.
pub const ABANDONED_AFTER: Duration = Duration::from_secs(300);
/// How long after a ticket's expiry an upload that started in time may still finish (the
/// folder store refuses to store it later; Azure checks expiry when a request starts).
pub const UPLOAD_FINISH_GRACE: Duration = Duration::from_secs(120);

/// What the media use cases are built on.
pub struct MediaPorts {
    pub videos: Arc<VideoService>,
    pub uploads: Arc<dyn UploadRepository>,
    pub jobs: Arc<dyn JobRepository>,
    pub store: Arc<dyn MediaStore>,
    pub queue: Arc<dyn JobQueue>,
    pub writes: Arc<RecentWrites>,
    pub events: Arc<dyn EventBus>,
}

/// How large uploads may be, how long tickets live, and how jobs are run.
#[derive(Debug, Clone, Copy)]
pub struct MediaSettings {
    pub limits: UploadLimits,
    pub ticket_ttl: Duration,
    pub max_attempts: i32,
    pub concurrency: usize,
}

pub struct MediaService {
    ports: MediaPorts,
    settings: MediaSettings,
}

pub struct UploadRequest {
    pub filename: String,
    pub content_type: String,
    pub size_bytes: i64,
}

/// A ticket: where and how to send the bytes, until when, and how many at most.
pub struct UploadTicket {
    pub upload: Upload,
    pub request: SignedRequest,
}

/// A file that arrived in a multipart request, already on local disk.
pub struct ReceivedFile<'a> {
    pub filename: &'a str,
    pub content_type: Option<&'a str>,
    /// Read from its start.
    pub content: std::fs::File,
    pub size_bytes: u64,
}

fn object_key(video: VideoId, upload: UploadId, kind: MediaKind, format: &Format) -> String {
    let prefix = match kind {
        MediaKind::Video => "media",
        MediaKind::Thumbnail => "thumb",
    };
    format!("videos/{video}/{prefix}-{upload}.{}", format.extension)
}

fn video_kind_label(job: &Option<Job>) -> &'static str {
    if job.is_some() {
        "video"
    } else {
        "thumbnail"
    }
}

fn too_large(size: u64, max: u64) -> DomainError {
    DomainError::PayloadTooLarge(format!(
        "the file is {size} bytes; at most {max} bytes are accepted"
    ))
}

impl MediaService {
    pub fn new(ports: MediaPorts, settings: MediaSettings) -> Self {
        Self { ports, settings }
    }

    fn max_bytes(&self, viewer: &Viewer, kind: MediaKind) -> DomainResult<u64> {
        let (_, role) = viewer.require_user()?;
        Ok(self.settings.limits.max_bytes(kind, role))
    }

    fn checked_request(
        &self,
        viewer: &Viewer,
        kind: MediaKind,
        input: &UploadRequest,
    ) -> DomainResult<(String, &'static Format, u64)> {
        let filename = clean_filename(&input.filename, kind, "input.filename")?;
        let format = kind.format_for_mime(&input.content_type)?;
        let max = self.max_bytes(viewer, kind)?;
        if input.size_bytes <= 0 {
            return Err(DomainError::bad_input(
                "input.sizeBytes",
                "sizeBytes must be positive",
            ));
        }
        if input.size_bytes as u64 > max {
            return Err(too_large(input.size_bytes as u64, max));
        }
        Ok((filename, format, max))
    }

    /// A ticket to send a video's media straight to storage.
    pub async fn request_upload(
        &self,
        viewer: &Viewer,
        video_id: VideoId,
        input: UploadRequest,
    ) -> DomainResult<UploadTicket> {
        let video = self.ports.videos.editable(viewer, video_id).await?;
        let kind = MediaKind::Video;
        let (filename, format, _) = self.checked_request(viewer, kind, &input)?;
        // A ticket accepts exactly what it declared, never the role's whole allowance.
        let max = input.size_bytes as u64;
        let id = UploadId::new();
        let now = clock::now();
        let ttl = self.settings.ticket_ttl.min(MAX_TICKET_TTL);
        let expires_at = now + chrono::Duration::from_std(ttl).unwrap_or_default();
        let upload = Upload {
            id,
            video_id: video.id,
            owner_id: video.owner_id,
            kind,
            object_key: object_key(video.id, id, kind, format),
            filename,
            declared_type: format.mime.to_owned(),
            declared_bytes: input.size_bytes,
            max_bytes: max as i64,
            expires_at,
            completed_at: None,
        };
        let request = self
            .ports
            .store
            .upload_request(&upload.object_key, format.mime, max, expires_at)
            .await?;
        self.ports.uploads.create_upload(upload.clone()).await?;
        Ok(UploadTicket { upload, request })
    }

    /// Checks what was sent for a ticket and, when it is a video of an accepted format
    /// and size, makes it the video's media and queues processing.
    pub async fn complete_upload(&self, viewer: &Viewer, id: UploadId) -> DomainResult<Video> {
        let (user, _) = viewer.require_user()?;
        let upload = self
            .ports
            .uploads
            .upload(id)
            .await?
            .ok_or(DomainError::NotFound("upload"))?;
        if upload.owner_id != user && !viewer.can(Permission::ManageAnyVideo) {
            return Err(DomainError::forbidden(
                "this upload ticket was issued to another user",
            ));
        }
        self.ports.videos.editable(viewer, upload.video_id).await?;
        if upload.completed_at.is_some() {
            return Err(DomainError::Conflict(
                "this upload was already completed; request a new ticket".into(),
            ));
        }
        let now = clock::now();
        if now > upload.expires_at {
            return Err(DomainError::bad_input(
                "uploadId",
                "this upload ticket has expired; request a new one",
            ));
        }
        let key = &upload.object_key;
        let size = self.ports.store.size(key).await?.ok_or_else(|| {
            DomainError::bad_input("uploadId", "nothing has been uploaded for this ticket")
        })?;
        self.ports.store.seal(key).await?;
        let format = match self.verify(&upload, size).await {
            Ok(format) => format,
            Err(e @ (DomainError::BadInput { .. } | DomainError::PayloadTooLarge(_))) => {
                // Nothing rejected stays behind; the ticket can be used again.
                if let Err(del) = self.ports.store.delete(key).await {
                    tracing::warn!(error = %del, key, "cannot delete a rejected upload");
                }
                return Err(e);
            }
            // A storage hiccup: keep the object, so completing again can succeed.
            Err(e) => return Err(e),
        };
        self.accept(viewer, upload, format.mime, size as i64, now)
            .await
    }

    async fn verify(&self, upload: &Upload, size: u64) -> DomainResult<&'static Format> {
        if size > upload.max_bytes as u64 {
            return Err(too_large(size, upload.max_bytes as u64));
        }
        if size != upload.declared_bytes as u64 {
            return Err(DomainError::bad_input(
                "uploadId",
                format!(
                    "{size} bytes were uploaded but the ticket declared {}; the upload is incomplete or not the declared file",
                    upload.declared_bytes
                ),
            ));
        }
        let head = self
            .ports
            .store
            .read_head(&upload.object_key, SNIFF_BYTES)
            .await?;
        sniff(upload.kind, &head).map_err(|m| DomainError::bad_input("uploadId", m))
    }

    async fn accept(
        &self,
        viewer: &Viewer,
        upload: Upload,
        content_type: &str,
        size_bytes: i64,
        now: DateTime<Utc>,
    ) -> DomainResult<Video> {
        let (by, _) = viewer.require_user()?;
        let job = (upload.kind == MediaKind::Video).then(|| NewJob {
            id: JobId::new(),
            kind: JOB_KIND_PROCESS_MEDIA,
            max_attempts: self.settings.max_attempts,
        });
        let (video, job) = self
            .ports
            .uploads
            .accept_upload(AcceptedUpload {
                upload,
                content_type: content_type.to_owned(),
                size_bytes,
                job,
                by,
                now,
            })
            .await?;
        self.ports.writes.note(viewer);
        metrics::counter!("reelgraph_uploads_total", "kind" => video_kind_label(&job)).increment(1);
        metrics::counter!("reelgraph_upload_bytes_total").increment(size_bytes.max(0) as u64);
        if let Some(job) = job {
            // The job row is committed; if the push fails, the sweeper pushes it later.
            self.announce_queued(&job).await;
            if let Err(e) = self.ports.queue.enqueue(&job, Duration::ZERO).await {
                tracing::warn!(error = %e, job = %job.id, "cannot queue a job now; it will be queued again");
            }
        }
        Ok(video)
    }

    /// A small video or a thumbnail sent in a GraphQL multipart request.
    pub async fn upload_file(
        &self,
        viewer: &Viewer,
        video_id: VideoId,
        kind: MediaKind,
        file: ReceivedFile<'_>,
    ) -> DomainResult<Video> {
        let video = self.ports.videos.editable(viewer, video_id).await?;
        let filename = clean_filename(file.filename, kind, "file")?;
        if let Some(declared) = file.content_type {
            // Browsers send application/octet-stream for unknown types: the bytes decide.
            if !declared.starts_with("application/octet-stream") {
                kind.format_for_mime(declared)
                    .map_err(|e| e.in_field("file"))?;
            }
        }
        let max = self.max_bytes(viewer, kind)?;
        if file.size_bytes > max {
            return Err(too_large(file.size_bytes, max));
        }
        if file.size_bytes == 0 {
            return Err(DomainError::bad_input("file", "the file is empty"));
        }
        let head = read_head(&file.content, SNIFF_BYTES).await?;
        let format = sniff(kind, &head).map_err(|m| DomainError::bad_input("file", m))?;
        let id = UploadId::new();
        let now = clock::now();
        let upload = Upload {
            id,
            video_id: video.id,
            owner_id: video.owner_id,
            kind,
            object_key: object_key(video.id, id, kind, format),
            filename,
            declared_type: file.content_type.unwrap_or(format.mime).to_owned(),
            declared_bytes: file.size_bytes as i64,
            max_bytes: max as i64,
            expires_at: now + chrono::Duration::minutes(5),
            completed_at: None,
        };
        // The record first, so an object whose store step fails midway is still known
        // (and swept with the other abandoned uploads).
        self.ports.uploads.create_upload(upload.clone()).await?;
        self.ports
            .store
            .put_file(&upload.object_key, format.mime, file.content)
            .await?;
        self.accept(viewer, upload, format.mime, file.size_bytes as i64, now)
            .await
    }

    /// A signed URL to the video's media: for viewers who may see the video once it is
    /// READY, and for its owner and admins as soon as it is uploaded.
    pub async fn media_url(&self, viewer: &Viewer, video: &Video) -> DomainResult<Option<String>> {
        let Some(key) = &video.media_key else {
            return Ok(None);
        };
        if video.status != VideoStatus::Ready && !can_be_edited_by(video, viewer) {
            return Ok(None);
        }
        self.read_url(key).await.map(Some)
    }

    pub async fn thumbnail_url(&self, video: &Video) -> DomainResult<Option<String>> {
        match &video.thumbnail_key {
            Some(key) => self.read_url(key).await.map(Some),
            None => Ok(None),
        }
    }

    async fn read_url(&self, key: &str) -> DomainResult<String> {
        let expires_at =
            clock::now() + chrono::Duration::from_std(READ_URL_TTL).unwrap_or_default();
        Ok(self.ports.store.read_url(key, expires_at).await?)
    }
}

/// The first `len` bytes of `file`, leaving it positioned at its start again.
async fn read_head(file: &std::fs::File, len: u64) -> DomainResult<Vec<u8>> {
    use tokio::io::{AsyncReadExt, AsyncSeekExt};
    let err = |e: std::io::Error| {
        DomainError::internal(anyhow::Error::new(e).context("cannot read upload"))
    };
    let mut file = tokio::fs::File::from_std(file.try_clone().map_err(err)?);
    let mut out = Vec::new();
    (&mut file)
        .take(len)
        .read_to_end(&mut out)
        .await
        .map_err(err)?;
    file.seek(std::io::SeekFrom::Start(0)).await.map_err(err)?;
    Ok(out)
}
