//! The properties the decoder's fuzz target checks (`fuzz/fuzz_targets/decode.rs`), here
//! so that `cargo test` replays the saved fuzz corpus with the same checks on stable.

use std::io::Write;

use crate::{CloudTrailDecoder, CloudTrailSchema, DecodeError, DecoderOptions, FileOutcome};
use crate::{OnError, SchemaDiscovery};

const FILE: &str = "fuzz.json";

/// Decodes `data` as one log file, in the mode its first byte picks (bit 0: gzip the
/// rest first; bit 1: skip bad input instead of failing), and panics when a property
/// breaks:
/// - decoding never panics, whatever the bytes (the fuzzer's own check);
/// - an error names the file;
/// - skipping never fails: bad input is counted instead;
/// - the batches hold exactly the rows the outcome counts;
/// - a file that decodes cleanly with every column gives the same number of rows when
///   only counted (the projection `count(*)` uses).
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
    let every_column = decode(&schema, None, &options, &bytes);
    let counted = decode(&schema, Some(&[]), &options, &bytes);
    for result in [&every_column, &counted] {
        match result {
            Err(error) => {
                assert_eq!(error.location.file, FILE, "{error}");
                assert!(
                    on_error == OnError::Fail,
                    "skipping failed instead of counting: {error}"
                );
            }
            Ok((outcome, rows)) => assert_eq!(outcome.rows, *rows, "batches and outcome"),
        }
    }
    if let Ok((all, _)) = &every_column
        && all.skipped_records == 0
        && all.file_error.is_none()
        && all.summary.skipped.is_empty()
    {
        let (counted, _) = counted.expect("counting fails where every column decodes");
        assert_eq!(counted.rows, all.rows, "counting and decoding disagree");
    }
}

/// The outcome of decoding `bytes`, and the rows in the batches it gave.
fn decode(
    schema: &CloudTrailSchema,
    projection: Option<&[usize]>,
    options: &DecoderOptions,
    bytes: &[u8],
) -> Result<(FileOutcome, usize), DecodeError> {
    let mut decoder = CloudTrailDecoder::new(schema, projection, options.clone());
    let mut rows = 0;
    let outcome = decoder.decode_file(FILE, bytes.to_vec(), &mut |batch| {
        assert!(batch.num_rows() <= options.batch_size);
        rows += batch.num_rows();
    })?;
    rows += decoder.flush().map_or(0, |batch| batch.num_rows());
    Ok((outcome, rows))
}
