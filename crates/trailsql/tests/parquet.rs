//! Converted Parquet and the Parquet cache: every query over them answers as the raw
//! logs do; conversion is incremental, follows changed objects and splits into shards;
//! the cache serves exactly the objects a query lists; DuckDB reads what `convert` writes.

use std::path::{Path, PathBuf};

use trailsql::generate::{TrailSpec, write_trail};
use trailsql::parquet::convert::{ConvertOptions, ConvertReport, Shard};
use trailsql::{Engine, EngineOptions, OnError, ScanStats};

const JAN_7: i64 = 1_704_585_600; // 2024-01-07T00:00:00Z

/// A trail in CloudTrail's layout, and every envelope shape beside it, outside the layout.
fn sources() -> (tempfile::TempDir, Vec<String>) {
    let dir = tempfile::tempdir().unwrap();
    let spec = TrailSpec {
        seed: 23,
        accounts: 2,
        regions: 2,
        days: 2,
        files_per_day: 6,
        events_per_file: 7,
        start_epoch_seconds: JAN_7,
        ..TrailSpec::default()
    };
    write_trail(&dir.path().join("trail"), &spec).unwrap();
    let shapes = dir.path().join("shapes");
    std::fs::create_dir(&shapes).unwrap();
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/shapes");
    for entry in std::fs::read_dir(fixtures).unwrap() {
        let path = entry.unwrap().path();
        std::fs::copy(&path, shapes.join(path.file_name().unwrap())).unwrap();
    }
    let sources = vec![
        dir.path().join("trail").display().to_string(),
        shapes.display().to_string(),
    ];
    (dir, sources)
}

fn options() -> EngineOptions {
    EngineOptions {
        target_partitions: Some(2),
        ..EngineOptions::default()
    }
}

async fn open(sources: &[String], options: EngineOptions) -> Engine {
    Engine::open(sources, options).await.unwrap()
}

/// Rows as sorted JSON text: the same multiset of rows, in any order.
async fn rows(engine: &Engine, sql: &str) -> (Vec<String>, ScanStats) {
    let (batches, stats) = engine.sql(sql).await.unwrap().collect().await.unwrap();
    let mut rows: Vec<String> = trailsql::results::json_rows(&batches)
        .unwrap()
        .iter()
        .map(|row| row.to_string())
        .collect();
    rows.sort();
    (rows, stats)
}

const QUERIES: &[&str] = &[
    "SELECT * FROM cloudtrail",
    "SELECT count(*) AS n, count(DISTINCT eventid) AS ids FROM cloudtrail",
    "SELECT eventsource, eventname, count(*) AS n FROM cloudtrail GROUP BY 1, 2",
    "SELECT useridentity_arn, sourceipaddress FROM cloudtrail WHERE useridentity_type = 'AssumedRole'",
    "SELECT eventname, errorcode FROM cloudtrail WHERE eventtime >= '2024-01-07T06:00:00Z' AND eventtime < '2024-01-07T09:00:00Z'",
    "SELECT count(*) FROM cloudtrail WHERE recipientaccountid = '111122223333' AND awsregion = 'us-east-1'",
    "SELECT eventname, sourceipaddress FROM cloudtrail WHERE eventname = 'AssumeRole' AND errorcode IS NULL",
    "SELECT json_extract_scalar(requestparameters, '$.roleArn') AS role FROM cloudtrail WHERE requestparameters IS NOT NULL",
    "SELECT userIdentity.sessionContext.sessionIssuer.userName AS issuer, count(*) FROM cloudtrail GROUP BY 1",
    "SELECT log_file, log_account, log_region, log_date, count(*) FROM cloudtrail GROUP BY 1, 2, 3, 4",
];

async fn assert_same_answers(raw: &Engine, other: &Engine) {
    for sql in QUERIES {
        let (want, _) = rows(raw, sql).await;
        let (got, _) = rows(other, sql).await;
        assert!(!want.is_empty(), "{sql}");
        assert_eq!(got.len(), want.len(), "{sql}");
        assert!(got == want, "{sql}: answers differ");
    }
}

async fn convert(engine: &Engine, dest: &Path, shard: Shard) -> ConvertReport {
    engine
        .convert(
            &dest.display().to_string(),
            &ConvertOptions {
                shard,
                threads: Some(2),
            },
            |_| {},
        )
        .await
        .unwrap()
}

/// Files below `dir` whose name ends with `suffix`, sorted.
fn files_under(dir: &Path, suffix: &str) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if path.to_string_lossy().ends_with(suffix) {
                found.push(path);
            }
        }
    }
    found.sort();
    found
}

fn parquet_files(dir: &Path) -> Vec<PathBuf> {
    files_under(dir, ".parquet")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_converted_trail_answers_as_the_raw_logs() {
    let (dir, sources) = sources();
    let raw = open(&sources, options()).await;
    let dest = dir.path().join("converted");
    let report = convert(&raw, &dest, Shard::default()).await;
    assert_eq!(report.converted, report.listed);
    assert_eq!(report.already_converted, 0);
    let (count, _) = rows(&raw, "SELECT count(*) AS n FROM cloudtrail").await;
    assert_eq!(count, [format!("{{\"n\":{}}}", report.events)]);

    // Hive partitions: the layout's folders for the trail, the events' own account,
    // region and day outside it.
    let files = parquet_files(&dest);
    assert!(
        files.iter().any(|f| f
            .display()
            .to_string()
            .contains("account=111122223333/region=us-east-1/date=2024-01-07/part-")),
        "{files:?}"
    );
    assert!(files.iter().all(|f| {
        let relative = f.strip_prefix(&dest).unwrap().display().to_string();
        relative.starts_with("account=")
            && relative.contains("/region=")
            && relative.contains("/date=")
    }));

    let converted = open(&[dest.display().to_string()], options()).await;
    let names = |e: &Engine| -> Vec<String> {
        e.schema()
            .columns()
            .iter()
            .map(|c| c.name.clone())
            .collect()
    };
    assert_eq!(names(&converted), names(&raw));
    assert_same_answers(&raw, &converted).await;

    // A day's query reads that day's partitions (and the next, for late delivery).
    let (_, stats) = rows(
        &converted,
        "SELECT count(*) FROM cloudtrail WHERE eventtime >= '2024-01-07T00:00:00Z' AND eventtime < '2024-01-07T06:00:00Z' AND awsregion = 'us-east-1'",
    )
    .await;
    assert!(stats.files_pruned > 0, "{stats}");
    assert_eq!(stats.files_read, 0, "{stats}");
    assert!(stats.parquet_files > 0, "{stats}");
}

fn rewrite_gzip(path: &Path, change: impl Fn(String) -> String) {
    use std::io::{Read, Write};
    let mut text = String::new();
    flate2::read::GzDecoder::new(std::fs::File::open(path).unwrap())
        .read_to_string(&mut text)
        .unwrap();
    let changed = change(text.clone());
    assert_ne!(changed, text);
    let mut out = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    out.write_all(changed.as_bytes()).unwrap();
    std::fs::write(path, out.finish().unwrap()).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conversion_is_incremental_and_replaces_changed_objects() {
    let (dir, sources) = sources();
    let dest = dir.path().join("converted");
    let first = convert(&open(&sources, options()).await, &dest, Shard::default()).await;
    let again = convert(&open(&sources, options()).await, &dest, Shard::default()).await;
    assert_eq!(again.converted, 0);
    assert_eq!(again.already_converted, first.listed);
    assert_eq!(again.files_written, 0);

    // One new object, one rewritten with other content.
    let trail_files = files_under(&dir.path().join("trail"), ".json.gz");
    // Named as CloudTrail names files, with the delivery time of the file it copies.
    let copied = trail_files[1].file_name().unwrap().to_str().unwrap();
    let new = trail_files[1].with_file_name(format!(
        "{}_extra.json.gz",
        copied.rsplit_once('_').unwrap().0
    ));
    std::fs::copy(&trail_files[1], &new).unwrap();
    rewrite_gzip(&trail_files[0], |text| {
        text.replacen("\"eventName\":\"", "\"eventName\":\"Changed", 1)
    });

    let raw = open(&sources, options()).await;
    let third = convert(&raw, &dest, Shard::default()).await;
    assert_eq!(third.converted, 2, "{third}");
    assert_eq!(third.changed, 1, "{third}");
    assert_eq!(third.already_converted, first.listed - 1);
    let converted = open(&[dest.display().to_string()], options()).await;
    assert_same_answers(&raw, &converted).await;
    let (changed, _) = rows(
        &converted,
        "SELECT count(*) AS n FROM cloudtrail WHERE eventname LIKE 'Changed%'",
    )
    .await;
    assert_eq!(changed, ["{\"n\":1}"]);
    // The replaced batch's files are gone; what is left is what the manifest names.
    let named: usize = converted
        .converted_trails()
        .iter()
        .flat_map(|t| t.batches.iter().map(|b| b.files.len()))
        .sum();
    assert_eq!(parquet_files(&dest).len(), named);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shards_together_convert_every_object_once() {
    let (dir, sources) = sources();
    let raw = open(&sources, options()).await;
    let dest = dir.path().join("converted");
    let mut converted = 0;
    for index in 0..3 {
        let report = convert(&raw, &dest, Shard { index, count: 3 }).await;
        assert_eq!(report.converted + report.other_shards, report.listed);
        converted += report.converted;
    }
    let listed = raw.source_objects().await.unwrap().len() as u64;
    assert_eq!(converted, listed);
    let again = convert(&raw, &dest, Shard::default()).await;
    assert_eq!(again.converted, 0);
    let converted = open(&[dest.display().to_string()], options()).await;
    assert_same_answers(&raw, &converted).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cache_answers_later_queries_and_decodes_changed_objects() {
    let (dir, sources) = sources();
    let cache = dir.path().join("cache");
    let cached_options = EngineOptions {
        parquet_cache: Some(cache.clone()),
        ..options()
    };
    let raw = open(&sources, options()).await;
    let listed = raw.source_objects().await.unwrap().len() as u64;
    let engine = open(&sources, cached_options.clone()).await;
    let sql = "SELECT eventsource, eventname, count(*) AS n FROM cloudtrail GROUP BY 1, 2";
    let (want, _) = rows(&raw, sql).await;
    let (first, stats) = rows(&engine, sql).await;
    assert_eq!(first, want);
    // eventbridge.ndjson holds an item that is not CloudTrail: it is decoded every time,
    // so every query can say it skipped it.
    assert_eq!(stats.objects_cached, listed - 1, "{stats}");
    assert_eq!(stats.objects_from_cache, 0);
    let (second, stats) = rows(&engine, sql).await;
    assert_eq!(second, want);
    assert_eq!(stats.objects_from_cache, listed - 1, "{stats}");
    assert_eq!(stats.files_read, 1, "{stats}");
    assert_eq!(
        stats.items_skipped.values().map(|s| s.count).sum::<u64>(),
        1
    );
    assert_same_answers(&raw, &engine).await;
    assert_eq!(
        engine.cache_coverage().await.unwrap(),
        Some((listed - 1, listed))
    );

    // A changed object is decoded again (and cached again); the rest come from the cache.
    let changed = PathBuf::from(&sources[1]).join("records.json");
    let mut text = std::fs::read_to_string(&changed).unwrap();
    text = text.replacen("\"eventName\"", "\"eventName\": \"Changed\", \"was\"", 1);
    std::fs::write(&changed, text).unwrap();
    let raw = open(&sources, options()).await;
    let engine = open(&sources, cached_options.clone()).await;
    let (want, _) = rows(&raw, sql).await;
    let (got, stats) = rows(&engine, sql).await;
    assert_eq!(got, want);
    assert!(want.iter().any(|r| r.contains("Changed")));
    assert_eq!(stats.files_read, 2, "{stats}");
    assert_eq!(stats.objects_from_cache, listed - 2, "{stats}");

    // One file of a cached batch: only its rows.
    let one = vec![changed.display().to_string()];
    let single = open(&one, cached_options.clone()).await;
    let (got, stats) = rows(&single, "SELECT * FROM cloudtrail").await;
    let (want, _) = rows(&open(&one, options()).await, "SELECT * FROM cloudtrail").await;
    assert_eq!(got, want);
    assert_eq!(stats.files_read, 0, "{stats}");

    // A damaged cache file is not used: its objects are decoded again.
    let damaged = files_under(&cache, ".parquet")
        .into_iter()
        .max_by_key(|f| std::fs::metadata(f).unwrap().len())
        .unwrap();
    std::fs::OpenOptions::new()
        .write(true)
        .open(&damaged)
        .unwrap()
        .set_len(100)
        .unwrap();
    let (want, _) = rows(&raw, sql).await;
    let (got, stats) = rows(&open(&sources, cached_options.clone()).await, sql).await;
    assert_eq!(got, want);
    assert!(stats.files_read > 2, "{stats}");

    // The cache can be emptied; the next query decodes again.
    let summary = engine.parquet_cache().unwrap().clear().unwrap();
    assert!(
        summary.files > 0 && summary.objects >= listed - 1,
        "{summary}"
    );
    let engine = open(&sources, cached_options).await;
    let (_, stats) = rows(&engine, sql).await;
    assert_eq!(stats.objects_from_cache, 0);
    assert_eq!(stats.files_read, listed);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cache_is_not_used_for_columns_it_lacks() {
    let (dir, sources) = sources();
    let cache = dir.path().join("cache");
    // Filled by an engine that discovered no requestparameters_* columns ...
    let narrow = open(
        &sources,
        EngineOptions {
            parquet_cache: Some(cache.clone()),
            discovery_bytes: 0,
            ..options()
        },
    )
    .await;
    assert!(narrow.schema().request_parameter_paths().is_empty());
    rows(&narrow, "SELECT count(*) FROM cloudtrail").await;
    // ... so an engine with them decodes again, and answers as raw logs do.
    let wide_options = EngineOptions {
        parquet_cache: Some(cache),
        ..options()
    };
    let wide = open(&sources, wide_options).await;
    assert!(!wide.schema().request_parameter_paths().is_empty());
    let (_, stats) = rows(&wide, "SELECT count(*) FROM cloudtrail").await;
    assert_eq!(stats.objects_from_cache, 0, "{stats}");
    assert_same_answers(&open(&sources, options()).await, &wide).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn duckdb_reads_the_converted_trail_with_hive_partitioning() {
    let (dir, sources) = sources();
    let raw = open(&sources[..1], options()).await;
    let dest = dir.path().join("converted");
    convert(&raw, &dest, Shard::default()).await;
    let script = format!(
        "import duckdb, json\n\
         rows = duckdb.sql(\"SELECT account::VARCHAR, region::VARCHAR, date::VARCHAR, count(*), count(DISTINCT eventid), count(*) FILTER (WHERE eventname = 'AssumeRole') FROM read_parquet('{}/**/*.parquet', hive_partitioning = true) GROUP BY ALL ORDER BY ALL\").fetchall()\n\
         print(json.dumps([[str(v) for v in r] for r in rows]))\n",
        dest.display()
    );
    let output = std::process::Command::new("python3")
        .args(["-c", &script])
        .output()
        .expect("python3 runs");
    assert!(
        output.status.success(),
        "DuckDB from PyPI is needed (pip install duckdb): {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let duckdb: Vec<Vec<String>> = serde_json::from_slice(&output.stdout).unwrap();
    let (batches, _) = raw
        .sql("SELECT log_account AS c1, log_region AS c2, log_date AS c3, count(*) AS c4, count(DISTINCT eventid) AS c5, count(*) FILTER (WHERE eventname = 'AssumeRole') AS c6 FROM cloudtrail GROUP BY 1, 2, 3 ORDER BY 1, 2, 3")
        .await
        .unwrap()
        .collect()
        .await
        .unwrap();
    let ours: Vec<Vec<String>> = trailsql::results::json_rows(&batches)
        .unwrap()
        .iter()
        .map(|row| {
            row.as_object()
                .unwrap()
                .values()
                .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_string))
                .collect()
        })
        .collect();
    assert_eq!(duckdb, ours);
    assert_eq!(ours.len(), 2 * 2 * 2);
}

/// Every corpus source the decoder reads, converted and queried back (when the corpus
/// is beside the checkout).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_corpus_converts_without_losing_anything() {
    let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpus");
    if !corpus.is_dir() {
        eprintln!("../shared/corpus is not beside the checkout; nothing to check");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    for (source, on_error) in [
        ("invictus-sigma-aws/CloudTrail", OnError::Fail),
        ("stratus-red-team-detonation-logs", OnError::Fail),
        ("otrf-security-datasets", OnError::Fail),
        ("elastic-integrations-aws-cloudtrail", OnError::Fail),
        ("elastic-beats-aws-cloudtrail", OnError::Fail),
        ("trailscraper", OnError::Fail),
        ("cloudtrail2sightings", OnError::Skip),
        ("panther-analysis/_derived", OnError::Skip),
        ("streamalert/_derived", OnError::Skip),
    ] {
        let path = corpus.join(source);
        if !path.exists() {
            continue;
        }
        let options = EngineOptions {
            on_error,
            ..options()
        };
        let sources = vec![path.display().to_string()];
        let raw = open(&sources, options.clone()).await;
        let dest = dir.path().join(source.replace('/', "_"));
        let report = convert(&raw, &dest, Shard::default()).await;
        let converted = open(&[dest.display().to_string()], options).await;
        let (want, _) = rows(&raw, "SELECT * FROM cloudtrail").await;
        let (got, _) = rows(&converted, "SELECT * FROM cloudtrail").await;
        assert!(report.events > 0, "{source}");
        assert_eq!(got.len() as u64, report.events, "{source}");
        assert!(got == want, "{source}: rows differ after conversion");
        eprintln!("{source}: {} events converted and read back", want.len());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_stops_a_conversion_naming_the_place_or_is_skipped_and_counted() {
    let bad = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/fixtures/bad")
        .display()
        .to_string();
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("converted");
    let failing = open(std::slice::from_ref(&bad), options()).await;
    let error = failing
        .convert(
            &dest.display().to_string(),
            &ConvertOptions::default(),
            |_| {},
        )
        .await
        .unwrap_err()
        .to_string();
    assert!(error.contains("fixtures/bad/"), "{error}");

    let skipping = open(
        &[bad],
        EngineOptions {
            on_error: OnError::Skip,
            ..options()
        },
    )
    .await;
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let progress = std::sync::Arc::clone(&seen);
    let report = skipping
        .convert(
            &dest.display().to_string(),
            &ConvertOptions::default(),
            move |p| progress.lock().unwrap().push(p.clone()),
        )
        .await
        .unwrap();
    assert!(report.scan.has_skips(), "{report}");
    assert!(report.scan.files_failed > 0, "{report}");
    let last = seen.lock().unwrap().last().cloned().unwrap();
    assert_eq!(last.objects_done, last.objects_total);
    assert_eq!(last.objects_total, report.listed);
    let (want, _) = rows(&skipping, "SELECT * FROM cloudtrail").await;
    let converted = open(&[dest.display().to_string()], options()).await;
    let (got, _) = rows(&converted, "SELECT * FROM cloudtrail").await;
    assert_eq!(got, want);
    assert_eq!(got.len() as u64, report.events);
}
