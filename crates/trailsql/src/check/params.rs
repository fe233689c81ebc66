//! `${name}` placeholders to SQL literals.

use std::collections::BTreeMap;

use chrono::{DateTime, SecondsFormat, Utc};

use trailsql_decode::parse_date_or_timestamp_micros;

use super::header::{SavedQuery, placeholders};

/// The kind of value a parameter holds, decided by its default.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// A duration before now, or an absolute date or time.
    Time,
    Number,
    Text,
}

/// `7d`, `24h`, `30m`, `90s`, `2w` as microseconds.
fn duration_micros(value: &str) -> Option<i64> {
    let value = value.trim();
    let unit = value.chars().last()?;
    let count: i64 = value[..value.len() - unit.len_utf8()].parse().ok()?;
    let seconds = match unit {
        's' => 1,
        'm' => 60,
        'h' => 3600,
        'd' => 86_400,
        'w' => 7 * 86_400,
        _ => return None,
    };
    count.checked_mul(seconds)?.checked_mul(1_000_000)
}

fn is_number(value: &str) -> bool {
    let digits = value.strip_prefix('-').unwrap_or(value);
    let mut parts = digits.splitn(2, '.');
    let whole = parts.next().unwrap_or_default();
    let fraction = parts.next();
    !whole.is_empty()
        && whole.bytes().all(|b| b.is_ascii_digit())
        && fraction.is_none_or(|f| !f.is_empty() && f.bytes().all(|b| b.is_ascii_digit()))
}

fn kind_of(value: &str) -> Kind {
    if duration_micros(value).is_some() || parse_date_or_timestamp_micros(value).is_some() {
        Kind::Time
    } else if is_number(value) {
        Kind::Number
    } else {
        Kind::Text
    }
}

fn timestamp_literal(micros: i64) -> Option<String> {
    let time = DateTime::<Utc>::from_timestamp_micros(micros)?;
    Some(format!(
        "TIMESTAMP '{}'",
        time.to_rfc3339_opts(SecondsFormat::AutoSi, true)
    ))
}

/// The SQL literal for `value`, a parameter whose default is `default`; `now_micros`
/// anchors durations.
pub fn literal(value: &str, default: &str, now_micros: i64) -> Result<String, String> {
    let value = value.trim();
    match kind_of(default) {
        Kind::Time => {
            let micros = parse_time(value, now_micros)?;
            timestamp_literal(micros).ok_or_else(|| format!("`{value}` is out of range"))
        }
        Kind::Number if is_number(value) => Ok(value.to_string()),
        Kind::Number => Err(format!("`{value}` is not a number")),
        Kind::Text => Ok(format!("'{}'", value.replace('\'', "''"))),
    }
}

/// A time given as a duration before `now_micros` (`7d`) or an ISO-8601 date or time, as
/// microseconds since the epoch.
pub fn parse_time(value: &str, now_micros: i64) -> Result<i64, String> {
    match duration_micros(value) {
        Some(ago) => now_micros.checked_sub(ago),
        None => parse_date_or_timestamp_micros(value),
    }
    .ok_or_else(|| {
        format!("`{value}` is not a duration (7d, 24h, 30m) or an ISO-8601 date or time")
    })
}

/// The query's SQL with every placeholder replaced; `overrides` beat the defaults.
pub fn expand(
    query: &SavedQuery,
    overrides: &BTreeMap<String, String>,
    now_micros: i64,
) -> Result<String, (usize, String)> {
    let mut values = BTreeMap::new();
    for param in &query.params {
        let value = overrides.get(&param.name).unwrap_or(&param.default);
        let literal = literal(value, &param.default, now_micros)
            .map_err(|m| (0, format!("parameter `{}`: {m}", param.name)))?;
        values.insert(param.name.as_str(), literal);
    }
    let mut out = String::with_capacity(query.sql.len());
    for (offset, line) in query.sql.lines().enumerate() {
        let mut line = line.to_string();
        for name in placeholders(&line.clone()) {
            let Some(literal) = values.get(name) else {
                return Err((
                    query.sql_line + offset,
                    format!("`${{{name}}}` is not a parameter"),
                ));
            };
            line = line.replacen(&format!("${{{name}}}"), literal, 1);
        }
        if offset > 0 {
            out.push('\n');
        }
        out.push_str(&line);
    }
    Ok(out)
}

/// Microseconds since the epoch now.
pub fn now_micros() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_micros() as i64)
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_700_000_000_000_000; // 2023-11-14T22:13:20Z

    #[test]
    fn durations_count_back_from_now() {
        assert_eq!(
            literal("7d", "30d", NOW).unwrap(),
            "TIMESTAMP '2023-11-07T22:13:20Z'"
        );
        assert_eq!(
            literal("90s", "1h", NOW).unwrap(),
            "TIMESTAMP '2023-11-14T22:11:50Z'"
        );
        assert_eq!(
            literal("2024-01-07", "7d", NOW).unwrap(),
            "TIMESTAMP '2024-01-07T00:00:00Z'"
        );
        assert_eq!(
            literal("2024-01-07T10:00:00.5Z", "7d", NOW).unwrap(),
            "TIMESTAMP '2024-01-07T10:00:00.500Z'"
        );
        assert!(literal("yesterday", "7d", NOW).is_err());
    }

    #[test]
    fn numbers_and_text() {
        assert_eq!(literal("5", "3", NOW).unwrap(), "5");
        assert_eq!(literal("-0.25", "3", NOW).unwrap(), "-0.25");
        assert!(literal("five", "3", NOW).is_err());
        assert_eq!(literal("O'Brien", "Admin", NOW).unwrap(), "'O''Brien'");
    }

    #[test]
    fn expands_placeholders_with_overrides() {
        let query = crate::check::SavedQuery::parse(
            std::path::Path::new("q.sql"),
            "-- id: q\n-- title: t\n-- severity: low\n-- params: since=1d, who=admin\n\
             SELECT 1 WHERE ${since} < now() AND ${who} <> 'x'",
        )
        .unwrap();
        let mut overrides = BTreeMap::new();
        overrides.insert("who".to_string(), "root".to_string());
        let sql = expand(&query, &overrides, NOW).unwrap();
        assert_eq!(
            sql,
            "SELECT 1 WHERE TIMESTAMP '2023-11-13T22:13:20Z' < now() AND 'root' <> 'x'"
        );
        overrides.insert("since".to_string(), "soon".to_string());
        assert!(
            expand(&query, &overrides, NOW)
                .unwrap_err()
                .1
                .contains("since")
        );
    }
}
