//! Events that live subscribers hear about, published after the commit that caused
//! them, and the bus that carries them (in-process, or Redis pub/sub across instances).

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use futures_util::stream::BoxStream;
use serde::{Deserialize, Serialize};

use super::{SessionId, UserId, VideoId};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Event {
    /// A processing stage, progress or outcome of a video.
    Processing {
        video_id: VideoId,
        owner_id: UserId,
        /// A `VideoStatus` wire name.
        status: String,
        stage: Option<String>,
        progress: i32,
        error: Option<String>,
        at: DateTime<Utc>,
    },
    /// A video's counts after a view or a (un)favorite.
    Stats {
        video_id: VideoId,
        view_count: i64,
        like_count: i64,
        at: DateTime<Utc>,
    },
    /// Something for one user: their video became READY or FAILED, someone favorited it.
    Notification {
        user_id: UserId,
        kind: String,
        message: String,
        video_id: Option<VideoId>,
        at: DateTime<Utc>,
    },
    /// The job queue changed (a job was queued, started or finished).
    QueueChanged { at: DateTime<Utc> },
    /// These sessions ended (logout, logoutAll, password or role change, token reuse).
    SessionsRevoked { sessions: Vec<SessionId> },
}

#[async_trait]
pub trait EventBus: Send + Sync {
    /// Hands the event to every subscriber of every instance. Never fails the caller:
    /// an event that cannot be sent is logged and dropped.
    async fn publish(&self, event: Event);
    /// Every event published from now on (a subscriber that falls far behind skips the
    /// oldest and is told so in the log).
    fn subscribe(&self) -> BoxStream<'static, Event>;
}
