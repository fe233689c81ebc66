//! CloudTrail time strings to UTC microseconds.

use chrono::{DateTime, NaiveDate, NaiveDateTime};

/// Parses the forms seen in CloudTrail and its exports: `2014-04-19T00:16:31Z` (the
/// documented form), fractional seconds, numeric offsets, a space instead of `T`, and the
/// ISO-8601 basic form `20131102T010628Z` used in `sessionContext.attributes.creationDate`.
pub fn parse_timestamp_micros(text: &str) -> Option<i64> {
    let text = text.trim();
    if let Some(micros) = parse_canonical(text.as_bytes()) {
        return Some(micros);
    }
    if let Ok(time) = DateTime::parse_from_rfc3339(text) {
        return Some(time.timestamp_micros());
    }
    let naive = text.strip_suffix('Z').unwrap_or(text);
    for format in [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y%m%dT%H%M%S",
    ] {
        if let Ok(time) = NaiveDateTime::parse_from_str(naive, format) {
            return Some(time.and_utc().timestamp_micros());
        }
    }
    if let Ok(time) = DateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S%.f%z") {
        return Some(time.timestamp_micros());
    }
    None
}

/// A time as users write it in queries and options: an ISO-8601 date (`2024-01-07`, its
/// midnight UTC) or any form [`parse_timestamp_micros`] takes. Not used for `eventTime`,
/// where a bare date is a wrong value, not midnight.
pub fn parse_date_or_timestamp_micros(text: &str) -> Option<i64> {
    let text = text.trim();
    if let Ok(date) = NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        return Some(date.and_hms_opt(0, 0, 0)?.and_utc().timestamp_micros());
    }
    parse_timestamp_micros(text)
}

/// The fast path: exactly `YYYY-MM-DDTHH:MM:SSZ`, which is nearly every real event.
fn parse_canonical(b: &[u8]) -> Option<i64> {
    if b.len() != 20
        || b[4] != b'-'
        || b[7] != b'-'
        || b[10] != b'T'
        || b[13] != b':'
        || b[16] != b':'
        || b[19] != b'Z'
    {
        return None;
    }
    let num = |range: std::ops::Range<usize>| -> Option<u32> {
        b[range].iter().try_fold(0u32, |acc, &c| {
            c.is_ascii_digit().then(|| acc * 10 + u32::from(c - b'0'))
        })
    };
    let date = NaiveDate::from_ymd_opt(num(0..4)? as i32, num(5..7)?, num(8..10)?)?;
    let time = date.and_hms_opt(num(11..13)?, num(14..16)?, num(17..19)?)?;
    Some(time.and_utc().timestamp_micros())
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: i64 = 1_397_866_591_000_000; // 2014-04-19T00:16:31Z

    #[test]
    fn accepts_every_observed_form() {
        for text in [
            "2014-04-19T00:16:31Z",
            "2014-04-19T00:16:31.000Z",
            "2014-04-19T00:16:31+00:00",
            "2014-04-19T02:16:31+02:00",
            "2014-04-19 00:16:31",
            "2014-04-19 00:16:31.000000000",
            "20140419T001631Z",
        ] {
            assert_eq!(parse_timestamp_micros(text), Some(T), "{text}");
        }
    }

    #[test]
    fn rejects_placeholders_and_impossible_dates() {
        for text in [
            "eventTime",
            "",
            "2014-02-30T00:00:00Z",
            "Oct 8, 2024, 4:15:32 PM",
        ] {
            assert_eq!(parse_timestamp_micros(text), None, "{text}");
        }
    }
}
