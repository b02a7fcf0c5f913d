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
