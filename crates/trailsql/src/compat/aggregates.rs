//! Trino's aggregates that detections written for Athena use: `count_if(condition)`,
//! and `max_by(x, y)` / `min_by(x, y)` (the `x` of the row with the largest or
//! smallest `y`, as in "the latest event of each user").

use std::cmp::Ordering;
use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, AsArray};
use datafusion::arrow::compute::{SortOptions, sort_to_indices};
use datafusion::arrow::datatypes::{DataType, Field, FieldRef};
use datafusion::common::{Result, ScalarValue, exec_err};
use datafusion::logical_expr::function::{AccumulatorArgs, StateFieldsArgs};
use datafusion::logical_expr::utils::format_state_name;
use datafusion::logical_expr::{
    Accumulator, AggregateUDF, AggregateUDFImpl, Signature, TypeSignature, Volatility,
};

/// Every aggregate here.
pub fn aggregates() -> Vec<AggregateUDF> {
    vec![
        AggregateUDF::new_from_impl(CountIf::new()),
        AggregateUDF::new_from_impl(ExtremeBy::new(Extreme::Max)),
        AggregateUDF::new_from_impl(ExtremeBy::new(Extreme::Min)),
    ]
}

/// `count_if(condition)`: how many rows the condition is true for (0, never NULL).
#[derive(Debug, PartialEq, Eq, Hash)]
struct CountIf {
    signature: Signature,
}

impl CountIf {
    fn new() -> Self {
        Self {
            signature: Signature::exact(vec![DataType::Boolean], Volatility::Immutable),
        }
    }
}

impl AggregateUDFImpl for CountIf {
    fn name(&self) -> &str {
        "count_if"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _: &[DataType]) -> Result<DataType> {
        Ok(DataType::Int64)
    }

    fn is_nullable(&self) -> bool {
        false
    }

    fn accumulator(&self, _: AccumulatorArgs) -> Result<Box<dyn Accumulator>> {
        Ok(Box::new(TrueCount(0)))
    }

    fn default_value(&self, _: &DataType) -> Result<ScalarValue> {
        Ok(ScalarValue::Int64(Some(0)))
    }
}

#[derive(Debug)]
struct TrueCount(i64);

impl Accumulator for TrueCount {
    fn update_batch(&mut self, values: &[ArrayRef]) -> Result<()> {
        // `true_count` counts only valid trues: a NULL condition is not true.
        self.0 += values[0].as_boolean().true_count() as i64;
        Ok(())
    }

    fn merge_batch(&mut self, states: &[ArrayRef]) -> Result<()> {
        let counts = states[0].as_primitive::<datafusion::arrow::datatypes::Int64Type>();
        self.0 += counts.iter().flatten().sum::<i64>();
        Ok(())
    }

    fn state(&mut self) -> Result<Vec<ScalarValue>> {
        Ok(vec![ScalarValue::Int64(Some(self.0))])
    }

    fn evaluate(&mut self) -> Result<ScalarValue> {
        Ok(ScalarValue::Int64(Some(self.0)))
    }

    fn size(&self) -> usize {
        size_of_val(self)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Extreme {
    Max,
    Min,
}

/// `max_by(x, y)` / `min_by(x, y)`: `x` of the row whose `y` is the largest (smallest);
/// rows whose `y` is NULL are passed over, and of rows with equal `y` one is taken.
#[derive(Debug, PartialEq, Eq, Hash)]
struct ExtremeBy {
    extreme: Extreme,
    signature: Signature,
}

impl ExtremeBy {
    fn new(extreme: Extreme) -> Self {
        Self {
            extreme,
            signature: Signature::new(TypeSignature::Any(2), Volatility::Immutable),
        }
    }
}

impl AggregateUDFImpl for ExtremeBy {
    fn name(&self) -> &str {
        match self.extreme {
            Extreme::Max => "max_by",
            Extreme::Min => "min_by",
        }
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, arg_types: &[DataType]) -> Result<DataType> {
        Ok(arg_types[0].clone())
    }

    fn accumulator(&self, args: AccumulatorArgs) -> Result<Box<dyn Accumulator>> {
        let [value, key] = args.expr_fields else {
            return exec_err!("{} takes two arguments", self.name());
        };
        Ok(Box::new(ExtremeRow {
            extreme: self.extreme,
            value_type: value.data_type().clone(),
            key_type: key.data_type().clone(),
            best: None,
        }))
    }

    fn state_fields(&self, args: StateFieldsArgs) -> Result<Vec<FieldRef>> {
        let [value, key] = args.input_fields else {
            return exec_err!("{} takes two arguments", self.name());
        };
        Ok(vec![
            Arc::new(Field::new(
                format_state_name(args.name, "value"),
                value.data_type().clone(),
                true,
            )),
            Arc::new(Field::new(
                format_state_name(args.name, "key"),
                key.data_type().clone(),
                true,
            )),
        ])
    }
}

#[derive(Debug)]
struct ExtremeRow {
    extreme: Extreme,
    value_type: DataType,
    key_type: DataType,
    /// The value and key of the best row so far.
    best: Option<(ScalarValue, ScalarValue)>,
}

impl ExtremeRow {
    /// Takes the best row of `values` and `keys` if it beats the one held.
    fn consider(&mut self, values: &ArrayRef, keys: &ArrayRef) -> Result<()> {
        let options = SortOptions {
            descending: self.extreme == Extreme::Max,
            nulls_first: false,
        };
        let first = sort_to_indices(keys, Some(options), Some(1))?;
        if first.is_empty() {
            return Ok(());
        }
        let row = first.value(0) as usize;
        if keys.is_null(row) {
            return Ok(());
        }
        let key = ScalarValue::try_from_array(keys, row)?;
        let better = match &self.best {
            None => true,
            Some((_, best)) => match (key.partial_cmp(best), self.extreme) {
                (Some(Ordering::Greater), Extreme::Max) | (Some(Ordering::Less), Extreme::Min) => {
                    true
                }
                (Some(_), _) => false,
                (None, _) => {
                    return exec_err!("max_by/min_by cannot compare {key:?} with {best:?}");
                }
            },
        };
        if better {
            self.best = Some((ScalarValue::try_from_array(values, row)?, key));
        }
        Ok(())
    }
}

impl Accumulator for ExtremeRow {
    fn update_batch(&mut self, values: &[ArrayRef]) -> Result<()> {
        self.consider(&values[0], &values[1])
    }

    fn merge_batch(&mut self, states: &[ArrayRef]) -> Result<()> {
        self.consider(&states[0], &states[1])
    }

    fn state(&mut self) -> Result<Vec<ScalarValue>> {
        Ok(match &self.best {
            Some((value, key)) => vec![value.clone(), key.clone()],
            None => vec![
                ScalarValue::try_from(&self.value_type)?,
                ScalarValue::try_from(&self.key_type)?,
            ],
        })
    }

    fn evaluate(&mut self) -> Result<ScalarValue> {
        match &self.best {
            Some((value, _)) => Ok(value.clone()),
            None => ScalarValue::try_from(&self.value_type),
        }
    }

    fn size(&self) -> usize {
        size_of_val(self)
            + self
                .best
                .as_ref()
                .map_or(0, |(value, key)| value.size() + key.size())
    }
}
