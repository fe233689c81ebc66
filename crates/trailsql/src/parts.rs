//! Reading a file too large to hold whole in parts of whole top-level JSON values
//! (NDJSON exports, plain or gzipped), so that memory stays bounded whatever its size.

use std::fs::File;
use std::io::{Cursor, Read};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, Sender, SyncSender};

use trailsql_decode::{
    DecodeError, DecodeErrorKind, GzipStream, GzipStreamError, PartStart, gzip_splits,
    gzip_trailer_length, is_gzip, part_end, starts_other_than_json,
};

use crate::error::{Error, Result};
use crate::reads::ReadGate;
use crate::source::{LogObject, ObjectBody};

/// Files that are (or inflate to) more than this are read in parts of about this size.
pub const DEFAULT_PART_BYTES: usize = 32 << 20;

/// What is read of a large file before it is known to be gzip or plain.
const FIRST_READ: usize = 256 << 10;

/// How large parts are.
#[derive(Debug, Clone, Copy)]
pub(crate) struct PartSize {
    /// What a part holds, about.
    bytes: usize,
    /// The most a part may grow to so as to hold a whole value: the most inflated bytes
    /// held at once (`--max-inflated`).
    most: u64,
}

impl PartSize {
    /// Parts of about `bytes` (`EngineOptions::part_bytes`), but no larger than the
    /// most held at once (`max_inflated_bytes`), and never of nothing: a part grows by
    /// doubling until it holds a place to cut.
    pub(crate) fn new(bytes: usize, max_inflated_bytes: u64) -> PartSize {
        let most = usize::try_from(max_inflated_bytes).unwrap_or(usize::MAX);
        PartSize {
            bytes: bytes.min(most).max(1),
            most: max_inflated_bytes,
        }
    }
}

/// An object to decode: read whole, or a part at a time.
pub(crate) enum Body {
    Whole(Vec<u8>),
    Parts(PartReader),
}

impl Body {
    /// Opens `object`: a plain local file larger than a part, or a gzip file inflating to
    /// more than a part whose start holds places to cut, is read in parts; anything
    /// else whole.
    pub(crate) fn open(object: &LogObject, size: PartSize) -> Result<Body> {
        match &object.body {
            ObjectBody::File(path) if object.size > size.bytes as u64 => {
                let file = File::open(path).map_err(|error| Error::Io {
                    path: object.location.to_string(),
                    error,
                })?;
                let location = object.location.to_string();
                let mut reader =
                    PartReader::new(Source::Plain(file), location, Some(object.size), size);
                // Enough to tell gzip, and whether it splits; a gzip file's first bytes
                // are then held as its source's start for as long as it is read.
                reader.fill(FIRST_READ.min(size.bytes))?;
                if is_gzip(&reader.buffer) {
                    if gzip_splits(&reader.buffer) {
                        return Ok(Body::Parts(reader.into_inflating()));
                    }
                    return reader.into_whole().map(Body::Whole);
                }
                Ok(Body::Parts(reader))
            }
            _ => object
                .read()
                .map(|bytes| Body::of_bytes(object, bytes, size)),
        }
    }

    /// An object already read whole (a small local file, a store object): gzip that
    /// inflates to more than a part, with places to cut, is inflated a part at a time.
    pub(crate) fn of_bytes(object: &LogObject, bytes: Vec<u8>, size: PartSize) -> Body {
        if is_gzip(&bytes) && gzip_trailer_length(&bytes) > size.bytes as u64 && gzip_splits(&bytes)
        {
            let source = Source::Gzip(Box::new(GzipStream::new(Box::new(Cursor::new(bytes)))));
            // Already checked against the listing when it was read.
            let listed = None;
            let location = object.location.to_string();
            return Body::Parts(PartReader::new(source, location, listed, size));
        }
        Body::Whole(bytes)
    }

    /// All of the object's bytes at once (inflated, if they were inflated in parts), for
    /// a reader that needs them so (filling the Parquet cache keeps each object's rows
    /// together).
    pub(crate) fn into_whole(self) -> Result<Vec<u8>> {
        match self {
            Body::Whole(bytes) => Ok(bytes),
            Body::Parts(parts) => parts.into_whole(),
        }
    }
}

/// What schema discovery samples of `object`: all of it, or of a file read in parts,
/// the first part.
pub(crate) fn sample(object: &LogObject, size: PartSize) -> Result<Vec<u8>> {
    match Body::open(object, size)? {
        Body::Whole(bytes) => Ok(bytes),
        Body::Parts(mut parts) => {
            parts.next_part()?;
            parts.buffer.truncate(parts.taken);
            Ok(parts.buffer)
        }
    }
}

/// The parts of a file, read ahead on a thread of their own (see
/// [`PartReader::read_ahead`]).
pub(crate) struct PartsAhead {
    parts: Receiver<Result<Option<Vec<u8>>>>,
    /// Buffers decoded, back to the reading thread for reuse.
    spent: Sender<Vec<u8>>,
    location: String,
    current: Vec<u8>,
    /// Where the current part starts in the file.
    start: PartStart,
    done: bool,
    /// The bytes read from the file so far, as the reading thread last said; `None` for
    /// an object held whole before it was read in parts (a store object).
    read: Option<Arc<AtomicU64>>,
}

impl PartsAhead {
    /// The next part and where it starts in the file; `None` once the file is done.
    pub(crate) fn next_part(&mut self) -> Result<Option<(&[u8], PartStart)>> {
        if self.done {
            return Ok(None);
        }
        let decoded = std::mem::take(&mut self.current);
        if decoded.capacity() > 0 {
            let _ = self.spent.send(decoded);
        }
        match self.parts.recv() {
            Ok(Ok(Some(part))) => {
                self.current = part;
                Ok(Some((&self.current, self.start)))
            }
            Ok(Ok(None)) => {
                self.done = true;
                Ok(None)
            }
            Ok(Err(error)) => {
                self.done = true;
                Err(error)
            }
            // The reading thread always says how the file ended; if it stopped without
            // a word, the file must not look shorter than it is.
            Err(_) => {
                self.done = true;
                Err(Error::Io {
                    path: self.location.clone(),
                    error: std::io::Error::other("the thread reading it stopped"),
                })
            }
        }
    }

    /// Records that the part handed out last held `records` records: the next part
    /// starts after them.
    pub(crate) fn part_done(&mut self, records: usize) {
        self.start = self.start.after(&self.current, records);
    }

    /// The bytes read from the file so far (gzip: before inflating), which is less
    /// than its size when reading stopped early (a file that is not JSON, a `LIMIT`
    /// met, a part that failed); `None` for an object already held whole.
    pub(crate) fn bytes_read(&self) -> Option<u64> {
        self.read.as_ref().map(|read| read.load(Ordering::Relaxed))
    }
}

enum Source {
    Plain(File),
    /// Gzip inflated as it is read, from the file or from the bytes already read.
    Gzip(Box<GzipStream<Box<dyn Read + Send>>>),
}

/// A file read a part at a time: each part ends where [`part_end`] says, so that it
/// holds whole top-level values and starts at the start of a line. A file with no such
/// place (one delivery file, a bare array) grows the part until it is all read.
pub(crate) struct PartReader {
    source: Source,
    location: String,
    /// The size the file was listed at, checked once it is read.
    listed: Option<u64>,
    /// Plain bytes read from the file.
    read: u64,
    size: PartSize,
    /// The part handed out last (`..taken`) and what was read past it.
    buffer: Vec<u8>,
    taken: usize,
    at_end: bool,
    /// Whether a part has been handed out.
    begun: bool,
    /// The file does not start as JSON does: its first part was what had been read, and
    /// nothing more is read.
    not_json: bool,
}

impl PartReader {
    fn new(source: Source, location: String, listed: Option<u64>, size: PartSize) -> Self {
        PartReader {
            source,
            location,
            listed,
            read: 0,
            size,
            buffer: Vec::new(),
            taken: 0,
            at_end: false,
            begun: false,
            not_json: false,
        }
    }

    /// The next part; `None` once the file is done.
    fn next_part(&mut self) -> Result<Option<&[u8]>> {
        self.buffer.drain(..self.taken);
        self.taken = 0;
        if self.not_json {
            return Ok(None);
        }
        let mut want = self.size.bytes;
        if !std::mem::replace(&mut self.begun, true) {
            // A file that does not start as JSON does (a large Parquet file or archive
            // beside the logs) is one part, its first bytes: the decoder skips it as not
            // JSON. Cut into parts, it was read whole or failed as broken JSON.
            if self.starts_other_than_json(want)? {
                self.not_json = true;
                self.taken = self.buffer.len();
                return Ok(Some(&self.buffer[..self.taken]));
            }
        }
        loop {
            self.fill(want)?;
            if self.at_end {
                self.taken = self.buffer.len();
                break;
            }
            if let Some(end) = part_end(&self.buffer) {
                self.taken = end;
                break;
            }
            if self.buffer.len() as u64 > self.size.most {
                return Err(Error::Decode(DecodeError::in_file(
                    &self.location,
                    DecodeErrorKind::TooLarge {
                        limit: self.size.most,
                    },
                )));
            }
            want = want.saturating_mul(2);
        }
        if self.taken == 0 {
            return Ok(None);
        }
        Ok(Some(&self.buffer[..self.taken]))
    }

    /// Reads (and inflates) the parts on a thread of their own, a part ahead of the
    /// one being decoded: inflating one large gzip file is one core's work, decoding it
    /// another's. Each part is read through `gate`, as any read is.
    pub(crate) fn read_ahead(mut self, gate: Arc<ReadGate>) -> Result<PartsAhead> {
        // One part being read (or read and handed over) while one is decoded: no more
        // are held. Reading is the faster of the two for a plain file, and for gzip a
        // queue would only fill while the decoder waits anyway.
        let (parts_tx, parts) = std::sync::mpsc::sync_channel(0);
        let (spent, spent_rx) = std::sync::mpsc::channel();
        let location = self.location.clone();
        let read = self.listed.map(|_| Arc::new(AtomicU64::new(self.read)));
        let told = read.clone();
        std::thread::Builder::new()
            .name("trailsql-parts".to_string())
            .spawn(move || self.send_parts(&gate, &parts_tx, &spent_rx, told.as_deref()))
            .map_err(|error| Error::Io {
                path: location.clone(),
                error,
            })?;
        Ok(PartsAhead {
            parts,
            spent,
            location,
            current: Vec::new(),
            start: PartStart::default(),
            done: false,
            read,
        })
    }

    /// Sends every part, then `None` (or the error that ended the file), until the
    /// reader hangs up; before each, says in `told` how many bytes have been read.
    fn send_parts(
        &mut self,
        gate: &ReadGate,
        parts: &SyncSender<Result<Option<Vec<u8>>>>,
        spent: &Receiver<Vec<u8>>,
        told: Option<&AtomicU64>,
    ) {
        loop {
            let spare = spent.try_recv().unwrap_or_default();
            let pass = gate.enter_blocking();
            let part = self.next_owned_part(spare);
            drop(pass);
            if let Some(told) = told {
                told.store(self.read, Ordering::Relaxed);
            }
            let last = !matches!(part, Ok(Some(_)));
            if parts.send(part).is_err() || last {
                return;
            }
        }
    }

    /// The next part as a buffer of its own, `spare`'s allocation taking what was read
    /// past it.
    fn next_owned_part(&mut self, mut spare: Vec<u8>) -> Result<Option<Vec<u8>>> {
        let Some(part) = self.next_part()? else {
            return Ok(None);
        };
        let taken = part.len();
        spare.clear();
        spare.extend_from_slice(&self.buffer[taken..]);
        let mut part = std::mem::replace(&mut self.buffer, spare);
        part.truncate(taken);
        self.taken = 0;
        Ok(Some(part))
    }

    /// The whole file, for a reader that has handed out no part yet: plain bytes as
    /// read, gzip inflated (to one byte past the limit at most: decoding then refuses
    /// it as it refuses any file inflating past the limit).
    fn into_whole(mut self) -> Result<Vec<u8>> {
        debug_assert_eq!(self.taken, 0);
        let most = match self.source {
            Source::Plain(_) => usize::MAX,
            Source::Gzip(_) => {
                usize::try_from(self.size.most.saturating_add(1)).unwrap_or(usize::MAX)
            }
        };
        if self.starts_other_than_json(most)? {
            return Ok(self.buffer);
        }
        self.fill(most)?;
        Ok(self.buffer)
    }

    /// Reads the file's first bytes (up to `most`) and says whether they start other
    /// than JSON does: decoding skips such a file as not JSON, so nothing more of it need
    /// be read. Gzip read plain is inflated by the decoder, and judged then.
    fn starts_other_than_json(&mut self, most: usize) -> Result<bool> {
        self.fill(FIRST_READ.min(most))?;
        Ok(!is_gzip(&self.buffer) && starts_other_than_json(&self.buffer))
    }

    /// The plain reader of a gzip file, of which `buffer` holds the first bytes read,
    /// turned into one that inflates it a part at a time.
    fn into_inflating(self) -> PartReader {
        let PartReader {
            source: Source::Plain(file),
            buffer,
            ..
        } = self
        else {
            return self;
        };
        let room = self
            .listed
            .map_or(u64::MAX, |listed| listed + 1 - self.read);
        let source = Source::Gzip(Box::new(GzipStream::new(Box::new(
            Cursor::new(buffer).chain(file.take(room)),
        ))));
        PartReader::new(source, self.location, self.listed, self.size)
    }

    /// Reads until the buffer holds `want` bytes or the file ends. A file that is not as
    /// long as it was listed changed while the query ran.
    fn fill(&mut self, want: usize) -> Result<()> {
        match &mut self.source {
            Source::Plain(file) => {
                while self.buffer.len() < want && !self.at_end {
                    // Read in steps, never past one byte more than was listed: enough to
                    // see that the file grew.
                    let room = self
                        .listed
                        .map_or(u64::MAX, |listed| listed + 1 - self.read);
                    let step = (want - self.buffer.len()).min(self.size.bytes) as u64;
                    let read = file
                        .take(step.min(room))
                        .read_to_end(&mut self.buffer)
                        .map_err(|error| Error::Io {
                            path: self.location.clone(),
                            error,
                        })?;
                    self.read += read as u64;
                    self.at_end = read == 0 || self.listed.is_some_and(|listed| self.read > listed);
                }
            }
            Source::Gzip(stream) => {
                if self.buffer.len() < want && !self.at_end {
                    let inflated = stream.inflate_onto(&mut self.buffer, want);
                    self.read = stream.compressed_read();
                    match inflated {
                        Ok(at_end) => self.at_end = at_end,
                        // A file cut short or grown while it was read breaks its gzip
                        // stream: say why.
                        Err(_)
                            if stream.source_ended()
                                && self.listed.is_some_and(|l| l != self.read) =>
                        {
                            self.at_end = true;
                        }
                        Err(GzipStreamError::Read(error)) => {
                            return Err(Error::Io {
                                path: self.location.clone(),
                                error,
                            });
                        }
                        Err(GzipStreamError::Data(kind)) => {
                            return Err(Error::Decode(DecodeError::in_file(&self.location, kind)));
                        }
                    }
                }
            }
        }
        if let Some(listed) = self.listed
            && self.at_end
            && self.read != listed
        {
            return Err(Error::Changed {
                location: self.location.clone(),
                listed,
                read: self.read,
            });
        }
        Ok(())
    }
}
