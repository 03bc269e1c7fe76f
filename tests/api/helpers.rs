//! `spawn_app()`: a real reelgraph on port 0 with its own database (a fresh SQLite file, or
//! a fresh PostgreSQL database when `TEST_DATABASE_URL` is set), its own data folder and its
//! own Redis key prefix.
//!
//! `REELGRAPH_TEST_BACKEND=sqlite|postgres` forces a backend. With
//! `REELGRAPH_REQUIRE_SERVICES=1`, a test whose service is missing fails instead of
//! falling back or skipping.

use std::net::SocketAddr;
use std::path::PathBuf;

use reelgraph::config::{Config, Mode};
use reelgraph::startup::Application;
use sea_orm::{ConnectionTrait, Database};
use secrecy::SecretString;
use serde_json::{json, Value};
use tokio::sync::OnceCell;

pub fn require_services() -> bool {
    std::env::var("REELGRAPH_REQUIRE_SERVICES").is_ok_and(|v| v == "1")
}

/// A service URL from the environment; `None` means skip, unless services are required.
pub fn service_url(var: &str) -> Option<String> {
    match std::env::var(var) {
        Ok(url) if !url.is_empty() => Some(url),
        _ if require_services() => panic!("{var} is not set but REELGRAPH_REQUIRE_SERVICES=1"),
        _ => {
            eprintln!("skipping: {var} is not set");
            None
        }
    }
}

fn use_postgres() -> bool {
    match std::env::var("REELGRAPH_TEST_BACKEND").as_deref() {
        Ok("sqlite") => false,
        Ok("postgres") => true,
        _ => std::env::var("TEST_DATABASE_URL").is_ok_and(|u| !u.is_empty()),
    }
}

/// Drops databases left by earlier runs, once per test process.
async fn clean_old_databases(admin_url: &str) {
    static ONCE: OnceCell<()> = OnceCell::const_new();
    ONCE.get_or_init(|| async {
        let Ok(db) = Database::connect(admin_url).await else {
            return;
        };
        let rows = db
            .query_all_raw(sea_orm::Statement::from_string(
                db.get_database_backend(),
                "SELECT datname FROM pg_database WHERE datname LIKE 'rg_test_%'",
            ))
            .await
            .unwrap_or_default();
        for row in rows {
            if let Ok(name) = row.try_get::<String>("", "datname") {
                let _ = db
                    .execute_unprepared(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
                    .await;
            }
        }
    })
    .await;
}

/// A fresh PostgreSQL database named by UUID; returns its URL.
pub async fn fresh_postgres_database() -> String {
    let admin_url =
        std::env::var("TEST_DATABASE_URL").expect("TEST_DATABASE_URL for the postgres backend");
    clean_old_databases(&admin_url).await;
    let name = format!("rg_test_{}", uuid::Uuid::new_v4().simple());
    let db = Database::connect(&admin_url)
        .await
        .expect("connect to TEST_DATABASE_URL");
    db.execute_unprepared(&format!("CREATE DATABASE \"{name}\""))
        .await
        .expect("create test database");
    let (base, _) = admin_url
        .rsplit_once('/')
        .expect("TEST_DATABASE_URL ends in /<database>");
    format!("{base}/{name}")
}

pub struct TestApp {
    pub addr: SocketAddr,
    pub client: reqwest::Client,
    pub data_dir: PathBuf,
    pub database_url: Option<String>,
    _tmp: Option<tempfile::TempDir>,
}

/// A last change to the configuration of a test server.
pub type Configure = Box<dyn FnOnce(&mut Config) + Send>;

pub struct Options {
    pub database_url: Option<String>,
    pub redis_url: Option<String>,
    pub redis_prefix: Option<String>,
    pub max_body_bytes: usize,
    pub introspection: Option<bool>,
    pub mode: Mode,
    /// Last word on the configuration (media store, job settings, tools).
    pub configure: Option<Configure>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            database_url: None,
            redis_url: None,
            redis_prefix: None,
            max_body_bytes: 1 << 20,
            introspection: None,
            mode: Mode::Development,
            configure: None,
        }
    }
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(Options::default()).await
}

pub async fn spawn_app_with(mut options: Options) -> TestApp {
    if options.database_url.is_none() && use_postgres() {
        options.database_url = Some(fresh_postgres_database().await);
        if options.redis_url.is_none() {
            options.redis_url = std::env::var("TEST_REDIS_URL")
                .ok()
                .filter(|u| !u.is_empty());
        }
    }
    let tmp = tempfile::tempdir().expect("temp dir");
    let mut config = Config::with_defaults(tmp.path().to_path_buf()).unwrap();
    config.listen = "127.0.0.1:0".parse().expect("addr");
    config.mode = options.mode;
    config.store.database_url = options.database_url.clone().map(SecretString::from);
    config.store.redis_url = options.redis_url.map(SecretString::from);
    config.store.redis_prefix = options
        .redis_prefix
        .unwrap_or_else(|| format!("rg-test:{}:", uuid::Uuid::new_v4().simple()));
    config.store.db_max_connections = 8;
    config.auth.jwt_secret = Some(SecretString::from(
        "test-secret-test-secret-test-secret-0123".to_owned(),
    ));
    config.http.introspection = options.introspection;
    config.http.max_body_bytes = options.max_body_bytes;
    config.jobs.backoff_ms = 100;
    config.jobs.heartbeat_seconds = 1;
    if let Some(configure) = options.configure.take() {
        configure(&mut config);
    }
    let app = Application::build(config).await.expect("build app");
    let addr = app.local_addr();
    tokio::spawn(app.run_with_shutdown(std::future::pending()));
    TestApp {
        addr,
        client: reqwest::Client::new(),
        data_dir: tmp.path().to_path_buf(),
        database_url: options.database_url,
        _tmp: Some(tmp),
    }
}

pub struct Gql {
    pub status: u16,
    pub body: Value,
}

impl Gql {
    pub fn data(&self) -> &Value {
        assert!(
            self.body
                .get("errors")
                .is_none_or(|e| e.as_array().is_none_or(|a| a.is_empty())),
            "unexpected errors: {}",
            self.body
        );
        &self.body["data"]
    }

    /// The `extensions.code` of the first error.
    pub fn code(&self) -> &str {
        self.body["errors"][0]["extensions"]["code"]
            .as_str()
            .unwrap_or_else(|| panic!("expected an error, got {}", self.body))
    }
}

pub struct User {
    pub id: String,
    pub access: String,
    pub refresh: String,
    pub username: String,
}

impl TestApp {
    /// A server started elsewhere (a child process) on `addr`.
    pub fn at(addr: SocketAddr, data_dir: PathBuf, database_url: Option<String>) -> Self {
        TestApp {
            addr,
            client: reqwest::Client::new(),
            data_dir,
            database_url,
            _tmp: None,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    pub async fn gql_as(&self, token: Option<&str>, query: &str, variables: Value) -> Gql {
        let mut req = self
            .client
            .post(self.url("/graphql"))
            .json(&json!({ "query": query, "variables": variables }));
        if let Some(token) = token {
            req = req.bearer_auth(token);
        }
        let resp = req.send().await.expect("request");
        let status = resp.status().as_u16();
        let body = resp.json().await.expect("json body");
        Gql { status, body }
    }

    pub async fn gql(&self, query: &str, variables: Value) -> Gql {
        self.gql_as(None, query, variables).await
    }

    pub async fn register(&self, username: &str) -> User {
        let r = self
            .gql(
                "mutation($u: String!, $e: String!) { register(input: {username: $u, email: $e, password: \"correct horse battery\"}) { accessToken refreshToken user { id username } } }",
                json!({ "u": username, "e": format!("{username}@example.com") }),
            )
            .await;
        let p = &r.data()["register"];
        User {
            id: p["user"]["id"].as_str().expect("id").to_owned(),
            access: p["accessToken"].as_str().expect("access").to_owned(),
            refresh: p["refreshToken"].as_str().expect("refresh").to_owned(),
            username: username.to_owned(),
        }
    }

    /// Makes `user` an admin through the CLI's code path (there is no admin yet to ask).
    pub async fn promote(&self, user: &User, role: &str) -> User {
        let db = self.database().await;
        db.execute_unprepared(&format!(
            "UPDATE users SET role = '{role}' WHERE username = '{}'",
            user.username
        ))
        .await
        .expect("promote");
        let r = self
            .gql(
                "mutation($l: String!) { login(input: {usernameOrEmail: $l, password: \"correct horse battery\"}) { accessToken refreshToken user { id } } }",
                json!({ "l": user.username }),
            )
            .await;
        let p = &r.data()["login"];
        User {
            id: user.id.clone(),
            access: p["accessToken"].as_str().expect("access").to_owned(),
            refresh: p["refreshToken"].as_str().expect("refresh").to_owned(),
            username: user.username.clone(),
        }
    }

    /// A direct connection to this app's database, for checking that nothing changed.
    pub async fn database(&self) -> sea_orm::DatabaseConnection {
        let url = match &self.database_url {
            Some(url) => url.clone(),
            None => format!(
                "sqlite://{}?mode=rw",
                self.data_dir.join("reelgraph.db").display()
            ),
        };
        Database::connect(&url)
            .await
            .expect("connect to the app database")
    }

    pub async fn count_rows(&self, table: &str) -> i64 {
        let db = self.database().await;
        let row = db
            .query_one_raw(sea_orm::Statement::from_string(
                db.get_database_backend(),
                format!("SELECT COUNT(*) AS n FROM {table}"),
            ))
            .await
            .expect("count")
            .expect("row");
        row.try_get::<i64>("", "n").expect("n")
    }

    /// One text value computed by `sql` (which must name it `s`).
    pub async fn scalar_text(&self, sql: &str) -> String {
        let db = self.database().await;
        let row = db
            .query_one_raw(sea_orm::Statement::from_string(
                db.get_database_backend(),
                sql.to_owned(),
            ))
            .await
            .expect("query")
            .expect("row");
        row.try_get::<String>("", "s").expect("s")
    }

    pub async fn create_video(&self, user: &User, title: &str, extra: Value) -> String {
        let mut input = json!({ "title": title });
        if let (Some(obj), Some(extra)) = (input.as_object_mut(), extra.as_object()) {
            obj.extend(extra.clone());
        }
        let r = self
            .gql_as(
                Some(&user.access),
                "mutation($i: CreateVideoInput!) { createVideo(input: $i) { id } }",
                json!({ "i": input }),
            )
            .await;
        r.data()["createVideo"]["id"]
            .as_str()
            .expect("video id")
            .to_owned()
    }

    pub async fn publish(&self, user: &User, id: &str) {
        let r = self
            .gql_as(
                Some(&user.access),
                "mutation($id: ID!) { publishVideo(id: $id) { id publishedAt } }",
                json!({ "id": id }),
            )
            .await;
        assert!(r.data()["publishVideo"]["publishedAt"].is_string());
    }

    pub async fn db_statements(&self) -> u64 {
        self.metric("reelgraph_db_statements_total").await
    }

    /// One unlabelled counter or gauge from `/metrics`.
    pub async fn metric(&self, name: &str) -> u64 {
        let text = self
            .client
            .get(self.url("/metrics"))
            .send()
            .await
            .expect("metrics")
            .text()
            .await
            .expect("text");
        text.lines()
            .find_map(|l| l.strip_prefix(&format!("{name} ")))
            .and_then(|n| n.trim().parse().ok())
            .unwrap_or_else(|| panic!("{name} missing from /metrics"))
    }
}

/// Two instances sharing one database (PostgreSQL when configured, else a SQLite file in
/// the returned folder) and one Redis key prefix.
pub async fn two_instances(redis_url: &str) -> (TestApp, TestApp, tempfile::TempDir) {
    let tmp = tempfile::tempdir().expect("temp dir");
    let database_url = match std::env::var("TEST_DATABASE_URL") {
        Ok(u) if !u.is_empty() => fresh_postgres_database().await,
        _ => format!(
            "sqlite://{}?mode=rwc",
            tmp.path().join("shared.db").display()
        ),
    };
    let prefix = format!("rg-test:{}:", uuid::Uuid::new_v4().simple());
    let options = || Options {
        database_url: Some(database_url.clone()),
        redis_url: Some(redis_url.to_owned()),
        redis_prefix: Some(prefix.clone()),
        ..Options::default()
    };
    let a = spawn_app_with(options()).await;
    let b = spawn_app_with(options()).await;
    (a, b, tmp)
}
