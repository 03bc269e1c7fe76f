use sea_orm_migration::prelude::*;

/// Trending rankings, and an index for featured recommendation items.
#[derive(DeriveMigrationName)]
pub struct Migration;

/// `trend_score` is the natural log of a video's exponentially decayed engagement,
/// measured against a fixed epoch (see `domain::video::trending`); NULL until the first
/// ranking scores the row from its counts.
#[derive(DeriveIden)]
enum Videos {
    Table,
    TrendScore,
}

/// One row per built trending ranking. `generation` is the ranking's time bucket, so
/// instances that build the same bucket at once agree on its number and only one of
/// them writes it.
#[derive(DeriveIden)]
enum TrendingGenerations {
    Table,
    Generation,
    BuiltAt,
    Size,
}

/// The ranked public videos of one generation: a listing page is one range of the
/// primary key. No foreign key: a video deleted since is left out by the listing's join.
#[derive(DeriveIden)]
enum TrendingRanks {
    Table,
    Generation,
    Position,
    VideoId,
}

/// The featured row of a feed reads only featured items of its kind.
#[derive(DeriveIden)]
enum Recommendations {
    Table,
    Featured,
    Kind,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_index(
                Index::create()
                    .name("recommendations_featured")
                    .table(Recommendations::Table)
                    .col(Recommendations::Featured)
                    .col(Recommendations::Kind)
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Videos::Table)
                    .add_column(ColumnDef::new(Videos::TrendScore).double().null())
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(TrendingGenerations::Table)
                    .col(
                        ColumnDef::new(TrendingGenerations::Generation)
                            .big_integer()
                            .not_null()
                            .primary_key(),
                    )
                    .col(
                        ColumnDef::new(TrendingGenerations::BuiltAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(TrendingGenerations::Size)
                            .big_integer()
                            .not_null()
                            .default(0),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(TrendingRanks::Table)
                    .col(
                        ColumnDef::new(TrendingRanks::Generation)
                            .big_integer()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(TrendingRanks::Position)
                            .big_integer()
                            .not_null(),
                    )
                    .col(ColumnDef::new(TrendingRanks::VideoId).uuid().not_null())
                    .primary_key(
                        Index::create()
                            .col(TrendingRanks::Generation)
                            .col(TrendingRanks::Position),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(
                Index::drop()
                    .name("recommendations_featured")
                    .table(Recommendations::Table)
                    .to_owned(),
            )
            .await?;
        manager
            .drop_table(Table::drop().table(TrendingRanks::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(TrendingGenerations::Table).to_owned())
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Videos::Table)
                    .drop_column(Videos::TrendScore)
                    .to_owned(),
            )
            .await
    }
}
