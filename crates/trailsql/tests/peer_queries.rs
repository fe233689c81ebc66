//! Queries written for Athena and CloudTrail Lake, run unchanged but for the table
//! name, over the real Invictus trail in `../shared/corpus` (when it is there; it is
//! never copied into the project). docs/compatibility.md records the outcome.

use std::path::{Path, PathBuf};

use trailsql::{Engine, EngineOptions};

fn corpus() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpus");
    dir.is_dir().then_some(dir)
}

/// SQL blocks of a markdown page that read the given table.
fn markdown_queries(text: &str, table: &str) -> Vec<String> {
    text.split("```")
        .skip(1)
        .step_by(2)
        .map(|block| block.trim().to_string())
        .filter(|block| {
            let upper = block.to_ascii_uppercase();
            upper.starts_with("SELECT") && block.contains(table)
        })
        .collect()
}

struct PeerQuery {
    source: String,
    sql: String,
}

fn peer_queries(corpus: &Path) -> Vec<PeerQuery> {
    let peers = corpus.join("peer-queries");
    let mut queries = Vec::new();
    // The AWS guides, as markdown: their SQL blocks that read the guide's table name.
    for (page, table, source) in [
        (
            "aws-athena-user-guide/cloudtrail-logs.md",
            "cloudtrail_logs",
            "athena-user-guide",
        ),
        (
            "aws-cloudtrail-user-guide/query-lake-examples.md",
            "event_data_store_ID",
            "cloudtrail-lake-examples",
        ),
    ] {
        let text = std::fs::read_to_string(peers.join(page))
            .unwrap()
            .replace("\\_", "_")
            .replace("\\*", "*");
        for (i, sql) in markdown_queries(&text, table).into_iter().enumerate() {
            queries.push(PeerQuery {
                source: format!("{source}#{i}"),
                sql: sql.replace(table, "cloudtrail"),
            });
        }
    }
    let invictus =
        std::fs::read_to_string(peers.join("invictus-aws/source_files_queries.yaml")).unwrap();
    for line in invictus.lines() {
        if let Some((name, sql)) = line.split_once(": ") {
            queries.push(PeerQuery {
                source: format!("invictus-aws/{name}"),
                sql: sql.replace("DATABASE.TABLE", "cloudtrail"),
            });
        }
    }
    let mut sigma: Vec<_> = std::fs::read_dir(peers.join("invictus-sigma-aws/Sigma Athena SQL"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "sql"))
        .collect();
    sigma.sort();
    for path in sigma {
        let sql = std::fs::read_to_string(&path).unwrap();
        queries.push(PeerQuery {
            source: format!(
                "invictus-sigma-athena/{}",
                path.file_stem().unwrap().to_string_lossy()
            ),
            sql: sql
                .replace(
                    "cloudtrail_logs_aws_cloudtrail_logs_218007301253_964f3153",
                    "cloudtrail",
                )
                .replace("cloudtrail_logs", "cloudtrail"),
        });
    }
    queries
}

/// Queries that cannot run, each for a reason recorded in docs/compatibility.md: these
/// two use column names that no CloudTrail table has (uncoder.io's OCSF translation:
/// `identity.user.type`, `unmapped['eventType']`, a bare `type`), so Athena fails on
/// them too.
const NOT_CLOUDTRAIL: &[&str] = &[
    "invictus-sigma-athena/aws_enum_buckets",
    "invictus-sigma-athena/aws_root_account_usage",
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn athena_and_lake_queries_run_unchanged() {
    let Some(corpus) = corpus() else {
        eprintln!("../shared/corpus is not beside the checkout; nothing to check");
        return;
    };
    let trail = corpus
        .join("invictus-sigma-aws/_derived")
        .display()
        .to_string();
    let engine = Engine::open(&[trail], EngineOptions::default())
        .await
        .unwrap();
    let queries = peer_queries(&corpus);
    let mut failures = Vec::new();
    let mut ran = 0;
    for query in &queries {
        let result = match engine.sql(query.sql.trim_end_matches(';')).await {
            Ok(running) => running.collect().await.map(|(batches, _)| batches),
            Err(error) => Err(error),
        };
        match result {
            Ok(batches) => {
                ran += 1;
                let rows: usize = batches.iter().map(|b| b.num_rows()).sum();
                eprintln!("ok   {} ({rows} rows)", query.source);
            }
            Err(error) => {
                let first = error
                    .to_string()
                    .lines()
                    .next()
                    .unwrap_or_default()
                    .to_string();
                eprintln!("FAIL {}: {first}", query.source);
                if !NOT_CLOUDTRAIL.contains(&query.source.as_str()) {
                    failures.push(format!("{}: {first}", query.source));
                }
            }
        }
    }
    eprintln!("{ran} of {} peer queries ran unchanged", queries.len());
    assert!(
        queries.len() >= 67,
        "the corpus has 67 Athena and Lake queries"
    );
    assert!(
        failures.is_empty(),
        "these no longer run:\n{}",
        failures.join("\n")
    );
    assert_eq!(ran + NOT_CLOUDTRAIL.len(), queries.len());
}

/// Queries that must give the right answer, not just run, over the same trail.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn peer_queries_give_the_answers_of_the_native_columns() {
    let Some(corpus) = corpus() else {
        return;
    };
    let trail = corpus
        .join("invictus-sigma-aws/_derived")
        .display()
        .to_string();
    let engine = Engine::open(&[trail], EngineOptions::default())
        .await
        .unwrap();
    let count = |sql: &'static str| {
        let engine = &engine;
        async move {
            let (batches, _) = engine.sql(sql).await.unwrap().collect().await.unwrap();
            datafusion::arrow::util::pretty::pretty_format_batches(&batches)
                .unwrap()
                .to_string()
        }
    };
    // Root usage as Invictus writes it, and with our columns.
    assert_eq!(
        count("SELECT count(*) AS n FROM cloudtrail WHERE (useridentity.type = 'Root' AND NOT (eventType = 'AwsServiceEvent'))").await,
        count("SELECT count(*) AS n FROM cloudtrail WHERE useridentity_type = 'Root' AND eventtype <> 'AwsServiceEvent'").await
    );
    // element_at over the JSON text, as CloudTrail Lake writes it.
    assert_eq!(
        count("SELECT count(DISTINCT element_at(requestParameters, 'bucketName')) AS n FROM cloudtrail").await,
        count("SELECT count(DISTINCT requestparameters_bucketname) AS n FROM cloudtrail").await
    );
    assert_eq!(
        count("SELECT count(*) AS n FROM cloudtrail WHERE json_extract_scalar(additionaleventdata, '$.MFAUsed') = 'No'").await,
        count("SELECT count(*) AS n FROM cloudtrail WHERE additionalEventData.MFAUsed = 'No'").await
    );
}
