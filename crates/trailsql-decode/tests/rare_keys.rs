//! A key most records lack (`errorCode`) is searched for in the rest of a record rather
//! than walked to, once the decoder has seen that it is rare and that records have many
//! keys left at that point. The search may send a
//! record back to the walk but must never miss a key: these trails put the key where the
//! search has to be careful, long after the decoder has learnt that it is rare.

use arrow_array::cast::AsArray;
use arrow_array::{Array, RecordBatch};
use trailsql_decode::{CloudTrailDecoder, CloudTrailSchema, DecoderOptions, TextFilter, TextTest};

const RECORDS: usize = 3_000;

/// The record at `i`, and the `errorCode` it holds. One in 50 has the key, spelled in
/// turn as CloudTrail writes it, in capitals, with a `\u` escape, and last in the record;
/// others hold the key's name as a value, in a nested object, or `\u` escapes elsewhere.
fn record(i: usize) -> (String, Option<String>) {
    let head = format!(
        r#"{{"eventVersion":"1.08","userIdentity":{{"type":"IAMUser","arn":"arn:aws:iam::1:user/u{i}"}},"eventTime":"2024-01-01T00:00:00Z","eventSource":"s3.amazonaws.com","eventName":"E{i}","awsRegion":"us-east-1""#
    );
    // As many keys after `eventName` as CloudTrail records have: the search is only
    // worth it when a dozen or more remain.
    let tail = r#""requestID":"r","eventID":"e","readOnly":true,"eventType":"AwsApiCall","apiVersion":"1","managementEvent":true,"recipientAccountId":"1","eventCategory":"Management","k0":0,"k1":[1],"k2":{"a":"b"},"k3":null,"k4":"x","k5":false"#;
    let (text, code) = match (i % 50, i / 50 % 4) {
        (7, 0) => (
            format!(r#"{head},"errorCode":"A{i}",{tail}}}"#),
            Some(format!("A{i}")),
        ),
        (7, 1) => (
            format!(r#"{head},{tail},"ERRORCODE":"B{i}"}}"#),
            Some(format!("B{i}")),
        ),
        (7, 2) => (
            format!(r#"{head},{tail},"error\u0043ode":"C{i}"}}"#),
            Some(format!("C{i}")),
        ),
        (7, _) => (
            format!(r#"{head},{tail}, "errorCode" : "D{i}" }}"#),
            Some(format!("D{i}")),
        ),
        (13, _) => (format!(r#"{head},"note":"errorCode",{tail}}}"#), None),
        (17, _) => (
            format!(r#"{head},"responseElements":{{"errorCode":"x"}},{tail}}}"#),
            None,
        ),
        (23, _) => (format!(r#"{head},"userAgent":"caf\u00e9",{tail}}}"#), None),
        _ => (format!("{head},{tail}}}"), None),
    };
    (text, code)
}

fn decode(schema: &CloudTrailSchema, columns: Option<&[usize]>, file: &[u8]) -> Vec<RecordBatch> {
    decode_filtered(schema, columns, &[], file)
}

fn decode_filtered(
    schema: &CloudTrailSchema,
    columns: Option<&[usize]>,
    filters: &[TextFilter],
    file: &[u8],
) -> Vec<RecordBatch> {
    let mut decoder =
        CloudTrailDecoder::with_filters(schema, columns, filters, DecoderOptions::default());
    let mut batches = Vec::new();
    decoder
        .decode_file("rare.json", file.to_vec(), &mut |batch| batches.push(batch))
        .unwrap();
    batches.extend(decoder.flush());
    batches
}

fn texts(batches: &[RecordBatch], column: usize) -> Vec<Option<String>> {
    batches
        .iter()
        .flat_map(|batch| {
            let column = batch.column(column).as_string::<i32>().clone();
            (0..column.len()).map(move |i| column.is_valid(i).then(|| column.value(i).to_string()))
        })
        .collect()
}

/// The whole file of [`record`]s, and each record's `errorCode`.
fn trail() -> (String, Vec<Option<String>>) {
    let (records, codes): (Vec<String>, Vec<_>) = (0..RECORDS).map(record).unzip();
    (format!(r#"{{"Records":[{}]}}"#, records.join(",\n")), codes)
}

#[test]
fn a_rare_key_is_never_missed_however_it_is_written() {
    let (file, expected) = trail();
    let schema = CloudTrailSchema::default();
    let eventname = schema.index_of("eventname").unwrap();
    let errorcode = schema.index_of("errorcode").unwrap();
    let arn = schema.index_of("useridentity_arn").unwrap();

    for projection in [
        vec![errorcode],
        vec![eventname, errorcode],
        vec![arn, errorcode, eventname],
    ] {
        let batches = decode(&schema, Some(&projection), file.as_bytes());
        let position = projection.iter().position(|&c| c == errorcode).unwrap();
        assert_eq!(texts(&batches, position), expected, "{projection:?}");
    }
    let every_column = decode(&schema, None, file.as_bytes());
    assert_eq!(texts(&every_column, errorcode), expected);
    assert_eq!(
        expected.iter().filter(|code| code.is_some()).count(),
        RECORDS / 50
    );
}

#[test]
fn a_filter_on_a_rare_key_keeps_every_record_that_has_it() {
    let (file, codes) = trail();
    let schema = CloudTrailSchema::default();
    let eventname = schema.index_of("eventname").unwrap();
    let errorcode = schema.index_of("errorcode").unwrap();
    let with_code: Vec<Option<String>> = codes
        .iter()
        .filter(|code| code.is_some())
        .cloned()
        .collect();
    let not_null = TextFilter {
        column: errorcode,
        test: TextTest::NotNull,
    };
    let batches = decode_filtered(
        &schema,
        Some(&[eventname, errorcode]),
        &[not_null],
        file.as_bytes(),
    );
    assert_eq!(texts(&batches, 1), with_code);
    // Every spelling, including the escaped one, is found by its value too.
    let wanted: Vec<String> = with_code.iter().flatten().step_by(3).cloned().collect();
    let one_of = TextFilter {
        column: errorcode,
        test: TextTest::OneOf(wanted.clone()),
    };
    let batches = decode_filtered(&schema, Some(&[errorcode]), &[one_of], file.as_bytes());
    assert_eq!(
        texts(&batches, 0),
        wanted.into_iter().map(Some).collect::<Vec<_>>()
    );
}

/// The record at `i` with the `requestParameters` given, and its three flattened leaves
/// (`roleArn`, `instanceType`, `filter_name`). One in 50 holds a leaf, written as
/// CloudTrail writes it, in capitals, with a `\u` escape, nested under a branch, or
/// with the underscore in the key itself; others hold a leaf's key as a value, nested
/// where no column reads it, or nothing the columns read.
fn parameters_record(i: usize) -> (String, [Option<String>; 3]) {
    let none = || [None, None, None];
    let (parameters, leaves) = match (i % 50, i / 50 % 6) {
        (7, 0) => (
            format!(r#"{{"roleArn":"R{i}","roleSessionName":"s"}}"#),
            [Some(format!("R{i}")), None, None],
        ),
        (7, 1) => (
            format!(r#"{{"x":[1,{{"y":"}}"}}],"ROLEARN":"R{i}"}}"#),
            [Some(format!("R{i}")), None, None],
        ),
        (7, 2) => (
            format!(r#"{{"role\u0041rn":"R{i}"}}"#),
            [Some(format!("R{i}")), None, None],
        ),
        (7, 3) => (
            format!(r#"{{"instancesSet":{{"items":[{{}}]}}, "instanceType" : "t{i}"}}"#),
            [None, Some(format!("t{i}")), None],
        ),
        (7, 4) => (
            format!(r#"{{"filter":{{"name":"F{i}"}}}}"#),
            [None, None, Some(format!("F{i}"))],
        ),
        (7, _) => (
            format!(r#"{{"Filter_Name":"G{i}"}}"#),
            [None, None, Some(format!("G{i}"))],
        ),
        (13, _) => (
            r#"{"note":"roleArn","policy":"{\"instanceType\":1}"}"#.to_string(),
            none(),
        ),
        (17, _) => (
            r#"{"x":{"roleArn":"nested"},"filters":[]}"#.to_string(),
            none(),
        ),
        (23, _) => ("null".to_string(), none()),
        _ => (
            format!(r#"{{"secretId":"arn:aws:secretsmanager:us-east-1:1:secret:s{i}"}}"#),
            none(),
        ),
    };
    let text = format!(
        r#"{{"eventVersion":"1.08","eventTime":"2024-01-01T00:00:00Z","eventName":"E{i}","userAgent":"u","requestParameters":{parameters},"responseElements":null,"requestID":"r","eventID":"e","eventType":"AwsApiCall"}}"#
    );
    (text, leaves)
}

#[test]
fn a_request_parameter_is_never_missed_however_it_is_written() {
    let (records, leaves): (Vec<String>, Vec<_>) = (0..RECORDS).map(parameters_record).unzip();
    let file = format!(r#"{{"Records":[{}]}}"#, records.join(",\n"));
    let paths = [
        vec!["rolearn"],
        vec!["instancetype"],
        vec!["filter", "name"],
    ];
    let paths: Vec<Vec<String>> = paths
        .iter()
        .map(|path| path.iter().map(|s| s.to_string()).collect())
        .collect();
    let schema = CloudTrailSchema::new(&paths);
    let names = [
        "requestparameters_rolearn",
        "requestparameters_instancetype",
        "requestparameters_filter_name",
    ];
    let columns: Vec<usize> = names.iter().map(|n| schema.index_of(n).unwrap()).collect();
    let eventname = schema.index_of("eventname").unwrap();
    let whole = schema.index_of("requestparameters").unwrap();
    for projection in [
        columns.clone(),
        vec![eventname, columns[0]],
        vec![columns[2], eventname, columns[1]],
        // With the whole object read too, nothing is searched: the same answers.
        vec![whole, columns[0], columns[1], columns[2]],
    ] {
        let batches = decode(&schema, Some(&projection), file.as_bytes());
        for (leaf, column) in columns.iter().enumerate() {
            let Some(position) = projection.iter().position(|c| c == column) else {
                continue;
            };
            let expected: Vec<Option<String>> = leaves.iter().map(|l| l[leaf].clone()).collect();
            assert_eq!(
                texts(&batches, position),
                expected,
                "{projection:?} {}",
                names[leaf]
            );
        }
    }
    assert_eq!(
        leaves
            .iter()
            .filter(|l| l.iter().any(Option::is_some))
            .count(),
        RECORDS / 50
    );
}
