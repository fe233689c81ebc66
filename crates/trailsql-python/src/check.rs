//! Saved queries from Python: `Connection.check()` and `trailsql.test_queries()`, the
//! library behind `trailsql check` and `trailsql check --test`.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyDict;
use trailsql::Engine;
use trailsql::check::{
    self, CheckOptions, Outcome, QueryFileError, QueryRun, QueryTest, ReportFormat, SavedQuery,
    Selection, Severity, TestOptions,
};

use crate::table::Table;

fn report_format(format: &str) -> PyResult<ReportFormat> {
    Ok(match format {
        "human" => ReportFormat::Human,
        "json" => ReportFormat::Json,
        "junit" => ReportFormat::Junit,
        "sarif" => ReportFormat::Sarif,
        other => {
            return Err(PyValueError::new_err(format!(
                "format={other:?}: expected \"human\", \"json\", \"junit\" or \"sarif\""
            )));
        }
    })
}

/// A report written as text.
fn report_text(write: impl FnOnce(&mut Vec<u8>) -> std::io::Result<()>) -> PyResult<String> {
    let mut out = Vec::new();
    write(&mut out).map_err(|e| PyValueError::new_err(e.to_string()))?;
    Ok(String::from_utf8_lossy(&out).into_owned())
}

/// Loads and selects saved queries as `trailsql check` does.
fn load(
    queries: &[PathBuf],
    params: &BTreeMap<String, String>,
    selection: &Selection,
) -> PyResult<(Vec<SavedQuery>, Vec<QueryFileError>)> {
    let (loaded, file_errors) = check::load_queries(queries);
    for name in params.keys() {
        if !loaded
            .iter()
            .any(|q| q.params.iter().any(|p| &p.name == name))
        {
            return Err(PyValueError::new_err(format!(
                "params: no query has a parameter `{name}`"
            )));
        }
    }
    let selected: Vec<_> = loaded
        .into_iter()
        .filter(|q| selection.matches(q))
        .collect();
    if selected.is_empty() && file_errors.is_empty() {
        let looked: Vec<_> = queries.iter().map(|p| p.display().to_string()).collect();
        return Err(PyValueError::new_err(format!(
            "no queries to run (looked in {})",
            looked.join(", ")
        )));
    }
    Ok((selected, file_errors))
}

pub fn run(
    py: Python<'_>,
    engine: Arc<Engine>,
    queries: Vec<PathBuf>,
    params: BTreeMap<String, String>,
    select: Vec<String>,
    exclude: Vec<String>,
    fail_on: &str,
) -> PyResult<CheckReport> {
    let fail_on: Severity = fail_on
        .parse()
        .map_err(|e: String| PyValueError::new_err(format!("fail_on: {e}")))?;
    let selection = Selection { select, exclude };
    let (queries, mut file_errors) = load(&queries, &params, &selection)?;
    let options = CheckOptions {
        params,
        now_micros: check::now_micros(),
    };
    let runs = crate::runtime::wait(py, async move {
        let mut runs = Vec::with_capacity(queries.len());
        for query in &queries {
            runs.push(check::run_query(&engine, query, &options).await);
        }
        runs
    })?;
    file_errors.sort_by(|a, b| a.path.cmp(&b.path));
    let summary = check::RunSummary::new(&runs, &file_errors, fail_on);
    Ok(CheckReport {
        runs: Arc::new(runs),
        file_errors: Arc::new(file_errors),
        fail_on,
        summary,
    })
}

/// The outcome of `Connection.check()`: one `CheckRun` per query, the totals, and the
/// report in any of the CLI's formats.
#[pyclass(module = "trailsql", name = "CheckReport", frozen)]
pub struct CheckReport {
    runs: Arc<Vec<QueryRun>>,
    file_errors: Arc<Vec<QueryFileError>>,
    fail_on: Severity,
    summary: check::RunSummary,
}

#[pymethods]
impl CheckReport {
    #[getter]
    fn runs(&self) -> Vec<CheckRun> {
        self.runs.iter().map(CheckRun::new).collect()
    }

    /// Query files that could not be used, as `path:line: message`.
    #[getter]
    fn file_errors(&self) -> Vec<String> {
        self.file_errors.iter().map(ToString::to_string).collect()
    }

    /// 0: all passed; 1: findings at or above `fail_on`; 2: any error (as the CLI).
    #[getter]
    fn exit_code(&self) -> u8 {
        self.summary.exit_code
    }

    #[getter]
    fn passed(&self) -> bool {
        self.summary.exit_code == 0
    }

    fn summary<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let dict = PyDict::new(py);
        dict.set_item("queries", self.summary.queries)?;
        dict.set_item("passed", self.summary.passed)?;
        dict.set_item("findings", self.summary.findings)?;
        dict.set_item("failing_findings", self.summary.failing_findings)?;
        dict.set_item("errors", self.summary.errors)?;
        dict.set_item("exit_code", self.summary.exit_code)?;
        Ok(dict)
    }

    /// The report as `trailsql check --format FORMAT` writes it.
    #[pyo3(signature = (format = "human"))]
    fn report(&self, format: &str) -> PyResult<String> {
        let format = report_format(format)?;
        report_text(|out| {
            check::write_run_report(out, format, &self.runs, &self.file_errors, self.fail_on)
                .map(drop)
        })
    }

    fn __repr__(&self) -> String {
        let s = &self.summary;
        format!(
            "<trailsql.CheckReport {} queries: {} passed, {} findings, {} errors; exit code {}>",
            s.queries, s.passed, s.findings, s.errors, s.exit_code
        )
    }
}

/// One saved query's run.
#[pyclass(module = "trailsql", name = "CheckRun", frozen, get_all)]
pub struct CheckRun {
    pub id: String,
    pub title: String,
    pub severity: String,
    /// "pass", "finding" or "error".
    pub outcome: String,
    /// What the finding or error was; empty on a pass.
    pub message: String,
    pub rows: u64,
    pub elapsed: f64,
    /// The SQL as run, parameters expanded.
    pub sql: String,
    pub path: String,
    findings: Py<Table>,
}

impl CheckRun {
    fn new(run: &QueryRun) -> Self {
        let (outcome, message) = match &run.outcome {
            Outcome::Pass => ("pass", String::new()),
            Outcome::Finding(m) => ("finding", m.clone()),
            Outcome::Error(m) => ("error", m.clone()),
        };
        let schema = run
            .schema
            .clone()
            .unwrap_or_else(|| Arc::new(arrow_schema::Schema::empty()));
        let table = Table::new(schema, run.batches.clone());
        Self {
            id: run.query.id.clone(),
            title: run.query.title.clone(),
            severity: run.query.severity.as_str().to_string(),
            outcome: outcome.to_string(),
            message,
            rows: run.rows,
            elapsed: run.elapsed.as_secs_f64(),
            sql: run.sql.clone(),
            path: run.query.path.display().to_string(),
            findings: Python::attach(|py| Py::new(py, table)).expect("a Table is created"),
        }
    }
}

#[pymethods]
impl CheckRun {
    /// The rows the query returned, as a `Table`.
    #[getter]
    fn result(&self, py: Python<'_>) -> Py<Table> {
        self.findings.clone_ref(py)
    }

    fn __repr__(&self) -> String {
        format!(
            "<CheckRun {} {}: {} row(s)>",
            self.id, self.outcome, self.rows
        )
    }
}

/// Runs saved queries against their fixtures, as `trailsql check --test`.
///
/// minimum_tests: fail a query with fewer cases; 2 or more also needs one firing and one
///     quiet case.
#[pyfunction]
#[pyo3(signature = (queries, minimum_tests = 0, params = None, select = None, exclude = None))]
pub fn test_queries(
    py: Python<'_>,
    queries: Vec<PathBuf>,
    minimum_tests: usize,
    params: Option<BTreeMap<String, String>>,
    select: Option<Vec<String>>,
    exclude: Option<Vec<String>>,
) -> PyResult<TestReport> {
    let params = params.unwrap_or_default();
    let selection = Selection {
        select: select.unwrap_or_default(),
        exclude: exclude.unwrap_or_default(),
    };
    let (queries, file_errors) = load(&queries, &params, &selection)?;
    let options = TestOptions {
        minimum_tests,
        params,
    };
    let tests = crate::runtime::wait(py, async move {
        let mut tests = Vec::with_capacity(queries.len());
        for query in &queries {
            tests.push(check::test_query(query, &options).await);
        }
        tests
    })?;
    let summary = check::TestSummary::new(&tests, &file_errors);
    Ok(TestReport {
        tests: Arc::new(tests),
        file_errors: Arc::new(file_errors),
        summary,
    })
}

/// The outcome of `test_queries()`.
#[pyclass(module = "trailsql", name = "TestReport", frozen)]
pub struct TestReport {
    tests: Arc<Vec<QueryTest>>,
    file_errors: Arc<Vec<QueryFileError>>,
    summary: check::TestSummary,
}

#[pymethods]
impl TestReport {
    /// 0: all passed; 1: a query failed its fixtures; 2: a query file cannot be used.
    #[getter]
    fn exit_code(&self) -> u8 {
        self.summary.exit_code
    }

    #[getter]
    fn passed(&self) -> bool {
        self.summary.exit_code == 0
    }

    /// Per query: `{"id", "passed", "problems", "cases": [{"name", "firing", "failure"}]}`.
    #[getter]
    fn queries<'py>(&self, py: Python<'py>) -> PyResult<Vec<Bound<'py, PyDict>>> {
        let mut out = Vec::new();
        for test in self.tests.iter() {
            let dict = PyDict::new(py);
            dict.set_item("id", &test.query.id)?;
            dict.set_item("passed", test.passed())?;
            dict.set_item("problems", &test.problems)?;
            let mut cases = Vec::new();
            for case in &test.cases {
                let c = PyDict::new(py);
                c.set_item("name", &case.name)?;
                c.set_item("firing", case.firing)?;
                c.set_item("failure", &case.failure)?;
                c.set_item("elapsed", case.elapsed.as_secs_f64())?;
                cases.push(c);
            }
            dict.set_item("cases", cases)?;
            out.push(dict);
        }
        Ok(out)
    }

    /// The report as `trailsql check --test --format FORMAT` writes it (not SARIF).
    #[pyo3(signature = (format = "human"))]
    fn report(&self, format: &str) -> PyResult<String> {
        let format = report_format(format)?;
        report_text(|out| {
            check::write_test_report(out, format, &self.tests, &self.file_errors).map(drop)
        })
    }

    fn __repr__(&self) -> String {
        let s = &self.summary;
        format!(
            "<trailsql.TestReport {} queries, {} cases: {} failed; exit code {}>",
            s.queries, s.cases, s.failed_queries, s.exit_code
        )
    }
}
