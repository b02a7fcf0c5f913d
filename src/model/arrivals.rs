//! Open-loop arrival processes: when does the next request come?

use super::config::Arrivals;
use crate::rng::SimRng;
use crate::time::{Nanos, SECS};

/// Generates open-loop arrival times from the arrivals stream.
#[derive(Clone, Debug)]
pub(crate) struct OpenLoop {
    kind: Kind,
    /// Rates (requests/s): the steady rate, or the burst rate.
    rate: f64,
    /// The mean time between arrivals at `rate` (ns), `SECS / rate`: kept with it, not
    /// divided out at every arrival.
    mean_gap: f64,
    /// Bursty only: the rate between bursts.
    base_rate: f64,
    burst: Nanos,
    gap: Nanos,
    in_burst: bool,
    phase_end: Nanos,
    /// Trace only: the requests, their time scale and the next one to send.
    trace: Option<(std::sync::Arc<crate::trace::Trace>, f64)>,
    next: usize,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Poisson,
    Constant,
    Bursty,
    Trace,
}

impl OpenLoop {
    /// The generator for an open-loop process, `None` for a closed loop.
    pub fn new(arrivals: &Arrivals) -> Option<OpenLoop> {
        let (kind, rate, base_rate, burst, gap) = match *arrivals {
            Arrivals::Poisson { rate } => (Kind::Poisson, rate, 0.0, 0, 0),
            Arrivals::Constant { rate } => (Kind::Constant, rate, 0.0, 0, 0),
            Arrivals::Bursty { rate, base_rate, burst, gap } => (Kind::Bursty, rate, base_rate, burst, gap),
            Arrivals::Trace { .. } => (Kind::Trace, arrivals.mean_rate().unwrap_or(0.0), 0.0, 0, 0),
            Arrivals::Closed { .. } => return None,
        };
        let trace = match arrivals {
            Arrivals::Trace { trace, scale } => Some((std::sync::Arc::clone(trace), *scale)),
            _ => None,
        };
        let mean_gap = SECS as f64 / rate;
        Some(OpenLoop {
            kind,
            rate,
            mean_gap,
            base_rate,
            burst,
            gap,
            in_burst: false,
            phase_end: gap,
            trace,
            next: 0,
        })
    }

    /// Trace only: the demand the trace gives the request most recently returned by
    /// [`next_after`](OpenLoop::next_after), if the trace has demands.
    pub fn trace_demand(&self) -> Option<Nanos> {
        let (trace, _) = self.trace.as_ref()?;
        trace.demands.as_ref()?.get(self.next.checked_sub(1)?).copied()
    }

    /// Trace only: the key the trace gives that request, if the trace has a `key` column.
    pub fn trace_key(&self) -> Option<u64> {
        let (trace, _) = self.trace.as_ref()?;
        trace.keys.as_ref()?.get(self.next.checked_sub(1)?).copied()
    }

    /// Whether the arrivals replay a trace.
    pub fn is_trace(&self) -> bool {
        self.kind == Kind::Trace
    }

    /// The rate in force now (requests/s).
    pub fn current_rate(&self) -> f64 {
        if self.kind == Kind::Bursty && !self.in_burst { self.base_rate } else { self.rate }
    }

    /// Changes the nominal rate; a bursty process keeps its burst-to-base ratio.
    pub fn set_rate(&mut self, rate: f64) {
        if self.kind == Kind::Bursty && self.rate > 0.0 {
            self.base_rate *= rate / self.rate;
        }
        self.rate = rate;
        self.mean_gap = SECS as f64 / rate;
    }

    /// The first arrival after `now`, or `None` if the rate is zero for good.
    ///
    /// For a trace: the next request not sent yet whose (scaled) time is not before `now`;
    /// the ones before it are skipped (a live run paused meanwhile), and `None` once the
    /// trace is over. The model never skips one: it asks from the previous request's time.
    #[inline(always)]
    pub fn next_after(&mut self, now: Nanos, rng: &mut SimRng) -> Option<Nanos> {
        // Poisson, the usual case, here; the others out of line.
        if self.kind == Kind::Poisson && self.rate > 0.0 {
            return Some(now.saturating_add(gap(rng.exp(self.mean_gap))));
        }
        self.next_after_other(now, rng)
    }

    #[inline(never)]
    fn next_after_other(&mut self, now: Nanos, rng: &mut SimRng) -> Option<Nanos> {
        match self.kind {
            Kind::Trace => {
                let (trace, scale) = self.trace.as_ref()?;
                let at = |t: Nanos| if *scale == 1.0 { t } else { gap(t as f64 * scale) };
                while let Some(&t) = trace.times.get(self.next) {
                    self.next += 1;
                    if at(t) >= now {
                        return Some(at(t));
                    }
                }
                None
            }
            // A positive rate is drawn in `next_after`; here it is zero: no arrival.
            Kind::Poisson => None,
            Kind::Constant => {
                (self.rate > 0.0).then(|| now.saturating_add(gap(SECS as f64 / self.rate).max(1)))
            }
            Kind::Bursty => {
                // A Poisson process with a piecewise constant rate: memorylessness lets us
                // restart the draw at each phase boundary.
                let mut t = now;
                while self.phase_end <= t {
                    self.switch_phase();
                }
                loop {
                    let rate = self.current_rate();
                    if rate > 0.0 {
                        let next = t.saturating_add(gap(rng.exp(SECS as f64 / rate)));
                        if next < self.phase_end {
                            return Some(next);
                        }
                    } else if self.rate == 0.0 {
                        return None;
                    }
                    t = self.phase_end;
                    self.switch_phase();
                }
            }
        }
    }

    fn switch_phase(&mut self) {
        self.in_burst = !self.in_burst;
        self.phase_end += if self.in_burst { self.burst } else { self.gap };
    }
}

/// A float duration rounded to whole nanoseconds.
#[inline(always)]
fn gap(x: f64) -> Nanos {
    crate::time::nearest_nanos(x)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Stream;
    use crate::time::MILLIS;

    fn count_until(arrivals: Arrivals, end: Nanos) -> u64 {
        let mut source = OpenLoop::new(&arrivals).unwrap();
        let mut rng = SimRng::stream(1, Stream::Arrivals);
        let (mut t, mut n) = (0, 0);
        while let Some(next) = source.next_after(t, &mut rng) {
            assert!(next >= t);
            if next > end {
                break;
            }
            t = next;
            n += 1;
        }
        n
    }

    #[test]
    fn poisson_and_constant_rates() {
        let n = count_until(Arrivals::Poisson { rate: 1000.0 }, 100 * SECS);
        assert!((n as f64 - 100_000.0).abs() < 1_500.0, "{n}");
        assert_eq!(count_until(Arrivals::Constant { rate: 1000.0 }, 10 * SECS), 10_000);
    }

    #[test]
    fn a_rate_set_to_zero_stops_arrivals_and_a_new_one_restarts_them_at_its_mean_gap() {
        let mut source = OpenLoop::new(&Arrivals::Poisson { rate: 1000.0 }).unwrap();
        let mut rng = SimRng::stream(1, Stream::Arrivals);
        source.set_rate(0.0);
        assert_eq!(source.next_after(0, &mut rng), None);
        source.set_rate(100.0);
        let (mut t, n) = (0, 10_000);
        for _ in 0..n {
            t = source.next_after(t, &mut rng).unwrap();
        }
        let mean_gap = t as f64 / n as f64;
        assert!((mean_gap / (10 * MILLIS) as f64 - 1.0).abs() < 0.05, "{mean_gap}");
    }

    #[test]
    fn bursty_mean_rate_and_phases() {
        let a = Arrivals::Bursty { rate: 2000.0, base_rate: 100.0, burst: 100 * MILLIS, gap: 900 * MILLIS };
        let expected = a.mean_rate().unwrap() * 100.0;
        let n = count_until(a.clone(), 100 * SECS) as f64;
        assert!((n / expected - 1.0).abs() < 0.03, "{n} vs {expected}");
        // The first 900 ms are a gap at 100/s, then a burst at 2000/s.
        let calm = count_until(a.clone(), 900 * MILLIS) as f64;
        let with_burst = count_until(a, SECS) as f64;
        assert!(calm < 150.0, "{calm}");
        assert!(with_burst - calm > 120.0, "{with_burst}");
    }

    #[test]
    fn bursty_with_silent_gaps_still_progresses() {
        let a = Arrivals::Bursty { rate: 1000.0, base_rate: 0.0, burst: 10 * MILLIS, gap: 90 * MILLIS };
        let n = count_until(a, 10 * SECS) as f64;
        assert!((n - 1000.0).abs() < 120.0, "{n}");
    }
}
