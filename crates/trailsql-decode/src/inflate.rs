//! Gzip detection by magic bytes and bounded inflation.

use flate2::{Decompress, FlushDecompress, Status};

use crate::error::DecodeErrorKind;

const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

pub fn is_gzip(bytes: &[u8]) -> bool {
    bytes.starts_with(&GZIP_MAGIC)
}

/// Inflates `bytes` if they are gzip (by magic, not by name); returns plain input as is.
/// Fails past `limit` inflated bytes, so a small hostile file cannot exhaust memory.
pub fn maybe_inflate(bytes: Vec<u8>, limit: u64) -> Result<Vec<u8>, DecodeErrorKind> {
    maybe_inflate_into(bytes, limit, Vec::new())
}

/// [`maybe_inflate`] into `out`, whose allocation is reused (a scan inflates thousands of
/// files; fresh multi-megabyte buffers would each be page-faulted in anew).
pub fn maybe_inflate_into(
    bytes: Vec<u8>,
    limit: u64,
    mut out: Vec<u8>,
) -> Result<Vec<u8>, DecodeErrorKind> {
    if !is_gzip(&bytes) {
        if bytes.len() as u64 > limit {
            return Err(DecodeErrorKind::TooLarge { limit });
        }
        return Ok(bytes);
    }
    out.clear();
    inflate_gzip(&bytes, limit, &mut out)?;
    Ok(out)
}

/// Inflates every gzip member of `input` onto `out`, stopping past `limit`.
///
/// One call to zlib-rs per member with the whole output in place, rather than a reader's
/// chunks: the output is never zero-filled first (a reader's buffer must be), and zlib
/// copies nothing into its window, which it does after every call that ends short of the
/// stream's end. Header, CRC and length are checked by zlib-rs in gzip mode.
fn inflate_gzip(mut input: &[u8], limit: u64, out: &mut Vec<u8>) -> Result<(), DecodeErrorKind> {
    let limit_len = usize::try_from(limit).unwrap_or(usize::MAX);
    let fail = |out: &Vec<u8>, message: &str| DecodeErrorKind::Gzip {
        inflated: out.len() as u64,
        message: message.to_string(),
    };
    while !input.is_empty() {
        if !is_gzip(input) {
            return Err(fail(out, "invalid gzip header after a gzip member"));
        }
        // The trailer's length of the last member (mod 4 GiB) sizes a single-member file
        // exactly; it is only a hint, so a lie costs a regrowth, never an overrun.
        let hinted = input.len().checked_sub(4).map_or(0, |at| {
            u32::from_le_bytes(input[at..].try_into().expect("4 bytes")) as usize
        });
        let expected = hinted.clamp(
            input.len().saturating_mul(8),
            input.len().saturating_mul(32),
        );
        let wanted = out.len().saturating_add(expected);
        out.reserve(
            wanted
                .min(limit_len.saturating_add(1))
                .saturating_sub(out.len()),
        );
        let mut inflater = Decompress::new_gzip(15);
        loop {
            if out.len() == out.capacity() {
                if out.len() > limit_len {
                    return Err(DecodeErrorKind::TooLarge { limit });
                }
                let grown = out.len().saturating_mul(2).max(1 << 16);
                out.reserve(grown.min(limit_len.saturating_add(1)) - out.len());
            }
            let (in_before, out_before) = (inflater.total_in(), out.len());
            let status = inflater
                .decompress_vec(input, out, FlushDecompress::Finish)
                .map_err(|error| fail(out, &error.to_string()))?;
            let consumed = (inflater.total_in() - in_before) as usize;
            input = &input[consumed..];
            if out.len() > limit_len {
                return Err(DecodeErrorKind::TooLarge { limit });
            }
            // Room left for output, yet the member did not end: the input ran out, or
            // zlib-rs made no progress on it.
            if status != Status::StreamEnd && out.len() < out.capacity() {
                if input.is_empty() {
                    return Err(fail(out, "unexpected end of file"));
                }
                if consumed == 0 && out.len() == out_before {
                    return Err(fail(out, "corrupt deflate stream"));
                }
            }
            if status == Status::StreamEnd {
                break;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use flate2::{Compression, write::GzEncoder};
    use std::io::Write;

    fn gzip(data: &[u8]) -> Vec<u8> {
        let mut encoder = GzEncoder::new(Vec::new(), Compression::default());
        encoder.write_all(data).unwrap();
        encoder.finish().unwrap()
    }

    #[test]
    fn plain_input_passes_through() {
        assert_eq!(maybe_inflate(b"{}".to_vec(), 10).unwrap(), b"{}");
    }

    #[test]
    fn gzip_is_detected_by_magic() {
        let data = gzip(br#"{"Records":[]}"#);
        assert_eq!(maybe_inflate(data, 1000).unwrap(), br#"{"Records":[]}"#);
    }

    #[test]
    fn truncated_gzip_is_an_error() {
        let mut data = gzip(&vec![b'x'; 10_000]);
        data.truncate(data.len() / 2);
        assert!(matches!(
            maybe_inflate(data, 1 << 20),
            Err(DecodeErrorKind::Gzip { .. })
        ));
    }

    #[test]
    fn every_member_is_inflated() {
        let mut data = gzip(b"first ");
        data.extend(gzip(&vec![b'y'; 300_000]));
        let mut expected = b"first ".to_vec();
        expected.extend(vec![b'y'; 300_000]);
        assert_eq!(maybe_inflate(data, 1 << 20).unwrap(), expected);
    }

    #[test]
    fn a_wrong_crc_or_length_is_an_error() {
        let data = gzip(&vec![b'z'; 50_000]);
        for at in [data.len() - 8, data.len() - 1] {
            let mut bad = data.clone();
            bad[at] ^= 1;
            assert!(matches!(
                maybe_inflate(bad, 1 << 20),
                Err(DecodeErrorKind::Gzip { .. })
            ));
        }
    }

    #[test]
    fn trailing_garbage_is_an_error() {
        let mut data = gzip(b"x");
        data.extend_from_slice(b"garbage");
        assert!(matches!(
            maybe_inflate(data, 1000),
            Err(DecodeErrorKind::Gzip { .. })
        ));
    }

    #[test]
    fn inflation_stops_at_the_limit() {
        let data = gzip(&vec![b' '; 100_000]);
        assert_eq!(
            maybe_inflate(data, 1000),
            Err(DecodeErrorKind::TooLarge { limit: 1000 })
        );
    }
}
