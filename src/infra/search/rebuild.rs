//! A replica's documents: one video's, and a whole generation written from the videos
//! table.

use search_index::{Builder, Change, IndexHome, SearchIndex, VideoDoc};
use uuid::Uuid;

use super::{GAP_GRACE, REBUILD_PAGE};
use crate::domain::clock;
use crate::domain::video::{Video, Visibility};
use crate::infra::db::Database;

/// The document for a video as it is now; deleted videos leave the index.
pub fn change_for(video: &Video) -> Change {
    let id = video.id.as_uuid().as_u128();
    if video.deleted_at.is_some() {
        return Change::Delete(id);
    }
    Change::Upsert(VideoDoc {
        id,
        owner: video.owner_id.as_uuid().as_u128(),
        title: video.title.clone(),
        description: video.description.clone().unwrap_or_default(),
        tags: video.tags.clone(),
        categories: video.categories.clone(),
        listed: video.is_published() && video.visibility == Visibility::Public,
        published_at_micros: video.published_at.map(|t| t.timestamp_micros()),
        sort_time_micros: video
            .published_at
            .unwrap_or(video.created_at)
            .timestamp_micros(),
        like_count: u64::try_from(video.like_count).unwrap_or(0),
        view_count: u64::try_from(video.view_count).unwrap_or(0),
    })
}

/// Writes a complete new generation from the videos table and swaps it in. The index
/// records the outbox position read before the scan (minus rows so recent that their
/// transactions may still be open): changes after it are replayed. Also returns the
/// head at the start of the scan: rebuild requests up to it are fulfilled.
pub async fn rebuild(
    home: &IndexHome,
    db: &Database,
    replica: &str,
    mut progress: impl FnMut(u64, u64),
) -> anyhow::Result<(SearchIndex, i64)> {
    // Rows written within the grace period may belong to transactions that commit after
    // the scan has passed their video: start the replay before them (replaying is
    // harmless). Registering first keeps other instances from pruning what we need.
    let scan_head = db.outbox_head().await?;
    let since = clock::now() - chrono::Duration::from_std(GAP_GRACE)?;
    let head = match db.outbox_floor_since(since).await? {
        Some(floor) => scan_head.min(floor - 1),
        None => scan_head,
    };
    db.record_replica(replica, head, clock::now()).await?;
    let total = db.count_live_videos().await?;
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get().min(4));
    let home_for_builder = home.clone();
    let mut builder: Builder =
        tokio::task::spawn_blocking(move || home_for_builder.builder(256 * 1024 * 1024, threads))
            .await??;
    let mut after: Option<Uuid> = None;
    loop {
        let page = db.live_videos_after(after, REBUILD_PAGE).await?;
        let Some(last) = page.last() else { break };
        after = Some(last.id.as_uuid());
        let docs: Vec<VideoDoc> = page
            .iter()
            .filter_map(|v| match change_for(v) {
                Change::Upsert(doc) => Some(doc),
                Change::Delete(_) => None,
            })
            .collect();
        builder = tokio::task::spawn_blocking(move || -> anyhow::Result<Builder> {
            for doc in &docs {
                builder.add(doc)?;
            }
            Ok(builder)
        })
        .await??;
        progress(builder.added(), total);
    }
    let position = u64::try_from(head).unwrap_or(0);
    let index = tokio::task::spawn_blocking(move || builder.finish(position)).await??;
    home.remove_stale(index.generation());
    Ok((index, scan_head))
}
