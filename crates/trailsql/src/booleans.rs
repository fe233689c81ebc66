//! `readonly = 'true'`: a boolean column compared with the text `'true'` or `'false'`.
//!
//! AWS's Athena table for CloudTrail declares `readonly` and `mfaauthenticated` as
//! `STRING`, so queries written for Athena compare them with text. Here they are
//! booleans, and DataFusion cannot compare a boolean with text at all, so such a query
//! would fail to plan. Here a text literal spelling `true` or `false` (in any case)
//! compared with a boolean expression (`=`, `<>`: as the SQL is planned, since the plan
//! cannot even be built otherwise) or listed in `IN` against one (before type coercion)
//! is read as the boolean it spells. Any other text is left alone, so
//! `readonly = 'yes'` still fails with DataFusion's own message rather than meaning
//! something a reader would have to guess.

use datafusion::arrow::datatypes::DataType;
use datafusion::common::tree_node::{Transformed, TreeNode};
use datafusion::common::{DFSchema, Result, ScalarValue};
use datafusion::config::ConfigOptions;
use datafusion::logical_expr::expr::InList;
use datafusion::logical_expr::expr_rewriter::NamePreserver;
use datafusion::logical_expr::planner::{ExprPlanner, PlannerResult, RawBinaryExpr};
use datafusion::logical_expr::sqlparser::ast::BinaryOperator;
use datafusion::logical_expr::utils::merge_schema;
use datafusion::logical_expr::{Expr, ExprSchemable, LogicalPlan, Operator, binary_expr};
use datafusion::optimizer::AnalyzerRule;

#[derive(Debug, Default)]
pub struct TextBooleans;

impl AnalyzerRule for TextBooleans {
    fn name(&self) -> &str {
        "trailsql_text_booleans"
    }

    fn analyze(&self, plan: LogicalPlan, _config: &ConfigOptions) -> Result<LogicalPlan> {
        plan.transform_up_with_subqueries(|plan| {
            let mut schema = merge_schema(&plan.inputs());
            if let LogicalPlan::TableScan(scan) = &plan {
                schema.merge(&DFSchema::try_from_qualified_schema(
                    scan.table_name.clone(),
                    &scan.source.schema(),
                )?);
            }
            // A rewritten expression keeps its name, which the plan above may refer to.
            let names = NamePreserver::new(&plan);
            plan.map_expressions(|expr| {
                let name = names.save(&expr);
                expr.transform_up(|expr| rewrite(expr, &schema))
                    .map(|rewritten| rewritten.update_data(|expr| name.restore(expr)))
            })
        })
        .map(|transformed| transformed.data)
    }
}

impl ExprPlanner for TextBooleans {
    fn plan_binary_op(
        &self,
        expr: RawBinaryExpr,
        schema: &DFSchema,
    ) -> Result<PlannerResult<RawBinaryExpr>> {
        let op = match expr.op {
            BinaryOperator::Eq => Operator::Eq,
            BinaryOperator::NotEq => Operator::NotEq,
            _ => return Ok(PlannerResult::Original(expr)),
        };
        Ok(match read_as_booleans(&expr.left, &expr.right, schema) {
            Some((left, right)) => PlannerResult::Planned(binary_expr(left, op, right)),
            None => PlannerResult::Original(expr),
        })
    }
}

fn rewrite(expr: Expr, schema: &DFSchema) -> Result<Transformed<Expr>> {
    Ok(match expr {
        Expr::InList(InList {
            expr,
            list,
            negated,
        }) if is_boolean(&expr, schema) && list.iter().any(|item| spelled(item).is_some()) => {
            let list = list
                .into_iter()
                .map(|item| spelled(&item).unwrap_or(item))
                .collect();
            Transformed::yes(Expr::InList(InList {
                expr,
                list,
                negated,
            }))
        }
        expr => Transformed::no(expr),
    })
}

/// The two sides of a comparison with a text literal read as the boolean it spells, when
/// the other side is boolean; `None` when neither is.
fn read_as_booleans(left: &Expr, right: &Expr, schema: &DFSchema) -> Option<(Expr, Expr)> {
    match (spelled(left), spelled(right)) {
        (None, Some(value)) if is_boolean(left, schema) => Some((left.clone(), value)),
        (Some(value), None) if is_boolean(right, schema) => Some((value, right.clone())),
        _ => None,
    }
}

fn is_boolean(expr: &Expr, schema: &DFSchema) -> bool {
    matches!(expr.get_type(schema), Ok(DataType::Boolean))
}

/// The boolean literal a text literal spells, if it spells one.
fn spelled(expr: &Expr) -> Option<Expr> {
    let Expr::Literal(
        ScalarValue::Utf8(Some(text))
        | ScalarValue::Utf8View(Some(text))
        | ScalarValue::LargeUtf8(Some(text)),
        _,
    ) = expr
    else {
        return None;
    };
    let value = if text.eq_ignore_ascii_case("true") {
        true
    } else if text.eq_ignore_ascii_case("false") {
        false
    } else {
        return None;
    };
    Some(Expr::Literal(ScalarValue::Boolean(Some(value)), None))
}
