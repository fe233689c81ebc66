//! Runs the engine over the third-party corpus in `../shared/corpus` when it is there
//! (it is beside every checkout on the team's machines and in CI; it is never copied into
//! the project). Every column is decoded, so every value is type-checked.

use std::path::{Path, PathBuf};

use trailsql::{Engine, EngineOptions, OnError};

fn shared() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared");
    dir.join("corpus").is_dir().then_some(dir)
}

struct Case {
    source: &'static str,
    on_error: OnError,
    /// Records in the files, counted independently (corpus SOURCES.md).
    records: u64,
    events: u64,
    records_skipped: u64,
    files_failed: u64,
    files_without_events: u64,
}

const CASES: &[Case] = &[
    Case {
        source: "invictus-sigma-aws/CloudTrail",
        on_error: OnError::Fail,
        records: 2900,
        events: 2900,
        records_skipped: 0,
        files_failed: 0,
        files_without_events: 0,
    },
    Case {
        source: "invictus-sigma-aws/_derived",
        on_error: OnError::Fail,
        records: 2900,
        events: 2900,
        records_skipped: 0,
        files_failed: 0,
        files_without_events: 0,
    },
    Case {
        source: "stratus-red-team-detonation-logs",
        on_error: OnError::Fail,
        records: 310,
        events: 310,
        records_skipped: 0,
        files_failed: 0,
        files_without_events: 0,
    },
    // The zip archive is skipped as not JSON; the events have no eventTime (Logstash).
    Case {
        source: "otrf-security-datasets",
        on_error: OnError::Fail,
        records: 103,
        events: 103,
        records_skipped: 0,
        files_failed: 0,
        files_without_events: 1,
    },
    // One digest file.
    Case {
        source: "elastic-integrations-aws-cloudtrail",
        on_error: OnError::Fail,
        records: 15,
        events: 15,
        records_skipped: 0,
        files_failed: 0,
        files_without_events: 1,
    },
    Case {
        source: "elastic-beats-aws-cloudtrail",
        on_error: OnError::Fail,
        records: 1,
        events: 1,
        records_skipped: 0,
        files_failed: 0,
        files_without_events: 0,
    },
    Case {
        source: "trailscraper",
        on_error: OnError::Fail,
        records: 7,
        events: 7,
        records_skipped: 0,
        files_failed: 0,
        files_without_events: 0,
    },
    // ec2-user-data.json is malformed upstream (a missing `}` after its first record,
    // which is whole and decodes); cloudtrail.zip is not JSON.
    Case {
        source: "cloudtrail2sightings",
        on_error: OnError::Skip,
        records: 13,
        events: 13,
        records_skipped: 0,
        files_failed: 1,
        files_without_events: 1,
    },
    PANTHER,
    STREAMALERT,
];

// Rule-test events: placeholder times ("redacted", "...") and resources written as
// Python reprs are bad records; the expectations file is not CloudTrail.
const PANTHER: Case = Case {
    source: "panther-analysis/_derived",
    on_error: OnError::Skip,
    records: 461,
    events: PANTHER_EVENTS,
    records_skipped: 461 - PANTHER_EVENTS,
    files_failed: 0,
    files_without_events: 1,
};
const PANTHER_EVENTS: u64 = 458;
// Classifier fixtures with placeholder values; the wrapper files are not CloudTrail.
const STREAMALERT: Case = Case {
    source: "streamalert/_derived",
    on_error: OnError::Skip,
    records: 44,
    events: STREAMALERT_EVENTS,
    records_skipped: 44 - STREAMALERT_EVENTS,
    files_failed: 0,
    files_without_events: 1,
};
const STREAMALERT_EVENTS: u64 = 3;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_corpus_source_decodes_all_its_records() {
    let Some(shared) = shared() else {
        eprintln!("../shared/corpus is not beside the checkout; nothing to check");
        return;
    };
    let mut report = Vec::new();
    for case in CASES {
        let path = shared
            .join("corpus")
            .join(case.source)
            .display()
            .to_string();
        let options = EngineOptions {
            on_error: case.on_error,
            ..EngineOptions::default()
        };
        let engine = Engine::open(&[path], options).await.unwrap();
        let (_, stats) = engine
            .sql("SELECT * FROM cloudtrail")
            .await
            .unwrap()
            .collect()
            .await
            .unwrap_or_else(|e| panic!("{}: {e}", case.source));
        let without_events: u64 = stats.files_skipped.values().map(|s| s.count).sum();
        let got = (
            stats.events,
            stats.records_skipped,
            stats.files_failed,
            without_events,
        );
        let want = (
            case.events,
            case.records_skipped,
            case.files_failed,
            case.files_without_events,
        );
        report.push(format!(
            "{}: records {} events {:?} (want {:?})\n{stats}",
            case.source, case.records, got, want
        ));
        assert_eq!(
            stats.events + stats.records_skipped,
            case.records,
            "{}",
            report.last().unwrap()
        );
        assert_eq!(got, want, "{}", report.last().unwrap());
    }
    eprintln!("{}", report.join("\n"));
}

/// The sample's copy of the seed's example must be the example, exactly.
#[test]
fn bundled_seed_example_is_the_published_one() {
    let Some(shared) = shared() else {
        return;
    };
    let page = std::fs::read_to_string(shared.join("seed/000_5becf094f37c6b01.txt")).unwrap();
    let start = page.find("{ \"Records\"").unwrap();
    let end = page.rfind('}').unwrap() + 1;
    let bundled = include_str!("../sample/kinesis-example.json");
    assert_eq!(bundled.trim_end(), &page[start..end]);
}
