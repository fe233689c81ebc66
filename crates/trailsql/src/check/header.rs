//! Saved query files: the `-- key: value` header and the SQL after it.

use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

/// How bad a finding of a query is, in increasing order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    Info,
    Low,
    Medium,
    High,
    Critical,
}

impl Severity {
    pub const ALL: [Severity; 5] = [
        Severity::Info,
        Severity::Low,
        Severity::Medium,
        Severity::High,
        Severity::Critical,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str())
    }
}

impl FromStr for Severity {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        Severity::ALL
            .into_iter()
            .find(|v| v.as_str().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| {
                format!("unknown severity `{s}`: one of info, low, medium, high, critical")
            })
    }
}

/// What a query's result must look like for the check to pass.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expect {
    /// Every row is a finding.
    NoRows,
    /// The row count must hold this comparison.
    Rows(Comparison, u64),
    /// The result must equal this CSV file (relative to the query file).
    ResultsFile(PathBuf),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Comparison {
    AtLeast,
    AtMost,
    Exactly,
}

impl Expect {
    /// Whether a result of `rows` rows meets a row-count expectation; `None` for a results file.
    pub fn holds_for(&self, rows: u64) -> Option<bool> {
        match self {
            Expect::NoRows => Some(rows == 0),
            Expect::Rows(Comparison::AtLeast, n) => Some(rows >= *n),
            Expect::Rows(Comparison::AtMost, n) => Some(rows <= *n),
            Expect::Rows(Comparison::Exactly, n) => Some(rows == *n),
            Expect::ResultsFile(_) => None,
        }
    }
}

impl fmt::Display for Expect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Expect::NoRows => f.write_str("none"),
            Expect::Rows(Comparison::AtLeast, n) => write!(f, "rows>={n}"),
            Expect::Rows(Comparison::AtMost, n) => write!(f, "rows<={n}"),
            Expect::Rows(Comparison::Exactly, n) => write!(f, "rows=={n}"),
            Expect::ResultsFile(path) => write!(f, "{}", path.display()),
        }
    }
}

/// A declared parameter and its default value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Param {
    pub name: String,
    pub default: String,
}

/// A parsed saved query.
#[derive(Debug, Clone)]
pub struct SavedQuery {
    pub path: PathBuf,
    pub id: String,
    pub title: String,
    pub severity: Severity,
    pub expect: Expect,
    pub tags: Vec<String>,
    pub params: Vec<Param>,
    pub description: String,
    /// The SQL with `${name}` placeholders, exactly as written.
    pub sql: String,
    /// The 1-based line of the file where the SQL starts.
    pub sql_line: usize,
}

/// A saved query file that cannot be used, with the place to fix.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}:{line}: {message}", path.display())]
pub struct QueryFileError {
    pub path: PathBuf,
    /// 1-based; 0 when the problem is the whole file.
    pub line: usize,
    pub message: String,
}

impl QueryFileError {
    pub fn new(path: &Path, line: usize, message: impl Into<String>) -> Self {
        Self {
            path: path.to_path_buf(),
            line,
            message: message.into(),
        }
    }
}

const KEYS: &[&str] = &[
    "id",
    "title",
    "severity",
    "expect",
    "tags",
    "params",
    "description",
];

impl SavedQuery {
    /// Reads and parses a query file.
    pub fn read(path: &Path) -> Result<Self, QueryFileError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| QueryFileError::new(path, 0, format!("cannot read: {e}")))?;
        Self::parse(path, &text)
    }

    /// Parses the text of a query file; `path` names it in errors.
    pub fn parse(path: &Path, text: &str) -> Result<Self, QueryFileError> {
        let err = |line: usize, message: String| QueryFileError::new(path, line, message);
        let mut fields: Vec<(&'static str, usize, String)> = Vec::new();
        let mut lines = text.lines().enumerate().peekable();
        while let Some((index, line)) = lines.peek().copied() {
            let number = index + 1;
            let Some(comment) = line.trim_end().strip_prefix("--") else {
                break;
            };
            lines.next();
            // `--   more text` (two or more spaces) continues the previous value.
            if comment.starts_with("  ") || comment.starts_with('\t') {
                let Some((key, _, value)) = fields.last_mut() else {
                    return Err(err(
                        number,
                        "a continuation line before any `-- key: value`".into(),
                    ));
                };
                if *key != "description" {
                    return Err(err(
                        number,
                        format!("only `description` may continue on the next line, not `{key}`"),
                    ));
                }
                value.push(' ');
                value.push_str(comment.trim());
                continue;
            }
            let comment = comment.trim();
            if comment.is_empty() {
                continue;
            }
            let Some((key, value)) = comment.split_once(':') else {
                return Err(err(
                    number,
                    format!("expected `-- key: value` in the header, found `--{comment}`"),
                ));
            };
            let key_lower = key.trim().to_ascii_lowercase();
            let Some(key) = KEYS.iter().find(|k| **k == key_lower) else {
                return Err(err(
                    number,
                    format!(
                        "unknown header key `{}`: the keys are {}",
                        key.trim(),
                        KEYS.join(", ")
                    ),
                ));
            };
            if fields.iter().any(|(k, _, _)| k == key) {
                return Err(err(number, format!("`{key}` is given twice")));
            }
            fields.push((key, number, value.trim().to_string()));
        }
        let header_end = lines
            .peek()
            .map(|(i, _)| *i)
            .unwrap_or(text.lines().count());
        let get = |key: &str| fields.iter().find(|(k, _, _)| *k == key);
        let require = |key: &str| {
            get(key)
                .filter(|(_, _, v)| !v.is_empty())
                .ok_or_else(|| err(1, format!("the header has no `-- {key}:` line")))
        };

        let (_, id_line, id) = require("id")?;
        if !id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            || id.starts_with('-')
        {
            return Err(err(
                *id_line,
                format!("id `{id}` must be lower-case letters, digits and `-`"),
            ));
        }
        let (_, _, title) = require("title")?;
        let (_, severity_line, severity) = require("severity")?;
        let severity = severity.parse().map_err(|m| err(*severity_line, m))?;
        let expect = match get("expect") {
            None => Expect::NoRows,
            Some((_, line, value)) => parse_expect(value).map_err(|m| err(*line, m))?,
        };
        let tags = get("tags")
            .map(|(_, _, v)| {
                v.split(',')
                    .map(|t| t.trim().to_string())
                    .filter(|t| !t.is_empty())
                    .collect()
            })
            .unwrap_or_default();
        let params = match get("params") {
            None => Vec::new(),
            Some((_, line, value)) => parse_params(value).map_err(|m| err(*line, m))?,
        };
        let description = get("description")
            .map(|(_, _, v)| v.clone())
            .unwrap_or_default();

        let body: Vec<&str> = text.lines().skip(header_end).collect();
        let leading_blank = body.iter().take_while(|l| l.trim().is_empty()).count();
        let sql = body[leading_blank..].join("\n").trim_end().to_string();
        let sql_line = header_end + leading_blank + 1;
        if sql.trim().is_empty() {
            return Err(err(sql_line, "no SQL after the header".into()));
        }
        for (offset, line) in sql.lines().enumerate() {
            for name in placeholders(line) {
                if !params.iter().any(|p| p.name == name) {
                    return Err(err(
                        sql_line + offset,
                        format!(
                            "`${{{name}}}` is not a parameter: declare it in `-- params: {name}=...`"
                        ),
                    ));
                }
            }
        }
        Ok(SavedQuery {
            path: path.to_path_buf(),
            id: id.clone(),
            title: title.clone(),
            severity,
            expect,
            tags,
            params,
            description,
            sql,
            sql_line,
        })
    }

    /// The folder beside the query holding its fixture cases: `x.sql` -> `x.tests/`.
    pub fn fixtures_dir(&self) -> PathBuf {
        self.path.with_extension("tests")
    }
}

fn parse_expect(value: &str) -> Result<Expect, String> {
    let compact: String = value.chars().filter(|c| !c.is_whitespace()).collect();
    let lower = compact.to_ascii_lowercase();
    if lower == "none" {
        return Ok(Expect::NoRows);
    }
    for (prefix, comparison) in [
        ("rows>=", Comparison::AtLeast),
        ("rows<=", Comparison::AtMost),
        ("rows==", Comparison::Exactly),
    ] {
        if let Some(n) = lower.strip_prefix(prefix) {
            let n = n
                .parse()
                .map_err(|_| format!("`{value}`: expected a whole number after `{prefix}`"))?;
            return Ok(Expect::Rows(comparison, n));
        }
    }
    if lower.ends_with(".csv") {
        return Ok(Expect::ResultsFile(PathBuf::from(value.trim())));
    }
    Err(format!(
        "unknown expect `{value}`: none, rows>=N, rows<=N, rows==N or a results .csv file"
    ))
}

fn parse_params(value: &str) -> Result<Vec<Param>, String> {
    let mut params: Vec<Param> = Vec::new();
    for pair in value.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let Some((name, default)) = pair.split_once('=') else {
            return Err(format!(
                "parameter `{pair}` has no default: write `name=value`"
            ));
        };
        let name = name.trim();
        if !is_param_name(name) {
            return Err(format!(
                "`{name}` is not a parameter name (letters, digits, `_`)"
            ));
        }
        if params.iter().any(|p| p.name == name) {
            return Err(format!("parameter `{name}` is declared twice"));
        }
        params.push(Param {
            name: name.to_string(),
            default: default.trim().to_string(),
        });
    }
    Ok(params)
}

pub(crate) fn is_param_name(name: &str) -> bool {
    !name.is_empty()
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
        && !name.as_bytes()[0].is_ascii_digit()
}

/// The names of the `${name}` placeholders in a line, in order.
pub(crate) fn placeholders(line: &str) -> Vec<&str> {
    let mut names = Vec::new();
    let mut rest = line;
    while let Some(start) = rest.find("${") {
        let after = &rest[start + 2..];
        match after.find('}') {
            Some(end) => {
                names.push(&after[..end]);
                rest = &after[end + 1..];
            }
            None => break,
        }
    }
    names
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<SavedQuery, QueryFileError> {
        SavedQuery::parse(Path::new("q.sql"), text)
    }

    const GOOD: &str = "\
-- id: kinesis-stream-deleted
-- title: Kinesis stream deleted
-- severity: medium
-- expect: none
-- tags: kinesis, attack.impact
-- params: since=7d, n=3
-- description: A stream was deleted;
--   its data is gone.

SELECT eventtime FROM cloudtrail
WHERE eventtime >= ${since} LIMIT ${n}
";

    #[test]
    fn parses_every_key() {
        let q = parse(GOOD).unwrap();
        assert_eq!(q.id, "kinesis-stream-deleted");
        assert_eq!(q.title, "Kinesis stream deleted");
        assert_eq!(q.severity, Severity::Medium);
        assert_eq!(q.expect, Expect::NoRows);
        assert_eq!(q.tags, ["kinesis", "attack.impact"]);
        assert_eq!(q.params.len(), 2);
        assert_eq!(q.params[0].default, "7d");
        assert_eq!(q.description, "A stream was deleted; its data is gone.");
        assert_eq!(q.sql_line, 10);
        assert!(q.sql.starts_with("SELECT eventtime"));
    }

    #[test]
    fn expectations() {
        assert_eq!(
            parse_expect("rows >= 2"),
            Ok(Expect::Rows(Comparison::AtLeast, 2))
        );
        assert_eq!(
            parse_expect("rows==0"),
            Ok(Expect::Rows(Comparison::Exactly, 0))
        );
        assert_eq!(
            parse_expect("expected.csv"),
            Ok(Expect::ResultsFile("expected.csv".into()))
        );
        assert!(parse_expect("some").is_err());
        assert!(parse_expect("rows>=x").is_err());
    }

    #[test]
    fn errors_name_the_line() {
        let unknown = GOOD.replace("-- tags:", "-- tag:");
        let e = parse(&unknown).unwrap_err();
        assert_eq!(e.line, 5);
        assert!(
            e.to_string()
                .starts_with("q.sql:5: unknown header key `tag`"),
            "{e}"
        );

        let no_id = GOOD.replace("-- id: kinesis-stream-deleted\n", "");
        let e = parse(&no_id).unwrap_err();
        assert!(e.message.contains("no `-- id:`"), "{e}");

        let bad_severity = GOOD.replace("medium", "urgent");
        assert_eq!(parse(&bad_severity).unwrap_err().line, 3);

        let undeclared = GOOD.replace("LIMIT ${n}", "LIMIT ${m}");
        let e = parse(&undeclared).unwrap_err();
        assert_eq!(e.line, 11);
        assert!(e.message.contains("${m}"), "{e}");

        let bad_param = GOOD.replace("n=3", "n");
        assert_eq!(parse(&bad_param).unwrap_err().line, 6);

        let twice = GOOD.replace("-- expect: none", "-- title: again");
        assert!(parse(&twice).unwrap_err().message.contains("twice"));

        let no_sql = "-- id: a\n-- title: t\n-- severity: low\n";
        assert!(parse(no_sql).unwrap_err().message.contains("no SQL"));

        let bad_id = GOOD.replace("kinesis-stream-deleted", "Kinesis_Deleted");
        assert_eq!(parse(&bad_id).unwrap_err().line, 1);
    }
}
