//! The subcommands behind `reelgraph`.

mod migrate;
mod reindex;
mod seed;
mod user;

use crate::cli::{Cli, Command};
use crate::startup::Application;

pub async fn run(cli: Cli) -> anyhow::Result<()> {
    let config = cli.config;
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => Application::build(config).await?.run_until_stopped().await,
        Command::Migrate { action } => migrate::run(&config, action).await,
        Command::Schema => {
            print!("{}", crate::api::sdl());
            Ok(())
        }
        Command::User { action } => user::run(config, action).await,
        Command::Reindex => reindex::run(&config).await,
        Command::Seed {
            users,
            videos,
            seed,
        } => seed::run(&config, users, videos, seed).await,
    }
}
