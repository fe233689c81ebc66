//! The DataFusion scan: one partition per group of files (shared out again while they
//! run, see [`crate::file_queue`]); each partition reads, inflates and decodes its files
//! on a blocking thread and streams batches.

use std::fmt;

use futures::StreamExt;
use std::sync::Arc;

use datafusion::arrow::datatypes::SchemaRef;
use datafusion::common::tree_node::TreeNodeRecursion;
use datafusion::config::ConfigOptions;
use datafusion::error::{DataFusionError, Result};
use datafusion::execution::TaskContext;
use datafusion::physical_expr::{EquivalenceProperties, PhysicalExpr, PhysicalSortExpr};
use datafusion::physical_plan::SortOrderPushdownResult;
use datafusion::physical_plan::execution_plan::{Boundedness, EmissionType};
use datafusion::physical_plan::filter_pushdown::{
    ChildPushdownResult, FilterPushdownPhase, FilterPushdownPropagation, PushedDown,
};
use datafusion::physical_plan::stream::RecordBatchReceiverStream;
use datafusion::physical_plan::{
    DisplayAs, DisplayFormatType, ExecutionPlan, Partitioning, PlanProperties,
    SendableRecordBatchStream,
};
use trailsql_decode::{
    CloudTrailDecoder, CloudTrailSchema, DecoderOptions, FileOutcome, OnError, TextFilter, TextTest,
};

use crate::file_queue::SharedFiles;
use crate::parquet::cache::ParquetCache;
use crate::parts::{Body, PartSize};
use crate::reads::{ReadAhead, ReadGate};
use crate::running_filters::RunningFilters;
use crate::source::LogObject;
use crate::stats::{ScanStats, StatsCollector};

/// How a scan's files were found: listing costs and what pruning left out.
#[derive(Debug, Clone, Default)]
pub struct Listing {
    pub constraints: crate::prune::Constraints,
    pub prefixes_listed: u64,
    pub objects_listed: u64,
    /// Listings reused from earlier queries of the session.
    pub cached: u64,
    pub regions_kept: usize,
    pub regions_total: usize,
    pub days: usize,
    /// Files left unread because their place or delivery time rules them out.
    pub pruned: u64,
    pub pruned_bytes: u64,
    /// Parquet files read beside the raw files, and the events they hold.
    pub parquet_files: u64,
    pub parquet_events: u64,
    /// Listed objects the Parquet cache answers for.
    pub objects_from_cache: u64,
}

impl fmt::Display for Listing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let c = &self.constraints;
        let stamp = |m: i64| {
            chrono::DateTime::<chrono::Utc>::from_timestamp_micros(m)
                .map(|t| t.format("%Y-%m-%dT%H:%M:%SZ").to_string())
                .unwrap_or_default()
        };
        write!(
            f,
            "prune=[time: {} .. {}, accounts: {}, regions: {}], region_folders={}/{}, day_folders={}, prefixes_listed={}, cached_listings={}, objects_listed={}, pruned_files={}",
            c.since.map_or("*".to_string(), stamp),
            c.until.map_or("*".to_string(), stamp),
            c.accounts.as_ref().map_or("*".to_string(), |a| a
                .iter()
                .cloned()
                .collect::<Vec<_>>()
                .join("|")),
            c.regions.as_ref().map_or("*".to_string(), |r| r
                .iter()
                .cloned()
                .collect::<Vec<_>>()
                .join("|")),
            self.regions_kept,
            self.regions_total,
            self.days,
            self.prefixes_listed,
            self.cached,
            self.objects_listed,
            self.pruned
        )
    }
}

/// A decoder filter as SQL: `column IN ('a', 'b')`, `column LIKE 'a%'`,
/// `column IS NOT NULL`.
fn describe_filter(filter: &TextFilter, column: &str) -> String {
    let quoted = |value: &str| format!("'{}'", value.replace('\'', "''"));
    match &filter.test {
        TextTest::OneOf(values) => {
            let values: Vec<String> = values.iter().map(|v| quoted(v)).collect();
            format!("{column} IN ({})", values.join(", "))
        }
        TextTest::StartsWith(prefix) => format!("{column} LIKE {}", quoted(&format!("{prefix}%"))),
        TextTest::NotNull => format!("{column} IS NOT NULL"),
    }
}

fn external(error: impl std::error::Error + Send + Sync + 'static) -> DataFusionError {
    DataFusionError::External(Box::new(error))
}

/// Orders files by when they were delivered (`trailsql_decode::delivered_at`); files
/// whose delivery is unknown come first either way (nothing can leave them out, and reading
/// them early sets a TopK's bar sooner).
fn sort_by_delivery(files: &mut [LogObject], newest_first: bool) {
    files.sort_by_cached_key(
        |object| match trailsql_decode::delivered_at(&object.location) {
            None => (false, 0),
            Some(at) if newest_first => (true, -at),
            Some(at) => (true, at),
        },
    );
}

/// S3 objects read ahead of the decoder, per partition: enough to hide request latency.
const STORE_READS_AHEAD: usize = 16;

#[derive(Clone)]
pub struct CloudTrailScanExec {
    schema: Arc<CloudTrailSchema>,
    projection: Option<Vec<usize>>,
    output: SchemaRef,
    groups: Vec<Vec<LogObject>>,
    /// The groups as the partitions take from them while they run.
    shared: SharedFiles,
    files_listed: u64,
    limit: Option<usize>,
    options: DecoderOptions,
    stats: Arc<StatsCollector>,
    properties: Arc<PlanProperties>,
    listing: Listing,
    /// Where decoded objects are also written, when the Parquet cache is on.
    fill: Option<Arc<ParquetCache>>,
    /// The engine's limit on reads in flight.
    reads: Arc<ReadGate>,
    /// Filters the decoder checks as it reads, so rejected records never become rows
    /// (they are applied again above the scan).
    decoder_filters: Vec<TextFilter>,
    /// Filters from the operators above (a TopK's bar, say), read again before each
    /// file to leave out files whose delivery time they rule out.
    running: RunningFilters,
    late_delivery_micros: i64,
    /// Set when the query's sort was pushed here: each partition reads its files in
    /// delivery order, newest first for a descending sort.
    newest_first: Option<bool>,
    /// Files larger than this (or inflating to more) are read in parts (see
    /// [`crate::parts`]).
    part_bytes: usize,
}

impl fmt::Debug for CloudTrailScanExec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CloudTrailScanExec")
            .field("groups", &self.groups.len())
            .field("limit", &self.limit)
            .finish()
    }
}

impl CloudTrailScanExec {
    pub(crate) fn new(
        schema: Arc<CloudTrailSchema>,
        projection: Option<Vec<usize>>,
        groups: Vec<Vec<LogObject>>,
        limit: Option<usize>,
        options: DecoderOptions,
        listing: Listing,
        fill: Option<Arc<ParquetCache>>,
    ) -> Self {
        let full = schema.arrow_schema();
        let output = match &projection {
            Some(indices) => Arc::new(full.project(indices).expect("projection within schema")),
            None => full,
        };
        let partitions = groups.len().max(1);
        let properties = PlanProperties::new(
            EquivalenceProperties::new(Arc::clone(&output)),
            Partitioning::UnknownPartitioning(partitions),
            EmissionType::Incremental,
            Boundedness::Bounded,
        );
        let files_listed = groups.iter().map(|g| g.len() as u64).sum();
        Self {
            schema,
            projection,
            output,
            groups,
            shared: SharedFiles::default(),
            files_listed,
            limit,
            options,
            stats: Arc::default(),
            properties: Arc::new(properties),
            listing,
            fill,
            reads: Arc::new(ReadGate::new(crate::reads::DEFAULT_CONCURRENT_READS)),
            decoder_filters: Vec::new(),
            running: RunningFilters::default(),
            late_delivery_micros: 0,
            newest_first: None,
            part_bytes: crate::parts::DEFAULT_PART_BYTES,
        }
    }

    pub(crate) fn with_part_bytes(mut self, part_bytes: usize) -> Self {
        self.part_bytes = part_bytes;
        self
    }

    /// How late CloudTrail may deliver a file, for reading time bounds against delivery
    /// stamps.
    pub(crate) fn with_late_delivery(mut self, micros: i64) -> Self {
        self.late_delivery_micros = micros;
        self
    }

    pub(crate) fn with_decoder_filters(mut self, filters: Vec<TextFilter>) -> Self {
        self.decoder_filters = filters;
        self
    }

    /// Reads objects through `reads`, the engine's limit on reads in flight.
    pub(crate) fn with_read_gate(mut self, reads: Arc<ReadGate>) -> Self {
        self.reads = reads;
        self
    }

    /// What planning found (files listed and pruned), and the counters the partitions
    /// add to as they read: progress that does not keep the plan alive.
    pub(crate) fn progress(&self) -> ScanProgress {
        ScanProgress {
            planned: self.planned_stats(),
            read: Arc::clone(&self.stats),
            reads: Arc::clone(&self.reads),
        }
    }

    /// What this scan has read so far.
    pub fn stats(&self) -> ScanStats {
        self.progress().stats()
    }

    fn planned_stats(&self) -> ScanStats {
        ScanStats {
            files_listed: self.files_listed,
            bytes_listed: self.groups.iter().flatten().map(|o| o.size).sum(),
            prefixes_listed: self.listing.prefixes_listed,
            objects_listed: self.listing.objects_listed,
            files_pruned: self.listing.pruned,
            bytes_pruned: self.listing.pruned_bytes,
            parquet_files: self.listing.parquet_files,
            parquet_events: self.listing.parquet_events,
            objects_from_cache: self.listing.objects_from_cache,
            ..ScanStats::default()
        }
    }
}

/// What a scan's planning found, and the counters its partitions add to while it runs.
pub(crate) struct ScanProgress {
    planned: ScanStats,
    read: Arc<StatsCollector>,
    /// Read live: the peak grows as the scan reads, after the planned stats were taken.
    reads: Arc<ReadGate>,
}

impl ScanProgress {
    pub(crate) fn stats(&self) -> ScanStats {
        let mut stats = self.planned.clone();
        stats.merge(&self.read.snapshot());
        stats.peak_concurrent_reads = self.reads.peak() as u64;
        stats
    }
}

impl DisplayAs for CloudTrailScanExec {
    fn fmt_as(&self, t: DisplayFormatType, f: &mut fmt::Formatter) -> fmt::Result {
        let bytes: u64 = self.groups.iter().flatten().map(|o| o.size).sum();
        match t {
            DisplayFormatType::Default | DisplayFormatType::Verbose => {
                write!(
                    f,
                    "CloudTrailScanExec: files={}, bytes={}, partitions={}, projection=[{}]",
                    self.files_listed,
                    bytes,
                    self.groups.len(),
                    self.output
                        .fields()
                        .iter()
                        .map(|f| f.name().as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                )?;
                if let Some(limit) = self.limit {
                    write!(f, ", limit={limit}")?;
                }
                if !self.decoder_filters.is_empty() {
                    let fields = self.schema.arrow_schema();
                    let filters: Vec<String> = self
                        .decoder_filters
                        .iter()
                        .map(|filter| describe_filter(filter, fields.field(filter.column).name()))
                        .collect();
                    write!(f, ", decoder_filters=[{}]", filters.join(" AND "))?;
                }
                if let Some(newest_first) = self.newest_first {
                    let order = if newest_first { "newest" } else { "oldest" };
                    write!(f, ", files_by_delivery={order}_first")?;
                }
                if !self.running.is_empty() {
                    write!(f, ", running_filters=[{}]", self.running)?;
                }
                write!(f, ", {}", self.listing)
            }
            DisplayFormatType::TreeRender => write!(f, "files={}", self.files_listed),
        }
    }
}

impl ExecutionPlan for CloudTrailScanExec {
    fn name(&self) -> &str {
        "CloudTrailScanExec"
    }

    fn properties(&self) -> &Arc<PlanProperties> {
        &self.properties
    }

    fn children(&self) -> Vec<&Arc<dyn ExecutionPlan>> {
        vec![]
    }

    fn apply_expressions(
        &self,
        _f: &mut dyn FnMut(&Arc<dyn PhysicalExpr>) -> Result<TreeNodeRecursion>,
    ) -> Result<TreeNodeRecursion> {
        Ok(TreeNodeRecursion::Continue)
    }

    fn with_new_children(
        self: Arc<Self>,
        _children: Vec<Arc<dyn ExecutionPlan>>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        Ok(self)
    }

    /// Takes the filters of the operators above that tighten on `eventtime` as the
    /// query runs (a TopK's bar) to leave out files. They stay with those operators
    /// too: the scan only uses them to skip whole files.
    fn handle_child_pushdown_result(
        &self,
        _phase: FilterPushdownPhase,
        child_pushdown_result: ChildPushdownResult,
        _config: &ConfigOptions,
    ) -> Result<FilterPushdownPropagation<Arc<dyn ExecutionPlan>>> {
        let filters: Vec<Arc<dyn PhysicalExpr>> = child_pushdown_result
            .parent_filters
            .into_iter()
            .map(|result| result.filter)
            .collect();
        let propagation = FilterPushdownPropagation::with_parent_pushdown_result(vec![
            PushedDown::No;
            filters.len()
        ]);
        let timed: Vec<Arc<dyn PhysicalExpr>> = filters
            .into_iter()
            .filter(RunningFilters::tightens_on_the_time)
            .collect();
        if timed.is_empty() {
            return Ok(propagation);
        }
        let mut scan = self.clone();
        scan.running = self.running.with(timed, self.late_delivery_micros);
        Ok(propagation.with_updated_node(Arc::new(scan)))
    }

    /// A sort on `eventtime` orders each partition's files by delivery time, so that a
    /// TopK's bar rises (or falls) from the first batch and its filter leaves the rest
    /// unread. The rows still need sorting: files overlap in time.
    fn try_pushdown_sort(
        &self,
        order: &[PhysicalSortExpr],
    ) -> Result<SortOrderPushdownResult<Arc<dyn ExecutionPlan>>> {
        let Some(first) = order.first() else {
            return Ok(SortOrderPushdownResult::Unsupported);
        };
        if !crate::running_filters::is_the_time(&first.expr) {
            return Ok(SortOrderPushdownResult::Unsupported);
        }
        let newest_first = first.options.descending;
        let mut scan = self.clone();
        for group in &mut scan.groups {
            sort_by_delivery(group, newest_first);
        }
        scan.newest_first = Some(newest_first);
        Ok(SortOrderPushdownResult::Inexact {
            inner: Arc::new(scan),
        })
    }

    fn execute(
        &self,
        partition: usize,
        _context: Arc<TaskContext>,
    ) -> Result<SendableRecordBatchStream> {
        let files = self.shared.join(&self.groups, partition);
        let mut builder = RecordBatchReceiverStream::builder(Arc::clone(&self.output), 2);
        let tx = builder.tx();
        let schema = Arc::clone(&self.schema);
        let projection = self.projection.clone();
        let options = self.options.clone();
        let stats = Arc::clone(&self.stats);
        let limit = self.limit;
        // Store objects are read ahead of decoding, many at a time, so request latency
        // overlaps with decoding in bounded memory. Local files are read by the decoding
        // thread itself: from the page cache a read is a copy, cheaper than handing each
        // file across threads.
        let remote = self
            .groups
            .iter()
            .flatten()
            .any(|o| matches!(o.body, crate::source::ObjectBody::Store { .. }));
        let (object_tx, mut object_rx) = tokio::sync::mpsc::channel(STORE_READS_AHEAD);
        let mut local = None;
        let gate = Arc::clone(&self.reads);
        let running = self.running.clone();
        if remote {
            let gate = Arc::clone(&gate);
            let running = running.clone();
            let ahead = Arc::new(ReadAhead::new(STORE_READS_AHEAD, !running.is_empty()));
            builder.spawn(async move {
                let (gate, running, ahead) = (&gate, &running, &ahead);
                // `None`: left unread, ruled out by the running filters when its turn
                // to be fetched came. The running filters are read once the object has
                // its read-ahead slot, as late as can be. Slots are taken in the files'
                // order, one after another, so an object never waits for a slot that
                // one later in the order holds.
                let reads = futures::stream::iter(std::iter::from_fn(|| files.next(partition)))
                    .then(|object| {
                        let ahead = Arc::clone(ahead);
                        async move {
                            let slot = ahead.slot().await;
                            (object, slot)
                        }
                    })
                    .map(|(object, slot)| async move {
                        if running.rules_out(&object) {
                            return (object, None, None);
                        }
                        let _pass = gate.enter().await;
                        let bytes = object.read_async().await;
                        (object, Some(bytes), Some(slot))
                    })
                    .buffered(STORE_READS_AHEAD);
                let mut reads = std::pin::pin!(reads);
                while let Some(read) = reads.next().await {
                    if object_tx.send(read).await.is_err() {
                        break;
                    }
                }
                Ok(())
            });
        } else {
            drop(object_tx);
            local = Some(files);
        }
        let fill = self.fill.clone();
        let decoder_filters = self.decoder_filters.clone();
        let part_size = PartSize::new(self.part_bytes, self.options.max_inflated_bytes);
        builder.spawn_blocking(move || {
            // Filling the cache decodes every column and every record; the query still
            // gets its own.
            let (decoded, decoder_filters) = if fill.is_some() {
                (None, &[][..])
            } else {
                (projection.as_deref(), &decoder_filters[..])
            };
            let mut decoder =
                CloudTrailDecoder::with_filters(&schema, decoded, decoder_filters, options.clone());
            let mut writer = fill.map(|cache| cache.writer(schema.arrow_schema()));
            let mut sent = 0usize;
            let mut open = true;
            let mut next = || match local.as_ref().and_then(|files| files.next(partition)) {
                Some(object) if running.rules_out(&object) => Some((object, None, None)),
                Some(object) => {
                    let pass = gate.enter_blocking();
                    let read = Body::open(&object, part_size);
                    drop(pass);
                    Some((object, Some(read), None))
                }
                None => object_rx.blocking_recv().map(|(object, read, slot)| {
                    let body =
                        read.map(|r| r.map(|bytes| Body::of_bytes(&object, bytes, part_size)));
                    (object, body, slot)
                }),
            };
            // A store object's read-ahead slot is held until it is decoded.
            while let Some((object, read, _slot)) = next() {
                let body = match read {
                    None => {
                        stats.update(|s| {
                            s.files_pruned += 1;
                            s.bytes_pruned += object.size;
                        });
                        continue;
                    }
                    Some(Ok(body)) => body,
                    Some(Err(error)) if options.on_error == OnError::Skip => {
                        stats.update(|s| s.add_unreadable(&error.to_string()));
                        continue;
                    }
                    Some(Err(error)) => return Err(external(error)),
                };
                // What was read of the file, when reading stopped before its end.
                let mut bytes_read = object.size;
                let outcome = match (writer.as_mut(), body) {
                    (None, Body::Whole(bytes)) => decoder
                        .decode_file(&object.location, bytes, &mut |batch| {
                            sent += batch.num_rows();
                            open &= tx.blocking_send(Ok(batch)).is_ok();
                        })
                        .map_err(external)?,
                    (None, Body::Parts(parts)) => {
                        let mut whole = FileOutcome {
                            file: object.location.to_string(),
                            ..FileOutcome::default()
                        };
                        let mut parts = match parts.read_ahead(Arc::clone(&gate)) {
                            Ok(parts) => parts,
                            Err(error) if options.on_error == OnError::Skip => {
                                stats.update(|s| s.add_unreadable(&error.to_string()));
                                continue;
                            }
                            Err(error) => return Err(external(error)),
                        };
                        loop {
                            let part = match parts.next_part() {
                                Ok(Some(part)) => part,
                                Ok(None) => break,
                                // Gzip broken part-way, or a part that cannot hold a whole
                                // value: the file fails where it broke, keeping the rows
                                // before, as a file read whole fails on a broken record.
                                Err(crate::Error::Decode(error))
                                    if options.on_error == OnError::Skip =>
                                {
                                    whole.file_error = Some(error);
                                    break;
                                }
                                Err(error) if options.on_error == OnError::Skip => {
                                    stats.update(|s| s.add_unreadable(&error.to_string()));
                                    break;
                                }
                                Err(error) => return Err(external(error)),
                            };
                            let (text, start) = part;
                            let outcome = decoder
                                .decode_part(&object.location, text, start, &mut |batch| {
                                    sent += batch.num_rows();
                                    open &= tx.blocking_send(Ok(batch)).is_ok();
                                })
                                .map_err(external)?;
                            parts.part_done(outcome.summary.records);
                            stats.update(|s| s.file_parts += 1);
                            let failed = outcome.file_error.is_some();
                            whole.absorb(outcome);
                            if failed
                                || !open
                                || limit.is_some_and(|l| sent + decoder.buffered_rows() >= l)
                            {
                                break;
                            }
                        }
                        bytes_read = parts.bytes_read().unwrap_or(object.size);
                        whole
                    }
                    (Some(writer), body) => {
                        let bytes = match body.into_whole() {
                            Ok(bytes) => bytes,
                            Err(error) if options.on_error == OnError::Skip => {
                                stats.update(|s| s.add_unreadable(&error.to_string()));
                                continue;
                            }
                            Err(error) => return Err(external(error)),
                        };
                        // One object's rows at a time, so the cache keeps them together.
                        let mut batches = Vec::new();
                        let outcome = decoder
                            .decode_file(&object.location, bytes, &mut |b| batches.push(b))
                            .map_err(external)?;
                        batches.extend(decoder.flush());
                        // Only what decoded cleanly is cached: a later query must see the
                        // same skips.
                        if outcome.skipped_records == 0
                            && outcome.file_error.is_none()
                            && outcome.summary.skipped.is_empty()
                        {
                            writer.add(&object, &batches);
                        }
                        for batch in batches {
                            let batch = match &projection {
                                Some(indices) => batch.project(indices)?,
                                None => batch,
                            };
                            sent += batch.num_rows();
                            open &= tx.blocking_send(Ok(batch)).is_ok();
                        }
                        outcome
                    }
                };
                stats.update(|s| s.add_file(bytes_read, &outcome));
                // Filters that tighten as rows arrive see each file's rows at once, not
                // a batch's worth of files later.
                if !running.is_empty()
                    && open
                    && let Some(batch) = decoder.flush()
                {
                    sent += batch.num_rows();
                    open &= tx.blocking_send(Ok(batch)).is_ok();
                }
                // The consumer hung up (LIMIT reached, query cancelled) or we have enough.
                if !open || limit.is_some_and(|l| sent + decoder.buffered_rows() >= l) {
                    break;
                }
            }
            if open && let Some(batch) = decoder.flush() {
                let _ = tx.blocking_send(Ok(batch));
            }
            if let Some(writer) = writer.as_mut() {
                writer.finish();
                let (cached, error) = writer.outcome();
                stats.update(|s| {
                    s.objects_cached += cached;
                    if s.cache_error.is_none() {
                        s.cache_error = error.map(str::to_string);
                    }
                });
            }
            Ok(())
        });
        Ok(builder.build())
    }
}
