//! Closed forms for queues of identical servers, in any consistent time unit (lbsim passes
//! nanoseconds): arrival rates per unit of time, service times in units of time.

/// M/M/1: mean sojourn `1 / (mu - lambda)`, given the mean service time and the arrival rate.
/// `None` at or above load 1.
pub fn mm1_mean(lambda: f64, mean_service: f64) -> Option<f64> {
    let rho = lambda * mean_service;
    (rho < 1.0).then(|| mean_service / (1.0 - rho))
}

/// A quantile of M/M/1's sojourn, which is exponential with rate `mu - lambda`.
pub fn mm1_quantile(lambda: f64, mean_service: f64, q: f64) -> Option<f64> {
    mm1_mean(lambda, mean_service).map(|m| -(1.0 - q).ln() * m)
}

/// M/G/1 FCFS (Pollaczek-Khinchine): `E[S] + lambda E[S^2] / (2 (1 - rho))`.
pub fn mg1_mean(lambda: f64, mean_service: f64, second_moment: f64) -> Option<f64> {
    let rho = lambda * mean_service;
    (rho < 1.0).then(|| mean_service + lambda * second_moment / (2.0 * (1.0 - rho)))
}

/// M/G/1 processor sharing (and preemptive LCFS): `E[S] / (1 - rho)`, whatever the
/// distribution of the sizes (insensitivity).
pub fn mg1_ps_mean(lambda: f64, mean_service: f64) -> Option<f64> {
    mm1_mean(lambda, mean_service)
}

/// Erlang C: the probability that an arrival waits in M/M/c at per-server load `rho`.
pub fn erlang_c(c: u32, rho: f64) -> f64 {
    let a = c as f64 * rho;
    let mut term = 1.0; // a^k / k!
    let mut sum = 0.0;
    for k in 0..c {
        sum += term;
        term *= a / (k + 1) as f64;
        // Keep the numbers finite for many servers: scale both by the same factor.
        if term > 1e250 {
            sum /= 1e250;
            term /= 1e250;
        }
    }
    term / ((1.0 - rho) * sum + term)
}

/// M/M/c: mean sojourn `E[S] + C(c, a) / (c mu - lambda)`. `None` at or above load 1.
pub fn mmc_mean(c: u32, lambda: f64, mean_service: f64) -> Option<f64> {
    let rho = lambda * mean_service / c as f64;
    if rho >= 1.0 || c == 0 {
        return None;
    }
    Some(mean_service + erlang_c(c, rho) * mean_service / (c as f64 * (1.0 - rho)))
}

/// A quantile of M/M/c's sojourn: a request waits with probability C, then an exponential
/// time of rate `c mu - lambda`, and is served for an exponential time of rate `mu`; the
/// quantile of that mixture is found by bisection to a relative 1e-12.
pub fn mmc_quantile(c: u32, lambda: f64, mean_service: f64, q: f64) -> Option<f64> {
    mmc_mean(c, lambda, mean_service)?;
    let rho = lambda * mean_service / c as f64;
    let wait = erlang_c(c, rho);
    // In units of the mean service time: service Exp(1), wait Exp(r).
    let r = c as f64 * (1.0 - rho);
    let survival = |t: f64| {
        let waited = if (r - 1.0).abs() < 1e-9 {
            (1.0 + t) * (-t).exp()
        } else {
            (r * (-t).exp() - (-r * t).exp()) / (r - 1.0)
        };
        (1.0 - wait) * (-t).exp() + wait * waited
    };
    let (mut lo, mut hi) = (0.0, 1.0);
    while survival(hi) > 1.0 - q {
        hi *= 2.0;
    }
    while hi - lo > 1e-12 * hi {
        let mid = (lo + hi) / 2.0;
        if survival(mid) > 1.0 - q { lo = mid } else { hi = mid }
    }
    Some(hi * mean_service)
}

/// The supermarket model's mean sojourn (power of `d` choices, exponential service, workers
/// -> infinity; Vvedenskaya, Dobrushin and Karpelevich; Mitzenmacher):
/// `E[S] sum_{i >= 1} rho^((d^i - d) / (d - 1))`; `d = 1` is M/M/1.
pub fn supermarket_mean(d: u32, rho: f64, mean_service: f64) -> Option<f64> {
    if !(0.0..1.0).contains(&rho) || d == 0 {
        return None;
    }
    if d == 1 {
        return Some(mean_service / (1.0 - rho));
    }
    let d = d as f64;
    let mut sum = 0.0;
    for i in 1..64 {
        let exponent = (d.powi(i) - d) / (d - 1.0);
        let term = rho.powf(exponent);
        sum += term;
        if term < 1e-17 * sum {
            break;
        }
    }
    Some(sum * mean_service)
}

/// The decay rate `sigma` of GI/M/1 with Erlang-`k` interarrival times of total rate
/// `k lambda` per phase (the root in (0, 1) of `sigma = (k lambda / (k lambda + mu (1 -
/// sigma)))^k`), by fixed-point iteration from 0, which increases to the root.
fn erlang_sigma(k: u32, lambda: f64, mu: f64) -> f64 {
    let phase = k as f64 * lambda;
    let mut sigma: f64 = 0.0;
    for _ in 0..100_000 {
        let next = (phase / (phase + mu * (1.0 - sigma))).powi(k as i32);
        if (next - sigma).abs() < 1e-15 {
            return next;
        }
        sigma = next;
    }
    sigma
}

/// E_k/M/1 (a GI/M/1 queue whose arrivals are Erlang-`k` at rate `lambda`, as each of `k`
/// round-robin workers sees a Poisson stream): the sojourn is exponential with rate
/// `mu (1 - sigma)`. Returns (mean, p99).
pub fn ekm1(k: u32, lambda: f64, mean_service: f64) -> Option<(f64, f64)> {
    if lambda * mean_service >= 1.0 || k == 0 {
        return None;
    }
    let sigma = erlang_sigma(k, lambda, 1.0 / mean_service);
    let mean = mean_service / (1.0 - sigma);
    Some((mean, 100f64.ln() * mean))
}

/// A closed network of `clients` clients that think for a mean `think`, then send to one of
/// `servers` identical exponential FCFS servers chosen uniformly (mean service
/// `mean_service`): the mean response time by exact mean value analysis (Reiser and
/// Lavenberg). One server is the machine-repairman model M/M/1//K. The result is insensitive
/// to the think-time distribution.
pub fn closed_mva(clients: u32, servers: u32, think: f64, mean_service: f64) -> f64 {
    let visit = 1.0 / servers as f64;
    let mut queue = 0.0; // mean number at one server
    let mut response = mean_service; // at one server
    for n in 1..=clients {
        response = mean_service * (1.0 + queue);
        let throughput = n as f64 / (think + response);
        queue = throughput * visit * response;
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn near(a: f64, b: f64, tol: f64) -> bool {
        (a - b).abs() <= tol
    }

    #[test]
    fn reference_values_by_hand() {
        // M/M/1 at rho 0.8: mean 5, p99 5 ln 100 = 23.0259.
        assert!(near(mm1_mean(0.8, 1.0).unwrap(), 5.0, 1e-12));
        assert!(near(mm1_quantile(0.8, 1.0, 0.99).unwrap(), 23.0259, 1e-4));
        assert_eq!(mm1_mean(1.0, 1.0), None);
        // M/D/1 at rho 0.5: 1 + 0.5 / (2 x 0.5) = 1.5; M/M/1 through P-K: 1 + 0.8 x 2 / 0.4 = 5.
        assert!(near(mg1_mean(0.5, 1.0, 1.0).unwrap(), 1.5, 1e-12));
        assert!(near(mg1_mean(0.8, 1.0, 2.0).unwrap(), 5.0, 1e-12));
        assert_eq!(mg1_ps_mean(0.5, 2.0), None);
        assert!(near(mg1_ps_mean(0.25, 2.0).unwrap(), 4.0, 1e-12));
        // M/M/16 at rho 0.9: 1.3696 (docs); M/M/1 is M/M/c with c = 1.
        assert!(near(mmc_mean(16, 14.4, 1.0).unwrap(), 1.3696, 5e-4));
        assert!(near(mmc_mean(1, 0.8, 1.0).unwrap(), 5.0, 1e-12));
        // M/M/2 at a = 1 (rho 0.5): C = (1/2) / (0.5 x 2 + 1/2) = 1/3; T = 1 + (1/3) / 1.
        assert!(near(erlang_c(2, 0.5), 1.0 / 3.0, 1e-12));
        assert!(near(mmc_mean(2, 1.0, 1.0).unwrap(), 4.0 / 3.0, 1e-12));
        // The M/M/1 quantile through the mixture.
        assert!(near(mmc_quantile(1, 0.8, 1.0, 0.99).unwrap(), 23.0259, 1e-4));
        // Many servers stay finite.
        assert!(mmc_mean(2000, 1800.0, 1.0).unwrap() > 1.0);
    }

    #[test]
    fn supermarket_values() {
        assert!(near(supermarket_mean(2, 0.5, 1.0).unwrap(), 1.2657, 5e-4));
        assert!(near(supermarket_mean(2, 0.9, 1.0).unwrap(), 2.6141, 5e-4));
        assert!(near(supermarket_mean(2, 0.99, 1.0).unwrap(), 5.4320, 5e-4));
        assert!(near(supermarket_mean(1, 0.8, 2.0).unwrap(), 10.0, 1e-12));
    }

    #[test]
    fn erlang_arrivals() {
        // k = 1 is M/M/1: sigma = rho.
        let (mean, p99) = ekm1(1, 0.8, 1.0).unwrap();
        assert!(near(mean, 5.0, 1e-9) && near(p99, 23.0259, 1e-3));
        // E_2/M/1 at lambda 0.5, mu 1: sigma = (1 / (1 + 1 - sigma))^2, root
        // sigma = (3 - sqrt 5) / 2 = 0.381966; mean 1 / (1 - sigma) = 1.618034.
        let (mean, _) = ekm1(2, 0.5, 1.0).unwrap();
        assert!(near(mean, 1.618034, 1e-6), "{mean}");
    }

    #[test]
    fn machine_repairman() {
        // One client: never waits. Two clients, think 1, service 1: p0 = 1 / (1 + 2 + 2) =
        // 0.2, X = 0.8, R = 2 / 0.8 - 1 = 1.5.
        assert!(near(closed_mva(1, 1, 3.0, 1.0), 1.0, 1e-12));
        assert!(near(closed_mva(2, 1, 1.0, 1.0), 1.5, 1e-12));
    }
}
