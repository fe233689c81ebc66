//! SQL as Athena and CloudTrail Lake users write it: dotted paths into the nested
//! CloudTrail objects resolve to the flattened columns, or to JSON extraction when no
//! such column exists.

use std::collections::HashSet;
use std::sync::{Arc, RwLock};

use datafusion::arrow::array::{Array, ArrayRef, StringArray, StringBuilder};
use datafusion::arrow::datatypes::{DataType, Field};
use datafusion::common::DFSchema;
use datafusion::common::{Column, Result, ScalarValue, TableReference, exec_err};
use datafusion::logical_expr::planner::{ExprPlanner, PlannerResult, RawFieldAccessExpr};
use datafusion::logical_expr::{
    ColumnarValue, Expr, ExprSchemable, GetFieldAccess, ScalarFunctionArgs, ScalarUDF,
    ScalarUDFImpl, Signature, Volatility,
};
use datafusion::sql::parser::Statement as DFStatement;
use datafusion::sql::sqlparser::ast::{self, visit_expressions_mut};
use serde_json::Value;
use std::ops::ControlFlow;

/// The JSON text columns a dotted path may start from.
const NESTED_COLUMNS: &[&str] = &[
    "useridentity",
    "requestparameters",
    "responseelements",
    "additionaleventdata",
    "serviceeventdetails",
    "tlsdetails",
    "addendum",
    "edgedevicedetails",
    "insightdetails",
    "eventcontext",
    "unmapped",
];

/// Plans `userIdentity.sessionContext.sessionIssuer.arn` as the column
/// `useridentity_sessioncontext_sessionissuer_arn`, and a path with no flattened column
/// (`requestParameters.x` that no sampled file had) as `json_path(requestparameters, 'x')`.
#[derive(Debug)]
pub struct DottedPathPlanner {
    /// Every flattened column name of the registered CloudTrail tables.
    flattened: Arc<RwLock<HashSet<String>>>,
}

impl DottedPathPlanner {
    pub fn new(flattened: Arc<RwLock<HashSet<String>>>) -> Self {
        Self { flattened }
    }
}

impl ExprPlanner for DottedPathPlanner {
    fn plan_compound_identifier(
        &self,
        field: &Field,
        qualifier: Option<&TableReference>,
        nested_names: &[String],
    ) -> Result<PlannerResult<Vec<Expr>>> {
        let base = field.name().to_ascii_lowercase();
        if !NESTED_COLUMNS.contains(&base.as_str()) || field.data_type() != &DataType::Utf8 {
            return Ok(PlannerResult::Original(vec![]));
        }
        let column = Column::new(qualifier.cloned(), field.name());
        Ok(PlannerResult::Planned(self.path(column, nested_names)))
    }

    /// `requestParameters['bucketName']` (a key of a JSON text column, as Trino writes a
    /// map's) is planned as `requestParameters.bucketName` is; so is a key of a
    /// flattened column or of a path already planned (`['a']['b']`). Struct columns
    /// (`resources[1]['arn']`) are left to DataFusion.
    fn plan_field_access(
        &self,
        raw: RawFieldAccessExpr,
        schema: &DFSchema,
    ) -> Result<PlannerResult<RawFieldAccessExpr>> {
        let GetFieldAccess::NamedStructField {
            name: ScalarValue::Utf8(Some(key)),
        } = &raw.field_access
        else {
            return Ok(PlannerResult::Original(raw));
        };
        let key = key.clone();
        match &raw.expr {
            Expr::Column(column)
                if holds_json_text(&column.name)
                    && raw.expr.get_type(schema)? == DataType::Utf8 =>
            {
                Ok(PlannerResult::Planned(self.path(column.clone(), &[key])))
            }
            Expr::Alias(alias) => match alias.expr.as_ref() {
                Expr::ScalarFunction(call) if call.name() == JSON_PATH => {
                    let mut args = call.args.clone();
                    args.push(Expr::Literal(ScalarValue::Utf8(Some(key.clone())), None));
                    let flat = format!("{}_{}", alias.name, key.to_ascii_lowercase());
                    Ok(PlannerResult::Planned(
                        json_path_udf().call(args).alias(flat),
                    ))
                }
                _ => Ok(PlannerResult::Original(raw)),
            },
            _ => Ok(PlannerResult::Original(raw)),
        }
    }
}

impl DottedPathPlanner {
    /// The keys `names` below the JSON text `column`: the flattened column where there
    /// is one, else their extraction from the JSON.
    fn path(&self, column: Column, names: &[String]) -> Expr {
        let mut flat = column.name.to_ascii_lowercase();
        for name in names {
            flat.push('_');
            flat.push_str(&name.to_ascii_lowercase());
        }
        let known = self
            .flattened
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .contains(&flat);
        if known {
            return Expr::Column(Column::new(column.relation, flat));
        }
        let mut args = vec![Expr::Column(column)];
        args.extend(
            names
                .iter()
                .map(|n| Expr::Literal(ScalarValue::Utf8(Some(n.clone())), None)),
        );
        json_path_udf().call(args).alias(flat)
    }
}

/// Whether a column holds JSON text keys may be looked up in: a nested object's column,
/// or one flattened out of it (a scalar one has no keys, and gives NULL).
fn holds_json_text(column: &str) -> bool {
    let column = column.to_ascii_lowercase();
    NESTED_COLUMNS.iter().any(|nested| {
        column
            .strip_prefix(nested)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with('_'))
    })
}

/// Lower-cases quoted identifiers that name a `cloudtrail` column in another letter case,
/// so `"eventName"` (as Athena and CloudTrail Lake queries often quote it) finds
/// `eventname`. Quoted names that match no column keep their case.
pub fn normalize_quoted_columns(statement: &mut DFStatement, columns: &HashSet<String>) {
    match statement {
        DFStatement::Statement(inner) => normalize_in(inner, columns),
        DFStatement::Explain(explain) => normalize_quoted_columns(&mut explain.statement, columns),
        _ => {}
    }
}

fn normalize_in(statement: &mut ast::Statement, columns: &HashSet<String>) {
    let fix = |ident: &mut ast::Ident| {
        if ident.quote_style.is_some() {
            let lower = ident.value.to_ascii_lowercase();
            if lower != ident.value && columns.contains(&lower) {
                ident.value = lower;
            }
        }
    };
    let _ = visit_expressions_mut(statement, |expr| {
        match expr {
            ast::Expr::Identifier(ident) => fix(ident),
            ast::Expr::CompoundIdentifier(parts) => parts.iter_mut().for_each(fix),
            _ => {}
        }
        ControlFlow::<()>::Continue(())
    });
}

/// Rewrites what Trino writes and DataFusion's parser or planner does not take:
/// - a field named after a subscript or a call (`resources[1].arn`,
///   `element_at(resources, 1).arn`) as the key `resources[1]['arn']`, lower-cased
///   unless quoted, as the nested columns' field names are;
/// - `if(condition, a[, b])` as `CASE WHEN condition THEN a [ELSE b] END`, which, like
///   Trino's `if`, evaluates only the branch taken.
pub fn rewrite_trino_expressions(statement: &mut DFStatement) {
    match statement {
        DFStatement::Statement(inner) => {
            let _ = visit_expressions_mut(inner.as_mut(), |expr| {
                name_fields_after_subscripts(expr);
                if let Some(case) = if_as_case(expr) {
                    *expr = case;
                }
                ControlFlow::<()>::Continue(())
            });
        }
        DFStatement::Explain(explain) => rewrite_trino_expressions(&mut explain.statement),
        _ => {}
    }
}

fn name_fields_after_subscripts(expr: &mut ast::Expr) {
    let ast::Expr::CompoundFieldAccess { root, access_chain } = expr else {
        return;
    };
    // Dots straight after a name are the name's own (`t.resources`); after anything
    // else (a subscript, a call) they name fields.
    let named_root = matches!(
        root.as_ref(),
        ast::Expr::Identifier(_) | ast::Expr::CompoundIdentifier(_)
    );
    let first_field = match named_root {
        true => access_chain
            .iter()
            .position(|access| matches!(access, ast::AccessExpr::Subscript(_)))
            .unwrap_or(usize::MAX),
        false => 0,
    };
    for access in access_chain.iter_mut().skip(first_field) {
        if let ast::AccessExpr::Dot(ast::Expr::Identifier(ident)) = access {
            let name = match ident.quote_style {
                Some(_) => ident.value.clone(),
                None => ident.value.to_ascii_lowercase(),
            };
            *access = ast::AccessExpr::Subscript(ast::Subscript::Index {
                index: ast::Expr::Value(ast::Value::SingleQuotedString(name).with_empty_span()),
            });
        }
    }
}

/// `if(condition, a[, b])` as a `CASE`; `None` for anything else (a call named `if`
/// with other arguments is left for the planner to refuse).
fn if_as_case(expr: &ast::Expr) -> Option<ast::Expr> {
    let ast::Expr::Function(function) = expr else {
        return None;
    };
    let [ast::ObjectNamePart::Identifier(name)] = &function.name.0[..] else {
        return None;
    };
    if !name.value.eq_ignore_ascii_case("if")
        || function.filter.is_some()
        || function.over.is_some()
        || function.null_treatment.is_some()
        || !matches!(function.parameters, ast::FunctionArguments::None)
    {
        return None;
    }
    let ast::FunctionArguments::List(list) = &function.args else {
        return None;
    };
    if list.duplicate_treatment.is_some() || !list.clauses.is_empty() {
        return None;
    }
    let args: Vec<&ast::Expr> = list
        .args
        .iter()
        .map(|arg| match arg {
            ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(expr)) => Some(expr),
            _ => None,
        })
        .collect::<Option<_>>()?;
    let (condition, then, otherwise) = match args[..] {
        [condition, then] => (condition, then, None),
        [condition, then, otherwise] => (condition, then, Some(otherwise)),
        _ => return None,
    };
    Some(ast::Expr::Case {
        case_token: ast::helpers::attached_token::AttachedToken::empty(),
        end_token: ast::helpers::attached_token::AttachedToken::empty(),
        operand: None,
        conditions: vec![ast::CaseWhen {
            condition: condition.clone(),
            result: then.clone(),
        }],
        else_result: otherwise.map(|e| Box::new(e.clone())),
    })
}

const JSON_PATH: &str = "json_path";

pub fn json_path_udf() -> ScalarUDF {
    ScalarUDF::new_from_impl(JsonPath::new())
}

/// `json_path(json_text, key, ...)`: the value at the path, keys matched
/// case-insensitively as the flattened columns are; strings unquoted, other values as
/// JSON text, NULL when absent.
#[derive(Debug, PartialEq, Eq, Hash)]
struct JsonPath {
    signature: Signature,
}

impl JsonPath {
    fn new() -> Self {
        Self {
            signature: Signature::variadic(vec![DataType::Utf8], Volatility::Immutable),
        }
    }
}

impl ScalarUDFImpl for JsonPath {
    fn name(&self) -> &str {
        JSON_PATH
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(DataType::Utf8)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let rows = args.number_rows;
        let mut keys = Vec::new();
        for arg in &args.args[1..] {
            match arg {
                ColumnarValue::Scalar(ScalarValue::Utf8(Some(key))) => keys.push(key.clone()),
                _ => return exec_err!("json_path keys must be string literals"),
            }
        }
        let input = args.args[0].clone().into_array(rows)?;
        let input = input
            .as_any()
            .downcast_ref::<StringArray>()
            .ok_or_else(|| {
                datafusion::error::DataFusionError::Execution("json_path expects text".into())
            })?;
        let mut out = StringBuilder::new();
        for i in 0..input.len() {
            if input.is_null(i) {
                out.append_null();
                continue;
            }
            out.append_option(extract(input.value(i), &keys));
        }
        Ok(ColumnarValue::Array(Arc::new(out.finish()) as ArrayRef))
    }
}

fn extract(text: &str, keys: &[String]) -> Option<String> {
    let mut value: Value = serde_json::from_str(text).ok()?;
    for key in keys {
        let Value::Object(map) = value else {
            return None;
        };
        value = match map.iter().find(|(k, _)| k == &key) {
            Some((_, v)) => v.clone(),
            None => map
                .into_iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(key))
                .map(|(_, v)| v)?,
        };
    }
    match value {
        Value::Null => None,
        Value::String(s) => Some(s),
        other => Some(other.to_string()),
    }
}

/// Rewrites Trino's lateral `FROM t CROSS JOIN UNNEST(t.resources) AS u (r)`, which
/// DataFusion cannot plan (the unnest refers to the outer row), into
/// `FROM (SELECT t.*, unnest(t.resources) AS r FROM t) AS t`, and every `u.r...` into
/// `t.r...`, so Athena's documented `resources` queries run unchanged.
pub fn rewrite_cross_join_unnest(statement: &mut DFStatement) {
    match statement {
        DFStatement::Statement(inner) => {
            let _ = ast::visit_statements_mut(inner.as_mut(), |s| {
                if let ast::Statement::Query(query) = s {
                    rewrite_query(query);
                }
                ControlFlow::<()>::Continue(())
            });
        }
        DFStatement::Explain(explain) => rewrite_cross_join_unnest(&mut explain.statement),
        _ => {}
    }
}

fn rewrite_query(query: &mut ast::Query) {
    let ast::SetExpr::Select(select) = query.body.as_mut() else {
        return;
    };
    let mut renames: Vec<(String, ast::Ident)> = Vec::new();
    for from in &mut select.from {
        let ast::TableFactor::Table { name, alias, .. } = &from.relation else {
            continue;
        };
        let base_alias = alias.as_ref().map(|a| a.name.clone()).unwrap_or_else(|| {
            name.0
                .last()
                .and_then(|p| p.as_ident())
                .cloned()
                .unwrap_or_else(|| ast::Ident::new("t"))
        });
        let Some(position) = from.joins.iter().position(|join| {
            matches!(join.join_operator, ast::JoinOperator::CrossJoin(_))
                && matches!(&join.relation, ast::TableFactor::UNNEST { alias: Some(a), array_exprs, with_offset: false, with_ordinality: false, .. }
                    if a.columns.len() == 1 && array_exprs.len() == 1)
        }) else {
            continue;
        };
        let join = from.joins.remove(position);
        let ast::TableFactor::UNNEST {
            alias: Some(unnest_alias),
            array_exprs,
            ..
        } = join.relation
        else {
            unreachable!("matched above");
        };
        let column = unnest_alias.columns[0].name.clone();
        let sql = format!(
            "SELECT {base}.*, unnest({array}) AS {column} FROM {name} AS {base}",
            base = base_alias,
            array = array_exprs[0],
        );
        let dialect = datafusion::sql::sqlparser::dialect::GenericDialect {};
        let Ok(mut parsed) = datafusion::sql::sqlparser::parser::Parser::parse_sql(&dialect, &sql)
        else {
            from.joins.insert(
                position,
                ast::Join {
                    relation: ast::TableFactor::UNNEST {
                        alias: Some(unnest_alias),
                        array_exprs,
                        with_offset: false,
                        with_offset_alias: None,
                        with_ordinality: false,
                    },
                    global: join.global,
                    join_operator: join.join_operator,
                },
            );
            continue;
        };
        let Some(ast::Statement::Query(subquery)) = parsed.pop() else {
            continue;
        };
        from.relation = ast::TableFactor::Derived {
            lateral: false,
            subquery,
            alias: Some(ast::TableAlias {
                explicit: true,
                name: base_alias.clone(),
                columns: vec![],
                at: None,
            }),
            sample: None,
        };
        renames.push((unnest_alias.name.value.to_ascii_lowercase(), base_alias));
    }
    if renames.is_empty() {
        return;
    }
    let _ = visit_expressions_mut(query, |expr| {
        if let ast::Expr::CompoundIdentifier(parts) = expr
            && let Some((_, base)) = renames.iter().find(|(alias, _)| {
                parts
                    .first()
                    .is_some_and(|p| p.value.eq_ignore_ascii_case(alias))
            })
        {
            parts[0] = base.clone();
        }
        ControlFlow::<()>::Continue(())
    });
}

#[cfg(test)]
mod tests {
    use super::extract;

    #[test]
    fn extract_follows_paths_case_insensitively() {
        let doc = r#"{"streamName":"orders","mode":{"StreamMode":"ON_DEMAND"},"n":2,"tags":[1]}"#;
        let path = |p: &[&str]| p.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            extract(doc, &path(&["streamname"])).as_deref(),
            Some("orders")
        );
        assert_eq!(
            extract(doc, &path(&["mode", "streammode"])).as_deref(),
            Some("ON_DEMAND")
        );
        assert_eq!(extract(doc, &path(&["n"])).as_deref(), Some("2"));
        assert_eq!(extract(doc, &path(&["tags"])).as_deref(), Some("[1]"));
        assert_eq!(extract(doc, &path(&["missing"])), None);
        assert_eq!(extract("null", &path(&["x"])), None);
    }
}
