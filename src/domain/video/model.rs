use chrono::{DateTime, Utc};

use crate::domain::{UserId, VideoId};

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, strum::IntoStaticStr, strum::EnumString, strum::Display,
)]
#[strum(serialize_all = "SCREAMING_SNAKE_CASE")]
pub enum VideoStatus {
    Draft,
    Uploading,
    Processing,
    Ready,
    Failed,
}

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, strum::IntoStaticStr, strum::EnumString, strum::Display,
)]
#[strum(serialize_all = "SCREAMING_SNAKE_CASE")]
pub enum Visibility {
    Private,
    Unlisted,
    Public,
}

impl VideoStatus {
    /// The name stored in the database and sent on the wire.
    pub fn as_str(self) -> &'static str {
        self.into()
    }
}

impl Visibility {
    /// The name stored in the database and sent on the wire.
    pub fn as_str(self) -> &'static str {
        self.into()
    }
}

#[derive(Debug, Clone)]
pub struct Video {
    pub id: VideoId,
    pub owner_id: UserId,
    pub title: String,
    pub description: Option<String>,
    pub categories: Vec<String>,
    pub tags: Vec<String>,
    pub status: VideoStatus,
    pub visibility: Visibility,
    pub published_at: Option<DateTime<Utc>>,
    pub duration_seconds: Option<f64>,
    pub width: Option<i32>,
    pub height: Option<i32>,
    pub format: Option<String>,
    pub size_bytes: Option<i64>,
    pub media_key: Option<String>,
    pub thumbnail_key: Option<String>,
    pub processing_stage: Option<String>,
    pub processing_progress: i32,
    pub processing_error: Option<String>,
    pub processing_updated_at: Option<DateTime<Utc>>,
    /// What processing could not learn, for example without ffmpeg.
    pub processing_note: Option<String>,
    pub seo_title: Option<String>,
    pub seo_description: Option<String>,
    pub seo_keywords: Vec<String>,
    pub view_count: i64,
    pub like_count: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub deleted_at: Option<DateTime<Utc>>,
}

impl Video {
    pub fn is_published(&self) -> bool {
        self.published_at.is_some()
    }

    /// The SEO title: the creator's own, or the title cut to 70 characters.
    pub fn effective_seo_title(&self) -> String {
        self.seo_title
            .clone()
            .unwrap_or_else(|| self.title.chars().take(70).collect())
    }

    /// The SEO description: the creator's own, or the description cut to 160 characters.
    pub fn effective_seo_description(&self) -> Option<String> {
        self.seo_description.clone().or_else(|| {
            self.description
                .as_ref()
                .map(|d| d.chars().take(160).collect())
        })
    }

    /// The SEO keywords: the creator's own, or the tags.
    pub fn effective_seo_keywords(&self) -> Vec<String> {
        if self.seo_keywords.is_empty() {
            self.tags.clone()
        } else {
            self.seo_keywords.clone()
        }
    }
}

#[derive(Debug, Clone)]
pub struct NewVideo {
    pub id: VideoId,
    pub owner_id: UserId,
    pub title: String,
    pub description: Option<String>,
    pub categories: Vec<String>,
    pub tags: Vec<String>,
    pub visibility: Visibility,
    pub seo_title: Option<String>,
    pub seo_description: Option<String>,
    pub seo_keywords: Vec<String>,
    pub now: DateTime<Utc>,
}

/// An edit of a video's metadata; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct VideoChanges {
    pub title: Option<String>,
    pub description: Option<Option<String>>,
    pub categories: Option<Vec<String>>,
    pub tags: Option<Vec<String>>,
    pub visibility: Option<Visibility>,
    pub seo_title: Option<Option<String>>,
    pub seo_description: Option<Option<String>>,
    pub seo_keywords: Option<Vec<String>>,
}

impl VideoChanges {
    /// Names of the fields this edit would change on `video`, for the version record.
    pub fn changed_fields(&self, video: &Video) -> Vec<&'static str> {
        let mut out = Vec::new();
        if self.title.as_ref().is_some_and(|t| *t != video.title) {
            out.push("title");
        }
        if self
            .description
            .as_ref()
            .is_some_and(|d| *d != video.description)
        {
            out.push("description");
        }
        if self
            .categories
            .as_ref()
            .is_some_and(|c| *c != video.categories)
        {
            out.push("categories");
        }
        if self.tags.as_ref().is_some_and(|t| *t != video.tags) {
            out.push("tags");
        }
        if self.visibility.is_some_and(|v| v != video.visibility) {
            out.push("visibility");
        }
        if self
            .seo_title
            .as_ref()
            .is_some_and(|s| *s != video.seo_title)
        {
            out.push("seoTitle");
        }
        if self
            .seo_description
            .as_ref()
            .is_some_and(|s| *s != video.seo_description)
        {
            out.push("seoDescription");
        }
        if self
            .seo_keywords
            .as_ref()
            .is_some_and(|k| *k != video.seo_keywords)
        {
            out.push("seoKeywords");
        }
        out
    }
}

#[derive(Debug, Clone)]
pub struct VideoVersion {
    pub version: i32,
    pub size_bytes: Option<i64>,
    pub changes: Option<String>,
    pub created_at: DateTime<Utc>,
}
