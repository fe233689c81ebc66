//! Where CloudTrail puts its files: `AWSLogs/[o-id/]<account>/CloudTrail/<region>/YYYY/MM/DD/
//! <account>_CloudTrail_<region>_<YYYYMMDDTHHmmZ>_<unique>.json.gz`. The account, region,
//! day and delivery time read from a path drive pruning and the `log_*` columns.

use chrono::{NaiveDate, NaiveDateTime};

/// What a path in the CloudTrail layout says about the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogLocation<'a> {
    /// The organization id of an organization trail (`o-...`).
    pub organization: Option<&'a str>,
    pub account: &'a str,
    pub region: &'a str,
    /// The day folder: the UTC day the file was delivered.
    pub day: Option<NaiveDate>,
    /// The delivery time in the file name, in microseconds (minute precision).
    pub delivered: Option<i64>,
}

pub fn is_account_id(segment: &str) -> bool {
    segment.len() == 12 && segment.bytes().all(|b| b.is_ascii_digit())
}

pub fn is_organization_id(segment: &str) -> bool {
    segment.len() > 2
        && segment.starts_with("o-")
        && segment[2..]
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
}

/// Reads the layout from a path or key (`/` separated); `None` when it is not in it.
pub fn parse_log_location(path: &str) -> Option<LogLocation<'_>> {
    let segments: Vec<&str> = path.split(['/', '\\']).collect();
    let start = segments.iter().rposition(|s| *s == "AWSLogs")?;
    let mut rest = segments[start + 1..].iter().copied();
    let mut next = rest.next()?;
    let organization = if is_organization_id(next) {
        let org = next;
        next = rest.next()?;
        Some(org)
    } else {
        None
    };
    let account = next;
    if !is_account_id(account) || rest.next()? != "CloudTrail" {
        return None;
    }
    let region = rest.next().filter(|r| !r.is_empty())?;
    let day = (|| {
        let year = rest.next()?.parse().ok()?;
        let month = rest.next()?.parse().ok()?;
        let day = rest.next()?.parse().ok()?;
        NaiveDate::from_ymd_opt(year, month, day)
    })();
    let delivered = segments.last().and_then(|name| delivery_stamp(name));
    Some(LogLocation {
        organization,
        account,
        region,
        day,
        delivered,
    })
}

/// When the file at `path` was delivered: from its place in the layout, or, for a file
/// copied out of it, from a name of CloudTrail's own form
/// (`<account>_CloudTrail_<region>_<YYYYMMDDTHHmmZ>_<unique>.json.gz`). Other files:
/// `None`, even when a part of their name looks like a stamp.
pub fn delivered_at(path: &str) -> Option<i64> {
    match parse_log_location(path) {
        Some(place) => place.delivered,
        None => delivered_by_name(path),
    }
}

/// The delivery time a file outside the layout keeps in a name of CloudTrail's form.
pub fn delivered_by_name(path: &str) -> Option<i64> {
    let name = path.rsplit(['/', '\\']).next()?;
    let mut parts = name.split('_');
    let account = parts.next()?;
    let kind = parts.next()?;
    let named_by_cloudtrail = is_account_id(account)
        && matches!(kind, "CloudTrail" | "CloudTrail-Insight")
        && parts.next().is_some_and(|region| !region.is_empty());
    named_by_cloudtrail.then(|| delivery_stamp(name)).flatten()
}

/// The `YYYYMMDDTHHmmZ` delivery stamp of a CloudTrail file name, in microseconds.
pub fn delivery_stamp(file_name: &str) -> Option<i64> {
    let stamp = file_name
        .split('_')
        .find(|part| part.len() == 14 && part.as_bytes()[8] == b'T' && part.ends_with('Z'))?;
    NaiveDateTime::parse_from_str(&stamp[..13], "%Y%m%dT%H%M")
        .ok()
        .map(|t| t.and_utc().timestamp_micros())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delivery_comes_from_the_layout_or_a_name_of_cloudtrails_form() {
        let stamp = delivery_stamp("x_20230710T1220Z_y").unwrap();
        for path in [
            "AWSLogs/218007301253/CloudTrail/us-east-1/2023/07/10/218007301253_CloudTrail_us-east-1_20230710T1220Z_WM.json.gz",
            "/tmp/flat/218007301253_CloudTrail_us-east-1_20230710T1220Z_WM.json",
            "218007301253_CloudTrail-Insight_us-east-1_20230710T1220Z_WM.json.gz",
        ] {
            assert_eq!(delivered_at(path), Some(stamp), "{path}");
        }
        for path in [
            "/tmp/export_20230710T1220Z_x.json",
            "/tmp/218007301253_Other_us-east-1_20230710T1220Z_x.json",
            "/tmp/21800730125_CloudTrail_us-east-1_20230710T1220Z_x.json",
            "/tmp/218007301253_CloudTrail_us-east-1.json",
        ] {
            assert_eq!(delivered_at(path), None, "{path}");
        }
    }

    #[test]
    fn reads_the_layout() {
        let key = "logs/AWSLogs/o-a1b2c3d4e5/111122223333/CloudTrail/eu-west-1/2024/01/07/111122223333_CloudTrail_eu-west-1_20240107T2355Z_AbCdEf0123456789.json.gz";
        let location = parse_log_location(key).unwrap();
        assert_eq!(location.organization, Some("o-a1b2c3d4e5"));
        assert_eq!(location.account, "111122223333");
        assert_eq!(location.region, "eu-west-1");
        assert_eq!(location.day, NaiveDate::from_ymd_opt(2024, 1, 7));
        let stamp = NaiveDate::from_ymd_opt(2024, 1, 7)
            .unwrap()
            .and_hms_opt(23, 55, 0)
            .unwrap()
            .and_utc()
            .timestamp_micros();
        assert_eq!(location.delivered, Some(stamp));

        let plain =
            parse_log_location("/data/AWSLogs/111122223333/CloudTrail/us-east-1/2024/01/07/x.json")
                .unwrap();
        assert_eq!(plain.organization, None);
        assert_eq!(plain.delivered, None);
        let region_only = parse_log_location("AWSLogs/111122223333/CloudTrail/us-east-1").unwrap();
        assert_eq!(region_only.day, None);

        assert!(
            parse_log_location(
                "AWSLogs/111122223333/CloudTrail-Digest/us-east-1/2024/01/07/d.json.gz"
            )
            .is_none()
        );
        assert!(parse_log_location("AWSLogs/12345/CloudTrail/us-east-1/x.json").is_none());
        assert!(parse_log_location("logs/events.json").is_none());
    }
}
