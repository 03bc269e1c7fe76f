//! The hot score behind `trendingVideos` and `videos(sort: TRENDING)`.
//!
//! A video's heat is its engagement with exponential time decay: every event (publish,
//! counted view, favorite) adds its weight, and each contribution halves every
//! [`HALF_LIFE_HOURS`]. Lemmy's hot_rank and Hacker News' gravity decay a post's *age*
//! instead; decaying each event lets an old video that suddenly draws views climb again,
//! which is what a video platform's "trending" is for (PeerTube's "hot" mixes both).
//!
//! The score is stored as forward decay (Cormode et al.): `ln Σ wᵢ·2^((tᵢ − EPOCH)/h)`.
//! Every contribution decays by the same factor as time passes, so the order of two
//! stored scores never changes on its own: a score moves only when its video's counts
//! move, and nothing has to re-score old rows for ageing. Log space keeps the sum finite
//! for millennia (it grows by ln 2 per half-life).

use chrono::{DateTime, TimeZone, Utc};

/// How long until an event counts half as much.
pub const HALF_LIFE_HOURS: f64 = 24.0;
/// A counted view (one per viewer per view window).
pub const VIEW_WEIGHT: f64 = 1.0;
/// A favorite: a deliberate act, worth several views.
pub const FAVORITE_WEIGHT: f64 = 5.0;
/// Publishing: a new video starts as if it had this many views, decaying like them.
pub const PUBLISH_WEIGHT: f64 = 10.0;
/// Creation: keeps every row's score finite, drafts included (they are never listed).
pub const CREATE_WEIGHT: f64 = 1.0;

/// A remainder below this fraction of the score is treated as rounding left-overs.
const REMAINDER_FLOOR: f64 = 1e-12;

fn epoch() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0)
        .single()
        .unwrap_or(DateTime::UNIX_EPOCH)
}

/// `ln(weight · 2^((at − EPOCH)/h))`: what one event at `at` adds, in score units.
pub fn contribution(weight: f64, at: DateTime<Utc>) -> f64 {
    let hours = (at - epoch()).num_milliseconds() as f64 / 3_600_000.0;
    weight.ln() + hours / HALF_LIFE_HOURS * std::f64::consts::LN_2
}

/// The score with one more contribution (log-sum-exp, stable for any magnitudes).
pub fn add(score: f64, contribution: f64) -> f64 {
    let (hi, lo) = if score >= contribution {
        (score, contribution)
    } else {
        (contribution, score)
    };
    hi + (lo - hi).exp().ln_1p()
}

/// The score without a contribution added earlier (a favorite taken back), never below
/// `floor` (the video's creation, which every score holds), so it stays finite.
pub fn remove(score: f64, contribution: f64, floor: f64) -> f64 {
    let rest = -(contribution - score).exp();
    if rest.is_nan() || rest <= -1.0 + REMAINDER_FLOOR {
        return floor.min(score);
    }
    (score + rest.ln_1p()).max(floor.min(score))
}

/// What a video's counts say when it was never scored (rows from before scoring, or
/// bulk-inserted ones): creation, publication, and its views and favorites as if they
/// came at publication.
pub fn from_counts(
    created_at: DateTime<Utc>,
    published_at: Option<DateTime<Utc>>,
    views: i64,
    favorites: i64,
) -> f64 {
    let mut score = contribution(CREATE_WEIGHT, created_at);
    let anchor = published_at.unwrap_or(created_at);
    if published_at.is_some() {
        score = add(score, contribution(PUBLISH_WEIGHT, anchor));
    }
    let engagement = views.max(0) as f64 * VIEW_WEIGHT + favorites.max(0) as f64 * FAVORITE_WEIGHT;
    if engagement > 0.0 {
        score = add(score, contribution(engagement, anchor));
    }
    score
}

#[cfg(test)]
mod tests {
    use chrono::Duration;

    use super::*;

    fn linear(score: f64, at: DateTime<Utc>) -> f64 {
        // The decayed sum as seen at `at`.
        (score - contribution(1.0, at)).exp()
    }

    #[test]
    fn contributions_halve_every_half_life() {
        let now = Utc::now();
        let s = contribution(8.0, now);
        assert!((linear(s, now) - 8.0).abs() < 1e-9);
        let later = now + Duration::hours(HALF_LIFE_HOURS as i64);
        assert!((linear(s, later) - 4.0).abs() < 1e-9);
    }

    #[test]
    fn add_and_remove_are_inverse_and_exact_in_linear_terms() {
        let now = Utc::now();
        let base = from_counts(now - Duration::days(3), Some(now - Duration::days(2)), 7, 2);
        let fav = contribution(FAVORITE_WEIGHT, now);
        let with = add(base, fav);
        assert!((linear(with, now) - linear(base, now) - FAVORITE_WEIGHT).abs() < 1e-9);
        let floor = contribution(CREATE_WEIGHT, now - Duration::days(3));
        assert!((remove(with, fav, floor) - base).abs() < 1e-9);
        // Taking away more than there is stops at the floor, finite, and stays there.
        let gone = remove(base, fav + 5.0, floor);
        assert_eq!(gone, floor);
        assert_eq!(remove(gone, fav, floor), floor);
    }

    #[test]
    fn recent_engagement_beats_old_engagement_and_the_order_keeps() {
        let now = Utc::now();
        let old = from_counts(
            now - Duration::days(10),
            Some(now - Duration::days(10)),
            500,
            50,
        );
        let mut fresh = from_counts(
            now - Duration::hours(2),
            Some(now - Duration::hours(2)),
            0,
            0,
        );
        for _ in 0..5 {
            fresh = add(fresh, contribution(VIEW_WEIGHT, now));
        }
        assert!(
            fresh > old,
            "a video viewed today outranks one viewed ten days ago"
        );
        // An old video that draws a burst of favorites now climbs back.
        let mut revived = old;
        for _ in 0..10 {
            revived = add(revived, contribution(FAVORITE_WEIGHT, now));
        }
        assert!(revived > fresh);
    }

    #[test]
    fn scores_stay_finite_far_from_the_epoch() {
        let far = epoch() + Duration::days(365 * 500);
        let s = add(contribution(1.0, far), contribution(PUBLISH_WEIGHT, far));
        assert!(s.is_finite());
        assert!(contribution(1.0, epoch() - Duration::days(365 * 100)).is_finite());
    }
}
