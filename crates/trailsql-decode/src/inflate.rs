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
    out: Vec<u8>,
) -> Result<Vec<u8>, DecodeErrorKind> {
    inflate_into(bytes, limit, out, true)
}

/// [`maybe_inflate_into`] with zlib-rs alone, one call per member: the reference the fast
/// path is fuzzed against ([`crate::fuzzing::check_inflate`]), and the scan benchmark's
/// floor.
pub fn maybe_inflate_with_zlib_into(
    bytes: Vec<u8>,
    limit: u64,
    out: Vec<u8>,
) -> Result<Vec<u8>, DecodeErrorKind> {
    inflate_into(bytes, limit, out, false)
}

/// A file's inflated bytes, and the CRC-32 its gzip trailer gives when checking it was
/// left to the pass that reads the bytes next ([`crate::envelope`]'s UTF-8 check):
/// output larger than the core's cache is then read once less.
pub(crate) struct Inflated {
    pub bytes: Vec<u8>,
    pub unchecked_crc: Option<u32>,
}

/// [`maybe_inflate_into`], keeping what a gzip stream cut short inflated to: the error
/// and those bytes, which are exactly the file's first bytes, so the records they hold
/// whole may be kept (`--on-error skip`). Of a stream found broken any other way nothing
/// is kept (the bytes empty): those inflated just before the damage showed may be wrong.
/// The CRC of a file of one gzip member is left unchecked (see [`Inflated`]).
pub(crate) fn maybe_inflate_keeping_cut(
    bytes: Vec<u8>,
    limit: u64,
    mut out: Vec<u8>,
) -> Result<Inflated, (DecodeErrorKind, Vec<u8>)> {
    if !is_gzip(&bytes) {
        return match inflate_into(bytes, limit, out, true) {
            Ok(bytes) => Ok(Inflated {
                bytes,
                unchecked_crc: None,
            }),
            Err(kind) => Err((kind, Vec::new())),
        };
    }
    out.clear();
    match inflate_gzip(&bytes, limit, &mut out, true, true) {
        Ok(unchecked_crc) => Ok(Inflated {
            bytes: out,
            unchecked_crc,
        }),
        Err(kind @ DecodeErrorKind::Gzip { .. }) if is_cut_short(&kind) => Err((kind, out)),
        Err(kind) => Err((kind, Vec::new())),
    }
}

/// The error of a gzip member whose output does not match its trailer's CRC, as zlib-rs
/// gives it.
pub(crate) fn crc_mismatch(inflated: usize) -> DecodeErrorKind {
    DecodeErrorKind::Gzip {
        inflated: inflated as u64,
        message: "deflate decompression error: incorrect data check".to_string(),
    }
}

/// The CRC-32 of `bytes` continued from `crc` (0 to start one), as a gzip trailer holds it.
pub(crate) fn crc32(crc: u32, bytes: &[u8]) -> u32 {
    // SAFETY: libdeflate reads exactly `bytes.len()` bytes from `bytes`.
    unsafe { libdeflate_sys::libdeflate_crc32(crc, bytes.as_ptr().cast(), bytes.len()) }
}

/// The CRC-32 of `a` then `b`, from `crc32(0, a)`, `crc32(0, b)` and `b.len()`.
pub(crate) fn crc32_combine(a: u32, b: u32, b_len: usize) -> u32 {
    zlib_rs::crc32::crc32_combine(a, b, b_len as u64)
}

/// What a gzip stream that ends before its members do is said to be.
pub(crate) const CUT_SHORT: &str = "unexpected end of file";

fn is_cut_short(kind: &DecodeErrorKind) -> bool {
    matches!(kind, DecodeErrorKind::Gzip { message, .. } if message == CUT_SHORT)
}

fn inflate_into(
    bytes: Vec<u8>,
    limit: u64,
    mut out: Vec<u8>,
    libdeflate_first: bool,
) -> Result<Vec<u8>, DecodeErrorKind> {
    if !is_gzip(&bytes) {
        if bytes.len() as u64 > limit {
            return Err(DecodeErrorKind::TooLarge { limit });
        }
        return Ok(bytes);
    }
    out.clear();
    inflate_gzip(&bytes, limit, &mut out, libdeflate_first, false)?;
    Ok(out)
}

/// Inflates every gzip member of `input` onto `out`, stopping past `limit`.
///
/// Each member is inflated in one call with the whole output in place, rather than in a
/// reader's chunks: the output is never zero-filled first (a reader's buffer must be), and
/// no window is copied between calls. libdeflate does it when the trailer's length gives
/// the room (it inflates this trail's JSON about a fifth faster than zlib-rs); zlib-rs
/// does what libdeflate declines, and says where a broken member breaks. Header, CRC and
/// length are checked either way, except that with `defer_crc` the CRC of an input that
/// is one member libdeflate inflated is returned, for the caller to check.
fn inflate_gzip(
    mut input: &[u8],
    limit: u64,
    out: &mut Vec<u8>,
    libdeflate_first: bool,
    defer_crc: bool,
) -> Result<Option<u32>, DecodeErrorKind> {
    let limit_len = usize::try_from(limit).unwrap_or(usize::MAX);
    let mut unchecked_crc = None;
    while !input.is_empty() {
        if !is_gzip(input) {
            return Err(DecodeErrorKind::Gzip {
                inflated: out.len() as u64,
                message: "invalid gzip header after a gzip member".to_string(),
            });
        }
        let start = out.len();
        let fast = libdeflate_first
            .then(|| libdeflate::inflate_member(input, limit_len, out))
            .flatten();
        let consumed = match fast {
            Some((consumed, crc)) if defer_crc && start == 0 && consumed == input.len() => {
                unchecked_crc = Some(crc);
                consumed
            }
            Some((consumed, crc)) if crc32(0, &out[start..]) == crc => consumed,
            // zlib-rs inflates a member whose CRC does not match again, and says so.
            Some(_) => {
                out.truncate(start);
                zlib_member(input, limit, out)?
            }
            None => zlib_member(input, limit, out)?,
        };
        input = &input[consumed..];
    }
    Ok(unchecked_crc)
}

/// The length of the gzip member header at the start of `input` (RFC 1952), for a header
/// libdeflate's raw inflate can follow: `None` for any other (one with a header CRC or
/// reserved flags, or cut short), which zlib-rs then reads.
fn gzip_header_len(input: &[u8]) -> Option<usize> {
    const FHCRC: u8 = 0x02;
    const FEXTRA: u8 = 0x04;
    const FNAME: u8 = 0x08;
    const FCOMMENT: u8 = 0x10;
    const RESERVED: u8 = 0xE0;
    const DEFLATE: u8 = 8;
    let [0x1f, 0x8b, DEFLATE, flags] = *input.get(..4)? else {
        return None;
    };
    if flags & (FHCRC | RESERVED) != 0 {
        return None;
    }
    // After the flags: modification time (4 bytes), extra flags and operating system.
    let mut at = 10;
    if flags & FEXTRA != 0 {
        let length = input.get(at..at + 2)?;
        at += 2 + usize::from(u16::from_le_bytes([length[0], length[1]]));
    }
    for field in [FNAME, FCOMMENT] {
        if flags & field != 0 {
            at += memchr::memchr(0, input.get(at..)?)? + 1;
        }
    }
    (at <= input.len()).then_some(at)
}

/// The trailer's length of the last member (mod 4 GiB): it sizes a single-member file
/// exactly, but it is only a hint, so a lie may cost a regrowth, never an overrun.
pub(crate) fn hinted_length(input: &[u8]) -> usize {
    input.len().checked_sub(4).map_or(0, |at| {
        u32::from_le_bytes(input[at..].try_into().expect("4 bytes")) as usize
    })
}

/// Inflates the gzip member at the start of `input` onto `out` with zlib-rs, growing `out`
/// as needed; returns the bytes of `input` it took.
fn zlib_member(input: &[u8], limit: u64, out: &mut Vec<u8>) -> Result<usize, DecodeErrorKind> {
    let limit_len = usize::try_from(limit).unwrap_or(usize::MAX);
    let fail = |out: &Vec<u8>, message: &str| DecodeErrorKind::Gzip {
        inflated: out.len() as u64,
        message: message.to_string(),
    };
    let expected = hinted_length(input).clamp(
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
    let mut rest = input;
    loop {
        if out.len() == out.capacity() {
            if out.len() > limit_len {
                return Err(DecodeErrorKind::TooLarge { limit });
            }
            let grown = out.len().saturating_mul(2).max(1 << 16);
            out.reserve(grown.min(limit_len.saturating_add(1)) - out.len());
        }
        let (in_before, out_before) = (inflater.total_in(), out.len());
        let status = match inflater.decompress_vec(rest, out, FlushDecompress::Finish) {
            Ok(status) => status,
            // Room past the limit (a reused buffer's) let one call write past it before
            // it found the stream broken: the limit came first.
            Err(_) if out.len() > limit_len => return Err(DecodeErrorKind::TooLarge { limit }),
            Err(error) => return Err(fail(out, &error_message(&error))),
        };
        let consumed = (inflater.total_in() - in_before) as usize;
        rest = &rest[consumed..];
        if out.len() > limit_len {
            return Err(DecodeErrorKind::TooLarge { limit });
        }
        // Room left for output, yet the member did not end: the input ran out, or
        // zlib-rs made no progress on it.
        if status != Status::StreamEnd && out.len() < out.capacity() {
            if rest.is_empty() {
                return Err(fail(out, CUT_SHORT));
            }
            if consumed == 0 && out.len() == out_before {
                return Err(fail(out, "corrupt deflate stream"));
            }
        }
        if status == Status::StreamEnd {
            return Ok(input.len() - rest.len());
        }
    }
}

/// zlib-rs's message for a broken deflate stream. Its fast loop, taken when there is
/// room for much output, loses the message it found ("invalid distance code") and says
/// "repeated call with bad state" instead, which no call here ever makes: the stream is
/// only known to be corrupt.
pub(crate) fn error_message(error: &flate2::DecompressError) -> String {
    let message = error.to_string();
    if message.ends_with("repeated call with bad state") {
        return "corrupt deflate stream".to_string();
    }
    message
}

mod libdeflate {
    use std::ptr::NonNull;

    use libdeflate_sys::{
        libdeflate_alloc_decompressor, libdeflate_decompressor, libdeflate_deflate_decompress_ex,
        libdeflate_free_decompressor, libdeflate_result_LIBDEFLATE_SUCCESS,
    };

    /// The most room reserved on the trailer's word: past it (or past what deflate can
    /// expand the input to, 1032 times) zlib-rs inflates, growing as it goes, so that a
    /// small file claiming gigabytes reserves nothing it does not fill.
    const MOST_ROOM: usize = 1 << 30;
    const DEFLATE_MOST_EXPANSION: usize = 1032;
    /// The trailer: the output's CRC-32, then its length (mod 4 GiB).
    const TRAILER: usize = 8;

    /// Inflates the gzip member at the start of `input` onto `out`, into room for the
    /// trailer's length, and checks that length: `Some((bytes of input taken, the
    /// trailer's CRC))`, the CRC not yet checked, or `None` when there is no room to trust,
    /// the header is one zlib-rs reads, or libdeflate fails (too little room, bad data),
    /// leaving `out` as it was.
    pub(super) fn inflate_member(
        input: &[u8],
        limit: usize,
        out: &mut Vec<u8>,
    ) -> Option<(usize, u32)> {
        let header = super::gzip_header_len(input)?;
        let deflate = &input[header..];
        let hinted = super::hinted_length(input);
        let most = limit
            .saturating_sub(out.len())
            .min(MOST_ROOM)
            .min(input.len().saturating_mul(DEFLATE_MOST_EXPANSION));
        if hinted == 0 || hinted > most {
            return None;
        }
        out.reserve(hinted);
        let decompressor = Decompressor::new()?;
        let room = out.spare_capacity_mut();
        let (mut taken, mut written) = (0usize, 0usize);
        // SAFETY: libdeflate reads at most `deflate.len()` bytes of `deflate` and writes at
        // most `hinted` bytes to the spare capacity, which `reserve` made at least that
        // long; it reports how many it wrote, and only those are taken into `out`.
        let result = unsafe {
            libdeflate_deflate_decompress_ex(
                decompressor.0.as_ptr(),
                deflate.as_ptr().cast(),
                deflate.len(),
                room.as_mut_ptr().cast(),
                hinted,
                &mut taken,
                &mut written,
            )
        };
        if result != libdeflate_result_LIBDEFLATE_SUCCESS || written > hinted {
            return None;
        }
        let trailer = deflate.get(taken..taken + TRAILER)?;
        let word = |at: usize| u32::from_le_bytes(trailer[at..at + 4].try_into().expect("4 bytes"));
        if word(4) != written as u32 {
            return None;
        }
        // SAFETY: the first `written` bytes of the spare capacity were initialised above.
        unsafe { out.set_len(out.len() + written) };
        Some((header + taken + TRAILER, word(0)))
    }

    struct Decompressor(NonNull<libdeflate_decompressor>);

    impl Decompressor {
        fn new() -> Option<Self> {
            // SAFETY: no preconditions; null (out of memory) is handled.
            NonNull::new(unsafe { libdeflate_alloc_decompressor() }).map(Self)
        }
    }

    impl Drop for Decompressor {
        fn drop(&mut self) {
            // SAFETY: allocated by `libdeflate_alloc_decompressor`, freed once.
            unsafe { libdeflate_free_decompressor(self.0.as_ptr()) }
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use flate2::{Compression, write::GzEncoder};
    use std::io::Write;

    pub(crate) fn gzip(data: &[u8]) -> Vec<u8> {
        let mut encoder = GzEncoder::new(Vec::new(), Compression::default());
        encoder.write_all(data).unwrap();
        encoder.finish().unwrap()
    }

    /// `words` little-endian words counting up to `modulus` and round again: text that
    /// compresses, but not to nothing.
    fn counting_words(words: u32, modulus: u32) -> Vec<u8> {
        (0..words)
            .flat_map(|i| (i % modulus).to_le_bytes())
            .collect()
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
    fn a_stream_cut_short_keeps_what_it_inflated_and_a_damaged_one_nothing() {
        let text = counting_words(200_000, 251);
        let mut data = gzip(&text);
        data.truncate(data.len() / 2);
        let Err((DecodeErrorKind::Gzip { inflated, message }, prefix)) =
            maybe_inflate_keeping_cut(data, 1 << 24, Vec::new())
        else {
            panic!("a cut stream must fail");
        };
        assert_eq!(message, CUT_SHORT);
        assert_eq!(inflated, prefix.len() as u64);
        assert!(!prefix.is_empty() && text.starts_with(&prefix));
        let mut data = gzip(&text);
        let middle = data.len() / 2;
        for byte in &mut data[middle..middle + 16] {
            *byte ^= 0x5a;
        }
        let Err((_, prefix)) = maybe_inflate_keeping_cut(data, 1 << 24, Vec::new()) else {
            panic!("a damaged stream must fail");
        };
        assert!(prefix.is_empty());
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
    fn a_member_larger_than_the_trailer_says_is_inflated_whole() {
        // The trailer is the last member's: the first, much larger, overflows the room
        // it gives and is inflated again by zlib-rs.
        let first = counting_words(400_000, 251);
        let mut data = gzip(&first);
        data.extend(gzip(b"last"));
        let mut expected = first.clone();
        expected.extend_from_slice(b"last");
        assert_eq!(maybe_inflate(data, 1 << 24).unwrap(), expected);
    }

    #[test]
    fn a_member_is_inflated_in_one_call_into_the_room_its_trailer_gives() {
        let text = br#"{"Records":[{"eventName":"AssumeRole"}]}"#.repeat(1000);
        let data = gzip(&text);
        let mut out = b"kept".to_vec();
        let taken = libdeflate::inflate_member(&data, 1 << 20, &mut out);
        assert_eq!(taken, Some((data.len(), crc32(0, &text))));
        assert_eq!(&out[..4], b"kept");
        assert_eq!(&out[4..], &text[..]);
        // No room to trust: past the limit, or a trailer claiming more than deflate
        // can expand to. `out` is left as it was.
        let mut out = Vec::new();
        assert_eq!(
            libdeflate::inflate_member(&data, text.len() - 1, &mut out),
            None
        );
        let mut lying = data.clone();
        let at = lying.len() - 4;
        lying[at..].copy_from_slice(&u32::MAX.to_le_bytes());
        assert_eq!(libdeflate::inflate_member(&lying, 1 << 40, &mut out), None);
        assert!(out.is_empty());
    }

    #[test]
    fn headers_with_a_name_comment_or_extra_field_are_inflated_by_libdeflate() {
        let text = counting_words(50_000, 97);
        let mut encoder = flate2::GzBuilder::new()
            .filename("trail.json")
            .comment("a comment")
            .extra(vec![1, 2, 3, 4, 5])
            .write(Vec::new(), Compression::default());
        encoder.write_all(&text).unwrap();
        let data = encoder.finish().unwrap();
        let header = gzip_header_len(&data).expect("a header libdeflate can follow");
        assert_eq!(
            header,
            10 + 2 + 5 + "trail.json".len() + 1 + "a comment".len() + 1
        );
        let mut out = Vec::new();
        assert_eq!(
            libdeflate::inflate_member(&data, 1 << 24, &mut out),
            Some((data.len(), crc32(0, &text)))
        );
        assert_eq!(out, text);
        // A header CRC, reserved flags, another method or a cut header: zlib-rs reads it.
        for (at, value) in [(3, 0x02), (3, 0x20), (2, 7)] {
            let mut odd = data.clone();
            odd[at] = value;
            assert_eq!(gzip_header_len(&odd), None, "byte {at} = {value:#x}");
        }
        assert_eq!(gzip_header_len(&data[..20]), None);
        assert_eq!(gzip_header_len(&data[..9]), None);
        // A header CRC (the low 16 bits of the header's CRC-32) is checked by zlib-rs.
        let plain = gzip(&text);
        let mut header = plain[..10].to_vec();
        header[3] |= 0x02;
        let right = crc32(0, &header) as u16;
        let with_header_crc = |crc16: u16| {
            let mut data = header.clone();
            data.extend(crc16.to_le_bytes());
            data.extend(&plain[10..]);
            data
        };
        assert_eq!(
            maybe_inflate(with_header_crc(right), 1 << 24).unwrap(),
            text
        );
        assert!(matches!(
            maybe_inflate(with_header_crc(right ^ 1), 1 << 24),
            Err(DecodeErrorKind::Gzip { .. })
        ));
    }

    #[test]
    fn the_crc_of_one_member_is_left_to_the_reader_and_of_several_checked() {
        let text = counting_words(300_000, 251);
        let data = gzip(&text);
        let Ok(inflated) = maybe_inflate_keeping_cut(data.clone(), 1 << 24, Vec::new()) else {
            panic!("a sound file inflates");
        };
        assert_eq!(inflated.bytes, text);
        assert_eq!(inflated.unchecked_crc, Some(crc32(0, &text)));
        let mut two = data.clone();
        two.extend(gzip(b"more"));
        let Ok(inflated) = maybe_inflate_keeping_cut(two, 1 << 24, Vec::new()) else {
            panic!("a sound file inflates");
        };
        assert_eq!(inflated.unchecked_crc, None);
        // A wrong CRC in the first of two members fails there, with zlib-rs's error, which
        // is the one the reader of a single member's bytes gives.
        let mut wrong = data.clone();
        let at = wrong.len() - 8;
        wrong[at] ^= 1;
        let expected = crc_mismatch(text.len());
        assert_eq!(maybe_inflate(wrong.clone(), 1 << 24).unwrap_err(), expected);
        wrong.extend(gzip(b"more"));
        let Err((kind, kept)) = maybe_inflate_keeping_cut(wrong, 1 << 24, Vec::new()) else {
            panic!("a wrong CRC fails");
        };
        assert_eq!(kind, expected);
        assert!(kept.is_empty());
    }

    #[test]
    fn crcs_of_chunks_combine_into_the_crc_of_the_whole() {
        let text = counting_words(100_000, 13);
        let whole = crc32(0, &text);
        for cut in [0, 1, 4095, 50_000, text.len()] {
            let (a, b) = text.split_at(cut);
            assert_eq!(crc32_combine(crc32(0, a), crc32(0, b), b.len()), whole);
            assert_eq!(crc32(crc32(0, a), b), whole);
        }
    }

    #[test]
    fn a_corrupt_stream_given_much_room_says_so() {
        // Found by fuzzing: with room for much output, zlib-rs's fast loop loses the
        // message of what it found.
        let data = include_bytes!("../../../fuzz/corpus/inflate/regression-lost-deflate-message");
        let error = maybe_inflate_into(data[1..].to_vec(), 1 << 24, Vec::with_capacity(1 << 16));
        assert_eq!(
            error,
            Err(DecodeErrorKind::Gzip {
                inflated: 531,
                message: "corrupt deflate stream".to_string()
            })
        );
    }

    #[test]
    fn a_stream_only_zlib_rejects_is_read_when_its_crc_and_length_check_out() {
        // Found by fuzzing: a fixed-code length symbol 286 or 287, which zlib rejects
        // and libdeflate reads as 285 (length 258), as a few other inflaters do. The
        // member's CRC-32 and length then match what it inflates to.
        let data = include_bytes!("../../../fuzz/corpus/inflate/regression-length-symbol-286");
        let inflated = maybe_inflate(data[1..].to_vec(), 1 << 24);
        let zlib = maybe_inflate_with_zlib_into(data[1..].to_vec(), 1 << 24, Vec::new());
        assert!(matches!(zlib, Err(DecodeErrorKind::Gzip { .. })));
        let text = inflated.unwrap();
        assert!(text.starts_with(&br#"{"Records":[]}"#.repeat(50)));
    }

    #[test]
    fn a_stream_broken_past_the_limit_is_too_large_whatever_the_room() {
        let text = counting_words(200_000, 97);
        let mut data = gzip(&text);
        let middle = data.len() / 2;
        data[middle] ^= 0xff;
        for room in [0, 1 << 21] {
            assert_eq!(
                maybe_inflate_into(data.clone(), 1000, Vec::with_capacity(room)),
                Err(DecodeErrorKind::TooLarge { limit: 1000 }),
                "room {room}"
            );
        }
    }

    #[test]
    fn the_limit_is_inclusive() {
        let text = vec![b' '; 100_000];
        assert_eq!(maybe_inflate(gzip(&text), 100_000).unwrap(), text);
        assert_eq!(
            maybe_inflate(gzip(&text), 99_999),
            Err(DecodeErrorKind::TooLarge { limit: 99_999 })
        );
    }

    #[test]
    fn either_way_of_inflating_gives_the_same_answer() {
        let text = br#"{"eventName":"Decrypt","x":1}"#.repeat(300);
        let good = gzip(&text);
        let mut cases = vec![good.clone()];
        for at in (0..good.len()).step_by(7) {
            let mut bad = good.clone();
            bad[at] ^= 0x21;
            cases.push(bad);
            cases.push(good[..at].to_vec());
        }
        for bytes in cases {
            assert_eq!(
                maybe_inflate(bytes.clone(), 1 << 20),
                maybe_inflate_with_zlib_into(bytes, 1 << 20, Vec::new())
            );
        }
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
