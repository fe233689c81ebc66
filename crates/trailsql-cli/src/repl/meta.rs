//! Meta-commands: `.help`, `.mode`, `.open`, `.since`, ...

use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use rustyline::Editor;
use rustyline::history::FileHistory;

use super::helper::ReplHelper;
use super::{Next, Session, Window};
use crate::output::Format;

pub const HELP: &str = "\
Statements end with ';' and may span lines. Query the `cloudtrail` table.
Tab completes keywords, functions, tables, columns (also userIdentity.x.y paths),
values after `eventname =` or `awsregion IN (`, and file paths in quotes.

.help                    this text
.tables                  list tables
.schema [TABLE]          columns with types and meanings
.mode [MODE]             table, csv, json, ndjson, markdown or line
.maxrows N               rows shown in table, markdown and line modes (0: all)
.timer on|off            row count and elapsed time after each statement
.output [FILE]           send results to FILE (no FILE: back to the screen)
.once FILE               send the next result to FILE
.read FILE               run the statements and commands in FILE
.open [--add] PATH...    query these logs instead (--add: as well); no PATH: the sample
.since WHEN|off          only events since WHEN: 24h, 7d, 2024-01-07, 2024-01-07T10:00Z
.between FROM TO         only events from FROM up to TO
.stats                   what the last query read and skipped
.cache [DIR|off|clear]   the Parquet cache: its size and what it covers; use DIR; stop; empty it
.quit                    leave (or Ctrl-D)

Ctrl-C cancels a running query; Ctrl-R searches history.";

fn on_off(value: Option<&str>, name: &str) -> Result<bool> {
    match value.map(str::to_ascii_lowercase).as_deref() {
        Some("on") => Ok(true),
        Some("off") => Ok(false),
        _ => bail!("usage: {name} on|off"),
    }
}

pub fn run(
    session: &mut Session,
    command: &str,
    editor: &mut Editor<ReplHelper, FileHistory>,
) -> Result<Next> {
    let mut words = command.split_whitespace();
    let name = words.next().unwrap_or_default();
    let args: Vec<&str> = words.collect();
    match name {
        ".quit" | ".exit" => return Ok(Next::Quit),
        ".help" => println!("{HELP}"),
        ".tables" => {
            let engine = session.engine();
            let mut tables: Vec<String> = engine
                .context()
                .catalog("datafusion")
                .and_then(|c| c.schema("public"))
                .map(|s| s.table_names())
                .unwrap_or_default();
            tables.sort();
            for table in tables {
                println!("{table}");
            }
        }
        ".schema" => schema(session, args.first().copied())?,
        ".mode" => match args.first() {
            None => println!("{}", session.format.name()),
            Some(mode) => {
                session.format = Format::parse(mode).with_context(|| {
                    format!("unknown mode {mode}: table, csv, json, ndjson, markdown or line")
                })?;
            }
        },
        ".maxrows" => match args.first() {
            None => println!("{}", session.max_rows),
            Some(n) => {
                session.max_rows = n
                    .parse()
                    .with_context(|| format!("usage: .maxrows N (a whole number, not {n})"))?;
            }
        },
        ".timer" => session.timer = on_off(args.first().copied(), ".timer")?,
        ".output" => {
            session.output = args.first().map(PathBuf::from);
            if let Some(path) = &session.output {
                // Start the file afresh; results after this append to it.
                std::fs::write(path, b"")
                    .with_context(|| format!("cannot write {}", path.display()))?;
            }
        }
        ".once" => match args.first() {
            Some(path) => session.once = Some(PathBuf::from(path)),
            None => bail!("usage: .once FILE"),
        },
        ".read" => {
            let Some(path) = args.first() else {
                bail!("usage: .read FILE");
            };
            let text =
                std::fs::read_to_string(path).with_context(|| format!("cannot read {path}"))?;
            if !session.run_text(&text, editor) {
                bail!("{path}: a statement failed");
            }
        }
        ".open" => {
            let add = args.first() == Some(&"--add");
            let paths: Vec<String> = args
                .iter()
                .filter(|a| **a != "--add")
                .map(|a| a.trim_matches(|c| c == '\'' || c == '"').to_string())
                .collect();
            if add && paths.is_empty() {
                bail!("usage: .open --add PATH...");
            }
            session.open(paths, add)?;
            if let Some(helper) = editor.helper() {
                helper.invalidate();
            }
        }
        ".since" => match args.as_slice() {
            [] => match &session.window {
                Some(window) => println!("{}", window.label),
                None => println!("no time window: every event"),
            },
            ["off"] => session.set_window(None)?,
            [when] => {
                let now = trailsql::check::now_micros();
                let since = trailsql::check::parse_time(when, now).map_err(anyhow::Error::msg)?;
                session.set_window(Some(Window {
                    since: Some(since),
                    until: None,
                    label: format!("since {when}"),
                }))?;
            }
            _ => bail!("usage: .since 24h|7d|2024-01-07|off"),
        },
        ".between" => match args.as_slice() {
            [from, to] => {
                let now = trailsql::check::now_micros();
                let since = trailsql::check::parse_time(from, now).map_err(anyhow::Error::msg)?;
                let until = trailsql::check::parse_time(to, now).map_err(anyhow::Error::msg)?;
                if until <= since {
                    bail!(".between: {to} is not after {from}");
                }
                session.set_window(Some(Window {
                    since: Some(since),
                    until: Some(until),
                    label: format!("{from} to {to}"),
                }))?;
            }
            _ => bail!("usage: .between FROM TO (durations before now or ISO-8601 times)"),
        },
        ".cache" => cache(session, args.first().copied())?,
        ".stats" => match &session.last_stats {
            Some(stats) => print!("{stats}"),
            None => println!("no query has run yet"),
        },
        other => bail!("unknown command {other}; .help lists the commands"),
    }
    Ok(Next::Continue)
}

fn cache(session: &mut Session, arg: Option<&str>) -> Result<()> {
    match arg {
        None => {
            let engine = session.engine();
            let Some(cache) = engine.parquet_cache() else {
                println!(
                    "no Parquet cache: `.cache DIR` (or --cache DIR) keeps decoded logs as Parquet"
                );
                return Ok(());
            };
            println!("{}: {}", cache.dir().display(), cache.summary());
            if let Some((covered, total)) = session.runtime.block_on(engine.cache_coverage())? {
                println!("covers {covered} of the {total} source object(s) listed");
            }
        }
        Some("off") => {
            session.engine().set_parquet_cache(None)?;
            session.options.parquet_cache = None;
        }
        Some("clear") => {
            let engine = session.engine();
            let Some(cache) = engine.parquet_cache() else {
                bail!("no Parquet cache in use");
            };
            println!("removed {}", cache.clear()?);
        }
        Some(dir) => {
            let dir = PathBuf::from(dir.trim_matches(|c| c == '\'' || c == '"'));
            session.engine().set_parquet_cache(Some(&dir))?;
            session.options.parquet_cache = Some(dir);
        }
    }
    Ok(())
}

fn schema(session: &Session, table: Option<&str>) -> Result<()> {
    let engine = session.engine();
    let table = table.unwrap_or(trailsql::TABLE_NAME).to_ascii_lowercase();
    if table == trailsql::TABLE_NAME {
        let width = engine
            .schema()
            .columns()
            .iter()
            .map(|c| c.name.len())
            .max()
            .unwrap_or(0);
        for column in engine.schema().columns() {
            println!(
                "{:<width$}  {:<20}  {}",
                column.name,
                column.column_type.sql_name(),
                column.description
            );
        }
        return Ok(());
    }
    let provider = session
        .runtime
        .block_on(engine.context().table_provider(table.as_str()))
        .with_context(|| format!("no table {table}; .tables lists them"))?;
    for field in provider.schema().fields() {
        println!("{:<40}  {}", field.name(), field.data_type());
    }
    Ok(())
}
