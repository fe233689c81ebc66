//! Handing Arrow data to other libraries: the Arrow PyCapsule interface out, and the
//! optional dataframe libraries, imported only when a method needs them.

use std::sync::Arc;

use arrow_array::{ArrayRef, RecordBatchReader, StructArray};
use arrow_schema::{Field, SchemaRef};
use pyo3::exceptions::PyImportError;
use pyo3::prelude::*;
use pyo3::types::PyCapsule;
use pyo3_arrow::ffi::{ArrayIterator, to_schema_pycapsule, to_stream_pycapsule};

use crate::errors::InteropError;

/// An `arrow_array_stream` capsule over `reader`, cast to `requested_schema` when the
/// consumer asks for one and the types can be cast.
pub fn stream_capsule<'py>(
    py: Python<'py>,
    reader: Box<dyn RecordBatchReader + Send>,
    requested_schema: Option<Bound<'py, PyCapsule>>,
) -> PyResult<Bound<'py, PyCapsule>> {
    let schema = reader.schema();
    let arrays = reader.map(|batch| {
        let array: ArrayRef = Arc::new(StructArray::from(batch?));
        Ok(array)
    });
    let field = Field::new_struct("", schema.fields().clone(), false)
        .with_metadata(schema.metadata.clone());
    let arrays = Box::new(ArrayIterator::new(arrays, Arc::new(field)));
    to_stream_pycapsule(py, arrays, requested_schema)
        .map_err(|e| InteropError::new_err(PyErr::from(e).to_string()))
}

pub fn schema_capsule<'py>(py: Python<'py>, schema: &SchemaRef) -> PyResult<Bound<'py, PyCapsule>> {
    to_schema_pycapsule(py, schema.as_ref())
        .map_err(|e| InteropError::new_err(PyErr::from(e).to_string()))
}

/// Imports an optional package, or says which to install for `method`.
fn import<'py>(
    py: Python<'py>,
    module: &str,
    method: &str,
    install: &str,
) -> PyResult<Bound<'py, PyModule>> {
    py.import(module).map_err(|error| {
        if error.is_instance_of::<PyImportError>(py) {
            PyImportError::new_err(format!("{method}() needs {module}: pip install {install}"))
        } else {
            error
        }
    })
}

/// `pyarrow.table(source)`, for any object with `__arrow_c_stream__`.
pub fn pyarrow_table<'py>(
    py: Python<'py>,
    source: &Bound<'py, PyAny>,
    method: &str,
) -> PyResult<Bound<'py, PyAny>> {
    let pyarrow = import(py, "pyarrow", method, "pyarrow")?;
    pyarrow.call_method1("table", (source,))
}

pub fn pandas<'py>(py: Python<'py>, source: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
    import(py, "pandas", "to_pandas", "pandas pyarrow")?;
    pyarrow_table(py, source, "to_pandas")?.call_method0("to_pandas")
}

pub fn polars<'py>(py: Python<'py>, source: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
    let polars = import(py, "polars", "to_polars", "polars")?;
    polars.call_method1("DataFrame", (source,))
}
