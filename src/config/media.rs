//! The settings of media: where it lives, how large it may be, the programs that read
//! it, and the jobs that process it.

use clap::builder::RangedU64ValueParser;
use clap::{Args, ValueEnum};
use secrecy::SecretString;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum MediaStoreKind {
    Folder,
    Azure,
}

/// Where media lives, how large it may be, and the programs that read it.
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Media")]
pub struct MediaConfig {
    /// Where media lives: `folder` (data/media, served by reelgraph) or `azure`.
    #[arg(
        long,
        env = "REELGRAPH_MEDIA_STORE",
        value_enum,
        default_value = "folder",
        global = true
    )]
    pub media_store: MediaStoreKind,

    /// Azure Blob Storage account URL, for example `https://acct.blob.core.windows.net`
    /// (or an emulator's `http://127.0.0.1:10000/devstoreaccount1`).
    #[arg(long, env = "AZURE_STORAGE_ACCOUNT_URL", global = true)]
    pub azure_account_url: Option<String>,

    /// Azure account key (base64). Without it, reelgraph authenticates with Entra ID
    /// (a service principal from AZURE_TENANT_ID, AZURE_CLIENT_ID and AZURE_CLIENT_SECRET,
    /// else the managed identity) and signs user-delegation SAS URLs.
    #[arg(long, env = "AZURE_STORAGE_KEY", hide_env_values = true, global = true)]
    pub azure_account_key: Option<SecretString>,

    /// Entra ID tenant of the service principal (with the client id and secret).
    #[arg(long, env = "AZURE_TENANT_ID", global = true)]
    pub azure_tenant_id: Option<String>,

    /// Entra ID client (application) id of the service principal.
    #[arg(long, env = "AZURE_CLIENT_ID", global = true)]
    pub azure_client_id: Option<String>,

    /// Entra ID client secret of the service principal.
    #[arg(
        long,
        env = "AZURE_CLIENT_SECRET",
        hide_env_values = true,
        global = true
    )]
    pub azure_client_secret: Option<SecretString>,

    /// Blob container for media; created on start when missing.
    #[arg(
        long,
        env = "AZURE_STORAGE_CONTAINER",
        default_value = "reelgraph-media",
        global = true
    )]
    pub azure_container: String,

    /// Largest video a USER or CREATOR may upload, in bytes.
    #[arg(long, env = "REELGRAPH_MAX_VIDEO_BYTES", default_value_t = 2 << 30, global = true)]
    pub max_video_bytes: u64,

    /// Largest video a PREMIUM user (or an admin) may upload, in bytes.
    #[arg(long, env = "REELGRAPH_PREMIUM_MAX_VIDEO_BYTES", default_value_t = 20 << 30, global = true)]
    pub premium_max_video_bytes: u64,

    /// Largest thumbnail, in bytes.
    #[arg(long, env = "REELGRAPH_MAX_THUMBNAIL_BYTES", default_value_t = 5 << 20, global = true)]
    pub max_thumbnail_bytes: u64,

    /// Largest file in a GraphQL multipart request, in bytes (larger videos go direct).
    #[arg(long, env = "REELGRAPH_MAX_MULTIPART_FILE_BYTES", default_value_t = 64 << 20, global = true)]
    pub max_multipart_file_bytes: u64,

    /// Most files in one GraphQL multipart request (0 turns multipart uploads off).
    #[arg(
        long,
        env = "REELGRAPH_MAX_MULTIPART_FILES",
        default_value_t = 5,
        global = true
    )]
    pub max_multipart_files: usize,

    /// How long an upload ticket stays valid, in seconds (at most 900).
    #[arg(
        long,
        env = "REELGRAPH_UPLOAD_TICKET_SECONDS",
        default_value_t = 900,
        value_parser = clap::value_parser!(u64).range(1..=900),
        global = true
    )]
    pub upload_ticket_seconds: u64,

    /// ffprobe program (probing is skipped when it cannot be run).
    #[arg(
        long,
        env = "REELGRAPH_FFPROBE",
        default_value = "ffprobe",
        global = true
    )]
    pub ffprobe: String,

    /// ffmpeg program (thumbnails are skipped when it cannot be run).
    #[arg(
        long,
        env = "REELGRAPH_FFMPEG",
        default_value = "ffmpeg",
        global = true
    )]
    pub ffmpeg: String,
}

/// Media jobs and the sweeps that reclaim what is left behind.
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Background work")]
pub struct JobConfig {
    /// Run background jobs in this instance.
    #[arg(long, env = "REELGRAPH_RUN_JOBS", default_value_t = true, action = clap::ArgAction::Set, global = true)]
    pub run_jobs: bool,

    /// Jobs one instance runs at once.
    #[arg(
        long = "job-concurrency",
        env = "REELGRAPH_JOB_CONCURRENCY",
        default_value_t = 2,
        value_parser = RangedU64ValueParser::<usize>::new().range(1..),
        global = true
    )]
    pub concurrency: usize,

    /// Attempts of a job before it is dead and its video FAILED (1 to 100).
    #[arg(
        long = "job-max-attempts",
        env = "REELGRAPH_JOB_MAX_ATTEMPTS",
        default_value_t = 3,
        value_parser = clap::value_parser!(u32).range(1..=100),
        global = true
    )]
    pub max_attempts: u32,

    /// Delay before the second attempt, in milliseconds; doubled for each later one.
    #[arg(
        long = "job-backoff-ms",
        env = "REELGRAPH_JOB_BACKOFF_MS",
        default_value_t = 5000,
        global = true
    )]
    pub backoff_ms: u64,

    /// Worker heartbeat, in seconds; a job whose worker misses two is run again elsewhere.
    /// An idle worker also looks for work at least this often.
    #[arg(
        long = "job-heartbeat-seconds",
        env = "REELGRAPH_JOB_HEARTBEAT_SECONDS",
        default_value_t = 5,
        value_parser = clap::value_parser!(u64).range(1..),
        global = true
    )]
    pub heartbeat_seconds: u64,

    /// Seconds between background sweeps: stalled jobs, abandoned uploads, replaced media,
    /// expired "for you" lists.
    #[arg(
        long,
        env = "REELGRAPH_SWEEP_SECONDS",
        default_value_t = 30,
        value_parser = clap::value_parser!(u64).range(1..),
        global = true
    )]
    pub sweep_seconds: u64,

    /// Seconds between trending rankings: how often `trendingVideos` and
    /// `videos(sort: TRENDING)` take in new scores (every instance tries; one builds).
    #[arg(
        long,
        env = "REELGRAPH_TRENDING_SECONDS",
        default_value_t = 60,
        value_parser = clap::value_parser!(u64).range(1..),
        global = true
    )]
    pub trending_seconds: u64,
}
