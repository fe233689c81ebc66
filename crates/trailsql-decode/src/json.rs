//! Borrowed views of JSON without a DOM. A [`Cursor`] finds where values start and end
//! (strictly: brackets, commas, colons, literals and string ends are all checked) and
//! hands out their text as [`Raw`] slices; objects become `(key, raw value)` pairs and
//! scalars are read on demand. String contents are only scanned for their closing quote,
//! with `memchr`, so values nobody asked for cost one pass and no allocation.

use std::borrow::Cow;
use std::fmt;

/// The text of one complete JSON value: validated strictly when it came from
/// [`Cursor::value`], by its structure only when it came from [`Cursor::skip_value`] (such
/// values are never parsed further).
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) struct Raw<'a>(&'a str);

impl<'a> Raw<'a> {
    pub fn get(self) -> &'a str {
        self.0
    }
}

impl fmt::Debug for Raw<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

/// A syntax error at a byte offset of the text the cursor walks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct SyntaxError {
    pub offset: usize,
    pub message: &'static str,
}

/// A position in JSON text.
pub(crate) struct Cursor<'a> {
    text: &'a str,
    pos: usize,
}

/// Which container a level of nesting is, for the first 64 levels in a bit set and in a
/// vector beyond, so that skipping never recurses however deep the input nests.
#[derive(Default)]
struct Nesting {
    depth: usize,
    shallow: u64,
    deep: Vec<bool>,
}

impl Nesting {
    fn push(&mut self, object: bool) {
        if self.depth < 64 {
            let bit = 1u64 << self.depth;
            self.shallow = if object {
                self.shallow | bit
            } else {
                self.shallow & !bit
            };
        } else {
            self.deep.push(object);
        }
        self.depth += 1;
    }

    fn top_is_object(&self) -> bool {
        let top = self.depth - 1;
        if top < 64 {
            self.shallow >> top & 1 == 1
        } else {
            self.deep[top - 64]
        }
    }

    fn pop(&mut self) {
        self.depth -= 1;
        if self.depth >= 64 {
            self.deep.pop();
        }
    }
}

impl<'a> Cursor<'a> {
    pub fn new(text: &'a str) -> Self {
        Self { text, pos: 0 }
    }

    pub fn offset(&self) -> usize {
        self.pos
    }

    /// The whole text the cursor walks.
    pub fn text(&self) -> &'a str {
        self.text
    }

    /// Moves forward to `pos`, the end of values found some other way.
    pub fn move_to(&mut self, pos: usize) {
        debug_assert!(pos >= self.pos && pos <= self.text.len());
        self.pos = pos;
    }

    /// The text from `start` to the cursor, which must span whole values.
    #[inline]
    pub fn raw_since(&self, start: usize) -> Raw<'a> {
        Raw(&self.text[start..self.pos])
    }

    fn bytes(&self) -> &'a [u8] {
        self.text.as_bytes()
    }

    fn error(&self, message: &'static str) -> SyntaxError {
        SyntaxError {
            offset: self.pos,
            message,
        }
    }

    #[inline]
    pub fn skip_ws(&mut self) {
        let bytes = self.bytes();
        while let Some(b' ' | b'\n' | b'\r' | b'\t') = bytes.get(self.pos) {
            self.pos += 1;
        }
    }

    /// The next byte that is not whitespace, without consuming it.
    #[inline]
    pub fn peek(&mut self) -> Option<u8> {
        // Producers rarely write whitespace between tokens: the byte at the cursor is
        // usually the answer, tested once.
        match self.bytes().get(self.pos) {
            Some(&byte) if byte > b' ' => Some(byte),
            _ => {
                self.skip_ws();
                self.bytes().get(self.pos).copied()
            }
        }
    }

    /// Consumes `byte` (after whitespace) or fails with `message`.
    #[inline]
    pub fn expect(&mut self, byte: u8, message: &'static str) -> Result<(), SyntaxError> {
        if self.peek() == Some(byte) {
            self.pos += 1;
            Ok(())
        } else {
            Err(self.end_or(message))
        }
    }

    /// Consumes `byte` if it comes next (after whitespace).
    #[inline]
    pub fn eat(&mut self, byte: u8) -> bool {
        let found = self.peek() == Some(byte);
        self.pos += found as usize;
        found
    }

    /// Consumes `"key":` when the next key is exactly `quoted` (a key in its quotes, with
    /// no escapes), and otherwise moves nothing: a guess at the next key costs one
    /// comparison where parsing and looking it up costs several.
    #[inline(always)]
    pub fn eat_key(&mut self, quoted: &[u8]) -> bool {
        let bytes = self.bytes();
        let pos = skip_ws_at(bytes, self.pos);
        let Some(candidate) = bytes.get(pos..pos + quoted.len()) else {
            return false;
        };
        if !same_bytes(candidate, quoted) {
            return false;
        }
        let mut colon = pos + quoted.len();
        if bytes.get(colon) != Some(&b':') {
            colon = skip_ws_at(bytes, colon);
            if bytes.get(colon) != Some(&b':') {
                return false;
            }
        }
        self.pos = colon + 1;
        true
    }

    /// Whether the object at the cursor (which must be at its `{`) is empty.
    #[inline]
    pub fn at_empty_object(&self) -> bool {
        let bytes = self.bytes();
        bytes.get(skip_ws_at(bytes, self.pos + 1)) == Some(&b'}')
    }

    /// Between two members of an object (after a value): moves past its closing brace,
    /// checking what is skipped by its structure only.
    pub fn skip_object_rest(&mut self) -> Result<(), SyntaxError> {
        self.pos = crate::structural::object_rest_end(self.bytes(), self.pos)?;
        Ok(())
    }

    pub fn end_or(&self, message: &'static str) -> SyntaxError {
        if self.pos >= self.text.len() {
            self.error("EOF while parsing a value")
        } else {
            self.error(message)
        }
    }

    /// After an opening quote: moves past the closing quote. Returns whether the string
    /// holds escapes (and so cannot be borrowed as is).
    #[inline]
    fn string_tail(&mut self) -> Result<bool, SyntaxError> {
        match string_end(self.bytes(), self.pos) {
            Some((end, escaped)) => {
                self.pos = end;
                Ok(escaped)
            }
            None => {
                self.pos = self.text.len();
                Err(self.error("EOF while parsing a string"))
            }
        }
    }

    /// A key or other string: its contents, unescaped only when it has escapes.
    pub fn string(&mut self) -> Result<Cow<'a, str>, SyntaxError> {
        self.expect(b'"', "expected a string")?;
        let start = self.pos;
        let escaped = self.string_tail()?;
        let quoted = &self.text[start - 1..self.pos];
        if !escaped {
            return Ok(Cow::Borrowed(&quoted[1..quoted.len() - 1]));
        }
        unescape(quoted).ok_or(SyntaxError {
            offset: start,
            message: "invalid escape in a string",
        })
    }

    fn literal(&mut self, word: &'static str) -> Result<(), SyntaxError> {
        if self.bytes()[self.pos..].starts_with(word.as_bytes()) {
            self.pos += word.len();
            Ok(())
        } else {
            Err(self.error("expected a value"))
        }
    }

    fn number(&mut self) -> Result<(), SyntaxError> {
        let bytes = self.bytes();
        let start = self.pos;
        if bytes.get(self.pos) == Some(&b'-') {
            self.pos += 1;
        }
        if !bytes.get(self.pos).is_some_and(u8::is_ascii_digit) {
            return Err(self.error("invalid number"));
        }
        while let Some(b'0'..=b'9' | b'.' | b'e' | b'E' | b'+' | b'-') = bytes.get(self.pos) {
            self.pos += 1;
        }
        let text = &bytes[start..self.pos];
        let last = text[text.len() - 1];
        if !last.is_ascii_digit() {
            return Err(self.error("invalid number"));
        }
        Ok(())
    }

    /// Moves past one complete value and returns its text. Nested values are walked
    /// iteratively, so depth costs memory of one bit per level, never stack.
    pub fn value(&mut self) -> Result<Raw<'a>, SyntaxError> {
        self.read_value(true)
    }

    /// Moves past one complete value that nobody will read, checking objects and arrays
    /// by their structure only (see [`crate::structural`]): strings and scalars are checked
    /// as [`Self::value`] checks them.
    pub fn skip_value(&mut self) -> Result<Raw<'a>, SyntaxError> {
        self.read_value(false)
    }

    /// [`Self::value`] when `strict`, else [`Self::skip_value`].
    #[inline]
    pub fn read_value(&mut self, strict: bool) -> Result<Raw<'a>, SyntaxError> {
        self.read_value_noting_escapes(strict).map(|(raw, _)| raw)
    }

    /// [`Self::read_value`], and whether the value is a string without escapes: its
    /// contents ([`plain_string`]) are then read without looking for backslashes again.
    ///
    /// Strings, most of the values read, are read inline; other values by a call.
    #[inline(always)]
    pub fn read_value_noting_escapes(
        &mut self,
        strict: bool,
    ) -> Result<(Raw<'a>, bool), SyntaxError> {
        self.skip_ws();
        let start = self.pos;
        if self.bytes().get(start) != Some(&b'"') {
            return self.read_other_value(start, strict).map(|raw| (raw, false));
        }
        self.pos += 1;
        let plain = !self.string_tail()?;
        Ok((Raw(&self.text[start..self.pos]), plain))
    }

    /// [`Self::read_value`] of a value at `start` that is not a string.
    #[inline(never)]
    fn read_other_value(&mut self, start: usize, strict: bool) -> Result<Raw<'a>, SyntaxError> {
        match self.bytes().get(start) {
            Some(b'{' | b'[') if strict => return self.container(start),
            Some(b'{' | b'[') => {
                self.pos = crate::structural::container_end(self.bytes(), start)?;
            }
            _ => self.scalar()?,
        }
        Ok(Raw(&self.text[start..self.pos]))
    }

    /// A literal or a number at the cursor.
    fn scalar(&mut self) -> Result<(), SyntaxError> {
        match self.bytes().get(self.pos) {
            Some(b't') => self.literal("true"),
            Some(b'f') => self.literal("false"),
            Some(b'n') => self.literal("null"),
            Some(b'-' | b'0'..=b'9') => self.number(),
            Some(_) => Err(self.error("expected a value")),
            None => Err(self.error("EOF while parsing a value")),
        }
    }

    /// Skips the object or array at `start`. The position lives in a local (so it stays
    /// in a register) and the common runs, `"key":"value",` and closing chains, are
    /// handled without going round the outer loop.
    fn container(&mut self, start: usize) -> Result<Raw<'a>, SyntaxError> {
        let bytes = self.bytes();
        let fail = |pos: usize, message: &'static str| {
            let message = if pos >= bytes.len() {
                "EOF while parsing a value"
            } else {
                message
            };
            SyntaxError {
                offset: pos.min(bytes.len()),
                message,
            }
        };
        // After `{` or `,` in an object: a key, its colon, and whitespace.
        let key = |pos: usize| -> Result<usize, SyntaxError> {
            let pos = skip_ws_at(bytes, pos);
            if bytes.get(pos) != Some(&b'"') {
                return Err(fail(pos, "expected a key"));
            }
            let (pos, _) = string_end(bytes, pos + 1).ok_or(fail(bytes.len(), ""))?;
            let pos = skip_ws_at(bytes, pos);
            if bytes.get(pos) != Some(&b':') {
                return Err(fail(pos, "expected `:`"));
            }
            Ok(pos + 1)
        };
        let mut nesting = Nesting::default();
        let mut pos = start;
        'value: loop {
            pos = skip_ws_at(bytes, pos);
            match bytes.get(pos) {
                Some(b'"') => {
                    pos = string_end(bytes, pos + 1).ok_or(fail(bytes.len(), ""))?.0;
                }
                Some(b'{') => {
                    nesting.push(true);
                    pos = skip_ws_at(bytes, pos + 1);
                    if bytes.get(pos) == Some(&b'}') {
                        pos += 1;
                        nesting.pop();
                    } else {
                        pos = key(pos)?;
                        continue 'value;
                    }
                }
                Some(b'[') => {
                    nesting.push(false);
                    pos = skip_ws_at(bytes, pos + 1);
                    if bytes.get(pos) == Some(&b']') {
                        pos += 1;
                        nesting.pop();
                    } else {
                        continue 'value;
                    }
                }
                _ => {
                    self.pos = pos;
                    self.scalar()?;
                    pos = self.pos;
                }
            }
            // After a complete value: a comma goes on, closing brackets may chain.
            loop {
                if nesting.depth == 0 {
                    self.pos = pos;
                    return Ok(Raw(&self.text[start..pos]));
                }
                pos = skip_ws_at(bytes, pos);
                let object = nesting.top_is_object();
                match bytes.get(pos) {
                    Some(b',') if object => {
                        pos = key(pos + 1)?;
                        continue 'value;
                    }
                    Some(b',') => {
                        pos += 1;
                        continue 'value;
                    }
                    Some(b'}') if object => {
                        pos += 1;
                        nesting.pop();
                    }
                    Some(b']') if !object => {
                        pos += 1;
                        nesting.pop();
                    }
                    _ if object => return Err(fail(pos, "expected `,` or `}`")),
                    _ => return Err(fail(pos, "expected `,` or `]`")),
                }
            }
        }
    }

    /// Walks the members of an object, calling `member` with each key; `member` must
    /// consume the value (with [`Self::value`] or otherwise).
    pub fn members<E: From<SyntaxError>>(
        &mut self,
        mut member: impl FnMut(&mut Self, Cow<'a, str>) -> Result<(), E>,
    ) -> Result<(), E> {
        self.members_while(|cursor, key| member(cursor, key).map(|()| true))
    }

    /// As [`Self::members`], but `member` may answer `false` once it has read all it
    /// needs: the rest of the object is then skipped by its structure only.
    pub fn members_while<E: From<SyntaxError>>(
        &mut self,
        mut member: impl FnMut(&mut Self, Cow<'a, str>) -> Result<bool, E>,
    ) -> Result<(), E> {
        self.expect(b'{', "expected an object")?;
        if self.peek() == Some(b'}') {
            self.pos += 1;
            return Ok(());
        }
        loop {
            let key = self.string()?;
            self.expect(b':', "expected `:`")?;
            if !member(self, key)? {
                self.skip_object_rest()?;
                return Ok(());
            }
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(b'}') => {
                    self.pos += 1;
                    return Ok(());
                }
                _ => return Err(self.end_or("expected `,` or `}`").into()),
            }
        }
    }

    /// [`Self::members_while`] for an object whose `{` and first member the caller has
    /// read: from the separator after that member.
    pub fn members_while_after_first<E: From<SyntaxError>>(
        &mut self,
        mut member: impl FnMut(&mut Self, Cow<'a, str>) -> Result<bool, E>,
    ) -> Result<(), E> {
        loop {
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(b'}') => {
                    self.pos += 1;
                    return Ok(());
                }
                _ => return Err(self.end_or("expected `,` or `}`").into()),
            }
            let key = self.string()?;
            self.expect(b':', "expected `:`")?;
            if !member(self, key)? {
                self.skip_object_rest()?;
                return Ok(());
            }
        }
    }

    /// Consumes `{` and then `"key":` when the object at the cursor starts with the key
    /// `quoted` exactly (see [`Self::eat_key`]), and otherwise moves nothing.
    #[inline(always)]
    pub fn eat_object_start_and_key(&mut self, quoted: &[u8]) -> bool {
        let start = self.pos;
        if self.eat(b'{') && self.eat_key(quoted) {
            return true;
        }
        self.pos = start;
        false
    }

    /// Walks the elements of an array, calling `element` at the start of each; `element`
    /// must consume the value.
    pub fn elements<E: From<SyntaxError>>(
        &mut self,
        mut element: impl FnMut(&mut Self) -> Result<(), E>,
    ) -> Result<(), E> {
        self.expect(b'[', "expected an array")?;
        if self.peek() == Some(b']') {
            self.pos += 1;
            return Ok(());
        }
        loop {
            element(self)?;
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(b']') => {
                    self.pos += 1;
                    return Ok(());
                }
                _ => return Err(self.end_or("expected `,` or `]`").into()),
            }
        }
    }

    /// An object's members with their values left as raw text.
    pub fn object_fields(&mut self) -> Result<ObjectFields<'a>, SyntaxError> {
        self.object_fields_sized(24)
    }

    fn object_fields_sized(&mut self, capacity: usize) -> Result<ObjectFields<'a>, SyntaxError> {
        let mut fields = Vec::with_capacity(capacity);
        self.members(|cursor, key| {
            fields.push((key, cursor.value()?));
            Ok::<_, SyntaxError>(())
        })?;
        Ok(ObjectFields(fields))
    }

    /// An already validated object's members: nested values are only measured.
    fn validated_object_fields(&mut self) -> Result<ObjectFields<'a>, SyntaxError> {
        let mut fields = Vec::with_capacity(8);
        self.members(|cursor, key| {
            fields.push((key, cursor.skip_value()?));
            Ok::<_, SyntaxError>(())
        })?;
        Ok(ObjectFields(fields))
    }
}

/// Where the string whose contents start at `pos` ends (just past its closing quote),
/// and whether it holds escapes; `None` when it never ends.
#[inline(always)]
fn string_end(bytes: &[u8], mut pos: usize) -> Option<(usize, bool)> {
    let mut escaped = false;
    loop {
        let i = find_quote_or_backslash(bytes.get(pos..)?)?;
        pos += i;
        if bytes[pos] == b'"' {
            return Some((pos + 1, escaped));
        }
        // A backslash and the byte it escapes; `\uXXXX` digits need no care.
        escaped = true;
        pos += 2;
    }
}

/// Byte equality for short strings in a few register loads (the last one overlapping
/// the one before): the general-purpose `memcmp` call costs more than the comparison here.
#[inline]
pub(crate) fn same_bytes(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let n = a.len();
    let word = |s: &[u8], at: usize| u64::from_le_bytes(s[at..at + 8].try_into().expect("8 bytes"));
    let half = |s: &[u8], at: usize| u32::from_le_bytes(s[at..at + 4].try_into().expect("4 bytes"));
    match n {
        0 => true,
        1..=3 => a.iter().zip(b).all(|(x, y)| x == y),
        4..=8 => half(a, 0) == half(b, 0) && half(a, n - 4) == half(b, n - 4),
        _ => {
            let mut at = 0;
            while at + 8 < n {
                if word(a, at) != word(b, at) {
                    return false;
                }
                at += 8;
            }
            word(a, n - 8) == word(b, n - 8)
        }
    }
}

/// Eight copies of a byte, for searching a word at a time.
const ONES: u64 = 0x0101_0101_0101_0101;
const QUOTES: u64 = ONES * b'"' as u64;
const BACKSLASHES: u64 = ONES * b'\\' as u64;

/// The high bit of each zero byte of `word` (and possibly of bytes above one; only the
/// lowest set bit is exact, which is all the searches use).
#[inline]
fn zero_bytes(word: u64) -> u64 {
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    word.wrapping_sub(ONES) & !word & HIGHS
}

/// Whether a string's contents hold a backslash (and so need unescaping): eight bytes at
/// a time for the usual short values, `memchr` for long ones.
#[inline]
fn has_backslash(bytes: &[u8]) -> bool {
    if bytes.len() > 64 {
        return memchr::memchr(b'\\', bytes).is_some();
    }
    let mut chunks = bytes.chunks_exact(8);
    for chunk in &mut chunks {
        if zero_bytes(u64::from_le_bytes(chunk.try_into().expect("8 bytes")) ^ BACKSLASHES) != 0 {
            return true;
        }
    }
    chunks.remainder().contains(&b'\\')
}

#[inline]
fn skip_ws_at(bytes: &[u8], mut pos: usize) -> usize {
    if bytes.get(pos).is_some_and(|&byte| byte > b' ') {
        return pos;
    }
    while let Some(b' ' | b'\n' | b'\r' | b'\t') = bytes.get(pos) {
        pos += 1;
    }
    pos
}

/// The first `"` or `\\`. CloudTrail strings are mostly 10 to 100 bytes (ids, ARNs,
/// times, user agents): sixteen bytes a step with SSE2, which every x86-64 has, beats both
/// a word at a time and setting up `memchr`'s wider search.
#[cfg(target_arch = "x86_64")]
#[inline]
fn find_quote_or_backslash(haystack: &[u8]) -> Option<usize> {
    use std::arch::x86_64::{
        __m128i, _mm_cmpeq_epi8, _mm_loadu_si128, _mm_movemask_epi8, _mm_or_si128, _mm_set1_epi8,
    };
    let mut offset = 0;
    while offset + 16 <= haystack.len() {
        // SAFETY: SSE2 is part of x86-64, and the load reads the 16 bytes at `offset`,
        // checked to lie inside `haystack`; `loadu` needs no alignment.
        let found = unsafe {
            let block = _mm_loadu_si128(haystack.as_ptr().add(offset).cast::<__m128i>());
            let quotes = _mm_cmpeq_epi8(block, _mm_set1_epi8(b'"' as i8));
            let backslashes = _mm_cmpeq_epi8(block, _mm_set1_epi8(b'\\' as i8));
            _mm_movemask_epi8(_mm_or_si128(quotes, backslashes))
        };
        if found != 0 {
            return Some(offset + found.trailing_zeros() as usize);
        }
        offset += 16;
    }
    find_quote_or_backslash_in_words(&haystack[offset..]).map(|i| offset + i)
}

#[cfg(not(target_arch = "x86_64"))]
#[inline]
fn find_quote_or_backslash(haystack: &[u8]) -> Option<usize> {
    find_quote_or_backslash_in_words(haystack)
}

/// [`find_quote_or_backslash`] eight bytes at a time in a register, then `memchr` past
/// the first 64 bytes.
#[inline]
fn find_quote_or_backslash_in_words(haystack: &[u8]) -> Option<usize> {
    let mut offset = 0;
    while offset + 8 <= haystack.len() && offset < 64 {
        let word = u64::from_le_bytes(haystack[offset..offset + 8].try_into().expect("8 bytes"));
        let found = zero_bytes(word ^ QUOTES) | zero_bytes(word ^ BACKSLASHES);
        if found != 0 {
            return Some(offset + (found.trailing_zeros() / 8) as usize);
        }
        offset += 8;
    }
    memchr::memchr2(b'"', b'\\', &haystack[offset..]).map(|i| offset + i)
}

/// Unescapes a quoted JSON string (rare in CloudTrail: only keys and values that hold
/// quotes, backslashes or control characters).
fn unescape(quoted: &str) -> Option<Cow<'static, str>> {
    serde_json::from_str::<String>(quoted).ok().map(Cow::Owned)
}

/// A JSON object's members in input order, values left unparsed.
#[derive(Debug, Default)]
pub(crate) struct ObjectFields<'a>(pub Vec<(Cow<'a, str>, Raw<'a>)>);

impl<'a> ObjectFields<'a> {
    pub fn get(&self, key: &str) -> Option<Raw<'a>> {
        self.0.iter().find(|(k, _)| k == key).map(|(_, v)| *v)
    }

    pub fn has(&self, key: &str) -> bool {
        self.0.iter().any(|(k, _)| k == key)
    }
}

/// The JSON kind of a raw value, from its first byte (the value is already validated).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Null,
    Bool,
    Number,
    String,
    Array,
    Object,
}

pub(crate) fn kind(raw: Raw<'_>) -> Kind {
    match raw.get().as_bytes().first() {
        Some(b'n') => Kind::Null,
        Some(b't' | b'f') => Kind::Bool,
        Some(b'"') => Kind::String,
        Some(b'[') => Kind::Array,
        Some(b'{') => Kind::Object,
        _ => Kind::Number,
    }
}

/// Splits a raw object (strictly validated already) into its members; `None` when the
/// value is not an object.
pub(crate) fn object(raw: Raw<'_>) -> Option<ObjectFields<'_>> {
    if kind(raw) != Kind::Object {
        return None;
    }
    Cursor::new(raw.get()).validated_object_fields().ok()
}

/// Splits a raw array (strictly validated already) into its raw elements; `None` when
/// the value is not an array.
pub(crate) fn array(raw: Raw<'_>) -> Option<Vec<Raw<'_>>> {
    if kind(raw) != Kind::Array {
        return None;
    }
    let mut items = Vec::new();
    Cursor::new(raw.get())
        .elements(|cursor| {
            items.push(cursor.skip_value()?);
            Ok::<_, SyntaxError>(())
        })
        .ok()?;
    Some(items)
}

/// Reads a string value; `Ok(None)` for null, `Err(())` for any other kind.
pub(crate) fn string(raw: Raw<'_>) -> Result<Option<Cow<'_, str>>, ()> {
    match kind(raw) {
        Kind::Null => Ok(None),
        Kind::String => {
            let quoted = raw.get();
            let inner = &quoted[1..quoted.len() - 1];
            if !has_backslash(inner.as_bytes()) {
                Ok(Some(Cow::Borrowed(inner)))
            } else {
                unescape(quoted).map(Some).ok_or(())
            }
        }
        _ => Err(()),
    }
}

/// The contents of a string value that [`Cursor::read_value_noting_escapes`] found to
/// hold no escapes.
#[inline]
pub(crate) fn plain_string(raw: Raw<'_>) -> &str {
    let quoted = raw.get();
    debug_assert!(quoted.len() >= 2 && quoted.starts_with('"') && !quoted[1..].contains('\\'));
    &quoted[1..quoted.len() - 1]
}

/// [`string`], knowing whether `raw` is a string without escapes.
#[inline]
pub(crate) fn string_noted(raw: Raw<'_>, plain: bool) -> Result<Option<Cow<'_, str>>, ()> {
    if plain {
        return Ok(Some(Cow::Borrowed(plain_string(raw))));
    }
    string(raw)
}

/// [`text`], knowing whether `raw` is a string without escapes.
#[inline]
pub(crate) fn text_noted(raw: Raw<'_>, plain: bool) -> Option<Cow<'_, str>> {
    if plain {
        return Some(Cow::Borrowed(plain_string(raw)));
    }
    text(raw)
}

/// A scalar as text in the manner of Athena's `json_extract_scalar`: strings unquoted,
/// numbers and booleans as written, null as `None`; arrays and objects as JSON text.
pub(crate) fn text(raw: Raw<'_>) -> Option<Cow<'_, str>> {
    match kind(raw) {
        Kind::Null => None,
        Kind::String => string(raw).ok().flatten(),
        _ => Some(Cow::Borrowed(raw.get())),
    }
}

/// The one-based line and column of a byte offset, for error messages.
pub(crate) fn line_and_column(text: &[u8], offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = memchr::memchr_iter(b'\n', before).count() + 1;
    let line_start = memchr::memrchr(b'\n', before).map_or(0, |i| i + 1);
    (line, before.len() - line_start + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn skip(text: &str) -> Result<&str, SyntaxError> {
        Cursor::new(text).value().map(Raw::get)
    }

    #[test]
    fn short_byte_comparisons_and_backslash_searches_agree_with_the_obvious_ones() {
        let text: Vec<u8> = (0..200u32)
            .map(|i| b"ab\\\"cdXYZ"[(i * 7 % 9) as usize])
            .collect();
        for start in 0..40 {
            for len in 0..120 {
                let a = &text[start..start + len];
                assert_eq!(has_backslash(a), a.contains(&b'\\'), "{start} {len}");
                for other in [start, start + 9, start + 1] {
                    let b = &text[other..other + len];
                    assert_eq!(same_bytes(a, b), a == b, "{start} {other} {len}");
                    let mut changed = a.to_vec();
                    if let Some(last) = changed.last_mut() {
                        *last ^= 1;
                        assert!(!same_bytes(a, &changed));
                    }
                    if len > 0 {
                        let mut changed = a.to_vec();
                        changed[len / 2] ^= 1;
                        assert!(!same_bytes(a, &changed), "{start} {len}");
                    }
                }
                assert!(!same_bytes(a, &text[start..start + len + 1]));
            }
        }
    }

    #[test]
    fn values_are_skipped_whole() {
        for text in [
            r#"{"a":[1,2,{"b":"c\"}"}],"d":null}"#,
            r#"[]"#,
            r#"{}"#,
            r#""x\\""#,
            "-1.5e+3",
            "true",
            r#"[{"a":{}},[[]],"]"]"#,
        ] {
            assert_eq!(skip(&format!(" {text} ,rest")).unwrap(), text);
        }
    }

    #[test]
    fn malformed_values_are_errors() {
        for text in [
            r#"{"a" 1}"#,
            r#"{"a":1 "b":2}"#,
            r#"{"a":1,}"#,
            r#"[1,]"#,
            r#"[1 2]"#,
            r#"{"a":[1}"#,
            r#"{"a":tru}"#,
            r#"{1:2}"#,
            r#"{"a":"unterminated}"#,
            r#"[-]"#,
            r#"[1."#,
            "",
        ] {
            assert!(skip(text).is_err(), "{text} should not parse");
        }
    }

    #[test]
    fn deep_nesting_does_not_recurse() {
        let depth = 100_000;
        let text = format!("{}{}", "[".repeat(depth), "]".repeat(depth));
        assert_eq!(skip(&text).unwrap().len(), 2 * depth);
        let mixed = format!("{}1{}", r#"{"a":["#.repeat(depth), "]}".repeat(depth));
        assert!(skip(&mixed).is_ok());
        let wrong = format!("{}{}", "[".repeat(100), "}".repeat(100));
        assert!(skip(&wrong).is_err());
    }

    #[test]
    fn members_borrow_unescaped_keys() {
        let fields = object(Raw(r#"{"a":1,"b\"c":"d"}"#)).unwrap();
        assert!(matches!(fields.0[0].0, Cow::Borrowed("a")));
        assert_eq!(fields.0[1].0, "b\"c");
        assert_eq!(fields.0[1].1.get(), r#""d""#);
    }

    #[test]
    fn strings_unescape_only_when_needed() {
        assert!(matches!(
            string(Raw(r#""plain""#)),
            Ok(Some(Cow::Borrowed("plain")))
        ));
        assert_eq!(string(Raw(r#""a\u00e9\n""#)).unwrap().unwrap(), "a\u{e9}\n");
        assert_eq!(string(Raw("null")), Ok(None));
        assert_eq!(string(Raw("1")), Err(()));
    }

    #[test]
    fn quote_search_agrees_with_a_plain_scan() {
        let mut state = 7u64;
        for len in 0..200 {
            for _ in 0..20 {
                let bytes: Vec<u8> = (0..len)
                    .map(|_| {
                        state = state.wrapping_mul(6364136223846793005).wrapping_add(1);
                        match state >> 60 {
                            0 => b'"',
                            1 => b'\\',
                            2 => 0x80 | (state >> 32) as u8,
                            _ => b'a' + (state >> 40) as u8 % 26,
                        }
                    })
                    .collect();
                let plain = bytes.iter().position(|&b| b == b'"' || b == b'\\');
                assert_eq!(find_quote_or_backslash(&bytes), plain, "{bytes:?}");
            }
        }
        // Long runs, where the random strings above rarely go: the one quote or backslash
        // at every place of every block and word, and none at all.
        for len in 0..100 {
            let run = vec![b'a'; len];
            assert_eq!(find_quote_or_backslash(&run), None, "{len}");
            for at in 0..len {
                for needle in [b'"', b'\\'] {
                    let mut bytes = run.clone();
                    bytes[at] = needle;
                    assert_eq!(find_quote_or_backslash(&bytes), Some(at), "{len} {at}");
                }
            }
        }
    }

    #[test]
    fn error_positions_are_lines_and_columns() {
        assert_eq!(line_and_column(b"ab\ncd", 4), (2, 2));
        assert_eq!(line_and_column(b"abc", 0), (1, 1));
    }
}
