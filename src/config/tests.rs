use clap::Parser;

use super::*;

#[derive(Parser)]
struct Cli {
    #[command(flatten)]
    config: Config,
}

#[test]
fn with_defaults_matches_the_command_line_defaults() {
    let parsed = Cli::try_parse_from(["reelgraph", "--data-dir", "x"])
        .unwrap()
        .config;
    let built = Config::with_defaults("x".into()).unwrap();
    // Debug output covers every field (secrets print as redacted either way).
    if std::env::vars().all(|(k, _)| {
        !k.starts_with("REELGRAPH_")
            || k == "REELGRAPH_REQUIRE_SERVICES"
            || k == "REELGRAPH_TEST_BACKEND"
    }) && std::env::var("DATABASE_URL").is_err()
        && std::env::var("REDIS_URL").is_err()
    {
        assert_eq!(format!("{parsed:?}"), format!("{built:?}"));
    }
}

#[test]
fn settings_out_of_range_are_refused_when_parsed() {
    for (flag, value) in [
        ("--sweep-seconds", "0"),
        ("--job-max-attempts", "101"),
        ("--upload-ticket-seconds", "901"),
        ("--live-sockets-per-client", "0"),
        ("--default-role", "ROOT"),
    ] {
        let refused = Cli::try_parse_from(["reelgraph", flag, value])
            .err()
            .unwrap_or_else(|| panic!("{flag} {value} was accepted"));
        // Refused for its value, not as an unknown flag.
        assert_eq!(
            refused.kind(),
            clap::error::ErrorKind::ValueValidation,
            "{flag}"
        );
    }
    let role = Cli::try_parse_from(["reelgraph", "--default-role", "super_admin"])
        .unwrap()
        .config
        .auth
        .default_role;
    assert_eq!(role, Role::SuperAdmin);
}

#[test]
fn grouped_settings_keep_their_flat_flag_names() {
    let config = Cli::try_parse_from([
        "reelgraph",
        "--job-max-attempts",
        "7",
        "--job-concurrency",
        "3",
        "--live-sockets-per-client",
        "9",
        "--ws-origins",
        "https://a.example,https://b.example",
        "--db-max-connections",
        "4",
        "--max-video-bytes",
        "1000",
    ])
    .unwrap()
    .config;
    assert_eq!(config.jobs.max_attempts, 7);
    assert_eq!(config.jobs.concurrency, 3);
    assert_eq!(config.live.sockets_per_client, 9);
    assert_eq!(config.live.ws_origins.len(), 2);
    assert_eq!(config.store.db_max_connections, 4);
    assert_eq!(config.media.max_video_bytes, 1000);
}
