//! The human-readable tables.

use std::fmt::Write;

use super::Report;
use crate::engines::EngineKind;
use crate::text::escape;

/// What a table shows for a latency when nothing completed.
const NA: &str = "n/a";

/// Most worker rows shown in a run table; the JSON report has them all.
const MAX_WORKER_ROWS: usize = 32;

fn header(r: &Report) -> String {
    let load = r.offered_load.map(|l| format!(" (load {l:.2})")).unwrap_or_default();
    let ran = match &r.live {
        None => format!("simulated {:.1}s of virtual time", r.sim_time_s),
        Some(l) => format!(
            "ran live (tokio tasks, {} work, {} threads, time scale {}): {:.1}s of scenario time",
            l.work.name(),
            l.threads,
            l.time_scale,
            r.sim_time_s
        ),
    };
    format!(
        "arrivals {}{load} · service {} · {}\n{ran} ({:.1}s measured) in {:.2}s\n",
        r.arrivals, r.service, r.cluster, r.measured_time_s, r.wall_time_s
    )
}

/// The table for `lbsim run`.
pub fn run_table(r: &Report) -> String {
    let strategy = match r.strategy_spans.as_slice() {
        [] => format!("strategy {}", escape(&r.strategy)),
        spans => {
            let names: Vec<String> = spans.iter().map(|s| escape(&s.strategy).into_owned()).collect();
            format!("strategies {}", names.join(", then "))
        }
    };
    let mut out = format!("lbsim run · scenario {} · {strategy} · seed {}\n", escape(&r.scenario), r.seed);
    out += &header(r);
    out += &request_lines(r);
    out.push('\n');
    out += &latency_lines(r);
    out += &balancer_lines(r);
    out += &worker_lines(r);
    out += &live_lines(r);
    out += &interventions(r);
    out
}

/// What became of the requests and their attempts, the goodput and the scaling actions.
fn request_lines(r: &Report) -> String {
    let mut out = String::new();
    let c = &r.requests;
    // A live run cancels what is still in flight at shutdown; the model never does (its runs
    // end with such requests in flight), so only a live run's line names them.
    let cancelled = match r.engine {
        EngineKind::Live => format!("  cancelled {}", c.cancelled),
        EngineKind::Sim => String::new(),
    };
    let _ = writeln!(
        out,
        "\nrequests    sent {}  completed {}  rejected {}  failed {}  timed out {}{cancelled}  in flight {}",
        c.sent, c.completed, c.rejected, c.failed, c.timed_out, c.in_flight
    );
    let a = &r.attempts;
    let e = &a.errors;
    if a.retries > 0 || e.worker_error + e.crash + e.rejected + e.timed_out > 0 || a.blocked > 0 {
        let _ = writeln!(
            out,
            "attempts    {} ({} retries, amplification {:.2}x)  errors: worker {}  crash {}  rejected {}  timed out {}",
            a.total, a.retries, a.retry_amplification, e.worker_error, e.crash, e.rejected, e.timed_out
        );
        if a.blocked > 0 {
            let _ = writeln!(out, "blocked     {} requests waited at the balancer", a.blocked);
        }
        if a.wasted_work_s > 0.0 {
            let _ =
                writeln!(out, "wasted work {:.2}s of service for answers nobody waited for", a.wasted_work_s);
        }
    }
    let _ =
        writeln!(out, "goodput     {:.1}/s  (workers served {:.1} attempts/s)", r.goodput_rps, r.served_rps);
    const MAX_SCALING_LINES: usize = 12;
    if r.scaling.len() > MAX_SCALING_LINES {
        let _ = writeln!(out, "scaling     {} actions; the last {}:", r.scaling.len(), MAX_SCALING_LINES);
    }
    for s in r.scaling.iter().skip(r.scaling.len().saturating_sub(MAX_SCALING_LINES)) {
        let _ = writeln!(
            out,
            "scaling     {:>8.1}s worker {} {:?} -> {} workers",
            s.time_s, s.worker, s.action, s.workers
        );
    }
    out
}

/// The latency table: end to end, queue wait and service.
fn latency_lines(r: &Report) -> String {
    let mut out = String::new();
    let l = &r.latency_ms;
    let titles = ["mean", "p50", "p90", "p99", "p99.9", "max"];
    let _ = writeln!(out, "{:<12}{}", "(ms)", titles.map(|t| format!("{t:>11}")).concat());
    // (shown, value): blank when not shown, n/a when nothing was recorded.
    let row = |name: &str, count: u64, cells: [Option<f64>; 6]| {
        let cells = cells.map(|c| {
            let text = match c {
                None => String::new(),
                Some(_) if count == 0 => NA.to_string(),
                Some(v) => millis(v),
            };
            format!("{text:>11}")
        });
        format!("{name:<12}{}", cells.concat()).trim_end().to_string() + "\n"
    };
    out += &row("latency", l.count, [l.mean, l.p50, l.p90, l.p99, l.p999, l.max].map(Some));
    for (name, s) in [("queue wait", &r.queue_wait_ms), ("service", &r.service_ms)] {
        out += &row(name, s.count, [Some(s.mean), None, None, Some(s.p99), None, None]);
    }
    let measured = l.is_known().then_some((l.mean, l.p99));
    out += &super::theory_line(&r.theory, measured);
    out.push('\n');
    out
}

/// One line per worker (the first [`MAX_WORKER_ROWS`]).
fn worker_lines(r: &Report) -> String {
    let mut out = String::new();
    let faulty = r.workers.iter().any(|w| w.errors > 0 || w.ejections > 0 || w.downtime_s > 0.0);
    let _ = write!(
        out,
        "\n{:>6}{:>8}{:>11}{:>11}{:>7}{:>14}{:>13}",
        "worker", "speed", "picks", "completed", "util", "mean pending", "max pending"
    );
    out += if faulty { "   errors  ejected  down s\n" } else { "\n" };
    for w in r.workers.iter().take(MAX_WORKER_ROWS) {
        let down = if w.up { "" } else { "  down" };
        let _ = write!(
            out,
            "{:>6}{:>8.2}{:>11}{:>11}{:>7.2}{:>14.2}{:>13}",
            w.id, w.speed, w.picks, w.completed, w.utilization, w.mean_pending, w.max_pending
        );
        if faulty {
            let _ = write!(out, "{:>9}{:>9}{:>8.1}", w.errors, w.ejections, w.downtime_s);
        }
        let _ = writeln!(out, "{down}");
    }
    if r.workers.len() > MAX_WORKER_ROWS {
        let _ = writeln!(
            out,
            "  ... and {} more workers (all are in --format json)",
            r.workers.len() - MAX_WORKER_ROWS
        );
    }
    out
}

/// The commands applied during the run, and what each strategy measured when the strategy
/// was switched: lines for the end of a table (none when nothing was changed).
fn interventions(r: &Report) -> String {
    let mut out = String::new();
    if !r.interventions.is_empty() {
        out += "\nchanged during the run (virtual time):\n";
        for i in &r.interventions {
            let _ = writeln!(out, "{:>10.3}s  {}", i.at_s, escape(&i.what));
        }
    }
    if !r.strategy_spans.is_empty() {
        let width =
            r.strategy_spans.iter().map(|s| escape(&s.strategy).chars().count()).max().unwrap_or(8).max(8);
        let _ = writeln!(out, "\nby strategy (requests that ended while it was in force; latency in ms):");
        let _ = writeln!(
            out,
            "{:<width$}  {:>9}  {:>9}  {:>9}  {:>10}  {:>8}  {:>8}",
            "strategy", "from s", "to s", "completed", "unanswered", "mean", "p99"
        );
        for s in &r.strategy_spans {
            let figure = |v: f64| if s.latency_ms.is_known() { four_digits(v) } else { NA.to_string() };
            let _ = writeln!(
                out,
                "{:<width$}  {:>9.3}  {:>9.3}  {:>9}  {:>10}  {:>8}  {:>8}",
                escape(&s.strategy),
                s.from_s,
                s.to_s,
                s.completed,
                s.unanswered,
                figure(s.latency_ms.mean),
                figure(s.latency_ms.p99)
            );
        }
    }
    out
}

/// Most balancer replicas listed by name in a run table; the JSON report has them all.
const MAX_BALANCER_ITEMS: usize = 16;

/// The fairness of the picks, and with several balancer replicas, each one's picks.
fn balancer_lines(r: &Report) -> String {
    let mut out = String::new();
    if let Some(j) = r.fairness_jain {
        let _ = writeln!(out, "fairness    Jain's index {j:.4} over picks / capacity (1 = in proportion)");
    }
    if let Some(k) = &r.keys {
        let hits = match k.cache_hit_rate {
            Some(rate) => format!(
                " · cache hits {:.1}% ({} of {})",
                rate * 100.0,
                k.cache_hits,
                k.cache_hits + k.cache_misses
            ),
            None => String::new(),
        };
        let _ = writeln!(
            out,
            "keys        {} {}{hits} · remapped about {:.0} in {} changes",
            k.count, k.popularity, k.remapped, k.remaps
        );
    }
    if r.balancers.len() > 1 {
        let total: u64 = r.balancers.iter().map(|b| b.picks).sum();
        let shown: Vec<String> =
            r.balancers.iter().take(MAX_BALANCER_ITEMS).map(|b| format!("{}:{}", b.id, b.picks)).collect();
        let more = r.balancers.len().saturating_sub(MAX_BALANCER_ITEMS);
        let more = if more > 0 { format!(" ... and {more} more") } else { String::new() };
        let _ = writeln!(
            out,
            "balancers   {} replicas, {total} picks: {}{more}",
            r.balancers.len(),
            shown.join(" ")
        );
    }
    out
}

/// What only a live run measured: lines for the end of its table.
pub fn live_lines(r: &Report) -> String {
    let Some(l) = &r.live else { return String::new() };
    let mut out = String::from("\nwhat the model cannot see (live run):\n");
    let _ = writeln!(
        out,
        "  cancelled   {} requests cut off at shutdown (after a {:.1}s grace)",
        r.requests.cancelled, l.grace_s
    );
    let _ = writeln!(
        out,
        "  lateness    timers and hand-offs ran late by {:.3} ms mean, p50 {:.3}, p99 {:.3}, max {:.3} ({} measured)",
        l.lateness_mean_ms, l.lateness_p50_ms, l.lateness_p99_ms, l.lateness_max_ms, l.lateness_samples
    );
    let _ = writeln!(
        out,
        "  balancer    busy {:.1}% of the time ({} events); its inbox held {} requests at most, {:.1} on average",
        l.balancer_utilization * 100.0,
        l.balancer_events,
        l.balancer_queue_max,
        l.balancer_queue_mean
    );
    let _ = writeln!(
        out,
        "  runtime     {} worker threads, {} tasks alive at most, global queue {} at most; {} tasks left at shutdown",
        l.runtime_workers, l.runtime_alive_tasks_max, l.runtime_global_queue_max, l.tasks_left_at_shutdown
    );
    out
}

/// The lines above a comparison's table: the scenario and seed, that the workload is the same
/// for every strategy, and (live) that they ran one after another.
fn compare_heading(first: &Report) -> String {
    let mut out = format!("lbsim compare · scenario {} · seed {}\n", escape(&first.scenario), first.seed);
    out += "the same arrivals and demands for every strategy\n";
    out += header(first).lines().next().unwrap_or_default();
    out.push('\n');
    if first.live.as_ref().is_some_and(|l| l.sequential) {
        out +=
            "live engine: the strategies ran one after another, never at once (they would share the CPU)\n";
    }
    out
}

/// The side-by-side table for `lbsim compare`, best value per column marked with `*`. A
/// strategy that completed nothing has no latencies (n/a), and is never marked best on them.
pub fn compare_table(reports: &[Report]) -> String {
    let Some(first) = reports.first() else {
        return String::new();
    };
    let mut out = compare_heading(first);
    // (title, value (None: n/a), lower is better)
    type Column = (&'static str, fn(&Report) -> Option<f64>, bool);
    let all: [Column; 13] = [
        ("mean", |r| latency(r, r.latency_ms.mean), true),
        ("p50", |r| latency(r, r.latency_ms.p50), true),
        ("p90", |r| latency(r, r.latency_ms.p90), true),
        ("p99", |r| latency(r, r.latency_ms.p99), true),
        ("p99.9", |r| latency(r, r.latency_ms.p999), true),
        ("max", |r| latency(r, r.latency_ms.max), true),
        ("goodput/s", |r| Some(r.goodput_rps), false),
        ("rejected", |r| Some(r.requests.rejected as f64), true),
        ("failed", |r| Some(r.requests.failed as f64), true),
        ("timed out", |r| Some(r.requests.timed_out as f64), true),
        ("attempts/req", |r| Some(r.attempts.retry_amplification), true),
        ("cancelled", |r| Some(r.requests.cancelled as f64), true),
        // Still waiting for an answer when the run ended: not in the latencies.
        ("in flight", |r| Some(r.requests.in_flight as f64), true),
    ];
    let name_width = reports.iter().map(|r| escape(&r.strategy).chars().count()).max().unwrap_or(8).max(8);
    // The fault columns only when something happened in them.
    let columns: Vec<(usize, Column)> = all
        .into_iter()
        .enumerate()
        .filter(|(i, (_, value, _))| {
            let quiet = if *i == 10 { 1.0 } else { 0.0 };
            *i < 7 || reports.iter().any(|r| value(r).is_some_and(|v| v != quiet))
        })
        .collect();
    // Each column's figures with the same decimals, so that the points line up: latencies
    // to about four significant digits of the column's largest, counts whole, ratios to 2.
    let texts: Vec<Vec<String>> = columns
        .iter()
        .map(|(i, (_, value, _))| {
            let largest = reports.iter().filter_map(value).map(f64::abs).fold(0.0, f64::max);
            let decimals = match i {
                0..=5 => 4usize.saturating_sub(int_digits(largest)).min(3),
                10 => 2,
                _ => 0,
            };
            reports.iter().map(|r| value(r).map_or(NA.to_string(), |v| format!("{v:.decimals$}"))).collect()
        })
        .collect();
    // The best in each column, as printed: every row that prints it is marked, and none when
    // all rows print the same.
    let marks: Vec<Vec<bool>> = columns
        .iter()
        .zip(&texts)
        .map(|((_, (_, value, lower)), texts)| {
            let values: Vec<Option<f64>> = reports.iter().map(value).collect();
            let best = values.iter().flatten().copied().reduce(if *lower { f64::min } else { f64::max });
            let best_text = best.and_then(|b| values.iter().position(|v| *v == Some(b)).map(|i| &texts[i]));
            let all_same = texts.iter().all(|t| Some(t) == best_text);
            texts.iter().map(|t| reports.len() > 1 && !all_same && Some(t) == best_text).collect()
        })
        .collect();
    let widths: Vec<usize> = columns
        .iter()
        .zip(&texts)
        .map(|((_, (title, _, _)), texts)| {
            texts.iter().map(|t| t.len() + 1).max().unwrap_or(0).max(title.len())
        })
        .collect();
    // Two spaces between columns, so that titles of two words ("timed out") never run into
    // their neighbours. Without fault columns the table fits 80 columns.
    let gap = "  ";
    let _ = write!(out, "\n{:<name_width$}", "strategy");
    for ((_, (title, _, _)), width) in columns.iter().zip(&widths) {
        let _ = write!(out, "{gap}{title:>width$}");
    }
    out.push('\n');
    for (row, r) in reports.iter().enumerate() {
        let _ = write!(out, "{:<name_width$}", escape(&r.strategy));
        for ((texts, marks), width) in texts.iter().zip(&marks).zip(&widths) {
            let mark = if marks[row] { "*" } else { " " };
            let _ = write!(out, "{gap}{:>w$}{mark}", texts[row], w = width - 1);
        }
        out.truncate(out.trim_end_matches(' ').len());
        out.push('\n');
    }
    out += "latencies in ms (mean to max, answered requests only) · * best in column\n";
    if let Some(line) = p99_verdict(reports) {
        for part in crate::text::wrap(&line, 80) {
            out += &part;
            out.push('\n');
        }
    }
    out += &theory_lines(reports, name_width);
    out += &accounting_lines(reports, name_width);
    // Compare applies every command to every strategy alike: listed once.
    out += &interventions(first);
    out
}

/// What theory predicts beside what each strategy measured (issue 23), a line each, cut to
/// 80 columns; one line when no strategy has a closed form, for the same reason.
fn theory_lines(reports: &[Report], name_width: usize) -> String {
    let cells: Vec<String> = reports
        .iter()
        .map(|r| {
            super::compare_cell(
                &r.theory,
                r.latency_ms.is_known().then_some((r.latency_ms.mean, r.latency_ms.p99)),
            )
        })
        .collect();
    if cells.iter().all(|c| c.starts_with("no closed form") && *c == cells[0]) {
        return crate::text::ellipsis(&format!("theory: {}", cells[0]), 80) + "\n";
    }
    let mut out = String::from("theory, predicted vs measured (ms):\n");
    for (r, cell) in reports.iter().zip(&cells) {
        let line = format!("  {:<name_width$}  {cell}", escape(&r.strategy));
        out += &crate::text::ellipsis(&line, 80);
        out.push('\n');
    }
    out
}

/// What became of each strategy's requests, as a sum that visibly adds up.
fn accounting_lines(reports: &[Report], name_width: usize) -> String {
    let mut out = String::from("sent = completed + rejected + failed + timed out + cancelled + in flight:\n");
    for r in reports {
        let c = &r.requests;
        let _ = writeln!(
            out,
            "  {:<name_width$}  {} = {} + {} + {} + {} + {} + {}",
            escape(&r.strategy),
            c.sent,
            c.completed,
            c.rejected,
            c.failed,
            c.timed_out,
            c.cancelled,
            c.in_flight
        );
    }
    out
}

/// Whether the requests `r` left in flight at the end could move its p99: at least 1% of
/// those answered or waiting (the p99 is the slowest 1%, and a request still waiting may be
/// slower than any answered).
pub fn in_flight_matters(r: &Report) -> bool {
    let c = &r.requests;
    c.in_flight > 0 && c.in_flight * 100 >= c.completed + c.in_flight
}

/// `x` to about four significant digits, as the compare table prints latencies.
fn four_digits(x: f64) -> String {
    let decimals = 4usize.saturating_sub(int_digits(x.abs())).min(3);
    format!("{x:.decimals$}")
}

/// Digits before the decimal point of `x` (at least 1).
fn int_digits(x: f64) -> usize {
    if x < 10.0 { 1 } else { x.log10().floor() as usize + 1 }
}

/// A latency figure of `r`, `None` (n/a) when it completed nothing.
fn latency(r: &Report, v: f64) -> Option<f64> {
    r.latency_ms.is_known().then_some(v)
}

/// Milliseconds with about five significant digits, so that columns stay narrow.
fn millis(v: f64) -> String {
    match v.abs() {
        x if x >= 10_000.0 => format!("{v:.0}"),
        x if x >= 1_000.0 => format!("{v:.1}"),
        x if x >= 100.0 => format!("{v:.2}"),
        _ => format!("{v:.3}"),
    }
}

/// One sentence on who leads on p99, and by how much.
pub fn p99_verdict(reports: &[Report]) -> Option<String> {
    if reports.len() < 2 {
        return None;
    }
    // Runs a signal stopped at different points cover different spans of the workload.
    if let Some(signal) = reports.iter().find_map(|r| r.interrupted_by.as_deref()) {
        let time =
            |f: fn(f64, f64) -> f64| reports.iter().map(|r| r.sim_time_s).fold(reports[0].sim_time_s, f);
        let (low, high) = (time(f64::min), time(f64::max));
        if high > low {
            return Some(format!(
                "no p99 leader: interrupted by {signal}, the runs stopped at different points ({low:.3} to {high:.3} s of virtual time), so they are not comparable (partial)"
            ));
        }
    }
    // Only strategies that completed something have a p99 to compare.
    let measured: Vec<&Report> = reports.iter().filter(|r| r.latency_ms.is_known()).collect();
    if measured.len() < reports.len() {
        let missing: Vec<String> = reports
            .iter()
            .filter(|r| !r.latency_ms.is_known())
            .map(|r| escape(&r.strategy).into_owned())
            .collect();
        return Some(format!(
            "no p99 leader: {} completed no request, so there is nothing to compare",
            missing.join(", ")
        ));
    }
    let p99 = |r: &&Report| r.latency_ms.p99;
    let best = reports.iter().min_by(|a, b| p99(a).total_cmp(&p99(b)))?;
    let worst = reports.iter().max_by(|a, b| p99(a).total_cmp(&p99(b)))?;
    let mut rest: Vec<&Report> = reports.iter().filter(|r| r.strategy != best.strategy).collect();
    rest.sort_by(|a, b| p99(a).total_cmp(&p99(b)));
    let runner_up = rest.first()?;
    if best.latency_ms.p99 <= 0.0 {
        return Some(format!(
            "{} has the lowest p99 ({:.3} ms)",
            escape(&best.strategy),
            best.latency_ms.p99
        ));
    }
    let mut line = format!(
        "{} leads on p99 ({} ms): {:.2}x lower than {}",
        escape(&best.strategy),
        four_digits(best.latency_ms.p99),
        runner_up.latency_ms.p99 / best.latency_ms.p99,
        escape(&runner_up.strategy),
    );
    if worst.strategy != runner_up.strategy {
        line += &format!(
            " (next best), {:.2}x lower than {} (worst)",
            worst.latency_ms.p99 / best.latency_ms.p99,
            escape(&worst.strategy)
        );
    }
    // p99 counts answered requests only: a leader that answers fewer is not simply better.
    if let Some(fewer) = reports
        .iter()
        .filter(|r| r.requests.unanswered() < best.requests.unanswered())
        .min_by_key(|r| r.requests.unanswered())
    {
        line += &format!(
            "; but it left {} requests unanswered (failed, rejected, timed out) where {} left {}: p99 counts answered requests only",
            best.requests.unanswered(),
            escape(&fewer.strategy),
            fewer.requests.unanswered()
        );
    }
    // Requests still waiting at the end are not in any p99: say so when they could move it.
    let stuck: Vec<String> = reports
        .iter()
        .filter(|r| in_flight_matters(r))
        .map(|r| {
            let c = &r.requests;
            let share = c.in_flight as f64 / c.sent.max(1) as f64 * 100.0;
            format!("{} {} ({share:.1}% of those sent)", escape(&r.strategy), c.in_flight)
        })
        .collect();
    if !stuck.is_empty() {
        line += &format!(
            "; still in flight at the end, so not in the p99, which covers answered requests only: {}",
            stuck.join(", ")
        );
    }
    Some(line)
}
