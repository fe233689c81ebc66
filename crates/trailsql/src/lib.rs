//! trailsql: an embedded SQL engine for AWS CloudTrail logs.
//!
//! Point an [`Engine`] at files, folders or globs of CloudTrail logs (any envelope,
//! plain or gzipped) and query the `cloudtrail` table with DataFusion SQL. No DDL, no
//! collect step.
//!
//! ```
//! use futures::StreamExt;
//! use trailsql::{Engine, EngineOptions};
//!
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/sample/kinesis-example.json");
//! let engine = Engine::open(&[dir], EngineOptions::default()).await?;
//! let mut query = engine
//!     .sql("SELECT eventname, useridentity_username, sourceipaddress \
//!           FROM cloudtrail ORDER BY eventtime")
//!     .await?;
//! let mut rows = 0;
//! while let Some(batch) = query.next().await {
//!     rows += batch?.num_rows();
//! }
//! assert_eq!(rows, 6);
//! assert_eq!(query.stats().events, 6);
//! # Ok::<(), trailsql::Error>(())
//! # }).unwrap();
//! ```

mod booleans;
pub mod check;
mod compat;
mod engine;
mod error;
mod file_queue;
mod fnv;
pub mod generate;
pub mod layout;
mod parallel;
pub mod parquet;
mod parts;
mod prune;
mod reads;
pub mod results;
mod running_filters;
pub mod s3;
mod sample;
mod scan;
pub mod source;
mod sql;
mod stats;
mod table;
mod text_extremes;

pub use datafusion::common::{ParamValues, ScalarValue};
pub use engine::{
    Engine, EngineOptions, Prepared, Query, QueryProgress, SpillTo, TABLE_NAME, default_cache_dir,
};
pub use error::{Error, Result};
pub use scan::CloudTrailScanExec;
pub use source::LogObject;
pub use stats::{ScanStats, Skipped};
pub use table::CloudTrailTable;
pub use trailsql_decode::{CloudTrailSchema, ColumnSpec, ColumnType, DecodeError, OnError};

pub use datafusion;
