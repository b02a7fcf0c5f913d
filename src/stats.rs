//! Statistics over replications: Student t confidence intervals, the paired t-test, and the
//! MSER-5 truncation rule for the initial transient.
//!
//! Everything here is pure arithmetic on `f64` slices, in a fixed order, so that the same
//! inputs give the same bits on every machine and for any number of threads.

/// A mean with its 95% confidence interval.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Interval {
    /// The sample mean.
    pub mean: f64,
    /// Lower end of the 95% confidence interval.
    pub low: f64,
    /// Upper end of the 95% confidence interval.
    pub high: f64,
}

impl Interval {
    /// Half the interval's width.
    pub fn half_width(&self) -> f64 {
        (self.high - self.low) / 2.0
    }
}

/// The arithmetic mean (`NaN` for an empty slice).
pub fn mean(xs: &[f64]) -> f64 {
    xs.iter().sum::<f64>() / xs.len() as f64
}

/// The sample standard deviation (divisor n - 1); 0 for fewer than two values.
pub fn std_dev(xs: &[f64]) -> f64 {
    if xs.len() < 2 {
        return 0.0;
    }
    let m = mean(xs);
    (xs.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / (xs.len() - 1) as f64).sqrt()
}

/// The mean of `xs` and its 95% Student t confidence interval; `None` with fewer than two
/// values (a spread cannot be estimated from one).
pub fn ci95(xs: &[f64]) -> Option<Interval> {
    if xs.len() < 2 {
        return None;
    }
    let m = mean(xs);
    let half = t_quantile(0.975, (xs.len() - 1) as f64) * std_dev(xs) / (xs.len() as f64).sqrt();
    Some(Interval { mean: m, low: m - half, high: m + half })
}

/// The regularized incomplete beta function I_x(a, b) (Numerical Recipes' continued
/// fraction, by Lentz's method).
fn incomplete_beta(x: f64, a: f64, b: f64) -> f64 {
    if x <= 0.0 {
        return 0.0;
    }
    if x >= 1.0 {
        return 1.0;
    }
    let ln_front = libm::lgamma(a + b) - libm::lgamma(a) - libm::lgamma(b) + a * x.ln() + b * (1.0 - x).ln();
    let front = ln_front.exp();
    // The continued fraction converges fast for x < (a + 1) / (a + b + 2); use symmetry
    // otherwise.
    if x > (a + 1.0) / (a + b + 2.0) {
        return 1.0 - incomplete_beta(1.0 - x, b, a);
    }
    const TINY: f64 = 1e-300;
    let mut c = 1.0;
    let mut d = 1.0 - (a + b) * x / (a + 1.0);
    if d.abs() < TINY {
        d = TINY;
    }
    d = 1.0 / d;
    let mut f = d;
    for m in 1..500 {
        let m = m as f64;
        // Even step.
        let num = m * (b - m) * x / ((a + 2.0 * m - 1.0) * (a + 2.0 * m));
        d = 1.0 + num * d;
        d = if d.abs() < TINY { 1.0 / TINY } else { 1.0 / d };
        c = 1.0 + num / c;
        if c.abs() < TINY {
            c = TINY;
        }
        f *= d * c;
        // Odd step.
        let num = -(a + m) * (a + b + m) * x / ((a + 2.0 * m) * (a + 2.0 * m + 1.0));
        d = 1.0 + num * d;
        d = if d.abs() < TINY { 1.0 / TINY } else { 1.0 / d };
        c = 1.0 + num / c;
        if c.abs() < TINY {
            c = TINY;
        }
        let delta = d * c;
        f *= delta;
        if (delta - 1.0).abs() < 1e-15 {
            break;
        }
    }
    front * f / a
}

/// P(T <= t) for Student's t with `df` degrees of freedom.
pub fn t_cdf(t: f64, df: f64) -> f64 {
    let tail = 0.5 * incomplete_beta(df / (df + t * t), df / 2.0, 0.5);
    if t >= 0.0 { 1.0 - tail } else { tail }
}

/// The `p` quantile of Student's t with `df` degrees of freedom (`p` in (0.5, 1)), by
/// bisection on [`t_cdf`]: t_quantile(0.975, 4) = 2.776.
pub fn t_quantile(p: f64, df: f64) -> f64 {
    let (mut lo, mut hi) = (0.0_f64, 1.0_f64);
    while t_cdf(hi, df) < p {
        hi *= 2.0;
    }
    for _ in 0..200 {
        let mid = (lo + hi) / 2.0;
        if t_cdf(mid, df) < p {
            lo = mid;
        } else {
            hi = mid;
        }
        if hi - lo < 1e-13 * hi {
            break;
        }
    }
    (lo + hi) / 2.0
}

/// The outcome of a paired t-test on per-replication differences.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Paired {
    /// Mean difference.
    pub mean: f64,
    /// Its 95% confidence interval (`None` with fewer than two pairs).
    pub ci: Option<Interval>,
    /// Whether the difference is significant at the 95% level (two-sided): the interval
    /// excludes 0.
    pub significant: bool,
    /// About how many replications would likely make a difference of this size significant,
    /// judging from the spread seen (`None` when nothing differed at all, or it already is).
    pub replications_needed: Option<u64>,
}

/// A paired t-test of `a[r] - b[r]` against 0 (two-sided, 95%). Identical pairs are never
/// significant; differences that are all equal and non-zero are.
pub fn paired(a: &[f64], b: &[f64]) -> Paired {
    let d: Vec<f64> = a.iter().zip(b).map(|(x, y)| x - y).collect();
    let m = mean(&d);
    let ci = ci95(&d);
    let significant = match ci {
        Some(ci) => m != 0.0 && (ci.low > 0.0 || ci.high < 0.0),
        None => false,
    };
    let replications_needed = if significant || d.is_empty() || m == 0.0 {
        None
    } else {
        let sd = std_dev(&d);
        // The smallest n with t(0.975, n - 1) * sd / sqrt(n) < |m|, from the spread seen.
        let mut n = d.len().max(2) as u64;
        while n < 1_000_000 && t_quantile(0.975, (n - 1) as f64) * sd / (n as f64).sqrt() >= m.abs() {
            n = (n as f64 * 1.1).ceil() as u64;
        }
        Some(n)
    };
    Paired { mean: m, ci, significant, replications_needed }
}

/// MSER-5 (White 1997): the number of leading observations to discard from `series` as the
/// initial transient. The series is cut into batches of 5 (a partial last batch is
/// dropped); the truncation point d (in batches, searched over the first half) minimises the
/// variance of the remaining batch means divided by their count, sum (b_j - mean)^2 /
/// (k - d)^2. Returns 5 d.
pub fn mser5(series: &[f64]) -> usize {
    let batches: Vec<f64> = series.chunks_exact(5).map(|c| c.iter().sum::<f64>() / 5.0).collect();
    5 * mser_batches(&batches)
}

/// MSER on batch means already formed: the number of batches to discard.
pub fn mser_batches(batches: &[f64]) -> usize {
    let k = batches.len();
    if k < 4 {
        return 0;
    }
    // Suffix sums of b and b^2, accumulated from the end, in f64.
    let mut sum = 0.0;
    let mut sum_sq = 0.0;
    let mut best = (f64::INFINITY, 0);
    let mut stats = vec![0.0; k];
    for d in (0..k).rev() {
        sum += batches[d];
        sum_sq += batches[d] * batches[d];
        let n = (k - d) as f64;
        // sum (b - mean)^2 = sum_sq - sum^2 / n, never negative.
        stats[d] = (sum_sq - sum * sum / n).max(0.0) / (n * n);
    }
    for (d, &s) in stats.iter().enumerate().take(k / 2 + 1) {
        if s < best.0 {
            best = (s, d);
        }
    }
    best.1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn t_quantiles_match_the_tables() {
        for (df, t) in
            [(1.0, 12.7062), (2.0, 4.3027), (4.0, 2.7764), (9.0, 2.2622), (29.0, 2.0452), (1000.0, 1.9623)]
        {
            let q = t_quantile(0.975, df);
            assert!((q - t).abs() < 1e-3, "df {df}: {q} vs {t}");
        }
        assert!((t_cdf(0.0, 5.0) - 0.5).abs() < 1e-12);
        assert!((t_cdf(-2.5706, 5.0) - 0.025).abs() < 1e-4);
    }

    #[test]
    fn ci_of_known_data() {
        let ci = ci95(&[1.0, 2.0, 3.0, 4.0, 5.0]).unwrap();
        // mean 3, sd 1.5811, t(0.975, 4) 2.7764: half-width 1.9632.
        assert_eq!(ci.mean, 3.0);
        assert!((ci.half_width() - 1.9632).abs() < 1e-3, "{ci:?}");
        assert!(ci95(&[1.0]).is_none());
        let flat = ci95(&[2.0, 2.0, 2.0]).unwrap();
        assert_eq!((flat.low, flat.high), (2.0, 2.0));
    }

    #[test]
    fn paired_test_separates_shifts_from_noise() {
        let a = [10.0, 12.0, 9.0, 11.0, 13.0];
        let shifted: Vec<f64> = a.iter().map(|x| x + 1.0 + 0.01 * x).collect();
        assert!(paired(&shifted, &a).significant);
        let same = paired(&a, &a);
        assert!(!same.significant && same.replications_needed.is_none());
        // Noise around no difference: not significant, and a count is suggested.
        let b = [10.5, 11.0, 9.8, 11.6, 12.2];
        let p = paired(&b, &a);
        assert!(!p.significant, "{p:?}");
        assert!(p.replications_needed.unwrap() > 5, "{p:?}");
    }

    #[test]
    fn mser_cuts_a_transient_and_nothing_from_a_flat_series() {
        // 200 observations ramping up from 0 to 10, then 2000 around 10.
        let mut series: Vec<f64> = (0..200).map(|i| i as f64 / 20.0).collect();
        series.extend((0..2000).map(|i| 10.0 + if i % 2 == 0 { 0.5 } else { -0.5 }));
        let cut = mser5(&series);
        assert!((150..=260).contains(&cut), "cut {cut}");
        let flat: Vec<f64> = (0..1000).map(|i| if i % 3 == 0 { 1.0 } else { 2.0 }).collect();
        assert!(mser5(&flat) < 50, "{}", mser5(&flat));
        assert_eq!(mser5(&[1.0; 10]), 0);
    }
}
