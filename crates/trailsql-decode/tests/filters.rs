//! Filters checked while decoding: what they keep, what they reject, and what they must
//! never hide.

use arrow_array::Array;
use arrow_array::cast::AsArray;
use trailsql_decode::{
    CloudTrailDecoder, CloudTrailSchema, DecodeErrorKind, DecoderOptions, FileOutcome, OnError,
    TextFilter, TextTest,
};

/// Decodes `bytes` into `columns`, keeping records whose `column` is one of `values` for
/// every `(column, values)`; returns the first column's values and the outcome.
fn decode(
    columns: &[&str],
    filters: &[(&str, &[&str])],
    bytes: &[u8],
    on_error: OnError,
) -> Result<(Vec<Option<String>>, FileOutcome), trailsql_decode::DecodeError> {
    let tests: Vec<(&str, TextTest)> = filters
        .iter()
        .map(|(column, values)| {
            let values = values.iter().map(|v| v.to_string()).collect();
            (*column, TextTest::OneOf(values))
        })
        .collect();
    decode_tested(columns, &tests, bytes, on_error)
}

/// As [`decode`], with any [`TextTest`].
fn decode_tested(
    columns: &[&str],
    filters: &[(&str, TextTest)],
    bytes: &[u8],
    on_error: OnError,
) -> Result<(Vec<Option<String>>, FileOutcome), trailsql_decode::DecodeError> {
    let schema = CloudTrailSchema::default();
    let projection: Vec<usize> = columns
        .iter()
        .map(|c| schema.index_of(c).unwrap())
        .collect();
    let filters: Vec<TextFilter> = filters
        .iter()
        .map(|(column, test)| TextFilter {
            column: schema.index_of(column).unwrap(),
            test: test.clone(),
        })
        .collect();
    let options = DecoderOptions {
        on_error,
        ..DecoderOptions::default()
    };
    let mut decoder =
        CloudTrailDecoder::with_filters(&schema, Some(&projection), &filters, options);
    let mut batches = Vec::new();
    let outcome = decoder.decode_file("mem.json", bytes.to_vec(), &mut |b| batches.push(b))?;
    batches.extend(decoder.flush());
    let mut values = Vec::new();
    for batch in &batches {
        assert_eq!(
            batch.num_columns(),
            columns.len(),
            "only the projection comes out"
        );
        if let Some(column) = batch.columns().first() {
            let column = column.as_string::<i32>();
            values.extend(
                (0..column.len()).map(|i| column.is_valid(i).then(|| column.value(i).to_string())),
            );
        }
    }
    Ok((values, outcome))
}

const TRAIL: &[u8] = br#"{"Records":[
 {"eventVersion":"1.08","userIdentity":{"type":"IAMUser","arn":"arn:aws:iam::1:user/alice"},"eventName":"GetObject","awsRegion":"us-east-1"},
 {"eventVersion":"1.08","userIdentity":{"type":"AssumedRole","arn":"arn:aws:sts::1:assumed-role/r/s"},"eventName":"AssumeRole","awsRegion":"eu-west-1"},
 {"eventVersion":"1.08","userIdentity":{"type":"AWSService","invokedBy":"ec2.amazonaws.com"},"eventName":"Decrypt","awsRegion":"us-east-1"},
 {"eventVersion":"1.08","eventName":"ConsoleLogin","awsRegion":null},
 {"eventVersion":"1.08","userIdentity":{"type":"IAMUser","arn":"arn:aws:iam::1:user/\u0061lice"},"eventName":"PutObject","awsRegion":"us-east-1"}
]}"#;

#[test]
fn equality_on_a_top_level_key_keeps_matching_records_and_counts_the_rest() {
    let (names, outcome) = decode(
        &["eventname"],
        &[("awsregion", &["us-east-1"])],
        TRAIL,
        OnError::Fail,
    )
    .unwrap();
    assert_eq!(
        names,
        [
            Some("GetObject".into()),
            Some("Decrypt".into()),
            Some("PutObject".into())
        ]
    );
    assert_eq!(outcome.rows, 3);
    // The `null` region and the other region are rejected, not skipped as errors.
    assert_eq!(outcome.filtered_records, 2);
    assert_eq!(outcome.skipped_records, 0);
    assert_eq!(outcome.summary.records, 5);
}

#[test]
fn in_lists_keep_any_of_their_values() {
    let (names, outcome) = decode(
        &["eventname"],
        &[("eventname", &["Decrypt", "AssumeRole", "NoSuchCall"])],
        TRAIL,
        OnError::Fail,
    )
    .unwrap();
    assert_eq!(names, [Some("AssumeRole".into()), Some("Decrypt".into())]);
    assert_eq!(outcome.filtered_records, 3);
}

#[test]
fn identity_leaves_compare_unescaped_and_missing_leaves_never_match() {
    let (names, outcome) = decode(
        &["eventname"],
        &[("useridentity_arn", &["arn:aws:iam::1:user/alice"])],
        TRAIL,
        OnError::Fail,
    )
    .unwrap();
    // The last record spells the ARN with an escape.
    assert_eq!(names, [Some("GetObject".into()), Some("PutObject".into())]);
    assert_eq!(outcome.filtered_records, 3);
}

#[test]
fn filters_combine_and_may_read_unprojected_columns() {
    let (names, _) = decode(
        &["eventname"],
        &[
            ("useridentity_type", &["IAMUser", "AWSService"]),
            ("awsregion", &["us-east-1"]),
        ],
        TRAIL,
        OnError::Fail,
    )
    .unwrap();
    assert_eq!(
        names,
        [
            Some("GetObject".into()),
            Some("Decrypt".into()),
            Some("PutObject".into())
        ]
    );
    // With nothing projected, only the count of kept records comes out.
    let (_, outcome) = decode(&[], &[("eventname", &["Decrypt"])], TRAIL, OnError::Fail).unwrap();
    assert_eq!((outcome.rows, outcome.filtered_records), (1, 4));
}

#[test]
fn filters_on_columns_that_are_not_plain_text_are_ignored() {
    // eventtime is a timestamp and actor is derived: the caller applies such filters.
    for column in ["eventtime", "actor", "readonly", "requestparameters"] {
        let (names, outcome) =
            decode(&["eventname"], &[(column, &["x"])], TRAIL, OnError::Fail).unwrap();
        assert_eq!(names.len(), 5, "{column}");
        assert_eq!(outcome.filtered_records, 0, "{column}");
    }
}

#[test]
fn a_value_of_the_wrong_kind_is_not_hidden_by_a_filter() {
    let trail =
        br#"{"Records":[{"eventName":"A","awsRegion":"x"},{"eventName":"B","awsRegion":7}]}"#;
    let error = decode(
        &["eventname", "awsregion"],
        &[("awsregion", &["y"])],
        trail,
        OnError::Fail,
    )
    .unwrap_err();
    assert!(
        matches!(error.kind, DecodeErrorKind::WrongType { .. }),
        "{error}"
    );
    assert!(error.to_string().contains("awsRegion"), "{error}");
    let (names, outcome) = decode(
        &["eventname", "awsregion"],
        &[("awsregion", &["y"])],
        trail,
        OnError::Skip,
    )
    .unwrap();
    assert!(names.is_empty());
    assert_eq!((outcome.filtered_records, outcome.skipped_records), (1, 1));
}

#[test]
fn a_nested_value_of_the_wrong_kind_is_not_hidden_either() {
    let trail = br#"{"Records":[{"eventName":"A","userIdentity":{"type":"IAMUser","arn":5}}]}"#;
    let error = decode(
        &["eventname", "useridentity_arn"],
        &[("useridentity_arn", &["x"])],
        trail,
        OnError::Fail,
    )
    .unwrap_err();
    assert!(error.to_string().contains("userIdentity.arn"), "{error}");
}

#[test]
fn rejected_records_are_still_checked_for_structure() {
    // The first record is rejected by its name; what follows in it is skipped by its
    // structure, which still catches a bracket that never closes.
    let cut = br#"{"Records":[{"eventName":"A","requestParameters":{"a":[1}},{"eventName":"B"}]}"#;
    assert!(decode(&["eventname"], &[("eventname", &["B"])], cut, OnError::Fail).is_err());
    // Unread grammar mistakes in a rejected record are not looked for, as in values no
    // column reads.
    let sloppy =
        br#"{"Records":[{"eventName":"A","requestParameters":{"a":[1 2]}},{"eventName":"B"}]}"#;
    let (names, _) = decode(
        &["eventname"],
        &[("eventname", &["B"])],
        sloppy,
        OnError::Fail,
    )
    .unwrap();
    assert_eq!(names, [Some("B".into())]);
}

#[test]
fn every_envelope_filters_alike() {
    let ndjson = br#"{"eventName":"A","awsRegion":"x"}
{"eventName":"B","awsRegion":"y"}
"#;
    let (names, outcome) = decode(
        &["eventname"],
        &[("awsregion", &["y"])],
        ndjson,
        OnError::Fail,
    )
    .unwrap();
    assert_eq!(names, [Some("B".into())]);
    assert_eq!(outcome.filtered_records, 1);
    let array = br#"[{"eventName":"A","awsRegion":"x"},{"eventName":"B","awsRegion":"y"}]"#;
    let (names, _) = decode(
        &["eventname"],
        &[("awsregion", &["x"])],
        array,
        OnError::Fail,
    )
    .unwrap();
    assert_eq!(names, [Some("A".into())]);
}

#[test]
fn prefixes_and_not_null_keep_what_like_and_is_not_null_keep() {
    let starts = |prefix: &str| TextTest::StartsWith(prefix.to_string());
    let (names, outcome) = decode_tested(
        &["eventname"],
        &[("eventname", starts("Get"))],
        TRAIL,
        OnError::Fail,
    )
    .unwrap();
    assert_eq!(names, [Some("GetObject".into())]);
    assert_eq!(outcome.filtered_records, 4);
    // The prefix is compared with the unescaped value, and is case-sensitive as LIKE is.
    let (names, _) = decode_tested(
        &["eventname"],
        &[("useridentity_arn", starts("arn:aws:iam::1:user/a"))],
        TRAIL,
        OnError::Fail,
    )
    .unwrap();
    assert_eq!(names, [Some("GetObject".into()), Some("PutObject".into())]);
    let (names, _) = decode_tested(
        &["eventname"],
        &[("eventname", starts("get"))],
        TRAIL,
        OnError::Fail,
    )
    .unwrap();
    assert!(names.is_empty());
    // A missing key and `null` are NULL; every string, even empty, is not.
    let (names, outcome) = decode_tested(
        &["eventname"],
        &[("awsregion", TextTest::NotNull)],
        TRAIL,
        OnError::Fail,
    )
    .unwrap();
    assert_eq!(names.len(), 4);
    assert_eq!(outcome.filtered_records, 1);
    let (names, _) = decode_tested(
        &["eventname"],
        &[("useridentity_arn", TextTest::NotNull)],
        TRAIL,
        OnError::Fail,
    )
    .unwrap();
    assert_eq!(
        names,
        [
            Some("GetObject".into()),
            Some("AssumeRole".into()),
            Some("PutObject".into())
        ]
    );
    let empty = br#"{"Records":[{"eventName":"A","errorCode":""},{"eventName":"B"}]}"#;
    let (names, _) = decode_tested(
        &["eventname"],
        &[("errorcode", TextTest::NotNull)],
        empty,
        OnError::Fail,
    )
    .unwrap();
    assert_eq!(names, [Some("A".into())]);
}

#[test]
fn not_null_does_not_hide_a_value_of_the_wrong_kind() {
    let trail = br#"{"Records":[{"eventName":"A","errorCode":404}]}"#;
    let error = decode_tested(
        &["eventname", "errorcode"],
        &[("errorcode", TextTest::NotNull)],
        trail,
        OnError::Fail,
    )
    .unwrap_err();
    assert!(error.to_string().contains("errorCode"), "{error}");
}
