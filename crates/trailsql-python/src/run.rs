//! Runs of a query: started in the background, streamed to any consumer, and recorded so
//! the result and the connection can report their stats.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use arrow_array::{RecordBatch, RecordBatchReader};
use arrow_schema::{ArrowError, SchemaRef};
use futures::StreamExt;
use pyo3::prelude::*;
use tokio::sync::mpsc;
use trailsql::{Prepared, QueryProgress, ScanStats};

use crate::errors::IntoPy;

/// Batches decoded ahead of the consumer: enough to overlap decoding with the consumer's
/// work, few enough to keep memory flat however large the result.
const PREFETCH_BATCHES: usize = 2;

/// What one run of a query did: its scans' progress, its rows and how long it took.
pub struct RunRecord {
    started: Instant,
    /// The scans' counters (not the plan, so a cancelled run's work stops).
    progress: Mutex<Option<QueryProgress>>,
    finished: Mutex<Option<Duration>>,
    rows: AtomicU64,
}

impl RunRecord {
    fn new() -> Arc<Self> {
        Arc::new(Self {
            started: Instant::now(),
            progress: Mutex::new(None),
            finished: Mutex::new(None),
            rows: AtomicU64::new(0),
        })
    }

    pub fn stats(&self) -> ScanStats {
        self.progress
            .lock()
            .unwrap()
            .as_ref()
            .map(QueryProgress::stats)
            .unwrap_or_default()
    }

    /// Ends the run: done, failed or cancelled.
    fn finish(&self) {
        *self.finished.lock().unwrap() = Some(self.started.elapsed());
    }

    pub fn rows(&self) -> u64 {
        self.rows.load(Ordering::Relaxed)
    }

    /// The run's time so far, or in all once it has finished.
    pub fn elapsed(&self) -> Duration {
        self.finished
            .lock()
            .unwrap()
            .unwrap_or_else(|| self.started.elapsed())
    }

    pub fn is_finished(&self) -> bool {
        self.finished.lock().unwrap().is_some()
    }
}

/// The latest run of something (a result, a connection).
#[derive(Default)]
pub struct LastRun(Mutex<Option<Arc<RunRecord>>>);

impl LastRun {
    pub fn get(&self) -> Option<Arc<RunRecord>> {
        self.0.lock().unwrap().clone()
    }

    fn set(&self, record: &Arc<RunRecord>) {
        *self.0.lock().unwrap() = Some(Arc::clone(record));
    }
}

/// A run's batches, in order, as they are decoded.
pub type Batches = mpsc::Receiver<Result<RecordBatch, trailsql::Error>>;

/// Starts a run of `prepared` on the shared runtime; its batches arrive on the returned
/// channel, and dropping the receiver cancels the run and frees what it holds.
pub fn start(prepared: &Prepared, recorders: &[&LastRun]) -> PyResult<(Arc<RunRecord>, Batches)> {
    let runtime = crate::runtime::runtime()?;
    let record = RunRecord::new();
    for recorder in recorders {
        recorder.set(&record);
    }
    let (sender, receiver) = mpsc::channel(PREFETCH_BATCHES);
    let prepared = prepared.clone();
    let run = Arc::clone(&record);
    runtime.spawn(async move {
        let mut query = match prepared.execute().await {
            Ok(query) => query,
            Err(error) => {
                run.finish();
                let _ = sender.send(Err(error)).await;
                return;
            }
        };
        *run.progress.lock().unwrap() = Some(query.progress());
        loop {
            // A consumer that went away cancels the run.
            let next = tokio::select! {
                next = query.next() => next,
                () = sender.closed() => break,
            };
            let Some(item) = next else { break };
            let failed = item.is_err();
            if let Ok(batch) = &item {
                run.rows
                    .fetch_add(batch.num_rows() as u64, Ordering::Relaxed);
            }
            if sender.send(item).await.is_err() || failed {
                break;
            }
        }
        run.finish();
    });
    Ok((record, receiver))
}

/// Reads every batch of a new run with the GIL released; Ctrl-C cancels the run.
pub fn collect(
    py: Python<'_>,
    prepared: &Prepared,
    recorders: &[&LastRun],
) -> PyResult<(Vec<RecordBatch>, Arc<RunRecord>)> {
    let (record, mut receiver) = start(prepared, recorders)?;
    let batches = crate::runtime::wait(py, async move {
        let mut batches = Vec::new();
        while let Some(item) = receiver.recv().await {
            batches.push(item?);
        }
        Ok::<_, trailsql::Error>(batches)
    })?
    .py_err()?;
    Ok((batches, record))
}

/// A run as an Arrow `RecordBatchReader` for consumers on any thread (pyarrow, polars,
/// DuckDB's scan threads). The run starts at the first batch asked for, so a consumer
/// that only wants the schema costs nothing. It touches no Python state, so it never
/// needs the GIL.
pub struct RunReader {
    schema: SchemaRef,
    prepared: Prepared,
    recorders: Vec<Arc<LastRun>>,
    receiver: Option<Batches>,
    done: bool,
}

impl RunReader {
    pub fn new(prepared: Prepared, recorders: Vec<Arc<LastRun>>) -> Self {
        Self {
            schema: prepared.schema(),
            prepared,
            recorders,
            receiver: None,
            done: false,
        }
    }
}

impl Iterator for RunReader {
    type Item = Result<RecordBatch, ArrowError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        if self.receiver.is_none() {
            let recorders: Vec<&LastRun> = self.recorders.iter().map(Arc::as_ref).collect();
            match start(&self.prepared, &recorders) {
                Ok((_, receiver)) => self.receiver = Some(receiver),
                Err(error) => {
                    self.done = true;
                    return Some(Err(ArrowError::ExternalError(error.to_string().into())));
                }
            }
        }
        let receiver = self.receiver.as_mut()?;
        // A plain executor, not the runtime's: the consumer may itself be a thread of
        // some tokio runtime, where `Runtime::block_on` would panic.
        let item = futures::executor::block_on(receiver.recv());
        match item {
            None => {
                self.done = true;
                None
            }
            Some(Ok(batch)) => Some(Ok(batch)),
            Some(Err(error)) => {
                self.done = true;
                Some(Err(ArrowError::ExternalError(Box::new(error))))
            }
        }
    }
}

impl RecordBatchReader for RunReader {
    fn schema(&self) -> SchemaRef {
        Arc::clone(&self.schema)
    }
}

/// The first rows of a run and how many rows it had in all, for `repr` in notebooks.
pub struct Preview {
    pub schema: SchemaRef,
    pub head: Vec<RecordBatch>,
    pub rows: u64,
    pub elapsed: Duration,
}

/// Runs the query to the end keeping only its first `keep` rows, so previewing a huge
/// result costs no memory.
pub fn preview(
    py: Python<'_>,
    prepared: &Prepared,
    recorders: &[&LastRun],
    keep: usize,
) -> PyResult<Preview> {
    let (record, mut receiver) = start(prepared, recorders)?;
    let schema = prepared.schema();
    let (head, rows) = crate::runtime::wait(py, async move {
        let mut head = Vec::new();
        let mut kept = 0;
        let mut rows = 0u64;
        while let Some(item) = receiver.recv().await {
            let batch = item?;
            rows += batch.num_rows() as u64;
            if kept < keep {
                let take = (keep - kept).min(batch.num_rows());
                head.push(batch.slice(0, take));
                kept += take;
            }
        }
        Ok::<_, trailsql::Error>((head, rows))
    })?
    .py_err()?;
    Ok(Preview {
        schema,
        head,
        rows,
        elapsed: record.elapsed(),
    })
}
