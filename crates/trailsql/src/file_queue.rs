//! The files of a scan's partitions, shared while they run: a partition reads its own
//! files first, then takes the last ones of the partition with the most left. Planning
//! balances the groups by size, but a byte of one file costs more to decode than a byte of
//! another, and the machine's other load falls on one core at a time; with fixed groups,
//! one core idled for up to a fifth of a scan while the other finished.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use crate::source::LogObject;

/// Hands each execution of a scan's partitions its [`Round`] of files.
#[derive(Default)]
pub(crate) struct SharedFiles {
    current: Mutex<Option<Arc<Round>>>,
}

/// A copy of a plan is a new plan: it shares no files with the original.
impl Clone for SharedFiles {
    fn clone(&self) -> Self {
        Self::default()
    }
}

impl SharedFiles {
    /// The round partition `partition` reads from. Partitions that start together share
    /// one; a partition starting a second time (the plan executed again) starts a new
    /// round with every file, which the other partitions join when they start again.
    pub(crate) fn join(&self, groups: &[Vec<LogObject>], partition: usize) -> Arc<Round> {
        let mut current = lock(&self.current);
        let joined = |round: &Round| lock(&round.joined).get(partition).copied();
        let round = match current.as_ref() {
            Some(round) if joined(round) != Some(true) => Arc::clone(round),
            _ => {
                let round = Arc::new(Round::new(groups));
                *current = Some(Arc::clone(&round));
                round
            }
        };
        if let Some(joined) = lock(&round.joined).get_mut(partition) {
            *joined = true;
        }
        round
    }
}

/// One execution's files, a list per partition.
pub(crate) struct Round {
    lists: Vec<Mutex<VecDeque<LogObject>>>,
    /// The partitions that have started: only their files are taken by others, so a
    /// partition that never runs in this round keeps its files for the round it runs in.
    joined: Mutex<Vec<bool>>,
}

impl Round {
    fn new(groups: &[Vec<LogObject>]) -> Self {
        Self {
            lists: groups
                .iter()
                .map(|group| Mutex::new(group.iter().cloned().collect()))
                .collect(),
            joined: Mutex::new(vec![false; groups.len()]),
        }
    }

    /// The next file for `partition`: the first of its own, else the last of the started
    /// partition with the most left (the end its owner reaches last); `None` when no
    /// started partition has any left.
    pub(crate) fn next(&self, partition: usize) -> Option<LogObject> {
        // A partition the plan does not have reads nothing.
        let own = self.lists.get(partition)?;
        if let Some(object) = lock(own).pop_front() {
            return Some(object);
        }
        let joined = lock(&self.joined).clone();
        let mut others: Vec<(usize, usize)> = (0..self.lists.len())
            .filter(|&other| other != partition && joined[other])
            .map(|other| (lock(&self.lists[other]).len(), other))
            .filter(|&(left, _)| left > 0)
            .collect();
        others.sort_unstable_by(|a, b| b.cmp(a));
        // A list may empty between the count and the take: then the next one is tried.
        others
            .into_iter()
            .find_map(|(_, other)| lock(&self.lists[other]).pop_back())
    }
}

/// The lists hold no invariant a panic could break half-way.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn groups(sizes: &[usize]) -> Vec<Vec<LogObject>> {
        sizes
            .iter()
            .enumerate()
            .map(|(g, &n)| {
                (0..n)
                    .map(|i| LogObject::memory(format!("g{g}/f{i}"), Vec::new()))
                    .collect()
            })
            .collect()
    }

    fn names(round: &Round, partition: usize, n: usize) -> Vec<String> {
        (0..n)
            .map_while(|_| round.next(partition))
            .map(|o| o.location.to_string())
            .collect()
    }

    #[test]
    fn a_partition_reads_its_own_files_first_then_the_tail_of_the_fullest() {
        let groups = groups(&[2, 3, 5]);
        let shared = SharedFiles::default();
        let rounds: Vec<_> = (0..3).map(|p| shared.join(&groups, p)).collect();
        assert!(rounds.iter().all(|r| Arc::ptr_eq(r, &rounds[0])));
        let round = &rounds[0];
        assert_eq!(names(round, 0, 2), ["g0/f0", "g0/f1"]);
        // Partition 2 has five left, partition 1 three: the last of partition 2's first.
        assert_eq!(names(round, 0, 3), ["g2/f4", "g2/f3", "g2/f2"]);
        // Now both have two or three: the fullest is partition 1.
        assert_eq!(names(round, 0, 1), ["g1/f2"]);
        assert_eq!(names(round, 1, 2), ["g1/f0", "g1/f1"]);
        assert_eq!(names(round, 1, 9), ["g2/f1", "g2/f0"]);
        assert!(round.next(0).is_none() && round.next(2).is_none());
    }

    #[test]
    fn files_of_a_partition_that_has_not_started_are_left_to_it() {
        let groups = groups(&[1, 4]);
        let shared = SharedFiles::default();
        let round = shared.join(&groups, 0);
        assert_eq!(names(&round, 0, 9), ["g0/f0"]);
        let late = shared.join(&groups, 1);
        assert!(Arc::ptr_eq(&round, &late));
        assert_eq!(names(&late, 1, 9), ["g1/f0", "g1/f1", "g1/f2", "g1/f3"]);
    }

    #[test]
    fn executing_again_starts_a_round_with_every_file() {
        let groups = groups(&[3, 3]);
        let shared = SharedFiles::default();
        let first = shared.join(&groups, 0);
        shared.join(&groups, 1);
        assert_eq!(names(&first, 0, 9).len(), 6);
        let second = shared.join(&groups, 0);
        assert!(!Arc::ptr_eq(&first, &second));
        let again = shared.join(&groups, 1);
        assert!(Arc::ptr_eq(&second, &again));
        assert_eq!(names(&second, 1, 9).len(), 6);
        // A copy of the plan shares nothing with it.
        let copy = shared.clone().join(&groups, 1);
        assert!(!Arc::ptr_eq(&copy, &second));
    }

    #[test]
    fn a_partition_the_plan_lacks_reads_nothing() {
        let groups = groups(&[2]);
        let shared = SharedFiles::default();
        let stray = shared.join(&groups, 5);
        assert!(stray.next(5).is_none());
        let round = shared.join(&groups, 0);
        assert!(Arc::ptr_eq(&stray, &round));
        assert_eq!(names(&round, 0, 9), ["g0/f0", "g0/f1"]);
        assert!(SharedFiles::default().join(&[], 0).next(0).is_none());
    }

    #[test]
    fn every_file_is_taken_once_by_partitions_racing() {
        let groups = groups(&[500, 20, 300, 0]);
        let shared = SharedFiles::default();
        let taken: Vec<Vec<String>> = std::thread::scope(|scope| {
            let workers: Vec<_> = (0..4)
                .map(|p| {
                    let round = shared.join(&groups, p);
                    scope.spawn(move || names(&round, p, usize::MAX))
                })
                .collect();
            workers.into_iter().map(|w| w.join().unwrap()).collect()
        });
        let mut all: Vec<String> = taken.into_iter().flatten().collect();
        all.sort();
        let mut expected: Vec<String> = groups
            .iter()
            .flatten()
            .map(|o| o.location.to_string())
            .collect();
        expected.sort();
        assert_eq!(all, expected);
    }
}
