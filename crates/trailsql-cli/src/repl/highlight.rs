//! Colours for SQL as it is typed: keywords, strings, numbers, comments, meta-commands.

const RESET: &str = "\x1b[0m";
const KEYWORD: &str = "\x1b[1;34m";
const STRING: &str = "\x1b[32m";
const NUMBER: &str = "\x1b[33m";
const COMMENT: &str = "\x1b[2m";
const META: &str = "\x1b[35m";

fn is_keyword(word: &str) -> bool {
    let upper = word.to_ascii_uppercase();
    super::complete::KEYWORDS
        .iter()
        .flat_map(|k| k.split(' '))
        .any(|k| k == upper)
}

/// The line with ANSI colours; its visible text is unchanged.
pub fn highlight(line: &str) -> String {
    if line.trim_start().starts_with('.') {
        let trimmed = line.trim_start();
        let indent = &line[..line.len() - trimmed.len()];
        let end = trimmed.find(char::is_whitespace).unwrap_or(trimmed.len());
        return format!(
            "{indent}{META}{}{RESET}{}",
            &trimmed[..end],
            &trimmed[end..]
        );
    }
    let mut out = String::with_capacity(line.len() * 2);
    let chars: Vec<(usize, char)> = line.char_indices().collect();
    let mut i = 0;
    let text_at = |from: usize, to: usize| {
        let start = chars[from].0;
        let end = chars.get(to).map_or(line.len(), |c| c.0);
        &line[start..end]
    };
    while i < chars.len() {
        let c = chars[i].1;
        let next = chars.get(i + 1).map(|c| c.1);
        if c == '-' && next == Some('-') {
            let end = (i..chars.len())
                .find(|&j| chars[j].1 == '\n')
                .unwrap_or(chars.len());
            out.push_str(COMMENT);
            out.push_str(text_at(i, end));
            out.push_str(RESET);
            i = end;
        } else if c == '\'' {
            let mut end = i + 1;
            while end < chars.len() && chars[end].1 != '\'' {
                end += 1;
            }
            let end = (end + 1).min(chars.len());
            out.push_str(STRING);
            out.push_str(text_at(i, end));
            out.push_str(RESET);
            i = end;
        } else if c == '"' {
            let mut end = i + 1;
            while end < chars.len() && chars[end].1 != '"' {
                end += 1;
            }
            let end = (end + 1).min(chars.len());
            out.push_str(text_at(i, end));
            i = end;
        } else if c.is_ascii_digit() {
            let end = (i..chars.len())
                .find(|&j| !(chars[j].1.is_ascii_alphanumeric() || chars[j].1 == '.'))
                .unwrap_or(chars.len());
            out.push_str(NUMBER);
            out.push_str(text_at(i, end));
            out.push_str(RESET);
            i = end;
        } else if c.is_alphabetic() || c == '_' {
            let end = (i..chars.len())
                .find(|&j| !(chars[j].1.is_alphanumeric() || chars[j].1 == '_'))
                .unwrap_or(chars.len());
            let word = text_at(i, end);
            let after_dot = i > 0 && chars[i - 1].1 == '.';
            if !after_dot && is_keyword(word) {
                out.push_str(KEYWORD);
                out.push_str(word);
                out.push_str(RESET);
            } else {
                out.push_str(word);
            }
            i = end;
        } else {
            out.push(c);
            i += 1;
        }
    }
    out
}

/// Whether colour belongs on this terminal: a terminal, `NO_COLOR` unset, not `dumb`.
pub fn colour_wanted(is_terminal: bool) -> bool {
    is_terminal
        && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
        && std::env::var("TERM").map_or(true, |t| t != "dumb")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strip(text: &str) -> String {
        let mut out = String::new();
        let mut chars = text.chars();
        while let Some(c) = chars.next() {
            if c == '\x1b' {
                for c in chars.by_ref() {
                    if c == 'm' {
                        break;
                    }
                }
            } else {
                out.push(c);
            }
        }
        out
    }

    #[test]
    fn colours_keep_the_text() {
        for line in [
            "SELECT eventname, count(*) FROM cloudtrail WHERE x = 'it''s' -- note",
            "select \"eventName\" from t where n > 10.5",
            ".mode csv",
            "SELECT 'unterminated",
            "SELECT é, ünïcode",
        ] {
            assert_eq!(strip(&highlight(line)), line);
        }
        let h = highlight("SELECT x FROM t WHERE y = 'select'");
        assert!(h.starts_with(&format!("{KEYWORD}SELECT{RESET}")), "{h:?}");
        assert!(h.contains(&format!("{STRING}'select'{RESET}")), "{h:?}");
        // A column named like a keyword after a dot is a path, not a keyword.
        assert!(!highlight("a.end").contains(KEYWORD));
    }
}
