//! Where in a scenario's text a problem is: line, column and the dotted field, for errors
//! that name them. Used by the file's reader and by the data files it names.

use std::ops::Range;

use super::ScenarioError;

/// An error about `field` (a dotted path such as `faults.slowdown.factor`), placed at the
/// first line that sets it under its table, or at the table's header.
pub(super) fn locate(text: &str, origin: &str, field: &str, problem: &str) -> ScenarioError {
    let (table, key) = field.rsplit_once('.').unwrap_or(("", field));
    let mut header = String::new();
    let mut header_line = None;
    let mut offset = 0;
    let mut found = None;
    for line in text.split_inclusive('\n') {
        let trimmed = line.trim();
        if trimmed.starts_with('[') {
            header = trimmed.trim_matches(|c| c == '[' || c == ']').trim().to_string();
            if header == field && header_line.is_none() {
                header_line = Some(offset + line.find('[').unwrap_or(0));
            }
        } else if header == table
            && let Some((k, _)) = trimmed.split_once('=')
            && k.trim() == key
        {
            let value = line.find('=').map_or(0, |i| i + 1);
            let skip = line[value..].len() - line[value..].trim_start().len();
            found = Some(offset + value + skip);
            break;
        }
        offset += line.len();
    }
    // An inline table (`random_crashes = { mtbf = "0s", ... }`): the key after the table's
    // own name.
    let inline = || {
        let parent = table.rsplit('.').next().filter(|p| !p.is_empty())?;
        let from = text.find(parent)?;
        let rest = &text[from..];
        let mut search = 0;
        while let Some(i) = rest[search..].find(key) {
            let after = &rest[search + i + key.len()..];
            let gap = after.len() - after.trim_start().len();
            if after.trim_start().starts_with('=') {
                let value = &after[gap + 1..];
                return Some(
                    from + search + i + key.len() + gap + 1 + (value.len() - value.trim_start().len()),
                );
            }
            search += i + key.len();
        }
        None
    };
    let at = found.or(header_line).or_else(inline);
    ScenarioError {
        file: origin.to_string(),
        position: at.map(|o| line_col(text, o)),
        field: Some(field.to_string()),
        message: problem.to_string(),
    }
}

/// An error at a byte span, with the field found from the text there.
pub(super) fn error_at(text: &str, origin: &str, span: Option<Range<usize>>, message: &str) -> ScenarioError {
    let position = span.as_ref().map(|s| line_col(text, s.start));
    let field = span.and_then(|s| field_at(text, s.start));
    ScenarioError { file: origin.to_string(), position, field, message: message.to_string() }
}

pub(super) fn field_error(
    text: &str,
    origin: &str,
    span: Range<usize>,
    field: &str,
    message: &str,
) -> ScenarioError {
    ScenarioError {
        file: origin.to_string(),
        position: Some(line_col(text, span.start)),
        field: Some(field.to_string()),
        message: message.to_string(),
    }
}

pub(super) fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, col)
}

/// The dotted field name at a byte offset: the key on that line, inside the nearest table
/// header above it.
pub(super) fn field_at(text: &str, offset: usize) -> Option<String> {
    let offset = offset.min(text.len());
    let line_start = text[..offset].rfind('\n').map_or(0, |i| i + 1);
    let line_end = text[offset..].find('\n').map_or(text.len(), |i| offset + i);
    let line = &text[line_start..line_end];
    let (key, _) = line.split_once('=')?;
    let key = key.trim().trim_matches('"');
    if key.is_empty() || key.starts_with('#') || key.starts_with('[') {
        return None;
    }
    Some(qualify(text, line_start, key))
}

/// The table a header at `offset` opens (`[faults.random_crashes]`), if there is one there.
pub(super) fn table_at(text: &str, offset: usize) -> Option<String> {
    let offset = offset.min(text.len());
    let line_start = text[..offset].rfind('\n').map_or(0, |i| i + 1);
    let line = text[line_start..].lines().next()?.trim();
    let name = line.strip_prefix('[')?.trim_matches(|c| c == '[' || c == ']').trim();
    (!name.is_empty()).then(|| name.to_string())
}

/// Prefixes `key` with the table header in force at `offset`.
pub(super) fn qualify(text: &str, offset: usize, key: &str) -> String {
    let header = text[..offset.min(text.len())]
        .lines()
        .rev()
        .map(str::trim)
        .find(|l| l.starts_with('['))
        .map(|l| l.trim_matches(|c| c == '[' || c == ']').trim().to_string());
    match header {
        Some(h) if !h.is_empty() => format!("{h}.{key}"),
        _ => key.to_string(),
    }
}

/// The key named by serde's "unknown field `x`" message.
pub(super) fn unknown_field(message: &str) -> Option<String> {
    let rest = message.strip_prefix("unknown field `")?;
    Some(rest[..rest.find('`')?].to_string())
}
