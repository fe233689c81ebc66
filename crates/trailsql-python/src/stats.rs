//! `trailsql.Stats`: what a query read and skipped.

use pyo3::prelude::*;
use pyo3::types::PyDict;
use trailsql::ScanStats;

/// What a query's scans listed, pruned, read and skipped. `str()` gives the CLI's
/// `--stats` text; `to_dict()` every count.
#[pyclass(module = "trailsql", name = "Stats", frozen, get_all)]
pub struct Stats {
    pub files_listed: u64,
    pub prefixes_listed: u64,
    pub objects_listed: u64,
    pub files_pruned: u64,
    pub bytes_pruned: u64,
    pub store_list_requests: u64,
    pub store_get_requests: u64,
    pub files_read: u64,
    pub file_parts: u64,
    pub bytes_read: u64,
    pub bytes_inflated: u64,
    pub events: u64,
    pub records_skipped: u64,
    pub files_failed: u64,
    pub parquet_files: u64,
    pub parquet_events: u64,
    pub objects_from_cache: u64,
    pub objects_cached: u64,
    /// The most object reads the engine had in flight at once.
    pub peak_concurrent_reads: u64,
    /// Skipped files by reason: `{reason: (count, example)}`.
    pub files_skipped: Vec<(String, u64, String)>,
    /// Skipped non-event items by reason: `{reason: (count, example)}`.
    pub items_skipped: Vec<(String, u64, String)>,
    /// The first errors of skipped files and records, with their places.
    pub skipped_errors: Vec<String>,
    pub cache_error: Option<String>,
    /// Rows the query returned.
    pub rows: u64,
    /// Seconds the query ran.
    pub elapsed: f64,
    text: String,
}

impl Stats {
    /// The stats of one run of a query.
    pub fn of_run(record: &crate::run::RunRecord) -> Self {
        Self::new(
            &record.stats(),
            record.rows(),
            record.elapsed().as_secs_f64(),
        )
    }

    pub fn new(stats: &ScanStats, rows: u64, elapsed: f64) -> Self {
        let reasons = |map: &std::collections::BTreeMap<String, trailsql::Skipped>| {
            map.iter()
                .map(|(reason, s)| (reason.clone(), s.count, s.example.clone()))
                .collect()
        };
        Self {
            files_listed: stats.files_listed,
            prefixes_listed: stats.prefixes_listed,
            objects_listed: stats.objects_listed,
            files_pruned: stats.files_pruned,
            bytes_pruned: stats.bytes_pruned,
            store_list_requests: stats.store_list_requests,
            store_get_requests: stats.store_get_requests,
            files_read: stats.files_read,
            file_parts: stats.file_parts,
            bytes_read: stats.bytes_read,
            bytes_inflated: stats.bytes_inflated,
            events: stats.events,
            records_skipped: stats.records_skipped,
            files_failed: stats.files_failed,
            parquet_files: stats.parquet_files,
            parquet_events: stats.parquet_events,
            objects_from_cache: stats.objects_from_cache,
            objects_cached: stats.objects_cached,
            peak_concurrent_reads: stats.peak_concurrent_reads,
            files_skipped: reasons(&stats.files_skipped),
            items_skipped: reasons(&stats.items_skipped),
            skipped_errors: stats.skipped_errors.clone(),
            cache_error: stats.cache_error.clone(),
            rows,
            elapsed,
            text: stats.to_string(),
        }
    }
}

#[pymethods]
impl Stats {
    /// True when files, items or records were skipped (`on_error="skip"`).
    #[getter]
    fn has_skips(&self) -> bool {
        self.records_skipped > 0
            || self.files_failed > 0
            || !self.files_skipped.is_empty()
            || !self.items_skipped.is_empty()
    }

    fn to_dict<'py>(slf: &Bound<'py, Self>) -> PyResult<Bound<'py, PyDict>> {
        let py = slf.py();
        let dict = PyDict::new(py);
        let this = slf.get();
        macro_rules! put {
            ($($name:ident),*) => { $( dict.set_item(stringify!($name), &this.$name)?; )* };
        }
        put!(
            files_listed,
            prefixes_listed,
            objects_listed,
            files_pruned,
            bytes_pruned,
            store_list_requests,
            store_get_requests,
            files_read,
            file_parts,
            bytes_read,
            bytes_inflated,
            events,
            records_skipped,
            files_failed,
            parquet_files,
            parquet_events,
            objects_from_cache,
            objects_cached,
            peak_concurrent_reads,
            skipped_errors,
            cache_error,
            rows,
            elapsed
        );
        for (key, reasons) in [
            ("files_skipped", &this.files_skipped),
            ("items_skipped", &this.items_skipped),
        ] {
            let by_reason = PyDict::new(py);
            for (reason, count, _) in reasons {
                by_reason.set_item(reason, count)?;
            }
            dict.set_item(key, by_reason)?;
        }
        Ok(dict)
    }

    fn __str__(&self) -> String {
        format!("{}{} rows in {:.3} s", self.text, self.rows, self.elapsed)
    }

    fn __repr__(&self) -> String {
        format!(
            "<trailsql.Stats files_read={} events={} rows={} elapsed={:.3}s{}>",
            self.files_read,
            self.events,
            self.rows,
            self.elapsed,
            if self.has_skips() { " (skips)" } else { "" }
        )
    }
}
