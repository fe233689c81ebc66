//! `trailsql check`: saved queries as CI checks, and their fixture tests.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::{Args, ValueEnum};
use trailsql::check::{
    self, CheckOptions, QueryFileError, ReportFormat, Selection, Severity, TestOptions,
};
use trailsql::{Engine, EngineOptions};

use crate::ErrorMode;

/// Runs saved queries over logs and reports each as pass, finding or error.
/// Exit code 0: all passed; 1: findings at or above --fail-on; 2: any error.
#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Query files, or folders of them (walked recursively).
    #[arg(default_value = "queries")]
    queries: Vec<PathBuf>,

    /// Log files, folders or globs to run the queries over.
    #[arg(long, num_args = 1.., value_name = "SOURCE")]
    logs: Vec<String>,

    /// Report format.
    #[arg(long, value_enum, default_value_t = CheckFormat::Human)]
    format: CheckFormat,

    /// Findings at or above this severity fail the run (exit code 1): info, low, medium,
    /// high or critical.
    #[arg(long, default_value = "low", value_parser = parse_severity)]
    fail_on: Severity,

    /// Override a query parameter: `--param since=30d`.
    #[arg(long = "param", value_name = "NAME=VALUE")]
    params: Vec<String>,

    /// Let saved queries write and change the catalog (`COPY`, `CREATE EXTERNAL TABLE`,
    /// `SET`); by default a check may only read its logs.
    #[arg(long)]
    allow_writes: bool,

    /// Run only queries with this id or tag (a trailing `*` matches a prefix).
    #[arg(long)]
    select: Vec<String>,

    /// Skip queries with this id or tag (a trailing `*` matches a prefix).
    #[arg(long)]
    exclude: Vec<String>,

    /// Only events at or after this time: a duration before now (`7d`) or an ISO-8601 time.
    #[arg(long)]
    since: Option<String>,

    /// Only events before this time: a duration before now (`1d`) or an ISO-8601 time.
    #[arg(long)]
    until: Option<String>,

    /// Run each query against its fixtures instead of --logs.
    #[arg(long)]
    test: bool,

    /// With --test: fail a query with fewer cases; 2 or more also needs one firing and one quiet case.
    #[arg(long, default_value_t = 0, value_name = "N")]
    minimum_tests: usize,

    /// What to do with a bad log file or record.
    #[arg(long, value_enum, default_value_t = ErrorMode::Fail)]
    on_error: ErrorMode,

    #[command(flatten)]
    sources: crate::SourceArgs,

    /// Write the report to this file instead of stdout.
    #[arg(long, short = 'o', value_name = "FILE")]
    output: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum CheckFormat {
    Human,
    Json,
    Junit,
    Sarif,
}

fn parse_severity(text: &str) -> Result<Severity, String> {
    text.parse()
}

/// Exit code for a run that could not start: bad arguments, unreadable logs.
const USAGE_ERROR: u8 = 2;

pub async fn run(args: CheckArgs) -> ExitCode {
    match run_checks(args).await {
        Ok(code) => ExitCode::from(code),
        Err(error) => {
            eprintln!("Error: {error:#}");
            ExitCode::from(USAGE_ERROR)
        }
    }
}

async fn run_checks(args: CheckArgs) -> Result<u8> {
    let format = match args.format {
        CheckFormat::Human => ReportFormat::Human,
        CheckFormat::Json => ReportFormat::Json,
        CheckFormat::Junit => ReportFormat::Junit,
        CheckFormat::Sarif => ReportFormat::Sarif,
    };
    let params = parse_params(&args.params)?;
    let (queries, mut file_errors) = check::load_queries(&args.queries);
    for name in params.keys() {
        if !queries
            .iter()
            .any(|q| q.params.iter().any(|p| &p.name == name))
        {
            anyhow::bail!("--param {name}: no query has a parameter `{name}`");
        }
    }
    let selection = Selection {
        select: args.select.clone(),
        exclude: args.exclude.clone(),
    };
    let queries: Vec<_> = queries
        .into_iter()
        .filter(|q| selection.matches(q))
        .collect();
    if queries.is_empty() && file_errors.is_empty() {
        anyhow::bail!(
            "no queries to run (looked in {})",
            display_paths(&args.queries)
        );
    }
    let mut out: Box<dyn std::io::Write> = match &args.output {
        Some(path) => Box::new(std::io::BufWriter::new(
            std::fs::File::create(path)
                .with_context(|| format!("cannot write {}", path.display()))?,
        )),
        None => Box::new(std::io::stdout().lock()),
    };

    if args.test {
        let options = TestOptions {
            minimum_tests: args.minimum_tests,
            params,
        };
        let mut tests = Vec::with_capacity(queries.len());
        for query in &queries {
            tests.push(check::test_query(query, &options).await);
        }
        let summary = check::write_test_report(&mut out, format, &tests, &file_errors)?;
        return Ok(summary.exit_code);
    }

    if args.logs.is_empty() {
        anyhow::bail!("give the logs to check with --logs SOURCE..., or use --test");
    }
    // `--logs` takes every path after it; query paths written after it would otherwise
    // be read as logs, and their fixtures with them.
    for source in &args.logs {
        if looks_like_queries(std::path::Path::new(source)) {
            anyhow::bail!(
                "--logs {source}: this holds .sql files; put query paths before --logs \
                 (trailsql check QUERIES... --logs SOURCE...)"
            );
        }
    }
    let mut engine_options = EngineOptions {
        on_error: args.on_error.into(),
        schema_cache: trailsql::default_cache_dir(),
        read_only: !args.allow_writes,
        ..EngineOptions::default()
    };
    args.sources.apply(&mut engine_options)?;
    let engine = Engine::open(&args.logs, engine_options)
        .await
        .context("cannot open the logs")?;
    let now = check::now_micros();
    let since = args
        .since
        .as_deref()
        .map(|v| check::parse_time(v, now))
        .transpose();
    let until = args
        .until
        .as_deref()
        .map(|v| check::parse_time(v, now))
        .transpose();
    let (since, until) = (
        since.map_err(|m| anyhow::anyhow!("--since: {m}"))?,
        until.map_err(|m| anyhow::anyhow!("--until: {m}"))?,
    );
    engine.set_time_window(since, until)?;
    let options = CheckOptions {
        params,
        now_micros: now,
    };
    let mut runs = Vec::with_capacity(queries.len());
    for query in &queries {
        runs.push(check::run_query(&engine, query, &options).await);
    }
    file_errors.sort_by(|a: &QueryFileError, b| a.path.cmp(&b.path));
    let summary = check::write_run_report(&mut out, format, &runs, &file_errors, args.fail_on)?;
    Ok(summary.exit_code)
}

/// A `.sql` file, or a folder with `.sql` files directly in it or one level down.
fn looks_like_queries(path: &std::path::Path) -> bool {
    let is_sql = |p: &std::path::Path| p.extension().is_some_and(|e| e == "sql");
    if is_sql(path) {
        return true;
    }
    let children = |dir: &std::path::Path| -> Vec<PathBuf> {
        std::fs::read_dir(dir)
            .map(|entries| entries.filter_map(|e| e.ok().map(|e| e.path())).collect())
            .unwrap_or_default()
    };
    children(path)
        .iter()
        .any(|child| is_sql(child) || (child.is_dir() && children(child).iter().any(|c| is_sql(c))))
}

fn parse_params(pairs: &[String]) -> Result<BTreeMap<String, String>> {
    let mut params = BTreeMap::new();
    for pair in pairs {
        let (name, value) = pair
            .split_once('=')
            .with_context(|| format!("--param {pair}: write NAME=VALUE"))?;
        if value.trim().is_empty() {
            anyhow::bail!("--param {pair}: the value is empty");
        }
        params.insert(name.trim().to_string(), value.trim().to_string());
    }
    Ok(params)
}

fn display_paths(paths: &[PathBuf]) -> String {
    paths
        .iter()
        .map(|p| p.display().to_string())
        .collect::<Vec<_>>()
        .join(", ")
}
