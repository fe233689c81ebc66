//! Replays the saved-query parser's fuzz inputs (`fuzz/corpus/query_header`,
//! `fuzz/regressions/query_header`) on stable, as the fuzz target runs them.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use trailsql::check::{SavedQuery, expand, literal};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn files(dir: &Path) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|entries| entries.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    out.sort();
    out
}

fn parse_and_expand(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(query) = SavedQuery::parse(Path::new("fuzz.sql"), text) {
        let _ = expand(&query, &BTreeMap::new(), 1_700_000_000_000_000);
        for param in &query.params {
            let _ = literal(&param.default, &param.default, 0);
        }
    }
}

#[test]
fn saved_fuzz_inputs_parse_without_panics() {
    let mut inputs = files(&root().join("fuzz/corpus/query_header"));
    let regressions = files(&root().join("fuzz/regressions/query_header"));
    assert!(
        !regressions.is_empty(),
        "fuzz/regressions/query_header is missing"
    );
    inputs.extend(regressions);
    // The shipped queries are the seeds.
    for dir in files(&root().join("queries")) {
        inputs.extend(
            files(&dir)
                .into_iter()
                .filter(|p| p.extension().is_some_and(|e| e == "sql")),
        );
    }
    assert!(inputs.len() > 30);
    for input in &inputs {
        let data = std::fs::read(input).unwrap();
        let result = std::panic::catch_unwind(|| parse_and_expand(&data));
        assert!(result.is_ok(), "{} panics the parser", input.display());
    }
}
