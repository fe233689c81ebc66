//! The `trailsql` command: SQL over AWS CloudTrail logs.

mod check;
mod output;
mod repl;
mod script;

use std::process::ExitCode;
use std::time::Instant;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand, ValueEnum};
use futures::StreamExt;
use trailsql::{Engine, EngineOptions, OnError};

use crate::output::Format;

/// SQL over AWS CloudTrail logs: point it at files, folders or globs and query the
/// `cloudtrail` table. With no path, opens the bundled sample data.
#[derive(Debug, Parser)]
#[command(
    name = "trailsql",
    version,
    about,
    args_conflicts_with_subcommands = true
)]
struct Args {
    #[command(subcommand)]
    subcommand: Option<Command>,

    /// Log files, folders (walked recursively) or glob patterns; plain or gzipped.
    paths: Vec<String>,

    /// Run this SQL and exit instead of starting the REPL.
    #[arg(short = 'c', long = "command", value_name = "SQL")]
    command: Option<String>,

    /// Run the SQL statements of this file in order; stop at the first that fails
    /// (exit code 1).
    #[arg(
        short = 'f',
        long = "file",
        value_name = "FILE",
        conflicts_with = "command"
    )]
    file: Option<std::path::PathBuf>,

    /// Run this file of statements and meta-commands before the REPL's first prompt
    /// (default: ~/.trailsqlrc when it exists).
    #[arg(long, value_name = "FILE")]
    init: Option<std::path::PathBuf>,

    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    format: Format,

    /// What to do with a bad file or record: fail with its place, or skip and count it.
    #[arg(long, value_enum, default_value_t = ErrorMode::Fail)]
    on_error: ErrorMode,

    /// Print what each query read and skipped to stderr.
    #[arg(long)]
    stats: bool,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run saved queries as checks (see docs/queries.md).
    Check(check::CheckArgs),
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum ErrorMode {
    Fail,
    Skip,
}

impl From<ErrorMode> for OnError {
    fn from(mode: ErrorMode) -> Self {
        match mode {
            ErrorMode::Fail => OnError::Fail,
            ErrorMode::Skip => OnError::Skip,
        }
    }
}

fn main() -> ExitCode {
    let started = Instant::now();
    let args = Args::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("Error: cannot start the runtime: {error}");
            return ExitCode::from(2);
        }
    };
    if let Some(Command::Check(check)) = args.subcommand {
        return runtime.block_on(check::run(check));
    }
    match run(&runtime, args, started) {
        Ok(code) => code,
        Err(error) => {
            eprintln!("Error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(runtime: &tokio::runtime::Runtime, args: Args, started: Instant) -> Result<ExitCode> {
    let options = EngineOptions {
        on_error: args.on_error.into(),
        ..EngineOptions::default()
    };
    let engine = runtime.block_on(async {
        if args.paths.is_empty() {
            Engine::sample(options.clone()).await
        } else {
            Engine::open(&args.paths, options.clone()).await
        }
    })?;
    if let Some(file) = &args.file {
        return runtime.block_on(script::run_file(&engine, file, args.format, args.stats));
    }
    match &args.command {
        Some(sql) => {
            let mut stdout = std::io::stdout().lock();
            runtime.block_on(run_query(
                &engine,
                sql,
                args.format,
                args.stats,
                &mut stdout,
            ))?;
            Ok(ExitCode::SUCCESS)
        }
        // The shell runs outside the runtime: completion blocks on queries of its own.
        None => repl::run(
            runtime,
            repl::Start {
                engine,
                sources: args.paths,
                options,
                format: args.format,
                stats: args.stats,
                init: args.init,
                started,
            },
        ),
    }
}

/// Runs one statement, writes its result, and reports skips on stderr.
pub(crate) async fn run_query(
    engine: &Engine,
    sql: &str,
    format: Format,
    show_stats: bool,
    out: &mut dyn std::io::Write,
) -> Result<usize> {
    let started = Instant::now();
    let mut query = engine.sql(sql).await?;
    let schema = query.schema();
    let mut batches = Vec::new();
    while let Some(batch) = query.next().await {
        batches.push(batch?);
    }
    let rows = batches.iter().map(|b| b.num_rows()).sum();
    output::write(out, format, &schema, &batches).context("cannot write the result")?;
    let stats = query.stats();
    if show_stats {
        eprint!("{stats}");
        eprintln!("elapsed: {:.3}s", started.elapsed().as_secs_f64());
    } else if let Some(summary) = stats.skip_summary() {
        eprintln!("note: {summary} (--stats for details)");
    }
    Ok(rows)
}
