//! `trailsql check` and `trailsql -f`: the exit-code contract CI relies on, every report
//! format (JUnit and SARIF validated against their published schemas), and the shipped
//! query library against its fixtures.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn trailsql(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_trailsql"))
        .args(args)
        .current_dir(root())
        .env("NO_COLOR", "1")
        .output()
        .unwrap()
}

fn stdout(output: &Output) -> String {
    String::from_utf8(output.stdout.clone()).unwrap()
}

fn stderr(output: &Output) -> String {
    String::from_utf8(output.stderr.clone()).unwrap()
}

const SEED: &str = "crates/trailsql/sample/kinesis-example.json";
const GOOD: &str = "tests/fixtures/checks/good";
const BAD: &str = "tests/fixtures/checks/bad";

/// Replaces the run-dependent milliseconds in human output.
fn without_timings(text: &str) -> String {
    let mut out = String::new();
    for line in text.lines() {
        let line = match line.rfind(" ms)") {
            Some(end) => {
                let start = line[..end].rfind('(').unwrap();
                format!("{}(N ms){}", &line[..start], &line[end + 4..])
            }
            None => line.to_string(),
        };
        out.push_str(&line);
        out.push('\n');
    }
    out
}

#[test]
fn findings_fail_the_run_with_exit_code_1() {
    let output = trailsql(&["check", GOOD, "--logs", SEED]);
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    insta::assert_snapshot!(without_timings(&stdout(&output)));
}

#[test]
fn findings_below_fail_on_pass_with_exit_code_0() {
    let output = trailsql(&["check", GOOD, "--logs", SEED, "--fail-on", "high"]);
    assert_eq!(output.status.code(), Some(0), "{}", stdout(&output));
    assert!(stdout(&output).contains("FINDING  medium   stream-deleted"));
}

#[test]
fn any_error_is_exit_code_2_never_a_pass() {
    let output = trailsql(&["check", GOOD, BAD, "--logs", SEED, "--fail-on", "critical"]);
    assert_eq!(output.status.code(), Some(2), "{}", stdout(&output));
    let text = stdout(&output);
    assert!(
        text.contains("tests/fixtures/checks/bad/unknown-key.sql:4: unknown header key `owner`"),
        "{text}"
    );
    assert!(
        text.contains("tests/fixtures/checks/bad/does-not-plan.sql:5: SQL does not plan:"),
        "{text}"
    );
    assert!(text.contains("no_such_table"), "{text}");
}

#[test]
fn unreadable_logs_are_exit_code_2() {
    let output = trailsql(&["check", GOOD, "--logs", "no/such/logs"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr(&output).contains("no/such/logs: no such file or folder"));
    let output = trailsql(&["check", GOOD, "--logs", "tests/fixtures/bad/broken.json"]);
    assert_eq!(output.status.code(), Some(2), "{}", stdout(&output));
}

#[test]
fn query_paths_after_logs_are_refused_not_read_as_logs() {
    let output = trailsql(&["check", "--logs", SEED, GOOD]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("put query paths before --logs"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn select_exclude_and_params() {
    let output = trailsql(&[
        "check",
        GOOD,
        "--logs",
        SEED,
        "--select",
        "kinesis",
        "--exclude",
        "shard-calls",
    ]);
    let text = stdout(&output);
    assert!(
        text.contains("stream-deleted")
            && !text.contains("shard-calls")
            && !text.contains("root-usage"),
        "{text}"
    );
    assert_eq!(output.status.code(), Some(1));

    // The stream was deleted in 2014: a later `since` makes the check pass.
    let output = trailsql(&[
        "check",
        GOOD,
        "--logs",
        SEED,
        "--select",
        "stream-deleted",
        "--param",
        "since=2015-01-01",
    ]);
    assert_eq!(output.status.code(), Some(0), "{}", stdout(&output));

    let output = trailsql(&["check", GOOD, "--logs", SEED, "--param", "since=soon"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stdout(&output).contains("parameter `since`: `soon` is not a duration"),
        "{}",
        stdout(&output)
    );

    let output = trailsql(&["check", GOOD, "--logs", SEED, "--param", "nosuch=1"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr(&output).contains("no query has a parameter `nosuch`"));
}

#[test]
fn since_and_until_window_every_query() {
    // Only the first two minutes of the example: no DeleteStream, and fewer than six events.
    let output = trailsql(&[
        "check",
        GOOD,
        "--logs",
        SEED,
        "--select",
        "stream-deleted",
        "--select",
        "six-events",
        "--since",
        "2014-04-19T00:15:00Z",
        "--until",
        "2014-04-19T00:17:00Z",
        "--format",
        "json",
    ]);
    let report: serde_json::Value = serde_json::from_str(&stdout(&output)).unwrap();
    let status = |id: &str| {
        report["queries"]
            .as_array()
            .unwrap()
            .iter()
            .find(|q| q["id"] == id)
            .unwrap()["status"]
            .clone()
    };
    assert_eq!(status("stream-deleted"), "pass");
    assert_eq!(status("six-events"), "finding");
    assert_eq!(
        report["summary"]["exit_code"], 0,
        "info findings do not fail"
    );
}

#[test]
fn json_report_carries_every_row() {
    let output = trailsql(&["check", GOOD, "--logs", SEED, "--format", "json"]);
    let report: serde_json::Value = serde_json::from_str(&stdout(&output)).unwrap();
    let deleted = report["queries"]
        .as_array()
        .unwrap()
        .iter()
        .find(|q| q["id"] == "stream-deleted")
        .unwrap();
    assert_eq!(deleted["status"], "finding");
    assert_eq!(deleted["rows"][0]["stream"], "GoodStream");
    assert_eq!(deleted["rows"][0]["who"], "Alice");
    assert_eq!(deleted["line"], 7);
    assert_eq!(report["summary"]["exit_code"], 1);
}

/// Validates with tests/schemas/validate.py (pip install jsonschema xmlschema).
fn validate(kind: &str, document: &str) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join(format!("report.{kind}"));
    std::fs::write(&file, document).unwrap();
    let result = Command::new("python3")
        .arg("-B")
        .arg(root().join("tests/schemas/validate.py"))
        .arg(kind)
        .arg(&file)
        .output()
        .expect("python3 runs the schema validator");
    assert!(
        result.status.success(),
        "{kind} report does not validate (exit {:?}):\n{}{}\n{document}",
        result.status.code(),
        String::from_utf8_lossy(&result.stdout),
        String::from_utf8_lossy(&result.stderr)
    );
}

#[test]
fn junit_and_sarif_validate_against_their_schemas() {
    for dirs in [vec![GOOD], vec![GOOD, BAD]] {
        for (format, kind) in [("junit", "junit"), ("sarif", "sarif")] {
            let mut args = vec!["check"];
            args.extend(&dirs);
            args.extend(["--logs", SEED, "--format", format]);
            let output = trailsql(&args);
            assert!(matches!(output.status.code(), Some(1 | 2)));
            validate(kind, &stdout(&output));
        }
    }
    let output = trailsql(&["check", GOOD, "--test", "--format", "junit"]);
    validate("junit", &stdout(&output));
}

#[test]
fn sarif_has_one_result_per_finding_row() {
    let output = trailsql(&["check", GOOD, "--logs", SEED, "--format", "sarif"]);
    let sarif: serde_json::Value = serde_json::from_str(&stdout(&output)).unwrap();
    let run = &sarif["runs"][0];
    let results = run["results"].as_array().unwrap();
    let deleted: Vec<_> = results
        .iter()
        .filter(|r| r["ruleId"] == "stream-deleted")
        .collect();
    assert_eq!(deleted.len(), 1);
    assert_eq!(deleted[0]["level"], "warning");
    assert_eq!(
        deleted[0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
        "tests/fixtures/checks/good/stream-deleted.sql"
    );
    assert!(
        deleted[0]["message"]["text"]
            .as_str()
            .unwrap()
            .contains("stream=GoodStream")
    );
    assert_eq!(run["invocations"][0]["executionSuccessful"], true);
}

#[test]
fn fixture_tests_report_missing_fixtures_and_minimum_tests() {
    // The fixtures in tests/fixtures/checks have no cases: --minimum-tests fails them.
    let output = trailsql(&["check", GOOD, "--test", "--minimum-tests", "2"]);
    assert_eq!(output.status.code(), Some(1), "{}", stdout(&output));
    assert!(
        stdout(&output).contains("no fixtures"),
        "{}",
        stdout(&output)
    );
}

#[test]
fn fixture_tests_catch_a_wrong_expectation() {
    let dir = tempfile::tempdir().unwrap();
    let query = dir.path().join("deleted.sql");
    std::fs::copy(root().join(GOOD).join("stream-deleted.sql"), &query).unwrap();
    let cases = dir.path().join("deleted.tests");
    std::fs::create_dir(&cases).unwrap();
    std::fs::copy(root().join(SEED), cases.join("fires.json")).unwrap();
    std::fs::write(
        cases.join("fires.expected.csv"),
        "eventtime,who,stream\n2014-04-19T00:17:07Z,Alice,GoodStream\n",
    )
    .unwrap();
    let query_path = query.display().to_string();
    let output = trailsql(&["check", &query_path, "--test", "--minimum-tests", "1"]);
    assert_eq!(output.status.code(), Some(0), "{}", stdout(&output));
    assert!(
        stdout(&output).contains("(1 cases: 1 firing, 0 quiet)"),
        "{}",
        stdout(&output)
    );

    // Two is the bar for a firing and a quiet case.
    let output = trailsql(&["check", &query_path, "--test", "--minimum-tests", "2"]);
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stdout(&output).contains("1 firing and 0 quiet"),
        "{}",
        stdout(&output)
    );

    std::fs::write(
        cases.join("fires.expected.csv"),
        "eventtime,who,stream\n2014-04-19T00:17:07Z,Bob,GoodStream\n",
    )
    .unwrap();
    let output = trailsql(&["check", &query_path, "--test"]);
    assert_eq!(output.status.code(), Some(1));
    let text = stdout(&output);
    assert!(
        text.contains("missing row: 2014-04-19T00:17:07Z,Bob,GoodStream"),
        "{text}"
    );
    assert!(
        text.contains("unexpected row: 2014-04-19T00:17:07Z,Alice,GoodStream"),
        "{text}"
    );
}

#[test]
fn the_query_library_passes_its_fixtures() {
    let output = trailsql(&["check", "queries", "--test", "--minimum-tests", "2"]);
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}{}",
        stdout(&output),
        stderr(&output)
    );
    let text = stdout(&output);
    let summary = text.lines().last().unwrap();
    let queries: usize = summary.split_whitespace().next().unwrap().parse().unwrap();
    assert!(queries >= 30, "{summary}");
}

#[test]
fn script_mode_stops_at_the_first_failing_statement() {
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("script.sql");
    std::fs::write(
        &script,
        "SELECT count(*) AS n FROM cloudtrail;\n\nSELECT nosuchcolumn\n  FROM cloudtrail;\nSELECT 'never run' AS x;\n",
    )
    .unwrap();
    let output = trailsql(&[SEED, "-f", &script.display().to_string(), "--format", "csv"]);
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(stdout(&output), "n\n6\n");
    let error = stderr(&output);
    assert!(error.contains("script.sql:3: "), "{error}");
    assert!(error.contains("nosuchcolumn"), "{error}");
}

#[test]
fn the_query_library_index_lists_every_query() {
    let index = std::fs::read_to_string(root().join("queries/README.md")).unwrap();
    let (queries, errors) = trailsql::check::load_queries(&[root().join("queries")]);
    assert!(errors.is_empty(), "{errors:?}");
    for query in queries {
        assert!(
            index.contains(&format!("`{}`", query.id)),
            "queries/README.md does not list {}",
            query.id
        );
    }
}

#[test]
fn checks_are_read_only_unless_allowed_to_write() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("exfiltrated.csv");
    let query = dir.path().join("copy.sql");
    std::fs::write(
        &query,
        format!(
            "-- id: copy-out\n-- title: Writes a file\n-- severity: low\n\
             COPY (SELECT eventname FROM cloudtrail) TO '{}' STORED AS CSV\n",
            target.display()
        ),
    )
    .unwrap();
    let query = query.display().to_string();
    let refused = trailsql(&["check", &query, "--logs", SEED]);
    assert_eq!(refused.status.code(), Some(2), "{}", stdout(&refused));
    assert!(
        stdout(&refused).contains("read-only: COPY is not allowed"),
        "{}",
        stdout(&refused)
    );
    assert!(!target.exists());
    let allowed = trailsql(&["check", &query, "--logs", SEED, "--allow-writes"]);
    assert!(target.exists(), "{}{}", stdout(&allowed), stderr(&allowed));
}
