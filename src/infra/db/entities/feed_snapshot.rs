use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "feed_snapshots")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub viewer_key: String,
    #[sea_orm(primary_key, auto_increment = false)]
    pub feed_key: String,
    #[sea_orm(primary_key, auto_increment = false)]
    pub version: i64,
    /// Item ids, 16 bytes each, in feed order.
    pub item_ids: Vec<u8>,
    pub served: i32,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
