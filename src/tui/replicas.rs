//! Balancer replicas in the UI: a few words for the header, and a compact row of each
//! replica's picks (with the fairness of the workers' picks) under the event log.

use super::app::App;
use crate::engine::SimConfig;

/// `, 10 balancers (report view)` for a run with several replicas; nothing for one.
pub fn cluster_suffix(config: &SimConfig) -> String {
    let b = &config.defences.balancers;
    match b.count {
        1 => String::new(),
        n => format!(", {n} balancers ({} view)", config.defences.view().name()),
    }
}

/// ` balancers' picks 0:512 1:498 ... · Jain 0.981 ` for the first pane, cut to `width`;
/// `None` with one balancer.
pub fn picks_row(app: &App, width: u16) -> Option<String> {
    let engine = &app.play.panes().first()?.sim;
    let m = engine.metrics();
    if m.balancers.len() < 2 {
        return None;
    }
    let snapshot = engine.snapshot();
    let jain = crate::metrics::jain(
        m.workers
            .iter()
            .zip(&snapshot.workers)
            .map(|(stats, w)| stats.picks as f64 / (w.speed * w.slowdown * w.concurrency as f64)),
    );
    let tail = jain.map(|j| format!(" · Jain {j:.3} ")).unwrap_or_else(|| " ".to_string());
    let room = (width as usize).saturating_sub(crate::text::width(&tail) + 4);
    let mut row = String::from(" balancers' picks");
    for (i, b) in m.balancers.iter().enumerate() {
        let item = format!(" {i}:{}", b.picks);
        if crate::text::width(&row) + crate::text::width(&item) > room {
            row += " …";
            break;
        }
        row += &item;
    }
    Some(row + &tail)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::{Balancers, View};

    #[test]
    fn the_suffix_says_how_many_and_what_they_see() {
        let mut c = SimConfig::new(
            vec![Default::default(); 2],
            crate::engine::Arrivals::Poisson { rate: 1.0 },
            crate::dist::Dist::Const(1),
        );
        assert_eq!(cluster_suffix(&c), "");
        c.defences.balancers = Balancers { count: 10, view: Some(View::Local), ..Balancers::default() };
        assert_eq!(cluster_suffix(&c), ", 10 balancers (local view)");
    }
}
