//! Skipping an object or array by its structure alone, 64 bytes at a time, in the manner
//! of simdjson's first stage: masks of quotes, backslashes and brackets for a whole block,
//! escapes and string interiors resolved with carries between blocks, and the nesting depth
//! counted with popcounts, so that a block without the closing bracket costs a few dozen
//! instructions however many strings it holds.
//!
//! What is checked: strings end, brackets balance (and `{}` balance on their own, which
//! catches most `[}` mix-ups). What is not: commas, colons, literals and numbers. The
//! decoder uses this only for values no column reads; values it reads are walked strictly
//! by [`crate::json::Cursor::value`].

use crate::json::SyntaxError;

const BLOCK: usize = 64;

/// Where the object or array whose opening bracket is at `start` ends (just past its
/// closing bracket).
pub(crate) fn container_end(bytes: &[u8], start: usize) -> Result<usize, SyntaxError> {
    debug_assert!(matches!(bytes.get(start), Some(b'{' | b'[')));
    scan(bytes, start, Scanner::default(), Unwatched).map(|end| end.expect("never stopped"))
}

/// Where the object the cursor is inside ends, from `pos` between two of its members
/// (just past its closing brace).
pub(crate) fn object_rest_end(bytes: &[u8], pos: usize) -> Result<usize, SyntaxError> {
    scan(bytes, pos, Scanner::inside_an_object(), Unwatched).map(|end| end.expect("never stopped"))
}

/// [`object_rest_end`], when the rest of the object certainly holds none of `keys`
/// (lower-cased, at most [`LONGEST_WATCHED_KEY`] bytes) in any ASCII case; `None` when it
/// may. Found in the same pass: a key is a pair of quotes its length apart, and the
/// pairs the scan's quote masks give are compared with the keys. A key spelled with
/// `\u` escapes has another length, so any `\u` in the rest also answers `None`. The
/// answer over-approximates: the keys as values, nested, or in any pair of quotes that
/// happen to enclose them give `None` too.
pub(crate) fn object_rest_end_lacking(
    bytes: &[u8],
    pos: usize,
    keys: &[&[u8]],
) -> Result<Option<usize>, SyntaxError> {
    debug_assert!(keys.iter().all(|key| key.len() <= LONGEST_WATCHED_KEY));
    let watch = KeyWatch {
        keys,
        start: pos,
        previous_opening: 0,
        backslashes: 0,
    };
    scan(bytes, pos, Scanner::inside_an_object(), watch)
}

/// The longest key [`object_rest_end_lacking`] looks for: its quotes must fit in a
/// block's distance.
pub(crate) const LONGEST_WATCHED_KEY: usize = BLOCK - 2;

fn scan(
    bytes: &[u8],
    start: usize,
    scanner: Scanner,
    watch: impl Watch,
) -> Result<Option<usize>, SyntaxError> {
    match Vectors::detected() {
        // SAFETY: the features each function is compiled for were detected.
        #[cfg(target_arch = "x86_64")]
        Vectors::Avx512 => unsafe { scan_avx512(bytes, start, scanner, watch) },
        #[cfg(target_arch = "x86_64")]
        Vectors::Avx2 => unsafe { scan_avx2(bytes, start, scanner, watch) },
        _ => scan_blocks(bytes, start, scanner, watch, Masks::of, prefix_xor),
    }
}

/// The widest vectors this machine scans with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]
enum Vectors {
    /// Sixteen bytes a step, and popcounts and the prefix XOR by hand.
    Portable,
    /// AVX2 masks, with `popcnt` and `pclmulqdq`.
    Avx2,
    /// A whole block in one AVX-512 register, its masks straight out of the compares.
    Avx512,
}

impl Vectors {
    #[inline]
    fn detected() -> Self {
        #[cfg(test)]
        if let Some(forced) = tests::FORCED_VECTORS.with(std::cell::Cell::get) {
            return forced;
        }
        static DETECTED: std::sync::OnceLock<Vectors> = std::sync::OnceLock::new();
        *DETECTED.get_or_init(Self::detect)
    }

    fn detect() -> Self {
        #[cfg(target_arch = "x86_64")]
        {
            use std::arch::is_x86_feature_detected as has;
            if has!("popcnt") && has!("pclmulqdq") {
                if has!("avx512f") && has!("avx512bw") {
                    return Vectors::Avx512;
                }
                if has!("avx2") {
                    return Vectors::Avx2;
                }
            }
        }
        Vectors::Portable
    }
}

/// [`scan_blocks`] with AVX2 masks, and popcounts and the prefix XOR in one instruction
/// each (the baseline x86_64 target has neither).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,popcnt,pclmulqdq")]
unsafe fn scan_avx2(
    bytes: &[u8],
    start: usize,
    scanner: Scanner,
    watch: impl Watch,
) -> Result<Option<usize>, SyntaxError> {
    scan_blocks(
        bytes,
        start,
        scanner,
        watch,
        // SAFETY: AVX2 and PCLMULQDQ are enabled for this function.
        |block| unsafe { Masks::avx2(block) },
        |quotes| unsafe { carryless_prefix_xor(quotes) },
    )
}

/// [`scan_blocks`] with AVX-512 masks: about a third of the AVX2 version's instructions
/// per block.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512bw,popcnt,pclmulqdq")]
unsafe fn scan_avx512(
    bytes: &[u8],
    start: usize,
    scanner: Scanner,
    watch: impl Watch,
) -> Result<Option<usize>, SyntaxError> {
    scan_blocks(
        bytes,
        start,
        scanner,
        watch,
        // SAFETY: AVX-512 (F and BW) and PCLMULQDQ are enabled for this function.
        |block| unsafe { Masks::avx512(block) },
        |quotes| unsafe { carryless_prefix_xor(quotes) },
    )
}

/// `Ok(None)` only when `watch` stopped the scan. `watch` is taken by value: behind a
/// `&mut` its fields were written to memory at every block.
#[inline(always)]
fn scan_blocks(
    bytes: &[u8],
    start: usize,
    mut scanner: Scanner,
    mut watch: impl Watch,
    masks: impl Fn(&[u8; BLOCK]) -> Masks,
    prefix_xor: impl Fn(u64) -> u64,
) -> Result<Option<usize>, SyntaxError> {
    let mut block_start = start;
    while block_start + BLOCK <= bytes.len() {
        let block: &[u8; BLOCK] = bytes[block_start..block_start + BLOCK]
            .try_into()
            .expect("a whole block");
        match scanner.block(masks(block), &prefix_xor, block_start)? {
            None => {
                if !watch.block(bytes, block_start, scanner.quotes(), scanner.backslashes) {
                    return Ok(None);
                }
            }
            Some(end) => {
                let seen = watch.last(
                    bytes,
                    block_start,
                    scanner.quotes(),
                    scanner.backslashes,
                    end,
                );
                return Ok(seen.then_some(end));
            }
        }
        block_start += BLOCK;
    }
    // The tail, padded with spaces, which change no state.
    let mut padded = [b' '; BLOCK];
    let tail = &bytes[block_start..];
    padded[..tail.len()].copy_from_slice(tail);
    match scanner.block(masks(&padded), &prefix_xor, block_start)? {
        Some(end) => {
            let seen = watch.last(
                bytes,
                block_start,
                scanner.quotes(),
                scanner.backslashes,
                end,
            );
            Ok(seen.then_some(end))
        }
        None => Err(SyntaxError {
            offset: bytes.len(),
            message: "EOF while parsing a value",
        }),
    }
}

/// Sees each block a scan has read. `quotes` and `backslashes` are the block's (see
/// [`Scanner`]); they come by value so that the scan's state stays in registers.
trait Watch {
    /// A block the container goes on past; `false` stops the scan.
    fn block(&mut self, bytes: &[u8], offset: usize, quotes: Quotes, backslashes: u64) -> bool;

    /// The block where the container ends, at `end`; `false` means the scan stopped.
    fn last(
        self,
        bytes: &[u8],
        offset: usize,
        quotes: Quotes,
        backslashes: u64,
        end: usize,
    ) -> bool;
}

/// A scan only for the end.
struct Unwatched;

impl Watch for Unwatched {
    #[inline(always)]
    fn block(&mut self, _: &[u8], _: usize, _: Quotes, _: u64) -> bool {
        true
    }

    #[inline(always)]
    fn last(self, _: &[u8], _: usize, _: Quotes, _: u64, _: usize) -> bool {
        true
    }
}

/// Looks for keys as pairs of quotes their length apart, each pair found in the block
/// that holds its closing quote (its opening quote may be in the block before).
struct KeyWatch<'k> {
    keys: &'k [&'k [u8]],
    start: usize,
    /// The previous block's quotes that open strings (none before the first block).
    previous_opening: u64,
    /// Nonzero once a block has held a backslash.
    backslashes: u64,
}

impl Watch for KeyWatch<'_> {
    #[inline(always)]
    fn block(&mut self, bytes: &[u8], offset: usize, quotes: Quotes, backslashes: u64) -> bool {
        self.backslashes |= backslashes;
        if self.closes_a_key(bytes, offset, quotes) {
            return false;
        }
        self.previous_opening = quotes.opening;
        true
    }

    #[inline(always)]
    fn last(
        mut self,
        bytes: &[u8],
        offset: usize,
        quotes: Quotes,
        backslashes: u64,
        end: usize,
    ) -> bool {
        let before_end = match end - offset {
            BLOCK => !0,
            inside => (1u64 << inside) - 1,
        };
        let quotes = Quotes {
            all: quotes.all & before_end,
            opening: quotes.opening & before_end,
        };
        self.block(bytes, offset, quotes, backslashes)
            && !(self.backslashes != 0 && has_unicode_escape(&bytes[self.start..end]))
    }
}

impl KeyWatch<'_> {
    /// Whether a quote of the block at `offset` closes one of the keys: a quote that
    /// opens a string the key's length before it (in this block or the one before).
    #[inline(always)]
    fn closes_a_key(&self, bytes: &[u8], offset: usize, quotes: Quotes) -> bool {
        if quotes.all == 0 {
            return false;
        }
        self.keys.iter().any(|key| {
            let gap = key.len() + 1;
            let opened_before = (quotes.opening << gap) | (self.previous_opening >> (BLOCK - gap));
            let mut pairs = quotes.all & opened_before;
            while pairs != 0 {
                // The closing quote is in `bytes`, and its opening quote `gap` before it
                // is at or after the scan's start.
                let close = offset + pairs.trailing_zeros() as usize;
                let enclosed = &bytes[close - key.len()..close];
                if enclosed
                    .iter()
                    .zip(key.iter())
                    .all(|(b, k)| b | 0x20 == k | 0x20)
                {
                    return true;
                }
                pairs &= pairs - 1;
            }
            false
        })
    }
}

/// Whether `bytes` hold a backslash followed by `u` or `U` (an escaped backslash before
/// a `u` counts too: it only over-approximates).
fn has_unicode_escape(bytes: &[u8]) -> bool {
    memchr::memchr_iter(b'\\', bytes).any(|at| bytes.get(at + 1).is_some_and(|&b| b | 0x20 == b'u'))
}

/// A block's quotes that open or close strings (not escaped ones), and of those the ones
/// that open a string.
#[derive(Clone, Copy)]
struct Quotes {
    all: u64,
    opening: u64,
}

/// What carries from one block to the next.
#[derive(Default)]
struct Scanner {
    /// 1 when the first byte of the next block is escaped by a backslash ending this one.
    escape_carry: u64,
    /// All ones when the next block starts inside a string.
    string_carry: u64,
    /// Open brackets (of both kinds) not yet closed.
    depth: i64,
    /// Open braces not yet closed.
    braces: i64,
    /// The last block's quotes that open or close strings (not escaped ones).
    quotes: u64,
    /// The last block's quotes that open strings.
    opening_quotes: u64,
    /// The last block's backslashes.
    backslashes: u64,
}

impl Scanner {
    #[inline(always)]
    fn quotes(&self) -> Quotes {
        Quotes {
            all: self.quotes,
            opening: self.opening_quotes,
        }
    }

    fn inside_an_object() -> Self {
        Scanner {
            depth: 1,
            braces: 1,
            ..Scanner::default()
        }
    }

    /// Scans one block, given its masks; the end of the container if it closes here.
    #[inline(always)]
    fn block(
        &mut self,
        masks: Masks,
        prefix_xor: impl Fn(u64) -> u64,
        offset: usize,
    ) -> Result<Option<usize>, SyntaxError> {
        let escaped = if masks.backslash == 0 && self.escape_carry == 0 {
            0
        } else {
            escaped(masks.backslash, &mut self.escape_carry)
        };
        self.quotes = masks.quote & !escaped;
        self.backslashes = masks.backslash;
        let in_string = prefix_xor(self.quotes) ^ self.string_carry;
        self.string_carry = ((in_string as i64) >> 63) as u64;
        // A string's interior starts at its opening quote and stops before its closing one.
        self.opening_quotes = self.quotes & in_string;
        let open = masks.open & !in_string;
        let close = masks.close & !in_string;
        let open_brace = masks.open_brace & !in_string;
        let close_brace = masks.close_brace & !in_string;
        let closes = close.count_ones() as i64;
        if closes < self.depth {
            // The container cannot close in this block.
            self.depth += open.count_ones() as i64 - closes;
            self.braces += open_brace.count_ones() as i64 - close_brace.count_ones() as i64;
            return Ok(None);
        }
        let mut brackets = open | close;
        while brackets != 0 {
            let bit = brackets.trailing_zeros();
            // Up one for an opening bracket, down one for a closing one, by arithmetic:
            // which comes next is a branch the processor cannot predict. Only a closing
            // bracket can bring the depth to 0 (it is at least 1 after an opening one).
            self.depth += 1 - 2 * ((close >> bit) & 1) as i64;
            if self.depth == 0 {
                let upto = if bit == 63 { !0 } else { (2u64 << bit) - 1 };
                self.braces += (open_brace & upto).count_ones() as i64
                    - (close_brace & upto).count_ones() as i64;
                let end = offset + bit as usize + 1;
                if self.braces != 0 {
                    return Err(SyntaxError {
                        offset: end - 1,
                        message: "mismatched brackets",
                    });
                }
                return Ok(Some(end));
            }
            brackets &= brackets - 1;
        }
        self.braces += open_brace.count_ones() as i64 - close_brace.count_ones() as i64;
        Ok(None)
    }
}

/// One bit per byte of a block, for each byte class the scan needs.
#[derive(Default)]
struct Masks {
    quote: u64,
    backslash: u64,
    /// `{` or `[`.
    open: u64,
    /// `}` or `]`.
    close: u64,
    open_brace: u64,
    close_brace: u64,
}

impl Masks {
    #[cfg(target_arch = "x86_64")]
    #[inline]
    fn of(block: &[u8; BLOCK]) -> Self {
        use std::arch::x86_64::{
            __m128i, _mm_cmpeq_epi8, _mm_loadu_si128, _mm_movemask_epi8, _mm_or_si128,
            _mm_set1_epi8,
        };
        // SAFETY: SSE2 is part of x86_64, and each load reads 16 bytes inside `block`.
        unsafe {
            let quote = _mm_set1_epi8(b'"' as i8);
            let backslash = _mm_set1_epi8(b'\\' as i8);
            // `[` and `{` differ only in bit 0x20, as do `]` and `}`.
            let case = _mm_set1_epi8(0x20);
            let open_any = _mm_set1_epi8(b'{' as i8);
            let close_any = _mm_set1_epi8(b'}' as i8);
            let mut masks = Masks::default();
            for lane in 0..4 {
                let bytes = _mm_loadu_si128(block.as_ptr().add(lane * 16) as *const __m128i);
                let folded = _mm_or_si128(bytes, case);
                let bits = |found| (_mm_movemask_epi8(found) as u16 as u64) << (lane * 16);
                masks.quote |= bits(_mm_cmpeq_epi8(bytes, quote));
                masks.backslash |= bits(_mm_cmpeq_epi8(bytes, backslash));
                masks.open |= bits(_mm_cmpeq_epi8(folded, open_any));
                masks.close |= bits(_mm_cmpeq_epi8(folded, close_any));
                masks.open_brace |= bits(_mm_cmpeq_epi8(bytes, open_any));
                masks.close_brace |= bits(_mm_cmpeq_epi8(bytes, close_any));
            }
            masks
        }
    }

    /// The masks from two 32-byte registers; brace bits come from the brackets by their
    /// 0x20 bit.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2,pclmulqdq")]
    #[inline]
    unsafe fn avx2(block: &[u8; BLOCK]) -> Self {
        use std::arch::x86_64::{
            __m256i, _mm256_and_si256, _mm256_cmpeq_epi8, _mm256_loadu_si256, _mm256_movemask_epi8,
            _mm256_or_si256, _mm256_set1_epi8,
        };
        let quote = _mm256_set1_epi8(b'"' as i8);
        let backslash = _mm256_set1_epi8(b'\\' as i8);
        let case = _mm256_set1_epi8(0x20);
        let open_any = _mm256_set1_epi8(b'{' as i8);
        let close_any = _mm256_set1_epi8(b'}' as i8);
        let mut bits = [[0u64; 2]; 5];
        for (lane, chunk) in block.chunks_exact(32).enumerate() {
            // SAFETY: `chunk` is 32 bytes; AVX2 is enabled for this function.
            let bytes = unsafe { _mm256_loadu_si256(chunk.as_ptr() as *const __m256i) };
            let folded = _mm256_or_si256(bytes, case);
            let found = [
                _mm256_cmpeq_epi8(bytes, quote),
                _mm256_cmpeq_epi8(bytes, backslash),
                _mm256_cmpeq_epi8(folded, open_any),
                _mm256_cmpeq_epi8(folded, close_any),
                _mm256_cmpeq_epi8(_mm256_and_si256(bytes, case), case),
            ];
            for (class, found) in found.into_iter().enumerate() {
                bits[class][lane] = _mm256_movemask_epi8(found) as u32 as u64;
            }
        }
        let join = |[low, high]: [u64; 2]| low | high << 32;
        let lower_case = join(bits[4]);
        let (open, close) = (join(bits[2]), join(bits[3]));
        Masks {
            quote: join(bits[0]),
            backslash: join(bits[1]),
            open,
            close,
            open_brace: open & lower_case,
            close_brace: close & lower_case,
        }
    }

    /// The masks from one 64-byte register, each straight from a compare.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx512f,avx512bw")]
    #[inline]
    unsafe fn avx512(block: &[u8; BLOCK]) -> Self {
        use std::arch::x86_64::{
            _mm512_cmpeq_epi8_mask, _mm512_loadu_epi8, _mm512_or_si512, _mm512_set1_epi8,
            _mm512_test_epi8_mask,
        };
        // SAFETY: `block` is 64 bytes; AVX-512 BW is enabled for this function.
        let bytes = unsafe { _mm512_loadu_epi8(block.as_ptr().cast::<i8>()) };
        let case = _mm512_set1_epi8(0x20);
        let folded = _mm512_or_si512(bytes, case);
        let open = _mm512_cmpeq_epi8_mask(folded, _mm512_set1_epi8(b'{' as i8));
        let close = _mm512_cmpeq_epi8_mask(folded, _mm512_set1_epi8(b'}' as i8));
        // `{` and `}` have the 0x20 bit, `[` and `]` not.
        let lower_case = _mm512_test_epi8_mask(bytes, case);
        Masks {
            quote: _mm512_cmpeq_epi8_mask(bytes, _mm512_set1_epi8(b'"' as i8)),
            backslash: _mm512_cmpeq_epi8_mask(bytes, _mm512_set1_epi8(b'\\' as i8)),
            open,
            close,
            open_brace: open & lower_case,
            close_brace: close & lower_case,
        }
    }

    #[cfg(not(target_arch = "x86_64"))]
    #[inline]
    fn of(block: &[u8; BLOCK]) -> Self {
        Self::scalar(block)
    }

    /// The same masks a byte at a time: the reference the vector version is tested
    /// against, and the version for other architectures.
    #[cfg_attr(target_arch = "x86_64", allow(dead_code))]
    fn scalar(block: &[u8; BLOCK]) -> Self {
        let mut masks = Masks::default();
        for (i, &byte) in block.iter().enumerate() {
            let bit = 1u64 << i;
            match byte {
                b'"' => masks.quote |= bit,
                b'\\' => masks.backslash |= bit,
                b'{' => {
                    masks.open |= bit;
                    masks.open_brace |= bit;
                }
                b'[' => masks.open |= bit,
                b'}' => {
                    masks.close |= bit;
                    masks.close_brace |= bit;
                }
                b']' => masks.close |= bit,
                _ => {}
            }
        }
        masks
    }
}

/// The bytes escaped by a backslash: the second of each pair in a run of backslashes,
/// and the byte after a run of odd length. `carry` brings a run across blocks
/// (simdjson's branch-free method: runs starting on odd bits are found with an add).
#[inline]
fn escaped(backslash: u64, carry: &mut u64) -> u64 {
    const EVEN_BITS: u64 = 0x5555_5555_5555_5555;
    let backslash = backslash & !*carry;
    let follows_escape = (backslash << 1) | *carry;
    let odd_starts = backslash & !EVEN_BITS & !follows_escape;
    let (even_starts, overflow) = odd_starts.overflowing_add(backslash);
    *carry = overflow as u64;
    let invert = even_starts << 1;
    (EVEN_BITS ^ invert) & follows_escape
}

/// [`prefix_xor`] as one carry-less multiplication by all ones.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "pclmulqdq")]
#[inline]
unsafe fn carryless_prefix_xor(bits: u64) -> u64 {
    use std::arch::x86_64::{
        _mm_clmulepi64_si128, _mm_cvtsi128_si64, _mm_set_epi64x, _mm_set1_epi8,
    };
    let ones = _mm_set1_epi8(-1);
    let product = _mm_clmulepi64_si128(_mm_set_epi64x(0, bits as i64), ones, 0);
    _mm_cvtsi128_si64(product) as u64
}

/// Each bit the XOR of itself and every bit below it: with quote bits in, the bytes
/// from an opening quote up to (not including) its closing quote.
#[inline]
fn prefix_xor(mut bits: u64) -> u64 {
    bits ^= bits << 1;
    bits ^= bits << 2;
    bits ^= bits << 4;
    bits ^= bits << 8;
    bits ^= bits << 16;
    bits ^= bits << 32;
    bits
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::json::Cursor;

    thread_local! {
        /// The vectors [`Vectors::detected`] answers on this thread, when set.
        pub(super) static FORCED_VECTORS: std::cell::Cell<Option<Vectors>> =
            const { std::cell::Cell::new(None) };
    }

    /// Runs `test` with each vector width this machine has, so that a machine with
    /// AVX-512 still tests the AVX2 and portable scans; returns how many it ran with.
    pub(crate) fn with_each_vector_width(mut test: impl FnMut()) -> usize {
        let widths = match Vectors::detect() {
            Vectors::Avx512 => vec![Vectors::Portable, Vectors::Avx2, Vectors::Avx512],
            Vectors::Avx2 => vec![Vectors::Portable, Vectors::Avx2],
            Vectors::Portable => vec![Vectors::Portable],
        };
        for &width in &widths {
            FORCED_VECTORS.with(|forced| forced.set(Some(width)));
            test();
        }
        FORCED_VECTORS.with(|forced| forced.set(None));
        widths.len()
    }

    /// The end found by the strict walk, for valid input.
    fn strict_end(text: &str) -> Option<usize> {
        let mut cursor = Cursor::new(text);
        cursor.value().ok().map(|_| cursor.offset())
    }

    fn next(state: &mut u64) -> usize {
        *state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (*state >> 33) as usize
    }

    fn random_json(state: &mut u64, depth: usize, out: &mut String) {
        let choice = next(state) % if depth > 6 { 3 } else { 6 };
        match choice {
            0 => out.push_str(["1", "-2.5e3", "true", "null", "false"][next(state) % 5]),
            1 | 2 => {
                out.push('"');
                for _ in 0..next(state) % 90 {
                    match next(state) % 12 {
                        0 => out.push_str("\\\\"),
                        1 => out.push_str("\\\""),
                        2 => out.push_str("{[}]"),
                        3 => out.push_str("\\u00e9"),
                        4 => out.push('é'),
                        _ => out.push((b'a' + (next(state) % 26) as u8) as char),
                    }
                }
                out.push('"');
            }
            3 | 4 => {
                out.push('{');
                for i in 0..next(state) % 5 {
                    if i > 0 {
                        out.push(',');
                    }
                    out.push_str(&format!("\"k{}\\\\\" : ", next(state) % 7));
                    random_json(state, depth + 1, out);
                }
                out.push('}');
            }
            _ => {
                out.push_str("[ ");
                for i in 0..next(state) % 5 {
                    if i > 0 {
                        out.push_str(" ,\n");
                    }
                    random_json(state, depth + 1, out);
                }
                out.push(']');
            }
        }
    }

    #[test]
    fn agrees_with_the_strict_walk_on_valid_json() {
        let widths = with_each_vector_width(|| {
            let mut state = 11;
            let mut checked = 0;
            for round in 0..3000 {
                let mut text = String::new();
                // Shift the start within a block so that every carry is crossed.
                text.push_str(&" ".repeat(round % 70));
                let start = text.len();
                while !text[start..].starts_with(['{', '[']) {
                    text.truncate(start);
                    random_json(&mut state, 0, &mut text);
                }
                text.push_str(", \"after\": [1]}");
                let end = strict_end(&text[start..]).expect("generated JSON is valid") + start;
                assert_eq!(
                    container_end(text.as_bytes(), start),
                    Ok(end),
                    "{}",
                    &text[start..]
                );
                checked += 1;
            }
            assert_eq!(checked, 3000);
        });
        assert!(widths >= 1);
    }

    #[test]
    fn a_rest_said_to_lack_a_key_lacks_it() {
        let widths = with_each_vector_width(|| {
            let keys = [
                "\"errorCode\"",
                "\"ERRORcode\"",
                "\"errorCodes\"",
                "\"xerrorCode\"",
                "\"error\\u0043ode\"",
                "\"k1\"",
                "\"eventName\"",
            ];
            let mut state = 3;
            let (mut lacking, mut maybe) = (0, 0);
            for round in 0..4000 {
                let mut text = " ".repeat(round % 70);
                text.push_str("{\"first\":1");
                let pos = text.len();
                for _ in 0..next(&mut state) % 6 {
                    // Rarely the key itself, so that most rests lack it.
                    let key = keys[next(&mut state) % keys.len()];
                    let key = if key.contains("rrorCode\"") && !next(&mut state).is_multiple_of(3) {
                        "\"k2\""
                    } else {
                        key
                    };
                    text.push_str(&format!(",{key}:"));
                    random_json(&mut state, 3, &mut text);
                }
                text.push_str("} tail");
                let bytes = text.as_bytes();
                let found = object_rest_end_lacking(bytes, pos, &[b"errorcode"]).unwrap();
                let mut cursor = Cursor::new(&text);
                cursor.move_to(text.find('{').unwrap());
                let mut has_key = false;
                cursor
                    .members(|cursor, key| {
                        has_key |= key.eq_ignore_ascii_case("errorCode");
                        cursor.value().map(|_| ())
                    })
                    .unwrap();
                let rest = text[pos..].to_ascii_lowercase();
                let plainly_lacks = !rest.contains("errorcode") && !rest.contains("\\u");
                match found {
                    Some(end) => {
                        assert!(!has_key, "{text}");
                        assert_eq!(Ok(end), object_rest_end(bytes, pos), "{text}");
                        lacking += 1;
                    }
                    None => {
                        assert!(
                            !plainly_lacks,
                            "a rest without the key is ruled out: {text}"
                        );
                        maybe += 1;
                    }
                }
            }
            assert!(lacking > 500 && maybe > 500, "{lacking} {maybe}");
        });
        assert!(widths >= 1);
    }

    #[test]
    fn a_key_is_found_wherever_it_falls_across_block_edges() {
        let longest = "k".repeat(LONGEST_WATCHED_KEY);
        let widths = with_each_vector_width(|| {
            for key in ["errorCode", "e", longest.as_str()] {
                let needle = key.to_ascii_lowercase();
                for shift in 0..2 * BLOCK + 3 {
                    let pad = "x".repeat(shift);
                    let with_key = format!(r#"{{"first":1,"pad":"{pad}","{key}":[1]}} tail"#);
                    let pos = with_key.find(',').unwrap();
                    let found =
                        object_rest_end_lacking(with_key.as_bytes(), pos, &[needle.as_bytes()]);
                    assert_eq!(found, Ok(None), "{with_key}");
                    // The same text with the key one byte longer lacks it.
                    let without = with_key.replace(&format!("\"{key}\""), &format!("\"{key}s\""));
                    let found =
                        object_rest_end_lacking(without.as_bytes(), pos, &[needle.as_bytes()]);
                    assert_eq!(found, Ok(Some(without.len() - " tail".len())), "{without}");
                }
            }
        });
        assert!(widths >= 1);
    }

    #[test]
    fn runs_of_backslashes_across_block_edges() {
        let widths = with_each_vector_width(|| {
            for run in 0..140 {
                for pad in 0..64 {
                    let text = format!(
                        "{}[\"{}{}\"]]",
                        " ".repeat(pad),
                        "\\\\".repeat(run / 2),
                        if run % 2 == 1 { "\\\"x" } else { "" }
                    );
                    let start = pad;
                    let end = strict_end(&text[start..]).unwrap() + start;
                    assert_eq!(container_end(text.as_bytes(), start), Ok(end), "{text}");
                }
            }
        });
        assert!(widths >= 1);
    }

    #[test]
    fn broken_structure_is_an_error() {
        let widths = with_each_vector_width(|| {
            for text in [
                "{",
                "[[]",
                r#"{"a":"unterminated}"#,
                r#"{"a":"x\"}"#,
                r#"[1}"#,
                r#"{"a":1]"#,
            ] {
                assert!(container_end(text.as_bytes(), 0).is_err(), "{text}");
            }
            let long = format!("[{}", "\"x\",".repeat(100));
            let error = container_end(long.as_bytes(), 0).unwrap_err();
            assert_eq!(error.offset, long.len());
        });
        assert!(widths >= 1);
    }

    #[test]
    fn the_rest_of_an_object_is_skipped_from_between_members() {
        let widths = with_each_vector_width(|| {
            let text = r#"{"a":1, "b":{"c":"}"}, "d":[{}]} tail"#;
            let pos = text.find(", \"b\"").unwrap();
            assert_eq!(object_rest_end(text.as_bytes(), pos), Ok(text.len() - 5));
            assert!(object_rest_end(br#", "b":[}"#, 0).is_err());
        });
        assert!(widths >= 1);
    }

    #[test]
    fn deep_nesting_costs_no_stack() {
        let depth = 1_000_000;
        let text = format!("{}{}", "[".repeat(depth), "]".repeat(depth));
        assert_eq!(container_end(text.as_bytes(), 0), Ok(text.len()));
    }

    #[cfg(target_arch = "x86_64")]
    #[test]
    fn vector_masks_match_the_scalar_ones() {
        let mut state = 5u64;
        for _ in 0..2000 {
            let mut block = [0u8; BLOCK];
            for byte in &mut block {
                state = state.wrapping_mul(6364136223846793005).wrapping_add(1);
                *byte = b"\"\\{}[]ax {\x7b\x5b\xfb\xdb"[(state >> 59) as usize % 14];
            }
            let scalar = Masks::scalar(&block);
            let mut vectors = vec![Masks::of(&block)];
            if std::arch::is_x86_feature_detected!("avx2")
                && std::arch::is_x86_feature_detected!("pclmulqdq")
            {
                // SAFETY: the features were just detected.
                vectors.push(unsafe { Masks::avx2(&block) });
            }
            if Vectors::detect() == Vectors::Avx512 {
                // SAFETY: the features were just detected.
                vectors.push(unsafe { Masks::avx512(&block) });
            }
            for vector in vectors {
                assert_eq!(
                    (
                        vector.quote,
                        vector.backslash,
                        vector.open,
                        vector.close,
                        vector.open_brace,
                        vector.close_brace
                    ),
                    (
                        scalar.quote,
                        scalar.backslash,
                        scalar.open,
                        scalar.close,
                        scalar.open_brace,
                        scalar.close_brace
                    )
                );
            }
        }
    }
}
