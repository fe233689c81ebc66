//! The floor for any reader of gzipped CloudTrail: inflate every file under the given
//! paths with flate2 + zlib-rs on all cores and do nothing else. The scan benchmark
//! compares trailsql's queries against this.
//!
//! `cargo run --release -p trailsql-decode --example inflate_floor -- DIR... [--threads N]`

use std::io::Read;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

fn main() {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let threads = match args.iter().position(|a| a == "--threads") {
        Some(i) => {
            let n = args[i + 1].parse().expect("--threads N");
            args.drain(i..=i + 1);
            n
        }
        None => std::thread::available_parallelism().map_or(1, |n| n.get()),
    };
    let mut files = Vec::new();
    for root in &args {
        collect(PathBuf::from(root), &mut files);
    }
    // Largest first, as a size-balanced scan would schedule them.
    files.sort_by_key(|(_, size)| std::cmp::Reverse(*size));
    let next = AtomicUsize::new(0);
    let inflated = AtomicU64::new(0);
    let read = AtomicU64::new(0);
    std::thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|| {
                let mut buffer = Vec::new();
                while let Some((path, _)) = files.get(next.fetch_add(1, Ordering::Relaxed)) {
                    let bytes = std::fs::read(path).expect("readable file");
                    read.fetch_add(bytes.len() as u64, Ordering::Relaxed);
                    buffer.clear();
                    if bytes.starts_with(&[0x1f, 0x8b]) {
                        flate2::read::MultiGzDecoder::new(&bytes[..])
                            .read_to_end(&mut buffer)
                            .expect("valid gzip");
                    } else {
                        buffer.extend_from_slice(&bytes);
                    }
                    inflated.fetch_add(buffer.len() as u64, Ordering::Relaxed);
                }
            });
        }
    });
    println!(
        "files={} read_bytes={} inflated_bytes={}",
        files.len(),
        read.load(Ordering::Relaxed),
        inflated.load(Ordering::Relaxed)
    );
}

fn collect(path: PathBuf, files: &mut Vec<(PathBuf, u64)>) {
    let meta = std::fs::metadata(&path).expect("readable path");
    if meta.is_dir() {
        for entry in std::fs::read_dir(&path).expect("readable folder") {
            collect(entry.expect("folder entry").path(), files);
        }
    } else {
        files.push((path, meta.len()));
    }
}
