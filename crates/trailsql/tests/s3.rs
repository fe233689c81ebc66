//! `s3://` sources against a real S3-compatible server on loopback (moto's server mode,
//! started here; `pip install 'moto[server]'`): the same queries over S3 and over the
//! local copy of a generated multi-account, multi-region, multi-day trail must agree,
//! and pruning must list and read the same on both.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use datafusion::arrow::util::pretty::pretty_format_batches;
use object_store::ObjectStoreExt;
use trailsql::generate::{TrailSpec, write_trail};
use trailsql::s3::{RequestCounts, S3Options};
use trailsql::{Engine, EngineOptions, ScanStats};

struct Moto {
    child: Child,
    endpoint: String,
    _log: tempfile::NamedTempFile,
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn http(port: u16, request: &str) -> String {
    let mut stream = TcpStream::connect(("127.0.0.1", port))
        .ok()
        .unwrap_or_else(|| panic!("no server on {port}"));
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    stream.write_all(request.as_bytes()).unwrap();
    let mut response = String::new();
    let _ = stream.read_to_string(&mut response);
    response
}

fn start_moto() -> Moto {
    let port = free_port();
    // moto logs every request; a pipe nobody reads would stall it, so it logs to a file.
    let log = tempfile::NamedTempFile::new().unwrap();
    let child = Command::new("python3")
        .args([
            "-m",
            "moto.server",
            "-H",
            "127.0.0.1",
            "-p",
            &port.to_string(),
        ])
        .stdout(Stdio::null())
        .stderr(log.reopen().unwrap())
        .spawn()
        .expect("python3 runs");
    let mut moto = Moto {
        child,
        endpoint: format!("http://127.0.0.1:{port}"),
        _log: log,
    };
    let started = Instant::now();
    loop {
        if TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return moto;
        }
        if let Ok(Some(status)) = moto.child.try_wait() {
            let err = std::fs::read_to_string(moto._log.path()).unwrap_or_default();
            panic!("moto's server did not start ({status}): pip install 'moto[server]'\n{err}");
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "moto's server did not start in 30s"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn options(endpoint: &str) -> EngineOptions {
    EngineOptions {
        s3: S3Options {
            endpoint: Some(endpoint.to_string()),
            region: Some("us-east-1".to_string()),
            keys: Some(("testing".into(), "testing".into(), None)),
            ..S3Options::default()
        },
        ..EngineOptions::default()
    }
}

async fn upload(endpoint: &str, bucket: &str, root: &Path) -> usize {
    let port: u16 = endpoint.rsplit(':').next().unwrap().parse().unwrap();
    let created = http(
        port,
        &format!(
            "PUT /{bucket} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
        ),
    );
    assert!(created.starts_with("HTTP/1.1 200"), "{created}");
    let store = trailsql::s3::store(
        bucket,
        &options(endpoint).s3,
        Arc::new(RequestCounts::default()),
    )
    .await
    .unwrap();
    let mut files = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                files.push(path);
            }
        }
    }
    for file in &files {
        let key = file
            .strip_prefix(root)
            .unwrap()
            .to_string_lossy()
            .replace('\\', "/");
        let body = std::fs::read(file).unwrap();
        store
            .put(&object_store::path::Path::from(key), body.into())
            .await
            .unwrap();
    }
    files.len()
}

async fn run(engine: &Engine, sql: &str) -> (String, ScanStats) {
    let (batches, stats) = engine.sql(sql).await.unwrap().collect().await.unwrap();
    (pretty_format_batches(&batches).unwrap().to_string(), stats)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queries_over_s3_equal_queries_over_the_local_copy() {
    let moto = start_moto();
    let dir = tempfile::tempdir().unwrap();
    let spec = TrailSpec {
        seed: 5,
        accounts: 3,
        regions: 3,
        days: 2,
        files_per_day: 12,
        events_per_file: 4,
        start_epoch_seconds: 1_704_585_600,
        ..TrailSpec::default()
    };
    let written = write_trail(dir.path(), &spec).unwrap();
    // A file that is not CloudTrail, beside the trail, as shared buckets have.
    std::fs::write(dir.path().join("README.txt"), "not logs").unwrap();
    assert_eq!(
        upload(&moto.endpoint, "trail-bucket", dir.path()).await,
        written + 1
    );

    let local = Engine::open(
        &[dir.path().display().to_string()],
        EngineOptions::default(),
    )
    .await
    .unwrap();
    let s3 = Engine::open(&["s3://trail-bucket"], options(&moto.endpoint))
        .await
        .unwrap();
    assert_eq!(s3.layouts().len(), 1);
    assert_eq!(s3.layouts()[0].regions.len(), 9);

    for sql in [
        "SELECT count(*) AS n, count(DISTINCT eventid) AS ids FROM cloudtrail",
        "SELECT log_account, log_region, count(*) AS n FROM cloudtrail GROUP BY 1, 2 ORDER BY 1, 2",
        "SELECT eventsource, eventname, count(*) AS n FROM cloudtrail GROUP BY 1, 2 ORDER BY 3 DESC, 1, 2 LIMIT 10",
        "SELECT count(*) AS n FROM cloudtrail WHERE eventtime >= '2024-01-08T06:00:00Z' AND eventtime < '2024-01-08T12:00:00Z' AND recipientaccountid = '444455556666' AND awsregion = 'eu-west-1'",
        "SELECT useridentity_type, count(*) AS n FROM cloudtrail WHERE log_region = 'us-east-1' GROUP BY 1 ORDER BY 1",
    ] {
        let (want, local_stats) = run(&local, sql).await;
        let (got, s3_stats) = run(&s3, sql).await;
        assert_eq!(got, want, "{sql}");
        assert_eq!(s3_stats.files_read, local_stats.files_read, "{sql}");
        assert_eq!(
            s3_stats.store_get_requests, s3_stats.files_read,
            "{sql}\n{s3_stats}"
        );
    }

    // The engine's read limit holds for GETs: read-ahead never passes it.
    let gated = Engine::open(
        &["s3://trail-bucket"],
        EngineOptions {
            max_concurrent_reads: 3,
            ..options(&moto.endpoint)
        },
    )
    .await
    .unwrap();
    let sql = "SELECT count(*) AS n FROM cloudtrail";
    let (got, stats) = run(&gated, sql).await;
    assert_eq!(got, run(&local, sql).await.0);
    assert!(
        (1..=3).contains(&stats.peak_concurrent_reads),
        "{}",
        stats.peak_concurrent_reads
    );
    let (_, ungated) = run(&s3, sql).await;
    assert!(
        ungated.peak_concurrent_reads > 3,
        "{}",
        ungated.peak_concurrent_reads
    );

    // The latest events: the newest objects are fetched first, and once the TopK's bar
    // is set the older ones are not fetched at all. Read-ahead starts at one object, so
    // the bar is set before many GETs are made (9-11 here; 33 when it started at 16 per
    // partition).
    let sql =
        "SELECT eventtime AS at, eventid FROM cloudtrail ORDER BY eventtime DESC, eventid LIMIT 5";
    let (got, stats) = run(&s3, sql).await;
    assert_eq!(got, run(&local, sql).await.0);
    assert!(
        stats.store_get_requests <= 20,
        "{} of {written}: {stats}",
        stats.store_get_requests
    );
    assert_eq!(stats.store_get_requests, stats.files_read, "{stats}");

    // One account, region and quarter day: a handful of objects and LIST requests.
    let sql = "SELECT count(*) FROM cloudtrail WHERE eventtime BETWEEN '2024-01-08T06:00:00Z' AND '2024-01-08T12:00:00Z' AND log_account = '777788889999' AND log_region = 'ap-southeast-2'";
    let fresh = Engine::open(&["s3://trail-bucket/"], options(&moto.endpoint))
        .await
        .unwrap();
    let (_, stats) = run(&fresh, sql).await;
    assert!(stats.files_read <= 5, "{stats}");
    assert!(stats.store_list_requests <= 4, "{stats}");
    let (_, again) = run(&fresh, sql).await;
    assert_eq!(again.store_list_requests, 0, "listings are reused: {again}");

    // A prefix that holds no layout is listed whole; a missing one is an error.
    let some = Engine::open(
        &["s3://trail-bucket/AWSLogs/111122223333/CloudTrail/us-east-1/2024/01/07"],
        options(&moto.endpoint),
    )
    .await
    .unwrap();
    let (text, _) = run(
        &some,
        "SELECT count(DISTINCT log_date) AS days FROM cloudtrail",
    )
    .await;
    assert!(text.contains("| 1    |"), "{text}");
    let missing = Engine::open(
        &["s3://trail-bucket/no/such/prefix"],
        options(&moto.endpoint),
    )
    .await;
    assert!(missing.is_err());

    // A gzipped NDJSON export inflating past a part is inflated a part at a time from
    // the bytes its GET returned, not whole.
    let exports = tempfile::tempdir().unwrap();
    let lines = trailsql::generate::ndjson_export(9, 2000, 1_704_585_600, 3600);
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    encoder.write_all(&lines).unwrap();
    std::fs::write(
        exports.path().join("export.ndjson.gz"),
        encoder.finish().unwrap(),
    )
    .unwrap();
    upload(&moto.endpoint, "export-bucket", exports.path()).await;
    let local = Engine::open(
        &[exports.path().display().to_string()],
        EngineOptions::default(),
    )
    .await
    .unwrap();
    let parted = Engine::open(
        &["s3://export-bucket"],
        EngineOptions {
            part_bytes: 16 << 10,
            ..options(&moto.endpoint)
        },
    )
    .await
    .unwrap();
    let sql =
        "SELECT eventname, count(*) AS n, max(eventid) AS id FROM cloudtrail GROUP BY 1 ORDER BY 1";
    let (got, stats) = run(&parted, sql).await;
    assert_eq!(got, run(&local, sql).await.0);
    assert_eq!(stats.events, 2000);
    assert!(
        stats.file_parts as usize >= lines.len() / (32 << 10),
        "{stats}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_trail_converted_into_s3_answers_as_its_raw_logs() {
    let moto = start_moto();
    let dir = tempfile::tempdir().unwrap();
    let spec = TrailSpec {
        seed: 8,
        accounts: 2,
        regions: 2,
        days: 2,
        files_per_day: 6,
        events_per_file: 5,
        start_epoch_seconds: 1_704_585_600,
        ..TrailSpec::default()
    };
    let written = write_trail(dir.path(), &spec).unwrap();
    let port: u16 = moto.endpoint.rsplit(':').next().unwrap().parse().unwrap();
    let created = http(
        port,
        "PUT /lake HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
    );
    assert!(created.starts_with("HTTP/1.1 200"), "{created}");

    let local = Engine::open(&[dir.path().display().to_string()], options(&moto.endpoint))
        .await
        .unwrap();
    let shard_all = trailsql::parquet::convert::ConvertOptions::default();
    let report = local
        .convert("s3://lake/cloudtrail", &shard_all, |_| {})
        .await
        .unwrap();
    assert_eq!(report.converted as usize, written);
    let again = local
        .convert("s3://lake/cloudtrail", &shard_all, |_| {})
        .await
        .unwrap();
    assert_eq!(again.already_converted as usize, written);

    let converted = Engine::open(&["s3://lake/cloudtrail"], options(&moto.endpoint))
        .await
        .unwrap();
    assert_eq!(converted.converted_trails().len(), 1);
    for sql in [
        "SELECT count(*) AS n, count(DISTINCT eventid) AS ids FROM cloudtrail",
        "SELECT log_account, log_region, log_date, count(*) AS n FROM cloudtrail GROUP BY 1, 2, 3 ORDER BY 1, 2, 3",
        "SELECT eventsource, eventname, count(*) AS n FROM cloudtrail GROUP BY 1, 2 ORDER BY 3 DESC, 1, 2",
        "SELECT count(*) AS n FROM cloudtrail WHERE eventtime >= '2024-01-08T06:00:00Z' AND eventtime < '2024-01-08T12:00:00Z' AND awsregion = 'us-east-1'",
    ] {
        let (want, _) = run(&local, sql).await;
        let (got, stats) = run(&converted, sql).await;
        assert_eq!(got, want, "{sql}");
        assert!(stats.parquet_files > 0, "{sql}\n{stats}");
    }
}
