//! Virtual time: integer nanoseconds, and the human duration syntax (`10ms`, `1.5s`).

use std::fmt;

/// A point in, or a span of, virtual time in nanoseconds.
pub type Nanos = u64;

/// One microsecond in [`Nanos`].
pub const MICROS: Nanos = 1_000;
/// One millisecond in [`Nanos`].
pub const MILLIS: Nanos = 1_000_000;
/// One second in [`Nanos`].
pub const SECS: Nanos = 1_000_000_000;

/// The longest virtual time a run may cover, 2^61 ns (about 73 years): every configured
/// time, and the run as a whole, must fit, so that adding any two times cannot overflow.
pub const MAX_TIME: Nanos = 1 << 61;

/// `x` rounded to the nearest nanosecond, exactly as `(x + 0.5) as Nanos` (which saturates:
/// below zero and NaN give 0, beyond the range `Nanos::MAX`).
///
/// The same value, but cheaper where it is drawn for every request (arrival gaps, service
/// demands): a conversion to an unsigned 64-bit integer has no single x86-64 instruction, so
/// `as` costs about ten; a value known to be in the signed range (always, in practice) takes
/// one, and the rest keep `as`.
#[inline(always)]
pub fn nearest_nanos(x: f64) -> Nanos {
    const SIGNED_END: f64 = (1u64 << 63) as f64;
    let y = x + 0.5;
    if (0.0..SIGNED_END).contains(&y) {
        // SAFETY: `y` is finite and in `0..2^63`, which `i64` holds; truncation toward zero,
        // as `as` does.
        unsafe { y.to_int_unchecked::<i64>() as Nanos }
    } else {
        y as Nanos
    }
}

/// Converts nanoseconds to (fractional) seconds.
pub fn as_secs_f64(t: Nanos) -> f64 {
    t as f64 / SECS as f64
}

/// Converts nanoseconds to (fractional) milliseconds.
pub fn as_millis_f64(t: Nanos) -> f64 {
    t as f64 / MILLIS as f64
}

/// Why [`parse_nanos`] refused a time.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TimeError {
    /// It starts with `-`.
    Negative,
    /// A number without a unit where one is required.
    NoUnit,
    /// A unit that is not one of `ns`, `us` (`µs`), `ms`, `s`, `m` (`min`), `h`.
    UnknownUnit(String),
    /// Not a non-negative decimal number (nothing, or two points).
    Malformed,
    /// More nanoseconds than a [`Nanos`] holds.
    TooLarge,
}

/// The one parser of lbsim's time syntax: a non-negative decimal number and a unit (`ns`,
/// `us` or `µs`, `ms`, `s`, `m` or `min`, `h`), into nanoseconds. A bare number is in the
/// unit `bare` (traces: seconds), or refused when `bare` is `None`. Decimals are exact (no
/// floating point); anything finer than a nanosecond is truncated; every step is checked, so
/// a time too large for a [`Nanos`] is refused, never wrapped.
///
/// `humantime` is not used: it knows neither decimals (`1.5s`) nor bare seconds, and spells
/// units differently; lbsim's syntax is this small parser.
pub fn parse_nanos(s: &str, bare: Option<Nanos>) -> Result<Nanos, TimeError> {
    parse_time_text(s, bare, false)
}

/// [`parse_nanos`] that also reads scientific notation (`1e-05`, `2.5E3ms`), as spreadsheets
/// and Python write numbers in data files (traces, empirical samples). Durations people type
/// (flags, scenarios) keep to plain decimals.
pub fn parse_nanos_scientific(s: &str, bare: Option<Nanos>) -> Result<Nanos, TimeError> {
    parse_time_text(s, bare, true)
}

fn parse_time_text(s: &str, bare: Option<Nanos>, scientific: bool) -> Result<Nanos, TimeError> {
    if s.starts_with('-') {
        return Err(TimeError::Negative);
    }
    let split = s.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(s.len());
    let (number, rest) = s.split_at(split);
    let (exponent, unit) = if scientific { exponent(rest).ok_or(TimeError::Malformed)? } else { (0, rest) };
    let scale: Nanos = match unit.trim() {
        "" if number.is_empty() => return Err(TimeError::Malformed),
        "" => bare.ok_or(TimeError::NoUnit)?,
        "ns" => 1,
        "us" | "µs" => MICROS,
        "ms" => MILLIS,
        "s" => SECS,
        "m" | "min" => 60 * SECS,
        "h" => 3600 * SECS,
        other => return Err(TimeError::UnknownUnit(other.to_string())),
    };
    let (int_part, frac_part) = number.split_once('.').unwrap_or((number, ""));
    if (int_part.is_empty() && frac_part.is_empty()) || frac_part.contains('.') {
        return Err(TimeError::Malformed);
    }
    let (int_part, frac_part) = shift_point(int_part, frac_part, exponent).ok_or(TimeError::TooLarge)?;
    let (int_part, frac_part) = (int_part.as_str(), frac_part.as_str());
    let int: Nanos =
        if int_part.is_empty() { 0 } else { int_part.parse().map_err(|_| TimeError::TooLarge)? };
    let mut total = int.checked_mul(scale).ok_or(TimeError::TooLarge)?;
    // Exact decimal fraction: digit k (1-based) contributes d * scale / 10^k.
    let mut place = scale;
    for c in frac_part.chars() {
        place /= 10;
        if place == 0 {
            break;
        }
        let d = c.to_digit(10).ok_or(TimeError::Malformed)? as Nanos;
        total = total.checked_add(d * place).ok_or(TimeError::TooLarge)?;
    }
    Ok(total)
}

/// A decimal exponent (`e-05`, `E3`) at the start of `rest`, and what follows it; 0 and all
/// of `rest` when there is none. `None` for an `e` without digits.
fn exponent(rest: &str) -> Option<(i32, &str)> {
    let Some(after) = rest.strip_prefix(['e', 'E']) else { return Some((0, rest)) };
    let digits_at = usize::from(after.starts_with(['+', '-']));
    let end = after[digits_at..].find(|c: char| !c.is_ascii_digit()).map_or(after.len(), |e| e + digits_at);
    if end == digits_at {
        return None;
    }
    // Beyond a few dozen places every time is 0 or too long: clamp rather than overflow.
    let e = after[..end].parse::<i64>().unwrap_or(if after.starts_with('-') { -99 } else { 99 });
    Some((e.clamp(-99, 99) as i32, &after[end..]))
}

/// `int.frac` times ten to the `exponent`, as the digits before and after the point; `None`
/// when the whole part would be longer than any time.
fn shift_point(int: &str, frac: &str, exponent: i32) -> Option<(String, String)> {
    if exponent == 0 {
        return Some((int.to_string(), frac.to_string()));
    }
    let digits = format!("{int}{frac}");
    let point = int.len() as i64 + exponent as i64;
    if point <= 0 {
        return Some((String::new(), "0".repeat((-point) as usize) + &digits));
    }
    let point = point as usize;
    if point >= digits.len() {
        let int = digits.clone() + &"0".repeat(point - digits.len());
        let significant = int.trim_start_matches('0');
        return (significant.len() <= 20).then(|| (significant.to_string(), String::new()));
    }
    let int = digits[..point].trim_start_matches('0');
    (int.len() <= 20).then(|| (int.to_string(), digits[point..].to_string()))
}

/// Parses a duration such as `250us`, `10ms`, `1.5s`, `2m` or `1h` into nanoseconds (see
/// [`parse_nanos`]; a unit is required).
pub fn parse_duration(text: &str) -> Result<Nanos, String> {
    let s = text.trim();
    if s.starts_with('-') {
        return Err(format!("duration `{text}` is negative"));
    }
    if !s.starts_with(|c: char| c.is_ascii_digit() || c == '.') {
        return Err(format!("`{text}` is not a duration (expected a number and a unit, e.g. 10ms)"));
    }
    parse_nanos(s, None).map_err(|e| match e {
        TimeError::Negative => format!("duration `{text}` is negative"),
        TimeError::NoUnit => format!("duration `{text}` has no unit (use ns, us, ms, s, m or h)"),
        TimeError::UnknownUnit(other) => {
            format!("duration `{text}` has unknown unit `{other}` (use ns, us, ms, s, m or h)")
        }
        TimeError::Malformed => format!("duration `{text}` is not a non-negative number with a unit"),
        TimeError::TooLarge => format!("duration `{text}` is too large"),
    })
}

/// A virtual time typed at a prompt: seconds (`19.5`, `1e3`) or a duration (`19.5s`, `1m`),
/// read by [`parse_nanos_scientific`] (every step checked) and refused beyond [`MAX_TIME`].
pub fn parse_seconds_or_duration(text: &str) -> Result<Nanos, String> {
    let s = text.trim();
    let too_long = || format!("`{s}` is longer than lbsim's virtual time can hold");
    let t = match parse_nanos_scientific(s, Some(SECS)) {
        Ok(t) => t,
        Err(TimeError::TooLarge) => return Err(too_long()),
        // The duration parser's words for what is wrong.
        Err(_) => parse_duration(s)?,
    };
    if t > MAX_TIME {
        return Err(too_long());
    }
    Ok(t)
}

/// Displays a duration compactly with three significant digits: `812ns`, `12.3µs`, `4.56ms`,
/// `1.20s`.
pub struct Human(pub Nanos);

impl fmt::Display for Human {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let t = self.0;
        let (value, unit) = if t < MICROS {
            return write!(f, "{t}ns");
        } else if t < MILLIS {
            (t as f64 / MICROS as f64, "µs")
        } else if t < SECS {
            (t as f64 / MILLIS as f64, "ms")
        } else {
            (t as f64 / SECS as f64, "s")
        };
        let decimals = if value >= 100.0 {
            0
        } else if value >= 10.0 {
            1
        } else {
            2
        };
        write!(f, "{value:.decimals$}{unit}")
    }
}

/// Seconds, to the millisecond, without trailing zeros: `2.5s`, `20s`, `0.001s`.
pub fn seconds_text(t: Nanos) -> String {
    let text = format!("{:.3}", as_secs_f64(t));
    format!("{}s", text.trim_end_matches('0').trim_end_matches('.'))
}

/// The canonical text form accepted by [`parse_duration`] (exact, shortest unit that is whole).
pub fn canonical(t: Nanos) -> String {
    for (scale, unit) in [(3600 * SECS, "h"), (60 * SECS, "m"), (SECS, "s"), (MILLIS, "ms"), (MICROS, "us")] {
        if t >= scale && t.is_multiple_of(scale) {
            return format!("{}{unit}", t / scale);
        }
    }
    format!("{t}ns")
}

#[cfg(test)]
mod tests {
    #[test]
    fn nearest_nanos_is_the_saturating_cast() {
        let two63 = (1u64 << 63) as f64;
        let mut xs = vec![
            f64::NAN,
            f64::INFINITY,
            f64::NEG_INFINITY,
            -1.0,
            -0.6,
            -0.5,
            -0.0,
            0.0,
            0.49,
            0.5,
            1.5,
            2.5,
            1e18,
            two63 - 4096.0,
            two63 - 1024.0,
            two63 - 0.5,
            two63,
            1e19,
            two63 * 2.0,
            f64::MAX,
        ];
        let mut z = 0x9e37_79b9_7f4a_7c15u64;
        for _ in 0..10_000 {
            z = z.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
            xs.push(f64::from_bits(z));
            xs.push((z >> 11) as f64 * 1e-3);
        }
        for x in xs {
            assert_eq!(super::nearest_nanos(x), (x + 0.5) as super::Nanos, "{x:e}");
        }
    }

    use super::*;

    #[test]
    fn overflow_is_refused_not_wrapped() {
        for big in ["18446744073.9s", "5124095.9h", "18446744074s", "99999999999999999999ns"] {
            assert!(parse_duration(big).unwrap_err().contains("too large"), "{big}");
        }
        assert_eq!(parse_nanos("18446744073.9", Some(SECS)), Err(TimeError::TooLarge));
        assert_eq!(parse_nanos("5124095.9h", Some(SECS)), Err(TimeError::TooLarge));
        assert_eq!(parse_nanos("18446744073.5", Some(SECS)), Ok(18_446_744_073_500_000_000));
        assert_eq!(parse_nanos("12", None), Err(TimeError::NoUnit));
    }

    #[test]
    fn parses_units_and_exact_decimals() {
        assert_eq!(parse_duration("10ms"), Ok(10 * MILLIS));
        assert_eq!(parse_duration("1.5s"), Ok(1_500 * MILLIS));
        assert_eq!(parse_duration("250us"), Ok(250 * MICROS));
        assert_eq!(parse_duration("250µs"), Ok(250 * MICROS));
        assert_eq!(parse_duration("0.001ms"), Ok(1_000));
        assert_eq!(parse_duration("2m"), Ok(120 * SECS));
        assert_eq!(parse_duration(".5s"), Ok(500 * MILLIS));
        assert_eq!(parse_duration("7ns"), Ok(7));
        assert_eq!(parse_duration("0s"), Ok(0));
    }

    #[test]
    fn rejects_nonsense() {
        for bad in ["", "10", "ms", "-1s", "1.2.3s", "1x", "1e3ms", "99999999999999999999s"] {
            assert!(parse_duration(bad).is_err(), "{bad} should not parse");
        }
    }

    #[test]
    fn canonical_round_trips() {
        for t in [0, 7, 1_000, 1_500_000, 10 * MILLIS, 3 * SECS, 120 * SECS, 1_234_567_891] {
            assert_eq!(parse_duration(&canonical(t)), Ok(t));
        }
        assert_eq!(canonical(10 * MILLIS), "10ms");
    }

    #[test]
    fn human_display() {
        assert_eq!(Human(812).to_string(), "812ns");
        assert_eq!(Human(12_300).to_string(), "12.3µs");
        assert_eq!(Human(4_560_000).to_string(), "4.56ms");
        assert_eq!(Human(1_200_000_000).to_string(), "1.20s");
    }
}
