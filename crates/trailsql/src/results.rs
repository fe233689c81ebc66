//! Query results as text: CSV (the format fixture expectations are written in, and a
//! spreadsheet-safe variant for people) and the JSON-text form of nested columns that
//! CSV, SARIF and JUnit need.

use std::sync::Arc;

use datafusion::arrow::array::{ArrayRef, RecordBatchOptions, StringArray};
use datafusion::arrow::csv::WriterBuilder;
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::arrow::error::ArrowError;
use datafusion::arrow::json::WriterBuilder as JsonWriterBuilder;
use datafusion::arrow::json::writer::LineDelimited;
use datafusion::arrow::record_batch::RecordBatch;

/// Writes batches as CSV with a header line; an empty result is the header alone.
pub fn write_csv(
    out: &mut dyn std::io::Write,
    schema: &SchemaRef,
    batches: &[RecordBatch],
) -> Result<(), ArrowError> {
    write_csv_with(out, schema, batches, Ok)
}

/// Writes batches as CSV for people and their spreadsheets: as [`write_csv`], but a
/// text cell that a spreadsheet would run as a formula (one starting with `=`, `+`, `-`,
/// `@`, a tab or a carriage return) gets a leading `'`, as OWASP advises. Log fields such
/// as `userAgent` are chosen by whoever made the request, so opening an export must not
/// run their formula.
pub fn write_spreadsheet_csv(
    out: &mut dyn std::io::Write,
    schema: &SchemaRef,
    batches: &[RecordBatch],
) -> Result<(), ArrowError> {
    write_csv_with(out, schema, batches, |batch| defuse_formulas(&batch))
}

fn write_csv_with(
    out: &mut dyn std::io::Write,
    schema: &SchemaRef,
    batches: &[RecordBatch],
    cells: impl Fn(RecordBatch) -> Result<RecordBatch, ArrowError>,
) -> Result<(), ArrowError> {
    let mut writer = WriterBuilder::new().with_header(true).build(&mut *out);
    if batches.iter().all(|b| b.num_rows() == 0) {
        writer.write(&flatten_nested(&RecordBatch::new_empty(schema.clone()))?)?;
    }
    for batch in batches.iter().filter(|b| b.num_rows() > 0) {
        writer.write(&cells(flatten_nested(batch)?)?)?;
    }
    Ok(())
}

/// The CSV text of a result, as [`write_spreadsheet_csv`] writes it.
pub fn spreadsheet_csv_string(
    schema: &SchemaRef,
    batches: &[RecordBatch],
) -> Result<String, ArrowError> {
    let mut out = Vec::new();
    write_spreadsheet_csv(&mut out, schema, batches)?;
    String::from_utf8(out).map_err(|e| ArrowError::CsvError(e.to_string()))
}

fn starts_a_formula(text: &str) -> bool {
    matches!(
        text.as_bytes().first(),
        Some(b'=' | b'+' | b'-' | b'@' | b'\t' | b'\r')
    )
}

/// Text columns with a formula-like cell, each such cell prefixed with `'`.
fn defuse_formulas(batch: &RecordBatch) -> Result<RecordBatch, ArrowError> {
    use datafusion::arrow::array::{Array, AsArray};
    let mut fields = Vec::with_capacity(batch.num_columns());
    let mut columns = Vec::with_capacity(batch.num_columns());
    let mut changed = false;
    for (field, column) in batch.schema().fields().iter().zip(batch.columns()) {
        let texts: Option<Vec<Option<&str>>> = match column.data_type() {
            DataType::Utf8 => Some(column.as_string::<i32>().iter().collect()),
            DataType::LargeUtf8 => Some(column.as_string::<i64>().iter().collect()),
            DataType::Utf8View => Some(column.as_string_view().iter().collect()),
            _ => None,
        };
        match texts {
            Some(texts) if texts.iter().flatten().any(|t| starts_a_formula(t)) => {
                let defused: StringArray = texts
                    .iter()
                    .map(|t| {
                        t.map(|t| {
                            if starts_a_formula(t) {
                                format!("'{t}")
                            } else {
                                t.to_string()
                            }
                        })
                    })
                    .collect();
                fields.push(Field::new(field.name(), DataType::Utf8, true));
                columns.push(Arc::new(defused) as ArrayRef);
                changed = true;
            }
            _ => {
                fields.push(field.as_ref().clone());
                columns.push(Arc::clone(column));
            }
        }
        debug_assert_eq!(columns.last().map(|c| c.len()), Some(batch.num_rows()));
    }
    if !changed {
        return Ok(batch.clone());
    }
    let options = RecordBatchOptions::new().with_row_count(Some(batch.num_rows()));
    RecordBatch::try_new_with_options(Arc::new(Schema::new(fields)), columns, &options)
}

/// The CSV text of a result.
pub fn csv_string(schema: &SchemaRef, batches: &[RecordBatch]) -> Result<String, ArrowError> {
    let mut out = Vec::new();
    write_csv(&mut out, schema, batches)?;
    String::from_utf8(out).map_err(|e| ArrowError::CsvError(e.to_string()))
}

/// Rows as JSON objects (explicit nulls), one `serde_json::Value` per row.
pub fn json_rows(batches: &[RecordBatch]) -> Result<Vec<serde_json::Value>, ArrowError> {
    let mut out = Vec::new();
    {
        let mut writer = JsonWriterBuilder::new()
            .with_explicit_nulls(true)
            .build::<_, LineDelimited>(&mut out);
        for batch in batches {
            writer.write(batch)?;
        }
        writer.finish()?;
    }
    let text = String::from_utf8(out).map_err(|e| ArrowError::JsonError(e.to_string()))?;
    text.lines()
        .map(|line| serde_json::from_str(line).map_err(|e| ArrowError::JsonError(e.to_string())))
        .collect()
}

/// CSV has no lists or structs: nested columns (such as `resources`) become JSON text.
pub fn flatten_nested(batch: &RecordBatch) -> Result<RecordBatch, ArrowError> {
    if !batch
        .schema()
        .fields()
        .iter()
        .any(|f| f.data_type().is_nested())
    {
        return Ok(batch.clone());
    }
    let mut fields = Vec::with_capacity(batch.num_columns());
    let mut columns = Vec::with_capacity(batch.num_columns());
    for (field, column) in batch.schema().fields().iter().zip(batch.columns()) {
        if field.data_type().is_nested() {
            fields.push(Field::new(field.name(), DataType::Utf8, true));
            columns.push(Arc::new(nested_as_json(field, column)?) as ArrayRef);
        } else {
            fields.push(field.as_ref().clone());
            columns.push(Arc::clone(column));
        }
    }
    let options = RecordBatchOptions::new().with_row_count(Some(batch.num_rows()));
    RecordBatch::try_new_with_options(Arc::new(Schema::new(fields)), columns, &options)
}

/// Encodes each value of a nested column as JSON with arrow's own JSON writer.
fn nested_as_json(field: &Field, column: &ArrayRef) -> Result<StringArray, ArrowError> {
    let schema = Arc::new(Schema::new(vec![Field::new(
        "v",
        field.data_type().clone(),
        true,
    )]));
    let single = RecordBatch::try_new(schema, vec![Arc::clone(column)])?;
    let mut encoded = Vec::new();
    let mut writer = JsonWriterBuilder::new()
        .with_explicit_nulls(true)
        .build::<_, LineDelimited>(&mut encoded);
    writer.write(&single)?;
    writer.finish()?;
    let text = String::from_utf8(encoded).map_err(|e| ArrowError::JsonError(e.to_string()))?;
    Ok(text
        .lines()
        .map(|line| {
            let value = line
                .strip_prefix("{\"v\":")
                .and_then(|l| l.strip_suffix('}'));
            value.filter(|v| *v != "null")
        })
        .collect())
}
