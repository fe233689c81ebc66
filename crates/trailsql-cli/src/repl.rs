//! The interactive shell: statements end at `;`, meta-commands start with `.`.

use std::process::ExitCode;

use anyhow::Result;
use rustyline::DefaultEditor;
use rustyline::error::ReadlineError;

use crate::output::Format;
use crate::{run_query, stdin_is_terminal};

const HELP: &str = "\
Statements end with ';' and may span lines. Query the `cloudtrail` table.
.help           this text
.tables         list tables
.schema         columns of the cloudtrail table with types and meanings
.quit           leave (or Ctrl-D)";

pub async fn run(
    engine: &trailsql::Engine,
    format: Format,
    stats: bool,
    sample: bool,
) -> Result<ExitCode> {
    let interactive = stdin_is_terminal();
    let mut editor = DefaultEditor::new()?;
    if interactive {
        let what = if sample {
            "the bundled sample data"
        } else {
            "your logs"
        };
        println!(
            "trailsql {}: {} objects from {what} as table `cloudtrail`. Type .help for help.",
            env!("CARGO_PKG_VERSION"),
            engine.objects().len()
        );
    }
    let mut buffer = String::new();
    let mut failed = false;
    loop {
        let prompt = if buffer.is_empty() {
            "trailsql> "
        } else {
            "     ...> "
        };
        let line = match editor.readline(prompt) {
            Ok(line) => line,
            Err(ReadlineError::Interrupted) => {
                buffer.clear();
                continue;
            }
            Err(ReadlineError::Eof) => break,
            Err(error) => return Err(error.into()),
        };
        let trimmed = line.trim();
        if buffer.is_empty() && trimmed.starts_with('.') {
            let _ = editor.add_history_entry(trimmed);
            match meta(engine, trimmed, format, stats).await {
                Ok(true) => break,
                Ok(false) => {}
                Err(error) => {
                    failed = true;
                    eprintln!("Error: {error:#}");
                }
            }
            continue;
        }
        if trimmed.is_empty() && buffer.is_empty() {
            continue;
        }
        buffer.push_str(&line);
        buffer.push('\n');
        if !trimmed.ends_with(';') {
            continue;
        }
        let sql = std::mem::take(&mut buffer);
        let _ = editor.add_history_entry(sql.trim());
        let started = std::time::Instant::now();
        let mut stdout = std::io::stdout().lock();
        match run_query(engine, &sql, format, stats, &mut stdout).await {
            Ok(rows) if interactive => {
                println!("{rows} row(s) in {:.3}s", started.elapsed().as_secs_f64());
            }
            Ok(_) => {}
            Err(error) => {
                failed = true;
                eprintln!("Error: {error:#}");
            }
        }
    }
    // Piped input is a script: an error anywhere fails the run.
    Ok(if failed && !interactive {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

/// Runs a meta-command; `Ok(true)` means quit.
async fn meta(
    engine: &trailsql::Engine,
    command: &str,
    format: Format,
    stats: bool,
) -> Result<bool> {
    let mut words = command.split_whitespace();
    match words.next().unwrap_or_default() {
        ".quit" | ".exit" => return Ok(true),
        ".help" => println!("{HELP}"),
        ".tables" => {
            let mut out = std::io::stdout().lock();
            run_query(engine, "SHOW TABLES", format, stats, &mut out).await?;
        }
        ".schema" => {
            for column in engine.schema().columns() {
                println!(
                    "{:<58} {:<24} {}",
                    column.name,
                    column.column_type.sql_name(),
                    column.description
                );
            }
        }
        other => anyhow::bail!("unknown command {other}; .help lists the commands"),
    }
    Ok(false)
}
