//! The rustyline helper: validation (run at `;`, refuse SQL that does not parse),
//! highlighting and context-aware completion.

use std::borrow::Cow;

use datafusion::arrow::array::Array;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use rustyline::completion::{Completer, FilenameCompleter, Pair};
use rustyline::highlight::{CmdKind, Highlighter};
use rustyline::hint::Hinter;
use rustyline::validate::{ValidationContext, ValidationResult, Validator};
use rustyline::{Context as LineContext, Helper};
use trailsql::Engine;

use super::complete::{self, Context, Vocabulary};
use super::highlight;

/// The engine the session currently has; `.open` replaces it.
pub type SharedEngine = Arc<Mutex<Arc<Engine>>>;

pub struct ReplHelper {
    engine: SharedEngine,
    runtime: tokio::runtime::Handle,
    colour: bool,
    files: FilenameCompleter,
    /// Built on first use and after `.open`.
    vocabulary: Mutex<Option<Arc<Vocabulary>>>,
    values: Mutex<HashMap<String, Arc<Vec<String>>>>,
}

impl ReplHelper {
    pub fn new(engine: SharedEngine, runtime: tokio::runtime::Handle, colour: bool) -> Self {
        Self {
            engine,
            runtime,
            colour,
            files: FilenameCompleter::new(),
            vocabulary: Mutex::new(None),
            values: Mutex::new(HashMap::new()),
        }
    }

    /// Forgets names and values: the sources changed.
    pub fn invalidate(&self) {
        *self.vocabulary.lock().unwrap_or_else(|e| e.into_inner()) = None;
        self.values
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
    }

    fn engine(&self) -> Arc<Engine> {
        Arc::clone(&self.engine.lock().unwrap_or_else(|e| e.into_inner()))
    }

    pub fn vocabulary(&self) -> Arc<Vocabulary> {
        let mut cached = self.vocabulary.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(v) = cached.as_ref() {
            return Arc::clone(v);
        }
        let vocabulary = Arc::new(build_vocabulary(&self.engine(), &self.runtime));
        *cached = Some(Arc::clone(&vocabulary));
        vocabulary
    }

    /// Distinct values of a column, read once per session from the data.
    pub fn values(&self, column: &str) -> Arc<Vec<String>> {
        if let Some(values) = self
            .values
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(column)
        {
            return Arc::clone(values);
        }
        let engine = self.engine();
        let sql = format!(
            "SELECT DISTINCT CAST({column} AS VARCHAR) AS v FROM cloudtrail \
             WHERE {column} IS NOT NULL ORDER BY 1 LIMIT 5000"
        );
        let values = self
            .runtime
            .block_on(async {
                let (batches, _) = engine.sql(&sql).await?.collect().await?;
                Ok::<_, trailsql::Error>(batches)
            })
            .map(|batches| {
                batches
                    .iter()
                    .flat_map(|b| {
                        let text = datafusion::arrow::compute::cast(
                            b.column(0),
                            &datafusion::arrow::datatypes::DataType::Utf8,
                        );
                        let Ok(text) = text else {
                            return Vec::new();
                        };
                        let column = datafusion::arrow::array::AsArray::as_string::<i32>(&text);
                        (0..column.len())
                            .filter(|i| column.is_valid(*i))
                            .map(|i| column.value(i).to_string())
                            .collect::<Vec<_>>()
                    })
                    .collect()
            })
            .unwrap_or_default();
        let values = Arc::new(values);
        self.values
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(column.to_string(), Arc::clone(&values));
        values
    }
}

fn build_vocabulary(engine: &Engine, runtime: &tokio::runtime::Handle) -> Vocabulary {
    let state = engine.context().state();
    let mut functions: std::collections::BTreeSet<String> = state
        .scalar_functions()
        .keys()
        .chain(state.aggregate_functions().keys())
        .chain(state.window_functions().keys())
        .map(|k| k.to_ascii_lowercase())
        .collect();
    functions.remove("");
    let mut tables = std::collections::BTreeSet::new();
    let mut columns = Vec::new();
    let catalog = engine.context().catalog("datafusion");
    if let Some(schema) = catalog.and_then(|c| c.schema("public")) {
        for name in schema.table_names() {
            if let Ok(Some(table)) = runtime.block_on(schema.table(&name)) {
                columns.push((
                    name.clone(),
                    table
                        .schema()
                        .fields()
                        .iter()
                        .map(|f| f.name().clone())
                        .collect(),
                ));
            }
            tables.insert(name);
        }
    }
    Vocabulary {
        keywords: complete::KEYWORDS.to_vec(),
        functions,
        tables,
        columns,
    }
}

impl Completer for ReplHelper {
    type Candidate = Pair;

    fn complete(
        &self,
        line: &str,
        pos: usize,
        ctx: &LineContext<'_>,
    ) -> rustyline::Result<(usize, Vec<Pair>)> {
        let (start, context) = complete::context(line, pos);
        let word = &line[start..pos];
        let pairs = |items: Vec<String>| -> Vec<Pair> {
            items
                .into_iter()
                .map(|s| Pair {
                    display: s.clone(),
                    replacement: s,
                })
                .collect()
        };
        let candidates = match context {
            Context::Meta => complete::META_COMMANDS
                .iter()
                .filter(|c| c.starts_with(word.trim()))
                .map(|c| c.to_string())
                .collect(),
            Context::Mode => complete::MODES
                .iter()
                .filter(|m| m.starts_with(word))
                .map(|m| m.to_string())
                .collect(),
            Context::TableName => self
                .vocabulary()
                .tables
                .iter()
                .filter(|t| t.starts_with(word))
                .cloned()
                .collect(),
            Context::Path => return self.files.complete(line, pos, ctx),
            Context::Value(column) => {
                let quoted = start > 0 && line.as_bytes()[start - 1] == b'\'';
                complete::value_candidates(&self.values(&column), word, quoted)
            }
            Context::Sql => complete::sql_candidates(&self.vocabulary(), line, word),
        };
        Ok((start, pairs(candidates)))
    }
}

impl Hinter for ReplHelper {
    type Hint = String;
}

impl Highlighter for ReplHelper {
    fn highlight<'l>(&self, line: &'l str, _pos: usize) -> Cow<'l, str> {
        if self.colour {
            Cow::Owned(highlight::highlight(line))
        } else {
            Cow::Borrowed(line)
        }
    }

    fn highlight_char(&self, _line: &str, _pos: usize, _kind: CmdKind) -> bool {
        self.colour
    }
}

impl Validator for ReplHelper {
    fn validate(&self, ctx: &mut ValidationContext) -> rustyline::Result<ValidationResult> {
        Ok(validate(ctx.input()))
    }
}

/// Meta-commands run at Enter; SQL runs once it ends with `;` and parses.
pub fn validate(input: &str) -> ValidationResult {
    let trimmed = input.trim();
    if trimmed.is_empty() || trimmed.starts_with('.') {
        return ValidationResult::Valid(None);
    }
    if !crate::script::ends_statement(input) {
        return ValidationResult::Incomplete;
    }
    match super::parse_error(input) {
        None => ValidationResult::Valid(None),
        Some(message) => ValidationResult::Invalid(Some(format!("\n  {message}"))),
    }
}

impl Helper for ReplHelper {}
