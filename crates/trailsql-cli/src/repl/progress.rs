//! The progress line on stderr while a scan runs longer than half a second.

use std::io::Write;
use std::time::{Duration, Instant};

use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use trailsql::{QueryProgress, ScanStats};

const DELAY: Duration = Duration::from_millis(500);
const TICK: Duration = Duration::from_millis(100);

pub struct Progress {
    stop: oneshot::Sender<()>,
    task: JoinHandle<()>,
}

pub fn start(query: QueryProgress, started: Instant) -> Progress {
    let (stop, mut stopped) = oneshot::channel();
    let task = tokio::spawn(async move {
        let mut shown = false;
        loop {
            tokio::select! {
                _ = &mut stopped => break,
                _ = tokio::time::sleep(TICK) => {}
            }
            let elapsed = started.elapsed();
            if elapsed < DELAY {
                continue;
            }
            eprint!("\r\x1b[2K{}", line(&query.stats(), elapsed));
            let _ = std::io::stderr().flush();
            shown = true;
        }
        if shown {
            clear();
        }
    });
    Progress { stop, task }
}

impl Progress {
    pub async fn finish(self) {
        let _ = self.stop.send(());
        let _ = self.task.await;
    }
}

/// Erases the progress line.
pub fn clear() {
    eprint!("\r\x1b[2K");
    let _ = std::io::stderr().flush();
}

fn bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KB", "MB", "GB", "TB"];
    let mut value = n as f64;
    let mut unit = 0;
    while value >= 1000.0 && unit < UNITS.len() - 1 {
        value /= 1000.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{n} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

/// `12/40 files, 3.1 MB of 9.8 MB (2.4 MB/s), 120000 events, 1.3s`
pub fn line(stats: &ScanStats, elapsed: Duration) -> String {
    let seconds = elapsed.as_secs_f64().max(0.001);
    format!(
        "{}/{} files, {} of {} ({}/s), {} events, {:.1}s  (Ctrl-C cancels)",
        stats.files_read,
        stats.files_listed,
        bytes(stats.bytes_read),
        bytes(stats.bytes_listed),
        bytes((stats.bytes_read as f64 / seconds) as u64),
        stats.events,
        seconds
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_line_says_files_bytes_rate_and_time() {
        let stats = ScanStats {
            files_listed: 40,
            files_read: 12,
            bytes_listed: 9_800_000,
            bytes_read: 3_100_000,
            events: 120_000,
            ..ScanStats::default()
        };
        assert_eq!(
            line(&stats, Duration::from_millis(1500)),
            "12/40 files, 3.1 MB of 9.8 MB (2.1 MB/s), 120000 events, 1.5s  (Ctrl-C cancels)"
        );
    }
}
