//! The decoder alone over a trail, on all cores: inflate and decode every file under the
//! given paths into the named columns and drop the batches. For profiling the scan
//! without DataFusion's planning and aggregation around it.
//!
//! `cargo run --release -p trailsql-decode --example decode_trail -- DIR... --columns a,b [--filter column=value|column=prefix*|column!=] [--threads N]`
//!
//! `requestparameters_x_y` columns are added to the schema as the query names them.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use trailsql_decode::{CloudTrailDecoder, CloudTrailSchema, DecoderOptions, TextFilter, TextTest};

fn main() {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let mut take = |flag: &str| {
        let i = args.iter().position(|a| a == flag)?;
        let value = args.get(i + 1).cloned();
        args.drain(i..(i + 2).min(args.len()));
        value
    };
    let threads = take("--threads").map_or_else(
        || std::thread::available_parallelism().map_or(1, |n| n.get()),
        |n| n.parse().expect("--threads N"),
    );
    let columns: Vec<String> = take("--columns")
        .unwrap_or_default()
        .split(',')
        .filter(|c| !c.is_empty())
        .map(str::to_string)
        .collect();
    let filter = take("--filter");
    let parameter_paths: Vec<Vec<String>> = columns
        .iter()
        .filter_map(|c| c.strip_prefix("requestparameters_"))
        .map(|rest| rest.split('_').map(str::to_string).collect())
        .collect();
    let schema = CloudTrailSchema::new(&parameter_paths);
    let projection: Vec<usize> = columns
        .iter()
        .map(|c| {
            schema
                .index_of(c)
                .unwrap_or_else(|| panic!("no column {c}"))
        })
        .collect();
    let filters: Vec<TextFilter> = filter
        .iter()
        .map(|f| {
            // `column=value`, `column=prefix*` or `column!=`(not NULL).
            let (column, value) = f.split_once('=').expect("--filter column=value");
            let test = match (column.strip_suffix('!'), value.strip_suffix('*')) {
                (Some(_), _) => TextTest::NotNull,
                (None, Some(prefix)) => TextTest::StartsWith(prefix.to_string()),
                (None, None) => TextTest::OneOf(vec![value.to_string()]),
            };
            let column = column.trim_end_matches('!');
            TextFilter {
                column: schema.index_of(column).expect("filter column"),
                test,
            }
        })
        .collect();
    let mut files = Vec::new();
    for root in &args {
        collect(PathBuf::from(root), &mut files);
    }
    files.sort_by_key(|(_, size)| std::cmp::Reverse(*size));
    let next = AtomicUsize::new(0);
    let rows = AtomicU64::new(0);
    let started = std::time::Instant::now();
    std::thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|| {
                let mut decoder = CloudTrailDecoder::with_filters(
                    &schema,
                    Some(&projection),
                    &filters,
                    DecoderOptions::default(),
                );
                let mut count = |batch: arrow_array::RecordBatch| {
                    rows.fetch_add(batch.num_rows() as u64, Ordering::Relaxed);
                };
                while let Some((path, _)) = files.get(next.fetch_add(1, Ordering::Relaxed)) {
                    let bytes = std::fs::read(path).expect("readable file");
                    let name = path.to_string_lossy();
                    decoder
                        .decode_file(&name, bytes, &mut count)
                        .expect("decodable file");
                }
                if let Some(batch) = decoder.flush() {
                    count(batch);
                }
            });
        }
    });
    println!(
        "files={} rows={} seconds={:.3}",
        files.len(),
        rows.load(Ordering::Relaxed),
        started.elapsed().as_secs_f64()
    );
}

fn collect(path: PathBuf, files: &mut Vec<(PathBuf, u64)>) {
    let meta = std::fs::metadata(&path).expect("readable path");
    if meta.is_dir() {
        for entry in std::fs::read_dir(&path).expect("readable folder") {
            collect(entry.expect("folder entry").path(), files);
        }
    } else if path.extension().is_some_and(|e| e == "gz" || e == "json") {
        files.push((path, meta.len()));
    }
}
