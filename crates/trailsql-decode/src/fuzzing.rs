//! The properties the decoder's fuzz target checks (`fuzz/fuzz_targets/decode.rs`), here
//! so that `cargo test` replays the saved fuzz corpus with the same checks on stable.

use std::io::Write;

use crate::{
    CloudTrailDecoder, CloudTrailSchema, DecodeError, DecodeErrorKind, DecoderOptions, FileOutcome,
};
use crate::{OnError, SchemaDiscovery, Source, TextFilter, TextTest};
use arrow_array::{Array, ArrayRef, RecordBatch, StringArray};

const FILE: &str = "fuzz.json";

/// Decodes `data` as one log file, in the mode its first byte picks (bit 0: gzip the
/// rest first; bit 1: skip bad input instead of failing), and panics when a property
/// breaks:
/// - decoding never panics, whatever the bytes (the fuzzer's own check);
/// - an error names the file;
/// - skipping never fails: bad input is counted instead;
/// - the batches hold exactly the rows the outcome counts;
/// - a file that decodes cleanly with every column gives the same number of rows when
///   only counted (the projection `count(*)` uses);
/// - such a file also decodes cleanly under a narrower projection (the rest of the first
///   byte picks which columns), with exactly the values of those columns; the narrow
///   paths (identity leaves walked in place, `requestParameters` leaves, values skipped
///   by their structure, records left early) must agree with the full one;
/// - a [`TextFilter`] (`=`, `IN`, `LIKE 'p%'`, `IS NOT NULL`) keeps exactly the rows
///   whose value passes it, and counts the others as filtered.
pub fn check_decoder(data: &[u8]) {
    let Some((&mode, body)) = data.split_first() else {
        return;
    };
    let bytes = if mode & 1 == 1 {
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        encoder.write_all(body).expect("writing to memory");
        encoder.finish().expect("writing to memory")
    } else {
        body.to_vec()
    };
    let on_error = if mode & 2 == 2 {
        OnError::Skip
    } else {
        OnError::Fail
    };
    // requestParameters columns come from the input itself, as the engine finds them.
    let mut discovery = SchemaDiscovery::new(64, 1 << 24);
    let _ = discovery.add_file(FILE, bytes.clone());
    let schema = CloudTrailSchema::new(&discovery.paths());
    let options = DecoderOptions {
        // Small batches exercise the batch boundaries.
        batch_size: 7,
        on_error,
        max_inflated_bytes: 1 << 24,
    };
    let every_column = decode(&schema, None, &[], &options, &bytes);
    let counted = decode(&schema, Some(&[]), &[], &options, &bytes);
    for result in [&every_column, &counted] {
        match result {
            Err(error) => {
                assert_eq!(error.location.file, FILE, "{error}");
                assert!(
                    on_error == OnError::Fail,
                    "skipping failed instead of counting: {error}"
                );
            }
            Ok((outcome, batches)) => {
                assert_eq!(outcome.rows, row_count(batches), "batches and outcome")
            }
        }
    }
    if let Ok((all, full)) = &every_column
        && is_clean(all)
    {
        let (counted, _) = counted.expect("counting fails where every column decodes");
        assert_eq!(counted.rows, all.rows, "counting and decoding disagree");
        let full = rows_of(full);
        let projection = narrow_projection(&schema, mode >> 2);
        let expected: Vec<_> = (0..full.len()).collect();
        check_narrow(
            &schema,
            &projection,
            &[],
            &options,
            &bytes,
            &full,
            &expected,
        );
        if let Some(filter) = value_filter(&schema, &full, mode >> 2) {
            let kept: Vec<_> = (0..full.len())
                .filter(|&row| {
                    text_at(&full, row, filter.column)
                        .is_some_and(|value| filter.test.admits(value))
                })
                .collect();
            let outcome = check_narrow(
                &schema,
                &projection,
                &[filter],
                &options,
                &bytes,
                &full,
                &kept,
            );
            assert_eq!(
                outcome.filtered_records,
                full.len() - kept.len(),
                "records filtered"
            );
        }
    }
}

/// Inflates `data` as a log file's bytes and panics unless the result is what zlib-rs
/// alone gives: the same bytes, or the same kind of failure after as many bytes (zlib-rs
/// words a broken stream differently as it is given more or less room, which a reused
/// buffer's size already varies). One difference is allowed: libdeflate reads a few
/// streams zlib rejects (fixed-code length symbols 286 and 287 as length 258), and it
/// checks the CRC-32 and length of every member it reads, so where zlib-rs fails the
/// fast path may succeed. The fast path never fails where zlib-rs succeeds, nor returns
/// other bytes, and fails no earlier.
///
/// The first byte picks the mode: bit 0 gzips the rest first; bit 1 then damages one
/// byte, at a place the top three bits pick; bit 2 appends a second member; bit 3 cuts
/// the last eight bytes; bit 4 sets the limit to half the rest's length instead of
/// 16 MiB.
pub fn check_inflate(data: &[u8]) {
    let Some((&mode, body)) = data.split_first() else {
        return;
    };
    let gzip = |bytes: &[u8]| {
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        encoder.write_all(bytes).expect("writing to memory");
        encoder.finish().expect("writing to memory")
    };
    let mut bytes = if mode & 1 == 1 {
        gzip(body)
    } else {
        body.to_vec()
    };
    if mode & 2 == 2 && !bytes.is_empty() {
        let at = usize::from(mode >> 5) * bytes.len() / 8;
        bytes[at] ^= 0x5a;
    }
    if mode & 4 == 4 {
        let second: Vec<u8> = body.iter().rev().copied().collect();
        bytes.extend(gzip(&second));
    }
    if mode & 8 == 8 {
        bytes.truncate(bytes.len().saturating_sub(8));
    }
    let limit = if mode & 16 == 16 {
        body.len() as u64 / 2
    } else {
        1 << 24
    };
    let reference = crate::inflate::maybe_inflate_with_zlib_into(bytes.clone(), limit, Vec::new());
    if crate::inflate::is_gzip(&bytes) {
        check_stream(&bytes, usize::from(mode >> 5) * 97 + 1, &reference);
    }
    let inflated = crate::inflate::maybe_inflate(bytes, limit);
    let same = match (&inflated, &reference) {
        (
            Err(DecodeErrorKind::Gzip { inflated: a, .. }),
            Err(DecodeErrorKind::Gzip { inflated: b, .. }),
        ) => a >= b,
        (Ok(_), Err(DecodeErrorKind::Gzip { .. })) => true,
        _ => inflated == reference,
    };
    assert!(
        same,
        "the fast inflate disagrees with zlib-rs: {inflated:?} {reference:?}"
    );
}

/// Inflating `bytes` a step at a time gives what inflating them whole gave, or fails
/// where that failed.
fn check_stream(bytes: &[u8], step: usize, whole: &Result<Vec<u8>, DecodeErrorKind>) {
    let mut stream = crate::GzipStream::new(bytes);
    let mut out = Vec::new();
    let streamed = loop {
        let want = out.len() + step;
        match stream.inflate_onto(&mut out, want) {
            Ok(true) => break Ok(out),
            Ok(false) => {}
            Err(error) => break Err(error),
        }
    };
    match (whole, streamed) {
        (Ok(whole), Ok(streamed)) => assert!(
            *whole == streamed,
            "the stream inflated other bytes than inflating whole"
        ),
        (Err(DecodeErrorKind::TooLarge { .. }), _) => {}
        (
            Err(DecodeErrorKind::Gzip { .. }),
            Err(crate::GzipStreamError::Data(DecodeErrorKind::Gzip { .. })),
        ) => {}
        (whole, streamed) => {
            panic!("the stream disagrees with inflating whole: {streamed:?} {whole:?}")
        }
    }
}

fn is_clean(outcome: &FileOutcome) -> bool {
    outcome.skipped_records == 0
        && outcome.file_error.is_none()
        && outcome.summary.skipped.is_empty()
}

/// About a quarter of the columns, chosen by `seed`; seed 0 is the benchmark's ten-column
/// query (two of its columns `requestParameters` leaves, when the input has them).
fn narrow_projection(schema: &CloudTrailSchema, seed: u8) -> Vec<usize> {
    let columns = schema.columns();
    if seed == 0 {
        let named = [
            "eventtime",
            "eventsource",
            "eventname",
            "awsregion",
            "sourceipaddress",
            "useridentity_arn",
            "errorcode",
            "readonly",
        ];
        let parameters = columns
            .iter()
            .enumerate()
            .filter(|(_, spec)| matches!(spec.source, Source::RequestParameter(_)))
            .map(|(index, _)| index)
            .take(2);
        return named
            .iter()
            .filter_map(|name| schema.index_of(name))
            .chain(parameters)
            .collect();
    }
    (0..columns.len())
        .filter(|&index| {
            let mut hash = (index as u32 ^ u32::from(seed) << 16).wrapping_mul(0x9E37_79B9);
            hash ^= hash >> 15;
            hash.wrapping_mul(0x85EB_CA6B) >> 30 == 0
        })
        .collect()
}

/// One filter of each kind the decoder checks, picked by `kind` (its column indexes the
/// full rows too): `eventname = v`, `useridentity_arn IN (v, 'absent')`,
/// `eventsource LIKE 'p%'` (`p` the first half of a value) and `errorcode IS NOT NULL`,
/// `v` the first value the file has.
fn value_filter(schema: &CloudTrailSchema, full: &[Row], kind: u8) -> Option<TextFilter> {
    let name = ["eventname", "useridentity_arn", "eventsource", "errorcode"][usize::from(kind & 3)];
    let column = schema.index_of(name)?;
    let first = || {
        (0..full.len())
            .find_map(|row| text_at(full, row, column))
            .map(str::to_owned)
    };
    let test = match kind & 3 {
        0 => TextTest::OneOf(vec![first()?]),
        1 => TextTest::OneOf(vec![
            first()?,
            "arn:aws:iam::000000000000:user/absent".to_owned(),
        ]),
        2 => {
            let value = first()?;
            let half = value
                .char_indices()
                .nth(value.chars().count() / 2)
                .map_or(0, |(i, _)| i);
            TextTest::StartsWith(value[..half].to_owned())
        }
        _ => TextTest::NotNull,
    };
    Some(TextFilter { column, test })
}

/// Decodes under `projection` and `filters`, which must succeed cleanly and give exactly
/// the `expected` rows of `full`, projected.
fn check_narrow(
    schema: &CloudTrailSchema,
    projection: &[usize],
    filters: &[TextFilter],
    options: &DecoderOptions,
    bytes: &[u8],
    full: &[Row],
    expected: &[usize],
) -> FileOutcome {
    let (outcome, batches) = decode(schema, Some(projection), filters, options, bytes)
        .unwrap_or_else(|error| {
            panic!("{projection:?} {filters:?} fails where every column decodes: {error}")
        });
    assert!(
        is_clean(&outcome),
        "{projection:?} {filters:?} skips where every column decodes"
    );
    let narrow = rows_of(&batches);
    assert_eq!(
        narrow.len(),
        expected.len(),
        "{projection:?} {filters:?}: rows"
    );
    for (row, &full_row) in expected.iter().enumerate() {
        for (position, &column) in projection.iter().enumerate() {
            let got = cell(&narrow, row, position);
            let want = cell(full, full_row, column);
            assert!(
                *got == *want,
                "{projection:?} {filters:?}: row {row}, column {}: {got:?} != {want:?}",
                schema.columns()[column].name
            );
        }
    }
    outcome
}

/// A row as (batch, index in batch).
type Row<'a> = (&'a RecordBatch, usize);

fn rows_of(batches: &[RecordBatch]) -> Vec<Row<'_>> {
    batches
        .iter()
        .flat_map(|batch| (0..batch.num_rows()).map(move |row| (batch, row)))
        .collect()
}

fn row_count(batches: &[RecordBatch]) -> usize {
    batches.iter().map(RecordBatch::num_rows).sum()
}

fn cell(rows: &[Row], row: usize, column: usize) -> ArrayRef {
    let (batch, index) = rows[row];
    batch.column(column).slice(index, 1)
}

fn text_at<'a>(rows: &[Row<'a>], row: usize, column: usize) -> Option<&'a str> {
    let (batch, index) = rows[row];
    let text = batch
        .column(column)
        .as_any()
        .downcast_ref::<StringArray>()?;
    text.is_valid(index).then(|| text.value(index))
}

/// The outcome of decoding `bytes`, and the rows in the batches it gave.
fn decode(
    schema: &CloudTrailSchema,
    projection: Option<&[usize]>,
    filters: &[TextFilter],
    options: &DecoderOptions,
    bytes: &[u8],
) -> Result<(FileOutcome, Vec<RecordBatch>), DecodeError> {
    let mut decoder = CloudTrailDecoder::with_filters(schema, projection, filters, options.clone());
    let mut batches = Vec::new();
    let outcome = decoder.decode_file(FILE, bytes.to_vec(), &mut |batch| {
        assert!(batch.num_rows() <= options.batch_size);
        batches.push(batch);
    })?;
    batches.extend(decoder.flush());
    Ok((outcome, batches))
}
