//! Background jobs on apalis: a SQLite file of their own in the embedded shape, the
//! `apalis` schema of PostgreSQL when the database is PostgreSQL.
//!
//! apalis holds the queue (what to run, when, by which worker; a job whose worker stops
//! sending heartbeats is handed to another). The `media_jobs` table holds what users see:
//! status, attempts, stage, progress and error. Attempts and their exponential backoff
//! are ours: a failed attempt pushes a new task delayed by the backoff, so apalis runs
//! every task once and its own retry logic stays out of the way.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use apalis::prelude::{
    BackendExt, BoxDynError, Data, Strategy, TaskBuilder, TaskSink, WorkerBuilder, WorkerBuilderExt,
};
use apalis_postgres::PostgresStorage;
use apalis_sqlite::{SqliteConnectOptions, SqlitePool, SqlitePoolOptions, SqliteStorage};
use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use sqlx::postgres::{PgPool, PgPoolOptions};

use crate::domain::error::BackendResult;
use crate::domain::media::{Job, JobQueue, JobRunner};
use crate::domain::{BackendError, JobId};

const QUEUE: &str = "process_media";
/// How often an idle worker asks for due tasks (apalis otherwise waits for its next
/// heartbeat). Also bounds how late a delayed retry starts.
const POLL_INTERVAL: Duration = Duration::from_millis(200);

/// The apalis task: which `media_jobs` row to run.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ProcessMediaTask {
    pub job_id: uuid::Uuid,
}

/// Runs `$body` with `$storage` bound to this queue's apalis storage, whichever backend
/// it is (their types differ, so a closure or generic function cannot take both).
macro_rules! with_storage {
    ($queue:expr, |$storage:ident| $body:expr) => {
        match &$queue.pool {
            Pool::Sqlite(pool) => {
                #[allow(unused_mut)]
                let mut $storage = ApalisQueue::sqlite_storage(pool, $queue.heartbeat);
                $body
            }
            Pool::Postgres(pool) => {
                #[allow(unused_mut)]
                let mut $storage = ApalisQueue::postgres_storage(pool, $queue.heartbeat);
                $body
            }
        }
    };
}

#[derive(Clone)]
enum Pool {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

#[derive(Clone)]
pub struct ApalisQueue {
    pool: Pool,
    heartbeat: Duration,
}

fn is_duplicate(message: &str) -> bool {
    message.contains("23505") || message.contains("duplicate key")
}

fn queue_err(e: impl std::fmt::Display) -> BackendError {
    BackendError::internal(anyhow::anyhow!("job queue: {e}"))
}

impl ApalisQueue {
    /// The embedded queue in its own SQLite file.
    pub async fn sqlite(path: &std::path::Path, heartbeat: Duration) -> anyhow::Result<Self> {
        let options = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(sqlx::sqlite::SqliteJournalMode::Wal)
            .busy_timeout(Duration::from_secs(10));
        // apalis's setup switches `synchronous` OFF on the connection it runs on; run it
        // on a connection of its own so the queue's connections keep NORMAL (durable in WAL
        // across a process crash).
        {
            let setup = SqlitePoolOptions::new()
                .max_connections(1)
                .connect_with(options.clone())
                .await?;
            SqliteStorage::setup(&setup).await?;
            setup.close().await;
        }
        let pool = SqlitePoolOptions::new()
            .max_connections(4)
            .connect_with(options.synchronous(sqlx::sqlite::SqliteSynchronous::Normal))
            .await?;
        Ok(Self {
            pool: Pool::Sqlite(pool),
            heartbeat,
        })
    }

    /// The queue in the `apalis` schema of a PostgreSQL database.
    pub async fn postgres(url: &str, heartbeat: Duration) -> anyhow::Result<Self> {
        let pool = PgPoolOptions::new().max_connections(4).connect(url).await?;
        PostgresStorage::<()>::setup(&pool).await?;
        Ok(Self {
            pool: Pool::Postgres(pool),
            heartbeat,
        })
    }

    fn sqlite_storage(pool: &SqlitePool, heartbeat: Duration) -> SqliteStorage<ProcessMediaTask> {
        SqliteStorage::new(pool).with_config(
            apalis_sqlite::Config::default()
                .queue(QUEUE)
                .heartbeat_interval(heartbeat)
                .missed_heartbeats(2)
                .batch_size(1),
        )
    }

    fn postgres_storage(pool: &PgPool, heartbeat: Duration) -> PostgresStorage<ProcessMediaTask> {
        PostgresStorage::new(pool).with_config(
            apalis_postgres::Config::default()
                .queue(QUEUE)
                .heartbeat_interval(heartbeat)
                .missed_heartbeats(2)
                .batch_size(1),
        )
    }

    /// Runs workers until `stop` completes. Each process registers under a name of its
    /// own, so after a crash another process (or the same one restarted) takes over the
    /// jobs of the dead one once two heartbeats are missed.
    pub async fn run_workers<R: JobRunner + 'static>(
        &self,
        processor: Arc<R>,
        concurrency: usize,
        stop: impl Future<Output = ()> + Send + 'static,
    ) {
        let name = format!("reelgraph-{}", uuid::Uuid::new_v4());
        let stop = async move {
            stop.await;
            Ok::<(), std::io::Error>(())
        };
        let result = with_storage!(self, |storage| {
            WorkerBuilder::new(name)
                .backend(storage.poll_with_strategy(Strategy::new().interval(POLL_INTERVAL)))
                .concurrency(concurrency.max(1))
                .data(processor)
                .build(handle::<R>)
                .run_until(stop)
                .await
        });
        if let Err(e) = result {
            tracing::error!(error = %e, "job worker stopped with an error");
        }
    }
}

async fn handle<R: JobRunner>(
    task: ProcessMediaTask,
    processor: Data<Arc<R>>,
) -> Result<(), BoxDynError> {
    let id = JobId::from_uuid(task.job_id);
    if let Err(e) = processor.run(id).await {
        // The attempt's outcome could not be recorded (database down): fail the task so
        // apalis keeps it, and let the sweeper or a heartbeat hand it out again.
        tracing::error!(error = ?e, job = %id, "cannot record a job's outcome");
        return Err(Box::new(std::io::Error::other(e.to_string())));
    }
    Ok(())
}

#[async_trait]
impl JobQueue for ApalisQueue {
    async fn enqueue(&self, job: &Job, delay: Duration) -> BackendResult<()> {
        // One task per (job, state): the same job in the same state is pushed once.
        let key = format!("{}@{}", job.id, job.updated_at.timestamp_micros());
        // The queue schedules in whole seconds: round the due time up, so a backoff is
        // never shorter than asked.
        let due = std::time::SystemTime::now() + delay;
        let due = due
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs() + u64::from(d.subsec_nanos() > 0 && !delay.is_zero()))
            .unwrap_or_default();
        let task = TaskBuilder::new(ProcessMediaTask {
            job_id: job.id.as_uuid(),
        })
        .run_at_timestamp(due)
        .max_attempts(2)
        .idempotency_key(key)
        .build();
        // The same (job, state) may have been pushed before: SQLite skips it silently,
        // PostgreSQL reports the unique idempotency key.
        with_storage!(self, |storage| match storage.push_task(task).await {
            Ok(()) => Ok(()),
            Err(e) if is_duplicate(&e.to_string()) => Ok(()),
            Err(e) => Err(queue_err(e)),
        })
    }
}
