//! Runs the Python tests (`tests/test_*.py`) against the extension this build made.
//!
//! The package is assembled as maturin lays it out (`trailsql/__init__.py` beside
//! `trailsql/_trailsql.abi3.so`) in a temporary folder put on `PYTHONPATH`, so the
//! tests always load this checkout's code. They need pytest, pyarrow, pandas, polars,
//! duckdb, datafusion 55, nbclient and ipykernel (`.ci/run` installs them).

use std::path::{Path, PathBuf};
use std::process::Command;

fn crate_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The cdylib cargo built for this test, beside its binary in `target/<profile>/deps`
/// (a test build does not copy it up to `target/<profile>`).
fn built_extension() -> PathBuf {
    let exe = std::env::current_exe().expect("the test binary's path");
    let deps_dir = exe.parent().expect("target/<profile>/deps");
    let name = if cfg!(target_os = "macos") {
        "lib_trailsql.dylib"
    } else {
        "lib_trailsql.so"
    };
    let path = deps_dir.join(name);
    assert!(
        path.exists(),
        "{} is missing: build the extension with `cargo build -p trailsql-python`",
        path.display()
    );
    path
}

fn assemble_package(into: &Path) {
    let package = into.join("trailsql");
    std::fs::create_dir_all(&package).unwrap();
    for entry in std::fs::read_dir(crate_dir().join("python/trailsql")).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), package.join(entry.file_name())).unwrap();
    }
    std::fs::copy(built_extension(), package.join("_trailsql.abi3.so")).unwrap();
}

#[test]
fn python_tests_pass() {
    let python = std::env::var("TRAILSQL_PYTHON").unwrap_or_else(|_| "python3".to_string());
    let site = tempfile::tempdir().unwrap();
    assemble_package(site.path());
    let output = Command::new(&python)
        .args(["-m", "pytest", "-q", "-p", "no:cacheprovider", "-rs"])
        .arg(crate_dir().join("tests"))
        .env("PYTHONPATH", site.path())
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .output()
        .unwrap_or_else(|e| panic!("cannot run {python}: {e}"));
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    println!("{stdout}");
    eprintln!("{stderr}");
    if stderr.contains("No module named pytest") {
        panic!(
            "the Python tests need pytest and the packages they compare with: pip install \
             pytest pyarrow pandas polars duckdb 'datafusion==55.*' nbclient ipykernel"
        );
    }
    assert!(output.status.success(), "the Python tests failed");
    // Only tests of ../shared/corpus may be skipped, when it is not beside the project.
    for line in stdout.lines().filter(|l| l.starts_with("SKIPPED")) {
        assert!(
            line.contains("../shared/corpus"),
            "a Python test was skipped: {line}"
        );
    }
}
