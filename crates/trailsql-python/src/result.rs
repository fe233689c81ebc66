//! `trailsql.Result`: a query, run lazily, as often as it is read.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use pyo3::prelude::*;
use pyo3::types::{PyCapsule, PyList, PyTuple};
use trailsql::Prepared;

use crate::errors::IntoPy;
use crate::run::{self, Batches, LastRun, RunReader};
use crate::stats::Stats;
use crate::table::{Table, column_names, column_types};
use crate::{export, html, values};

/// The result of `Connection.sql()`. Nothing is read until it is: each conversion
/// (`to_arrow()`, `to_pandas()`, `to_polars()`, `fetchall()`, iteration, or a consumer of
/// `__arrow_c_stream__` such as `pa.table(res)`, `pl.DataFrame(res)` or DuckDB) runs
/// the query afresh and streams its batches. `collect()` reads it once into a `Table`.
#[pyclass(module = "trailsql", name = "Result", frozen)]
pub struct QueryResult {
    prepared: Prepared,
    sql: String,
    last: Arc<LastRun>,
    connection_last: Arc<LastRun>,
}

impl QueryResult {
    pub fn new(prepared: Prepared, sql: String, connection_last: Arc<LastRun>) -> Self {
        Self {
            prepared,
            sql,
            last: Arc::new(LastRun::default()),
            connection_last,
        }
    }

    fn recorders(&self) -> [&LastRun; 2] {
        [&self.last, &self.connection_last]
    }

    fn collect_table(&self, py: Python<'_>) -> PyResult<Table> {
        let (batches, record) = run::collect(py, &self.prepared, &self.recorders())?;
        let mut table = Table::new(self.prepared.schema(), batches);
        table.elapsed = Some(record.elapsed());
        Ok(table)
    }
}

#[pymethods]
impl QueryResult {
    /// The SQL this result runs.
    #[getter]
    fn sql(&self) -> &str {
        &self.sql
    }

    #[getter]
    fn columns(&self) -> Vec<String> {
        column_names(&self.prepared.schema())
    }

    /// Arrow type of each column.
    #[getter]
    fn types(&self) -> Vec<String> {
        column_types(&self.prepared.schema())
    }

    /// What the latest run of this result read and skipped; `None` before it has run.
    #[getter]
    fn stats(&self) -> Option<Stats> {
        self.last.get().map(|record| Stats::of_run(&record))
    }

    fn __arrow_c_schema__<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyCapsule>> {
        export::schema_capsule(py, &self.prepared.schema())
    }

    /// A new run of the query as an Arrow C stream. The run starts when the consumer
    /// asks for the first batch, and stops when it lets go of the stream.
    #[pyo3(signature = (requested_schema=None))]
    fn __arrow_c_stream__<'py>(
        &self,
        py: Python<'py>,
        requested_schema: Option<Bound<'py, PyCapsule>>,
    ) -> PyResult<Bound<'py, PyCapsule>> {
        let reader = RunReader::new(
            self.prepared.clone(),
            vec![Arc::clone(&self.last), Arc::clone(&self.connection_last)],
        );
        export::stream_capsule(py, Box::new(reader), requested_schema)
    }

    /// Runs the query and keeps every row in memory.
    fn collect(&self, py: Python<'_>) -> PyResult<Table> {
        self.collect_table(py)
    }

    /// A `pyarrow.Table` (needs pyarrow).
    fn to_arrow<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let table = Bound::new(py, self.collect_table(py)?)?;
        export::pyarrow_table(py, table.as_any(), "to_arrow")
    }

    /// A `pyarrow.RecordBatchReader` streaming a new run batch by batch (needs pyarrow).
    fn to_arrow_reader<'py>(slf: &Bound<'py, Self>) -> PyResult<Bound<'py, PyAny>> {
        let py = slf.py();
        let pyarrow = py.import("pyarrow")?;
        pyarrow
            .getattr("RecordBatchReader")?
            .call_method1("from_stream", (slf,))
    }

    /// A `pandas.DataFrame` (needs pandas and pyarrow); times are timezone-aware UTC.
    fn to_pandas<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let table = Bound::new(py, self.collect_table(py)?)?;
        export::pandas(py, table.as_any())
    }

    /// A `polars.DataFrame` (needs polars only).
    fn to_polars<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let table = Bound::new(py, self.collect_table(py)?)?;
        export::polars(py, table.as_any())
    }

    /// The rows as CSV, with a header line, nested values as JSON text and formula-like
    /// text defused with a leading `'` (the CLI's `--format csv`); written to `path`
    /// when given, else returned.
    #[pyo3(signature = (path = None))]
    fn to_csv(&self, py: Python<'_>, path: Option<std::path::PathBuf>) -> PyResult<Option<String>> {
        let (batches, _) = run::collect(py, &self.prepared, &self.recorders())?;
        crate::table::write_csv(&self.prepared.schema(), &batches, path)
    }

    /// Every row as a tuple of Python values (no other package needed).
    fn fetchall<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let (batches, _) = run::collect(py, &self.prepared, &self.recorders())?;
        let mut rows = Vec::new();
        for batch in &batches {
            rows.extend(values::rows(py, batch)?);
        }
        PyList::new(py, rows)
    }

    /// Rows as tuples, streamed: a new run, read a batch at a time.
    fn __iter__(&self) -> PyResult<RowIterator> {
        let (_, receiver) = run::start(&self.prepared, &self.recorders())?;
        Ok(RowIterator {
            receiver: Arc::new(tokio::sync::Mutex::new(receiver)),
            pending: Mutex::new(VecDeque::new()),
        })
    }

    fn _repr_html_(&self, py: Python<'_>) -> PyResult<String> {
        let preview = run::preview(py, &self.prepared, &self.recorders(), html::PREVIEW_ROWS)?;
        Ok(html::html(
            &preview.schema,
            &preview.head,
            preview.rows,
            Some(preview.elapsed),
        ))
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        let preview = run::preview(py, &self.prepared, &self.recorders(), html::PREVIEW_ROWS)?;
        Ok(html::text(
            &preview.schema,
            &preview.head,
            preview.rows,
            Some(preview.elapsed),
        ))
    }
}

/// Iterates a run's rows; each batch is fetched with the GIL released.
#[pyclass(module = "trailsql", name = "RowIterator", frozen)]
pub struct RowIterator {
    receiver: Arc<tokio::sync::Mutex<Batches>>,
    pending: Mutex<VecDeque<Py<PyTuple>>>,
}

#[pymethods]
impl RowIterator {
    fn __iter__(slf: PyRef<'_, Self>) -> PyRef<'_, Self> {
        slf
    }

    fn __next__(&self, py: Python<'_>) -> PyResult<Option<Py<PyTuple>>> {
        loop {
            if let Some(row) = self.pending.lock().unwrap().pop_front() {
                return Ok(Some(row));
            }
            let receiver = Arc::clone(&self.receiver);
            let next = crate::runtime::wait(py, async move { receiver.lock().await.recv().await })?;
            match next {
                None => return Ok(None),
                Some(batch) => {
                    let batch = batch.py_err()?;
                    let rows = values::rows(py, &batch)?;
                    self.pending
                        .lock()
                        .unwrap()
                        .extend(rows.into_iter().map(Bound::unbind));
                }
            }
        }
    }
}
