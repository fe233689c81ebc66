//! `check --test`: each saved query against its own fixture logs and expected results.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use datafusion::arrow::array::{Array, TimestampMicrosecondArray};

use super::header::{Expect, SavedQuery};
use super::run::{CheckOptions, Outcome, compare_csv, csv_row_count, run_query};
use crate::{Engine, EngineOptions};

/// Settings of a fixture test run.
#[derive(Debug, Clone, Default)]
pub struct TestOptions {
    /// Fail a query with fewer cases; two or more also demands one firing and one quiet case.
    pub minimum_tests: usize,
    /// `--param` overrides, applied to every case.
    pub params: std::collections::BTreeMap<String, String>,
}

/// One fixture case of a query.
#[derive(Debug, Clone)]
pub struct CaseResult {
    pub name: String,
    /// The logs the case runs over.
    pub logs: PathBuf,
    /// Whether the expected result makes the query report a finding.
    pub firing: bool,
    /// `None` when the case passed, else what went wrong.
    pub failure: Option<String>,
    pub elapsed: Duration,
}

/// A query's fixture test: every case, and problems with the set of cases as a whole.
#[derive(Debug, Clone)]
pub struct QueryTest {
    pub query: SavedQuery,
    pub cases: Vec<CaseResult>,
    pub problems: Vec<String>,
}

impl QueryTest {
    pub fn passed(&self) -> bool {
        self.problems.is_empty() && self.cases.iter().all(|c| c.failure.is_none())
    }
}

/// Where a query's fixtures live: `x.tests/` beside `x.sql`, or `tests/<id>/` beside it.
fn fixture_dirs(query: &SavedQuery) -> Vec<PathBuf> {
    let beside = query.fixtures_dir();
    let under_tests = query
        .path
        .parent()
        .unwrap_or(Path::new("."))
        .join("tests")
        .join(&query.id);
    [beside, under_tests]
        .into_iter()
        .filter(|d| d.is_dir())
        .collect()
}

/// The cases of a fixture folder: every file or folder of logs, each with its
/// `<case>.expected.csv`.
fn cases(dir: &Path) -> std::io::Result<Vec<(String, PathBuf, PathBuf)>> {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    entries.sort();
    let mut out = Vec::new();
    for logs in entries {
        let file_name = logs
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default()
            .to_string();
        if file_name.starts_with('.') || file_name.ends_with(".expected.csv") {
            continue;
        }
        let name = file_name
            .split('.')
            .next()
            .unwrap_or(&file_name)
            .to_string();
        let expected = dir.join(format!("{name}.expected.csv"));
        out.push((name, logs, expected));
    }
    Ok(out)
}

/// Runs every fixture case of `query`.
pub async fn test_query(query: &SavedQuery, options: &TestOptions) -> QueryTest {
    let mut test = QueryTest {
        query: query.clone(),
        cases: Vec::new(),
        problems: Vec::new(),
    };
    let dirs = fixture_dirs(query);
    if dirs.is_empty() {
        test.problems.push(format!(
            "no fixtures: put logs and expected results in {}/",
            query.fixtures_dir().display()
        ));
    }
    for dir in dirs {
        let found = match cases(&dir) {
            Ok(found) => found,
            Err(e) => {
                test.problems
                    .push(format!("{}: cannot read: {e}", dir.display()));
                continue;
            }
        };
        for (name, logs, expected) in found {
            test.cases
                .push(run_case(query, name, logs, &expected, options).await);
        }
    }
    let firing = test.cases.iter().filter(|c| c.firing).count();
    let quiet = test.cases.len() - firing;
    if test.cases.len() < options.minimum_tests {
        test.problems.push(format!(
            "{} test case(s), --minimum-tests wants {}",
            test.cases.len(),
            options.minimum_tests
        ));
    }
    if options.minimum_tests >= 2 && (firing == 0 || quiet == 0) {
        test.problems.push(format!(
            "{firing} firing and {quiet} quiet case(s): --minimum-tests {} wants at least one of each",
            options.minimum_tests
        ));
    }
    test
}

async fn run_case(
    query: &SavedQuery,
    name: String,
    logs: PathBuf,
    expected: &Path,
    options: &TestOptions,
) -> CaseResult {
    let started = Instant::now();
    let mut case = CaseResult {
        name,
        logs: logs.clone(),
        firing: false,
        failure: None,
        elapsed: Duration::ZERO,
    };
    let expected_text = match std::fs::read_to_string(expected) {
        Ok(text) => text,
        Err(e) => {
            case.failure = Some(format!("cannot read {}: {e}", expected.display()));
            return case;
        }
    };
    let expected_rows = csv_row_count(&expected_text);
    case.firing = match &query.expect {
        Expect::ResultsFile(_) => expected_rows > 0,
        expect => expect.holds_for(expected_rows) == Some(false),
    };
    let result = async {
        let read_only = EngineOptions {
            read_only: true,
            ..EngineOptions::default()
        };
        let engine = Engine::open(&[logs.display().to_string()], read_only)
            .await
            .map_err(|e| e.to_string())?;
        let now_micros = newest_event(&engine).await?;
        let check = CheckOptions {
            params: options.params.clone(),
            now_micros,
        };
        let run = run_query(&engine, query, &check).await;
        if let Outcome::Error(message) = &run.outcome {
            return Err(message.clone());
        }
        let schema = run
            .schema
            .clone()
            .expect("a run without error has a schema");
        crate::results::csv_string(&schema, &run.batches).map_err(|e| e.to_string())
    }
    .await;
    case.failure = match result {
        Ok(actual) => compare_csv(&expected_text, &actual)
            .map(|diff| format!("result differs from {}:\n{diff}", expected.display())),
        Err(message) => Some(message),
    };
    case.elapsed = started.elapsed();
    case
}

/// The newest `eventtime` of the case's logs: "now" for duration parameters, so a
/// fixture means the same whenever the test runs.
async fn newest_event(engine: &Engine) -> Result<i64, String> {
    let (batches, _) = engine
        .sql("SELECT max(eventtime) FROM cloudtrail")
        .await
        .map_err(|e| e.to_string())?
        .collect()
        .await
        .map_err(|e| e.to_string())?;
    let newest = batches
        .iter()
        .filter_map(|b| {
            let column = b
                .column(0)
                .as_any()
                .downcast_ref::<TimestampMicrosecondArray>()?;
            (!column.is_empty() && column.is_valid(0)).then(|| column.value(0))
        })
        .next();
    Ok(newest.unwrap_or_else(super::now_micros))
}
