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

use crate::scan::CloudTrailScanExec;
use crate::source::{LogObject, balance};

pub struct CloudTrailTable {
    schema: Arc<CloudTrailSchema>,
    objects: Arc<Vec<LogObject>>,
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
        options: DecoderOptions,
    ) -> Self {
        Self {
            schema,
            objects,
            options,
        }
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

    async fn scan(
        &self,
        state: &dyn Session,
        projection: Option<&Vec<usize>>,
        _filters: &[Expr],
        limit: Option<usize>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        let partitions = state.config().target_partitions();
        let groups = balance(&self.objects, partitions);
        let mut options = self.options.clone();
        options.batch_size = state.config().batch_size();
        Ok(Arc::new(CloudTrailScanExec::new(
            Arc::clone(&self.schema),
            projection.cloned(),
            groups,
            limit,
            options,
        )))
    }
}
