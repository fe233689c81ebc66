//! The engine's limit on object reads in flight: open local files and S3 GETs, over all
//! partitions and queries of one engine.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// Reads in flight by default: enough for S3 latency on two to eight cores, few enough
/// for any file-descriptor limit.
pub const DEFAULT_CONCURRENT_READS: usize = 64;

#[derive(Debug)]
pub struct ReadGate {
    permits: Arc<Semaphore>,
    in_flight: AtomicUsize,
    peak: AtomicUsize,
}

/// One read's place at the gate; dropping it lets the next read in.
pub struct ReadPass<'g> {
    gate: &'g ReadGate,
    _permit: OwnedSemaphorePermit,
}

impl ReadGate {
    pub fn new(limit: usize) -> Self {
        Self {
            permits: Arc::new(Semaphore::new(limit.max(1))),
            in_flight: AtomicUsize::new(0),
            peak: AtomicUsize::new(0),
        }
    }

    pub async fn enter(&self) -> ReadPass<'_> {
        let permit = Arc::clone(&self.permits)
            .acquire_owned()
            .await
            .expect("the gate's semaphore is never closed");
        let now = self.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        self.peak.fetch_max(now, Ordering::SeqCst);
        ReadPass {
            gate: self,
            _permit: permit,
        }
    }

    /// From a blocking thread (a decoding partition reading its next local file).
    pub fn enter_blocking(&self) -> ReadPass<'_> {
        futures::executor::block_on(self.enter())
    }

    /// The most reads that were in flight at once.
    pub fn peak(&self) -> usize {
        self.peak.load(Ordering::SeqCst)
    }
}

impl Drop for ReadPass<'_> {
    fn drop(&mut self) {
        self.gate.in_flight.fetch_sub(1, Ordering::SeqCst);
    }
}
