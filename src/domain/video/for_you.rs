//! "For you": which videos to recommend to a signed-in viewer, from what they did.
//!
//! Collaborative filtering by item-to-item co-occurrence (item-kNN): the viewer's recent
//! favorites (strong) and counted views (weaker) are the seeds; viewers who favorited a
//! seed vote for the other videos they favorited, each vote scaled by cosine
//! normalisation (`1/√(popularity(seed)·popularity(candidate))`) so that what everyone
//! likes does not drown the rest. It is computed when the viewer asks, so a favorite or a
//! view changes their next first page at once. Each pick remembers the seed that gave it
//! most, which the API turns into a reason ("because you liked <title>").

use std::collections::{HashMap, HashSet};

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::domain::error::BackendResult;
use crate::domain::{UserId, VideoId};

/// How much a seed counts.
pub const FAVORITE_SEED: f64 = 1.0;
pub const VIEW_SEED: f64 = 0.3;

/// A video the viewer engaged with.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Seed {
    pub video: VideoId,
    pub weight: f64,
    pub favorited: bool,
}

/// Why a video is in a viewer's list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Because {
    /// Viewers who liked this favorite of yours liked it too.
    Liked(VideoId),
    /// Viewers who liked this video you watched liked it too.
    Watched(VideoId),
    /// It is trending (no personal signal for it).
    Trending,
}

/// One entry of a stored list: a video, its score and why.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Pick {
    pub video: VideoId,
    pub score: f32,
    pub because: Because,
}

/// Scores candidates from co-favorites: `pairs` holds one (seed, candidate) entry per
/// viewer who favorited both; `popularity` is each video's favorite count. Candidates in
/// `excluded` are left out. Highest score first, ties by id for a stable order.
pub fn rank(
    seeds: &[Seed],
    pairs: &[(VideoId, VideoId)],
    popularity: &HashMap<VideoId, i64>,
    excluded: &HashSet<VideoId>,
) -> Vec<Pick> {
    let seed_of: HashMap<VideoId, &Seed> = seeds.iter().map(|s| (s.video, s)).collect();
    let pop = |v: &VideoId| popularity.get(v).copied().unwrap_or(1).max(1) as f64;
    // candidate -> (score, best seed, that seed's share)
    let mut scores: HashMap<VideoId, (f64, VideoId, f64)> = HashMap::new();
    let mut shares: HashMap<(VideoId, VideoId), f64> = HashMap::new();
    for (seed, candidate) in pairs {
        let Some(s) = seed_of.get(seed) else { continue };
        if excluded.contains(candidate) || seed_of.contains_key(candidate) {
            continue;
        }
        let vote = s.weight / (pop(seed) * pop(candidate)).sqrt();
        let share = shares.entry((*candidate, *seed)).or_insert(0.0);
        *share += vote;
        let entry = scores.entry(*candidate).or_insert((0.0, *seed, 0.0));
        entry.0 += vote;
        if *share > entry.2 {
            entry.1 = *seed;
            entry.2 = *share;
        }
    }
    let mut picks: Vec<Pick> = scores
        .into_iter()
        .map(|(video, (score, seed, _))| Pick {
            video,
            score: score as f32,
            because: if seed_of.get(&seed).is_some_and(|s| s.favorited) {
                Because::Liked(seed)
            } else {
                Because::Watched(seed)
            },
        })
        .collect();
    picks.sort_by(|a, b| {
        b.score
            .total_cmp(&a.score)
            .then_with(|| b.video.as_uuid().cmp(&a.video.as_uuid()))
    });
    picks
}

const ENTRY_BYTES: usize = 16 + 4 + 1 + 16;

/// A stored list: per pick its id, score, reason kind and the seed (zeros for trending).
pub fn encode(picks: &[Pick]) -> Vec<u8> {
    let mut out = Vec::with_capacity(picks.len() * ENTRY_BYTES);
    for p in picks {
        out.extend_from_slice(p.video.as_uuid().as_bytes());
        out.extend_from_slice(&p.score.to_le_bytes());
        let (tag, seed) = match p.because {
            Because::Liked(seed) => (1u8, Some(seed)),
            Because::Watched(seed) => (2, Some(seed)),
            Because::Trending => (0, None),
        };
        out.push(tag);
        let seed = seed.map_or(uuid::Uuid::nil(), |s| s.as_uuid());
        out.extend_from_slice(seed.as_bytes());
    }
    out
}

/// The list `encode` stored; `None` when the bytes are not such a list.
pub fn decode(bytes: &[u8]) -> Option<Vec<Pick>> {
    if bytes.len() % ENTRY_BYTES != 0 {
        return None;
    }
    bytes
        .chunks_exact(ENTRY_BYTES)
        .map(|c| {
            let video = VideoId::from_uuid(uuid::Uuid::from_slice(&c[..16]).ok()?);
            let score = f32::from_le_bytes(c[16..20].try_into().ok()?);
            let seed = VideoId::from_uuid(uuid::Uuid::from_slice(&c[21..]).ok()?);
            let because = match c[20] {
                0 => Because::Trending,
                1 => Because::Liked(seed),
                2 => Because::Watched(seed),
                _ => return None,
            };
            Some(Pick {
                video,
                score,
                because,
            })
        })
        .collect()
}

/// A stored list with what it was built from.
#[derive(Debug, Clone)]
pub struct StoredList {
    pub version: i64,
    pub created_at: DateTime<Utc>,
    /// The viewer's feedback fingerprint when it was built.
    pub feedback: String,
    pub picks: Vec<Pick>,
}

/// Where the signals and the stored lists come from.
#[async_trait]
pub trait ForYouRepository: Send + Sync {
    /// The user's newest video favorites, at most `limit`.
    async fn favorite_seeds(&self, user: UserId, limit: u64) -> BackendResult<Vec<VideoId>>;
    /// Videos counted as viewed by `viewer_key` since `since`, newest first, at most `limit`.
    async fn viewed(
        &self,
        viewer_key: &str,
        since: DateTime<Utc>,
        limit: u64,
    ) -> BackendResult<Vec<VideoId>>;
    /// One (seed, candidate) pair per viewer who favorited both: up to `fans` other
    /// favorites of the seeds by anyone but `except`, and up to `rows` video favorites of
    /// those viewers (read in index order, not newest first: ordering would sort every
    /// favorite of a popular seed).
    async fn co_favorites(
        &self,
        seeds: &[VideoId],
        except: UserId,
        fans: u64,
        rows: u64,
    ) -> BackendResult<Vec<(VideoId, VideoId)>>;
    /// Of `ids`, those `user` favorited.
    async fn favorited_among(
        &self,
        user: UserId,
        ids: &[VideoId],
    ) -> BackendResult<HashSet<VideoId>>;
    /// The favorite counts of `ids`, whoever may see them (missing videos are absent).
    async fn like_counts(&self, ids: &[VideoId]) -> BackendResult<HashMap<VideoId, i64>>;
    /// Of `ids`, those counted as viewed by `viewer_key` since `since`.
    async fn viewed_among(
        &self,
        viewer_key: &str,
        ids: &[VideoId],
        since: DateTime<Utc>,
    ) -> BackendResult<HashSet<VideoId>>;
    /// Stores a new list for `user` and returns its version, larger than any version the
    /// user had (it starts from the time in microseconds, so a cursor of a list dropped
    /// long ago never names a new one); keeps the user's newest `keep` lists.
    async fn save_list(
        &self,
        user: UserId,
        picks: &[Pick],
        feedback: &str,
        now: DateTime<Utc>,
        keep: i64,
    ) -> BackendResult<i64>;
    async fn list(&self, user: UserId, version: i64) -> BackendResult<Option<Vec<Pick>>>;
    /// The user's newest list.
    async fn newest_list(&self, user: UserId) -> BackendResult<Option<StoredList>>;
    /// A fingerprint of the user's feedback: it changes whenever they add or remove a
    /// video favorite or have a view counted (`viewer_key`).
    async fn feedback(&self, user: UserId, viewer_key: &str) -> BackendResult<String>;
    /// Drops every list stored before `before`; returns how many.
    async fn prune_lists(&self, before: DateTime<Utc>) -> BackendResult<u64>;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(n: usize) -> Vec<VideoId> {
        (0..n).map(|_| VideoId::new()).collect()
    }

    #[test]
    fn co_favorites_rank_and_name_the_seed_that_gave_most() {
        let v = ids(6);
        let seeds = [
            Seed {
                video: v[0],
                weight: FAVORITE_SEED,
                favorited: true,
            },
            Seed {
                video: v[1],
                weight: VIEW_SEED,
                favorited: false,
            },
        ];
        // Three fans of v0 also like v2, one likes v3; a fan of v1 likes v3 and v4.
        let pairs = [
            (v[0], v[2]),
            (v[0], v[2]),
            (v[0], v[2]),
            (v[0], v[3]),
            (v[1], v[3]),
            (v[1], v[4]),
            (v[0], v[1]), // a seed is never a candidate
            (v[0], v[5]), // excluded
        ];
        let popularity = v.iter().map(|id| (*id, 4)).collect();
        let excluded = [v[5]].into_iter().collect();
        let picks = rank(&seeds, &pairs, &popularity, &excluded);
        let order: Vec<VideoId> = picks.iter().map(|p| p.video).collect();
        assert_eq!(order, vec![v[2], v[3], v[4]]);
        assert_eq!(picks[0].because, Because::Liked(v[0]));
        assert_eq!(
            picks[1].because,
            Because::Liked(v[0]),
            "1.0 from v0 beats 0.3 from v1"
        );
        assert_eq!(picks[2].because, Because::Watched(v[1]));
    }

    #[test]
    fn popular_videos_are_damped() {
        let v = ids(3);
        let seeds = [Seed {
            video: v[0],
            weight: 1.0,
            favorited: true,
        }];
        // Two co-fans each, but v1 is liked by everyone.
        let pairs = [(v[0], v[1]), (v[0], v[1]), (v[0], v[2]), (v[0], v[2])];
        let popularity = [(v[0], 5), (v[1], 500), (v[2], 5)].into_iter().collect();
        let picks = rank(&seeds, &pairs, &popularity, &HashSet::new());
        assert_eq!(picks[0].video, v[2]);
    }

    #[test]
    fn stored_lists_round_trip_and_garbage_is_refused() {
        let v = ids(3);
        let picks = vec![
            Pick {
                video: v[0],
                score: 1.5,
                because: Because::Liked(v[2]),
            },
            Pick {
                video: v[1],
                score: 0.25,
                because: Because::Watched(v[2]),
            },
            Pick {
                video: v[2],
                score: 0.0,
                because: Because::Trending,
            },
        ];
        let bytes = encode(&picks);
        assert_eq!(decode(&bytes), Some(picks));
        assert_eq!(decode(&bytes[1..]), None);
        let mut bad = bytes.clone();
        bad[20] = 9;
        assert_eq!(decode(&bad), None);
    }
}
