//! The transparent Parquet cache: the first query over raw logs writes every column of
//! what it decodes to local Parquet files, keyed by each source object's identity (path,
//! size, version); later queries read cached objects from Parquet and decode only
//! objects that are new, changed, or cached with fewer columns than the table has now.
//!
//! Each cache file holds many objects, each a contiguous run of rows. A query selects
//! exactly the runs of the objects it lists (a Parquet row selection), so objects that
//! changed, were deleted, or are outside the query's sources are never read from the
//! cache, and no row filter is evaluated.

use std::collections::{HashMap, HashSet};
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use datafusion::arrow::datatypes::SchemaRef;
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::datasource::listing::PartitionedFile;
use datafusion::datasource::physical_plan::parquet::ParquetRowSelection;
use datafusion::parquet::arrow::ArrowWriter;
use datafusion::parquet::arrow::arrow_reader::{RowSelection, RowSelector};
use object_store::ObjectMeta;
use object_store::path::Path as StorePath;
use serde::{Deserialize, Serialize};

use super::{Layout, ObjectIdentity, writer_properties};
use crate::error::{Error, Result};
use crate::fnv::Fnv;
use crate::source::{LogObject, ObjectBody};

/// The cache's files live here under its folder; a format change gets a new name.
const FOLDER: &str = "parquet-v1";

/// A cache file is closed after this many rows, so a scan thread's output is a few
/// large files rather than one per object.
const FILE_ROWS: u64 = 1 << 20;

/// The record written beside each cache file, after it: what the file holds.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct FileRecord {
    id: String,
    trailsql: String,
    rows: u64,
    bytes: u64,
    columns: Vec<String>,
    objects: Vec<CachedRun>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct CachedRun {
    #[serde(flatten)]
    identity: ObjectIdentity,
    first_row: u64,
    rows: u64,
}

#[derive(Debug)]
struct CacheFile {
    id: String,
    meta: ObjectMeta,
    rows: u64,
    columns: HashSet<String>,
}

#[derive(Debug, Clone)]
struct Run {
    size: u64,
    version: String,
    file: Arc<CacheFile>,
    first_row: u64,
    rows: u64,
}

#[derive(Debug, Default)]
struct State {
    files: HashMap<String, Arc<CacheFile>>,
    /// Runs by source object location, oldest first.
    objects: HashMap<String, Vec<Run>>,
}

/// Whether each cache file (by identity) has every column a query's table has: asked
/// once per file, not once per object.
type ColumnFit = HashMap<*const CacheFile, bool>;

/// A cache file and the `(first_row, rows)` runs a query selects in it.
type FileRuns = (Arc<CacheFile>, Vec<(u64, u64)>);

/// What the cache holds.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CacheSummary {
    pub files: u64,
    pub bytes: u64,
    pub objects: u64,
    pub rows: u64,
}

impl std::fmt::Display for CacheSummary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} object(s), {} events in {} Parquet file(s), {:.1} MB",
            self.objects,
            self.rows,
            self.files,
            self.bytes as f64 / 1e6
        )
    }
}

/// How a listing divides between the cache and decoding.
#[derive(Debug, Default)]
pub(crate) struct CacheSplit {
    pub files: Vec<PartitionedFile>,
    pub uncached: Vec<LogObject>,
    pub objects: u64,
    pub rows: u64,
}

/// A Parquet cache in a local folder, shared by the engines of a process and safe to
/// share between processes (files appear whole, under names derived from content).
#[derive(Debug)]
pub struct ParquetCache {
    dir: PathBuf,
    state: Mutex<State>,
}

impl ParquetCache {
    /// Opens (creating it when missing) the cache in `dir`.
    pub fn open(dir: &Path) -> Result<Arc<Self>> {
        let io = |error| Error::Io {
            path: dir.display().to_string(),
            error,
        };
        let folder = dir.join(FOLDER);
        std::fs::create_dir_all(&folder).map_err(io)?;
        let folder = std::fs::canonicalize(&folder).map_err(io)?;
        let cache = Arc::new(Self {
            dir: folder,
            state: Mutex::default(),
        });
        let mut records = Vec::new();
        for entry in std::fs::read_dir(&cache.dir).map_err(io)? {
            let path = entry.map_err(io)?.path();
            if path.extension().is_some_and(|e| e == "json") {
                // A record that cannot be read, or whose file is missing or not the size
                // it was written at (truncated, replaced), is a file the cache does not
                // have: those objects are decoded again rather than failing the query.
                if let Some(record) = std::fs::read(&path)
                    .ok()
                    .and_then(|b| serde_json::from_slice::<FileRecord>(&b).ok())
                    .filter(|r| {
                        std::fs::metadata(path.with_extension("parquet"))
                            .is_ok_and(|m| m.len() == r.bytes)
                    })
                {
                    records.push(record);
                }
            }
        }
        records.sort_by(|a, b| a.id.cmp(&b.id));
        for record in records {
            cache.register(record);
        }
        Ok(cache)
    }

    /// The folder the cache's files are in.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn register(&self, record: FileRecord) {
        let path = self.dir.join(format!("{}.parquet", record.id));
        let Ok(location) = StorePath::from_absolute_path(&path) else {
            return;
        };
        let file = Arc::new(CacheFile {
            id: record.id.clone(),
            meta: ObjectMeta {
                location,
                last_modified: chrono::DateTime::<chrono::Utc>::UNIX_EPOCH,
                size: record.bytes,
                e_tag: None,
                version: None,
            },
            rows: record.rows,
            columns: record.columns.into_iter().collect(),
        });
        let mut state = self.lock();
        if state.files.contains_key(&record.id) {
            return;
        }
        state.files.insert(record.id, Arc::clone(&file));
        for run in record.objects {
            state
                .objects
                .entry(run.identity.location)
                .or_default()
                .push(Run {
                    size: run.identity.size,
                    version: run.identity.version,
                    file: Arc::clone(&file),
                    first_row: run.first_row,
                    rows: run.rows,
                });
        }
    }

    /// Whether an object can be cached at all: it has a version to tell a changed
    /// object from the one cached.
    fn cacheable(object: &LogObject) -> bool {
        !matches!(object.body, ObjectBody::Memory(_)) && object.version.is_some()
    }

    /// The newest run holding this object as it is now, with every column asked for.
    fn find(
        &self,
        state: &State,
        object: &LogObject,
        columns: &[String],
        fit: &mut ColumnFit,
    ) -> Option<Run> {
        if !Self::cacheable(object) {
            return None;
        }
        let version = object.version.as_deref()?;
        state
            .objects
            .get(&*object.location)?
            .iter()
            .rev()
            .find(|run| {
                run.size == object.size
                    && run.version == version
                    && *fit
                        .entry(Arc::as_ptr(&run.file))
                        .or_insert_with(|| columns.iter().all(|c| run.file.columns.contains(c)))
            })
            .cloned()
    }

    /// Splits a listing into cached runs (as Parquet files with row selections) and the
    /// objects that must be decoded.
    pub(crate) fn split(&self, objects: Vec<LogObject>, columns: &[String]) -> CacheSplit {
        let state = self.lock();
        let mut split = CacheSplit::default();
        let mut fit = HashMap::new();
        let mut runs: HashMap<String, FileRuns> = HashMap::new();
        for object in objects {
            match self.find(&state, &object, columns, &mut fit) {
                Some(run) => {
                    split.objects += 1;
                    split.rows += run.rows;
                    runs.entry(run.file.id.clone())
                        .or_insert_with(|| (Arc::clone(&run.file), Vec::new()))
                        .1
                        .push((run.first_row, run.rows));
                }
                None => split.uncached.push(object),
            }
        }
        let mut files: Vec<_> = runs.into_values().collect();
        files.sort_by(|a, b| a.0.id.cmp(&b.0.id));
        for (file, mut ranges) in files {
            ranges.sort_unstable();
            let selected: u64 = ranges.iter().map(|r| r.1).sum();
            if selected == 0 {
                continue;
            }
            let partitioned = PartitionedFile::new_from_meta(file.meta.clone());
            split.files.push(if selected == file.rows {
                partitioned
            } else {
                partitioned.with_extension(ParquetRowSelection::new(selection(&ranges, file.rows)))
            });
        }
        split
    }

    /// How many of these objects the cache answers for a table with these columns.
    pub fn coverage(&self, objects: &[LogObject], columns: &[String]) -> (u64, u64) {
        let state = self.lock();
        let mut fit = HashMap::new();
        let covered = objects
            .iter()
            .filter(|o| self.find(&state, o, columns, &mut fit).is_some())
            .count();
        (covered as u64, objects.len() as u64)
    }

    pub fn summary(&self) -> CacheSummary {
        let state = self.lock();
        CacheSummary {
            files: state.files.len() as u64,
            bytes: state.files.values().map(|f| f.meta.size).sum(),
            objects: state.objects.len() as u64,
            rows: state.files.values().map(|f| f.rows).sum(),
        }
    }

    /// Deletes every cached file; returns what there was.
    pub fn clear(&self) -> Result<CacheSummary> {
        let summary = self.summary();
        let mut state = self.lock();
        for entry in std::fs::read_dir(&self.dir).map_err(|error| Error::Io {
            path: self.dir.display().to_string(),
            error,
        })? {
            let Ok(entry) = entry else { continue };
            let path = entry.path();
            if path.is_file() {
                std::fs::remove_file(&path).map_err(|error| Error::Io {
                    path: path.display().to_string(),
                    error,
                })?;
            }
        }
        *state = State::default();
        Ok(summary)
    }

    /// A writer for one scan thread.
    pub(crate) fn writer(self: &Arc<Self>, schema: SchemaRef) -> CacheWriter {
        CacheWriter {
            cache: Arc::clone(self),
            schema,
            open: None,
            error: None,
            objects: 0,
        }
    }
}

/// Rows of the given `(first_row, rows)` runs, sorted, in a file of `total` rows.
fn selection(ranges: &[(u64, u64)], total: u64) -> RowSelection {
    let mut selectors = Vec::new();
    let mut at = 0u64;
    for &(first, rows) in ranges {
        if first > at {
            selectors.push(RowSelector::skip((first - at) as usize));
        }
        if rows > 0 {
            selectors.push(RowSelector::select(rows as usize));
        }
        at = first + rows;
    }
    if total > at {
        selectors.push(RowSelector::skip((total - at) as usize));
    }
    RowSelection::from(selectors)
}

struct OpenFile {
    writer: ArrowWriter<std::fs::File>,
    temporary: PathBuf,
    runs: Vec<CachedRun>,
    rows: u64,
}

/// Writes what one scan thread decodes into cache files. A failure to write turns the
/// writer off and is reported once; it never fails the query.
pub(crate) struct CacheWriter {
    cache: Arc<ParquetCache>,
    schema: SchemaRef,
    open: Option<OpenFile>,
    error: Option<String>,
    objects: u64,
}

impl CacheWriter {
    /// Adds every row of one object, decoded cleanly.
    pub fn add(&mut self, object: &LogObject, batches: &[RecordBatch]) {
        if self.error.is_some() || !ParquetCache::cacheable(object) {
            return;
        }
        if let Err(error) = self.try_add(object, batches) {
            self.error = Some(error);
            if let Some(open) = self.open.take() {
                let _ = std::fs::remove_file(&open.temporary);
            }
            return;
        }
        self.objects += 1;
        if self.open.as_ref().is_some_and(|o| o.rows >= FILE_ROWS) {
            self.finish();
        }
    }

    fn try_add(&mut self, object: &LogObject, batches: &[RecordBatch]) -> Result<(), String> {
        if self.open.is_none() {
            let temporary = self.cache.dir.join(format!(
                ".tmp-{}-{:x}.parquet",
                std::process::id(),
                unique()
            ));
            let file = std::fs::File::create(&temporary).map_err(|e| e.to_string())?;
            let writer = ArrowWriter::try_new(
                file,
                Arc::clone(&self.schema),
                Some(writer_properties(Layout::Cache)),
            )
            .map_err(|e| e.to_string())?;
            self.open = Some(OpenFile {
                writer,
                temporary,
                runs: Vec::new(),
                rows: 0,
            });
        }
        let open = self.open.as_mut().expect("opened above");
        let mut rows = 0u64;
        for batch in batches {
            open.writer.write(batch).map_err(|e| e.to_string())?;
            rows += batch.num_rows() as u64;
        }
        open.runs.push(CachedRun {
            identity: ObjectIdentity::of(object),
            first_row: open.rows,
            rows,
        });
        open.rows += rows;
        Ok(())
    }

    /// Closes the open file and makes it part of the cache.
    pub fn finish(&mut self) {
        let Some(open) = self.open.take() else { return };
        let temporary = open.temporary.clone();
        if let Err(error) = self.commit(open) {
            let _ = std::fs::remove_file(&temporary);
            self.error.get_or_insert(error);
        }
    }

    fn commit(&self, open: OpenFile) -> Result<(), String> {
        open.writer.close().map_err(|e| e.to_string())?;
        let mut hasher = Fnv::default();
        for run in &open.runs {
            run.identity.hash(&mut hasher);
        }
        self.schema.fields().len().hash(&mut hasher);
        for field in self.schema.fields() {
            field.name().hash(&mut hasher);
        }
        let id = format!("{:016x}", hasher.finish());
        let path = self.cache.dir.join(format!("{id}.parquet"));
        let bytes = std::fs::metadata(&open.temporary)
            .map_err(|e| e.to_string())?
            .len();
        std::fs::rename(&open.temporary, &path).map_err(|e| e.to_string())?;
        let record = FileRecord {
            id: id.clone(),
            trailsql: env!("CARGO_PKG_VERSION").to_string(),
            rows: open.rows,
            bytes,
            columns: self
                .schema
                .fields()
                .iter()
                .map(|f| f.name().clone())
                .collect(),
            objects: open.runs,
        };
        // The record is the commit: written whole, then renamed into place.
        let json = self.cache.dir.join(format!("{id}.json"));
        let temporary =
            self.cache
                .dir
                .join(format!(".tmp-{}-{:x}.json", std::process::id(), unique()));
        std::fs::write(
            &temporary,
            serde_json::to_vec(&record).expect("records serialise"),
        )
        .map_err(|e| e.to_string())?;
        std::fs::rename(&temporary, &json).map_err(|e| e.to_string())?;
        self.cache.register(record);
        Ok(())
    }

    /// Objects written so far, and the error that stopped writing, if one did.
    pub fn outcome(&self) -> (u64, Option<&str>) {
        (self.objects, self.error.as_deref())
    }
}

impl Drop for CacheWriter {
    /// A cancelled query leaves no half-written file behind.
    fn drop(&mut self) {
        if let Some(open) = self.open.take() {
            let _ = std::fs::remove_file(&open.temporary);
        }
    }
}

fn unique() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    nanos ^ NEXT.fetch_add(1, Ordering::Relaxed).rotate_left(32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn selections_cover_the_whole_file() {
        let rows = |s: &RowSelection| -> (usize, usize) {
            s.iter().fold((0, 0), |(sel, all), r| {
                (
                    sel + if r.skip { 0 } else { r.row_count },
                    all + r.row_count,
                )
            })
        };
        assert_eq!(rows(&selection(&[(0, 5), (10, 3)], 20)), (8, 20));
        assert_eq!(rows(&selection(&[(5, 0), (7, 13)], 20)), (13, 20));
    }
}
