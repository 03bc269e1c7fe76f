//! The subcommands behind `reelgraph`.

mod csv_lines;
mod migrate;
pub mod recommendations;
mod reindex;
mod seed;
mod user;

use crate::cli::{Cli, Command, RecommendationAction};
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
        Command::Recommendations {
            action:
                RecommendationAction::Import {
                    kind,
                    source,
                    csv,
                    jsonl,
                    columns,
                    batch,
                },
        } => {
            let file = match (csv, jsonl) {
                (Some(path), _) => recommendations::ImportFile::Csv(path),
                (None, Some(path)) => recommendations::ImportFile::JsonLines(path),
                (None, None) => anyhow::bail!("give --csv FILE or --jsonl FILE"),
            };
            let args = recommendations::ImportArgs {
                kind,
                source,
                file,
                columns,
                batch: batch as usize,
            };
            recommendations::run(&config, args).await
        }
    }
}
