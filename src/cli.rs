//! The command line: `serve` (the default), `migrate`, `schema`, `user create`, `reindex`,
//! `seed` and `recommendations import`.

use std::path::PathBuf;

use clap::{Parser, Subcommand};

use crate::config::Config;
use crate::domain::recommendation::RecommendationKind;
use crate::domain::user::Role;

#[derive(Debug, Parser)]
#[command(name = "reelgraph", version, about = "GraphQL content platform server")]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    #[command(flatten)]
    pub config: Config,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the server (the default).
    Serve,
    /// Apply or inspect database migrations.
    Migrate {
        #[command(subcommand)]
        action: MigrateAction,
    },
    /// Print the GraphQL schema (SDL).
    Schema,
    /// Manage users.
    User {
        #[command(subcommand)]
        action: UserAction,
    },
    /// Rebuild this instance's search index from the database into a fresh folder and
    /// swap it in; a running server switches to it by itself.
    Reindex,
    /// Fill the database with deterministic demo data.
    Seed {
        #[arg(long, default_value_t = 50)]
        users: u32,
        #[arg(long, default_value_t = 1000)]
        videos: u32,
        /// Seed for the generator; the same seed gives the same data.
        #[arg(long, default_value_t = 42)]
        seed: u64,
    },
    /// Manage recommendation items.
    Recommendations {
        #[command(subcommand)]
        action: RecommendationAction,
    },
}

#[derive(Debug, Subcommand)]
pub enum RecommendationAction {
    /// Import items from a CSV file (with a header row) or a JSON Lines file. Items are
    /// keyed by (--source, sourceRef): importing again updates what changed and nothing
    /// else. Bad rows are reported with their line numbers and left out.
    Import {
        /// The kind of every imported item: MOVIE, BOOK, ACTIVITY or GAME.
        #[arg(long, value_parser = parse_kind)]
        kind: RecommendationKind,
        /// The source's name (lowercase letters, digits, '-', '_', '.'), for example goodbooks.
        #[arg(long)]
        source: String,
        #[arg(long, required_unless_present = "jsonl", conflicts_with = "jsonl")]
        csv: Option<PathBuf>,
        /// A file of one JSON object per line.
        #[arg(long)]
        jsonl: Option<PathBuf>,
        /// Item field = source column, comma-separated; title and sourceRef are required.
        /// Fields: title, subtitle, description, rating (0 to 5), imageUrl, accentColor,
        /// duration, releaseDate (years such as 2008.0 or -750 become ISO years), sourceRef,
        /// score.
        #[arg(long)]
        columns: String,
        /// Rows per transaction.
        #[arg(long, default_value_t = 500, value_parser = clap::value_parser!(u32).range(1..=5000))]
        batch: u32,
    },
}

fn parse_kind(raw: &str) -> Result<RecommendationKind, String> {
    raw.to_ascii_uppercase()
        .parse()
        .map_err(|_| format!("{raw:?} is not one of VIDEO, MOVIE, BOOK, ACTIVITY, GAME"))
}

#[derive(Debug, Subcommand)]
pub enum MigrateAction {
    /// Apply all pending migrations.
    Up,
    /// Roll back the last migration.
    Down,
    /// List migrations and whether they are applied.
    Status,
    /// Drop everything and apply all migrations.
    Fresh,
}

#[derive(Debug, Subcommand)]
pub enum UserAction {
    /// Create a user. The password is read from REELGRAPH_USER_PASSWORD or from stdin,
    /// never from the command line.
    Create {
        #[arg(long)]
        username: String,
        #[arg(long)]
        email: String,
        #[arg(long, value_parser = crate::config::parse_role, default_value = "CREATOR")]
        role: Role,
    },
}
