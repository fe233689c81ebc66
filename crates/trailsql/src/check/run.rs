//! Running one saved query over an engine and judging its result.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use datafusion::arrow::datatypes::SchemaRef;
use datafusion::arrow::record_batch::RecordBatch;

use super::header::{Expect, SavedQuery};
use super::params::expand;
use crate::{Engine, ScanStats};

/// Settings shared by every query of a check run.
#[derive(Debug, Clone)]
pub struct CheckOptions {
    /// `--param name=value` overrides.
    pub params: BTreeMap<String, String>,
    /// What durations count back from, in microseconds since the epoch.
    pub now_micros: i64,
}

impl Default for CheckOptions {
    fn default() -> Self {
        Self {
            params: BTreeMap::new(),
            now_micros: super::now_micros(),
        }
    }
}

/// How a query's check ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Pass,
    /// The result broke the expectation; the rows are the findings.
    Finding(String),
    /// The query could not be run: never a pass.
    Error(String),
}

/// One query's run: its outcome, its rows and what it read.
#[derive(Debug, Clone)]
pub struct QueryRun {
    pub query: SavedQuery,
    pub outcome: Outcome,
    /// The SQL as run, parameters expanded.
    pub sql: String,
    pub schema: Option<SchemaRef>,
    pub batches: Vec<RecordBatch>,
    pub rows: u64,
    pub elapsed: Duration,
    pub stats: ScanStats,
}

/// Runs `query` over `engine` and judges the result against its `expect`.
pub async fn run_query(engine: &Engine, query: &SavedQuery, options: &CheckOptions) -> QueryRun {
    let started = Instant::now();
    let mut run = QueryRun {
        query: query.clone(),
        outcome: Outcome::Pass,
        sql: String::new(),
        schema: None,
        batches: Vec::new(),
        rows: 0,
        elapsed: Duration::ZERO,
        stats: ScanStats::default(),
    };
    let place = |line: usize| format!("{}:{line}", query.path.display());
    let sql = match expand(query, &options.params, options.now_micros) {
        Ok(sql) => sql,
        Err((line, message)) => {
            let line = if line == 0 { query.sql_line } else { line };
            run.outcome = Outcome::Error(format!("{}: {message}", place(line)));
            return run;
        }
    };
    run.sql = sql.clone();
    let planned = match engine.sql(&sql).await {
        Ok(planned) => planned,
        Err(error) => {
            run.elapsed = started.elapsed();
            let at = place(query.sql_line);
            run.outcome = Outcome::Error(format!("{at}: SQL does not plan: {error}"));
            return run;
        }
    };
    let schema = planned.schema();
    let result = planned.collect().await;
    run.elapsed = started.elapsed();
    let (batches, stats) = match result {
        Ok(done) => done,
        Err(error) => {
            run.outcome = Outcome::Error(format!("{}: {error}", place(query.sql_line)));
            return run;
        }
    };
    run.schema = Some(schema.clone());
    run.rows = batches.iter().map(|b| b.num_rows() as u64).sum();
    run.stats = stats;
    run.outcome = match &query.expect {
        Expect::ResultsFile(file) => {
            let path = query.path.parent().unwrap_or(".".as_ref()).join(file);
            match judge_against_file(&path, &schema, &batches) {
                Ok(None) => Outcome::Pass,
                Ok(Some(difference)) => Outcome::Finding(difference),
                Err(message) => Outcome::Error(format!("{}: {message}", place(0))),
            }
        }
        expect => {
            if expect.holds_for(run.rows) == Some(true) {
                Outcome::Pass
            } else if *expect == Expect::NoRows {
                Outcome::Finding(format!("{} row(s)", run.rows))
            } else {
                Outcome::Finding(format!("{} row(s), expected {expect}", run.rows))
            }
        }
    };
    run.batches = batches;
    run
}

fn judge_against_file(
    path: &std::path::Path,
    schema: &SchemaRef,
    batches: &[RecordBatch],
) -> Result<Option<String>, String> {
    let expected = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read the expected results {}: {e}", path.display()))?;
    let actual = crate::results::csv_string(schema, batches).map_err(|e| e.to_string())?;
    Ok(compare_csv(&expected, &actual))
}

/// Compares two CSV results: the header exactly, the rows as a set with repeats.
/// `None` when they agree, else what differs.
pub fn compare_csv(expected: &str, actual: &str) -> Option<String> {
    let split = |text: &str| -> (String, Vec<String>) {
        let mut lines = csv_records(text).into_iter();
        let header = lines.next().unwrap_or_default();
        let mut rows: Vec<String> = lines.filter(|l| !l.is_empty()).collect();
        rows.sort();
        (header, rows)
    };
    let (expected_header, expected_rows) = split(expected);
    let (actual_header, actual_rows) = split(actual);
    // An empty result has no schema to print when no batch came back.
    let header_matters = !(actual_header.is_empty() && actual_rows.is_empty());
    let mut problems = Vec::new();
    if header_matters && expected_header != actual_header {
        problems.push(format!(
            "columns differ: expected `{expected_header}`, got `{actual_header}`"
        ));
    }
    let missing = multiset_minus(&expected_rows, &actual_rows);
    let extra = multiset_minus(&actual_rows, &expected_rows);
    for row in &missing {
        problems.push(format!("missing row: {row}"));
    }
    for row in &extra {
        problems.push(format!("unexpected row: {row}"));
    }
    (!problems.is_empty()).then(|| problems.join("\n"))
}

fn multiset_minus(a: &[String], b: &[String]) -> Vec<String> {
    let mut counts: BTreeMap<&str, i64> = BTreeMap::new();
    for row in b {
        *counts.entry(row).or_default() += 1;
    }
    let mut out = Vec::new();
    for row in a {
        let count = counts.entry(row).or_default();
        if *count > 0 {
            *count -= 1;
        } else {
            out.push(row.clone());
        }
    }
    out
}

/// Rows of a CSV result after its header (a quoted newline stays inside its row).
pub(super) fn csv_row_count(text: &str) -> u64 {
    csv_records(text)
        .iter()
        .skip(1)
        .filter(|r| !r.is_empty())
        .count() as u64
}

/// Splits CSV text into records, keeping quoted newlines inside their record.
fn csv_records(text: &str) -> Vec<String> {
    let mut records = Vec::new();
    let mut current = String::new();
    let mut quoted = false;
    for c in text.chars() {
        match c {
            '"' => {
                quoted = !quoted;
                current.push(c);
            }
            '\n' if !quoted => records.push(std::mem::take(&mut current)),
            '\r' if !quoted => {}
            _ => current.push(c),
        }
    }
    if !current.is_empty() {
        records.push(current);
    }
    records
}

#[cfg(test)]
mod tests {
    use super::compare_csv;

    #[test]
    fn rows_compare_as_a_multiset() {
        let expected = "a,b\n1,x\n2,\"y\nz\"\n1,x\n";
        assert_eq!(compare_csv(expected, "a,b\n2,\"y\nz\"\n1,x\n1,x\n"), None);
        let diff = compare_csv(expected, "a,b\n1,x\n2,\"y\nz\"\n").unwrap();
        assert_eq!(diff, "missing row: 1,x");
        let diff = compare_csv("a\n", "b\n3\n").unwrap();
        assert!(diff.contains("columns differ"), "{diff}");
        assert!(diff.contains("unexpected row: 3"), "{diff}");
        // An empty result without a schema matches a header-only expectation.
        assert_eq!(compare_csv("a,b\n", ""), None);
        assert_eq!(super::csv_row_count(expected), 3);
    }
}
