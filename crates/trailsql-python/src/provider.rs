//! `cloudtrail` as a table of datafusion-python, through DataFusion's FFI.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use tokio::runtime::Handle;
use trailsql::datafusion::arrow::datatypes::SchemaRef;
use trailsql::datafusion::catalog::{Session, TableProvider};
use trailsql::datafusion::error::Result as DataFusionResult;
use trailsql::datafusion::logical_expr::{Expr, TableProviderFilterPushDown, TableType};
use trailsql::datafusion::physical_plan::ExecutionPlan;

use datafusion_ffi::proto::logical_extension_codec::FFI_LogicalExtensionCodec;
use datafusion_ffi::table_provider::FFI_TableProvider;
use pyo3::prelude::*;
use pyo3::types::{PyCapsule, PyCapsuleMethods};
use trailsql::Engine;

use crate::errors::{InteropError, IntoPy};

const PROVIDER_CAPSULE: &std::ffi::CStr = c"datafusion_table_provider";
const CODEC_CAPSULE: &std::ffi::CStr = c"datafusion_logical_extension_codec";

/// The DataFusion major version trailsql is built with; the FFI structs are only
/// guaranteed to match across the same major version.
fn our_major() -> u64 {
    datafusion_ffi::version()
}

/// Refuses a datafusion-python whose DataFusion major version is not ours, before any
/// FFI struct crosses: a mismatch would read the other side's memory wrongly.
fn check_version(py: Python<'_>) -> PyResult<()> {
    let Ok(datafusion) = py.import("datafusion") else {
        return Ok(());
    };
    let version: String = datafusion.getattr("__version__")?.extract()?;
    let major = version
        .split('.')
        .next()
        .and_then(|m| m.parse::<u64>().ok());
    if major != Some(our_major()) {
        let ours = our_major();
        return Err(InteropError::new_err(format!(
            "datafusion (Python) {version} cannot use trailsql's table: trailsql is built \
             with DataFusion {ours}, and tables cross between them only within one major \
             version; install datafusion=={ours}.*"
        )));
    }
    Ok(())
}

/// The host session's logical codec: the session object has a method that returns its
/// capsule, or is the capsule itself.
fn logical_codec(session: &Bound<'_, PyAny>) -> PyResult<FFI_LogicalExtensionCodec> {
    let method = "__datafusion_logical_extension_codec__";
    let capsule = if session.hasattr(method)? {
        session.call_method0(method)?
    } else {
        session.clone()
    };
    let capsule = capsule.cast::<PyCapsule>().map_err(|_| {
        InteropError::new_err(
            "__datafusion_table_provider__ needs the datafusion-python session \
             (SessionContext) or its logical extension codec",
        )
    })?;
    let pointer = capsule.pointer_checked(Some(CODEC_CAPSULE)).map_err(|_| {
        InteropError::new_err(
            "the session's codec capsule is not a datafusion_logical_extension_codec",
        )
    })?;
    // SAFETY: the capsule's name says it holds an FFI_LogicalExtensionCodec, and the
    // version check made sure it is of our DataFusion major version; it is cloned, not
    // moved, so the capsule keeps its own.
    let codec = unsafe { pointer.cast::<FFI_LogicalExtensionCodec>().as_ref() };
    Ok(codec.clone())
}

pub fn table_provider_capsule<'py>(
    py: Python<'py>,
    engine: &Arc<Engine>,
    session: Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyCapsule>> {
    check_version(py)?;
    let codec = logical_codec(&session)?;
    let runtime = crate::runtime::runtime()?;
    let engine_for_lookup = Arc::clone(engine);
    let table = crate::runtime::wait(py, async move {
        engine_for_lookup
            .context()
            .table_provider(trailsql::TABLE_NAME)
            .await
            .map_err(trailsql::Error::from)
    })?
    .py_err()?;
    let handle = runtime.handle().clone();
    let table = Arc::new(InOurRuntime {
        inner: table,
        runtime: handle.clone(),
    });
    let provider = FFI_TableProvider::new_with_ffi_codec(table, true, Some(handle), codec);
    PyCapsule::new_with_value(py, provider, PROVIDER_CAPSULE)
}

/// Our table as the host sees it. The host polls `scan` on its own tokio (another copy
/// of the library, with its own thread-locals), where ours has no runtime: listing the
/// layout spawns onto one. Each poll enters our runtime; the plans it returns run there
/// through the FFI's own runtime handle.
#[derive(Debug)]
struct InOurRuntime {
    inner: Arc<dyn TableProvider>,
    runtime: Handle,
}

/// Polls a future inside a tokio runtime's context, whatever executor drives it.
struct Entered<'a, T> {
    runtime: &'a Handle,
    future: Pin<Box<dyn Future<Output = T> + Send + 'a>>,
}

impl<T> Future for Entered<'_, T> {
    type Output = T;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<T> {
        let _context = self.runtime.enter();
        self.future.as_mut().poll(cx)
    }
}

#[async_trait::async_trait]
impl TableProvider for InOurRuntime {
    fn schema(&self) -> SchemaRef {
        self.inner.schema()
    }

    fn table_type(&self) -> TableType {
        self.inner.table_type()
    }

    fn supports_filters_pushdown(
        &self,
        filters: &[&Expr],
    ) -> DataFusionResult<Vec<TableProviderFilterPushDown>> {
        self.inner.supports_filters_pushdown(filters)
    }

    async fn scan(
        &self,
        state: &dyn Session,
        projection: Option<&Vec<usize>>,
        filters: &[Expr],
        limit: Option<usize>,
    ) -> DataFusionResult<Arc<dyn ExecutionPlan>> {
        Entered {
            runtime: &self.runtime,
            future: self.inner.scan(state, projection, filters, limit),
        }
        .await
    }
}
