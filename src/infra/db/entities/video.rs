use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "videos")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub owner_id: Uuid,
    pub title: String,
    pub description: Option<String>,
    /// JSON array of strings.
    pub categories: String,
    /// JSON array of strings.
    pub tags: String,
    pub status: String,
    pub visibility: String,
    pub published_at: Option<DateTimeUtc>,
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
    pub processing_updated_at: Option<DateTimeUtc>,
    pub processing_note: Option<String>,
    pub seo_title: Option<String>,
    pub seo_description: Option<String>,
    /// JSON array of strings.
    pub seo_keywords: String,
    pub view_count: i64,
    pub like_count: i64,
    /// ln of the decayed engagement (domain::video::trending); NULL until first scored.
    pub trend_score: Option<f64>,
    /// When the score was taken from the counts (favorites before then count at
    /// publication); NULL while unscored or scored event by event.
    pub trend_base_at: Option<DateTimeUtc>,
    /// The time favorites until `trend_base_at` were counted at.
    pub trend_anchor_at: Option<DateTimeUtc>,
    /// The publish boost was given (once per video).
    pub trend_boosted: bool,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    pub deleted_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
