//! Frozen DDL for reelgraph. Each migration runs unchanged on SQLite and PostgreSQL.
//!
//! Invariant: a migration that has landed is never edited; changes come as new migrations,
//! one ALTER per statement (SQLite cannot do more), foreign keys created with their table.

pub use sea_orm_migration::prelude::*;

mod m20261124_000001_users_and_sessions;
mod m20261124_000002_videos;
mod m20261124_000003_favorites_and_views;
mod m20261124_000004_search_outbox;
mod m20261125_000005_media_and_jobs;
mod m20261129_000006_username_skeletons;
mod m20261129_000007_released_media;
mod m20261203_000008_recommendations;
mod m20261204_000009_trending;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261124_000001_users_and_sessions::Migration),
            Box::new(m20261124_000002_videos::Migration),
            Box::new(m20261124_000003_favorites_and_views::Migration),
            Box::new(m20261124_000004_search_outbox::Migration),
            Box::new(m20261125_000005_media_and_jobs::Migration),
            Box::new(m20261129_000006_username_skeletons::Migration),
            Box::new(m20261129_000007_released_media::Migration),
            Box::new(m20261203_000008_recommendations::Migration),
            Box::new(m20261204_000009_trending::Migration),
        ]
    }
}
