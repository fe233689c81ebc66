//! Bounded resources: a memory limit that sorts and group-bys honour by spilling, and
//! cancellation that stops a query's work and frees what it held.

use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use trailsql::datafusion::arrow::util::pretty::pretty_format_batches;
use trailsql::datafusion::physical_plan::ExecutionPlan;
use trailsql::{Engine, EngineOptions, SpillTo};

/// 24 files of 4,000 events: about 40 MB of the sorted columns once decoded.
fn trail() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for i in 0..24 {
        let start = 1_704_067_200 + i * 3_600;
        let bytes = trailsql::generate::records_file(i as u64, 4_000, start, 3_600);
        std::fs::write(dir.path().join(format!("{i:02}.json")), bytes).unwrap();
    }
    dir
}

fn files_under(dir: &std::path::Path) -> usize {
    std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|entry| {
            let path = entry.path();
            if path.is_dir() { files_under(&path) } else { 1 }
        })
        .sum()
}

fn spills(plan: &Arc<dyn ExecutionPlan>) -> usize {
    let own = plan
        .metrics()
        .and_then(|m| m.spill_count())
        .unwrap_or_default();
    own + plan.children().into_iter().map(spills).sum::<usize>()
}

async fn run(engine: &Engine, sql: &str) -> trailsql::Result<(String, usize)> {
    let mut query = engine.sql(sql).await?;
    let plan = Arc::clone(query.plan());
    let mut batches = Vec::new();
    while let Some(batch) = query.next().await {
        batches.push(batch?);
    }
    let text = pretty_format_batches(&batches).unwrap().to_string();
    Ok((text, spills(&plan)))
}

const SORT: &str = "SELECT eventid, eventtime, useridentity FROM cloudtrail ORDER BY eventid";
/// A digest of the sorted result, so results compare without printing megabytes.
const SORT_DIGEST: &str = "SELECT count(*), min(eventid), max(eventid), \
    sum(length(requestparameters)), first_value(eventid ORDER BY eventid DESC) \
    FROM (SELECT eventid, requestparameters FROM cloudtrail ORDER BY eventid)";
const GROUP: &str = "SELECT eventid, count(*) AS n, max(useridentity) FROM cloudtrail \
                     GROUP BY eventid ORDER BY n DESC, eventid LIMIT 3";

#[tokio::test]
async fn sorts_and_group_bys_spill_under_a_memory_limit() {
    let dir = trail();
    let source = [dir.path().to_str().unwrap()];
    let spill_dir = tempfile::tempdir().unwrap();
    let unlimited = Engine::open(&source, EngineOptions::default())
        .await
        .unwrap();
    let limited = Engine::open(
        &source,
        EngineOptions {
            memory_limit: Some(24 << 20),
            spill: SpillTo::Folder(spill_dir.path().to_path_buf()),
            ..EngineOptions::default()
        },
    )
    .await
    .unwrap();
    let no_spilling = Engine::open(
        &source,
        EngineOptions {
            memory_limit: Some(24 << 20),
            spill: SpillTo::Off,
            ..EngineOptions::default()
        },
    )
    .await
    .unwrap();

    // Without the limit the sort holds everything in memory.
    let (expected, unlimited_spills) = run(&unlimited, SORT).await.unwrap();
    assert_eq!(unlimited_spills, 0);
    // Under it, the same answer, through spill files.
    let (sorted, spilled) = run(&limited, SORT).await.unwrap();
    assert!(spilled > 0, "the sort did not spill");
    assert!(sorted == expected, "the spilled sort differs");
    // And it would not fit: with nowhere to spill, the limit is an error.
    let error = run(&no_spilling, SORT).await.unwrap_err().to_string();
    assert!(error.contains("Resources exhausted"), "{error}");

    let (digest, _) = run(&limited, SORT_DIGEST).await.unwrap();
    assert_eq!(digest, run(&unlimited, SORT_DIGEST).await.unwrap().0);
    let (grouped, _) = run(&limited, GROUP).await.unwrap();
    assert_eq!(grouped, run(&unlimited, GROUP).await.unwrap().0);
    // Spill files are removed when the query is done (the engine keeps its folder).
    assert_eq!(files_under(spill_dir.path()), 0);
}

#[tokio::test]
async fn a_dropped_query_stops_reading() {
    let dir = trail();
    let engine = Engine::open(&[dir.path().to_str().unwrap()], EngineOptions::default())
        .await
        .unwrap();
    // A group-by runs its scan through repartitioning tasks; dropping the query must
    // stop them, not leave them reading to the end.
    let mut query = engine
        .sql("SELECT eventsource, count(*) FROM cloudtrail GROUP BY 1")
        .await
        .unwrap();
    let progress = query.progress();
    // Dropped once its first file is read, however fast the machine: a fixed wait let
    // a faster decoder finish all 24 first.
    let first_file_read = async {
        while progress.stats().files_read == 0 {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    };
    tokio::select! {
        batch = query.next() => panic!("the group-by ended before a file was counted: {batch:?}"),
        () = first_file_read => {}
    }
    drop(query);
    // A file being decoded when the query goes is finished (files decode whole, slowly
    // in a debug build); after that, no new file may start.
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    let mut stopped = progress.stats().files_read;
    loop {
        tokio::time::sleep(Duration::from_millis(500)).await;
        let now = progress.stats().files_read;
        if now == stopped {
            break;
        }
        stopped = now;
        assert!(
            std::time::Instant::now() < deadline,
            "still reading: {stopped} files"
        );
    }
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert_eq!(progress.stats().files_read, stopped);
    assert!(stopped < 24, "{stopped} files read");
}

#[tokio::test]
async fn reads_in_flight_stay_under_the_limit() {
    let dir = trail();
    let source = [dir.path().to_str().unwrap()];
    let sql = "SELECT count(*), count(DISTINCT eventid) FROM cloudtrail";
    let one_at_a_time = Engine::open(
        &source,
        EngineOptions {
            max_concurrent_reads: 1,
            target_partitions: Some(4),
            ..EngineOptions::default()
        },
    )
    .await
    .unwrap();
    let (answer, stats) = one_at_a_time
        .sql(sql)
        .await
        .unwrap()
        .collect()
        .await
        .unwrap();
    assert_eq!(stats.peak_concurrent_reads, 1);
    assert_eq!(stats.files_read, 24);
    let free = Engine::open(
        &source,
        EngineOptions {
            target_partitions: Some(4),
            ..EngineOptions::default()
        },
    )
    .await
    .unwrap();
    // A progress handle taken before anything is read (as the Python bindings take
    // one) sees the peak the reads reach.
    let query = free.sql(sql).await.unwrap();
    let progress = query.progress();
    assert_eq!(progress.stats().peak_concurrent_reads, 0);
    let (expected, stats) = query.collect().await.unwrap();
    assert!((1..=4).contains(&stats.peak_concurrent_reads));
    assert_eq!(
        progress.stats().peak_concurrent_reads,
        stats.peak_concurrent_reads
    );
    assert_eq!(
        pretty_format_batches(&answer).unwrap().to_string(),
        pretty_format_batches(&expected).unwrap().to_string()
    );
}
