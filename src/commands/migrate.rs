use migration::{Migrator, MigratorTrait};

use crate::cli::MigrateAction;
use crate::config::Config;
use crate::startup::connect_database;

pub async fn run(config: &Config, action: MigrateAction) -> anyhow::Result<()> {
    let db = connect_database(config).await?;
    match action {
        MigrateAction::Up => Migrator::up(&db.conn, None).await?,
        MigrateAction::Down => Migrator::down(&db.conn, Some(1)).await?,
        MigrateAction::Fresh => Migrator::fresh(&db.conn).await?,
        MigrateAction::Status => {
            for m in Migrator::get_migration_with_status(&db.conn).await? {
                println!("{:<50} {}", m.name(), m.status());
            }
        }
    }
    Ok(())
}
