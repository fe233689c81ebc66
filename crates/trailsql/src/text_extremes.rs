//! `min` and `max` of text per group, without a hash map per batch.
//!
//! DataFusion 55's accumulator for `min`/`max` over strings builds a hash map the size of
//! each batch and looks every row's group up in it, to copy each group's new extreme once
//! per batch. With the few groups CloudTrail questions group by (regions, services,
//! principals) that lookup costs more than the comparison: in the ten-column benchmark
//! query it was about 3% of all CPU. Here each group's best row in the batch is kept in a
//! plain array indexed by group (reset through the list of groups the batch touched), so a
//! row costs one load and one comparison. Everything but the `Utf8` groups accumulator is
//! DataFusion's own `min`/`max`.

use std::cmp::Ordering;
use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, AsArray, BooleanArray, StringBuilder};
use datafusion::arrow::compute::nullif;
use datafusion::arrow::datatypes::{DataType, FieldRef};
use datafusion::common::{Result, ScalarValue};
use datafusion::functions_aggregate::min_max::{max_udaf, min_udaf};
use datafusion::logical_expr::expr::{
    AggregateFunction, AggregateFunctionParams, WindowFunctionParams,
};
use datafusion::logical_expr::function::{
    AccumulatorArgs, AggregateFunctionSimplification, StateFieldsArgs,
};
use datafusion::logical_expr::utils::AggregateOrderSensitivity;
use datafusion::logical_expr::{
    Accumulator, AggregateUDF, AggregateUDFImpl, Documentation, EmitTo, Expr, GroupsAccumulator,
    Operator, ReversedUDAF, SetMonotonicity, Signature, StatisticsArgs,
};

/// `min` (or `max`): DataFusion's, with [`TextExtremeGroups`] for `Utf8`.
#[derive(Debug)]
pub(crate) struct TextExtremes {
    is_min: bool,
    /// DataFusion's function of the same name, which does all the rest.
    inner: Arc<AggregateUDF>,
}

impl TextExtremes {
    /// The `min` and `max` to register in place of DataFusion's.
    pub fn functions() -> [AggregateUDF; 2] {
        [true, false].map(|is_min| {
            let inner = if is_min { min_udaf() } else { max_udaf() };
            AggregateUDF::new_from_impl(TextExtremes { is_min, inner })
        })
    }

    fn inner(&self) -> &Arc<dyn AggregateUDFImpl> {
        self.inner.inner()
    }
}

impl PartialEq for TextExtremes {
    fn eq(&self, other: &Self) -> bool {
        self.is_min == other.is_min
    }
}

impl Eq for TextExtremes {}

impl std::hash::Hash for TextExtremes {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.is_min.hash(state);
    }
}

#[warn(clippy::missing_trait_methods)] // Delegates, so it should implement every trait method.
impl AggregateUDFImpl for TextExtremes {
    fn name(&self) -> &str {
        self.inner().name()
    }

    fn signature(&self) -> &Signature {
        self.inner().signature()
    }

    fn return_type(&self, arg_types: &[DataType]) -> Result<DataType> {
        self.inner().return_type(arg_types)
    }

    fn accumulator(&self, acc_args: AccumulatorArgs) -> Result<Box<dyn Accumulator>> {
        self.inner().accumulator(acc_args)
    }

    fn aliases(&self) -> &[String] {
        self.inner().aliases()
    }

    fn schema_name(&self, params: &AggregateFunctionParams) -> Result<String> {
        self.inner().schema_name(params)
    }

    fn human_display(&self, params: &AggregateFunctionParams) -> Result<String> {
        self.inner().human_display(params)
    }

    fn window_function_schema_name(&self, params: &WindowFunctionParams) -> Result<String> {
        self.inner().window_function_schema_name(params)
    }

    fn display_name(&self, params: &AggregateFunctionParams) -> Result<String> {
        self.inner().display_name(params)
    }

    fn window_function_display_name(&self, params: &WindowFunctionParams) -> Result<String> {
        self.inner().window_function_display_name(params)
    }

    fn state_fields(&self, args: StateFieldsArgs) -> Result<Vec<FieldRef>> {
        self.inner().state_fields(args)
    }

    fn groups_accumulator_supported(&self, args: AccumulatorArgs) -> bool {
        self.inner().groups_accumulator_supported(args)
    }

    fn create_groups_accumulator(
        &self,
        args: AccumulatorArgs,
    ) -> Result<Box<dyn GroupsAccumulator>> {
        if args.return_field.data_type() == &DataType::Utf8 {
            return Ok(Box::new(TextExtremeGroups::new(self.is_min)));
        }
        self.inner().create_groups_accumulator(args)
    }

    fn create_sliding_accumulator(&self, args: AccumulatorArgs) -> Result<Box<dyn Accumulator>> {
        self.inner().create_sliding_accumulator(args)
    }

    fn with_beneficial_ordering(
        self: Arc<Self>,
        beneficial_ordering: bool,
    ) -> Result<Option<Arc<dyn AggregateUDFImpl>>> {
        // DataFusion's min and max are the same in any order; any other answer would
        // replace this function with DataFusion's.
        Arc::clone(self.inner()).with_beneficial_ordering(beneficial_ordering)
    }

    fn order_sensitivity(&self) -> AggregateOrderSensitivity {
        self.inner().order_sensitivity()
    }

    fn simplify(&self) -> Option<AggregateFunctionSimplification> {
        self.inner().simplify()
    }

    fn simplify_expr_op_literal(
        &self,
        agg_function: &AggregateFunction,
        arg: &Expr,
        op: Operator,
        lit: &Expr,
        arg_is_left: bool,
    ) -> Result<Option<Expr>> {
        self.inner()
            .simplify_expr_op_literal(agg_function, arg, op, lit, arg_is_left)
    }

    fn reverse_expr(&self) -> ReversedUDAF {
        self.inner().reverse_expr()
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        self.inner().coerce_types(arg_types)
    }

    fn return_field(&self, arg_fields: &[FieldRef]) -> Result<FieldRef> {
        self.inner().return_field(arg_fields)
    }

    fn is_nullable(&self) -> bool {
        self.inner().is_nullable()
    }

    fn is_descending(&self) -> Option<bool> {
        self.inner().is_descending()
    }

    fn value_from_stats(&self, statistics_args: &StatisticsArgs) -> Option<ScalarValue> {
        self.inner().value_from_stats(statistics_args)
    }

    fn default_value(&self, data_type: &DataType) -> Result<ScalarValue> {
        self.inner().default_value(data_type)
    }

    fn supports_null_handling_clause(&self) -> bool {
        self.inner().supports_null_handling_clause()
    }

    fn supports_within_group_clause(&self) -> bool {
        self.inner().supports_within_group_clause()
    }

    fn set_monotonicity(&self, data_type: &DataType) -> SetMonotonicity {
        self.inner().set_monotonicity(data_type)
    }

    fn documentation(&self) -> Option<&Documentation> {
        self.inner().documentation()
    }
}

/// Each group's least (or greatest) text so far.
#[derive(Debug)]
pub(crate) struct TextExtremeGroups {
    is_min: bool,
    extremes: Vec<Option<String>>,
    /// The capacity of `extremes`' strings.
    held: usize,
    /// Per group, 1 + the row of the current batch that beats the group's extreme so far,
    /// or 0; all 0 between batches.
    batch_best: Vec<u32>,
    /// The groups whose `batch_best` the current batch set.
    touched: Vec<usize>,
}

impl TextExtremeGroups {
    fn new(is_min: bool) -> Self {
        Self {
            is_min,
            extremes: Vec::new(),
            held: 0,
            batch_best: Vec::new(),
            touched: Vec::new(),
        }
    }

    /// Whether `candidate` replaces `current` (text compares by its UTF-8 bytes, as
    /// DataFusion's `min`/`max` compare it).
    #[inline]
    fn beats(&self, candidate: &str, current: &str) -> bool {
        let wins = if self.is_min {
            Ordering::Less
        } else {
            Ordering::Greater
        };
        compare_bytes(candidate.as_bytes(), current.as_bytes()) == wins
    }
}

/// `a.cmp(b)` eight bytes at a time in registers: most values are a few dozen bytes and
/// differ early, where a call to `memcmp` costs more than the comparison.
#[inline]
fn compare_bytes(a: &[u8], b: &[u8]) -> Ordering {
    let common = a.len().min(b.len());
    let mut at = 0;
    while at + 8 <= common {
        let word =
            |bytes: &[u8]| u64::from_be_bytes(bytes[at..at + 8].try_into().expect("8 bytes"));
        let (x, y) = (word(a), word(b));
        if x != y {
            return x.cmp(&y);
        }
        at += 8;
    }
    for (x, y) in a[at..common].iter().zip(&b[at..common]) {
        if x != y {
            return x.cmp(y);
        }
    }
    a.len().cmp(&b.len())
}

impl GroupsAccumulator for TextExtremeGroups {
    fn update_batch(
        &mut self,
        values: &[ArrayRef],
        group_indices: &[usize],
        opt_filter: Option<&BooleanArray>,
        total_num_groups: usize,
    ) -> Result<()> {
        // DataFusion casts other text types to the function's return type, `Utf8` here.
        let Some(texts) = values[0].as_string_opt::<i32>() else {
            return datafusion::common::internal_err!(
                "min/max of text got {}",
                values[0].data_type()
            );
        };
        assert_eq!(texts.len(), group_indices.len());
        if u32::try_from(texts.len()).is_err() {
            return datafusion::common::internal_err!("a batch of more than 2^32 rows");
        }
        self.extremes.resize(total_num_groups, None);
        self.batch_best.resize(total_num_groups, 0);
        for (row, &group) in group_indices.iter().enumerate() {
            if texts.is_null(row) || opt_filter.is_some_and(|f| !f.is_valid(row) || !f.value(row)) {
                continue;
            }
            let text = texts.value(row);
            let best = self.batch_best[group];
            let wins = match best {
                0 => self.extremes[group]
                    .as_deref()
                    .is_none_or(|current| self.beats(text, current)),
                _ => self.beats(text, texts.value(best as usize - 1)),
            };
            if wins {
                if best == 0 {
                    self.touched.push(group);
                }
                self.batch_best[group] = row as u32 + 1;
            }
        }
        for group in self.touched.drain(..) {
            let best = std::mem::take(&mut self.batch_best[group]) as usize - 1;
            let extreme = self.extremes[group].get_or_insert_default();
            let before = extreme.capacity();
            extreme.clear();
            extreme.push_str(texts.value(best));
            self.held = self.held + extreme.capacity() - before;
        }
        Ok(())
    }

    fn evaluate(&mut self, emit_to: EmitTo) -> Result<ArrayRef> {
        let emitted = emit_to.take_needed(&mut self.extremes);
        self.batch_best.truncate(self.extremes.len());
        let bytes = emitted.iter().flatten().map(String::len).sum();
        self.held -= emitted
            .iter()
            .flatten()
            .map(String::capacity)
            .sum::<usize>();
        let mut texts = StringBuilder::with_capacity(emitted.len(), bytes);
        for extreme in emitted {
            texts.append_option(extreme);
        }
        Ok(Arc::new(texts.finish()))
    }

    fn state(&mut self, emit_to: EmitTo) -> Result<Vec<ArrayRef>> {
        // The extreme is its own state.
        Ok(vec![self.evaluate(emit_to)?])
    }

    fn merge_batch(
        &mut self,
        values: &[ArrayRef],
        group_indices: &[usize],
        total_num_groups: usize,
    ) -> Result<()> {
        self.update_batch(values, group_indices, None, total_num_groups)
    }

    fn convert_to_state(
        &self,
        values: &[ArrayRef],
        opt_filter: Option<&BooleanArray>,
    ) -> Result<Vec<ArrayRef>> {
        let Some(filter) = opt_filter else {
            return Ok(vec![Arc::clone(&values[0])]);
        };
        // Rows the filter drops (false or NULL) become NULL.
        let keep = match filter.nulls() {
            Some(valid) => filter.values() & valid.inner(),
            None => filter.values().clone(),
        };
        Ok(vec![nullif(&values[0], &BooleanArray::new(!&keep, None))?])
    }

    fn size(&self) -> usize {
        self.extremes.capacity() * size_of::<Option<String>>()
            + self.held
            + self.batch_best.capacity() * size_of::<u32>()
            + self.touched.capacity() * size_of::<usize>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::array::StringArray;
    use datafusion::arrow::datatypes::{Field, Schema};
    use datafusion::physical_expr::expressions::col;

    /// DataFusion's own groups accumulator for `min`/`max` of `Utf8`.
    fn datafusion_groups(is_min: bool) -> Box<dyn GroupsAccumulator> {
        let schema = Schema::new(vec![Field::new("t", DataType::Utf8, true)]);
        let exprs = [col("t", &schema).unwrap()];
        let expr_fields = [Arc::clone(&schema.fields()[0])];
        let args = AccumulatorArgs {
            return_field: Arc::new(Field::new("m", DataType::Utf8, true)),
            schema: &schema,
            ignore_nulls: false,
            order_bys: &[],
            is_reversed: false,
            name: "m",
            is_distinct: false,
            exprs: &exprs,
            expr_fields: &expr_fields,
        };
        let inner = if is_min { min_udaf() } else { max_udaf() };
        inner.create_groups_accumulator(args).unwrap()
    }

    /// A small generator, so the test needs no crate and fails the same way every time.
    struct Lcg(u64);

    impl Lcg {
        fn below(&mut self, n: u64) -> u64 {
            self.0 = self
                .0
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (self.0 >> 33) % n
        }
    }

    const WORDS: [&str; 14] = [
        "",
        "a",
        "ab",
        "b",
        "Z",
        "é",
        "z",
        "zz",
        "eu-west-1",
        "192.0.2.4",
        "192.0.2.44",
        "aws-cli/2.15.0 Python/3.11.6",
        "aws-cli/2.13.1 Python/3.11.6",
        "aws-cli/2.15.0 Python/3.11.6 Linux",
    ];

    /// Random texts, with nulls or without, and sometimes a slice of a longer array (its
    /// offsets then start past 0).
    fn texts(random: &mut Lcg, rows: usize, nulls: bool) -> ArrayRef {
        let skipped = if random.below(3) == 0 { 3 } else { 0 };
        let texts: StringArray = (0..rows + skipped)
            .map(|_| match random.below(10) {
                0 if nulls => None,
                _ => Some(WORDS[random.below(WORDS.len() as u64) as usize]),
            })
            .collect();
        Arc::new(texts.slice(skipped, rows))
    }

    fn filter(random: &mut Lcg, rows: usize) -> BooleanArray {
        (0..rows)
            .map(|_| match random.below(4) {
                0 => None,
                1 => Some(false),
                _ => Some(true),
            })
            .collect()
    }

    /// Feeds both accumulators the same batches (growing group counts, some filtered,
    /// some merged as partial states, some without nulls, some sliced, early groups
    /// emitted part-way) and compares every output.
    #[test]
    fn answers_as_datafusions_own_accumulator_does() {
        for is_min in [true, false] {
            let mut random = Lcg(u64::from(is_min) + 7);
            let mut ours: Box<dyn GroupsAccumulator> = Box::new(TextExtremeGroups::new(is_min));
            let mut theirs = datafusion_groups(is_min);
            let mut groups = 1;
            for round in 0..200 {
                groups += random.below(3) as usize;
                let rows = random.below(300) as usize;
                let values = [texts(&mut random, rows, round % 5 < 3)];
                let indices: Vec<usize> = (0..rows)
                    .map(|_| random.below(groups as u64) as usize)
                    .collect();
                match round % 3 {
                    0 => {
                        let filter = filter(&mut random, rows);
                        ours.update_batch(&values, &indices, Some(&filter), groups)
                            .unwrap();
                        theirs
                            .update_batch(&values, &indices, Some(&filter), groups)
                            .unwrap();
                        assert_eq!(
                            ours.convert_to_state(&values, Some(&filter)).unwrap()[0].as_ref(),
                            theirs.convert_to_state(&values, Some(&filter)).unwrap()[0].as_ref()
                        );
                    }
                    1 => {
                        ours.merge_batch(&values, &indices, groups).unwrap();
                        theirs.merge_batch(&values, &indices, groups).unwrap();
                    }
                    _ => {
                        ours.update_batch(&values, &indices, None, groups).unwrap();
                        theirs
                            .update_batch(&values, &indices, None, groups)
                            .unwrap();
                    }
                }
                if round % 50 == 49 {
                    let first = EmitTo::First(groups / 2);
                    assert_eq!(
                        ours.state(first).unwrap()[0].as_ref(),
                        theirs.state(first).unwrap()[0].as_ref(),
                        "round {round}"
                    );
                    groups -= groups / 2;
                }
            }
            let ours = ours.evaluate(EmitTo::All).unwrap();
            assert_eq!(
                ours.as_ref(),
                theirs.evaluate(EmitTo::All).unwrap().as_ref()
            );
            assert!(ours.null_count() < ours.len(), "the test saw values");
        }
    }

    #[test]
    fn bytes_compare_as_slices_do() {
        let texts = [
            "",
            "a",
            "ab",
            "abcdefgh",
            "abcdefghi",
            "abcdefgi",
            "abcdefgh\u{e9}",
            "b",
            "\u{e9}",
        ];
        for a in texts {
            for b in texts {
                assert_eq!(
                    compare_bytes(a.as_bytes(), b.as_bytes()),
                    a.cmp(b),
                    "{a:?} {b:?}"
                );
            }
        }
    }

    #[test]
    fn another_type_is_an_error_not_a_panic() {
        let values: [ArrayRef; 1] = [Arc::new(datafusion::arrow::array::Int64Array::from(vec![
            1,
        ]))];
        let error = TextExtremeGroups::new(true).update_batch(&values, &[0], None, 1);
        assert!(
            error
                .unwrap_err()
                .to_string()
                .contains("min/max of text got Int64")
        );
    }

    #[test]
    fn holds_only_what_is_not_yet_emitted() {
        let mut groups = TextExtremeGroups::new(false);
        let values: [ArrayRef; 1] = [Arc::new(StringArray::from(vec![
            "x".repeat(1000),
            "y".into(),
        ]))];
        groups.update_batch(&values, &[0, 1], None, 2).unwrap();
        assert!(groups.size() >= 1001);
        groups.evaluate(EmitTo::First(1)).unwrap();
        assert!(groups.size() < 1000);
        assert_eq!(
            groups.held,
            groups
                .extremes
                .iter()
                .flatten()
                .map(String::capacity)
                .sum::<usize>()
        );
    }
}

#[cfg(test)]
mod registration_tests {
    use std::any::Any;

    use super::TextExtremes;
    use datafusion::execution::FunctionRegistry;

    use crate::{Engine, EngineOptions};

    /// SQL's `min` and `max` are these, not DataFusion's (whose answers are the same, so
    /// only this shows the registration took).
    #[tokio::test]
    async fn sql_min_and_max_are_these() {
        let engine = Engine::sample(EngineOptions::default()).await.unwrap();
        for name in ["min", "max"] {
            let function = engine.context().udaf(name).unwrap();
            let inner: &dyn Any = function.inner().as_ref();
            assert!(inner.downcast_ref::<TextExtremes>().is_some(), "{name}");
        }
    }
}
