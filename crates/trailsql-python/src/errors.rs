//! The exception hierarchy, and how library errors map onto it.
//!
//! ```text
//! trailsql.Error                 anything trailsql raises for a failed operation
//! ├── trailsql.SourceError       a source cannot be found, listed or read (.path)
//! ├── trailsql.DecodeError       a log file or record is malformed (.file, .record, .field)
//! ├── trailsql.QueryError        SQL that does not parse, plan or run
//! │   └── trailsql.ReadOnlyError a statement a read-only connection refuses
//! └── trailsql.InteropError      another Arrow or DataFusion library cannot take our data
//! ```
//! Bad arguments raise `ValueError`/`TypeError`, a missing optional package `ImportError`,
//! and Ctrl-C `KeyboardInterrupt`, as Python code expects.

use pyo3::create_exception;
use pyo3::exceptions::PyException;
use pyo3::prelude::*;

create_exception!(
    trailsql,
    Error,
    PyException,
    "Base class of the errors trailsql raises."
);
create_exception!(
    trailsql,
    SourceError,
    Error,
    "A source cannot be found, listed or read; `.path` names it."
);
create_exception!(
    trailsql,
    DecodeError,
    Error,
    "A log file or record is malformed; `.file`, `.record` (0-based), `.after_record` and `.field` say where."
);
create_exception!(
    trailsql,
    QueryError,
    Error,
    "SQL that does not parse, plan or run."
);
create_exception!(
    trailsql,
    ReadOnlyError,
    QueryError,
    "A statement that writes or changes the catalog, refused by a read-only connection."
);
create_exception!(
    trailsql,
    InteropError,
    Error,
    "Another Arrow or DataFusion library cannot take trailsql's data."
);

pub fn register(module: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = module.py();
    module.add("Error", py.get_type::<Error>())?;
    module.add("SourceError", py.get_type::<SourceError>())?;
    module.add("DecodeError", py.get_type::<DecodeError>())?;
    module.add("QueryError", py.get_type::<QueryError>())?;
    module.add("ReadOnlyError", py.get_type::<ReadOnlyError>())?;
    module.add("InteropError", py.get_type::<InteropError>())?;
    Ok(())
}

/// The Python exception for a library error, with its place as attributes.
pub fn to_py(error: trailsql::Error) -> PyErr {
    Python::attach(|py| {
        let message = error.to_string();
        if let Some(decode) = error.decode_error() {
            let err = DecodeError::new_err(message);
            let value = err.value(py);
            let location = &decode.location;
            let _ = value.setattr("file", location.file.as_str());
            let _ = value.setattr("record", location.record());
            let _ = value.setattr("after_record", location.after_record());
            let _ = value.setattr("field", location.field.as_deref());
            return err;
        }
        match &error {
            trailsql::Error::NotFound { path }
            | trailsql::Error::Io { path, .. }
            | trailsql::Error::NoMatch { pattern: path }
            | trailsql::Error::BadGlob { pattern: path, .. }
            | trailsql::Error::S3 { location: path, .. }
            | trailsql::Error::Changed { location: path, .. }
            | trailsql::Error::Store { location: path, .. } => {
                let err = SourceError::new_err(message);
                let _ = err.value(py).setattr("path", path.as_str());
                err
            }
            trailsql::Error::ReadOnly { .. } => ReadOnlyError::new_err(message),
            trailsql::Error::Decode(_) | trailsql::Error::DataFusion(_) => {
                QueryError::new_err(message)
            }
        }
    })
}

/// Maps a `Result` of the library into a `PyResult`.
pub trait IntoPy<T> {
    fn py_err(self) -> PyResult<T>;
}

impl<T> IntoPy<T> for Result<T, trailsql::Error> {
    fn py_err(self) -> PyResult<T> {
        self.map_err(to_py)
    }
}
