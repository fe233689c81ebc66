//! Trino's fields of a time, as detections for off-hours activity use them
//! (`hour(eventtime) NOT BETWEEN 8 AND 18`, `day_of_week(eventtime) > 5`): `year`,
//! `quarter`, `month`, `week`, `day`, `day_of_week`, `day_of_year`, `hour`, `minute`,
//! `second` (each a BIGINT, of the time in UTC), and `date(x)`.

use std::sync::Arc;

use chrono::{DateTime, Datelike, Timelike, Utc};
use datafusion::arrow::array::{Array, AsArray, Int64Builder};
use datafusion::arrow::datatypes::{DataType, TimestampMicrosecondType};
use datafusion::common::{Result, exec_err, plan_err};
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, Volatility,
};

use super::{arrays, finish, is_text, is_time, utc_micros};

/// Every field function, and `date`.
pub fn functions() -> Vec<ScalarUDF> {
    let mut functions: Vec<ScalarUDF> = PARTS
        .iter()
        .map(|&(name, aliases, part)| {
            ScalarUDF::new_from_impl(DatePart::new(name, part))
                .with_aliases(aliases.iter().copied())
        })
        .collect();
    functions.push(ScalarUDF::new_from_impl(DateOf::new()));
    functions
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Part {
    Year,
    Quarter,
    Month,
    Week,
    Day,
    DayOfWeek,
    DayOfYear,
    Hour,
    Minute,
    Second,
}

/// Trino's names (and aliases) for each field.
const PARTS: &[(&str, &[&str], Part)] = &[
    ("year", &[], Part::Year),
    ("quarter", &[], Part::Quarter),
    ("month", &[], Part::Month),
    ("week", &["week_of_year"], Part::Week),
    ("day", &["day_of_month"], Part::Day),
    ("day_of_week", &["dow"], Part::DayOfWeek),
    ("day_of_year", &["doy"], Part::DayOfYear),
    ("hour", &[], Part::Hour),
    ("minute", &[], Part::Minute),
    ("second", &[], Part::Second),
];

impl Part {
    fn of(self, time: DateTime<Utc>) -> i64 {
        i64::from(match self {
            Part::Year => return i64::from(time.year()),
            Part::Quarter => time.month0() / 3 + 1,
            Part::Month => time.month(),
            // ISO weeks, as Trino counts them: the week of 2024-12-30 is week 1 of 2025.
            Part::Week => time.iso_week().week(),
            Part::Day => time.day(),
            // ISO: Monday is 1, Sunday 7.
            Part::DayOfWeek => time.weekday().number_from_monday(),
            Part::DayOfYear => time.ordinal(),
            Part::Hour => time.hour(),
            Part::Minute => time.minute(),
            Part::Second => time.second(),
        })
    }
}

#[derive(Debug, PartialEq, Eq, Hash)]
struct DatePart {
    name: &'static str,
    part: Part,
    signature: Signature,
}

impl DatePart {
    fn new(name: &'static str, part: Part) -> Self {
        Self {
            name,
            part,
            signature: Signature::any(1, Volatility::Immutable),
        }
    }
}

impl ScalarUDFImpl for DatePart {
    fn name(&self) -> &str {
        self.name
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, arg_types: &[DataType]) -> Result<DataType> {
        match &arg_types[0] {
            time if is_time(time) => Ok(DataType::Int64),
            other => plan_err!("{} expects a timestamp or a date, got {other}", self.name),
        }
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let times = datafusion::arrow::compute::cast(&arrays(&args)?[0], &utc_micros())?;
        let times = times.as_primitive::<TimestampMicrosecondType>();
        let mut out = Int64Builder::with_capacity(times.len());
        for time in times.iter() {
            match time.map(DateTime::<Utc>::from_timestamp_micros) {
                None => out.append_null(),
                Some(Some(time)) => out.append_value(self.part.of(time)),
                Some(None) => return exec_err!("{}: {time:?} is out of range", self.name),
            }
        }
        finish(&args, Arc::new(out.finish()))
    }
}

/// `date(x)`: the UTC day of a timestamp, or a date from `YYYY-MM-DD` text.
#[derive(Debug, PartialEq, Eq, Hash)]
struct DateOf {
    signature: Signature,
}

impl DateOf {
    fn new() -> Self {
        Self {
            signature: Signature::any(1, Volatility::Immutable),
        }
    }
}

impl ScalarUDFImpl for DateOf {
    fn name(&self) -> &str {
        "date"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, arg_types: &[DataType]) -> Result<DataType> {
        match &arg_types[0] {
            time if is_time(time) || is_text(time) => Ok(DataType::Date32),
            other => plan_err!("date expects a timestamp, a date or text, got {other}"),
        }
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let input = &arrays(&args)?[0];
        // A timestamp's day is taken in UTC, whatever zone it carries.
        let input = match input.data_type() {
            DataType::Timestamp(_, _) => datafusion::arrow::compute::cast(input, &utc_micros())?,
            _ => Arc::clone(input),
        };
        let days = datafusion::arrow::compute::cast(&input, &DataType::Date32)?;
        finish(&args, days)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn fields_are_trinos() {
        let time = Utc.with_ymd_and_hms(2024, 12, 30, 22, 4, 2).unwrap();
        let fields: Vec<i64> = PARTS.iter().map(|&(_, _, part)| part.of(time)).collect();
        // year, quarter, month, ISO week (week 1 of 2025), day, Monday, day of year,
        // hour, minute, second.
        assert_eq!(fields, [2024, 4, 12, 1, 30, 1, 365, 22, 4, 2]);
        let sunday = Utc.with_ymd_and_hms(2024, 1, 7, 0, 0, 0).unwrap();
        assert_eq!(Part::DayOfWeek.of(sunday), 7);
        assert_eq!(Part::Quarter.of(sunday), 1);
    }
}
