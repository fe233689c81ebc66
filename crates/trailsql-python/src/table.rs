//! `trailsql.Table`: a result read once and held in memory, to use many times.

use std::sync::Arc;

use arrow_array::{RecordBatch, RecordBatchIterator};
use arrow_schema::SchemaRef;
use pyo3::prelude::*;
use pyo3::types::{PyCapsule, PyList};

use crate::{export, html, values};

/// Record batches in memory with the Arrow PyCapsule interface: `pa.table(t)`,
/// `pl.DataFrame(t)` and `duckdb.sql("FROM t")` take them without copying.
#[pyclass(module = "trailsql", name = "Table", frozen)]
pub struct Table {
    pub schema: SchemaRef,
    pub batches: Arc<Vec<RecordBatch>>,
    pub elapsed: Option<std::time::Duration>,
}

impl Table {
    pub fn new(schema: SchemaRef, batches: Vec<RecordBatch>) -> Self {
        Self {
            schema,
            batches: Arc::new(batches),
            elapsed: None,
        }
    }

    fn rows(&self) -> usize {
        self.batches.iter().map(RecordBatch::num_rows).sum()
    }

    fn head(&self) -> Vec<RecordBatch> {
        let mut head = Vec::new();
        let mut kept = 0;
        for batch in self.batches.iter() {
            if kept >= html::PREVIEW_ROWS {
                break;
            }
            let take = (html::PREVIEW_ROWS - kept).min(batch.num_rows());
            head.push(batch.slice(0, take));
            kept += take;
        }
        head
    }
}

pub fn column_names(schema: &SchemaRef) -> Vec<String> {
    schema.fields().iter().map(|f| f.name().clone()).collect()
}

pub fn column_types(schema: &SchemaRef) -> Vec<String> {
    schema
        .fields()
        .iter()
        .map(|f| f.data_type().to_string())
        .collect()
}

#[pymethods]
impl Table {
    #[getter]
    fn columns(&self) -> Vec<String> {
        column_names(&self.schema)
    }

    /// Arrow type of each column.
    #[getter]
    fn types(&self) -> Vec<String> {
        column_types(&self.schema)
    }

    #[getter]
    fn num_rows(&self) -> usize {
        self.rows()
    }

    fn __len__(&self) -> usize {
        self.rows()
    }

    fn __arrow_c_schema__<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyCapsule>> {
        export::schema_capsule(py, &self.schema)
    }

    #[pyo3(signature = (requested_schema=None))]
    fn __arrow_c_stream__<'py>(
        &self,
        py: Python<'py>,
        requested_schema: Option<Bound<'py, PyCapsule>>,
    ) -> PyResult<Bound<'py, PyCapsule>> {
        let batches: Vec<_> = self.batches.iter().cloned().map(Ok).collect();
        let reader = RecordBatchIterator::new(batches, Arc::clone(&self.schema));
        export::stream_capsule(py, Box::new(reader), requested_schema)
    }

    /// A `pyarrow.Table` (needs pyarrow).
    fn to_arrow<'py>(slf: &Bound<'py, Self>) -> PyResult<Bound<'py, PyAny>> {
        export::pyarrow_table(slf.py(), slf.as_any(), "to_arrow")
    }

    /// A `pandas.DataFrame` (needs pandas and pyarrow); times are timezone-aware UTC.
    fn to_pandas<'py>(slf: &Bound<'py, Self>) -> PyResult<Bound<'py, PyAny>> {
        export::pandas(slf.py(), slf.as_any())
    }

    /// A `polars.DataFrame` (needs polars only).
    fn to_polars<'py>(slf: &Bound<'py, Self>) -> PyResult<Bound<'py, PyAny>> {
        export::polars(slf.py(), slf.as_any())
    }

    /// The rows as CSV, with a header line, nested values as JSON text and formula-like
    /// text defused with a leading `'` (the CLI's `--format csv`); written to `path`
    /// when given, else returned.
    #[pyo3(signature = (path = None))]
    fn to_csv(&self, path: Option<std::path::PathBuf>) -> PyResult<Option<String>> {
        write_csv(&self.schema, &self.batches, path)
    }

    /// Every row as a tuple of Python values.
    fn fetchall<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let mut rows = Vec::with_capacity(self.rows());
        for batch in self.batches.iter() {
            rows.extend(values::rows(py, batch)?);
        }
        PyList::new(py, rows)
    }

    fn __iter__<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        self.fetchall(py)?.call_method0("__iter__")
    }

    fn _repr_html_(&self) -> String {
        html::html(&self.schema, &self.head(), self.rows() as u64, self.elapsed)
    }

    fn __repr__(&self) -> String {
        html::text(&self.schema, &self.head(), self.rows() as u64, self.elapsed)
    }
}

pub fn write_csv(
    schema: &SchemaRef,
    batches: &[RecordBatch],
    path: Option<std::path::PathBuf>,
) -> PyResult<Option<String>> {
    use pyo3::exceptions::PyOSError;
    let text = trailsql::results::spreadsheet_csv_string(schema, batches)
        .map_err(|e| crate::errors::QueryError::new_err(e.to_string()))?;
    match path {
        None => Ok(Some(text)),
        Some(path) => {
            std::fs::write(&path, text)
                .map_err(|e| PyOSError::new_err(format!("{}: {e}", path.display())))?;
            Ok(None)
        }
    }
}
