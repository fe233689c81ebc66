//! The interactive shell. Statements end at `;` and may span lines; meta-commands start
//! with `.`. On a terminal: history, highlighting, completion, a progress line, Ctrl-C
//! to cancel a query, a pager for tall results. Piped into stdin: a script that fails
//! the run if any statement failed.

mod complete;
mod helper;
mod highlight;
mod meta;
mod progress;

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use anyhow::{Context, Result};
use futures::StreamExt;
use rustyline::error::ReadlineError;
use rustyline::history::FileHistory;
use rustyline::{Config, Editor};
use trailsql::{Engine, EngineOptions, ScanStats};

use crate::output::{self, Format, Layout};
use helper::{ReplHelper, SharedEngine};

/// How the shell was started.
pub struct Start {
    pub engine: Engine,
    pub sources: Vec<String>,
    pub options: EngineOptions,
    pub format: Format,
    pub stats: bool,
    /// A file of statements and commands to run before the first prompt; `None` reads
    /// `~/.trailsqlrc` when it exists.
    pub init: Option<PathBuf>,
    /// When the process started, to report how long the prompt took.
    pub started: Instant,
}

/// A time window applied to every query, as the user wrote it.
#[derive(Debug, Clone)]
pub(crate) struct Window {
    since: Option<i64>,
    until: Option<i64>,
    label: String,
}

/// Everything a session remembers between statements.
pub(crate) struct Session {
    engine: SharedEngine,
    runtime: tokio::runtime::Handle,
    sources: Vec<String>,
    options: EngineOptions,
    format: Format,
    max_rows: usize,
    timer: bool,
    show_stats: bool,
    output: Option<PathBuf>,
    once: Option<PathBuf>,
    window: Option<Window>,
    last_stats: Option<ScanStats>,
    interactive: bool,
}

/// What the loop does after a line.
pub(crate) enum Next {
    Continue,
    Quit,
}

pub fn run(runtime: &tokio::runtime::Runtime, start: Start) -> Result<ExitCode> {
    let started = start.started;
    let interactive = std::io::stdin().is_terminal();
    let colour = highlight::colour_wanted(std::io::stdout().is_terminal());
    let engine: SharedEngine = Arc::new(Mutex::new(Arc::new(start.engine)));
    let mut session = Session {
        engine: Arc::clone(&engine),
        runtime: runtime.handle().clone(),
        sources: start.sources,
        options: start.options,
        format: start.format,
        max_rows: 100,
        timer: true,
        show_stats: start.stats,
        output: None,
        once: None,
        window: None,
        last_stats: None,
        interactive,
    };
    if !interactive {
        session.timer = false;
    }
    let config = Config::builder()
        .auto_add_history(false)
        .history_ignore_space(true)
        .max_history_size(10_000)?
        .completion_type(rustyline::CompletionType::List)
        .build();
    let mut editor: Editor<ReplHelper, FileHistory> = Editor::with_config(config)?;
    let helper = ReplHelper::new(Arc::clone(&engine), runtime.handle().clone(), colour);
    editor.set_helper(Some(helper));
    let history = history_path();
    if interactive && let Some(path) = &history {
        let _ = editor.load_history(path);
    }

    let mut failed = false;
    let init = start.init.or_else(|| {
        let rc = home()?.join(".trailsqlrc");
        rc.is_file().then_some(rc)
    });
    if let Some(init) = init {
        match std::fs::read_to_string(&init) {
            Ok(text) => {
                if !session.run_text(&text, &mut editor) {
                    failed = true;
                }
            }
            Err(error) => {
                eprintln!("Error: cannot read {}: {error}", init.display());
                failed = true;
            }
        }
    }

    if interactive {
        let engine = session.engine();
        let objects = engine.objects().len();
        let regions: usize = engine.layouts().iter().map(|l| l.regions.len()).sum();
        let what = if session.sources.is_empty() {
            "the bundled sample data".to_string()
        } else if regions > 0 {
            format!(
                "{regions} account/region folders in CloudTrail's layout and {objects} other files"
            )
        } else {
            format!("{objects} files")
        };
        println!(
            "trailsql {}: {what} as table `cloudtrail`, ready in {} ms. .help for help.",
            env!("CARGO_PKG_VERSION"),
            started.elapsed().as_millis()
        );
    }

    let mut buffer = InputBuffer::default();
    loop {
        let prompt = if buffer.is_empty() {
            session.prompt()
        } else {
            "     ...> ".to_string()
        };
        let line = match editor.readline(&prompt) {
            Ok(line) => line,
            Err(ReadlineError::Interrupted) => {
                buffer.clear();
                continue;
            }
            Err(ReadlineError::Eof) => break,
            Err(error) => return Err(error.into()),
        };
        let Some(input) = buffer.push_line(&line) else {
            continue;
        };
        if interactive {
            let _ = editor.add_history_entry(input.trim());
            if let Some(path) = &history {
                let _ = editor.append_history(path);
            }
        }
        let (ok, next) = session.run_input(input.trim(), &mut editor);
        failed |= !ok;
        if let Next::Quit = next {
            break;
        }
    }
    // Piped input is a script: an error anywhere fails the run.
    Ok(if failed && !interactive {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

/// Gathers lines into inputs: a meta-command is one line; a statement runs to the `;`
/// that ends it, outside quotes and comments.
#[derive(Debug, Default)]
struct InputBuffer(String);

impl InputBuffer {
    fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    fn clear(&mut self) {
        self.0.clear();
    }

    /// Adds a line; returns the input it completes, if any.
    fn push_line(&mut self, line: &str) -> Option<String> {
        if self.0.is_empty() && line.trim().is_empty() {
            return None;
        }
        self.0.push_str(line);
        self.0.push('\n');
        let is_meta = self.0.trim_start().starts_with('.');
        (is_meta || crate::script::ends_statement(&self.0)).then(|| std::mem::take(&mut self.0))
    }

    /// What is left when input ends, if it is more than blank.
    fn rest(&mut self) -> Option<String> {
        let rest = std::mem::take(&mut self.0);
        (!rest.trim().is_empty()).then_some(rest)
    }
}

fn home() -> Option<PathBuf> {
    std::env::var_os("HOME")
        .filter(|h| !h.is_empty())
        .map(PathBuf::from)
}

/// `$XDG_DATA_HOME/trailsql/history`, else `~/.local/share/trailsql/history`; the
/// folder is made when missing.
pub fn history_path() -> Option<PathBuf> {
    let data = std::env::var_os("XDG_DATA_HOME")
        .filter(|d| !d.is_empty())
        .map(PathBuf::from)
        .or_else(|| Some(home()?.join(".local/share")))?;
    let dir = data.join("trailsql");
    std::fs::create_dir_all(&dir).ok()?;
    Some(dir.join("history"))
}

/// The parser's complaint about a statement, with its line and column, if it has one.
pub fn parse_error(sql: &str) -> Option<String> {
    let dialect = datafusion::sql::sqlparser::dialect::GenericDialect {};
    match datafusion::sql::parser::DFParser::parse_sql_with_dialect(sql, &dialect) {
        Ok(_) => None,
        Err(error) => Some(error.to_string()),
    }
}

impl Session {
    pub(crate) fn engine(&self) -> Arc<Engine> {
        Arc::clone(&self.engine.lock().unwrap_or_else(|e| e.into_inner()))
    }

    fn prompt(&self) -> String {
        match &self.window {
            Some(window) => format!("trailsql [{}]> ", window.label),
            None => "trailsql> ".to_string(),
        }
    }

    /// Runs a file's worth of statements and commands; false when any failed.
    fn run_text(&mut self, text: &str, editor: &mut Editor<ReplHelper, FileHistory>) -> bool {
        let mut ok = true;
        let mut buffer = InputBuffer::default();
        let inputs = text.lines().filter_map(|line| buffer.push_line(line));
        let mut inputs: Vec<String> = inputs.collect();
        // A file's last statement needs no `;`.
        inputs.extend(buffer.rest());
        for input in inputs {
            let (done, _) = self.run_input(input.trim(), editor);
            ok &= done;
        }
        ok
    }

    /// Runs one statement or meta-command; reports its error. Returns (succeeded, next).
    fn run_input(
        &mut self,
        input: &str,
        editor: &mut Editor<ReplHelper, FileHistory>,
    ) -> (bool, Next) {
        if input.starts_with('.') {
            return match meta::run(self, input, editor) {
                Ok(next) => (true, next),
                Err(error) => {
                    eprintln!("Error: {error:#}");
                    (false, Next::Continue)
                }
            };
        }
        match self.run_sql(input) {
            Ok(()) => (true, Next::Continue),
            Err(error) => {
                eprintln!("Error: {error:#}");
                (false, Next::Continue)
            }
        }
    }

    fn run_sql(&mut self, sql: &str) -> Result<()> {
        let started = Instant::now();
        let engine = self.engine();
        let show_progress = self.interactive && std::io::stderr().is_terminal();
        let outcome = self.runtime.block_on(async {
            let run = async {
                let mut query = engine.sql(sql).await?;
                let progress = show_progress.then(|| progress::start(query.progress(), started));
                let schema = query.schema();
                let mut batches = Vec::new();
                let mut result = Ok(());
                while let Some(batch) = query.next().await {
                    match batch {
                        Ok(batch) => batches.push(batch),
                        Err(error) => {
                            result = Err(error);
                            break;
                        }
                    }
                }
                if let Some(progress) = progress {
                    progress.finish().await;
                }
                Ok::<_, trailsql::Error>((result, schema, batches, query.stats()))
            };
            tokio::select! {
                done = run => Some(done),
                _ = tokio::signal::ctrl_c() => None,
            }
        });
        let Some(outcome) = outcome else {
            progress::clear();
            anyhow::bail!("cancelled after {:.1}s", started.elapsed().as_secs_f64());
        };
        let (result, schema, batches, stats) = outcome?;
        self.last_stats = Some(stats.clone());
        result?;
        let rows: usize = batches.iter().map(|b| b.num_rows()).sum();
        let elapsed = started.elapsed();
        self.write_result(&schema, &batches, rows)?;
        if self.show_stats {
            eprint!("{stats}");
        } else if let Some(summary) = stats.skip_summary() {
            eprintln!("note: {summary} (.stats for details)");
        }
        let shown = self.shown_rows(rows);
        if self.timer {
            let note = if shown < rows {
                format!(" ({shown} shown; .maxrows to change)")
            } else {
                String::new()
            };
            eprintln!("{rows} row(s){note} in {:.3}s", elapsed.as_secs_f64());
        } else if shown < rows {
            eprintln!("{shown} of {rows} rows shown; .maxrows to change");
        }
        Ok(())
    }

    fn shown_rows(&self, rows: usize) -> usize {
        let limited = matches!(self.format, Format::Table | Format::Markdown | Format::Line);
        if limited && self.max_rows > 0 && self.output.is_none() && self.once.is_none() {
            rows.min(self.max_rows)
        } else {
            rows
        }
    }

    fn write_result(
        &mut self,
        schema: &datafusion::arrow::datatypes::SchemaRef,
        batches: &[datafusion::arrow::record_batch::RecordBatch],
        rows: usize,
    ) -> Result<()> {
        let shown = self.shown_rows(rows);
        let mut kept = Vec::new();
        let mut left = shown;
        for batch in batches {
            if left == 0 {
                break;
            }
            let take = batch.num_rows().min(left);
            kept.push(batch.slice(0, take));
            left -= take;
        }
        if let Some(path) = self.once.take().or_else(|| self.output.clone()) {
            let append = self.output.as_ref() == Some(&path);
            let file = std::fs::OpenOptions::new()
                .create(true)
                .append(append)
                .write(true)
                .truncate(!append)
                .open(&path)
                .with_context(|| format!("cannot write {}", path.display()))?;
            let mut out = std::io::BufWriter::new(file);
            output::write(&mut out, self.format, schema, &kept)?;
            return Ok(());
        }
        let terminal = std::io::stdout().is_terminal();
        let size = if terminal { terminal_size() } else { None };
        let layout = Layout {
            max_width: size.map(|(w, _)| w),
        };
        let mut text = Vec::new();
        output::write_with(&mut text, self.format, schema, &kept, layout)?;
        let lines = text.iter().filter(|b| **b == b'\n').count();
        if let Some((_, height)) = size
            && self.interactive
            && lines + 2 > height
            && page(&text).is_ok()
        {
            return Ok(());
        }
        let mut stdout = std::io::stdout().lock();
        stdout.write_all(&text)?;
        stdout.flush()?;
        Ok(())
    }

    /// Replaces (or adds to) the sources and re-opens the engine.
    pub(crate) fn open(&mut self, paths: Vec<String>, add: bool) -> Result<()> {
        let sources = if add {
            let mut all = self.sources.clone();
            all.extend(paths);
            all
        } else {
            paths
        };
        let options = self.options.clone();
        let engine = self.runtime.block_on(async {
            if sources.is_empty() {
                Engine::sample(options).await
            } else {
                Engine::open(&sources, options).await
            }
        })?;
        if let Some(window) = &self.window {
            engine.set_time_window(window.since, window.until)?;
        }
        let files = engine.objects().len()
            + engine
                .layouts()
                .iter()
                .map(|l| l.regions.len())
                .sum::<usize>();
        *self.engine.lock().unwrap_or_else(|e| e.into_inner()) = Arc::new(engine);
        self.sources = sources;
        eprintln!("{files} file(s) or layout folder(s) as table `cloudtrail`");
        Ok(())
    }

    pub(crate) fn set_window(&mut self, window: Option<Window>) -> Result<()> {
        let engine = self.engine();
        match &window {
            Some(w) => engine.set_time_window(w.since, w.until)?,
            None => engine.set_time_window(None, None)?,
        }
        self.window = window;
        Ok(())
    }
}

/// Sends text through `$PAGER` (default `less -FRSX`); an error means "print it yourself".
fn page(text: &[u8]) -> std::io::Result<()> {
    let pager = std::env::var("PAGER")
        .ok()
        .filter(|p| !p.trim().is_empty())
        .unwrap_or_else(|| "less -FRSX".to_string());
    let mut words = pager.split_whitespace();
    let program = words.next().unwrap_or("less");
    let mut child = std::process::Command::new(program)
        .args(words)
        .stdin(std::process::Stdio::piped())
        .spawn()?;
    if let Some(mut stdin) = child.stdin.take() {
        // A pager closed early (q) is not an error.
        let _ = stdin.write_all(text);
    }
    child.wait()?;
    Ok(())
}

/// Columns and rows of the terminal on stdout.
pub fn terminal_size() -> Option<(usize, usize)> {
    #[cfg(unix)]
    {
        // SAFETY: TIOCGWINSZ fills a winsize struct we own; a failure leaves it zeroed.
        let mut size: libc::winsize = unsafe { std::mem::zeroed() };
        let ok = unsafe { libc::ioctl(libc::STDOUT_FILENO, libc::TIOCGWINSZ, &mut size) } == 0;
        if ok && size.ws_col > 0 && size.ws_row > 0 {
            return Some((usize::from(size.ws_col), usize::from(size.ws_row)));
        }
    }
    let columns = std::env::var("COLUMNS").ok()?.parse().ok()?;
    let lines = std::env::var("LINES")
        .ok()
        .and_then(|l| l.parse().ok())
        .unwrap_or(24);
    Some((columns, lines))
}
