//! `trailsql.connect()` and `trailsql.Connection`: sources opened as the `cloudtrail` table.

use std::path::PathBuf;
use std::sync::Arc;

use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PyTuple};
use trailsql::{Engine, EngineOptions, OnError, ParamValues, ScalarValue, SpillTo};

use crate::errors::IntoPy;
use crate::result::QueryResult;
use crate::run::LastRun;
use crate::stats::Stats;

/// An open set of sources, queried as the `cloudtrail` table. Sources are listed and
/// sampled once, at `connect()`; every query reuses that. Safe to share between threads.
#[pyclass(module = "trailsql", name = "Connection", frozen)]
pub struct Connection {
    pub engine: Arc<Engine>,
    last: Arc<LastRun>,
    sources: Vec<String>,
}

/// Opens log files, folders, globs or `s3://bucket/prefix` URLs (plain or gzipped, any
/// CloudTrail envelope) as the `cloudtrail` table; with no source, the bundled sample.
///
/// on_error: "fail" (default) raises on the first bad file or record, naming it; "skip"
///     skips and counts it (see `Result.stats`).
/// read_only: refuse statements that write or change the catalog or settings.
/// cache: a folder for the Parquet cache: decoded logs are kept there and read next time.
/// late_delivery: how long after an event its file may be delivered ("1h", "15m").
/// s3_endpoint, s3_region, aws_profile: how `s3://` sources are reached.
/// target_partitions: how many partitions (threads) a query uses; default: the cores.
/// max_inflated_bytes: the most inflated bytes held of one file at once (a gzip bomb
///     stops there; NDJSON exports are read in parts no larger).
/// schema_cache: where discovered `requestparameters_*` columns are remembered between
///     runs; default: the user's cache folder; `False` turns it off.
/// memory_limit: bytes that sorts, group-bys and joins may hold before they spill to
///     disk; default: no limit.
/// spill_dir: where they spill; default: the system's temporary folder.
/// max_concurrent_reads: object reads in flight at once (open files, S3 GETs).
#[pyfunction]
#[pyo3(signature = (
    *sources,
    on_error = "fail",
    read_only = false,
    cache = None,
    late_delivery = "1h",
    s3_endpoint = None,
    s3_region = None,
    aws_profile = None,
    target_partitions = None,
    max_inflated_bytes = None,
    schema_cache = None,
    memory_limit = None,
    spill_dir = None,
    max_concurrent_reads = None,
))]
#[allow(clippy::too_many_arguments)]
pub fn connect(
    py: Python<'_>,
    sources: Vec<PathBuf>,
    on_error: &str,
    read_only: bool,
    cache: Option<PathBuf>,
    late_delivery: &str,
    s3_endpoint: Option<String>,
    s3_region: Option<String>,
    aws_profile: Option<String>,
    target_partitions: Option<usize>,
    max_inflated_bytes: Option<u64>,
    schema_cache: Option<Bound<'_, PyAny>>,
    memory_limit: Option<usize>,
    spill_dir: Option<PathBuf>,
    max_concurrent_reads: Option<usize>,
) -> PyResult<Connection> {
    let mut options = EngineOptions {
        on_error: match on_error {
            "fail" => OnError::Fail,
            "skip" => OnError::Skip,
            other => {
                return Err(PyValueError::new_err(format!(
                    "on_error={other:?}: expected \"fail\" or \"skip\""
                )));
            }
        },
        read_only,
        parquet_cache: cache,
        target_partitions,
        memory_limit,
        spill: spill_dir.map_or(SpillTo::TempDir, SpillTo::Folder),
        ..EngineOptions::default()
    };
    if let Some(limit) = max_inflated_bytes {
        options.max_inflated_bytes = limit;
    }
    if let Some(limit) = max_concurrent_reads {
        options.max_concurrent_reads = limit.max(1);
    }
    options.late_delivery = parse_duration(late_delivery).ok_or_else(|| {
        PyValueError::new_err(format!(
            "late_delivery={late_delivery:?}: expected a duration such as \"15m\" or \"1h\""
        ))
    })?;
    options.s3.endpoint = s3_endpoint;
    options.s3.region = s3_region;
    options.s3.profile = aws_profile;
    options.schema_cache = match schema_cache {
        None => trailsql::default_cache_dir(),
        Some(value) if value.is_instance_of::<pyo3::types::PyBool>() => {
            if value.extract::<bool>()? {
                trailsql::default_cache_dir()
            } else {
                None
            }
        }
        Some(value) => Some(value.extract::<PathBuf>()?),
    };
    let sources: Vec<String> = sources
        .iter()
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    let opened = sources.clone();
    let engine = crate::runtime::wait(py, async move {
        if opened.is_empty() {
            Engine::sample(options).await
        } else {
            Engine::open(&opened, options).await
        }
    })?
    .py_err()?;
    Ok(Connection {
        engine: Arc::new(engine),
        last: Arc::new(LastRun::default()),
        sources,
    })
}

fn parse_duration(text: &str) -> Option<std::time::Duration> {
    let micros = trailsql::check::parse_time(text, 0).ok()?;
    (micros <= 0).then(|| std::time::Duration::from_micros(micros.unsigned_abs()))
}

/// A time given as a duration before now (`"7d"`), an ISO-8601 text, or a `datetime`
/// (naive ones are taken as UTC), in microseconds since the epoch.
fn time_micros(value: &Bound<'_, PyAny>, now: i64) -> PyResult<i64> {
    if let Ok(text) = value.extract::<String>() {
        return trailsql::check::parse_time(&text, now).map_err(PyValueError::new_err);
    }
    let py = value.py();
    let datetime = py.import("datetime")?;
    if value.is_instance(&datetime.getattr("datetime")?)? {
        let aware = if value.getattr("tzinfo")?.is_none() {
            let utc = datetime.getattr("timezone")?.getattr("utc")?;
            let kwargs = PyDict::new(py);
            kwargs.set_item("tzinfo", utc)?;
            value.call_method("replace", (), Some(&kwargs))?
        } else {
            value.clone()
        };
        let seconds: f64 = aware.call_method0("timestamp")?.extract()?;
        let micro: i64 = aware.getattr("microsecond")?.extract()?;
        return Ok(seconds.floor() as i64 * 1_000_000 + micro);
    }
    Err(PyTypeError::new_err(
        "expected a duration (\"7d\"), an ISO-8601 time or a datetime",
    ))
}

/// A Python value as a SQL parameter.
fn scalar(value: &Bound<'_, PyAny>) -> PyResult<ScalarValue> {
    use pyo3::types::{PyBool, PyFloat, PyInt, PyString};
    if value.is_none() {
        return Ok(ScalarValue::Null);
    }
    if value.is_instance_of::<PyBool>() {
        return Ok(ScalarValue::Boolean(Some(value.extract()?)));
    }
    if value.is_instance_of::<PyInt>() {
        return Ok(ScalarValue::Int64(Some(value.extract()?)));
    }
    if value.is_instance_of::<PyFloat>() {
        return Ok(ScalarValue::Float64(Some(value.extract()?)));
    }
    if value.is_instance_of::<PyString>() {
        return Ok(ScalarValue::Utf8(Some(value.extract()?)));
    }
    let datetime = value.py().import("datetime")?.getattr("datetime")?;
    if value.is_instance(&datetime)? {
        let micros = time_micros(value, 0)?;
        return Ok(ScalarValue::TimestampMicrosecond(
            Some(micros),
            Some("UTC".into()),
        ));
    }
    Err(PyTypeError::new_err(format!(
        "a parameter may be None, bool, int, float, str or datetime, not {}",
        value.get_type().name()?
    )))
}

fn param_values(params: &Bound<'_, PyAny>) -> PyResult<ParamValues> {
    if let Ok(map) = params.cast::<PyDict>() {
        let mut named = Vec::with_capacity(map.len());
        for (key, value) in map.iter() {
            let name: String = key.extract()?;
            named.push((name.trim_start_matches('$').to_string(), scalar(&value)?));
        }
        return Ok(ParamValues::from(named));
    }
    if params.is_instance_of::<PyList>() || params.is_instance_of::<PyTuple>() {
        let values = params
            .try_iter()?
            .map(|value| scalar(&value?))
            .collect::<PyResult<Vec<_>>>()?;
        return Ok(ParamValues::from(values));
    }
    Err(PyTypeError::new_err(
        "params: a dict for $name placeholders or a list for $1, $2, ...",
    ))
}

#[pymethods]
impl Connection {
    /// Plans `query` and returns its lazy `Result`; SQL errors are raised here, and
    /// statements such as `CREATE VIEW` or `SET` take effect here.
    ///
    /// params: values for placeholders, a dict for `$name` or a list for `$1`, `$2`.
    #[pyo3(signature = (query, params = None))]
    fn sql(
        &self,
        py: Python<'_>,
        query: String,
        params: Option<Bound<'_, PyAny>>,
    ) -> PyResult<QueryResult> {
        let params = params.as_ref().map(param_values).transpose()?;
        let engine = Arc::clone(&self.engine);
        let text = query.clone();
        let prepared =
            crate::runtime::wait(py, async move { engine.prepare(&text, params).await })?
                .py_err()?;
        Ok(QueryResult::new(prepared, query, Arc::clone(&self.last)))
    }

    /// What the latest query run on this connection read and skipped; `None` before any.
    #[getter]
    fn stats(&self) -> Option<Stats> {
        self.last.get().map(|record| Stats::of_run(&record))
    }

    /// The sources as given to `connect()` (empty for the bundled sample).
    #[getter]
    fn sources(&self) -> Vec<String> {
        self.sources.clone()
    }

    /// The columns of `cloudtrail`: name, Arrow type, SQL type, where in the record it
    /// comes from, and what it means.
    fn columns(&self) -> Vec<Column> {
        let schema = self.engine.schema();
        let arrow = schema.arrow_schema();
        schema
            .columns()
            .iter()
            .zip(arrow.fields())
            .map(|(spec, field)| Column {
                name: spec.name.clone(),
                sql_type: spec.column_type.sql_name().to_string(),
                arrow_type: field.data_type().to_string(),
                source: spec.source_path(),
                description: spec.description.clone(),
            })
            .collect()
    }

    /// Limits `cloudtrail` to events in `[since, until)` for every later query; each is a
    /// duration before now (`"7d"`), an ISO-8601 time, a `datetime`, or `None`.
    #[pyo3(signature = (since = None, until = None))]
    fn set_time_window(
        &self,
        since: Option<Bound<'_, PyAny>>,
        until: Option<Bound<'_, PyAny>>,
    ) -> PyResult<()> {
        let now = trailsql::check::now_micros();
        let since = since.as_ref().map(|v| time_micros(v, now)).transpose()?;
        let until = until.as_ref().map(|v| time_micros(v, now)).transpose()?;
        self.engine.set_time_window(since, until).py_err()
    }

    /// Turns the Parquet cache on in `folder`, or off with `None`.
    fn set_cache(&self, folder: Option<PathBuf>) -> PyResult<()> {
        self.engine.set_parquet_cache(folder.as_deref()).py_err()
    }

    /// The Parquet cache's size, `{"files", "bytes", "objects", "rows"}`, or `None`
    /// without a cache.
    fn cache_info<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyDict>>> {
        let Some(cache) = self.engine.parquet_cache() else {
            return Ok(None);
        };
        summary_dict(py, &cache.summary()).map(Some)
    }

    /// Deletes the Parquet cache's files (as `trailsql cache DIR --clear`); returns what
    /// there was, or `None` without a cache.
    fn clear_cache<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyDict>>> {
        let Some(cache) = self.engine.parquet_cache() else {
            return Ok(None);
        };
        let summary = cache.clear().py_err()?;
        summary_dict(py, &summary).map(Some)
    }

    /// `(objects in the cache, objects in the sources)`, or `None` without a cache.
    fn cache_coverage(&self, py: Python<'_>) -> PyResult<Option<(u64, u64)>> {
        let engine = Arc::clone(&self.engine);
        crate::runtime::wait(py, async move { engine.cache_coverage().await })?.py_err()
    }

    /// Writes the sources as Hive-partitioned Parquet in `dest` (a folder or `s3://`
    /// URL), converting only objects not converted there before; returns the report's text.
    ///
    /// shard: `"i/N"` to convert one of N disjoint parts (for parallel workers).
    #[pyo3(signature = (dest, shard = None, threads = None))]
    fn convert(
        &self,
        py: Python<'_>,
        dest: PathBuf,
        shard: Option<&str>,
        threads: Option<usize>,
    ) -> PyResult<String> {
        let mut options = trailsql::parquet::convert::ConvertOptions {
            threads,
            ..Default::default()
        };
        if let Some(shard) = shard {
            options.shard = shard
                .parse()
                .map_err(|e| PyValueError::new_err(format!("shard={shard:?}: {e}")))?;
        }
        let engine = Arc::clone(&self.engine);
        let dest = dest.to_string_lossy().into_owned();
        let report =
            crate::runtime::wait(
                py,
                async move { engine.convert(&dest, &options, |_| {}).await },
            )?
            .py_err()?;
        Ok(report.to_string())
    }

    /// Runs saved queries (`.sql` files or folders of them) as checks over this
    /// connection's sources; see `docs/queries.md`.
    #[pyo3(signature = (queries, params = None, select = None, exclude = None, fail_on = "low"))]
    fn check(
        &self,
        py: Python<'_>,
        queries: Vec<PathBuf>,
        params: Option<std::collections::BTreeMap<String, String>>,
        select: Option<Vec<String>>,
        exclude: Option<Vec<String>>,
        fail_on: &str,
    ) -> PyResult<crate::check::CheckReport> {
        crate::check::run(
            py,
            Arc::clone(&self.engine),
            queries,
            params.unwrap_or_default(),
            select.unwrap_or_default(),
            exclude.unwrap_or_default(),
            fail_on,
        )
    }

    /// Exposes `cloudtrail` to datafusion-python (55.x):
    /// `ctx.register_table("cloudtrail", con)`.
    fn __datafusion_table_provider__<'py>(
        &self,
        py: Python<'py>,
        session: Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, pyo3::types::PyCapsule>> {
        crate::provider::table_provider_capsule(py, &self.engine, session)
    }

    fn __enter__(slf: PyRef<'_, Self>) -> PyRef<'_, Self> {
        slf
    }

    #[pyo3(signature = (*_args))]
    fn __exit__(&self, _args: &Bound<'_, PyTuple>) -> bool {
        false
    }

    fn __repr__(&self) -> String {
        let shown = if self.sources.is_empty() {
            "the bundled sample".to_string()
        } else {
            self.sources.join(", ")
        };
        format!(
            "<trailsql.Connection {shown}: {} columns>",
            self.engine.schema().columns().len()
        )
    }
}

fn summary_dict<'py>(
    py: Python<'py>,
    summary: &trailsql::parquet::cache::CacheSummary,
) -> PyResult<Bound<'py, PyDict>> {
    let dict = PyDict::new(py);
    dict.set_item("files", summary.files)?;
    dict.set_item("bytes", summary.bytes)?;
    dict.set_item("objects", summary.objects)?;
    dict.set_item("rows", summary.rows)?;
    Ok(dict)
}

/// One column of the `cloudtrail` table.
#[pyclass(module = "trailsql", name = "Column", frozen, get_all)]
pub struct Column {
    pub name: String,
    pub sql_type: String,
    pub arrow_type: String,
    /// Where in the record it comes from (`userIdentity.arn`).
    pub source: String,
    pub description: String,
}

#[pymethods]
impl Column {
    fn __repr__(&self) -> String {
        format!("<Column {} {} ({})>", self.name, self.sql_type, self.source)
    }
}
