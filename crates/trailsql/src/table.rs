//! The `cloudtrail` table: a DataFusion table provider over listed log objects.

use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::catalog::Session;
use datafusion::datasource::{TableProvider, TableType};
use datafusion::error::Result;
use datafusion::logical_expr::Expr;
use datafusion::physical_plan::ExecutionPlan;
use trailsql_decode::{CloudTrailSchema, DecoderOptions};

use crate::layout::Layout;
use crate::parquet::cache::ParquetCache;
use crate::parquet::convert::ConvertedTrail;
use crate::prune::Constraints;
use crate::scan::{CloudTrailScanExec, Listing};
use crate::source::{LogObject, balance};
use datafusion::logical_expr::TableProviderFilterPushDown;
use std::sync::RwLock;

pub struct CloudTrailTable {
    schema: Arc<CloudTrailSchema>,
    objects: Arc<Vec<LogObject>>,
    layouts: Vec<Arc<Layout>>,
    /// Trails converted to Parquet, read as sources beside the raw logs.
    converted: Vec<Arc<ConvertedTrail>>,
    late_delivery_micros: i64,
    options: DecoderOptions,
    cache: RwLock<Option<Arc<ParquetCache>>>,
    reads: Arc<crate::reads::ReadGate>,
    part_bytes: usize,
}

impl fmt::Debug for CloudTrailTable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CloudTrailTable")
            .field("objects", &self.objects.len())
            .field("columns", &self.schema.columns().len())
            .finish()
    }
}

impl CloudTrailTable {
    pub fn new(
        schema: Arc<CloudTrailSchema>,
        objects: Arc<Vec<LogObject>>,
        layouts: Vec<Arc<Layout>>,
        converted: Vec<Arc<ConvertedTrail>>,
        late_delivery_micros: i64,
        options: DecoderOptions,
    ) -> Self {
        Self {
            schema,
            objects,
            layouts,
            converted,
            late_delivery_micros,
            options,
            cache: RwLock::new(None),
            reads: Arc::new(crate::reads::ReadGate::new(
                crate::reads::DEFAULT_CONCURRENT_READS,
            )),
            part_bytes: crate::parts::DEFAULT_PART_BYTES,
        }
    }

    /// Reads plain local files larger than `part_bytes` in parts of about that size.
    pub fn with_part_bytes(mut self, part_bytes: usize) -> Self {
        self.part_bytes = part_bytes;
        self
    }

    /// At most `limit` object reads in flight (open files, S3 GETs) over every scan of
    /// this table.
    pub fn with_concurrent_reads(mut self, limit: usize) -> Self {
        self.reads = Arc::new(crate::reads::ReadGate::new(limit));
        self
    }

    /// Reads cached objects from, and adds decoded ones to, this Parquet cache.
    pub fn set_cache(&self, cache: Option<Arc<ParquetCache>>) {
        *self.cache.write().unwrap_or_else(|e| e.into_inner()) = cache;
    }

    pub fn cache(&self) -> Option<Arc<ParquetCache>> {
        self.cache.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    pub fn converted(&self) -> &[Arc<ConvertedTrail>] {
        &self.converted
    }

    /// Every raw object of the sources, listing layout folders in full.
    pub async fn all_objects(&self) -> crate::error::Result<Vec<LogObject>> {
        Ok(self.select(&[]).await?.0)
    }

    pub(crate) fn shared_schema(&self) -> Arc<CloudTrailSchema> {
        Arc::clone(&self.schema)
    }

    pub(crate) fn decoder_options(&self) -> &DecoderOptions {
        &self.options
    }

    pub fn layouts(&self) -> &[Arc<Layout>] {
        &self.layouts
    }

    /// The files a query with these filters must read, and what finding them cost.
    async fn select(&self, filters: &[Expr]) -> crate::error::Result<(Vec<LogObject>, Listing)> {
        let constraints = Constraints::from_filters(filters);
        let mut listing = Listing {
            constraints: constraints.clone(),
            ..Listing::default()
        };
        let mut objects = Vec::new();
        // Files listed up front (a glob into the layout, say) are pruned by their path too.
        for object in self.objects.iter() {
            if keeps(&object.location, &constraints, self.late_delivery_micros) {
                objects.push(object.clone());
            } else {
                listing.pruned += 1;
                listing.pruned_bytes += object.size;
            }
        }
        for layout in &self.layouts {
            let selection = layout
                .select(&constraints, self.late_delivery_micros)
                .await?;
            listing.prefixes_listed += selection.stats.prefixes_listed;
            listing.objects_listed += selection.stats.objects_listed;
            listing.cached += selection.stats.cached;
            listing.regions_kept += selection.regions_kept;
            listing.regions_total += selection.regions_total;
            listing.days += selection.days;
            listing.pruned += selection.pruned_by_time;
            listing.pruned_bytes += selection.pruned_bytes;
            objects.extend(selection.objects);
        }
        Ok((objects, listing))
    }

    pub fn cloudtrail_schema(&self) -> &CloudTrailSchema {
        &self.schema
    }

    pub fn objects(&self) -> &[LogObject] {
        &self.objects
    }
}

#[async_trait]
impl TableProvider for CloudTrailTable {
    fn schema(&self) -> SchemaRef {
        self.schema.arrow_schema()
    }

    fn table_type(&self) -> TableType {
        TableType::Base
    }

    /// Every filter is applied again above the scan; the scan uses them only to leave
    /// out files that cannot match.
    fn supports_filters_pushdown(
        &self,
        filters: &[&Expr],
    ) -> Result<Vec<TableProviderFilterPushDown>> {
        Ok(vec![TableProviderFilterPushDown::Inexact; filters.len()])
    }

    async fn scan(
        &self,
        state: &dyn Session,
        projection: Option<&Vec<usize>>,
        filters: &[Expr],
        limit: Option<usize>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        let partitions = state.config().target_partitions();
        let (objects, mut listing) = self
            .select(filters)
            .await
            .map_err(|e| datafusion::error::DataFusionError::External(Box::new(e)))?;
        let arrow = self.schema.arrow_schema();
        // Parquet readers prune row groups and pages with the filters; as for raw files,
        // every filter is applied again above the scan.
        let predicate = datafusion::common::DFSchema::try_from(arrow.as_ref().clone())
            .ok()
            .and_then(|df_schema| {
                datafusion::logical_expr::utils::conjunction(filters.to_vec())
                    .and_then(|expr| state.create_physical_expr(expr, &df_schema).ok())
            });
        let mut parquet = Vec::new();
        let cache = self.cache();
        let objects = match &cache {
            Some(cache) => {
                let columns: Vec<String> =
                    arrow.fields().iter().map(|f| f.name().clone()).collect();
                let split = cache.split(objects, &columns);
                listing.objects_from_cache = split.objects;
                listing.parquet_events += split.rows;
                listing.parquet_files += split.files.len() as u64;
                if !split.files.is_empty() {
                    parquet.push((
                        datafusion::execution::object_store::ObjectStoreUrl::local_filesystem(),
                        split.files,
                    ));
                }
                split.uncached
            }
            None => objects,
        };
        for trail in &self.converted {
            let selected = trail.select(&listing.constraints, self.late_delivery_micros);
            listing.pruned += selected.pruned;
            listing.pruned_bytes += selected.pruned_bytes;
            listing.parquet_files += selected.files.len() as u64;
            listing.parquet_events += selected.events;
            if !selected.files.is_empty() {
                parquet.push((trail.destination.url.clone(), selected.files));
            }
        }
        let groups = balance(&objects, partitions);
        let decoder_filters = crate::prune::decoder_filters(filters, &self.schema);
        let mut options = self.options.clone();
        options.batch_size = state.config().batch_size();
        let mut children: Vec<Arc<dyn ExecutionPlan>> = vec![Arc::new(
            CloudTrailScanExec::new(
                Arc::clone(&self.schema),
                projection.cloned(),
                groups,
                limit,
                options,
                listing,
                cache,
            )
            .with_decoder_filters(decoder_filters)
            .with_read_gate(Arc::clone(&self.reads))
            .with_late_delivery(self.late_delivery_micros)
            .with_part_bytes(self.part_bytes),
        )];
        for (url, files) in parquet {
            children.push(crate::parquet::scan_files(
                url,
                &arrow,
                files,
                partitions,
                projection,
                predicate.clone(),
                limit,
            )?);
        }
        datafusion::physical_plan::union::UnionExec::try_new(children)
    }
}

/// Whether a file at `location` can hold events meeting `constraints` (a file neither
/// in the layout nor named as CloudTrail names its files always can).
pub(crate) fn keeps(location: &str, constraints: &Constraints, late_delivery_micros: i64) -> bool {
    let place = trailsql_decode::parse_log_location(location);
    if let Some(place) = &place
        && (constraints
            .accounts
            .as_ref()
            .is_some_and(|a| !a.contains(place.account))
            || constraints
                .regions
                .as_ref()
                .is_some_and(|r| !r.contains(place.region)))
    {
        return false;
    }
    // A file copied out of the layout keeps its delivery time in its name.
    let delivered = match place {
        Some(place) => place.delivered,
        None => trailsql_decode::delivered_by_name(location),
    };
    delivered.is_none_or(|delivered| {
        crate::layout::delivered_in_window(delivered, constraints, late_delivery_micros)
    })
}
