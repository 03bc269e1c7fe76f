//! The admin dashboard: platform counters computed once per interval and shared by every
//! subscriber asking for that interval, not once per subscriber.

use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::sync::watch;

use super::{MediaService, VideoService};
use crate::domain::auth::Viewer;
use crate::domain::clock;
use crate::domain::dashboard::{PlatformCounts, StatsRepository};
use crate::domain::error::DomainResult;
use crate::domain::media::QueueMetrics;
use crate::domain::user::Permission;
use crate::domain::video::Video;
use crate::domain::DomainError;

/// Intervals a dashboard may ask for, in seconds.
pub const INTERVALS: std::ops::RangeInclusive<i32> = 1..=300;
const TOP_VIDEOS: u64 = 5;

#[derive(Debug, Clone)]
pub struct Dashboard {
    pub at: DateTime<Utc>,
    pub counts: PlatformCounts,
    pub active_subscriptions: i64,
    pub queue: QueueMetrics,
    pub top_videos: Vec<Video>,
}

pub type DashboardFeed = watch::Receiver<Option<Arc<Dashboard>>>;

pub struct DashboardService {
    stats: Arc<dyn StatsRepository>,
    media: Arc<MediaService>,
    videos: Arc<VideoService>,
    /// Live subscriptions on this instance (every transport counts its own).
    subscriptions: Arc<AtomicI64>,
    feeds: Mutex<HashMap<i32, watch::Sender<Option<Arc<Dashboard>>>>>,
}

impl DashboardService {
    /// The count of live subscriptions on this instance, which every transport keeps.
    pub fn subscription_counter(&self) -> Arc<AtomicI64> {
        self.subscriptions.clone()
    }

    pub fn new(
        stats: Arc<dyn StatsRepository>,
        media: Arc<MediaService>,
        videos: Arc<VideoService>,
        subscriptions: Arc<AtomicI64>,
    ) -> Self {
        Self {
            stats,
            media,
            videos,
            subscriptions,
            feeds: Mutex::new(HashMap::new()),
        }
    }

    /// The feed for `interval_seconds`, ADMIN and up. The first subscriber of an
    /// interval starts its computation; it stops when the last one leaves.
    pub fn subscribe(
        self: &Arc<Self>,
        viewer: &Viewer,
        interval_seconds: i32,
    ) -> DomainResult<DashboardFeed> {
        viewer.require(Permission::ViewAnalytics, "watch the dashboard")?;
        if !INTERVALS.contains(&interval_seconds) {
            return Err(DomainError::bad_input(
                "intervalSeconds",
                format!(
                    "intervalSeconds must be within {}..={}",
                    INTERVALS.start(),
                    INTERVALS.end()
                ),
            ));
        }
        let mut feeds = self
            .feeds
            .lock()
            .map_err(|_| DomainError::internal(anyhow::anyhow!("dashboard lock poisoned")))?;
        if let Some(sender) = feeds.get(&interval_seconds) {
            if !sender.is_closed() {
                return Ok(sender.subscribe());
            }
        }
        let (sender, receiver) = watch::channel(None);
        feeds.insert(interval_seconds, sender.clone());
        let this = Arc::clone(self);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(interval_seconds as u64));
            loop {
                tick.tick().await;
                if sender.is_closed() {
                    break;
                }
                match this.compute(Viewer::dashboard()).await {
                    Ok(dashboard) => {
                        metrics::counter!("reelgraph_dashboard_computations_total").increment(1);
                        if sender.send(Some(Arc::new(dashboard))).is_err() {
                            break;
                        }
                    }
                    Err(e) => tracing::warn!(error = %e, "cannot compute the dashboard"),
                }
            }
            if let Ok(mut feeds) = this.feeds.lock() {
                if feeds.get(&interval_seconds).is_some_and(|s| s.is_closed()) {
                    feeds.remove(&interval_seconds);
                }
            }
        });
        Ok(receiver)
    }

    async fn compute(&self, admin: Viewer) -> DomainResult<Dashboard> {
        let now = clock::now();
        let counts = self.stats.platform_counts(now, TOP_VIDEOS).await?;
        let queue = self.media.queue_metrics(&admin).await?;
        let found = self.videos.get_many(&admin, &counts.top_videos).await?;
        let top_videos = counts
            .top_videos
            .iter()
            .filter_map(|id| found.get(id).cloned())
            .collect();
        Ok(Dashboard {
            at: now,
            active_subscriptions: self.subscriptions.load(Ordering::Relaxed),
            counts,
            queue,
            top_videos,
        })
    }
}
