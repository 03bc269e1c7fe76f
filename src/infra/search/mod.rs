//! This instance's search replica: the tantivy index in `data/search-index`, fed by the
//! database outbox.
//!
//! The indexer tails the outbox from the position recorded in the index's last commit,
//! re-reads each changed video and applies it as it is *now* (so applying a row twice,
//! or out of order, gives the same index), then commits with the new position. After a
//! crash it resumes from the last commit: nothing lost, nothing applied twice.
//!
//! Outbox ids are handed out when a transaction inserts, not when it commits, so on
//! PostgreSQL a lower id can become visible after a higher one. The committed position
//! therefore only moves past a missing id once that id has been missing for
//! [`GAP_GRACE`]; rows beyond it are applied at once and remembered so they are not
//! applied again.

use std::path::PathBuf;
use std::sync::atomic::{AtomicI64, AtomicU8, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use anyhow::Context;
use search_index::{Change, IndexHome, SearchIndex};
use uuid::Uuid;

use crate::domain::clock;
use crate::domain::VideoId;
use crate::infra::db::Database;

/// How often the outbox is polled when nothing on this instance signals a write.
const POLL: Duration = Duration::from_millis(250);
/// How long a missing outbox id may be an uncommitted transaction before it is skipped.
const GAP_GRACE: Duration = Duration::from_secs(10);
/// How long skipped ids are looked for, and how many at most.
const SKIPPED_RECHECK_FOR: Duration = Duration::from_secs(600);
const MAX_SKIPPED: usize = 10_000;
/// Outbox rows read per batch.
const BATCH: u64 = 500;
/// Replicas silent for longer are forgotten, and outbox rows older than this are pruned.
const RETENTION: Duration = Duration::from_secs(7 * 24 * 3600);
const PRUNE_EVERY: Duration = Duration::from_secs(60);
/// Videos read per page while rebuilding.
const REBUILD_PAGE: u64 = 5_000;

mod engine;
mod rebuild;
mod tailer;

pub use rebuild::{change_for, rebuild};
use tailer::Tailer;

/// The replica: the live index plus what the indexer needs to keep it true.
pub struct SearchReplica {
    home: IndexHome,
    current: RwLock<SearchIndex>,
    /// Rebuild requests (outbox rows without a video) up to this id are fulfilled.
    rebuilt_through: AtomicI64,
    db: Database,
    replica_id: String,
    /// What readiness reports: [`HEALTHY`], [`FAILING`] or [`REBUILDING`].
    health: AtomicU8,
}

const HEALTHY: u8 = 0;
const FAILING: u8 = 1;
const REBUILDING: u8 = 2;
/// Failed steps in a row before the replica reports itself failing (one failure can be a
/// passing database hiccup).
const FAILURES_BEFORE_UNHEALTHY: u32 = 3;

/// This folder's replica id, created on first use.
pub fn replica_id(root: &std::path::Path) -> anyhow::Result<String> {
    let path = root.join("replica-id");
    if let Ok(id) = std::fs::read_to_string(&path) {
        let id = id.trim().to_owned();
        if !id.is_empty() {
            return Ok(id);
        }
    }
    std::fs::create_dir_all(root)?;
    let id = format!("{}-{}", hostname(), Uuid::now_v7());
    std::fs::write(&path, &id)?;
    Ok(id)
}

fn hostname() -> String {
    std::fs::read_to_string("/etc/hostname")
        .map(|h| h.trim().chars().take(24).collect())
        .unwrap_or_else(|_| "replica".into())
}

impl SearchReplica {
    /// Opens the replica in `root`, rebuilding it first when it is missing, from another
    /// schema version, or cannot be trusted to be fed by this database's outbox.
    pub async fn open(root: PathBuf, db: Database) -> anyhow::Result<Arc<Self>> {
        let home = IndexHome::new(root.clone());
        let replica_id = replica_id(&root)
            .with_context(|| format!("cannot use the search index folder {}", root.display()))?;
        let opened = {
            let home = home.clone();
            tokio::task::spawn_blocking(move || home.open()).await??
        };
        let usable = match opened {
            Err(why) => Err(why.to_string()),
            Ok(index) => match Self::untrusted(&db, &replica_id, &index).await? {
                Some(why) => Err(why),
                None => Ok(index),
            },
        };
        let (index, rebuilt_through) = match usable {
            Ok(index) => (index, 0),
            Err(reason) => {
                tracing::info!(folder = %root.display(), %reason, "rebuilding the search index from the database");
                let started = Instant::now();
                let (index, scan_head) = rebuild(&home, &db, &replica_id, |_, _| {}).await?;
                tracing::info!(
                    documents = index.num_docs(),
                    seconds = started.elapsed().as_secs_f64(),
                    "search index rebuilt"
                );
                (index, scan_head)
            }
        };
        let replica = SearchReplica {
            home,
            current: RwLock::new(index),
            rebuilt_through: AtomicI64::new(rebuilt_through),
            db,
            replica_id,
            health: AtomicU8::new(HEALTHY),
        };
        replica.report().await?;
        Ok(Arc::new(replica))
    }

    /// Why an index that opened cleanly may still be stale: the outbox it followed has
    /// been pruned past it, or it follows another database.
    async fn untrusted(
        db: &Database,
        replica: &str,
        index: &SearchIndex,
    ) -> anyhow::Result<Option<String>> {
        let head = db.outbox_head().await?;
        if index.position() > u64::try_from(head).unwrap_or(0) {
            return Ok(Some(format!(
                "index is at outbox position {} but the database's outbox ends at {head}",
                index.position()
            )));
        }
        let cutoff = clock::now() - chrono::Duration::from_std(RETENTION)?;
        match db.replica_seen_at(replica).await? {
            Some(seen) if seen >= cutoff => Ok(None),
            Some(_) => Ok(Some(
                "replica was away longer than the outbox is kept".into(),
            )),
            None if index.position() == 0 && head == 0 => Ok(None),
            None => Ok(Some("this database has no record of the replica".into())),
        }
    }

    /// "ok", "failing" (the indexer keeps failing: new changes are not searchable),
    /// "missing" (its files were deleted; a rebuild follows) or "rebuilding" (being rebuilt
    /// from the database).
    pub fn health(&self) -> &'static str {
        if self.files_gone() && self.health.load(Ordering::Relaxed) != REBUILDING {
            return "missing";
        }
        match self.health.load(Ordering::Relaxed) {
            HEALTHY => "ok",
            REBUILDING => "rebuilding",
            _ => "failing",
        }
    }

    /// True when the live generation's files are gone from disk (deleted under a running
    /// server): its writer can never commit again, so only a rebuild helps.
    fn files_gone(&self) -> bool {
        let has_files =
            |generation: &str| self.home.root().join(generation).join("meta.json").exists();
        let ours = self.current().generation().to_owned();
        if has_files(&ours) {
            return false;
        }
        // A generation swapped in by `reelgraph reindex` (which removes the old one) is
        // adopted by `step`, not rebuilt.
        !self
            .home
            .current_generation()
            .is_some_and(|g| g != ours && has_files(&g))
    }

    /// Rebuilds from the database after the live index's files disappeared.
    async fn recover(&self, tailer: &mut Tailer) -> anyhow::Result<()> {
        self.health.store(REBUILDING, Ordering::Relaxed);
        tracing::warn!(folder = %self.home.root().display(), "the search index's files are gone; rebuilding it from the database");
        let started = Instant::now();
        let (fresh, scan_head) = rebuild(&self.home, &self.db, &self.replica_id, |_, _| {}).await?;
        self.rebuilt_through.store(scan_head, Ordering::Relaxed);
        self.adopt(fresh, tailer).await?;
        tracing::info!(
            documents = self.current().num_docs(),
            seconds = started.elapsed().as_secs_f64(),
            "search index rebuilt"
        );
        Ok(())
    }

    pub fn current(&self) -> SearchIndex {
        match self.current.read() {
            Ok(guard) => guard.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    fn replace(&self, index: SearchIndex) {
        match self.current.write() {
            Ok(mut guard) => *guard = index,
            Err(poisoned) => *poisoned.into_inner() = index,
        }
    }

    async fn report(&self) -> anyhow::Result<()> {
        let position = i64::try_from(self.current().position()).unwrap_or(i64::MAX);
        self.db
            .record_replica(&self.replica_id, position, clock::now())
            .await?;
        Ok(())
    }

    /// Tails the outbox until `stop` resolves. Errors are logged and retried.
    pub async fn run(self: Arc<Self>, stop: impl std::future::Future<Output = ()>) {
        let mut tailer = Tailer::default();
        let mut last_prune = Instant::now() - PRUNE_EVERY;
        let mut last_ok = Instant::now();
        let mut failures = 0u32;
        tokio::pin!(stop);
        loop {
            // Files deleted under the running server: its writer can never commit again.
            let done = if self.files_gone() {
                self.recover(&mut tailer).await.map(|()| true)
            } else {
                self.step(&mut tailer).await
            };
            let more = match done {
                Ok(more) => {
                    last_ok = Instant::now();
                    failures = 0;
                    self.health.store(HEALTHY, Ordering::Relaxed);
                    more
                }
                Err(err) => {
                    failures += 1;
                    if failures >= FAILURES_BEFORE_UNHEALTHY {
                        self.health.store(FAILING, Ordering::Relaxed);
                    }
                    tracing::error!(
                        error = format!("{err:#}"),
                        "search indexer step failed; retrying"
                    );
                    // Rows noted as applied may not have been: start over from the index.
                    tailer = Tailer::default();
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    false
                }
            };
            if last_prune.elapsed() >= PRUNE_EVERY {
                last_prune = Instant::now();
                // A replica that cannot apply must not look live: other instances then
                // stop keeping outbox rows for it, and its next start rebuilds.
                let healthy = last_ok.elapsed() < PRUNE_EVERY * 2;
                if let Err(err) = self.prune(healthy).await {
                    tracing::warn!(
                        error = format!("{err:#}"),
                        "pruning the search outbox failed"
                    );
                }
            }
            tokio::select! {
                biased;
                _ = &mut stop => break,
                _ = std::future::ready(()), if more => {}
                _ = self.db.outbox_notified() => {}
                _ = tokio::time::sleep(POLL) => {}
            }
        }
    }

    async fn prune(&self, healthy: bool) -> anyhow::Result<()> {
        if healthy {
            self.report().await?;
        }
        let live_since = clock::now() - chrono::Duration::from_std(RETENTION)?;
        let pruned = self.db.prune_outbox(live_since).await?;
        if pruned > 0 {
            tracing::debug!(rows = pruned, "pruned the search outbox");
        }
        Ok(())
    }

    /// One round: follow a generation swapped in by `reelgraph reindex`, then apply a
    /// batch. Returns true when more rows are probably waiting.
    async fn step(&self, tailer: &mut Tailer) -> anyhow::Result<bool> {
        let index = self.current();
        if let Some(generation) = self.home.current_generation() {
            if generation != index.generation() {
                let home = self.home.clone();
                if let Ok(fresh) = tokio::task::spawn_blocking(move || home.open()).await?? {
                    tracing::info!(%generation, "switched to a rebuilt search index");
                    self.adopt(fresh, tailer).await?;
                    return Ok(true);
                }
            }
        }
        if !tailer.skipped.is_empty() {
            self.recheck_skipped(&index, tailer).await?;
        }
        let position = i64::try_from(index.position()).unwrap_or(i64::MAX);
        let rows = self.db.outbox_after(position, BATCH).await?;
        if rows.is_empty() {
            return Ok(false);
        }
        let fulfilled = self.rebuilt_through.load(Ordering::Relaxed);
        if rows
            .iter()
            .any(|r| r.video_id.is_none() && r.id > fulfilled)
        {
            tracing::info!("rebuild requested through the outbox");
            let (fresh, scan_head) =
                rebuild(&self.home, &self.db, &self.replica_id, |_, _| {}).await?;
            self.rebuilt_through.store(scan_head, Ordering::Relaxed);
            self.adopt(fresh, tailer).await?;
            return Ok(true);
        }
        let (fresh_ids, new_position) = tailer.advance(position, &rows);
        let changes = self.changes_for(fresh_ids).await?;
        if changes.is_empty() && new_position == position {
            return Ok(false);
        }
        index
            .apply(changes, u64::try_from(new_position).unwrap_or(0))
            .await?;
        Ok(rows.len() as u64 == BATCH)
    }

    /// Ids skipped as never committed may still commit (a transaction held up for longer
    /// than the grace period): look for them for a while and apply any that appear.
    async fn recheck_skipped(
        &self,
        index: &SearchIndex,
        tailer: &mut Tailer,
    ) -> anyhow::Result<()> {
        tailer
            .skipped
            .retain(|_, since| since.elapsed() < SKIPPED_RECHECK_FOR);
        let ids: Vec<i64> = tailer.skipped.keys().copied().collect();
        let late = self.db.outbox_rows(&ids).await?;
        if late.is_empty() {
            return Ok(());
        }
        tracing::warn!(
            rows = late.len(),
            "outbox rows committed after their grace period; applying them now"
        );
        let changes = self
            .changes_for(late.iter().filter_map(|r| r.video_id).collect())
            .await?;
        index.apply(changes, index.position()).await?;
        for row in late {
            tailer.skipped.remove(&row.id);
        }
        Ok(())
    }

    /// Makes `index` the live one (after a rebuild here or a `reindex` elsewhere).
    async fn adopt(&self, index: SearchIndex, tailer: &mut Tailer) -> anyhow::Result<()> {
        self.replace(index);
        *tailer = Tailer::default();
        self.report().await
    }

    /// The changes that make the index equal the database for these videos.
    async fn changes_for(&self, mut videos: Vec<Uuid>) -> anyhow::Result<Vec<Change>> {
        if videos.is_empty() {
            return Ok(Vec::new());
        }
        videos.sort();
        videos.dedup();
        let ids: Vec<VideoId> = videos.into_iter().map(VideoId::from_uuid).collect();
        let found = self.db.videos_by_ids(&ids).await?;
        let mut changes: Vec<Change> = found.iter().map(change_for).collect();
        // A row whose video is gone altogether (hard-deleted) removes it.
        for id in &ids {
            if !found.iter().any(|v| v.id == *id) {
                changes.push(Change::Delete(id.as_uuid().as_u128()));
            }
        }
        Ok(changes)
    }
}
