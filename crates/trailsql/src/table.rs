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
use crate::prune::Constraints;
use crate::scan::{CloudTrailScanExec, Listing};
use crate::source::{LogObject, balance};
use datafusion::logical_expr::TableProviderFilterPushDown;

pub struct CloudTrailTable {
    schema: Arc<CloudTrailSchema>,
    objects: Arc<Vec<LogObject>>,
    layouts: Vec<Arc<Layout>>,
    late_delivery_micros: i64,
    options: DecoderOptions,
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
        late_delivery_micros: i64,
        options: DecoderOptions,
    ) -> Self {
        Self {
            schema,
            objects,
            layouts,
            late_delivery_micros,
            options,
        }
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
        let (objects, listing) = self
            .select(filters)
            .await
            .map_err(|e| datafusion::error::DataFusionError::External(Box::new(e)))?;
        let groups = balance(&objects, partitions);
        let mut options = self.options.clone();
        options.batch_size = state.config().batch_size();
        Ok(Arc::new(CloudTrailScanExec::new(
            Arc::clone(&self.schema),
            projection.cloned(),
            groups,
            limit,
            options,
            listing,
        )))
    }
}

/// Whether a file at this path can hold events meeting the constraints, by what its place
/// in CloudTrail's layout says (files outside the layout are always kept).
fn keeps(location: &str, constraints: &Constraints, late_delivery_micros: i64) -> bool {
    let Some(place) = trailsql_decode::parse_log_location(location) else {
        return true;
    };
    if constraints
        .accounts
        .as_ref()
        .is_some_and(|a| !a.contains(place.account))
        || constraints
            .regions
            .as_ref()
            .is_some_and(|r| !r.contains(place.region))
    {
        return false;
    }
    match place.delivered {
        Some(delivered) => {
            constraints
                .since
                .is_none_or(|s| delivered >= s.saturating_sub(60_000_000))
                && constraints
                    .until
                    .is_none_or(|u| delivered <= u.saturating_add(late_delivery_micros))
        }
        None => true,
    }
}
