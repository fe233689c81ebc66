//! Records to Arrow: one column builder per projected column, filled straight from the
//! raw JSON slices of each record. Unprojected fields are never parsed.

use std::borrow::Cow;
use std::sync::Arc;

use arrow_array::{ArrayRef, RecordBatch, RecordBatchOptions};
use arrow_schema::{Schema, SchemaRef};
use chrono::Datelike;

use crate::absence::{AbsenceProbe, ObjectKeySearch};
use crate::columns::{self, ColumnBuffer};
use crate::derive::IdentityView;
use crate::envelope::RecordInput;
use crate::envelope::{self, FileSummary, PartStart};
use crate::error::{DecodeError, FieldError};
use crate::fast_hash::{FastMap, FastSet, get_any_case};
use crate::filter::{TextFilter, TextTest};
use crate::inflate;
use crate::json::{self, Cursor, Kind, ObjectFields, Raw, SyntaxError};
use crate::schema::{
    CloudTrailSchema, ColumnSpec, ColumnType, Derived, IDENTITY_LEAVES, REQUEST_PARAMETERS_PREFIX,
    Source, TLS_LEAVES, TOP_FIELDS,
};
use crate::time::{LastDay, parse_timestamp_micros};

/// What to do with input that cannot be decoded.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum OnError {
    /// Stop with an error naming the file, record and field.
    #[default]
    Fail,
    /// Skip the record (or the rest of the file) and count it.
    Skip,
}

#[derive(Debug, Clone)]
pub struct DecoderOptions {
    /// Rows per emitted batch.
    pub batch_size: usize,
    pub on_error: OnError,
    /// Refuse files that inflate past this many bytes.
    pub max_inflated_bytes: u64,
}

impl Default for DecoderOptions {
    fn default() -> Self {
        Self {
            batch_size: 8192,
            on_error: OnError::Fail,
            max_inflated_bytes: 4 << 30,
        }
    }
}

/// What decoding one file produced, for the query's statistics.
#[derive(Debug, Clone, Default)]
pub struct FileOutcome {
    /// The file, as named to the decoder.
    pub file: String,
    pub summary: FileSummary,
    pub inflated_bytes: u64,
    /// Rows appended from this file.
    pub rows: usize,
    /// Records skipped under [`OnError::Skip`], with why (at most a few are kept).
    pub skipped_records: usize,
    pub first_record_errors: Vec<DecodeError>,
    /// Records read but not turned into rows because a [`TextFilter`] rejected them.
    pub filtered_records: usize,
    /// Under [`OnError::Skip`]: the error that ended the file early, if any. Rows decoded
    /// before it are kept and counted in `rows`.
    pub file_error: Option<DecodeError>,
}

impl FileOutcome {
    /// Adds the outcome of the next part of the same file (see
    /// [`CloudTrailDecoder::decode_part`]).
    pub fn absorb(&mut self, part: FileOutcome) {
        self.summary.records += part.summary.records;
        for envelope in part.summary.envelopes {
            self.summary.note(envelope);
        }
        self.summary.skipped.extend(part.summary.skipped);
        self.inflated_bytes += part.inflated_bytes;
        self.rows += part.rows;
        self.skipped_records += part.skipped_records;
        let room = KEPT_RECORD_ERRORS.saturating_sub(self.first_record_errors.len());
        self.first_record_errors
            .extend(part.first_record_errors.into_iter().take(room));
        self.filtered_records += part.filtered_records;
        self.file_error = self.file_error.take().or(part.file_error);
    }
}

const KEPT_RECORD_ERRORS: usize = 5;

/// The largest inflated-file buffer kept between files.
const SPARE_BUFFER_LIMIT: usize = 64 << 20;

/// Decodes CloudTrail files into record batches of a projected `cloudtrail` schema.
///
/// ```
/// use trailsql_decode::{CloudTrailDecoder, CloudTrailSchema, DecoderOptions};
///
/// let schema = CloudTrailSchema::default();
/// let eventname = schema.index_of("eventname").unwrap();
/// let mut decoder = CloudTrailDecoder::new(&schema, Some(&[eventname]), DecoderOptions::default());
/// let file = br#"{"Records":[{"eventName":"CreateStream","eventTime":"2014-04-19T00:16:31Z"}]}"#;
/// let mut batches = Vec::new();
/// decoder.decode_file("example.json", file.to_vec(), &mut |batch| batches.push(batch)).unwrap();
/// batches.extend(decoder.flush());
/// assert_eq!(batches[0].num_rows(), 1);
/// ```
pub struct CloudTrailDecoder {
    output: SchemaRef,
    columns: Vec<ProjectedColumn>,
    /// The column that cannot take a row back, if projected: it is appended last.
    append_last: Option<usize>,
    rows: usize,
    needs: Needs,
    /// Bit `i`: the columns read top-level slot `i`.
    read_top_slots: u64,
    top_index: FastMap<String, usize>,
    identity_tree: KeyTree,
    tls_index: FastMap<String, usize>,
    request_parameter_columns: FastMap<String, usize>,
    /// Every `requestparameters_..._x` prefix of a projected column: the branches worth
    /// walking.
    request_parameter_branches: FastSet<String>,
    /// The top-level slot of the key that last followed each slot (and the start of a
    /// record, and an unknown key): producers keep their key order, optional keys
    /// included, so this usually answers without hashing.
    key_order: [Option<usize>; TOP_FIELDS.len() + 2],
    /// The last inflated file's buffer, kept for the next one.
    spare: Vec<u8>,
    /// Room for the flat name of a `requestParameters` leaf, kept between records.
    parameter_name: String,
    /// The lengths of the projected `requestparameters_*` names and their branches.
    parameter_name_lengths: LengthSet,
    /// Rules out, without walking it, a `requestParameters` object that holds none of the
    /// first-level keys the flattened columns could come from; `None` when they cannot all
    /// be searched for.
    parameter_search: Option<ObjectKeySearch>,
    options: DecoderOptions,
    /// Conditions on top-level text values, by slot: checked as soon as the value is read.
    top_filters: Vec<(usize, TextTest)>,
    filtered_top: [bool; TOP_FIELDS.len()],
    /// Conditions on `userIdentity` leaves, by identity slot: checked once it is walked.
    identity_filters: Vec<(usize, TextTest)>,
    /// Ends records early that can only lack what is left to find; `None` when
    /// `unmapped` needs every key anyway.
    absence: Option<AbsenceProbe<{ TOP_FIELDS.len() }>>,
    /// The allocation of the last record's `requestparameters_*` list (see [`recycle`]).
    spare_parameters: Vec<(usize, Option<Cow<'static, str>>)>,
}

struct ProjectedColumn {
    /// Index into the record view's slots for `Top`, `Identity` and `Tls` sources.
    slot: usize,
    /// Where the view holds the value, from `source`.
    held: Held,
    source: Source,
    column_type: ColumnType,
    buffer: ColumnBuffer,
    /// For a timestamp column, the date of the last time it read.
    last_day: LastDay,
}

/// Which part of the record view holds a column's value: [`Source`] in one byte, read
/// for every cell (telling `Source`'s variants apart takes several instructions, its
/// tag being folded into its list's capacity).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Held {
    Top,
    Identity,
    Tls,
    RequestParameter,
    /// Made from other values when the cell is appended.
    Elsewhere,
}

impl Held {
    fn of(source: &Source) -> Self {
        match source {
            Source::Top(_) => Held::Top,
            Source::Identity(_) => Held::Identity,
            Source::Tls(_) => Held::Tls,
            Source::RequestParameter(_) => Held::RequestParameter,
            Source::Derived(_) | Source::Unmapped => Held::Elsewhere,
        }
    }
}

#[derive(Default, Clone, Copy)]
struct Needs {
    /// Any column reads the record itself (not only the file's name and place).
    fields: bool,
    identity: bool,
    tls: bool,
    request_parameters: bool,
    /// The top-level values whose text a column reads, and so must be checked strictly;
    /// the others are only measured (see [`Cursor::skip_value`]).
    strict_top: [bool; TOP_FIELDS.len()],
    /// Keys outside the schema, and repeated keys, are read (by `unmapped`).
    strict_unmapped: bool,
    /// The top-level values any column reads: once a record has given them all, the
    /// rest of it is skipped (unless `unmapped` wants it).
    read_top: [bool; TOP_FIELDS.len()],
}

impl Needs {
    fn top_reads(&self) -> usize {
        self.read_top.iter().filter(|&&read| read).count()
    }
}

/// One resource entry: arn, accountid, type, arnprefix, unmapped.
pub(crate) type ResourceEntry<'a> = [Option<Cow<'a, str>>; 5];

pub(crate) enum Cell<'a> {
    Null,
    Text(Cow<'a, str>),
    Bool(bool),
    Timestamp(i64),
    Resources(Vec<ResourceEntry<'a>>),
}

/// Case-insensitive lookup of known nested leaves (for `userIdentity`).
/// Case-insensitive lookup of the nested leaves a query reads (for `userIdentity`).
/// A level holds a handful of keys, so a scan that mostly rejects on length beats hashing.
#[derive(Default)]
struct KeyTree {
    children: Vec<(String, KeyNode)>,
    /// Leaves in this tree and its branches.
    leaves: usize,
    /// A derived column (`actor`, ...) reads the tree, which also asks whether
    /// `sessionContext` is present.
    derived: bool,
    /// The leaf `type` is, when it is a leaf of this tree (`userIdentity`'s).
    type_leaf: Option<usize>,
}

enum KeyNode {
    Leaf(usize),
    Branch(KeyTree),
}

impl KeyTree {
    fn insert(&mut self, path: &[&str], leaf: usize) {
        self.leaves += 1;
        let position = match self.children.iter().position(|(k, _)| k == path[0]) {
            Some(position) => position,
            None => {
                let node = if path.len() == 1 {
                    KeyNode::Leaf(leaf)
                } else {
                    KeyNode::Branch(KeyTree::default())
                };
                self.children.push((path[0].to_string(), node));
                self.children.len() - 1
            }
        };
        if let (KeyNode::Branch(tree), true) = (&mut self.children[position].1, path.len() > 1) {
            tree.insert(&path[1..], leaf);
        }
    }

    #[inline(always)]
    fn get(&self, key: &str) -> Option<&KeyNode> {
        // A loop rather than `find`, which a second caller left out of line.
        for (k, node) in &self.children {
            if k.len() == key.len() && k.eq_ignore_ascii_case(key) {
                return Some(node);
            }
        }
        None
    }
}

/// What appending a record did.
enum Appended {
    Row,
    /// The record is in, and a text column has reached
    /// [`columns::TEXT_BYTES_PER_BATCH`].
    FillingBatch,
    /// Nothing is in: the value of `bytes` bytes for the column at `position` did not fit
    /// with the batch's text (see [`columns::MOST_TEXT_BYTES`]).
    NoRoom {
        position: usize,
        bytes: usize,
    },
}

/// The raw values of one record, sorted into the places the columns read from.
struct RecordView<'a> {
    top: [Option<Raw<'a>>; TOP_FIELDS.len()],
    unmapped: Vec<(Cow<'a, str>, Raw<'a>)>,
    identity: [Option<Raw<'a>>; IDENTITY_LEAVES.len()],
    /// Bit `i`: `top[i]`, or `identity[i]`, is a string with no escapes, as found while
    /// the record was read, so its contents need no second look for backslashes.
    plain_top: u64,
    plain_identity: u64,
    has_session_context: bool,
    /// `identity` was filled while reading the record.
    identity_walked: bool,
    /// `request_parameters` was filled while reading the record.
    parameters_walked: bool,
    tls: [Option<Raw<'a>>; TLS_LEAVES.len()],
    /// `(column position, value)` of the projected `requestparameters_*` leaves found:
    /// a handful at most, so a list, never a hash map allocated per record.
    request_parameters: Vec<(usize, Option<Cow<'a, str>>)>,
}

const _: () = assert!(TOP_FIELDS.len() <= 64 && IDENTITY_LEAVES.len() <= 64);

/// The allocation of `found`, emptied, for values of another file or record: a record
/// that holds a projected `requestparameters_*` key would otherwise allocate the list
/// anew. Collecting an emptied vector's iterator into items of the same size and
/// alignment reuses its allocation.
fn recycle<'from, 'to>(
    mut found: Vec<(usize, Option<Cow<'from, str>>)>,
) -> Vec<(usize, Option<Cow<'to, str>>)> {
    found.clear();
    found
        .into_iter()
        .map(|_| unreachable!("the list was emptied"))
        .collect()
}

impl<'a> RecordView<'a> {
    fn empty() -> Self {
        Self {
            top: [None; TOP_FIELDS.len()],
            unmapped: Vec::new(),
            identity: [None; IDENTITY_LEAVES.len()],
            plain_top: 0,
            plain_identity: 0,
            has_session_context: false,
            identity_walked: false,
            parameters_walked: false,
            tls: [None; TLS_LEAVES.len()],
            request_parameters: Vec::new(),
        }
    }
}

impl CloudTrailDecoder {
    /// `projection` lists column indices of `schema`; `None` decodes every column.
    pub fn new(
        schema: &CloudTrailSchema,
        projection: Option<&[usize]>,
        options: DecoderOptions,
    ) -> Self {
        Self::with_filters(schema, projection, &[], options)
    }

    /// As [`Self::new`], keeping only the records that meet every filter. Filters on
    /// columns [`TextFilter::applies_to`] rejects are ignored: the caller applies all of
    /// its filters again to what comes out.
    pub fn with_filters(
        schema: &CloudTrailSchema,
        projection: Option<&[usize]>,
        filters: &[TextFilter],
        options: DecoderOptions,
    ) -> Self {
        let all: Vec<usize> = (0..schema.columns().len()).collect();
        let projection = projection.unwrap_or(&all);
        let specs: Vec<_> = projection.iter().map(|&i| &schema.columns()[i]).collect();
        let output = Arc::new(Schema::new(
            specs.iter().map(|c| c.field()).collect::<Vec<_>>(),
        ));
        let filters: Vec<(&ColumnSpec, &TextTest)> = filters
            .iter()
            .filter(|filter| filter.applies_to(schema))
            .map(|filter| (&schema.columns()[filter.column], &filter.test))
            .collect();
        let mut top_filters = Vec::new();
        let mut filtered_top = [false; TOP_FIELDS.len()];
        let mut identity_filters = Vec::new();
        let mut needs = Needs::default();
        for (spec, test) in &filters {
            needs.fields = true;
            match spec.source {
                Source::Top(key) => {
                    let slot = slot_of(key);
                    needs.strict_top[slot] = true;
                    filtered_top[slot] = true;
                    top_filters.push((slot, (*test).clone()));
                }
                Source::Identity(path) => {
                    needs.identity = true;
                    identity_filters.push((identity_slot(path), (*test).clone()));
                }
                _ => unreachable!("TextFilter::applies_to admits these sources only"),
            }
        }
        let mut request_parameter_columns = FastMap::default();
        for (position, spec) in specs.iter().enumerate() {
            needs.fields |= !matches!(
                spec.source,
                Source::Derived(
                    Derived::LogFile | Derived::LogAccount | Derived::LogRegion | Derived::LogDate
                )
            );
            match &spec.source {
                Source::Identity(_) => needs.identity = true,
                Source::Derived(
                    Derived::LogFile | Derived::LogAccount | Derived::LogRegion | Derived::LogDate,
                ) => {}
                Source::Derived(_) => needs.identity = true,
                Source::Tls(_) => {
                    needs.tls = true;
                    needs.strict_top[TLS_SLOT] = true;
                }
                Source::RequestParameter(_) => {
                    needs.request_parameters = true;
                    request_parameter_columns.insert(spec.name.clone(), position);
                }
                Source::Top(key) => needs.strict_top[slot_of(key)] = true,
                Source::Unmapped => needs.strict_unmapped = true,
            }
        }
        needs.read_top = needs.strict_top;
        // Only the leaves a `requestparameters_*` column reads are checked strictly.
        needs.read_top[REQUEST_PARAMETERS_SLOT] |= needs.request_parameters;
        if needs.identity {
            needs.read_top[USER_IDENTITY_SLOT] = true;
        }
        let columns: Vec<ProjectedColumn> = specs
            .iter()
            .map(|spec| ProjectedColumn {
                slot: match &spec.source {
                    Source::Top(key) => slot_of(key),
                    Source::Identity(path) => identity_slot(path),
                    Source::Tls(key) => TLS_LEAVES
                        .iter()
                        .position(|(k, _)| k == key)
                        .expect("known TLS leaf"),
                    _ => 0,
                },
                held: Held::of(&spec.source),
                source: spec.source.clone(),
                column_type: spec.column_type,
                buffer: ColumnBuffer::new(spec.column_type, options.batch_size),
                last_day: LastDay::default(),
            })
            .collect();
        let mut top_index = FastMap::default();
        for (i, field) in TOP_FIELDS.iter().enumerate() {
            top_index.insert(field.key.to_string(), i);
            top_index.insert(field.key.to_ascii_lowercase(), i);
        }
        // Only the leaves a column reads, so that unasked-for branches such as
        // `sessionContext` are never parsed.
        let derived_identity = specs.iter().any(|spec| {
            matches!(
                spec.source,
                Source::Derived(Derived::Actor | Derived::ActorKind | Derived::CredentialKind)
            )
        });
        let mut identity_tree = KeyTree::default();
        for (i, leaf) in IDENTITY_LEAVES.iter().enumerate() {
            let projected = specs
                .iter()
                .chain(filters.iter().map(|(spec, _)| spec))
                .any(|spec| matches!(&spec.source, Source::Identity(path) if *path == leaf.path));
            if projected || (derived_identity && DERIVED_IDENTITY_LEAVES.contains(&leaf.path)) {
                identity_tree.insert(leaf.path, i);
            }
        }
        identity_tree.derived = derived_identity;
        identity_tree.type_leaf = match identity_tree.get("type") {
            Some(KeyNode::Leaf(leaf)) => Some(*leaf),
            _ => None,
        };
        let tls_index = TLS_LEAVES
            .iter()
            .enumerate()
            .flat_map(|(i, (key, _))| [(key.to_string(), i), (key.to_ascii_lowercase(), i)])
            .collect();
        let append_last = columns
            .iter()
            .position(|column| !column.buffer.can_take_back());
        debug_assert!(
            columns.iter().filter(|c| !c.buffer.can_take_back()).count() <= 1,
            "one resources column at most"
        );
        // A branch's name is a column's up to one of its underscores.
        let mut parameter_name_lengths = LengthSet::default();
        for name in request_parameter_columns.keys() {
            parameter_name_lengths.insert(name.len());
            for (i, _) in name.match_indices('_') {
                parameter_name_lengths.insert(i);
            }
        }
        let parameter_search =
            ObjectKeySearch::new(first_parameter_keys(request_parameter_columns.keys()));
        Self {
            output,
            append_last,
            columns,
            rows: 0,
            read_top_slots: (0..TOP_FIELDS.len())
                .filter(|&slot| needs.read_top[slot])
                .fold(0, |slots, slot| slots | 1 << slot),
            needs,
            top_index,
            identity_tree,
            tls_index,
            request_parameter_branches: request_parameter_columns
                .keys()
                .flat_map(|name| {
                    name.match_indices('_')
                        .map(|(i, _)| name[..i].to_string())
                        .collect::<Vec<_>>()
                })
                .collect(),
            request_parameter_columns,
            key_order: [None; TOP_FIELDS.len() + 2],
            spare: Vec::new(),
            parameter_name: String::new(),
            parameter_name_lengths,
            parameter_search,
            options,
            top_filters,
            filtered_top,
            identity_filters,
            absence: (!needs.strict_unmapped && needs.top_reads() > 0).then(|| {
                AbsenceProbe::new(
                    std::array::from_fn(|slot| TOP_FIELDS[slot].key),
                    needs.read_top,
                )
            }),
            spare_parameters: Vec::new(),
        }
    }

    pub fn schema(&self) -> SchemaRef {
        Arc::clone(&self.output)
    }

    /// Rows buffered and not yet flushed.
    pub fn buffered_rows(&self) -> usize {
        self.rows
    }

    /// Inflates (when gzip) and decodes one file, calling `emit` with each full batch.
    /// Rows of a final partial batch stay buffered for the next file or [`Self::flush`].
    pub fn decode_file(
        &mut self,
        file: &str,
        bytes: Vec<u8>,
        emit: &mut dyn FnMut(RecordBatch),
    ) -> Result<FileOutcome, DecodeError> {
        let outcome = FileOutcome {
            file: file.to_string(),
            ..FileOutcome::default()
        };
        let spare = std::mem::take(&mut self.spare);
        let limit = self.options.max_inflated_bytes;
        // A gzip file cut short keeps, under skip, the records whole before the cut.
        let (bytes, unchecked_crc, cut_short) =
            match inflate::maybe_inflate_keeping_cut(bytes, limit, spare) {
                Ok(inflated) => (inflated.bytes, inflated.unchecked_crc, None),
                Err((kind, prefix))
                    if self.options.on_error == OnError::Skip && !prefix.is_empty() =>
                {
                    (prefix, None, Some(DecodeError::in_file(file, kind)))
                }
                Err((kind, _)) => {
                    return self.file_failed(outcome, DecodeError::in_file(file, kind));
                }
            };
        let mut decoded = self.decode_text(
            file,
            outcome,
            &bytes,
            PartStart::default(),
            unchecked_crc,
            emit,
        );
        if let (Some(cut_short), Ok(outcome)) = (cut_short, &mut decoded) {
            // The record the cut fell in fails as broken JSON; the cause is the cut.
            outcome.file_error = Some(cut_short);
        }
        // Keep the buffer for the next file, unless one huge file would pin its size.
        if bytes.capacity() <= SPARE_BUFFER_LIMIT {
            self.spare = bytes;
        }
        decoded
    }

    /// Decodes one part of a file too large to hold whole (plain, or gzip inflated a
    /// part at a time), as the engine reads such files: `text` holds whole top-level
    /// JSON values (see
    /// [`crate::part_end`]) and starts where `start` says, so that errors name the
    /// record and line in the whole file. Each part's outcome counts its own rows.
    pub fn decode_part(
        &mut self,
        file: &str,
        text: &[u8],
        start: PartStart,
        emit: &mut dyn FnMut(RecordBatch),
    ) -> Result<FileOutcome, DecodeError> {
        let outcome = FileOutcome {
            file: file.to_string(),
            ..FileOutcome::default()
        };
        self.decode_text(file, outcome, text, start, None, emit)
    }

    fn decode_text(
        &mut self,
        file: &str,
        mut outcome: FileOutcome,
        bytes: &[u8],
        start: PartStart,
        unchecked_crc: Option<u32>,
        emit: &mut dyn FnMut(RecordBatch),
    ) -> Result<FileOutcome, DecodeError> {
        outcome.inflated_bytes = bytes.len() as u64;
        let place = FilePlace::of(file);
        let on_error = self.options.on_error;
        let mut rows = 0;
        let mut skipped = 0;
        let mut filtered = 0;
        let mut record_errors = Vec::new();
        let fields_needed = self.needs.fields;
        let walked = envelope::walk_records(
            file,
            bytes,
            start,
            fields_needed,
            unchecked_crc,
            &mut |index, input| {
                // The view is filled in place: moving it (a kilobyte) cost more than reading
                // most records.
                let mut view = RecordView::empty();
                view.request_parameters = recycle(std::mem::take(&mut self.spare_parameters));
                // `Ok(false)`: a filter rejected the record.
                let kept = match input {
                    RecordInput::Fields(fields) => Ok(self.view(fields, &mut view)),
                    RecordInput::Stream(cursor) => Ok(self.streamed_view(cursor, &mut view)?),
                    RecordInput::NotAnObject(raw) => Err(crate::error::FieldError::wrong_type(
                        "Records[]",
                        "a JSON object",
                        raw,
                    )),
                };
                let appended = kept.and_then(|kept| {
                    if kept {
                        self.append_record(&place, &view, &mut *emit).map(|()| true)
                    } else {
                        Ok(false)
                    }
                });
                self.spare_parameters = recycle(view.request_parameters);
                match appended {
                    Ok(true) => rows += 1,
                    Ok(false) => filtered += 1,
                    Err(error) => {
                        let error = error.at(file, index);
                        if on_error == OnError::Fail {
                            return Err(error.into());
                        }
                        skipped += 1;
                        if record_errors.len() < KEPT_RECORD_ERRORS {
                            record_errors.push(error);
                        }
                    }
                }
                if self.rows >= self.options.batch_size {
                    emit(self.flush_batch());
                }
                Ok(())
            },
        );
        outcome.rows = rows;
        outcome.skipped_records = skipped;
        outcome.filtered_records = filtered;
        outcome.first_record_errors = record_errors;
        match walked {
            Ok(summary) => {
                outcome.summary = summary;
                Ok(outcome)
            }
            Err(error) => self.file_failed(outcome, error),
        }
    }

    fn file_failed(
        &self,
        mut outcome: FileOutcome,
        error: DecodeError,
    ) -> Result<FileOutcome, DecodeError> {
        match self.options.on_error {
            OnError::Fail => Err(error),
            OnError::Skip => {
                outcome.file_error = Some(error);
                Ok(outcome)
            }
        }
    }

    /// Returns the buffered rows as a batch, if there are any.
    pub fn flush(&mut self) -> Option<RecordBatch> {
        (self.rows > 0).then(|| self.flush_batch())
    }

    fn flush_batch(&mut self) -> RecordBatch {
        let arrays: Vec<ArrayRef> = self.columns.iter_mut().map(|c| c.buffer.finish()).collect();
        let options = RecordBatchOptions::new().with_row_count(Some(self.rows));
        self.rows = 0;
        RecordBatch::try_new_with_options(Arc::clone(&self.output), arrays, &options)
            .expect("builders match the projected schema")
    }

    /// Appends a kept record, and ends the batch when a text column has filled up. A
    /// record whose text does not fit in the batch goes into a batch of its own; one that
    /// does not fit in an empty batch fails.
    #[inline(always)]
    fn append_record(
        &mut self,
        place: &FilePlace<'_>,
        view: &RecordView<'_>,
        emit: &mut dyn FnMut(RecordBatch),
    ) -> Result<(), FieldError> {
        let appended = self.append_view(place, view)?;
        if let Some((position, bytes)) = self.settle(appended, emit) {
            self.append_alone(place, view, emit, position, bytes)?;
        }
        Ok(())
    }

    /// Ends the batch when the record just appended filled it; the column and size of
    /// the value that did not fit when nothing was appended.
    #[inline(always)]
    fn settle(
        &mut self,
        appended: Appended,
        emit: &mut dyn FnMut(RecordBatch),
    ) -> Option<(usize, usize)> {
        match appended {
            Appended::Row => None,
            Appended::FillingBatch => {
                emit(self.flush_batch());
                None
            }
            Appended::NoRoom { position, bytes } => Some((position, bytes)),
        }
    }

    /// [`Self::append_record`] for a record that did not fit: into a new batch.
    #[inline(never)]
    fn append_alone(
        &mut self,
        place: &FilePlace<'_>,
        view: &RecordView<'_>,
        emit: &mut dyn FnMut(RecordBatch),
        mut position: usize,
        mut bytes: usize,
    ) -> Result<(), FieldError> {
        if self.rows > 0 {
            emit(self.flush_batch());
            let appended = self.append_view(place, view)?;
            match self.settle(appended, emit) {
                None => return Ok(()),
                Some(again) => (position, bytes) = again,
            }
        }
        Err(FieldError::text_too_large(
            field_name(&self.columns[position].source),
            bytes,
            columns::most_text_bytes(),
        ))
    }

    /// Converts and appends each projected cell; when one fails, the cells of the record
    /// already appended are taken back, so a bad record never leaves a half-written row.
    #[inline(always)]
    fn append_view(
        &mut self,
        place: &FilePlace<'_>,
        view: &RecordView<'_>,
    ) -> Result<Appended, FieldError> {
        let rows = self.rows;
        let last = match self.append_last {
            Some(position) => Some((
                position,
                cell(&self.columns[position], position, view, place)?,
            )),
            None => None,
        };
        for position in 0..self.columns.len() {
            if Some(position) == self.append_last {
                continue;
            }
            if let Err(error) = append_cell(&mut self.columns[position], position, view, place) {
                for column in &mut self.columns[..position] {
                    column.buffer.truncate(rows);
                }
                return Err(error);
            }
        }
        let full = self.columns.iter().any(|c| c.buffer.is_full());
        if (full || last.is_some())
            && let Some(no_room) = self.no_room(rows, last.as_ref())
        {
            return Ok(no_room);
        }
        if let Some((position, cell)) = last {
            self.columns[position].buffer.append(cell);
        }
        self.rows += 1;
        Ok(if full {
            Appended::FillingBatch
        } else {
            Appended::Row
        })
    }

    /// When a value of the record being appended did not fit with the batch's text (or
    /// the last cell would not), takes the record back to `rows` and says which.
    /// Out of line: it kept `append_cell` from being inlined into the loop above.
    #[inline(never)]
    fn no_room(&mut self, rows: usize, last: Option<&(usize, Cell<'_>)>) -> Option<Appended> {
        let overflow = match last {
            Some((position, Cell::Resources(entries))) => self.columns[*position]
                .buffer
                .resources_overflow(entries)
                .map(|bytes| (*position, bytes)),
            _ => None,
        }
        .or_else(|| {
            self.columns
                .iter()
                .enumerate()
                .find_map(|(i, c)| c.buffer.overflow().map(|bytes| (i, bytes)))
        });
        let (position, bytes) = overflow?;
        // The last cell, which cannot be taken back, is not appended yet.
        for column in &mut self.columns {
            column.buffer.truncate(rows);
        }
        Some(Appended::NoRoom { position, bytes })
    }

    /// Sorts a record read straight from the file into a view in one pass: top-level
    /// values are skipped or kept as raw text, and `userIdentity` is walked in place for
    /// the leaves the query reads. Keys are first matched against the one that followed
    /// the previous key last time (producers keep their order); once every value the
    /// columns read is found, the rest of the record is skipped by its structure.
    /// `false` when a filter rejects the record: the rest of it is then skipped by its
    /// structure.
    fn streamed_view<'a>(
        &mut self,
        cursor: &mut Cursor<'a>,
        view: &mut RecordView<'a>,
    ) -> Result<bool, SyntaxError> {
        let needs = self.needs;
        // Counts down the values still to find.
        let mut wanted = if needs.strict_unmapped {
            usize::MAX
        } else {
            self.read_top_slots.count_ones() as usize
        };
        // Counts down the values still to find that most records have; at zero, the
        // rest of the record may be searched for the others instead of walked.
        let mut common_wanted = self
            .absence
            .as_ref()
            .map_or(usize::MAX, AbsenceProbe::common_reads);
        let mut previous = RECORD_START;
        let mut members = 0;
        let mut walked_to_end = false;
        // Bit `i`: the read slot `i` has been found in this record.
        let mut found = 0u64;
        cursor.expect(b'{', "expected an object")?;
        if cursor.eat(b'}') {
            self.finish_view(view);
            return Ok(self.keeps(view));
        }
        if !self.top_filters.is_empty() && self.lacks_a_filtered_key(cursor) {
            return Ok(false);
        }
        loop {
            members += 1;
            // The key's text is needed only when its value goes to `unmapped`: a
            // predicted key is known by its slot.
            let (slot, key) = match self.key_order[previous] {
                Some(slot) if cursor.eat_key(QUOTED_TOP_KEYS[slot].as_bytes()) => {
                    (Some(slot), None)
                }
                _ => {
                    let key = cursor.string()?;
                    cursor.expect(b':', "expected `:`")?;
                    (self.top_slot(previous, &key), Some(key))
                }
            };
            previous = slot.unwrap_or(UNKNOWN_KEY);
            if let Some(i) = slot
                && needs.read_top[i]
                && view.top[i].is_none()
            {
                wanted -= 1;
                found |= 1 << i;
                if let Some(absence) = &mut self.absence {
                    absence.found(i);
                    common_wanted -= usize::from(!absence.is_rare(i));
                }
            }
            match slot {
                Some(USER_IDENTITY_SLOT)
                    if needs.identity
                        && view.top[USER_IDENTITY_SLOT].is_none()
                        && cursor.peek() == Some(b'{') =>
                {
                    let start = cursor.offset();
                    let strict = needs.strict_top[USER_IDENTITY_SLOT];
                    stream_leaves(&self.identity_tree, cursor, view, true, strict)?;
                    view.top[USER_IDENTITY_SLOT] = Some(cursor.raw_since(start));
                    view.identity_walked = true;
                    if !self.identity_admits(view) {
                        cursor.skip_object_rest()?;
                        return Ok(false);
                    }
                }
                Some(i)
                    if i == REQUEST_PARAMETERS_SLOT
                        && needs.request_parameters
                        && view.top[i].is_none()
                        && cursor.peek() == Some(b'{') =>
                {
                    let start = cursor.offset();
                    let strict = needs.strict_top[i];
                    let lacking = !strict
                        && self
                            .parameter_search
                            .as_mut()
                            .is_some_and(|search| search.skip_object_lacking(cursor));
                    if !lacking {
                        let mut name = std::mem::take(&mut self.parameter_name);
                        let walked = self.read_parameters(cursor, &mut name, strict, view);
                        self.parameter_name = name;
                        walked?;
                    }
                    view.top[i] = Some(cursor.raw_since(start));
                    view.parameters_walked = true;
                }
                Some(i) if view.top[i].is_none() => {
                    let (raw, plain) = cursor.read_value_noting_escapes(needs.strict_top[i])?;
                    view.top[i] = Some(raw);
                    view.plain_top |= u64::from(plain) << i;
                    if self.filtered_top[i] && !self.top_admits(i, raw, plain) {
                        cursor.skip_object_rest()?;
                        return Ok(false);
                    }
                }
                // Unknown keys and repeated keys are kept, never dropped.
                _ => {
                    let key = key.unwrap_or_else(|| {
                        Cow::Borrowed(TOP_FIELDS[slot.expect("a predicted key has a slot")].key)
                    });
                    view.unmapped
                        .push((key, cursor.read_value(needs.strict_unmapped)?));
                }
            }
            if wanted == 0 {
                cursor.skip_object_rest()?;
                break;
            }
            if common_wanted == 0 {
                // Searched once per record: if the search cannot rule the keys out, the
                // walk goes on.
                common_wanted = usize::MAX;
                if self.rest_lacks_the_rest(cursor, found, members) {
                    break;
                }
            }
            if cursor.eat(b',') {
                continue;
            }
            if cursor.eat(b'}') {
                walked_to_end = true;
                break;
            }
            return Err(cursor.end_or("expected `,` or `}`"));
        }
        if let Some(absence) = &mut self.absence {
            absence.record_done();
            if walked_to_end {
                absence.walked_to_end(members);
            }
        }
        self.finish_view(view);
        Ok(self.keeps(view))
    }

    /// Whether the record under `cursor` (just inside it) certainly lacks a rare key a
    /// filter needs (every filter rejects a missing value); if so, the cursor moves past
    /// it.
    fn lacks_a_filtered_key(&mut self, cursor: &mut Cursor<'_>) -> bool {
        let Some(absence) = &mut self.absence else {
            return false;
        };
        for &(slot, _) in &self.top_filters {
            if absence.is_rare(slot) && absence.skip_rest_lacking(cursor, [slot].into_iter()) {
                absence.slot_lacking(slot);
                return true;
            }
        }
        false
    }

    /// Whether the rest of the record under `cursor` (between two of its members, after
    /// `members_read` of them, with the read slots `found` found) certainly holds none of
    /// the keys still wanted; if so, the cursor moves past it. Searched only when enough
    /// keys usually remain.
    fn rest_lacks_the_rest(
        &mut self,
        cursor: &mut Cursor<'_>,
        found: u64,
        members_read: usize,
    ) -> bool {
        let Some(absence) = &mut self.absence else {
            return false;
        };
        if !absence.worth_searching(members_read) {
            return false;
        }
        let mut missing = self.read_top_slots & !found;
        let missing = std::iter::from_fn(|| {
            (missing != 0).then(|| {
                let slot = missing.trailing_zeros() as usize;
                missing &= missing - 1;
                slot
            })
        });
        absence.skip_rest_lacking(cursor, missing)
    }

    /// Walks a `requestParameters` object in place for the flattened columns the query
    /// reads: only their leaves are parsed strictly (everything, when `strict`), and
    /// branches no column reaches are skipped. `name` is room for the flat names.
    fn read_parameters<'a>(
        &self,
        cursor: &mut Cursor<'a>,
        name: &mut String,
        strict: bool,
        view: &mut RecordView<'a>,
    ) -> Result<(), SyntaxError> {
        name.clear();
        name.push_str(REQUEST_PARAMETERS_PREFIX.trim_end_matches('_'));
        flatten(
            cursor,
            name,
            0,
            strict,
            &|length| self.parameter_name_lengths.contains(length),
            &|branch| self.request_parameter_branches.contains(branch),
            &mut |name, cursor| {
                match self.request_parameter_columns.get(name) {
                    Some(&position)
                        if !view.request_parameters.iter().any(|(p, _)| *p == position) =>
                    {
                        let (raw, plain) = cursor.read_value_noting_escapes(true)?;
                        view.request_parameters
                            .push((position, json::text_noted(raw, plain)));
                    }
                    _ => {
                        cursor.read_value(strict)?;
                    }
                }
                Ok(())
            },
        )
    }

    /// Whether the record meets every filter; a value a filter reads that is missing
    /// fails it.
    #[inline]
    fn keeps(&self, view: &RecordView<'_>) -> bool {
        self.top_filters
            .iter()
            .all(|(slot, test)| admits(test, view.top[*slot], bit(view.plain_top, *slot)))
            && self.identity_admits(view)
    }

    #[inline]
    fn top_admits(&self, slot: usize, raw: Raw<'_>, plain: bool) -> bool {
        self.top_filters
            .iter()
            .filter(|(s, _)| *s == slot)
            .all(|(_, test)| admits(test, Some(raw), plain))
    }

    fn identity_admits(&self, view: &RecordView<'_>) -> bool {
        self.identity_filters
            .iter()
            .all(|(slot, test)| admits(test, view.identity[*slot], bit(view.plain_identity, *slot)))
    }

    /// The slot of `key`, which follows a key of slot `previous` ([`RECORD_START`] first,
    /// [`UNKNOWN_KEY`] after a key not in the schema).
    #[inline]
    fn top_slot(&mut self, previous: usize, key: &str) -> Option<usize> {
        if let Some(slot) = self.key_order[previous]
            && same_key(TOP_FIELDS[slot].key, key)
        {
            return Some(slot);
        }
        let slot = get_any_case(&self.top_index, key).copied();
        if slot.is_some() {
            self.key_order[previous] = slot;
        }
        slot
    }

    /// Sorts a record already split into members into `view`; `false` when a filter
    /// rejects it.
    fn view<'a>(&mut self, fields: &ObjectFields<'a>, view: &mut RecordView<'a>) -> bool {
        let mut previous = RECORD_START;
        for (key, raw) in &fields.0 {
            let slot = self.top_slot(previous, key);
            previous = slot.unwrap_or(UNKNOWN_KEY);
            match slot {
                Some(i) if view.top[i].is_none() => view.top[i] = Some(*raw),
                // Unknown keys and repeated keys are kept, never dropped.
                _ => view.unmapped.push((key.clone(), *raw)),
            }
        }
        self.finish_view(view);
        self.keeps(view)
    }

    /// Fills the nested parts of a view from the raw top-level values.
    fn finish_view<'a>(&self, view: &mut RecordView<'a>) {
        if self.needs.identity
            && !view.identity_walked
            && let Some(identity) = view.top[USER_IDENTITY_SLOT]
            && json::kind(identity) == Kind::Object
        {
            // Already checked when the record was split, so walking it cannot fail.
            let _ = stream_leaves(
                &self.identity_tree,
                &mut Cursor::new(identity.get()),
                view,
                true,
                false,
            );
        }
        if self.needs.tls
            && let Some(tls) = view.top[TLS_SLOT].and_then(json::object)
        {
            for (key, raw) in tls.0 {
                if let Some(&i) = get_any_case(&self.tls_index, &key) {
                    view.tls[i].get_or_insert(raw);
                }
            }
        }
        if self.needs.request_parameters
            && !view.parameters_walked
            && let Some(params) = view.top[REQUEST_PARAMETERS_SLOT]
            && json::kind(params) == Kind::Object
        {
            // Already checked when the record was split, so walking it cannot fail.
            let _ = self.read_parameters(
                &mut Cursor::new(params.get()),
                &mut String::new(),
                false,
                view,
            );
        }
    }
}

/// A set of lengths, exact below 256; longer ones are all taken to be in it.
#[derive(Default)]
struct LengthSet([u64; 4]);

impl LengthSet {
    fn insert(&mut self, length: usize) {
        if length < 256 {
            self.0[length / 64] |= 1 << (length % 64);
        }
    }

    #[inline]
    fn contains(&self, length: usize) -> bool {
        length >= 256 || self.0[length / 64] >> (length % 64) & 1 == 1
    }
}

/// Whether a value passes a filter on a text column. A string must pass `test`; a
/// missing value or `null` is a NULL cell, which no test keeps. Any other kind is kept,
/// so that converting it fails as it would without the filter. `plain`: `raw` is a string
/// without escapes.
fn admits(test: &TextTest, raw: Option<Raw<'_>>, plain: bool) -> bool {
    let Some(raw) = raw else {
        return false;
    };
    match json::kind(raw) {
        Kind::Null => false,
        Kind::String => match json::string_noted(raw, plain) {
            Ok(Some(text)) => test.admits(&text),
            _ => true,
        },
        _ => true,
    }
}

/// Bit `i` of `mask`.
#[inline]
fn bit(mask: u64, i: usize) -> bool {
    mask >> i & 1 == 1
}

#[inline]
fn same_key(a: &str, b: &str) -> bool {
    json::same_bytes(a.as_bytes(), b.as_bytes())
}

/// The slot of a top-level key, at compile time for the constants below.
const fn slot_of(key: &str) -> usize {
    let mut slot = 0;
    while slot < TOP_FIELDS.len() {
        let candidate = TOP_FIELDS[slot].key.as_bytes();
        let key = key.as_bytes();
        if candidate.len() == key.len() {
            let mut i = 0;
            while i < key.len() && candidate[i] == key[i] {
                i += 1;
            }
            if i == key.len() {
                return slot;
            }
        }
        slot += 1;
    }
    panic!("not a top-level field")
}

fn identity_slot(path: &[&str]) -> usize {
    IDENTITY_LEAVES
        .iter()
        .position(|l| l.path == path)
        .expect("known identity leaf")
}

const USER_IDENTITY_SLOT: usize = slot_of("userIdentity");
const REQUEST_PARAMETERS_SLOT: usize = slot_of("requestParameters");
const TLS_SLOT: usize = slot_of("tlsDetails");

/// Each top-level key in its quotes, as [`Cursor::eat_key`] compares them.
static QUOTED_TOP_KEYS: std::sync::LazyLock<Vec<String>> = std::sync::LazyLock::new(|| {
    TOP_FIELDS
        .iter()
        .map(|field| format!("\"{}\"", field.key))
        .collect()
});
const RECORD_START: usize = TOP_FIELDS.len();
const UNKNOWN_KEY: usize = TOP_FIELDS.len() + 1;

/// The `userIdentity` leaves that `actor`, `actor_kind` and `credential_kind` read.
const DERIVED_IDENTITY_LEAVES: &[&[&str]] = &[
    &["type"],
    &["arn"],
    &["principalId"],
    &["accountId"],
    &["accessKeyId"],
    &["userName"],
    &["invokedBy"],
    &["sessionContext", "sessionIssuer", "arn"],
    &["onBehalfOf", "userId"],
];

/// Walks an object in place, keeping the leaves `tree` names; `top` marks `userIdentity`
/// itself, where a `sessionContext` object is noted. Other values are checked strictly
/// only when `strict` (a column reads the whole object's text). Always inlined: out of
/// line, its call cost more than the guess below saves a query that reads no `type`.
#[inline(always)]
fn stream_leaves<'a>(
    tree: &KeyTree,
    cursor: &mut Cursor<'a>,
    view: &mut RecordView<'a>,
    top: bool,
    strict: bool,
) -> Result<(), SyntaxError> {
    // Once every leaf is found the rest is skipped, unless it is read whole or a derived
    // column needs to know whether `sessionContext` is there.
    let mut wanted = if strict || tree.derived {
        usize::MAX
    } else {
        tree.leaves
    };
    // Producers write `type` first in `userIdentity` (479 of 486 sampled corpus records):
    // a guess at it costs one comparison where parsing the key and looking it up costs
    // several.
    if let Some(leaf) = tree.type_leaf
        && cursor.eat_object_start_and_key(b"\"type\"")
    {
        read_leaf(cursor, view, leaf, &mut wanted)?;
        if wanted == 0 {
            return cursor.skip_object_rest();
        }
        return cursor.members_while_after_first(|cursor, key| {
            walk_member(tree, cursor, key, view, top, strict, &mut wanted)
        });
    }
    walk_leaves(tree, cursor, view, top, strict, &mut wanted)
}

fn walk_leaves<'a>(
    tree: &KeyTree,
    cursor: &mut Cursor<'a>,
    view: &mut RecordView<'a>,
    top: bool,
    strict: bool,
    wanted: &mut usize,
) -> Result<(), SyntaxError> {
    cursor.members_while(|cursor, key| walk_member(tree, cursor, key, view, top, strict, wanted))
}

/// One member of an object [`walk_leaves`] walks, its key read: whether a leaf is still
/// wanted.
#[inline(always)]
fn walk_member<'a>(
    tree: &KeyTree,
    cursor: &mut Cursor<'a>,
    key: Cow<'a, str>,
    view: &mut RecordView<'a>,
    top: bool,
    strict: bool,
    wanted: &mut usize,
) -> Result<bool, SyntaxError> {
    let object_next = cursor.peek() == Some(b'{');
    if top && object_next && key.eq_ignore_ascii_case("sessionContext") {
        view.has_session_context = true;
    }
    match tree.get(&key) {
        Some(KeyNode::Leaf(i)) => read_leaf(cursor, view, *i, wanted)?,
        Some(KeyNode::Branch(subtree)) if object_next => {
            walk_leaves(subtree, cursor, view, false, strict, wanted)?;
        }
        _ => {
            cursor.read_value(strict)?;
        }
    }
    Ok(*wanted > 0)
}

/// Reads the value of the leaf `i` at the cursor, kept unless the leaf was found before.
#[inline(always)]
fn read_leaf<'a>(
    cursor: &mut Cursor<'a>,
    view: &mut RecordView<'a>,
    i: usize,
    wanted: &mut usize,
) -> Result<(), SyntaxError> {
    let (raw, plain) = cursor.read_value_noting_escapes(true)?;
    if view.identity[i].is_none() {
        view.identity[i] = Some(raw);
        view.plain_identity |= u64::from(plain) << i;
        *wanted = wanted.saturating_sub(1);
    }
    Ok(())
}

/// The first-level `requestParameters` keys that `columns` (flat names) could come from:
/// each name's part after the prefix, up to any of its underscores (`a_b_c` is the leaf
/// `c` of the branch `a_b`, or of `b` in `a`, or the leaf `a_b_c` itself).
fn first_parameter_keys<'n>(columns: impl Iterator<Item = &'n String>) -> Vec<String> {
    let mut keys = Vec::new();
    for name in columns {
        let rest = name.strip_prefix(REQUEST_PARAMETERS_PREFIX).unwrap_or(name);
        for (i, _) in rest.match_indices('_') {
            keys.push(rest[..i].to_string());
        }
        keys.push(rest.to_string());
    }
    keys
}

/// Deepest `requestParameters` nesting flattened into columns; deeper objects stay JSON.
const MAX_FLATTEN_DEPTH: usize = 6;

/// Walks the object at the cursor as its leaves' flat names: for each member, `name`
/// (which holds the prefix, and is restored on return) gets `_` and the lower-cased key.
/// A non-empty object within [`MAX_FLATTEN_DEPTH`] is a branch, walked when `descend`
/// takes its name; anything else is a leaf, whose value `leaf` must consume. Members
/// whose name length `may_want` rejects are skipped without building the name; skipped
/// values are checked strictly only when `strict`. Discovery and decoding both name
/// columns through here, so they cannot disagree.
pub(crate) fn flatten<'a>(
    cursor: &mut Cursor<'a>,
    name: &mut String,
    depth: usize,
    strict: bool,
    may_want: &impl Fn(usize) -> bool,
    descend: &impl Fn(&str) -> bool,
    leaf: &mut impl FnMut(&str, &mut Cursor<'a>) -> Result<(), SyntaxError>,
) -> Result<(), SyntaxError> {
    let prefix = name.len();
    cursor.members(|cursor, key| {
        if !may_want(prefix + 1 + key.len()) {
            cursor.read_value(strict)?;
            return Ok::<_, SyntaxError>(());
        }
        name.truncate(prefix);
        name.push('_');
        name.push_str(&key);
        name[prefix + 1..].make_ascii_lowercase();
        if cursor.peek() == Some(b'{') && depth + 1 < MAX_FLATTEN_DEPTH && !cursor.at_empty_object()
        {
            if descend(name) {
                flatten(cursor, name, depth + 1, strict, may_want, descend, leaf)?;
            } else {
                cursor.read_value(strict)?;
            }
            return Ok(());
        }
        leaf(name, cursor)
    })?;
    name.truncate(prefix);
    Ok(())
}

fn field_name(source: &Source) -> String {
    match source {
        Source::Top(key) => (*key).to_string(),
        Source::Identity(path) => format!("userIdentity.{}", path.join(".")),
        Source::Tls(key) => format!("tlsDetails.{key}"),
        Source::RequestParameter(path) => format!("requestParameters.{}", path.join(".")),
        Source::Derived(_) | Source::Unmapped => String::new(),
    }
}

/// Converts and appends one cell. Text read straight from the record, the usual case, is
/// written without a staging [`Cell`]. Always inlined into the column loop: the room
/// checks around that loop had moved it out of line, at 3% more instructions.
#[inline(always)]
fn append_cell(
    column: &mut ProjectedColumn,
    position: usize,
    view: &RecordView<'_>,
    place: &FilePlace<'_>,
) -> Result<(), FieldError> {
    let Some((raw, plain)) = value_read(column, view) else {
        if column.held == Held::RequestParameter {
            match request_parameter(view, position) {
                Some(value) => column.buffer.push_text(value),
                None => column.buffer.push_null(),
            }
            return Ok(());
        }
        let cell = cell(column, position, view, place)?;
        column.buffer.append(cell);
        return Ok(());
    };
    match raw {
        None => column.buffer.push_null(),
        Some(raw) if plain && column.column_type == ColumnType::Text => {
            column.buffer.push_text(json::plain_string(raw));
        }
        Some(raw) if json::kind(raw) == Kind::Null => column.buffer.push_null(),
        Some(raw) if column.column_type == ColumnType::Json => column.buffer.push_text(raw.get()),
        Some(raw) if column.column_type == ColumnType::Text => {
            match text_value(raw, false, || field_name(&column.source))? {
                Some(text) => column.buffer.push_text(&text),
                None => column.buffer.push_null(),
            }
        }
        Some(raw) if column.column_type == ColumnType::Timestamp => {
            let micros = timestamp_value(
                raw,
                plain,
                |text| column.last_day.parse(text),
                || field_name(&column.source),
            )?;
            column.buffer.push_timestamp(micros);
        }
        Some(raw) => {
            let cell = convert(raw, plain, column.column_type, || {
                field_name(&column.source)
            })?;
            column.buffer.append(cell);
        }
    }
    Ok(())
}

/// The projected `requestparameters_*` leaf at column `position` the record holds.
#[inline]
fn request_parameter<'v>(view: &'v RecordView<'_>, position: usize) -> Option<&'v str> {
    view.request_parameters
        .iter()
        .find(|(p, _)| *p == position)
        .and_then(|(_, value)| value.as_deref())
}

/// The value of a timestamp column (not JSON null): microseconds since the epoch.
#[inline(always)]
fn timestamp_value(
    raw: Raw<'_>,
    plain: bool,
    parse: impl FnOnce(&str) -> Option<i64>,
    field: impl Fn() -> String,
) -> Result<i64, FieldError> {
    match json::string_noted(raw, plain) {
        Ok(Some(text)) => parse(&text)
            .ok_or_else(|| FieldError::wrong_type(field(), "an ISO-8601 time", raw.get())),
        _ => Err(FieldError::wrong_type(
            field(),
            "an ISO-8601 time",
            raw.get(),
        )),
    }
}

/// For a column whose value the walk keeps as it is (top-level, `userIdentity` and
/// `tlsDetails` leaves): that value, and whether it is a string without escapes.
#[inline]
fn value_read<'a>(
    column: &ProjectedColumn,
    view: &RecordView<'a>,
) -> Option<(Option<Raw<'a>>, bool)> {
    match column.held {
        Held::Top => Some((view.top[column.slot], bit(view.plain_top, column.slot))),
        Held::Identity => Some((
            view.identity[column.slot],
            bit(view.plain_identity, column.slot),
        )),
        Held::Tls => Some((view.tls[column.slot], false)),
        Held::RequestParameter | Held::Elsewhere => None,
    }
}

/// The value of a text column: a string's contents, `None` for null.
#[inline]
fn text_value<'a>(
    raw: Raw<'a>,
    plain: bool,
    field: impl Fn() -> String,
) -> Result<Option<Cow<'a, str>>, FieldError> {
    json::string_noted(raw, plain)
        .map_err(|()| FieldError::wrong_type(field(), "a string", raw.get()))
}

fn cell<'a>(
    column: &ProjectedColumn,
    position: usize,
    view: &RecordView<'a>,
    place: &'a FilePlace<'a>,
) -> Result<Cell<'a>, FieldError> {
    let (raw, plain) = match &column.source {
        Source::Top(_) | Source::Identity(_) | Source::Tls(_) => {
            value_read(column, view).expect("a value the walk keeps")
        }
        Source::RequestParameter(_) => {
            return Ok(
                match view.request_parameters.iter().find(|(p, _)| *p == position) {
                    Some((_, Some(value))) => Cell::Text(value.clone()),
                    _ => Cell::Null,
                },
            );
        }
        Source::Unmapped => return Ok(unmapped_cell(&view.unmapped)),
        Source::Derived(derived) => return Ok(derived_cell(*derived, view, place)),
    };
    let Some(raw) = raw else {
        return Ok(Cell::Null);
    };
    convert(raw, plain, column.column_type, || {
        field_name(&column.source)
    })
}

/// `raw` converted to a cell of `column_type`; `plain`: it is a string without escapes.
fn convert<'a>(
    raw: Raw<'a>,
    plain: bool,
    column_type: ColumnType,
    field: impl Fn() -> String,
) -> Result<Cell<'a>, FieldError> {
    if json::kind(raw) == Kind::Null {
        return Ok(Cell::Null);
    }
    match column_type {
        ColumnType::Json => Ok(Cell::Text(Cow::Borrowed(raw.get()))),
        ColumnType::Text => Ok(text_value(raw, plain, field)?.map_or(Cell::Null, Cell::Text)),
        ColumnType::Bool => match (json::kind(raw), raw.get()) {
            (Kind::Bool, "true") => Ok(Cell::Bool(true)),
            (Kind::Bool, _) => Ok(Cell::Bool(false)),
            (Kind::String, _) => match json::string_noted(raw, plain).ok().flatten().as_deref() {
                Some(s) if s.eq_ignore_ascii_case("true") => Ok(Cell::Bool(true)),
                Some(s) if s.eq_ignore_ascii_case("false") => Ok(Cell::Bool(false)),
                _ => Err(FieldError::wrong_type(field(), "true or false", raw.get())),
            },
            _ => Err(FieldError::wrong_type(field(), "true or false", raw.get())),
        },
        ColumnType::Timestamp => {
            timestamp_value(raw, plain, parse_timestamp_micros, field).map(Cell::Timestamp)
        }
        ColumnType::Resources => {
            let Some(items) = json::array(raw) else {
                return Err(FieldError::wrong_type(
                    field(),
                    "an array of resources",
                    raw.get(),
                ));
            };
            let mut entries = Vec::with_capacity(items.len());
            for item in items {
                let Some(object) = json::object(item) else {
                    return Err(FieldError::wrong_type(
                        format!("{}[]", field()),
                        "a resource object",
                        item.get(),
                    ));
                };
                entries.push(resource_entry(&object));
            }
            Ok(Cell::Resources(entries))
        }
    }
}

fn resource_entry<'a>(object: &ObjectFields<'a>) -> ResourceEntry<'a> {
    let mut entry: ResourceEntry<'a> = Default::default();
    let mut unmapped = Vec::new();
    for (key, raw) in &object.0 {
        let slot = match key.to_ascii_lowercase().as_str() {
            "arn" => 0,
            "accountid" => 1,
            "type" => 2,
            "arnprefix" => 3,
            _ => {
                unmapped.push((key.clone(), *raw));
                continue;
            }
        };
        if entry[slot].is_none() {
            entry[slot] = json::text(*raw);
        } else {
            unmapped.push((key.clone(), *raw));
        }
    }
    if let Cell::Text(text) = unmapped_cell(&unmapped) {
        entry[4] = Some(text);
    }
    entry
}

fn unmapped_cell<'a>(unmapped: &[(Cow<'_, str>, Raw<'_>)]) -> Cell<'a> {
    if unmapped.is_empty() {
        return Cell::Null;
    }
    let mut text = String::from("{");
    for (i, (key, raw)) in unmapped.iter().enumerate() {
        if i > 0 {
            text.push(',');
        }
        text.push_str(&serde_json::to_string(key.as_ref()).expect("strings serialise"));
        text.push(':');
        text.push_str(raw.get());
    }
    text.push('}');
    Cell::Text(Cow::Owned(text))
}

fn identity_text<'a>(view: &RecordView<'a>, path: &[&str]) -> Option<Cow<'a, str>> {
    view.identity[identity_slot(path)].and_then(json::text)
}

/// What a file's name and place in CloudTrail's layout give every row it holds, read
/// once per file.
struct FilePlace<'a> {
    name: &'a str,
    account: Option<&'a str>,
    region: Option<&'a str>,
    day: Option<String>,
}

impl<'a> FilePlace<'a> {
    fn of(name: &'a str) -> Self {
        let location = crate::layout::parse_log_location(name);
        Self {
            name,
            account: location.as_ref().map(|l| l.account),
            region: location.as_ref().map(|l| l.region),
            day: location
                .and_then(|l| l.day)
                // By hand: chrono's `format` parses its pattern for every file.
                .map(|d| format!("{:04}-{:02}-{:02}", d.year(), d.month(), d.day())),
        }
    }
}

fn derived_cell<'a>(derived: Derived, view: &RecordView<'a>, place: &'a FilePlace<'a>) -> Cell<'a> {
    let borrowed =
        |text: Option<&'a str>| text.map_or(Cell::Null, |t| Cell::Text(Cow::Borrowed(t)));
    match derived {
        Derived::LogFile => return Cell::Text(Cow::Borrowed(place.name)),
        Derived::LogAccount => return borrowed(place.account),
        Derived::LogRegion => return borrowed(place.region),
        Derived::LogDate => return borrowed(place.day.as_deref()),
        _ => {}
    }
    let identity = IdentityView {
        present: view.top[USER_IDENTITY_SLOT].is_some_and(|raw| json::kind(raw) == Kind::Object),
        identity_type: identity_text(view, &["type"]),
        arn: identity_text(view, &["arn"]),
        principal_id: identity_text(view, &["principalId"]),
        account_id: identity_text(view, &["accountId"]),
        access_key_id: identity_text(view, &["accessKeyId"]),
        user_name: identity_text(view, &["userName"]),
        invoked_by: identity_text(view, &["invokedBy"]),
        issuer_arn: identity_text(view, &["sessionContext", "sessionIssuer", "arn"]),
        on_behalf_of_user_id: identity_text(view, &["onBehalfOf", "userId"]),
        has_session_context: view.has_session_context,
    };
    let text = match derived {
        Derived::Actor => identity.actor().map(Cow::Owned),
        Derived::ActorKind => Some(Cow::Borrowed(identity.actor_kind().as_str())),
        Derived::CredentialKind => identity.credential_kind().map(Cow::Borrowed),
        Derived::LogFile | Derived::LogAccount | Derived::LogRegion | Derived::LogDate => {
            unreachable!("handled above")
        }
    };
    text.map_or(Cell::Null, Cell::Text)
}

#[cfg(test)]
mod tests {
    use std::borrow::Cow;

    use arrow_array::cast::AsArray;
    use arrow_array::{Array, RecordBatch};

    use super::recycle;
    use crate::columns::tests::TEXT_LIMITS;
    use crate::{CloudTrailDecoder, CloudTrailSchema, DecodeErrorKind, DecoderOptions, OnError};

    /// Decodes records whose `eventName`s and resource ARNs have the given lengths, with
    /// text limits of 100 bytes a batch and 150 at most, reading `columns`. Gives each
    /// batch's rows as (event name length, first ARN's length) and the skipped records.
    #[allow(clippy::type_complexity)]
    fn decoded_with_small_limits(
        lengths: &[(usize, usize)],
        columns: &[&str],
        on_error: OnError,
    ) -> (
        Vec<Vec<(Option<usize>, Option<usize>)>>,
        Result<usize, crate::DecodeError>,
    ) {
        let records: Vec<String> = lengths
            .iter()
            .enumerate()
            .map(|(i, &(name, arn))| {
                format!(
                    r#"{{"eventSource":"s{i}.amazonaws.com","eventName":"{}","resources":[{{"ARN":"{}"}}]}}"#,
                    "n".repeat(name),
                    "a".repeat(arn),
                )
            })
            .collect();
        let text = format!(r#"{{"Records":[{}]}}"#, records.join(","));
        let schema = CloudTrailSchema::new(&[]);
        let projection: Vec<usize> = columns
            .iter()
            .map(|c| schema.index_of(c).unwrap())
            .collect();
        let options = DecoderOptions {
            on_error,
            ..DecoderOptions::default()
        };
        let mut decoder = CloudTrailDecoder::new(&schema, Some(&projection), options);
        let mut batches: Vec<RecordBatch> = Vec::new();
        TEXT_LIMITS.with(|limits| limits.set(Some((100, 150))));
        let outcome =
            decoder.decode_part("t.json", text.as_bytes(), Default::default(), &mut |b| {
                batches.push(b)
            });
        batches.extend(decoder.flush());
        TEXT_LIMITS.with(|limits| limits.set(None));
        let place = |name: &str| columns.iter().position(|c| *c == name);
        let rows = batches
            .iter()
            .map(|batch| {
                assert!(batch.columns().iter().all(|c| c.len() == batch.num_rows()));
                (0..batch.num_rows())
                    .map(|row| {
                        let name = place("eventname").and_then(|i| {
                            let names = batch.column(i).as_string::<i32>();
                            names.is_valid(row).then(|| names.value(row).len())
                        });
                        let arn = place("resources").and_then(|i| {
                            let lists = batch.column(i).as_list::<i32>();
                            let entries = lists.value(row);
                            let arns = entries.as_struct().column(0).as_string::<i32>();
                            arns.is_valid(0).then(|| arns.value(0).len())
                        });
                        (name, arn)
                    })
                    .collect()
            })
            .collect();
        (rows, outcome.map(|outcome| outcome.skipped_records))
    }

    #[test]
    fn a_record_whose_text_does_not_fit_starts_a_new_batch() {
        // 60 + 60 reaches 100: the batch ends after the second. 80 + 80 would pass 150:
        // the second 80 starts a batch of its own, whole.
        let lengths = [60, 60, 80, 80, 10];
        let expected = [vec![60, 60], vec![80], vec![80, 10]];
        for columns in [
            &["eventname"][..],
            &["eventsource", "eventname", "resources"],
            &["eventname", "eventsource"],
        ] {
            let names: Vec<_> = lengths.iter().map(|&n| (n, 1)).collect();
            let (batches, outcome) = decoded_with_small_limits(&names, columns, OnError::Fail);
            assert_eq!(outcome, Ok(0), "{columns:?}");
            let arn = columns.contains(&"resources").then_some(1);
            let want: Vec<Vec<_>> = expected
                .iter()
                .map(|batch| batch.iter().map(|&n| (Some(n), arn)).collect())
                .collect();
            assert_eq!(batches, want, "{columns:?}");
        }
        // The ARNs of a resources column, which cannot take a row back, so its room is
        // checked before it is appended. It ends the batch one record after it reaches
        // 100 (60 + 50, then 10), and 80 + 80 would pass 150.
        let arns: Vec<_> = [60, 50, 10, 80, 80, 10].iter().map(|&n| (1, n)).collect();
        let (batches, outcome) =
            decoded_with_small_limits(&arns, &["eventname", "resources"], OnError::Fail);
        assert_eq!(outcome, Ok(0));
        let arn_lengths: Vec<Vec<_>> = batches
            .iter()
            .map(|batch| batch.iter().map(|&(_, arn)| arn.unwrap()).collect())
            .collect();
        assert_eq!(arn_lengths, [vec![60, 50, 10], vec![80], vec![80, 10]]);
    }

    #[test]
    fn a_value_larger_than_a_column_holds_fails_its_record() {
        for (lengths, columns, field) in [
            (
                [(10, 1), (151, 1), (10, 1)],
                &["eventsource", "eventname"][..],
                "eventName",
            ),
            (
                [(1, 10), (1, 151), (1, 10)],
                &["eventname", "resources"],
                "resources",
            ),
        ] {
            let (_, outcome) = decoded_with_small_limits(&lengths, columns, OnError::Fail);
            let error = outcome.unwrap_err();
            assert_eq!(error.location.record(), Some(1));
            assert_eq!(error.location.field.as_deref(), Some(field));
            assert_eq!(
                error.kind,
                DecodeErrorKind::TextTooLarge {
                    bytes: 151,
                    limit: 150
                }
            );
            assert!(
                error.to_string().contains("a text value of 151 bytes"),
                "{error}"
            );
            let (batches, outcome) = decoded_with_small_limits(&lengths, columns, OnError::Skip);
            assert_eq!(outcome, Ok(1));
            assert_eq!(batches.concat().len(), 2, "{columns:?}");
        }
    }

    #[test]
    fn a_recycled_list_keeps_its_allocation_and_nothing_else() {
        let text = String::from("arn:aws:iam::111122223333:role/Admin");
        let mut found: Vec<(usize, Option<Cow<'_, str>>)> = Vec::with_capacity(4);
        found.push((3, Some(Cow::Borrowed(&text))));
        found.push((5, Some(Cow::Owned("t3.micro".into()))));
        let allocation = found.as_ptr() as usize;
        let recycled: Vec<(usize, Option<Cow<'static, str>>)> = recycle(found);
        assert!(recycled.is_empty());
        assert_eq!(recycled.capacity(), 4);
        assert_eq!(recycled.as_ptr() as usize, allocation);
    }
}
