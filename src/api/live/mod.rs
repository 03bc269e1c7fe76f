//! Subscriptions: what live dashboards and apps hear, fed by the event bus.

pub(crate) mod protocol;
mod quota;
mod sessions;
mod upgrade;
mod ws;

use std::time::Duration;

use async_graphql::{Context, SimpleObject, Subscription, ID};
use chrono::{DateTime, Utc};
use futures_util::stream::{BoxStream, Stream, StreamExt};

pub use quota::{Lease, LiveLimits, LiveQuotas};
pub use sessions::SessionWatch;
pub use upgrade::{graphql_ws, WsLimits, WsOrigins};
pub use ws::LiveSubscription;

use super::context::ContextExt;
use super::error::GqlResultExt;
use super::media::QueueMetricsView;
use super::video::types::{GqlVideoStatus, VideoStats};
use crate::domain::events::Event;
use crate::domain::video::VideoStatus;
use crate::domain::VideoId;

/// `videoStats` sends at most one update per video per this window (the latest counts):
/// a burst is coalesced to about twelve a second, while changes 100 ms apart (10/s) still
/// go out as they come.
const STATS_WINDOW: Duration = Duration::from_millis(80);
/// `queueMetrics` recomputes at most once per this window.
const QUEUE_WINDOW: Duration = Duration::from_millis(500);

#[derive(SimpleObject)]
pub struct ProcessingEvent {
    video_id: ID,
    status: GqlVideoStatus,
    stage: Option<String>,
    progress: i32,
    error: Option<String>,
    at: DateTime<Utc>,
}

pub struct DashboardStats(std::sync::Arc<crate::app::dashboard::Dashboard>);

#[async_graphql::Object]
impl DashboardStats {
    async fn at(&self) -> DateTime<Utc> {
        self.0.at
    }
    async fn videos_total(&self) -> i64 {
        self.0.counts.videos_total
    }
    async fn videos_processing(&self) -> i64 {
        self.0.counts.videos_processing
    }
    async fn users_total(&self) -> i64 {
        self.0.counts.users_total
    }
    async fn views_last_minute(&self) -> i64 {
        self.0.counts.views_last_minute
    }
    async fn favorites_last_minute(&self) -> i64 {
        self.0.counts.favorites_last_minute
    }
    /// Live subscriptions on the instance that computed this.
    async fn active_subscriptions(&self) -> i64 {
        self.0.active_subscriptions
    }
    async fn queue(&self) -> QueueMetricsView {
        self.0.queue.into()
    }
    /// Most viewed in the last ten minutes.
    async fn top_videos(&self) -> Vec<crate::api::video::types::VideoView> {
        self.0
            .top_videos
            .iter()
            .cloned()
            .map(crate::api::video::types::VideoView)
            .collect()
    }
}

#[derive(SimpleObject)]
pub struct Notification {
    /// VIDEO_READY, VIDEO_FAILED or FAVORITED.
    kind: String,
    message: String,
    video_id: Option<ID>,
    at: DateTime<Utc>,
}

/// The first item at once; items arriving within `window` after one was sent are
/// coalesced into the latest of them, sent when the window ends.
fn coalesce<T: Send + 'static>(
    input: BoxStream<'static, T>,
    window: Duration,
) -> BoxStream<'static, T> {
    let start = (input, tokio::time::Instant::now());
    futures_util::stream::unfold(start, move |(mut input, free_at)| async move {
        let mut latest = input.next().await?;
        if tokio::time::Instant::now() < free_at {
            let sleep = tokio::time::sleep_until(free_at);
            tokio::pin!(sleep);
            loop {
                tokio::select! {
                    _ = &mut sleep => break,
                    item = input.next() => match item {
                        Some(item) => latest = item,
                        None => break,
                    },
                }
            }
        }
        Some((latest, (input, tokio::time::Instant::now() + window)))
    })
    .boxed()
}

fn parse_video_id(id: &ID) -> async_graphql::Result<VideoId> {
    VideoId::parse(id, "videoId").gql()
}

#[derive(Default)]
pub struct SubscriptionRoot;

#[Subscription(name = "Subscription")]
impl SubscriptionRoot {
    /// Every stage and progress change of the video's processing, then READY or FAILED
    /// (and the subscription ends). For the owner and admins.
    async fn video_processing(
        &self,
        ctx: &Context<'_>,
        video_id: ID,
    ) -> async_graphql::Result<impl Stream<Item = ProcessingEvent>> {
        let id = parse_video_id(&video_id)?;
        let state = ctx.state();
        state.media.watch_processing(ctx.viewer(), id).await.gql()?;
        let events = state
            .events
            .subscribe()
            .filter_map(move |event| async move {
                match event {
                    Event::Processing {
                        video_id,
                        status,
                        stage,
                        progress,
                        error,
                        at,
                        ..
                    } if video_id == id => {
                        let status: VideoStatus = status.parse().ok()?;
                        Some(ProcessingEvent {
                            video_id: ID(video_id.to_string()),
                            status: status.into(),
                            stage,
                            progress,
                            error,
                            at,
                        })
                    }
                    _ => None,
                }
            });
        // Ends right after READY or FAILED, without waiting for another event.
        Ok(futures_util::stream::unfold(
            (events.boxed(), false),
            |(mut events, finished)| async move {
                if finished {
                    return None;
                }
                let event = events.next().await?;
                let finished =
                    matches!(event.status, GqlVideoStatus::Ready | GqlVideoStatus::Failed);
                Some((event, (events, finished)))
            },
        ))
    }

    /// The video's view and like counts as they change, coalesced to at most one update
    /// per 80 ms.
    /// For everyone who may see the video.
    async fn video_stats(
        &self,
        ctx: &Context<'_>,
        video_id: ID,
    ) -> async_graphql::Result<impl Stream<Item = VideoStats>> {
        let id = parse_video_id(&video_id)?;
        let state = ctx.state();
        state
            .videos
            .get(ctx.viewer(), id)
            .await
            .gql()?
            .ok_or(crate::domain::DomainError::NotFound("video"))
            .gql()?;
        let stats = state
            .events
            .subscribe()
            .filter_map(move |event| async move {
                match event {
                    Event::Stats {
                        video_id,
                        view_count,
                        like_count,
                        at,
                    } if video_id == id => Some(VideoStats::new(
                        ID(video_id.to_string()),
                        view_count,
                        like_count,
                        at,
                    )),
                    _ => None,
                }
            })
            .boxed();
        Ok(coalesce(stats, STATS_WINDOW))
    }

    /// The processing queue, whenever it changes. For users who can upload and admins.
    async fn queue_metrics(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<impl Stream<Item = QueueMetricsView>> {
        let state = ctx.state().clone();
        let viewer = ctx.viewer().clone();
        state.media.queue_metrics(&viewer).await.gql()?;
        let changes = state
            .events
            .subscribe()
            .filter(|event| {
                futures_util::future::ready(matches!(event, Event::QueueChanged { .. }))
            })
            .boxed();
        Ok(coalesce(changes, QUEUE_WINDOW).filter_map(move |_| {
            let (state, viewer) = (state.clone(), viewer.clone());
            async move {
                match state.media.queue_metrics(&viewer).await {
                    Ok(m) => Some(QueueMetricsView::from(m)),
                    Err(e) => {
                        tracing::warn!(error = %e, "cannot compute queue metrics");
                        None
                    }
                }
            }
        }))
    }

    /// Platform counters, computed once per interval for all dashboard subscribers.
    /// ADMIN and up.
    async fn dashboard(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = 5)] interval_seconds: i32,
    ) -> async_graphql::Result<impl Stream<Item = DashboardStats>> {
        let feed = ctx
            .state()
            .dashboard
            .subscribe(ctx.viewer(), interval_seconds)
            .gql()?;
        Ok(futures_util::stream::unfold(feed, |mut feed| async move {
            loop {
                let current = feed.borrow_and_update().clone();
                if let Some(dashboard) = current {
                    return Some((DashboardStats(dashboard), feed));
                }
                feed.changed().await.ok()?;
            }
        }))
    }

    /// Your videos becoming READY or FAILED, and others favoriting them.
    async fn my_notifications(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<impl Stream<Item = Notification>> {
        let (user, _) = ctx.viewer().require_user().gql()?;
        Ok(ctx
            .state()
            .events
            .subscribe()
            .filter_map(move |event| async move {
                match event {
                    Event::Notification {
                        user_id,
                        kind,
                        message,
                        video_id,
                        at,
                    } if user_id == user => Some(Notification {
                        kind,
                        message,
                        video_id: video_id.map(|v| ID(v.to_string())),
                        at,
                    }),
                    _ => None,
                }
            }))
    }
}
