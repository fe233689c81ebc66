//! The decoder on arbitrary bytes: every envelope shape, plain and gzipped, failing and
//! skipping, every column and none. The first byte picks the mode.
#![no_main]

use libfuzzer_sys::fuzz_target;
use trailsql_decode::fuzzing::check_decoder;

fuzz_target!(|data: &[u8]| {
    check_decoder(data);
});
