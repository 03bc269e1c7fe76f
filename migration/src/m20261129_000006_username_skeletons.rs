use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// The confusable skeleton of each username (Unicode TR39), unique, so that no one can
/// register a name that looks like another (`pаypal` with a Cyrillic а). NULL for rows
/// written before this column existed until the server fills them in on start; a later
/// row whose skeleton clashes with an earlier one stays NULL (both keep working).
#[derive(DeriveIden)]
enum Users {
    Table,
    UsernameSkeleton,
}

const INDEX: &str = "users_username_skeleton_key";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Users::Table)
                    .add_column(ColumnDef::new(Users::UsernameSkeleton).text().null())
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name(INDEX)
                    .table(Users::Table)
                    .col(Users::UsernameSkeleton)
                    .unique()
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(Index::drop().name(INDEX).table(Users::Table).to_owned())
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Users::Table)
                    .drop_column(Users::UsernameSkeleton)
                    .to_owned(),
            )
            .await
    }
}
