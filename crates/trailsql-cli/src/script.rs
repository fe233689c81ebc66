//! `trailsql -f FILE.sql`: a script of statements, stopped by the first that fails.

use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, Result};

use crate::output::Format;
use crate::run_query;

/// Runs each statement of the file in order. The first failure is reported with its
/// line and ends the run with exit code 1; later statements are not run.
pub async fn run_file(
    engine: &trailsql::Engine,
    path: &Path,
    format: Format,
    stats: bool,
) -> Result<ExitCode> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let mut stdout = std::io::stdout().lock();
    for statement in split_statements(&text) {
        if let Err(error) = run_query(engine, &statement.sql, format, stats, &mut stdout).await {
            eprintln!("Error: {}:{}: {error:#}", path.display(), statement.line);
            return Ok(ExitCode::FAILURE);
        }
    }
    Ok(ExitCode::SUCCESS)
}

#[derive(Debug, PartialEq, Eq)]
pub struct Statement {
    pub sql: String,
    /// 1-based line where the statement starts.
    pub line: usize,
}

/// Splits SQL text at `;` outside quotes and comments; blank and comment-only pieces are
/// dropped.
pub fn split_statements(text: &str) -> Vec<Statement> {
    scan(text).0
}

/// Whether the text ends a statement: its last code (outside quotes and comments) is `;`.
pub fn ends_statement(text: &str) -> bool {
    scan(text).1 == Some(';')
}

/// The statements of the text, and its last character of code (outside comments; an
/// unclosed quote counts as its quote).
fn scan(text: &str) -> (Vec<Statement>, Option<char>) {
    let mut statements = Vec::new();
    let mut current = String::new();
    let mut start_line = 1;
    let mut line = 1;
    let mut has_code = false;
    let mut last_code = None;
    let mut chars = text.chars().peekable();
    let mut finish = |current: &mut String, has_code: &mut bool, start: usize| {
        if *has_code {
            statements.push(Statement {
                sql: current.trim().to_string(),
                line: start,
            });
        }
        current.clear();
        *has_code = false;
    };
    while let Some(c) = chars.next() {
        match c {
            '\'' | '"' => {
                if !has_code {
                    start_line = line;
                }
                has_code = true;
                last_code = Some(c);
                current.push(c);
                for q in chars.by_ref() {
                    current.push(q);
                    if q == '\n' {
                        line += 1;
                    }
                    if q == c {
                        break;
                    }
                }
            }
            '-' if chars.peek() == Some(&'-') => {
                current.push(c);
                for q in chars.by_ref() {
                    current.push(q);
                    if q == '\n' {
                        line += 1;
                        break;
                    }
                }
            }
            '/' if chars.peek() == Some(&'*') => {
                current.push(c);
                let mut previous = ' ';
                for q in chars.by_ref() {
                    current.push(q);
                    if q == '\n' {
                        line += 1;
                    }
                    if previous == '*' && q == '/' {
                        break;
                    }
                    previous = q;
                }
            }
            ';' => {
                last_code = Some(';');
                finish(&mut current, &mut has_code, start_line);
            }
            c => {
                if c == '\n' {
                    line += 1;
                } else if !c.is_whitespace() {
                    last_code = Some(c);
                    if !has_code {
                        has_code = true;
                        start_line = line;
                    }
                }
                current.push(c);
            }
        }
    }
    finish(&mut current, &mut has_code, start_line);
    (statements, last_code)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_outside_quotes_and_comments() {
        let text = "-- a comment; not a statement\nSELECT 1;\n\nSELECT ';' AS \"a;b\" /* ; */\n  FROM t;\n-- trailing\n";
        let statements = split_statements(text);
        assert_eq!(statements.len(), 2);
        assert_eq!(statements[0].line, 2);
        assert!(statements[0].sql.ends_with("SELECT 1"));
        assert_eq!(statements[1].line, 4);
        assert!(statements[1].sql.starts_with("SELECT ';' AS \"a;b\""));
    }

    #[test]
    fn statements_end_at_a_semicolon_outside_quotes_and_comments() {
        assert!(ends_statement("SELECT 1;"));
        assert!(ends_statement("SELECT 1; -- done"));
        assert!(!ends_statement("SELECT ';"));
        assert!(!ends_statement("SELECT 1 -- ;"));
        assert!(!ends_statement("SELECT 1"));
        assert!(ends_statement("SELECT 'a;b'\n  FROM t;\n"));
    }

    #[test]
    fn last_statement_needs_no_semicolon() {
        let statements = split_statements("SELECT 1;\nSELECT 2");
        assert_eq!(
            statements[1],
            Statement {
                sql: "SELECT 2".into(),
                line: 2
            }
        );
    }
}
