use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use trailsql::datafusion::arrow::util::pretty::pretty_format_batches;
use trailsql::{Engine, EngineOptions, OnError};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn fixture(path: &str) -> String {
    root().join(path).display().to_string()
}

async fn query(engine: &Engine, sql: &str) -> (String, trailsql::ScanStats) {
    let (batches, stats) = engine.sql(sql).await.unwrap().collect().await.unwrap();
    (pretty_format_batches(&batches).unwrap().to_string(), stats)
}

#[tokio::test]
async fn skip_mode_reports_what_it_skipped() {
    let options = EngineOptions {
        on_error: OnError::Skip,
        ..EngineOptions::default()
    };
    let engine = Engine::open(&[fixture("tests/fixtures/bad")], options)
        .await
        .unwrap();
    let (_, stats) = query(&engine, "SELECT count(eventtime) FROM cloudtrail").await;
    assert_eq!(stats.files_listed, 8);
    assert_eq!(stats.files_read, 8);
    // Records before the break in broken.json and truncated.json.gz are whole and kept.
    assert_eq!(stats.events, 6, "{stats}");
    assert_eq!(stats.records_skipped, 1, "{stats}");
    assert_eq!(
        stats.files_failed, 3,
        "broken, truncated and empty: {stats}"
    );
    assert_eq!(
        stats.files_skipped.values().map(|s| s.count).sum::<u64>(),
        3,
        "{stats}"
    );
    assert!(
        stats
            .files_skipped
            .contains_key("CloudTrail digest file, not events")
    );
    let summary = stats.skip_summary().unwrap();
    assert_eq!(
        summary,
        "skipped 3 file(s) without events, 3 bad file(s), 1 bad record(s)"
    );
    let shown = stats.to_string();
    assert!(
        shown.contains("bad-time.ndjson: record 1, field eventTime"),
        "{shown}"
    );
}

#[tokio::test]
async fn fail_mode_stops_at_the_first_bad_file() {
    let engine = Engine::open(
        &[fixture("tests/fixtures/bad/broken.json")],
        EngineOptions::default(),
    )
    .await
    .unwrap();
    let error = engine
        .sql("SELECT * FROM cloudtrail")
        .await
        .unwrap()
        .collect()
        .await
        .unwrap_err();
    let decode = error.decode_error().expect("a decode error");
    assert_eq!(decode.location.record(), None);
    assert_eq!(decode.location.after_record(), Some(1));
    assert!(
        error
            .to_string()
            .contains("broken.json: after record 1: invalid JSON"),
        "{error}"
    );
}

#[tokio::test]
async fn a_file_gone_before_the_query_is_an_error_or_a_counted_skip() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("gone.json");
    std::fs::copy(root().join("tests/fixtures/shapes/records.json"), &path).unwrap();
    std::fs::copy(
        root().join("tests/fixtures/shapes/events.ndjson"),
        dir.path().join("kept.ndjson"),
    )
    .unwrap();
    let failing = Engine::open(&[dir.path().to_str().unwrap()], EngineOptions::default())
        .await
        .unwrap();
    let skipping = Engine::open(
        &[dir.path().to_str().unwrap()],
        EngineOptions {
            on_error: OnError::Skip,
            ..EngineOptions::default()
        },
    )
    .await
    .unwrap();
    std::fs::remove_file(&path).unwrap();
    let error = failing
        .sql("SELECT count(*) FROM cloudtrail")
        .await
        .unwrap()
        .collect()
        .await
        .unwrap_err();
    assert!(
        error.to_string().contains("gone.json: cannot read"),
        "{error}"
    );
    let (table, stats) = query(&skipping, "SELECT count(*) AS n FROM cloudtrail").await;
    assert!(table.contains("| 3 |"), "{table}");
    assert_eq!(stats.files_failed, 1);
}

#[tokio::test]
async fn missing_sources_are_errors() {
    let error = Engine::open(&["/no/such/trail"], EngineOptions::default())
        .await
        .err()
        .unwrap();
    assert_eq!(error.to_string(), "/no/such/trail: no such file or folder");
}

async fn open_with_partitions(dir: &Path, partitions: usize) -> Engine {
    let options = EngineOptions {
        target_partitions: Some(partitions),
        ..EngineOptions::default()
    };
    Engine::open(&[dir.to_str().unwrap()], options)
        .await
        .unwrap()
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    encoder.write_all(bytes).unwrap();
    encoder.finish().unwrap()
}

#[tokio::test]
async fn folders_of_gzipped_files_decode_on_every_core() {
    let dir = tempfile::tempdir().unwrap();
    let day = dir
        .path()
        .join("AWSLogs/111122223333/CloudTrail/us-east-1/2024/01/07");
    std::fs::create_dir_all(&day).unwrap();
    let mut expected = 0;
    for i in 0..8 {
        let events = 50 + i * 10;
        expected += events;
        let file = trailsql::generate::records_file(i as u64, events, 1_704_585_600, 3600);
        let name =
            format!("111122223333_CloudTrail_us-east-1_20240107T{i:02}00Z_abcdefgh{i:08}.json.gz");
        std::fs::write(day.join(name), gzip(&file)).unwrap();
    }
    let engine = open_with_partitions(dir.path(), 2).await;
    let (table, stats) = query(&engine, "SELECT count(*) AS n FROM cloudtrail").await;
    assert!(table.contains(&format!("| {expected} |")), "{table}");
    assert_eq!(stats.files_read, 8);
    assert!(stats.bytes_inflated > stats.bytes_read);
    let (plan, _) = query(&engine, "EXPLAIN SELECT eventname FROM cloudtrail").await;
    assert!(plan.contains("CloudTrailScanExec: files=8"), "{plan}");
    assert!(
        plan.contains("partitions=2, projection=[eventname]"),
        "{plan}"
    );
}

/// The scan's partitions share out their files while they run (one whose files run out
/// takes another's); every execution of the plan, and every partition run on its own,
/// must still read each file exactly once.
#[tokio::test]
async fn each_execution_of_a_scan_reads_every_file_once() {
    use futures::StreamExt;
    use trailsql::datafusion::physical_plan::ExecutionPlanProperties;

    let dir = tempfile::tempdir().unwrap();
    let mut expected = 0;
    for i in 0..12 {
        // Uneven files, so that one partition runs out first.
        let events = if i % 2 == 0 { 400 } else { 20 };
        expected += events;
        let file = trailsql::generate::records_file(i as u64, events, 1_704_585_600, 3600);
        std::fs::write(dir.path().join(format!("f{i:02}.json")), file).unwrap();
    }
    let engine = open_with_partitions(dir.path(), 2).await;
    let query = engine
        .sql("SELECT eventname FROM cloudtrail")
        .await
        .unwrap();
    let mut scan = Arc::clone(query.plan());
    while scan.name() != "CloudTrailScanExec" {
        scan = Arc::clone(scan.children()[0]);
    }
    assert_eq!(scan.output_partitioning().partition_count(), 2);
    let rows = |partition: usize| {
        let stream = scan
            .execute(partition, engine.context().task_ctx())
            .unwrap();
        stream.fold(0, |n, batch| async move { n + batch.unwrap().num_rows() })
    };
    for _ in 0..3 {
        let (a, b) = futures::join!(rows(0), rows(1));
        assert_eq!(a + b, expected);
    }
    // One partition at a time, each run whole before the other starts.
    let second = rows(1).await;
    let first = rows(0).await;
    assert_eq!(first + second, expected);
    let first = rows(0).await;
    let second = rows(1).await;
    assert_eq!(first + second, expected);
}

#[tokio::test]
async fn limit_stops_reading_early() {
    let dir = tempfile::tempdir().unwrap();
    for i in 0..20 {
        let file = trailsql::generate::records_file(i, 100, 1_704_585_600, 3600);
        std::fs::write(dir.path().join(format!("f{i:02}.json")), file).unwrap();
    }
    let engine = open_with_partitions(dir.path(), 1).await;
    let (_, stats) = query(&engine, "SELECT eventname FROM cloudtrail LIMIT 5").await;
    assert!(stats.files_read < 20, "{stats}");
}

#[tokio::test]
async fn discovery_samples_across_the_listing() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("a.json"),
        br#"{"Records":[{"eventName":"A","requestParameters":{"first":1}}]}"#,
    )
    .unwrap();
    std::fs::write(
        dir.path().join("b.json"),
        br#"{"Records":[{"eventName":"B","requestParameters":{"second":{"Nested":"x"}}}]}"#,
    )
    .unwrap();
    let engine = Engine::open(&[dir.path().to_str().unwrap()], EngineOptions::default())
        .await
        .unwrap();
    let names: Vec<_> = engine
        .schema()
        .columns()
        .iter()
        .map(|c| c.name.clone())
        .filter(|n| n.starts_with("requestparameters_"))
        .collect();
    assert_eq!(
        names,
        ["requestparameters_first", "requestparameters_second_nested"]
    );
}

#[tokio::test]
async fn discovered_columns_are_remembered_for_the_same_sample() {
    let logs = tempfile::tempdir().unwrap();
    let cache = tempfile::tempdir().unwrap();
    let file = logs.path().join("a.json");
    std::fs::write(
        &file,
        br#"{"Records":[{"eventName":"CreateStream","requestParameters":{"streamName":"s"}}]}"#,
    )
    .unwrap();
    let options = EngineOptions {
        schema_cache: Some(cache.path().to_path_buf()),
        ..EngineOptions::default()
    };
    let path = logs.path().display().to_string();
    let engine = Engine::open(std::slice::from_ref(&path), options.clone())
        .await
        .unwrap();
    let (out, _) = query(
        &engine,
        "SELECT requestparameters_streamname FROM cloudtrail",
    )
    .await;
    assert!(out.contains("| s "), "{out}");
    let remembered: Vec<_> = std::fs::read_dir(cache.path().join("schema"))
        .unwrap()
        .collect();
    assert_eq!(remembered.len(), 1);

    // The remembered answer is used: a column written into it appears without a read.
    let entry = remembered[0].as_ref().unwrap().path();
    std::fs::write(&entry, br#"[["streamName"],["remembered"]]"#).unwrap();
    let engine = Engine::open(std::slice::from_ref(&path), options.clone())
        .await
        .unwrap();
    let (out, _) = query(
        &engine,
        "SELECT requestparameters_remembered FROM cloudtrail",
    )
    .await;
    assert!(out.contains("requestparameters_remembered"), "{out}");

    // A changed sample (another size) is discovered again.
    std::fs::write(
        &file,
        br#"{"Records":[{"eventName":"CreateStream","requestParameters":{"streamName":"s","shardCount":1}}]}"#,
    )
    .unwrap();
    let engine = Engine::open(&[path], options).await.unwrap();
    let (out, _) = query(
        &engine,
        "SELECT requestparameters_shardcount FROM cloudtrail",
    )
    .await;
    assert!(out.contains("| 1 "), "{out}");
}

#[tokio::test]
async fn a_read_only_engine_refuses_writes_catalog_changes_and_settings() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("out.csv");
    let outside = dir.path().join("outside.csv");
    std::fs::write(&outside, "a\n1\n").unwrap();
    let read_only = Engine::sample(EngineOptions {
        read_only: true,
        ..EngineOptions::default()
    })
    .await
    .unwrap();
    for (sql, statement) in [
        (
            format!(
                "COPY (SELECT eventname FROM cloudtrail) TO '{}' STORED AS CSV",
                target.display()
            ),
            "COPY",
        ),
        (
            format!(
                "CREATE EXTERNAL TABLE other STORED AS CSV LOCATION '{}'",
                outside.display()
            ),
            "CreateExternalTable",
        ),
        ("CREATE VIEW v AS SELECT 1".to_string(), "CreateView"),
        ("DROP TABLE cloudtrail".to_string(), "DropTable"),
        (
            "SET datafusion.execution.batch_size = 1".to_string(),
            "SetVariable",
        ),
    ] {
        match read_only.sql(&sql).await {
            Err(trailsql::Error::ReadOnly { statement: refused }) => {
                assert_eq!(refused, statement, "{sql}")
            }
            Err(other) => panic!("{sql}: {other}"),
            Ok(_) => panic!("{sql}: ran"),
        }
    }
    assert!(!target.exists());
    // Reading the sources, in any form, still works.
    for sql in [
        "SELECT count(*) FROM cloudtrail",
        "EXPLAIN SELECT eventname FROM cloudtrail",
        "WITH e AS (SELECT eventname FROM cloudtrail) SELECT count(*) FROM e",
        "SELECT * FROM information_schema.tables",
    ] {
        read_only.sql(sql).await.unwrap().collect().await.unwrap();
    }
    // The default engine writes.
    let writable = Engine::sample(EngineOptions::default()).await.unwrap();
    let copy = format!(
        "COPY (SELECT eventname FROM cloudtrail) TO '{}' STORED AS CSV",
        target.display()
    );
    writable.sql(&copy).await.unwrap().collect().await.unwrap();
    assert!(target.exists());
}

#[tokio::test]
async fn simple_filters_are_checked_while_decoding_and_counted_as_read() {
    let engine = Engine::open(
        &[fixture("tests/fixtures/filters")],
        EngineOptions::default(),
    )
    .await
    .unwrap();
    let sql = "SELECT eventid FROM cloudtrail \
               WHERE useridentity_arn = 'arn:aws:iam::111122223333:user/alice' AND awsregion IN ('us-east-1', 'eu-west-1')";
    let (plan, _) = query(&engine, &format!("EXPLAIN {sql}")).await;
    assert!(
        plan.contains(
            "decoder_filters=[useridentity_arn IN ('arn:aws:iam::111122223333:user/alice') \
             AND awsregion IN ('us-east-1', 'eu-west-1')]"
        ),
        "{plan}"
    );
    // The filter still runs above the scan.
    assert!(plan.contains("FilterExec"), "{plan}");
    let (table, stats) = query(&engine, sql).await;
    assert!(table.contains("f-1") && table.contains("f-5"), "{table}");
    assert_eq!(table.lines().count(), 6, "two rows: {table}");
    // Events read, not events kept.
    assert_eq!(stats.events, 6, "{stats}");
    let (plan, _) = query(
        &engine,
        "EXPLAIN SELECT eventid FROM cloudtrail WHERE eventname LIKE 'Get%' AND errorcode IS NOT NULL",
    )
    .await;
    let checked = plan
        .split("decoder_filters=[")
        .nth(1)
        .and_then(|rest| rest.split(']').next())
        .unwrap_or_else(|| panic!("no decoder filters: {plan}"));
    let mut checked: Vec<&str> = checked.split(" AND ").collect();
    checked.sort();
    assert_eq!(
        checked,
        ["errorcode IS NOT NULL", "eventname LIKE 'Get%'"],
        "{plan}"
    );
    // Filters the decoder cannot check are not shown as its own.
    let (plan, _) = query(
        &engine,
        "EXPLAIN SELECT eventid FROM cloudtrail WHERE awsregion <> 'x' OR eventname = 'y'",
    )
    .await;
    assert!(!plan.contains("decoder_filters"), "{plan}");
    for unchecked in [
        "eventname LIKE 'G_t%'",
        "eventname LIKE '%Object'",
        "eventname ILIKE 'get%'",
        "eventname NOT LIKE 'Get%'",
    ] {
        let (plan, _) = query(
            &engine,
            &format!("EXPLAIN SELECT eventid FROM cloudtrail WHERE {unchecked}"),
        )
        .await;
        assert!(!plan.contains("decoder_filters"), "{unchecked}: {plan}");
    }
}

/// `events` generated records, one per line.
fn ndjson(seed: u64, events: usize) -> Vec<u8> {
    trailsql::generate::ndjson_export(seed, events, 1_704_585_600, 3600)
}

/// The error a query fails with.
async fn query_error(engine: &Engine, sql: &str) -> String {
    engine
        .sql(sql)
        .await
        .unwrap()
        .collect()
        .await
        .unwrap_err()
        .to_string()
}

/// A Parquet file (or any file that is not JSON) beside the logs, larger than a part, is
/// skipped as not JSON from its first bytes, as a small one is. Before, its bytes were cut
/// into parts wherever a `}` ended a line before one starting with `{`, and the first part
/// after such a place failed the query as broken JSON.
#[tokio::test]
async fn a_large_file_that_is_not_json_is_skipped_after_its_first_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let export = ndjson(1, 50);
    std::fs::write(dir.path().join("export.ndjson"), &export).unwrap();
    let mut parquet = b"PAR1\x15\x04".to_vec();
    for i in 0..100_000u32 {
        parquet.extend_from_slice(&i.to_le_bytes());
        parquet.extend_from_slice(b"\x19}\n{\"k\":\x00");
    }
    assert!(parquet.len() > 1_200_000);
    std::fs::write(dir.path().join("trail.parquet"), &parquet).unwrap();
    let archive = gzip(&parquet);
    std::fs::write(dir.path().join("archive.gz"), &archive).unwrap();
    let source = [dir.path().to_str().unwrap()];
    let cache = tempfile::tempdir().unwrap();
    for (label, options) in [
        ("whole", EngineOptions::default()),
        (
            "parts",
            EngineOptions {
                part_bytes: 4096,
                target_partitions: Some(2),
                ..EngineOptions::default()
            },
        ),
        (
            "parts larger than the first read",
            EngineOptions {
                part_bytes: 1 << 20,
                ..EngineOptions::default()
            },
        ),
        (
            "parts, filling the Parquet cache",
            EngineOptions {
                part_bytes: 4096,
                parquet_cache: Some(cache.path().to_path_buf()),
                ..EngineOptions::default()
            },
        ),
    ] {
        let engine = Engine::open(&source, options).await.unwrap();
        let (got, stats) = query(&engine, "SELECT count(*) AS n FROM cloudtrail").await;
        assert!(got.contains("| 50 |"), "{label}: {got}");
        assert_eq!(
            stats.files_skipped.get("not JSON").map(|s| s.count),
            Some(2),
            "{label}: {stats}"
        );
        assert_eq!(stats.files_failed, 0, "{label}: {stats}");
        if label != "whole" {
            // Neither file is inflated (or read) past its first 256 KiB, give or take
            // what inflating one step more gives.
            assert!(
                stats.bytes_inflated < (export.len() + 2 * (320 << 10)) as u64,
                "{label}: {stats}"
            );
        }
        if label.starts_with("parts") && !label.contains("cache") {
            // And the bytes read say so: the plain file's first 256 KiB, not its size.
            let most = export.len() + archive.len() + (320 << 10);
            assert!(
                (export.len() as u64..most as u64).contains(&stats.bytes_read),
                "{label}: {stats}"
            );
        }
    }
}

#[tokio::test]
async fn bytes_read_of_a_file_read_in_parts_stop_where_the_query_stopped_reading() {
    let dir = tempfile::tempdir().unwrap();
    let text = String::from_utf8(ndjson(5, 6000)).unwrap();
    let size = text.len() as u64;
    assert!(size > 2_000_000, "{size}");
    std::fs::write(dir.path().join("export.ndjson"), &text).unwrap();
    let broken_dir = tempfile::tempdir().unwrap();
    let mut lines: Vec<&str> = text.lines().collect();
    let broken = lines[300].replacen("{", "{]", 1);
    lines[300] = &broken;
    std::fs::write(broken_dir.path().join("export.ndjson"), lines.join("\n")).unwrap();
    let options = |on_error| EngineOptions {
        part_bytes: 16 << 10,
        on_error,
        ..EngineOptions::default()
    };
    // Read to the end, every byte counts.
    let source = [dir.path().to_str().unwrap()];
    let engine = Engine::open(&source, options(OnError::Fail)).await.unwrap();
    let (_, stats) = query(&engine, "SELECT count(*) FROM cloudtrail").await;
    assert_eq!((stats.events, stats.bytes_read), (6000, size), "{stats}");
    // A LIMIT met in the first part: the parts after the one read ahead are never read.
    let (got, stats) = query(&engine, "SELECT eventname FROM cloudtrail LIMIT 1").await;
    assert_eq!(got.lines().count(), 5, "{got}");
    assert!(stats.bytes_read < size / 4, "{stats}");
    // A part that breaks (line 300, in the tenth part or so): reading stops there.
    let source = [broken_dir.path().to_str().unwrap()];
    let engine = Engine::open(&source, options(OnError::Skip)).await.unwrap();
    let (_, stats) = query(&engine, "SELECT count(*) FROM cloudtrail").await;
    assert_eq!((stats.events, stats.files_failed), (300, 1), "{stats}");
    assert!(stats.bytes_read < size / 4, "{stats}");
}

#[tokio::test]
async fn plain_files_too_large_to_hold_whole_are_read_in_parts_with_the_same_answers() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("export.ndjson"), ndjson(1, 1500)).unwrap();
    std::fs::write(dir.path().join("export.ndjson.gz"), gzip(&ndjson(2, 700))).unwrap();
    // Nowhere to cut: read whole, however large.
    let delivery: serde_json::Value = serde_json::from_slice(&trailsql::generate::records_file(
        3,
        300,
        1_704_585_600,
        3600,
    ))
    .unwrap();
    std::fs::write(
        dir.path().join("pretty.json"),
        serde_json::to_vec_pretty(&delivery).unwrap(),
    )
    .unwrap();
    // Records pretty-printed one after another (`jq '.Records[]'`).
    let mut concatenated = Vec::new();
    for record in delivery["Records"].as_array().unwrap() {
        concatenated.extend(serde_json::to_vec_pretty(record).unwrap());
        concatenated.push(b'\n');
    }
    std::fs::write(dir.path().join("records.json"), concatenated).unwrap();
    let source = [dir.path().to_str().unwrap()];
    let whole = Engine::open(&source, EngineOptions::default())
        .await
        .unwrap();
    let parted = Engine::open(
        &source,
        EngineOptions {
            part_bytes: 4096,
            target_partitions: Some(2),
            ..EngineOptions::default()
        },
    )
    .await
    .unwrap();
    for sql in [
        "SELECT eventname, count(*), min(eventtime), max(eventtime), count(DISTINCT eventid), \
         max(useridentity_arn) FROM cloudtrail GROUP BY 1 ORDER BY 1",
        "SELECT log_file, count(*), max(awsregion) FROM cloudtrail GROUP BY 1 ORDER BY 1",
    ] {
        let (expected, whole_stats) = query(&whole, sql).await;
        let (got, stats) = query(&parted, sql).await;
        assert_eq!(got, expected, "{sql}");
        assert_eq!(stats.events, 1500 + 700 + 300 + 300);
        assert_eq!(stats.events, whole_stats.events);
        assert_eq!(stats.files_read, 4);
        assert_eq!(stats.bytes_inflated, whole_stats.bytes_inflated);
        assert_eq!(whole_stats.file_parts, 0);
        // The exports, plain and gzipped, and the records one after another; not the
        // delivery file.
        assert!(stats.file_parts > 50, "{stats}");
        assert!(
            stats.to_string().contains("large files: read in"),
            "{stats}"
        );
    }
    let (rows, _) = query(&parted, "SELECT eventname FROM cloudtrail LIMIT 3").await;
    assert_eq!(rows.lines().count(), 3 + 4, "{rows}");
}

/// A folder holding a gzipped NDJSON export of 3000 events in two gzip members, and a
/// gzipped delivery file of 300; returns the export's size as stored and inflated.
fn gzipped_exports(dir: &std::path::Path) -> (usize, usize) {
    let text = ndjson(7, 3000);
    let middle = text.len() / 2
        + text[text.len() / 2..]
            .iter()
            .position(|&b| b == b'\n')
            .unwrap()
        + 1;
    let mut export = gzip(&text[..middle]);
    export.extend(gzip(&text[middle..]));
    std::fs::write(dir.join("export.ndjson.gz"), &export).unwrap();
    std::fs::write(
        dir.join("delivery.json.gz"),
        gzip(&trailsql::generate::records_file(
            8,
            300,
            1_704_585_600,
            3600,
        )),
    )
    .unwrap();
    (export.len(), text.len())
}

#[tokio::test]
async fn gzipped_exports_too_large_to_inflate_whole_are_inflated_a_part_at_a_time() {
    let dir = tempfile::tempdir().unwrap();
    let (stored, inflated) = gzipped_exports(dir.path());
    let source = [dir.path().to_str().unwrap()];
    let sql = "SELECT eventname, count(*), min(eventtime), max(eventtime), \
               count(DISTINCT eventid), max(useridentity_arn) FROM cloudtrail GROUP BY 1 ORDER BY 1";
    let whole = Engine::open(&source, EngineOptions::default())
        .await
        .unwrap();
    let (expected, whole_stats) = query(&whole, sql).await;
    assert_eq!((whole_stats.events, whole_stats.file_parts), (3300, 0));
    // Parts smaller than the file as stored: it is inflated as it is read. Parts between
    // its stored and inflated sizes: it is read whole, then inflated a part at a time.
    for part_bytes in [4096, stored + 1] {
        assert!(part_bytes < inflated / 4);
        let parted = Engine::open(
            &source,
            EngineOptions {
                part_bytes,
                target_partitions: Some(2),
                ..EngineOptions::default()
            },
        )
        .await
        .unwrap();
        let (got, stats) = query(&parted, sql).await;
        assert_eq!(got, expected, "parts of {part_bytes} bytes");
        assert_eq!(stats.events, 3300);
        assert_eq!(stats.bytes_inflated, whole_stats.bytes_inflated);
        // The export only: the delivery file is one value, inflated whole.
        let parts = (inflated / part_bytes) as u64;
        assert!(
            (parts..=parts * 2 + 2).contains(&stats.file_parts),
            "parts of {part_bytes} bytes: {stats}"
        );
    }
    // Filling the Parquet cache inflates each object whole, whatever its size.
    let cache = tempfile::tempdir().unwrap();
    let cached = Engine::open(
        &source,
        EngineOptions {
            part_bytes: 4096,
            parquet_cache: Some(cache.path().to_path_buf()),
            ..EngineOptions::default()
        },
    )
    .await
    .unwrap();
    for from_cache in [0, 2] {
        let (got, stats) = query(&cached, sql).await;
        assert_eq!(got, expected);
        assert_eq!(stats.objects_from_cache, from_cache, "{stats}");
        assert_eq!(stats.file_parts, 0, "{stats}");
    }
    // The limit on inflating holds for what is held at once: parts are made no larger
    // than it, and a file inflated whole (one `Records` object) is refused past it.
    let limited = EngineOptions {
        max_inflated_bytes: 64 << 10,
        ..EngineOptions::default()
    };
    let export = dir.path().join("export.ndjson.gz");
    let engine = Engine::open(&[export.to_str().unwrap()], limited.clone())
        .await
        .unwrap();
    let (_, stats) = query(&engine, "SELECT count(*) FROM cloudtrail").await;
    assert_eq!(stats.events, 3000);
    assert!(stats.file_parts >= (inflated >> 16) as u64, "{stats}");
    let engine = Engine::open(&source, limited).await.unwrap();
    let error = query_error(&engine, "SELECT count(*) FROM cloudtrail").await;
    assert!(
        error.contains("delivery.json.gz: inflates past the limit of 65536 bytes"),
        "{error}"
    );
}

#[tokio::test]
async fn a_gzipped_export_broken_part_way_fails_where_it_broke() {
    let dir = tempfile::tempdir().unwrap();
    gzipped_exports(dir.path());
    std::fs::remove_file(dir.path().join("delivery.json.gz")).unwrap();
    let path = dir.path().join("export.ndjson.gz");
    let export = std::fs::read(&path).unwrap();
    std::fs::write(&path, &export[..export.len() * 3 / 4]).unwrap();
    let source = [dir.path().to_str().unwrap()];
    let options = |on_error| EngineOptions {
        part_bytes: 4096,
        on_error,
        ..EngineOptions::default()
    };
    let engine = Engine::open(&source, options(OnError::Fail)).await.unwrap();
    let error = query_error(&engine, "SELECT count(*) FROM cloudtrail").await;
    assert!(
        error.contains("export.ndjson.gz: corrupt or truncated gzip after")
            && error.ends_with("inflated bytes: unexpected end of file"),
        "{error}"
    );
    // Under skip, the events before the break are kept and the file counted as failed.
    let engine = Engine::open(&source, options(OnError::Skip)).await.unwrap();
    let (rows, stats) = query(&engine, "SELECT count(*) FROM cloudtrail").await;
    assert!((1500..3000).contains(&stats.events), "{stats}");
    assert!(rows.contains(&format!("| {} ", stats.events)), "{rows}");
    assert_eq!(stats.files_failed, 1, "{stats}");
    assert!(
        stats.to_string().contains("unexpected end of file"),
        "{stats}"
    );
}

#[tokio::test]
async fn parts_of_no_size_and_filling_the_cache_give_the_same_answers() {
    let dir = tempfile::tempdir().unwrap();
    let logs = dir.path().join("logs");
    std::fs::create_dir(&logs).unwrap();
    std::fs::write(logs.join("export.ndjson"), ndjson(5, 200)).unwrap();
    let source = [logs.to_str().unwrap()];
    let sql = "SELECT eventname, count(*), max(eventid) FROM cloudtrail GROUP BY 1 ORDER BY 1";
    let whole = Engine::open(&source, EngineOptions::default())
        .await
        .unwrap();
    let (expected, _) = query(&whole, sql).await;
    // A part grows until it holds a place to cut, from one byte when none is given.
    let tiny = Engine::open(
        &source,
        EngineOptions {
            part_bytes: 0,
            ..EngineOptions::default()
        },
    )
    .await
    .unwrap();
    let (got, stats) = query(&tiny, sql).await;
    assert_eq!(got, expected);
    // A part ends at the last place to cut in what it read, so some hold two lines.
    assert_eq!(stats.events, 200);
    assert!((100..=200).contains(&stats.file_parts), "{stats}");
    // Filling the Parquet cache reads each object whole, whatever its size.
    let cached = Engine::open(
        &source,
        EngineOptions {
            part_bytes: 4096,
            parquet_cache: Some(dir.path().join("cache")),
            ..EngineOptions::default()
        },
    )
    .await
    .unwrap();
    let (got, stats) = query(&cached, sql).await;
    assert_eq!(got, expected);
    assert_eq!((stats.objects_cached, stats.file_parts), (1, 0), "{stats}");
    let (got, stats) = query(&cached, sql).await;
    assert_eq!(got, expected);
    assert_eq!(stats.objects_from_cache, 1, "{stats}");
}

#[tokio::test]
async fn an_error_in_a_later_part_names_its_record_and_line_in_the_whole_file() {
    let dir = tempfile::tempdir().unwrap();
    let text = String::from_utf8(ndjson(4, 1200)).unwrap();
    let mut lines: Vec<&str> = text.lines().collect();
    let broken = lines[1000].replacen("{", "{]", 1);
    lines[1000] = &broken;
    std::fs::write(dir.path().join("export.ndjson"), lines.join("\n")).unwrap();
    let source = [dir.path().to_str().unwrap()];
    let options = |part_bytes, on_error| EngineOptions {
        part_bytes,
        on_error,
        ..EngineOptions::default()
    };
    let sql = "SELECT count(eventtime) FROM cloudtrail";
    let mut messages = Vec::new();
    for part_bytes in [usize::MAX, 4096] {
        let engine = Engine::open(&source, options(part_bytes, OnError::Fail))
            .await
            .unwrap();
        let error = engine.sql(sql).await.unwrap().collect().await.unwrap_err();
        messages.push(error.to_string());
        // Under skip, a broken line ends the file, as it does when read whole.
        let engine = Engine::open(&source, options(part_bytes, OnError::Skip))
            .await
            .unwrap();
        let (_, stats) = query(&engine, sql).await;
        assert_eq!((stats.events, stats.files_failed), (1000, 1), "{stats}");
    }
    assert!(
        messages[1].contains("export.ndjson: record 1000: invalid JSON at line 1001, column 2"),
        "{}",
        messages[1]
    );
    assert_eq!(messages[0], messages[1]);
}
