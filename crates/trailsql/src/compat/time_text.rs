//! Athena's conversions between times and text: `to_iso8601(ts)`, and
//! `date_parse(text, format)` and `date_format(ts, format)` with Trino's MySQL-style
//! format.
//!
//! Athena's CloudTrail table has `eventtime` as text, so its queries compare it with
//! `to_iso8601(current_timestamp - interval '1' day)` or parse it with
//! `date_parse(eventtime, '%Y-%m-%dT%H:%i:%sZ')`. Here `eventtime` is a UTC timestamp:
//! text compared with it is cast, and `date_parse` of a timestamp passes it through, so
//! both forms keep working (and keep pruning files by time: they fold to constants).

use std::sync::Arc;

use chrono::format::{Item, Parsed, StrftimeItems};
use chrono::{DateTime, NaiveDate, NaiveTime, SecondsFormat, Utc};
use datafusion::arrow::array::{
    Array, ArrayRef, AsArray, StringBuilder, TimestampMicrosecondBuilder,
};
use datafusion::arrow::datatypes::{DataType, TimeUnit};
use datafusion::common::{Result, exec_err, plan_err};
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDFImpl, Signature, Volatility,
};

use super::{arrays, finish, is_text, is_time, utc_micros};

/// `to_iso8601(x)`: a timestamp as ISO-8601 text with milliseconds, as Trino writes it
/// (`2024-01-07T22:04:02.000Z`; no zone for a timestamp without one); a date as
/// `2024-01-07`.
#[derive(Debug, PartialEq, Eq, Hash)]
pub(super) struct ToIso8601 {
    signature: Signature,
}

impl ToIso8601 {
    pub(super) fn new() -> Self {
        Self {
            signature: Signature::any(1, Volatility::Immutable),
        }
    }
}

impl ScalarUDFImpl for ToIso8601 {
    fn name(&self) -> &str {
        "to_iso8601"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, arg_types: &[DataType]) -> Result<DataType> {
        match &arg_types[0] {
            DataType::Timestamp(_, _) | DataType::Date32 | DataType::Date64 | DataType::Null => {
                Ok(DataType::Utf8)
            }
            other => plan_err!("to_iso8601 expects a timestamp or a date, got {other}"),
        }
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let input = arrays(&args)?.remove(0);
        let mut out = StringBuilder::new();
        match input.data_type() {
            DataType::Timestamp(_, zone) => {
                let zoned = zone.is_some();
                let micros = datafusion::arrow::compute::cast(
                    &input,
                    &DataType::Timestamp(TimeUnit::Microsecond, None),
                )?;
                let micros =
                    micros.as_primitive::<datafusion::arrow::datatypes::TimestampMicrosecondType>();
                for value in micros.iter() {
                    let text = value
                        .and_then(DateTime::<Utc>::from_timestamp_micros)
                        .map(|time| {
                            if zoned {
                                time.to_rfc3339_opts(SecondsFormat::Millis, true)
                            } else {
                                time.naive_utc().format("%Y-%m-%dT%H:%M:%S%.3f").to_string()
                            }
                        });
                    out.append_option(text);
                }
            }
            DataType::Null => (0..input.len()).for_each(|_| out.append_null()),
            _ => {
                let days = datafusion::arrow::compute::cast(&input, &DataType::Date32)?;
                let days = days.as_primitive::<datafusion::arrow::datatypes::Date32Type>();
                for value in days.iter() {
                    let date = value.and_then(|days| {
                        NaiveDate::from_ymd_opt(1970, 1, 1)?
                            .checked_add_signed(chrono::TimeDelta::days(i64::from(days)))
                    });
                    out.append_option(date.map(|date| date.format("%Y-%m-%d").to_string()));
                }
            }
        }
        finish(&args, Arc::new(out.finish()) as ArrayRef)
    }
}

/// `date_parse(text, format)`: text parsed with Trino's MySQL-style format (`%Y-%m-%d
/// %H:%i:%s`) as a UTC timestamp. A timestamp argument (our `eventtime`) passes through.
#[derive(Debug, PartialEq, Eq, Hash)]
pub(super) struct DateParse {
    signature: Signature,
}

impl DateParse {
    pub(super) fn new() -> Self {
        Self {
            signature: Signature::any(2, Volatility::Immutable),
        }
    }
}

impl ScalarUDFImpl for DateParse {
    fn name(&self) -> &str {
        "date_parse"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, arg_types: &[DataType]) -> Result<DataType> {
        match (&arg_types[0], &arg_types[1]) {
            (time, format)
                if (is_text(time) || matches!(time, DataType::Timestamp(_, _)))
                    && is_text(format) =>
            {
                Ok(utc_micros())
            }
            (time, format) => {
                plan_err!("date_parse expects text and a text format, got {time} and {format}")
            }
        }
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let mut inputs = arrays(&args)?;
        let formats = datafusion::arrow::compute::cast(&inputs.remove(1), &DataType::Utf8)?;
        let input = inputs.remove(0);
        if matches!(input.data_type(), DataType::Timestamp(_, _)) {
            return finish(
                &args,
                datafusion::arrow::compute::cast(&input, &utc_micros())?,
            );
        }
        let text = datafusion::arrow::compute::cast(&input, &DataType::Utf8)?;
        let (text, formats) = (text.as_string::<i32>(), formats.as_string::<i32>());
        let mut out = TimestampMicrosecondBuilder::new().with_timezone("UTC");
        // Formats are almost always one literal: translate it once.
        let mut translated: Option<(String, String)> = None;
        for i in 0..text.len() {
            if text.is_null(i) || formats.is_null(i) {
                out.append_null();
                continue;
            }
            let format = formats.value(i);
            if translated.as_ref().is_none_or(|(trino, _)| trino != format) {
                translated = Some((
                    format.to_string(),
                    chrono_format(format, "date_parse", Direction::Parse)?,
                ));
            }
            let chrono = &translated.as_ref().expect("just translated").1;
            match parse(text.value(i), chrono) {
                Some(micros) => out.append_value(micros),
                None => {
                    return exec_err!(
                        "date_parse: `{}` does not match the format `{format}`",
                        text.value(i)
                    );
                }
            }
        }
        finish(&args, Arc::new(out.finish()))
    }
}

/// `date_format(ts, format)`: a time as text in Trino's MySQL-style format (`%Y-%m-%d
/// %H:%i:%s`), in UTC. DataFusion's own `date_format` (chrono's format) is still there
/// as `to_char`.
#[derive(Debug, PartialEq, Eq, Hash)]
pub(super) struct DateFormat {
    signature: Signature,
}

impl DateFormat {
    pub(super) fn new() -> Self {
        Self {
            signature: Signature::any(2, Volatility::Immutable),
        }
    }
}

impl ScalarUDFImpl for DateFormat {
    fn name(&self) -> &str {
        "date_format"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, arg_types: &[DataType]) -> Result<DataType> {
        match (&arg_types[0], &arg_types[1]) {
            (time, format) if is_time(time) && is_text(format) => Ok(DataType::Utf8),
            (time, format) => {
                plan_err!("date_format expects a time and a text format, got {time} and {format}")
            }
        }
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let inputs = arrays(&args)?;
        let times = datafusion::arrow::compute::cast(&inputs[0], &utc_micros())?;
        let formats = datafusion::arrow::compute::cast(&inputs[1], &DataType::Utf8)?;
        let times = times.as_primitive::<datafusion::arrow::datatypes::TimestampMicrosecondType>();
        let formats = formats.as_string::<i32>();
        let mut out = StringBuilder::new();
        let mut translated: Option<(String, Vec<Item<'static>>)> = None;
        for i in 0..times.len() {
            if times.is_null(i) || formats.is_null(i) {
                out.append_null();
                continue;
            }
            let format = formats.value(i);
            if translated.as_ref().is_none_or(|(trino, _)| trino != format) {
                let chrono = chrono_format(format, "date_format", Direction::Format)?;
                let items = StrftimeItems::new(&chrono)
                    .map(|item| item.to_owned())
                    .collect();
                translated = Some((format.to_string(), items));
            }
            let items = &translated.as_ref().expect("just translated").1;
            let Some(time) = DateTime::<Utc>::from_timestamp_micros(times.value(i)) else {
                return exec_err!("date_format: {} is out of range", times.value(i));
            };
            out.append_value(time.format_with_items(items.iter()).to_string());
        }
        finish(&args, Arc::new(out.finish()))
    }
}

/// Which way a format is used: the unpadded fields (`%c %e %k %l`) are written without
/// padding, and read as their padded forms are (chrono reads one or two digits).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Direction {
    Parse,
    Format,
}

/// Trino's MySQL-style format as a chrono format, for `function` (named in errors).
fn chrono_format(trino: &str, function: &str, direction: Direction) -> Result<String> {
    let unpadded = |padded, unpadded| match direction {
        Direction::Parse => padded,
        Direction::Format => unpadded,
    };
    let mut out = String::new();
    let mut chars = trino.chars();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        let Some(spec) = chars.next() else {
            return exec_err!("{function}: the format `{trino}` ends with `%`");
        };
        out.push_str(match spec {
            'Y' => "%Y",
            'y' => "%y",
            'm' => "%m",
            'c' => unpadded("%m", "%-m"),
            'd' => "%d",
            'e' => unpadded("%d", "%-d"),
            'H' => "%H",
            'k' => unpadded("%H", "%-H"),
            'h' | 'I' => "%I",
            'l' => unpadded("%I", "%-I"),
            'i' => "%M",
            's' | 'S' => "%S",
            'f' => "%6f",
            'p' => "%p",
            'T' => "%H:%M:%S",
            'r' => "%I:%M:%S %p",
            'b' => "%b",
            'M' => "%B",
            'a' => "%a",
            'W' => "%A",
            'j' => "%j",
            '%' => "%%",
            other => {
                return exec_err!("{function}: `%{other}` in `{trino}` is not supported");
            }
        });
    }
    Ok(out)
}

/// `text` parsed with a chrono `format` as UTC microseconds: a time of day the format
/// lacks is midnight.
fn parse(text: &str, format: &str) -> Option<i64> {
    let items: Vec<Item<'_>> = StrftimeItems::new(format).collect();
    let mut parsed = Parsed::new();
    chrono::format::parse(&mut parsed, text, items.iter()).ok()?;
    let date = parsed.to_naive_date().ok()?;
    let time = parsed.to_naive_time().unwrap_or(NaiveTime::MIN);
    Some(date.and_time(time).and_utc().timestamp_micros())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trino_formats_become_chrono_formats() {
        let parse = |trino| chrono_format(trino, "date_parse", Direction::Parse);
        assert_eq!(parse("%Y-%m-%dT%H:%i:%sZ").unwrap(), "%Y-%m-%dT%H:%M:%SZ");
        assert_eq!(parse("%Y/%m/%d %T.%f").unwrap(), "%Y/%m/%d %H:%M:%S.%6f");
        assert_eq!(parse("%c/%e %k").unwrap(), "%m/%d %H");
        assert!(parse("%Q").is_err());
        assert!(parse("%Y%").is_err());
        let format = |trino| chrono_format(trino, "date_format", Direction::Format);
        assert_eq!(format("%c/%e %k:%i %l%p").unwrap(), "%-m/%-d %-H:%M %-I%p");
    }

    #[test]
    fn parsing_fills_a_missing_time_with_midnight() {
        let micros = |text, format| {
            parse(
                text,
                &chrono_format(format, "date_parse", Direction::Parse).unwrap(),
            )
        };
        assert_eq!(
            micros("2024-01-07T22:04:02Z", "%Y-%m-%dT%H:%i:%sZ"),
            Some(1_704_665_042_000_000)
        );
        assert_eq!(
            micros("2024/01/07", "%Y/%m/%d"),
            Some(1_704_585_600_000_000)
        );
        assert_eq!(micros("2024-01-07", "%Y/%m/%d"), None);
        assert_eq!(
            micros("07/01/2024 10:04:02 PM", "%d/%m/%Y %r"),
            Some(1_704_665_042_000_000)
        );
    }
}
