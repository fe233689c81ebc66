//! The `Engine`: sources in, SQL over the `cloudtrail` table out.

use std::collections::HashSet;
use std::pin::Pin;
use std::sync::{Arc, RwLock};
use std::task::{Context, Poll};

use datafusion::arrow::datatypes::SchemaRef;
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::common::ParamValues;
use datafusion::execution::SendableRecordBatchStream;
use datafusion::execution::disk_manager::{DiskManagerBuilder, DiskManagerMode};
use datafusion::execution::memory_pool::{FairSpillPool, TrackConsumersPool};
use datafusion::execution::runtime_env::{RuntimeEnv, RuntimeEnvBuilder};
use datafusion::execution::session_state::SessionStateBuilder;
use datafusion::optimizer::AnalyzerRule;
use datafusion::physical_plan::{ExecutionPlan, execute_stream};
use datafusion::prelude::{DataFrame, SessionConfig, SessionContext};
use futures::{Stream, StreamExt};
use trailsql_decode::{CloudTrailSchema, DecoderOptions, OnError, SchemaDiscovery};

use crate::booleans::TextBooleans;
use crate::error::{Error, Result};
use crate::layout::{Layout, Lister, LocalLister};
use crate::parquet::cache::ParquetCache;
use crate::parquet::convert::{
    ConvertOptions, ConvertProgress, ConvertReport, ConvertedTrail, Destination,
};
use crate::scan::CloudTrailScanExec;
use crate::source::{self, LogObject};
use crate::sql::{
    DottedPathPlanner, json_path_udf, normalize_quoted_columns, rewrite_cross_join_unnest,
    rewrite_trino_expressions,
};
use crate::stats::ScanStats;
use crate::table::CloudTrailTable;

/// Schema discovery on a source in CloudTrail's layout samples the newest day of at most
/// this many region folders (spread over all of them), this many files each.
const DISCOVERY_REGIONS: usize = 32;
const DISCOVERY_FILES_PER_REGION: usize = 16;

/// The table every source is queried as.
pub const TABLE_NAME: &str = "cloudtrail";

/// Settings of an [`Engine`].
#[derive(Debug, Clone)]
pub struct EngineOptions {
    /// Fail on the first bad file or record (default), or skip and count.
    pub on_error: OnError,
    /// Inflated bytes of sampled files read to discover `requestparameters_*` columns.
    pub discovery_bytes: u64,
    /// Most `requestparameters_*` columns to create.
    pub max_request_parameter_columns: usize,
    /// The most inflated bytes held of one file at once: a file read whole that inflates
    /// past this is refused (a gzip bomb stops there), and so is a file read in parts
    /// whose part must grow past it to hold a whole value. Parts are never larger.
    pub max_inflated_bytes: u64,
    /// Partitions (threads) a scan decodes with; defaults to the number of cores.
    pub target_partitions: Option<usize>,
    /// How long after an event CloudTrail may deliver the file holding it. Time filters
    /// skip files delivered before the window or longer than this after it. AWS says
    /// delivery takes "an average of about 5 minutes" and is not guaranteed.
    pub late_delivery: std::time::Duration,
    /// How `s3://` sources are reached.
    pub s3: crate::s3::S3Options,
    /// Where discovered `requestparameters_*` columns are remembered, keyed by the
    /// sampled objects' names and sizes, so that opening the same trail again reads
    /// nothing to discover them. `None` discovers every time.
    pub schema_cache: Option<std::path::PathBuf>,
    /// A folder for the transparent Parquet cache: queries read cached objects from it
    /// and add what they decode. `None` (the default) decodes raw logs every time.
    pub parquet_cache: Option<std::path::PathBuf>,
    /// Refuse statements that write (`COPY`, `INSERT`), change the catalog (`CREATE
    /// EXTERNAL TABLE`, which could read files outside the sources, `CREATE VIEW`,
    /// `DROP`) or change settings (`SET`): only queries of the sources run. `check`
    /// runs this way by default.
    pub read_only: bool,
    /// Bytes that sorts, group-bys and joins may hold in memory; past it they spill to
    /// disk (see `spill`) or fail with "Resources exhausted". `None`: no limit. The scan's
    /// own buffers (a few batches and one file per thread) are outside this budget.
    pub memory_limit: Option<usize>,
    /// Where operators over `memory_limit` spill.
    pub spill: SpillTo,
    /// Object reads in flight at once (open files, S3 GETs), over every query of the
    /// engine.
    pub max_concurrent_reads: usize,
    /// Files larger than this, plain or inflated, are read and decoded in parts of about
    /// this size, cut between top-level JSON values (NDJSON lines), so that a
    /// multi-gigabyte export is held a part at a time: plain local files as they are
    /// read, gzip as it is inflated (from the file, or from a store object's bytes). A
    /// file with nowhere to cut (one `{"Records":[...]}` object) is still read whole.
    pub part_bytes: usize,
}

/// Where sorts and group-bys spill when they pass the memory limit.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum SpillTo {
    /// A temporary folder of the operating system's.
    #[default]
    TempDir,
    /// Temporary files in this folder.
    Folder(std::path::PathBuf),
    /// Nowhere: an operator over the limit fails.
    Off,
}

/// The per-user cache folder: `$TRAILSQL_CACHE_DIR`, else `$XDG_CACHE_HOME/trailsql`,
/// else `~/.cache/trailsql`. `TRAILSQL_CACHE_DIR=off` turns caching off.
pub fn default_cache_dir() -> Option<std::path::PathBuf> {
    match std::env::var_os("TRAILSQL_CACHE_DIR") {
        Some(dir) if dir == "off" => return None,
        Some(dir) if !dir.is_empty() => return Some(dir.into()),
        _ => {}
    }
    if let Some(dir) = std::env::var_os("XDG_CACHE_HOME").filter(|d| !d.is_empty()) {
        return Some(std::path::PathBuf::from(dir).join("trailsql"));
    }
    std::env::var_os("HOME")
        .filter(|h| !h.is_empty())
        .map(|home| {
            std::path::PathBuf::from(home)
                .join(".cache")
                .join("trailsql")
        })
}

impl Default for EngineOptions {
    fn default() -> Self {
        Self {
            on_error: OnError::Fail,
            discovery_bytes: 64 << 20,
            max_request_parameter_columns: 2000,
            max_inflated_bytes: DecoderOptions::default().max_inflated_bytes,
            target_partitions: None,
            late_delivery: std::time::Duration::from_secs(3600),
            s3: crate::s3::S3Options::default(),
            schema_cache: None,
            parquet_cache: None,
            read_only: false,
            memory_limit: None,
            spill: SpillTo::TempDir,
            max_concurrent_reads: crate::reads::DEFAULT_CONCURRENT_READS,
            part_bytes: crate::parts::DEFAULT_PART_BYTES,
        }
    }
}

/// An embedded SQL engine over CloudTrail logs.
///
/// Sources are listed and sampled once, when the engine is opened; every query after
/// that reuses the listing and the discovered schema.
pub struct Engine {
    ctx: SessionContext,
    table: Arc<CloudTrailTable>,
    /// Lower-case names of the table and its columns, for quoted-identifier matching.
    names: HashSet<String>,
    /// Requests made to object stores (S3) by this engine's sources.
    requests: Option<Arc<crate::s3::RequestCounts>>,
    options: EngineOptions,
}

impl Engine {
    /// Opens files, folders and globs as the `cloudtrail` table. A folder in CloudTrail's
    /// layout (`AWSLogs/...` at or above it) is mapped down to its region folders and
    /// listed further only as each query's filters need.
    pub async fn open<S: AsRef<str>>(sources: &[S], options: EngineOptions) -> Result<Self> {
        let mut plain = Vec::new();
        let mut layouts = Vec::new();
        let mut converted = Vec::new();
        let mut store_objects = Vec::new();
        let counts = Arc::new(crate::s3::RequestCounts::default());
        let mut stores: std::collections::HashMap<String, Arc<dyn object_store::ObjectStore>> =
            std::collections::HashMap::new();
        for source in sources {
            let source = source.as_ref();
            if source.starts_with("s3://") {
                let (bucket, prefix) = crate::s3::parse_url(source).ok_or_else(|| Error::S3 {
                    location: source.to_string(),
                    message: "expected s3://bucket[/prefix]".to_string(),
                })?;
                let store = match stores.get(&bucket) {
                    Some(store) => Arc::clone(store),
                    None => {
                        let store =
                            crate::s3::store(&bucket, &options.s3, Arc::clone(&counts)).await?;
                        stores.insert(bucket.clone(), Arc::clone(&store));
                        store
                    }
                };
                let destination =
                    Destination::in_bucket(Arc::clone(&store), &bucket, &prefix, source)?;
                if destination.holds_trail().await {
                    converted.push(Arc::new(ConvertedTrail::open(destination).await?));
                    continue;
                }
                let lister: Arc<dyn Lister> = Arc::new(crate::s3::S3Lister { bucket, store });
                match Layout::discover(Arc::clone(&lister), &prefix).await? {
                    Some(layout) => layouts.push(Arc::new(layout)),
                    None => {
                        let found = lister.all(&prefix).await?;
                        if found.is_empty() {
                            return Err(Error::NotFound {
                                path: source.to_string(),
                            });
                        }
                        store_objects.extend(found);
                    }
                }
                continue;
            }
            let local = std::path::Path::new(source);
            if local.join(crate::parquet::convert::MANIFEST_DIR).is_dir() {
                let destination = Destination::local(local)?;
                converted.push(Arc::new(ConvertedTrail::open(destination).await?));
                continue;
            }
            if local.is_dir() {
                let lister: Arc<dyn Lister> = Arc::new(LocalLister);
                if let Some(layout) = Layout::discover(lister, source).await? {
                    layouts.push(Arc::new(layout));
                    continue;
                }
            }
            plain.push(source.to_string());
        }
        if layouts.is_empty()
            && store_objects.is_empty()
            && plain.is_empty()
            && converted.is_empty()
        {
            return Err(Error::NotFound {
                path: "(no sources)".to_string(),
            });
        }
        let mut objects = if plain.is_empty() {
            Vec::new()
        } else {
            tokio::task::spawn_blocking(move || source::list(&plain))
                .await
                .map_err(|e| {
                    Error::DataFusion(datafusion::error::DataFusionError::External(Box::new(e)))
                })??
        };
        objects.extend(store_objects);
        let mut engine = Self::build(objects, layouts, converted, options).await?;
        engine.requests = Some(counts);
        Ok(engine)
    }

    /// Opens the sample data built into the library.
    pub async fn sample(options: EngineOptions) -> Result<Self> {
        Self::from_objects(crate::sample::objects(), options).await
    }

    /// Opens already listed objects.
    pub async fn from_objects(objects: Vec<LogObject>, options: EngineOptions) -> Result<Self> {
        Self::build(objects, Vec::new(), Vec::new(), options).await
    }

    async fn build(
        objects: Vec<LogObject>,
        layouts: Vec<Arc<Layout>>,
        converted: Vec<Arc<ConvertedTrail>>,
        options: EngineOptions,
    ) -> Result<Self> {
        let objects = Arc::new(objects);
        let mut sample: Vec<LogObject> = objects.as_ref().clone();
        for layout in &layouts {
            sample.extend(
                layout
                    .recent_files(DISCOVERY_FILES_PER_REGION, DISCOVERY_REGIONS)
                    .await?
                    .0,
            );
        }
        let sampled = Arc::new(sample);
        let discovery_options = options.clone();
        let mut paths = tokio::task::spawn_blocking(move || discover(&sampled, &discovery_options))
            .await
            .map_err(|e| {
                Error::DataFusion(datafusion::error::DataFusionError::External(Box::new(e)))
            })?;
        if !converted.is_empty() {
            // Columns converted trails have, beside those discovered in raw logs, in the
            // column-name order discovery uses.
            paths = crate::parquet::convert::union_by_column(
                converted
                    .iter()
                    .flat_map(|t| t.request_parameter_paths())
                    .chain(paths),
            );
        }
        let schema = Arc::new(CloudTrailSchema::new(&paths));
        let decoder_options = DecoderOptions {
            on_error: options.on_error,
            max_inflated_bytes: options.max_inflated_bytes,
            ..DecoderOptions::default()
        };
        let table = Arc::new(
            CloudTrailTable::new(
                Arc::clone(&schema),
                objects,
                layouts,
                converted.clone(),
                i64::try_from(options.late_delivery.as_micros()).unwrap_or(i64::MAX),
                decoder_options,
            )
            .with_concurrent_reads(options.max_concurrent_reads)
            .with_part_bytes(options.part_bytes),
        );
        if let Some(dir) = &options.parquet_cache {
            table.set_cache(Some(ParquetCache::open(dir)?));
        }
        let ctx = session(&options, &schema)?;
        for trail in &converted {
            ctx.register_object_store(
                trail.destination.url.as_ref(),
                Arc::clone(&trail.destination.store),
            );
        }
        ctx.register_table(TABLE_NAME, Arc::clone(&table) as _)?;
        let mut names: HashSet<String> = schema.columns().iter().map(|c| c.name.clone()).collect();
        names.insert(TABLE_NAME.to_string());
        Ok(Self {
            ctx,
            table,
            names,
            requests: None,
            options,
        })
    }

    /// Plans and starts a SQL statement; the result streams as it is read.
    pub async fn sql(&self, sql: &str) -> Result<Query> {
        self.prepare(sql, None).await?.execute().await
    }

    /// Plans a SQL statement without running its query, binding `$1`/`$name`
    /// placeholders to `params`. Statements that change the catalog or settings
    /// (`CREATE VIEW`, `SET`, `COPY`) take effect here, once; the query may then be
    /// run any number of times with [`Prepared::execute`].
    pub async fn prepare(&self, sql: &str, params: Option<ParamValues>) -> Result<Prepared> {
        let state = self.ctx.state();
        let dialect = state.config().options().sql_parser.dialect;
        let mut statement = state.sql_to_statement(sql, &dialect)?;
        rewrite_cross_join_unnest(&mut statement);
        rewrite_trino_expressions(&mut statement);
        normalize_quoted_columns(&mut statement, &self.names);
        let mut logical = state.statement_to_plan(statement).await?;
        if let Some(params) = params {
            logical = logical.with_param_values(params)?;
        }
        if self.options.read_only {
            datafusion::execution::context::SQLOptions::new()
                .with_allow_ddl(false)
                .with_allow_dml(false)
                .with_allow_statements(false)
                .verify_plan(&logical)
                .map_err(|error| Error::ReadOnly {
                    statement: error
                        .strip_backtrace()
                        .rsplit(": ")
                        .next()
                        .unwrap_or_default()
                        .to_string(),
                })?;
        }
        let frame = self.ctx.execute_logical_plan(logical).await?;
        Ok(Prepared {
            frame,
            ctx: self.ctx.clone(),
            requests: self.requests.clone(),
        })
    }

    /// Limits `cloudtrail` to events with `since <= eventtime < until` (microseconds
    /// since the epoch, UTC) for every query after this; `None` on both lifts the limit.
    /// Events without a time fall outside any window.
    pub fn set_time_window(&self, since: Option<i64>, until: Option<i64>) -> Result<()> {
        use datafusion::logical_expr::{col, lit};
        let stamp = |micros: i64| {
            lit(datafusion::common::ScalarValue::TimestampMicrosecond(
                Some(micros),
                Some("UTC".into()),
            ))
        };
        let base = Arc::clone(&self.table) as Arc<dyn datafusion::catalog::TableProvider>;
        let bounds: Vec<_> = [
            since.map(|s| col("eventtime").gt_eq(stamp(s))),
            until.map(|u| col("eventtime").lt(stamp(u))),
        ]
        .into_iter()
        .flatten()
        .collect();
        let provider = match bounds.into_iter().reduce(|a, b| a.and(b)) {
            None => base,
            Some(predicate) => self.ctx.read_table(base)?.filter(predicate)?.into_view(),
        };
        self.ctx.deregister_table(TABLE_NAME)?;
        self.ctx.register_table(TABLE_NAME, provider)?;
        Ok(())
    }

    /// Turns the transparent Parquet cache on (in `dir`) or off for the queries after this.
    pub fn set_parquet_cache(&self, dir: Option<&std::path::Path>) -> Result<()> {
        let cache = dir.map(ParquetCache::open).transpose()?;
        self.table.set_cache(cache);
        Ok(())
    }

    /// The Parquet cache in use, if any.
    pub fn parquet_cache(&self) -> Option<Arc<ParquetCache>> {
        self.table.cache()
    }

    /// How many of the sources' raw objects the Parquet cache holds, of how many. Lists
    /// layout folders in full.
    pub async fn cache_coverage(&self) -> Result<Option<(u64, u64)>> {
        let Some(cache) = self.table.cache() else {
            return Ok(None);
        };
        let objects = self.table.all_objects().await?;
        let columns: Vec<String> = self
            .schema()
            .columns()
            .iter()
            .map(|c| c.name.clone())
            .collect();
        Ok(Some(cache.coverage(&objects, &columns)))
    }

    /// Writes the sources' raw logs as Hive-partitioned Parquet under `dest` (a folder or
    /// `s3://` URL), converting only objects not converted there before. `progress` is
    /// called as batches finish.
    pub async fn convert(
        &self,
        dest: &str,
        options: &ConvertOptions,
        progress: impl Fn(&ConvertProgress) + Send + Sync + 'static,
    ) -> Result<ConvertReport> {
        let destination = Destination::parse(dest, &self.options.s3).await?;
        let existing = if destination.holds_trail().await {
            destination.load_manifest().await?
        } else {
            Vec::new()
        };
        let objects = self.table.all_objects().await?;
        let schema = self.table.shared_schema();
        let decoder_options = self.table.decoder_options().clone();
        let options = options.clone();
        tokio::task::spawn_blocking(move || {
            crate::parquet::convert::convert(
                objects,
                &schema,
                decoder_options,
                &destination,
                existing,
                &options,
                &progress,
            )
        })
        .await
        .map_err(|e| Error::DataFusion(datafusion::error::DataFusionError::External(Box::new(e))))?
    }

    /// The DataFusion session, for registering more tables or functions.
    pub fn context(&self) -> &SessionContext {
        &self.ctx
    }

    /// The columns of the `cloudtrail` table.
    pub fn schema(&self) -> &CloudTrailSchema {
        self.table.cloudtrail_schema()
    }

    /// The objects listed when the sources were opened (files, folders and globs outside
    /// CloudTrail's layout); layout folders are listed per query.
    pub fn objects(&self) -> &[LogObject] {
        self.table.objects()
    }

    /// Every raw log object of the sources, listing layout folders in full.
    pub async fn source_objects(&self) -> Result<Vec<LogObject>> {
        self.table.all_objects().await
    }

    /// The sources that are trails converted to Parquet.
    pub fn converted_trails(&self) -> &[Arc<ConvertedTrail>] {
        self.table.converted()
    }

    /// The sources in CloudTrail's layout, with their accounts and regions.
    pub fn layouts(&self) -> &[Arc<Layout>] {
        self.table.layouts()
    }
}

/// The memory pool and spill files queries run with.
fn runtime_env(options: &EngineOptions) -> Result<Arc<RuntimeEnv>> {
    let mode = match &options.spill {
        SpillTo::TempDir => DiskManagerMode::OsTmpDirectory,
        SpillTo::Folder(dir) => DiskManagerMode::Directories(vec![dir.clone()]),
        SpillTo::Off => DiskManagerMode::Disabled,
    };
    let mut builder = RuntimeEnvBuilder::new()
        .with_disk_manager_builder(DiskManagerBuilder::default().with_mode(mode));
    if let Some(limit) = options.memory_limit {
        // Fair shares: each spilling operator gets its part of what the operators that
        // cannot spill leave, so one cannot starve the rest. The tracker names the
        // largest consumers when the limit is hit.
        let consumers = std::num::NonZeroUsize::new(5).expect("non-zero");
        builder = builder.with_memory_pool(Arc::new(TrackConsumersPool::new(
            FairSpillPool::new(limit),
            consumers,
        )));
    }
    Ok(builder.build_arc()?)
}

fn session(options: &EngineOptions, schema: &CloudTrailSchema) -> Result<SessionContext> {
    let mut config = SessionConfig::new().with_information_schema(true);
    // NULLs sort last whichever the direction, as in Athena, CloudTrail Lake (Trino) and
    // DuckDB; DataFusion's default puts them first in a descending sort. It also lets a
    // TopK on `eventtime DESC` bound the times it still wants (`eventtime > x`, no
    // `IS NULL OR`), which is what leaves older files unread (see `running_filters`).
    config.options_mut().sql_parser.default_null_ordering = "nulls_last".to_string();
    if let Some(partitions) = options.target_partitions {
        config = config.with_target_partitions(partitions.max(1));
    }
    if let Some(limit) = options.memory_limit {
        // Each sorting partition sets memory aside for merging its spill files (10 MB
        // by default); under a small limit those reservations alone would exceed it.
        let partitions = config.target_partitions().max(1);
        let execution = &mut config.options_mut().execution;
        execution.sort_spill_reservation_bytes = execution
            .sort_spill_reservation_bytes
            .min(limit / (4 * partitions));
        // Merging spill files holds a batch of each; CloudTrail rows with their JSON
        // columns are large, so smaller batches keep merges inside the limit.
        let batch_size = config.batch_size().min(1024);
        config = config.with_batch_size(batch_size);
    }
    let state = SessionStateBuilder::new()
        .with_config(config)
        .with_runtime_env(runtime_env(options)?)
        .with_default_features()
        .build();
    let flattened: HashSet<String> = schema
        .columns()
        .iter()
        .filter(|c| c.name.contains('_'))
        .map(|c| c.name.clone())
        .collect();
    // Ours first: DataFusion's own planner claims every compound identifier.
    let mut planners: Vec<Arc<dyn datafusion::logical_expr::planner::ExprPlanner>> = vec![
        Arc::new(DottedPathPlanner::new(Arc::new(RwLock::new(flattened)))),
        Arc::new(TextBooleans),
    ];
    planners.extend(state.expr_planners().iter().cloned());
    // Ours before DataFusion's type coercion, which rejects a boolean compared with text.
    let mut analyzer_rules: Vec<Arc<dyn AnalyzerRule + Send + Sync>> = vec![Arc::new(TextBooleans)];
    analyzer_rules.extend(state.analyzer().rules.iter().cloned());
    let state = SessionStateBuilder::new_from_existing(state)
        .with_expr_planners(planners)
        .with_analyzer_rules(analyzer_rules)
        .build();
    let mut ctx = SessionContext::new_with_state(state);
    datafusion_functions_json::register_all(&mut ctx)?;
    ctx.register_udf(json_path_udf());
    for function in crate::text_extremes::TextExtremes::functions() {
        ctx.register_udaf(function);
    }
    crate::compat::register(&ctx)?;
    Ok(ctx)
}

/// Samples files evenly across the listing until the byte budget is spent, on every
/// core, or takes the answer remembered for the same sample.
fn discover(objects: &[LogObject], options: &EngineOptions) -> Vec<Vec<String>> {
    let cached = options
        .schema_cache
        .as_ref()
        .filter(|_| {
            objects
                .iter()
                .all(|o| !matches!(o.body, source::ObjectBody::Memory(_)))
        })
        .map(|dir| {
            dir.join("schema")
                .join(format!("{:016x}.json", sample_key(objects, options)))
        });
    if let Some(paths) = cached
        .as_ref()
        .and_then(|file| std::fs::read(file).ok())
        .and_then(|bytes| serde_json::from_slice::<Vec<Vec<String>>>(&bytes).ok())
    {
        return paths;
    }
    let order: Vec<&LogObject> = evenly_spaced(objects).collect();
    let threads = options
        .target_partitions
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
        .clamp(1, 8);
    let spent = std::sync::atomic::AtomicU64::new(0);
    // Store objects are read through the runtime this was called from.
    let runtime = tokio::runtime::Handle::try_current().ok();
    let discoveries = crate::parallel::drain(
        &order,
        threads,
        || {
            SchemaDiscovery::new(
                options.max_request_parameter_columns,
                options.max_inflated_bytes,
            )
        },
        |discovery, object| {
            use std::sync::atomic::Ordering::Relaxed;
            if spent.load(Relaxed) >= options.discovery_bytes {
                return false;
            }
            let _runtime = runtime.as_ref().map(|r| r.enter());
            // A file that cannot be read is reported by the query that reads it. Of a
            // file read in parts, the first part is a sample.
            let part_size =
                crate::parts::PartSize::new(options.part_bytes, options.max_inflated_bytes);
            if let Ok(bytes) = crate::parts::sample(object, part_size)
                && let Ok(inflated) = discovery.add_file(&object.location, bytes)
            {
                spent.fetch_add(inflated, Relaxed);
            }
            true
        },
    );
    let mut discovery = SchemaDiscovery::new(
        options.max_request_parameter_columns,
        options.max_inflated_bytes,
    );
    for part in &discoveries {
        discovery.merge(part);
    }
    let paths = discovery.paths();
    if let Some(file) = cached
        && let Some(dir) = file.parent()
        && std::fs::create_dir_all(dir).is_ok()
    {
        // Written whole then renamed, so a concurrent reader never sees half a file.
        let temporary = file.with_extension(format!("tmp{}", std::process::id()));
        if std::fs::write(
            &temporary,
            serde_json::to_vec(&paths).expect("strings serialise"),
        )
        .is_ok()
        {
            let _ = std::fs::rename(&temporary, &file);
        }
    }
    paths
}

/// Names what discovery would read: every candidate object's name and size, and the
/// settings and version that shape the answer.
fn sample_key(objects: &[LogObject], options: &EngineOptions) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut hasher = crate::fnv::Fnv::default();
    env!("CARGO_PKG_VERSION").hash(&mut hasher);
    options.discovery_bytes.hash(&mut hasher);
    options.max_request_parameter_columns.hash(&mut hasher);
    for object in objects {
        object.location.hash(&mut hasher);
        object.size.hash(&mut hasher);
    }
    hasher.finish()
}

/// Objects in an order that spreads early picks over the whole listing: 0, n/2, n/4,
/// 3n/4, ... so a budget that stops early still samples every part of a trail.
fn evenly_spaced(objects: &[LogObject]) -> impl Iterator<Item = &LogObject> {
    let n = objects.len();
    let mut order = Vec::with_capacity(n);
    let mut seen = vec![false; n];
    let mut step = n.next_power_of_two().max(1);
    while step > 0 {
        let mut i = 0;
        while i < n {
            if !seen[i] {
                seen[i] = true;
                order.push(i);
            }
            i += step;
        }
        step /= 2;
    }
    order.into_iter().map(move |i| &objects[i])
}

/// A planned statement whose query can be run again and again (see [`Engine::prepare`]).
#[derive(Clone)]
pub struct Prepared {
    frame: DataFrame,
    ctx: SessionContext,
    requests: Option<Arc<crate::s3::RequestCounts>>,
}

impl Prepared {
    /// The schema of the query's result.
    pub fn schema(&self) -> SchemaRef {
        Arc::new(self.frame.schema().as_arrow().clone())
    }

    /// Starts a run of the query; each run plans and reads the sources afresh, so it
    /// sees the engine's current time window and cache.
    pub async fn execute(&self) -> Result<Query> {
        let requests = self
            .requests
            .as_ref()
            .map(|counts| (Arc::clone(counts), counts.snapshot()));
        let plan = self.frame.clone().create_physical_plan().await?;
        let stream = execute_stream(Arc::clone(&plan), self.ctx.task_ctx())?;
        Ok(Query {
            plan,
            stream,
            requests,
        })
    }
}

/// A running query: a stream of record batches, and what its scans read.
pub struct Query {
    plan: Arc<dyn ExecutionPlan>,
    stream: SendableRecordBatchStream,
    /// The engine's store request counters and their values before planning.
    requests: Option<(Arc<crate::s3::RequestCounts>, (u64, u64))>,
}

impl Query {
    pub fn schema(&self) -> SchemaRef {
        self.stream.schema()
    }

    /// Files, bytes and events read so far, and what was skipped.
    pub fn stats(&self) -> ScanStats {
        self.progress().stats()
    }

    /// A handle that reads this query's progress from another task or thread while the
    /// query streams.
    pub fn progress(&self) -> QueryProgress {
        let mut scans = Vec::new();
        scan_collectors(&self.plan, &mut scans);
        QueryProgress {
            scans: Arc::new(scans),
            requests: self.requests.clone(),
        }
    }

    /// The physical plan being run.
    pub fn plan(&self) -> &Arc<dyn ExecutionPlan> {
        &self.plan
    }

    /// Reads every batch.
    pub async fn collect(mut self) -> Result<(Vec<RecordBatch>, ScanStats)> {
        let mut batches = Vec::new();
        while let Some(batch) = self.stream.next().await {
            batches.push(batch?);
        }
        let stats = self.stats();
        Ok((batches, stats))
    }
}

/// Reads what a running query's scans have done so far.
///
/// It holds the scans' counters, not the plan: a plan kept alive keeps operators such as
/// `RepartitionExec` running their input tasks after the query is dropped.
#[derive(Clone)]
pub struct QueryProgress {
    scans: Arc<Vec<crate::scan::ScanProgress>>,
    requests: Option<(Arc<crate::s3::RequestCounts>, (u64, u64))>,
}

impl QueryProgress {
    pub fn stats(&self) -> ScanStats {
        let mut stats = ScanStats::default();
        for scan in self.scans.iter() {
            stats.merge(&scan.stats());
        }
        if let Some((counts, (list, get))) = &self.requests {
            let (list_now, get_now) = counts.snapshot();
            stats.store_list_requests = list_now - list;
            stats.store_get_requests = get_now - get;
        }
        stats
    }
}

fn scan_collectors(plan: &Arc<dyn ExecutionPlan>, scans: &mut Vec<crate::scan::ScanProgress>) {
    if let Some(scan) = plan.downcast_ref::<CloudTrailScanExec>() {
        scans.push(scan.progress());
    }
    for child in plan.children() {
        scan_collectors(child, scans);
    }
}

impl Stream for Query {
    type Item = Result<RecordBatch>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.stream
            .poll_next_unpin(cx)
            .map(|item| item.map(|batch| batch.map_err(Error::from)))
    }
}
