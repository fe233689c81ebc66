//! What to offer at the cursor: meta-commands, keywords, functions, tables, columns (also
//! as dotted paths), values of the columns people filter on, and file paths in quotes.

use std::collections::BTreeSet;

/// The names completion draws on, gathered from the session.
#[derive(Debug, Clone, Default)]
pub struct Vocabulary {
    pub keywords: Vec<&'static str>,
    pub functions: BTreeSet<String>,
    pub tables: BTreeSet<String>,
    /// Columns by table name.
    pub columns: Vec<(String, Vec<String>)>,
}

/// Columns whose values are worth completing after `=` or `IN (`.
pub const VALUE_COLUMNS: &[&str] = &[
    "eventname",
    "eventsource",
    "awsregion",
    "useridentity_type",
    "errorcode",
    "recipientaccountid",
    "useridentity_accountid",
    "eventtype",
    "eventcategory",
    "actor_kind",
    "credential_kind",
];

pub const META_COMMANDS: &[&str] = &[
    ".help", ".tables", ".schema", ".mode", ".maxrows", ".timer", ".output", ".once", ".read",
    ".open", ".since", ".between", ".stats", ".cache", ".quit",
];

pub const MODES: &[&str] = &["table", "csv", "json", "ndjson", "markdown", "line"];

pub const KEYWORDS: &[&str] = &[
    "SELECT",
    "FROM",
    "WHERE",
    "GROUP BY",
    "ORDER BY",
    "HAVING",
    "LIMIT",
    "OFFSET",
    "AS",
    "AND",
    "OR",
    "NOT",
    "IN",
    "IS",
    "NULL",
    "LIKE",
    "ILIKE",
    "BETWEEN",
    "DISTINCT",
    "COUNT",
    "CASE",
    "WHEN",
    "THEN",
    "ELSE",
    "END",
    "JOIN",
    "LEFT JOIN",
    "INNER JOIN",
    "CROSS JOIN",
    "UNNEST",
    "ON",
    "USING",
    "WITH",
    "UNION",
    "UNION ALL",
    "EXCEPT",
    "INTERSECT",
    "DESC",
    "ASC",
    "NULLS",
    "FIRST",
    "LAST",
    "OVER",
    "PARTITION BY",
    "WINDOW",
    "ROWS",
    "INTERVAL",
    "TIMESTAMP",
    "DATE",
    "CAST",
    "TRUE",
    "FALSE",
    "EXPLAIN",
    "ANALYZE",
    "SHOW",
    "TABLES",
    "COLUMNS",
    "DESCRIBE",
    "VALUES",
    "EXISTS",
    "ANY",
    "ALL",
    "FILTER",
    "QUALIFY",
];

/// What the cursor is in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Context {
    /// A meta-command name at the start of the line.
    Meta,
    /// The argument of `.mode`.
    Mode,
    /// The argument of `.schema`.
    TableName,
    /// A file path (inside quotes, or after `.read`, `.open`, `.output`, `.once`).
    Path,
    /// A string value for this column, after `col =` or `col IN (`.
    Value(String),
    /// SQL names: keywords, functions, tables and columns.
    Sql,
}

/// The start of the word being completed, and what it is.
pub fn context(line: &str, pos: usize) -> (usize, Context) {
    let before = &line[..pos];
    let trimmed = before.trim_start();
    if trimmed.starts_with('.') {
        let offset = before.len() - trimmed.len();
        return match trimmed.split_once(char::is_whitespace) {
            None => (offset, Context::Meta),
            Some((command, _)) => {
                let start = before.rfind(char::is_whitespace).map_or(0, |i| i + 1);
                let context = match command {
                    ".mode" => Context::Mode,
                    ".schema" => Context::TableName,
                    ".read" | ".open" | ".output" | ".once" => Context::Path,
                    _ => Context::Sql,
                };
                (start, context)
            }
        };
    }
    if let Some(quote) = open_quote(before) {
        let start = quote + 1;
        return match column_before_value(&before[..quote]) {
            Some(column) => (start, Context::Value(column)),
            None => (start, Context::Path),
        };
    }
    let start = before
        .char_indices()
        .rev()
        .find(|(_, c)| !(c.is_alphanumeric() || *c == '_' || *c == '.'))
        .map_or(0, |(i, c)| i + c.len_utf8());
    if let Some(column) = column_before_value(&before[..start]) {
        return (start, Context::Value(column));
    }
    (start, Context::Sql)
}

/// The byte index of the `'` that opens a string the cursor is inside, if any.
fn open_quote(text: &str) -> Option<usize> {
    let mut open = None;
    let mut in_double = false;
    let mut chars = text.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        match c {
            '\'' if !in_double => open = if open.is_some() { None } else { Some(i) },
            '"' if open.is_none() => in_double = !in_double,
            '-' if open.is_none() && !in_double && chars.peek().map(|p| p.1) == Some('-') => {
                // A comment runs to the end of the line.
                for (_, c) in chars.by_ref() {
                    if c == '\n' {
                        break;
                    }
                }
            }
            _ => {}
        }
    }
    open
}

/// `eventname = ` or `eventname IN ('a', ` before the cursor: the column named.
fn column_before_value(text: &str) -> Option<String> {
    let text = text.trim_end();
    let (column_part, _) = if let Some(rest) = text.strip_suffix('=') {
        (rest.trim_end().trim_end_matches(['!', '<', '>']), ())
    } else {
        // Inside `IN (...`: the last unclosed `(` preceded by IN.
        let open = text.rfind('(')?;
        if text[open..].contains(')') {
            return None;
        }
        let head = text[..open].trim_end();
        let upper = head.to_ascii_uppercase();
        if !upper.ends_with(" IN") {
            return None;
        }
        (head[..head.len() - 2].trim_end(), ())
    };
    let word_start = column_part
        .char_indices()
        .rev()
        .find(|(_, c)| !(c.is_alphanumeric() || *c == '_' || *c == '.' || *c == '"'))
        .map_or(0, |(i, c)| i + c.len_utf8());
    let word = column_part[word_start..]
        .trim_matches('"')
        .rsplit('.')
        .next()?
        .to_ascii_lowercase();
    // `userIdentity.type` names the flattened column `useridentity_type`.
    let dotted = column_part[word_start..]
        .trim_matches('"')
        .to_ascii_lowercase()
        .replace('.', "_");
    [dotted, word]
        .into_iter()
        .find(|c| VALUE_COLUMNS.contains(&c.as_str()))
}

/// Tables the statement names after FROM or JOIN.
pub fn tables_in(statement: &str) -> Vec<String> {
    let words: Vec<&str> = statement
        .split(|c: char| c.is_whitespace() || c == ',' || c == '(' || c == ')' || c == ';')
        .filter(|w| !w.is_empty())
        .collect();
    let mut tables = Vec::new();
    for pair in words.windows(2) {
        let keyword = pair[0].to_ascii_uppercase();
        if keyword == "FROM" || keyword == "JOIN" {
            tables.push(pair[1].trim_matches('"').to_ascii_lowercase());
        }
    }
    tables
}

/// `useridentity_sessioncontext_sessionissuer_arn` as the dotted path Athena users write.
fn dotted(column: &str) -> Option<String> {
    const NESTED: &[&str] = &["useridentity_", "requestparameters_", "tlsdetails_"];
    NESTED
        .iter()
        .any(|p| column.starts_with(p))
        .then(|| column.replace('_', "."))
}

/// Candidates for a word in SQL, in the order shown: columns of the statement's tables,
/// then tables, functions and keywords. Matching ignores case; keywords follow the case
/// the user typed.
pub fn sql_candidates(vocabulary: &Vocabulary, statement: &str, word: &str) -> Vec<String> {
    let lower = word.to_ascii_lowercase();
    let mut out: Vec<String> = Vec::new();
    let mentioned = tables_in(statement);
    let column_sets = vocabulary
        .columns
        .iter()
        .filter(|(t, _)| mentioned.is_empty() || mentioned.contains(t));
    let mut seen = BTreeSet::new();
    for (_, columns) in column_sets {
        for column in columns {
            if lower.contains('.') {
                if let Some(path) = dotted(column)
                    && path.starts_with(&lower)
                    && seen.insert(path.clone())
                {
                    out.push(path);
                }
            } else if column.starts_with(&lower) && seen.insert(column.clone()) {
                out.push(column.clone());
            }
        }
    }
    if lower.contains('.') {
        return out;
    }
    for table in &vocabulary.tables {
        if table.starts_with(&lower) && seen.insert(table.clone()) {
            out.push(table.clone());
        }
    }
    for function in &vocabulary.functions {
        if function.starts_with(&lower) && seen.insert(function.clone()) {
            out.push(function.clone());
        }
    }
    let upper_typed = word.chars().any(|c| c.is_ascii_uppercase()) || word.is_empty();
    for keyword in &vocabulary.keywords {
        if keyword.to_ascii_lowercase().starts_with(&lower) {
            let keyword = if upper_typed {
                keyword.to_string()
            } else {
                keyword.to_ascii_lowercase()
            };
            if seen.insert(keyword.to_ascii_lowercase()) {
                out.push(keyword);
            }
        }
    }
    out
}

/// String values for a column, quoted, matching what was typed after the quote.
pub fn value_candidates(values: &[String], typed: &str, quoted: bool) -> Vec<String> {
    let lower = typed.to_ascii_lowercase();
    values
        .iter()
        .filter(|v| v.to_ascii_lowercase().starts_with(&lower))
        .map(|v| {
            let escaped = v.replace('\'', "''");
            if quoted {
                format!("{escaped}'")
            } else {
                format!("'{escaped}'")
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vocabulary() -> Vocabulary {
        Vocabulary {
            keywords: KEYWORDS.to_vec(),
            functions: ["count", "json_extract_scalar", "element_at"]
                .iter()
                .map(|s| s.to_string())
                .collect(),
            tables: ["cloudtrail", "other"]
                .iter()
                .map(|s| s.to_string())
                .collect(),
            columns: vec![
                (
                    "cloudtrail".into(),
                    vec![
                        "eventname".into(),
                        "eventsource".into(),
                        "useridentity_type".into(),
                        "useridentity_sessioncontext_sessionissuer_arn".into(),
                        "requestparameters_streamname".into(),
                    ],
                ),
                ("other".into(), vec!["eventful".into()]),
            ],
        }
    }

    #[test]
    fn contexts() {
        assert_eq!(context(".sc", 3), (0, Context::Meta));
        assert_eq!(context(".mode js", 8), (6, Context::Mode));
        assert_eq!(context(".read que", 9), (6, Context::Path));
        assert_eq!(context("SELECT ev", 9), (7, Context::Sql));
        let line = "SELECT * FROM cloudtrail WHERE eventName = 'Cre";
        assert_eq!(
            context(line, line.len()),
            (44, Context::Value("eventname".into()))
        );
        let line = "SELECT 1 WHERE awsregion IN ('us-east-1', 'eu";
        assert_eq!(
            context(line, line.len()).1,
            Context::Value("awsregion".into())
        );
        let line = "SELECT 1 WHERE userIdentity.type = ";
        assert_eq!(
            context(line, line.len()).1,
            Context::Value("useridentity_type".into())
        );
        let line = "SELECT * FROM 'logs/2024";
        assert_eq!(context(line, line.len()), (15, Context::Path));
        let line = "SELECT 'a' || 'b', even";
        assert_eq!(context(line, line.len()).1, Context::Sql);
    }

    #[test]
    fn columns_of_the_statements_tables_first() {
        let v = vocabulary();
        let got = sql_candidates(&v, "SELECT ev FROM cloudtrail", "ev");
        assert_eq!(got, ["eventname", "eventsource"]);
        let got = sql_candidates(&v, "SELECT ev", "ev");
        assert_eq!(got, ["eventname", "eventsource", "eventful"]);
        let got = sql_candidates(&v, "SELECT json", "json");
        assert_eq!(got, ["json_extract_scalar"]);
        assert_eq!(sql_candidates(&v, "sel", "sel"), ["select"]);
        assert_eq!(sql_candidates(&v, "SEL", "SEL"), ["SELECT"]);
    }

    #[test]
    fn dotted_paths_complete_to_dotted_paths() {
        let v = vocabulary();
        let got = sql_candidates(&v, "SELECT userIdentity.sess", "userIdentity.sess");
        assert_eq!(got, ["useridentity.sessioncontext.sessionissuer.arn"]);
    }

    #[test]
    fn values_are_quoted() {
        let values = vec!["CreateStream".to_string(), "O'Hare".to_string()];
        assert_eq!(value_candidates(&values, "cre", true), ["CreateStream'"]);
        assert_eq!(
            value_candidates(&values, "", false),
            ["'CreateStream'", "'O''Hare'"]
        );
    }
}
