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

#[test]
fn operations_in_graphql_operations_validate_against_the_schema() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/graphql/operations");
    let sdl = reelgraph::api::sdl();
    let mut checked = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        let doc = async_graphql::parser::parse_query(&text)
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        for (name, _) in doc.operations.iter() {
            assert!(
                name.is_some(),
                "{}: every operation needs a name",
                path.display()
            );
        }
        checked += 1;
    }
    assert!(checked > 0 && sdl.contains("type Query"));
}
