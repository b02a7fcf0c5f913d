//! nginx `upstream` blocks (nginx.org's `ngx_http_upstream_module` documentation) and the
//! `proxy_next_upstream*` / timeout directives of the locations that `proxy_pass` to them.

use super::words::{Directive, nginx_time};
use super::{Draft, Format, ImportError, Src, Worker, duration};
use crate::time::Nanos;

/// Imports the upstream named `select`, or the file's only one.
pub fn import(text: &str, origin: &str, select: Option<&str>) -> Result<Draft, ImportError> {
    let all = super::words::nginx(text, origin)?;
    let mut upstreams = Vec::new();
    collect(&all, &mut upstreams);
    let up = choose(&upstreams, origin, select)?;
    let name = up.args.first().cloned().unwrap_or_default();
    let mut draft = Draft::new(Format::Nginx, origin, format!("upstream \"{name}\""));
    let block = up.block.as_deref().unwrap_or_default();
    let fails = servers(&mut draft, block, origin)?;
    method(&mut draft, block, origin)?;
    passive_health(&mut draft, &fails);
    proxy(&mut draft, &all, &name, origin)?;
    Ok(draft)
}

fn collect<'a>(ds: &'a [Directive], out: &mut Vec<&'a Directive>) {
    for d in ds {
        if d.name == "upstream" && d.block.is_some() {
            out.push(d);
        } else if let Some(b) = &d.block {
            collect(b, out);
        }
    }
}

fn err(origin: &str, line: usize, key: &str, problem: impl Into<String>) -> ImportError {
    ImportError { origin: origin.into(), line, key: key.into(), problem: problem.into() }
}

fn choose<'a>(
    ups: &[&'a Directive],
    origin: &str,
    select: Option<&str>,
) -> Result<&'a Directive, ImportError> {
    let names = || ups.iter().filter_map(|u| u.args.first().cloned()).collect::<Vec<_>>().join(", ");
    match select {
        Some(s) => ups.iter().find(|u| u.args.first().is_some_and(|a| a == s)).copied().ok_or_else(|| {
            err(origin, 0, "upstream", format!("no upstream named `{s}` (the file has: {})", names()))
        }),
        None => match ups {
            [] => Err(err(origin, 0, "upstream", "the file has no `upstream NAME { ... }` block")),
            [one] => Ok(one),
            _ => Err(err(
                origin,
                0,
                "upstream",
                format!("the file has several upstreams ({}): pick one with --upstream NAME", names()),
            )),
        },
    }
}

/// A server's passive health settings: (line, max_fails, fail_timeout).
type Fails = Vec<(usize, u32, Nanos)>;

fn servers(draft: &mut Draft, block: &[Directive], origin: &str) -> Result<Fails, ImportError> {
    let mut fails = Vec::new();
    let mut slow_start: Option<(Nanos, Src)> = None;
    for d in block.iter().filter(|d| d.name == "server") {
        let Some(address) = d.args.first() else {
            return Err(err(origin, d.line, "server", "needs an address"));
        };
        let mut w = Worker {
            label: address.clone(),
            weight: 1.0,
            queue_capacity: None,
            src: Src::new(d.line, "server", d.args.join(" ")),
        };
        let (mut max_fails, mut fail_timeout, mut skip) = (1u32, 10 * crate::time::SECS, None);
        for arg in &d.args[1..] {
            let (k, v) = arg.split_once('=').unwrap_or((arg, ""));
            let src = Src::new(d.line, format!("server {address} {k}"), v);
            let bad = |what: &str| err(origin, d.line, &format!("server {k}"), format!("`{arg}`: {what}"));
            let int = || v.parse::<u32>().map_err(|_| bad("expected a whole number"));
            let time = || nginx_time(v).ok_or_else(|| bad("expected a time such as 10s"));
            match k {
                "weight" => match int()? {
                    0 => return Err(bad("a weight is at least 1")),
                    n => w.weight = n as f64,
                },
                "max_fails" => max_fails = int()?,
                "fail_timeout" => fail_timeout = time()?,
                "max_conns" => {
                    let n = int()?;
                    if n > 0 {
                        w.queue_capacity = Some(n - 1);
                        draft.note(&src, &format!(
                            "modelled as queue_capacity = {} (max_conns less the one request in service): lbsim rejects a request \
                             sent to a full worker, where nginx skips a full server and answers 502 only when all are full",
                            n - 1
                        ));
                    }
                }
                "slow_start" => slow_start = Some((time()?, src)),
                "backup" => {
                    skip = Some(
                        "a backup server (used only when the others are unavailable) is not modelled: left out",
                    )
                }
                "down" => skip = Some("marked `down`: left out"),
                _ => draft.note(&src, "not modelled (ignored)"),
            }
        }
        fails.push((d.line, max_fails, fail_timeout));
        match skip {
            Some(why) => draft.note(&Src::new(d.line, format!("server {address}"), ""), why),
            None => draft.workers.push(w),
        }
    }
    if draft.workers.is_empty() {
        return Err(err(
            origin,
            0,
            "server",
            "the upstream has no server that is neither `backup` nor `down`",
        ));
    }
    if let Some((window, src)) = slow_start {
        draft.set("slow_start", "window", duration(window), &src);
        draft.set("slow_start", "min_weight_percent", "1".into(), &src);
        draft.note(
            &src,
            "nginx ramps a recovered server's weight from zero; lbsim from min_weight_percent (set to 1%), \
             one window for all workers, and also ramps a worker that joins",
        );
    }
    Ok(fails)
}

/// nginx's default `max_fails=1 fail_timeout=10s`: passive health, as outlier ejection.
fn passive_health(draft: &mut Draft, fails: &Fails) {
    let Some(&(line, max, timeout)) = fails.iter().find(|f| f.1 > 0) else {
        let src = Src::new(fails.first().map_or(0, |f| f.0), "server max_fails", "0");
        draft.note(&src, "max_fails=0 on every server: no passive health check (no outlier ejection)");
        return;
    };
    let src = Src::new(
        line,
        "server max_fails/fail_timeout",
        format!("{max} / {}", crate::time::canonical(timeout)),
    );
    draft.set("outlier_ejection", "consecutive_errors", max.to_string(), &src);
    draft.set("outlier_ejection", "base_ejection", duration(timeout), &src);
    draft.set("outlier_ejection", "max_ejected", "1.0".into(), &src);
    draft.note(
        &src,
        "nginx marks a server unavailable for fail_timeout after max_fails failures within fail_timeout; \
         lbsim ejects after max_fails consecutive errors, for fail_timeout times the number of ejections",
    );
    if fails.iter().any(|f| (f.1, f.2) != (max, timeout)) {
        draft.note(
            &src,
            "servers differ in max_fails/fail_timeout: lbsim has one setting for all, this server's",
        );
    }
}

fn method(draft: &mut Draft, block: &[Directive], origin: &str) -> Result<(), ImportError> {
    let differ = draft.weights_differ();
    let mut strategy = None;
    for d in block.iter().filter(|d| d.name != "server") {
        let src = Src::new(d.line, d.name.clone(), d.args.join(" "));
        match d.name.as_str() {
            "least_conn" => {
                strategy = Some(("least-loaded", src.clone()));
                if differ {
                    draft.note(&src, "nginx's least_conn weighs connections by server weight; lbsim's least-loaded ignores weights");
                }
            }
            "random" => match d.args.first().map(String::as_str) {
                None => {
                    strategy = Some(("random", src.clone()));
                    if differ {
                        draft.note(&src, "nginx picks at random by weight; lbsim's random ignores weights");
                    }
                }
                Some("two") => {
                    strategy = Some(("power-of-two", src.clone()));
                    draft.set("strategy", "choices", "2".into(), &src);
                    match d.args.get(1).map(String::as_str) {
                        None | Some("least_conn") => {}
                        Some(m) => draft.note(
                            &src,
                            &format!("method `{m}` is not modelled: least_conn (fewest pending) used"),
                        ),
                    }
                    if differ {
                        draft.note(
                            &src,
                            "nginx draws the two servers by weight; lbsim's power-of-two draws uniformly",
                        );
                    }
                }
                Some(other) => {
                    return Err(err(
                        origin,
                        d.line,
                        "random",
                        format!("`{other}`: expected `two` or nothing"),
                    ));
                }
            },
            "ip_hash" => {
                strategy = Some(("ring-hash", src.clone()));
                draft.keyed("client address");
                draft.note(&src, "nginx hashes the first three octets of the client's IPv4 address over the weighted server list \
                     (not consistent); lbsim hashes a request key on a consistent ring, ignoring weights: the same stickiness, \
                     but fewer keys move when a server leaves");
            }
            "hash" => {
                let Some(key) = d.args.first() else {
                    return Err(err(
                        origin,
                        d.line,
                        "hash",
                        "needs a key, e.g. `hash $request_uri consistent`",
                    ));
                };
                strategy = Some(("ring-hash", src.clone()));
                draft.keyed(&format!("hash key `{key}`"));
                if d.args.get(1).is_some_and(|a| a == "consistent") {
                    draft.set("strategy", "ring_size", "160".into(), &src);
                    if differ {
                        draft.note(&src, "ketama gives a server 160 points per unit of weight; lbsim 160 points to every worker");
                    }
                } else {
                    draft.note(&src, "without `consistent`, nginx maps a key onto the weighted server list by its hash modulo \
                         the list; lbsim uses a consistent ring (160 points each): the same spread of keys, but fewer \
                         move when a server leaves");
                    draft.set("strategy", "ring_size", "160".into(), &src);
                }
            }
            _ => draft.note(&src, "not modelled (ignored)"),
        }
    }
    let (name, src) = strategy.unwrap_or_else(|| {
        let name = if differ { "weighted-round-robin" } else { "round-robin" };
        (name, Src::new(0, "nginx's default: (smooth weighted) round robin", ""))
    });
    draft.set("strategy", "name", super::quote(name), &src);
    Ok(())
}

/// The inheritable proxy settings in force where `proxy_pass` names the upstream.
fn proxy(draft: &mut Draft, all: &[Directive], name: &str, origin: &str) -> Result<(), ImportError> {
    let mut found = None;
    find_pass(all, name, &mut Vec::new(), &mut found);
    let Some((pass_line, settings)) = found else {
        draft.note(
            &Src::new(0, "proxy_pass", ""),
            &format!(
                "no `proxy_pass http://{name}` in the file: no retries or timeouts set (nginx's defaults are \
                 proxy_next_upstream error timeout, proxy_read_timeout 60s)"
            ),
        );
        return Ok(());
    };
    let get = |k: &str| settings.iter().rev().find(|d| d.name == k).copied();
    let conditions: Vec<String> =
        get("proxy_next_upstream").map_or(vec!["error".into(), "timeout".into()], |d| d.args.clone());
    let tries = match get("proxy_next_upstream_tries") {
        Some(d) => d
            .args
            .first()
            .and_then(|a| a.parse::<u32>().ok())
            .ok_or_else(|| err(origin, d.line, "proxy_next_upstream_tries", "expected a whole number"))?,
        None => 0,
    };
    let time = |d: &Directive| {
        d.args
            .first()
            .and_then(|a| nginx_time(a))
            .ok_or_else(|| err(origin, d.line, &d.name, "expected a time such as 60s"))
    };
    let read = get("proxy_read_timeout").map(|d| time(d).map(|t| (t, d))).transpose()?;
    let src_of = |d: Option<&Directive>, default: &str| match d {
        Some(d) => Src::new(d.line, d.name.clone(), d.args.join(" ")),
        None => Src::new(0, format!("nginx's default {default} (at proxy_pass, line {pass_line})"), ""),
    };
    let servers = draft.workers.len() as u32;
    let retries = if conditions.iter().any(|c| c == "off") {
        0
    } else if tries == 0 {
        servers - 1
    } else {
        (tries - 1).min(servers - 1)
    };
    let next = src_of(get("proxy_next_upstream"), "proxy_next_upstream error timeout");
    if retries > 0 {
        draft.set(
            "retry",
            "max",
            retries.to_string(),
            &src_of(get("proxy_next_upstream_tries"), "proxy_next_upstream_tries 0 (each server once)"),
        );
        draft.set("retry", "backoff", "\"0s\"".into(), &next);
        draft.set("retry", "max_backoff", "\"0s\"".into(), &next);
        if !conditions.iter().any(|c| c.starts_with("http_5") || c == "http_503") {
            draft.note(
                &next,
                "nginx passes on to the next server on these conditions only; lbsim retries every failed \
                 attempt (its errors stand for 5xx answers), and may pick the same worker again",
            );
        }
        if let Some((t, d)) = read.filter(|_| conditions.iter().any(|c| c == "timeout")) {
            draft.set("retry", "per_try_timeout", duration(t), &src_of(Some(d), ""));
        }
    } else if let Some((t, d)) = read {
        draft.set("", "timeout", duration(t), &src_of(Some(d), ""));
        draft.note(
            &src_of(Some(d), ""),
            "nginx's read timeout runs between two reads; lbsim's timeout is on the whole answer",
        );
    }
    for d in settings.iter().filter(|d| {
        matches!(
            d.name.as_str(),
            "proxy_next_upstream_timeout" | "proxy_connect_timeout" | "proxy_send_timeout"
        )
    }) {
        draft.note(&src_of(Some(d), ""), "not modelled (ignored): lbsim has no connections");
    }
    Ok(())
}

/// Finds the first `proxy_pass` to `name`, with the proxy settings inherited there.
fn find_pass<'a>(
    ds: &'a [Directive],
    name: &str,
    inherited: &mut Vec<&'a Directive>,
    found: &mut Option<(usize, Vec<&'a Directive>)>,
) {
    let depth = inherited.len();
    inherited.extend(ds.iter().filter(|d| d.name.starts_with("proxy_") && d.name != "proxy_pass"));
    for d in ds {
        if found.is_some() {
            break;
        }
        if d.name == "proxy_pass" && d.args.first().is_some_and(|a| targets(a, name)) {
            *found = Some((d.line, inherited.clone()));
        } else if let Some(b) = &d.block {
            find_pass(b, name, inherited, found);
        }
    }
    inherited.truncate(depth);
}

fn targets(url: &str, name: &str) -> bool {
    let rest = url.strip_prefix("http://").or_else(|| url.strip_prefix("https://")).unwrap_or(url);
    rest.split(['/', '?']).next() == Some(name)
}
