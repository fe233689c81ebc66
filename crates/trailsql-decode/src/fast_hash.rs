//! A fast hasher for the decoder's lookup tables of known names (top-level keys,
//! identity leaves, projected `requestparameters_*` columns). Only fixed, trusted names
//! are ever inserted; record keys are only looked up, so crafted keys cannot degrade a
//! table, and SipHash's flooding resistance buys nothing here while costing a tenth of
//! the decode time.

use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasherDefault, Hasher};

const SEED: u64 = 0xf135_7aea_2e62_a9c5;

#[derive(Default, Clone, Copy)]
pub(crate) struct FastHasher(u64);

impl FastHasher {
    #[inline]
    fn add(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(SEED);
    }
}

impl Hasher for FastHasher {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            self.add(u64::from_le_bytes(chunk.try_into().expect("eight bytes")));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut word = [0u8; 8];
            word[..rest.len()].copy_from_slice(rest);
            self.add(u64::from_le_bytes(word));
        }
    }

    #[inline]
    fn write_u8(&mut self, byte: u8) {
        self.add(u64::from(byte));
    }

    #[inline]
    fn write_usize(&mut self, value: usize) {
        self.add(value as u64);
    }

    #[inline]
    fn finish(&self) -> u64 {
        // Spread the high bits down: hashbrown takes its control bits from the top.
        self.0 ^ (self.0 >> 29)
    }
}

pub(crate) type FastMap<K, V> = HashMap<K, V, BuildHasherDefault<FastHasher>>;
pub(crate) type FastSet<K> = HashSet<K, BuildHasherDefault<FastHasher>>;

/// Looks `key` up as written, then in ASCII lower case (the tables hold both the
/// documented spelling and the lower-case one), without allocating for short keys.
#[inline]
pub(crate) fn get_any_case<'m, V>(map: &'m FastMap<String, V>, key: &str) -> Option<&'m V> {
    if let Some(value) = map.get(key) {
        return Some(value);
    }
    if !key.bytes().any(|b| b.is_ascii_uppercase()) {
        return None;
    }
    let mut buffer = [0u8; 64];
    match buffer.get_mut(..key.len()) {
        Some(lower) => {
            lower.copy_from_slice(key.as_bytes());
            lower.make_ascii_lowercase();
            map.get(std::str::from_utf8(lower).expect("ASCII case change keeps UTF-8"))
        }
        None => map.get(&key.to_ascii_lowercase()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_find_what_was_inserted() {
        let mut map = FastMap::default();
        for (i, name) in ["eventName", "eventname", "a", "", "requestparameters_x_y"]
            .iter()
            .enumerate()
        {
            map.insert(name.to_string(), i);
        }
        assert_eq!(map.get("eventName"), Some(&0));
        assert_eq!(map.get("eventname"), Some(&1));
        assert_eq!(map.get(""), Some(&3));
        assert_eq!(map.get("requestparameters_x_y"), Some(&4));
        assert_eq!(map.get("requestparameters_x_z"), None);
        assert_eq!(get_any_case(&map, "EVENTNAME"), Some(&1));
        assert_eq!(get_any_case(&map, &"X".repeat(100)), None);
    }
}
