//! Bytes to Apache Arrow for AWS CloudTrail logs.
//!
//! This crate knows the CloudTrail record format and nothing about query engines (as
//! `arrow-json` is to DataFusion's JSON source). It detects the envelope a file uses
//! (`{"Records":[...]}`, NDJSON, arrays, EventBridge, CloudWatch Logs, `lookup-events`),
//! inflates gzip by magic bytes, and decodes only the projected columns of the
//! [`CloudTrailSchema`] into record batches.

mod absence;
mod columns;
mod decoder;
mod derive;
mod discovery;
mod envelope;
mod error;
mod fast_hash;
mod filter;
#[doc(hidden)]
pub mod fuzzing;
mod gzip_stream;
mod inflate;
mod json;
mod layout;
mod parts;
mod schema;
mod structural;
mod time;

pub use decoder::{CloudTrailDecoder, DecoderOptions, FileOutcome, OnError};
pub use discovery::SchemaDiscovery;
pub use envelope::{Envelope, FileSummary, PartStart, SkipReason, starts_other_than_json};
pub use error::{DecodeError, DecodeErrorKind, Location, RecordPlace};
pub use filter::{TextFilter, TextTest};
pub use gzip_stream::{GzipStream, GzipStreamError, gzip_splits, gzip_trailer_length};
pub use inflate::{is_gzip, maybe_inflate, maybe_inflate_into, maybe_inflate_with_zlib_into};
pub use layout::{
    LogLocation, delivered_at, delivered_by_name, delivery_stamp, is_account_id,
    is_organization_id, parse_log_location,
};
pub use parts::part_end;
pub use schema::{
    CloudTrailSchema, ColumnSpec, ColumnType, Derived, REQUEST_PARAMETERS_PREFIX, Source,
    columns_markdown, flat_name,
};
pub use time::{parse_date_or_timestamp_micros, parse_timestamp_micros};
