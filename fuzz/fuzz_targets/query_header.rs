//! The saved-query parser on arbitrary text, then parameter expansion of what parses.
#![no_main]

use libfuzzer_sys::fuzz_target;

// The parser is plain std (and chrono for times); compiling its two files here spares
// building DataFusion under the fuzzer's instrumentation.
#[allow(dead_code)]
#[path = "../../crates/trailsql/src/check/header.rs"]
mod header;
#[allow(dead_code)]
#[path = "../../crates/trailsql/src/check/params.rs"]
mod params;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let path = std::path::Path::new("fuzz.sql");
    if let Ok(query) = header::SavedQuery::parse(path, text) {
        let overrides = std::collections::BTreeMap::new();
        let _ = params::expand(&query, &overrides, 1_700_000_000_000_000);
        for param in &query.params {
            let _ = params::literal(&param.default, &param.default, 0);
        }
    }
});
