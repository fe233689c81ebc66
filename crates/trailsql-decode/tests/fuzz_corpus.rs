//! Replays the decoder's fuzz inputs with the fuzz target's checks, on stable: the saved
//! corpus (`fuzz/corpus/decode`), every input that once crashed (`fuzz/regressions/decode`),
//! and the project's fixtures in every mode; the same for the inflate target.

use std::path::{Path, PathBuf};

use trailsql_decode::fuzzing::{check_decoder, check_inflate};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return out;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(files(&path));
        } else {
            out.push(path);
        }
    }
    out.sort();
    out
}

#[test]
fn saved_fuzz_inputs_pass_the_fuzz_checks() {
    let mut inputs = files(&root().join("fuzz/corpus/decode"));
    let regressions = files(&root().join("fuzz/regressions/decode"));
    assert!(
        !regressions.is_empty(),
        "fuzz/regressions/decode is missing"
    );
    inputs.extend(regressions);
    for input in &inputs {
        let data = std::fs::read(input).unwrap();
        let result = std::panic::catch_unwind(|| check_decoder(&data));
        assert!(result.is_ok(), "{} fails the fuzz checks", input.display());
    }
}

#[test]
fn fixtures_pass_the_fuzz_checks_in_every_mode() {
    let fixtures = files(&root().join("tests/fixtures"));
    assert!(fixtures.len() > 10);
    for fixture in fixtures {
        let body = std::fs::read(&fixture).unwrap();
        for mode in 0u8..4 {
            let mut data = vec![mode];
            data.extend_from_slice(&body);
            let result = std::panic::catch_unwind(|| check_decoder(&data));
            assert!(result.is_ok(), "{} in mode {mode}", fixture.display());
        }
    }
}

#[test]
fn saved_inflate_inputs_and_fixtures_pass_the_inflate_checks() {
    let saved = files(&root().join("fuzz/corpus/inflate"));
    assert!(!saved.is_empty(), "fuzz/corpus/inflate is missing");
    for input in &saved {
        let data = std::fs::read(input).unwrap();
        let result = std::panic::catch_unwind(|| check_inflate(&data));
        assert!(
            result.is_ok(),
            "{} fails the inflate checks",
            input.display()
        );
    }
    // Every fixture in every mode: each damage at each of its eight places.
    for fixture in files(&root().join("tests/fixtures")) {
        let body = std::fs::read(&fixture).unwrap();
        for mode in 0..=u8::MAX {
            let mut data = vec![mode];
            data.extend_from_slice(&body);
            let result = std::panic::catch_unwind(|| check_inflate(&data));
            assert!(result.is_ok(), "{} in mode {mode}", fixture.display());
        }
    }
}
