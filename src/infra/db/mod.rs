//! The relational store: connection set-up for SQLite and PostgreSQL, and the sea-orm
//! repositories behind the domain's ports.
//!
//! SQLite runs in WAL mode with a busy timeout and several connections; every write
//! transaction starts `IMMEDIATE`, so two writers queue on the lock instead of one of them
//! failing with "database is locked" when it upgrades from reader to writer.
//!
//! A database that is locked by another process, unreachable or out of connections is
//! UNAVAILABLE (503), decided within [`BUSY_TIMEOUT`] or [`ACQUIRE_TIMEOUT`], never an
//! INTERNAL error after half a minute; while writes keep failing so, readiness says so.

mod bulk;
mod convert;
pub mod entities;
mod favorite_repo;
mod for_you_repo;
mod media_repo;
mod outbox;
mod recommendation_repo;
mod replica_reads;
mod session_repo;
mod stats_repo;
mod user_repo;
mod video_repo;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use sea_orm::sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous};
use sea_orm::{
    ConnectOptions, DatabaseConnection, DatabaseTransaction, DbErr, SqliteTransactionMode,
    TransactionOptions, TransactionTrait,
};

pub use bulk::insert_all;
pub use favorite_repo::SqlFavoriteRepository;
pub use for_you_repo::SqlForYouRepository;
pub use media_repo::SqlMediaRepository;
pub use outbox::OutboxRow;
pub(crate) use recommendation_repo::bump_item_likes;
pub use recommendation_repo::SqlRecommendationRepository;
pub use session_repo::SqlSessionRepository;
pub use stats_repo::SqlStatsRepository;
pub use user_repo::SqlUserRepository;
pub use video_repo::{label_key, SqlVideoRepository};

use crate::domain::BackendError;

/// How long a request waits for a pooled connection.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(5);
/// How long a SQLite writer waits for the write lock (other writers of this process
/// queue in the pool first, so only another process holds it this long).
const BUSY_TIMEOUT: Duration = Duration::from_secs(3);

/// A pool plus a count of the SQL statements it has run (exported on `/metrics`).
#[derive(Clone)]
pub struct Database {
    pub conn: DatabaseConnection,
    statements: Arc<AtomicU64>,
    /// Woken after a commit that wrote to the search outbox, so this instance's indexer
    /// need not wait for its next poll.
    outbox_written: Arc<tokio::sync::Notify>,
    /// Why the last attempt to start a write failed as unavailable, while no write has
    /// started since.
    write_failure: Arc<std::sync::Mutex<Option<String>>>,
    /// Set while a write probe started by [`Database::writes_failing`] runs.
    probing: Arc<std::sync::atomic::AtomicBool>,
}

impl Database {
    /// Connects to `url` (`sqlite://...` or `postgres://...`).
    pub async fn connect(url: &str, max_connections: u32) -> anyhow::Result<Self> {
        let mut opts = ConnectOptions::new(url.to_owned());
        opts.max_connections(max_connections)
            .min_connections(1)
            .connect_timeout(Duration::from_secs(10))
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .sqlx_logging(false)
            .map_sqlx_sqlite_opts(|o| {
                o.journal_mode(SqliteJournalMode::Wal)
                    .synchronous(SqliteSynchronous::Normal)
                    .busy_timeout(BUSY_TIMEOUT)
                    .foreign_keys(true)
                    .create_if_missing(true)
            });
        let mut conn = sea_orm::Database::connect(opts)
            .await
            .with_context(|| format!("cannot connect to the database ({})", redact_url(url)))?;
        let statements = Arc::new(AtomicU64::new(0));
        let counter = statements.clone();
        conn.set_metric_callback(move |_info| {
            counter.fetch_add(1, Ordering::Relaxed);
        });
        Ok(Database {
            conn,
            statements,
            outbox_written: Arc::default(),
            write_failure: Arc::default(),
            probing: Arc::default(),
        })
    }

    /// A second pool on the same database for background work (the search indexer), so
    /// that its polling does not show in this pool's statement count or take its
    /// connections. Outbox signals are shared.
    pub async fn sibling(&self, url: &str, max_connections: u32) -> anyhow::Result<Self> {
        let mut other = Database::connect(url, max_connections).await?;
        other.outbox_written = self.outbox_written.clone();
        Ok(other)
    }

    /// SQL statements run so far through this pool.
    pub fn statements_run(&self) -> u64 {
        self.statements.load(Ordering::Relaxed)
    }

    /// Starts a write transaction (`BEGIN IMMEDIATE` on SQLite).
    pub async fn write(&self) -> Result<DatabaseTransaction, DbErr> {
        let started = self
            .conn
            .begin_with_options(TransactionOptions {
                sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
                ..Default::default()
            })
            .await;
        if let Ok(mut failure) = self.write_failure.lock() {
            match &started {
                Ok(_) => *failure = None,
                Err(e) if is_unavailable(e) => *failure = Some(e.to_string()),
                Err(_) => {}
            }
        }
        started
    }

    /// Why writes cannot start at the moment (another process holds SQLite's write lock,
    /// the server is unreachable), if the last attempt failed so.
    /// While failing, each call also starts (one at a time) a write that does nothing, so
    /// an idle instance notices when writes work again.
    pub fn writes_failing(&self) -> Option<String> {
        let failing = self.write_failure.lock().ok().and_then(|f| f.clone());
        if failing.is_some() && !self.probing.swap(true, Ordering::AcqRel) {
            let db = self.clone();
            tokio::spawn(async move {
                if let Ok(txn) = db.write().await {
                    let _ = txn.rollback().await;
                }
                db.probing.store(false, Ordering::Release);
            });
        }
        failing
    }

    /// Tells this instance's indexer that the outbox has new rows.
    pub fn outbox_written(&self) {
        self.outbox_written.notify_one();
    }

    /// Resolves after the next [`Database::outbox_written`] (or at once if one is pending).
    pub async fn outbox_notified(&self) {
        self.outbox_written.notified().await;
    }

    pub async fn ping(&self) -> Result<(), DbErr> {
        self.conn.ping().await
    }
}

/// The URL without its password, for messages.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            let creds = &url[scheme_end + 3..at];
            let user = creds.split(':').next().unwrap_or_default();
            format!("{}://{}:***@{}", &url[..scheme_end], user, &url[at + 1..])
        }
        _ => url.to_owned(),
    }
}

/// Maps a database error into the domain: a database that is busy, locked or unreachable
/// is UNAVAILABLE (the client may retry); everything else is internal. (Unique violations
/// are told apart by the repositories with [`is_unique_violation`].)
pub(crate) fn db_err(err: DbErr) -> BackendError {
    if is_unavailable(&err) {
        tracing::warn!(error = %err, "database unavailable");
        return BackendError::Unavailable(
            "the database is busy or unreachable; try again shortly".into(),
        );
    }
    BackendError::internal(anyhow::Error::new(err).context("database error"))
}

/// True for errors that say "not now" rather than "this request is wrong": no connection,
/// a lost connection, SQLite's lock held elsewhere, PostgreSQL shutting down or full.
fn is_unavailable(err: &DbErr) -> bool {
    use sea_orm::RuntimeErr;
    let sqlx = match err {
        DbErr::ConnectionAcquire(_) => return true,
        DbErr::Conn(RuntimeErr::SqlxError(e))
        | DbErr::Exec(RuntimeErr::SqlxError(e))
        | DbErr::Query(RuntimeErr::SqlxError(e)) => e,
        DbErr::Conn(_) => return true,
        _ => return false,
    };
    match sqlx.as_ref() {
        sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::WorkerCrashed => true,
        sqlx::Error::Database(db) => db.code().is_some_and(|code| {
            // SQLite: BUSY (5) and LOCKED (6) with their extended codes. PostgreSQL: class
            // 08 (connection exception), 57P01..57P03 (shutting down, cannot connect now),
            // 53300 (too many connections).
            matches!(
                code.as_ref(),
                "5" | "6" | "261" | "262" | "517" | "773" | "53300"
            ) || code.starts_with("08")
                || code.starts_with("57P0")
        }),
        _ => false,
    }
}

pub(crate) fn is_unique_violation(err: &DbErr) -> bool {
    matches!(
        err.sql_err(),
        Some(sea_orm::SqlErr::UniqueConstraintViolation(_))
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn passwords_are_redacted_from_urls() {
        assert_eq!(
            super::redact_url("postgres://u:secret@h:5432/db"),
            "postgres://u:***@h:5432/db"
        );
        assert_eq!(
            super::redact_url("sqlite://data/x.db"),
            "sqlite://data/x.db"
        );
    }
}
