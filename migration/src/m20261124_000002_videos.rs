use sea_orm_migration::prelude::*;

use crate::m20261124_000001_users_and_sessions::Users;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden, Clone, Copy)]
pub enum Videos {
    Table,
    Id,
    OwnerId,
    Title,
    Description,
    Categories,
    Tags,
    Status,
    Visibility,
    PublishedAt,
    DurationSeconds,
    Width,
    Height,
    Format,
    SizeBytes,
    MediaKey,
    ThumbnailKey,
    ProcessingStage,
    ProcessingProgress,
    ProcessingError,
    ProcessingUpdatedAt,
    SeoTitle,
    SeoDescription,
    SeoKeywords,
    ViewCount,
    LikeCount,
    CreatedAt,
    UpdatedAt,
    DeletedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum VideoTags {
    Table,
    VideoId,
    Tag,
}

#[derive(DeriveIden, Clone, Copy)]
enum VideoCategories {
    Table,
    VideoId,
    Category,
}

#[derive(DeriveIden, Clone, Copy)]
enum VideoVersions {
    Table,
    VideoId,
    Version,
    SizeBytes,
    Changes,
    CreatedBy,
    CreatedAt,
}

fn label_table(
    table: impl IntoIden + Copy,
    video_id: impl IntoIden + Copy,
    label: impl IntoIden + Copy,
) -> TableCreateStatement {
    Table::create()
        .table(table)
        .col(ColumnDef::new(video_id).uuid().not_null())
        // Text: case folding can lengthen a label beyond the characters it was checked at.
        .col(ColumnDef::new(label).text().not_null())
        .primary_key(Index::create().col(video_id).col(label))
        .foreign_key(
            ForeignKey::create()
                .from(table, video_id)
                .to(Videos::Table, Videos::Id)
                .on_delete(ForeignKeyAction::Cascade),
        )
        .to_owned()
}

async fn index(
    manager: &SchemaManager<'_>,
    name: &str,
    table: impl IntoIden,
    cols: &[Videos],
) -> Result<(), DbErr> {
    let mut stmt = Index::create();
    stmt.name(name).table(table);
    for col in cols {
        stmt.col(*col);
    }
    manager.create_index(stmt.to_owned()).await
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Videos::Table)
                    .col(ColumnDef::new(Videos::Id).uuid().not_null().primary_key())
                    .col(ColumnDef::new(Videos::OwnerId).uuid().not_null())
                    .col(ColumnDef::new(Videos::Title).string_len(800).not_null())
                    .col(ColumnDef::new(Videos::Description).text().null())
                    .col(ColumnDef::new(Videos::Categories).text().not_null())
                    .col(ColumnDef::new(Videos::Tags).text().not_null())
                    .col(ColumnDef::new(Videos::Status).string_len(16).not_null())
                    .col(ColumnDef::new(Videos::Visibility).string_len(16).not_null())
                    .col(
                        ColumnDef::new(Videos::PublishedAt)
                            .timestamp_with_time_zone()
                            .null(),
                    )
                    .col(ColumnDef::new(Videos::DurationSeconds).double().null())
                    .col(ColumnDef::new(Videos::Width).integer().null())
                    .col(ColumnDef::new(Videos::Height).integer().null())
                    .col(ColumnDef::new(Videos::Format).string_len(64).null())
                    .col(ColumnDef::new(Videos::SizeBytes).big_integer().null())
                    .col(ColumnDef::new(Videos::MediaKey).string_len(255).null())
                    .col(ColumnDef::new(Videos::ThumbnailKey).string_len(255).null())
                    .col(
                        ColumnDef::new(Videos::ProcessingStage)
                            .string_len(32)
                            .null(),
                    )
                    .col(
                        ColumnDef::new(Videos::ProcessingProgress)
                            .integer()
                            .not_null()
                            .default(0),
                    )
                    .col(ColumnDef::new(Videos::ProcessingError).text().null())
                    .col(
                        ColumnDef::new(Videos::ProcessingUpdatedAt)
                            .timestamp_with_time_zone()
                            .null(),
                    )
                    .col(ColumnDef::new(Videos::SeoTitle).string_len(400).null())
                    .col(ColumnDef::new(Videos::SeoDescription).text().null())
                    .col(ColumnDef::new(Videos::SeoKeywords).text().not_null())
                    .col(
                        ColumnDef::new(Videos::ViewCount)
                            .big_integer()
                            .not_null()
                            .default(0),
                    )
                    .col(
                        ColumnDef::new(Videos::LikeCount)
                            .big_integer()
                            .not_null()
                            .default(0),
                    )
                    .col(
                        ColumnDef::new(Videos::CreatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(Videos::UpdatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(Videos::DeletedAt)
                            .timestamp_with_time_zone()
                            .null(),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(Videos::Table, Videos::OwnerId)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        // Keyset orders: every sort ends with the id as tie-breaker. Public feeds filter on
        // visibility first, so each public order has its own (visibility, key, id) index
        // and a page is an ordered index range whatever the table size.
        let indexes: [(&str, &[Videos]); 8] = [
            ("idx_videos_created", &[Videos::CreatedAt, Videos::Id]),
            ("idx_videos_likes", &[Videos::LikeCount, Videos::Id]),
            ("idx_videos_views", &[Videos::ViewCount, Videos::Id]),
            (
                "idx_videos_owner_created",
                &[Videos::OwnerId, Videos::CreatedAt, Videos::Id],
            ),
            (
                "idx_videos_owner_likes",
                &[Videos::OwnerId, Videos::LikeCount, Videos::Id],
            ),
            (
                "idx_videos_public_created",
                &[Videos::Visibility, Videos::CreatedAt, Videos::Id],
            ),
            (
                "idx_videos_public_likes",
                &[Videos::Visibility, Videos::LikeCount, Videos::Id],
            ),
            (
                "idx_videos_public_views",
                &[Videos::Visibility, Videos::ViewCount, Videos::Id],
            ),
        ];
        for (name, cols) in indexes {
            index(manager, name, Videos::Table, cols).await?;
        }

        manager
            .create_table(label_table(
                VideoTags::Table,
                VideoTags::VideoId,
                VideoTags::Tag,
            ))
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_video_tags_tag")
                    .table(VideoTags::Table)
                    .col(VideoTags::Tag)
                    .col(VideoTags::VideoId)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(label_table(
                VideoCategories::Table,
                VideoCategories::VideoId,
                VideoCategories::Category,
            ))
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_video_categories_category")
                    .table(VideoCategories::Table)
                    .col(VideoCategories::Category)
                    .col(VideoCategories::VideoId)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(VideoVersions::Table)
                    .col(ColumnDef::new(VideoVersions::VideoId).uuid().not_null())
                    .col(ColumnDef::new(VideoVersions::Version).integer().not_null())
                    .col(
                        ColumnDef::new(VideoVersions::SizeBytes)
                            .big_integer()
                            .null(),
                    )
                    .col(ColumnDef::new(VideoVersions::Changes).text().null())
                    .col(ColumnDef::new(VideoVersions::CreatedBy).uuid().null())
                    .col(
                        ColumnDef::new(VideoVersions::CreatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .primary_key(
                        Index::create()
                            .col(VideoVersions::VideoId)
                            .col(VideoVersions::Version),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(VideoVersions::Table, VideoVersions::VideoId)
                            .to(Videos::Table, Videos::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            VideoVersions::Table.into_iden(),
            VideoCategories::Table.into_iden(),
            VideoTags::Table.into_iden(),
            Videos::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}
