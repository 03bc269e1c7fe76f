use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// Stored objects nothing points at any more (a replaced thumbnail or video file), written
/// in the transaction that replaced them. The sweeper deletes each object once signed
/// read URLs handed out before the replacement have expired, then its row.
#[derive(DeriveIden)]
enum ReleasedMedia {
    Table,
    ObjectKey,
    ReleasedAt,
}

const INDEX: &str = "released_media_released_at";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(ReleasedMedia::Table)
                    .col(
                        ColumnDef::new(ReleasedMedia::ObjectKey)
                            .text()
                            .not_null()
                            .primary_key(),
                    )
                    .col(
                        ColumnDef::new(ReleasedMedia::ReleasedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name(INDEX)
                    .table(ReleasedMedia::Table)
                    .col(ReleasedMedia::ReleasedAt)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(ReleasedMedia::Table).to_owned())
            .await
    }
}
