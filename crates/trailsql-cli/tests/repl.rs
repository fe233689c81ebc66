//! REPL sessions fed through stdin: every meta-command, as a user sees it.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn session(args: &[&str], script: &str, home: &Path) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_trailsql"))
        .args(args)
        .current_dir(root())
        .env("NO_COLOR", "1")
        .env("HOME", home)
        .env("XDG_DATA_HOME", home.join("data"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(script.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

const SEED: &str = "crates/trailsql/sample/kinesis-example.json";

fn transcript(output: &Output) -> String {
    format!(
        "--- stdout\n{}--- stderr\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

#[test]
fn help_lists_every_meta_command() {
    let home = tempfile::tempdir().unwrap();
    let output = session(&[SEED], ".help\n", home.path());
    let help = String::from_utf8_lossy(&output.stdout);
    for command in [
        ".help", ".tables", ".schema", ".mode", ".maxrows", ".timer", ".output", ".once", ".read",
        ".open", ".since", ".between", ".stats", ".quit",
    ] {
        assert!(
            help.contains(&format!("\n{command} ")),
            "{command} missing:\n{help}"
        );
    }
}

#[test]
fn modes_maxrows_timer_and_stats() {
    let home = tempfile::tempdir().unwrap();
    let script = "\
.mode markdown
SELECT eventname, sourceipaddress FROM cloudtrail ORDER BY eventtime LIMIT 2;
.mode line
SELECT eventname, requestparameters FROM cloudtrail WHERE eventname = 'SplitShard';
.mode table
.maxrows 2
SELECT eventname FROM cloudtrail ORDER BY eventtime;
.maxrows 0
.stats
.mode
.mode sideways
.timer maybe
";
    let output = session(&[SEED], script, home.path());
    assert_eq!(
        output.status.code(),
        Some(1),
        "bad commands fail a piped script"
    );
    insta::assert_snapshot!(transcript(&output));
}

#[test]
fn time_windows_apply_to_every_query_until_cleared() {
    let home = tempfile::tempdir().unwrap();
    let script = "\
.between 2014-04-19T00:15:00Z 2014-04-19T00:16:00Z
SELECT eventname FROM cloudtrail ORDER BY eventtime;
.since 2014-04-19T00:17:00Z
SELECT eventname FROM cloudtrail ORDER BY eventtime;
.since
.since off
SELECT count(*) AS n FROM cloudtrail;
.between 2014-04-20 2014-04-19
";
    let output = session(&[SEED, "--format", "csv"], script, home.path());
    insta::assert_snapshot!(transcript(&output));
}

#[test]
fn output_once_read_open_and_init() {
    let home = tempfile::tempdir().unwrap();
    let dir = home.path();
    let statements = dir.join("count.sql");
    std::fs::write(
        &statements,
        "-- a saved statement\nSELECT count(*) AS n\n  FROM cloudtrail;\n",
    )
    .unwrap();
    let init = dir.join("init.sql");
    std::fs::write(&init, ".mode csv\n").unwrap();
    let once = dir.join("once.csv");
    let all = dir.join("all.csv");
    let script = format!(
        ".once {once}\nSELECT 1 AS one;\nSELECT 2 AS two;\n.output {all}\nSELECT 3 AS three;\nSELECT 4 AS four;\n.output\n.read {statements}\n.open tests/fixtures/shapes/records.json\n.read {statements}\n.open --add {seed}\n.read {statements}\n.open\n.read {statements}\n.tables\n",
        once = once.display(),
        all = all.display(),
        statements = statements.display(),
        seed = SEED,
    );
    let output = session(&[SEED, "--init", &init.display().to_string()], &script, dir);
    assert!(output.status.success(), "{}", transcript(&output));
    assert_eq!(std::fs::read_to_string(&once).unwrap(), "one\n1\n");
    assert_eq!(
        std::fs::read_to_string(&all).unwrap(),
        "three\n3\nfour\n4\n"
    );
    insta::assert_snapshot!(transcript(&output));
}

#[test]
fn trailsqlrc_runs_first() {
    let home = tempfile::tempdir().unwrap();
    std::fs::write(home.path().join(".trailsqlrc"), ".mode ndjson\n").unwrap();
    let output = session(
        &[SEED],
        "SELECT eventname FROM cloudtrail ORDER BY eventtime LIMIT 1;\n",
        home.path(),
    );
    assert_eq!(
        String::from_utf8_lossy(&output.stdout),
        "{\"eventname\":\"ListStreams\"}\n"
    );
}
