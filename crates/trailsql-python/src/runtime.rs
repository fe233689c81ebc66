//! The one tokio runtime every connection shares, and waiting on it from Python.

use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;
use tokio::runtime::Runtime;

/// How often a waiting call looks for Ctrl-C.
const SIGNAL_CHECK: Duration = Duration::from_millis(50);

/// The runtime and the process that built it. A forked child has the parent's memory but
/// none of its threads, so it builds its own runtime and leaks the parent's: dropping it
/// would wait for worker threads that do not exist in the child.
static RUNTIME: Mutex<Option<(u32, Arc<Runtime>)>> = Mutex::new(None);

pub fn runtime() -> PyResult<Arc<Runtime>> {
    let pid = std::process::id();
    // A child forked while another thread held the lock inherits it poisoned or held;
    // poisoning is harmless here because the value is replaced below.
    let mut slot = RUNTIME.lock().unwrap_or_else(|e| e.into_inner());
    if let Some((owner, runtime)) = slot.as_ref()
        && *owner == pid
    {
        return Ok(Arc::clone(runtime));
    }
    if let Some((_, inherited)) = slot.take() {
        std::mem::forget(inherited);
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .thread_name("trailsql")
        .enable_all()
        .build()
        .map_err(|e| PyRuntimeError::new_err(format!("cannot start the runtime: {e}")))?;
    let runtime = Arc::new(runtime);
    *slot = Some((pid, Arc::clone(&runtime)));
    Ok(runtime)
}

/// Runs `future` to completion on the shared runtime with the GIL released, so other
/// Python threads run meanwhile. Ctrl-C (or any signal whose handler raises) aborts the
/// task, which drops the query and frees what it held, and raises the handler's exception
/// (`KeyboardInterrupt`).
pub fn wait<T, F>(py: Python<'_>, future: F) -> PyResult<T>
where
    T: Send + 'static,
    F: Future<Output = T> + Send + 'static,
{
    let runtime = runtime()?;
    let mut task = runtime.spawn(future);
    loop {
        let finished = py.detach(|| {
            runtime.block_on(async { tokio::time::timeout(SIGNAL_CHECK, &mut task).await })
        });
        match finished {
            Ok(Ok(value)) => return Ok(value),
            Ok(Err(error)) if error.is_panic() => {
                return Err(PyRuntimeError::new_err(format!(
                    "internal error in trailsql (please report it): {}",
                    panic_message(error.into_panic())
                )));
            }
            Ok(Err(error)) => return Err(PyRuntimeError::new_err(error.to_string())),
            Err(_still_running) => {
                if let Err(interrupt) = py.check_signals() {
                    task.abort();
                    return Err(interrupt);
                }
            }
        }
    }
}

fn panic_message(payload: Box<dyn std::any::Any + Send>) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic".to_string())
}
