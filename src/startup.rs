//! Builds the adapters from config, wires them into [`AppState`] and serves the API.
//!
//! [`Application::build`] binds the listener first, so `--listen 127.0.0.1:0` works and
//! tests learn their port from [`Application::local_addr`].

use std::future::Future;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context};
use migration::{Migrator, MigratorTrait};
use poem::IntoEndpoint;
use rand::RngCore;
use secrecy::{ExposeSecret, SecretString};

use crate::api::ServeLimits;
use crate::app::dashboard::DashboardService;
use crate::app::{
    AuthService, FavoriteService, MediaService, RecentWrites, SearchService, UserService,
    VideoService,
};
use crate::config::{Config, MediaStoreKind, Mode};
use crate::domain::auth::{AttemptLimiter, RevocationList};
use crate::domain::events::EventBus;
use crate::domain::media::{JobQueue, MediaRepository, MediaStore, UploadLimits};
use crate::infra::auth::{Argon2Hasher, JwtTokens};
use crate::infra::db::{
    Database, SqlFavoriteRepository, SqlMediaRepository, SqlSessionRepository, SqlStatsRepository,
    SqlUserRepository, SqlVideoRepository,
};
use crate::infra::events::{LocalBus, RedisBus};
use crate::infra::jobs::{ApalisQueue, MediaProcessor, Tools};
use crate::infra::kv::{MemoryStore, RedisStore};
use crate::infra::media::{AzureAuth, AzureStore, FolderStore};
use crate::infra::search::SearchReplica;

pub const REFRESH_TOKEN_TTL: Duration = Duration::from_secs(30 * 24 * 3600);
const JWT_ISSUER: &str = "reelgraph";
const JWT_AUDIENCE: &str = "reelgraph-api";

/// Everything a request handler needs; cheap to clone.
#[derive(Clone)]
pub struct AppState {
    pub auth: Arc<AuthService>,
    pub users: Arc<UserService>,
    pub videos: Arc<VideoService>,
    pub favorites: Arc<FavoriteService>,
    pub search: Arc<SearchService>,
    pub replica: Arc<SearchReplica>,
    pub media: Arc<MediaService>,
    /// The folder store, whose `/media` routes serve uploads and reads; `None` on Azure.
    pub folder: Option<Arc<FolderStore>>,
    pub jobs: ApalisQueue,
    pub processor: Arc<MediaProcessor>,
    pub events: Arc<dyn EventBus>,
    pub dashboard: Arc<DashboardService>,
    pub db: Database,
    pub redis: Option<RedisStore>,
}

/// The database URL: `DATABASE_URL`, or the SQLite file in the data folder.
pub fn database_url(config: &Config) -> anyhow::Result<String> {
    if let Some(url) = &config.database_url {
        return Ok(url.expose_secret().to_owned());
    }
    std::fs::create_dir_all(&config.data_dir)
        .with_context(|| format!("cannot create data folder {}", config.data_dir.display()))?;
    Ok(format!(
        "sqlite://{}?mode=rwc",
        config.sqlite_path().display()
    ))
}

pub async fn connect_database(config: &Config) -> anyhow::Result<Database> {
    Database::connect(&database_url(config)?, config.db_max_connections).await
}

/// The access-token secret: configured, or generated once into the data folder.
fn jwt_secret(config: &Config) -> anyhow::Result<SecretString> {
    if let Some(secret) = &config.jwt_secret {
        if secret.expose_secret().len() < 32 {
            bail!("REELGRAPH_JWT_SECRET must be at least 32 bytes");
        }
        return Ok(secret.clone());
    }
    if config.mode == Mode::Production {
        bail!("production mode needs REELGRAPH_JWT_SECRET (at least 32 random bytes); refusing to start");
    }
    load_or_create_secret(&config.data_dir.join("jwt-secret"))
}

/// Reads the generated secret, or generates it when there is none. A file that exists but
/// cannot be read or holds fewer than 32 bytes stops the start: replacing it would sign
/// every session out and change every signed media URL, so the operator decides.
fn load_or_create_secret(path: &Path) -> anyhow::Result<SecretString> {
    match std::fs::read(path) {
        Ok(bytes) => {
            let text = String::from_utf8(bytes).map_err(|_| {
                anyhow::anyhow!(
                    "{} is not text; restore it, or delete it to generate a new secret (this signs everyone out)",
                    path.display()
                )
            })?;
            let existing = text.trim();
            if existing.len() < 32 {
                bail!(
                    "{} holds {} bytes, fewer than the 32 an access-token secret needs; restore it, or delete it to generate a new secret (this signs everyone out)",
                    path.display(),
                    existing.len()
                );
            }
            return Ok(SecretString::from(existing.to_owned()));
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => {
            return Err(e)
                .with_context(|| format!("cannot read the access-token secret {}", path.display()))
        }
    }
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)?;
    }
    let mut bytes = [0u8; 48];
    rand::rng().fill_bytes(&mut bytes);
    let secret = hex::encode(bytes);
    // Written whole to a file of its own, then linked into place: the secret file never
    // exists half-written, and of two instances starting at once one wins and the other
    // reads its secret.
    let tmp = path.with_extension(format!("tmp-{}", std::process::id()));
    let _ = std::fs::remove_file(&tmp);
    write_private(&tmp, &secret).with_context(|| format!("cannot write {}", tmp.display()))?;
    let linked = std::fs::hard_link(&tmp, path);
    let _ = std::fs::remove_file(&tmp);
    match linked {
        Ok(()) => {
            tracing::info!(path = %path.display(), "generated a new access-token secret");
            Ok(SecretString::from(secret))
        }
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => load_or_create_secret(path),
        Err(e) => Err(e).with_context(|| format!("cannot write {}", path.display())),
    }
}

#[cfg(unix)]
fn write_private(path: &Path, contents: &str) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    file.write_all(contents.as_bytes())
}

#[cfg(not(unix))]
fn write_private(path: &Path, contents: &str) -> std::io::Result<()> {
    std::fs::write(path, contents)
}

/// The media store named by the configuration; the folder store also comes back on its own
/// for its HTTP routes.
async fn media_store(
    config: &Config,
    secret: &SecretString,
    public_url: &str,
) -> anyhow::Result<(Arc<dyn MediaStore>, Option<Arc<FolderStore>>)> {
    match config.media_store {
        MediaStoreKind::Folder => {
            let store = Arc::new(
                FolderStore::new(
                    config.media_dir(),
                    public_url.to_owned(),
                    secret.expose_secret().as_bytes(),
                )
                .with_context(|| format!("cannot create {}", config.media_dir().display()))?,
            );
            Ok((store.clone(), Some(store)))
        }
        MediaStoreKind::Azure => {
            let url = config
                .azure_account_url
                .as_deref()
                .context("REELGRAPH_MEDIA_STORE=azure needs AZURE_STORAGE_ACCOUNT_URL")?;
            let auth = match &config.azure_account_key {
                Some(key) => {
                    use base64::Engine;
                    AzureAuth::AccountKey(
                        base64::engine::general_purpose::STANDARD
                            .decode(key.expose_secret().trim())
                            .context("AZURE_STORAGE_KEY is not base64")?,
                    )
                }
                None => AzureAuth::EntraId(entra_credential()?),
            };
            let store = AzureStore::connect(url, &config.azure_container, auth)
                .await
                .context("cannot open the Azure media container")?;
            Ok((Arc::new(store), None))
        }
    }
}

/// A service principal from AZURE_TENANT_ID, AZURE_CLIENT_ID and AZURE_CLIENT_SECRET, or
/// else the managed identity of the machine.
fn entra_credential() -> anyhow::Result<Arc<dyn azure_core::credentials::TokenCredential>> {
    let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    if let (Some(tenant), Some(client), Some(secret)) = (
        var("AZURE_TENANT_ID"),
        var("AZURE_CLIENT_ID"),
        var("AZURE_CLIENT_SECRET"),
    ) {
        return Ok(azure_identity::ClientSecretCredential::new(
            &tenant,
            client,
            secret.into(),
            None,
        )?);
    }
    Ok(azure_identity::ManagedIdentityCredential::new(None)?)
}

/// The job queue: PostgreSQL when the database is, else a SQLite file of its own.
async fn job_queue(config: &Config) -> anyhow::Result<ApalisQueue> {
    let heartbeat = Duration::from_secs(config.job_heartbeat_seconds.max(1));
    let url = database_url(config)?;
    if url.starts_with("postgres") {
        ApalisQueue::postgres(&url, heartbeat)
            .await
            .context("cannot set up the job queue in PostgreSQL")
    } else {
        ApalisQueue::sqlite(&config.jobs_path(), heartbeat)
            .await
            .with_context(|| format!("cannot open the job queue {}", config.jobs_path().display()))
    }
}

/// How clients reach this server: the configured public URL, or the listen address.
pub fn public_url(config: &Config, addr: SocketAddr) -> String {
    config
        .public_url
        .clone()
        .unwrap_or_else(|| format!("http://{addr}"))
}

/// Connects every adapter and builds the services. Runs migrations when configured.
pub async fn build_state(config: &Config) -> anyhow::Result<AppState> {
    build_state_at(config, &public_url(config, config.listen)).await
}

async fn build_state_at(config: &Config, public_url: &str) -> anyhow::Result<AppState> {
    let secret = jwt_secret(config)?;
    let db = connect_database(config).await?;
    if config.auto_migrate {
        Migrator::up(&db.conn, None)
            .await
            .context("migrations failed")?;
    }
    let filled = SqlUserRepository { db: db.clone() }
        .fill_username_skeletons()
        .await
        .context("cannot fill username skeletons")?;
    if filled > 0 {
        tracing::info!(users = filled, "filled username skeletons");
    }
    let redis = match &config.redis_url {
        Some(url) => Some(
            RedisStore::connect(url.expose_secret(), &config.redis_prefix)
                .await
                .context("cannot connect to redis")?,
        ),
        None => None,
    };
    let (revocations, limiter): (Arc<dyn RevocationList>, Arc<dyn AttemptLimiter>) = match &redis {
        Some(store) => (Arc::new(store.clone()), Arc::new(store.clone())),
        None => {
            let store = Arc::new(MemoryStore::default());
            (store.clone(), store)
        }
    };
    // Half the CPUs by default: a login storm then leaves the other half to serve
    // everything else instead of queueing every request behind argon2.
    let hash_concurrency = config.hash_concurrency.unwrap_or_else(|| {
        let cpus = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(2);
        (cpus / 2).max(1)
    });

    let user_repo = Arc::new(SqlUserRepository { db: db.clone() });
    let events: Arc<dyn EventBus> = match &config.redis_url {
        Some(url) => RedisBus::start(url.expose_secret(), &config.redis_prefix)
            .context("cannot start the event bus")?,
        None => Arc::new(LocalBus::default()),
    };
    let auth = Arc::new(AuthService {
        users: user_repo.clone(),
        sessions: Arc::new(SqlSessionRepository { db: db.clone() }),
        hasher: Arc::new(Argon2Hasher::new(hash_concurrency)?),
        tokens: Arc::new(JwtTokens::new(
            secret.expose_secret().as_bytes(),
            JWT_ISSUER,
            JWT_AUDIENCE,
            Duration::from_secs(config.access_token_seconds.clamp(1, 24 * 3600)),
        )),
        revocations,
        limiter,
        default_role: config.default_role,
        refresh_ttl: REFRESH_TOKEN_TTL,
        events: events.clone(),
        refilling: tokio::sync::Mutex::new(()),
    });
    let writes = Arc::new(RecentWrites::default());
    let videos = Arc::new(VideoService {
        videos: Arc::new(SqlVideoRepository { db: db.clone() }),
        writes: writes.clone(),
        events: events.clone(),
    });
    let indexer_db = db.sibling(&database_url(config)?, 2).await?;
    let replica = SearchReplica::open(config.search_dir(), indexer_db)
        .await
        .context("cannot open the search index")?;
    let search = Arc::new(SearchService {
        engine: replica.clone(),
        videos: videos.clone(),
        writes,
    });
    let favorites = Arc::new(FavoriteService {
        favorites: Arc::new(SqlFavoriteRepository { db: db.clone() }),
        videos: videos.clone(),
    });
    let users = Arc::new(UserService {
        users: user_repo,
        auth: auth.clone(),
    });
    let (store, folder) = media_store(config, &secret, public_url).await?;
    let jobs = job_queue(config).await?;
    let queue: Arc<dyn JobQueue> = Arc::new(jobs.clone());
    let media_repo: Arc<dyn MediaRepository> = Arc::new(SqlMediaRepository { db: db.clone() });
    let media = Arc::new(MediaService {
        videos: videos.clone(),
        repo: media_repo.clone(),
        store: store.clone(),
        queue: queue.clone(),
        limits: UploadLimits {
            video_bytes: config.max_video_bytes,
            premium_video_bytes: config.premium_max_video_bytes,
            thumbnail_bytes: config.max_thumbnail_bytes,
        },
        ticket_ttl: Duration::from_secs(config.upload_ticket_seconds),
        max_attempts: config.job_max_attempts.clamp(1, 100) as i32,
        concurrency: config.job_concurrency.max(1),
    });
    let processor = Arc::new(MediaProcessor {
        repo: media_repo,
        store,
        queue,
        tools: Tools::detect(&config.ffprobe, &config.ffmpeg).await,
        backoff: Duration::from_millis(config.job_backoff_ms),
        work_dir: config.data_dir.join("work"),
        events: events.clone(),
    });
    let dashboard = Arc::new(DashboardService::new(
        Arc::new(SqlStatsRepository { db: db.clone() }),
        media.clone(),
        videos.clone(),
        Arc::new(std::sync::atomic::AtomicI64::new(0)),
    ));
    Ok(AppState {
        auth,
        users,
        videos,
        favorites,
        search,
        replica,
        media,
        folder,
        jobs,
        processor,
        events,
        dashboard,
        db,
        redis,
    })
}

pub struct Application {
    listener: tokio::net::TcpListener,
    addr: SocketAddr,
    state: AppState,
    config: Config,
}

impl Application {
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        let listener = tokio::net::TcpListener::bind(config.listen)
            .await
            .with_context(|| format!("cannot listen on {}", config.listen))?;
        let addr = listener
            .local_addr()
            .context("listener has no socket address")?;
        let state = build_state_at(&config, &public_url(&config, addr)).await?;
        Ok(Self {
            listener,
            addr,
            state,
            config,
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Serves until Ctrl-C or SIGTERM, then drains requests for up to 10 seconds.
    pub async fn run_until_stopped(self) -> anyhow::Result<()> {
        self.run_with_shutdown(shutdown_signal()).await
    }

    pub async fn run_with_shutdown(
        self,
        signal: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let app = crate::api::routes(self.state.clone(), &self.config);
        let (stop_indexer, indexer_stopped) = tokio::sync::oneshot::channel::<()>();
        let indexer = tokio::spawn(self.state.replica.clone().run(async {
            let _ = indexer_stopped.await;
        }));
        let (stop_jobs, jobs_stopped) = tokio::sync::watch::channel(false);
        let workers = self.config.run_jobs.then(|| {
            let state = self.state.clone();
            let concurrency = self.config.job_concurrency;
            let mut stopped = jobs_stopped.clone();
            tokio::spawn(async move {
                state
                    .jobs
                    .run_workers(state.processor.clone(), concurrency, async move {
                        let _ = stopped.wait_for(|s| *s).await;
                    })
                    .await
            })
        });
        let sweep_seconds = self.config.sweep_seconds;
        let sweeper = {
            let state = self.state.clone();
            let mut stopped = jobs_stopped;
            tokio::spawn(async move {
                let mut tick = tokio::time::interval(Duration::from_secs(sweep_seconds.max(1)));
                loop {
                    tokio::select! {
                        _ = stopped.changed() => break,
                        _ = tick.tick() => {
                            match state.jobs.sweep(state.media.repo.as_ref()).await {
                                Ok(0) => {}
                                Ok(n) => tracing::info!(jobs = n, "queued waiting jobs again"),
                                Err(e) => tracing::warn!(error = %e, "job sweep failed"),
                            }
                            match state.media.remove_abandoned_uploads().await {
                                Ok(0) => {}
                                Ok(n) => tracing::info!(uploads = n, "removed abandoned uploads"),
                                Err(e) => tracing::warn!(error = %e, "upload sweep failed"),
                            }
                            match state.media.remove_released_objects().await {
                                Ok(0) => {}
                                Ok(n) => tracing::info!(objects = n, "removed replaced media"),
                                Err(e) => tracing::warn!(error = %e, "media sweep failed"),
                            }
                        }
                    }
                }
            })
        };
        tracing::info!(addr = %self.addr, "reelgraph listening; GraphiQL at http://{}/graphiql", self.addr);
        let limits = ServeLimits {
            header_read_timeout: Duration::from_secs(
                self.config.header_read_timeout_seconds.max(1),
            ),
            body_stall: Duration::from_secs(self.config.body_stall_seconds.max(1)),
            max_connections: self.config.max_connections.max(1),
            ..ServeLimits::default()
        };
        crate::api::serve(self.listener, app.into_endpoint(), limits, signal).await?;
        let _ = stop_indexer.send(());
        let _ = stop_jobs.send(true);
        let _ = indexer.await;
        let _ = sweeper.await;
        if let Some(workers) = workers {
            // Jobs that do not finish in time run again after the next start.
            let _ = tokio::time::timeout(Duration::from_secs(10), workers).await;
        }
        self.state.db.conn.clone().close().await.ok();
        tracing::info!("reelgraph stopped");
        Ok(())
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = terminate => {},
    }
    tracing::info!("shutdown signal received; draining");
}
