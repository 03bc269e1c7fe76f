//! The instance's background work: the search indexer, the job workers, the sweeper and
//! the trending ranker.
//! They start together and stop together, on one cancellation token.

use std::time::Duration;

use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::AppState;
use crate::config::Config;

/// How long job workers get to finish at shutdown; jobs still running then are run again
/// after the next start (their heartbeats stop, so another worker takes them over).
const WORKERS_GRACE: Duration = Duration::from_secs(10);

pub(super) struct Background {
    stop: CancellationToken,
    /// Cancels the work as well when `Background` is dropped without [`Background::stop`]
    /// (the server failed, or its future was dropped).
    _cancel_on_drop: tokio_util::sync::DropGuard,
    indexer: JoinHandle<()>,
    sweeper: JoinHandle<()>,
    ranker: JoinHandle<()>,
    workers: Option<JoinHandle<()>>,
}

impl Background {
    /// Starts the indexer and the sweeper, and the job workers when this instance runs
    /// jobs (`REELGRAPH_RUN_JOBS`).
    pub(super) fn start(state: &AppState, config: &Config) -> Self {
        let stop = CancellationToken::new();
        let indexer = tokio::spawn(state.replica.clone().run(stop.clone().cancelled_owned()));
        let workers = config.jobs.run_jobs.then(|| {
            let state = state.clone();
            let concurrency = config.jobs.concurrency;
            let stopped = stop.clone().cancelled_owned();
            tokio::spawn(async move {
                state
                    .jobs
                    .run_workers(state.processor.clone(), concurrency, stopped)
                    .await
            })
        });
        let sweeper = tokio::spawn(sweep(
            state.clone(),
            Duration::from_secs(config.jobs.sweep_seconds),
            stop.clone(),
        ));
        let ranker = tokio::spawn(rank_trending(
            state.clone(),
            Duration::from_secs(config.jobs.trending_seconds),
            stop.clone(),
        ));
        Self {
            _cancel_on_drop: stop.clone().drop_guard(),
            stop,
            indexer,
            sweeper,
            ranker,
            workers,
        }
    }

    /// Stops everything and waits for it (the workers for at most [`WORKERS_GRACE`]).
    pub(super) async fn stop(self) {
        self.stop.cancel();
        let _ = self.indexer.await;
        let _ = self.sweeper.await;
        let _ = self.ranker.await;
        if let Some(workers) = self.workers {
            let _ = tokio::time::timeout(WORKERS_GRACE, workers).await;
        }
    }
}

/// Every `every`: jobs nobody touched again queued, abandoned uploads and replaced media
/// removed, expired for-you lists dropped.
async fn sweep(state: AppState, every: Duration, stop: CancellationToken) {
    let mut tick = tokio::time::interval(every);
    loop {
        tokio::select! {
            _ = stop.cancelled() => break,
            _ = tick.tick() => {
                match state.api.media.requeue_stalled_jobs().await {
                    Ok(0) => {}
                    Ok(n) => tracing::info!(jobs = n, "queued waiting jobs again"),
                    Err(e) => tracing::warn!(error = %e, "job sweep failed"),
                }
                match state.api.media.remove_abandoned_uploads().await {
                    Ok(0) => {}
                    Ok(n) => tracing::info!(uploads = n, "removed abandoned uploads"),
                    Err(e) => tracing::warn!(error = %e, "upload sweep failed"),
                }
                match state.api.media.remove_released_objects().await {
                    Ok(0) => {}
                    Ok(n) => tracing::info!(objects = n, "removed replaced media"),
                    Err(e) => tracing::warn!(error = %e, "media sweep failed"),
                }
                if let Err(e) = state.api.for_you.prune().await {
                    tracing::warn!(error = %e, "pruning for-you lists failed");
                }
            }
        }
    }
}

/// Every `every`: the trending ranking of the current bucket, unless another instance
/// built it (app::trending).
async fn rank_trending(state: AppState, every: Duration, stop: CancellationToken) {
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = stop.cancelled() => break,
            _ = tick.tick() => match state.api.videos.trending().refresh().await {
                Ok(true) => tracing::debug!("built a trending ranking"),
                Ok(false) => {}
                Err(e) => tracing::warn!(error = %e, "trending ranking failed"),
            },
        }
    }
}
