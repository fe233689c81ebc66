//! What a query read, decoded and skipped.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Mutex;

use trailsql_decode::{DecodeError, FileOutcome};

/// Totals for one query (or one scan), reported after it runs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ScanStats {
    pub files_listed: u64,
    /// Folders (prefixes) listed to find the files, in CloudTrail's layout.
    pub prefixes_listed: u64,
    /// Files seen while listing them.
    pub objects_listed: u64,
    /// Files left unread because their account, region or delivery time rules them out.
    pub files_pruned: u64,
    /// Bytes of the pruned files (of files listed but not read).
    pub bytes_pruned: u64,
    /// LIST calls to object stores (S3) while planning and running the query.
    pub store_list_requests: u64,
    /// GET calls to object stores (S3).
    pub store_get_requests: u64,
    /// Bytes of the listed files, as stored (before inflating).
    pub bytes_listed: u64,
    pub files_read: u64,
    /// Parts that files too large to hold whole (plain, or gzip inflated as it was
    /// read) were read in (`EngineOptions::part_bytes`); 0 when every file was read whole.
    pub file_parts: u64,
    /// Bytes read from the files (before inflating): a file read in parts counts only
    /// what was read of it, when reading stopped early (one that is not JSON is judged
    /// on its first 256 KiB; a `LIMIT` was met; a part failed).
    pub bytes_read: u64,
    pub bytes_inflated: u64,
    pub events: u64,
    /// Files that held no events, by kind of reason (digests, non-CloudTrail JSON, not
    /// JSON): how many, and the first one with its particulars.
    pub files_skipped: BTreeMap<String, Skipped>,
    /// Items inside files that were not CloudTrail events, by kind of reason.
    pub items_skipped: BTreeMap<String, Skipped>,
    /// Under `on_error = skip`: records that failed to decode.
    pub records_skipped: u64,
    /// Under `on_error = skip`: files that failed (wholly or after some records).
    pub files_failed: u64,
    /// The first few errors that were skipped, to show the user.
    pub skipped_errors: Vec<String>,
    /// Parquet files (converted trails and the cache) the query reads.
    pub parquet_files: u64,
    /// Events in the Parquet files and cached runs read, before row-group pruning.
    pub parquet_events: u64,
    /// Source objects answered from the Parquet cache instead of decoded.
    pub objects_from_cache: u64,
    /// Source objects this query decoded and added to the Parquet cache.
    pub objects_cached: u64,
    /// Why the cache stopped being written, if it did (the query is unaffected).
    pub cache_error: Option<String>,
    /// The most object reads (open files, S3 GETs) the engine had in flight at once, up
    /// to the end of this query (`EngineOptions::max_concurrent_reads` bounds it).
    pub peak_concurrent_reads: u64,
}

const KEPT_ERRORS: usize = 10;

/// A count of skipped things of one kind, with the first as an example.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Skipped {
    pub count: u64,
    pub example: String,
}

fn note_skip(map: &mut BTreeMap<String, Skipped>, category: &str, count: u64, example: &str) {
    let entry = map.entry(category.to_string()).or_default();
    if entry.count == 0 {
        entry.example = example.to_string();
    }
    entry.count += count;
}

impl ScanStats {
    pub(crate) fn add_file(&mut self, size: u64, outcome: &FileOutcome) {
        self.files_read += 1;
        self.bytes_read += size;
        self.bytes_inflated += outcome.inflated_bytes;
        self.events += (outcome.rows + outcome.filtered_records) as u64;
        self.records_skipped += outcome.skipped_records as u64;
        let summary = &outcome.summary;
        if outcome.file_error.is_none() && summary.records == 0 && !summary.skipped.is_empty() {
            let reason = &summary.skipped[0];
            let example = format!("{}: {reason}", outcome.file);
            note_skip(&mut self.files_skipped, reason.category(), 1, &example);
        } else {
            for reason in &summary.skipped {
                let example = format!("{}: {reason}", outcome.file);
                note_skip(&mut self.items_skipped, reason.category(), 1, &example);
            }
        }
        let errors = outcome
            .first_record_errors
            .iter()
            .chain(&outcome.file_error);
        self.keep_errors(errors);
        if outcome.file_error.is_some() {
            self.files_failed += 1;
        }
    }

    pub(crate) fn add_unreadable(&mut self, error: &str) {
        self.files_failed += 1;
        if self.skipped_errors.len() < KEPT_ERRORS {
            self.skipped_errors.push(error.to_string());
        }
    }

    fn keep_errors<'e>(&mut self, errors: impl Iterator<Item = &'e DecodeError>) {
        for error in errors {
            if self.skipped_errors.len() < KEPT_ERRORS {
                self.skipped_errors.push(error.to_string());
            }
        }
    }

    pub fn merge(&mut self, other: &ScanStats) {
        self.files_listed += other.files_listed;
        self.bytes_listed += other.bytes_listed;
        self.prefixes_listed += other.prefixes_listed;
        self.objects_listed += other.objects_listed;
        self.files_pruned += other.files_pruned;
        self.bytes_pruned += other.bytes_pruned;
        self.store_list_requests += other.store_list_requests;
        self.store_get_requests += other.store_get_requests;
        self.files_read += other.files_read;
        self.bytes_read += other.bytes_read;
        self.bytes_inflated += other.bytes_inflated;
        self.events += other.events;
        for (reason, skipped) in &other.files_skipped {
            note_skip(
                &mut self.files_skipped,
                reason,
                skipped.count,
                &skipped.example,
            );
        }
        for (reason, skipped) in &other.items_skipped {
            note_skip(
                &mut self.items_skipped,
                reason,
                skipped.count,
                &skipped.example,
            );
        }
        self.records_skipped += other.records_skipped;
        self.files_failed += other.files_failed;
        self.file_parts += other.file_parts;
        self.parquet_files += other.parquet_files;
        self.parquet_events += other.parquet_events;
        self.objects_from_cache += other.objects_from_cache;
        self.objects_cached += other.objects_cached;
        self.peak_concurrent_reads = self.peak_concurrent_reads.max(other.peak_concurrent_reads);
        if self.cache_error.is_none() {
            self.cache_error.clone_from(&other.cache_error);
        }
        for error in &other.skipped_errors {
            if self.skipped_errors.len() < KEPT_ERRORS {
                self.skipped_errors.push(error.clone());
            }
        }
    }

    /// True when anything was skipped that a user should hear about.
    pub fn has_skips(&self) -> bool {
        self.records_skipped > 0
            || self.files_failed > 0
            || !self.files_skipped.is_empty()
            || !self.items_skipped.is_empty()
    }

    /// One line for after a query: what was skipped, if anything.
    pub fn skip_summary(&self) -> Option<String> {
        if !self.has_skips() {
            return None;
        }
        let mut parts = Vec::new();
        let skipped_files: u64 = self.files_skipped.values().map(|s| s.count).sum();
        if skipped_files > 0 {
            parts.push(format!("{skipped_files} file(s) without events"));
        }
        let items: u64 = self.items_skipped.values().map(|s| s.count).sum();
        if items > 0 {
            parts.push(format!("{items} non-event item(s)"));
        }
        if self.files_failed > 0 {
            parts.push(format!("{} bad file(s)", self.files_failed));
        }
        if self.records_skipped > 0 {
            parts.push(format!("{} bad record(s)", self.records_skipped));
        }
        Some(format!("skipped {}", parts.join(", ")))
    }
}

impl fmt::Display for ScanStats {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.prefixes_listed > 0 || self.files_pruned > 0 {
            writeln!(
                f,
                "listing: {} prefixes listed, {} objects listed, {} files pruned ({} bytes skipped)",
                self.prefixes_listed, self.objects_listed, self.files_pruned, self.bytes_pruned
            )?;
        }
        if self.store_list_requests > 0 || self.store_get_requests > 0 {
            writeln!(
                f,
                "s3 requests: {} LIST, {} GET",
                self.store_list_requests, self.store_get_requests
            )?;
        }
        writeln!(
            f,
            "files: {} listed, {} read ({} bytes, {} inflated); events: {}",
            self.files_listed, self.files_read, self.bytes_read, self.bytes_inflated, self.events
        )?;
        if self.file_parts > 0 {
            writeln!(f, "large files: read in {} part(s)", self.file_parts)?;
        }
        if self.parquet_files > 0 || self.objects_cached > 0 || self.objects_from_cache > 0 {
            writeln!(
                f,
                "parquet: {} file(s) holding {} events; cache: {} object(s) read from it, {} added",
                self.parquet_files,
                self.parquet_events,
                self.objects_from_cache,
                self.objects_cached
            )?;
        }
        if let Some(error) = &self.cache_error {
            writeln!(f, "cache not written: {error}")?;
        }
        for (reason, skipped) in &self.files_skipped {
            writeln!(f, "skipped {} file(s): {reason}", skipped.count)?;
            writeln!(f, "  first: {}", skipped.example)?;
        }
        for (reason, skipped) in &self.items_skipped {
            writeln!(f, "skipped {} item(s): {reason}", skipped.count)?;
            writeln!(f, "  first: {}", skipped.example)?;
        }
        if self.files_failed > 0 {
            writeln!(
                f,
                "skipped {} file(s) that failed to decode, from the error on (whole records before it are kept)",
                self.files_failed
            )?;
        }
        if self.records_skipped > 0 {
            writeln!(
                f,
                "skipped {} record(s) that failed to decode",
                self.records_skipped
            )?;
        }
        for error in &self.skipped_errors {
            writeln!(f, "  {error}")?;
        }
        Ok(())
    }
}

/// Shared by the partitions of one scan.
#[derive(Debug, Default)]
pub(crate) struct StatsCollector(Mutex<ScanStats>);

impl StatsCollector {
    pub fn update(&self, f: impl FnOnce(&mut ScanStats)) {
        f(&mut self.0.lock().unwrap_or_else(|e| e.into_inner()));
    }

    pub fn snapshot(&self) -> ScanStats {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}
