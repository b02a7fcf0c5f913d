//! Small readers shared by the importers: nginx's directive blocks (words, quoted strings,
//! `;`, `{`, `}`, `#` comments, each directive with its line) and durations in each proxy's
//! notation.

use super::ImportError;
use crate::time::{MILLIS, Nanos, SECS, parse_nanos};

/// One nginx directive: `name args... ;` or `name args... { block }`.
#[derive(Clone, Debug)]
pub struct Directive {
    /// The directive's name.
    pub name: String,
    /// Its arguments, unquoted.
    pub args: Vec<String>,
    /// Its 1-based line.
    pub line: usize,
    /// The directives of its block, if it has one.
    pub block: Option<Vec<Directive>>,
}

/// Words of nginx's syntax, with their lines.
fn tokens(text: &str, origin: &str) -> Result<Vec<(String, usize, bool)>, ImportError> {
    let mut out = Vec::new();
    let mut chars = text.chars().peekable();
    let mut line = 1;
    while let Some(c) = chars.next() {
        match c {
            '\n' => line += 1,
            c if c.is_whitespace() => {}
            '#' => {
                while chars.peek().is_some_and(|&c| c != '\n') {
                    chars.next();
                }
            }
            ';' | '{' | '}' => out.push((c.to_string(), line, true)),
            '"' | '\'' => {
                let start = line;
                let mut word = String::new();
                loop {
                    match chars.next() {
                        None => {
                            return Err(ImportError {
                                origin: origin.into(),
                                line: start,
                                key: String::new(),
                                problem: format!("a quoted string opened here is never closed ({c})"),
                            });
                        }
                        Some(q) if q == c => break,
                        Some('\\') => word.extend(chars.next()),
                        Some(ch) => {
                            line += usize::from(ch == '\n');
                            word.push(ch);
                        }
                    }
                }
                out.push((word, start, false));
            }
            c => {
                let mut word = c.to_string();
                while let Some(&n) = chars.peek() {
                    if n.is_whitespace() || matches!(n, ';' | '{' | '}') {
                        break;
                    }
                    word.push(n);
                    chars.next();
                }
                out.push((word, line, false));
            }
        }
    }
    Ok(out)
}

/// Parses an nginx configuration into its directives.
pub fn nginx(text: &str, origin: &str) -> Result<Vec<Directive>, ImportError> {
    let tokens = tokens(text, origin)?;
    let mut pos = 0;
    let directives = block(&tokens, &mut pos, origin, None)?;
    Ok(directives)
}

fn block(
    tokens: &[(String, usize, bool)],
    pos: &mut usize,
    origin: &str,
    opened: Option<(usize, &str)>,
) -> Result<Vec<Directive>, ImportError> {
    let err = |line: usize, key: &str, problem: &str| ImportError {
        origin: origin.into(),
        line,
        key: key.into(),
        problem: problem.into(),
    };
    let mut out = Vec::new();
    while *pos < tokens.len() {
        let (word, line, punct) = &tokens[*pos];
        *pos += 1;
        if *punct && word == "}" {
            return match opened {
                Some(_) => Ok(out),
                None => Err(err(*line, "}", "a `}` closes no block")),
            };
        }
        if *punct {
            return Err(err(*line, word, "a directive's name was expected here"));
        }
        let mut d = Directive { name: word.clone(), args: Vec::new(), line: *line, block: None };
        loop {
            let Some((w, l, p)) = tokens.get(*pos) else {
                return Err(err(
                    d.line,
                    &d.name,
                    "the directive does not end (a `;` or a `{ }` block is missing)",
                ));
            };
            *pos += 1;
            match (w.as_str(), p) {
                (";", true) => break,
                ("{", true) => {
                    d.block = Some(block(tokens, pos, origin, Some((*l, &d.name)))?);
                    break;
                }
                ("}", true) => return Err(err(d.line, &d.name, "the directive does not end with `;`")),
                _ => d.args.push(w.clone()),
            }
        }
        out.push(d);
    }
    match opened {
        Some((line, name)) => {
            Err(err(line, name, "the block opened here is never closed (a `}` is missing)"))
        }
        None => Ok(out),
    }
}

/// nginx's time notation: `10s`, `500ms`, `1m`, `1h30m`, or bare seconds.
pub fn nginx_time(text: &str) -> Option<Nanos> {
    compound(text, SECS)
}

/// HAProxy's time notation: `2s`, `500ms`, `1m`, or bare milliseconds.
pub fn haproxy_time(text: &str) -> Option<Nanos> {
    compound(text, MILLIS)
}

/// A sum of numbers with units (`1h30m`), or one bare number in `bare` units.
fn compound(text: &str, bare: Nanos) -> Option<Nanos> {
    let text = text.trim();
    if text.is_empty() || text.starts_with('-') {
        return None;
    }
    if text.chars().all(|c| c.is_ascii_digit() || c == '.') {
        return parse_nanos(text, Some(bare)).ok();
    }
    let mut total: Nanos = 0;
    let mut rest = text;
    while !rest.is_empty() {
        let digits = rest.find(|c: char| !(c.is_ascii_digit() || c == '.'))?;
        let unit_end =
            rest[digits..].find(|c: char| c.is_ascii_digit() || c == '.').map_or(rest.len(), |i| digits + i);
        if digits == 0 {
            return None;
        }
        let unit = &rest[digits..unit_end];
        // nginx and HAProxy: d (days), and ms, s, m, h as lbsim reads them.
        let part = if unit == "d" {
            parse_nanos(&format!("{}h", &rest[..digits]), None).ok()?.checked_mul(24)?
        } else {
            parse_nanos(&rest[..unit_end], None).ok()?
        };
        total = total.checked_add(part)?;
        rest = &rest[unit_end..];
    }
    Some(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_read_each_proxys_notation() {
        assert_eq!(nginx_time("10"), Some(10 * SECS));
        assert_eq!(nginx_time("1m30s"), Some(90 * SECS));
        assert_eq!(nginx_time("500ms"), Some(500 * MILLIS));
        assert_eq!(haproxy_time("2000"), Some(2 * SECS));
        assert_eq!(haproxy_time("2s"), Some(2 * SECS));
        assert_eq!(haproxy_time("1d"), Some(24 * 3600 * SECS));
        assert_eq!(haproxy_time("abc"), None);
        assert_eq!(haproxy_time("-1s"), None);
    }

    #[test]
    fn nginx_blocks_nest_with_lines() {
        let d = nginx("http {\n upstream b {\n  server a:80 weight=2;\n }\n}\n", "f").unwrap();
        let up = &d[0].block.as_ref().unwrap()[0];
        assert_eq!((up.name.as_str(), up.args[0].as_str()), ("upstream", "b"));
        let server = &up.block.as_ref().unwrap()[0];
        assert_eq!((server.line, server.args.clone()), (3, vec!["a:80".to_string(), "weight=2".to_string()]));
        let e = nginx("upstream b {\n server a\n}\n", "f").unwrap_err();
        assert_eq!(e.to_string(), "f:2: server: the directive does not end with `;`");
    }
}
