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

/// How many store objects one partition fetches ahead of its decoder. Each object holds a
/// slot until it is decoded or ruled out. A query whose filters tighten as rows arrive (a
/// TopK on the time) starts with one slot, and the window doubles as each object is done:
/// the first objects set the TopK's bar, and each later object is checked against the bar
/// when its slot comes, before its GET. Otherwise the window is at its widest from the
/// start.
#[derive(Debug)]
pub(crate) struct ReadAhead {
    slots: Arc<Semaphore>,
    window: AtomicUsize,
    widest: usize,
}

/// One object's room ahead of the decoder; dropping it frees the room and widens the
/// window.
pub(crate) struct AheadSlot {
    ahead: Arc<ReadAhead>,
    permit: Option<OwnedSemaphorePermit>,
}

impl ReadAhead {
    pub(crate) fn new(widest: usize, starts_narrow: bool) -> Self {
        let widest = widest.max(1);
        let first = if starts_narrow { 1 } else { widest };
        Self {
            slots: Arc::new(Semaphore::new(first)),
            window: AtomicUsize::new(first),
            widest,
        }
    }

    /// Waits for room ahead of the decoder.
    pub(crate) async fn slot(self: &Arc<Self>) -> AheadSlot {
        let permit = Arc::clone(&self.slots)
            .acquire_owned()
            .await
            .expect("the read-ahead semaphore is never closed");
        AheadSlot {
            ahead: Arc::clone(self),
            permit: Some(permit),
        }
    }

    fn widen(&self) {
        let doubled = |window: usize| (window * 2).min(self.widest);
        let grown = self
            .window
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |window| {
                (window < self.widest).then(|| doubled(window))
            });
        if let Ok(before) = grown {
            self.slots.add_permits(doubled(before) - before);
        }
    }

    /// Objects that may be fetched or waiting to be decoded at once, now.
    #[cfg(test)]
    fn window(&self) -> usize {
        self.window.load(Ordering::SeqCst)
    }
}

impl Drop for AheadSlot {
    fn drop(&mut self) {
        drop(self.permit.take());
        self.ahead.widen();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_narrow_window_doubles_with_each_decoded_object() {
        let ahead = Arc::new(ReadAhead::new(16, true));
        let mut widths = vec![ahead.window()];
        for _ in 0..6 {
            let slot = ahead.slot().await;
            assert!(
                ahead.slots.available_permits() < ahead.window(),
                "the slot is held"
            );
            drop(slot);
            widths.push(ahead.window());
        }
        assert_eq!(widths, [1, 2, 4, 8, 16, 16, 16]);
        let held: Vec<_> = (0..16)
            .map(|_| ahead.slots.try_acquire().unwrap())
            .collect();
        assert!(ahead.slots.try_acquire().is_err(), "never wider than 16");
        drop(held);
    }

    #[tokio::test]
    async fn a_wide_window_starts_at_its_widest() {
        let ahead = Arc::new(ReadAhead::new(4, false));
        let mut held = Vec::new();
        for _ in 0..4 {
            held.push(ahead.slot().await);
        }
        assert!(ahead.slots.try_acquire().is_err());
        held.pop();
        assert_eq!(ahead.window(), 4, "already at its widest");
        assert_eq!(ahead.slots.available_permits(), 1);
    }
}
