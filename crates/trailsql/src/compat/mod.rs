//! Functions of Athena (Trino) and CloudTrail Lake that queries written for them use,
//! so those queries run unchanged: `json_extract_scalar`, `json_extract`,
//! `json_array_contains`, `json_size`, `json_array_length`, `element_at` over JSON text
//! and arrays, `contains` over arrays, `split`, `from_iso8601_timestamp`, `date_add` and
//! `date_diff` in Trino's argument order, two-argument `replace`; `to_iso8601`,
//! `date_parse` and `date_format` ([`time_text`]); a time's fields (`hour`,
//! `day_of_week`, ...) and `date` ([`date_parts`]); the aggregates `count_if`, `max_by`
//! and `min_by` ([`aggregates`]); and Trino's names for DataFusion's own functions.

mod aggregates;
mod date_parts;
mod time_text;

use std::sync::Arc;

use chrono::{DateTime, Datelike, Months, Timelike, Utc};
use datafusion::arrow::array::{
    Array, ArrayRef, AsArray, BooleanBuilder, Int64Builder, ListBuilder, StringBuilder,
    TimestampMicrosecondBuilder,
};
use datafusion::arrow::datatypes::{DataType, Field, FieldRef, TimeUnit};
use datafusion::common::{Result, ScalarValue, exec_err, plan_err};
use datafusion::logical_expr::{
    ColumnarValue, ReturnFieldArgs, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature,
    TypeSignature, Volatility,
};
use datafusion::prelude::SessionContext;
use serde_json::Value;

/// Registers every compatibility function in `ctx`, after DataFusion's own: some wrap
/// them (`element_at` for maps and arrays, `contains` for text and arrays), and some of
/// them take Trino's names too.
pub fn register(ctx: &SessionContext) -> Result<()> {
    let registry = ctx as &dyn datafusion::execution::FunctionRegistry;
    let functions = functions(|name| registry.udf(name).ok());
    let any_value = registry.udaf("any_value")?.as_ref().clone();
    let percentile = registry.udaf("approx_percentile_cont")?.as_ref().clone();
    let type_of = registry.udf("arrow_typeof")?.as_ref().clone();
    for function in functions {
        ctx.register_udf(function);
    }
    for function in aggregates::aggregates() {
        ctx.register_udaf(function);
    }
    ctx.register_udaf(any_value.with_aliases(["arbitrary"]));
    ctx.register_udaf(percentile.with_aliases(["approx_percentile"]));
    ctx.register_udf(type_of.with_aliases(["typeof"]));
    Ok(())
}

/// The scalar functions; `own` gives DataFusion's function of a name, to wrap.
fn functions(own: impl Fn(&str) -> Option<Arc<ScalarUDF>>) -> Vec<ScalarUDF> {
    let (map_element_at, array_element) = (own("element_at"), own("array_element"));
    let mut functions = vec![
        ScalarUDF::new_from_impl(JsonExtract::scalar()),
        ScalarUDF::new_from_impl(JsonExtract::json()),
        ScalarUDF::new_from_impl(JsonArrayContains::new()),
        ScalarUDF::new_from_impl(JsonSize::at_path()),
        ScalarUDF::new_from_impl(JsonSize::array_length()),
        ScalarUDF::new_from_impl(FromIso8601::new()),
        ScalarUDF::new_from_impl(DateAdd::new()),
        ScalarUDF::new_from_impl(DateDiff::new()),
        ScalarUDF::new_from_impl(Replace::new()),
        ScalarUDF::new_from_impl(ElementAt::new(map_element_at, array_element)),
        ScalarUDF::new_from_impl(RegexpExtract::new()),
        ScalarUDF::new_from_impl(time_text::ToIso8601::new()),
        ScalarUDF::new_from_impl(time_text::DateParse::new()),
        ScalarUDF::new_from_impl(time_text::DateFormat::new()),
        ScalarUDF::new_from_impl(Split::new()),
    ];
    functions.extend(date_parts::functions());
    if let (Some(text), Some(arrays)) = (own("contains"), own("array_has")) {
        functions.push(ScalarUDF::new_from_impl(Contains {
            signature: Signature::user_defined(Volatility::Immutable),
            text,
            arrays,
        }));
    }
    functions
}

fn utc_micros() -> DataType {
    DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()))
}

/// Whether a value of this type is a time (a timestamp or a date), or NULL.
fn is_time(t: &DataType) -> bool {
    matches!(
        t,
        DataType::Timestamp(_, _) | DataType::Date32 | DataType::Date64 | DataType::Null
    )
}

fn is_text(t: &DataType) -> bool {
    matches!(
        t,
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View | DataType::Null
    )
}

/// `(text, text[, integer])`, as `split` and `regexp_extract` take.
fn two_texts_and_a_count() -> Signature {
    Signature::one_of(
        vec![
            TypeSignature::Exact(vec![DataType::Utf8, DataType::Utf8]),
            TypeSignature::Exact(vec![DataType::Utf8, DataType::Utf8, DataType::Int64]),
        ],
        Volatility::Immutable,
    )
}

/// The arguments as arrays of `number_rows` rows.
fn arrays(args: &ScalarFunctionArgs) -> Result<Vec<ArrayRef>> {
    args.args
        .iter()
        .map(|a| a.clone().into_array(args.number_rows))
        .collect()
}

/// A result that is a scalar when every argument was.
fn finish(args: &ScalarFunctionArgs, array: ArrayRef) -> Result<ColumnarValue> {
    if args
        .args
        .iter()
        .all(|a| matches!(a, ColumnarValue::Scalar(_)))
    {
        Ok(ColumnarValue::Scalar(ScalarValue::try_from_array(
            &array, 0,
        )?))
    } else {
        Ok(ColumnarValue::Array(array))
    }
}

// ---------------------------------------------------------------- JSON paths

#[derive(Debug, Clone, PartialEq, Eq)]
enum Step {
    Key(String),
    Index(usize),
}

/// Parses the JSONPath subset Trino accepts: `$`, `.key`, `["key"]`, `['key']`, `[0]`.
fn parse_json_path(path: &str) -> Result<Vec<Step>, String> {
    let bad = |why: &str| format!("invalid JSON path `{path}`: {why}");
    let rest = path.trim();
    let mut rest = rest
        .strip_prefix('$')
        .ok_or_else(|| bad("it must start with `$`"))?;
    let mut steps = Vec::new();
    while !rest.is_empty() {
        if let Some(after) = rest.strip_prefix('.') {
            let end = after.find(['.', '[']).unwrap_or(after.len());
            let key = &after[..end];
            if key.is_empty() || key == "*" {
                return Err(bad("expected a key after `.`"));
            }
            steps.push(Step::Key(key.to_string()));
            rest = &after[end..];
        } else if let Some(after) = rest.strip_prefix('[') {
            let end = after.find(']').ok_or_else(|| bad("unclosed `[`"))?;
            let inside = after[..end].trim();
            let quoted = inside
                .strip_prefix('"')
                .and_then(|s| s.strip_suffix('"'))
                .or_else(|| inside.strip_prefix('\'').and_then(|s| s.strip_suffix('\'')));
            match quoted {
                Some(key) => steps.push(Step::Key(key.to_string())),
                None => steps.push(Step::Index(
                    inside
                        .parse()
                        .map_err(|_| bad("expected an index or a quoted key in `[]`"))?,
                )),
            }
            rest = &after[end + 1..];
        } else {
            return Err(bad("expected `.` or `[`"));
        }
    }
    Ok(steps)
}

/// Follows the path; keys match exactly, or else case-insensitively (the flattened
/// columns are case-insensitive too).
fn follow<'a>(mut value: &'a Value, steps: &[Step]) -> Option<&'a Value> {
    for step in steps {
        value = match (step, value) {
            (Step::Key(key), Value::Object(map)) => map.get(key).or_else(|| {
                map.iter()
                    .find(|(k, _)| k.eq_ignore_ascii_case(key))
                    .map(|(_, v)| v)
            })?,
            (Step::Index(i), Value::Array(items)) => items.get(*i)?,
            _ => return None,
        };
    }
    Some(value)
}

/// `json_extract_scalar(json, path)` (text of a scalar, NULL for objects and arrays) and
/// `json_extract(json, path)` (the value as JSON text).
#[derive(Debug, PartialEq, Eq, Hash)]
struct JsonExtract {
    name: &'static str,
    scalar_only: bool,
    signature: Signature,
}

impl JsonExtract {
    fn scalar() -> Self {
        Self::with("json_extract_scalar", true)
    }

    fn json() -> Self {
        Self::with("json_extract", false)
    }

    fn with(name: &'static str, scalar_only: bool) -> Self {
        Self {
            name,
            scalar_only,
            signature: Signature::exact(
                vec![DataType::Utf8, DataType::Utf8],
                Volatility::Immutable,
            ),
        }
    }
}

impl ScalarUDFImpl for JsonExtract {
    fn name(&self) -> &str {
        self.name
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _: &[DataType]) -> Result<DataType> {
        Ok(DataType::Utf8)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let mut out = StringBuilder::new();
        values_at_paths(self.name, &args, |found| {
            out.append_option(match found {
                None | Some(Value::Null) => None,
                Some(Value::String(s)) if self.scalar_only => Some(s.clone()),
                Some(Value::Object(_) | Value::Array(_)) if self.scalar_only => None,
                Some(other) if self.scalar_only => Some(other.to_string()),
                Some(other) => Some(other.to_string()),
            })
        })?;
        finish(&args, Arc::new(out.finish()))
    }
}

/// Calls `row` with each row's value at its JSON path (the second argument, when there
/// is one) in its JSON text (the first): `None` for a NULL argument, text that is not
/// JSON, or nothing at the path. A path that is not JSONPath is an error.
fn values_at_paths(
    name: &str,
    args: &ScalarFunctionArgs,
    mut row: impl FnMut(Option<&Value>),
) -> Result<()> {
    let arrays = arrays(args)?;
    let docs = arrays[0].as_string::<i32>();
    let paths = arrays.get(1).map(|a| a.as_string::<i32>());
    // Paths are almost always one literal: parsed once.
    let mut parsed: Option<(String, Vec<Step>)> = None;
    for i in 0..args.number_rows {
        if docs.is_null(i) || paths.is_some_and(|p| p.is_null(i)) {
            row(None);
            continue;
        }
        if let Some(paths) = paths {
            let path = paths.value(i);
            if parsed.as_ref().is_none_or(|(p, _)| p != path) {
                let steps = parse_json_path(path).map_err(|m| {
                    datafusion::error::DataFusionError::Execution(format!("{name}: {m}"))
                })?;
                parsed = Some((path.to_string(), steps));
            }
        }
        let steps = parsed.as_ref().map_or(&[][..], |(_, steps)| &steps[..]);
        let doc: Option<Value> = serde_json::from_str(docs.value(i)).ok();
        row(doc.as_ref().and_then(|d| follow(d, steps)));
    }
    Ok(())
}

/// `json_size(json, path)`: the members of the object or array at the path (a scalar
/// has 0), and `json_array_length(json)`: the length of an array (NULL for anything
/// else).
#[derive(Debug, PartialEq, Eq, Hash)]
struct JsonSize {
    name: &'static str,
    arrays_only: bool,
    signature: Signature,
}

impl JsonSize {
    fn at_path() -> Self {
        Self {
            name: "json_size",
            arrays_only: false,
            signature: Signature::exact(
                vec![DataType::Utf8, DataType::Utf8],
                Volatility::Immutable,
            ),
        }
    }

    fn array_length() -> Self {
        Self {
            name: "json_array_length",
            arrays_only: true,
            signature: Signature::exact(vec![DataType::Utf8], Volatility::Immutable),
        }
    }
}

impl ScalarUDFImpl for JsonSize {
    fn name(&self) -> &str {
        self.name
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _: &[DataType]) -> Result<DataType> {
        Ok(DataType::Int64)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let arrays_only = self.arrays_only;
        let mut out = Int64Builder::new();
        values_at_paths(self.name, &args, |found| {
            out.append_option(match found {
                Some(Value::Array(items)) => Some(items.len() as i64),
                Some(Value::Object(members)) if !arrays_only => Some(members.len() as i64),
                Some(_) if !arrays_only => Some(0),
                _ => None,
            })
        })?;
        finish(&args, Arc::new(out.finish()))
    }
}

/// `json_array_contains(json, value)`: whether the JSON array holds the value.
#[derive(Debug, PartialEq, Eq, Hash)]
struct JsonArrayContains {
    signature: Signature,
}

impl JsonArrayContains {
    fn new() -> Self {
        Self {
            signature: Signature::any(2, Volatility::Immutable),
        }
    }
}

impl ScalarUDFImpl for JsonArrayContains {
    fn name(&self) -> &str {
        "json_array_contains"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, arg_types: &[DataType]) -> Result<DataType> {
        if !is_text(&arg_types[0]) {
            return plan_err!(
                "json_array_contains expects JSON text, got {}",
                arg_types[0]
            );
        }
        Ok(DataType::Boolean)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let arrays = arrays(&args)?;
        let docs = datafusion::arrow::compute::cast(&arrays[0], &DataType::Utf8)?;
        let docs = docs.as_string::<i32>();
        let needles = &arrays[1];
        let mut out = BooleanBuilder::new();
        for i in 0..args.number_rows {
            if docs.is_null(i) || needles.is_null(i) {
                out.append_null();
                continue;
            }
            let needle = json_of_scalar(&ScalarValue::try_from_array(needles, i)?);
            match serde_json::from_str::<Value>(docs.value(i)) {
                Ok(Value::Array(items)) => {
                    out.append_value(items.iter().any(|v| json_equal(v, &needle)))
                }
                _ => out.append_null(),
            }
        }
        finish(&args, Arc::new(out.finish()))
    }
}

fn json_of_scalar(value: &ScalarValue) -> Value {
    match value {
        ScalarValue::Boolean(Some(b)) => Value::Bool(*b),
        ScalarValue::Utf8(Some(s))
        | ScalarValue::LargeUtf8(Some(s))
        | ScalarValue::Utf8View(Some(s)) => Value::String(s.clone()),
        other => match other.to_string().parse::<f64>() {
            Ok(n) => serde_json::Number::from_f64(n)
                .map(Value::Number)
                .unwrap_or(Value::Null),
            Err(_) => Value::String(other.to_string()),
        },
    }
}

fn json_equal(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        _ => a == b,
    }
}

// ---------------------------------------------------------------- time

/// `from_iso8601_timestamp(text)`: an ISO-8601 time as a UTC timestamp. A timestamp
/// argument (our `eventtime` is one; Athena's is text) passes through.
#[derive(Debug, PartialEq, Eq, Hash)]
struct FromIso8601 {
    signature: Signature,
}

impl FromIso8601 {
    fn new() -> Self {
        Self {
            signature: Signature::any(1, Volatility::Immutable),
        }
    }
}

impl ScalarUDFImpl for FromIso8601 {
    fn name(&self) -> &str {
        "from_iso8601_timestamp"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, arg_types: &[DataType]) -> Result<DataType> {
        match &arg_types[0] {
            t if is_text(t) || matches!(t, DataType::Timestamp(_, _) | DataType::Date32) => {
                Ok(utc_micros())
            }
            other => plan_err!("from_iso8601_timestamp expects text, got {other}"),
        }
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let input = arrays(&args)?.remove(0);
        let array: ArrayRef = if is_text(input.data_type()) {
            let text = datafusion::arrow::compute::cast(&input, &DataType::Utf8)?;
            let text = text.as_string::<i32>();
            let mut out = TimestampMicrosecondBuilder::new().with_timezone("UTC");
            for i in 0..text.len() {
                if text.is_null(i) {
                    out.append_null();
                    continue;
                }
                match trailsql_decode::parse_date_or_timestamp_micros(text.value(i)) {
                    Some(micros) => out.append_value(micros),
                    None => {
                        return exec_err!(
                            "from_iso8601_timestamp: `{}` is not an ISO-8601 time",
                            text.value(i)
                        );
                    }
                }
            }
            Arc::new(out.finish())
        } else {
            datafusion::arrow::compute::cast(&input, &utc_micros())?
        };
        finish(&args, array)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Unit {
    Fixed(i64),
    Months(i64),
}

fn unit(name: &str) -> Result<Unit> {
    Ok(
        match name.trim().to_ascii_lowercase().trim_end_matches('s') {
            "millisecond" => Unit::Fixed(1_000),
            "second" => Unit::Fixed(1_000_000),
            "minute" => Unit::Fixed(60_000_000),
            "hour" => Unit::Fixed(3_600_000_000),
            "day" => Unit::Fixed(86_400_000_000),
            "week" => Unit::Fixed(7 * 86_400_000_000),
            "month" => Unit::Months(1),
            "quarter" => Unit::Months(3),
            "year" => Unit::Months(12),
            other => return exec_err!("unknown time unit `{other}`"),
        },
    )
}

/// Coerces the time argument to UTC microseconds: text is cast as DataFusion casts it.
fn time_arg(array: &ArrayRef) -> Result<ArrayRef> {
    Ok(datafusion::arrow::compute::cast(array, &utc_micros())?)
}

fn text_arg(array: &ArrayRef) -> Result<ArrayRef> {
    Ok(datafusion::arrow::compute::cast(array, &DataType::Utf8)?)
}

fn add(micros: i64, unit: Unit, count: i64) -> Option<i64> {
    match unit {
        Unit::Fixed(size) => micros.checked_add(size.checked_mul(count)?),
        Unit::Months(size) => {
            let time = DateTime::<Utc>::from_timestamp_micros(micros)?;
            let months = size.checked_mul(count)?;
            let moved = if months >= 0 {
                time.checked_add_months(Months::new(u32::try_from(months).ok()?))?
            } else {
                time.checked_sub_months(Months::new(u32::try_from(-months).ok()?))?
            };
            Some(moved.timestamp_micros())
        }
    }
}

/// Whole units from `a` to `b`, truncated toward zero, as Trino counts them.
fn diff(a: i64, b: i64, unit: Unit) -> Option<i64> {
    match unit {
        Unit::Fixed(size) => Some((b - a) / size),
        Unit::Months(size) => {
            let (x, y) = (
                DateTime::<Utc>::from_timestamp_micros(a)?,
                DateTime::<Utc>::from_timestamp_micros(b)?,
            );
            let index = |t: &DateTime<Utc>| i64::from(t.year()) * 12 + i64::from(t.month0());
            let within = |t: &DateTime<Utc>| {
                (
                    t.day(),
                    t.num_seconds_from_midnight(),
                    t.timestamp_subsec_micros(),
                )
            };
            let mut months = index(&y) - index(&x);
            if months > 0 && within(&y) < within(&x) {
                months -= 1;
            } else if months < 0 && within(&y) > within(&x) {
                months += 1;
            }
            Some(months / size)
        }
    }
}

/// `date_add(unit, value, timestamp)`, Trino's argument order.
#[derive(Debug, PartialEq, Eq, Hash)]
struct DateAdd {
    signature: Signature,
}

impl DateAdd {
    fn new() -> Self {
        Self {
            signature: Signature::any(3, Volatility::Immutable),
        }
    }
}

impl ScalarUDFImpl for DateAdd {
    fn name(&self) -> &str {
        "date_add"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, arg_types: &[DataType]) -> Result<DataType> {
        if !is_text(&arg_types[0]) || !arg_types[1].is_integer() && !arg_types[1].is_null() {
            return plan_err!("date_add(unit, value, timestamp): as Trino orders the arguments");
        }
        Ok(utc_micros())
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let arrays = arrays(&args)?;
        let units = text_arg(&arrays[0])?;
        let units = units.as_string::<i32>();
        let counts = datafusion::arrow::compute::cast(&arrays[1], &DataType::Int64)?;
        let counts = counts.as_primitive::<datafusion::arrow::datatypes::Int64Type>();
        let times = time_arg(&arrays[2])?;
        let times = times.as_primitive::<datafusion::arrow::datatypes::TimestampMicrosecondType>();
        let mut out = TimestampMicrosecondBuilder::new().with_timezone("UTC");
        for i in 0..args.number_rows {
            if units.is_null(i) || counts.is_null(i) || times.is_null(i) {
                out.append_null();
                continue;
            }
            let unit = unit(units.value(i))?;
            match add(times.value(i), unit, counts.value(i)) {
                Some(v) => out.append_value(v),
                None => return exec_err!("date_add: the result is out of range"),
            }
        }
        finish(&args, Arc::new(out.finish()))
    }
}

/// `date_diff(unit, from, to)`: whole units between two times, Trino's argument order.
#[derive(Debug, PartialEq, Eq, Hash)]
struct DateDiff {
    signature: Signature,
}

impl DateDiff {
    fn new() -> Self {
        Self {
            signature: Signature::any(3, Volatility::Immutable),
        }
    }
}

impl ScalarUDFImpl for DateDiff {
    fn name(&self) -> &str {
        "date_diff"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, arg_types: &[DataType]) -> Result<DataType> {
        if !is_text(&arg_types[0]) {
            return plan_err!("date_diff(unit, from, to): as Trino orders the arguments");
        }
        Ok(DataType::Int64)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let arrays = arrays(&args)?;
        let units = text_arg(&arrays[0])?;
        let units = units.as_string::<i32>();
        let from = time_arg(&arrays[1])?;
        let from = from.as_primitive::<datafusion::arrow::datatypes::TimestampMicrosecondType>();
        let to = time_arg(&arrays[2])?;
        let to = to.as_primitive::<datafusion::arrow::datatypes::TimestampMicrosecondType>();
        let mut out = Int64Builder::new();
        for i in 0..args.number_rows {
            if units.is_null(i) || from.is_null(i) || to.is_null(i) {
                out.append_null();
                continue;
            }
            out.append_option(diff(from.value(i), to.value(i), unit(units.value(i))?));
        }
        finish(&args, Arc::new(out.finish()))
    }
}

// ---------------------------------------------------------------- strings and maps

/// `replace(text, search)` removes `search` (Trino); `replace(text, search, with)` as usual.
#[derive(Debug, PartialEq, Eq, Hash)]
struct Replace {
    signature: Signature,
}

impl Replace {
    fn new() -> Self {
        let text = DataType::Utf8;
        Self {
            signature: Signature::one_of(
                vec![
                    TypeSignature::Exact(vec![text.clone(), text.clone()]),
                    TypeSignature::Exact(vec![text.clone(), text.clone(), text]),
                ],
                Volatility::Immutable,
            ),
        }
    }
}

impl ScalarUDFImpl for Replace {
    fn name(&self) -> &str {
        "replace"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _: &[DataType]) -> Result<DataType> {
        Ok(DataType::Utf8)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let arrays = arrays(&args)?;
        let text = arrays[0].as_string::<i32>();
        let search = arrays[1].as_string::<i32>();
        let with = arrays.get(2).map(|a| a.as_string::<i32>());
        let mut out = StringBuilder::new();
        for i in 0..args.number_rows {
            let replacement = match with {
                Some(w) if w.is_null(i) => None,
                Some(w) => Some(w.value(i)),
                None => Some(""),
            };
            match (text.is_null(i) || search.is_null(i), replacement) {
                (false, Some(replacement)) => {
                    let search = search.value(i);
                    if search.is_empty() {
                        out.append_value(text.value(i));
                    } else {
                        out.append_value(text.value(i).replace(search, replacement));
                    }
                }
                _ => out.append_null(),
            }
        }
        finish(&args, Arc::new(out.finish()))
    }
}

/// `split(text, delimiter[, limit])`: the pieces of `text` between the delimiters, as
/// an array (at most `limit` pieces, the last holding the rest).
#[derive(Debug, PartialEq, Eq, Hash)]
struct Split {
    signature: Signature,
}

impl Split {
    fn new() -> Self {
        Self {
            signature: two_texts_and_a_count(),
        }
    }
}

impl ScalarUDFImpl for Split {
    fn name(&self) -> &str {
        "split"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _: &[DataType]) -> Result<DataType> {
        Ok(DataType::new_list(DataType::Utf8, true))
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let arrays = arrays(&args)?;
        let text = arrays[0].as_string::<i32>();
        let delimiters = arrays[1].as_string::<i32>();
        let limits = arrays
            .get(2)
            .map(|a| a.as_primitive::<datafusion::arrow::datatypes::Int64Type>());
        let mut out = ListBuilder::new(StringBuilder::new());
        for i in 0..args.number_rows {
            let limit = match limits {
                Some(l) if l.is_null(i) => None,
                Some(l) => match usize::try_from(l.value(i)) {
                    Ok(limit) if limit > 0 => Some(limit),
                    _ => return exec_err!("split: the limit must be positive, got {}", l.value(i)),
                },
                None => Some(usize::MAX),
            };
            let (Some(limit), false) = (limit, text.is_null(i) || delimiters.is_null(i)) else {
                out.append_null();
                continue;
            };
            let delimiter = delimiters.value(i);
            if delimiter.is_empty() {
                return exec_err!("split: the delimiter is empty");
            }
            for piece in text.value(i).splitn(limit, delimiter) {
                out.values().append_value(piece);
            }
            out.append(true);
        }
        finish(&args, Arc::new(out.finish()))
    }
}

/// `regexp_extract(text, pattern[, group])`: the first match (or its group), Trino's way.
#[derive(Debug, PartialEq, Eq, Hash)]
struct RegexpExtract {
    signature: Signature,
}

impl RegexpExtract {
    fn new() -> Self {
        Self {
            signature: two_texts_and_a_count(),
        }
    }
}

impl ScalarUDFImpl for RegexpExtract {
    fn name(&self) -> &str {
        "regexp_extract"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _: &[DataType]) -> Result<DataType> {
        Ok(DataType::Utf8)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let arrays = arrays(&args)?;
        let text = arrays[0].as_string::<i32>();
        let patterns = arrays[1].as_string::<i32>();
        let groups = arrays
            .get(2)
            .map(|a| a.as_primitive::<datafusion::arrow::datatypes::Int64Type>());
        let mut compiled: Option<(String, regex::Regex)> = None;
        let mut out = StringBuilder::new();
        for i in 0..args.number_rows {
            let group = match groups {
                Some(g) if g.is_null(i) => None,
                Some(g) => usize::try_from(g.value(i)).ok(),
                None => Some(0),
            };
            let (Some(group), false) = (group, text.is_null(i) || patterns.is_null(i)) else {
                out.append_null();
                continue;
            };
            let pattern = patterns.value(i);
            if compiled.as_ref().is_none_or(|(p, _)| p != pattern) {
                let regex = regex::Regex::new(pattern).map_err(|e| {
                    datafusion::error::DataFusionError::Execution(format!("regexp_extract: {e}"))
                })?;
                compiled = Some((pattern.to_string(), regex));
            }
            let regex = &compiled.as_ref().expect("compiled above").1;
            if group >= regex.captures_len() {
                return exec_err!("regexp_extract: the pattern has no group {group}");
            }
            out.append_option(
                regex
                    .captures(text.value(i))
                    .and_then(|c| c.get(group))
                    .map(|m| m.as_str()),
            );
        }
        finish(&args, Arc::new(out.finish()))
    }
}

/// `contains(x, y)`: Trino's `contains(array, element)` (DataFusion's `array_has`) when
/// `x` is an array, else DataFusion's own `contains(text, search)`.
#[derive(Debug, PartialEq, Eq, Hash)]
struct Contains {
    signature: Signature,
    text: Arc<ScalarUDF>,
    arrays: Arc<ScalarUDF>,
}

/// An array type's element type.
fn element_type(t: &DataType) -> Option<&DataType> {
    match t {
        DataType::List(item) | DataType::LargeList(item) | DataType::FixedSizeList(item, _) => {
            Some(item.data_type())
        }
        _ => None,
    }
}

impl Contains {
    fn own(&self, first: &DataType) -> &ScalarUDF {
        match element_type(first) {
            Some(_) => &self.arrays,
            None => &self.text,
        }
    }
}

impl ScalarUDFImpl for Contains {
    fn name(&self) -> &str {
        "contains"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    // The functions behind this one do not coerce through `coerce_types`: it is done here.
    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        if let [array, _] = arg_types
            && let Some(element) = element_type(array)
        {
            return Ok(vec![array.clone(), element.clone()]);
        }
        match arg_types {
            [text, search] if is_text(text) && is_text(search) => {
                Ok(vec![DataType::Utf8, DataType::Utf8])
            }
            _ => plan_err!(
                "contains expects an array and an element, or text and text, got {arg_types:?}"
            ),
        }
    }

    fn return_type(&self, _: &[DataType]) -> Result<DataType> {
        Ok(DataType::Boolean)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let own = self.own(args.arg_fields[0].data_type());
        own.invoke_with_args(args)
    }
}

/// `element_at(json_text, key)` reads a key of a JSON object held as text (CloudTrail
/// Lake's `element_at(requestParameters, 'bucketName')`); an array's element and a map's
/// value are DataFusion's own `array_element` and `element_at`.
#[derive(Debug, PartialEq, Eq, Hash)]
struct ElementAt {
    signature: Signature,
    maps: Option<Arc<ScalarUDF>>,
    lists: Option<Arc<ScalarUDF>>,
}

impl ElementAt {
    fn new(maps: Option<Arc<ScalarUDF>>, lists: Option<Arc<ScalarUDF>>) -> Self {
        Self {
            signature: Signature::user_defined(Volatility::Immutable),
            maps,
            lists,
        }
    }

    /// DataFusion's own function for a first argument that is not JSON text: an array's
    /// element (1-based, negative from the end, as Trino counts), or a map's value.
    fn own(&self, first: &DataType) -> Result<&ScalarUDF> {
        let own = match element_type(first) {
            Some(_) => &self.lists,
            None => &self.maps,
        };
        match own {
            Some(own) => Ok(own),
            None => plan_err!("element_at expects JSON text and a key"),
        }
    }
}

impl ScalarUDFImpl for ElementAt {
    fn name(&self) -> &str {
        "element_at"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        if arg_types.len() == 2 && is_text(&arg_types[0]) {
            return Ok(vec![DataType::Utf8, DataType::Utf8]);
        }
        match arg_types {
            // `array_element`'s signature is not user-defined: its coercion is done here.
            [list, index] if element_type(list).is_some() => {
                if !index.is_integer() && index != &DataType::Null {
                    return plan_err!(
                        "element_at of an array expects an integer position, got {index}"
                    );
                }
                Ok(vec![list.clone(), DataType::Int64])
            }
            [first, ..] => self.own(first)?.coerce_types(arg_types),
            [] => plan_err!("element_at expects two arguments"),
        }
    }

    fn return_type(&self, _: &[DataType]) -> Result<DataType> {
        plan_err!("element_at: return_field_from_args is used")
    }

    fn return_field_from_args(&self, args: ReturnFieldArgs) -> Result<FieldRef> {
        if is_text(args.arg_fields[0].data_type()) {
            return Ok(Arc::new(Field::new(self.name(), DataType::Utf8, true)));
        }
        self.own(args.arg_fields[0].data_type())?
            .return_field_from_args(args)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        if !is_text(args.arg_fields[0].data_type()) {
            let own = self.own(args.arg_fields[0].data_type())?;
            return own.invoke_with_args(args);
        }
        let arrays = arrays(&args)?;
        let (docs, keys) = (arrays[0].as_string::<i32>(), arrays[1].as_string::<i32>());
        let mut out = StringBuilder::new();
        for i in 0..args.number_rows {
            if docs.is_null(i) || keys.is_null(i) {
                out.append_null();
                continue;
            }
            let doc: Option<Value> = serde_json::from_str(docs.value(i)).ok();
            let step = [Step::Key(keys.value(i).to_string())];
            out.append_option(match doc.as_ref().and_then(|d| follow(d, &step)) {
                None | Some(Value::Null) => None,
                Some(Value::String(s)) => Some(s.clone()),
                Some(other) => Some(other.to_string()),
            });
        }
        finish(&args, Arc::new(out.finish()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_paths() {
        assert_eq!(
            parse_json_path("$.a['b c'][2].d").unwrap(),
            vec![
                Step::Key("a".into()),
                Step::Key("b c".into()),
                Step::Index(2),
                Step::Key("d".into())
            ]
        );
        assert!(parse_json_path("a.b").is_err());
        assert!(parse_json_path("$.a[").is_err());
        let doc: Value = serde_json::from_str(r#"{"a":{"List":[1,{"x":"y"}]}}"#).unwrap();
        let steps = parse_json_path("$.a.list[1].x").unwrap();
        assert_eq!(follow(&doc, &steps), Some(&Value::String("y".into())));
    }

    #[test]
    fn time_units_as_trino_counts_them() {
        let t = |s: &str| trailsql_decode::parse_timestamp_micros(s).unwrap();
        let jan31 = t("2024-01-31T10:00:00Z");
        assert_eq!(
            add(jan31, Unit::Months(1), 1),
            Some(t("2024-02-29T10:00:00Z"))
        );
        assert_eq!(
            add(jan31, unit("day").unwrap(), -31),
            Some(t("2023-12-31T10:00:00Z"))
        );
        assert_eq!(
            diff(jan31, t("2024-03-30T10:00:00Z"), Unit::Months(1)),
            Some(1)
        );
        assert_eq!(
            diff(jan31, t("2024-03-31T10:00:00Z"), Unit::Months(1)),
            Some(2)
        );
        assert_eq!(
            diff(t("2024-03-31T10:00:00Z"), jan31, Unit::Months(1)),
            Some(-2)
        );
        assert_eq!(
            diff(jan31, t("2024-02-01T09:59:59Z"), unit("days").unwrap()),
            Some(0)
        );
        assert_eq!(
            diff(jan31, t("2025-01-31T10:00:00Z"), unit("year").unwrap()),
            Some(1)
        );
        assert!(unit("fortnight").is_err());
    }
}
