//! Micro-benchmarks of the decoder's hot paths, on a delivery file made of the Kinesis
//! example's records (compact, keys in CloudTrail's order) repeated to 8 MB: walking records without reading fields (what
//! `count(*)` costs), two columns, ten columns with `requestparameters_*`, and the gzip
//! inflate that precedes all of them.
//!
//! `cargo bench -p trailsql-decode --bench decode`

use std::io::Write;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use trailsql_decode::{CloudTrailDecoder, CloudTrailSchema, DecoderOptions};

const EXAMPLE: &[u8] = include_bytes!("../../trailsql/sample/kinesis-example.json");

/// The example's records as CloudTrail writes them (keys in their order, no spaces),
/// repeated with fresh event IDs to `target_bytes`.
fn delivery_file(target_bytes: usize) -> Vec<u8> {
    #[derive(serde::Deserialize)]
    struct Example<'a> {
        #[serde(borrow, rename = "Records")]
        records: Vec<&'a serde_json::value::RawValue>,
    }
    let example: Example = serde_json::from_slice(EXAMPLE).expect("example parses");
    let records: Vec<String> = example.records.iter().map(|r| compact(r.get())).collect();
    let mut out = Vec::with_capacity(target_bytes + 4096);
    out.extend_from_slice(b"{\"Records\":[");
    let mut i = 0usize;
    while out.len() < target_bytes {
        let record = &records[i % records.len()];
        let id_at = record.find("\"eventID\":\"").expect("an eventID") + 11;
        let id_end = id_at + record[id_at..].find('"').expect("a closed eventID");
        if i > 0 {
            out.push(b',');
        }
        out.extend_from_slice(&record.as_bytes()[..id_at]);
        out.extend_from_slice(format!("{i:08x}-0000-4000-8000-000000000000").as_bytes());
        out.extend_from_slice(&record.as_bytes()[id_end..]);
        i += 1;
    }
    out.extend_from_slice(b"]}");
    out
}

/// JSON text without the whitespace between tokens, in its own key order.
fn compact(json: &str) -> String {
    let mut out = String::with_capacity(json.len());
    let (mut in_string, mut escaped) = (false, false);
    for c in json.chars() {
        if in_string {
            out.push(c);
            (in_string, escaped) = match (escaped, c) {
                (true, _) => (true, false),
                (false, '\\') => (true, true),
                (false, '"') => (false, false),
                _ => (true, false),
            };
        } else if !c.is_whitespace() {
            in_string = c == '"';
            out.push(c);
        }
    }
    out
}

fn decode(c: &mut Criterion) {
    let file = delivery_file(8 << 20);
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(&file).expect("gzip to memory");
    let gzipped = gz.finish().expect("gzip to memory");
    let schema = CloudTrailSchema::new(&[
        vec!["streamName".to_string()],
        vec!["shardCount".to_string()],
    ]);
    let columns = |names: &[&str]| -> Vec<usize> {
        names
            .iter()
            .map(|n| schema.index_of(n).unwrap_or_else(|| panic!("{n}")))
            .collect()
    };
    let cases: Vec<(&str, Vec<usize>)> = vec![
        ("records only", vec![]),
        ("two columns", columns(&["eventsource", "eventname"])),
        ("eventtime", columns(&["eventtime"])),
        ("useridentity_arn", columns(&["useridentity_arn"])),
        (
            "requestparameters_streamname",
            columns(&["requestparameters_streamname"]),
        ),
        ("actor", columns(&["actor"])),
        (
            "ten columns",
            columns(&[
                "eventtime",
                "eventsource",
                "eventname",
                "awsregion",
                "sourceipaddress",
                "useragent",
                "errorcode",
                "useridentity_arn",
                "requestparameters_streamname",
                "requestparameters_shardcount",
            ]),
        ),
    ];
    let mut group = c.benchmark_group("decode");
    group.throughput(Throughput::Bytes(file.len() as u64));
    group.sample_size(20);
    for (name, projection) in &cases {
        group.bench_function(*name, |b| {
            let mut decoder =
                CloudTrailDecoder::new(&schema, Some(projection), DecoderOptions::default());
            b.iter(|| {
                let mut rows = 0;
                decoder
                    .decode_file("bench.json", file.clone(), &mut |batch| {
                        rows += batch.num_rows()
                    })
                    .expect("decodes");
                rows + decoder.flush().map_or(0, |b| b.num_rows())
            })
        });
    }
    group.bench_function("inflate", |b| {
        b.iter(|| trailsql_decode::maybe_inflate(gzipped.clone(), u64::MAX).unwrap())
    });
    group.finish();
}

criterion_group!(benches, decode);
criterion_main!(benches);
