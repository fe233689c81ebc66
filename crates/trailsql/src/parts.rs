//! Reading a plain local file too large to hold whole in parts of whole top-level JSON
//! values (NDJSON exports), so that memory stays bounded whatever the file's size.

use std::fs::File;
use std::io::Read;

use trailsql_decode::{PartStart, is_gzip, part_end};

use crate::error::{Error, Result};
use crate::source::{LogObject, ObjectBody};

/// Plain local files larger than this are read in parts of about this size.
pub const DEFAULT_PART_BYTES: usize = 32 << 20;

/// An object to decode: read whole, or a plain file read a part at a time.
pub(crate) enum Body {
    Whole(Vec<u8>),
    Parts(PartReader),
}

impl Body {
    /// Opens `object`: a plain local file larger than `part_bytes` is read in parts,
    /// anything else whole.
    pub(crate) fn open(object: &LogObject, part_bytes: usize) -> Result<Body> {
        // Parts grow by doubling until they hold a place to cut: never from nothing.
        let part_bytes = part_bytes.max(1);
        match &object.body {
            ObjectBody::File(path) if object.size > part_bytes as u64 => {
                let file = File::open(path).map_err(|error| Error::Io {
                    path: object.location.to_string(),
                    error,
                })?;
                let mut reader = PartReader {
                    file,
                    location: object.location.to_string(),
                    listed: object.size,
                    read: 0,
                    part_bytes,
                    buffer: Vec::new(),
                    taken: 0,
                    at_end: false,
                    start: PartStart::default(),
                };
                reader.fill(part_bytes)?;
                if is_gzip(&reader.buffer) {
                    // A gzip member is inflated whole.
                    return reader.into_whole().map(Body::Whole);
                }
                Ok(Body::Parts(reader))
            }
            _ => object.read().map(Body::Whole),
        }
    }

    /// All of the object's bytes at once, for a reader that needs them so (filling the
    /// Parquet cache keeps each object's rows together).
    pub(crate) fn into_whole(self) -> Result<Vec<u8>> {
        match self {
            Body::Whole(bytes) => Ok(bytes),
            Body::Parts(parts) => parts.into_whole(),
        }
    }
}

/// What schema discovery samples of `object`: all of it, or of a file read in parts,
/// the first part.
pub(crate) fn sample(object: &LogObject, part_bytes: usize) -> Result<Vec<u8>> {
    match Body::open(object, part_bytes)? {
        Body::Whole(bytes) => Ok(bytes),
        Body::Parts(mut parts) => {
            parts.next_part()?;
            parts.buffer.truncate(parts.taken);
            Ok(parts.buffer)
        }
    }
}

/// A plain file read a part at a time: each part ends where [`part_end`] says, so that
/// it holds whole top-level values and starts at the start of a line. A file with no
/// such place (one delivery file, a bare array) grows the part until it is all read.
pub(crate) struct PartReader {
    file: File,
    location: String,
    listed: u64,
    read: u64,
    part_bytes: usize,
    /// The part handed out last (`..taken`) and what was read past it.
    buffer: Vec<u8>,
    taken: usize,
    at_end: bool,
    /// Where the next part starts in the file.
    start: PartStart,
}

impl PartReader {
    /// The next part and where it starts in the file; `None` once the file is done.
    pub(crate) fn next_part(&mut self) -> Result<Option<(&[u8], PartStart)>> {
        self.buffer.drain(..self.taken);
        self.taken = 0;
        let mut want = self.part_bytes;
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
            want = want.saturating_mul(2);
        }
        if self.taken == 0 {
            return Ok(None);
        }
        Ok(Some((&self.buffer[..self.taken], self.start)))
    }

    /// The rest of the file read after what is buffered, for a reader that has handed
    /// out no part yet: the whole file.
    fn into_whole(mut self) -> Result<Vec<u8>> {
        debug_assert_eq!(self.start, PartStart::default());
        self.fill(usize::MAX)?;
        Ok(self.buffer)
    }

    /// Records that the part handed out last held `records` records: the next part
    /// starts after them.
    pub(crate) fn part_done(&mut self, records: usize) {
        self.start = self.start.after(&self.buffer[..self.taken], records);
    }

    /// Reads until the buffer holds `want` bytes or the file ends. A file that is not as
    /// long as it was listed changed while the query ran.
    fn fill(&mut self, want: usize) -> Result<()> {
        while self.buffer.len() < want && !self.at_end {
            // Read in steps, never past one byte more than was listed: enough to see
            // that the file grew.
            let room = self.listed + 1 - self.read;
            let step = (want - self.buffer.len()).min(self.part_bytes) as u64;
            let read = (&mut self.file)
                .take(step.min(room))
                .read_to_end(&mut self.buffer)
                .map_err(|error| Error::Io {
                    path: self.location.clone(),
                    error,
                })?;
            self.read += read as u64;
            self.at_end = read == 0 || self.read > self.listed;
        }
        if self.at_end && self.read != self.listed {
            return Err(Error::Changed {
                location: self.location.clone(),
                listed: self.listed,
                read: self.read,
            });
        }
        Ok(())
    }
}
