//! The floor for any reader of gzipped CloudTrail: inflate every file under the given
//! paths with flate2 + zlib-rs, one call per member, on all cores, and do nothing else.
//! The scan benchmark compares trailsql's queries against this (issue 6's floor), and
//! against `--ours`: the decoder's own inflate (libdeflate, zlib-rs where it declines),
//! which is what a query pays before decoding.
//!
//! `cargo run --release -p trailsql-decode --example inflate_floor -- DIR... [--threads N] [--reader|--ours]`

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
    // `--reader`: flate2's `MultiGzDecoder` read to the end instead, as most programs
    // inflate, for comparison.
    let reader = match args.iter().position(|a| a == "--reader") {
        Some(i) => {
            args.remove(i);
            true
        }
        None => false,
    };
    let ours = match args.iter().position(|a| a == "--ours") {
        Some(i) => {
            args.remove(i);
            true
        }
        None => false,
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
                    if reader && trailsql_decode::is_gzip(&bytes) {
                        use std::io::Read;
                        buffer.clear();
                        flate2::read::MultiGzDecoder::new(&bytes[..])
                            .read_to_end(&mut buffer)
                            .expect("valid gzip");
                    } else {
                        let spare = std::mem::take(&mut buffer);
                        buffer = if ours {
                            trailsql_decode::maybe_inflate_into(bytes, u64::MAX, spare)
                        } else {
                            trailsql_decode::maybe_inflate_with_zlib_into(bytes, u64::MAX, spare)
                        }
                        .expect("valid gzip");
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
