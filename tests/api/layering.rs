//! Arrows point inward: the domain imports no IO crate, the app layer no transport or
//! adapter, the adapters no use case or transport, and the transport no startup code or
//! adapter state; adapters answer in their ports' error types.

use std::path::Path;

fn sources(dir: &Path, out: &mut Vec<(String, String)>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            sources(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push((
                path.display().to_string(),
                std::fs::read_to_string(&path).unwrap(),
            ));
        }
    }
}

fn violations(layer: &str, forbidden: &[&str]) -> Vec<String> {
    let mut files = Vec::new();
    sources(
        &Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("src")
            .join(layer),
        &mut files,
    );
    assert!(!files.is_empty(), "no sources under src/{layer}");
    let mut found = Vec::new();
    for (path, text) in files {
        for (n, line) in text.lines().enumerate() {
            let code = line.split("//").next().unwrap_or_default();
            for name in forbidden {
                if code.contains(&format!("{name}::")) || code.contains(&format!("use {name}")) {
                    found.push(format!("{path}:{}: {name}", n + 1));
                }
            }
        }
    }
    found
}

#[test]
fn domain_imports_no_io_crate() {
    let found = violations(
        "domain",
        &[
            "sea_orm",
            "sqlx",
            "async_graphql",
            "poem",
            "redis",
            "tantivy",
            "azure_storage_blob",
            "azure_core",
            "apalis",
            "tokio",
            "search_index",
            "crate::infra",
            "crate::api",
            "crate::app",
            "crate::startup",
            "crate::commands",
        ],
    );
    assert!(
        found.is_empty(),
        "domain must stay pure:\n{}",
        found.join("\n")
    );
}

#[test]
fn app_layer_knows_no_transport_or_adapter() {
    let found = violations(
        "app",
        &[
            "sea_orm",
            "sqlx",
            "async_graphql",
            "poem",
            "redis",
            "tantivy",
            "search_index",
            "apalis",
            "azure_storage_blob",
            "crate::infra",
            "crate::api",
            "crate::startup",
            "crate::commands",
        ],
    );
    assert!(
        found.is_empty(),
        "app must not reach outward:\n{}",
        found.join("\n")
    );
}

#[test]
fn transport_is_given_its_state_and_reads_no_adapter_state() {
    // `startup` builds the API's state and calls `api::routes`; the API never names
    // `startup` (a cycle), and asks the health port instead of holding the database,
    // Redis or the search replica.
    let found = violations(
        "api",
        &[
            "crate::startup",
            "crate::infra::db",
            "crate::infra::kv",
            "crate::infra::search",
        ],
    );
    assert!(
        found.is_empty(),
        "api must not reach into startup or the adapters' state:\n{}",
        found.join("\n")
    );
}

#[test]
fn adapters_implement_ports_and_call_no_use_case() {
    // Adapters implement the domain's ports; use cases (app) call them, never the other
    // way round, and no adapter knows the transport.
    let found = violations(
        "infra",
        &[
            "crate::app",
            "crate::api",
            "crate::startup",
            "crate::commands",
            "async_graphql",
            "poem",
        ],
    );
    assert!(
        found.is_empty(),
        "infra must not reach into use cases or the transport:\n{}",
        found.join("\n")
    );
}

#[test]
fn adapters_answer_in_their_ports_error_types() {
    // A port states its failures (BackendError and its own cases); the use cases turn them
    // into the one DomainError the API maps to the wire. An adapter that built a
    // DomainError would be choosing a use case's answer.
    let mut files = Vec::new();
    sources(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("src/infra"),
        &mut files,
    );
    assert!(!files.is_empty(), "no sources under src/infra");
    let named: Vec<String> = files
        .iter()
        .flat_map(|(path, text)| {
            text.lines().enumerate().filter_map(move |(n, line)| {
                let code = line.split("//").next().unwrap_or_default();
                let hit = code
                    .split(|c: char| !c.is_alphanumeric() && c != '_')
                    .any(|word| word == "DomainError" || word == "DomainResult");
                hit.then(|| format!("{path}:{}", n + 1))
            })
        })
        .collect();
    assert!(
        named.is_empty(),
        "infra must answer in its ports' error types, not DomainError:\n{}",
        named.join("\n")
    );
}
