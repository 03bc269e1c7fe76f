//! Faults of the services reelgraph depends on, each on a private instance this test starts
//! itself (never the machine's shared PostgreSQL): a database restarted under write load;
//! and the server itself killed with SIGKILL under concurrent writes, on either database.

use std::path::PathBuf;
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::json;

use crate::helpers::{require_services, spawn_app_with, Options};

/// A PostgreSQL cluster in a temporary folder on a free port, stopped when dropped.
struct PrivatePostgres {
    bin: PathBuf,
    dir: tempfile::TempDir,
    port: u16,
}

impl PrivatePostgres {
    /// `None` when the PostgreSQL server programs are not installed.
    fn start() -> Option<Self> {
        let bin = std::fs::read_dir("/usr/lib/postgresql")
            .ok()?
            .flatten()
            .map(|e| e.path().join("bin"))
            .find(|b| b.join("initdb").exists())?;
        let dir = tempfile::tempdir().ok()?;
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .ok()?
            .local_addr()
            .ok()?
            .port();
        let pg = PrivatePostgres { bin, dir, port };
        // PostgreSQL refuses to run as root: then the folder goes to the postgres user.
        if pg.as_root() {
            let ok = Command::new("chown")
                .args(["-R", "postgres:postgres"])
                .arg(pg.dir.path())
                .status()
                .ok()?
                .success();
            if !ok {
                return None;
            }
        }
        let data = pg.data();
        pg.run(&[
            "initdb",
            "-D",
            &data,
            "-A",
            "trust",
            "-U",
            "postgres",
            "--no-sync",
        ])?;
        pg.pg_ctl("start")?;
        Some(pg)
    }

    fn as_root(&self) -> bool {
        Command::new("id")
            .arg("-u")
            .output()
            .is_ok_and(|o| o.stdout.starts_with(b"0\n"))
    }

    fn data(&self) -> String {
        self.dir.path().join("data").display().to_string()
    }

    /// Runs one of PostgreSQL's programs (as the postgres user when we are root).
    fn run(&self, args: &[&str]) -> Option<()> {
        let program = self.bin.join(args[0]);
        let mut command = if self.as_root() {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(program);
            c
        } else {
            Command::new(program)
        };
        let out = command.args(&args[1..]).output().ok()?;
        if !out.status.success() {
            eprintln!(
                "{args:?} failed: {}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
            return None;
        }
        Some(())
    }

    fn pg_ctl(&self, action: &str) -> Option<()> {
        let options = format!(
            "-p {} -c listen_addresses=127.0.0.1 -c unix_socket_directories={} -c fsync=on",
            self.port,
            self.dir.path().display()
        );
        let log = self.dir.path().join("log").display().to_string();
        let data = self.data();
        let mut args = vec!["pg_ctl", "-D", &data, "-o", &options, "-l", &log, "-w"];
        if action == "restart" {
            args.extend(["-m", "fast"]);
        }
        args.push(action);
        self.run(&args)
    }

    fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }
}

impl Drop for PrivatePostgres {
    fn drop(&mut self) {
        let data = self.data();
        let _ = self.run(&["pg_ctl", "-D", &data, "-m", "immediate", "stop"]);
    }
}

/// The acknowledged video titles that the database at `url` does not hold.
async fn lost_titles(url: &str, acknowledged: &[String]) -> Vec<String> {
    let db = sea_orm::Database::connect(url).await.unwrap();
    let backend = sea_orm::ConnectionTrait::get_database_backend(&db);
    let rows = sea_orm::ConnectionTrait::query_all_raw(
        &db,
        sea_orm::Statement::from_string(backend, "SELECT title FROM videos"),
    )
    .await
    .unwrap();
    let stored: std::collections::HashSet<String> = rows
        .iter()
        .map(|r| r.try_get::<String>("", "title").unwrap())
        .collect();
    acknowledged
        .iter()
        .filter(|t| !stored.contains(*t))
        .cloned()
        .collect()
}

/// Writers keep creating videos while the database restarts: every write either is
/// acknowledged or fails as UNAVAILABLE (never INTERNAL), the server takes writes again
/// without being restarted, and every acknowledged video is there afterwards.
#[tokio::test]
async fn a_database_restarted_under_write_load_loses_no_acknowledged_write() {
    // One private cluster per run is enough: on the PostgreSQL pass only.
    if std::env::var("REELGRAPH_TEST_BACKEND").as_deref() != Ok("postgres") {
        return;
    }
    let Some(pg) = PrivatePostgres::start() else {
        assert!(!require_services(), "cannot start a private PostgreSQL");
        return;
    };
    let app = Arc::new(
        spawn_app_with(Options {
            database_url: Some(pg.url()),
            ..Options::default()
        })
        .await,
    );
    let owner = app.register("restart_writer").await;
    let acknowledged = Arc::new(Mutex::new(Vec::<String>::new()));
    let refused = Arc::new(Mutex::new(Vec::<String>::new()));
    let stop_at = Instant::now() + Duration::from_secs(8);
    let mut writers = Vec::new();
    for w in 0..6 {
        let (app, token) = (app.clone(), owner.access.clone());
        let (acknowledged, refused) = (acknowledged.clone(), refused.clone());
        writers.push(tokio::spawn(async move {
            let mut n = 0;
            while Instant::now() < stop_at {
                n += 1;
                let title = format!("w{w}-{n}");
                let r = app
                    .gql_as(
                        Some(&token),
                        "mutation($t: String!) { createVideo(input: {title: $t}) { id } }",
                        json!({ "t": title }),
                    )
                    .await;
                if r.body["data"]["createVideo"]["id"].is_string() {
                    acknowledged.lock().unwrap().push(title);
                } else {
                    refused.lock().unwrap().push(r.body.to_string());
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            }
        }));
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    let before_restart = acknowledged.lock().unwrap().len();
    assert!(
        before_restart > 0,
        "no write went through before the restart"
    );
    let pg = tokio::task::spawn_blocking(move || {
        pg.pg_ctl("restart").expect("restart the private cluster");
        pg
    })
    .await
    .unwrap();
    let after_restart = acknowledged.lock().unwrap().len();
    for w in writers {
        w.await.unwrap();
    }
    let acknowledged = acknowledged.lock().unwrap().clone();
    assert!(
        acknowledged.len() > after_restart,
        "no write was acknowledged after the restart"
    );
    for body in refused.lock().unwrap().iter() {
        assert!(
            body.contains("\"UNAVAILABLE\""),
            "a write failed otherwise than UNAVAILABLE: {body}"
        );
    }

    // Every acknowledged write is in the database.
    let missing = lost_titles(&pg.url(), &acknowledged).await;
    assert!(missing.is_empty(), "acknowledged but lost: {missing:?}");
}

/// The server killed with SIGKILL while writers run, on the backend of the run (SQLite or
/// PostgreSQL): after a restart every write it acknowledged is there.
#[tokio::test]
async fn kill_9_under_concurrent_writes_loses_no_acknowledged_write() {
    use crate::helpers::TestApp;
    use crate::media_recovery::ready;
    use crate::search_recovery::Env;

    let env = Env::new().await;
    let vars = [(
        "REELGRAPH_JWT_SECRET",
        "test-secret-test-secret-test-secret-0123",
    )];
    let (server, port) = env.serve_with(&vars);
    let app = TestApp::at(
        format!("127.0.0.1:{port}").parse().unwrap(),
        env.data.path().into(),
        env.database_url.clone(),
    );
    ready(&app).await;
    let owner = app.register("killed_writer").await;
    let acknowledged = Arc::new(Mutex::new(Vec::<String>::new()));
    let mut writers = Vec::new();
    for w in 0..8 {
        let url = app.url("/graphql");
        let token = owner.access.clone();
        let acknowledged = acknowledged.clone();
        writers.push(tokio::spawn(async move {
            let client = reqwest::Client::new();
            for n in 0.. {
                let title = format!("k{w}-{n}");
                let sent = client
                    .post(&url)
                    .bearer_auth(&token)
                    .json(&json!({
                        "query": "mutation($t: String!) { createVideo(input: {title: $t}) { id } }",
                        "variables": { "t": title },
                    }))
                    .send()
                    .await;
                // The server is gone: this writer is done.
                let Ok(resp) = sent else { return };
                let Ok(body) = resp.json::<serde_json::Value>().await else {
                    return;
                };
                if body["data"]["createVideo"]["id"].is_string() {
                    acknowledged.lock().unwrap().push(title);
                }
            }
        }));
    }
    tokio::time::sleep(Duration::from_millis(1500)).await;
    server.kill(); // SIGKILL, writes in flight
    for w in writers {
        w.await.unwrap();
    }
    let acknowledged = acknowledged.lock().unwrap().clone();
    assert!(
        !acknowledged.is_empty(),
        "no write was acknowledged before the kill"
    );

    // Restarted on the same data, it serves, and every acknowledged write is there.
    let (_server, port) = env.serve_with(&vars);
    let app = TestApp::at(
        format!("127.0.0.1:{port}").parse().unwrap(),
        env.data.path().into(),
        env.database_url.clone(),
    );
    ready(&app).await;
    let me = app
        .gql_as(Some(&owner.access), "{ me { username } }", json!({}))
        .await;
    assert_eq!(me.data()["me"]["username"], "killed_writer");
    let missing = lost_titles(&env.url(), &acknowledged).await;
    assert!(
        missing.is_empty(),
        "{} acknowledged, lost: {missing:?}",
        acknowledged.len()
    );
}
