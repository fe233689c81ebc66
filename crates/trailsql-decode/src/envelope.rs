//! Finds the CloudTrail records in a file, whatever envelope AWS or an export put them
//! in. Detection is by content, per file and per item, never by file name.

use std::fmt;

use serde_json::value::RawValue;

use crate::error::{DecodeError, DecodeErrorKind};
use crate::json::{self, Kind, ObjectFields};

/// The envelope a file's records were found in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Envelope {
    /// `{"Records":[...]}`, as CloudTrail delivers to S3.
    DeliveryFile,
    /// One record per line (CloudWatch Logs export, Logstash, test fixtures).
    Ndjson,
    /// A bare JSON array of records.
    Array,
    /// EventBridge / CloudWatch Events envelopes with the record in `detail`.
    EventBridge,
    /// CloudWatch Logs subscription payloads (`logEvents[].message`).
    CloudWatchLogs,
    /// `aws cloudtrail lookup-events` output (`Events[].CloudTrailEvent`).
    LookupEvents,
}

impl fmt::Display for Envelope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Envelope::DeliveryFile => "Records file",
            Envelope::Ndjson => "NDJSON",
            Envelope::Array => "JSON array",
            Envelope::EventBridge => "EventBridge",
            Envelope::CloudWatchLogs => "CloudWatch Logs subscription",
            Envelope::LookupEvents => "lookup-events output",
        })
    }
}

/// Why an item (or a whole file) holds no events.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SkipReason {
    Digest,
    NotJson(String),
    NotCloudTrail(String),
}

impl SkipReason {
    /// The reason without the particulars, for counting like with like.
    pub fn category(&self) -> &'static str {
        match self {
            SkipReason::Digest => "CloudTrail digest file, not events",
            SkipReason::NotJson(_) => "not JSON",
            SkipReason::NotCloudTrail(_) => "JSON that is not CloudTrail",
        }
    }
}

impl fmt::Display for SkipReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SkipReason::Digest => f.write_str("CloudTrail digest file, not events"),
            SkipReason::NotJson(what) => write!(f, "not JSON ({what})"),
            SkipReason::NotCloudTrail(what) => write!(f, "not CloudTrail ({what})"),
        }
    }
}

/// What one file held.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FileSummary {
    pub records: usize,
    pub envelopes: Vec<Envelope>,
    /// Items that held no events, with why. A file whose only items are skipped is a
    /// skipped file.
    pub skipped: Vec<SkipReason>,
}

/// Keys whose presence marks an object as a CloudTrail record.
const RECORD_MARKERS: &[&str] = &[
    "eventVersion",
    "eventTime",
    "eventSource",
    "eventName",
    "userIdentity",
    "eventID",
    "eventType",
    "eventCategory",
];

pub(crate) type RecordSink<'s> =
    dyn for<'r> FnMut(usize, &ObjectFields<'r>) -> Result<(), DecodeError> + 's;

/// Walks the records of one inflated file, calling `sink` with each record's index and
/// fields in file order.
pub(crate) fn walk_records(
    file: &str,
    bytes: &[u8],
    sink: &mut RecordSink<'_>,
) -> Result<FileSummary, DecodeError> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let Some(first) = bytes.iter().position(|b| !b.is_ascii_whitespace()) else {
        return Err(DecodeError::in_file(file, DecodeErrorKind::Empty));
    };
    let mut walker = Walker {
        file,
        sink,
        summary: FileSummary::default(),
    };
    if !matches!(bytes[first], b'{' | b'[') {
        walker
            .summary
            .skipped
            .push(SkipReason::NotJson(describe_start(&bytes[first..])));
        return Ok(walker.summary);
    }
    let items = serde_json::Deserializer::from_slice(bytes).into_iter::<&RawValue>();
    let mut count = 0;
    for item in items {
        let item = match item {
            Ok(item) => item,
            Err(error) => {
                let record =
                    json::records_before_error(bytes)
                        .or((count > 0 || walker.summary.records > 0)
                            .then_some(walker.summary.records));
                return Err(DecodeError::json(file, record, &error));
            }
        };
        count += 1;
        let top_level_shape = if count > 1 {
            Some(Envelope::Ndjson)
        } else {
            None
        };
        walker.item(item, true)?;
        if let Some(shape) = top_level_shape {
            walker.note(shape);
        }
    }
    // A single record object on its own is NDJSON of one line.
    if count == 1 && walker.summary.envelopes.is_empty() && walker.summary.records == 1 {
        walker.note(Envelope::Ndjson);
    }
    Ok(walker.summary)
}

struct Walker<'w, 's> {
    file: &'w str,
    sink: &'w mut RecordSink<'s>,
    summary: FileSummary,
}

impl Walker<'_, '_> {
    fn note(&mut self, envelope: Envelope) {
        if !self.summary.envelopes.contains(&envelope) {
            self.summary.envelopes.push(envelope);
        }
    }

    fn record(&mut self, fields: &ObjectFields<'_>) -> Result<(), DecodeError> {
        let index = self.summary.records;
        self.summary.records += 1;
        (self.sink)(index, fields)
    }

    /// One JSON value found at the top level, or inside an array at the top level.
    fn item(&mut self, raw: &RawValue, top_level: bool) -> Result<(), DecodeError> {
        match json::kind(raw) {
            Kind::Array if top_level => {
                let elements = json::array(raw).unwrap_or_default();
                let before = self.summary.records;
                for element in elements {
                    self.item(element, false)?;
                }
                if self.summary.records > before {
                    self.note(Envelope::Array);
                }
                Ok(())
            }
            Kind::Object => {
                let fields = json::object(raw).expect("validated object");
                self.object(&fields)
            }
            other => {
                self.summary.skipped.push(SkipReason::NotCloudTrail(format!(
                    "a JSON {} where an object was expected",
                    kind_name(other)
                )));
                Ok(())
            }
        }
    }

    fn object(&mut self, fields: &ObjectFields<'_>) -> Result<(), DecodeError> {
        if let Some(records) = fields.get("Records").and_then(json::array) {
            self.note(Envelope::DeliveryFile);
            for record in records {
                match json::object(record) {
                    Some(record) => self.record(&record)?,
                    None => {
                        let index = self.summary.records;
                        return Err(crate::error::FieldError::wrong_type(
                            "Records[]",
                            "a JSON object",
                            record.get(),
                        )
                        .at(self.file, index));
                    }
                }
            }
            return Ok(());
        }
        if let (Some(detail_type), Some(detail)) = (fields.get("detail-type"), fields.get("detail"))
        {
            let detail_type = json::text(detail_type).unwrap_or_default();
            return match json::object(detail) {
                Some(record) if detail_type.contains("CloudTrail") => {
                    self.note(Envelope::EventBridge);
                    self.record(&record)
                }
                _ => {
                    self.summary.skipped.push(SkipReason::NotCloudTrail(format!(
                        "EventBridge event of detail-type {detail_type:?}"
                    )));
                    Ok(())
                }
            };
        }
        if let (Some(message_type), Some(log_events)) =
            (fields.get("messageType"), fields.get("logEvents"))
        {
            if json::text(message_type).as_deref() == Some("CONTROL_MESSAGE") {
                self.summary.skipped.push(SkipReason::NotCloudTrail(
                    "CloudWatch Logs control message".to_string(),
                ));
                return Ok(());
            }
            for event in json::array(log_events).unwrap_or_default() {
                let message = json::object(event).and_then(|e| e.get("message"));
                self.embedded(message, Envelope::CloudWatchLogs, "logEvents[].message")?;
            }
            return Ok(());
        }
        if let Some(events) = fields.get("Events").and_then(json::array)
            && events
                .iter()
                .any(|e| json::object(e).is_some_and(|e| e.has("CloudTrailEvent")))
        {
            for event in events {
                let embedded = json::object(event).and_then(|e| e.get("CloudTrailEvent"));
                self.embedded(embedded, Envelope::LookupEvents, "Events[].CloudTrailEvent")?;
            }
            return Ok(());
        }
        if fields.has("digestStartTime") || (fields.has("logFiles") && fields.has("awsAccountId")) {
            self.summary.skipped.push(SkipReason::Digest);
            return Ok(());
        }
        if fields
            .0
            .iter()
            .any(|(key, _)| RECORD_MARKERS.iter().any(|m| m.eq_ignore_ascii_case(key)))
        {
            return self.record(fields);
        }
        let mut keys: Vec<&str> = fields.0.iter().take(5).map(|(k, _)| k.as_ref()).collect();
        if fields.0.len() > 5 {
            keys.push("...");
        }
        self.summary.skipped.push(SkipReason::NotCloudTrail(format!(
            "object with keys {}",
            keys.join(", ")
        )));
        Ok(())
    }

    /// A record carried as a JSON string inside another document.
    fn embedded(
        &mut self,
        raw: Option<&RawValue>,
        envelope: Envelope,
        field: &str,
    ) -> Result<(), DecodeError> {
        let index = self.summary.records;
        let text = raw
            .and_then(|raw| json::string(raw).ok().flatten())
            .ok_or_else(|| {
                crate::error::FieldError::wrong_type(
                    field,
                    "a string holding a JSON record",
                    raw.map_or("nothing", |r| r.get()),
                )
                .at(self.file, index)
            })?;
        let record: ObjectFields = serde_json::from_str(&text).map_err(|error| {
            let mut err = DecodeError::json(self.file, Some(index), &error);
            err.location.field = Some(field.to_string());
            err
        })?;
        self.note(envelope);
        self.record(&record)
    }
}

fn kind_name(kind: Kind) -> &'static str {
    match kind {
        Kind::Null => "null",
        Kind::Bool => "boolean",
        Kind::Number => "number",
        Kind::String => "string",
        Kind::Array => "array",
        Kind::Object => "object",
    }
}

fn describe_start(bytes: &[u8]) -> String {
    if bytes.starts_with(b"PK\x03\x04") {
        return "a zip archive".to_string();
    }
    let head: String = String::from_utf8_lossy(&bytes[..bytes.len().min(16)])
        .chars()
        .map(|c| if c.is_control() { '.' } else { c })
        .collect();
    format!("starts with {head:?}")
}
