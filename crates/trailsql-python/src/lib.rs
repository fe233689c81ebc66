//! Python bindings of trailsql (`import trailsql`): the engine in notebooks, results as
//! Arrow through the PyCapsule interface. See `docs/python.md`.

mod check;
mod connection;
mod errors;
mod export;
mod generate;
mod html;
mod provider;
mod result;
mod run;
mod runtime;
mod stats;
mod table;
mod values;

use pyo3::prelude::*;

#[pymodule]
fn _trailsql(module: &Bound<'_, PyModule>) -> PyResult<()> {
    module.add_function(wrap_pyfunction!(connection::connect, module)?)?;
    module.add_function(wrap_pyfunction!(check::test_queries, module)?)?;
    module.add_function(wrap_pyfunction!(generate::generate_trail, module)?)?;
    module.add_class::<connection::Connection>()?;
    module.add_class::<connection::Column>()?;
    module.add_class::<result::QueryResult>()?;
    module.add_class::<result::RowIterator>()?;
    module.add_class::<table::Table>()?;
    module.add_class::<stats::Stats>()?;
    module.add_class::<check::CheckReport>()?;
    module.add_class::<check::CheckRun>()?;
    module.add_class::<check::TestReport>()?;
    errors::register(module)?;
    module.add("__version__", env!("CARGO_PKG_VERSION"))?;
    module.add("datafusion_version", datafusion_ffi::version())?;
    Ok(())
}
