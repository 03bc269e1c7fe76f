//! Recommendations: typed cards (a video, movie, book, activity or game) that admins
//! curate or sources feed, shown in feeds that hold still while a viewer scrolls.
//!
//! An item's fields are checked in one place ([`RecommendationFields::validated`]) for
//! every way in: admins' mutations, file imports and feed sources. A VIDEO item points at
//! a video and is shown only while that video is listed for the viewer.

pub mod feed;
mod fields;
pub mod mapping;
mod ports;

use chrono::{DateTime, Utc};

pub use fields::{is_http_url, RATING_MAX};
pub use ports::{FeedKey, ImportOutcome, RecommendationRepository, SnapshotKey, MAX_FEATURED};

use crate::domain::{RecommendationId, UserId, VideoId};

#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    strum::IntoStaticStr,
    strum::EnumString,
    strum::Display,
    strum::EnumIter,
)]
#[strum(serialize_all = "SCREAMING_SNAKE_CASE")]
pub enum RecommendationKind {
    Video,
    Movie,
    Book,
    Activity,
    Game,
}

impl RecommendationKind {
    /// The name stored in the database and sent on the wire.
    pub fn as_str(self) -> &'static str {
        self.into()
    }
}

/// What an item says about itself: everything but its identity and counts.
#[derive(Debug, Clone, PartialEq)]
pub struct RecommendationFields {
    pub kind: RecommendationKind,
    pub title: String,
    pub subtitle: Option<String>,
    pub description: Option<String>,
    /// 0 to [`RATING_MAX`] (stars).
    pub rating: Option<f64>,
    pub image_url: Option<String>,
    /// `#rrggbb`, stored lowercase.
    pub accent_color: Option<String>,
    /// Display text ("2h 15m", "320 pages").
    pub duration: Option<String>,
    /// ISO 8601: `YYYY`, `YYYY-MM` or `YYYY-MM-DD`; years before 1 as `-YYYY`.
    pub release_date: Option<String>,
    pub source: Option<String>,
    pub source_ref: Option<String>,
    pub video_id: Option<VideoId>,
    pub featured: bool,
    pub featured_from: Option<DateTime<Utc>>,
    pub featured_until: Option<DateTime<Utc>>,
    /// Higher first in feeds that are not personal.
    pub score: f64,
}

impl RecommendationFields {
    /// A new item of `kind` titled `title`, everything else empty.
    pub fn new(kind: RecommendationKind, title: impl Into<String>) -> Self {
        Self {
            kind,
            title: title.into(),
            subtitle: None,
            description: None,
            rating: None,
            image_url: None,
            accent_color: None,
            duration: None,
            release_date: None,
            source: None,
            source_ref: None,
            video_id: None,
            featured: false,
            featured_from: None,
            featured_until: None,
            score: 0.0,
        }
    }
}

#[derive(Debug, Clone)]
pub struct Recommendation {
    pub id: RecommendationId,
    pub fields: RecommendationFields,
    pub like_count: i64,
    pub created_by: Option<UserId>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Recommendation {
    /// Featured now: marked, and `now` inside its window (either end may be open).
    pub fn is_featured_at(&self, now: DateTime<Utc>) -> bool {
        let f = &self.fields;
        f.featured
            && f.featured_from.is_none_or(|from| from <= now)
            && f.featured_until.is_none_or(|until| now < until)
    }
}

/// An admin's edit: `None` keeps a field, `Some(None)` clears a nullable one.
#[derive(Debug, Clone, Default)]
pub struct RecommendationPatch {
    pub kind: Option<RecommendationKind>,
    pub title: Option<String>,
    pub subtitle: Option<Option<String>>,
    pub description: Option<Option<String>>,
    pub rating: Option<Option<f64>>,
    pub image_url: Option<Option<String>>,
    pub accent_color: Option<Option<String>>,
    pub duration: Option<Option<String>>,
    pub release_date: Option<Option<String>>,
    pub source: Option<Option<String>>,
    pub source_ref: Option<Option<String>>,
    pub video_id: Option<Option<VideoId>>,
    pub featured: Option<bool>,
    pub featured_from: Option<Option<DateTime<Utc>>>,
    pub featured_until: Option<Option<DateTime<Utc>>>,
    pub score: Option<f64>,
}

fn keep<T>(current: &mut T, change: Option<T>) {
    if let Some(value) = change {
        *current = value;
    }
}

impl RecommendationPatch {
    /// The fields after this edit, not yet validated.
    pub fn apply(self, mut f: RecommendationFields) -> RecommendationFields {
        keep(&mut f.kind, self.kind);
        keep(&mut f.title, self.title);
        keep(&mut f.subtitle, self.subtitle);
        keep(&mut f.description, self.description);
        keep(&mut f.rating, self.rating);
        keep(&mut f.image_url, self.image_url);
        keep(&mut f.accent_color, self.accent_color);
        keep(&mut f.duration, self.duration);
        keep(&mut f.release_date, self.release_date);
        keep(&mut f.source, self.source);
        keep(&mut f.source_ref, self.source_ref);
        keep(&mut f.video_id, self.video_id);
        keep(&mut f.featured, self.featured);
        keep(&mut f.featured_from, self.featured_from);
        keep(&mut f.featured_until, self.featured_until);
        keep(&mut f.score, self.score);
        f
    }
}
