//! Entry points for the fuzzers in `fuzz/` (cargo-fuzz; the README's development section
//! says how to run them) and for the tests that replay their seeds and every input that
//! once found a fault (`fuzz/seeds/<target>`, `fuzz/regressions/<target>`).
//!
//! Each entry takes arbitrary bytes, feeds them to one reader of untrusted input the way
//! the server does, and panics only when the code is wrong: a panic inside the reader, an
//! error that is not a refusal of the input, or an answer that breaks the reader's
//! contract (a cursor that does not decode to what it encodes, a cleaned file name with a
//! folder in it, a mutation accepted over GET, a second search page repeating the first).
//! A refusal of bad input is the expected outcome, not a finding.

mod search;
mod text;
mod transport;

use std::sync::OnceLock;

pub use search::search_query;
pub use text::{cursor, upload_filename};
pub use transport::{graphql_request, ws_message};

use crate::domain::DomainError;

/// A fuzz target: arbitrary bytes in, a panic when the code is wrong.
pub type Target = fn(&[u8]);

/// Every target by the name its `fuzz/fuzz_targets/<name>.rs` and folders carry.
pub const TARGETS: [(&str, Target); 5] = [
    ("search_query", search_query),
    ("cursor", cursor),
    ("graphql_request", graphql_request),
    ("upload_filename", upload_filename),
    ("ws_message", ws_message),
];

fn runtime() -> &'static tokio::runtime::Runtime {
    static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        #[allow(clippy::expect_used)] // nothing can be fuzzed without it
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a tokio runtime for the fuzz targets")
    })
}

fn assert_bad_input(result: Result<impl std::fmt::Debug, DomainError>, what: &str) {
    if let Err(e) = result {
        assert!(
            matches!(e, DomainError::BadInput { .. }),
            "{what}: refused with {e:?}, not as bad input"
        );
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::TARGETS;

    /// Every seed and every input a fuzzer once failed on is replayed on every test run;
    /// every target has seeds and a fuzz target, and every folder names a target.
    #[test]
    fn seeds_and_regressions_replay() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz");
        for folder in ["seeds", "regressions"] {
            for entry in std::fs::read_dir(root.join(folder)).unwrap() {
                let entry = entry.unwrap();
                if !entry.file_type().unwrap().is_dir() {
                    continue; // a README
                }
                let name = entry.file_name().to_string_lossy().into_owned();
                assert!(
                    TARGETS.iter().any(|(target, _)| *target == name),
                    "fuzz/{folder}/{name} names no target"
                );
            }
        }
        for (name, target) in TARGETS {
            assert!(
                root.join("fuzz_targets")
                    .join(format!("{name}.rs"))
                    .is_file(),
                "fuzz/fuzz_targets/{name}.rs is missing"
            );
            let mut replayed = 0;
            for folder in ["seeds", "regressions"] {
                let Ok(entries) = std::fs::read_dir(root.join(folder).join(name)) else {
                    assert_eq!(folder, "regressions", "fuzz/seeds/{name} is missing");
                    continue;
                };
                for entry in entries {
                    let path = entry.unwrap().path();
                    let data = std::fs::read(&path).unwrap();
                    let outcome = std::panic::catch_unwind(|| target(&data));
                    assert!(outcome.is_ok(), "{name} fails on {}", path.display());
                    replayed += 1;
                }
            }
            assert!(replayed > 0, "no seeds for {name}");
        }
    }
}
