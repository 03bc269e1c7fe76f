//! Typed configuration from flags and environment variables (see `.env.example`).
//!
//! Secrets are held as [`SecretString`], whose `Debug` prints `[REDACTED]`.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::builder::RangedU64ValueParser;
use clap::{Args, ValueEnum};
use secrecy::SecretString;

use crate::domain::user::Role;

mod media;

pub use media::{JobConfig, MediaConfig, MediaStoreKind};

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

/// The settings of one instance: a few of its own, then one group per concern. Flags
/// and environment variables keep flat names (`--job-max-attempts`,
/// `REELGRAPH_JOB_MAX_ATTEMPTS`); `--help` lists them under the groups' headings.
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

    #[arg(
        long,
        env = "REELGRAPH_MODE",
        value_enum,
        default_value = "development",
        global = true
    )]
    pub mode: Mode,

    /// The URL clients reach this server at, for signed media URLs of the folder store
    /// (default: `http://` and the listen address).
    #[arg(long, env = "REELGRAPH_PUBLIC_URL", global = true)]
    pub public_url: Option<String>,

    #[arg(
        long,
        env = "REELGRAPH_LOG_FORMAT",
        value_enum,
        default_value = "text",
        global = true
    )]
    pub log_format: LogFormat,

    #[command(flatten)]
    pub store: StoreConfig,

    #[command(flatten)]
    pub auth: AuthConfig,

    #[command(flatten)]
    pub http: HttpConfig,

    #[command(flatten)]
    pub live: LiveConfig,

    #[command(flatten)]
    pub media: MediaConfig,

    #[command(flatten)]
    pub jobs: JobConfig,
}

/// Where records and shared state live.
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Storage")]
pub struct StoreConfig {
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

    /// Run pending migrations at start-up.
    #[arg(long, env = "REELGRAPH_AUTO_MIGRATE", default_value_t = true, action = clap::ArgAction::Set, global = true)]
    pub auto_migrate: bool,

    /// Database pool size.
    #[arg(
        long,
        env = "REELGRAPH_DB_MAX_CONNECTIONS",
        default_value_t = 16,
        value_parser = clap::value_parser!(u32).range(1..),
        global = true
    )]
    pub db_max_connections: u32,
}

/// Accounts, tokens and password hashing.
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Accounts")]
pub struct AuthConfig {
    /// HS256 signing secret for access tokens, at least 32 bytes. Generated into the data
    /// folder when unset in development; required in production.
    #[arg(
        long,
        env = "REELGRAPH_JWT_SECRET",
        hide_env_values = true,
        global = true
    )]
    pub jwt_secret: Option<SecretString>,

    /// Role given to newly registered users.
    #[arg(long, env = "REELGRAPH_DEFAULT_ROLE", default_value = "CREATOR", value_parser = parse_role, global = true)]
    pub default_role: Role,

    /// Lifetime of access tokens, in seconds (at most a day). Sockets close when theirs
    /// expires (4401).
    #[arg(
        long,
        env = "REELGRAPH_ACCESS_TOKEN_SECONDS",
        default_value_t = 900,
        value_parser = clap::value_parser!(u64).range(1..=24 * 3600),
        global = true
    )]
    pub access_token_seconds: u64,

    /// Password hashes computed at once (each holds 19 MiB); default: half the CPUs.
    #[arg(long, env = "REELGRAPH_HASH_CONCURRENCY", value_parser = RangedU64ValueParser::<usize>::new().range(1..), global = true)]
    pub hash_concurrency: Option<usize>,
}

/// The HTTP server: connections, what one request may send, and introspection.
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "HTTP")]
pub struct HttpConfig {
    /// Allow introspection and field suggestions (default: on in development, off in production).
    #[arg(long, env = "REELGRAPH_INTROSPECTION", action = clap::ArgAction::Set, global = true)]
    pub introspection: Option<bool>,

    /// Largest accepted GraphQL request body in bytes.
    #[arg(long, env = "REELGRAPH_MAX_BODY_BYTES", default_value_t = 1 << 20, global = true)]
    pub max_body_bytes: usize,

    /// Most client connections served at once; further ones wait in the listen backlog.
    #[arg(
        long,
        env = "REELGRAPH_MAX_CONNECTIONS",
        default_value_t = 10_000,
        value_parser = RangedU64ValueParser::<usize>::new().range(1..),
        global = true
    )]
    pub max_connections: usize,

    /// Seconds a client may take to send a request's headers; also how long an idle
    /// keep-alive connection stays open.
    #[arg(
        long,
        env = "REELGRAPH_HEADER_READ_TIMEOUT_SECONDS",
        default_value_t = 20,
        value_parser = clap::value_parser!(u64).range(1..),
        global = true
    )]
    pub header_read_timeout_seconds: u64,

    /// Seconds a request body may pause; past that long a body must also average at least
    /// 1 KiB/s, or the request is cut off.
    #[arg(
        long,
        env = "REELGRAPH_BODY_STALL_SECONDS",
        default_value_t = 15,
        value_parser = clap::value_parser!(u64).range(1..),
        global = true
    )]
    pub body_stall_seconds: u64,
}

/// GraphQL sockets and event streams.
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Subscriptions")]
pub struct LiveConfig {
    /// Browser origins (besides the server's own) allowed to open GraphQL sockets,
    /// comma-separated; `*` allows any.
    #[arg(
        long,
        env = "REELGRAPH_WS_ORIGINS",
        value_delimiter = ',',
        global = true
    )]
    pub ws_origins: Vec<String>,

    /// Seconds a socket may take to send connection_init before it is closed (4408).
    #[arg(
        long,
        env = "REELGRAPH_WS_INIT_TIMEOUT_SECONDS",
        default_value_t = 10,
        value_parser = clap::value_parser!(u64).range(1..),
        global = true
    )]
    pub ws_init_timeout_seconds: u64,

    /// WebSocket sockets and event streams one address may hold open, and sockets one
    /// signed-in user may hold, on this instance (more are closed with 1013).
    #[arg(
        long = "live-sockets-per-client",
        env = "REELGRAPH_LIVE_SOCKETS_PER_CLIENT",
        default_value_t = 64,
        value_parser = RangedU64ValueParser::<usize>::new().range(1..),
        global = true
    )]
    pub sockets_per_client: usize,

    /// Subscriptions one signed-in user (or one address, for anonymous viewers) may hold
    /// across all its sockets and streams on this instance.
    #[arg(
        long = "live-subscriptions-per-client",
        env = "REELGRAPH_LIVE_SUBSCRIPTIONS_PER_CLIENT",
        default_value_t = 512,
        value_parser = RangedU64ValueParser::<usize>::new().range(1..),
        global = true
    )]
    pub subscriptions_per_client: usize,
}

/// A role by name, in any case; the error lists the names.
pub(crate) fn parse_role(raw: &str) -> Result<Role, String> {
    use strum::VariantNames;
    raw.parse().map_err(|_| {
        format!(
            "unknown role {raw:?}; expected one of {}",
            Role::VARIANTS.join(", ")
        )
    })
}

impl Config {
    /// The defaults of every setting (as `reelgraph serve` without flags or environment
    /// would have them), with the data folder given. For tests and tools.
    pub fn with_defaults(data_dir: PathBuf) -> Result<Self, clap::Error> {
        use clap::FromArgMatches;
        // The flags' own defaults, with the environment ignored: one source of defaults.
        let command = Self::augment_args(clap::Command::new("reelgraph")).mut_args(|a| a.env(None));
        let mut args = vec![std::ffi::OsString::from("reelgraph"), "--data-dir".into()];
        args.push(data_dir.into_os_string());
        let matches = command.try_get_matches_from(args)?;
        Self::from_arg_matches(&matches)
    }

    pub fn introspection_enabled(&self) -> bool {
        self.http
            .introspection
            .unwrap_or(self.mode == Mode::Development)
    }

    pub fn sqlite_path(&self) -> PathBuf {
        self.data_dir.join("reelgraph.db")
    }

    pub fn media_dir(&self) -> PathBuf {
        self.data_dir.join("media")
    }

    /// The embedded job queue's own SQLite file.
    pub fn jobs_path(&self) -> PathBuf {
        self.data_dir.join("jobs.db")
    }

    /// This instance's search replica. Instances never share one.
    pub fn search_dir(&self) -> PathBuf {
        self.data_dir.join("search-index")
    }
}

#[cfg(test)]
mod tests;
