//! Saved queries as checks: parsing query files, running them over logs, testing them
//! against their fixtures, and reporting the results for people and CI systems.
//!
//! The file format is documented in `docs/queries.md`.

mod fixtures;
mod header;
mod params;
mod report;
mod run;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

pub use fixtures::{CaseResult, QueryTest, TestOptions, test_query};
pub use header::{Comparison, Expect, Param, QueryFileError, SavedQuery, Severity};
pub use params::{expand, literal, now_micros, parse_time};
pub use report::{ReportFormat, RunSummary, TestSummary, write_run_report, write_test_report};
pub use run::{CheckOptions, Outcome, QueryRun, compare_csv, run_query};

/// Reads every `.sql` file in `paths` (files, or folders walked recursively in name
/// order). Files that cannot be used are returned as errors beside the good ones; two
/// queries with one id are an error for the second.
pub fn load_queries(paths: &[PathBuf]) -> (Vec<SavedQuery>, Vec<QueryFileError>) {
    let mut files = Vec::new();
    let mut errors = Vec::new();
    for path in paths {
        if path.is_dir() {
            collect_sql_files(path, &mut files, &mut errors);
        } else if path.is_file() {
            files.push(path.clone());
        } else {
            errors.push(QueryFileError::new(path, 0, "no such file or folder"));
        }
    }
    let mut queries: Vec<SavedQuery> = Vec::new();
    let mut seen: BTreeMap<String, PathBuf> = BTreeMap::new();
    for file in files {
        match SavedQuery::read(&file) {
            Ok(query) => {
                if let Some(first) = seen.get(&query.id) {
                    errors.push(QueryFileError::new(
                        &file,
                        1,
                        format!("id `{}` is also used by {}", query.id, first.display()),
                    ));
                    continue;
                }
                seen.insert(query.id.clone(), file.clone());
                queries.push(query);
            }
            Err(error) => errors.push(error),
        }
    }
    (queries, errors)
}

fn collect_sql_files(dir: &Path, files: &mut Vec<PathBuf>, errors: &mut Vec<QueryFileError>) {
    let mut entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .collect::<Vec<_>>(),
        Err(e) => {
            errors.push(QueryFileError::new(dir, 0, format!("cannot read: {e}")));
            return;
        }
    };
    entries.sort();
    for path in entries {
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        if name.starts_with('.') {
            continue;
        }
        // Fixture folders hold logs, not queries.
        if path.is_dir() {
            if !name.ends_with(".tests") {
                collect_sql_files(&path, files, errors);
            }
        } else if path.extension().is_some_and(|e| e == "sql") {
            files.push(path);
        }
    }
}

/// Which queries to run: `--select` and `--exclude` patterns matched against ids and
/// tags; a pattern ending in `*` matches by prefix.
#[derive(Debug, Clone, Default)]
pub struct Selection {
    pub select: Vec<String>,
    pub exclude: Vec<String>,
}

impl Selection {
    pub fn matches(&self, query: &SavedQuery) -> bool {
        let hit = |pattern: &String| {
            let names = std::iter::once(&query.id).chain(query.tags.iter());
            let mut names = names;
            match pattern.strip_suffix('*') {
                Some(prefix) => names.any(|n| n.starts_with(prefix)),
                None => names.any(|n| n == pattern),
            }
        };
        (self.select.is_empty() || self.select.iter().any(hit)) && !self.exclude.iter().any(hit)
    }
}
