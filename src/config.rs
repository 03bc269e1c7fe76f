//! Typed configuration from flags and environment variables (see `.env.example`).
//!
//! Secrets are held as [`SecretString`], whose `Debug` prints `[REDACTED]`.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, ValueEnum};
use secrecy::SecretString;

use crate::domain::user::Role;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Mode {
    Development,
    Production,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Clone, Args)]
pub struct Config {
    /// Address to listen on; port 0 picks a free port.
    #[arg(
        long,
        env = "REELGRAPH_LISTEN",
        default_value = "127.0.0.1:8080",
        global = true
    )]
    pub listen: SocketAddr,

    /// Folder for the SQLite file, generated secrets and (later) the index and media.
    #[arg(
        long,
        env = "REELGRAPH_DATA_DIR",
        default_value = "./data",
        global = true
    )]
    pub data_dir: PathBuf,

    /// PostgreSQL (or SQLite) URL; overrides the SQLite file in the data folder.
    #[arg(long, env = "DATABASE_URL", hide_env_values = true, global = true)]
    pub database_url: Option<SecretString>,

    /// Redis URL; when set, revocations and rate limits are shared through Redis.
    #[arg(long, env = "REDIS_URL", hide_env_values = true, global = true)]
    pub redis_url: Option<SecretString>,

    /// Prefix for every Redis key this instance writes.
    #[arg(
        long,
        env = "REELGRAPH_REDIS_PREFIX",
        default_value = "reelgraph:",
        global = true
    )]
    pub redis_prefix: String,

    /// HS256 signing secret for access tokens, at least 32 bytes. Generated into the data
    /// folder when unset in development; required in production.
    #[arg(
        long,
        env = "REELGRAPH_JWT_SECRET",
        hide_env_values = true,
        global = true
    )]
    pub jwt_secret: Option<SecretString>,

    #[arg(
        long,
        env = "REELGRAPH_MODE",
        value_enum,
        default_value = "development",
        global = true
    )]
    pub mode: Mode,

    /// Run pending migrations at start-up.
    #[arg(long, env = "REELGRAPH_AUTO_MIGRATE", default_value_t = true, action = clap::ArgAction::Set, global = true)]
    pub auto_migrate: bool,

    /// Allow introspection and field suggestions (default: on in development, off in production).
    #[arg(long, env = "REELGRAPH_INTROSPECTION", action = clap::ArgAction::Set, global = true)]
    pub introspection: Option<bool>,

    /// Role given to newly registered users.
    #[arg(long, env = "REELGRAPH_DEFAULT_ROLE", default_value = "CREATOR", value_parser = parse_role, global = true)]
    pub default_role: Role,

    /// Largest accepted GraphQL request body in bytes.
    #[arg(long, env = "REELGRAPH_MAX_BODY_BYTES", default_value_t = 1 << 20, global = true)]
    pub max_body_bytes: usize,

    /// Database pool size.
    #[arg(
        long,
        env = "REELGRAPH_DB_MAX_CONNECTIONS",
        default_value_t = 16,
        global = true
    )]
    pub db_max_connections: u32,

    /// Password hashes computed at once (each holds 19 MiB); default: half the CPUs.
    #[arg(long, env = "REELGRAPH_HASH_CONCURRENCY", global = true)]
    pub hash_concurrency: Option<usize>,

    #[arg(
        long,
        env = "REELGRAPH_LOG_FORMAT",
        value_enum,
        default_value = "text",
        global = true
    )]
    pub log_format: LogFormat,
}

fn parse_role(raw: &str) -> Result<Role, String> {
    raw.parse()
}

impl Config {
    pub fn introspection_enabled(&self) -> bool {
        self.introspection.unwrap_or(self.mode == Mode::Development)
    }

    pub fn sqlite_path(&self) -> PathBuf {
        self.data_dir.join("reelgraph.db")
    }

    /// This instance's search replica. Instances never share one.
    pub fn search_dir(&self) -> PathBuf {
        self.data_dir.join("search-index")
    }
}
