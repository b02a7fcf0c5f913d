//! Envoy v3 clusters (envoyproxy.io: cluster.proto, the load balancing overview, least
//! request, slow start, panic threshold, outlier detection, health checking, circuit
//! breaking), from a bootstrap's `static_resources.clusters` or a single cluster, YAML or
//! JSON; and the route that sends to the cluster, when the file has one (its `timeout` and
//! `retry_policy`).
//!
//! Every key of the cluster that is not mapped is named in a note: the walk at the end
//! reports each subtree that nothing consumed.

use super::yaml::{Node, parse};
use super::{Draft, Format, ImportError, Src, Worker, duration, number, quote};
use crate::time::{MILLIS, Nanos, SECS, parse_duration};

/// An import in progress: the draft, and the cluster's paths that were mapped.
struct Cx<'a> {
    origin: &'a str,
    draft: Draft,
    used: Vec<String>,
}

impl Cx<'_> {
    fn err(&self, node: &Node, key: &str, problem: impl Into<String>) -> ImportError {
        ImportError {
            origin: self.origin.into(),
            line: node.line(),
            key: key.into(),
            problem: problem.into(),
        }
    }

    /// The node at `path` of the cluster, marked as mapped.
    fn take<'n>(&mut self, c: &'n Node, path: &str) -> Option<&'n Node> {
        let n = c.path(path)?;
        self.used.push(path.to_string());
        Some(n)
    }

    fn src(n: &Node, key: &str) -> Src {
        Src::new(n.line(), key, n.shown())
    }

    /// A whole number, also from a wrapper (`{value: 3}`).
    fn uint(&self, n: &Node, key: &str) -> Result<u64, ImportError> {
        let text = n.get("value").unwrap_or(n).text().unwrap_or("");
        text.parse().map_err(|_| self.err(n, key, format!("`{}`: expected a whole number", n.shown())))
    }

    /// A number, also from a wrapper (`{value: 50}`) or a runtime double (`{default_value: 1.5}`).
    fn float(&self, n: &Node, key: &str) -> Result<f64, ImportError> {
        let inner = n.get("value").or_else(|| n.get("default_value")).unwrap_or(n);
        match inner.text().and_then(|t| t.parse::<f64>().ok()) {
            Some(x) if x.is_finite() && x >= 0.0 => Ok(x),
            _ => Err(self.err(n, key, format!("`{}`: expected a number", n.shown()))),
        }
    }

    /// A protobuf duration (`"1.5s"`).
    fn time(&self, n: &Node, key: &str) -> Result<Nanos, ImportError> {
        n.text()
            .filter(|t| t.ends_with('s'))
            .and_then(|t| parse_duration(t).ok())
            .ok_or_else(|| self.err(n, key, format!("`{}`: expected a duration such as \"1.5s\"", n.shown())))
    }
}

/// Imports the cluster named `select`, or the file's only cluster.
pub fn import(text: &str, origin: &str, select: Option<&str>) -> Result<Draft, ImportError> {
    let root = parse(text).map_err(|(line, problem)| ImportError {
        origin: origin.into(),
        line,
        key: String::new(),
        problem: format!("not valid YAML or JSON: {problem}"),
    })?;
    let clusters: Vec<&Node> = match root.path("static_resources.clusters").or_else(|| root.get("clusters")) {
        Some(list) => list.items().iter().collect(),
        None if root.get("name").is_some() => vec![&root],
        None => {
            let e =
                "neither a bootstrap with static_resources.clusters nor a cluster (a mapping with `name`)";
            return Err(ImportError {
                origin: origin.into(),
                line: root.line(),
                key: String::new(),
                problem: e.into(),
            });
        }
    };
    let name_of = |c: &Node| c.get("name").and_then(Node::text).unwrap_or("").to_string();
    let names = || clusters.iter().map(|c| name_of(c)).collect::<Vec<_>>().join(", ");
    let fail =
        |problem: String| ImportError { origin: origin.into(), line: 0, key: "cluster".into(), problem };
    let cluster = match select {
        Some(s) => *clusters
            .iter()
            .find(|c| name_of(c) == s)
            .ok_or_else(|| fail(format!("no cluster named `{s}` (the file has: {})", names())))?,
        None => match clusters.as_slice() {
            [] => return Err(fail("the file has no cluster".into())),
            [one] => *one,
            _ => {
                return Err(fail(format!(
                    "the file has several clusters ({}): pick one with --cluster NAME",
                    names()
                )));
            }
        },
    };
    let name = name_of(cluster);
    let mut cx = Cx {
        origin,
        draft: Draft::new(Format::Envoy, origin, format!("cluster \"{name}\"")),
        used: vec!["name".into()],
    };
    endpoints(&mut cx, cluster)?;
    policy(&mut cx, cluster)?;
    panic_threshold(&mut cx, cluster)?;
    outliers(&mut cx, cluster)?;
    health(&mut cx, cluster)?;
    let retrying = route(&mut cx, &root, &name)?;
    breakers(&mut cx, cluster, retrying)?;
    let used = std::mem::take(&mut cx.used);
    unmapped(&mut cx.draft, cluster, "", &used);
    Ok(cx.draft)
}

/// The endpoints of `load_assignment`, each a worker with its `load_balancing_weight`.
fn endpoints(cx: &mut Cx, c: &Node) -> Result<(), ImportError> {
    cx.used.push("load_assignment.cluster_name".into());
    let Some(groups) = c.path("load_assignment.endpoints") else {
        cx.draft.assume(
            "the cluster lists no endpoints (load_assignment): 4 equal workers; add [[workers]] tables",
        );
        return Ok(());
    };
    cx.used.push("load_assignment.endpoints[].lb_endpoints[].endpoint".into());
    cx.used.push("load_assignment.endpoints[].lb_endpoints[].load_balancing_weight".into());
    for group in groups.items() {
        for e in group.get("lb_endpoints").map_or(&[][..], Node::items) {
            let addr = e.path("endpoint.address.socket_address");
            let label = match (addr.and_then(|a| a.get("address")), addr.and_then(|a| a.get("port_value"))) {
                (Some(a), Some(p)) => format!("{}:{}", a.shown(), p.shown()),
                (Some(a), None) => a.shown(),
                _ => "endpoint".into(),
            };
            let weight = match e.get("load_balancing_weight") {
                Some(w) => match cx.uint(w, "load_balancing_weight")? {
                    0 => return Err(cx.err(w, "load_balancing_weight", "a weight is at least 1")),
                    n => n as f64,
                },
                None => 1.0,
            };
            let src = Src::new(e.line(), "lb_endpoints", label.clone());
            cx.draft.workers.push(Worker { label, weight, queue_capacity: None, src });
        }
    }
    if cx.draft.workers.is_empty() {
        return Err(cx.err(groups, "load_assignment.endpoints", "no lb_endpoints"));
    }
    Ok(())
}

/// `lb_policy` and its configuration.
fn policy(cx: &mut Cx, c: &Node) -> Result<(), ImportError> {
    let differ = cx.draft.weights_differ();
    let (policy, src) = match cx.take(c, "lb_policy") {
        Some(p) => (p.text().unwrap_or("").to_string(), Cx::src(p, "lb_policy")),
        None => ("ROUND_ROBIN".to_string(), Src::new(0, "Envoy's default lb_policy ROUND_ROBIN", "")),
    };
    let name =
        match policy.as_str() {
            "ROUND_ROBIN" => {
                slow_start(cx, c, "round_robin_lb_config.slow_start_config")?;
                if differ { "weighted-round-robin" } else { "round-robin" }
            }
            "RANDOM" => {
                if differ {
                    cx.draft.note(&src, "Envoy picks at random by weight; lbsim's random ignores weights");
                }
                "random"
            }
            "LEAST_REQUEST" => {
                if let Some(n) = cx.take(c, "least_request_lb_config.choice_count") {
                    let k = "least_request_lb_config.choice_count";
                    let d = cx.uint(n, k)?.max(1);
                    cx.draft.set("strategy", "choices", d.to_string(), &Cx::src(n, k));
                }
                if let Some(n) = cx.take(c, "least_request_lb_config.active_request_bias") {
                    let k = "least_request_lb_config.active_request_bias";
                    let b = cx.float(n, k)?;
                    let shown = n.get("default_value").map_or_else(|| n.shown(), Node::shown);
                    cx.draft.set("strategy", "active_request_bias", number(b), &Src::new(n.line(), k, shown));
                }
                slow_start(cx, c, "least_request_lb_config.slow_start_config")?;
                "least-request"
            }
            "RING_HASH" | "MAGLEV" => return hashing(cx, c, &policy, &src, differ),
            other => {
                let node = c.get("lb_policy").unwrap_or(c);
                return Err(cx.err(node, "lb_policy", format!(
                "`{other}` is not one lbsim maps (ROUND_ROBIN, LEAST_REQUEST, RANDOM, RING_HASH, MAGLEV)"
            )));
            }
        };
    cx.draft.set("strategy", "name", quote(name), &src);
    Ok(())
}

/// RING_HASH and MAGLEV, bounded by `hash_balance_factor` when it is set.
fn hashing(cx: &mut Cx, c: &Node, policy: &str, src: &Src, differ: bool) -> Result<(), ImportError> {
    cx.draft.keyed("hash policy's key (the route's hash_policy)");
    if differ {
        cx.draft.note(src, "lbsim's hashing strategies ignore weights (Envoy gives a host entries in proportion to its weight)");
    }
    let mut name = if policy == "RING_HASH" { "ring-hash" } else { "maglev" };
    if policy == "RING_HASH" {
        let n = cx.draft.workers.len().max(1) as u64;
        if let Some(m) = cx.take(c, "ring_hash_lb_config.minimum_ring_size") {
            let k = "ring_hash_lb_config.minimum_ring_size";
            let total = cx.uint(m, k)?;
            cx.draft.set("strategy", "ring_size", total.div_ceil(n).max(1).to_string(), &Cx::src(m, k));
            cx.draft.note(
                &Cx::src(m, k),
                "Envoy's ring size is for the whole ring; lbsim's ring_size is per worker: \
                 the minimum divided among the workers",
            );
        } else {
            let s = Src::new(0, "Envoy's default minimum_ring_size 1024, divided among the workers", "");
            cx.draft.set("strategy", "ring_size", 1024u64.div_ceil(n).to_string(), &s);
        }
    } else if let Some(t) = cx.take(c, "maglev_lb_config.table_size") {
        let k = "maglev_lb_config.table_size";
        let size = cx.uint(t, k)?;
        cx.draft.set("strategy", "table_size", size.max(1).to_string(), &Cx::src(t, k));
    }
    for path in [
        "ring_hash_lb_config.hash_balance_factor",
        "maglev_lb_config.hash_balance_factor",
        "common_lb_config.consistent_hashing_lb_config.hash_balance_factor",
    ] {
        if let Some(f) = cx.take(c, path) {
            let factor = cx.uint(f, path)?;
            if factor > 0 {
                cx.draft.set("strategy", "balance_factor", number(factor as f64 / 100.0), &Cx::src(f, path));
                if name == "maglev" {
                    cx.draft.note(
                        &Cx::src(f, path),
                        "bounded loads are modelled on a ring (bounded-hash), not on Maglev's table",
                    );
                }
                name = "bounded-hash";
            }
        }
    }
    cx.draft.set("strategy", "name", quote(name), src);
    Ok(())
}

/// `slow_start_config` at `path`: window, aggression, min_weight_percent.
fn slow_start(cx: &mut Cx, c: &Node, path: &str) -> Result<(), ImportError> {
    let Some(s) = c.path(path) else { return Ok(()) };
    let Some(w) = cx.take(c, &format!("{path}.slow_start_window")) else {
        cx.draft.note(&Cx::src(s, path), "no slow_start_window: slow start is off");
        return Ok(());
    };
    let key = format!("{path}.slow_start_window");
    let window = cx.time(w, &key)?;
    cx.draft.set("slow_start", "window", duration(window), &Cx::src(w, &key));
    if let Some(a) = cx.take(c, &format!("{path}.aggression")) {
        let key = format!("{path}.aggression");
        let x = cx.float(a, &key)?;
        if x <= 0.0 {
            return Err(cx.err(a, &key, "must be above 0"));
        }
        cx.draft.set("slow_start", "aggression", number(x), &Cx::src(a, &key));
    }
    if let Some(m) = cx.take(c, &format!("{path}.min_weight_percent")) {
        let key = format!("{path}.min_weight_percent");
        let x = cx.float(m, &key)?;
        cx.draft.set("slow_start", "min_weight_percent", number(x.max(f64::MIN_POSITIVE)), &Cx::src(m, &key));
    }
    cx.draft.note(
        &Cx::src(w, &key),
        "Envoy ramps hosts that are added to the cluster or pass health checks again; lbsim \
         ramps a worker that joins or comes back after a crash",
    );
    cx.draft.note(
        &Cx::src(w, &key),
        "Envoy recomputes a host's slow-start weight at each pick (a continuous ramp); lbsim \
         updates it in ten steps across the window, so the warming worker's share lags Envoy's by \
         about half a step (at most 1.5 points of share with 4 workers and defaults; see the \
         import guide)",
    );
    Ok(())
}

fn panic_threshold(cx: &mut Cx, c: &Node) -> Result<(), ImportError> {
    let k = "common_lb_config.healthy_panic_threshold";
    let (p, src) = match cx.take(c, k) {
        Some(n) => (cx.float(n, k)?, Cx::src(n, k)),
        None => (50.0, Src::new(0, "Envoy's default healthy_panic_threshold 50%", "")),
    };
    if p > 100.0 {
        return Err(cx.err(c.path(k).unwrap_or(c), k, "a percentage is at most 100"));
    }
    cx.draft.set("balancer", "panic_threshold", number(p / 100.0), &src);
    Ok(())
}

fn outliers(cx: &mut Cx, c: &Node) -> Result<(), ImportError> {
    let Some(o) = c.get("outlier_detection") else { return Ok(()) };
    let head = Cx::src(o, "outlier_detection");
    let k = "outlier_detection.consecutive_5xx";
    let (n, src) = match cx.take(c, k) {
        Some(n) => (cx.uint(n, k)?.max(1), Cx::src(n, k)),
        None => (5, Src::new(0, "Envoy's default consecutive_5xx 5", "")),
    };
    cx.draft.set("outlier_ejection", "consecutive_errors", n.to_string(), &src);
    let k = "outlier_detection.base_ejection_time";
    match cx.take(c, k) {
        Some(t) => {
            let t = (cx.time(t, k)?, Cx::src(t, k));
            cx.draft.set("outlier_ejection", "base_ejection", duration(t.0), &t.1);
        }
        None => cx.draft.set(
            "outlier_ejection",
            "base_ejection",
            duration(30 * SECS),
            &Src::new(0, "Envoy's default base_ejection_time 30s", ""),
        ),
    }
    let k = "outlier_detection.max_ejection_percent";
    let (pct, src) = match cx.take(c, k) {
        Some(p) => (cx.float(p, k)?.min(100.0), Cx::src(p, k)),
        None => (10.0, Src::new(0, "Envoy's default max_ejection_percent 10", "")),
    };
    cx.draft.set("outlier_ejection", "max_ejected", number(pct / 100.0), &src);
    if let Some(i) = cx.take(c, "outlier_detection.interval") {
        cx.draft.note(
            &Cx::src(i, "outlier_detection.interval"),
            "Envoy lifts ejections at its interval sweeps; lbsim when the \
             ejection time is over (up to one interval sooner)",
        );
    }
    cx.draft.note(
        &head,
        "lbsim's errors stand for 5xx answers: consecutive_5xx counts them; the other detectors \
         (success rate, failure percentage, gateway failures) are not modelled",
    );
    Ok(())
}

fn health(cx: &mut Cx, c: &Node) -> Result<(), ImportError> {
    let Some(checks) = c.get("health_checks") else {
        let src =
            Src::new(0, "no health_checks: Envoy sends to a host until outlier detection ejects it", "");
        cx.draft.set("health_check", "mode", quote("none"), &src);
        return Ok(());
    };
    let Some(h) = checks.items().first() else { return Ok(()) };
    cx.used.push("health_checks".into());
    let field = |k: &str| h.get(k).map(|n| (n, format!("health_checks.{k}")));
    let mode = Src::new(h.line(), "health_checks", "[...]");
    cx.draft.set("health_check", "mode", quote("active"), &mode);
    if let Some((n, k)) = field("interval") {
        cx.draft.set("health_check", "interval", duration(cx.time(n, &k)?), &Cx::src(n, &k));
    }
    if let Some((n, k)) = field("unhealthy_threshold") {
        cx.draft.set("health_check", "unhealthy", cx.uint(n, &k)?.max(1).to_string(), &Cx::src(n, &k));
    }
    if let Some((n, k)) = field("healthy_threshold") {
        cx.draft.set("health_check", "healthy", cx.uint(n, &k)?.max(1).to_string(), &Cx::src(n, &k));
    }
    if let Node::Map(entries, _) = h {
        for (k, line, v) in entries {
            if !matches!(k.as_str(), "interval" | "unhealthy_threshold" | "healthy_threshold") {
                let what = match k.as_str() {
                    "timeout" => "a check of a crashed worker fails at once in lbsim, not after the timeout",
                    "http_health_check" | "tcp_health_check" | "grpc_health_check" => {
                        "a check passes exactly when the worker is up"
                    }
                    _ => "not modelled (ignored)",
                };
                cx.draft.note(&Src::new(*line, format!("health_checks.{k}"), v.shown()), what);
            }
        }
    }
    if checks.items().len() > 1 {
        cx.draft.note(&Cx::src(checks, "health_checks"), "only the first health check is modelled");
    }
    Ok(())
}

/// The route to the cluster, if the file has one: its timeout and retry policy. Whether retries were set.
fn route(cx: &mut Cx, root: &Node, name: &str) -> Result<bool, ImportError> {
    let Some(r) = find_route(root, name) else {
        let src = Src::new(0, "route", "");
        cx.draft.note(
            &src,
            &format!(
                "no route to cluster `{name}` in the file: no timeout or retries set (a route's \
             defaults are timeout 15s and no retries)"
            ),
        );
        return Ok(false);
    };
    match r.get("timeout") {
        Some(t) => {
            let d = cx.time(t, "route.timeout")?;
            if d > 0 {
                cx.draft.set("", "timeout", duration(d), &Cx::src(t, "route.timeout"));
            }
        }
        None => cx.draft.set(
            "",
            "timeout",
            duration(15 * SECS),
            &Src::new(0, format!("Envoy's default route timeout 15s (route at line {})", r.line()), ""),
        ),
    }
    let Some(p) = r.get("retry_policy") else { return Ok(false) };
    let num = match p.get("num_retries") {
        Some(n) => (cx.uint(n, "retry_policy.num_retries")?, Cx::src(n, "retry_policy.num_retries")),
        None => (1, Src::new(0, "Envoy's default num_retries 1", "")),
    };
    if num.0 == 0 {
        return Ok(false);
    }
    cx.draft.set("retry", "max", num.0.to_string(), &num.1);
    if let Some(t) = p.get("per_try_timeout") {
        cx.draft.set(
            "retry",
            "per_try_timeout",
            duration(cx.time(t, "retry_policy.per_try_timeout")?),
            &Cx::src(t, "retry_policy.per_try_timeout"),
        );
    }
    let base = match p.path("retry_back_off.base_interval") {
        Some(b) => (cx.time(b, "retry_back_off.base_interval")?, Cx::src(b, "retry_back_off.base_interval")),
        None => (25 * MILLIS, Src::new(0, "Envoy's default retry_back_off base_interval 25ms", "")),
    };
    let max = match p.path("retry_back_off.max_interval") {
        Some(m) => (cx.time(m, "retry_back_off.max_interval")?, Cx::src(m, "retry_back_off.max_interval")),
        None => (base.0 * 10, Src::new(0, "Envoy's default max_interval: 10 x base_interval", "")),
    };
    cx.draft.set("retry", "backoff", duration(base.0), &base.1);
    cx.draft.set("retry", "max_backoff", duration(max.0.max(base.0)), &max.1);
    if let Node::Map(entries, _) = p {
        for (k, line, v) in entries {
            let what = match k.as_str() {
                "num_retries" | "per_try_timeout" | "retry_back_off" => continue,
                "retry_on" => {
                    "lbsim retries errors, rejections and per-try timeouts, whatever the conditions"
                }
                _ => "not modelled (ignored)",
            };
            cx.draft.note(&Src::new(*line, format!("retry_policy.{k}"), v.shown()), what);
        }
    }
    Ok(true)
}

/// The first mapping with `cluster: NAME` (a route action), anywhere in the file.
fn find_route<'a>(n: &'a Node, name: &str) -> Option<&'a Node> {
    match n {
        Node::Map(entries, _) => {
            if entries.iter().any(|(k, _, v)| k == "cluster" && v.text() == Some(name)) {
                return Some(n);
            }
            entries.iter().find_map(|(_, _, v)| find_route(v, name))
        }
        Node::Seq(items, _) => items.iter().find_map(|v| find_route(v, name)),
        Node::Scalar(..) => None,
    }
}

/// `circuit_breakers`: the retry budget maps; the rest are named.
fn breakers(cx: &mut Cx, c: &Node, retrying: bool) -> Result<(), ImportError> {
    let Some(list) = c.path("circuit_breakers.thresholds") else { return Ok(()) };
    cx.used.push("circuit_breakers".into());
    for t in list.items() {
        let Node::Map(entries, _) = t else { continue };
        let priority = t.get("priority").and_then(Node::text).unwrap_or("DEFAULT");
        for (k, line, v) in entries {
            let src = Src::new(*line, format!("circuit_breakers.{k}"), v.shown());
            match k.as_str() {
                "priority" => {}
                _ if priority != "DEFAULT" => cx.draft.note(&src, "only the DEFAULT priority is modelled"),
                "retry_budget" => {
                    let pct = match v.get("budget_percent") {
                        Some(p) => cx.float(p, "retry_budget.budget_percent")?,
                        None => 20.0,
                    };
                    if retrying {
                        cx.draft.set("retry", "budget", number((pct / 100.0).min(1.0)), &src);
                        cx.draft.note(&src, "Envoy caps retries at budget_percent of the active requests (at least \
                             min_retry_concurrency); lbsim at that fraction of the requests sent (a token bucket)");
                    } else {
                        cx.draft.note(&src, "no retries are set, so the budget has nothing to cap");
                    }
                }
                "max_requests" | "max_pending_requests" | "max_connections" | "max_retries" => cx.draft.note(
                    &src,
                    "not modelled: lbsim has no proxy-wide cap (worker queue_capacity caps each worker)",
                ),
                _ => cx.draft.note(&src, "not modelled (ignored)"),
            }
        }
    }
    Ok(())
}

/// Notes every subtree of the cluster that nothing mapped.
fn unmapped(draft: &mut Draft, n: &Node, prefix: &str, used: &[String]) {
    let Node::Map(entries, _) = n else { return };
    for (k, line, v) in entries {
        let path = if prefix.is_empty() { k.clone() } else { format!("{prefix}.{k}") };
        if used.contains(&path) {
            continue;
        }
        let below = format!("{path}.");
        let below_list = format!("{path}[].");
        if used.iter().any(|u| u.starts_with(&below)) {
            unmapped(draft, v, &path, used);
        } else if used.iter().any(|u| u.starts_with(&below_list)) {
            for item in v.items() {
                unmapped(draft, item, &format!("{path}[]"), used);
            }
        } else {
            draft.note(&Src::new(*line, path, v.shown()), "not modelled (ignored)");
        }
    }
}
