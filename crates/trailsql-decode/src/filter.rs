//! Conditions the decoder checks while it reads a record, so that records they reject
//! are neither read further nor turned into rows.

use crate::schema::{CloudTrailSchema, ColumnType, Source};

/// Keeps a record only when a text column's value passes a [`TextTest`]: what SQL's
/// `column = 'x'`, `column IN ('x', 'y')`, `column LIKE 'x%'` and `column IS NOT NULL`
/// keep. A NULL or missing value fails every test.
///
/// Only text columns read from one top-level key or one `userIdentity` leaf can be
/// checked this way (see [`Self::applies_to`]); a decoder ignores the others.
///
/// A record a filter rejects is read no further, so its other values are checked by
/// their structure only, as values no column reads are. A value of the wrong kind
/// (a number where the column holds text) is never rejected: converting it fails as it
/// would without the filter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TextFilter {
    /// The column's index in the [`CloudTrailSchema`].
    pub column: usize,
    pub test: TextTest,
}

/// What a non-NULL text value must be for a [`TextFilter`] to keep its record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TextTest {
    /// One of these values (`=`, `IN`).
    OneOf(Vec<String>),
    /// Anything starting with this (`LIKE 'prefix%'`, case-sensitive).
    StartsWith(String),
    /// Anything (`IS NOT NULL`).
    NotNull,
}

impl TextTest {
    pub fn admits(&self, text: &str) -> bool {
        match self {
            Self::OneOf(values) => values.iter().any(|value| value == text),
            Self::StartsWith(prefix) => text.starts_with(prefix.as_str()),
            Self::NotNull => true,
        }
    }
}

impl TextFilter {
    /// Whether a decoder can check this filter while reading records of `schema`.
    pub fn applies_to(&self, schema: &CloudTrailSchema) -> bool {
        schema.columns().get(self.column).is_some_and(|spec| {
            spec.column_type == ColumnType::Text
                && matches!(spec.source, Source::Top(_) | Source::Identity(_))
        })
    }
}
