//! HAProxy `backend` (or `listen`) sections with the `defaults` before them (HAProxy's
//! configuration manual: `balance`, `hash-type`, `hash-balance-factor`, `server` and
//! `default-server` options, `retries`, `option redispatch`, `timeout server|queue`).

use super::words::haproxy_time;
use super::{Draft, Format, ImportError, Src, Worker, duration, quote};
use crate::time::{Nanos, SECS};

/// The words that open a section.
const SECTIONS: [&str; 13] = [
    "global",
    "defaults",
    "frontend",
    "backend",
    "listen",
    "resolvers",
    "peers",
    "userlist",
    "mailers",
    "program",
    "http-errors",
    "ring",
    "cache",
];

/// A configuration line: its number and its words.
type Line = (usize, Vec<String>);

/// A section: its keyword, name and lines.
struct Section {
    kind: String,
    name: String,
    line: usize,
    lines: Vec<Line>,
}

fn err(origin: &str, line: usize, key: &str, problem: impl Into<String>) -> ImportError {
    ImportError { origin: origin.into(), line, key: key.into(), problem: problem.into() }
}

fn sections(text: &str) -> Vec<Section> {
    let mut out: Vec<Section> = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let code = match raw.find('#') {
            Some(p) if p == 0 || raw[..p].ends_with(char::is_whitespace) => &raw[..p],
            _ => raw,
        };
        let words: Vec<String> = code.split_whitespace().map(|w| w.trim_matches('"').to_string()).collect();
        let Some(first) = words.first() else { continue };
        if SECTIONS.contains(&first.as_str()) {
            out.push(Section {
                kind: first.clone(),
                name: words.get(1).cloned().unwrap_or_default(),
                line: i + 1,
                lines: Vec::new(),
            });
        } else if let Some(s) = out.last_mut() {
            s.lines.push((i + 1, words));
        }
    }
    out
}

/// Imports the backend named `select`, or the file's only one.
pub fn import(text: &str, origin: &str, select: Option<&str>) -> Result<Draft, ImportError> {
    let all = sections(text);
    let backends: Vec<usize> =
        (0..all.len()).filter(|&i| matches!(all[i].kind.as_str(), "backend" | "listen")).collect();
    let names = || backends.iter().map(|&i| all[i].name.clone()).collect::<Vec<_>>().join(", ");
    let at = match select {
        Some(s) => *backends.iter().find(|&&i| all[i].name == s).ok_or_else(|| {
            err(origin, 0, "backend", format!("no backend named `{s}` (the file has: {})", names()))
        })?,
        None => match backends.as_slice() {
            [] => {
                return Err(err(
                    origin,
                    0,
                    "backend",
                    "the file has no `backend NAME` (or `listen NAME`) section",
                ));
            }
            [one] => *one,
            _ => {
                return Err(err(
                    origin,
                    0,
                    "backend",
                    format!("the file has several backends ({}): pick one with --backend NAME", names()),
                ));
            }
        },
    };
    let backend = &all[at];
    let mut draft = Draft::new(Format::Haproxy, origin, format!("backend \"{}\"", backend.name));
    // The last `defaults` before the backend applies, then the backend's own lines.
    let defaults = all[..at].iter().rev().find(|s| s.kind == "defaults");
    let lines: Vec<&Line> =
        defaults.iter().flat_map(|d| d.lines.iter()).chain(backend.lines.iter()).collect();
    let mut state = State::default();
    for (line, words) in &lines {
        keyword(&mut draft, &mut state, *line, words, origin)?;
    }
    if draft.workers.is_empty() {
        return Err(err(
            origin,
            backend.line,
            "server",
            "the backend has no server that is neither `backup` nor `disabled`",
        ));
    }
    finish(&mut draft, &state, backend.line);
    Ok(draft)
}

/// What the lines set, gathered before the scenario is written.
#[derive(Default)]
struct State {
    balance: Option<(Vec<String>, Src)>,
    consistent: Option<Src>,
    balance_factor: Option<(f64, Src)>,
    defaults: Vec<String>,
    /// (interval, fall, rise, source) of the first server with `check`.
    check: Option<(Nanos, u32, u32, Src)>,
    slowstart: Option<(Nanos, Src)>,
    retries: Option<(u32, Src)>,
    redispatch: Option<Src>,
    retry_on: Option<Src>,
}

fn keyword(
    draft: &mut Draft,
    st: &mut State,
    line: usize,
    w: &[String],
    origin: &str,
) -> Result<(), ImportError> {
    let two =
        matches!(w[0].as_str(), "timeout" | "option" | "no" | "http-request" | "http-check" | "tcp-check")
            && w.len() > 1;
    let (key, rest) = if two { (format!("{} {}", w[0], w[1]), &w[2..]) } else { (w[0].clone(), &w[1..]) };
    let src = Src::new(line, key, rest.join(" "));
    let arg = |i: usize| w.get(i).map(String::as_str).unwrap_or("");
    match w[0].as_str() {
        "balance" => st.balance = Some((w[1..].to_vec(), src)),
        "hash-type" => st.consistent = (arg(1) == "consistent").then_some(src),
        "hash-balance-factor" => {
            let f: f64 = arg(1)
                .parse()
                .map_err(|_| err(origin, line, "hash-balance-factor", "expected a percentage, e.g. 150"))?;
            st.balance_factor = (f > 0.0).then_some((f, src));
        }
        "default-server" => st.defaults = w[1..].to_vec(),
        "server" => server(draft, st, line, w, origin)?,
        "retries" => {
            let n = arg(1).parse().map_err(|_| err(origin, line, "retries", "expected a whole number"))?;
            st.retries = Some((n, src));
        }
        "retry-on" => st.retry_on = Some(src),
        "option" if arg(1) == "redispatch" => st.redispatch = Some(src),
        "no" if arg(1) == "option" && arg(2) == "redispatch" => st.redispatch = None,
        "timeout" => {
            let t = haproxy_time(arg(2)).ok_or_else(|| {
                err(origin, line, &format!("timeout {}", arg(1)), "expected a time such as 30s")
            })?;
            match arg(1) {
                "server" => {
                    draft.set("", "timeout", duration(t), &src);
                    draft.note(
                        &src,
                        "HAProxy's server timeout is on inactivity; lbsim's timeout is on the whole answer",
                    );
                }
                "queue" => draft.note(
                    &src,
                    "not modelled: lbsim's requests wait at the worker, not in the proxy's queue",
                ),
                _ => draft.note(&src, "not modelled (ignored)"),
            }
        }
        _ => draft.note(&src, "not modelled (ignored)"),
    }
    Ok(())
}

/// A server line's options (after `default-server`'s).
struct ServerOpts {
    check: bool,
    inter: Nanos,
    fall: u32,
    rise: u32,
    maxconn: Option<(u32, Src)>,
    maxqueue: Option<u32>,
    weight: f64,
    skip: Option<&'static str>,
}

fn server_options(
    draft: &mut Draft,
    st: &mut State,
    line: usize,
    name: &str,
    opts: &[String],
    origin: &str,
) -> Result<ServerOpts, ImportError> {
    let mut o = ServerOpts {
        check: false,
        inter: 2 * SECS,
        fall: 3,
        rise: 2,
        maxconn: None,
        maxqueue: None,
        weight: 1.0,
        skip: None,
    };
    let mut i = 0;
    while i < opts.len() {
        let k = opts[i].as_str();
        let v = opts.get(i + 1).map(String::as_str).unwrap_or("");
        let src = Src::new(line, format!("server {name} {k}"), v);
        let bad = |what: &str| err(origin, line, &format!("server {k}"), format!("`{v}`: {what}"));
        let int = || v.parse::<u32>().map_err(|_| bad("expected a whole number"));
        let time = || haproxy_time(v).ok_or_else(|| bad("expected a time such as 2s"));
        let takes_value = match k {
            "weight" => {
                match int()? {
                    0 => o.skip = Some("weight 0 takes no new requests: left out"),
                    n if n > 256 => return Err(bad("a weight is from 0 to 256")),
                    n => o.weight = n as f64,
                }
                true
            }
            "maxconn" => {
                o.maxconn = Some((int()?, src));
                true
            }
            "maxqueue" => {
                o.maxqueue = Some(int()?);
                true
            }
            "check" => {
                o.check = true;
                false
            }
            "inter" => {
                o.inter = time()?;
                true
            }
            "fall" => {
                o.fall = int()?.max(1);
                true
            }
            "rise" => {
                o.rise = int()?.max(1);
                true
            }
            "slowstart" => {
                let t = time()?;
                st.slowstart.get_or_insert((t, src));
                true
            }
            "backup" => {
                o.skip =
                    Some("a backup server (used only when the others are down) is not modelled: left out");
                false
            }
            "disabled" => {
                o.skip = Some("disabled: left out");
                false
            }
            _ => {
                // An option lbsim does not know; a value after it is named as well.
                draft.note(&src, "not modelled (ignored)");
                false
            }
        };
        i += 1 + usize::from(takes_value);
    }
    Ok(o)
}

fn server(
    draft: &mut Draft,
    st: &mut State,
    line: usize,
    w: &[String],
    origin: &str,
) -> Result<(), ImportError> {
    let name = w.get(1).cloned().unwrap_or_default();
    let address = w.get(2).cloned().unwrap_or_default();
    let opts: Vec<String> = st.defaults.iter().chain(w.iter().skip(3)).cloned().collect();
    let ServerOpts { check, inter, fall, rise, maxconn, maxqueue, weight, skip } =
        server_options(draft, st, line, &name, &opts, origin)?;
    let mut worker = Worker {
        label: format!("{name} {address}"),
        weight,
        queue_capacity: None,
        src: Src::new(line, "server", w[1..].join(" ")),
    };
    if let Some((n, src)) = maxconn {
        let total = n.max(1) - 1 + maxqueue.unwrap_or(0);
        if maxqueue.is_some_and(|q| q > 0) {
            worker.queue_capacity = Some(total);
        }
        draft.note(&src, &format!(
            "HAProxy sends a server at most maxconn requests and queues the rest in the proxy (up to maxqueue, 0 = unbounded), \
             where any server may take them; lbsim queues at the worker{}",
            if worker.queue_capacity.is_some() { format!(": queue_capacity = {total} (maxconn - 1 + maxqueue)") } else { ", unbounded".into() }
        ));
    }
    if check && st.check.is_none() {
        st.check = Some((
            inter,
            fall,
            rise,
            Src::new(
                line,
                format!("server {name} check inter/fall/rise"),
                format!("{} {fall} {rise}", crate::time::canonical(inter)),
            ),
        ));
    }
    match skip {
        Some(why) => draft.note(&Src::new(line, format!("server {name}"), ""), why),
        None => draft.workers.push(worker),
    }
    Ok(())
}

fn finish(draft: &mut Draft, st: &State, backend_line: usize) {
    strategy(draft, st, backend_line);
    match &st.check {
        Some((inter, fall, rise, src)) => {
            draft.set("health_check", "mode", quote("active"), src);
            draft.set("health_check", "interval", duration(*inter), src);
            draft.set("health_check", "unhealthy", fall.to_string(), src);
            draft.set("health_check", "healthy", rise.to_string(), src);
        }
        None => {
            let src = Src::new(0, "no `check` on any server: HAProxy never marks a server down", "");
            draft.set("health_check", "mode", quote("none"), &src);
        }
    }
    if let Some((window, src)) = &st.slowstart {
        draft.set("slow_start", "window", duration(*window), src);
        draft.set("slow_start", "min_weight_percent", "1".into(), src);
        draft.note(src, "HAProxy ramps a server's weight up from about zero when it comes back; lbsim from min_weight_percent \
             (set to 1%), one window for all workers");
    }
    let (retries, src) = match &st.retries {
        Some((n, s)) => (*n, s.clone()),
        None => (3, Src::new(0, "HAProxy's default: retries 3", "")),
    };
    if retries > 0 {
        draft.set("retry", "max", retries.to_string(), &src);
        draft.set("retry", "backoff", "\"0s\"".into(), &src);
        draft.set("retry", "max_backoff", "\"0s\"".into(), &src);
        if st.retry_on.is_none() {
            draft.note(&src, "HAProxy retries only connection failures unless `retry-on` says more; lbsim retries every failed \
                 attempt (its errors stand for 5xx answers)");
        }
        match &st.redispatch {
            Some(r) => draft.note(
                r,
                "HAProxy redispatches the last retry to another server; lbsim's strategy picks every retry \
                 afresh (it may pick the same worker)",
            ),
            None => draft.note(
                &src,
                "without `option redispatch` HAProxy retries on the same server; lbsim's strategy picks \
                 every retry afresh",
            ),
        }
    }
    if let Some(src) = &st.retry_on {
        draft.note(
            src,
            "the conditions are not modelled: lbsim retries errors, rejections and per-try timeouts",
        );
    }
}

fn strategy(draft: &mut Draft, st: &State, backend_line: usize) {
    let differ = draft.weights_differ();
    let (words, src) = st.balance.clone().unwrap_or_else(|| {
        (
            vec!["roundrobin".into()],
            Src::new(0, format!("HAProxy's default balance roundrobin (backend at line {backend_line})"), ""),
        )
    });
    let alg = words.first().map_or("roundrobin", String::as_str);
    let rr = if differ { "weighted-round-robin" } else { "round-robin" };
    let name = match alg {
        "roundrobin" => rr,
        "static-rr" => {
            draft.note(&src, "static-rr does not follow weight changes at run time; lbsim's weights never change but for slow start");
            rr
        }
        "leastconn" => {
            if differ {
                draft.note(&src, "HAProxy's leastconn weighs connections by server weight; lbsim's least-loaded ignores weights");
            }
            "least-loaded"
        }
        "first" => {
            draft.note(
                &src,
                "`first` (fill the first server up to its maxconn) is not modelled: least-loaded used",
            );
            "least-loaded"
        }
        a if a == "random" || a.starts_with("random(") => {
            let draws: usize = a
                .strip_prefix("random(")
                .and_then(|r| r.strip_suffix(')'))
                .and_then(|n| n.parse().ok())
                .unwrap_or(2);
            if differ {
                draft.note(&src, "HAProxy draws servers by weight; lbsim draws uniformly");
            }
            if draws <= 1 {
                "random"
            } else {
                draft.set("strategy", "choices", draws.to_string(), &src);
                "power-of-two"
            }
        }
        _ => {
            // source, uri, url_param, hdr(...), rdp-cookie, hash: hashing.
            draft.keyed(&format!("`balance {}` key", words.join(" ")));
            if differ {
                draft.note(&src, "lbsim's hashing strategies ignore weights");
            }
            if st.consistent.is_none() {
                draft.note(&src, "without `hash-type consistent` HAProxy maps the hash onto the server list (map-based); lbsim \
                     uses a consistent ring: the same spread, but fewer keys move when a server leaves");
            }
            if let Some((f, fsrc)) = &st.balance_factor {
                draft.set("strategy", "balance_factor", super::number(f / 100.0), fsrc);
                "bounded-hash"
            } else {
                "ring-hash"
            }
        }
    };
    draft.set("strategy", "name", quote(name), &src);
    if let Some(c) = &st.consistent {
        let src = c.clone();
        draft.note(
            &src,
            "mapped with the hashing strategy above (a consistent ring of 1,024 points per worker)",
        );
    }
}
