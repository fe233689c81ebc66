use std::path::PathBuf;

use arrow_array::cast::AsArray;
use arrow_array::types::TimestampMicrosecondType;
use arrow_array::{Array, RecordBatch};
use trailsql_decode::{
    CloudTrailDecoder, CloudTrailSchema, ColumnType, DecodeErrorKind, DecoderOptions, Envelope,
    FileOutcome, OnError, SchemaDiscovery, SkipReason,
};

fn fixture(path: &str) -> (String, Vec<u8>) {
    let full = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(path);
    let bytes = std::fs::read(&full).unwrap_or_else(|e| panic!("{}: {e}", full.display()));
    (path.to_string(), bytes)
}

fn decode_with(
    schema: &CloudTrailSchema,
    columns: &[&str],
    path: &str,
    on_error: OnError,
) -> Result<(RecordBatch, FileOutcome), trailsql_decode::DecodeError> {
    let projection: Vec<usize> = columns
        .iter()
        .map(|c| schema.index_of(c).unwrap())
        .collect();
    let options = DecoderOptions {
        on_error,
        ..DecoderOptions::default()
    };
    let mut decoder = CloudTrailDecoder::new(schema, Some(&projection), options);
    let (name, bytes) = fixture(path);
    let mut batches = Vec::new();
    let outcome = decoder.decode_file(&name, bytes, &mut |b| batches.push(b))?;
    batches.extend(decoder.flush());
    let batch = if batches.is_empty() {
        RecordBatch::new_empty(decoder.schema())
    } else {
        arrow_select_concat(&batches)
    };
    Ok((batch, outcome))
}

fn arrow_select_concat(batches: &[RecordBatch]) -> RecordBatch {
    assert_eq!(batches.len(), 1, "fixtures fit in one batch");
    batches[0].clone()
}

fn decode(columns: &[&str], path: &str) -> (RecordBatch, FileOutcome) {
    decode_with(&CloudTrailSchema::default(), columns, path, OnError::Fail).unwrap()
}

fn strings(batch: &RecordBatch, column: &str) -> Vec<Option<String>> {
    let array = batch.column_by_name(column).unwrap().as_string::<i32>();
    (0..array.len())
        .map(|i| array.is_valid(i).then(|| array.value(i).to_string()))
        .collect()
}

fn bools(batch: &RecordBatch, column: &str) -> Vec<Option<bool>> {
    let array = batch.column_by_name(column).unwrap().as_boolean();
    (0..array.len())
        .map(|i| array.is_valid(i).then(|| array.value(i)))
        .collect()
}

#[test]
fn seed_example_decodes_all_six_events() {
    let (batch, outcome) = decode(
        &[
            "eventname",
            "eventtime",
            "useridentity_username",
            "sourceipaddress",
        ],
        "crates/trailsql/sample/kinesis-example.json",
    );
    assert_eq!(batch.num_rows(), 6);
    assert_eq!(outcome.summary.envelopes, vec![Envelope::DeliveryFile]);
    assert_eq!(
        strings(&batch, "eventname"),
        [
            "CreateStream",
            "DescribeStream",
            "ListStreams",
            "DeleteStream",
            "SplitShard",
            "MergeShards"
        ]
        .map(|s| Some(s.to_string()))
    );
    assert!(
        strings(&batch, "useridentity_username")
            .iter()
            .all(|u| u.as_deref() == Some("Alice"))
    );
    let times = batch
        .column_by_name("eventtime")
        .unwrap()
        .as_primitive::<TimestampMicrosecondType>();
    assert_eq!(times.value(0), 1_397_866_591_000_000);
}

#[test]
fn every_envelope_yields_the_same_events() {
    let cases = [
        ("tests/fixtures/shapes/records.json", Envelope::DeliveryFile),
        (
            "tests/fixtures/shapes/records-gzipped-no-suffix",
            Envelope::DeliveryFile,
        ),
        ("tests/fixtures/shapes/events.ndjson", Envelope::Ndjson),
        ("tests/fixtures/shapes/events-array.json", Envelope::Array),
        (
            "tests/fixtures/shapes/cloudwatch-logs.json",
            Envelope::CloudWatchLogs,
        ),
        (
            "tests/fixtures/shapes/lookup-events.json",
            Envelope::LookupEvents,
        ),
    ];
    for (path, envelope) in cases {
        let (batch, outcome) = decode(&["eventid", "requestparameters"], path);
        assert_eq!(
            strings(&batch, "eventid"),
            ["evt-a", "evt-b", "evt-c"].map(|s| Some(s.to_string())),
            "{path}"
        );
        assert!(
            outcome.summary.envelopes.contains(&envelope),
            "{path}: {:?}",
            outcome.summary.envelopes
        );
        assert_eq!(
            strings(&batch, "requestparameters")[0].as_deref(),
            Some(
                r#"{"streamName":"orders","shardCount":2,"streamModeDetails":{"streamMode":"PROVISIONED"}}"#
            ),
            "{path}: JSON columns keep the exact original text"
        );
    }
}

#[test]
fn eventbridge_keeps_cloudtrail_details_and_skips_other_events() {
    let (batch, outcome) = decode(&["eventid"], "tests/fixtures/shapes/eventbridge.ndjson");
    assert_eq!(batch.num_rows(), 2);
    assert!(outcome.summary.envelopes.contains(&Envelope::EventBridge));
    assert_eq!(outcome.summary.skipped.len(), 1);
    assert!(
        outcome.summary.skipped[0]
            .to_string()
            .contains("EC2 Instance State-change Notification")
    );
}

#[test]
fn booleans_accept_strings_and_identity_is_flattened() {
    let (batch, _) = decode(
        &[
            "readonly",
            "managementevent",
            "sessioncredentialfromconsole",
            "useridentity_sessioncontext_attributes_mfaauthenticated",
            "useridentity_sessioncontext_sessionissuer_arn",
            "actor",
            "actor_kind",
            "credential_kind",
        ],
        "tests/fixtures/shapes/records.json",
    );
    assert_eq!(
        bools(&batch, "readonly"),
        [Some(false), Some(false), Some(false)]
    );
    assert_eq!(
        bools(&batch, "managementevent"),
        [Some(true), Some(true), Some(true)]
    );
    assert_eq!(
        bools(&batch, "sessioncredentialfromconsole"),
        [Some(true), None, None]
    );
    assert_eq!(
        bools(
            &batch,
            "useridentity_sessioncontext_attributes_mfaauthenticated"
        ),
        [Some(true), None, None]
    );
    assert_eq!(
        strings(&batch, "actor"),
        [
            Some("arn:aws:iam::111122223333:role/Admin"),
            Some("arn:aws:iam::111122223333:user/bob"),
            Some("ec2.amazonaws.com")
        ]
        .map(|s| s.map(str::to_string))
    );
    assert_eq!(
        strings(&batch, "actor_kind"),
        ["assumed_role", "iam_user", "aws_service"].map(|s| Some(s.to_string()))
    );
    assert_eq!(
        strings(&batch, "credential_kind"),
        ["temporary", "long_term", "none"].map(|s| Some(s.to_string()))
    );
}

#[test]
fn unknown_keys_are_kept_in_unmapped() {
    let (batch, _) = decode(&["unmapped"], "tests/fixtures/shapes/records.json");
    assert_eq!(
        strings(&batch, "unmapped"),
        [
            None,
            Some(
                r#"{"vendorField":{"score":7},"@timestamp":"2024-01-07T10:20:00.000Z"}"#
                    .to_string()
            ),
            None
        ]
    );
}

/// A repeated key keeps its first value in the column and the next in `unmapped`, also
/// when the decoder predicted it from the records before (it learns key order).
#[test]
fn repeated_keys_go_to_unmapped_predicted_or_not() {
    let schema = CloudTrailSchema::default();
    let projection = ["eventname", "unmapped"].map(|c| schema.index_of(c).unwrap());
    let mut decoder = CloudTrailDecoder::new(&schema, Some(&projection), DecoderOptions::default());
    let file = br#"{"Records":[
        {"eventName":"A","eventName":"B"},
        {"eventName":"C","eventName":"D"},
        {"eventName":"E","EventName":"F","eventName":"G"}]}"#;
    let mut batches = Vec::new();
    decoder
        .decode_file("mem.json", file.to_vec(), &mut |b| batches.push(b))
        .unwrap();
    batches.extend(decoder.flush());
    let batch = &batches[0];
    assert_eq!(
        strings(batch, "eventname"),
        ["A", "C", "E"].map(|s| Some(s.to_string()))
    );
    assert_eq!(
        strings(batch, "unmapped"),
        [
            r#"{"eventName":"B"}"#,
            r#"{"eventName":"D"}"#,
            r#"{"EventName":"F","eventName":"G"}"#
        ]
        .map(|s| Some(s.to_string()))
    );
}

#[test]
fn resources_tolerate_key_spellings() {
    let (batch, _) = decode(&["resources"], "tests/fixtures/shapes/records.json");
    let list = batch.column(0).as_list::<i32>();
    assert!(list.is_null(0));
    let entries = list.value(1);
    let entries = entries.as_struct();
    let arn = entries.column_by_name("arn").unwrap().as_string::<i32>();
    let account = entries
        .column_by_name("accountid")
        .unwrap()
        .as_string::<i32>();
    let prefix = entries
        .column_by_name("arnprefix")
        .unwrap()
        .as_string::<i32>();
    assert_eq!(arn.value(0), "arn:aws:s3:::logs");
    assert_eq!(arn.value(1), "arn:aws:s3:::logs/x");
    assert_eq!(account.value(1), "111122223333");
    assert_eq!(prefix.value(2), "arn:aws:s3:::logs/");
}

#[test]
fn request_parameters_are_discovered_and_flattened() {
    let mut discovery = SchemaDiscovery::new(1000, 1 << 30);
    let (name, bytes) = fixture("tests/fixtures/shapes/records.json");
    discovery.add_file(&name, bytes).unwrap();
    let schema = CloudTrailSchema::new(&discovery.paths());
    let names: Vec<&str> = schema
        .columns()
        .iter()
        .map(|c| c.name.as_str())
        .filter(|n| n.starts_with("requestparameters_"))
        .collect();
    assert_eq!(
        names,
        [
            "requestparameters_bucketname",
            "requestparameters_bucketpolicy_statement",
            "requestparameters_host",
            "requestparameters_shardcount",
            "requestparameters_streammodedetails_streammode",
            "requestparameters_streamname",
        ]
    );
    let (batch, _) = decode_with(
        &schema,
        &[
            "requestparameters_streamname",
            "requestparameters_shardcount",
            "requestparameters_streammodedetails_streammode",
            "requestparameters_bucketpolicy_statement",
        ],
        "tests/fixtures/shapes/records.json",
        OnError::Fail,
    )
    .unwrap();
    assert_eq!(
        strings(&batch, "requestparameters_streamname"),
        [Some("orders".to_string()), None, None]
    );
    assert_eq!(
        strings(&batch, "requestparameters_shardcount")[0].as_deref(),
        Some("2")
    );
    assert_eq!(
        strings(&batch, "requestparameters_streammodedetails_streammode")[0].as_deref(),
        Some("PROVISIONED")
    );
    assert_eq!(
        strings(&batch, "requestparameters_bucketpolicy_statement")[1].as_deref(),
        Some(r#"[{"Effect":"Allow","Principal":"*"}]"#)
    );
}

#[test]
fn empty_projection_counts_rows() {
    let (batch, _) = decode(&[], "tests/fixtures/shapes/records.json");
    assert_eq!(batch.num_rows(), 3);
    assert_eq!(batch.num_columns(), 0);
}

fn fail(path: &str, columns: &[&str]) -> trailsql_decode::DecodeError {
    decode_with(&CloudTrailSchema::default(), columns, path, OnError::Fail).unwrap_err()
}

#[test]
fn bad_input_errors_name_file_record_and_field() {
    let error = fail("tests/fixtures/bad/wrong-type.json", &["eventname"]);
    assert_eq!(
        error.to_string(),
        "tests/fixtures/bad/wrong-type.json: record 1, field eventName: expected a string, found 42"
    );
    let error = fail("tests/fixtures/bad/bad-time.ndjson", &["eventtime"]);
    assert_eq!(
        error.to_string(),
        "tests/fixtures/bad/bad-time.ndjson: record 1, field eventTime: expected an ISO-8601 time, found \"yesterday\""
    );
    let error = fail("tests/fixtures/bad/broken.json", &["eventname"]);
    assert!(
        matches!(error.kind, DecodeErrorKind::Json { line: 1, .. }),
        "{error}"
    );
    // The comma missing after record 1 is between records.
    assert_eq!(error.location.record(), None, "{error}");
    assert_eq!(error.location.after_record(), Some(1), "{error}");
    assert!(
        error.to_string().starts_with(
            "tests/fixtures/bad/broken.json: after record 1: invalid JSON at line 1, column"
        ),
        "{error}"
    );
    let error = fail("tests/fixtures/bad/truncated.json.gz", &["eventname"]);
    assert!(
        matches!(error.kind, DecodeErrorKind::Gzip { .. }),
        "{error}"
    );
    assert!(
        error
            .to_string()
            .starts_with("tests/fixtures/bad/truncated.json.gz: corrupt or truncated gzip"),
        "{error}"
    );
    let error = fail("tests/fixtures/bad/empty.json", &[]);
    assert_eq!(
        error.to_string(),
        "tests/fixtures/bad/empty.json: the file is empty"
    );
}

/// A syntax error in a record names the record, the first one too (it used to be named
/// only once a record had been read), whether the record is read for columns or only
/// skipped by its structure.
#[test]
fn a_syntax_error_names_its_record_the_first_one_too() {
    // (file, text, the record it breaks in, whether only a strict read sees the break:
    // a skip by structure sees a value cut short but not a missing comma)
    let cases: [(&str, &[u8], usize, bool); 10] = [
        (
            "grammar.json",
            br#"{"Records":[{"eventVersion":"1.08" "eventName":"A"},{"eventVersion":"1.08","eventName":"B"}]}"#,
            0,
            true,
        ),
        // A bracket closed by the other kind: a skip by structure counts brackets, so it
        // ends the record late (at the `]` of `Records`) or early (here, before `"y"`),
        // and the error surfaces after it; the record is then read again strictly.
        (
            "mismatch.json",
            br#"{"Records":[{"eventVersion":"1.08","eventName":[1},{"eventVersion":"1.08","eventName":"B"}]}"#,
            0,
            false,
        ),
        (
            "early.json",
            br#"{"Records":[{"eventVersion":"1.08","eventName":"A"},{"eventVersion":"1.08","x":[1}},"y":2},{"eventVersion":"1.08"}]}"#,
            1,
            false,
        ),
        (
            "late.json",
            br#"{"Records":[{"eventVersion":"1.08","eventName":"A"},{"eventVersion":"1.08","x":[{"a":1]},{"eventVersion":"1.08"}]}"#,
            1,
            false,
        ),
        (
            "first.json",
            br#"{"Records":[{"eventVersion":"1.08","eventName":"A"#,
            0,
            false,
        ),
        (
            "second.json",
            br#"{"Records":[{"eventVersion":"1.08","eventName":"A"},{"eventVersion":"1.08","eventName":["#,
            1,
            false,
        ),
        (
            "first.ndjson",
            b"{\"eventVersion\":\"1.08\",\"eventName\":[1\n{\"eventVersion\":\"1.08\"}\n",
            0,
            false,
        ),
        (
            "cut.ndjson",
            b"{\"eventVersion\":\"1.08\"}\n{\"eventVersion\":\"1.08\",\"eventName\":\"A",
            1,
            false,
        ),
        ("array.json", br#"[{"eventVersion":"1.08","eventName":"A"#, 0, false),
        ("element.json", br#"{"Records":[tru]}"#, 0, false),
    ];
    let schema = CloudTrailSchema::default();
    let projection = [schema.index_of("eventname").unwrap()];
    for (name, text, record, strict_only) in cases {
        let unread: &[usize] = &[];
        let projections = if strict_only {
            &[&projection[..]][..]
        } else {
            &[&projection[..], unread][..]
        };
        for columns in projections {
            let mut decoder =
                CloudTrailDecoder::new(&schema, Some(columns), DecoderOptions::default());
            let error = decoder
                .decode_file(name, text.to_vec(), &mut |_| {})
                .unwrap_err();
            assert_eq!(error.location.record(), Some(record), "{error}");
            assert!(
                error
                    .to_string()
                    .starts_with(&format!("{name}: record {record}: invalid JSON at line")),
                "{error}"
            );
            // Where the text first goes wrong, as serde_json sees it (which places the
            // end of the text on its last character, not after it, and a bad literal
            // where its letters stop matching, not at its start).
            let first = serde_json::Deserializer::from_slice(text)
                .into_iter::<serde_json::Value>()
                .find_map(Result::err)
                .unwrap();
            if !first.to_string().starts_with("expected ident") {
                assert!(
                    matches!(error.kind, DecodeErrorKind::Json { line, column, .. }
                        if (line, column) == (first.line(), first.column() + usize::from(first.is_eof()))),
                    "{error} / serde_json: {first}"
                );
            }
        }
    }
}

#[test]
fn an_error_between_or_after_records_names_the_record_before_it() {
    const R: &str = r#"{"eventVersion":"1.08","eventName":"A"}"#;
    // (file, text, the last whole record before the break: none when it is before any)
    let cases: Vec<(&str, String, Option<usize>)> = vec![
        ("cut_end.json", format!(r#"{{"Records":[{R},{R}]"#), Some(1)),
        (
            "cut_in_array.json",
            format!(r#"{{"Records":[{R},{R}"#),
            Some(1),
        ),
        (
            "junk_after.json",
            format!(r#"{{"Records":[{R},{R}] x}}"#),
            Some(1),
        ),
        (
            "comma_after.json",
            format!(r#"{{"Records":[{R},{R}],}}"#),
            Some(1),
        ),
        (
            "trailing.json",
            format!(r#"{{"Records":[{R},{R}]}} trailing"#),
            Some(1),
        ),
        (
            "second_cut.json",
            format!(r#"{{"Records":[{R},{R}]}}{{"Records":[{R}"#),
            Some(2),
        ),
        ("array_cut.json", format!("[{R},{R}"), Some(1)),
        ("envelope.json", r#"{"Records" [{}]}"#.to_string(), None),
        ("empty_records.json", r#"{"Records":[]"#.to_string(), None),
    ];
    // Where a record would be, the break is in that record: each item of `Records` is
    // one, so a comma there announces one (a bare array's non-objects are skipped, not
    // records), and so is each line of NDJSON.
    let in_the_next: [(&str, String); 3] = [
        ("announced.json", format!(r#"{{"Records":[{R},{R},]}}"#)),
        ("junk_line.ndjson", format!("{R}\n{R}\nxyz\n")),
        ("no_key.ndjson", format!("{R}\n{R}\n{{]}}\n")),
    ];
    let schema = CloudTrailSchema::default();
    let projection = [schema.index_of("eventname").unwrap()];
    for (name, text, after) in cases {
        for columns in [&projection[..], &[]] {
            let mut decoder =
                CloudTrailDecoder::new(&schema, Some(columns), DecoderOptions::default());
            let error = decoder
                .decode_file(name, text.clone().into_bytes(), &mut |_| {})
                .unwrap_err();
            assert_eq!(error.location.record(), None, "{error}");
            assert_eq!(error.location.after_record(), after, "{error}");
            let place = match after {
                Some(record) => format!("{name}: after record {record}: invalid JSON at line"),
                None => format!("{name}: invalid JSON at line"),
            };
            assert!(error.to_string().starts_with(&place), "{error}");
        }
    }
    for (name, text) in in_the_next {
        let mut decoder = CloudTrailDecoder::new(&schema, None, DecoderOptions::default());
        let error = decoder
            .decode_file(name, text.into_bytes(), &mut |_| {})
            .unwrap_err();
        assert_eq!(
            (error.location.record(), error.location.after_record()),
            (Some(2), None),
            "{error}"
        );
    }
}

#[test]
fn unprojected_bad_fields_do_not_fail() {
    let (batch, _) = decode(&["eventid"], "tests/fixtures/bad/wrong-type.json");
    assert_eq!(batch.num_rows(), 2);
}

#[test]
fn skip_mode_counts_bad_records_and_files() {
    let schema = CloudTrailSchema::default();
    let (batch, outcome) = decode_with(
        &schema,
        &["eventid", "eventtime"],
        "tests/fixtures/bad/bad-time.ndjson",
        OnError::Skip,
    )
    .unwrap();
    assert_eq!(
        strings(&batch, "eventid"),
        [Some("evt-a".to_string()), Some("evt-c".to_string())]
    );
    assert_eq!(outcome.skipped_records, 1);
    assert_eq!(outcome.first_record_errors[0].location.record(), Some(1));
    let (batch, outcome) = decode_with(
        &schema,
        &["eventid"],
        "tests/fixtures/bad/truncated.json.gz",
        OnError::Skip,
    )
    .unwrap();
    assert_eq!(batch.num_rows(), 0);
    assert!(outcome.file_error.is_some());
}

#[test]
fn digests_and_foreign_json_are_skipped_with_a_reason() {
    let (batch, outcome) = decode(&["eventid"], "tests/fixtures/bad/digest.json");
    assert_eq!(batch.num_rows(), 0);
    assert_eq!(outcome.summary.skipped, vec![SkipReason::Digest]);
    let (_, outcome) = decode(&["eventid"], "tests/fixtures/bad/not-cloudtrail.json");
    assert_eq!(
        outcome.summary.skipped[0].to_string(),
        "not CloudTrail (object with keys name, version, dependencies)"
    );
    let (_, outcome) = decode(&["eventid"], "tests/fixtures/bad/not-json.csv");
    assert_eq!(
        outcome.summary.skipped[0].to_string(),
        "not JSON (starts with \"timestamp,event.\")"
    );
}

/// One byte-order mark is taken off; a second is the start of something other than JSON.
#[test]
fn a_file_starting_with_two_byte_order_marks_is_not_json() {
    let mut decoder = CloudTrailDecoder::new(
        &CloudTrailSchema::default(),
        None,
        DecoderOptions::default(),
    );
    let outcome = decoder
        .decode_file(
            "twice.json",
            b"\xEF\xBB\xBF\xEF\xBB\xBF{}".to_vec(),
            &mut |_| {},
        )
        .unwrap();
    assert!(
        matches!(outcome.summary.skipped[..], [SkipReason::NotJson(_)]),
        "{outcome:?}"
    );
    let outcome = decoder
        .decode_file(
            "once.json",
            b"\xEF\xBB\xBF{\"Records\":[]}".to_vec(),
            &mut |_| {},
        )
        .unwrap();
    assert!(outcome.summary.skipped.is_empty(), "{outcome:?}");
}

#[test]
fn batches_are_emitted_at_the_batch_size() {
    let schema = CloudTrailSchema::default();
    let options = DecoderOptions {
        batch_size: 2,
        ..DecoderOptions::default()
    };
    let mut decoder = CloudTrailDecoder::new(&schema, None, options);
    let (name, bytes) = fixture("tests/fixtures/shapes/records.json");
    let mut batches = Vec::new();
    decoder
        .decode_file(&name, bytes, &mut |b| batches.push(b))
        .unwrap();
    assert_eq!(batches.len(), 1);
    assert_eq!(decoder.buffered_rows(), 1);
    batches.extend(decoder.flush());
    assert_eq!(batches.iter().map(|b| b.num_rows()).sum::<usize>(), 3);
}

#[test]
fn columns_doc_is_current() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../docs/columns.md");
    let expected = trailsql_decode::columns_markdown();
    if std::env::var_os("UPDATE_DOCS").is_some() {
        std::fs::write(&path, &expected).unwrap();
    }
    let actual = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        actual == expected,
        "docs/columns.md is stale: run `UPDATE_DOCS=1 cargo test -p trailsql-decode columns_doc`"
    );
}

/// Decodes in-memory bytes with a projection; returns rows or the error.
fn decode_bytes(columns: &[&str], bytes: &[u8]) -> Result<usize, trailsql_decode::DecodeError> {
    // The one `requestParameters` leaf the inputs below have, as discovery would add it.
    let schema = CloudTrailSchema::new(&[vec!["a".to_string()]]);
    let projection: Vec<usize> = columns
        .iter()
        .map(|c| schema.index_of(c).unwrap())
        .collect();
    let mut decoder = CloudTrailDecoder::new(&schema, Some(&projection), DecoderOptions::default());
    let mut rows = 0;
    decoder.decode_file("mem.json", bytes.to_vec(), &mut |b| rows += b.num_rows())?;
    Ok(rows + decoder.flush().map_or(0, |b| b.num_rows()))
}

#[test]
fn structure_is_checked_in_values_no_column_reads() {
    let good = br#"{"Records":[{"eventName":"A","requestParameters":{"a":[1,{"b":null}]}},{"eventName":"B"}]}"#;
    let projections = [
        &[][..],
        &["eventname"][..],
        &["useridentity_arn"][..],
        &["requestparameters"][..],
    ];
    for columns in projections {
        assert_eq!(decode_bytes(columns, good).unwrap(), 2);
        for bad in [
            // A bracket that never closes, one closed by the wrong kind, a string that
            // never ends, a file cut short.
            &br#"{"Records":[{"eventName":"A","requestParameters":{"a":[1,{"b":null}}},{"eventName":"B"}]}"#[..],
            br#"{"Records":[{"eventName":"A","requestParameters":{"a":[1,{"b":null]}},{"eventName":"B"}]}"#,
            br#"{"Records":[{"eventName":"A","requestParameters":{"a":[1,{"b":"null}]}},{"eventName":"B"}]}"#,
            br#"{"Records":[{"eventName":"A","requestParameters":{"a":[1,{"b":null}]}},{"eventName":"B"}"#,
        ] {
            let error = decode_bytes(columns, bad).unwrap_err();
            assert!(
                matches!(error.kind, DecodeErrorKind::Json { .. }),
                "{columns:?}: {error}"
            );
            assert_eq!(error.location.file, "mem.json");
        }
    }
}

#[test]
fn grammar_is_checked_in_values_a_column_reads() {
    for bad in [
        &br#"{"Records":[{"eventName":"A","requestParameters":{"a":[1,{"b":nul}]}},{"eventName":"B"}]}"#[..],
        br#"{"Records":[{"eventName":"A","requestParameters":{"a":[1 {"b":null}]}},{"eventName":"B"}]}"#,
    ] {
        // Read, as JSON text or through a flattened column: an error.
        for columns in [&["requestparameters"][..], &["eventname", "requestparameters_a"][..]] {
            let error = decode_bytes(columns, bad).unwrap_err();
            assert!(
                matches!(error.kind, DecodeErrorKind::Json { .. }),
                "{columns:?}: {error}"
            );
        }
        // Not read: skipped by its structure, which is sound, so both records count.
        for columns in [&[][..], &["eventname"][..], &["useridentity_arn"][..]] {
            assert_eq!(decode_bytes(columns, bad).unwrap(), 2, "{columns:?}");
        }
    }
}

#[test]
fn invalid_utf8_fails_the_record_it_is_in() {
    let mut bytes = br#"{"Records":[{"eventName":"A"},{"eventName":"B","userAgent":"x"#.to_vec();
    bytes.push(0xff);
    bytes.extend_from_slice(br#""}]}"#);
    for columns in [&[][..], &["eventname"][..]] {
        let error = decode_bytes(columns, &bytes).unwrap_err();
        assert_eq!(error.location.record(), Some(1), "{error}");
        assert!(error.to_string().contains("invalid UTF-8"), "{error}");
    }
}

#[test]
fn deep_nesting_in_a_record_is_skipped_or_kept_as_text() {
    let depth = 10_000;
    let deep = format!("{}{}", "[".repeat(depth), "]".repeat(depth));
    let file = format!(r#"{{"Records":[{{"eventName":"A","requestParameters":{{"x":{deep}}}}}]}}"#);
    assert_eq!(decode_bytes(&["eventname"], file.as_bytes()).unwrap(), 1);
    assert_eq!(
        decode_bytes(&["requestparameters"], file.as_bytes()).unwrap(),
        1
    );
}

#[test]
fn a_record_failing_in_a_later_column_is_taken_back_from_every_column() {
    let schema = CloudTrailSchema::default();
    let columns = [
        "eventname",
        "readonly",
        "resources",
        "eventtime",
        "awsregion",
    ];
    let projection: Vec<usize> = columns
        .iter()
        .map(|c| schema.index_of(c).unwrap())
        .collect();
    // Record 2 fails on eventTime (after eventname, readonly and resources converted);
    // record 4 on readOnly. Nulls and escapes around them must stay in their rows.
    let file = br#"{"Records":[
      {"eventName":"A","readOnly":true,"resources":[{"ARN":"arn:1"}],"eventTime":"2024-01-07T10:00:00Z","awsRegion":"r\u0031"},
      {"eventName":"Bad\"Time","readOnly":"false","resources":[{"ARN":"arn:2"}],"eventTime":"yesterday","awsRegion":"r2"},
      {"eventName":null,"readOnly":false,"eventTime":"2024-01-07T10:00:02Z"},
      {"eventName":"BadBool","readOnly":"maybe","resources":[{"ARN":"arn:4"}],"eventTime":"2024-01-07T10:00:03Z","awsRegion":"r4"},
      {"eventName":"E","resources":[],"eventTime":"2024-01-07T10:00:04Z","awsRegion":"r5"}
    ]}"#;
    for batch_size in [1, 2, 8192] {
        let options = DecoderOptions {
            on_error: OnError::Skip,
            batch_size,
            ..DecoderOptions::default()
        };
        let mut decoder = CloudTrailDecoder::new(&schema, Some(&projection), options);
        let mut batches = Vec::new();
        let outcome = decoder
            .decode_file("mem.json", file.to_vec(), &mut |b| batches.push(b))
            .unwrap();
        batches.extend(decoder.flush());
        assert_eq!((outcome.rows, outcome.skipped_records), (3, 2));
        let all = |f: &dyn Fn(&RecordBatch) -> Vec<Option<String>>| -> Vec<Option<String>> {
            batches.iter().flat_map(f).collect()
        };
        assert_eq!(
            all(&|b| strings(b, "eventname")),
            [Some("A".into()), None, Some("E".into())]
        );
        assert_eq!(
            all(&|b| strings(b, "awsregion")),
            [Some("r1".into()), None, Some("r5".into())]
        );
        let readonly: Vec<Option<bool>> =
            batches.iter().flat_map(|b| bools(b, "readonly")).collect();
        assert_eq!(readonly, [Some(true), Some(false), None]);
        let times: Vec<i64> = batches
            .iter()
            .flat_map(|b| {
                let column = b.column_by_name("eventtime").unwrap();
                let column = column.as_primitive::<TimestampMicrosecondType>();
                (0..column.len())
                    .map(|i| column.value(i))
                    .collect::<Vec<_>>()
            })
            .collect();
        assert_eq!(times[2] - times[0], 4_000_000);
        let lengths: Vec<usize> = batches
            .iter()
            .flat_map(|b| {
                let resources = b
                    .column_by_name("resources")
                    .unwrap()
                    .as_list::<i32>()
                    .clone();
                (0..resources.len())
                    .map(|i| {
                        if resources.is_valid(i) {
                            resources.value(i).len()
                        } else {
                            usize::MAX
                        }
                    })
                    .collect::<Vec<_>>()
            })
            .collect();
        assert_eq!(lengths, [1, usize::MAX, 0], "batch size {batch_size}");
    }
}

#[test]
fn a_flattened_column_checks_the_leaf_it_reads_and_the_structure_around_it() {
    let sibling_broken = br#"{"Records":[{"eventName":"A","requestParameters":{"z":[1 2],"a":"x"}},{"eventName":"B"}]}"#;
    // The leaf is read in full; its sibling no column reads is checked by structure only.
    assert_eq!(
        decode_bytes(&["requestparameters_a"], sibling_broken).unwrap(),
        2
    );
    let error = decode_bytes(&["requestparameters"], sibling_broken).unwrap_err();
    assert!(
        matches!(error.kind, DecodeErrorKind::Json { .. }),
        "{error}"
    );
    // Both read: still strict everywhere.
    let error = decode_bytes(
        &["requestparameters", "requestparameters_a"],
        sibling_broken,
    )
    .unwrap_err();
    assert!(
        matches!(error.kind, DecodeErrorKind::Json { .. }),
        "{error}"
    );
    let cut = br#"{"Records":[{"eventName":"A","requestParameters":{"z":[1,2},"a":"x"}},{"eventName":"B"}]}"#;
    assert!(decode_bytes(&["requestparameters_a"], cut).is_err());
}

#[test]
fn flattened_columns_are_the_same_in_every_envelope() {
    let schema = CloudTrailSchema::new(&[
        vec!["streamName".to_string()],
        vec!["streamModeDetails".to_string(), "streamMode".to_string()],
    ]);
    let columns = [
        "eventid",
        "requestparameters_streamname",
        "requestparameters_streammodedetails_streammode",
    ];
    for path in [
        "tests/fixtures/shapes/records.json",
        "tests/fixtures/shapes/events.ndjson",
        "tests/fixtures/shapes/events-array.json",
        "tests/fixtures/shapes/cloudwatch-logs.json",
        "tests/fixtures/shapes/lookup-events.json",
    ] {
        let (batch, _) = decode_with(&schema, &columns, path, OnError::Fail).unwrap();
        assert_eq!(
            strings(&batch, "requestparameters_streamname")[0].as_deref(),
            Some("orders"),
            "{path}"
        );
        assert_eq!(
            strings(&batch, "requestparameters_streammodedetails_streammode")[0].as_deref(),
            Some("PROVISIONED"),
            "{path}"
        );
    }
}

/// The walk notes which strings hold no escapes so their contents are copied without a
/// second look; a string with escapes must still be unescaped, in every kind of column,
/// and what one record noted must not carry over to the next.
#[test]
fn escaped_and_plain_strings_read_alike_in_every_kind_of_column() {
    let schema = CloudTrailSchema::new(&[vec!["roleArn".to_string()]]);
    let columns = [
        "useragent",
        "eventtime",
        "useridentity_arn",
        "requestparameters_rolearn",
        "readonly",
    ];
    let projection: Vec<usize> = columns
        .iter()
        .map(|c| schema.index_of(c).unwrap())
        .collect();
    let file = br#"{"Records":[
      {"userIdentity":{"arn":"arn:\u0061ws:x"},"eventTime":"\u0032024-01-07T10:00:00Z","userAgent":"say \"hi\"","requestParameters":{"roleArn":"a\nb"},"readOnly":"tru\u0065"},
      {"userIdentity":{"arn":"arn:aws:y"},"eventTime":"2024-01-07T10:00:01Z","userAgent":"plain","requestParameters":{"roleArn":"c"},"readOnly":"true"},
      {"userIdentity":{"arn":"arn:\\z"},"eventTime":"2024-01-07T10:00:02Z","userAgent":"back\\slash","requestParameters":{"roleArn":"d\/e"},"readOnly":false}
    ]}"#;
    // Every column, then each alone: a narrower projection walks less of each record.
    let projections: Vec<Vec<usize>> = std::iter::once(projection.clone())
        .chain(projection.iter().map(|&p| vec![p]))
        .collect();
    for projection in projections {
        let mut decoder =
            CloudTrailDecoder::new(&schema, Some(&projection), DecoderOptions::default());
        let mut batches = Vec::new();
        decoder
            .decode_file("mem.json", file.to_vec(), &mut |b| batches.push(b))
            .unwrap();
        batches.extend(decoder.flush());
        let batch = arrow_select_concat(&batches);
        let text = |column: &str| {
            batch
                .column_by_name(column)
                .map(|_| strings(&batch, column))
        };
        let some = |values: [&str; 3]| Some(values.map(|v| Some(v.to_string())).to_vec());
        if let Some(agents) = text("useragent") {
            assert_eq!(Some(agents), some([r#"say "hi""#, "plain", r"back\slash"]));
        }
        if let Some(arns) = text("useridentity_arn") {
            assert_eq!(Some(arns), some(["arn:aws:x", "arn:aws:y", r"arn:\z"]));
        }
        if let Some(roles) = text("requestparameters_rolearn") {
            assert_eq!(Some(roles), some(["a\nb", "c", "d/e"]));
        }
        if let Some(times) = batch.column_by_name("eventtime") {
            let times = times.as_primitive::<TimestampMicrosecondType>();
            assert_eq!(times.value(1) - times.value(0), 1_000_000);
        }
        if batch.column_by_name("readonly").is_some() {
            assert_eq!(
                bools(&batch, "readonly"),
                [Some(true), Some(true), Some(false)]
            );
        }
    }
}

/// Every column of `text` decoded as one file named `name`.
fn decode_text(name: &str, text: &str) -> (RecordBatch, FileOutcome) {
    let schema = CloudTrailSchema::new(&[vec!["streamname".to_string()]]);
    decode_text_in(&schema, None, name, text)
}

/// `text` decoded as the file `name`, with `projection` of `schema`'s columns.
fn decode_text_in(
    schema: &CloudTrailSchema,
    projection: Option<&[usize]>,
    name: &str,
    text: &str,
) -> (RecordBatch, FileOutcome) {
    let mut decoder = CloudTrailDecoder::new(schema, projection, DecoderOptions::default());
    let mut batches = Vec::new();
    let outcome = decoder
        .decode_file(name, text.as_bytes().to_vec(), &mut |b| batches.push(b))
        .unwrap();
    batches.extend(decoder.flush());
    (arrow_select_concat(&batches), outcome)
}

#[test]
fn ndjson_lines_read_as_the_same_records_in_a_delivery_file() {
    let (_, bytes) = fixture("tests/fixtures/shapes/events.ndjson");
    let lines: Vec<String> = String::from_utf8(bytes)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect();
    let mut variants = lines.clone();
    // Lines whose first key says "record" are read in one pass; the others are first
    // split into members. Both must give the same rows.
    for line in &lines {
        let rest = &line[1..];
        variants.push(format!("{{ \n\t{rest}"));
        variants.push(format!(r#"{{"@version":"1",{rest}"#));
        variants.push(line.replacen(r#"{"eventVersion""#, r#"{"event\u0056ersion""#, 1));
        variants.push(line.replacen(r#"{"eventVersion""#, r#"{"EVENTVERSION""#, 1));
    }
    assert!(variants.iter().all(|v| v.contains(r#""eventID""#)));
    let ndjson = variants.join("\n");
    let delivery = format!(r#"{{"Records":[{}]}}"#, variants.join(","));
    let (from_lines, lines_outcome) = decode_text("x.json", &ndjson);
    let (from_records, records_outcome) = decode_text("x.json", &delivery);
    assert_eq!(from_lines.num_rows(), variants.len());
    assert_eq!(from_lines, from_records);
    assert_eq!(lines_outcome.summary.envelopes, [Envelope::Ndjson]);
    assert_eq!(records_outcome.summary.envelopes, [Envelope::DeliveryFile]);
    assert_eq!(
        strings(&from_lines, "unmapped")[lines.len() + 1].as_deref(),
        Some(r#"{"@version":"1"}"#)
    );
    assert!(strings(&from_lines, "requestparameters_streamname")[0].is_some());
}

#[test]
fn a_line_cut_short_is_placed_where_it_breaks_not_at_the_end_of_the_file() {
    let lines = [
        r#"{"eventVersion":"1.08","eventName":"A"}"#,
        r#"{"eventVersion":"1.08","eventName":"B","x":{"a":[1,2"#,
        r#"{"eventVersion":"1.08","eventName":"C"}"#,
        r#"{"eventVersion":"1.08","eventName":"D"}"#,
    ];
    let text = lines.join("\n");
    let schema = CloudTrailSchema::default();
    // Read for a column, and only counted.
    for columns in [vec!["eventname"], vec![]] {
        let projection: Vec<usize> = columns
            .iter()
            .map(|c| schema.index_of(c).unwrap())
            .collect();
        let mut decoder =
            CloudTrailDecoder::new(&schema, Some(&projection), DecoderOptions::default());
        let error = decoder
            .decode_file("cut.json", text.as_bytes().to_vec(), &mut |_| {})
            .unwrap_err()
            .to_string();
        assert!(error.contains("record 1"), "{columns:?}: {error}");
        assert!(error.contains("line 3, column 1"), "{columns:?}: {error}");
        assert!(error.contains("expected `,` or `]`"), "{error}");
    }
}

/// NDJSON lines of `records` records, with an upper-case key now and then and a
/// pretty-printed record every so often (objects written one after another).
fn ndjson_lines(records: usize) -> String {
    let mut text = String::new();
    for i in 0..records {
        let record = format!(
            r#"{{"eventVersion":"1.09","eventTime":"2024-01-0{}T00:00:{:02}Z","eventName":"Call{}","requestParameters":{{"bucketName":"b{}"}}}}"#,
            1 + i % 9,
            i % 60,
            i % 7,
            i
        );
        if i % 10 == 3 {
            text.push_str(&record.replace(",", ",\n  ").replace('{', "{\n  "));
        } else {
            text.push_str(&record);
        }
        text.push_str(if i % 5 == 0 { "\r\n" } else { "\n" });
    }
    text
}

/// Decodes `text` in parts cut where `part_end` allows, each about `part_bytes` long.
fn decode_in_parts(
    decoder: &mut CloudTrailDecoder,
    text: &[u8],
    part_bytes: usize,
) -> Result<(Vec<RecordBatch>, FileOutcome, usize), trailsql_decode::DecodeError> {
    let mut batches = Vec::new();
    let mut whole = FileOutcome::default();
    let mut start = trailsql_decode::PartStart::default();
    let mut rest = text;
    let mut parts = 0;
    while !rest.is_empty() {
        let end = if rest.len() <= part_bytes {
            rest.len()
        } else {
            // As the engine does: a longer part when the first bytes have no end.
            let mut want = part_bytes;
            loop {
                match trailsql_decode::part_end(&rest[..want.min(rest.len())]) {
                    Some(end) => break end,
                    None if want >= rest.len() => break rest.len(),
                    None => want *= 2,
                }
            }
        };
        let (part, after) = rest.split_at(end);
        let outcome = decoder.decode_part("big.ndjson", part, start, &mut |b| batches.push(b))?;
        start = start.after(part, outcome.summary.records);
        whole.absorb(outcome);
        rest = after;
        parts += 1;
    }
    batches.extend(decoder.flush());
    Ok((batches, whole, parts))
}

#[test]
fn a_file_decoded_in_parts_gives_the_rows_of_the_whole_file() {
    let text = ndjson_lines(500);
    let schema = CloudTrailSchema::new(&[vec!["bucketName".to_string()]]);
    let columns = ["eventname", "eventtime", "requestparameters_bucketname"];
    let projection: Vec<usize> = columns
        .iter()
        .map(|c| schema.index_of(c).unwrap())
        .collect();
    let mut whole = CloudTrailDecoder::new(&schema, Some(&projection), DecoderOptions::default());
    let mut expected = Vec::new();
    let expected_outcome = whole
        .decode_file("big.ndjson", text.clone().into_bytes(), &mut |b| {
            expected.push(b)
        })
        .unwrap();
    expected.extend(whole.flush());
    let expected = arrow_select_concat(&expected);
    for part_bytes in [1, 100, 777, 4096, text.len()] {
        let mut decoder =
            CloudTrailDecoder::new(&schema, Some(&projection), DecoderOptions::default());
        let (batches, outcome, parts) =
            decode_in_parts(&mut decoder, text.as_bytes(), part_bytes).unwrap();
        let got = arrow_select_concat(&batches);
        assert_eq!(got, expected, "parts of {part_bytes} bytes");
        assert_eq!(outcome.rows, 500);
        assert_eq!(outcome.summary, expected_outcome.summary);
        assert_eq!(outcome.inflated_bytes, text.len() as u64);
        if part_bytes < 1000 {
            assert!(parts > 20, "{parts} parts of {part_bytes} bytes");
        }
    }
}

#[test]
fn errors_in_a_later_part_name_the_record_and_line_in_the_whole_file() {
    let schema = CloudTrailSchema::default();
    let projection = [schema.index_of("eventtime").unwrap()];
    let lines = ndjson_lines(300);
    // Record 250 (the only `Call5` at ten past) gets a wrong time; the 38th `Call1` is
    // record 260, broken.
    let nth = |text: &str, needle: &str, n: usize, with: &str| {
        let (at, _) = text.match_indices(needle).nth(n - 1).unwrap();
        format!("{}{with}{}", &text[..at], &text[at + needle.len()..])
    };
    let bad_time = nth(
        &lines,
        "00:10Z\",\"eventName\":\"Call5",
        1,
        "yesterday\",\"eventName\":\"Call5",
    );
    let broken = nth(&lines, "\"Call1\"", 38, "\"Call1\"]");
    let line_of = |text: &str, needle: &str| {
        let at = text.match_indices(needle).last().unwrap().0;
        1 + text[..at].matches('\n').count()
    };
    for (text, needle, record) in [(&bad_time, "yesterday", 250), (&broken, "\"Call1\"]", 260)] {
        let whole_error = {
            let mut decoder =
                CloudTrailDecoder::new(&schema, Some(&projection), DecoderOptions::default());
            decoder
                .decode_file("big.ndjson", text.clone().into_bytes(), &mut |_| {})
                .unwrap_err()
        };
        for part_bytes in [64, 1000] {
            let mut decoder =
                CloudTrailDecoder::new(&schema, Some(&projection), DecoderOptions::default());
            let error = decode_in_parts(&mut decoder, text.as_bytes(), part_bytes).unwrap_err();
            assert_eq!(error, whole_error, "parts of {part_bytes} bytes");
        }
        assert_eq!(whole_error.location.record(), Some(record), "{whole_error}");
        if needle.ends_with(']') {
            let DecodeErrorKind::Json { line, .. } = whole_error.kind else {
                panic!("{whole_error}");
            };
            assert_eq!(line, line_of(text, needle), "{whole_error}");
        }
    }
}

/// Writes JSON with whitespace at every place the grammar allows it: before and after
/// colons and commas, inside brackets.
struct Spacious;

impl serde_json::ser::Formatter for Spacious {
    fn begin_array_value<W: ?Sized + std::io::Write>(
        &mut self,
        writer: &mut W,
        first: bool,
    ) -> std::io::Result<()> {
        writer.write_all(if first { b"\n " } else { b" ,\t" })
    }

    fn end_array<W: ?Sized + std::io::Write>(&mut self, writer: &mut W) -> std::io::Result<()> {
        writer.write_all(b" \r\n]")
    }

    fn begin_object_key<W: ?Sized + std::io::Write>(
        &mut self,
        writer: &mut W,
        first: bool,
    ) -> std::io::Result<()> {
        writer.write_all(if first { b" \t" } else { b"\n,  " })
    }

    fn begin_object_value<W: ?Sized + std::io::Write>(
        &mut self,
        writer: &mut W,
    ) -> std::io::Result<()> {
        writer.write_all(b" \n:\t ")
    }

    fn end_object<W: ?Sized + std::io::Write>(&mut self, writer: &mut W) -> std::io::Result<()> {
        writer.write_all(b"\n }")
    }
}

/// The walk tests the byte at the cursor before looking for whitespace, and looks for a
/// key's colon right after it: whitespace anywhere must change no value, in any
/// projection (every column, and narrow ones that skip the rest of a record or search it
/// for rare keys).
#[test]
fn whitespace_between_tokens_changes_no_value() {
    let (_, bytes) = fixture("crates/trailsql/sample/kinesis-example.json");
    let value: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
    let compact = serde_json::to_vec(&value).unwrap();
    let pretty = serde_json::to_vec_pretty(&value).unwrap();
    let mut spacious = Vec::new();
    serde::Serialize::serialize(
        &value,
        &mut serde_json::Serializer::with_formatter(&mut spacious, Spacious),
    )
    .unwrap();
    assert!(String::from_utf8_lossy(&spacious).contains("\"eventName\" \n:\t \""));
    let schema = CloudTrailSchema::new(&[vec!["streamName".to_string()]]);
    let all: Vec<usize> = (0..schema.columns().len()).collect();
    let narrow: Vec<usize> = [
        "awsregion",
        "useridentity_type",
        "errorcode",
        "eventtime",
        "useragent",
        "requestparameters_streamname",
    ]
    .iter()
    .map(|c| schema.index_of(c).unwrap())
    .collect();
    for projection in [&all, &narrow] {
        let decode = |text: &[u8]| {
            let mut decoder =
                CloudTrailDecoder::new(&schema, Some(projection), DecoderOptions::default());
            let mut batches = Vec::new();
            decoder
                .decode_file("seed.json", text.to_vec(), &mut |b| batches.push(b))
                .unwrap();
            batches.extend(decoder.flush());
            arrow_select_concat(&batches)
        };
        let expected = decode(&compact);
        assert_eq!(expected.num_rows(), 6);
        // JSON-text columns keep the record's own text, whitespace included: they are
        // compared as JSON.
        let json_text = |batch: &RecordBatch, column: usize| -> Vec<Option<serde_json::Value>> {
            let array = batch.column(column).as_string::<i32>();
            (0..array.len())
                .map(|i| {
                    array
                        .is_valid(i)
                        .then(|| serde_json::from_str(array.value(i)).unwrap())
                })
                .collect()
        };
        for text in [&bytes, &pretty, &spacious] {
            let batch = decode(text);
            for (column, &index) in projection.iter().enumerate() {
                let spec = &schema.columns()[index];
                if spec.column_type == ColumnType::Json {
                    assert_eq!(
                        json_text(&batch, column),
                        json_text(&expected, column),
                        "{}",
                        spec.name
                    );
                } else {
                    assert_eq!(
                        batch.column(column).as_ref(),
                        expected.column(column).as_ref(),
                        "{}",
                        spec.name
                    );
                }
            }
        }
    }
}

/// `text` gzipped, with the CRC in its trailer changed when `wrong_crc`.
fn gzipped(text: &[u8], wrong_crc: bool) -> Vec<u8> {
    use std::io::Write;
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(text).unwrap();
    let mut data = encoder.finish().unwrap();
    if wrong_crc {
        let at = data.len() - 8;
        data[at] ^= 0x01;
    }
    data
}

#[test]
fn a_gzip_file_whose_crc_does_not_match_fails_whole_and_keeps_nothing() {
    let (_, text) = fixture("tests/fixtures/shapes/records.json");
    assert!(decode_bytes(&["eventname"], &gzipped(&text, false)).unwrap() > 0);
    let expected = trailsql_decode::maybe_inflate(gzipped(&text, true), u64::MAX).unwrap_err();
    assert!(
        expected.to_string().contains("incorrect data check"),
        "{expected}"
    );
    // The same error whether the CRC is checked as the file is inflated (above) or with
    // the text's UTF-8 check; also when that byte breaks the UTF-8 or the JSON: the damage
    // is what is reported.
    let mut broken_utf8 = text.clone();
    broken_utf8[40] = 0xFF;
    let mut broken_json = text.clone();
    broken_json.truncate(text.len() / 2);
    for (what, text) in [
        ("sound", &text),
        ("not UTF-8", &broken_utf8),
        ("cut", &broken_json),
    ] {
        let mut data = gzipped(text, false);
        let at = data.len() - 8;
        let crc = u32::from_le_bytes(data[at..at + 4].try_into().unwrap());
        data[at..at + 4].copy_from_slice(&(crc ^ 0x8000_0001).to_le_bytes());
        let error = decode_bytes(&["eventname"], &data).unwrap_err();
        assert_eq!(error.location.file, "mem.json", "{what}");
        assert_eq!(error.location.record(), None, "{what}");
        assert_eq!(
            error.kind,
            DecodeErrorKind::Gzip {
                inflated: text.len() as u64,
                message: "deflate decompression error: incorrect data check".to_string()
            },
            "{what}"
        );
    }
    // Schema discovery reads the file the same way.
    let mut discovery = SchemaDiscovery::new(1000, 1 << 30);
    assert!(
        discovery
            .add_file("mem.json", gzipped(&text, false))
            .is_ok()
    );
    let error = discovery
        .add_file("mem.json", gzipped(&text, true))
        .unwrap_err();
    assert!(
        matches!(error.kind, DecodeErrorKind::Gzip { .. }),
        "{error}"
    );
    // Under skip: no rows from the file, and its error is counted.
    let schema = CloudTrailSchema::default();
    let projection = [schema.index_of("eventname").unwrap()];
    let options = DecoderOptions {
        on_error: OnError::Skip,
        ..DecoderOptions::default()
    };
    let mut decoder = CloudTrailDecoder::new(&schema, Some(&projection), options);
    let mut rows = 0;
    let outcome = decoder
        .decode_file("mem.json", gzipped(&text, true), &mut |b| {
            rows += b.num_rows()
        })
        .unwrap();
    rows += decoder.flush().map_or(0, |b| b.num_rows());
    assert_eq!((rows, outcome.rows), (0, 0));
    assert!(
        matches!(
            outcome.file_error.as_ref().map(|e| &e.kind),
            Some(DecodeErrorKind::Gzip { .. })
        ),
        "{:?}",
        outcome.file_error
    );
}

#[test]
fn user_identity_reads_alike_whether_type_comes_first_or_not() {
    let identities = [
        r#"{"type":"IAMUser","arn":"a1","sessionContext":{"sessionIssuer":{"type":"Role"}}}"#,
        r#" { "type" : "Root" } "#,
        r#"{"Type":"Mixed","arn":"a3"}"#,
        r#"{"arn":"a4","type":"AWSService"}"#,
        r#"{"type":"First","type":"Second","arn":"a5"}"#,
        r#"{"type":"Esc\u0041ped","arn":"a6"}"#,
        r#"{}"#,
        r#"{"typeX":"no","arn":"a8"}"#,
    ];
    let records: Vec<String> = identities
        .iter()
        .enumerate()
        .map(|(i, identity)| {
            format!(r#"{{"eventVersion":"1.08","userIdentity":{identity},"eventID":"e{i}"}}"#)
        })
        .collect();
    let file = format!(r#"{{"Records":[{}]}}"#, records.join(","));
    let types = [
        Some("IAMUser"),
        Some("Root"),
        Some("Mixed"),
        Some("AWSService"),
        Some("First"),
        Some("EscAped"),
        None,
        None,
    ];
    let arns = [
        Some("a1"),
        None,
        Some("a3"),
        Some("a4"),
        Some("a5"),
        Some("a6"),
        None,
        Some("a8"),
    ];
    let issuer_types = [Some("Role"), None, None, None, None, None, None, None];
    let owned = |values: &[Option<&str>]| {
        values
            .iter()
            .map(|v| v.map(str::to_string))
            .collect::<Vec<_>>()
    };
    // `type` alone (the rest of the identity skipped once it is read), with `arn`, and
    // with a leaf nested after it.
    let columns: [&[&str]; 3] = [
        &["useridentity_type"],
        &["useridentity_type", "useridentity_arn"],
        &[
            "useridentity_type",
            "useridentity_sessioncontext_sessionissuer_type",
        ],
    ];
    for columns in columns {
        let (batch, outcome) = decode_text_with(columns, &file);
        assert_eq!(outcome.rows, identities.len(), "{columns:?}");
        assert_eq!(
            strings(&batch, "useridentity_type"),
            owned(&types),
            "{columns:?}"
        );
        if columns.contains(&"useridentity_arn") {
            assert_eq!(strings(&batch, "useridentity_arn"), owned(&arns));
        }
        if columns.contains(&"useridentity_sessioncontext_sessionissuer_type") {
            assert_eq!(
                strings(&batch, "useridentity_sessioncontext_sessionissuer_type"),
                owned(&issuer_types)
            );
        }
    }
}

/// `text` decoded as a file with only `columns` projected.
fn decode_text_with(columns: &[&str], text: &str) -> (RecordBatch, FileOutcome) {
    let schema = CloudTrailSchema::default();
    let projection: Vec<usize> = columns
        .iter()
        .map(|c| schema.index_of(c).unwrap())
        .collect();
    decode_text_in(&schema, Some(&projection), "mem.json", text)
}
