//! `trailsql convert` and `trailsql cache`.

use std::io::IsTerminal;
use std::process::ExitCode;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use trailsql::parquet::convert::{ConvertOptions, ConvertProgress, Shard};
use trailsql::{Engine, EngineOptions};

use crate::{ErrorMode, SourceArgs};

#[derive(Debug, clap::Args)]
pub(crate) struct ConvertArgs {
    /// Log files, folders, globs or s3:// URLs, then the destination folder or s3:// URL.
    #[arg(required = true, num_args = 2.., value_name = "SOURCE... DEST")]
    paths: Vec<String>,

    /// Convert only this worker's share: `i/N` of N workers, which together convert
    /// every folder exactly once.
    #[arg(long, value_name = "i/N", default_value = "0/1")]
    shard: Shard,

    /// Threads decoding and writing (default: one per core).
    #[arg(long)]
    threads: Option<usize>,

    /// What to do with a bad file or record: fail with its place, or skip and count it.
    #[arg(long, value_enum, default_value_t = ErrorMode::Fail)]
    on_error: ErrorMode,

    /// No progress lines on stderr.
    #[arg(long, short)]
    quiet: bool,

    #[command(flatten)]
    sources: SourceArgs,
}

#[derive(Debug, clap::Args)]
pub(crate) struct CacheArgs {
    /// The cache folder (as given to --cache).
    #[arg(value_name = "DIR")]
    dir: std::path::PathBuf,

    /// Log files, folders or s3:// URLs to report the cache's coverage of.
    #[arg(value_name = "SOURCE")]
    paths: Vec<String>,

    /// Delete every cached file.
    #[arg(long)]
    clear: bool,

    #[command(flatten)]
    sources: SourceArgs,
}

pub(crate) async fn convert(args: ConvertArgs) -> ExitCode {
    report(convert_inner(args).await)
}

pub(crate) async fn cache(args: CacheArgs) -> ExitCode {
    report(cache_inner(args).await)
}

fn report(outcome: Result<()>) -> ExitCode {
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("Error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

async fn convert_inner(mut args: ConvertArgs) -> Result<()> {
    let dest = args.paths.pop().expect("clap requires two paths");
    let mut options = EngineOptions {
        on_error: args.on_error.into(),
        schema_cache: trailsql::default_cache_dir(),
        ..EngineOptions::default()
    };
    args.sources.apply(&mut options)?;
    if options.parquet_cache.is_some() {
        bail!("convert writes Parquet itself: --cache does not apply");
    }
    let engine = Engine::open(&args.paths, options).await?;
    let started = Instant::now();
    let quiet = args.quiet;
    let terminal = std::io::stderr().is_terminal();
    let last = Mutex::new(None::<Instant>);
    let progress = move |p: &ConvertProgress| {
        if quiet {
            return;
        }
        let mut last = last.lock().unwrap_or_else(|e| e.into_inner());
        let finished = p.objects_done == p.objects_total;
        // A line a second on a terminal, every ten seconds in a log.
        let every = if terminal {
            Duration::from_secs(1)
        } else {
            Duration::from_secs(10)
        };
        if !finished && last.is_some_and(|t| t.elapsed() < every) {
            return;
        }
        *last = Some(Instant::now());
        let seconds = started.elapsed().as_secs_f64().max(1e-3);
        eprintln!(
            "convert: {}/{} objects, {:.1}/{:.1} MB, {} events, {:.1} MB/s",
            p.objects_done,
            p.objects_total,
            p.bytes_done as f64 / 1e6,
            p.bytes_total as f64 / 1e6,
            p.events,
            p.bytes_done as f64 / 1e6 / seconds
        );
    };
    let report = engine
        .convert(
            &dest,
            &ConvertOptions {
                shard: args.shard,
                threads: args.threads,
            },
            progress,
        )
        .await
        .with_context(|| format!("cannot convert into {dest}"))?;
    eprintln!("{report}");
    if let Some(summary) = report.scan.skip_summary() {
        eprintln!("note: {summary}");
    }
    eprintln!("elapsed: {:.1}s", started.elapsed().as_secs_f64());
    Ok(())
}

async fn cache_inner(args: CacheArgs) -> Result<()> {
    let cache = trailsql::parquet::cache::ParquetCache::open(&args.dir)?;
    if args.clear {
        println!("removed {}", cache.clear()?);
        return Ok(());
    }
    println!("{}: {}", cache.dir().display(), cache.summary());
    if !args.paths.is_empty() {
        let mut options = EngineOptions {
            schema_cache: trailsql::default_cache_dir(),
            ..EngineOptions::default()
        };
        args.sources.apply(&mut options)?;
        options.parquet_cache = Some(args.dir.clone());
        let engine = Engine::open(&args.paths, options).await?;
        if let Some((covered, total)) = engine.cache_coverage().await? {
            println!("covers {covered} of the {total} source object(s) listed");
        }
    }
    Ok(())
}
