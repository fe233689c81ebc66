//! Parquet: trails converted with `convert`, the transparent cache, and the scans that
//! read them back as the `cloudtrail` table.

pub mod cache;
pub mod convert;

use std::sync::Arc;

use datafusion::arrow::datatypes::SchemaRef;
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::datasource::listing::PartitionedFile;
use datafusion::datasource::physical_plan::{FileGroup, FileScanConfigBuilder, ParquetSource};
use datafusion::datasource::source::DataSourceExec;
use datafusion::execution::object_store::ObjectStoreUrl;
use datafusion::parquet::arrow::ArrowWriter;
use datafusion::parquet::basic::{Compression, ZstdLevel};
use datafusion::parquet::file::properties::{EnabledStatistics, WriterProperties};
use datafusion::parquet::schema::types::ColumnPath;
use datafusion::physical_expr::PhysicalExpr;
use datafusion::physical_plan::ExecutionPlan;
use serde::{Deserialize, Serialize};

use crate::source::LogObject;

/// How a Parquet file is laid out, by what reads it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Layout {
    /// Converted trails: rows sorted by time, row groups small enough that a time range
    /// or an event name (bloom filters are per row group) skips most of a day's file,
    /// and pages of a few thousand rows so page indexes skip within a row group.
    Converted,
    /// The cache: rows in arrival order, read through row selections; fewer, larger row
    /// groups keep footers small, since every query opens every cache file it needs.
    Cache,
}

impl Layout {
    fn row_group_rows(self) -> usize {
        match self {
            Layout::Converted => 32_768,
            Layout::Cache => 131_072,
        }
    }

    fn page_rows(self) -> usize {
        match self {
            Layout::Converted => 4_096,
            Layout::Cache => 20_000,
        }
    }
}

/// Columns queries most often test for equality; a bloom filter lets a reader skip row
/// groups without the value, where min/max statistics (rows sorted by time) cannot.
const BLOOM_COLUMNS: &[&str] = &["eventname", "eventsource", "useridentity_arn", "errorcode"];

/// How trailsql writes Parquet: zstd, page-level statistics and page indexes, bloom
/// filters on the columns filtered by equality.
pub(crate) fn writer_properties(layout: Layout) -> WriterProperties {
    let mut builder = WriterProperties::builder()
        .set_compression(Compression::ZSTD(
            ZstdLevel::try_new(3).expect("valid level"),
        ))
        .set_max_row_group_row_count(Some(layout.row_group_rows()))
        .set_data_page_row_count_limit(layout.page_rows())
        .set_statistics_enabled(EnabledStatistics::Page)
        .set_created_by(format!("trailsql {}", env!("CARGO_PKG_VERSION")));
    for column in BLOOM_COLUMNS {
        let path = ColumnPath::from(*column);
        builder = builder
            .set_column_bloom_filter_enabled(path.clone(), true)
            .set_column_bloom_filter_fpp(path, 0.01);
    }
    builder.build()
}

/// One converted Parquet file in memory: the batches, in order.
pub(crate) fn encode(schema: &SchemaRef, batches: &[RecordBatch]) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    let properties = writer_properties(Layout::Converted);
    let mut writer = ArrowWriter::try_new(&mut out, Arc::clone(schema), Some(properties))
        .map_err(|e| e.to_string())?;
    for batch in batches {
        writer.write(batch).map_err(|e| e.to_string())?;
    }
    writer.close().map_err(|e| e.to_string())?;
    Ok(out)
}

/// What makes a source object the one that was converted or cached: its name, size and
/// version (modification time or ETag).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ObjectIdentity {
    pub location: String,
    pub size: u64,
    pub version: String,
}

impl ObjectIdentity {
    pub fn of(object: &LogObject) -> Self {
        Self {
            location: object.location.to_string(),
            size: object.size,
            version: object.version.as_deref().unwrap_or_default().to_string(),
        }
    }
}

/// A scan of Parquet files in one object store, as DataFusion's own Parquet reader does
/// it: projection, row-group and page pruning by `predicate`, bloom filters, row
/// selections attached to the files.
pub(crate) fn scan_files(
    url: ObjectStoreUrl,
    schema: &SchemaRef,
    files: Vec<PartitionedFile>,
    partitions: usize,
    projection: Option<&Vec<usize>>,
    predicate: Option<Arc<dyn PhysicalExpr>>,
    limit: Option<usize>,
) -> datafusion::error::Result<Arc<dyn ExecutionPlan>> {
    let mut source = ParquetSource::new(Arc::clone(schema))
        .with_enable_page_index(true)
        .with_bloom_filter_on_read(true)
        .with_pushdown_filters(true);
    if let Some(predicate) = predicate {
        source = source.with_predicate(predicate);
    }
    let config = FileScanConfigBuilder::new(url, Arc::new(source))
        .with_file_groups(balance_files(files, partitions))
        .with_projection_indices(projection.cloned())?
        .with_limit(limit)
        .build();
    Ok(DataSourceExec::from_data_source(config))
}

/// Groups of about equal bytes, largest files first.
fn balance_files(mut files: Vec<PartitionedFile>, partitions: usize) -> Vec<FileGroup> {
    let partitions = partitions.max(1).min(files.len().max(1));
    files.sort_by_key(|f| std::cmp::Reverse(f.object_meta.size));
    let mut groups: Vec<(u64, Vec<PartitionedFile>)> =
        (0..partitions).map(|_| (0, Vec::new())).collect();
    for file in files {
        let least = groups
            .iter_mut()
            .min_by_key(|(load, _)| *load)
            .expect("at least one group");
        least.0 += file.object_meta.size.max(1);
        least.1.push(file);
    }
    groups
        .into_iter()
        .filter(|(_, files)| !files.is_empty())
        .map(|(_, files)| FileGroup::new(files))
        .collect()
}
