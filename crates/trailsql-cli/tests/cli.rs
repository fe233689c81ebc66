use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Runs `trailsql` from the workspace root so paths in output are stable.
fn trailsql(args: &[&str], stdin: Option<&str>) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_trailsql"))
        .args(args)
        .current_dir(root())
        .env("NO_COLOR", "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    input
        .write_all(stdin.unwrap_or_default().as_bytes())
        .unwrap();
    drop(input);
    child.wait_with_output().unwrap()
}

fn stdout(output: &Output) -> String {
    String::from_utf8(output.stdout.clone()).unwrap()
}

fn stderr(output: &Output) -> String {
    String::from_utf8(output.stderr.clone()).unwrap()
}

const SEED: &str = "crates/trailsql/sample/kinesis-example.json";
const SEED_SQL: &str =
    "SELECT eventname, useridentity_username, sourceipaddress FROM cloudtrail ORDER BY eventtime";

#[test]
fn seed_query_as_a_table() {
    let output = trailsql(&[SEED, "-c", SEED_SQL], None);
    assert!(output.status.success(), "{}", stderr(&output));
    insta::assert_snapshot!(stdout(&output));
}

#[test]
fn seed_query_in_every_format() {
    for format in ["csv", "json", "ndjson"] {
        let sql =
            "SELECT eventname, eventtime, readonly FROM cloudtrail ORDER BY eventtime LIMIT 2";
        let output = trailsql(&[SEED, "--format", format, "-c", sql], None);
        assert!(output.status.success(), "{}", stderr(&output));
        insta::assert_snapshot!(format!("format_{format}"), stdout(&output));
    }
}

#[test]
fn empty_results_are_valid_in_every_format() {
    let sql = "SELECT eventname FROM cloudtrail WHERE false";
    let json = trailsql(&[SEED, "--format", "json", "-c", sql], None);
    assert_eq!(stdout(&json), "[]\n");
    let csv = trailsql(&[SEED, "--format", "csv", "-c", sql], None);
    assert_eq!(stdout(&csv), "eventname\n");
}

#[test]
fn no_path_opens_the_bundled_sample() {
    let output = trailsql(
        &[
            "-c",
            "SELECT count(*) AS events FROM cloudtrail",
            "--format",
            "csv",
        ],
        None,
    );
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(stdout(&output), "events\n406\n");
}

#[test]
fn bad_input_exits_non_zero_naming_the_place() {
    let output = trailsql(
        &[
            "tests/fixtures/bad/wrong-type.json",
            "-c",
            "SELECT eventname FROM cloudtrail",
        ],
        None,
    );
    assert_eq!(output.status.code(), Some(1));
    insta::assert_snapshot!(stderr(&output), @"Error: tests/fixtures/bad/wrong-type.json: record 1, field eventName: expected a string, found 42");
}

#[test]
fn sql_errors_exit_non_zero() {
    let output = trailsql(&[SEED, "-c", "SELECT nosuchcolumn FROM cloudtrail"], None);
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr(&output).contains("nosuchcolumn"),
        "{}",
        stderr(&output)
    );
}

/// Each message once, not once per layer of DataFusion's error chain; an unknown name
/// gets the closest column, not the table's hundreds of names.
#[test]
fn sql_errors_are_said_once_and_briefly() {
    let unknown = trailsql(&[SEED, "-c", "SELECT eventnam FROM cloudtrail"], None);
    // The column count depends on the sample's requestParameters keys.
    let counted = stderr(&unknown)
        .lines()
        .map(|line| match line.split_once(" columns are in scope") {
            Some((count, rest)) if count.parse::<u32>().is_ok() => {
                format!("N columns are in scope{rest}")
            }
            _ => line.to_string(),
        })
        .collect::<Vec<_>>()
        .join("\n");
    insta::assert_snapshot!(
        counted,
        @r"
    Error: Schema error: No field named eventnam. Did you mean 'cloudtrail.eventname'?
    N columns are in scope; `DESCRIBE cloudtrail` lists them.
    "
    );
    let mismatched = trailsql(
        &[
            SEED,
            "-c",
            "SELECT count(*) FROM cloudtrail WHERE readonly = 'yes'",
        ],
        None,
    );
    insta::assert_snapshot!(
        stderr(&mismatched),
        @"Error: Error during planning: Cannot infer common argument type for comparison operation Boolean = Utf8"
    );
    let missing = trailsql(&[SEED, "-c", "SELECT * FROM nosuchtable"], None);
    insta::assert_snapshot!(
        stderr(&missing),
        @"Error: Error during planning: table 'datafusion.public.nosuchtable' not found"
    );
}

#[test]
fn missing_paths_exit_non_zero() {
    let output = trailsql(&["no/such/dir", "-c", "SELECT 1"], None);
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(
        stderr(&output),
        "Error: no/such/dir: no such file or folder\n"
    );
}

#[test]
fn skip_mode_reports_counts_on_stderr() {
    let output = trailsql(
        &[
            "tests/fixtures/bad",
            "--on-error",
            "skip",
            "--format",
            "csv",
            "-c",
            "SELECT count(eventtime) AS n FROM cloudtrail",
        ],
        None,
    );
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(stdout(&output), "n\n6\n");
    insta::assert_snapshot!(stderr(&output), @"note: skipped 3 file(s) without events, 3 bad file(s), 1 bad record(s) (--stats for details)");
}

#[test]
fn stats_show_what_was_read() {
    let output = trailsql(
        &[
            "tests/fixtures/shapes/records.json",
            "--stats",
            "--format",
            "csv",
            "-c",
            "SELECT count(*) AS n FROM cloudtrail",
        ],
        None,
    );
    let err = stderr(&output);
    assert!(
        err.starts_with(
            "files: 1 listed, 1 read (2709 bytes, 2709 inflated); events: 3\nelapsed: "
        ),
        "{err}"
    );
}

#[test]
fn repl_reads_statements_from_stdin() {
    let script =
        "SELECT eventname\n  FROM cloudtrail\n  ORDER BY eventtime LIMIT 2;\n.schema\n.quit\n";
    let output = trailsql(&[SEED, "--format", "csv"], Some(script));
    assert!(output.status.success(), "{}", stderr(&output));
    let out = stdout(&output);
    let schema_line = out
        .lines()
        .find(|l| l.starts_with("eventtime "))
        .unwrap()
        .to_string();
    let head: String = out.lines().take(3).collect::<Vec<_>>().join("\n");
    insta::assert_snapshot!(format!("{head}\n...\n{schema_line}"));
}

#[test]
fn piped_repl_scripts_fail_on_errors() {
    let output = trailsql(&[SEED], Some("SELECT nosuch FROM cloudtrail;\nSELECT 1;\n"));
    assert_eq!(output.status.code(), Some(1));
}

#[test]
fn csv_writes_nested_columns_as_json() {
    let sql = "SELECT eventid, resources FROM cloudtrail ORDER BY eventid";
    let output = trailsql(
        &[
            "tests/fixtures/shapes/records.json",
            "--format",
            "csv",
            "-c",
            sql,
        ],
        None,
    );
    assert!(output.status.success(), "{}", stderr(&output));
    insta::assert_snapshot!(stdout(&output));
}

#[test]
fn late_delivery_takes_a_duration() {
    let output = trailsql(&[SEED, "--late-delivery", "soon", "-c", "SELECT 1"], None);
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr(&output).contains("--late-delivery soon: expected a duration"),
        "{}",
        stderr(&output)
    );
    let output = trailsql(&[SEED, "--late-delivery", "15m", "-c", "SELECT 1"], None);
    assert!(output.status.success(), "{}", stderr(&output));
}

#[test]
fn generate_writes_a_trail_in_the_layout_that_prunes() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().display().to_string();
    let output = trailsql(
        &[
            "generate",
            &root,
            "--accounts",
            "2",
            "--regions",
            "2",
            "--days",
            "2",
            "--files-per-day",
            "4",
            "--events-per-file",
            "3",
        ],
        None,
    );
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(
        stderr(&output).starts_with("32 files, 96 events, "),
        "{}",
        stderr(&output)
    );
    let output = trailsql(
        &[
            &root,
            "--format",
            "csv",
            "--stats",
            "-c",
            "SELECT count(*) AS n FROM cloudtrail WHERE eventtime >= '2024-01-02' AND log_account = '111122223333' AND log_region = 'us-east-1'",
        ],
        None,
    );
    assert!(output.status.success(), "{}", stderr(&output));
    let stats = stderr(&output);
    assert!(stats.contains("files pruned"), "{stats}");
    assert!(stats.contains("files: 4 listed, 4 read"), "{stats}");
}

#[test]
fn generate_realistic_trails_to_a_size() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().display().to_string();
    let output = trailsql(
        &[
            "generate",
            &root,
            "--realistic",
            "--size",
            "3MB",
            "--accounts",
            "1",
            "--regions",
            "2",
            "--files-per-day",
            "12",
            "--events-per-file",
            "200",
        ],
        None,
    );
    assert!(output.status.success(), "{}", stderr(&output));
    let note = stderr(&output);
    let megabytes: f64 = note
        .split_once("events, ")
        .and_then(|(_, rest)| rest.split_once(" MB gzipped"))
        .and_then(|(mb, _)| mb.parse().ok())
        .unwrap_or_else(|| panic!("{note}"));
    assert!((1.5..6.0).contains(&megabytes), "{note}");
    let output = trailsql(
        &[
            &root,
            "--format",
            "csv",
            "-c",
            "SELECT count(DISTINCT eventname) > 150 AS long_tail, count(DISTINCT eventsource) >= 30 AS services, \
             count(DISTINCT useridentity_type) >= 9 AS identity_types, \
             sum(CASE WHEN errorcode IS NOT NULL THEN 1 ELSE 0 END) * 100 / count(*) BETWEEN 1 AND 8 AS some_errors \
             FROM cloudtrail",
        ],
        None,
    );
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(
        stdout(&output),
        "long_tail,services,identity_types,some_errors\ntrue,true,true,true\n"
    );
    let sizes: Vec<u64> = walk(dir.path())
        .iter()
        .map(|p| p.metadata().unwrap().len())
        .collect();
    let (small, large) = (sizes.iter().min().unwrap(), sizes.iter().max().unwrap());
    assert!(
        large / small > 50,
        "file sizes vary from {small} to {large} bytes"
    );
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(walk(&path));
        } else {
            files.push(path);
        }
    }
    files
}

#[test]
fn convert_writes_parquet_once_and_the_cache_serves_later_queries() {
    let dir = tempfile::tempdir().unwrap();
    let trail = dir.path().join("trail").display().to_string();
    let lake = dir.path().join("lake").display().to_string();
    let cache = dir.path().join("cache").display().to_string();
    let generated = trailsql(
        &[
            "generate",
            &trail,
            "--accounts",
            "1",
            "--regions",
            "2",
            "--days",
            "2",
            "--files-per-day",
            "3",
            "--events-per-file",
            "4",
        ],
        None,
    );
    assert!(generated.status.success(), "{}", stderr(&generated));

    let output = trailsql(&["convert", &trail, &lake], None);
    assert!(output.status.success(), "{}", stderr(&output));
    let report = stderr(&output);
    assert_contains(&report, "convert: 12/12 objects");
    assert_contains(&report, "converted 12 object(s) (48 events");
    let again = stderr(&trailsql(&["convert", &trail, &lake, "--quiet"], None));
    assert_contains(&again, "converted 0 object(s)");
    assert_contains(&again, "already converted 12");
    let bad_shard = trailsql(&["convert", &trail, &lake, "--shard", "4/4"], None);
    assert!(!bad_shard.status.success());
    assert_contains(&stderr(&bad_shard), "expected 0 <= i < N");

    let sql = "SELECT eventname, count(*) AS n FROM cloudtrail GROUP BY 1 ORDER BY 1";
    let raw = trailsql(&[&trail, "--format", "csv", "-c", sql], None);
    let converted = trailsql(&[&lake, "--format", "csv", "-c", sql], None);
    assert!(converted.status.success(), "{}", stderr(&converted));
    assert_eq!(stdout(&converted), stdout(&raw));

    let first = trailsql(
        &[
            &trail, "--cache", &cache, "--format", "csv", "--stats", "-c", sql,
        ],
        None,
    );
    assert_eq!(stdout(&first), stdout(&raw));
    assert_contains(&stderr(&first), "12 added");
    let second = trailsql(
        &[
            &trail, "--cache", &cache, "--format", "csv", "--stats", "-c", sql,
        ],
        None,
    );
    assert_eq!(stdout(&second), stdout(&raw));
    assert_contains(&stderr(&second), "cache: 12 object(s) read from it");

    let shown = trailsql(&["cache", &cache, &trail], None);
    assert!(shown.status.success(), "{}", stderr(&shown));
    assert_contains(&stdout(&shown), "12 object(s), 48 events");
    assert_contains(&stdout(&shown), "covers 12 of the 12");
    let repl = trailsql(
        &[&trail, "--cache", &cache],
        Some(".cache\n.cache clear\n.cache\n"),
    );
    let text = stdout(&repl);
    assert_contains(&text, "covers 12 of the 12");
    assert_contains(&text, "removed 12 object(s)");
    assert_contains(&text, "covers 0 of the 12");
}

#[test]
fn the_rc_file_turns_the_cache_on() {
    let dir = tempfile::tempdir().unwrap();
    let trail = dir.path().join("trail").display().to_string();
    let cache = dir.path().join("cache");
    let generated = trailsql(
        &[
            "generate",
            &trail,
            "--accounts",
            "1",
            "--regions",
            "1",
            "--days",
            "1",
            "--files-per-day",
            "2",
            "--events-per-file",
            "3",
        ],
        None,
    );
    assert!(generated.status.success(), "{}", stderr(&generated));
    let rc = dir.path().join("trailsqlrc");
    std::fs::write(&rc, format!(".cache {}\n", cache.display())).unwrap();
    let rc = rc.display().to_string();
    let script = "SELECT count(*) AS n FROM cloudtrail;\n.cache\n";
    let first = trailsql(&[&trail, "--init", &rc], Some(script));
    assert!(first.status.success(), "{}", stderr(&first));
    assert_contains(&stdout(&first), "2 object(s), 6 events");
    assert_contains(&stdout(&first), "covers 2 of the 2");
    let off = trailsql(&[&trail, "--init", &rc], Some(".cache off\n.cache\n"));
    assert_contains(&stdout(&off), "no Parquet cache");
}

/// Fails showing the whole text when `needle` is not in it.
fn assert_contains(text: &str, needle: &str) {
    assert!(text.contains(needle), "{needle:?} not in:\n{text}");
}

#[test]
fn csv_defuses_formulas_for_spreadsheets() {
    let dir = tempfile::tempdir().unwrap();
    let agents = [
        "=HYPERLINK(\"http://evil.example\",\"click\")",
        "+1+2",
        "-2",
        "@SUM(A1)",
        "\tcmd",
        "aws-cli/2.15.0",
    ];
    let records: Vec<String> = agents
        .iter()
        .enumerate()
        .map(|(i, agent)| {
            format!(
                r#"{{"eventTime":"2024-01-01T00:00:0{i}Z","eventName":"X","userAgent":{}}}"#,
                serde_json::to_string(agent).unwrap()
            )
        })
        .collect();
    let path = dir.path().join("agents.json");
    std::fs::write(&path, format!("{{\"Records\":[{}]}}", records.join(","))).unwrap();
    let sql = "SELECT useragent, length(useragent) AS n FROM cloudtrail ORDER BY eventtime";
    let output = trailsql(
        &[path.to_str().unwrap(), "--format", "csv", "-c", sql],
        None,
    );
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(
        stdout(&output),
        "useragent,n\n\
         \"'=HYPERLINK(\"\"http://evil.example\"\",\"\"click\"\")\",41\n\
         '+1+2,4\n\
         '-2,2\n\
         '@SUM(A1),8\n\
         '\tcmd,4\n\
         aws-cli/2.15.0,14\n"
    );
}

#[test]
fn a_gzip_bomb_stops_at_max_inflated() {
    let dir = tempfile::tempdir().unwrap();
    let mut json = b"{\"Records\":[".to_vec();
    json.resize(json.len() + (16 << 20), b' ');
    json.extend_from_slice(b"]}");
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    encoder.write_all(&json).unwrap();
    let path = dir.path().join("bomb.json.gz");
    std::fs::write(&path, encoder.finish().unwrap()).unwrap();
    let path = path.to_str().unwrap();
    let sql = "SELECT count(*) FROM cloudtrail";
    let output = trailsql(&[path, "--max-inflated", "1MiB", "-c", sql], None);
    assert!(!output.status.success());
    assert_contains(
        &stderr(&output),
        "bomb.json.gz: inflates past the limit of 1048576 bytes",
    );
    let output = trailsql(&[path, "-c", sql], None);
    assert!(output.status.success(), "{}", stderr(&output));
}
