//! Text from users (scenario names and descriptions, file names) made safe to print: control
//! characters, such as the escape sequences that clear a terminal, are shown escaped instead
//! of being sent to the terminal.

use std::borrow::Cow;

/// `text` with every control character (newlines and tabs included) written as an escape:
/// `\n`, `\t`, `\r`, or `\u{1b}` for the rest; a backslash stays a backslash. Borrowed when
/// there is nothing to escape.
///
/// ```
/// assert_eq!(lbsim::text::escape("plain"), "plain");
/// assert_eq!(lbsim::text::escape("a\x1b[2Jb\n"), "a\\u{1b}[2Jb\\n");
/// ```
pub fn escape(text: &str) -> Cow<'_, str> {
    if !text.chars().any(char::is_control) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if c.is_control() => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// Like [`escape`], but keeps line breaks: for whole reports, whose lines are meant.
pub fn escape_lines(text: &str) -> Cow<'_, str> {
    if !text.chars().any(|c| c.is_control() && c != '\n') {
        return Cow::Borrowed(text);
    }
    Cow::Owned(text.split('\n').map(|l| escape(l).into_owned()).collect::<Vec<_>>().join("\n"))
}

/// A number as a person would write it: plainly when moderate, in scientific notation when
/// huge or tiny (`1e308` rather than 309 digits).
pub fn number(x: f64) -> String {
    let a = x.abs();
    if x == 0.0 || !x.is_finite() || (1e-4..1e9).contains(&a) { format!("{x}") } else { format!("{x:e}") }
}

/// Like [`number`], but words for what is not a finite number, for error lines: an infinite
/// value (an overflow: `1e308 * 900`) is `more than 10^300`, not `inf`.
///
/// ```
/// assert_eq!(lbsim::text::amount(f64::INFINITY), "more than 10^300");
/// assert_eq!(lbsim::text::amount(2.5e20), "2.5e20");
/// ```
pub fn amount(x: f64) -> String {
    match x {
        f64::INFINITY => "more than 10^300".to_string(),
        f64::NEG_INFINITY => "less than -10^300".to_string(),
        x if x.is_nan() => "not a number".to_string(),
        x => number(x),
    }
}

/// `950`, `12.3k`, `10.0M`: a count that fits a header.
pub fn count_text(n: u64) -> String {
    match n {
        0..1_000 => n.to_string(),
        1_000..1_000_000 => format!("{:.1}k", n as f64 / 1e3),
        _ => format!("{:.1}M", n as f64 / 1e6),
    }
}

/// `2x`, `0.5x`, `1/1024x`: a speed (virtual seconds per real second).
pub fn speed_text(speed: f64) -> String {
    if speed >= 1.0 {
        format!("{speed:.0}x")
    } else if speed >= 1.0 / 64.0 {
        format!("{speed}x")
    } else {
        format!("1/{:.0}x", 1.0 / speed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_controls_only() {
        assert!(matches!(escape("héllo · world"), Cow::Borrowed(_)));
        assert_eq!(escape("\x1b]0;owned\x07"), "\\u{1b}]0;owned\\u{7}");
        assert_eq!(escape("a\tb\r\n\u{9b}"), "a\\tb\\r\\n\\u{9b}");
        assert_eq!(escape_lines("one\x1b[2J\ntwo\n"), "one\\u{1b}[2J\ntwo\n");
    }
}

/// Display width of `s` in terminal columns: East Asian wide characters take two, combining
/// marks none (by the `unicode-width` crate, which ratatui measures with too, so that what
/// lbsim lays out and what ratatui draws agree).
pub fn width(s: &str) -> usize {
    unicode_width::UnicodeWidthStr::width(s)
}

/// `s` cut to at most `max` columns, ending in `…` when cut (a wide character that would
/// straddle the end is left out whole).
pub fn ellipsis(s: &str, max: usize) -> String {
    if width(s) <= max {
        return s.to_string();
    }
    let Some(room) = max.checked_sub(1) else { return String::new() };
    let mut out = String::new();
    let mut used = 0;
    for c in s.chars() {
        let w = unicode_width::UnicodeWidthChar::width(c).unwrap_or(0);
        if used + w > room {
            break;
        }
        used += w;
        out.push(c);
    }
    out + "…"
}

/// The longest start of `s` that fits in `columns` (at least one character, so that the
/// caller always moves on), and the rest.
fn split_at_width(s: &str, columns: usize) -> (&str, &str) {
    let mut used = 0;
    for (i, c) in s.char_indices() {
        used += unicode_width::UnicodeWidthChar::width(c).unwrap_or(0);
        if used > columns && i > 0 {
            return s.split_at(i);
        }
    }
    (s, "")
}

/// `text` in lines of at most `columns` columns, broken at spaces (a word longer than a line
/// is split).
pub fn wrap(text: &str, columns: usize) -> Vec<String> {
    let mut lines = vec![String::new()];
    for word in text.split(' ') {
        let mut word = word.to_string();
        loop {
            let line = lines.last_mut().expect("one line at least");
            let need = width(line) + usize::from(!line.is_empty()) + width(&word);
            if need <= columns {
                if !line.is_empty() {
                    line.push(' ');
                }
                line.push_str(&word);
                break;
            }
            if line.is_empty() {
                // Longer than a whole line: split it.
                let (head, rest) = split_at_width(&word, columns);
                line.push_str(head);
                word = rest.to_string();
                lines.push(String::new());
                if word.is_empty() {
                    break;
                }
                continue;
            }
            lines.push(String::new());
        }
    }
    if lines.len() > 1 && lines.last().is_some_and(String::is_empty) {
        lines.pop();
    }
    lines
}

#[cfg(test)]
mod wrap_tests {
    use super::wrap;

    #[test]
    fn measures_and_cuts_in_terminal_columns() {
        use super::{ellipsis, width};
        assert_eq!(width("负载均衡"), 8);
        assert_eq!(width("least-loaded"), 12);
        assert_eq!(ellipsis("负载均衡", 6), "负载…");
        assert_eq!(ellipsis("负载均衡", 4), "负…");
        assert_eq!(ellipsis("abc", 3), "abc");
        assert_eq!(wrap("负载均衡器", 4), ["负载", "均衡", "器"]);
    }

    #[test]
    fn wraps_at_spaces_and_splits_only_words_longer_than_a_line() {
        assert_eq!(wrap("a bb ccc dddd", 6), ["a bb", "ccc", "dddd"]);
        assert_eq!(wrap("abcdefghij", 4), ["abcd", "efgh", "ij"]);
        assert_eq!(wrap("", 4), [""]);
        assert_eq!(wrap("fits", 4), ["fits"]);
    }
}
