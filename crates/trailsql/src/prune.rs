//! What a query's filters say about where its events can be: a time window and sets of
//! accounts and regions, read from the predicates DataFusion pushes to the scan.

use std::collections::BTreeSet;

use datafusion::common::ScalarValue;
use datafusion::logical_expr::{Between, BinaryExpr, Expr, Like, Operator};
use trailsql_decode::{CloudTrailSchema, TextFilter, TextTest};

/// Bounds every matching event satisfies. `None` means unbounded.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Constraints {
    /// Events are at or after this (microseconds, UTC).
    pub since: Option<i64>,
    /// Events are at or before this.
    pub until: Option<i64>,
    pub accounts: Option<BTreeSet<String>>,
    pub regions: Option<BTreeSet<String>>,
}

impl Constraints {
    /// Reads the conjunction of `filters`; predicates it does not understand constrain
    /// nothing (the filter still runs on every row, so the answer is the same).
    pub fn from_filters(filters: &[Expr]) -> Self {
        let mut constraints = Constraints::default();
        for filter in filters {
            constraints.add(filter);
        }
        constraints
    }

    pub fn is_empty(&self) -> bool {
        *self == Constraints::default()
    }

    fn add(&mut self, expr: &Expr) {
        match expr {
            Expr::BinaryExpr(BinaryExpr {
                left,
                op: Operator::And,
                right,
            }) => {
                self.add(left);
                self.add(right);
            }
            Expr::BinaryExpr(BinaryExpr { left, op, right }) => {
                if let (Some(column), Some(value)) = (column_name(left), literal(right)) {
                    self.compare(&column, *op, &value);
                } else if let (Some(value), Some(column)) = (literal(left), column_name(right))
                    && let Some(op) = op.swap()
                {
                    self.compare(&column, op, &value);
                }
            }
            Expr::Between(Between {
                expr,
                negated: false,
                low,
                high,
            }) => {
                if let (Some(column), Some(low), Some(high)) =
                    (column_name(expr), literal(low), literal(high))
                {
                    self.compare(&column, Operator::GtEq, &low);
                    self.compare(&column, Operator::LtEq, &high);
                }
            }
            Expr::InList(list) if !list.negated => {
                let Some(column) = column_name(&list.expr) else {
                    return;
                };
                let values: Option<BTreeSet<String>> = list
                    .list
                    .iter()
                    .map(|e| literal(e).and_then(|v| text(&v)))
                    .collect();
                if let Some(values) = values {
                    self.restrict(&column, values);
                }
            }
            _ => {}
        }
    }

    fn compare(&mut self, column: &str, op: Operator, value: &ScalarValue) {
        match column {
            "eventtime" => {
                let Some(micros) = micros(value) else {
                    return;
                };
                match op {
                    Operator::Eq => {
                        self.tighten_since(micros);
                        self.tighten_until(micros);
                    }
                    Operator::Gt | Operator::GtEq => self.tighten_since(micros),
                    Operator::Lt | Operator::LtEq => self.tighten_until(micros),
                    _ => {}
                }
            }
            _ if op == Operator::Eq => {
                if let Some(value) = text(value) {
                    self.restrict(column, BTreeSet::from([value]));
                }
            }
            _ => {}
        }
    }

    fn tighten_since(&mut self, micros: i64) {
        self.since = Some(self.since.map_or(micros, |s| s.max(micros)));
    }

    fn tighten_until(&mut self, micros: i64) {
        self.until = Some(self.until.map_or(micros, |u| u.min(micros)));
    }

    fn restrict(&mut self, column: &str, values: BTreeSet<String>) {
        let slot = match column {
            "recipientaccountid" | "log_account" => &mut self.accounts,
            "awsregion" | "log_region" => &mut self.regions,
            _ => return,
        };
        *slot = Some(match slot.take() {
            None => values,
            Some(old) => old.intersection(&values).cloned().collect(),
        });
    }
}

/// The filters the decoder can check while it reads records (see [`TextFilter`]):
/// `column = 'text'`, `column IN ('text', ...)`, `column LIKE 'prefix%'` and
/// `column IS NOT NULL` on a plain text column, in any conjunction. Every filter still
/// runs again above the scan.
pub fn decoder_filters(filters: &[Expr], schema: &CloudTrailSchema) -> Vec<TextFilter> {
    let mut found = Vec::new();
    for filter in filters {
        add_decoder_filter(filter, schema, &mut found);
    }
    found
}

fn add_decoder_filter(expr: &Expr, schema: &CloudTrailSchema, found: &mut Vec<TextFilter>) {
    if let Expr::BinaryExpr(BinaryExpr {
        left,
        op: Operator::And,
        right,
    }) = expr
    {
        add_decoder_filter(left, schema, found);
        add_decoder_filter(right, schema, found);
        return;
    }
    if let Some((column, test)) = text_test(expr, schema) {
        let filter = TextFilter { column, test };
        if filter.applies_to(schema) {
            found.push(filter);
        }
    }
}

/// The column a filter tests, and how.
fn text_test(expr: &Expr, schema: &CloudTrailSchema) -> Option<(usize, TextTest)> {
    match expr {
        Expr::IsNotNull(inner) => Some((bare_column(inner, schema)?, TextTest::NotNull)),
        Expr::Like(Like {
            negated: false,
            expr,
            pattern,
            escape_char,
            case_insensitive: false,
        }) => {
            let prefix = like_prefix(&text_literal(pattern)?, *escape_char)?;
            Some((bare_column(expr, schema)?, TextTest::StartsWith(prefix)))
        }
        _ => alternatives(expr, schema).map(|(column, values)| (column, TextTest::OneOf(values))),
    }
}

/// The prefix of a `LIKE` pattern that is a plain prefix and one trailing `%`. Patterns
/// with other wildcards or escapes are left to the filter above the scan.
fn like_prefix(pattern: &str, escape_char: Option<char>) -> Option<String> {
    let prefix = pattern.strip_suffix('%')?;
    let special = |c: char| matches!(c, '%' | '_' | '\\') || Some(c) == escape_char;
    (!prefix.contains(special)).then(|| prefix.to_string())
}

/// A text literal's value.
fn text_literal(expr: &Expr) -> Option<String> {
    match expr {
        Expr::Literal(value, _) => text(value),
        _ => None,
    }
}

/// The column, bare, never cast: a cast changes what equality means.
fn bare_column(expr: &Expr, schema: &CloudTrailSchema) -> Option<usize> {
    match expr {
        Expr::Column(column) => schema.index_of(&column.name.to_ascii_lowercase()),
        _ => None,
    }
}

/// The column and the values it must equal one of, for `c = 'x'`, `c IN ('x', 'y')`
/// and `c = 'x' OR c = 'y'` (DataFusion writes short IN lists that way).
fn alternatives(expr: &Expr, schema: &CloudTrailSchema) -> Option<(usize, Vec<String>)> {
    let column = |expr: &Expr| bare_column(expr, schema);
    let value = text_literal;
    match expr {
        Expr::BinaryExpr(BinaryExpr {
            left,
            op: Operator::Eq,
            right,
        }) => match (column(left), value(right), value(left), column(right)) {
            (Some(column), Some(value), ..) | (.., Some(value), Some(column)) => {
                Some((column, vec![value]))
            }
            _ => None,
        },
        Expr::BinaryExpr(BinaryExpr {
            left,
            op: Operator::Or,
            right,
        }) => {
            let (column, mut values) = alternatives(left, schema)?;
            let (other, more) = alternatives(right, schema)?;
            (column == other).then(|| {
                values.extend(more);
                (column, values)
            })
        }
        Expr::InList(list) if !list.negated => Some((
            column(&list.expr)?,
            list.list.iter().map(value).collect::<Option<Vec<_>>>()?,
        )),
        _ => None,
    }
}

fn column_name(expr: &Expr) -> Option<String> {
    match expr {
        Expr::Column(column) => Some(column.name.to_ascii_lowercase()),
        Expr::Cast(cast) => column_name(&cast.expr),
        _ => None,
    }
}

fn literal(expr: &Expr) -> Option<ScalarValue> {
    match expr {
        Expr::Literal(value, _) if !value.is_null() => Some(value.clone()),
        Expr::Cast(cast) => {
            let value = literal(&cast.expr)?;
            value.cast_to(cast.field.data_type()).ok().or(Some(value))
        }
        Expr::TryCast(cast) => literal(&cast.expr),
        _ => None,
    }
}

fn text(value: &ScalarValue) -> Option<String> {
    match value {
        ScalarValue::Utf8(Some(s))
        | ScalarValue::LargeUtf8(Some(s))
        | ScalarValue::Utf8View(Some(s)) => Some(s.clone()),
        _ => None,
    }
}

fn micros(value: &ScalarValue) -> Option<i64> {
    match value {
        ScalarValue::TimestampMicrosecond(Some(v), _) => Some(*v),
        ScalarValue::TimestampMillisecond(Some(v), _) => v.checked_mul(1_000),
        ScalarValue::TimestampSecond(Some(v), _) => v.checked_mul(1_000_000),
        ScalarValue::TimestampNanosecond(Some(v), _) => Some(v.div_euclid(1_000)),
        ScalarValue::Date32(Some(days)) => i64::from(*days).checked_mul(86_400_000_000),
        other => trailsql_decode::parse_date_or_timestamp_micros(&text(other)?),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::logical_expr::{col, lit};

    fn stamp(text: &str) -> i64 {
        trailsql_decode::parse_timestamp_micros(text).unwrap()
    }

    fn ts(text: &str) -> Expr {
        lit(ScalarValue::TimestampMicrosecond(
            Some(stamp(text)),
            Some("UTC".into()),
        ))
    }

    #[test]
    fn reads_time_account_and_region_bounds() {
        let filters = vec![
            col("eventtime").gt_eq(ts("2024-01-07T00:00:00Z")),
            ts("2024-01-08T00:00:00Z").gt(col("eventtime")),
            col("recipientaccountid")
                .in_list(vec![lit("111122223333"), lit("444455556666")], false),
            col("log_account").eq(lit("111122223333")),
            col("awsregion").eq(lit("eu-west-1")),
        ];
        let c = Constraints::from_filters(&filters);
        assert_eq!(c.since, Some(stamp("2024-01-07T00:00:00Z")));
        assert_eq!(c.until, Some(stamp("2024-01-08T00:00:00Z")));
        assert_eq!(
            c.accounts,
            Some(BTreeSet::from(["111122223333".to_string()]))
        );
        assert_eq!(c.regions, Some(BTreeSet::from(["eu-west-1".to_string()])));
    }

    #[test]
    fn between_strings_and_unknown_predicates() {
        let filters = vec![
            col("eventtime").between(lit("2024-01-07"), lit("2024-01-07T23:59:59Z")),
            col("eventname").eq(lit("x")),
            col("awsregion")
                .eq(lit("a"))
                .or(col("awsregion").eq(lit("b"))),
            col("eventtime").not_eq(ts("2024-01-01T00:00:00Z")),
        ];
        let c = Constraints::from_filters(&filters);
        assert_eq!(c.since, Some(stamp("2024-01-07T00:00:00Z")));
        assert_eq!(c.until, Some(stamp("2024-01-07T23:59:59Z")));
        assert_eq!(c.regions, None, "an OR does not constrain");
        assert!(Constraints::from_filters(&[col("readonly").eq(lit(true))]).is_empty());
    }
}
