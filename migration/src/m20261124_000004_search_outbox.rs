use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// One row per change that the search index must see, written in the transaction that
/// made the change. `video_id` NULL asks every replica to rebuild from the videos table.
#[derive(DeriveIden)]
enum SearchOutbox {
    Table,
    Id,
    VideoId,
    CreatedAt,
}

/// How far each search replica (one per server instance) has applied the outbox.
#[derive(DeriveIden)]
enum SearchReplicas {
    Table,
    ReplicaId,
    Position,
    SeenAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(SearchOutbox::Table)
                    .col(
                        ColumnDef::new(SearchOutbox::Id)
                            .big_integer()
                            .not_null()
                            .auto_increment()
                            .primary_key(),
                    )
                    .col(ColumnDef::new(SearchOutbox::VideoId).uuid().null())
                    .col(
                        ColumnDef::new(SearchOutbox::CreatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_search_outbox_created_at")
                    .table(SearchOutbox::Table)
                    .col(SearchOutbox::CreatedAt)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(SearchReplicas::Table)
                    .col(
                        ColumnDef::new(SearchReplicas::ReplicaId)
                            .string_len(64)
                            .not_null()
                            .primary_key(),
                    )
                    .col(
                        ColumnDef::new(SearchReplicas::Position)
                            .big_integer()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(SearchReplicas::SeenAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(SearchReplicas::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(SearchOutbox::Table).to_owned())
            .await
    }
}
