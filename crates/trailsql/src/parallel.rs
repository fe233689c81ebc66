//! Work shared over a few scoped threads: each takes the next item from a common counter,
//! so one slow item never leaves a core idle while another thread still has a queue.

use std::sync::atomic::{AtomicUsize, Ordering};

/// Runs `step` over `items` on `threads` threads, each with its own state from `init`;
/// a thread stops when the items run out or `step` returns `false`. Returns every
/// thread's state.
pub(crate) fn drain<T: Sync, S: Send>(
    items: &[T],
    threads: usize,
    init: impl Fn() -> S + Sync,
    step: impl Fn(&mut S, &T) -> bool + Sync,
) -> Vec<S> {
    let next = AtomicUsize::new(0);
    std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads.max(1))
            .map(|_| {
                scope.spawn(|| {
                    let mut state = init();
                    while let Some(item) = items.get(next.fetch_add(1, Ordering::Relaxed)) {
                        if !step(&mut state, item) {
                            break;
                        }
                    }
                    state
                })
            })
            .collect();
        workers
            .into_iter()
            .map(|w| w.join().expect("worker thread"))
            .collect()
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_item_is_taken_once() {
        let items: Vec<u64> = (1..=1000).collect();
        let sums = super::drain(
            &items,
            3,
            || 0u64,
            |sum, item| {
                *sum += item;
                true
            },
        );
        assert_eq!(sums.len(), 3);
        assert_eq!(sums.iter().sum::<u64>(), 500_500);
    }
}
