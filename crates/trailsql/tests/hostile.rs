//! The hostile-input matrix: input an attacker (or a broken pipeline) could leave in a
//! trail, each with its outcome. Under `OnError::Fail` a case is an error that names the
//! file (and the record and field when it is inside one); under `OnError::Skip` it is
//! counted in the stats and every good event around it is still returned. Never a panic,
//! a hang or a silently wrong answer.

use std::io::Write;
use std::path::Path;

use trailsql::datafusion::arrow::array::{Array, AsArray};
use trailsql::datafusion::arrow::record_batch::RecordBatch;
use trailsql::{Engine, EngineOptions, OnError, ScanStats};

const GOOD: &str = r#"{"eventVersion":"1.08","eventTime":"2024-01-01T00:00:00Z","eventSource":"s3.amazonaws.com","eventName":"GetObject","awsRegion":"us-east-1","sourceIPAddress":"192.0.2.1","userIdentity":{"type":"IAMUser","arn":"arn:aws:iam::111122223333:user/alice"},"recipientAccountId":"111122223333"}"#;

fn records(records: &[&str]) -> String {
    format!("{{\"Records\":[{}]}}", records.join(","))
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    encoder.write_all(bytes).unwrap();
    encoder.finish().unwrap()
}

/// A folder holding `good.json` (two good events) beside the hostile files.
fn trail(files: &[(&str, Vec<u8>)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("good.json"), records(&[GOOD, GOOD])).unwrap();
    for (name, bytes) in files {
        std::fs::write(dir.path().join(name), bytes).unwrap();
    }
    dir
}

fn options(on_error: OnError) -> EngineOptions {
    EngineOptions {
        on_error,
        ..EngineOptions::default()
    }
}

async fn run(
    dir: &Path,
    options: EngineOptions,
    sql: &str,
) -> trailsql::Result<(Vec<RecordBatch>, ScanStats)> {
    let engine = Engine::open(&[dir.to_str().unwrap()], options).await?;
    engine.sql(sql).await?.collect().await
}

/// The error a failing engine gives.
async fn failure(dir: &Path, sql: &str) -> String {
    match run(dir, options(OnError::Fail), sql).await {
        Ok((batches, _)) => panic!("expected an error, got {} batches", batches.len()),
        Err(error) => error.to_string(),
    }
}

/// What a skipping engine counts, and how many events it returns.
async fn skipped(dir: &Path, sql: &str) -> (u64, ScanStats) {
    let (batches, stats) = run(dir, options(OnError::Skip), sql).await.unwrap();
    let rows = batches.iter().map(|b| b.num_rows() as u64).sum();
    (rows, stats)
}

fn strings(batches: &[RecordBatch], column: usize) -> Vec<Option<String>> {
    let mut out = Vec::new();
    for batch in batches {
        let column = trailsql::datafusion::arrow::compute::cast(
            batch.column(column),
            &trailsql::datafusion::arrow::datatypes::DataType::Utf8,
        )
        .unwrap();
        let column = column.as_string::<i32>();
        out.extend(
            (0..column.len()).map(|i| column.is_valid(i).then(|| column.value(i).to_string())),
        );
    }
    out
}

const ALL: &str = "SELECT * FROM cloudtrail";

#[tokio::test]
async fn truncated_gzip() {
    let whole = gzip(records(&[GOOD; 50]).as_bytes());
    let dir = trail(&[("cut.json.gz", whole[..whole.len() * 6 / 10].to_vec())]);
    let error = failure(dir.path(), ALL).await;
    assert!(
        error.contains("cut.json.gz: corrupt or truncated gzip"),
        "{error}"
    );
    let (rows, stats) = skipped(dir.path(), ALL).await;
    assert_eq!(stats.files_failed, 1, "{stats}");
    // The good file's two events, and the cut file's records whole before the cut; the
    // cut, not the broken record it fell in, is what is reported.
    assert!((3..52).contains(&rows), "{rows}");
    assert!(
        stats
            .to_string()
            .contains("cut.json.gz: corrupt or truncated gzip after")
            && stats.to_string().contains("unexpected end of file"),
        "{stats}"
    );
}

#[tokio::test]
async fn corrupt_gzip() {
    let mut bytes = gzip(records(&[GOOD; 50]).as_bytes());
    let middle = bytes.len() / 2;
    for byte in &mut bytes[middle..middle + 16] {
        *byte ^= 0x5a;
    }
    let dir = trail(&[("corrupt.json.gz", bytes)]);
    let error = failure(dir.path(), ALL).await;
    assert!(error.contains("corrupt.json.gz: "), "{error}");
    assert!(
        error.contains("corrupt or truncated gzip") || error.contains("invalid JSON"),
        "{error}"
    );
    let (rows, stats) = skipped(dir.path(), ALL).await;
    assert_eq!(stats.files_failed, 1, "{stats}");
    assert!(rows >= 2);
}

#[tokio::test]
async fn gzip_bomb_stops_at_the_cap() {
    // 64 MiB of JSON whitespace in 64 KB.
    let mut json = b"{\"Records\":[".to_vec();
    json.resize(json.len() + (64 << 20), b' ');
    json.extend_from_slice(b"]}");
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    encoder.write_all(&json).unwrap();
    let bomb = encoder.finish().unwrap();
    assert!(bomb.len() < 128 << 10, "{}", bomb.len());
    let dir = trail(&[("bomb.json.gz", bomb)]);
    let capped = |on_error| EngineOptions {
        max_inflated_bytes: 8 << 20,
        ..options(on_error)
    };
    let error = run(dir.path(), capped(OnError::Fail), ALL)
        .await
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("bomb.json.gz: inflates past the limit of 8388608 bytes"),
        "{error}"
    );
    let (batches, stats) = run(dir.path(), capped(OnError::Skip), ALL).await.unwrap();
    assert_eq!(stats.files_failed, 1, "{stats}");
    assert!(stats.bytes_inflated <= 16 << 20, "{stats}");
    assert_eq!(batches.iter().map(|b| b.num_rows()).sum::<usize>(), 2);
}

#[tokio::test]
async fn a_200_mb_record_is_read_whole() {
    let huge = format!(
        r#"{{"eventTime":"2024-01-01T00:00:00Z","eventName":"Huge","requestParameters":{{"policy":"{}"}}}}"#,
        "x".repeat(200 << 20)
    );
    let dir = trail(&[("huge.json.gz", gzip(records(&[&huge, GOOD]).as_bytes()))]);
    let (batches, _) = run(
        dir.path(),
        options(OnError::Fail),
        "SELECT eventname, length(requestparameters_policy) FROM cloudtrail ORDER BY 1",
    )
    .await
    .unwrap();
    assert_eq!(
        strings(&batches, 0),
        ["GetObject", "GetObject", "GetObject", "Huge"].map(|s| Some(s.to_string()))
    );
    assert_eq!(strings(&batches, 1)[3].as_deref(), Some("209715200"));
}

#[tokio::test]
async fn nesting_10000_deep_is_kept_as_text() {
    let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
    let record = format!(
        r#"{{"eventTime":"2024-01-01T00:00:00Z","eventName":"Deep","requestParameters":{{"x":{deep}}}}}"#
    );
    let dir = trail(&[("deep.json", records(&[&record, GOOD]).into_bytes())]);
    let (batches, _) = run(
        dir.path(),
        options(OnError::Fail),
        "SELECT eventname, requestparameters FROM cloudtrail WHERE eventname = 'Deep'",
    )
    .await
    .unwrap();
    assert_eq!(strings(&batches, 1), [Some(format!("{{\"x\":{deep}}}"))]);
}

#[tokio::test]
async fn invalid_utf8_fails_its_record() {
    let mut bytes = records(&[GOOD, GOOD]).into_bytes();
    let at = bytes.windows(9).rposition(|w| w == b"GetObject").unwrap();
    bytes[at + 3] = 0xff;
    let dir = trail(&[("latin.json", bytes)]);
    let error = failure(dir.path(), ALL).await;
    assert!(error.contains("latin.json: record 1"), "{error}");
    let (rows, stats) = skipped(dir.path(), ALL).await;
    assert_eq!(rows, 3, "{stats}");
    assert!(stats.records_skipped + stats.files_failed >= 1, "{stats}");
}

#[tokio::test]
async fn a_repeated_key_keeps_both_values() {
    let record = r#"{"eventTime":"2024-01-01T00:00:00Z","eventName":"Shown","eventName":"Hidden"}"#;
    let dir = trail(&[("repeat.json", records(&[record]).into_bytes())]);
    let (batches, _) = run(
        dir.path(),
        options(OnError::Fail),
        "SELECT eventname, unmapped FROM cloudtrail WHERE eventname <> 'GetObject'",
    )
    .await
    .unwrap();
    // The first value is the column; the repeat is kept in `unmapped`, not dropped.
    assert_eq!(strings(&batches, 0), [Some("Shown".to_string())]);
    let unmapped = strings(&batches, 1)[0].clone().unwrap();
    assert!(unmapped.contains("Hidden"), "{unmapped}");
}

#[tokio::test]
async fn numbers_where_strings_belong_and_the_reverse() {
    let number_name = r#"{"eventTime":"2024-01-01T00:00:00Z","eventName":123}"#;
    let dir = trail(&[("number.json", records(&[number_name]).into_bytes())]);
    let error = failure(dir.path(), ALL).await;
    assert!(
        error.contains("number.json: record 0, field eventName: expected a string, found 123"),
        "{error}"
    );
    let (rows, stats) = skipped(dir.path(), ALL).await;
    assert_eq!((rows, stats.records_skipped), (2, 1), "{stats}");

    let text_flag = r#"{"eventTime":"2024-01-01T00:00:00Z","readOnly":"maybe"}"#;
    let text_time = r#"{"eventTime":1704067200}"#;
    let dir = trail(&[("text.json", records(&[text_flag, text_time]).into_bytes())]);
    let error = failure(dir.path(), ALL).await;
    assert!(
        error.contains(
            "text.json: record 0, field readOnly: expected true or false, found \"maybe\""
        ),
        "{error}"
    );
    let (rows, stats) = skipped(dir.path(), ALL).await;
    assert_eq!((rows, stats.records_skipped), (2, 2), "{stats}");
}

#[tokio::test]
async fn null_everywhere_a_value_may_be() {
    let nulls = r#"{"eventVersion":null,"eventTime":null,"eventSource":null,"eventName":null,"awsRegion":null,"sourceIPAddress":null,"userAgent":null,"userIdentity":{"type":null,"arn":null,"sessionContext":null},"requestParameters":null,"responseElements":null,"resources":null,"readOnly":null,"managementEvent":null,"tlsDetails":null,"additionalEventData":null,"errorCode":null}"#;
    let dir = trail(&[("nulls.json", records(&[nulls]).into_bytes())]);
    let (batches, _) = run(
        dir.path(),
        options(OnError::Fail),
        "SELECT eventname, eventtime, readonly, useridentity_type, resources FROM cloudtrail \
         WHERE eventname IS NULL",
    )
    .await
    .unwrap();
    assert_eq!(batches.iter().map(|b| b.num_rows()).sum::<usize>(), 1);
    for column in 0..5 {
        assert_eq!(strings(&batches, column), [None], "column {column}");
    }
    // A null where a record belongs is a bad record, not a bad file: the records after
    // it are still read.
    let dir = trail(&[(
        "null-record.json",
        records(&[GOOD, "null", GOOD]).into_bytes(),
    )]);
    let error = failure(dir.path(), ALL).await;
    assert!(
        error.contains(
            "null-record.json: record 1, field Records[]: expected a JSON object, found null"
        ),
        "{error}"
    );
    let (rows, stats) = skipped(dir.path(), ALL).await;
    assert_eq!(
        (rows, stats.records_skipped, stats.files_failed),
        (4, 1, 0),
        "{stats}"
    );
}

#[tokio::test]
async fn an_empty_file() {
    let dir = trail(&[("empty.json", Vec::new())]);
    let error = failure(dir.path(), ALL).await;
    assert!(error.contains("empty.json: the file is empty"), "{error}");
    let (rows, stats) = skipped(dir.path(), ALL).await;
    assert_eq!((rows, stats.files_failed), (2, 1), "{stats}");
}

#[tokio::test]
async fn a_folder_of_100_000_empty_files() {
    let dir = trail(&[]);
    let empty = dir.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    for i in 0..100_000 {
        std::fs::File::create(empty.join(format!("{i:06}.json"))).unwrap();
    }
    let error = failure(dir.path(), "SELECT count(*) FROM cloudtrail").await;
    assert!(error.contains(": the file is empty"), "{error}");
    let (batches, stats) = run(
        dir.path(),
        options(OnError::Skip),
        "SELECT count(*) AS n FROM cloudtrail",
    )
    .await
    .unwrap();
    assert_eq!(strings(&batches, 0), [Some("2".to_string())]);
    assert_eq!(stats.files_listed, 100_001);
    assert_eq!(stats.files_failed, 100_000, "{stats}");
}

#[tokio::test]
async fn symlink_loops_end() {
    let dir = trail(&[]);
    std::fs::create_dir(dir.path().join("sub")).unwrap();
    // A folder that leads back up, and a link to itself.
    std::os::unix::fs::symlink("..", dir.path().join("sub/up")).unwrap();
    std::os::unix::fs::symlink("self.json", dir.path().join("self.json")).unwrap();
    let error = failure(dir.path(), ALL).await;
    assert!(error.contains("self.json: cannot read"), "{error}");
    let (rows, stats) = skipped(dir.path(), ALL).await;
    // good.json is listed once, however many ways lead to it.
    assert_eq!(
        (rows, stats.files_listed, stats.files_failed),
        (2, 2, 1),
        "{stats}"
    );
}

#[tokio::test]
async fn unreadable_files() {
    let dir = trail(&[]);
    // Reading /proc/self/mem from its start fails (EIO), even for root; and a link
    // whose target is gone.
    std::os::unix::fs::symlink("/proc/self/mem", dir.path().join("mem.json")).unwrap();
    std::os::unix::fs::symlink("/no/such/file.json", dir.path().join("gone.json")).unwrap();
    let error = failure(dir.path(), ALL).await;
    assert!(error.contains(".json: cannot read: "), "{error}");
    // Said once, not repeated by a source chain.
    assert_eq!(error.matches("os error").count(), 1, "{error}");
    let (rows, stats) = skipped(dir.path(), ALL).await;
    assert_eq!((rows, stats.files_failed), (2, 2), "{stats}");
    let shown = stats.to_string();
    assert!(
        shown.contains("gone.json: cannot read: No such file"),
        "{shown}"
    );
}

#[tokio::test]
async fn pipes_and_other_special_files_are_not_read() {
    let dir = trail(&[]);
    let fifo = dir.path().join("pipe.json");
    let status = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(status.success());
    // Reading a pipe with no writer would block forever.
    let (rows, stats) = skipped(dir.path(), ALL).await;
    assert_eq!((rows, stats.files_listed), (2, 1), "{stats}");
}

#[tokio::test]
async fn a_file_that_changes_while_being_read() {
    let dir = trail(&[("growing.json", records(&[GOOD]).into_bytes())]);
    let source = [dir.path().to_str().unwrap()];
    let failing = Engine::open(&source, options(OnError::Fail)).await.unwrap();
    let skipping = Engine::open(&source, options(OnError::Skip)).await.unwrap();
    // Written to after the engines listed it.
    std::fs::write(
        dir.path().join("growing.json"),
        records(&[GOOD, GOOD, GOOD]),
    )
    .unwrap();
    let error = failing
        .sql(ALL)
        .await
        .unwrap()
        .collect()
        .await
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("growing.json: changed while being read: listed at"),
        "{error}"
    );
    let (batches, stats) = skipping.sql(ALL).await.unwrap().collect().await.unwrap();
    assert_eq!(batches.iter().map(|b| b.num_rows()).sum::<usize>(), 2);
    assert_eq!(stats.files_failed, 1, "{stats}");
}

#[tokio::test]
async fn source_ip_addresses_that_are_not_ips_are_kept_verbatim() {
    let values = [
        "AWS Internal",
        "s3.amazonaws.com",
        "2001:db8::1",
        "198.51.100.7, 10.0.0.1",
        "not an ip; <script>",
        "",
    ];
    let events: Vec<String> = values
        .iter()
        .map(|v| {
            format!(
                r#"{{"eventTime":"2024-01-01T00:00:00Z","eventName":"X","sourceIPAddress":{}}}"#,
                serde_json::to_string(v).unwrap()
            )
        })
        .collect();
    let events: Vec<&str> = events.iter().map(String::as_str).collect();
    let dir = trail(&[("ips.json", records(&events).into_bytes())]);
    let (batches, _) = run(
        dir.path(),
        options(OnError::Fail),
        "SELECT sourceipaddress FROM cloudtrail WHERE eventname = 'X'",
    )
    .await
    .unwrap();
    let mut got = strings(&batches, 0);
    got.sort();
    let mut expected: Vec<_> = values.iter().map(|v| Some(v.to_string())).collect();
    expected.sort();
    assert_eq!(got, expected);
}
