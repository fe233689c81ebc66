use std::fmt;

/// Where in the input an error happened: file, record, field.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Location {
    pub file: String,
    /// Where among the file's records, when that is known.
    pub place: Option<RecordPlace>,
    /// The field path (`userIdentity.sessionContext.attributes.mfaAuthenticated`).
    pub field: Option<String>,
}

/// Where among a file's records (zero-based indexes) an error is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecordPlace {
    /// Inside this record.
    In(usize),
    /// Between records or after them (a separator, the envelope's end, text after
    /// it): after this record, the last whole one before the error.
    After(usize),
}

impl Location {
    /// The record the error is inside.
    pub fn record(&self) -> Option<usize> {
        match self.place {
            Some(RecordPlace::In(record)) => Some(record),
            _ => None,
        }
    }

    /// The last whole record before an error between or after records.
    pub fn after_record(&self) -> Option<usize> {
        match self.place {
            Some(RecordPlace::After(record)) => Some(record),
            _ => None,
        }
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file)?;
        match self.place {
            Some(RecordPlace::In(record)) => write!(f, ": record {record}")?,
            Some(RecordPlace::After(record)) => write!(f, ": after record {record}")?,
            None => {}
        }
        if let Some(field) = &self.field {
            write!(f, ", field {field}")?;
        }
        Ok(())
    }
}

/// What went wrong, without the place.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeErrorKind {
    #[error("the file is empty")]
    Empty,
    #[error("corrupt or truncated gzip after {inflated} inflated bytes: {message}")]
    Gzip { inflated: u64, message: String },
    #[error("inflates past the limit of {limit} bytes")]
    TooLarge { limit: u64 },
    #[error("invalid JSON at line {line}, column {column}: {message}")]
    Json {
        line: usize,
        column: usize,
        message: String,
    },
    #[error("expected {expected}, found {found}")]
    WrongType {
        expected: &'static str,
        found: String,
    },
    #[error("cannot read: {0}")]
    Io(String),
    #[error("a text value of {bytes} bytes: more than a text column holds ({limit} bytes)")]
    TextTooLarge { bytes: u64, limit: u64 },
}

/// A decoding error with its place, e.g.
/// `logs/a.json.gz: record 12, field eventTime: expected an ISO-8601 time, found "yesterday"`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{location}: {kind}")]
pub struct DecodeError {
    pub location: Location,
    pub kind: DecodeErrorKind,
}

impl DecodeError {
    pub fn in_file(file: &str, kind: DecodeErrorKind) -> Self {
        Self {
            location: Location {
                file: file.to_string(),
                ..Location::default()
            },
            kind,
        }
    }
}

/// An error inside one record before the file and record index are known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FieldError {
    pub field: String,
    pub kind: DecodeErrorKind,
}

impl FieldError {
    pub fn wrong_type(field: impl Into<String>, expected: &'static str, raw: &str) -> Self {
        let mut found = raw.trim().to_string();
        if found.len() > 80 {
            let mut cut = 77;
            while !found.is_char_boundary(cut) {
                cut -= 1;
            }
            found.truncate(cut);
            found.push_str("...");
        }
        Self {
            field: field.into(),
            kind: DecodeErrorKind::WrongType { expected, found },
        }
    }

    pub fn text_too_large(field: impl Into<String>, bytes: usize, limit: usize) -> Self {
        Self {
            field: field.into(),
            kind: DecodeErrorKind::TextTooLarge {
                bytes: bytes as u64,
                limit: limit as u64,
            },
        }
    }

    pub fn at(self, file: &str, record: usize) -> DecodeError {
        DecodeError {
            location: Location {
                file: file.to_string(),
                place: Some(RecordPlace::In(record)),
                field: Some(self.field),
            },
            kind: self.kind,
        }
    }
}
