//! `recommendedVideos`: a signed-in viewer's "for you" list; trending for anonymous viewers.
//!
//! A first page builds a new list from what the viewer did until now
//! ([`crate::domain::video::for_you`]), filled up with trending videos, and stores it;
//! later pages read the stored list, so none repeats or skips while feedback arrives. A
//! list never holds the viewer's own videos, what they favorited or watched lately, or
//! anything not published PUBLIC, and pages skip what stopped being so or was favorited
//! since.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use chrono::Duration;

use super::cursor;
use super::videos::VideoService;
use crate::domain::auth::Viewer;
use crate::domain::clock;
use crate::domain::error::DomainResult;
use crate::domain::page::clamp_first;
use crate::domain::video::for_you::{
    rank, Because, ForYouRepository, Pick, Seed, FAVORITE_SEED, VIEW_SEED,
};
use crate::domain::video::{Video, VideoFilter, VideoSort, Visibility};
use crate::domain::{DomainError, UserId, VideoId};

/// Favorites and views taken as seeds, newest first.
const SEEDS: u64 = 50;
/// Views this recent are seeds, and their videos are not recommended again.
const RECENT_DAYS: i64 = 14;
/// Other viewers' favorites of the seeds read, and those viewers' favorites read.
const FANS: u64 = 1_000;
const FAN_FAVORITES: u64 = 20_000;
/// Candidates weighed per list: those most often co-favorited.
const CANDIDATES: usize = 1_000;
/// Personal picks per list; trending videos fill it up to [`LIST_LEN`].
const PERSONAL: usize = 200;
const LIST_LEN: usize = 300;
/// A viewer's newest lists kept, and how long any list is kept.
const KEEP_LISTS: i64 = 5;
const LIST_LIFETIME: Duration = Duration::days(1);
/// A first page reuses the newest list this long, unless the viewer's feedback changed.
const LIST_REUSE: Duration = Duration::seconds(60);

/// One recommended video with its score (0 for trending fill) and why.
#[derive(Debug, Clone)]
pub struct Recommended {
    pub video: Video,
    pub score: f64,
    pub reason: String,
}

#[derive(Debug, Clone)]
pub struct RecommendedPage {
    /// Each with its cursor.
    pub items: Vec<(String, Recommended)>,
    pub has_next_page: bool,
    pub has_previous_page: bool,
}

pub struct ForYouService {
    repo: Arc<dyn ForYouRepository>,
    videos: Arc<VideoService>,
}

fn expired() -> DomainError {
    DomainError::bad_input(
        "after",
        "this list is no longer kept; load the first page again",
    )
}

/// Published PUBLIC and not the viewer's own: what "for you" may show anyone, admins
/// included (they may list more).
fn recommendable(video: &Video, user: UserId) -> bool {
    video.owner_id != user && video.visibility == Visibility::Public && video.is_published()
}

fn liked_or_seen(seeds: &[Seed]) -> HashSet<VideoId> {
    seeds.iter().map(|s| s.video).collect()
}

/// The `limit` candidates with the most votes, seeds left out (ties by id, for a stable
/// choice).
fn most_voted(
    pairs: &[(VideoId, VideoId)],
    seeds: &HashSet<VideoId>,
    limit: usize,
) -> HashSet<VideoId> {
    let mut votes: HashMap<VideoId, u32> = HashMap::new();
    for (_, candidate) in pairs {
        if !seeds.contains(candidate) {
            *votes.entry(*candidate).or_default() += 1;
        }
    }
    let mut ranked: Vec<(VideoId, u32)> = votes.into_iter().collect();
    ranked.sort_by(|a, b| {
        b.1.cmp(&a.1)
            .then_with(|| b.0.as_uuid().cmp(&a.0.as_uuid()))
    });
    ranked.into_iter().take(limit).map(|(id, _)| id).collect()
}

impl ForYouService {
    pub fn new(repo: Arc<dyn ForYouRepository>, videos: Arc<VideoService>) -> Self {
        Self { repo, videos }
    }

    pub async fn page(
        &self,
        viewer: &Viewer,
        first: Option<i64>,
        after: Option<&str>,
    ) -> DomainResult<RecommendedPage> {
        let Some(user) = viewer.user_id() else {
            return self.trending_page(first, after).await;
        };
        let connection = format!("foryou:{user}");
        let (version, offset, picks) = match after {
            Some(raw) => {
                let (version, offset) = cursor::decode_feed(&connection, raw)?;
                let picks = self.repo.list(user, version).await?.ok_or_else(expired)?;
                (version, offset, picks)
            }
            None => {
                let (version, picks) = self.current(viewer, user).await?;
                (version, 0, picks)
            }
        };
        if offset > picks.len() {
            return Err(DomainError::bad_input(
                "after",
                "cursor is not valid for this list; use a cursor this list returned",
            ));
        }
        let first = clamp_first(first) as usize;
        let mut items = Vec::with_capacity(first);
        let mut end = offset;
        while items.len() < first && end < picks.len() {
            // A little more than the page: most picks are still shown.
            let window = &picks[end..(end + first + first / 4 + 2).min(picks.len())];
            let shown = self.shown(viewer, user, window).await?;
            for pick in window {
                if items.len() == first {
                    break;
                }
                end += 1;
                if let Some(item) = shown.get(&pick.video) {
                    items.push((cursor::encode_feed(&connection, version, end), item.clone()));
                }
            }
        }
        Ok(RecommendedPage {
            items,
            has_next_page: end < picks.len(),
            has_previous_page: offset > 0,
        })
    }

    /// The picks of `window` still listed for `viewer` and not favorited since, with
    /// their reasons. A seed is named only while the viewer may see it.
    async fn shown(
        &self,
        viewer: &Viewer,
        user: UserId,
        window: &[Pick],
    ) -> DomainResult<HashMap<VideoId, Recommended>> {
        let ids: Vec<VideoId> = window.iter().map(|p| p.video).collect();
        let mut listed = self.videos.listed_many(viewer, &ids).await?;
        listed.retain(|_, v| recommendable(v, user));
        for favorited in self.repo.favorited_among(user, &ids).await? {
            listed.remove(&favorited);
        }
        let seeds: Vec<VideoId> = window
            .iter()
            .filter_map(|p| match p.because {
                Because::Liked(s) | Because::Watched(s) => Some(s),
                Because::Trending => None,
            })
            .collect();
        let named = self.videos.get_many(viewer, &seeds).await?;
        let title = |s: &VideoId| named.get(s).map(|v| v.title.clone());
        Ok(window
            .iter()
            .filter_map(|p| {
                let video = listed.get(&p.video)?.clone();
                let reason = match p.because {
                    Because::Liked(s) => title(&s).map_or_else(
                        || "because of videos you liked".to_owned(),
                        |t| format!("because you liked {t}"),
                    ),
                    Because::Watched(s) => title(&s).map_or_else(
                        || "because of videos you watched".to_owned(),
                        |t| format!("because you watched {t}"),
                    ),
                    Because::Trending => "trending".to_owned(),
                };
                Some((
                    p.video,
                    Recommended {
                        video,
                        score: f64::from(p.score),
                        reason,
                    },
                ))
            })
            .collect())
    }

    /// The viewer's newest favorites and, weaker, what they watched since `since`; and
    /// the favorites as a set.
    async fn seeds(
        &self,
        user: UserId,
        viewer_key: &str,
        since: chrono::DateTime<chrono::Utc>,
    ) -> DomainResult<(Vec<Seed>, HashSet<VideoId>)> {
        let favorites = self.repo.favorite_seeds(user, SEEDS).await?;
        let liked: HashSet<VideoId> = favorites.iter().copied().collect();
        let mut seeds: Vec<Seed> = favorites
            .iter()
            .map(|&video| Seed {
                video,
                weight: FAVORITE_SEED,
                favorited: true,
            })
            .collect();
        for video in self.repo.viewed(viewer_key, since, SEEDS).await? {
            if !liked.contains(&video) {
                seeds.push(Seed {
                    video,
                    weight: VIEW_SEED,
                    favorited: false,
                });
            }
        }
        Ok((seeds, liked))
    }

    /// The list a first page starts: the newest one while it is younger than
    /// [`LIST_REUSE`] and the viewer's feedback is what it was built from (so asking
    /// again costs no write), else a new one.
    async fn current(&self, viewer: &Viewer, user: UserId) -> DomainResult<(i64, Vec<Pick>)> {
        let viewer_key = viewer.counter_key();
        let (feedback, newest) = tokio::try_join!(
            self.repo.feedback(user, &viewer_key),
            self.repo.newest_list(user)
        )?;
        if let Some(list) = newest {
            if clock::now() - list.created_at < LIST_REUSE && list.feedback == feedback {
                return Ok((list.version, list.picks));
            }
        }
        self.build(viewer, user, &feedback).await
    }

    /// Builds and stores a new list for `user`; returns its version and picks.
    async fn build(
        &self,
        viewer: &Viewer,
        user: UserId,
        feedback: &str,
    ) -> DomainResult<(i64, Vec<Pick>)> {
        let now = clock::now();
        let since = now - Duration::days(RECENT_DAYS);
        let viewer_key = viewer.counter_key();
        let (seeds, liked) = self.seeds(user, &viewer_key, since).await?;
        let seed_ids: Vec<VideoId> = seeds.iter().map(|s| s.video).collect();
        let mut pairs = self
            .repo
            .co_favorites(&seed_ids, user, FANS, FAN_FAVORITES)
            .await?;
        let (_, trending) = self
            .videos
            .trending()
            .page(&VideoFilter::default(), Some(100), None)
            .await?;
        let candidates = most_voted(&pairs, &liked_or_seen(&seeds), CANDIDATES);
        pairs.retain(|(_, c)| candidates.contains(c));
        let mut ids: Vec<VideoId> = candidates.into_iter().collect();
        ids.extend(trending.items.iter().map(|(v, _)| v.id));
        ids.sort_by_key(|v| v.as_uuid());
        ids.dedup();
        let listed = self.videos.listed_many(viewer, &ids).await?;
        let excluded = self
            .excluded(user, &viewer_key, &ids, &listed, since)
            .await?;
        let mut counted = ids.clone();
        counted.extend(&seed_ids);
        let popularity = self.repo.like_counts(&counted).await?;
        let mut picks = rank(&seeds, &pairs, &popularity, &excluded);
        picks.truncate(PERSONAL);
        let mut taken: HashSet<VideoId> = picks.iter().map(|p| p.video).collect();
        for (video, _) in &trending.items {
            if picks.len() >= LIST_LEN {
                break;
            }
            if !excluded.contains(&video.id) && !liked.contains(&video.id) && taken.insert(video.id)
            {
                picks.push(Pick {
                    video: video.id,
                    score: 0.0,
                    because: Because::Trending,
                });
            }
        }
        let version = self
            .repo
            .save_list(user, &picks, feedback, now, KEEP_LISTS)
            .await?;
        Ok((version, picks))
    }

    /// Drops lists older than a day (the sweeper's work).
    pub async fn prune(&self) -> DomainResult<u64> {
        Ok(self.repo.prune_lists(clock::now() - LIST_LIFETIME).await?)
    }

    /// Of `candidates`, what must not be recommended: the viewer's own videos, what they
    /// favorited or watched lately, and anything not published PUBLIC (not even to
    /// admins, who may list more).
    async fn excluded(
        &self,
        user: UserId,
        viewer_key: &str,
        candidates: &[VideoId],
        listed: &HashMap<VideoId, Video>,
        since: chrono::DateTime<chrono::Utc>,
    ) -> DomainResult<HashSet<VideoId>> {
        let mut out: HashSet<VideoId> = candidates
            .iter()
            .filter(|id| listed.get(*id).is_none_or(|v| !recommendable(v, user)))
            .copied()
            .collect();
        out.extend(self.repo.favorited_among(user, candidates).await?);
        out.extend(
            self.repo
                .viewed_among(viewer_key, candidates, since)
                .await?,
        );
        Ok(out)
    }

    /// Anonymous viewers: the trending listing, its cursors and all.
    async fn trending_page(
        &self,
        first: Option<i64>,
        after: Option<&str>,
    ) -> DomainResult<RecommendedPage> {
        let after = after
            .map(|raw| cursor::decode_video(VideoSort::Trending, raw))
            .transpose()?;
        let (_, page) = self
            .videos
            .trending()
            .page(&VideoFilter::default(), first, after)
            .await?;
        Ok(RecommendedPage {
            items: page
                .items
                .into_iter()
                .map(|(video, key)| {
                    let cursor = cursor::encode_video(VideoSort::Trending, &key);
                    (
                        cursor,
                        Recommended {
                            video,
                            score: 0.0,
                            reason: "trending".to_owned(),
                        },
                    )
                })
                .collect(),
            has_next_page: page.has_next_page,
            has_previous_page: page.has_previous_page,
        })
    }
}
