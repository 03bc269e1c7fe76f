use sea_orm_migration::prelude::*;

use crate::m20261124_000001_users_and_sessions::Users;
use crate::m20261124_000002_videos::Videos;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Favorites {
    Table,
    UserId,
    TargetKind,
    TargetId,
    CreatedAt,
}

#[derive(DeriveIden)]
enum VideoViews {
    Table,
    VideoId,
    ViewerKey,
    CountedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Favorites::Table)
                    .col(ColumnDef::new(Favorites::UserId).uuid().not_null())
                    .col(
                        ColumnDef::new(Favorites::TargetKind)
                            .string_len(16)
                            .not_null(),
                    )
                    .col(ColumnDef::new(Favorites::TargetId).uuid().not_null())
                    .col(
                        ColumnDef::new(Favorites::CreatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .primary_key(
                        Index::create()
                            .col(Favorites::UserId)
                            .col(Favorites::TargetKind)
                            .col(Favorites::TargetId),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(Favorites::Table, Favorites::UserId)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_favorites_target")
                    .table(Favorites::Table)
                    .col(Favorites::TargetKind)
                    .col(Favorites::TargetId)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_favorites_user_created")
                    .table(Favorites::Table)
                    .col(Favorites::UserId)
                    .col(Favorites::CreatedAt)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(VideoViews::Table)
                    .col(ColumnDef::new(VideoViews::VideoId).uuid().not_null())
                    .col(
                        ColumnDef::new(VideoViews::ViewerKey)
                            .string_len(96)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(VideoViews::CountedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .primary_key(
                        Index::create()
                            .col(VideoViews::VideoId)
                            .col(VideoViews::ViewerKey),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(VideoViews::Table, VideoViews::VideoId)
                            .to(Videos::Table, Videos::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(VideoViews::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(Favorites::Table).to_owned())
            .await
    }
}
