//! Inflating a gzip file a piece at a time, for files too large to inflate whole: the
//! inflated text is read in parts (see [`crate::part_end`]) while only a window of the
//! compressed input and one part are held.

use std::io::{self, Read};

use flate2::{Decompress, FlushDecompress, Status};

use crate::error::DecodeErrorKind;
use crate::inflate::{CUT_SHORT, error_message, is_gzip};
use crate::parts::part_end;

/// Compressed bytes read from the source at a time.
const INPUT_STEP: usize = 256 << 10;

/// The most room made for inflated bytes at a time.
const OUTPUT_STEP: usize = 64 << 20;

/// Inflated bytes a gzip file's start is probed for: enough for dozens of NDJSON lines.
const PROBE_BYTES: usize = 64 << 10;

/// Why a [`GzipStream`] stopped.
#[derive(Debug)]
pub enum GzipStreamError {
    /// The source could not be read.
    Read(io::Error),
    /// The compressed data is broken, with how far it inflated, as [`crate::maybe_inflate`]
    /// says it.
    Data(DecodeErrorKind),
}

/// Inflates every gzip member of a source in turn, checking headers, CRCs and lengths as
/// [`crate::maybe_inflate`] does, onto a buffer the caller owns.
///
/// ```
/// use std::io::Write;
/// use trailsql_decode::GzipStream;
///
/// let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
/// encoder.write_all(b"{\"eventName\":\"A\"}\n{\"eventName\":\"B\"}\n").unwrap();
/// let compressed = encoder.finish().unwrap();
///
/// let mut stream = GzipStream::new(&compressed[..]);
/// let mut text = Vec::new();
/// // Eight bytes or more at a time.
/// loop {
///     let want = text.len() + 8;
///     if stream.inflate_onto(&mut text, want).unwrap() {
///         break;
///     }
/// }
/// assert_eq!(text, b"{\"eventName\":\"A\"}\n{\"eventName\":\"B\"}\n");
/// ```
pub struct GzipStream<R> {
    source: R,
    input: Vec<u8>,
    /// The part of `input` not yet inflated.
    pending: std::ops::Range<usize>,
    source_done: bool,
    /// The member being inflated; `None` between members.
    member: Option<Decompress>,
    members: usize,
    inflated: u64,
    compressed_read: u64,
}

impl<R: Read> GzipStream<R> {
    pub fn new(source: R) -> Self {
        Self {
            source,
            input: Vec::new(),
            pending: 0..0,
            source_done: false,
            member: None,
            members: 0,
            inflated: 0,
            compressed_read: 0,
        }
    }

    /// Bytes read from the source so far.
    pub fn compressed_read(&self) -> u64 {
        self.compressed_read
    }

    /// Whether the source has been read to its end.
    pub fn source_ended(&self) -> bool {
        self.source_done
    }

    /// Bytes inflated so far.
    pub fn inflated(&self) -> u64 {
        self.inflated
    }

    /// Inflates onto `out` until it holds at least `want` bytes or the stream ends;
    /// `Ok(true)` once every member has been inflated and the source is done.
    pub fn inflate_onto(
        &mut self,
        out: &mut Vec<u8>,
        want: usize,
    ) -> Result<bool, GzipStreamError> {
        while out.len() < want {
            if self.pending.is_empty() && !self.source_done {
                self.read_more()?;
            }
            let Some(member) = self.member.as_mut() else {
                if self.pending.is_empty() {
                    if self.members == 0 {
                        return Err(self.broken(CUT_SHORT));
                    }
                    return Ok(true);
                }
                if self.pending.len() < 2 && !self.source_done {
                    self.read_more()?;
                    continue;
                }
                if !is_gzip(&self.input[self.pending.clone()]) {
                    return Err(self.broken(if self.members == 0 {
                        "invalid gzip header"
                    } else {
                        "invalid gzip header after a gzip member"
                    }));
                }
                self.member = Some(Decompress::new_gzip(15));
                continue;
            };
            // Room for what is wanted in large steps: zlib-rs's fast loop needs room to run.
            out.reserve((want - out.len()).min(OUTPUT_STEP));
            let (in_before, out_before) = (member.total_in(), out.len());
            let status = member.decompress_vec(
                &self.input[self.pending.clone()],
                out,
                FlushDecompress::None,
            );
            let consumed = (member.total_in() - in_before) as usize;
            let produced = out.len() - out_before;
            self.pending.start += consumed;
            self.inflated += produced as u64;
            let status = match status {
                Ok(status) => status,
                Err(error) => return Err(self.broken(&error_message(&error))),
            };
            if status == Status::StreamEnd {
                self.member = None;
                self.members += 1;
                continue;
            }
            if consumed == 0 && produced == 0 {
                if self.source_done {
                    return Err(self.broken(if self.pending.is_empty() {
                        CUT_SHORT
                    } else {
                        "corrupt deflate stream"
                    }));
                }
                self.read_more()?;
            }
        }
        Ok(false)
    }

    /// Reads the next step of the source after what is pending, moving that to the front.
    fn read_more(&mut self) -> Result<(), GzipStreamError> {
        self.input.copy_within(self.pending.clone(), 0);
        let kept = self.pending.len();
        self.input.resize(kept + INPUT_STEP, 0);
        let read = loop {
            match self.source.read(&mut self.input[kept..]) {
                Ok(read) => break read,
                Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
                Err(error) => return Err(GzipStreamError::Read(error)),
            }
        };
        self.input.truncate(kept + read);
        self.pending = 0..kept + read;
        self.compressed_read += read as u64;
        self.source_done = read == 0;
        Ok(())
    }

    fn broken(&self, message: &str) -> GzipStreamError {
        GzipStreamError::Data(DecodeErrorKind::Gzip {
            inflated: self.inflated,
            message: message.to_string(),
        })
    }
}

/// Whether the gzip file starting with `compressed` can be read in parts: whether its
/// first 64 KiB inflated (or what the bytes given inflate to) hold a place to cut (see [`crate::part_end`]). A delivery file
/// or a bare array is one value, with no such place: it is better inflated whole, in
/// one call. `compressed` may be only the file's first bytes.
pub fn gzip_splits(compressed: &[u8]) -> bool {
    let mut stream = GzipStream::new(compressed);
    let mut text = Vec::with_capacity(PROBE_BYTES);
    // Where the bytes given end (or break), what they inflated to is what there is to
    // look at.
    let _ = stream.inflate_onto(&mut text, PROBE_BYTES);
    part_end(&text).is_some()
}

/// The inflated length a gzip file's trailer gives (its last member's, mod 4 GiB): only
/// a hint of the whole file's.
pub fn gzip_trailer_length(compressed: &[u8]) -> u64 {
    crate::inflate::hinted_length(compressed) as u64
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inflate::maybe_inflate;
    use crate::inflate::tests::gzip;

    fn lines(count: usize) -> Vec<u8> {
        (0..count)
            .flat_map(|i| format!("{{\"eventName\":\"Event{}\",\"n\":{i}}}\n", i % 97).into_bytes())
            .collect()
    }

    /// A source that hands out at most `step` bytes per read.
    struct Trickle<'a> {
        bytes: &'a [u8],
        step: usize,
    }

    impl Read for Trickle<'_> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let n = self.step.min(buf.len()).min(self.bytes.len());
            buf[..n].copy_from_slice(&self.bytes[..n]);
            self.bytes = &self.bytes[n..];
            Ok(n)
        }
    }

    fn stream_all(
        compressed: &[u8],
        source_step: usize,
        want_step: usize,
    ) -> Result<Vec<u8>, GzipStreamError> {
        let mut stream = GzipStream::new(Trickle {
            bytes: compressed,
            step: source_step,
        });
        let mut out = Vec::new();
        loop {
            let want = out.len() + want_step;
            if stream.inflate_onto(&mut out, want)? {
                break;
            }
        }
        assert_eq!(stream.compressed_read(), compressed.len() as u64);
        assert_eq!(stream.inflated(), out.len() as u64);
        Ok(out)
    }

    #[test]
    fn a_stream_inflates_what_inflating_whole_does_in_any_steps() {
        let text = lines(20_000);
        let mut compressed = gzip(&text);
        compressed.extend(gzip(&lines(300)));
        let whole = maybe_inflate(compressed.clone(), u64::MAX).unwrap();
        for (source_step, want_step) in [(1, 7), (13, 1000), (4096, 1 << 16), (1 << 20, 1 << 24)] {
            assert_eq!(
                stream_all(&compressed, source_step, want_step).unwrap(),
                whole
            );
        }
    }

    #[test]
    fn a_cut_stream_says_where_it_ended_as_inflating_whole_does() {
        let compressed = gzip(&lines(20_000));
        let cut = &compressed[..compressed.len() / 2];
        let Err(GzipStreamError::Data(DecodeErrorKind::Gzip { inflated, message })) =
            stream_all(cut, 4096, 1 << 16)
        else {
            panic!("a cut stream must fail");
        };
        assert_eq!(message, "unexpected end of file");
        let Err(DecodeErrorKind::Gzip {
            inflated: whole_inflated,
            ..
        }) = maybe_inflate(cut.to_vec(), u64::MAX)
        else {
            panic!("a cut file must fail");
        };
        assert!(
            inflated > 0 && inflated <= whole_inflated,
            "{inflated} {whole_inflated}"
        );
    }

    #[test]
    fn bytes_after_a_member_that_are_not_gzip_are_an_error() {
        let mut compressed = gzip(&lines(10));
        compressed.extend(b"garbage");
        let Err(GzipStreamError::Data(DecodeErrorKind::Gzip { inflated, message })) =
            stream_all(&compressed, 3, 5)
        else {
            panic!("trailing garbage must fail");
        };
        assert_eq!(message, "invalid gzip header after a gzip member");
        assert_eq!(inflated, lines(10).len() as u64);
    }

    #[test]
    fn a_damaged_stream_is_an_error_not_a_hang() {
        let mut compressed = gzip(&lines(20_000));
        let middle = compressed.len() / 2;
        for byte in &mut compressed[middle..middle + 64] {
            *byte ^= 0x5a;
        }
        assert!(matches!(
            stream_all(&compressed, 4096, 1 << 16),
            Err(GzipStreamError::Data(DecodeErrorKind::Gzip { .. }))
        ));
        assert!(matches!(
            stream_all(b"\x1f\x8bnot really gzip", 4096, 1 << 16),
            Err(GzipStreamError::Data(DecodeErrorKind::Gzip { .. }))
        ));
    }

    #[test]
    fn only_files_of_many_values_are_worth_reading_in_parts() {
        assert!(gzip_splits(&gzip(&lines(20_000))));
        // Only the file's first bytes are needed.
        let compressed = gzip(&lines(20_000));
        assert!(gzip_splits(&compressed[..compressed.len() / 4]));
        let records: Vec<u8> = [
            &b"{\"Records\":["[..],
            &lines(20_000)
                .iter()
                .map(|&b| if b == b'\n' { b',' } else { b })
                .collect::<Vec<_>>(),
            b"{}]}",
        ]
        .concat();
        assert!(!gzip_splits(&gzip(&records)));
        // The first few kilobytes are enough.
        assert!(gzip_splits(&compressed[..2048]));
        assert!(!gzip_splits(b"\x1f\x8bbroken"));
    }
}
