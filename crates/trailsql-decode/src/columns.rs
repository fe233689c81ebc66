//! One projected column's values for the batch being built, kept in Arrow's layout in
//! buffers this crate owns: a record that fails halfway can then be taken back from
//! every column (Arrow's builders cannot shrink), so each value is converted and
//! written once, with no per-record staging. Buffers start each batch at the size the
//! last one reached, so a batch grows without copies.

use std::sync::Arc;

use arrow_array::builder::{ListBuilder, StringBuilder, StructBuilder};
use arrow_array::{ArrayRef, BooleanArray, StringArray, TimestampMicrosecondArray};
use arrow_buffer::{BooleanBufferBuilder, Buffer, NullBuffer, OffsetBuffer, ScalarBuffer};

use crate::decoder::{Cell, ResourceEntry};
use crate::schema::{ColumnType, resource_fields};

/// Text past this many bytes in one column ends the batch after the record that took it
/// there.
pub(crate) const TEXT_BYTES_PER_BATCH: usize = 1 << 30;
/// The most bytes of text one column of a batch holds: Arrow's `Utf8` offsets are
/// 32-bit. A record that would take a column past it goes into a batch of its own (a
/// single value that large fails its record).
pub(crate) const MOST_TEXT_BYTES: usize = i32::MAX as usize;

/// [`TEXT_BYTES_PER_BATCH`] and [`MOST_TEXT_BYTES`]; tests lower them.
#[cfg(not(test))]
#[inline(always)]
fn text_limits() -> (usize, usize) {
    (TEXT_BYTES_PER_BATCH, MOST_TEXT_BYTES)
}

#[cfg(test)]
fn text_limits() -> (usize, usize) {
    tests::TEXT_LIMITS
        .with(std::cell::Cell::get)
        .unwrap_or((TEXT_BYTES_PER_BATCH, MOST_TEXT_BYTES))
}

/// The most bytes of text one column of a batch holds (see [`MOST_TEXT_BYTES`]).
pub(crate) fn most_text_bytes() -> usize {
    text_limits().1
}

pub(crate) enum ColumnBuffer {
    Text(TextBuffer),
    Bool {
        values: BooleanBufferBuilder,
        valid: Validity,
    },
    Timestamp {
        values: Vec<i64>,
        valid: Validity,
    },
    /// Lists of structs: rare enough to stay with Arrow's builder, so such a column
    /// cannot be taken back and the decoder appends it last (see
    /// [`ColumnBuffer::can_take_back`]).
    Resources(ListBuilder<StructBuilder>),
}

impl ColumnBuffer {
    pub fn new(column_type: ColumnType, rows: usize) -> Self {
        match column_type {
            ColumnType::Text | ColumnType::Json => ColumnBuffer::Text(TextBuffer::new(rows, 0)),
            ColumnType::Bool => ColumnBuffer::Bool {
                values: BooleanBufferBuilder::new(rows),
                valid: Validity::default(),
            },
            ColumnType::Timestamp => ColumnBuffer::Timestamp {
                values: Vec::with_capacity(rows),
                valid: Validity::default(),
            },
            ColumnType::Resources => ColumnBuffer::Resources(ListBuilder::new(
                StructBuilder::from_fields(resource_fields(), 0),
            )),
        }
    }

    pub fn can_take_back(&self) -> bool {
        !matches!(self, ColumnBuffer::Resources(_))
    }

    /// Appends one row's cell; a cell of another type than the column's is a NULL.
    /// Always inlined: a cell just returned through memory and copied whole into a call
    /// stalls on the copy (the loads span the stores that wrote it), which cost 5% of a
    /// scan reading two `requestparameters_*` columns.
    #[inline(always)]
    pub fn append(&mut self, cell: Cell<'_>) {
        match (self, cell) {
            (ColumnBuffer::Text(text), Cell::Text(value)) => text.push(&value),
            (ColumnBuffer::Text(text), _) => text.push_null(),
            (ColumnBuffer::Bool { values, valid }, Cell::Bool(value)) => {
                values.append(value);
                valid.push(true);
            }
            (ColumnBuffer::Bool { values, valid }, _) => {
                values.append(false);
                valid.push(false);
            }
            (ColumnBuffer::Timestamp { values, valid }, Cell::Timestamp(value)) => {
                values.push(value);
                valid.push(true);
            }
            (ColumnBuffer::Timestamp { values, valid }, _) => {
                values.push(0);
                valid.push(false);
            }
            (ColumnBuffer::Resources(list), Cell::Resources(entries)) => {
                append_resources(list, entries)
            }
            (ColumnBuffer::Resources(list), _) => list.append_null(),
        }
    }

    /// Appends a text value (to a text column; elsewhere a NULL, as [`Self::append`]).
    #[inline]
    pub fn push_text(&mut self, value: &str) {
        match self {
            ColumnBuffer::Text(text) => text.push(value),
            other => other.append(Cell::Null),
        }
    }

    /// Appends a time (to a timestamp column; elsewhere a NULL, as [`Self::append`]).
    #[inline]
    pub fn push_timestamp(&mut self, micros: i64) {
        match self {
            ColumnBuffer::Timestamp { values, valid } => {
                values.push(micros);
                valid.push(true);
            }
            other => other.append(Cell::Null),
        }
    }

    #[inline(always)]
    pub fn push_null(&mut self) {
        match self {
            ColumnBuffer::Text(text) => text.push_null(),
            other => other.append(Cell::Null),
        }
    }

    /// Takes back every row past the first `rows`.
    pub fn truncate(&mut self, rows: usize) {
        match self {
            ColumnBuffer::Text(text) => text.truncate(rows),
            ColumnBuffer::Bool { values, valid } => {
                values.truncate(rows);
                valid.truncate(rows);
            }
            ColumnBuffer::Timestamp { values, valid } => {
                values.truncate(rows);
                valid.truncate(rows);
            }
            // Appended last, after every other cell of the row succeeded.
            ColumnBuffer::Resources(_) => {}
        }
    }

    /// Whether this column's text should end the batch now (or a value did not fit:
    /// see [`Self::overflow`]).
    #[inline]
    pub fn is_full(&self) -> bool {
        match self {
            ColumnBuffer::Text(text) => {
                text.values.len() >= text_limits().0 || text.overflow.is_some()
            }
            ColumnBuffer::Resources(list) => {
                resource_text_bytes(list).any(|bytes| bytes >= text_limits().0)
            }
            _ => false,
        }
    }

    /// For a resources column, which cannot take a row back: the bytes `entries` would
    /// add to one of its text fields when that would take the field past
    /// [`MOST_TEXT_BYTES`]; `None` when they fit (and for other columns).
    pub fn resources_overflow(&self, entries: &[ResourceEntry<'_>]) -> Option<usize> {
        let ColumnBuffer::Resources(list) = self else {
            return None;
        };
        resource_text_bytes(list)
            .enumerate()
            .find_map(|(field, held)| {
                let adding: usize = entries
                    .iter()
                    .map(|entry| entry[field].as_deref().map_or(0, str::len))
                    .sum();
                (held + adding > text_limits().1).then_some(adding)
            })
    }

    /// The length of the first value that did not fit in this column since it was last
    /// taken back to a row (a NULL stands in its place).
    pub fn overflow(&self) -> Option<usize> {
        match self {
            ColumnBuffer::Text(text) => text.overflow,
            _ => None,
        }
    }

    /// The batch's array; the buffer starts over, sized as this batch was.
    pub fn finish(&mut self) -> ArrayRef {
        match self {
            ColumnBuffer::Text(text) => {
                assert!(
                    text.overflow.is_none(),
                    "a row holding an overflow was kept"
                );
                let rows = text.offsets.len() - 1;
                let next = TextBuffer::new(rows, text.values.len());
                let mut done = std::mem::replace(text, next);
                // SAFETY: `values` only ever grows by whole `&str`s, and `offsets`
                // (starting at 0, never decreasing) mark where each one ends, so every
                // value is UTF-8 between char boundaries.
                Arc::new(unsafe {
                    StringArray::new_unchecked(
                        OffsetBuffer::new_unchecked(ScalarBuffer::from(done.offsets)),
                        Buffer::from_vec(done.values),
                        done.valid.finish(),
                    )
                })
            }
            ColumnBuffer::Bool { values, valid } => {
                let rows = values.len();
                let array = BooleanArray::new(values.finish(), valid.finish());
                values.reserve(rows);
                Arc::new(array)
            }
            ColumnBuffer::Timestamp { values, valid } => {
                let rows = values.len();
                let done = std::mem::replace(values, Vec::with_capacity(rows));
                Arc::new(
                    TimestampMicrosecondArray::new(ScalarBuffer::from(done), valid.finish())
                        .with_timezone("UTC"),
                )
            }
            ColumnBuffer::Resources(list) => Arc::new(list.finish()),
        }
    }
}

/// A `Utf8` column: offsets, the bytes, and which rows are valid.
pub(crate) struct TextBuffer {
    offsets: Vec<i32>,
    values: Vec<u8>,
    valid: Validity,
    /// The length of a value that did not fit (see [`MOST_TEXT_BYTES`]).
    overflow: Option<usize>,
}

impl TextBuffer {
    fn new(rows: usize, bytes: usize) -> Self {
        let mut offsets = Vec::with_capacity(rows + 1);
        offsets.push(0);
        Self {
            offsets,
            values: Vec::with_capacity(bytes),
            valid: Validity::default(),
            overflow: None,
        }
    }

    #[inline(always)]
    fn push(&mut self, value: &str) {
        if self.values.len() + value.len() > text_limits().1 {
            self.push_overflow(value.len());
            return;
        }
        append_bytes(&mut self.values, value.as_bytes());
        self.offsets.push(self.values.len() as i32);
        self.valid.push(true);
    }

    #[inline]
    fn push_null(&mut self) {
        self.offsets.push(self.values.len() as i32);
        self.valid.push(false);
    }

    /// A NULL in place of a value of `bytes` bytes that did not fit, noted.
    #[cold]
    #[inline(never)]
    fn push_overflow(&mut self, bytes: usize) {
        self.overflow.get_or_insert(bytes);
        self.push_null();
    }

    fn truncate(&mut self, rows: usize) {
        self.offsets.truncate(rows + 1);
        self.values.truncate(self.offsets[rows] as usize);
        self.valid.truncate(rows);
        self.overflow = None;
    }
}

/// `values.extend_from_slice(bytes)`, with values of up to 32 bytes copied in two
/// overlapping register moves: most text values are that short, and the `memcpy` call
/// `extend_from_slice` makes for each one cost 2% of a ten-column scan.
#[inline]
fn append_bytes(values: &mut Vec<u8>, bytes: &[u8]) {
    let n = bytes.len();
    if !(4..=32).contains(&n) {
        values.extend_from_slice(bytes);
        return;
    }
    values.reserve(n);
    let len = values.len();
    let src = bytes.as_ptr();
    // SAFETY: `reserve` made room for `n` bytes past `len`. Each move reads inside
    // `bytes` and writes inside that room: the first covers `[0, k)` and the second
    // `[n - k, n)` for the width `k <= n` chosen, so together they cover `[0, n)`. All
    // of `[len, len + n)` is written before `set_len`.
    unsafe {
        let dst = values.as_mut_ptr().add(len);
        if n >= 16 {
            let head = std::ptr::read_unaligned(src.cast::<u128>());
            let tail = std::ptr::read_unaligned(src.add(n - 16).cast::<u128>());
            std::ptr::write_unaligned(dst.cast::<u128>(), head);
            std::ptr::write_unaligned(dst.add(n - 16).cast::<u128>(), tail);
        } else if n >= 8 {
            let head = std::ptr::read_unaligned(src.cast::<u64>());
            let tail = std::ptr::read_unaligned(src.add(n - 8).cast::<u64>());
            std::ptr::write_unaligned(dst.cast::<u64>(), head);
            std::ptr::write_unaligned(dst.add(n - 8).cast::<u64>(), tail);
        } else {
            let head = std::ptr::read_unaligned(src.cast::<u32>());
            let tail = std::ptr::read_unaligned(src.add(n - 4).cast::<u32>());
            std::ptr::write_unaligned(dst.cast::<u32>(), head);
            std::ptr::write_unaligned(dst.add(n - 4).cast::<u32>(), tail);
        }
        values.set_len(len + n);
    }
}

/// Which rows are valid: a count while every row is, a bitmap from the first NULL on
/// (most columns of most batches have none).
#[derive(Default)]
pub(crate) struct Validity {
    rows: usize,
    bits: Option<BooleanBufferBuilder>,
}

impl Validity {
    #[inline(always)]
    fn push(&mut self, valid: bool) {
        match &mut self.bits {
            Some(bits) => bits.append(valid),
            None if valid => {}
            None => self.first_null(),
        }
        self.rows += 1;
    }

    /// The bitmap, from the first NULL on: every row before it valid.
    #[cold]
    #[inline(never)]
    fn first_null(&mut self) {
        let mut bits = BooleanBufferBuilder::new(self.rows.max(1024));
        bits.append_n(self.rows, true);
        bits.append(false);
        self.bits = Some(bits);
    }

    fn truncate(&mut self, rows: usize) {
        self.rows = self.rows.min(rows);
        if let Some(bits) = &mut self.bits {
            bits.truncate(rows);
        }
    }

    fn finish(&mut self) -> Option<NullBuffer> {
        self.rows = 0;
        // A bitmap whose NULL rows were all taken back is all valid.
        let bits = NullBuffer::new(self.bits.take()?.finish());
        (bits.null_count() > 0).then_some(bits)
    }
}

/// The bytes of text each string field of a resources column's batch holds.
fn resource_text_bytes(list: &ListBuilder<StructBuilder>) -> impl Iterator<Item = usize> + '_ {
    list.values_ref().field_builders().iter().map(|field| {
        field
            .as_any()
            .downcast_ref::<StringBuilder>()
            .map_or(0, |text| text.values_slice().len())
    })
}

#[inline(never)]
fn append_resources(list: &mut ListBuilder<StructBuilder>, entries: Vec<ResourceEntry<'_>>) {
    for entry in entries {
        let item = list.values();
        for (i, value) in entry.into_iter().enumerate() {
            item.field_builder::<StringBuilder>(i)
                .expect("resource fields are strings")
                .append_option(value);
        }
        item.append(true);
    }
    list.append(true);
}

#[cfg(test)]
pub(crate) mod tests {
    use super::append_bytes;

    thread_local! {
        /// The limits [`super::text_limits`] answers on this thread, when set.
        pub(crate) static TEXT_LIMITS: std::cell::Cell<Option<(usize, usize)>> =
            const { std::cell::Cell::new(None) };
    }

    #[test]
    fn appended_bytes_are_the_bytes_at_every_length() {
        let source: Vec<u8> = (0..80u8)
            .map(|b| b.wrapping_mul(37).wrapping_add(1))
            .collect();
        for already in [0, 1, 7, 31] {
            for start in [0, 3] {
                for n in 0..=40 {
                    let bytes = &source[start..start + n];
                    // Exactly as much room as the bytes need, so a write past them would
                    // show under Miri and a short copy in the comparison.
                    let mut values = vec![0xEE; already];
                    values.shrink_to_fit();
                    append_bytes(&mut values, bytes);
                    let mut expected = vec![0xEE; already];
                    expected.extend_from_slice(bytes);
                    assert_eq!(values, expected, "{already} bytes before, {n} appended");
                }
            }
        }
    }
}
