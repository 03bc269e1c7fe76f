//! The indexer is killed with SIGKILL in the middle of applying the outbox, restarted,
//! and the index then equals the database: nothing lost, nothing applied twice.

use std::collections::BTreeMap;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use sea_orm::{ConnectionTrait, Database, Statement};
use search_index::IndexHome;

use crate::helpers::fresh_postgres_database;

const BIN: &str = env!("CARGO_BIN_EXE_reelgraph");

/// A server child process, killed with SIGKILL when dropped (also when a test fails).
pub struct Server(Child);

impl Server {
    /// Starts `command` as a server process.
    pub fn spawn(mut command: Command) -> Self {
        Server(command.spawn().unwrap())
    }

    pub fn id(&self) -> u32 {
        self.0.id()
    }

    pub fn kill(mut self) {
        self.0.kill().unwrap();
        self.0.wait().unwrap();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

pub struct Env {
    pub data: tempfile::TempDir,
    pub database_url: Option<String>,
}

impl Env {
    pub fn command(&self, args: &[&str]) -> Command {
        let mut c = Command::new(BIN);
        c.args(args)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("REELGRAPH_DATA_DIR", self.data.path())
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null());
        if let Some(url) = &self.database_url {
            c.env("DATABASE_URL", url);
        }
        c
    }

    fn run(&self, args: &[&str]) {
        let out = self.command(args).output().unwrap();
        assert!(
            out.status.success(),
            "reelgraph {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    fn serve(&self) -> Server {
        self.serve_with(&[]).0
    }

    /// Starts `reelgraph serve` on a free port with extra environment; returns the port.
    pub fn serve_with(&self, vars: &[(&str, &str)]) -> (Server, u16) {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let server = self
            .command(&["serve", "--listen", &format!("127.0.0.1:{port}")])
            .envs(vars.iter().copied())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map(Server)
            .unwrap();
        (server, port)
    }

    /// A fresh environment on the backend the run asks for.
    pub async fn new() -> Self {
        let postgres = std::env::var("REELGRAPH_TEST_BACKEND").as_deref() == Ok("postgres")
            || (std::env::var("REELGRAPH_TEST_BACKEND").is_err()
                && std::env::var("TEST_DATABASE_URL").is_ok_and(|u| !u.is_empty()));
        Env {
            data: tempfile::tempdir().unwrap(),
            database_url: if postgres {
                Some(fresh_postgres_database().await)
            } else {
                None
            },
        }
    }

    pub fn url(&self) -> String {
        match &self.database_url {
            Some(url) => url.clone(),
            None => format!(
                "sqlite://{}?mode=rw",
                self.data.path().join("reelgraph.db").display()
            ),
        }
    }

    fn home(&self) -> IndexHome {
        IndexHome::new(self.data.path().join("search-index"))
    }

    fn position(&self) -> u64 {
        // The writer may be between files for a moment; a failed read is "not yet".
        self.home().position().ok().flatten().unwrap_or(0)
    }
}

async fn exec(db: &sea_orm::DatabaseConnection, sql: &str) {
    db.execute_unprepared(sql).await.unwrap();
}

#[tokio::test]
async fn indexer_killed_mid_batch_resumes_to_an_index_equal_to_the_database() {
    let env = Env::new().await;
    env.run(&["seed", "--users", "5", "--videos", "6000"]);
    env.run(&["reindex"]);
    let start = env.position();

    // Thousands of changes land while no server runs: retitles, unpublishing, deletes,
    // each with its outbox row as the repositories would write it.
    let db = Database::connect(&env.url()).await.unwrap();
    exec(&db, "UPDATE videos SET title = title || ' (remastered)'").await;
    exec(
        &db,
        "UPDATE videos SET published_at = NULL WHERE id IN (SELECT id FROM videos ORDER BY id LIMIT 300)",
    )
    .await;
    exec(
        &db,
        "UPDATE videos SET deleted_at = created_at WHERE id IN (SELECT id FROM videos ORDER BY id DESC LIMIT 200)",
    )
    .await;
    exec(
        &db,
        "INSERT INTO search_outbox (video_id, created_at) SELECT id, updated_at FROM videos ORDER BY id",
    )
    .await;
    let head: i64 = db
        .query_one_raw(Statement::from_string(
            db.get_database_backend(),
            "SELECT MAX(id) AS head FROM search_outbox",
        ))
        .await
        .unwrap()
        .unwrap()
        .try_get("", "head")
        .unwrap();
    let head = head as u64;
    assert!(head >= start + 6000);

    // Kill the server as soon as it has committed some but not all of the work.
    let server = env.serve();
    let started = Instant::now();
    let killed_at = loop {
        let p = env.position();
        if p > start {
            break p;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the indexer never committed"
        );
        std::thread::sleep(Duration::from_millis(2));
    };
    server.kill(); // SIGKILL
    assert!(
        killed_at < head,
        "the indexer finished before it could be killed ({killed_at} of {head})"
    );

    let server = env.serve();
    let started = Instant::now();
    while env.position() < head {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the restarted indexer stopped at {} of {head}",
            env.position()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    server.kill();

    let snapshot = env.home().snapshot().unwrap().unwrap();
    let mut indexed = BTreeMap::new();
    for doc in &snapshot.documents {
        assert!(
            indexed.insert(doc.id, doc.clone()).is_none(),
            "video {:x} is in the index twice",
            doc.id
        );
    }
    let rows = db
        .query_all_raw(Statement::from_string(
            db.get_database_backend(),
            "SELECT id, title, like_count, view_count, \
             CASE WHEN published_at IS NOT NULL AND visibility = 'PUBLIC' THEN 1 ELSE 0 END AS listed \
             FROM videos WHERE deleted_at IS NULL",
        ))
        .await
        .unwrap();
    assert_eq!(rows.len(), 5800);
    assert_eq!(
        indexed.len(),
        rows.len(),
        "index and database hold different videos"
    );
    for row in rows {
        let id: uuid::Uuid = row.try_get("", "id").unwrap();
        let doc = indexed
            .get(&id.as_u128())
            .unwrap_or_else(|| panic!("{id} is missing from the index"));
        let title: String = row.try_get("", "title").unwrap();
        assert_eq!(doc.title, search_index::normalize(&title));
        assert!(doc.title.ends_with("(remastered)"));
        assert_eq!(
            doc.like_count as i64,
            row.try_get::<i64>("", "like_count").unwrap()
        );
        assert_eq!(
            doc.view_count as i64,
            row.try_get::<i64>("", "view_count").unwrap()
        );
        assert_eq!(
            i32::from(doc.listed),
            row.try_get::<i32>("", "listed").unwrap()
        );
    }
}
