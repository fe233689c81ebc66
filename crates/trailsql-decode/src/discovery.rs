//! Finds which `requestParameters` leaves the data holds, so each can be a column.

use std::collections::BTreeMap;

use crate::decoder::flatten;
use crate::envelope::{self, PartStart};
use crate::error::DecodeError;
use crate::inflate;
use crate::json;
use crate::schema::REQUEST_PARAMETERS_PREFIX;

/// Accumulates `requestParameters` leaf paths over sampled files.
#[derive(Debug, Clone)]
pub struct SchemaDiscovery {
    /// Flat column name -> (path, times seen).
    paths: BTreeMap<String, (Vec<String>, u64)>,
    max_columns: usize,
    max_inflated_bytes: u64,
    /// Set when more distinct leaves were seen than `max_columns`.
    pub truncated: bool,
}

impl SchemaDiscovery {
    pub fn new(max_columns: usize, max_inflated_bytes: u64) -> Self {
        Self {
            paths: BTreeMap::new(),
            max_columns,
            max_inflated_bytes,
            truncated: false,
        }
    }

    /// Adds the leaves of every record in one (possibly gzipped) file.
    /// Returns the number of inflated bytes read.
    pub fn add_file(&mut self, file: &str, bytes: Vec<u8>) -> Result<u64, DecodeError> {
        let inflated =
            inflate::maybe_inflate_keeping_cut(bytes, self.max_inflated_bytes, Vec::new())
                .map_err(|(kind, _)| DecodeError::in_file(file, kind))?;
        let bytes = inflated.bytes;
        let mut name = String::new();
        envelope::walk_records(
            file,
            &bytes,
            PartStart::default(),
            true,
            inflated.unchecked_crc,
            &mut |_, input| {
                let fields = input.into_fields()?;
                let params = fields
                    .0
                    .iter()
                    .find(|(k, _)| k.eq_ignore_ascii_case("requestParameters"))
                    .map(|(_, raw)| *raw)
                    .filter(|raw| json::kind(*raw) == json::Kind::Object);
                if let Some(params) = params {
                    name.clear();
                    name.push_str(REQUEST_PARAMETERS_PREFIX.trim_end_matches('_'));
                    // Already checked when the record was split, so walking it cannot fail.
                    let _ = flatten(
                        &mut json::Cursor::new(params.get()),
                        &mut name,
                        0,
                        false,
                        &|_| true,
                        &|_| true,
                        &mut |name, cursor| {
                            self.note(name);
                            cursor.skip_value().map(|_| ())
                        },
                    );
                }
                Ok(())
            },
        )?;
        Ok(bytes.len() as u64)
    }

    fn note(&mut self, name: &str) {
        if let Some((_, seen)) = self.paths.get_mut(name) {
            *seen += 1;
            return;
        }
        if self.paths.len() >= self.max_columns {
            self.truncated = true;
            return;
        }
        let path = name[REQUEST_PARAMETERS_PREFIX.len()..]
            .split('_')
            .map(str::to_string)
            .collect();
        self.paths.insert(name.to_string(), (path, 1));
    }

    pub fn merge(&mut self, other: &SchemaDiscovery) {
        for (name, (_, seen)) in &other.paths {
            for _ in 0..*seen.min(&1) {
                self.note(name);
            }
        }
        self.truncated |= other.truncated;
    }

    /// Leaf paths in column-name order.
    pub fn paths(&self) -> Vec<Vec<String>> {
        self.paths.values().map(|(path, _)| path.clone()).collect()
    }
}
