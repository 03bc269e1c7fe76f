//! The committed SDL is the contract; it must match what the code builds.

#[test]
fn committed_schema_matches_the_code() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/graphql/schema.graphql");
    let built = reelgraph::api::sdl();
    if std::env::var("REELGRAPH_UPDATE_SCHEMA").is_ok_and(|v| v == "1") {
        std::fs::write(path, &built).unwrap();
    }
    let committed = std::fs::read_to_string(path).unwrap_or_default();
    assert!(
        committed == built,
        "graphql/schema.graphql is out of date; run `cargo run -- schema > graphql/schema.graphql` \
         (or REELGRAPH_UPDATE_SCHEMA=1 cargo test --test api schema) and review the diff"
    );
}
