//! Compact tables for notebooks (`_repr_html_`) and terminals (`repr`).

use std::fmt::Write as _;
use std::time::Duration;

use arrow_array::RecordBatch;
use arrow_schema::SchemaRef;

use crate::values::arrow_cell;

/// Rows a preview shows.
pub const PREVIEW_ROWS: usize = 10;
/// Characters a cell shows; JSON text columns run to kilobytes.
const CELL_CHARS: usize = 60;
/// Characters a cell shows in a terminal, where the table must fit a line.
const TEXT_CELL_CHARS: usize = 30;

fn truncate(text: &str, limit: usize) -> String {
    if text.chars().count() <= limit {
        return text.to_string();
    }
    let mut short: String = text.chars().take(limit - 1).collect();
    short.push('…');
    short
}

fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn cells(head: &[RecordBatch], limit: usize) -> Vec<Vec<String>> {
    let mut rows = Vec::new();
    for batch in head {
        for row in 0..batch.num_rows() {
            rows.push(
                batch
                    .columns()
                    .iter()
                    .map(|column| truncate(&arrow_cell(column.as_ref(), row), limit))
                    .collect(),
            );
        }
    }
    rows
}

fn footer(shown: usize, rows: u64, columns: usize, elapsed: Option<Duration>) -> String {
    let mut text = format!(
        "{rows} row{} × {columns} column{}",
        if rows == 1 { "" } else { "s" },
        if columns == 1 { "" } else { "s" }
    );
    if (shown as u64) < rows {
        let _ = write!(text, " (first {shown} shown)");
    }
    if let Some(elapsed) = elapsed {
        let _ = write!(text, " · {:.3} s", elapsed.as_secs_f64());
    }
    text
}

pub fn html(
    schema: &SchemaRef,
    head: &[RecordBatch],
    rows: u64,
    elapsed: Option<Duration>,
) -> String {
    let cells = cells(head, CELL_CHARS);
    let mut out = String::from("<div class=\"trailsql-result\"><table>\n<thead><tr>");
    for field in schema.fields() {
        let _ = write!(
            out,
            "<th title=\"{}\">{}</th>",
            escape(&field.data_type().to_string()),
            escape(field.name())
        );
    }
    out.push_str("</tr></thead>\n<tbody>\n");
    for row in &cells {
        out.push_str("<tr>");
        for cell in row {
            let _ = write!(out, "<td>{}</td>", escape(cell));
        }
        out.push_str("</tr>\n");
    }
    let _ = write!(
        out,
        "</tbody></table>\n<p><small>{}</small></p></div>",
        escape(&footer(cells.len(), rows, schema.fields().len(), elapsed))
    );
    out
}

pub fn text(
    schema: &SchemaRef,
    head: &[RecordBatch],
    rows: u64,
    elapsed: Option<Duration>,
) -> String {
    let cells = cells(head, TEXT_CELL_CHARS);
    let names: Vec<String> = schema
        .fields()
        .iter()
        .map(|f| truncate(f.name(), TEXT_CELL_CHARS))
        .collect();
    let mut widths: Vec<usize> = names.iter().map(|n| n.chars().count()).collect();
    for row in &cells {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let line = |values: &[String]| {
        let padded: Vec<String> = values
            .iter()
            .zip(&widths)
            .map(|(v, w)| format!("{v}{}", " ".repeat(w - v.chars().count())))
            .collect();
        format!("| {} |\n", padded.join(" | "))
    };
    let rule: String = format!(
        "+{}+\n",
        widths
            .iter()
            .map(|w| "-".repeat(w + 2))
            .collect::<Vec<_>>()
            .join("+")
    );
    let mut out = rule.clone();
    out.push_str(&line(&names));
    out.push_str(&rule);
    for row in &cells {
        out.push_str(&line(row));
    }
    out.push_str(&rule);
    out.push_str(&footer(cells.len(), rows, schema.fields().len(), elapsed));
    out
}
