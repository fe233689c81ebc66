//! CloudTrail time strings to UTC microseconds.

use chrono::{DateTime, NaiveDate, NaiveDateTime};

/// Parses the forms seen in CloudTrail and its exports: `2014-04-19T00:16:31Z` (the
/// documented form), fractional seconds, numeric offsets, a space instead of `T`, and the
/// ISO-8601 basic form `20131102T010628Z` used in `sessionContext.attributes.creationDate`.
pub fn parse_timestamp_micros(text: &str) -> Option<i64> {
    // Nearly every event's time is canonical: tried before `trim`, which is Unicode-aware
    // and so not free.
    parse_canonical(text.as_bytes()).or_else(|| parse_other_forms(text))
}

/// [`parse_timestamp_micros`] of a text that is not exactly canonical.
fn parse_other_forms(text: &str) -> Option<i64> {
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
#[inline]
fn parse_canonical(b: &[u8]) -> Option<i64> {
    let days = canonical_day(b)?;
    Some(micros(days, canonical_time_of_day(b)?))
}

#[inline]
fn micros(days: i64, seconds: i64) -> i64 {
    (days * 86_400 + seconds) * 1_000_000
}

/// The days since 1970-01-01 of the date of a canonical time (its first ten bytes),
/// if the rest has the canonical form's length.
#[inline]
fn canonical_day(b: &[u8]) -> Option<i64> {
    if b.len() != 20 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let year = pair(b[0], b[1])? * 100 + pair(b[2], b[3])?;
    let (month, day) = (pair(b[5], b[6])?, pair(b[8], b[9])?);
    if !(1..=12).contains(&month) || day == 0 || day > days_in_month(year, month) {
        return None;
    }
    Some(days_from_civil(year, month, day))
}

/// The seconds since midnight of a canonical time (its last ten bytes, `THH:MM:SSZ`).
#[inline]
fn canonical_time_of_day(b: &[u8]) -> Option<i64> {
    if b.len() != 20 || b[10] != b'T' || b[13] != b':' || b[16] != b':' || b[19] != b'Z' {
        return None;
    }
    let (hour, minute, second) = (
        pair(b[11], b[12])?,
        pair(b[14], b[15])?,
        pair(b[17], b[18])?,
    );
    if hour > 23 || minute > 59 || second > 59 {
        return None;
    }
    Some(i64::from(hour * 3_600 + minute * 60 + second))
}

/// Two ASCII digits as a number.
#[inline]
fn pair(tens: u8, ones: u8) -> Option<u32> {
    let (tens, ones) = (tens.wrapping_sub(b'0'), ones.wrapping_sub(b'0'));
    (tens < 10 && ones < 10).then(|| u32::from(tens) * 10 + u32::from(ones))
}

/// The date of the last canonical time a column read: a file's events are nearly all of
/// one or two days, so most times need only their time of day read, not the calendar.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct LastDay {
    /// `YYYY-MM-DD` of a valid date; zero bytes, which no date has, before the first.
    date: [u8; 10],
    /// Its days since 1970-01-01.
    days: i64,
}

impl LastDay {
    /// [`parse_timestamp_micros`], remembering the date of a canonical time.
    #[inline]
    pub fn parse(&mut self, text: &str) -> Option<i64> {
        let b = text.as_bytes();
        if b.len() == 20
            && b[..10] == self.date
            && let Some(seconds) = canonical_time_of_day(b)
        {
            return Some(micros(self.days, seconds));
        }
        if let Some(days) = canonical_day(b)
            && let Some(seconds) = canonical_time_of_day(b)
        {
            self.date.copy_from_slice(&b[..10]);
            self.days = days;
            return Some(micros(days, seconds));
        }
        parse_other_forms(text)
    }
}

fn days_in_month(year: u32, month: u32) -> u32 {
    match month {
        2 if year.is_multiple_of(4) && (!year.is_multiple_of(100) || year.is_multiple_of(400)) => {
            29
        }
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a valid proleptic Gregorian date (Howard Hinnant's
/// `days_from_civil`), without chrono's general date machinery.
#[inline]
fn days_from_civil(year: u32, month: u32, day: u32) -> i64 {
    let year = i64::from(year) - i64::from(month <= 2);
    // `year` is at least -1: shifted by one era, the division rounds down without the
    // sign fix-ups of `div_euclid`.
    let era = (year + 400) / 400 - 1;
    let year_of_era = year - era * 400;
    let month_from_march = i64::from((month + 9) % 12);
    let day_of_year = (153 * month_from_march + 2) / 5 + i64::from(day) - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
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
    fn the_fast_path_agrees_with_chrono_on_every_day_and_edge_of_day() {
        // Four centuries either side of the present (every leap-year rule), then the ends
        // of the range four digits can write.
        let mut day = NaiveDate::from_ymd_opt(1800, 1, 1).unwrap();
        let last = NaiveDate::from_ymd_opt(2200, 12, 31).unwrap();
        let mut checked = 0;
        let days = std::iter::from_fn(|| {
            (day <= last).then(|| {
                let today = day;
                day = day.succ_opt().unwrap();
                today
            })
        })
        .chain([
            NaiveDate::from_ymd_opt(0, 1, 1).unwrap(),
            NaiveDate::from_ymd_opt(0, 2, 29).unwrap(),
            NaiveDate::from_ymd_opt(0, 3, 1).unwrap(),
            NaiveDate::from_ymd_opt(1, 1, 1).unwrap(),
            NaiveDate::from_ymd_opt(9999, 12, 31).unwrap(),
        ]);
        for (i, day) in days.enumerate() {
            let (h, m, s) = [(0, 0, 0), (23, 59, 59), (12, 30, 5)][i % 3];
            let time = day.and_hms_opt(h, m, s).unwrap();
            let text = time.format("%Y-%m-%dT%H:%M:%SZ").to_string();
            assert_eq!(
                parse_canonical(text.as_bytes()),
                Some(time.and_utc().timestamp_micros()),
                "{text}"
            );
            checked += 1;
        }
        assert_eq!(checked, 146_467);
        for text in [
            "2023-02-29T00:00:00Z",
            "2024-02-30T00:00:00Z",
            "1900-02-29T00:00:00Z",
            "2024-04-31T00:00:00Z",
            "2024-13-01T00:00:00Z",
            "2024-00-01T00:00:00Z",
            "2024-01-00T00:00:00Z",
            "2024-01-01T24:00:00Z",
            "2024-01-01T00:60:00Z",
            "2024-01-01T00:00:60Z",
            "2024-01-01T0a:00:00Z",
        ] {
            assert_eq!(parse_canonical(text.as_bytes()), None, "{text}");
        }
        assert!(parse_canonical(b"2000-02-29T00:00:00Z").is_some());
    }

    /// Times of one day, the next, an impossible one and other forms, in an order that
    /// reuses, replaces and then reuses again the remembered date.
    #[test]
    fn remembering_the_date_changes_no_answer() {
        let mut last = LastDay::default();
        for text in [
            "2024-02-28T23:59:59Z",
            "2024-02-28T00:00:00Z",
            "2024-02-28T24:00:00Z",
            "2024-02-28T12:00:00.5Z",
            "2024-02-28 12:00:00",
            "2024-02-29T00:00:01Z",
            "2024-02-28T10:00:00Z",
            "2023-02-29T00:00:00Z",
            "2024-02-28T1a:00:00Z",
            "2024-02-28T10:00:00+02:00",
            "2024-02-28T10:61:00Z",
            "2024-02-28X10:00:00Z",
            "2024-02-28T10:00:00Y",
            "\0\0\0\0\0\0\0\0\0\0T10:00:00Z",
            "2024-02-28T10:00:00Z",
        ] {
            assert_eq!(last.parse(text), parse_timestamp_micros(text), "{text}");
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
