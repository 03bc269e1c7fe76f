use sea_orm_migration::prelude::*;

use crate::m20261124_000001_users_and_sessions::Users;
use crate::m20261124_000002_videos::Videos;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// Typed cards (a video, movie, book, activity or game) that admins curate or sources
/// feed. Items from a source are keyed by (source, source_ref), so a re-import updates in
/// place; admins' own items have neither.
#[derive(DeriveIden)]
enum Recommendations {
    Table,
    Id,
    Kind,
    Title,
    Subtitle,
    Description,
    Rating,
    ImageUrl,
    AccentColor,
    Duration,
    ReleaseDate,
    Source,
    SourceRef,
    VideoId,
    Featured,
    FeaturedFrom,
    FeaturedUntil,
    Score,
    LikeCount,
    CreatedBy,
    CreatedAt,
    UpdatedAt,
}

/// One row per feed key (a kind, or ALL), bumped in the transaction of every item change:
/// cached anonymous pages are keyed by it, so a change anywhere retires them everywhere.
#[derive(DeriveIden)]
enum RecommendationGenerations {
    Table,
    FeedKey,
    Generation,
}

/// The order of one feed version for one viewer (`anon` for anonymous viewers): item
/// ids, 16 bytes each, fixed when the version starts. `served` is how far pages of it
/// have been handed out, which is what "already shown" means for the next refresh.
#[derive(DeriveIden)]
enum FeedSnapshots {
    Table,
    ViewerKey,
    FeedKey,
    Version,
    ItemIds,
    Served,
    CreatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Recommendations::Table)
                    .col(
                        ColumnDef::new(Recommendations::Id)
                            .uuid()
                            .not_null()
                            .primary_key(),
                    )
                    .col(
                        ColumnDef::new(Recommendations::Kind)
                            .string_len(16)
                            .not_null(),
                    )
                    .col(ColumnDef::new(Recommendations::Title).text().not_null())
                    .col(ColumnDef::new(Recommendations::Subtitle).text())
                    .col(ColumnDef::new(Recommendations::Description).text())
                    .col(ColumnDef::new(Recommendations::Rating).double())
                    .col(ColumnDef::new(Recommendations::ImageUrl).text())
                    .col(ColumnDef::new(Recommendations::AccentColor).string_len(7))
                    .col(ColumnDef::new(Recommendations::Duration).text())
                    .col(ColumnDef::new(Recommendations::ReleaseDate).string_len(16))
                    .col(ColumnDef::new(Recommendations::Source).string_len(64))
                    .col(ColumnDef::new(Recommendations::SourceRef).string_len(200))
                    .col(ColumnDef::new(Recommendations::VideoId).uuid())
                    .col(
                        ColumnDef::new(Recommendations::Featured)
                            .boolean()
                            .not_null()
                            .default(false),
                    )
                    .col(ColumnDef::new(Recommendations::FeaturedFrom).timestamp_with_time_zone())
                    .col(ColumnDef::new(Recommendations::FeaturedUntil).timestamp_with_time_zone())
                    .col(
                        ColumnDef::new(Recommendations::Score)
                            .double()
                            .not_null()
                            .default(0.0),
                    )
                    .col(
                        ColumnDef::new(Recommendations::LikeCount)
                            .big_integer()
                            .not_null()
                            .default(0),
                    )
                    .col(ColumnDef::new(Recommendations::CreatedBy).uuid())
                    .col(
                        ColumnDef::new(Recommendations::CreatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(Recommendations::UpdatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(Recommendations::Table, Recommendations::VideoId)
                            .to(Videos::Table, Videos::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(Recommendations::Table, Recommendations::CreatedBy)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::SetNull),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("recommendations_source_ref")
                    .table(Recommendations::Table)
                    .col(Recommendations::Source)
                    .col(Recommendations::SourceRef)
                    .unique()
                    .to_owned(),
            )
            .await?;
        // A feed is one range of this index: kind, then score, newest, id.
        manager
            .create_index(
                Index::create()
                    .name("recommendations_kind_score")
                    .table(Recommendations::Table)
                    .col(Recommendations::Kind)
                    .col(Recommendations::Score)
                    .col(Recommendations::CreatedAt)
                    .col(Recommendations::Id)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("recommendations_score")
                    .table(Recommendations::Table)
                    .col(Recommendations::Score)
                    .col(Recommendations::CreatedAt)
                    .col(Recommendations::Id)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("recommendations_video")
                    .table(Recommendations::Table)
                    .col(Recommendations::VideoId)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(RecommendationGenerations::Table)
                    .col(
                        ColumnDef::new(RecommendationGenerations::FeedKey)
                            .string_len(16)
                            .not_null()
                            .primary_key(),
                    )
                    .col(
                        ColumnDef::new(RecommendationGenerations::Generation)
                            .big_integer()
                            .not_null(),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(FeedSnapshots::Table)
                    .col(
                        ColumnDef::new(FeedSnapshots::ViewerKey)
                            .string_len(64)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(FeedSnapshots::FeedKey)
                            .string_len(16)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(FeedSnapshots::Version)
                            .big_integer()
                            .not_null(),
                    )
                    .col(ColumnDef::new(FeedSnapshots::ItemIds).blob().not_null())
                    .col(
                        ColumnDef::new(FeedSnapshots::Served)
                            .integer()
                            .not_null()
                            .default(0),
                    )
                    .col(
                        ColumnDef::new(FeedSnapshots::CreatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .primary_key(
                        Index::create()
                            .col(FeedSnapshots::ViewerKey)
                            .col(FeedSnapshots::FeedKey)
                            .col(FeedSnapshots::Version),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("feed_snapshots_created")
                    .table(FeedSnapshots::Table)
                    .col(FeedSnapshots::CreatedAt)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(FeedSnapshots::Table).to_owned())
            .await?;
        manager
            .drop_table(
                Table::drop()
                    .table(RecommendationGenerations::Table)
                    .to_owned(),
            )
            .await?;
        manager
            .drop_table(Table::drop().table(Recommendations::Table).to_owned())
            .await
    }
}
