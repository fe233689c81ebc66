//! `convert`: the `cloudtrail` table written once as Hive-partitioned Parquet
//! (`account=/region=/date=`), incrementally and in shards, and read back as a source.
//!
//! A converted trail is a folder (or S3 prefix) of Parquet files and a manifest under
//! `_trailsql/batches/`: one JSON record per batch of converted source objects, naming
//! the objects (path, size, version) and the files their rows went to. The manifest,
//! not a listing, says what the trail holds, so a half-written file from a crashed or
//! concurrent converter is never read. A record is written only after its files, and a
//! batch that replaces another names it, so a crash between the two leaves a consistent
//! trail.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::hash::{Hash, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use datafusion::arrow::array::{
    Array, AsArray, BooleanArray, RecordBatch, StringArray, UInt32Array,
};
use datafusion::arrow::compute::{
    SortOptions, cast, concat_batches, filter_record_batch, sort_to_indices, take_record_batch,
};
use datafusion::arrow::datatypes::{DataType, SchemaRef, TimestampMicrosecondType};
use datafusion::datasource::listing::PartitionedFile;
use datafusion::execution::object_store::ObjectStoreUrl;
use futures::{StreamExt, TryStreamExt};
use object_store::path::Path as StorePath;
use object_store::{ObjectMeta, ObjectStore, ObjectStoreExt, PutPayload};
use serde::{Deserialize, Serialize};
use trailsql_decode::{CloudTrailDecoder, CloudTrailSchema, DecoderOptions, OnError};

use super::{ObjectIdentity, encode};
use crate::error::{Error, Result};
use crate::fnv::Fnv;
use crate::prune::Constraints;
use crate::source::LogObject;
use crate::stats::ScanStats;

/// Where the manifest lives, under the trail's root.
pub const MANIFEST_DIR: &str = "_trailsql/batches";

/// Inflated bytes of source objects converted into one batch, at most (estimated as
/// eight times a gzipped object's size). A batch is decoded, sorted and written in
/// memory, so this bounds a converter's memory per thread.
const BATCH_INFLATED_BYTES: u64 = 64 << 20;

/// One batch of converted objects, as its manifest record says.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BatchRecord {
    pub id: String,
    /// The trailsql version that wrote it.
    pub trailsql: String,
    pub objects: Vec<ObjectIdentity>,
    pub files: Vec<StoredFile>,
    /// The `requestParameters` leaves flattened into columns in these files.
    pub request_parameters: Vec<Vec<String>>,
    /// Batches this one supersedes (rewritten without objects that changed).
    #[serde(default)]
    pub replaces: Vec<String>,
}

/// One Parquet file of a batch.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StoredFile {
    /// Relative to the trail's root.
    pub path: String,
    pub rows: u64,
    pub bytes: u64,
    pub account: String,
    pub region: String,
    pub date: String,
}

/// A folder or S3 prefix trailsql writes to or reads converted Parquet from.
#[derive(Debug, Clone)]
pub struct Destination {
    pub store: Arc<dyn ObjectStore>,
    /// The trail's root inside the store.
    pub root: StorePath,
    /// The store's URL, as DataFusion's scans find it (`file://`, `s3://bucket`).
    pub url: ObjectStoreUrl,
    /// As the user wrote it, for messages.
    pub display: String,
}

impl Destination {
    /// A local folder, created when missing.
    pub fn local(dir: &std::path::Path) -> Result<Self> {
        std::fs::create_dir_all(dir).map_err(|error| Error::Io {
            path: dir.display().to_string(),
            error,
        })?;
        let absolute = std::fs::canonicalize(dir).map_err(|error| Error::Io {
            path: dir.display().to_string(),
            error,
        })?;
        let root = StorePath::from_absolute_path(&absolute).map_err(|e| Error::Store {
            location: dir.display().to_string(),
            message: e.to_string(),
        })?;
        Ok(Self {
            store: Arc::new(object_store::local::LocalFileSystem::new()),
            root,
            url: ObjectStoreUrl::local_filesystem(),
            display: dir.display().to_string(),
        })
    }

    /// An `s3://bucket/prefix` URL, reached with the engine's S3 settings.
    pub async fn s3(url: &str, options: &crate::s3::S3Options) -> Result<Self> {
        let (bucket, prefix) = crate::s3::parse_url(url).ok_or_else(|| Error::S3 {
            location: url.to_string(),
            message: "expected s3://bucket[/prefix]".to_string(),
        })?;
        let counts = Arc::new(crate::s3::RequestCounts::default());
        let store = crate::s3::store(&bucket, options, counts).await?;
        Self::in_bucket(store, &bucket, &prefix, url)
    }

    /// A prefix of a bucket whose store is already open.
    pub fn in_bucket(
        store: Arc<dyn ObjectStore>,
        bucket: &str,
        prefix: &str,
        display: &str,
    ) -> Result<Self> {
        Ok(Self {
            store,
            root: StorePath::from(prefix),
            url: ObjectStoreUrl::parse(format!("s3://{bucket}"))?,
            display: display.to_string(),
        })
    }

    /// A local folder or an `s3://` URL.
    pub async fn parse(dest: &str, options: &crate::s3::S3Options) -> Result<Self> {
        if dest.starts_with("s3://") {
            Self::s3(dest, options).await
        } else {
            Self::local(std::path::Path::new(dest))
        }
    }

    fn path(&self, relative: &str) -> StorePath {
        let mut path = self.root.clone();
        for part in relative.split('/').filter(|p| !p.is_empty()) {
            path = path.clone().join(part);
        }
        path
    }

    fn location(&self, relative: &str) -> String {
        format!("{}/{}", self.display.trim_end_matches('/'), relative)
    }

    async fn put(&self, relative: &str, bytes: Vec<u8>) -> Result<()> {
        self.store
            .put(&self.path(relative), PutPayload::from(bytes))
            .await
            .map(|_| ())
            .map_err(|e| Error::Store {
                location: self.location(relative),
                message: format!("cannot write: {e}"),
            })
    }

    async fn get(&self, relative: &str) -> Result<Vec<u8>> {
        let read = async {
            let result = self.store.get(&self.path(relative)).await?;
            result.bytes().await
        };
        read.await.map(|b| b.to_vec()).map_err(|e| Error::Store {
            location: self.location(relative),
            message: format!("cannot read: {e}"),
        })
    }

    async fn delete(&self, relative: &str) {
        // A leftover file is never read: the manifest no longer names it.
        let _ = self.store.delete(&self.path(relative)).await;
    }

    /// Whether this place holds a converted trail.
    pub async fn holds_trail(&self) -> bool {
        let manifest = self.path(MANIFEST_DIR);
        self.store
            .list(Some(&manifest))
            .next()
            .await
            .is_some_and(|first| first.is_ok())
    }

    /// The live batches: every record, less those another record replaces.
    pub async fn load_manifest(&self) -> Result<Vec<BatchRecord>> {
        let manifest = self.path(MANIFEST_DIR);
        let metas: Vec<ObjectMeta> = self
            .store
            .list(Some(&manifest))
            .try_collect()
            .await
            .map_err(|e| Error::Store {
                location: self.location(MANIFEST_DIR),
                message: format!("cannot list: {e}"),
            })?;
        let names: Vec<String> = metas
            .iter()
            .filter_map(|m| m.location.filename().map(str::to_string))
            .filter(|name| name.ends_with(".json"))
            .collect();
        let records: Vec<BatchRecord> = futures::stream::iter(names)
            .map(|name| async move {
                let relative = format!("{MANIFEST_DIR}/{name}");
                let bytes = self.get(&relative).await?;
                serde_json::from_slice::<BatchRecord>(&bytes).map_err(|e| Error::Store {
                    location: self.location(&relative),
                    message: format!("not a trailsql batch record: {e}"),
                })
            })
            .buffer_unordered(16)
            .try_collect()
            .await?;
        let replaced: HashSet<&str> = records
            .iter()
            .flat_map(|r| r.replaces.iter().map(String::as_str))
            .collect();
        let mut live: Vec<BatchRecord> = records
            .iter()
            .filter(|r| !replaced.contains(r.id.as_str()))
            .cloned()
            .collect();
        live.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(live)
    }
}

/// A converted trail opened as a source of the `cloudtrail` table.
#[derive(Debug)]
pub struct ConvertedTrail {
    pub destination: Destination,
    pub batches: Vec<BatchRecord>,
}

impl ConvertedTrail {
    pub async fn open(destination: Destination) -> Result<Self> {
        let batches = destination.load_manifest().await?;
        Ok(Self {
            destination,
            batches,
        })
    }

    /// Every `requestParameters` path some batch flattened.
    pub fn request_parameter_paths(&self) -> Vec<Vec<String>> {
        union_by_column(
            self.batches
                .iter()
                .flat_map(|b| b.request_parameters.iter().cloned()),
        )
    }

    pub fn objects(&self) -> u64 {
        self.batches.iter().map(|b| b.objects.len() as u64).sum()
    }

    /// The files that can hold events meeting the constraints, by their partition.
    pub fn select(&self, constraints: &Constraints, late_delivery_micros: i64) -> Selected {
        // Partitions are delivery days (or event days, which fall inside them).
        let (earliest, latest) = crate::layout::delivery_window(constraints, late_delivery_micros);
        let (first_day, last_day) = (earliest.map(day_of), latest.map(day_of));
        let mut selected = Selected::default();
        for file in self.batches.iter().flat_map(|b| &b.files) {
            let dated = file.date.len() == 10;
            let keep = constraints
                .accounts
                .as_ref()
                .is_none_or(|a| file.account == UNKNOWN || a.contains(&file.account))
                && constraints
                    .regions
                    .as_ref()
                    .is_none_or(|r| file.region == UNKNOWN || r.contains(&file.region))
                && (!dated
                    || (first_day.as_ref().is_none_or(|d| file.date >= *d)
                        && last_day.as_ref().is_none_or(|d| file.date <= *d)));
            if keep {
                selected.events += file.rows;
                selected
                    .files
                    .push(PartitionedFile::new_from_meta(ObjectMeta {
                        location: self.destination.path(&file.path),
                        last_modified: chrono::DateTime::<chrono::Utc>::UNIX_EPOCH,
                        size: file.bytes,
                        e_tag: None,
                        version: None,
                    }));
            } else {
                selected.pruned += 1;
                selected.pruned_bytes += file.bytes;
            }
        }
        selected
    }
}

/// What a query reads of a converted trail.
#[derive(Debug, Default)]
pub struct Selected {
    pub files: Vec<PartitionedFile>,
    pub events: u64,
    /// Files whose partition rules them out.
    pub pruned: u64,
    pub pruned_bytes: u64,
}

/// `requestParameters` paths without repeats, in column-name order (discovery's order).
pub(crate) fn union_by_column(paths: impl IntoIterator<Item = Vec<String>>) -> Vec<Vec<String>> {
    let mut by_name = BTreeMap::new();
    for path in paths {
        let parts: Vec<&str> = path.iter().map(String::as_str).collect();
        by_name
            .entry(trailsql_decode::flat_name("requestParameters", &parts))
            .or_insert(path);
    }
    by_name.into_values().collect()
}

const UNKNOWN: &str = "unknown";

/// A partition's `date=` value.
fn day_of(micros: i64) -> String {
    crate::layout::day_of(micros)
        .map(|d| d.format("%Y-%m-%d").to_string())
        .unwrap_or_default()
}

/// `--shard i/N`: this worker converts the folders whose name hashes to `i` of `N`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    pub index: usize,
    pub count: usize,
}

impl Default for Shard {
    fn default() -> Self {
        Shard { index: 0, count: 1 }
    }
}

impl std::str::FromStr for Shard {
    type Err = String;

    fn from_str(text: &str) -> std::result::Result<Self, String> {
        let (index, count) = text
            .split_once('/')
            .ok_or_else(|| format!("{text:?}: expected i/N, such as 0/4"))?;
        let index: usize = index
            .trim()
            .parse()
            .map_err(|_| format!("{text:?}: i is not a number"))?;
        let count: usize = count
            .trim()
            .parse()
            .map_err(|_| format!("{text:?}: N is not a number"))?;
        if count == 0 || index >= count {
            return Err(format!("{text:?}: expected 0 <= i < N"));
        }
        Ok(Shard { index, count })
    }
}

impl Shard {
    fn owns(&self, unit: &str) -> bool {
        let mut hasher = Fnv::default();
        unit.hash(&mut hasher);
        hasher.finish() % self.count as u64 == self.index as u64
    }
}

/// Settings of a conversion.
#[derive(Debug, Clone, Default)]
pub struct ConvertOptions {
    pub shard: Shard,
    /// Threads decoding and writing; defaults to the number of cores.
    pub threads: Option<usize>,
}

/// How far a conversion has got.
#[derive(Debug, Clone, Default)]
pub struct ConvertProgress {
    pub objects_done: u64,
    pub objects_total: u64,
    pub bytes_done: u64,
    pub bytes_total: u64,
    pub events: u64,
}

/// What a conversion did.
#[derive(Debug, Clone, Default)]
pub struct ConvertReport {
    /// Source objects listed.
    pub listed: u64,
    /// Listed objects converted by an earlier run, left alone.
    pub already_converted: u64,
    /// Listed objects another shard converts.
    pub other_shards: u64,
    /// Objects converted by this run.
    pub converted: u64,
    /// Of those, objects whose earlier conversion was out of date (size or version
    /// changed); their old rows were removed.
    pub changed: u64,
    pub events: u64,
    pub bytes_read: u64,
    pub batches_written: u64,
    pub files_written: u64,
    pub bytes_written: u64,
    /// What decoding read and skipped, as a query's statistics say it.
    pub scan: ScanStats,
}

impl std::fmt::Display for ConvertReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(
            f,
            "converted {} object(s) ({} events, {:.1} MB read) into {} Parquet file(s), {:.1} MB",
            self.converted,
            self.events,
            self.bytes_read as f64 / 1e6,
            self.files_written,
            self.bytes_written as f64 / 1e6
        )?;
        write!(
            f,
            "listed {}, already converted {}, left to other shards {}, changed since converted {}",
            self.listed, self.already_converted, self.other_shards, self.changed
        )
    }
}

/// The work of one folder: objects to convert and batches to rewrite without changed
/// objects.
struct Unit {
    objects: Vec<LogObject>,
    stale: Vec<(BatchRecord, HashSet<String>)>,
}

/// Converts `objects` (every object of the engine's sources) into `destination`.
pub(crate) fn convert(
    objects: Vec<LogObject>,
    schema: &Arc<CloudTrailSchema>,
    decoder_options: DecoderOptions,
    destination: &Destination,
    existing: Vec<BatchRecord>,
    options: &ConvertOptions,
    progress: &(dyn Fn(&ConvertProgress) + Sync),
) -> Result<ConvertReport> {
    let request_parameters = &schema.request_parameter_paths();
    let mut report = ConvertReport {
        listed: objects.len() as u64,
        ..ConvertReport::default()
    };
    let mut converted: HashMap<&str, (&ObjectIdentity, &BatchRecord)> = HashMap::new();
    for batch in &existing {
        for identity in &batch.objects {
            converted.insert(identity.location.as_str(), (identity, batch));
        }
    }
    let mut units: BTreeMap<String, Unit> = BTreeMap::new();
    for object in objects {
        let identity = ObjectIdentity::of(&object);
        let key = unit_of(&object.location).to_string();
        if !options.shard.owns(&key) {
            report.other_shards += 1;
            continue;
        }
        let unit = units.entry(key).or_insert_with(|| Unit {
            objects: Vec::new(),
            stale: Vec::new(),
        });
        match converted.get(identity.location.as_str()) {
            Some((old, _)) if **old == identity => report.already_converted += 1,
            Some((_, batch)) => {
                report.changed += 1;
                match unit.stale.iter_mut().find(|(b, _)| b.id == batch.id) {
                    Some((_, drop)) => {
                        drop.insert(identity.location.clone());
                    }
                    None => unit
                        .stale
                        .push(((*batch).clone(), HashSet::from([identity.location.clone()]))),
                }
                unit.objects.push(object);
            }
            None => unit.objects.push(object),
        }
    }
    let units: Vec<Unit> = units
        .into_values()
        .filter(|u| !u.objects.is_empty())
        .collect();
    let total = ConvertProgress {
        objects_total: units.iter().map(|u| u.objects.len() as u64).sum(),
        bytes_total: units.iter().flat_map(|u| &u.objects).map(|o| o.size).sum(),
        ..ConvertProgress::default()
    };
    progress(&total);
    let threads = options
        .threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
        .max(1);
    let runtime = tokio::runtime::Handle::current();
    let done_objects = AtomicU64::new(0);
    let done_bytes = AtomicU64::new(0);
    let done_events = AtomicU64::new(0);
    let failure: Mutex<Option<Error>> = Mutex::new(None);
    let writer = BatchWriter {
        schema,
        request_parameters,
        destination,
        runtime: &runtime,
        on_error: decoder_options.on_error,
    };
    let results = crate::parallel::drain(
        &units,
        threads,
        || {
            (
                ConvertReport::default(),
                CloudTrailDecoder::new(schema, None, decoder_options.clone()),
            )
        },
        |(part, decoder), unit| {
            let _entered = runtime.enter();
            let outcome = (|| -> Result<()> {
                for (batch, drop) in &unit.stale {
                    writer.rewrite_without(batch, drop)?;
                }
                for chunk in chunks(&unit.objects) {
                    let events = writer.convert_chunk(chunk, decoder, part)?;
                    done_events.fetch_add(events, Ordering::Relaxed);
                    done_objects.fetch_add(chunk.len() as u64, Ordering::Relaxed);
                    done_bytes.fetch_add(chunk.iter().map(|o| o.size).sum(), Ordering::Relaxed);
                    progress(&ConvertProgress {
                        objects_done: done_objects.load(Ordering::Relaxed),
                        bytes_done: done_bytes.load(Ordering::Relaxed),
                        events: done_events.load(Ordering::Relaxed),
                        ..total
                    });
                }
                Ok(())
            })();
            match outcome {
                Ok(()) => true,
                Err(error) => {
                    failure.lock().expect("not poisoned").get_or_insert(error);
                    false
                }
            }
        },
    );
    if let Some(error) = failure.into_inner().expect("not poisoned") {
        return Err(error);
    }
    for (part, _) in results {
        report.converted += part.converted;
        report.events += part.events;
        report.bytes_read += part.bytes_read;
        report.batches_written += part.batches_written;
        report.files_written += part.files_written;
        report.bytes_written += part.bytes_written;
        report.scan.merge(&part.scan);
    }
    Ok(report)
}

/// The folder an object is in: a day folder in CloudTrail's layout. Objects of one
/// folder go to the same batches and the same shard.
fn unit_of(location: &str) -> &str {
    location.rsplit_once('/').map_or("", |(dir, _)| dir)
}

/// Consecutive objects of a folder, up to [`BATCH_INFLATED_BYTES`] each.
fn chunks(objects: &[LogObject]) -> Vec<&[LogObject]> {
    let mut out = Vec::new();
    let (mut start, mut bytes) = (0, 0u64);
    for (i, object) in objects.iter().enumerate() {
        let inflated = if object.location.ends_with(".gz") {
            object.size.saturating_mul(8)
        } else {
            object.size
        };
        if i > start && bytes + inflated > BATCH_INFLATED_BYTES {
            out.push(&objects[start..i]);
            start = i;
            bytes = 0;
        }
        bytes += inflated;
    }
    if start < objects.len() {
        out.push(&objects[start..]);
    }
    out
}

struct BatchWriter<'a> {
    schema: &'a Arc<CloudTrailSchema>,
    request_parameters: &'a [Vec<String>],
    destination: &'a Destination,
    runtime: &'a tokio::runtime::Handle,
    on_error: OnError,
}

impl BatchWriter<'_> {
    /// Decodes, partitions, sorts and writes one batch of objects, then its record.
    fn convert_chunk(
        &self,
        objects: &[LogObject],
        decoder: &mut CloudTrailDecoder,
        report: &mut ConvertReport,
    ) -> Result<u64> {
        let mut batches = Vec::new();
        let mut identities = Vec::new();
        for object in objects {
            let bytes = match object.read() {
                Ok(bytes) => bytes,
                Err(error) if self.on_error == OnError::Skip => {
                    report.scan.add_unreadable(&error.to_string());
                    continue;
                }
                Err(error) => return Err(error),
            };
            let outcome = decoder.decode_file(&object.location, bytes, &mut |b| batches.push(b))?;
            report.scan.add_file(object.size, &outcome);
            report.bytes_read += object.size;
            identities.push(ObjectIdentity::of(object));
        }
        batches.extend(decoder.flush());
        let arrow = self.schema.arrow_schema();
        let all =
            concat_batches(&arrow, &batches).map_err(datafusion::error::DataFusionError::from)?;
        drop(batches);
        let id = batch_id(&identities);
        let events = all.num_rows() as u64;
        let mut files = Vec::new();
        let partitions = partitions(&all)?;
        // One partition (a day folder of the layout, the usual case) needs no copy by
        // partition: the batch is sorted as it is, and freed before it is encoded.
        let single = partitions.len() == 1;
        let mut all = Some(all);
        for (partition, rows) in partitions {
            let sorted = if single {
                sort_by_time(&all.take().expect("the one partition takes it"))?
            } else {
                let whole = all.as_ref().expect("kept for every partition");
                let part = take_record_batch(whole, &rows)
                    .map_err(datafusion::error::DataFusionError::from)?;
                sort_by_time(&part)?
            };
            let relative = format!(
                "account={}/region={}/date={}/part-{id}.parquet",
                partition.0, partition.1, partition.2
            );
            let bytes = encode(&arrow, &[sorted]).map_err(|message| Error::Store {
                location: self.destination.location(&relative),
                message,
            })?;
            let size = bytes.len() as u64;
            self.runtime
                .block_on(self.destination.put(&relative, bytes))?;
            files.push(StoredFile {
                path: relative,
                rows: rows.len() as u64,
                bytes: size,
                account: partition.0,
                region: partition.1,
                date: partition.2,
            });
        }
        let record = BatchRecord {
            id,
            trailsql: env!("CARGO_PKG_VERSION").to_string(),
            objects: identities,
            files,
            request_parameters: self.request_parameters.to_vec(),
            replaces: Vec::new(),
        };
        self.write_record(&record, report)?;
        report.converted += objects.len() as u64;
        report.events += events;
        Ok(events)
    }

    fn write_record(&self, record: &BatchRecord, report: &mut ConvertReport) -> Result<()> {
        let json = serde_json::to_vec_pretty(record).expect("records serialise");
        self.runtime.block_on(
            self.destination
                .put(&format!("{MANIFEST_DIR}/{}.json", record.id), json),
        )?;
        report.batches_written += 1;
        report.files_written += record.files.len() as u64;
        report.bytes_written += record.files.iter().map(|f| f.bytes).sum::<u64>();
        Ok(())
    }

    /// Writes `batch` again without the rows of the objects in `drop`, as a batch that
    /// replaces it, then deletes the old one.
    fn rewrite_without(&self, batch: &BatchRecord, drop: &HashSet<String>) -> Result<()> {
        let objects: Vec<ObjectIdentity> = batch
            .objects
            .iter()
            .filter(|o| !drop.contains(&o.location))
            .cloned()
            .collect();
        let manifest_record = format!("{MANIFEST_DIR}/{}.json", batch.id);
        if objects.is_empty() {
            // Every object changed: the batch goes, and its objects are converted anew.
            self.runtime.block_on(async {
                self.destination.delete(&manifest_record).await;
                for file in &batch.files {
                    self.destination.delete(&file.path).await;
                }
            });
            return Ok(());
        }
        // Named by what it holds and what it replaces, so it never takes the name of a
        // batch converted from scratch.
        let mut hasher = Fnv::default();
        batch.id.hash(&mut hasher);
        objects.hash(&mut hasher);
        let id = format!("{:016x}", hasher.finish());
        let mut files = Vec::new();
        for file in &batch.files {
            let bytes = self.runtime.block_on(self.destination.get(&file.path))?;
            let location = self.destination.location(&file.path);
            let bad = |e: &dyn std::fmt::Display| Error::Store {
                location: location.clone(),
                message: e.to_string(),
            };
            let reader =
                datafusion::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(
                    bytes::Bytes::from(bytes),
                )
                .and_then(|b| b.build())
                .map_err(|e| bad(&e))?;
            let schema: SchemaRef =
                datafusion::arrow::record_batch::RecordBatchReader::schema(&reader);
            let mut kept = Vec::new();
            for batch in reader {
                let batch = batch.map_err(|e| bad(&e))?;
                let files = string_column(&batch, "log_file")?;
                let keep: BooleanArray = files
                    .iter()
                    .map(|f| Some(!f.is_some_and(|f| drop.contains(f))))
                    .collect();
                kept.push(filter_record_batch(&batch, &keep).map_err(|e| bad(&e))?);
            }
            let rows: usize = kept.iter().map(RecordBatch::num_rows).sum();
            if rows == 0 {
                continue;
            }
            let relative = file
                .path
                .replace(&format!("part-{}", batch.id), &format!("part-{id}"));
            let encoded = encode(&schema, &kept).map_err(|m| bad(&m))?;
            let size = encoded.len() as u64;
            self.runtime
                .block_on(self.destination.put(&relative, encoded))?;
            files.push(StoredFile {
                path: relative,
                rows: rows as u64,
                bytes: size,
                ..file.clone()
            });
        }
        let record = BatchRecord {
            id,
            trailsql: env!("CARGO_PKG_VERSION").to_string(),
            objects,
            files,
            request_parameters: batch.request_parameters.clone(),
            replaces: vec![batch.id.clone()],
        };
        self.write_record(&record, &mut ConvertReport::default())?;
        self.runtime.block_on(async {
            self.destination.delete(&manifest_record).await;
            for file in &batch.files {
                if !record.files.iter().any(|f| f.path == file.path) {
                    self.destination.delete(&file.path).await;
                }
            }
        });
        Ok(())
    }
}

/// Names a batch by what it holds, so converting the same objects again writes the same
/// files, and two shards never collide.
fn batch_id(objects: &[ObjectIdentity]) -> String {
    let mut hasher = Fnv::default();
    for object in objects {
        object.hash(&mut hasher);
    }
    format!("{:016x}", hasher.finish())
}

fn string_column(batch: &RecordBatch, name: &str) -> Result<StringArray> {
    let column = batch.column_by_name(name).ok_or_else(|| Error::Store {
        location: name.to_string(),
        message: "column missing from a converted file".to_string(),
    })?;
    let column = cast(column, &DataType::Utf8).map_err(datafusion::error::DataFusionError::from)?;
    Ok(column.as_string::<i32>().clone())
}

/// Rows by Hive partition: the layout's account, region and day folder when the file
/// was in it, else the event's account, region and day.
fn partitions(batch: &RecordBatch) -> Result<BTreeMap<(String, String, String), UInt32Array>> {
    let log_account = string_column(batch, "log_account")?;
    let log_region = string_column(batch, "log_region")?;
    let log_date = string_column(batch, "log_date")?;
    let account = string_column(batch, "recipientaccountid")?;
    let region = string_column(batch, "awsregion")?;
    let time = batch
        .column_by_name("eventtime")
        .and_then(|c| c.as_primitive_opt::<TimestampMicrosecondType>())
        .cloned();
    let mut rows: BTreeMap<(String, String, String), Vec<u32>> = BTreeMap::new();
    for row in 0..batch.num_rows() {
        let pick = |a: &StringArray, b: &StringArray| {
            let value = if a.is_valid(row) {
                a.value(row)
            } else if b.is_valid(row) {
                b.value(row)
            } else {
                UNKNOWN
            };
            partition_value(value)
        };
        let date = if log_date.is_valid(row) {
            partition_value(log_date.value(row))
        } else {
            time.as_ref()
                .filter(|t| t.is_valid(row))
                .map(|t| day_of(t.value(row)))
                .filter(|d| !d.is_empty())
                .unwrap_or_else(|| UNKNOWN.to_string())
        };
        rows.entry((
            pick(&log_account, &account),
            pick(&log_region, &region),
            date,
        ))
        .or_default()
        .push(row as u32);
    }
    Ok(rows
        .into_iter()
        .map(|(key, rows)| (key, UInt32Array::from(rows)))
        .collect())
}

/// A value as a folder name: event fields are untrusted, so anything beyond letters,
/// digits, `-`, `_` and `.` becomes `_`, and `.`/`..` cannot climb out.
fn partition_value(value: &str) -> String {
    let cleaned: String = value
        .chars()
        .take(64)
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '_'
            }
        })
        .collect();
    if cleaned.is_empty() || cleaned.starts_with('.') {
        format!("_{cleaned}")
    } else {
        cleaned
    }
}

fn sort_by_time(batch: &RecordBatch) -> Result<RecordBatch> {
    let Some(time) = batch.column_by_name("eventtime") else {
        return Ok(batch.clone());
    };
    let order = sort_to_indices(
        time,
        Some(SortOptions {
            descending: false,
            nulls_first: false,
        }),
        None,
    )
    .map_err(datafusion::error::DataFusionError::from)?;
    Ok(take_record_batch(batch, &order).map_err(datafusion::error::DataFusionError::from)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_parse_and_split_folders_exactly_once() {
        assert!("1/0".parse::<Shard>().is_err());
        assert!("2/2".parse::<Shard>().is_err());
        assert!("x".parse::<Shard>().is_err());
        let shards: Vec<Shard> = (0..3).map(|i| format!("{i}/3").parse().unwrap()).collect();
        for unit in ["a", "b/c", "AWSLogs/1/CloudTrail/us-east-1/2024/01/02", ""] {
            assert_eq!(shards.iter().filter(|s| s.owns(unit)).count(), 1);
        }
    }

    #[test]
    fn partition_values_cannot_escape_their_folder() {
        assert_eq!(partition_value("123456789012"), "123456789012");
        assert_eq!(partition_value("us-east-1"), "us-east-1");
        assert_eq!(partition_value("../../etc"), "_.._.._etc");
        assert_eq!(partition_value(".."), "_..");
        assert_eq!(partition_value("a/b=c"), "a_b_c");
        assert_eq!(partition_value(""), "_");
    }
}
