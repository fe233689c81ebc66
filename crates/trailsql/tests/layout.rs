//! CloudTrail's folder layout: discovery by level, pruning by time, account and region,
//! the late-delivery slack, listing reuse, EXPLAIN, and the `log_*` columns. Every
//! pruned answer is checked against the same query with pruning defeated.

use datafusion::arrow::util::pretty::pretty_format_batches;
use trailsql::generate::{TrailSpec, write_trail};
use trailsql::{Engine, EngineOptions, ScanStats};

const JAN_7: i64 = 1_704_585_600; // 2024-01-07T00:00:00Z

fn trail() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let spec = TrailSpec {
        seed: 11,
        accounts: 2,
        regions: 2,
        days: 3,
        files_per_day: 24,
        events_per_file: 5,
        start_epoch_seconds: JAN_7,
        ..TrailSpec::default()
    };
    assert_eq!(write_trail(dir.path(), &spec).unwrap(), 288);
    dir
}

async fn run(engine: &Engine, sql: &str) -> (String, ScanStats) {
    let (batches, stats) = engine.sql(sql).await.unwrap().collect().await.unwrap();
    (pretty_format_batches(&batches).unwrap().to_string(), stats)
}

/// The same filter written so that no predicate reaches the scan as a bound.
fn unpruned(sql: &str) -> String {
    sql.replace("eventtime", "(eventtime + INTERVAL '0' SECOND)")
        .replace("recipientaccountid =", "recipientaccountid || '' =")
        .replace("awsregion =", "awsregion || '' =")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_day_of_one_account_and_region_reads_its_files_and_the_slack() {
    let dir = trail();
    let root = dir.path().display().to_string();
    let engine = Engine::open(&[root], EngineOptions::default())
        .await
        .unwrap();
    assert_eq!(engine.layouts().len(), 1);
    assert_eq!(engine.layouts()[0].regions.len(), 4);
    assert!(
        engine.objects().is_empty(),
        "nothing listed beyond the region folders"
    );

    let (all, stats) = run(&engine, "SELECT count(*) AS n FROM cloudtrail").await;
    assert!(all.contains("| 1440 |"), "{all}");
    assert_eq!(stats.files_read, 288);

    let sql = "SELECT count(*) AS n, min(eventtime) AS first, max(eventtime) AS last FROM cloudtrail \
               WHERE eventtime >= '2024-01-08' AND eventtime < '2024-01-09' \
               AND recipientaccountid = '111122223333' AND awsregion = 'us-east-1'";
    let (pruned, stats) = run(&engine, sql).await;
    let (full, full_stats) = run(&engine, &unpruned(sql)).await;
    assert_eq!(pruned, full);
    assert_eq!(full_stats.files_read, 288);
    // The day's 24 files, and the first file of the next day (delivered 00:03, it holds
    // events from 23:58): 25 of 288.
    assert_eq!(stats.files_read, 25, "{stats}");
    assert!(stats.files_pruned > 0);
    // The region folder's years, months and three days, plus the next day: no object
    // listing outside the region asked for.
    assert!(stats.prefixes_listed <= 6, "{stats}");
    assert_eq!(stats.objects_listed, 48, "{stats}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_event_in_a_file_delivered_the_next_day_is_found() {
    let dir = trail();
    let engine = Engine::open(
        &[dir.path().display().to_string()],
        EngineOptions::default(),
    )
    .await
    .unwrap();
    let sql = "SELECT count(*) AS n, min(log_date) AS folder FROM cloudtrail \
               WHERE eventtime BETWEEN '2024-01-07T23:57:00Z' AND '2024-01-07T23:59:59Z'";
    let (pruned, stats) = run(&engine, sql).await;
    let (full, _) = run(&engine, &unpruned(sql)).await;
    assert_eq!(pruned, full);
    assert!(!pruned.contains("| 0 "), "no late event to find:\n{pruned}");
    assert!(
        pruned.contains("2024-01-08"),
        "the events sit in the next day's folder:\n{pruned}"
    );
    assert!(stats.files_read <= 8, "{stats}");

    // Without the slack the late file would be missed: the option is honoured.
    let strict = Engine::open(
        &[dir.path().display().to_string()],
        EngineOptions {
            late_delivery: std::time::Duration::ZERO,
            ..EngineOptions::default()
        },
    )
    .await
    .unwrap();
    let (_, strict_stats) = run(&strict, sql).await;
    assert_eq!(strict_stats.files_read, 0, "{strict_stats}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn listings_are_reused_and_explain_shows_the_pruning() {
    let dir = trail();
    let engine = Engine::open(
        &[dir.path().display().to_string()],
        EngineOptions::default(),
    )
    .await
    .unwrap();
    // The 8th: schema discovery at open listed only the newest day (the 9th).
    let sql = "SELECT count(*) FROM cloudtrail WHERE eventtime BETWEEN '2024-01-08T12:00:00Z' AND '2024-01-08T13:00:00Z' AND log_region = 'eu-west-1'";
    let (_, first) = run(&engine, sql).await;
    let (_, second) = run(&engine, sql).await;
    assert!(first.prefixes_listed > 0);
    assert_eq!(second.prefixes_listed, 0, "{second}");
    assert_eq!(first.files_read, second.files_read);

    let (plan, stats) = run(&engine, &format!("EXPLAIN {sql}")).await;
    assert_eq!(stats.files_read, 0, "EXPLAIN reads nothing");
    assert!(
        plan.contains("prune=[time: 2024-01-08T12:00:00Z .. 2024-01-08T13:00:00Z, accounts: *, regions: eu-west-1]"),
        "{plan}"
    );
    assert!(plan.contains("region_folders=2/4"), "{plan}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn log_columns_come_from_the_path() {
    let dir = trail();
    let engine = Engine::open(
        &[dir.path().display().to_string()],
        EngineOptions::default(),
    )
    .await
    .unwrap();
    let (text, _) = run(
        &engine,
        "SELECT log_account, log_region, count(DISTINCT log_date) AS days, \
         bool_and(log_account = recipientaccountid AND log_region = awsregion) AS agree \
         FROM cloudtrail GROUP BY 1, 2 ORDER BY 1, 2",
    )
    .await;
    insta::assert_snapshot!(text, @r"
    +--------------+------------+------+-------+
    | log_account  | log_region | days | agree |
    +--------------+------------+------+-------+
    | 111122223333 | eu-west-1  | 3    | true  |
    | 111122223333 | us-east-1  | 3    | true  |
    | 444455556666 | eu-west-1  | 3    | true  |
    | 444455556666 | us-east-1  | 3    | true  |
    +--------------+------------+------+-------+
    ");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn opening_a_large_layout_samples_a_bounded_number_of_region_folders() {
    use std::sync::Arc;
    use trailsql::layout::{Layout, LocalLister};
    let dir = tempfile::tempdir().unwrap();
    let spec = TrailSpec {
        seed: 3,
        accounts: 4,
        regions: 4,
        days: 1,
        files_per_day: 2,
        events_per_file: 1,
        start_epoch_seconds: JAN_7,
        ..TrailSpec::default()
    };
    write_trail(dir.path(), &spec).unwrap();
    let layout = Layout::discover(Arc::new(LocalLister), &dir.path().display().to_string())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(layout.regions.len(), 16);
    let (files, _) = layout.recent_files(1, 4).await.unwrap();
    assert_eq!(
        files.len(),
        4,
        "one file from each of 4 of the 16 region folders"
    );
    let accounts: std::collections::BTreeSet<_> = files
        .iter()
        .map(|f| trailsql_decode_account(&f.location))
        .collect();
    assert_eq!(accounts.len(), 4, "spread over the accounts: {accounts:?}");
}

fn trailsql_decode_account(location: &str) -> String {
    location
        .split('/')
        .skip_while(|s| *s != "AWSLogs")
        .nth(1)
        .unwrap()
        .to_string()
}

/// `ORDER BY eventtime DESC LIMIT n`, an investigation's first question: the newest
/// files are read first, and the TopK's bar then leaves the older files unread. Ascending
/// too, and with a second sort key; the answers are the full scan's.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_latest_events_leave_older_files_unread() {
    let dir = trail();
    let engine = Engine::open(
        &[dir.path().display().to_string()],
        EngineOptions::default(),
    )
    .await
    .unwrap();
    for order in ["DESC", "ASC", "DESC, eventid DESC"] {
        let sql = format!(
            "SELECT eventtime AS at, eventid, log_file FROM cloudtrail ORDER BY eventtime {order} LIMIT 7"
        );
        let (pruned, stats) = run(&engine, &sql).await;
        let (full, full_stats) = run(&engine, &unpruned(&sql)).await;
        assert_eq!(pruned, full, "{order}");
        assert_eq!(full_stats.files_read, 288);
        // Each partition reads its newest (or oldest) files until the bar is set.
        assert!(stats.files_read <= 16, "{order}: {stats}");
        assert_eq!(
            stats.files_pruned,
            288 - stats.files_read,
            "{order}: {stats}"
        );
    }
    let (plan, _) = run(
        &engine,
        "EXPLAIN SELECT eventname FROM cloudtrail ORDER BY eventtime DESC LIMIT 3",
    )
    .await;
    assert!(plan.contains("files_by_delivery=newest_first"), "{plan}");
    assert!(plan.contains("running_filters=[DynamicFilter"), "{plan}");
    // A filter fixed when the query is planned prunes the listing, not each file again.
    let (plan, _) = run(
        &engine,
        "EXPLAIN SELECT count(*) FROM cloudtrail WHERE eventtime > '2024-01-08'",
    )
    .await;
    assert!(!plan.contains("running_filters"), "{plan}");
    // No TopK, no running filter: every file is read.
    let (_, stats) = run(
        &engine,
        "SELECT eventname FROM cloudtrail ORDER BY eventtime DESC",
    )
    .await;
    assert_eq!(stats.files_read, 288);
}

/// Files copied out of the layout into one folder keep CloudTrail's names, and with
/// them their delivery times: time filters and the latest events prune them too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn files_copied_out_of_the_layout_prune_by_their_names() {
    let dir = trail();
    let flat = tempfile::tempdir().unwrap();
    let mut stack = vec![dir.path().to_path_buf()];
    while let Some(path) = stack.pop() {
        for entry in std::fs::read_dir(&path).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                std::fs::copy(&path, flat.path().join(path.file_name().unwrap())).unwrap();
            }
        }
    }
    let engine = Engine::open(
        &[flat.path().display().to_string()],
        EngineOptions::default(),
    )
    .await
    .unwrap();
    assert!(engine.layouts().is_empty());
    for sql in [
        "SELECT count(*) AS n, min(eventtime) AS first FROM cloudtrail \
         WHERE eventtime >= '2024-01-08T06:00:00Z' AND eventtime < '2024-01-08T09:00:00Z'",
        "SELECT eventtime AS at, eventid FROM cloudtrail ORDER BY eventtime DESC LIMIT 7",
    ] {
        let (pruned, stats) = run(&engine, sql).await;
        let (full, full_stats) = run(&engine, &unpruned(sql)).await;
        assert_eq!(pruned, full, "{sql}");
        assert_eq!(full_stats.files_read, 288);
        assert!(stats.files_read <= 40, "{sql}: {stats}");
    }
}
