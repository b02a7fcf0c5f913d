//! Fitting text into a width without changing what it says: drop whole parts, least
//! important first, and never cut a number. When even the most important part is too wide,
//! it is cut with `…`, so that the screen shows that something was shortened.

pub use crate::text::{ellipsis, width};

/// The first of `variants` (longest and fullest first) that fits in `max` columns; when
/// none does, the last cut with `…`.
pub fn first_fitting(max: usize, variants: &[String]) -> String {
    match variants.iter().find(|v| width(v) <= max) {
        Some(v) => v.clone(),
        None => ellipsis(variants.last().map_or("", String::as_str), max),
    }
}

/// Which of `parts` to keep so that, joined by `sep` in their order, they fit in `max`
/// columns: the least important (highest `rank`; of equal rank, the last) go first. Parts of
/// rank 0 are always kept, even when they alone do not fit; empty parts never are.
pub fn keep(max: usize, sep: &str, parts: &[(u8, String)]) -> Vec<bool> {
    let mut keep: Vec<bool> = parts.iter().map(|p| !p.1.is_empty()).collect();
    loop {
        let kept = parts.iter().zip(&keep).filter(|(_, k)| **k);
        let w: usize = kept.clone().map(|(p, _)| width(&p.1)).sum::<usize>()
            + width(sep) * kept.count().saturating_sub(1);
        if w <= max {
            return keep;
        }
        let drop =
            parts.iter().enumerate().filter(|(i, p)| keep[*i] && p.0 > 0).max_by_key(|(i, p)| (p.0, *i));
        match drop {
            Some((i, _)) => keep[i] = false,
            None => return keep,
        }
    }
}

/// Parts joined by `sep` after dropping the least important until the rest fits in `max`
/// columns (see [`keep`]); cut with `…` if the parts of rank 0 alone do not fit.
pub fn by_rank(max: usize, sep: &str, parts: &[(u8, String)]) -> String {
    let kept = keep(max, sep, parts);
    let text =
        parts.iter().zip(&kept).filter(|(_, k)| **k).map(|(p, _)| p.1.as_str()).collect::<Vec<_>>().join(sep);
    ellipsis(&text, max)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_are_dropped_least_important_first_and_numbers_are_never_cut() {
        let parts =
            [(0, "least-loaded".to_string()), (1, "p99 74.2ms".to_string()), (2, "mean 15.1ms".to_string())];
        assert_eq!(by_rank(40, " · ", &parts), "least-loaded · p99 74.2ms · mean 15.1ms");
        assert_eq!(by_rank(30, " · ", &parts), "least-loaded · p99 74.2ms");
        assert_eq!(by_rank(24, " · ", &parts), "least-loaded");
        assert_eq!(by_rank(8, " · ", &parts), "least-l…");
    }

    #[test]
    fn variants_give_the_fullest_that_fits() {
        let v = ["bar 64 pending · top 11%".to_string(), "bar 64".to_string()];
        assert_eq!(first_fitting(30, &v), v[0]);
        assert_eq!(first_fitting(10, &v), "bar 64");
        assert_eq!(first_fitting(4, &v), "bar…");
        assert_eq!(ellipsis("abc", 3), "abc");
        assert_eq!(ellipsis("abcd", 0), "");
    }
}
