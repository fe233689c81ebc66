//! Check results for people (`human`) and for CI systems (`json`, `junit`, `sarif`).

use std::fmt::Write as _;
use std::io::Write;

use datafusion::arrow::util::pretty::pretty_format_batches;
use serde_json::{Value, json};

use super::fixtures::QueryTest;
use super::header::{QueryFileError, Severity};
use super::run::{Outcome, QueryRun};

/// How a report is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReportFormat {
    Human,
    Json,
    Junit,
    Sarif,
}

/// Rows of a finding shown in the human report; the JSON, JUnit and SARIF reports carry all.
const HUMAN_ROWS: usize = 20;

/// The totals of a check run and the exit code they call for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunSummary {
    pub queries: usize,
    pub passed: usize,
    pub findings: usize,
    /// Findings at or above the failing severity.
    pub failing_findings: usize,
    pub errors: usize,
    /// 0 all passed, 1 findings at or above the failing severity, 2 any error.
    pub exit_code: u8,
}

impl RunSummary {
    pub fn new(runs: &[QueryRun], file_errors: &[QueryFileError], fail_on: Severity) -> Self {
        let count = |f: &dyn Fn(&QueryRun) -> bool| runs.iter().filter(|r| f(r)).count();
        let findings = count(&|r| matches!(r.outcome, Outcome::Finding(_)));
        let failing_findings =
            count(&|r| matches!(r.outcome, Outcome::Finding(_)) && r.query.severity >= fail_on);
        let errors = count(&|r| matches!(r.outcome, Outcome::Error(_))) + file_errors.len();
        let exit_code = if errors > 0 {
            2
        } else if failing_findings > 0 {
            1
        } else {
            0
        };
        Self {
            queries: runs.len() + file_errors.len(),
            passed: count(&|r| r.outcome == Outcome::Pass),
            findings,
            failing_findings,
            errors,
            exit_code,
        }
    }
}

/// The totals of a fixture test run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TestSummary {
    pub queries: usize,
    pub cases: usize,
    pub failed_queries: usize,
    pub errors: usize,
    /// 0 all passed, 1 a query failed its fixtures, 2 a query file cannot be used.
    pub exit_code: u8,
}

impl TestSummary {
    pub fn new(tests: &[QueryTest], file_errors: &[QueryFileError]) -> Self {
        let failed_queries = tests.iter().filter(|t| !t.passed()).count();
        let exit_code = if !file_errors.is_empty() {
            2
        } else if failed_queries > 0 {
            1
        } else {
            0
        };
        Self {
            queries: tests.len() + file_errors.len(),
            cases: tests.iter().map(|t| t.cases.len()).sum(),
            failed_queries,
            errors: file_errors.len(),
            exit_code,
        }
    }
}

pub fn write_run_report(
    out: &mut dyn Write,
    format: ReportFormat,
    runs: &[QueryRun],
    file_errors: &[QueryFileError],
    fail_on: Severity,
) -> std::io::Result<RunSummary> {
    let summary = RunSummary::new(runs, file_errors, fail_on);
    match format {
        ReportFormat::Human => human_run(out, runs, file_errors, &summary)?,
        ReportFormat::Json => {
            let doc = json_run(runs, file_errors, &summary, fail_on);
            writeln!(out, "{}", serde_json::to_string_pretty(&doc)?)?;
        }
        ReportFormat::Junit => junit_run(out, runs, file_errors)?,
        ReportFormat::Sarif => {
            let doc = sarif_run(runs, file_errors);
            writeln!(out, "{}", serde_json::to_string_pretty(&doc)?)?;
        }
    }
    out.flush()?;
    Ok(summary)
}

pub fn write_test_report(
    out: &mut dyn Write,
    format: ReportFormat,
    tests: &[QueryTest],
    file_errors: &[QueryFileError],
) -> std::io::Result<TestSummary> {
    let summary = TestSummary::new(tests, file_errors);
    match format {
        ReportFormat::Human => human_test(out, tests, file_errors, &summary)?,
        ReportFormat::Json => {
            let doc = json_test(tests, file_errors, &summary);
            writeln!(out, "{}", serde_json::to_string_pretty(&doc)?)?;
        }
        ReportFormat::Junit => junit_test(out, tests, file_errors)?,
        ReportFormat::Sarif => {
            return Err(std::io::Error::other(
                "SARIF reports findings in logs; fixture tests report as human, json or junit",
            ));
        }
    }
    out.flush()?;
    Ok(summary)
}

fn rows_table(run: &QueryRun, limit: usize) -> String {
    let mut batches = Vec::new();
    let mut left = limit;
    for batch in &run.batches {
        if left == 0 {
            break;
        }
        let take = batch.num_rows().min(left);
        batches.push(batch.slice(0, take));
        left -= take;
    }
    let flat: Vec<_> = batches
        .iter()
        .filter_map(|b| crate::results::flatten_nested(b).ok())
        .collect();
    match pretty_format_batches(&flat) {
        Ok(table) => table.to_string(),
        Err(e) => format!("(cannot show the rows: {e})"),
    }
}

fn human_run(
    out: &mut dyn Write,
    runs: &[QueryRun],
    file_errors: &[QueryFileError],
    summary: &RunSummary,
) -> std::io::Result<()> {
    for error in file_errors {
        writeln!(out, "ERROR    {error}")?;
    }
    for run in runs {
        let q = &run.query;
        let ms = run.elapsed.as_millis();
        match &run.outcome {
            Outcome::Pass => writeln!(
                out,
                "PASS     {:<8} {}  {} ({ms} ms)",
                q.severity, q.id, q.title
            )?,
            Outcome::Finding(what) => {
                writeln!(
                    out,
                    "FINDING  {:<8} {}  {}: {what} ({ms} ms)",
                    q.severity, q.id, q.title
                )?;
                if !run.batches.is_empty() {
                    for line in rows_table(run, HUMAN_ROWS).lines() {
                        writeln!(out, "    {line}")?;
                    }
                    if run.rows > HUMAN_ROWS as u64 {
                        writeln!(
                            out,
                            "    ... {} more row(s) (--format json shows all)",
                            run.rows - HUMAN_ROWS as u64
                        )?;
                    }
                }
            }
            Outcome::Error(message) => {
                writeln!(out, "ERROR    {:<8} {}  {message}", q.severity, q.id)?
            }
        }
    }
    writeln!(
        out,
        "{} queries: {} passed, {} with findings ({} at or above the failing severity), {} errors",
        summary.queries, summary.passed, summary.findings, summary.failing_findings, summary.errors
    )
}

fn human_test(
    out: &mut dyn Write,
    tests: &[QueryTest],
    file_errors: &[QueryFileError],
    summary: &TestSummary,
) -> std::io::Result<()> {
    for error in file_errors {
        writeln!(out, "ERROR  {error}")?;
    }
    for test in tests {
        let status = if test.passed() { "ok  " } else { "FAIL" };
        let firing = test.cases.iter().filter(|c| c.firing).count();
        writeln!(
            out,
            "{status}   {}  ({} cases: {firing} firing, {} quiet)",
            test.query.id,
            test.cases.len(),
            test.cases.len() - firing
        )?;
        for problem in &test.problems {
            writeln!(out, "       {}: {problem}", test.query.path.display())?;
        }
        for case in test.cases.iter().filter(|c| c.failure.is_some()) {
            writeln!(
                out,
                "       case `{}` ({}):",
                case.name,
                case.logs.display()
            )?;
            for line in case.failure.as_deref().unwrap_or_default().lines() {
                writeln!(out, "         {line}")?;
            }
        }
    }
    writeln!(
        out,
        "{} queries, {} cases: {} passed, {} failed, {} errors",
        summary.queries,
        summary.cases,
        summary.queries - summary.failed_queries - summary.errors,
        summary.failed_queries,
        summary.errors
    )
}

fn status(outcome: &Outcome) -> &'static str {
    match outcome {
        Outcome::Pass => "pass",
        Outcome::Finding(_) => "finding",
        Outcome::Error(_) => "error",
    }
}

fn json_run(
    runs: &[QueryRun],
    file_errors: &[QueryFileError],
    summary: &RunSummary,
    fail_on: Severity,
) -> Value {
    let queries: Vec<Value> = runs
        .iter()
        .map(|run| {
            let q = &run.query;
            let rows = crate::results::json_rows(&run.batches).unwrap_or_default();
            let message = match &run.outcome {
                Outcome::Pass => Value::Null,
                Outcome::Finding(m) | Outcome::Error(m) => Value::String(m.clone()),
            };
            json!({
                "id": q.id,
                "title": q.title,
                "severity": q.severity.as_str(),
                "tags": q.tags,
                "path": q.path.display().to_string(),
                "line": q.sql_line,
                "status": status(&run.outcome),
                "message": message,
                "row_count": run.rows,
                "rows": rows,
                "elapsed_ms": run.elapsed.as_secs_f64() * 1000.0,
                "events_read": run.stats.events,
            })
        })
        .collect();
    let errors: Vec<Value> = file_errors
        .iter()
        .map(
            |e| json!({"path": e.path.display().to_string(), "line": e.line, "message": e.message}),
        )
        .collect();
    json!({
        "queries": queries,
        "file_errors": errors,
        "summary": {
            "queries": summary.queries,
            "passed": summary.passed,
            "findings": summary.findings,
            "failing_findings": summary.failing_findings,
            "errors": summary.errors,
            "fail_on": fail_on.as_str(),
            "exit_code": summary.exit_code,
        }
    })
}

fn json_test(tests: &[QueryTest], file_errors: &[QueryFileError], summary: &TestSummary) -> Value {
    let queries: Vec<Value> = tests
        .iter()
        .map(|t| {
            let cases: Vec<Value> = t
                .cases
                .iter()
                .map(|c| {
                    json!({
                        "name": c.name,
                        "logs": c.logs.display().to_string(),
                        "firing": c.firing,
                        "passed": c.failure.is_none(),
                        "failure": c.failure,
                    })
                })
                .collect();
            json!({
                "id": t.query.id,
                "path": t.query.path.display().to_string(),
                "passed": t.passed(),
                "problems": t.problems,
                "cases": cases,
            })
        })
        .collect();
    let errors: Vec<Value> = file_errors
        .iter()
        .map(
            |e| json!({"path": e.path.display().to_string(), "line": e.line, "message": e.message}),
        )
        .collect();
    json!({
        "tests": queries,
        "file_errors": errors,
        "summary": {
            "queries": summary.queries,
            "cases": summary.cases,
            "failed": summary.failed_queries,
            "errors": summary.errors,
            "exit_code": summary.exit_code,
        }
    })
}

fn xml_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            // XML 1.0 forbids most control characters even when escaped.
            c if (c as u32) < 0x20 && !matches!(c, '\t' | '\n' | '\r') => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

/// A testcase element: `failure` is `(type, message, body)`.
struct JunitCase {
    name: String,
    classname: String,
    seconds: f64,
    failure: Option<(&'static str, String, String)>,
}

/// JUnit XML as Jenkins, GitLab and GitHub test reporters read it (the Ant/Jenkins
/// schema: every testsuite has properties, system-out and system-err).
fn write_junit(out: &mut dyn Write, suite: &str, cases: &[JunitCase]) -> std::io::Result<()> {
    let failures = cases
        .iter()
        .filter(|c| matches!(&c.failure, Some((kind, _, _)) if *kind != "error"))
        .count();
    let errors = cases
        .iter()
        .filter(|c| matches!(&c.failure, Some((kind, _, _)) if *kind == "error"))
        .count();
    let total: f64 = cases.iter().map(|c| c.seconds).sum();
    let timestamp = chrono::DateTime::<chrono::Utc>::from_timestamp_micros(super::now_micros())
        .map(|t| t.format("%Y-%m-%dT%H:%M:%S").to_string())
        .unwrap_or_default();
    let host = std::env::var("HOSTNAME").unwrap_or_else(|_| "localhost".to_string());
    writeln!(out, r#"<?xml version="1.0" encoding="UTF-8"?>"#)?;
    writeln!(out, "<testsuites>")?;
    writeln!(
        out,
        r#"  <testsuite package="trailsql" id="0" name="{}" timestamp="{timestamp}" hostname="{}" tests="{}" failures="{failures}" errors="{errors}" time="{total:.3}">"#,
        xml_escape(suite),
        xml_escape(&host),
        cases.len()
    )?;
    writeln!(out, "    <properties/>")?;
    for case in cases {
        let open = format!(
            r#"    <testcase name="{}" classname="{}" time="{:.3}""#,
            xml_escape(&case.name),
            xml_escape(&case.classname),
            case.seconds
        );
        match &case.failure {
            None => writeln!(out, "{open}/>")?,
            Some((kind, message, body)) => {
                writeln!(out, "{open}>")?;
                let element = if *kind == "error" { "error" } else { "failure" };
                writeln!(
                    out,
                    r#"      <{element} message="{}" type="{kind}">{}</{element}>"#,
                    xml_escape(message),
                    xml_escape(body)
                )?;
                writeln!(out, "    </testcase>")?;
            }
        }
    }
    writeln!(out, "    <system-out/>")?;
    writeln!(out, "    <system-err/>")?;
    writeln!(out, "  </testsuite>")?;
    writeln!(out, "</testsuites>")
}

fn classname(path: &std::path::Path) -> String {
    let parent = path
        .parent()
        .and_then(|p| p.file_name())
        .and_then(|n| n.to_str())
        .unwrap_or("queries");
    format!("trailsql.{parent}")
}

/// A query file that cannot be used is an errored test case, named by its path.
fn file_error_cases(file_errors: &[QueryFileError]) -> Vec<JunitCase> {
    file_errors
        .iter()
        .map(|e| JunitCase {
            name: e.path.display().to_string(),
            classname: classname(&e.path),
            seconds: 0.0,
            failure: Some(("error", e.to_string(), e.to_string())),
        })
        .collect()
}

fn junit_run(
    out: &mut dyn Write,
    runs: &[QueryRun],
    file_errors: &[QueryFileError],
) -> std::io::Result<()> {
    let mut cases = file_error_cases(file_errors);
    for run in runs {
        let q = &run.query;
        let failure = match &run.outcome {
            Outcome::Pass => None,
            Outcome::Finding(what) => Some((
                "finding",
                format!("{} ({}): {what}", q.title, q.severity),
                rows_table(run, usize::MAX),
            )),
            Outcome::Error(message) => Some(("error", message.clone(), message.clone())),
        };
        cases.push(JunitCase {
            name: format!("{}: {}", q.id, q.title),
            classname: classname(&q.path),
            seconds: run.elapsed.as_secs_f64(),
            failure,
        });
    }
    write_junit(out, "trailsql check", &cases)
}

fn junit_test(
    out: &mut dyn Write,
    tests: &[QueryTest],
    file_errors: &[QueryFileError],
) -> std::io::Result<()> {
    let mut cases = file_error_cases(file_errors);
    for test in tests {
        let classname = format!("{}.{}", classname(&test.query.path), test.query.id);
        for problem in &test.problems {
            cases.push(JunitCase {
                name: format!("{}: fixtures", test.query.id),
                classname: classname.clone(),
                seconds: 0.0,
                failure: Some(("fixtures", problem.clone(), problem.clone())),
            });
        }
        for case in &test.cases {
            cases.push(JunitCase {
                name: format!("{}: {}", test.query.id, case.name),
                classname: classname.clone(),
                seconds: case.elapsed.as_secs_f64(),
                failure: case.failure.as_ref().map(|f| {
                    (
                        "mismatch",
                        f.lines().next().unwrap_or_default().to_string(),
                        f.clone(),
                    )
                }),
            });
        }
    }
    write_junit(out, "trailsql check --test", &cases)
}

/// SARIF levels: GitHub shows `error` as a failing alert, `warning` and `note` below it.
fn sarif_level(severity: Severity) -> &'static str {
    match severity {
        Severity::Critical | Severity::High => "error",
        Severity::Medium => "warning",
        Severity::Low | Severity::Info => "note",
    }
}

/// GitHub code scanning ranks security alerts by this CVSS-like score.
fn security_severity(severity: Severity) -> &'static str {
    match severity {
        Severity::Critical => "9.5",
        Severity::High => "8.0",
        Severity::Medium => "5.5",
        Severity::Low => "3.0",
        Severity::Info => "0.0",
    }
}

/// FNV-1a, stable across runs and platforms, for SARIF fingerprints.
fn fingerprint(text: &str) -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in text.bytes() {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{hash:016x}")
}

fn row_text(row: &Value) -> String {
    let Value::Object(map) = row else {
        return row.to_string();
    };
    let mut text = String::new();
    for (key, value) in map {
        if value.is_null() {
            continue;
        }
        if !text.is_empty() {
            text.push_str(", ");
        }
        let value = match value {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        let _ = write!(text, "{key}={value}");
    }
    text
}

fn sarif_run(runs: &[QueryRun], file_errors: &[QueryFileError]) -> Value {
    let rules: Vec<Value> = runs
        .iter()
        .map(|run| {
            let q = &run.query;
            let description = if q.description.is_empty() {
                &q.title
            } else {
                &q.description
            };
            json!({
                "id": q.id,
                "name": q.id,
                "shortDescription": {"text": q.title},
                "fullDescription": {"text": description},
                "defaultConfiguration": {"level": sarif_level(q.severity)},
                "properties": {
                    "tags": q.tags,
                    "severity": q.severity.as_str(),
                    "security-severity": security_severity(q.severity),
                },
            })
        })
        .collect();
    let mut results = Vec::new();
    let mut notifications: Vec<Value> = file_errors
        .iter()
        .map(|e| {
            json!({
                "level": "error",
                "message": {"text": e.to_string()},
                "locations": [location(&e.path, e.line.max(1))],
            })
        })
        .collect();
    for (index, run) in runs.iter().enumerate() {
        let q = &run.query;
        match &run.outcome {
            Outcome::Pass => {}
            Outcome::Error(message) => notifications.push(json!({
                "level": "error",
                "message": {"text": message},
                "descriptor": {"id": q.id},
                "locations": [location(&q.path, q.sql_line)],
            })),
            Outcome::Finding(what) => {
                let rows = crate::results::json_rows(&run.batches).unwrap_or_default();
                let rows = if rows.is_empty() {
                    vec![Value::Null]
                } else {
                    rows
                };
                for row in rows {
                    let detail = if row.is_null() {
                        what.clone()
                    } else {
                        row_text(&row)
                    };
                    results.push(json!({
                        "ruleId": q.id,
                        "ruleIndex": index,
                        "level": sarif_level(q.severity),
                        "message": {"text": format!("{}: {detail}", q.title)},
                        "locations": [location(&q.path, q.sql_line)],
                        "partialFingerprints": {"findingHash/v1": fingerprint(&format!("{}\n{detail}", q.id))},
                        "properties": {"row": row},
                    }));
                }
            }
        }
    }
    let successful = notifications.is_empty();
    json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "trailsql",
                "version": env!("CARGO_PKG_VERSION"),
                "informationUri": "https://github.com/trailsql/trailsql",
                "rules": rules,
            }},
            "invocations": [{
                "executionSuccessful": successful,
                "toolExecutionNotifications": notifications,
            }],
            "results": results,
        }],
    })
}

fn location(path: &std::path::Path, line: usize) -> Value {
    let uri = path.display().to_string().replace('\\', "/");
    let uri = uri.strip_prefix("./").unwrap_or(&uri).to_string();
    json!({"physicalLocation": {
        "artifactLocation": {"uri": uri},
        "region": {"startLine": line.max(1)},
    }})
}
