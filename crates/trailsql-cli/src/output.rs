//! Writing results as a table (fitted to a width), CSV, JSON, NDJSON, Markdown or one
//! `column = value` line per field.

use std::io::Write;

use clap::ValueEnum;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::arrow::error::ArrowError;
use datafusion::arrow::json::WriterBuilder as JsonWriterBuilder;
use datafusion::arrow::json::writer::{JsonArray, LineDelimited};
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::arrow::util::display::{ArrayFormatter, FormatOptions};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Table,
    Csv,
    Json,
    Ndjson,
    Markdown,
    Line,
}

impl Format {
    pub fn name(self) -> &'static str {
        match self {
            Format::Table => "table",
            Format::Csv => "csv",
            Format::Json => "json",
            Format::Ndjson => "ndjson",
            Format::Markdown => "markdown",
            Format::Line => "line",
        }
    }

    pub fn parse(name: &str) -> Option<Self> {
        <Format as ValueEnum>::from_str(name, true).ok()
    }
}

/// How a table is laid out: the widest it may be (cells are cut to fit, marked `…`).
#[derive(Debug, Clone, Copy, Default)]
pub struct Layout {
    pub max_width: Option<usize>,
}

pub fn write(
    out: &mut dyn Write,
    format: Format,
    schema: &SchemaRef,
    batches: &[RecordBatch],
) -> Result<(), ArrowError> {
    write_with(out, format, schema, batches, Layout::default())
}

pub fn write_with(
    out: &mut dyn Write,
    format: Format,
    schema: &SchemaRef,
    batches: &[RecordBatch],
    layout: Layout,
) -> Result<(), ArrowError> {
    match format {
        Format::Table => {
            let (header, rows) = cells(schema, batches)?;
            write_table(out, &header, &rows, layout.max_width)?;
        }
        Format::Markdown => {
            let (header, rows) = cells(schema, batches)?;
            write_markdown(out, &header, &rows)?;
        }
        Format::Line => {
            let (header, rows) = cells(schema, batches)?;
            let width = header.iter().map(|h| h.chars().count()).max().unwrap_or(0);
            for (i, row) in rows.iter().enumerate() {
                if i > 0 {
                    writeln!(out)?;
                }
                for (name, value) in header.iter().zip(row) {
                    writeln!(out, "{name:>width$} = {value}")?;
                }
            }
        }
        Format::Csv => trailsql::results::write_spreadsheet_csv(out, schema, batches)?,
        Format::Json => {
            // Explicit nulls: every row names every column, as a reader of JSON expects.
            let mut writer = JsonWriterBuilder::new()
                .with_explicit_nulls(true)
                .build::<_, JsonArray>(&mut *out);
            for batch in batches {
                writer.write(batch)?;
            }
            writer.finish()?;
            writeln!(out)?;
        }
        Format::Ndjson => {
            let mut writer = JsonWriterBuilder::new()
                .with_explicit_nulls(true)
                .build::<_, LineDelimited>(&mut *out);
            for batch in batches {
                writer.write(batch)?;
            }
            writer.finish()?;
        }
    }
    out.flush()?;
    Ok(())
}

/// Column names and every value as display text (NULL as empty, nested values as JSON).
fn cells(
    schema: &SchemaRef,
    batches: &[RecordBatch],
) -> Result<(Vec<String>, Vec<Vec<String>>), ArrowError> {
    let header = schema.fields().iter().map(|f| f.name().clone()).collect();
    let options = FormatOptions::default();
    let mut rows = Vec::new();
    for batch in batches {
        let batch = trailsql::results::flatten_nested(batch)?;
        let formatters = batch
            .columns()
            .iter()
            .map(|c| ArrayFormatter::try_new(c.as_ref(), &options))
            .collect::<Result<Vec<_>, _>>()?;
        for row in 0..batch.num_rows() {
            rows.push(
                formatters
                    .iter()
                    .map(|f| f.value(row).to_string())
                    .collect(),
            );
        }
    }
    Ok((header, rows))
}

fn text_width(text: &str) -> usize {
    text.chars().count()
}

/// Cuts a cell to `width` characters, ending with `…` when cut; newlines and tabs become
/// spaces so a row stays one line.
fn fit(text: &str, width: usize) -> String {
    let flat: String = text
        .chars()
        .map(|c| {
            if c == '\n' || c == '\t' || c == '\r' {
                ' '
            } else {
                c
            }
        })
        .collect();
    if text_width(&flat) <= width {
        return flat;
    }
    let mut cut: String = flat.chars().take(width.saturating_sub(1)).collect();
    cut.push('…');
    cut
}

/// Column widths that fit `max_width`: the widest columns give way first, none below
/// its header or 8 characters.
fn widths(header: &[String], rows: &[Vec<String>], max_width: Option<usize>) -> Vec<usize> {
    let mut widths: Vec<usize> = header.iter().map(|h| text_width(h)).collect();
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(text_width(&fit(cell, usize::MAX)));
        }
    }
    let Some(max_width) = max_width else {
        return widths;
    };
    // Each column costs its width plus "| " and " " ; the line ends with "|".
    let total = |w: &[usize]| w.iter().map(|w| w + 3).sum::<usize>() + 1;
    let floor: Vec<usize> = header
        .iter()
        .map(|h| text_width(h).clamp(1, 8).max(1))
        .collect();
    while total(&widths) > max_width {
        let Some((i, _)) = widths
            .iter()
            .enumerate()
            .filter(|(i, w)| **w > floor[*i])
            .max_by_key(|(_, w)| **w)
        else {
            break;
        };
        widths[i] -= 1;
    }
    widths
}

fn write_table(
    out: &mut dyn Write,
    header: &[String],
    rows: &[Vec<String>],
    max_width: Option<usize>,
) -> std::io::Result<()> {
    let widths = widths(header, rows, max_width);
    let rule: String = widths
        .iter()
        .map(|w| format!("+{}", "-".repeat(w + 2)))
        .collect::<String>()
        + "+";
    let line = |cells: &[String]| -> String {
        let mut text = String::new();
        for (cell, width) in cells.iter().zip(&widths) {
            let cell = fit(cell, *width);
            let pad = width - text_width(&cell);
            text.push_str("| ");
            text.push_str(&cell);
            text.push_str(&" ".repeat(pad + 1));
        }
        text + "|"
    };
    writeln!(out, "{rule}")?;
    writeln!(out, "{}", line(header))?;
    writeln!(out, "{rule}")?;
    for row in rows {
        writeln!(out, "{}", line(row))?;
    }
    writeln!(out, "{rule}")
}

fn write_markdown(
    out: &mut dyn Write,
    header: &[String],
    rows: &[Vec<String>],
) -> std::io::Result<()> {
    let escape = |s: &String| fit(s, usize::MAX).replace('|', "\\|");
    let line = |cells: &[String]| {
        format!(
            "| {} |",
            cells.iter().map(escape).collect::<Vec<_>>().join(" | ")
        )
    };
    writeln!(out, "{}", line(header))?;
    writeln!(out, "|{}", "---|".repeat(header.len()))?;
    for row in rows {
        writeln!(out, "{}", line(row))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_are_cut_to_fit_the_width() {
        let header = vec!["eventname".to_string(), "requestparameters".to_string()];
        let rows = vec![vec![
            "CreateStream".to_string(),
            "{\"streamName\":\"orders\",\"shardCount\":2,\"tags\":{\"a\":\"b\"}}".to_string(),
        ]];
        let mut out = Vec::new();
        write_table(&mut out, &header, &rows, Some(50)).unwrap();
        let text = String::from_utf8(out).unwrap();
        for line in text.lines() {
            assert!(line.chars().count() <= 50, "{line}");
        }
        assert!(text.contains("…"), "{text}");
        assert!(text.contains("CreateStream"), "{text}");
    }

    #[test]
    fn an_empty_result_is_a_header() {
        let mut out = Vec::new();
        write_table(&mut out, &["a".to_string()], &[], None).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "+---+\n| a |\n+---+\n+---+\n"
        );
    }
}
