//! The command line, run as the built binary.

use std::io::Write;
use std::process::{Command, Stdio};

use serde_json::json;

const BIN: &str = env!("CARGO_BIN_EXE_reelgraph");

pub(crate) fn reelgraph(
    data_dir: &std::path::Path,
    args: &[&str],
    stdin: Option<&str>,
) -> std::process::Output {
    let mut child = Command::new(BIN)
        .args(args)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("REELGRAPH_DATA_DIR", data_dir)
        .env("RUST_LOG", "warn")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    if let Some(input) = stdin {
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.as_bytes())
            .unwrap();
    }
    drop(child.stdin.take());
    child.wait_with_output().unwrap()
}

#[tokio::test]
async fn user_create_reads_the_password_from_stdin_and_the_admin_can_sign_in() {
    let dir = tempfile::tempdir().unwrap();
    let out = reelgraph(
        dir.path(),
        &[
            "user",
            "create",
            "--username",
            "root",
            "--email",
            "root@example.com",
            "--role",
            "SUPER_ADMIN",
        ],
        Some("a long admin password\n"),
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let printed = String::from_utf8_lossy(&out.stdout);
    assert!(printed.contains("SUPER_ADMIN") && !printed.contains("a long admin password"));

    let again = reelgraph(
        dir.path(),
        &[
            "user",
            "create",
            "--username",
            "ROOT",
            "--email",
            "x@example.com",
        ],
        Some("another password\n"),
    );
    assert!(!again.status.success(), "duplicate usernames are refused");

    let status = reelgraph(dir.path(), &["migrate", "status"], None);
    assert!(String::from_utf8_lossy(&status.stdout).contains("m20261124_000001_users_and_sessions"));

    let app = crate::helpers::spawn_app_with(crate::helpers::Options {
        database_url: Some(format!(
            "sqlite://{}?mode=rwc",
            dir.path().join("reelgraph.db").display()
        )),
        ..Default::default()
    })
    .await;
    let login = app
        .gql("mutation { login(input: {usernameOrEmail: \"root\", password: \"a long admin password\"}) { user { role } } }", json!({}))
        .await;
    assert_eq!(login.data()["login"]["user"]["role"], "SUPER_ADMIN");
}

#[test]
fn seed_is_deterministic_and_schema_prints_the_committed_sdl() {
    let titles = |dir: &std::path::Path| {
        let out = reelgraph(
            dir,
            &["seed", "--users", "5", "--videos", "120", "--seed", "7"],
            None,
        );
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let rt = tokio::runtime::Runtime::new().unwrap();
        rt.block_on(async {
            use sea_orm::ConnectionTrait;
            let db = sea_orm::Database::connect(format!("sqlite://{}?mode=ro", dir.join("reelgraph.db").display())).await.unwrap();
            let rows = db
                .query_all_raw(sea_orm::Statement::from_string(
                    db.get_database_backend(),
                    "SELECT title, like_count, (SELECT COUNT(*) FROM favorites f WHERE f.target_id = v.id) AS favs FROM videos v ORDER BY id",
                ))
                .await
                .unwrap();
            let titles = rows
                .iter()
                .map(|r| {
                    let likes: i64 = r.try_get("", "like_count").unwrap();
                    let favs: i64 = r.try_get("", "favs").unwrap();
                    assert_eq!(likes, favs, "seeded like counts equal the seeded favorites");
                    r.try_get::<String>("", "title").unwrap()
                })
                .collect::<Vec<_>>();
            // Closed before the runtime goes: a pool dropped with its runtime can leave
            // sqlx's maintenance task spinning, and the runtime's drop waits for it.
            db.close().await.unwrap();
            titles
        })
    };
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let first = titles(a.path());
    assert_eq!(first.len(), 120);
    assert_eq!(first, titles(b.path()));
    assert!(
        first
            .iter()
            .any(|t| t.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c))),
        "Chinese titles"
    );
    assert!(
        first
            .iter()
            .any(|t| t.chars().any(|c| ('\u{3040}'..='\u{30ff}').contains(&c))),
        "Japanese titles"
    );
    assert!(first.iter().any(|t| t.is_ascii()), "English titles");

    let again = reelgraph(a.path(), &["seed", "--users", "5", "--videos", "10"], None);
    assert!(!again.status.success(), "seeding twice is refused");

    let sdl = reelgraph(a.path(), &["schema"], None);
    let committed = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/graphql/schema.graphql"
    ))
    .unwrap();
    assert_eq!(String::from_utf8_lossy(&sdl.stdout), committed);
}
