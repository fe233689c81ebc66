use trailsql_decode::DecodeError;

/// Errors of the trailsql library.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{path}: no such file or folder")]
    NotFound { path: String },
    #[error("{pattern}: no file matches this pattern")]
    NoMatch { pattern: String },
    #[error("{pattern}: invalid glob pattern: {message}")]
    BadGlob { pattern: String, message: String },
    /// The cause is part of the message, not a `source()`: chained reports (anyhow's
    /// `{:#}`) would print it twice.
    #[error("{path}: cannot read: {error}")]
    Io { path: String, error: std::io::Error },
    #[error("{location}: {message}")]
    S3 { location: String, message: String },
    /// An object whose size is not what it was listed at: written to while the query ran.
    #[error("{location}: changed while being read: listed at {listed} bytes, read {read}")]
    Changed {
        location: String,
        listed: u64,
        read: u64,
    },
    /// Converted Parquet or the Parquet cache: a file or manifest record that cannot be
    /// read or written.
    #[error("{location}: {message}")]
    Store { location: String, message: String },
    /// A statement that writes or changes the catalog, refused by a read-only engine.
    #[error("read-only: {statement} is not allowed (statements may only read the sources)")]
    ReadOnly { statement: String },
    #[error(transparent)]
    Decode(#[from] DecodeError),
    /// Shown as [`sql_message`] says, with no `source()`: DataFusion's messages already
    /// hold their causes, and chained reports would print each one again.
    #[error("{}", sql_message(.0))]
    DataFusion(datafusion::error::DataFusionError),
}

/// More valid fields than this are counted, not listed, when a name is not found.
const LISTED_FIELDS: usize = 20;

/// What went wrong with a statement, said once: DataFusion's root cause (the contexts
/// around it, such as `type_coercion`, say where planning failed, not why), with the list
/// of valid names an unknown name comes with only when it is short. The cloudtrail table
/// has hundreds of columns; the closest one is still suggested.
fn sql_message(error: &datafusion::error::DataFusionError) -> String {
    use datafusion::common::SchemaError;
    use datafusion::error::DataFusionError;
    let root = error.find_root();
    let message = root.strip_backtrace();
    if let DataFusionError::SchemaError(schema_error, _) = root
        && let SchemaError::FieldNotFound { valid_fields, .. } = schema_error.as_ref()
        && valid_fields.len() > LISTED_FIELDS
        && let Some((head, _)) = message.split_once("\nValid fields are ")
    {
        let mut tables: Vec<String> = valid_fields
            .iter()
            .filter_map(|field| field.relation.as_ref().map(|t| t.table().to_string()))
            .collect();
        tables.dedup();
        let hint = match tables.as_slice() {
            [table] => format!("; `DESCRIBE {table}` lists them"),
            _ => String::new(),
        };
        return format!("{head}\n{} columns are in scope{hint}.", valid_fields.len());
    }
    message
}

impl From<datafusion::error::DataFusionError> for Error {
    /// Decoding errors travel through DataFusion wrapped; unwrap them so the user sees
    /// the file, record and field once, not behind "External error".
    fn from(error: datafusion::error::DataFusionError) -> Self {
        if let Some(decode) = find_decode_error(&error) {
            return Error::Decode(decode.clone());
        }
        if let Some(io) = find_io_error(&error) {
            return io;
        }
        Error::DataFusion(error)
    }
}

fn find_io_error(error: &datafusion::error::DataFusionError) -> Option<Error> {
    use datafusion::error::DataFusionError;
    match error {
        DataFusionError::External(inner) => match inner.downcast_ref::<Error>()? {
            Error::Io { path, error } => Some(Error::Io {
                path: path.clone(),
                error: std::io::Error::new(error.kind(), error.to_string()),
            }),
            Error::S3 { location, message } => Some(Error::S3 {
                location: location.clone(),
                message: message.clone(),
            }),
            Error::Changed {
                location,
                listed,
                read,
            } => Some(Error::Changed {
                location: location.clone(),
                listed: *listed,
                read: *read,
            }),
            _ => None,
        },
        DataFusionError::Context(_, inner) => find_io_error(inner),
        DataFusionError::Shared(inner) => find_io_error(inner),
        _ => None,
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// The decoding error behind this error, if there is one, however DataFusion wrapped it.
    pub fn decode_error(&self) -> Option<&DecodeError> {
        match self {
            Error::Decode(error) => Some(error),
            Error::DataFusion(error) => find_decode_error(error),
            _ => None,
        }
    }
}

fn find_decode_error(error: &datafusion::error::DataFusionError) -> Option<&DecodeError> {
    use datafusion::error::DataFusionError;
    match error {
        DataFusionError::External(inner) => inner.downcast_ref::<DecodeError>(),
        DataFusionError::Context(_, inner) => find_decode_error(inner),
        DataFusionError::Shared(inner) => find_decode_error(inner),
        DataFusionError::ArrowError(inner, _) => match inner.as_ref() {
            datafusion::arrow::error::ArrowError::ExternalError(e) => {
                e.downcast_ref::<DecodeError>()
            }
            _ => None,
        },
        _ => None,
    }
}
