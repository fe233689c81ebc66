//! Arrow values as plain Python objects, for `fetchall()` and iteration, which must work
//! without pyarrow.

use arrow_array::cast::AsArray;
use arrow_array::types::*;
use arrow_array::{Array, RecordBatch};
use arrow_schema::{DataType, TimeUnit};
use chrono::{DateTime, NaiveDate, Utc};
use pyo3::IntoPyObjectExt;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PyTuple};

/// The rows of `batch` as tuples.
pub fn rows<'py>(py: Python<'py>, batch: &RecordBatch) -> PyResult<Vec<Bound<'py, PyTuple>>> {
    let columns = batch.columns();
    let mut rows = Vec::with_capacity(batch.num_rows());
    for row in 0..batch.num_rows() {
        let values = columns
            .iter()
            .map(|column| value(py, column.as_ref(), row))
            .collect::<PyResult<Vec<_>>>()?;
        rows.push(PyTuple::new(py, values)?);
    }
    Ok(rows)
}

/// One value: `None` for null; `int`, `float`, `str`, `bool`, `bytes`; `datetime`
/// (timezone-aware in UTC when the column has a time zone) and `date`; `list` for lists;
/// `dict` for structs and maps. Other types come as their Arrow display text.
pub fn value<'py>(py: Python<'py>, array: &dyn Array, row: usize) -> PyResult<Bound<'py, PyAny>> {
    if array.is_null(row) {
        return Ok(py.None().into_bound(py));
    }
    macro_rules! primitive {
        ($t:ty) => {
            array.as_primitive::<$t>().value(row).into_bound_py_any(py)
        };
    }
    match array.data_type() {
        DataType::Null => Ok(py.None().into_bound(py)),
        DataType::Boolean => array.as_boolean().value(row).into_bound_py_any(py),
        DataType::Int8 => primitive!(Int8Type),
        DataType::Int16 => primitive!(Int16Type),
        DataType::Int32 => primitive!(Int32Type),
        DataType::Int64 => primitive!(Int64Type),
        DataType::UInt8 => primitive!(UInt8Type),
        DataType::UInt16 => primitive!(UInt16Type),
        DataType::UInt32 => primitive!(UInt32Type),
        DataType::UInt64 => primitive!(UInt64Type),
        DataType::Float16 => {
            f32::from(array.as_primitive::<Float16Type>().value(row)).into_bound_py_any(py)
        }
        DataType::Float32 => primitive!(Float32Type),
        DataType::Float64 => primitive!(Float64Type),
        DataType::Utf8 => array.as_string::<i32>().value(row).into_bound_py_any(py),
        DataType::LargeUtf8 => array.as_string::<i64>().value(row).into_bound_py_any(py),
        DataType::Utf8View => array.as_string_view().value(row).into_bound_py_any(py),
        DataType::Binary => array.as_binary::<i32>().value(row).into_bound_py_any(py),
        DataType::LargeBinary => array.as_binary::<i64>().value(row).into_bound_py_any(py),
        DataType::BinaryView => array.as_binary_view().value(row).into_bound_py_any(py),
        DataType::Timestamp(unit, zone) => {
            let raw = match unit {
                TimeUnit::Second => array.as_primitive::<TimestampSecondType>().value(row),
                TimeUnit::Millisecond => {
                    array.as_primitive::<TimestampMillisecondType>().value(row)
                }
                TimeUnit::Microsecond => {
                    array.as_primitive::<TimestampMicrosecondType>().value(row)
                }
                TimeUnit::Nanosecond => array.as_primitive::<TimestampNanosecondType>().value(row),
            };
            let nanos_per_unit: i64 = match unit {
                TimeUnit::Second => 1_000_000_000,
                TimeUnit::Millisecond => 1_000_000,
                TimeUnit::Microsecond => 1_000,
                TimeUnit::Nanosecond => 1,
            };
            let seconds = raw.div_euclid(1_000_000_000 / nanos_per_unit);
            let nanos = (raw.rem_euclid(1_000_000_000 / nanos_per_unit) * nanos_per_unit) as u32;
            let Some(time) = DateTime::<Utc>::from_timestamp(seconds, nanos) else {
                return display(py, array, row);
            };
            if zone.is_some() {
                time.into_bound_py_any(py)
            } else {
                time.naive_utc().into_bound_py_any(py)
            }
        }
        DataType::Date32 => {
            let days = array.as_primitive::<Date32Type>().value(row);
            match NaiveDate::from_num_days_from_ce_opt(days + 719_163) {
                Some(date) => date.into_bound_py_any(py),
                None => display(py, array, row),
            }
        }
        DataType::List(_) => list(py, array.as_list::<i32>().value(row).as_ref()),
        DataType::LargeList(_) => list(py, array.as_list::<i64>().value(row).as_ref()),
        DataType::FixedSizeList(_, _) => list(py, array.as_fixed_size_list().value(row).as_ref()),
        DataType::Struct(fields) => {
            let dict = PyDict::new(py);
            let structs = array.as_struct();
            for (field, column) in fields.iter().zip(structs.columns()) {
                dict.set_item(field.name(), value(py, column.as_ref(), row)?)?;
            }
            Ok(dict.into_any())
        }
        DataType::Map(_, _) => {
            let entries = array.as_map().value(row);
            let dict = PyDict::new(py);
            for i in 0..entries.len() {
                dict.set_item(
                    value(py, entries.column(0).as_ref(), i)?,
                    value(py, entries.column(1).as_ref(), i)?,
                )?;
            }
            Ok(dict.into_any())
        }
        DataType::Dictionary(_, _) => {
            let dictionary = array.as_any_dictionary();
            let key = dictionary.normalized_keys()[row];
            value(py, dictionary.values().as_ref(), key)
        }
        _ => display(py, array, row),
    }
}

fn list<'py>(py: Python<'py>, items: &dyn Array) -> PyResult<Bound<'py, PyAny>> {
    let values = (0..items.len())
        .map(|i| value(py, items, i))
        .collect::<PyResult<Vec<_>>>()?;
    Ok(PyList::new(py, values)?.into_any())
}

fn display<'py>(py: Python<'py>, array: &dyn Array, row: usize) -> PyResult<Bound<'py, PyAny>> {
    let text = arrow_cell(array, row);
    text.into_bound_py_any(py)
}

/// A cell as Arrow displays it (the CLI's table format).
pub fn arrow_cell(array: &dyn Array, row: usize) -> String {
    use trailsql::datafusion::arrow::util::display::{ArrayFormatter, FormatOptions};
    let options = FormatOptions::default().with_null("NULL");
    match ArrayFormatter::try_new(array, &options) {
        Ok(formatter) => formatter.value(row).to_string(),
        Err(error) => format!("<{error}>"),
    }
}
