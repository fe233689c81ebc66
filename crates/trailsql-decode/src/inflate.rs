//! Gzip detection by magic bytes and bounded inflation.

use std::io::Read;

use flate2::read::MultiGzDecoder;

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
    // CloudTrail compresses about 8:1; start near that to avoid regrowth.
    out.reserve(bytes.len().saturating_mul(8).min(limit as usize));
    let mut reader = MultiGzDecoder::new(&bytes[..]).take(limit.saturating_add(1));
    match reader.read_to_end(&mut out) {
        Ok(_) if out.len() as u64 > limit => Err(DecodeErrorKind::TooLarge { limit }),
        Ok(_) => Ok(out),
        Err(error) => Err(DecodeErrorKind::Gzip {
            inflated: out.len() as u64,
            message: error.to_string(),
        }),
    }
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
    fn inflation_stops_at_the_limit() {
        let data = gzip(&vec![b' '; 100_000]);
        assert_eq!(
            maybe_inflate(data, 1000),
            Err(DecodeErrorKind::TooLarge { limit: 1000 })
        );
    }
}
