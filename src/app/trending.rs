//! Trending listings (`trendingVideos`, `videos(sort: TRENDING)`).
//!
//! Scores move with every view and favorite ([`crate::domain::video::trending`]); a
//! listing pages through a *ranking*, the order of the public videos by score fixed at
//! one moment, so that no page repeats or skips a video while scores move. Every
//! instance builds the ranking of the current time bucket in the background (one of
//! them writes it); a first page reads the newest ranking, later pages the ranking their
//! cursor names, for [`RANKING_RETENTION`].

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};

use crate::domain::clock;
use crate::domain::error::DomainResult;
use crate::domain::page::{clamp_first, Page};
use crate::domain::video::{SortKey, Video, VideoFilter, VideoRepository};
use crate::domain::DomainError;

/// How long a ranking stays readable after it was built: a cursor older than that is
/// refused, and the client starts again from the first page.
pub const RANKING_RETENTION: Duration = Duration::from_secs(30 * 60);

pub struct Trending {
    videos: Arc<dyn VideoRepository>,
    every: Duration,
    /// The newest ranking and when it was read: first pages within [`CURRENT_TTL`] of
    /// that skip the lookup.
    newest: std::sync::Mutex<Option<(Instant, i64)>>,
}

/// How long this instance takes the newest ranking it read for the newest there is.
const CURRENT_TTL: Duration = Duration::from_secs(1);

impl Trending {
    /// Rankings are built every `every` (at least a second).
    pub fn new(videos: Arc<dyn VideoRepository>, every: Duration) -> Self {
        Self {
            videos,
            every: every.max(Duration::from_secs(1)),
            newest: std::sync::Mutex::new(None),
        }
    }

    /// The bucket `now` falls in, named by the Unix second it starts at: every instance
    /// with the same interval names it alike, and later buckets have larger names.
    fn bucket(&self, now: DateTime<Utc>) -> i64 {
        let secs = self.every.as_secs().max(1) as i64;
        now.timestamp().div_euclid(secs) * secs
    }

    /// Scores rows never scored, builds the current bucket's ranking unless some instance
    /// has, and removes rankings past their retention (the background ranker's tick).
    /// True when this call built one.
    pub async fn refresh(&self) -> DomainResult<bool> {
        let now = clock::now();
        self.videos.score_unscored(now).await?;
        let built = self.videos.build_trending(self.bucket(now), now).await?;
        let retention =
            chrono::Duration::from_std(RANKING_RETENTION).map_err(DomainError::internal)?;
        self.videos.prune_trending(now - retention).await?;
        Ok(built)
    }

    /// The newest ranking, built now when there is none yet (a fresh database; scoring
    /// rows that were never scored is left to the background ranker, off the request).
    async fn current(&self) -> DomainResult<i64> {
        let remembered = *self.newest.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((at, generation)) = remembered {
            if at.elapsed() < CURRENT_TTL {
                return Ok(generation);
            }
        }
        if let Some(generation) = self.videos.latest_trending().await? {
            *self.newest.lock().unwrap_or_else(|e| e.into_inner()) =
                Some((Instant::now(), generation));
            return Ok(generation);
        }
        let now = clock::now();
        self.videos.build_trending(self.bucket(now), now).await?;
        self.videos.latest_trending().await?.ok_or_else(|| {
            DomainError::internal(anyhow::anyhow!(
                "a trending ranking was built but is not there"
            ))
        })
    }

    /// A page and the ranking it came from: the newest one, or the cursor's.
    pub async fn page(
        &self,
        filter: &VideoFilter,
        first: Option<i64>,
        after: Option<SortKey>,
    ) -> DomainResult<(i64, Page<Video, SortKey>)> {
        let (generation, position) = match after {
            None => (self.current().await?, None),
            Some(SortKey::Ranked(generation, position, _)) => {
                if !self.videos.trending_exists(generation).await? {
                    return Err(DomainError::bad_input(
                        "after",
                        format!(
                            "this trending listing has expired (rankings are kept for {} \
                             minutes); load the first page again",
                            RANKING_RETENTION.as_secs() / 60
                        ),
                    ));
                }
                (generation, Some(position))
            }
            // Cursors are decoded for their sort (app::cursor).
            Some(_) => {
                return Err(DomainError::internal(anyhow::anyhow!(
                    "a trending listing was given a key of another sort"
                )))
            }
        };
        let page = self
            .videos
            .trending(generation, filter, position, clamp_first(first))
            .await?;
        Ok((generation, page))
    }

    /// The videos of `generation`'s ranking that match `filter` and are still listed.
    pub async fn count(&self, generation: i64, filter: &VideoFilter) -> DomainResult<u64> {
        Ok(self.videos.count_trending(generation, filter).await?)
    }
}
