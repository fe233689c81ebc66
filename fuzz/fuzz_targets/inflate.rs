//! Inflating arbitrary bytes, gzipped and damaged in the ways the first byte picks: the
//! fast path (libdeflate) must give exactly what zlib-rs alone gives.
#![no_main]

use libfuzzer_sys::fuzz_target;
use trailsql_decode::fuzzing::check_inflate;

fuzz_target!(|data: &[u8]| {
    check_inflate(data);
});
