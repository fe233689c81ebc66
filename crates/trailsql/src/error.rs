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
    #[error("{path}: cannot read: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Decode(#[from] DecodeError),
    #[error(transparent)]
    DataFusion(#[from] datafusion::error::DataFusionError),
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
        _ => None,
    }
}
