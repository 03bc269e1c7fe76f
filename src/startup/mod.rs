//! Builds the adapters from config, wires them into [`AppState`] (the API's
//! [`ApiState`] and the background work beside it) and serves the API.
//!
//! [`Application::build`] binds the listener first, so `--listen 127.0.0.1:0` works and
//! tests learn their port from [`Application::local_addr`].

mod adapters;
mod background;
mod secret;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use migration::{Migrator, MigratorTrait};
use poem::IntoEndpoint;
use secrecy::{ExposeSecret, SecretString};

use adapters::{job_queue, media_store};
use background::Background;
use secret::jwt_secret;

use crate::api::{ApiState, ServeLimits};
use crate::app::auth::AuthPorts;
use crate::app::dashboard::DashboardService;
use crate::app::media::processing::{MediaProcessor, ProcessorSettings};
use crate::app::media::{MediaPorts, MediaSettings};
use crate::app::{
    AuthService, FavoriteService, ForYouService, MediaService, RecentWrites, RecommendationService,
    SearchService, UserService, VideoService,
};
use crate::config::Config;
use crate::domain::auth::{AttemptLimiter, RevocationList};
use crate::domain::events::EventBus;
use crate::domain::media::{JobQueue, JobRepository, MediaStore, UploadLimits, UploadRepository};
use crate::infra::auth::{Argon2Hasher, JwtTokens};
use crate::infra::db::{
    Database, SqlFavoriteRepository, SqlForYouRepository, SqlMediaRepository,
    SqlRecommendationRepository, SqlSessionRepository, SqlStatsRepository, SqlUserRepository,
    SqlVideoRepository,
};
use crate::infra::events::{LocalBus, RedisBus};
use crate::infra::health::AdapterHealth;
use crate::infra::jobs::ApalisQueue;
use crate::infra::kv::{MemoryStore, RedisStore};
use crate::infra::media::Ffmpeg;
use crate::infra::search::SearchReplica;

pub const REFRESH_TOKEN_TTL: Duration = Duration::from_secs(30 * 24 * 3600);
const JWT_ISSUER: &str = "reelgraph";
const JWT_AUDIENCE: &str = "reelgraph-api";

/// The instance: what the API serves with, and what runs beside it (the search replica's
/// indexer, the job workers) and is closed at the end.
#[derive(Clone)]
pub struct AppState {
    pub api: ApiState,
    pub replica: Arc<SearchReplica>,
    pub jobs: ApalisQueue,
    pub processor: Arc<MediaProcessor>,
    pub db: Database,
}

/// The database URL: `DATABASE_URL`, or the SQLite file in the data folder.
pub fn database_url(config: &Config) -> anyhow::Result<String> {
    if let Some(url) = &config.store.database_url {
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
    Database::connect(&database_url(config)?, config.store.db_max_connections).await
}

/// How clients reach this server: the configured public URL, or the listen address.
pub fn public_url(config: &Config, addr: SocketAddr) -> String {
    config
        .public_url
        .clone()
        .unwrap_or_else(|| format!("http://{addr}"))
}

/// The event bus: across instances through Redis when it is configured.
fn event_bus(config: &Config) -> anyhow::Result<Arc<dyn EventBus>> {
    Ok(match &config.store.redis_url {
        Some(url) => RedisBus::start(url.expose_secret(), &config.store.redis_prefix)
            .context("cannot start the event bus")?,
        None => Arc::new(LocalBus::default()),
    })
}

/// Recommendation items, the favorites of videos and items, and "for you".
fn recommendation_services(
    db: &Database,
    videos: &Arc<VideoService>,
    writes: &Arc<RecentWrites>,
    events: &Arc<dyn EventBus>,
) -> (
    Arc<RecommendationService>,
    Arc<FavoriteService>,
    Arc<ForYouService>,
) {
    let recommendations = Arc::new(RecommendationService::new(
        Arc::new(SqlRecommendationRepository { db: db.clone() }),
        videos.clone(),
    ));
    let favorites = Arc::new(FavoriteService::new(
        Arc::new(SqlFavoriteRepository { db: db.clone() }),
        videos.clone(),
        recommendations.clone(),
        writes.clone(),
        events.clone(),
    ));
    let for_you = Arc::new(ForYouService::new(
        Arc::new(SqlForYouRepository { db: db.clone() }),
        videos.clone(),
    ));
    (recommendations, favorites, for_you)
}

/// Connects every adapter and builds the services. Runs migrations when configured.
async fn build_state_at(config: &Config, public_url: &str) -> anyhow::Result<AppState> {
    let secret = jwt_secret(config)?;
    let (db, redis) = connect_stores(config).await?;
    let events = event_bus(config)?;
    let user_repo = Arc::new(SqlUserRepository { db: db.clone() });
    let auth = auth_service(
        config,
        &db,
        &secret,
        redis.as_ref(),
        &events,
        user_repo.clone(),
    )?;
    let writes = Arc::new(RecentWrites::default());
    let videos = Arc::new(VideoService::new(
        Arc::new(SqlVideoRepository { db: db.clone() }),
        writes.clone(),
        events.clone(),
        Duration::from_secs(config.jobs.trending_seconds),
    ));
    let indexer_db = db.sibling(&database_url(config)?, 2).await?;
    let replica = SearchReplica::open(config.search_dir(), indexer_db)
        .await
        .context("cannot open the search index")?;
    let search = Arc::new(SearchService::new(
        replica.clone(),
        videos.clone(),
        writes.clone(),
    ));
    let (recommendations, favorites, for_you) =
        recommendation_services(&db, &videos, &writes, &events);
    let users = Arc::new(UserService::new(user_repo, auth.clone()));
    let (store, folder) = media_store(config, &secret, public_url).await?;
    let jobs = job_queue(config).await?;
    let (media, processor) = media_services(
        config,
        &db,
        store,
        &jobs,
        MediaServices {
            videos: &videos,
            writes: &writes,
            events: &events,
        },
    )
    .await;
    let dashboard = Arc::new(DashboardService::new(
        Arc::new(SqlStatsRepository { db: db.clone() }),
        media.clone(),
        videos.clone(),
        Arc::new(std::sync::atomic::AtomicI64::new(0)),
    ));
    let health = Arc::new(AdapterHealth {
        db: db.clone(),
        redis,
        replica: replica.clone(),
    });
    Ok(AppState {
        api: ApiState {
            auth,
            users,
            videos,
            favorites,
            recommendations,
            for_you,
            search,
            media,
            dashboard,
            events,
            health,
            folder,
        },
        replica,
        jobs,
        processor,
        db,
    })
}

/// Only the account use cases, for commands that manage users: the database (migrated),
/// Redis when configured, and no search index, job queue, media store or event bus
/// (nobody listens to a command's events).
pub async fn build_auth(config: &Config) -> anyhow::Result<Arc<AuthService>> {
    let secret = jwt_secret(config)?;
    let (db, redis) = connect_stores(config).await?;
    let users = Arc::new(SqlUserRepository { db: db.clone() });
    let events: Arc<dyn EventBus> = Arc::new(LocalBus::default());
    auth_service(config, &db, &secret, redis.as_ref(), &events, users)
}

/// The database (migrated when configured, username skeletons filled) and Redis when
/// configured.
async fn connect_stores(config: &Config) -> anyhow::Result<(Database, Option<RedisStore>)> {
    let db = connect_database(config).await?;
    if config.store.auto_migrate {
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
    let redis = match &config.store.redis_url {
        Some(url) => Some(
            RedisStore::connect(url.expose_secret(), &config.store.redis_prefix)
                .await
                .context("cannot connect to redis")?,
        ),
        None => None,
    };
    Ok((db, redis))
}

/// Accounts and sessions: revocations and login throttles in Redis when there is one,
/// else in process.
fn auth_service(
    config: &Config,
    db: &Database,
    secret: &SecretString,
    redis: Option<&RedisStore>,
    events: &Arc<dyn EventBus>,
    users: Arc<SqlUserRepository>,
) -> anyhow::Result<Arc<AuthService>> {
    let (revocations, limiter): (Arc<dyn RevocationList>, Arc<dyn AttemptLimiter>) = match redis {
        Some(store) => (Arc::new(store.clone()), Arc::new(store.clone())),
        None => {
            let store = Arc::new(MemoryStore::default());
            (store.clone(), store)
        }
    };
    // Half the CPUs by default: a login storm then leaves the other half to serve
    // everything else instead of queueing every request behind argon2.
    let hash_concurrency = config.auth.hash_concurrency.unwrap_or_else(|| {
        let cpus = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(2);
        (cpus / 2).max(1)
    });
    let ports = AuthPorts {
        users,
        sessions: Arc::new(SqlSessionRepository { db: db.clone() }),
        hasher: Arc::new(Argon2Hasher::new(hash_concurrency)?),
        tokens: Arc::new(JwtTokens::new(
            secret.expose_secret().as_bytes(),
            JWT_ISSUER,
            JWT_AUDIENCE,
            Duration::from_secs(config.auth.access_token_seconds),
        )),
        revocations,
        limiter,
        events: events.clone(),
    };
    Ok(Arc::new(AuthService::new(
        ports,
        config.auth.default_role,
        REFRESH_TOKEN_TTL,
    )))
}

/// What the media use cases share with the others.
struct MediaServices<'a> {
    videos: &'a Arc<VideoService>,
    writes: &'a Arc<RecentWrites>,
    events: &'a Arc<dyn EventBus>,
}

/// Uploads and their processing, over the configured store and queue.
async fn media_services(
    config: &Config,
    db: &Database,
    store: Arc<dyn MediaStore>,
    jobs: &ApalisQueue,
    shared: MediaServices<'_>,
) -> (Arc<MediaService>, Arc<MediaProcessor>) {
    let queue: Arc<dyn JobQueue> = Arc::new(jobs.clone());
    let media_repo = Arc::new(SqlMediaRepository { db: db.clone() });
    let uploads: Arc<dyn UploadRepository> = media_repo.clone();
    let job_records: Arc<dyn JobRepository> = media_repo;
    let ports = MediaPorts {
        videos: shared.videos.clone(),
        uploads,
        jobs: job_records.clone(),
        store: store.clone(),
        queue: queue.clone(),
        writes: shared.writes.clone(),
        events: shared.events.clone(),
    };
    let settings = MediaSettings {
        limits: UploadLimits {
            video_bytes: config.media.max_video_bytes,
            premium_video_bytes: config.media.premium_max_video_bytes,
            thumbnail_bytes: config.media.max_thumbnail_bytes,
        },
        ticket_ttl: Duration::from_secs(config.media.upload_ticket_seconds),
        max_attempts: config.jobs.max_attempts as i32,
        concurrency: config.jobs.concurrency,
    };
    let media = Arc::new(MediaService::new(ports, settings));
    let processor = Arc::new(MediaProcessor::new(
        job_records,
        store,
        queue,
        Arc::new(Ffmpeg::detect(&config.media.ffprobe, &config.media.ffmpeg).await),
        shared.events.clone(),
        ProcessorSettings {
            backoff: Duration::from_millis(config.jobs.backoff_ms),
            work_dir: config.data_dir.join("work"),
        },
    ));
    (media, processor)
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
        let app = crate::api::routes(self.state.api.clone(), &self.config);
        let background = Background::start(&self.state, &self.config);
        tracing::info!(addr = %self.addr, "reelgraph listening; GraphiQL at http://{}/graphiql", self.addr);
        let limits = ServeLimits {
            header_read_timeout: Duration::from_secs(self.config.http.header_read_timeout_seconds),
            body_stall: Duration::from_secs(self.config.http.body_stall_seconds),
            max_connections: self.config.http.max_connections,
            ..ServeLimits::default()
        };
        crate::api::serve(self.listener, app.into_endpoint(), limits, signal).await?;
        background.stop().await;
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
