//! Where a plain file too large to hold whole may be cut into parts that each hold whole
//! top-level JSON values, so that NDJSON exports of any size decode in bounded memory.

/// Where `text` (the start of what is left of a plain file) may be cut so that the part
/// before holds only whole top-level values: just past the last newline with a `}`
/// before it and a `{` after it, only whitespace between. Inside any JSON value two
/// objects are separated by a comma, and a string cannot hold a raw newline, so in valid
/// JSON such a newline lies between two top-level objects: NDJSON lines, or objects
/// written one after another. (In text that is not valid JSON, a part may end inside a
/// value: decoding that part then fails, with the file, record and line.) `None` when
/// there is no such newline: one value fills the text (a delivery file, a bare array,
/// or a longer line than the text holds).
pub fn part_end(text: &[u8]) -> Option<usize> {
    let mut before = text.len();
    while let Some(newline) = memchr::memrchr(b'\n', &text[..before]) {
        before = newline;
        let opened = text[newline + 1..]
            .iter()
            .find(|b| !b.is_ascii_whitespace())
            .is_some_and(|&b| b == b'{');
        let closed = text[..newline]
            .iter()
            .rev()
            .find(|b| !b.is_ascii_whitespace())
            .is_some_and(|&b| b == b'}');
        if opened && closed {
            return Some(newline + 1);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::part_end;

    #[test]
    fn a_part_ends_after_the_last_line_that_closes_an_object_before_one_opens() {
        assert_eq!(part_end(b"{\"a\":1}\n{\"b\":2}\n{\"c\""), Some(16));
        assert_eq!(part_end(b"{\"a\":1}\r\n  {\"b\":2}"), Some(9));
        // Objects written one after another, pretty-printed.
        assert_eq!(part_end(b"{\n  \"a\": 1\n}\n{\n  \"b\""), Some(13));
    }

    #[test]
    fn there_is_no_end_inside_a_value_or_before_text_that_is_not_read_yet() {
        // A pretty-printed delivery file: records inside an array are separated by commas.
        assert_eq!(
            part_end(b"{\"Records\": [\n  {\"a\": 1},\n  {\"b\": 2}\n]}"),
            None
        );
        assert_eq!(part_end(b"[\n{\"a\":1}\n,{\"b\":2}]"), None);
        // The next value has not been read yet: a cut here could not be checked.
        assert_eq!(part_end(b"{\"a\":1}\n"), None);
        assert_eq!(part_end(b"{\"a\":1}\n   "), None);
        assert_eq!(part_end(b""), None);
        assert_eq!(part_end(b"{\"Records\":[{\"a\":1}]}"), None);
    }
}
