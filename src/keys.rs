//! Keyed requests: each request carries a key (a user, a cart, a cache line) drawn from its
//! own random stream, so that hashing strategies can send a key to the same worker every
//! time, and workers can keep a cache of the keys they served.
//!
//! Keys are numbered `0..count`. Popularity is uniform, or Zipf with exponent `s` (key `k`
//! drawn with probability proportional to `1 / (k + 1)^s`: a few hot keys and a long tail),
//! sampled by binary search in a table of the cumulative distribution, built once per run.

use std::collections::HashMap;

use crate::rng::SimRng;

/// The most distinct keys a run may have with Zipf popularity (its table takes 8 bytes a
/// key); uniform keys may number up to 2^40.
pub const MAX_ZIPF_KEYS: u64 = 1_000_000;
/// The most distinct keys.
pub const MAX_KEYS: u64 = 1 << 40;
/// The largest cache a worker may have (keys).
pub const MAX_CACHE: u32 = 10_000_000;

/// How often each key is asked for.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Popularity {
    /// Every key equally often.
    Uniform,
    /// Key `k` with probability proportional to `1 / (k + 1)^s`, `s` > 0.
    Zipf(f64),
}

impl Popularity {
    /// Parses `uniform` or `zipf:S`.
    pub fn parse(s: &str) -> Result<Popularity, String> {
        if s == "uniform" {
            return Ok(Popularity::Uniform);
        }
        let bad = || format!("unknown popularity `{s}` (valid: uniform, zipf:S with S > 0, e.g. zipf:1.1)");
        let exponent = s.strip_prefix("zipf:").ok_or_else(bad)?;
        match exponent.parse::<f64>() {
            Ok(x) if x.is_finite() && x > 0.0 && x <= 10.0 => Ok(Popularity::Zipf(x)),
            Ok(x) => Err(format!("the Zipf exponent must be above 0 and at most 10, got {x}")),
            Err(_) => Err(bad()),
        }
    }
}

impl std::fmt::Display for Popularity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Popularity::Uniform => write!(f, "uniform"),
            Popularity::Zipf(s) => write!(f, "zipf:{s}"),
        }
    }
}

/// A per-worker cache of keys: a hit is served `hit_speedup` times faster.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Cache {
    /// Keys each worker keeps (least recently served evicted first).
    pub size: u32,
    /// How many times faster a request for a cached key is served (at least 1).
    pub hit_speedup: f64,
}

/// Keyed requests.
#[derive(Clone, Debug, PartialEq)]
pub struct Keys {
    /// Distinct keys, numbered `0..count`.
    pub count: u64,
    /// How often each is asked for.
    pub popularity: Popularity,
    /// A cache per worker, if any.
    pub cache: Option<Cache>,
}

impl Keys {
    /// Checks the settings: `(field, problem)` on error.
    pub fn validate(&self) -> Result<(), (&'static str, String)> {
        if self.count == 0 || self.count > MAX_KEYS {
            return Err(("keys.count", format!("must be from 1 to 2^40, got {}", self.count)));
        }
        if let Popularity::Zipf(_) = self.popularity
            && self.count > MAX_ZIPF_KEYS
        {
            return Err((
                "keys.count",
                format!("at most {MAX_ZIPF_KEYS} keys with Zipf popularity, got {}", self.count),
            ));
        }
        if let Some(c) = self.cache {
            if c.size == 0 || c.size > MAX_CACHE {
                return Err(("keys.cache.size", format!("must be from 1 to {MAX_CACHE}, got {}", c.size)));
            }
            if !(c.hit_speedup.is_finite() && (1.0..=1e6).contains(&c.hit_speedup)) {
                return Err((
                    "keys.cache.hit_speedup",
                    format!("must be between 1 and 1e6, got {}", c.hit_speedup),
                ));
            }
        }
        Ok(())
    }
}

/// Draws keys by their popularity.
#[derive(Clone, Debug)]
pub struct KeySampler {
    count: u64,
    /// Zipf: the cumulative distribution, `cdf[k]` = P(key <= k); empty for uniform.
    cdf: Vec<f64>,
}

impl KeySampler {
    /// A sampler for `keys` (which must be valid).
    pub fn new(keys: &Keys) -> KeySampler {
        let cdf = match keys.popularity {
            Popularity::Uniform => Vec::new(),
            Popularity::Zipf(s) => {
                let mut acc = 0.0;
                let mut cdf: Vec<f64> = (0..keys.count)
                    .map(|k| {
                        acc += libm::pow(k as f64 + 1.0, -s);
                        acc
                    })
                    .collect();
                let total = acc;
                cdf.iter_mut().for_each(|c| *c /= total);
                if let Some(last) = cdf.last_mut() {
                    *last = 1.0;
                }
                cdf
            }
        };
        KeySampler { count: keys.count, cdf }
    }

    /// The next key, one draw from `rng`.
    pub fn sample(&self, rng: &mut SimRng) -> u64 {
        if self.cdf.is_empty() {
            return rng.below(self.count);
        }
        let u = rng.unit();
        self.cdf.partition_point(|&c| c <= u).min(self.cdf.len() - 1) as u64
    }

    /// The probability of key `k` (for tests and reports).
    pub fn probability(&self, k: u64) -> f64 {
        if self.cdf.is_empty() {
            return 1.0 / self.count as f64;
        }
        let k = k as usize;
        self.cdf[k] - if k == 0 { 0.0 } else { self.cdf[k - 1] }
    }
}

/// A least-recently-used set of keys of fixed capacity, O(1) per access. Only looked up,
/// never iterated, so the hash map's order cannot leak into a run.
#[derive(Clone, Debug)]
pub struct Lru {
    capacity: usize,
    /// Key -> its node.
    index: HashMap<u64, u32>,
    /// Nodes: key, previous (more recent), next (less recent).
    nodes: Vec<(u64, u32, u32)>,
    head: u32,
    tail: u32,
}

const NIL: u32 = u32::MAX;

impl Lru {
    /// An empty cache of `capacity` keys (at least 1).
    pub fn new(capacity: u32) -> Lru {
        Lru {
            capacity: capacity.max(1) as usize,
            index: HashMap::new(),
            nodes: Vec::new(),
            head: NIL,
            tail: NIL,
        }
    }

    /// Serves `key`: returns whether it was cached, and makes it the most recent (evicting
    /// the least recent when full).
    pub fn access(&mut self, key: u64) -> bool {
        if let Some(&i) = self.index.get(&key) {
            self.unlink(i);
            self.push_front(i);
            return true;
        }
        let i = if self.nodes.len() < self.capacity {
            self.nodes.push((key, NIL, NIL));
            (self.nodes.len() - 1) as u32
        } else {
            let i = self.tail;
            self.unlink(i);
            self.index.remove(&self.nodes[i as usize].0);
            self.nodes[i as usize].0 = key;
            i
        };
        self.index.insert(key, i);
        self.push_front(i);
        false
    }

    /// Forgets everything (a crash loses the cache).
    pub fn clear(&mut self) {
        self.index.clear();
        self.nodes.clear();
        self.head = NIL;
        self.tail = NIL;
    }

    /// Keys held.
    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    /// Whether nothing is held.
    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    fn unlink(&mut self, i: u32) {
        let (_, prev, next) = self.nodes[i as usize];
        if prev == NIL {
            self.head = next;
        } else {
            self.nodes[prev as usize].2 = next;
        }
        if next == NIL {
            self.tail = prev;
        } else {
            self.nodes[next as usize].1 = prev;
        }
    }

    fn push_front(&mut self, i: u32) {
        self.nodes[i as usize].1 = NIL;
        self.nodes[i as usize].2 = self.head;
        if self.head != NIL {
            self.nodes[self.head as usize].1 = i;
        }
        self.head = i;
        if self.tail == NIL {
            self.tail = i;
        }
    }
}

/// A key's position on a hash ring (or in a lookup table): a fixed 64-bit mix, the same on
/// every machine.
pub fn hash_key(key: u64) -> u64 {
    mix(key ^ 0x6b65_7973_5f72_696e)
}

/// SplitMix64's finaliser (the one the random streams are seeded with).
pub fn mix(z: u64) -> u64 {
    crate::rng::splitmix64(z)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Stream;

    #[test]
    fn zipf_frequencies_follow_the_law() {
        let keys = Keys { count: 100, popularity: Popularity::Zipf(1.0), cache: None };
        let sampler = KeySampler::new(&keys);
        let h100: f64 = (1..=100).map(|k| 1.0 / k as f64).sum();
        assert!((sampler.probability(0) - 1.0 / h100).abs() < 1e-12);
        let mut rng = SimRng::stream(5, Stream::Keys);
        let n = 200_000;
        let mut counts = vec![0u32; 100];
        for _ in 0..n {
            counts[sampler.sample(&mut rng) as usize] += 1;
        }
        for k in [0usize, 1, 9, 99] {
            let p = sampler.probability(k as u64);
            let sd = (n as f64 * p * (1.0 - p)).sqrt();
            let expected = n as f64 * p;
            assert!((counts[k] as f64 - expected).abs() < 4.5 * sd, "key {k}: {} vs {expected}", counts[k]);
        }
    }

    #[test]
    fn uniform_keys_cover_the_range() {
        let sampler = KeySampler::new(&Keys { count: 7, popularity: Popularity::Uniform, cache: None });
        let mut rng = SimRng::stream(5, Stream::Keys);
        let mut seen = [false; 7];
        for _ in 0..1_000 {
            seen[sampler.sample(&mut rng) as usize] = true;
        }
        assert!(seen.iter().all(|&s| s));
    }

    #[test]
    fn the_lru_evicts_the_least_recent() {
        let mut lru = Lru::new(3);
        assert!(!lru.access(1) && !lru.access(2) && !lru.access(3));
        assert!(lru.access(1)); // 1 is now the most recent: 2 is the least
        assert!(!lru.access(4)); // evicts 2
        assert!(!lru.access(2)); // evicts 3
        assert!(lru.access(1) && lru.access(4) && !lru.access(3));
        assert_eq!(lru.len(), 3);
        lru.clear();
        assert!(lru.is_empty() && !lru.access(1));
    }

    #[test]
    fn the_lru_agrees_with_a_naive_one() {
        let mut lru = Lru::new(5);
        let mut naive: Vec<u64> = Vec::new();
        let mut rng = SimRng::stream(1, Stream::Keys);
        for _ in 0..20_000 {
            let k = rng.below(12);
            let hit = naive.contains(&k);
            naive.retain(|&x| x != k);
            naive.insert(0, k);
            naive.truncate(5);
            assert_eq!(lru.access(k), hit);
        }
    }

    #[test]
    fn popularity_parses() {
        assert_eq!(Popularity::parse("uniform"), Ok(Popularity::Uniform));
        assert_eq!(Popularity::parse("zipf:1.1"), Ok(Popularity::Zipf(1.1)));
        assert!(Popularity::parse("zipf:0").unwrap_err().contains("above 0"));
        assert!(Popularity::parse("pareto").unwrap_err().starts_with("unknown popularity `pareto`"));
    }
}
