//! `trailsql.generate_trail()`: the `trailsql generate` command, for benchmarks and tests.

use std::path::PathBuf;

use pyo3::exceptions::{PyOSError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::PyDict;
use trailsql::generate::{Mix, TRAIL_ACCOUNTS, TRAIL_REGIONS, TrailSpec, write_trail_on};

/// Writes a deterministic generated trail in CloudTrail's S3 layout under `folder`
/// (`AWSLogs/...`), as `trailsql generate` does; returns `{"files", "events", "bytes"}`.
///
/// realistic: a real account's mix (a long tail of read calls over 30 services, every
///     identity type, errors, heavy-tailed file sizes) instead of the fixture mix.
/// start: the first day, an ISO-8601 date.
#[pyfunction]
#[pyo3(signature = (
    folder,
    accounts = 3,
    regions = 3,
    days = 1,
    files_per_day = 24,
    events_per_file = 50,
    start = "2024-01-01",
    seed = 1,
    realistic = false,
))]
#[allow(clippy::too_many_arguments)]
pub fn generate_trail<'py>(
    py: Python<'py>,
    folder: PathBuf,
    accounts: usize,
    regions: usize,
    days: usize,
    files_per_day: usize,
    events_per_file: usize,
    start: &str,
    seed: u64,
    realistic: bool,
) -> PyResult<Bound<'py, PyDict>> {
    let start = trailsql::check::parse_time(start, 0)
        .map_err(|e| PyValueError::new_err(format!("start: {e}")))?;
    let spec = TrailSpec {
        seed,
        accounts: accounts.clamp(1, TRAIL_ACCOUNTS.len()),
        regions: regions.clamp(1, TRAIL_REGIONS.len()),
        days,
        files_per_day,
        events_per_file,
        start_epoch_seconds: start / 1_000_000,
        mix: if realistic {
            Mix::Realistic
        } else {
            Mix::Fixture
        },
        varied_sizes: realistic,
    };
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let written = py
        .detach(|| write_trail_on(&folder, &spec, threads))
        .map_err(|e| PyOSError::new_err(format!("{}: {e}", folder.display())))?;
    let report = PyDict::new(py);
    report.set_item("files", written.files)?;
    report.set_item("events", written.events)?;
    report.set_item("bytes", written.bytes)?;
    Ok(report)
}
