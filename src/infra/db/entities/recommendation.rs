use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "recommendations")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub kind: String,
    pub title: String,
    pub subtitle: Option<String>,
    pub description: Option<String>,
    pub rating: Option<f64>,
    pub image_url: Option<String>,
    pub accent_color: Option<String>,
    pub duration: Option<String>,
    pub release_date: Option<String>,
    pub source: Option<String>,
    pub source_ref: Option<String>,
    pub video_id: Option<Uuid>,
    pub featured: bool,
    pub featured_from: Option<DateTimeUtc>,
    pub featured_until: Option<DateTimeUtc>,
    pub score: f64,
    pub like_count: i64,
    pub created_by: Option<Uuid>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
