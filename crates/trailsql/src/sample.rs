//! The sample data built into the binary, so `trailsql` with no path works offline.

use crate::generate;
use crate::source::LogObject;

/// The example log file of the Kinesis Data Streams CloudTrail page, exactly as published.
pub const KINESIS_EXAMPLE: &[u8] = include_bytes!("../sample/kinesis-example.json");

/// Generated events in the sample: a week of three accounts and regions.
pub const GENERATED_EVENTS: usize = 400;

/// The sample's objects: the Kinesis example plus generated events.
pub fn objects() -> Vec<LogObject> {
    // 2024-01-01T00:00:00Z, spread over seven days.
    let generated = generate::records_file(2024, GENERATED_EVENTS, 1_704_067_200, 7 * 86_400);
    vec![
        LogObject::memory("sample/kinesis-example.json", KINESIS_EXAMPLE),
        LogObject::memory("sample/generated-trail.json", generated),
    ]
}
