use sea_orm_migration::prelude::*;

/// Trending rankings, "for you" lists, and indexes for featured recommendation items and
/// for a viewer's counted views.
#[derive(DeriveMigrationName)]
pub struct Migration;

/// `trend_score` is the natural log of a video's exponentially decayed engagement,
/// measured against a fixed epoch (see `domain::video::trending`); NULL until the first
/// ranking scores the row from its counts.
/// `trend_base_at` is when a row was scored from its counts, and `trend_anchor_at` the
/// time its favorites until then were counted at (its publication, or creation);
/// `trend_boosted` says the publish boost was given, which happens once in a video's life.
#[derive(DeriveIden)]
enum Videos {
    Table,
    TrendScore,
    TrendBaseAt,
    TrendAnchorAt,
    TrendBoosted,
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

/// A signed-in viewer's "for you" lists: picks (video, score, reason) fixed when the
/// list's first page was read, 37 bytes each, so later pages neither repeat nor skip.
#[derive(DeriveIden)]
enum ForYouLists {
    Table,
    UserId,
    Version,
    Picks,
    Feedback,
    CreatedAt,
}

/// What a viewer watched lately is read by viewer key.
#[derive(DeriveIden)]
enum VideoViews {
    Table,
    ViewerKey,
    CountedAt,
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
            .create_index(
                Index::create()
                    .name("video_views_viewer")
                    .table(VideoViews::Table)
                    .col(VideoViews::ViewerKey)
                    .col(VideoViews::CountedAt)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(ForYouLists::Table)
                    .col(ColumnDef::new(ForYouLists::UserId).uuid().not_null())
                    .col(
                        ColumnDef::new(ForYouLists::Version)
                            .big_integer()
                            .not_null(),
                    )
                    .col(ColumnDef::new(ForYouLists::Picks).blob().not_null())
                    .col(
                        ColumnDef::new(ForYouLists::Feedback)
                            .string_len(64)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(ForYouLists::CreatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .primary_key(
                        Index::create()
                            .col(ForYouLists::UserId)
                            .col(ForYouLists::Version),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("for_you_lists_created")
                    .table(ForYouLists::Table)
                    .col(ForYouLists::CreatedAt)
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
            .alter_table(
                Table::alter()
                    .table(Videos::Table)
                    .add_column(
                        ColumnDef::new(Videos::TrendBaseAt)
                            .timestamp_with_time_zone()
                            .null(),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Videos::Table)
                    .add_column(
                        ColumnDef::new(Videos::TrendAnchorAt)
                            .timestamp_with_time_zone()
                            .null(),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Videos::Table)
                    .add_column(
                        ColumnDef::new(Videos::TrendBoosted)
                            .boolean()
                            .not_null()
                            .default(false),
                    )
                    .to_owned(),
            )
            .await?;
        // Rankings read the top scores; rows never scored are found by their NULL.
        manager
            .create_index(
                Index::create()
                    .name("videos_trend_score")
                    .table(Videos::Table)
                    .col(Videos::TrendScore)
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
            .drop_table(Table::drop().table(ForYouLists::Table).to_owned())
            .await?;
        manager
            .drop_index(
                Index::drop()
                    .name("video_views_viewer")
                    .table(VideoViews::Table)
                    .to_owned(),
            )
            .await?;
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
            .drop_index(
                Index::drop()
                    .name("videos_trend_score")
                    .table(Videos::Table)
                    .to_owned(),
            )
            .await?;
        for column in [
            Videos::TrendBoosted,
            Videos::TrendBaseAt,
            Videos::TrendScore,
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table(Videos::Table)
                        .drop_column(column)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}
