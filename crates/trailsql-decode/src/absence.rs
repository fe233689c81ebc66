//! Proving that a record lacks a key without walking its members.
//!
//! Queries often read a key most records lack (`errorCode` is absent from about 95% of
//! events). Knowing it is absent otherwise means reading every remaining key of every
//! record. Once a record has given every value the query reads that records usually
//! have, the rest of the record is skipped by its structure alone, and the same pass
//! looks for the rare keys still missing ([`structural::object_rest_end_lacking`]). When
//! none of them can be there, the record is done.
//!
//! The search over-approximates, so it can only send a record back to the member-by-member
//! walk, never lose a key: keys match in any ASCII case, a key spelled with `\u` escapes
//! is ruled out by finding no `\u` at all, and a key found anywhere (even in a value or a
//! nested object) means the walk goes on.

use crate::json::Cursor;
use crate::structural;

/// Keys found in fewer than one record in this many are searched for, not walked to.
const RARE_BELOW_ONE_IN: u32 = 8;
/// Records between recomputing which keys are rare. Fuzzing (`cargo fuzz` sets
/// `cfg(fuzzing)`) recounts after every few records, so that the fuzzer's small inputs
/// reach the search.
#[cfg(not(fuzzing))]
const RECOUNT_EVERY: u32 = 256;
#[cfg(fuzzing)]
const RECOUNT_EVERY: u32 = 2;
/// Counts are halved past this many records, so a trail whose mix changes is followed.
const HALVE_AT: u32 = 1 << 16;
/// The rest of a record is searched only when records usually have at least this many
/// keys after the ones read: below it, walking them costs no more than the search (on the
/// benchmark trail, with 18 keys a record, the search gained 4.5% with 9 keys left, broke
/// even with 6 and lost 3% with 2). Fuzzing searches whenever it can.
#[cfg(not(fuzzing))]
const MIN_KEYS_LEFT: u64 = 7;
#[cfg(fuzzing)]
const MIN_KEYS_LEFT: u64 = 0;
/// Searches stop for good when more than half of this many or more could not rule the
/// keys out (the keys turn up in values, or every record holds `\u` escapes): then the
/// search only adds to the walk.
const SEARCHES_BEFORE_JUDGING: u32 = 256;
/// Rare keys searched for at once; a record missing more is walked.
const MOST_KEYS_SEARCHED: usize = 4;

pub(crate) struct AbsenceProbe<const N: usize> {
    /// The top-level slots the query reads.
    reads: [bool; N],
    /// Per slot, the records that had it, of the records where it was looked for:
    /// every record read to its end, and those shown to lack it and read no further.
    seen: [u32; N],
    records: u32,
    lacking: [u32; N],
    /// Records counted since the last recount.
    since_recount: u32,
    rare: [bool; N],
    /// How many read slots are not rare.
    common_reads: usize,
    /// Per read slot, its key lowered, when it can be searched for.
    needles: Vec<Option<Vec<u8>>>,
    record: SearchRecord,
    /// Top-level keys of the records walked to their end, and how many records.
    keys_walked: u64,
    records_walked: u64,
}

impl<const N: usize> AbsenceProbe<N> {
    /// `keys` are the slots' keys; `reads` the slots whose values the query reads.
    pub(crate) fn new(keys: [&str; N], reads: [bool; N]) -> Self {
        let needles = keys
            .iter()
            .zip(reads)
            .map(|(key, read)| {
                (read && key.len() <= structural::LONGEST_WATCHED_KEY)
                    .then(|| key.to_ascii_lowercase().into_bytes())
            })
            .collect();
        Self {
            reads,
            seen: [0; N],
            records: 0,
            lacking: [0; N],
            since_recount: 0,
            rare: [false; N],
            common_reads: reads.iter().filter(|&&read| read).count(),
            needles,
            record: SearchRecord::default(),
            keys_walked: 0,
            records_walked: 0,
        }
    }

    /// Read slots not rare: when a record has given that many of them, only rare ones
    /// can be missing.
    pub(crate) fn common_reads(&self) -> usize {
        self.common_reads
    }

    /// Whether `slot` is rare enough to be searched for (never, once searching has
    /// shown itself useless).
    pub(crate) fn is_rare(&self, slot: usize) -> bool {
        self.rare[slot]
    }

    /// A record had the read slot `slot`.
    #[inline]
    pub(crate) fn found(&mut self, slot: usize) {
        self.seen[slot] += 1;
    }

    /// A record has been read to its end (or shown to lack what it lacks): every read
    /// slot was looked for.
    #[inline]
    pub(crate) fn record_done(&mut self) {
        self.records += 1;
        self.counted();
    }

    /// A record was walked to its end and had `keys` top-level keys.
    #[inline]
    pub(crate) fn walked_to_end(&mut self, keys: usize) {
        self.keys_walked += keys as u64;
        self.records_walked += 1;
        if self.records_walked >= u64::from(HALVE_AT) {
            self.keys_walked /= 2;
            self.records_walked /= 2;
        }
    }

    /// Whether records usually have enough keys after the first `keys_read` for a search
    /// of the rest to beat walking it.
    pub(crate) fn worth_searching(&self, keys_read: usize) -> bool {
        self.records_walked > 0
            && self.keys_walked >= (keys_read as u64 + MIN_KEYS_LEFT) * self.records_walked
    }

    /// A record was shown to lack `slot`, and read no further.
    pub(crate) fn slot_lacking(&mut self, slot: usize) {
        self.lacking[slot] += 1;
        self.counted();
    }

    #[inline]
    fn counted(&mut self) {
        self.since_recount += 1;
        if self.since_recount == RECOUNT_EVERY {
            self.since_recount = 0;
            self.recount();
        }
    }

    fn recount(&mut self) {
        let mut halve = false;
        for slot in 0..N {
            let looked = self.records + self.lacking[slot];
            self.rare[slot] = self.reads[slot]
                && looked >= RECOUNT_EVERY
                && self.seen[slot] * RARE_BELOW_ONE_IN < looked;
            halve |= looked >= HALVE_AT;
        }
        if self.record.useless() {
            self.rare = [false; N];
        }
        self.common_reads = (0..N).filter(|&s| self.reads[s] && !self.rare[s]).count();
        if halve {
            self.records /= 2;
            self.lacking.iter_mut().for_each(|lacking| *lacking /= 2);
            self.seen.iter_mut().for_each(|seen| *seen /= 2);
        }
    }

    /// Whether the rest of the object under `cursor` (between two of its members, or
    /// just inside it) certainly holds none of the `missing` slots' keys; if so, the
    /// cursor moves past the object. Broken structure is left for the walk to report.
    pub(crate) fn skip_rest_lacking(
        &mut self,
        cursor: &mut Cursor<'_>,
        missing: impl Iterator<Item = usize>,
    ) -> bool {
        let mut keys: [&[u8]; MOST_KEYS_SEARCHED] = [&[]; MOST_KEYS_SEARCHED];
        let mut count = 0;
        for slot in missing {
            match &self.needles[slot] {
                Some(needle) if count < MOST_KEYS_SEARCHED => {
                    keys[count] = needle;
                    count += 1;
                }
                _ => return false,
            }
        }
        let bytes = cursor.text().as_bytes();
        let found = structural::object_rest_end_lacking(bytes, cursor.offset(), &keys[..count]);
        self.record.apply(found, cursor)
    }
}

/// How often a search has ruled its keys out, and so whether searching is worth it.
#[derive(Default)]
struct SearchRecord {
    searches: u32,
    misses: u32,
}

impl SearchRecord {
    /// Searches stop for good when more than half of [`SEARCHES_BEFORE_JUDGING`] or more
    /// could not rule the keys out.
    fn useless(&self) -> bool {
        self.searches >= SEARCHES_BEFORE_JUDGING && self.misses * 2 > self.searches
    }

    /// Counts a search's answer and acts on it: past the object when it lacks the keys
    /// (`true`); the cursor left where it was when they may be there or the structure
    /// is broken (left for the walk to report).
    fn apply(
        &mut self,
        found: Result<Option<usize>, crate::json::SyntaxError>,
        cursor: &mut Cursor<'_>,
    ) -> bool {
        let Ok(found) = found else {
            return false;
        };
        self.searches = self.searches.saturating_add(1);
        match found {
            Some(end) => {
                cursor.move_to(end);
                true
            }
            None => {
                self.misses = self.misses.saturating_add(1);
                false
            }
        }
    }
}

/// Proving that an object holds none of a few keys at its first level, without walking
/// it: `requestParameters` is walked for the flattened columns a query reads, and most
/// records' parameters hold none of their keys (a query on `requestparameters_rolearn`
/// wants `AssumeRole` calls among dozens of other kinds). The object is skipped by its
/// structure instead, in the same pass that looks for the keys, with the
/// over-approximation of [`AbsenceProbe`]'s search.
pub(crate) struct ObjectKeySearch {
    /// The keys lower-cased.
    needles: Vec<Vec<u8>>,
    record: SearchRecord,
}

impl ObjectKeySearch {
    /// A search for `keys` (lower-cased), or `None` when one cannot be searched for: too
    /// long, more than [`MOST_KEYS_SEARCHED`], or holding a byte JSON can spell with an
    /// escape other than `\u` (which the search detects), such as `/` or `"`.
    pub(crate) fn new(keys: impl IntoIterator<Item = String>) -> Option<Self> {
        let mut needles: Vec<Vec<u8>> = Vec::new();
        for key in keys {
            let searchable = !key.is_empty()
                && key.len() <= structural::LONGEST_WATCHED_KEY
                && key
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.' | b':'));
            if !searchable {
                return None;
            }
            let needle = key.to_ascii_lowercase().into_bytes();
            if !needles.contains(&needle) {
                needles.push(needle);
            }
        }
        (!needles.is_empty() && needles.len() <= MOST_KEYS_SEARCHED).then_some(Self {
            needles,
            record: SearchRecord::default(),
        })
    }

    /// Whether the object at the cursor (at its `{`) certainly holds none of the keys;
    /// if so, the cursor moves past it. Broken structure is left for the walk to report,
    /// and searching stops for good once it rarely rules the keys out.
    pub(crate) fn skip_object_lacking(&mut self, cursor: &mut Cursor<'_>) -> bool {
        if self.record.useless() {
            return false;
        }
        let mut keys: [&[u8]; MOST_KEYS_SEARCHED] = [&[]; MOST_KEYS_SEARCHED];
        for (key, needle) in keys.iter_mut().zip(&self.needles) {
            *key = needle;
        }
        let bytes = cursor.text().as_bytes();
        debug_assert_eq!(bytes.get(cursor.offset()), Some(&b'{'));
        let inside = cursor.offset() + 1;
        let found = structural::object_rest_end_lacking(bytes, inside, &keys[..self.needles.len()]);
        self.record.apply(found, cursor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn probe() -> AbsenceProbe<3> {
        AbsenceProbe::new(["eventName", "errorCode", "readOnly"], [true, true, false])
    }

    /// Whether the search rules `errorCode` out of `rest`, the members after a first
    /// one; when it does, the cursor must be past the record.
    fn lacks_error_code(rest: &str) -> bool {
        let text = format!(r#"{{"eventName":"x"{rest} tail"#);
        let mut cursor = Cursor::new(&text);
        cursor.move_to(r#"{"eventName":"x""#.len());
        let lacks = probe().skip_rest_lacking(&mut cursor, [1].into_iter());
        let end = if lacks {
            text.len() - " tail".len()
        } else {
            16
        };
        assert_eq!(cursor.offset(), end, "{text}");
        lacks
    }

    #[test]
    fn a_key_in_any_case_or_escaped_is_never_ruled_out() {
        assert!(lacks_error_code(
            r#","readOnly":true,"eventType":"AwsApiCall"}"#
        ));
        for present in [
            r#","errorCode":"AccessDenied"}"#,
            r#","ERRORCODE":"AccessDenied"}"#,
            r#", "ErrorCode" : "x"}"#,
            r#","error\u0043ode":"x"}"#,
            r#","\u0065rrorCode":"x"}"#,
        ] {
            assert!(!lacks_error_code(present), "{present}");
        }
    }

    #[test]
    fn the_key_anywhere_sends_the_record_back_to_the_walk() {
        // Over-approximation: as a value, or nested, it still counts as maybe present.
        assert!(!lacks_error_code(r#","x":"errorCode"}"#));
        assert!(!lacks_error_code(r#","x":{"errorCode":1}}"#));
        // Any `\u`, even one that spells no key, is enough.
        assert!(!lacks_error_code(r#","x":"caf\u00e9"}"#));
        // A prefix or a longer key is not the key.
        assert!(lacks_error_code(r#","errorCodes":1,"xerrorCode":2}"#));
    }

    #[test]
    fn slots_found_in_few_records_become_rare() {
        let mut probe = probe();
        assert_eq!(probe.common_reads(), 2);
        for record in 0..RECOUNT_EVERY {
            probe.found(0);
            if record % 16 == 0 {
                probe.found(1);
            }
            probe.record_done();
        }
        assert!(!probe.is_rare(0));
        assert!(probe.is_rare(1));
        assert!(!probe.is_rare(2), "slots not read are never searched for");
        assert_eq!(probe.common_reads(), 1);
    }

    #[test]
    fn keys_are_found_wherever_blocks_split_them() {
        for pad in 0..140 {
            let filler = format!(r#","f":"{}""#, "x".repeat(pad));
            for (rest, lacks) in [
                (format!(r#"{filler},"ErrorCode":"x"}}"#), false),
                (format!(r#"{filler},"x":{{"errorcode":1}},"y":2}}"#), false),
                (format!(r#"{filler},"errorCodes":1,"xerrorCode":2}}"#), true),
                (format!(r#"{filler},"x":"\"errorCode\""}}"#), true),
                (format!(r#"{filler},"x":"a\u0062"}}"#), false),
            ] {
                assert_eq!(lacks_error_code(&rest), lacks, "{rest}");
            }
        }
    }

    #[test]
    fn several_keys_are_searched_at_once() {
        let mut probe = AbsenceProbe::new(["eventName", "errorCode", "vpcEndpointId"], [true; 3]);
        let text = r#"{"eventName":"x","readOnly":true,"VPCENDPOINTID":"v"}"#;
        let mut cursor = Cursor::new(text);
        cursor.move_to(16);
        assert!(!probe.skip_rest_lacking(&mut cursor, [1, 2].into_iter()));
        assert!(probe.skip_rest_lacking(&mut cursor, [1].into_iter()));
        assert_eq!(cursor.offset(), text.len());
    }

    /// Whether the search rules `roleArn` and `instanceType` out of `object`; when it
    /// does, the cursor must be past the object.
    fn object_lacks_parameters(object: &str) -> bool {
        let mut search =
            ObjectKeySearch::new(["rolearn".to_string(), "instanceType".to_string()]).unwrap();
        let text = format!("{object} tail");
        let mut cursor = Cursor::new(&text);
        let lacks = search.skip_object_lacking(&mut cursor);
        let end = if lacks { object.len() } else { 0 };
        assert_eq!(cursor.offset(), end, "{text}");
        lacks
    }

    #[test]
    fn an_object_is_skipped_only_when_it_lacks_every_key() {
        for lacking in [
            r#"{}"#,
            r#"{"secretId":"arn:aws:secretsmanager:x"}"#,
            r#"{"roleArns":[1],"xinstanceType":{"a":[{"b":"}"}]}}"#,
            r#"{"policy":"{\"roleArn\":1}"}"#,
        ] {
            assert!(object_lacks_parameters(lacking), "{lacking}");
        }
        for holding in [
            r#"{"roleArn":"arn:aws:iam::1:role/r"}"#,
            r#"{"ROLEARN":1}"#,
            r#"{"a":1, "InstanceType" : "t3.micro"}"#,
            r#"{"role\u0041rn":"x"}"#,
            // Over-approximations: as a value, nested, or any `\u`.
            r#"{"x":"roleArn"}"#,
            r#"{"x":{"instanceType":"t3.micro"}}"#,
            r#"{"x":"caf\u00e9"}"#,
            // Broken structure is for the walk to report.
            r#"{"x":[}"#,
        ] {
            assert!(!object_lacks_parameters(holding), "{holding}");
        }
    }

    #[test]
    fn keys_json_may_spell_otherwise_are_never_searched_for() {
        assert!(ObjectKeySearch::new(["bucketName".to_string()]).is_some());
        for key in ["a/b", "a\"b", "a\\b", "caf\u{e9}", "", &"x".repeat(63)] {
            assert!(ObjectKeySearch::new([key.to_string()]).is_none(), "{key}");
        }
        assert!(ObjectKeySearch::new((0..5).map(|i| format!("k{i}"))).is_none());
        assert!(ObjectKeySearch::new(std::iter::empty()).is_none());
    }

    #[test]
    fn an_object_search_stops_when_it_rarely_rules_keys_out() {
        let mut search = ObjectKeySearch::new(["rolearn".to_string()]).unwrap();
        let text = r#"{"roleArn":"r"}"#;
        for _ in 0..SEARCHES_BEFORE_JUDGING {
            assert!(!search.skip_object_lacking(&mut Cursor::new(text)));
        }
        let lacking = r#"{"other":"r"}"#;
        assert!(!search.skip_object_lacking(&mut Cursor::new(lacking)));
        assert_eq!(
            search.record.searches, SEARCHES_BEFORE_JUDGING,
            "no search once judged"
        );
    }

    #[test]
    fn searching_stops_when_it_rarely_rules_keys_out() {
        let mut probe = probe();
        let count = |probe: &mut AbsenceProbe<3>| {
            for _ in 0..RECOUNT_EVERY {
                probe.found(0);
                probe.record_done();
            }
        };
        count(&mut probe);
        assert!(probe.is_rare(1));
        // Every record holds an escape, so no search can rule the key out.
        let text = r#"{"a":"\u0041","b":1}"#;
        for _ in 0..SEARCHES_BEFORE_JUDGING {
            let mut cursor = Cursor::new(text);
            cursor.move_to(1);
            assert!(!probe.skip_rest_lacking(&mut cursor, [1].into_iter()));
            assert_eq!(cursor.offset(), 1, "a failed search leaves the cursor");
        }
        count(&mut probe);
        assert!(!probe.is_rare(1));
        assert_eq!(probe.common_reads(), 2);
    }
}
