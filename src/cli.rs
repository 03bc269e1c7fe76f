//! The command line: `serve` (the default), `migrate`, `schema`, `user create`, `seed`.

use clap::{Parser, Subcommand};

use crate::config::Config;
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
    /// Fill the database with deterministic demo data.
    /// Rebuild this instance's search index from the database into a fresh folder and
    /// swap it in; a running server switches to it by itself.
    Reindex,
    Seed {
        #[arg(long, default_value_t = 50)]
        users: u32,
        #[arg(long, default_value_t = 1000)]
        videos: u32,
        /// Seed for the generator; the same seed gives the same data.
        #[arg(long, default_value_t = 42)]
        seed: u64,
    },
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
