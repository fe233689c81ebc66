//! Micro-benchmarks of the decoder's hot paths, on a delivery file made of the Kinesis
//! example's records repeated to 8 MB: walking records without reading fields (what
//! `count(*)` costs), two columns, ten columns with `requestparameters_*`, and the gzip
//! inflate that precedes all of them.
//!
//! `cargo bench -p trailsql-decode --bench decode`

use std::io::Write;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use trailsql_decode::{CloudTrailDecoder, CloudTrailSchema, DecoderOptions};

const EXAMPLE: &[u8] = include_bytes!("../../trailsql/sample/kinesis-example.json");

fn delivery_file(target_bytes: usize) -> Vec<u8> {
    let example: serde_json::Value = serde_json::from_slice(EXAMPLE).expect("example parses");
    let records = example["Records"].as_array().expect("Records array");
    let mut out = Vec::with_capacity(target_bytes + 4096);
    out.extend_from_slice(b"{\"Records\":[");
    let mut i = 0usize;
    while out.len() < target_bytes {
        let mut record = records[i % records.len()].clone();
        record["eventID"] = serde_json::json!(format!("{i:08x}-0000-4000-8000-000000000000"));
        if i > 0 {
            out.push(b',');
        }
        serde_json::to_writer(&mut out, &record).expect("serialises");
        i += 1;
    }
    out.extend_from_slice(b"]}");
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
