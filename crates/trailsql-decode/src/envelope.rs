//! Finds the CloudTrail records in a file, whatever envelope AWS or an export put them
//! in. Detection is by content, per file and per item, never by file name.

use std::fmt;

use crate::error::{DecodeError, DecodeErrorKind, RecordPlace};
use crate::json::{self, Cursor, Kind, ObjectFields, Raw, SyntaxError};

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

impl FileSummary {
    /// Notes that records were found in `envelope`, once.
    pub(crate) fn note(&mut self, envelope: Envelope) {
        if !self.envelopes.contains(&envelope) {
            self.envelopes.push(envelope);
        }
    }
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

/// Whether the object at the cursor starts with a key that marks a record, spelled without
/// escapes (as producers write them). Envelopes start with their own keys (`Records`,
/// `version`, `messageType`, `Events`, `awsAccountId`), so such an object is read as the
/// record it looks like, without first being split into members to look for them.
fn first_key_marks_a_record(cursor: &Cursor<'_>) -> bool {
    let bytes = cursor.text().as_bytes();
    let mut at = cursor.offset() + 1;
    while bytes.get(at).is_some_and(u8::is_ascii_whitespace) {
        at += 1;
    }
    if bytes.get(at) != Some(&b'"') {
        return false;
    }
    let key = &bytes[at + 1..];
    let Some(length) = key.iter().take(16).position(|&b| b == b'"' || b == b'\\') else {
        return false;
    };
    key[length] == b'"'
        && RECORD_MARKERS
            .iter()
            .any(|marker| marker.as_bytes().eq_ignore_ascii_case(&key[..length]))
}

/// The first syntax error of the value at `start`, where `found` is one that skipping
/// its unread parts by their structure ran into: that scan only balances brackets, so a
/// record cut short is noticed only where the brackets run out (the end of the file for
/// a truncated NDJSON line), while a strict walk stops where the text first goes wrong.
/// Read again only once the record has failed.
fn first_syntax_error(text: &str, start: usize, found: SyntaxError) -> SyntaxError {
    let mut strict = Cursor::new(text);
    strict.move_to(start);
    match strict.value() {
        Err(first) if first.offset <= found.offset => first,
        _ => found,
    }
}

/// One record handed to a sink.
pub(crate) enum RecordInput<'c, 'r> {
    /// A record already split into members (embedded, enveloped or a lone object), or
    /// no members at all when fields are not needed.
    Fields(&'c ObjectFields<'r>),
    /// A cursor at the `{` of a record in a `Records` array: the sink reads the whole
    /// record itself, in one pass.
    Stream(&'c mut Cursor<'r>),
    /// An item of a `Records` array that is not an object (`null`, a number), as its
    /// raw text: a bad record, counted or failed as the sink decides, not a bad file.
    NotAnObject(&'r str),
}

impl<'r> RecordInput<'_, 'r> {
    /// The record's members, split out if the sink was handed a cursor.
    pub fn into_fields(self) -> Result<ObjectFields<'r>, SyntaxError> {
        match self {
            RecordInput::Fields(fields) => Ok(ObjectFields(fields.0.clone())),
            RecordInput::Stream(cursor) => cursor.object_fields(),
            RecordInput::NotAnObject(_) => Ok(ObjectFields::default()),
        }
    }
}

pub(crate) type RecordSink<'s> =
    dyn for<'c, 'r> FnMut(usize, RecordInput<'c, 'r>) -> Result<(), WalkError> + 's;

/// Where a part of a file starts, for a file read in parts (see [`crate::parts`]): the
/// records and lines before it, so that errors are placed in the whole file.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PartStart {
    pub records: usize,
    pub lines: usize,
}

impl PartStart {
    /// Where the part after `part` (which starts here and held `records` records) starts.
    pub fn after(self, part: &[u8], records: usize) -> PartStart {
        PartStart {
            records: self.records + records,
            lines: self.lines + memchr::memchr_iter(b'\n', part).count(),
        }
    }
}

/// What checking an inflated file's bytes found.
#[derive(Debug, PartialEq)]
enum Checked<'a> {
    /// All of them are UTF-8 (and their CRC, when asked for, matched).
    Text(&'a str),
    NotUtf8,
    /// The CRC asked for did not match.
    CrcMismatch,
}

/// Bytes checked as UTF-8 a chunk at a time, from the last chunk to the first, and when
/// `crc` is given, their CRC-32 in the same pass (chunk by chunk, combined).
///
/// The check reads every byte before the walk does. Checked from first to last, a file
/// larger than the core's cache would leave its last bytes there, and the walk would start
/// by fetching its first bytes again; checked from last to first, it leaves there the
/// bytes the walk reads first; and it starts where the inflate, which writes first to
/// last, left the cache. The CRC is taken here rather than by the inflate for the same
/// reason: a pass of its own would fetch a large file from memory once more.
fn checked_last_to_first(bytes: &[u8], crc: Option<u32>) -> Checked<'_> {
    const CHUNK: usize = 128 * 1024;
    let mut utf8 = true;
    // The CRC of `bytes[end..]`.
    let mut crc_after = 0;
    let mut end = bytes.len();
    while end > 0 {
        let mut start = end.saturating_sub(CHUNK);
        // A chunk starts where a character does: never at a continuation byte (`10xxxxxx`).
        // So the chunks are all valid exactly when the whole is: a character cut between
        // two chunks would leave the first one ending in an incomplete character.
        while start > 0 && bytes[start] & 0xC0 == 0x80 {
            start -= 1;
        }
        let chunk = &bytes[start..end];
        // Once a chunk is found broken the rest are read only for the CRC: a CRC that
        // does not match is the cause to report.
        utf8 = utf8 && simdutf8::basic::from_utf8(chunk).is_ok();
        if crc.is_some() {
            crc_after = crate::inflate::crc32_combine(
                crate::inflate::crc32(0, chunk),
                crc_after,
                bytes.len() - end,
            );
        } else if !utf8 {
            return Checked::NotUtf8;
        }
        end = start;
    }
    if crc.is_some_and(|crc| crc != crc_after) {
        return Checked::CrcMismatch;
    }
    if !utf8 {
        return Checked::NotUtf8;
    }
    // SAFETY: every byte of `bytes` was checked above, in chunks that each start at the
    // start of a character and end where the next chunk starts (or at the end).
    Checked::Text(unsafe { std::str::from_utf8_unchecked(bytes) })
}

/// Walks the records of one inflated file, calling `sink` with each record's index and
/// fields in file order. With `fields_needed` false, records in a `Records` array are
/// only checked and counted, and `sink` gets no fields. `start`: where the bytes start in
/// their file (the start of a line), when they are a part of it. `unchecked_crc`: the
/// CRC-32 the bytes' gzip trailer gives, when the inflate left it to be checked here.
pub(crate) fn walk_records(
    file: &str,
    bytes: &[u8],
    start: PartStart,
    fields_needed: bool,
    unchecked_crc: Option<u32>,
    sink: &mut RecordSink<'_>,
) -> Result<FileSummary, DecodeError> {
    // The CRC covers every byte (a byte-order mark too), and comes before any other
    // finding: of a damaged file, the damage is what to report.
    let checked = unchecked_crc.map(|crc| checked_last_to_first(bytes, Some(crc)));
    if checked == Some(Checked::CrcMismatch) {
        return Err(DecodeError::in_file(
            file,
            crate::inflate::crc_mismatch(bytes.len()),
        ));
    }
    // Judged before the byte-order mark is taken off: the rule takes one off itself.
    let not_json = starts_other_than_json(bytes);
    let unmarked = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let mark = bytes.len() - unmarked.len();
    let bytes = unmarked;
    let Some(first) = bytes.iter().position(|b| !b.is_ascii_whitespace()) else {
        return Err(DecodeError::in_file(file, DecodeErrorKind::Empty));
    };
    let mut walker = Walker {
        file,
        bytes,
        start,
        fields_needed,
        sink,
        summary: FileSummary::default(),
        records_contained: false,
        text: "",
        last_streamed: None,
    };
    if not_json {
        walker
            .summary
            .skipped
            .push(SkipReason::NotJson(describe_start(&bytes[first..])));
        return Ok(walker.summary);
    }
    // Records decode up to the first invalid UTF-8 byte, which then fails its record.
    let checked = match checked {
        // Checked with the byte-order mark, which is one whole character.
        Some(Checked::Text(text)) => Checked::Text(&text[mark..]),
        Some(other) => other,
        None => checked_last_to_first(bytes, None),
    };
    let text = match checked {
        Checked::Text(text) => text,
        Checked::NotUtf8 | Checked::CrcMismatch => match std::str::from_utf8(bytes) {
            Ok(text) => text,
            Err(error) => std::str::from_utf8(&bytes[..error.valid_up_to()]).expect("valid prefix"),
        },
    };
    walker.text = text;
    let mut cursor = Cursor::new(text);
    let mut items = 0;
    while cursor.peek().is_some() {
        items += 1;
        if items > 1 {
            walker.note(Envelope::Ndjson);
        }
        walker.top_level(&mut cursor)?;
    }
    if cursor.offset() < bytes.len() {
        return Err(walker.syntax(SyntaxError {
            offset: cursor.offset(),
            message: "invalid UTF-8",
        }));
    }
    // A single record object on its own is NDJSON of one line.
    if items == 1 && walker.summary.envelopes.is_empty() && walker.summary.records == 1 {
        walker.note(Envelope::Ndjson);
    }
    Ok(walker.summary)
}

/// Whether `bytes` (a file, or its first bytes) start with something other than JSON's
/// `{` or `[`, after an optional byte-order mark and whitespace: such a file is skipped
/// as not JSON. Whitespace alone, or nothing, answers `false`.
pub fn starts_other_than_json(bytes: &[u8]) -> bool {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    bytes
        .iter()
        .find(|b| !b.is_ascii_whitespace())
        .is_some_and(|b| !matches!(b, b'{' | b'['))
}

struct Walker<'w, 's> {
    file: &'w str,
    bytes: &'w [u8],
    start: PartStart,
    fields_needed: bool,
    sink: &'w mut RecordSink<'s>,
    summary: FileSummary,
    /// Whether a container of records (a `Records` array, a bare array) has been
    /// entered. Until then each top-level item is a record's place (an NDJSON line).
    records_contained: bool,
    /// The valid UTF-8 of `bytes` (all of it, or up to the first invalid byte).
    text: &'w str,
    /// The start and index of the last record read from the stream, whose unread parts
    /// were skipped by their structure only.
    last_streamed: Option<(usize, usize)>,
}

/// Either a syntax error not yet placed, or a finished decoding error.
pub(crate) enum WalkError {
    Syntax(SyntaxError),
    Decode(DecodeError),
}

impl From<SyntaxError> for WalkError {
    fn from(error: SyntaxError) -> Self {
        WalkError::Syntax(error)
    }
}

impl From<DecodeError> for WalkError {
    fn from(error: DecodeError) -> Self {
        WalkError::Decode(error)
    }
}

impl Walker<'_, '_> {
    /// The index in the whole file of the next record to be counted.
    fn index(&self) -> usize {
        self.start.records + self.summary.records
    }

    fn note(&mut self, envelope: Envelope) {
        self.summary.note(envelope);
    }

    /// Places a syntax error found outside a record's own reading, at its line and
    /// column. Once records came in a container, it is between them or after them (a
    /// separator, the envelope's end, text after it): after the last record counted,
    /// which was read whole before the error. Before that, a top-level item is where a
    /// record would be (an NDJSON line): the next record, once any record has been
    /// seen (before, the error may be in an envelope's start).
    fn syntax(&self, error: SyntaxError) -> DecodeError {
        if let Some(earlier) = self.break_in_last_streamed(&error) {
            return earlier;
        }
        let index = self.index();
        let place = if self.records_contained {
            index.checked_sub(1).map(RecordPlace::After)
        } else {
            (index > 0).then_some(RecordPlace::In(index))
        };
        self.syntax_at(error, place)
    }

    /// The last record read from the stream, if it breaks before `error` when read
    /// strictly. Skipping a value by its structure balances brackets by count only, so
    /// a bracket closed by the other kind (`[1}`) can end that record in the wrong place
    /// and leave the error to be found later: between records or in the next one.
    /// Read again only once something has failed.
    fn break_in_last_streamed(&self, error: &SyntaxError) -> Option<DecodeError> {
        let (start, index) = self.last_streamed?;
        let mut strict = Cursor::new(self.text);
        strict.move_to(start);
        match strict.value() {
            Err(first) if first.offset < error.offset => Some(self.syntax_in(first, index)),
            _ => None,
        }
    }

    /// Places a syntax error in `record`, at its line and column.
    fn syntax_in(&self, error: SyntaxError, record: usize) -> DecodeError {
        self.syntax_at(error, Some(RecordPlace::In(record)))
    }

    fn syntax_at(&self, error: SyntaxError, place: Option<RecordPlace>) -> DecodeError {
        let (line, column) = json::line_and_column(self.bytes, error.offset);
        let line = line + self.start.lines;
        let message = if error.offset >= self.bytes.len() || !self.bytes.is_ascii() {
            // An error at the end of the valid UTF-8 prefix is the invalid byte itself.
            match std::str::from_utf8(self.bytes) {
                Err(utf8) if utf8.valid_up_to() == error.offset => "invalid UTF-8",
                _ => error.message,
            }
        } else {
            error.message
        };
        DecodeError {
            location: crate::error::Location {
                file: self.file.to_string(),
                place,
                field: None,
            },
            kind: DecodeErrorKind::Json {
                line,
                column,
                message: message.to_string(),
            },
        }
    }

    fn placed(&self, error: WalkError) -> DecodeError {
        match error {
            WalkError::Syntax(error) => self.syntax(error),
            WalkError::Decode(error) => error,
        }
    }

    fn record(&mut self, fields: &ObjectFields<'_>) -> Result<(), DecodeError> {
        let index = self.index();
        self.summary.records += 1;
        (self.sink)(index, RecordInput::Fields(fields)).map_err(|error| match error {
            WalkError::Syntax(error) => self.syntax_in(error, index),
            WalkError::Decode(error) => error,
        })
    }

    /// One JSON value at the top level of the file.
    fn top_level(&mut self, cursor: &mut Cursor<'_>) -> Result<(), DecodeError> {
        let walked = match cursor.peek() {
            Some(b'{') => self.top_object(cursor),
            Some(b'[') => self.top_array(cursor),
            _ => cursor
                .value()
                .map_err(WalkError::from)
                .map(|raw| self.not_an_object(raw)),
        };
        walked.map_err(|error| self.placed(error))
    }

    /// A top-level object: a delivery file's `{"Records":[...]}`, streamed record by
    /// record, a record on its own (an NDJSON line), streamed too when its first key
    /// says it is one, or any other envelope.
    fn top_object(&mut self, cursor: &mut Cursor<'_>) -> Result<(), WalkError> {
        if first_key_marks_a_record(cursor) {
            return self.streamed_record(cursor);
        }
        let mut fields = Vec::new();
        let mut delivery = false;
        cursor.members(|cursor, key| {
            if key == "Records" && !delivery && cursor.peek() == Some(b'[') {
                delivery = true;
                self.note(Envelope::DeliveryFile);
                return self.records_array(cursor);
            }
            fields.push((key, cursor.value()?));
            Ok(())
        })?;
        if delivery {
            return Ok(());
        }
        Ok(self.object(&ObjectFields(fields))?)
    }

    fn records_array(&mut self, cursor: &mut Cursor<'_>) -> Result<(), WalkError> {
        self.records_contained = true;
        cursor.elements(|cursor| {
            if cursor.peek() != Some(b'{') {
                let index = self.index();
                let raw = cursor
                    .value()
                    .map_err(|error| self.syntax_in(error, index))?;
                (self.sink)(index, RecordInput::NotAnObject(raw.get()))?;
                self.summary.records += 1;
                return Ok(());
            }
            self.streamed_record(cursor)
        })
    }

    /// The record whose `{` is at the cursor, read by the sink in one pass.
    fn streamed_record(&mut self, cursor: &mut Cursor<'_>) -> Result<(), WalkError> {
        let index = self.index();
        let start = cursor.offset();
        let read = if self.fields_needed {
            (self.sink)(index, RecordInput::Stream(cursor))
        } else {
            // Nothing reads the record: its structure is all that is checked.
            cursor
                .skip_value()
                .map_err(WalkError::from)
                .and_then(|_| (self.sink)(index, RecordInput::Fields(&ObjectFields::default())))
        };
        match read {
            Ok(()) => {
                self.summary.records += 1;
                self.last_streamed = Some((start, index));
                Ok(())
            }
            // In the record being read, the first one too, unless the record before it
            // ended in the wrong place.
            Err(WalkError::Syntax(error)) => {
                let error = first_syntax_error(cursor.text(), start, error);
                Err(self
                    .break_in_last_streamed(&error)
                    .unwrap_or_else(|| self.syntax_in(error, index))
                    .into())
            }
            Err(error) => Err(error),
        }
    }

    fn top_array(&mut self, cursor: &mut Cursor<'_>) -> Result<(), WalkError> {
        self.records_contained = true;
        let before = self.summary.records;
        cursor.elements(|cursor| {
            if cursor.peek() == Some(b'{') {
                let index = self.index();
                let fields = cursor
                    .object_fields()
                    .map_err(|error| self.syntax_in(error, index))?;
                return Ok(self.object(&fields)?);
            }
            let raw = cursor.value()?;
            self.not_an_object(raw);
            Ok::<_, WalkError>(())
        })?;
        if self.summary.records > before {
            self.note(Envelope::Array);
        }
        Ok(())
    }

    fn not_an_object(&mut self, raw: Raw<'_>) {
        self.summary.skipped.push(SkipReason::NotCloudTrail(format!(
            "a JSON {} where an object was expected",
            kind_name(json::kind(raw))
        )));
    }

    fn object(&mut self, fields: &ObjectFields<'_>) -> Result<(), DecodeError> {
        if let Some(records) = fields.get("Records").and_then(json::array) {
            self.note(Envelope::DeliveryFile);
            for record in records {
                match json::object(record) {
                    Some(record) => self.record(&record)?,
                    None => {
                        let index = self.index();
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
                .any(|e| json::object(*e).is_some_and(|e| e.has("CloudTrailEvent")))
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
        raw: Option<Raw<'_>>,
        envelope: Envelope,
        field: &str,
    ) -> Result<(), DecodeError> {
        let index = self.index();
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
        let mut cursor = Cursor::new(&text);
        let record = cursor
            .object_fields()
            .and_then(|record| match cursor.peek() {
                None => Ok(record),
                Some(_) => Err(SyntaxError {
                    offset: cursor.offset(),
                    message: "trailing characters",
                }),
            })
            .map_err(|error| {
                let (line, column) = json::line_and_column(text.as_bytes(), error.offset);
                DecodeError {
                    location: crate::error::Location {
                        file: self.file.to_string(),
                        place: Some(RecordPlace::In(index)),
                        field: Some(field.to_string()),
                    },
                    kind: DecodeErrorKind::Json {
                        line,
                        column,
                        message: error.message.to_string(),
                    },
                }
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

#[cfg(test)]
mod tests {
    use super::{Checked, checked_last_to_first, starts_other_than_json};

    #[test]
    fn a_start_other_than_an_object_or_array_is_not_json() {
        for json in [&b"{}"[..], b"[", b" \n\t{", b"\xEF\xBB\xBF{", b"", b"   "] {
            assert!(!starts_other_than_json(json), "{json:?}");
        }
        for other in [
            &b"PAR1"[..],
            b"\x1f\x8b",
            b" x{",
            b"\xEF\xBB\xBF\xEF\xBB\xBF{",
            b"null",
        ] {
            assert!(starts_other_than_json(other), "{other:?}");
        }
    }

    fn validated_last_to_first(bytes: &[u8]) -> Option<&str> {
        match checked_last_to_first(bytes, None) {
            Checked::Text(text) => Some(text),
            _ => None,
        }
    }

    /// Text of every character width, long enough for several chunks, so that chunk
    /// starts fall inside characters of each width.
    fn mixed_text(bytes: usize) -> Vec<u8> {
        let pieces = ["a", "é", "€", "𝄞", "{\"k\":\"v\"}"];
        let mut text = String::new();
        let mut i = 0;
        while text.len() < bytes {
            text.push_str(pieces[i % pieces.len()]);
            i = (i * 7 + 3) % 1009;
        }
        text.into_bytes()
    }

    #[test]
    fn chunks_checked_last_to_first_agree_with_the_whole() {
        let text = mixed_text(600 * 1024);
        assert_eq!(
            validated_last_to_first(&text).map(str::as_bytes),
            Some(&text[..])
        );
        // A broken byte in every region of the text, and at the ends, is found; so is
        // a character cut short at the very end.
        for at in [0, 1, 131_071, 131_072, 131_073, 300_000, text.len() - 1] {
            for bad in [0xFF, 0x80, 0xC3] {
                let mut broken = text.clone();
                broken[at] = bad;
                assert_eq!(
                    validated_last_to_first(&broken).is_some(),
                    std::str::from_utf8(&broken).is_ok(),
                    "byte {bad:#x} at {at}"
                );
            }
        }
        let cut = &text[..text.iter().rposition(|&b| b >= 0xF0).unwrap() + 2];
        assert!(validated_last_to_first(cut).is_none());
        assert!(validated_last_to_first(&[0x80; 300_000]).is_none());
        assert_eq!(validated_last_to_first(b""), Some(""));
    }

    #[test]
    fn the_crc_taken_with_the_utf8_check_is_the_crc_of_the_whole() {
        let text = mixed_text(600 * 1024);
        let crc = crate::inflate::crc32(0, &text);
        let whole = std::str::from_utf8(&text).unwrap();
        assert_eq!(
            checked_last_to_first(&text, Some(crc)),
            Checked::Text(whole)
        );
        assert_eq!(
            checked_last_to_first(&text, Some(crc ^ 1)),
            Checked::CrcMismatch
        );
        assert_eq!(checked_last_to_first(b"", Some(0)), Checked::Text(""));
        // A changed byte anywhere: the CRC no longer matches, and that is the finding
        // even where the byte also breaks the UTF-8.
        for at in [0, 131_071, 131_072, 300_000, text.len() - 1] {
            for bad in [0xFF, b'x'] {
                let mut broken = text.clone();
                broken[at] = bad;
                if broken[at] == text[at] {
                    continue;
                }
                assert_eq!(
                    checked_last_to_first(&broken, Some(crc)),
                    Checked::CrcMismatch,
                    "byte {bad:#x} at {at}"
                );
            }
        }
        let mut broken = text.clone();
        broken[300_000] = 0xFF;
        let crc = crate::inflate::crc32(0, &broken);
        assert_eq!(checked_last_to_first(&broken, Some(crc)), Checked::NotUtf8);
    }
}
