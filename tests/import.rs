//! `lbsim import` (issue 22): Envoy clusters, nginx upstreams and HAProxy backends become
//! scenarios; each mapped knob lands in the scenario, a few change the simulation as the
//! proxy's documentation says, every unmodelled setting is named, bad files are refused with
//! file:line:key.

mod common;

use common::*;
use lbsim::engine::{Detection, Sim, StepKind, Stop};
use lbsim::import::{Format, Imported, import};
use lbsim::scenario::Scenario;
use lbsim::strategy;
use lbsim::time::{MILLIS, SECS};

fn imp(format: Format, text: &str) -> Imported {
    import(format, text, "cfg", None).unwrap_or_else(|e| panic!("{e}"))
}

/// The imported scenario, parsed as `lbsim run --scenario` parses it.
fn scenario(format: Format, text: &str) -> Scenario {
    let i = imp(format, text);
    Scenario::parse(&i.toml, "imported.toml").unwrap_or_else(|e| panic!("{e}\n{}", i.toml))
}

fn envoy_cluster(body: &str) -> String {
    format!(
        "name: c\nlb_policy: {body}\nload_assignment:\n  endpoints:\n  - lb_endpoints:\n    - endpoint: {{address: {{socket_address: {{address: a, port_value: 1}}}}}}\n      load_balancing_weight: 3\n    - endpoint: {{address: {{socket_address: {{address: b, port_value: 1}}}}}}\n    - endpoint: {{address: {{socket_address: {{address: c, port_value: 1}}}}}}\n    - endpoint: {{address: {{socket_address: {{address: d, port_value: 1}}}}}}\n"
    )
}

fn example(name: &str) -> String {
    std::fs::read_to_string(format!("examples/configs/{name}")).unwrap()
}

#[test]
fn the_shipped_envoy_cluster_maps_every_knob_lbsim_has() {
    let s = scenario(Format::Envoy, &example("envoy.yaml"));
    assert_eq!(s.strategy, "least-request");
    assert_eq!((s.strategy_params.choices, s.strategy_params.active_request_bias), (2, 1.0));
    assert_eq!(s.workers.iter().map(|w| w.weight).collect::<Vec<_>>(), [3.0, 1.0, 1.0, 1.0]);
    let d = &s.defences;
    assert_eq!(d.timeout, Some(2 * SECS));
    let r = d.retry.as_ref().unwrap();
    assert_eq!(
        (r.max, r.per_try_timeout, r.backoff, r.max_backoff, r.budget),
        (2, Some(500 * MILLIS), 25 * MILLIS, 250 * MILLIS, Some(0.2))
    );
    assert_eq!(d.detection, Detection::HealthChecks { interval: 5 * SECS, unhealthy: 3, healthy: 2 });
    let o = d.outlier.unwrap();
    assert_eq!((o.consecutive_errors, o.base_ejection, o.max_ejected), (5, 30 * SECS, 0.1));
    assert_eq!(d.panic_threshold, Some(0.5));
    let ss = d.slow_start.unwrap();
    assert_eq!((ss.window, ss.aggression, ss.min_weight_percent), (30 * SECS, 1.0, 10.0));
    // Each mapped line names its source.
    let toml = imp(Format::Envoy, &example("envoy.yaml")).toml;
    assert!(toml.contains("name = \"least-request\"   # from cfg:40 lb_policy: LEAST_REQUEST"), "{toml}");
    assert!(toml.contains("set [[workers]] concurrency and speed"), "the assumptions are stated: {toml}");
}

#[test]
fn envoy_policies_and_their_configs_pick_the_strategy_and_its_parameters() {
    for (policy, strategy) in [
        ("ROUND_ROBIN", "weighted-round-robin"),
        ("RANDOM", "random"),
        ("LEAST_REQUEST", "least-request"),
        ("RING_HASH", "ring-hash"),
        ("MAGLEV", "maglev"),
    ] {
        let s = scenario(Format::Envoy, &envoy_cluster(policy));
        assert_eq!(s.strategy, strategy, "{policy}");
    }
    let lr = "LEAST_REQUEST\nleast_request_lb_config:\n  choice_count: 3\n  active_request_bias: {default_value: 0.5, runtime_key: k}";
    let s = scenario(Format::Envoy, &envoy_cluster(lr));
    assert_eq!((s.strategy_params.choices, s.strategy_params.active_request_bias), (3, 0.5));
    let ring =
        scenario(Format::Envoy, &envoy_cluster("RING_HASH\nring_hash_lb_config: {minimum_ring_size: 4096}"));
    assert_eq!(ring.strategy_params.ring_size, 1024, "4096 entries over 4 workers");
    assert!(ring.keys.is_some(), "hashing needs keyed requests");
    let maglev = scenario(Format::Envoy, &envoy_cluster("MAGLEV\nmaglev_lb_config: {table_size: 251}"));
    assert_eq!(maglev.strategy_params.table_size, 251);
    let bounded =
        scenario(Format::Envoy, &envoy_cluster("RING_HASH\nring_hash_lb_config: {hash_balance_factor: 150}"));
    assert_eq!((bounded.strategy.as_str(), bounded.strategy_params.balance_factor), ("bounded-hash", 1.5));
    let panic = scenario(
        Format::Envoy,
        &envoy_cluster("RANDOM\ncommon_lb_config: {healthy_panic_threshold: {value: 25}}"),
    );
    assert_eq!(panic.defences.panic_threshold, Some(0.25));
    let rr = "ROUND_ROBIN\nround_robin_lb_config:\n  slow_start_config: {slow_start_window: 60s, aggression: {default_value: 2, runtime_key: k}, min_weight_percent: {value: 5}}";
    let ss = scenario(Format::Envoy, &envoy_cluster(rr)).defences.slow_start.unwrap();
    assert_eq!((ss.window, ss.aggression, ss.min_weight_percent), (60 * SECS, 2.0, 5.0));
    // Without health checks Envoy keeps sending to a host until outlier detection ejects it.
    assert_eq!(panic.defences.detection, Detection::Never);
}

#[test]
fn envoy_json_imports_like_yaml_with_its_lines() {
    let json = "{\n \"name\": \"c\",\n \"lb_policy\": \"MAGLEV\",\n \"load_assignment\": {\"endpoints\": [{\"lb_endpoints\": [\n  {\"endpoint\": {\"address\": {\"socket_address\": {\"address\": \"a\", \"port_value\": 1}}}},\n  {\"endpoint\": {\"address\": {\"socket_address\": {\"address\": \"b\", \"port_value\": 1}}}}]}]},\n \"dns_lookup_family\": \"V4_ONLY\"\n}\n";
    let i = imp(Format::Envoy, json);
    assert!(i.toml.contains("# from cfg:3 lb_policy: MAGLEV"), "{}", i.toml);
    assert!(i.notes.iter().any(|n| n.starts_with("cfg:7 dns_lookup_family")), "{:?}", i.notes);
}

/// Envoy's least request with unequal weights: a host's share of picks follows
/// weight / (active + 1)^bias (Envoy's docs), which bias 0 turns into plain weights.
#[test]
fn envoy_least_request_with_unequal_weights_picks_by_weight_over_active_requests() {
    let share = |bias: &str| {
        let body = format!(
            "LEAST_REQUEST\nleast_request_lb_config: {{active_request_bias: {{default_value: {bias}, runtime_key: k}}}}"
        );
        let mut s = scenario(Format::Envoy, &envoy_cluster(&body));
        s.stop = Stop::Requests(20_000);
        let c = s.to_config().unwrap();
        let mut sim = Sim::new(c.clone(), strategy::build(&s.strategy, &c.strategy_params).unwrap()).unwrap();
        let weights: Vec<f64> = s.workers.iter().map(|w| w.weight).collect();
        let (mut picks, mut expected, mut all) = (0.0, 0.0, 0.0);
        loop {
            let active: Vec<f64> = (0..weights.len()).map(|i| sim.worker(i).pending as f64).collect();
            let Some(step) = sim.step() else { break };
            if let StepKind::Arrival { worker: Some(w), .. } = step.kind {
                let b: f64 = bias.parse().unwrap();
                let eff: Vec<f64> = weights.iter().zip(&active).map(|(w, a)| w / (a + 1.0).powf(b)).collect();
                expected += eff[0] / eff.iter().sum::<f64>();
                picks += f64::from(w == 0);
                all += 1.0;
            }
        }
        (picks / all, expected / all)
    };
    let (plain, plain_expected) = share("0");
    assert!((plain - 0.5).abs() < 0.01 && (plain_expected - 0.5).abs() < 1e-9, "bias 0: {plain}");
    let (biased, expected) = share("1");
    // About 20,000 picks: the share follows the formula within 2 points, well below 50%.
    assert!((biased - expected).abs() < 0.02, "bias 1: {biased} picks vs {expected} by the formula");
    assert!(biased < 0.45, "a busy heavy host is picked less: {biased}");
}

#[test]
fn nginx_upstreams_map_methods_weights_and_passive_health() {
    let s = scenario(Format::Nginx, &example("nginx.conf"));
    assert_eq!(s.strategy, "least-loaded");
    assert_eq!(
        s.workers.iter().map(|w| w.weight).collect::<Vec<_>>(),
        [5.0, 1.0, 1.0, 1.0],
        "the backup is left out"
    );
    assert_eq!(s.workers[3].queue_capacity, Some(99), "max_conns=100");
    let o = s.defences.outlier.unwrap();
    assert_eq!((o.consecutive_errors, o.base_ejection), (1, 10 * SECS), "the first server's defaults");
    let r = s.defences.retry.unwrap();
    assert_eq!(
        (r.max, r.per_try_timeout, r.backoff),
        (2, Some(5 * SECS), 0),
        "tries 3 = 2 retries, read timeout per try"
    );
    let up = |body: &str| {
        format!(
            "http {{ upstream u {{ {body} server a; server b weight=2; }} server {{ location / {{ proxy_pass http://u; proxy_next_upstream off; }} }} }}"
        )
    };
    for (body, strategy) in [
        ("", "weighted-round-robin"),
        ("least_conn;", "least-loaded"),
        ("random;", "random"),
        ("random two least_conn;", "power-of-two"),
        ("ip_hash;", "ring-hash"),
        ("hash $request_uri consistent;", "ring-hash"),
    ] {
        let s = scenario(Format::Nginx, &up(body));
        assert_eq!(s.strategy, strategy, "{body}");
        assert!(s.defences.retry.is_none(), "proxy_next_upstream off");
    }
    let ketama = scenario(Format::Nginx, &up("hash $request_uri consistent;"));
    assert_eq!(ketama.strategy_params.ring_size, 160, "ketama's 160 points");
    let slow = scenario(Format::Nginx, "upstream u { server a slow_start=30s; server b max_fails=0; }");
    assert_eq!(slow.defences.slow_start.unwrap().window, 30 * SECS);
    let none = scenario(Format::Nginx, "upstream u { server a max_fails=0; }");
    assert!(none.defences.outlier.is_none(), "max_fails=0 turns passive health off");
}

/// nginx's default, smooth weighted round robin: picks in proportion to weight.
#[test]
fn nginx_weights_share_the_picks() {
    let mut s = scenario(Format::Nginx, "upstream u { server a weight=5; server b; server c; server d; }");
    s.stop = Stop::Requests(8_000);
    let c = s.to_config().unwrap();
    let mut sim = Sim::new(c.clone(), strategy::build(&s.strategy, &c.strategy_params).unwrap()).unwrap();
    let (mut mine, mut all) = (0u32, 0u32);
    while let Some(step) = sim.step() {
        if let StepKind::Arrival { worker: Some(w), .. } = step.kind {
            all += 1;
            mine += u32::from(w == 0);
        }
    }
    assert!((f64::from(mine) / f64::from(all) - 5.0 / 8.0).abs() < 0.005, "{mine} of {all}");
}

#[test]
fn haproxy_backends_map_balance_servers_checks_and_retries() {
    let s = scenario(Format::Haproxy, &example("haproxy.cfg"));
    assert_eq!(s.strategy, "least-loaded");
    assert_eq!(s.workers.iter().map(|w| w.weight).collect::<Vec<_>>(), [100.0, 100.0, 50.0]);
    assert_eq!(s.workers[0].queue_capacity, Some(69), "maxconn 50 + maxqueue 20, less the one in service");
    assert_eq!(
        s.defences.detection,
        Detection::HealthChecks { interval: 2 * SECS, unhealthy: 3, healthy: 2 }
    );
    assert_eq!(s.defences.slow_start.unwrap().window, 20 * SECS);
    assert_eq!(s.defences.retry.unwrap().max, 3);
    assert_eq!(s.defences.timeout, Some(30 * SECS));
    let be = |lines: &str| {
        format!("defaults\n  retries 0\nbackend b\n{lines}\n  server s1 a:1\n  server s2 b:1\n")
    };
    for (balance, strategy) in [
        ("balance roundrobin", "round-robin"),
        ("balance static-rr", "round-robin"),
        ("balance leastconn", "least-loaded"),
        ("balance first", "least-loaded"),
        ("balance random(1)", "random"),
        ("balance random(3)", "power-of-two"),
        ("balance source", "ring-hash"),
        ("balance uri\n  hash-type consistent", "ring-hash"),
        ("balance hdr(User-Agent)\n  hash-type consistent\n  hash-balance-factor 150", "bounded-hash"),
    ] {
        let s = scenario(Format::Haproxy, &be(balance));
        assert_eq!(s.strategy, strategy, "{balance}");
        assert!(s.defences.retry.is_none(), "retries 0");
        assert_eq!(s.defences.detection, Detection::Never, "no `check`: never marked down");
    }
    assert_eq!(scenario(Format::Haproxy, &be("balance random(3)")).strategy_params.choices, 3);
    assert_eq!(
        scenario(Format::Haproxy, &be("balance uri\n  hash-balance-factor 150"))
            .strategy_params
            .balance_factor,
        1.5
    );
}

#[test]
fn every_setting_lbsim_does_not_model_is_named() {
    let envoy = imp(Format::Envoy, &example("envoy.yaml"));
    for key in [
        "connect_timeout",
        "type",
        "max_requests",
        "max_pending_requests",
        "retry_on",
        "http_health_check",
        "health_checks.timeout",
    ] {
        assert!(envoy.notes.iter().any(|n| n.contains(key)), "{key}: {:?}", envoy.notes);
    }
    let nginx = imp(Format::Nginx, &example("nginx.conf"));
    for key in ["keepalive", "backup", "proxy_connect_timeout", "max_conns", "least_conn"] {
        assert!(nginx.notes.iter().any(|n| n.contains(key)), "{key}: {:?}", nginx.notes);
    }
    let haproxy = imp(Format::Haproxy, &example("haproxy.cfg"));
    for key in [
        "mode",
        "timeout connect",
        "timeout client",
        "timeout queue",
        "option httpchk",
        "app4",
        "maxconn",
        "option redispatch",
    ] {
        assert!(haproxy.notes.iter().any(|n| n.contains(key)), "{key}: {:?}", haproxy.notes);
    }
    // The notes are in the file too, and nothing in a small cluster goes unnamed.
    let i = imp(
        Format::Envoy,
        &envoy_cluster("RANDOM\nupstream_connection_options: {tcp_keepalive: {}}\nfoo: 1"),
    );
    assert!(i.notes.iter().any(|n| n.starts_with("cfg:3 upstream_connection_options")), "{:?}", i.notes);
    assert!(i.notes.iter().any(|n| n.starts_with("cfg:4 foo")), "{:?}", i.notes);
    for n in &i.notes {
        assert!(i.toml.contains(&n[..20]), "{n} is not in the file");
    }
}

#[test]
fn bad_configurations_name_the_file_line_and_key() {
    let bad = |f: Format, text: &str| import(f, text, "f", None).unwrap_err().to_string();
    assert_eq!(
        bad(Format::Envoy, &envoy_cluster("LEAST_REQUEST\nleast_request_lb_config:\n  choice_count: two")),
        "f:4: least_request_lb_config.choice_count: `two`: expected a whole number"
    );
    assert_eq!(
        bad(Format::Envoy, &envoy_cluster("WEIGHTED")),
        "f:2: lb_policy: `WEIGHTED` is not one lbsim maps (ROUND_ROBIN, LEAST_REQUEST, RANDOM, RING_HASH, MAGLEV)"
    );
    assert!(
        bad(Format::Envoy, "name: c\nlb_policy: [\n").starts_with("f:3: not valid YAML"),
        "{}",
        bad(Format::Envoy, "name: c\nlb_policy: [\n")
    );
    assert_eq!(
        bad(Format::Envoy, "static_resources:\n  clusters:\n  - name: a\n  - name: b\n"),
        "f: cluster: the file has several clusters (a, b): pick one with --cluster NAME"
    );
    assert_eq!(
        bad(Format::Nginx, "upstream u {\n  server a weight=x;\n}\n"),
        "f:2: server weight: `weight=x`: expected a whole number"
    );
    assert_eq!(
        bad(Format::Nginx, "upstream u {\n  server a;\n"),
        "f:1: upstream: the block opened here is never closed (a `}` is missing)"
    );
    assert_eq!(
        bad(Format::Haproxy, "backend b\n  server s a:1\n  retries many\n"),
        "f:3: retries: expected a whole number"
    );
    assert_eq!(
        bad(Format::Haproxy, "backend b\n  timeout server soon\n  server s a:1\n"),
        "f:2: timeout server: expected a time such as 30s"
    );
}

#[test]
fn imported_files_check_and_run_through_the_binary() {
    let dir = scratch("import");
    for (format, file) in [("envoy", "envoy.yaml"), ("nginx", "nginx.conf"), ("haproxy", "haproxy.cfg")] {
        let out = dir.0.join(format!("{format}.toml"));
        let out = out.to_str().unwrap();
        let ran = lbsim(&["import", format, &format!("examples/configs/{file}"), "--output", out]);
        assert_eq!(ran.status.code(), Some(0), "{}", stderr(&ran));
        assert!(stderr(&ran).contains("not modelled or modelled differently"), "{}", stderr(&ran));
        ok(&["check", out]);
        let report =
            String::from_utf8(ok(&["run", "--scenario", out, "--headless", "--requests", "2000"])).unwrap();
        assert!(!report.is_empty());
        ok(&[
            "compare",
            "--scenario",
            out,
            "--strategies",
            "round-robin,least-request",
            "--requests",
            "1000",
        ]);
    }
    let conf = dir.file("bad.conf", "upstream u {\n  server a weight=0;\n}\n");
    assert_refused(&Ran::from(lbsim(&["import", "nginx", &conf])), &["bad.conf:2: server weight"]);
    assert_refused(&Ran::from(lbsim(&["import", "haproxy", &conf])), &["no `backend NAME`"]);
}

/// The trace importers, on rows written in each data set's documented shape.
#[test]
fn public_traces_convert_to_lbsim_traces() {
    use lbsim::import::traces::{TraceFormat, convert};
    // Azure Functions 2021: app,func,end_timestamp,duration (seconds); start = end - duration.
    let azure = "app,func,end_timestamp,duration\n\"a1\",f1,10.5,0.5\na2,f2,10.2,1.2e-1\na1,f3,11.0,2\n";
    let c = convert(TraceFormat::Azure, azure, "azure.csv").unwrap();
    assert_eq!(c.csv, "time,demand,client,key\n0,2,0,a1/f3\n1,0.5,0,a1/f1\n1.08,0.12,1,a2/f2\n");
    assert_eq!((c.requests, c.clients), (3, 2));
    // Alibaba 2021 microservices: timestamp and rt in ms, per service; negative rt skipped.
    let ali = "timestamp,traceid,service,rpc_id,rpctype,um,uminstanceid,interface,dm,dminstanceid,rt\r\n\
               1000,t1,S1,0,http,U,u1,i,D,d1,12\r\n\
               1004,t2,S2,0,rpc,U,u1,i,D,d2,-3\r\n\
               1002,t3,S2,0,rpc,U,u1,i,D,d2,0.5\r\n";
    let c = convert(TraceFormat::Alibaba, ali, "ali.csv").unwrap();
    assert_eq!(c.csv, "time,demand,client,key\n0,0.012,0,S1\n0.002,0.0005,1,S2\n");
    assert!(c.notes.iter().any(|n| n.contains("1 row(s) with a negative `rt` skipped")), "{:?}", c.notes);
    // An access log with $request_time last; one second's requests spread over it.
    let log = "10.0.0.1 - - [10/Oct/2000:13:55:36 -0700] \"GET / HTTP/1.0\" 200 2326 0.005\n\
               10.0.0.2 - - [10/Oct/2000:13:55:36 -0700] \"GET /a HTTP/1.0\" 200 12 0.010\n\
               10.0.0.1 - - [10/Oct/2000:13:55:37 -0700] \"GET /b,c?x=1 HTTP/1.0\" 200 12 1.5\n";
    let c = convert(TraceFormat::AccessLog, log, "access.log").unwrap();
    assert_eq!(c.csv, "time,demand,client,key\n0,0.005,0,/\n0.5,0.01,1,/a\n1,1.5,0,\"/b,c\"\n");
    // The key column is read back: the path, without its query, is each request's key.
    let read = lbsim::trace::Trace::parse(c.csv.as_bytes(), "t.csv").unwrap();
    let k = lbsim::trace::key_of;
    assert_eq!(read.keys, Some(vec![k("/"), k("/a"), k("/b,c")]));
    // lbsim reads what they write.
    let dir = scratch("traces");
    dir.file("t.csv", &c.csv);
    let scenario = dir.file("s.toml", "[arrivals]\nkind = \"trace\"\nfile = \"t.csv\"\n");
    ok(&["check", &scenario]);
    // Bad rows name the file, line and column.
    let bad =
        convert(TraceFormat::Azure, "app,func,end_timestamp,duration\na,f,x,1\n", "azure.csv").unwrap_err();
    assert_eq!(bad.to_string(), "azure.csv:2: end_timestamp: `x` is not a number");
    let bad = convert(TraceFormat::Alibaba, "timestamp,service\n1,a\n", "ali.csv").unwrap_err();
    assert_eq!(bad.to_string(), "ali.csv:1: rt: no `rt` column (the header has: timestamp, service)");
    let bad = convert(
        TraceFormat::AccessLog,
        "10.0.0.1 - - [10/Oct/2000:13:55:36 -0700] \"GET /\" 200 1 -\n",
        "a.log",
    )
    .unwrap_err();
    assert_eq!(
        bad.to_string(),
        "a.log:1: request_time: `-` is not a request time in seconds (the last field)"
    );
    let file = dir.file("access.log", log);
    let out = lbsim(&["trace", "import", "access-log", &file]);
    assert_eq!(stdout(&out), c.csv, "{}", stderr(&out));
}

/// A JSON report without its wall-clock time (the one field that is not the seed's).
fn json_report(args: &[&str]) -> (serde_json::Value, String) {
    let out = lbsim(args);
    assert_eq!(out.status.code(), Some(0), "{args:?}: {}", stderr(&out));
    let mut v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    v["wall_time_s"] = 0.into();
    (v, stderr(&out))
}

#[test]
fn run_takes_a_proxy_configuration_directly_and_runs_what_the_import_writes() {
    let dir = scratch("direct");
    for (format, file) in [("envoy", "envoy.yaml"), ("nginx", "nginx.conf"), ("haproxy", "haproxy.cfg")] {
        // Recognised by content: a copy under a name that says nothing.
        let config = dir.file(&format!("{format}.txt"), example(file));
        let written = dir.0.join(format!("{format}.toml"));
        let written = written.to_str().unwrap();
        let imported = lbsim(&["import", format, &config, "--output", written]);
        assert_eq!(imported.status.code(), Some(0), "{}", stderr(&imported));
        let run = ["--headless", "--requests", "3000", "--seed", "11", "--format", "json"];
        let (direct, notes) = json_report(&[&["run", "--scenario", &config][..], &run].concat());
        let (via_toml, _) = json_report(&[&["run", "--scenario", written][..], &run].concat());
        assert_eq!(direct, via_toml, "{format}: --scenario CONFIG runs what `lbsim import` writes");
        assert_eq!(notes, stderr(&imported), "{format}: the same notes on standard error");
        assert!(notes.contains("not modelled or modelled differently"), "{notes}");
        // The usual flags override the import's defaults for traffic and service.
        let (faster, _) = json_report(
            &[&["run", "--scenario", &config, "--service", "exp:5ms", "--load", "0.5"][..], &run].concat(),
        );
        assert_ne!(faster, direct, "{format}: --service and --load apply");
        ok(&["check", &config]);
        ok(&["compare", "--scenario", &config, "--strategies", "round-robin,random", "--requests", "500"]);
    }
}

#[test]
fn a_cluster_is_picked_with_file_hash_name_and_other_files_get_one_line() {
    let dir = scratch("select");
    let two = dir.file(
        "two.yaml",
        "static_resources:\n  clusters:\n  - name: a\n    lb_policy: RANDOM\n  - name: b\n    lb_policy: MAGLEV\n",
    );
    let run = |arg: &str| Ran::from(lbsim(&["run", "--scenario", arg, "--headless", "--requests", "200"]));
    assert_refused(&run(&two), &["two.yaml", "several clusters (a, b)", "--scenario", "two.yaml#NAME"]);
    let (v, _) = json_report(&[
        "run",
        "--scenario",
        &format!("{two}#b"),
        "--headless",
        "--requests",
        "200",
        "--format",
        "json",
    ]);
    assert_eq!(v["strategy"], "maglev");
    assert_refused(&run(&format!("{two}#c")), &["no cluster named `c` (the file has: a, b)"]);
    // `#NAME` on a scenario file is refused; so is a file that is neither.
    let toml = dir.file("s.toml", "[arrivals]\nkind = \"poisson\"\nload = 0.5\n");
    assert_refused(&run(&format!("{toml}#b")), &["s.toml", "is not one"]);
    let neither = dir.file("notes.txt", "hello: world\nthis is not a configuration\n");
    assert_refused(&run(&neither), &["notes.txt: neither a scenario (TOML", "Envoy", "nginx", "HAProxy"]);
    // A broken TOML scenario still gets its own line and column.
    let broken = dir.file("broken.toml", "[arrivals]\nload = \n");
    assert_refused(&run(&broken), &["broken.toml:2"]);
}

#[test]
fn proxy_configurations_are_recognised_by_content() {
    use lbsim::import::recognise;
    assert_eq!(recognise(&example("envoy.yaml")), Some(Format::Envoy));
    assert_eq!(recognise(&example("nginx.conf")), Some(Format::Nginx));
    assert_eq!(recognise(&example("haproxy.cfg")), Some(Format::Haproxy));
    assert_eq!(recognise("{\"name\": \"c\", \"lb_policy\": \"RANDOM\"}"), Some(Format::Envoy));
    assert_eq!(recognise(&envoy_cluster("RANDOM")), Some(Format::Envoy));
    assert_eq!(recognise("upstream u{\n server a;\n}\n"), Some(Format::Nginx));
    assert_eq!(recognise("backend app\n  server s a:1\n"), Some(Format::Haproxy));
    assert_eq!(recognise("[arrivals]\nkind = \"poisson\"\n"), None);
    assert_eq!(recognise("name = \"x\"\n"), None);
}
