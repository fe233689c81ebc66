//! Files left unread while a query runs: filters that tighten as rows arrive.
//!
//! `ORDER BY eventtime DESC LIMIT 10`, the first question of most investigations, runs
//! as a TopK that keeps the ten latest events seen so far, and DataFusion hands the
//! scan a filter for what could still enter them: `eventtime > (the tenth latest)`. A
//! file in CloudTrail's layout holds only events from before the minute it was
//! delivered (the stamp in its name), so once that filter rules out the file's whole
//! window the file need not be read at all. With the newest files read first (the sort
//! is pushed to the scan too), the first batch sets the bar and the rest of the trail
//! is left unread: on S3, not even fetched.
//!
//! The bound is the same one the planned time pruning uses (see
//! [`crate::layout::delivered_in_window`]): events up to a minute before the delivery
//! stamp's minute ends, and at most the late-delivery allowance before it. Files with no
//! stamp (outside the layout, and not named as CloudTrail names files) are always read.
//! Rows are still filtered and sorted above the scan, so leaving a file out can only
//! save work, never change the answer, as long as the layout's files hold what
//! CloudTrail puts in them.

use std::sync::Arc;

use datafusion::common::ScalarValue;
use datafusion::logical_expr::Operator;
use datafusion::physical_expr::PhysicalExpr;
use datafusion::physical_expr::expressions::{BinaryExpr, Column, Literal};
use datafusion::physical_expr::utils::collect_columns;
use datafusion::physical_expr_common::physical_expr::{
    snapshot_physical_expr, snapshot_physical_expr_opt,
};

use crate::prune::Constraints;
use crate::source::LogObject;

/// The column the bounds are read for.
const TIME_COLUMN: &str = "eventtime";

/// Filters pushed into the scan by the operators above it, read again before each file.
#[derive(Clone, Default)]
pub(crate) struct RunningFilters {
    filters: Vec<Arc<dyn PhysicalExpr>>,
    late_delivery_micros: i64,
}

impl RunningFilters {
    pub(crate) fn is_empty(&self) -> bool {
        self.filters.is_empty()
    }

    /// These filters and `more`, read against files delivered up to
    /// `late_delivery_micros` after their events.
    pub(crate) fn with(&self, more: Vec<Arc<dyn PhysicalExpr>>, late_delivery_micros: i64) -> Self {
        let mut filters = self.filters.clone();
        filters.extend(more);
        Self {
            filters,
            late_delivery_micros,
        }
    }

    /// Whether `filter` changes while the query runs and reads `eventtime`, so it may
    /// come to bound it. Filters fixed at planning time are left out: the listing
    /// already pruned by them, and reading them again before each file would only
    /// cost.
    pub(crate) fn tightens_on_the_time(filter: &Arc<dyn PhysicalExpr>) -> bool {
        let dynamic = snapshot_physical_expr_opt(Arc::clone(filter))
            .is_ok_and(|snapshot| snapshot.transformed);
        dynamic
            && collect_columns(filter)
                .iter()
                .any(|column| column.name() == TIME_COLUMN)
    }

    /// The time window every row passing the filters, as they are now, falls in.
    pub(crate) fn window(&self) -> Constraints {
        let mut window = Constraints::default();
        for filter in &self.filters {
            // A filter that cannot be read now constrains nothing.
            if let Ok(current) = snapshot_physical_expr(Arc::clone(filter)) {
                window = intersect(window, time_bounds(&current));
            }
        }
        window
    }

    /// Whether `object` can be left unread: its delivery time rules out every event the
    /// filters still let through.
    pub(crate) fn rules_out(&self, object: &LogObject) -> bool {
        if self.filters.is_empty() {
            return false;
        }
        let window = self.window();
        if window.since.is_none() && window.until.is_none() {
            return false;
        }
        !crate::table::keeps(&object.location, &window, self.late_delivery_micros)
    }
}

impl std::fmt::Display for RunningFilters {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let filters: Vec<String> = self.filters.iter().map(|f| f.to_string()).collect();
        f.write_str(&filters.join(", "))
    }
}

/// The bounds on `eventtime` that `expr` implies for a row it lets through.
fn time_bounds(expr: &Arc<dyn PhysicalExpr>) -> Constraints {
    let Some(binary) = expr.downcast_ref::<BinaryExpr>() else {
        return Constraints::default();
    };
    let (left, right) = (binary.left(), binary.right());
    match binary.op() {
        Operator::And => intersect(time_bounds(left), time_bounds(right)),
        Operator::Or => union(time_bounds(left), time_bounds(right)),
        op => match (
            is_the_time(left),
            micros(right),
            is_the_time(right),
            micros(left),
        ) {
            (true, Some(value), _, _) => compare(*op, value),
            (_, _, true, Some(value)) => op
                .swap()
                .map_or_else(Constraints::default, |op| compare(op, value)),
            _ => Constraints::default(),
        },
    }
}

/// `eventtime op value`.
fn compare(op: Operator, value: i64) -> Constraints {
    match op {
        Operator::Gt | Operator::GtEq | Operator::Eq => Constraints {
            since: Some(value),
            until: (op == Operator::Eq).then_some(value),
            ..Constraints::default()
        },
        Operator::Lt | Operator::LtEq => Constraints {
            until: Some(value),
            ..Constraints::default()
        },
        _ => Constraints::default(),
    }
}

/// Whether `expr` is the `eventtime` column.
pub(crate) fn is_the_time(expr: &Arc<dyn PhysicalExpr>) -> bool {
    expr.downcast_ref::<Column>()
        .is_some_and(|column| column.name() == TIME_COLUMN)
}

/// A timestamp literal in microseconds.
fn micros(expr: &Arc<dyn PhysicalExpr>) -> Option<i64> {
    match expr.downcast_ref::<Literal>()?.value() {
        ScalarValue::TimestampSecond(Some(v), _) => v.checked_mul(1_000_000),
        ScalarValue::TimestampMillisecond(Some(v), _) => v.checked_mul(1_000),
        ScalarValue::TimestampMicrosecond(Some(v), _) => Some(*v),
        ScalarValue::TimestampNanosecond(Some(v), _) => Some(v.div_euclid(1_000)),
        _ => None,
    }
}

/// Rows meeting both.
fn intersect(a: Constraints, b: Constraints) -> Constraints {
    Constraints {
        since: a.since.max(b.since),
        until: match (a.until, b.until) {
            (Some(x), Some(y)) => Some(x.min(y)),
            (x, y) => x.or(y),
        },
        ..Constraints::default()
    }
}

/// Rows meeting either.
fn union(a: Constraints, b: Constraints) -> Constraints {
    Constraints {
        since: a.since.zip(b.since).map(|(x, y)| x.min(y)),
        until: a.until.zip(b.until).map(|(x, y)| x.max(y)),
        ..Constraints::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::datatypes::{DataType, Field, Schema, TimeUnit};
    use datafusion::physical_expr::expressions::{binary, col, is_null, lit};

    fn schema() -> Schema {
        Schema::new(vec![
            Field::new(
                "eventtime",
                DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
                true,
            ),
            Field::new("eventname", DataType::Utf8, true),
        ])
    }

    fn at(micros: i64) -> Arc<dyn PhysicalExpr> {
        lit(ScalarValue::TimestampMicrosecond(
            Some(micros),
            Some("UTC".into()),
        ))
    }

    fn bounds(expr: Arc<dyn PhysicalExpr>) -> (Option<i64>, Option<i64>) {
        let c = time_bounds(&expr);
        (c.since, c.until)
    }

    #[test]
    fn comparisons_with_the_time_bound_it() {
        let s = schema();
        let time = || col("eventtime", &s).unwrap();
        let op = |l, o, r| binary(l, o, r, &s).unwrap();
        assert_eq!(bounds(op(time(), Operator::Gt, at(5))), (Some(5), None));
        assert_eq!(bounds(op(at(5), Operator::Gt, time())), (None, Some(5)));
        assert_eq!(bounds(op(time(), Operator::LtEq, at(9))), (None, Some(9)));
        let both = op(
            op(time(), Operator::Gt, at(5)),
            Operator::And,
            op(time(), Operator::Lt, at(9)),
        );
        assert_eq!(bounds(both), (Some(5), Some(9)));
        let either = op(
            op(time(), Operator::Gt, at(5)),
            Operator::Or,
            op(time(), Operator::Gt, at(7)),
        );
        assert_eq!(bounds(either), (Some(5), None));
    }

    #[test]
    fn what_admits_other_rows_bounds_nothing() {
        let s = schema();
        let time = || col("eventtime", &s).unwrap();
        let op = |l, o, r| binary(l, o, r, &s).unwrap();
        // NULL times, another column, or one side unbounded.
        let nulls = op(
            is_null(time()).unwrap(),
            Operator::Or,
            op(time(), Operator::Gt, at(5)),
        );
        assert_eq!(bounds(nulls), (None, None));
        let other = op(col("eventname", &s).unwrap(), Operator::Eq, lit("x"));
        assert_eq!(bounds(other), (None, None));
        let half = op(op(time(), Operator::Gt, at(5)), Operator::Or, lit(true));
        assert_eq!(bounds(half), (None, None));
    }
}
