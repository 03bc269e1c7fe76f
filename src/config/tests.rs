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
        let parsed = Cli::try_parse_from(["reelgraph", flag, value]);
        assert!(parsed.is_err(), "{flag} {value} was accepted");
    }
    let role = Cli::try_parse_from(["reelgraph", "--default-role", "super_admin"])
        .unwrap()
        .config
        .default_role;
    assert_eq!(role, Role::SuperAdmin);
}
