//! Random durations: service demands and think times.
//!
//! The text syntax, used both on the command line and in scenario files:
//!
//! | form | meaning |
//! | --- | --- |
//! | `const:10ms` | always 10 ms |
//! | `uniform:5ms..15ms` | uniform between the two bounds |
//! | `exp:10ms` | exponential with mean 10 ms |
//! | `lognormal:10ms,sigma=1` | lognormal with mean 10 ms; `sigma` (default 1) is the shape |
//! | `pareto:10ms,alpha=2.5` | Pareto with mean 10 ms; `alpha` (default 2.5) must exceed 1 |
//! | `mix:1ms,50ms,p=0.05` | two-point mixture: 50 ms with probability `p`, else 1 ms |
//! | `empirical:FILE` | the durations in a file, interpolated between order statistics (service times only: [`Dist::parse_service`]) |

use std::fmt;

use crate::rng::SimRng;
use crate::time::{Nanos, canonical, parse_duration};

/// The largest value a sample may take, 2^50 ns (about 13 virtual days): heavy tails are cut
/// there so that virtual time cannot overflow.
pub const MAX_SAMPLE: Nanos = 1 << 50;

/// A distribution of durations, given by its mean (or bounds) in virtual time.
#[derive(Clone, Debug, PartialEq)]
pub enum Dist {
    /// Always the same value.
    Const(Nanos),
    /// Uniform on `[low, high]`.
    Uniform {
        /// Smallest value (ns).
        low: Nanos,
        /// Largest value (ns).
        high: Nanos,
    },
    /// Exponential with the given mean.
    Exp {
        /// Mean (ns).
        mean: Nanos,
    },
    /// Lognormal with the given mean and shape `sigma` (the standard deviation of the log).
    LogNormal {
        /// Mean (ns).
        mean: Nanos,
        /// Standard deviation of the logarithm.
        sigma: f64,
    },
    /// Pareto (type I) with the given mean and tail index `alpha > 1`.
    Pareto {
        /// Mean (ns).
        mean: Nanos,
        /// Tail index, above 1.
        alpha: f64,
    },
    /// `slow` with probability `p_slow`, otherwise `fast`.
    Mix {
        /// The common value (ns).
        fast: Nanos,
        /// The rare value (ns).
        slow: Nanos,
        /// Probability of the rare value.
        p_slow: f64,
    },
    /// Observed durations read from a file ([`crate::trace::Samples`]): a draw picks a point
    /// uniformly on the quantile function, linear between the order statistics.
    Empirical(std::sync::Arc<crate::trace::Samples>),
}

impl Dist {
    /// The mean in nanoseconds (before the [`MAX_SAMPLE`] cut, which only matters for
    /// extreme Pareto tails).
    pub fn mean(&self) -> f64 {
        match *self {
            Dist::Const(v) => v as f64,
            Dist::Uniform { low, high } => (low as f64 + high as f64) / 2.0,
            Dist::Exp { mean } | Dist::LogNormal { mean, .. } | Dist::Pareto { mean, .. } => mean as f64,
            Dist::Mix { fast, slow, p_slow } => fast as f64 * (1.0 - p_slow) + slow as f64 * p_slow,
            Dist::Empirical(ref samples) => samples.mean(),
        }
    }

    /// The largest value a sample can take (ns).
    pub fn largest(&self) -> Nanos {
        match *self {
            Dist::Const(v) => v,
            Dist::Uniform { high, .. } => high,
            Dist::Mix { fast, slow, .. } => fast.max(slow),
            Dist::Empirical(ref samples) => samples.largest(),
            Dist::Exp { mean } | Dist::LogNormal { mean, .. } | Dist::Pareto { mean, .. } => {
                mean.max(MAX_SAMPLE)
            }
        }
    }

    /// Draws one value.
    #[inline(always)]
    pub fn sample(&self, rng: &mut SimRng) -> Nanos {
        // The exponential, the usual case, here; the others out of line.
        if let Dist::Exp { mean } = *self {
            return crate::time::nearest_nanos(rng.exp(mean as f64)).min(MAX_SAMPLE);
        }
        self.sample_other(rng)
    }

    #[inline(never)]
    fn sample_other(&self, rng: &mut SimRng) -> Nanos {
        let x = match *self {
            Dist::Const(v) => return v,
            Dist::Uniform { low, high } => return low + rng.below(high - low + 1),
            Dist::Exp { mean } => rng.exp(mean as f64),
            Dist::LogNormal { mean, sigma } => {
                let mu = libm::log(mean as f64) - sigma * sigma / 2.0;
                libm::exp(mu + sigma * rng.normal())
            }
            Dist::Pareto { mean, alpha } => {
                let scale = mean as f64 * (alpha - 1.0) / alpha;
                scale / libm::pow(1.0 - rng.unit(), 1.0 / alpha)
            }
            Dist::Mix { fast, slow, p_slow } => {
                return if rng.unit() < p_slow { slow } else { fast };
            }
            Dist::Empirical(ref samples) => return samples.quantile(rng.unit()),
        };
        // Rounded to the nearest nanosecond (saturating, as `as` does).
        crate::time::nearest_nanos(x).min(MAX_SAMPLE)
    }

    /// Parses the text syntax described in the module documentation.
    pub fn parse(text: &str) -> Result<Dist, String> {
        let s = text.trim();
        let (kind, args) = s.split_once(':').ok_or_else(|| {
            format!(
                "distribution `{text}` needs a kind, e.g. exp:10ms, const:10ms, uniform:5ms..15ms, \
                 lognormal:10ms,sigma=1, pareto:10ms,alpha=2.5 or mix:1ms,50ms,p=0.05"
            )
        })?;
        let a = Args::new(text, args);
        let dist = match kind.trim() {
            "const" | "constant" => {
                a.allow(&[], 0)?;
                Dist::Const(a.duration(a.first)?)
            }
            "uniform" => {
                a.allow(&[], 0)?;
                let (lo, hi) = a
                    .first
                    .split_once("..")
                    .ok_or_else(|| a.ctx("uniform needs LOW..HIGH, e.g. uniform:5ms..15ms".into()))?;
                let (low, high) = (a.duration(lo)?, a.duration(hi)?);
                if low > high {
                    return Err(a.ctx("the low bound exceeds the high bound".into()));
                }
                Dist::Uniform { low, high }
            }
            "exp" | "exponential" => {
                a.allow(&[], 0)?;
                Dist::Exp { mean: a.positive(a.first)? }
            }
            "lognormal" => {
                a.allow(&["sigma"], 0)?;
                let sigma = a.number("sigma", Some(1.0))?;
                if !(sigma > 0.0 && sigma <= 5.0) {
                    return Err(a.ctx("`sigma` must be in (0, 5]".into()));
                }
                Dist::LogNormal { mean: a.positive(a.first)?, sigma }
            }
            "pareto" => {
                a.allow(&["alpha"], 0)?;
                let alpha = a.number("alpha", Some(2.5))?;
                if !(alpha > 1.0 && alpha <= 100.0) {
                    return Err(a.ctx("`alpha` must be in (1, 100] for the mean to exist".into()));
                }
                Dist::Pareto { mean: a.positive(a.first)?, alpha }
            }
            "mix" | "mixture" => {
                a.allow(&["p"], 1)?;
                let p_slow = a.number("p", None)?;
                if !(0.0..=1.0).contains(&p_slow) {
                    return Err(a.ctx("`p` must be a probability in [0, 1]".into()));
                }
                Dist::Mix { fast: a.duration(a.first)?, slow: a.duration(a.positional[0])?, p_slow }
            }
            "empirical" => {
                return Err(format!(
                    "in `{text}`: empirical distributions are read from a file and are for service \
                     times only (--service, or a scenario's `service`)"
                ));
            }
            other => {
                return Err(format!(
                    "unknown distribution `{other}` in `{text}` (expected const, uniform, exp, \
                     lognormal, pareto, mix, or empirical:FILE for service times)"
                ));
            }
        };
        Ok(dist)
    }
}

/// The values after a distribution's kind: the first, further positional ones and `key=value`
/// pairs, with the checks every kind shares.
struct Args<'a> {
    text: &'a str,
    first: &'a str,
    positional: Vec<&'a str>,
    named: Vec<(&'a str, &'a str)>,
}

impl<'a> Args<'a> {
    fn new(text: &'a str, args: &'a str) -> Args<'a> {
        let mut parts = args.split(',').map(str::trim);
        let first = parts.next().unwrap_or("");
        let (mut positional, mut named) = (Vec::new(), Vec::new());
        for p in parts {
            match p.split_once('=') {
                Some((k, v)) => named.push((k.trim(), v.trim())),
                None => positional.push(p),
            }
        }
        Args { text, first, positional, named }
    }

    fn ctx(&self, e: String) -> String {
        format!("in `{}`: {e}", self.text)
    }

    /// The number given as `key=`, or `default` (required when `None`).
    fn number(&self, key: &str, default: Option<f64>) -> Result<f64, String> {
        match self.named.iter().find(|(k, _)| *k == key) {
            Some((_, v)) => v
                .parse::<f64>()
                .ok()
                .filter(|x| x.is_finite())
                .ok_or_else(|| self.ctx(format!("`{key}` must be a number, got `{v}`"))),
            None => default.ok_or_else(|| self.ctx(format!("`{key}=` is required"))),
        }
    }

    /// Only `keys` may be named, and exactly `extra` positional values follow the first.
    fn allow(&self, keys: &[&str], extra: usize) -> Result<(), String> {
        if let Some((k, _)) = self.named.iter().find(|(k, _)| !keys.contains(k)) {
            return Err(self.ctx(format!("unknown parameter `{k}`")));
        }
        if self.positional.len() != extra {
            return Err(self.ctx("wrong number of values".to_string()));
        }
        Ok(())
    }

    fn duration(&self, t: &str) -> Result<Nanos, String> {
        parse_duration(t).map_err(|e| self.ctx(e))
    }

    /// A duration that is a mean, so positive.
    fn positive(&self, t: &str) -> Result<Nanos, String> {
        match self.duration(t)? {
            0 => Err(self.ctx("the mean must be positive".to_string())),
            v => Ok(v),
        }
    }
}

impl Dist {
    /// Parses a service-time distribution: the syntax of [`Dist::parse`], or `empirical:FILE`,
    /// which reads FILE (relative to `base`, the scenario's folder, when it is relative and
    /// `base` is given). Errors about the file name its line and column.
    pub fn parse_service(text: &str, base: Option<&std::path::Path>) -> Result<Dist, String> {
        let Some(file) = text.trim().strip_prefix("empirical:") else { return Dist::parse(text) };
        let file = file.trim();
        if file.is_empty() {
            return Err(format!("`{text}` names no file (empirical:FILE, e.g. empirical:latencies.csv)"));
        }
        let (path, shown) = crate::trace::resolve(file, base);
        let samples = crate::trace::Samples::read(&path, &shown).map_err(|e| e.to_string())?;
        Ok(Dist::Empirical(std::sync::Arc::new(crate::trace::Samples {
            source: file.to_string(),
            path: Some(path),
            ..samples
        })))
    }
}

impl fmt::Display for Dist {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Dist::Const(v) => write!(f, "const:{}", canonical(v)),
            Dist::Uniform { low, high } => {
                write!(f, "uniform:{}..{}", canonical(low), canonical(high))
            }
            Dist::Exp { mean } => write!(f, "exp:{}", canonical(mean)),
            Dist::LogNormal { mean, sigma } => {
                write!(f, "lognormal:{},sigma={sigma}", canonical(mean))
            }
            Dist::Pareto { mean, alpha } => write!(f, "pareto:{},alpha={alpha}", canonical(mean)),
            Dist::Mix { fast, slow, p_slow } => {
                write!(f, "mix:{},{},p={p_slow}", canonical(fast), canonical(slow))
            }
            Dist::Empirical(ref samples) => write!(f, "empirical:{}", samples.source),
        }
    }
}

impl std::str::FromStr for Dist {
    type Err = String;
    fn from_str(s: &str) -> Result<Dist, String> {
        Dist::parse(s)
    }
}

impl<'de> serde::Deserialize<'de> for Dist {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Dist, D::Error> {
        let s = String::deserialize(d)?;
        Dist::parse(&s).map_err(serde::de::Error::custom)
    }
}

impl serde::Serialize for Dist {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Stream;
    use crate::time::MILLIS;

    fn sample_mean(d: &Dist, n: usize) -> f64 {
        let mut rng = SimRng::stream(11, Stream::Service);
        (0..n).map(|_| d.sample(&mut rng) as f64).sum::<f64>() / n as f64
    }

    #[test]
    fn parses_every_form_and_round_trips() {
        for text in [
            "const:10ms",
            "uniform:5ms..15ms",
            "exp:10ms",
            "lognormal:10ms,sigma=1",
            "pareto:10ms,alpha=2.5",
            "mix:1ms,50ms,p=0.05",
        ] {
            let d = Dist::parse(text).unwrap();
            assert_eq!(d.to_string(), text);
            assert_eq!(Dist::parse(&d.to_string()).unwrap(), d);
        }
        assert_eq!(Dist::parse("lognormal:2ms").unwrap(), Dist::LogNormal { mean: 2 * MILLIS, sigma: 1.0 });
    }

    #[test]
    fn sample_means_match_the_stated_mean() {
        for (text, tol) in [
            ("const:10ms", 0.0001),
            ("uniform:5ms..15ms", 0.01),
            ("exp:10ms", 0.01),
            ("lognormal:10ms,sigma=0.5", 0.01),
            ("pareto:10ms,alpha=3", 0.03),
            ("mix:1ms,50ms,p=0.1", 0.02),
        ] {
            let d = Dist::parse(text).unwrap();
            let m = sample_mean(&d, 300_000);
            assert!((m / d.mean() - 1.0).abs() < tol, "{text}: sample mean {m}, expected {}", d.mean());
        }
    }

    #[test]
    fn rejects_bad_text_with_a_reason() {
        for (text, words) in [
            ("10ms", "needs a kind"),
            ("gauss:1ms", "unknown distribution"),
            ("exp:0ms", "must be positive"),
            ("exp:ten", "not a duration"),
            ("uniform:5ms", "LOW..HIGH"),
            ("uniform:15ms..5ms", "exceeds"),
            ("pareto:10ms,alpha=1", "alpha"),
            ("lognormal:10ms,mu=1", "unknown parameter `mu`"),
            ("mix:1ms,2ms,p=1.5", "probability"),
            ("mix:1ms,p=0.1", "wrong number"),
        ] {
            let err = Dist::parse(text).unwrap_err();
            assert!(err.contains(words), "{text}: {err}");
        }
    }
}
