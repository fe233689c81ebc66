//! The `trailsql` command: SQL over AWS CloudTrail logs.

mod check;
mod convert;
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

    /// Log files, folders (walked recursively), glob patterns or s3://bucket/prefix
    /// URLs; plain or gzipped.
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

    /// Refuse statements that write or change the catalog or settings (`COPY`, `INSERT`,
    /// `CREATE EXTERNAL TABLE`, `CREATE VIEW`, `DROP`, `SET`): only queries of the sources.
    #[arg(long)]
    read_only: bool,

    #[command(flatten)]
    sources: SourceArgs,
}

/// How sources are reached and pruned; shared by the query commands and `check`.
#[derive(Debug, Clone, clap::Args)]
pub(crate) struct SourceArgs {
    /// How long after an event CloudTrail may deliver its file: time filters read files
    /// delivered up to this long after the window (AWS: "about 5 minutes" on average).
    #[arg(long, value_name = "DURATION", default_value = "1h")]
    late_delivery: String,

    /// An S3-compatible endpoint for s3:// sources (MinIO, LocalStack, moto), path-style.
    #[arg(long, value_name = "URL", env = "TRAILSQL_S3_ENDPOINT")]
    s3_endpoint: Option<String>,

    /// The region of the s3:// buckets (default: the AWS configuration's, else asked of S3).
    #[arg(long, value_name = "REGION")]
    s3_region: Option<String>,

    /// The AWS profile for s3:// sources (default: AWS_PROFILE, else the default profile).
    #[arg(long, value_name = "NAME")]
    aws_profile: Option<String>,

    /// Keep what queries decode as Parquet in DIR and read it from there next time; a
    /// new or changed log object is decoded again (see `trailsql cache`).
    #[arg(long = "cache", value_name = "DIR", env = "TRAILSQL_PARQUET_CACHE")]
    parquet_cache: Option<std::path::PathBuf>,

    /// The most inflated bytes held of one file at once: a file read whole that inflates
    /// past SIZE fails (or, with --on-error skip, is skipped), so a gzip bomb stops
    /// there. NDJSON exports are read in parts no larger than SIZE, whatever their size.
    #[arg(long, value_name = "SIZE", default_value = "4GiB", value_parser = parse_size)]
    max_inflated: u64,

    /// Memory that sorts, group-bys and joins may hold (`2GiB`); past it they spill to
    /// disk. Default: no limit.
    #[arg(long, value_name = "SIZE", value_parser = parse_size)]
    memory_limit: Option<u64>,

    /// Where they spill (default: the system's temporary folder).
    #[arg(long, value_name = "DIR")]
    spill_dir: Option<std::path::PathBuf>,

    /// Object reads in flight at once: open log files and S3 GETs.
    #[arg(long, value_name = "N", default_value_t = trailsql::EngineOptions::default().max_concurrent_reads)]
    max_reads: usize,
}

impl SourceArgs {
    pub(crate) fn apply(&self, options: &mut EngineOptions) -> Result<()> {
        let micros = trailsql::check::parse_time(&self.late_delivery, 0)
            .ok()
            .filter(|m| *m <= 0)
            .map(|m| -m)
            .with_context(|| {
                format!(
                    "--late-delivery {}: expected a duration such as 15m or 1h",
                    self.late_delivery
                )
            })?;
        options.late_delivery = std::time::Duration::from_micros(micros as u64);
        options.s3.endpoint = self.s3_endpoint.clone();
        options.s3.region = self.s3_region.clone();
        options.s3.profile = self.aws_profile.clone();
        options.parquet_cache = self.parquet_cache.clone();
        options.max_inflated_bytes = self.max_inflated;
        options.memory_limit = self.memory_limit.map(|bytes| bytes as usize);
        options.max_concurrent_reads = self.max_reads.max(1);
        if let Some(dir) = &self.spill_dir {
            options.spill = trailsql::SpillTo::Folder(dir.clone());
        }
        Ok(())
    }
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run saved queries as checks (see docs/queries.md).
    Check(Box<check::CheckArgs>),
    /// Write a deterministic generated trail in CloudTrail's S3 layout (for benchmarks
    /// and tests).
    Generate(GenerateArgs),
    /// Write the `cloudtrail` table of SOURCES as Hive-partitioned Parquet in DEST
    /// (`account=/region=/date=`), converting only objects not converted there before.
    Convert(convert::ConvertArgs),
    /// Show the Parquet cache's size and what it covers of SOURCES, or clear it.
    Cache(convert::CacheArgs),
}

#[derive(Debug, clap::Args)]
struct GenerateArgs {
    /// The folder to write `AWSLogs/...` under.
    dir: std::path::PathBuf,
    #[arg(long, default_value_t = 3)]
    accounts: usize,
    #[arg(long, default_value_t = 3)]
    regions: usize,
    #[arg(long, default_value_t = 30)]
    days: usize,
    /// Delivery files per account, region and day.
    #[arg(long, default_value_t = 24)]
    files_per_day: usize,
    #[arg(long, default_value_t = 50)]
    events_per_file: usize,
    /// The first day (UTC).
    #[arg(long, default_value = "2024-01-01")]
    start: String,
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// A real account's mix: a long tail of read calls over 30 services and
    /// heavy-tailed file sizes (a few KB to a few MB), as the benchmarks use.
    #[arg(long)]
    realistic: bool,
    /// Choose the number of days to make about this much gzipped data (`100MB`, `1GB`);
    /// overrides --days.
    #[arg(long, value_parser = parse_size)]
    size: Option<u64>,
    /// Threads writing files (the files are the same for any count).
    #[arg(long, default_value_t = std::thread::available_parallelism().map_or(1, |n| n.get()))]
    threads: usize,
}

/// `500MB`, `1GB`, `64KiB` or a plain byte count.
fn parse_size(text: &str) -> std::result::Result<u64, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: f64 = number
        .parse()
        .map_err(|_| format!("{text:?} is not a size like 500MB"))?;
    let scale = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1.0,
        "kb" => 1e3,
        "mb" => 1e6,
        "gb" => 1e9,
        "kib" => 1024.0,
        "mib" => 1024.0 * 1024.0,
        "gib" => 1024.0 * 1024.0 * 1024.0,
        other => return Err(format!("unknown size unit {other:?}")),
    };
    Ok((number * scale) as u64)
}

fn generate(args: &GenerateArgs) -> Result<ExitCode> {
    let start = trailsql::check::parse_time(&args.start, 0)
        .map_err(anyhow::Error::msg)
        .context("--start")?;
    let mut spec = trailsql::generate::TrailSpec {
        seed: args.seed,
        accounts: args
            .accounts
            .clamp(1, trailsql::generate::TRAIL_ACCOUNTS.len()),
        regions: args
            .regions
            .clamp(1, trailsql::generate::TRAIL_REGIONS.len()),
        days: args.days,
        files_per_day: args.files_per_day,
        events_per_file: args.events_per_file,
        start_epoch_seconds: start / 1_000_000,
        mix: if args.realistic {
            trailsql::generate::Mix::Realistic
        } else {
            trailsql::generate::Mix::Fixture
        },
        varied_sizes: args.realistic,
    };
    if let Some(size) = args.size {
        spec.days = trailsql::generate::days_for_size(&spec, size);
    }
    let written = trailsql::generate::write_trail_on(&args.dir, &spec, args.threads)
        .with_context(|| format!("cannot write under {}", args.dir.display()))?;
    eprintln!(
        "{} files, {} events, {:.1} MB gzipped over {} day(s) under {}",
        written.files,
        written.events,
        written.bytes as f64 / 1e6,
        spec.days,
        args.dir.join("AWSLogs").display()
    );
    Ok(ExitCode::SUCCESS)
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
    match args.subcommand {
        Some(Command::Check(check)) => return runtime.block_on(check::run(*check)),
        Some(Command::Convert(convert_args)) => {
            return runtime.block_on(convert::convert(convert_args));
        }
        Some(Command::Cache(cache_args)) => return runtime.block_on(convert::cache(cache_args)),
        Some(Command::Generate(generate_args)) => {
            return generate(&generate_args).unwrap_or_else(|error| {
                eprintln!("Error: {error:#}");
                ExitCode::FAILURE
            });
        }
        None => {}
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
    let mut options = EngineOptions {
        on_error: args.on_error.into(),
        schema_cache: trailsql::default_cache_dir(),
        read_only: args.read_only,
        ..EngineOptions::default()
    };
    args.sources.apply(&mut options)?;
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
