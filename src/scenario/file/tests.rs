//! Tests of reading scenario files.

use super::*;
use crate::engine::View;
use crate::time::{MILLIS, SECS};

fn err(text: &str) -> String {
    parse(text, "x.toml").unwrap_err().to_string()
}

#[test]
fn empty_file_gets_documented_defaults() {
    let s = parse("", "scenarios/empty.toml").unwrap();
    assert_eq!(s.name, "empty");
    assert_eq!(s.workers, vec![WorkerSpec::default(); 4]);
    assert_eq!(s.arrivals, ArrivalSpec::Poisson(Level::Load(0.8)));
    assert_eq!(s.service, Dist::Exp { mean: 10 * MILLIS });
    assert_eq!(s.stop, Stop::Requests(100_000));
    assert_eq!((s.seed, s.warmup, s.strategy.as_str()), (1, 0, "least-loaded"));
    assert_eq!(s.strategy_params, StrategyParams::default());
    let config = s.to_config().unwrap();
    assert!((config.load().unwrap() - 0.8).abs() < 1e-12);
}

#[test]
fn full_file() {
    let s = parse(
        r#"
name = "full"
description = "all fields"
service = "const:2ms"
[arrivals]
kind = "bursty"
rate = 900
base_load = 0.1
burst = "1s"
gap = "4s"
[[workers]]
count = 2
speed = 2.0
[[workers]]
weight = 3
concurrency = 4
queue_capacity = 10
[run]
duration = "30s"
warmup = "2s"
seed = 9
[strategy]
name = "power-of-two"
choices = 3
decay = "1s"
"#,
        "f.toml",
    )
    .unwrap();
    assert_eq!(s.workers.len(), 3);
    assert_eq!(
        s.workers[0],
        WorkerSpec { speed: 2.0, weight: 2.0, concurrency: 1, queue_capacity: None, ..WorkerSpec::default() }
    );
    assert_eq!(
        s.workers[2],
        WorkerSpec {
            speed: 1.0,
            weight: 3.0,
            concurrency: 4,
            queue_capacity: Some(10),
            ..WorkerSpec::default()
        }
    );
    assert_eq!(
        s.arrivals,
        ArrivalSpec::Bursty { rate: Level::Rate(900.0), base: Level::Load(0.1), burst: SECS, gap: 4 * SECS }
    );
    assert_eq!((s.stop, s.warmup, s.seed), (Stop::Duration(30 * SECS), 2 * SECS, 9));
    assert_eq!(
        s.strategy_params,
        StrategyParams { choices: 3, ewma_decay: SECS, error_penalty: SECS, ..StrategyParams::default() }
    );
}

#[test]
fn errors_name_file_line_and_field() {
    assert_eq!(
        err("[arrivals]\nrate = 10\nrat = 5\n"),
        "x.toml:3:1: field `arrivals.rat`: unknown field `rat`, expected one of `kind`, `rate`, `load`, \
         `base_rate`, `base_load`, `burst`, `gap`, `clients`, `think`, `file`, `time_scale`"
    );
    assert_eq!(
        err("[arrivals]\nrate = -3\n"),
        "x.toml:2:8: field `arrivals.rate`: must be a positive number, got -3"
    );
    assert_eq!(
        err("service = \"exp:soon\"\n"),
        "x.toml:1:11: field `service`: in `exp:soon`: `soon` is not a duration (expected a number and a unit, e.g. 10ms)"
    );
    assert!(err("[[workers]]\ncount = 0\n").starts_with("x.toml:2:9: field `workers.count`: "));
    assert!(
        err("[strategy]\nname = \"fastest\"\n")
            .starts_with("x.toml:2:8: field `strategy.name`: unknown strategy `fastest` (valid: round-robin")
    );
    assert_eq!(
        err("[arrivals]\nkind = \"closed\"\nclients = 3\nrate = 5\n"),
        "x.toml:4:8: field `arrivals.rate`: does not apply to closed arrivals"
    );
    assert!(
        err("[arrivals]\nkind = \"closed\"\nclients = 3\n")
            .contains("field `arrivals`: closed arrivals need `think`")
    );
    assert!(err("[arrivals]\nkind = \"warp\"\n").contains("field `arrivals.kind`: unknown variant `warp`"));
    assert_eq!(
        err("[run]\nrequests = 5\nduration = \"1s\"\n"),
        "x.toml:3:12: field `run.duration`: give `requests` or `duration`, not both"
    );
    assert!(err("[arrivals]\nrate = 1\nload = 0.5\n").contains("give `rate` or `load`, not both"));
    assert!(err("workers = 3\n").starts_with("x.toml:1:11: field `workers`: invalid type"));
    assert!(err("seed = 3\n").contains("unknown field `seed`"));
    assert!(err("[run\n").starts_with("x.toml:1:"));
}

#[test]
fn balancers_table() {
    let s = parse(
        "[balancers]\ncount = 10\nassignment = \"round-robin\"\nview = \"report+local\"\n\
         refresh = \"50ms\"\ndispatch_delay = \"exp:1ms\"\naligned = true\n",
        "b.toml",
    )
    .unwrap();
    let b = &s.defences.balancers;
    assert_eq!(
        (b.count, b.assignment, b.view, b.aligned),
        (10, Assignment::RoundRobin, Some(View::ReportLocal), true)
    );
    assert_eq!(b.dispatch_delay, Some(Dist::Exp { mean: MILLIS }));
    assert_eq!(s.defences.load_refresh, Some(50 * MILLIS));
    // Without the table: one balancer; today's load_refresh is the report view.
    let s = parse("[balancer]\nload_refresh = \"1s\"\n", "b.toml").unwrap();
    assert_eq!(s.defences.balancers, Balancers::default());
    assert_eq!(s.defences.view(), View::Report);
    assert_eq!(parse("", "b.toml").unwrap().defences.view(), View::Global);
}

#[test]
fn keys_table() {
    use crate::keys::{Cache, Keys, Popularity};
    let s = parse(
        "[keys]\ncount = 500\npopularity = \"zipf:1.1\"\ncache = { size = 20, hit_speedup = 4 }\n\
         [balancers]\ncount = 2\nassignment = \"hash\"\n",
        "k.toml",
    )
    .unwrap();
    let cache = Some(Cache { size: 20, hit_speedup: 4.0 });
    assert_eq!(s.keys, Some(Keys { count: 500, popularity: Popularity::Zipf(1.1), cache }));
    assert_eq!(s.defences.balancers.assignment, Assignment::Hash);
    let s = parse("[keys]\ncount = 9\ncache = { size = 3 }\n", "k.toml").unwrap();
    let keys = s.keys.unwrap();
    assert_eq!((keys.popularity, keys.cache.unwrap().hit_speedup), (Popularity::Uniform, 10.0));
    assert!(parse("", "k.toml").unwrap().keys.is_none());
    assert_eq!(
        err("[keys]\ncount = 5\npopularity = \"zipf:-1\"\n"),
        "x.toml:3:14: field `keys.popularity`: the Zipf exponent must be above 0 and at most 10, got -1"
    );
    assert!(err("[keys]\npopularity = \"uniform\"\n").contains("missing field `count`"));
    assert_eq!(
        err("[keys]\ncount = 2000000\npopularity = \"zipf:1\"\n"),
        "x.toml:2:9: field `keys.count`: at most 1000000 keys with Zipf popularity, got 2000000"
    );
    assert!(
        err("[keys]\ncount = 5\ncache = { size = 3, hit_speedup = 0.5 }\n")
            .contains("field `keys.cache.hit_speedup`: must be between 1 and 1e6, got 0.5")
    );
    assert!(
        err("[strategy]\nbalance_factor = 1\n").contains("field `strategy.balance_factor`: must be above 1")
    );
}

#[test]
fn bad_balancers_are_named() {
    assert_eq!(
        err("[balancers]\ncount = 0\n"),
        "x.toml:2:9: field `balancers.count`: invalid value: integer `0`, expected a nonzero u32"
    );
    assert_eq!(
        err("[balancers]\ncount = 1001\n"),
        "x.toml:2:9: field `balancers.count`: must be from 1 to 1000, got 1001"
    );
    assert_eq!(
        err("[balancers]\nview = \"psychic\"\n"),
        "x.toml:2:8: field `balancers.view`: unknown balancer view `psychic` (valid: global, local, report, report+local)"
    );
    assert!(
        err("[balancers]\nassignment = \"sticky\"\n")
            .starts_with("x.toml:2:14: field `balancers.assignment`: unknown variant `sticky`")
    );
    assert_eq!(
        err("[balancers]\ncount = 3\nassignment = \"hash\"\n"),
        "x.toml:3:14: field `balancers.assignment`: `hash` needs keyed requests: add a [keys] table"
    );
    assert_eq!(
        err("[balancers]\nview = \"report\"\n"),
        "x.toml:2:8: field `balancers.view`: `report` needs a refresh period: balancers.refresh (or --load-refresh)"
    );
    assert!(err("[balancer]\nload_refresh = \"1s\"\n[balancers]\nview = \"local\"\n").starts_with(
        "x.toml:2:16: field `balancer.load_refresh`: a load refresh applies to the report views, but \
         balancers.view is `local`"
    ));
    assert_eq!(
        err("[balancer]\nload_refresh = \"1s\"\n[balancers]\nrefresh = \"2s\"\n"),
        "x.toml:4:11: field `balancers.refresh`: give balancers.refresh or balancer.load_refresh (the same \
         setting), not both"
    );
    assert!(
        err("[balancers]\naligned = \"yes\"\n")
            .starts_with("x.toml:2:11: field `balancers.aligned`: invalid type")
    );
    assert!(
        err("[balancers]\nreplicas = 3\n")
            .starts_with("x.toml:2:1: field `balancers.replicas`: unknown field")
    );
    assert!(
        err("[[workers]]\ncount = 100000\n[balancers]\ncount = 1000\n")
            .starts_with("x.toml:4:9: field `balancers.count`: 1000 replicas x 100000 workers is more than")
    );
}
