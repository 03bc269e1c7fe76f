//! The `recommendations` feed.
//!
//! Each feed version is a stored, fixed order of item ids ([`SnapshotKey`]); a page is a
//! range of it, and its cursor names the version and the offset. Anonymous viewers share
//! one version per generation of the feed (any item change starts a new one on every
//! instance, since the generation lives in the database), and their pages are cached in
//! process per (feed, generation, offset, size). A signed-in viewer keeps their own
//! version until they pull to refresh; a refresh orders items they have not been shown
//! first.

use std::sync::Arc;
use std::time::Duration;

use chrono::Duration as Age;

use super::RecommendationService;
use crate::app::cursor;
use crate::domain::auth::Viewer;
use crate::domain::clock;
use crate::domain::error::DomainResult;
use crate::domain::page::clamp_first;
use crate::domain::recommendation::feed::{fresh_first, take_page, MAX_VERSION_ITEMS};
use crate::domain::recommendation::{
    FeedKey, Recommendation, RecommendationKind, SnapshotKey, MAX_FEATURED,
};
use crate::domain::{DomainError, RecommendationId, VideoId};

/// The viewer key of anonymous feeds.
const ANONYMOUS: &str = "anon";
/// Stored versions are dropped after this long; a cursor into one is then refused.
const VERSION_LIFETIME: Age = Age::days(7);
/// A refresh puts first what the viewer's last this many versions did not show.
const SHOWN_VERSIONS: u32 = 5;
/// Cached anonymous pages live this long at most, so featured windows open and close.
const PAGE_TTL: Duration = Duration::from_secs(60);
/// What the cached anonymous pages may take, by their estimated size.
const PAGE_CACHE_BYTES: u64 = 64 << 20;
/// Ids looked up at once while filling a page (items hidden since are skipped).
const LOOKUP_WINDOW: usize = 100;

/// One page of a feed version.
#[derive(Debug, Clone)]
pub struct FeedPage {
    pub items: Vec<Recommendation>,
    pub featured: Vec<Recommendation>,
    pub next_cursor: Option<String>,
    pub has_more: bool,
    pub version: i64,
}

impl FeedPage {
    /// About what the page takes in memory: its text plus a fixed share per item.
    fn approx_bytes(&self) -> u32 {
        let item = |i: &Recommendation| {
            let f = &i.fields;
            let text = [&f.subtitle, &f.description, &f.image_url, &f.duration]
                .iter()
                .map(|t| t.as_ref().map_or(0, String::len))
                .sum::<usize>();
            256 + f.title.len() + text
        };
        let bytes: usize = self.items.iter().chain(&self.featured).map(item).sum();
        u32::try_from(bytes + 128).unwrap_or(u32::MAX)
    }
}

#[derive(Clone, PartialEq, Eq, Hash)]
struct PageKey {
    feed: FeedKey,
    generation: i64,
    offset: usize,
    first: usize,
}

/// Anonymous pages, in process.
pub(super) struct PageCache(moka::future::Cache<PageKey, Arc<FeedPage>>);

impl PageCache {
    pub(super) fn new() -> Self {
        Self(
            moka::future::Cache::builder()
                .max_capacity(PAGE_CACHE_BYTES)
                .weigher(|_, page: &Arc<FeedPage>| page.approx_bytes())
                .time_to_live(PAGE_TTL)
                .build(),
        )
    }
}

fn cursor_past_end() -> DomainError {
    DomainError::bad_input(
        "after",
        "cursor is not valid for this list; use a cursor this list returned",
    )
}

fn expired() -> DomainError {
    DomainError::bad_input(
        "after",
        "this feed version is no longer kept; pull to refresh for a new one",
    )
}

impl RecommendationService {
    /// A page of the feed of `kind` (every kind when `None`). `refresh` starts a new
    /// version at its top; it cannot be combined with `after`.
    pub async fn feed(
        &self,
        viewer: &Viewer,
        kind: Option<RecommendationKind>,
        first: Option<i64>,
        after: Option<&str>,
        refresh: bool,
    ) -> DomainResult<FeedPage> {
        let feed = FeedKey::of(kind);
        let first = clamp_first(first) as usize;
        let viewer_key = viewer
            .user_id()
            .map_or_else(|| ANONYMOUS.to_owned(), |id| id.to_string());
        let connection = format!("recs:{}:{viewer_key}", feed.as_str());
        if refresh && after.is_some() {
            return Err(DomainError::bad_input(
                "after",
                "refresh starts a feed at its top; leave out after",
            ));
        }
        let at = after
            .map(|raw| cursor::decode_feed(&connection, raw))
            .transpose()?;
        if viewer.user_id().is_none() {
            return self
                .anonymous_page(viewer, feed, first, at, &connection)
                .await;
        }
        let key = match at {
            Some((version, _)) => SnapshotKey {
                viewer: viewer_key,
                feed,
                version,
            },
            None => self.viewer_version(viewer_key, feed, refresh).await?,
        };
        let ids = self.items.snapshot(&key).await?.ok_or_else(expired)?;
        let offset = at.map_or(0, |(_, offset)| offset);
        let page = self
            .page_of(viewer, &key, &ids, offset, first, &connection)
            .await?;
        Ok(page)
    }

    async fn anonymous_page(
        &self,
        viewer: &Viewer,
        feed: FeedKey,
        first: usize,
        at: Option<(i64, usize)>,
        connection: &str,
    ) -> DomainResult<FeedPage> {
        let current = self.items.generation(feed).await?;
        let (generation, offset) = at.unwrap_or((current, 0));
        let page_key = PageKey {
            feed,
            generation,
            offset,
            first,
        };
        if let Some(page) = self.pages.0.get(&page_key).await {
            return self.still_shown(viewer, page.as_ref().clone()).await;
        }
        let key = SnapshotKey {
            viewer: ANONYMOUS.to_owned(),
            feed,
            version: generation,
        };
        let ids = match self.items.snapshot(&key).await? {
            Some(ids) => ids,
            None if generation == current => self.save_version(&key, feed, None).await?,
            None => return Err(expired()),
        };
        let page = self
            .page_of(viewer, &key, &ids, offset, first, connection)
            .await?;
        self.pages.0.insert(page_key, Arc::new(page.clone())).await;
        Ok(page)
    }

    /// The signed-in viewer's version to start from: a new one on refresh (or when they
    /// have none), their newest otherwise.
    async fn viewer_version(
        &self,
        viewer: String,
        feed: FeedKey,
        refresh: bool,
    ) -> DomainResult<SnapshotKey> {
        let latest = self.items.latest_version(&viewer, feed).await?;
        if let (Some(version), false) = (latest, refresh) {
            return Ok(SnapshotKey {
                viewer,
                feed,
                version,
            });
        }
        let shown = match latest {
            Some(_) => Some(self.items.served(&viewer, feed, SHOWN_VERSIONS).await?),
            None => None,
        };
        let key = SnapshotKey {
            viewer,
            feed,
            version: latest.map_or(1, |v| v + 1),
        };
        self.save_version(&key, feed, shown).await?;
        Ok(key)
    }

    /// Stores the order of a new version (items not in `shown` first, when given) and
    /// returns the order stored, which is another request's if it made it first.
    async fn save_version(
        &self,
        key: &SnapshotKey,
        feed: FeedKey,
        shown: Option<std::collections::HashSet<RecommendationId>>,
    ) -> DomainResult<Vec<RecommendationId>> {
        let signed_in = key.viewer != ANONYMOUS;
        let ids = match shown {
            // Deep enough that every item shown lately can move behind a fresh one, so
            // successive refreshes reach past the first MAX_VERSION_ITEMS.
            Some(shown) => {
                let depth = MAX_VERSION_ITEMS + shown.len() as u64;
                let mut ids = fresh_first(self.items.ranked_ids(feed, depth).await?, &shown);
                ids.truncate(MAX_VERSION_ITEMS as usize);
                ids
            }
            None => self.items.ranked_ids(feed, MAX_VERSION_ITEMS).await?,
        };
        let now = clock::now();
        let keep = signed_in.then_some(i64::from(SHOWN_VERSIONS) + 1);
        Ok(self
            .items
            .save_snapshot(key, &ids, now, now - VERSION_LIFETIME, keep)
            .await?)
    }

    /// Fills a page from `ids` at `offset`, skipping items deleted or hidden since.
    async fn page_of(
        &self,
        viewer: &Viewer,
        key: &SnapshotKey,
        ids: &[RecommendationId],
        offset: usize,
        first: usize,
        connection: &str,
    ) -> DomainResult<FeedPage> {
        if offset > ids.len() {
            return Err(cursor_past_end());
        }
        let mut items = Vec::with_capacity(first);
        let mut end = offset;
        while items.len() < first && end < ids.len() {
            // Windows of at least LOOKUP_WINDOW ids: a stretch of hidden items costs a
            // few lookups, not one per item.
            let want = ((first - items.len()) * 2).max(LOOKUP_WINDOW);
            let window = &ids[end..(end + want).min(ids.len())];
            let shown = self.shown_to(viewer, window).await?;
            let (kept, range) =
                take_page(window, 0, first - items.len(), |id| shown.get(&id).cloned());
            items.extend(kept);
            end += range.end;
        }
        if viewer.user_id().is_some() && end > offset {
            self.items
                .mark_served(key, u32::try_from(end).unwrap_or(u32::MAX))
                .await?;
        }
        let has_more = end < ids.len();
        Ok(FeedPage {
            items,
            featured: self.featured(viewer, key.feed).await?,
            next_cursor: has_more.then(|| cursor::encode_feed(connection, key.version, end)),
            has_more,
            version: key.version,
        })
    }

    /// A cached page without the VIDEO items whose videos stopped being listed since (a
    /// video's visibility is not an item change, so it does not retire cached pages).
    async fn still_shown(&self, viewer: &Viewer, mut page: FeedPage) -> DomainResult<FeedPage> {
        let videos: Vec<VideoId> = page
            .items
            .iter()
            .chain(&page.featured)
            .filter_map(|item| item.fields.video_id)
            .collect();
        if videos.is_empty() {
            return Ok(page);
        }
        let listed = self.videos.listed_many(viewer, &videos).await?;
        let keep = |item: &Recommendation| {
            item.fields
                .video_id
                .is_none_or(|video| listed.contains_key(&video))
        };
        page.items.retain(keep);
        page.featured.retain(keep);
        Ok(page)
    }

    /// The feed's featured items now, as `viewer` may see them.
    async fn featured(&self, viewer: &Viewer, feed: FeedKey) -> DomainResult<Vec<Recommendation>> {
        let featured = self
            .items
            .featured(feed, clock::now(), MAX_FEATURED)
            .await?;
        let ids: Vec<RecommendationId> = featured.iter().map(|i| i.id).collect();
        let shown = self.shown_to(viewer, &ids).await?;
        Ok(featured
            .into_iter()
            .filter(|item| shown.contains_key(&item.id))
            .collect())
    }
}
