//! Uploads, processing jobs and the queue.

mod routes;

use async_graphql::{Context, Enum, InputObject, Object, SimpleObject, Upload, ID};
use chrono::{DateTime, Utc};

pub use routes::{read_media, upload_media};

use super::context::ContextExt;
use super::error::GqlResultExt;
use super::video::types::VideoView;
use crate::app::media::{ReceivedFile, UploadRequest};
use crate::domain::media::{Job, MediaKind, QueueMetrics};
use crate::domain::{DomainError, JobId, UploadId, VideoId};

#[derive(Enum, Copy, Clone, Eq, PartialEq)]
#[graphql(name = "JobStatus", remote = "crate::domain::media::JobStatus")]
pub enum GqlJobStatus {
    Queued,
    Running,
    Succeeded,
    Failed,
    Dead,
}

#[derive(InputObject)]
pub struct UploadRequestInput {
    /// The file's name, for display; the stored object gets a generated name.
    filename: String,
    /// video/mp4, video/quicktime, video/webm or video/x-matroska.
    content_type: String,
    /// The exact size of the file; completing the upload checks it.
    size_bytes: i64,
}

#[derive(SimpleObject)]
pub struct UploadHeader {
    name: String,
    value: String,
}

/// Where and how to send a file straight to storage.
#[derive(SimpleObject)]
pub struct UploadTicket {
    upload_id: ID,
    upload_url: String,
    method: String,
    /// Headers the request must carry.
    headers: Vec<UploadHeader>,
    expires_at: DateTime<Utc>,
    max_bytes: i64,
}

pub struct JobView(pub Job);

#[Object(name = "Job")]
impl JobView {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }

    async fn kind(&self) -> &str {
        &self.0.kind
    }

    async fn status(&self) -> GqlJobStatus {
        self.0.status.into()
    }

    async fn attempts(&self) -> i32 {
        self.0.attempts
    }

    async fn max_attempts(&self) -> i32 {
        self.0.max_attempts
    }

    async fn stage(&self) -> Option<&str> {
        self.0.stage.as_deref()
    }

    async fn progress(&self) -> i32 {
        self.0.progress
    }

    async fn error(&self) -> Option<&str> {
        self.0.error.as_deref()
    }

    async fn video_id(&self) -> ID {
        ID(self.0.video_id.to_string())
    }

    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }

    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }

    async fn started_at(&self) -> Option<DateTime<Utc>> {
        self.0.started_at
    }

    async fn finished_at(&self) -> Option<DateTime<Utc>> {
        self.0.finished_at
    }
}

#[derive(SimpleObject)]
#[graphql(name = "QueueMetrics")]
pub struct QueueMetricsView {
    pending_jobs: i64,
    running_jobs: i64,
    /// Jobs whose last attempt failed and that wait for another.
    failed_jobs: i64,
    /// Jobs out of attempts; `retryProcessing` starts them again.
    dead_jobs: i64,
    /// Expected wait for a job queued now, from the mean run time of recent jobs.
    estimated_wait_seconds: f64,
}

impl From<QueueMetrics> for QueueMetricsView {
    fn from(m: QueueMetrics) -> Self {
        Self {
            pending_jobs: m.pending,
            running_jobs: m.running,
            failed_jobs: m.failed,
            dead_jobs: m.dead,
            estimated_wait_seconds: m.estimated_wait_seconds,
        }
    }
}

fn parse_video_id(id: &ID) -> async_graphql::Result<VideoId> {
    VideoId::parse(id, "videoId").gql()
}

#[derive(Default)]
pub struct MediaQuery;

#[Object]
impl MediaQuery {
    /// A job, for its video's owner and admins.
    async fn job(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<Option<JobView>> {
        let id = JobId::parse(&id, "id").gql()?;
        Ok(ctx
            .state()
            .media
            .job(ctx.viewer(), id)
            .await
            .gql()?
            .map(JobView))
    }

    /// The processing queue, for users who can upload and admins.
    async fn queue_metrics(&self, ctx: &Context<'_>) -> async_graphql::Result<QueueMetricsView> {
        Ok(ctx
            .state()
            .media
            .queue_metrics(ctx.viewer())
            .await
            .gql()?
            .into())
    }
}

#[derive(Default)]
pub struct MediaMutation;

async fn upload_file(
    ctx: &Context<'_>,
    video: &ID,
    file: Upload,
    kind: MediaKind,
) -> async_graphql::Result<VideoView> {
    let id = parse_video_id(video)?;
    let value = file
        .value(ctx)
        .map_err(|_| DomainError::bad_input("file", "the file part is missing"))
        .gql()?;
    let size = value
        .content
        .metadata()
        .map(|m| m.len())
        .map_err(|e| DomainError::internal(anyhow::Error::new(e)))
        .gql()?;
    let video = ctx
        .state()
        .media
        .upload_file(
            ctx.viewer(),
            id,
            kind,
            ReceivedFile {
                filename: &value.filename,
                content_type: value.content_type.as_deref(),
                content: value.content,
                size_bytes: size,
            },
        )
        .await
        .gql()?;
    Ok(VideoView(video))
}

#[Object]
impl MediaMutation {
    /// A ticket to send a video's media straight to storage (the owner or an admin).
    /// Send the bytes with the ticket's method, URL and headers before it expires, then
    /// call `completeVideoUpload`.
    async fn request_video_upload(
        &self,
        ctx: &Context<'_>,
        video_id: ID,
        input: UploadRequestInput,
    ) -> async_graphql::Result<UploadTicket> {
        let id = parse_video_id(&video_id)?;
        let ticket = ctx
            .state()
            .media
            .request_upload(
                ctx.viewer(),
                id,
                UploadRequest {
                    filename: input.filename,
                    content_type: input.content_type,
                    size_bytes: input.size_bytes,
                },
            )
            .await
            .gql()?;
        Ok(UploadTicket {
            upload_id: ID(ticket.upload.id.to_string()),
            upload_url: ticket.request.url,
            method: ticket.request.method.to_owned(),
            headers: ticket
                .request
                .headers
                .into_iter()
                .map(|(name, value)| UploadHeader { name, value })
                .collect(),
            expires_at: ticket.upload.expires_at,
            max_bytes: ticket.upload.max_bytes,
        })
    }

    /// Checks the uploaded object (exists, size, format by its bytes), makes it the
    /// video's media and queues processing; the video becomes PROCESSING.
    async fn complete_video_upload(
        &self,
        ctx: &Context<'_>,
        upload_id: ID,
    ) -> async_graphql::Result<VideoView> {
        let id = UploadId::parse(&upload_id, "uploadId").gql()?;
        Ok(VideoView(
            ctx.state()
                .media
                .complete_upload(ctx.viewer(), id)
                .await
                .gql()?,
        ))
    }

    /// A small video in a GraphQL multipart request (larger ones go direct).
    async fn upload_video(
        &self,
        ctx: &Context<'_>,
        video_id: ID,
        file: Upload,
    ) -> async_graphql::Result<VideoView> {
        upload_file(ctx, &video_id, file, MediaKind::Video).await
    }

    /// A JPEG, PNG or WebP thumbnail in a GraphQL multipart request.
    async fn upload_thumbnail(
        &self,
        ctx: &Context<'_>,
        video_id: ID,
        file: Upload,
    ) -> async_graphql::Result<VideoView> {
        upload_file(ctx, &video_id, file, MediaKind::Thumbnail).await
    }

    /// Queues a failed video's processing again (the owner or an admin).
    async fn retry_processing(
        &self,
        ctx: &Context<'_>,
        video_id: ID,
    ) -> async_graphql::Result<JobView> {
        let id = parse_video_id(&video_id)?;
        Ok(JobView(
            ctx.state().media.retry(ctx.viewer(), id).await.gql()?,
        ))
    }
}
