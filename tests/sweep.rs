//! `lbsim sweep` through the real binary: confidence intervals that cover the theory and
//! shrink as 1/sqrt(R), results independent of the number of threads, and bad input.

mod common;

use common::{lbsim, ok};
use serde_json::Value;

fn json(args: &[&str]) -> Value {
    serde_json::from_slice(&ok(args)).expect("sweep prints JSON")
}

fn figure(cell: &Value, key: &str) -> (f64, f64, f64) {
    let f = &cell["metrics"][key];
    (f["mean"].as_f64().unwrap(), f["ci95_low"].as_f64().unwrap(), f["ci95_high"].as_f64().unwrap())
}

/// Random dispatch over 8 identical workers is 8 independent M/M/1 queues: the mean
/// latency is service / (1 - load). With exponential service of mean 10 ms.
const MM1: &[&str] = &[
    "sweep",
    "--scenario",
    "identical-workers",
    "--strategies",
    "random",
    "--warmup",
    "10s",
    "--format",
    "json",
];

#[test]
fn the_mm1_mean_lies_in_every_cells_confidence_interval() {
    let mut args = MM1.to_vec();
    args.extend(["--loads", "0.3,0.6,0.9", "--replications", "10", "--requests", "40000"]);
    let out = json(&args);
    assert_eq!(out["sweep"]["replications"], 10);
    assert_eq!(out["sweep"]["loads"], serde_json::json!([0.3, 0.6, 0.9]));
    let cells = out["cells"].as_array().unwrap();
    assert_eq!(cells.len(), 3);
    for cell in cells {
        let load = cell["load"].as_f64().unwrap();
        let expected = 10.0 / (1.0 - load);
        let (mean, low, high) = figure(cell, "mean_ms");
        eprintln!("load {load}: mean {mean:.3} ms, 95% CI [{low:.3}, {high:.3}], M/M/1 {expected:.3}");
        assert_eq!(cell["replications"], 10);
        assert!(low < mean && mean < high);
        assert!(
            low * 0.99 <= expected && expected <= high * 1.01,
            "load {load}: M/M/1 mean {expected} outside [{low}, {high}]"
        );
        // The interval is informative: within 10% of the mean either side.
        assert!(high - low < 0.2 * mean, "load {load}: [{low}, {high}]");
        let (goodput, _, _) = figure(cell, "goodput_rps");
        // 8 workers at 100 requests/s each.
        assert!((goodput / (800.0 * load) - 1.0).abs() < 0.02, "load {load}: goodput {goodput}");
    }
}

#[test]
fn the_interval_shrinks_as_one_over_the_root_of_the_replications() {
    let half_width = |r: &str| {
        let mut args = MM1.to_vec();
        args.extend(["--loads", "0.6", "--replications", r, "--requests", "5000"]);
        let out = json(&args);
        let (_, low, high) = figure(&out["cells"][0], "mean_ms");
        (high - low) / 2.0
    };
    let (h10, h40) = (half_width("10"), half_width("40"));
    // sqrt(40 / 10) = 2, times t(0.975, 9) / t(0.975, 39) = 2.262 / 2.023: about 2.24, give
    // or take the sampling error of the standard deviations.
    let ratio = h10 / h40;
    eprintln!(
        "half-width with 10 replications {h10:.4}, with 40 {h40:.4}: ratio {ratio:.3} (expected about 2.24)"
    );
    assert!((1.5..3.3).contains(&ratio), "ratio {ratio}");
}

#[test]
fn results_do_not_depend_on_the_number_of_jobs() {
    let args = |jobs: &'static str| {
        vec![
            "sweep",
            "--scenario",
            "identical-workers",
            "--strategies",
            "random,power-of-two,least-loaded",
            "--loads",
            "0.5..0.9:0.2",
            "--vary",
            "workers=4,8",
            "--replications",
            "3",
            "--requests",
            "3000",
            "--warmup",
            "1s",
            "--format",
            "json",
            "--jobs",
            jobs,
        ]
    };
    let one = lbsim(&args("1"));
    assert_eq!(one.status.code(), Some(0), "{}", String::from_utf8_lossy(&one.stderr));
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get()).max(3).to_string();
    let cores: &'static str = Box::leak(cores.into_boxed_str());
    let many = lbsim(&args(cores));
    assert_eq!(String::from_utf8_lossy(&one.stdout), String::from_utf8_lossy(&many.stdout));
    let out: Value = serde_json::from_slice(&one.stdout).unwrap();
    let cells = out["cells"].as_array().unwrap();
    assert_eq!(cells.len(), 2 * 3 * 3);
    assert_eq!(cells[0]["vary"], serde_json::json!({"workers": 4}));
    assert_eq!(cells[17]["vary"], serde_json::json!({"workers": 8}));
    assert_eq!(out["sweep"]["vary"], serde_json::json!({"name": "workers", "values": [4, 8]}));
    // CSV and table say the same: one line per cell, and mean ± half-width.
    let mut csv_args = args("2");
    let n = csv_args.len();
    csv_args[n - 3] = "csv";
    let csv = String::from_utf8(lbsim(&csv_args).stdout).unwrap();
    assert_eq!(csv.lines().count(), 1 + 18);
    assert!(csv.starts_with("strategy,load,vary,vary_value,replications,mean_ms_mean,mean_ms_ci95_low"));
    csv_args[n - 3] = "table";
    let table = String::from_utf8(lbsim(&csv_args).stdout).unwrap();
    assert!(table.contains("workers = 8") && table.contains(" ± "), "{table}");
}

#[test]
fn bad_sweep_input_is_one_line_and_exit_2() {
    for (args, words) in [
        (&["sweep"][..], "--loads is required"),
        (&["sweep", "--loads", "0.1,x"], "`x` is not a number"),
        (&["sweep", "--loads", "0.9..0.1:0.1"], "ends below its start"),
        (&["sweep", "--loads", "0.1..0.9"], "needs a step"),
        (&["sweep", "--loads", "0.1..0.9:0.00001"], "at most 1000"),
        (&["sweep", "--loads", "0.5,0.5"], "listed twice"),
        (&["sweep", "--loads", "0.5", "--replications", "1"], "a sweep needs from 2 to 10000"),
        (&["sweep", "--loads", "0.5", "--load", "0.5"], "a sweep takes its loads from --loads"),
        (&["sweep", "--loads", "0.5", "--vary", "colour=1,2"], "cannot vary `colour`"),
        (&["sweep", "--loads", "0.5", "--vary", "workers=4,0"], "workers=0"),
        (&["sweep", "--loads", "0.5", "--vary", "workers=4", "--workers", "4"], "both set it"),
        (&["sweep", "--loads", "0.5", "--jobs", "0"], "--jobs"),
        (&["sweep", "--loads", "0.5", "--strategies", "random,random"], "listed twice"),
        (&["sweep", "--loads", "0.5", "--engine", "live"], "--engine live"),
    ] {
        let o = lbsim(args);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
        assert_eq!(err.lines().count(), 1, "{args:?}: {err}");
        assert!(err.contains(words), "{args:?}: {err:?} lacks {words:?}");
        assert!(o.stdout.is_empty());
    }
}

#[test]
fn compare_with_replications_names_a_leader_only_when_significant() {
    let o = lbsim(&[
        "compare",
        "--scenario",
        "identical-workers",
        "--strategies",
        "random,least-loaded",
        "--replications",
        "5",
        "--requests",
        "20000",
        "--format",
        "json",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    let out: Value = serde_json::from_slice(&o.stdout).unwrap();
    let leader = &out["leader"];
    assert_eq!(leader["strategy"], "least-loaded", "{leader}");
    assert_eq!(leader["significant"], true);
    assert!(leader["difference_ms"]["ci95_low"].as_f64().unwrap() > 0.0);
    assert_eq!(out["strategies"][0]["replications"], 5);
    let table = lbsim(&[
        "compare",
        "--scenario",
        "identical-workers",
        "--strategies",
        "random,least-loaded",
        "--replications",
        "5",
        "--requests",
        "20000",
    ]);
    let table = String::from_utf8(table.stdout).unwrap();
    assert!(table.contains("least-loaded leads on p99") && table.contains("significant at 95%"), "{table}");
}

#[test]
fn two_copies_of_one_strategy_are_never_declared_different() {
    let scenario = lbsim::scenario::builtin::find("identical-workers").unwrap().scenario().unwrap();
    let mut scenario = scenario;
    scenario.stop = lbsim::engine::Stop::Requests(5_000);
    let names = ["random".to_string(), "random".to_string()];
    for (replications, seed) in [(2, 1), (5, 7), (10, 100)] {
        let r = lbsim::sweep::compare::replicate(&scenario, &names, replications, seed, 2, false, &|| None)
            .unwrap();
        let leader = lbsim::sweep::compare::leader(&r).unwrap();
        assert!(!leader.test.significant, "{leader:?}");
        let line = lbsim::sweep::compare::leader_line(&r);
        assert!(line.starts_with("no p99 leader"), "{line}");
    }
}

#[test]
fn close_strategies_are_called_indistinguishable_with_a_count_to_aim_for() {
    // At 20% load every strategy that looks at queues almost never finds one: power-of-two
    // and least-loaded differ by little, and 3 short replications cannot separate them.
    let o = lbsim(&[
        "compare",
        "--scenario",
        "identical-workers",
        "--strategies",
        "power-of-two,least-loaded",
        "--load",
        "0.2",
        "--replications",
        "3",
        "--requests",
        "2000",
        "--warmup",
        "0s",
    ]);
    let table = String::from_utf8(o.stdout).unwrap();
    assert!(table.contains("not distinguishable at 3 replications"), "{table}");
    assert!(table.contains("replications would likely be needed"), "{table}");
}

#[test]
fn plot_writes_an_svg_chart_with_a_line_per_strategy() {
    let dir = std::env::temp_dir().join(format!("lbsim-plot-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("curves.svg");
    let o = lbsim(&[
        "sweep",
        "--scenario",
        "identical-workers",
        "--strategies",
        "random,least-loaded",
        "--loads",
        "0.3,0.6,0.9",
        "--replications",
        "2",
        "--requests",
        "2000",
        "--plot",
        path.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    let svg = std::fs::read_to_string(&path).unwrap();
    assert!(svg.starts_with("<svg"), "{}", &svg[..100.min(svg.len())]);
    for text in ["random", "least-loaded", "p99 latency (ms)", "offered load", "0.60"] {
        assert!(svg.contains(text), "the chart lacks {text}");
    }
    // A polyline per strategy.
    assert!(svg.matches("<polyline").count() >= 2);
    let png = dir.join("curves.png");
    let o = lbsim(&["sweep", "--loads", "0.5", "--plot", png.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("write .svg"));
    assert!(!png.exists());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn the_live_chart_draws_every_strategy_and_its_axes() {
    use lbsim::cli::{Cli, Command};
    use ratatui::widgets::Widget;
    let argv = [
        "lbsim",
        "sweep",
        "--scenario",
        "identical-workers",
        "--strategies",
        "random,least-loaded",
        "--loads",
        "0.3,0.9",
        "--replications",
        "2",
        "--requests",
        "2000",
    ];
    let Command::Sweep { sweep, sim } = <Cli as clap::Parser>::parse_from(argv).command else { panic!() };
    let (mut grid, jobs) = lbsim::cli::sweep::build(&sweep, &sim).unwrap();
    // Half the runs done: the chart shows what there is.
    let samples = lbsim::sweep::execute(&jobs[..4], 2, false, &mut |_| false).unwrap();
    let mut all = samples;
    all.resize(jobs.len(), None);
    grid.fill(all);
    let area = ratatui::layout::Rect::new(0, 0, 100, 30);
    let mut buf = ratatui::buffer::Buffer::empty(area);
    lbsim::tui::sweep::SweepView { grid: &grid, status: "50% done" }.render(area, &mut buf);
    let text: String = (0..area.height)
        .map(|y| (0..area.width).map(|x| buf[(x, y)].symbol()).collect::<String>() + "\n")
        .collect();
    for words in ["4/8 runs", "random", "least-loaded", "load", "p99 latency (ms)", "50% done"] {
        assert!(text.contains(words), "{words} missing from\n{text}");
    }
}

// Issue 20: the charts' axes fit the data. The case: p99 from 10 to 177 ms.

use lbsim::sweep::plot::{Ticks, linear_ticks, ticks};

/// Checks what every axis must be: ticks ascending, evenly spaced on the axis, labels all
/// different and with one number of decimals (or one mantissa precision).
fn check_axis(t: &Ticks, max: usize) -> &Ticks {
    let n = t.values.len();
    assert!((2..=max.max(2)).contains(&n), "{n} ticks, at most {max}: {t:?}");
    assert_eq!(t.labels.len(), n);
    let at: Vec<f64> = t.values.iter().map(|&v| t.position(v)).collect();
    let step = at[1] - at[0];
    assert!(step > 0.0, "{t:?}");
    for w in at.windows(2) {
        assert!(((w[1] - w[0]) / step - 1.0).abs() < 1e-6, "uneven ticks {t:?}");
    }
    let mut unique = t.labels.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), n, "duplicate labels {:?}", t.labels);
    let precision = |l: &str| {
        let mantissa = l.split('e').next().unwrap();
        (l.contains('e'), mantissa.split('.').nth(1).map_or(0, str::len))
    };
    assert!(
        t.labels.iter().all(|l| precision(l) == precision(&t.labels[0])),
        "mixed precision {:?}",
        t.labels
    );
    // A label says its tick's value.
    for (v, l) in t.values.iter().zip(&t.labels) {
        let read: f64 = l.parse().unwrap();
        assert!((read - v).abs() <= v.abs() * 1e-9 + 1e-300, "{l} for {v}");
    }
    t
}

/// Round: 1, 2 or 5 times a power of ten apart (linear) or whole powers of ten (log).
fn round_step(t: &Ticks) -> f64 {
    let step = t.position(t.values[1]) - t.position(t.values[0]);
    let mantissa = step / 10f64.powf(step.log10().floor());
    let round =
        if t.log { step.fract() == 0.0 } else { [1.0, 2.0, 5.0].iter().any(|m| (mantissa - m).abs() < 1e-9) };
    assert!(round, "step {step} in {t:?}");
    step
}

#[test]
fn ticks_for_10_to_177_ms_are_linear_round_and_hug_the_data() {
    for max in [5, 7, 12] {
        let t = check_axis(&ticks(10.0, 177.0, max), max).clone();
        round_step(&t);
        assert!(!t.log, "{t:?}");
        let (lo, hi) = (t.values[0], t.values[t.values.len() - 1]);
        // A little margin, not whole decades: the data fills most of the axis.
        assert!((0.0..=10.0).contains(&lo) && (177.0..=250.0).contains(&hi), "{t:?}");
        assert!((177.0 - 10.0) / (hi - lo) > 0.6, "{t:?}");
    }
    assert_eq!(ticks(10.0, 177.0, 7).labels, ["0", "50", "100", "150", "200"]);
}

#[test]
fn ticks_at_the_edges() {
    // One value, or all equal: an axis around it.
    for v in [0.0, 1e-7, 0.003, 1.0, 42.0, 100.0, 7e12, -5.0] {
        let t = check_axis(&ticks(v, v, 6), 6).clone();
        round_step(&t);
        assert!(t.values[0] <= v && v <= t.values[t.values.len() - 1], "{v}: {t:?}");
        assert!(t.values[0] < t.values[t.values.len() - 1], "{v}: {t:?}");
    }
    // A value at zero never gets a negative axis.
    assert_eq!(ticks(0.0, 0.0, 6).values[0], 0.0);
    assert!(ticks(0.5, 9.0, 6).values[0] >= 0.0);
    // Huge spans: a log axis, powers of ten, every few decades when there are many.
    for (lo, hi, max) in [(0.01, 5000.0, 8), (1e-3, 1e9, 5), (2.0, 1e250, 4), (3.0, 1000.0, 2)] {
        let t = check_axis(&ticks(lo, hi, max), max).clone();
        assert!(t.log, "{lo}..{hi}: {t:?}");
        round_step(&t);
        assert!(t.values[0] <= lo && hi <= t.values[t.values.len() - 1], "{lo}..{hi}: {t:?}");
    }
    assert_eq!(ticks(1.5, 700.0, 6).labels, ["1", "10", "100", "1000"]);
    assert_eq!(ticks(0.02, 7.0, 6).labels, ["0.01", "0.10", "1.00", "10.00"]);
    // A huge span from zero stays linear (zero has no logarithm) and round.
    let t = check_axis(&ticks(0.0, 3e12, 6), 6).clone();
    assert!(!t.log && round_step(&t) == 1e12, "{t:?}");
    // Tiny values: as many decimals as the step needs, or scientific notation, one precision.
    for (lo, hi) in [(0.0012, 0.0019), (2e-9, 9e-9), (1e-5, 3e-5)] {
        let t = check_axis(&ticks(lo, hi, 6), 6).clone();
        assert!(!t.log, "{t:?}");
        round_step(&t);
        assert!(t.values[0] <= lo && hi <= t.values[t.values.len() - 1], "{lo}..{hi}: {t:?}");
    }
    assert_eq!(ticks(0.0012, 0.0019, 6).labels, ["0.0010", "0.0012", "0.0014", "0.0016", "0.0018", "0.0020"]);
    // Nonsense in, a plain axis out (never a panic, never a hang).
    for (lo, hi) in
        [(f64::NAN, 1.0), (f64::INFINITY, f64::INFINITY), (5.0, 1.0), (f64::MIN_POSITIVE, f64::MAX)]
    {
        check_axis(&ticks(lo, hi, 6), 6);
    }
    check_axis(&linear_ticks(5e-324, 5e-324, 6), 6);
    // Loads on x: round and with margin.
    assert_eq!(linear_ticks(0.1, 0.9, 6).labels, ["0.0", "0.2", "0.4", "0.6", "0.8", "1.0"]);
}

/// A grid of two strategies whose p99 runs from 10 to 177 ms over four loads, with
/// intervals of a few ms: the chart, without running anything.
fn grid_10_to_177() -> lbsim::sweep::Grid {
    use lbsim::sweep::{Grid, Metric, Sample, Spec};
    let spec = Spec {
        strategies: vec!["random".into(), "least-loaded".into()],
        loads: vec![0.3, 0.5, 0.7, 0.9],
        metric: Metric::P99,
        vary: None,
    };
    let mut grid = Grid::new("issue-20".into(), &spec, 1, 3);
    let p99 = [[14.0, 22.0, 48.0, 177.0], [10.0, 12.0, 19.0, 61.0]];
    for cell in &mut grid.cells {
        let s = grid.strategies.iter().position(|s| *s == cell.strategy).unwrap();
        let l = grid.loads.iter().position(|l| *l == cell.load).unwrap();
        let centre = p99[s][l];
        for spread in [-0.04, 0.0, 0.04] {
            let mut values = [Some(centre); 6];
            values[3] = Some(centre * (1.0 + spread));
            cell.samples.push(Sample { values, stopped: false });
        }
    }
    grid
}

#[test]
fn the_svgs_y_ticks_are_round_unique_and_of_one_precision() {
    let svg = lbsim::sweep::plot::svg(&grid_10_to_177()).unwrap();
    // The numbers written on the chart: the y labels, then the x labels (0.xx).
    let numbers: Vec<&str> = svg
        .split("</text>")
        .filter_map(|t| t.rsplit('>').next())
        .map(str::trim)
        .filter(|t| !t.is_empty() && t.parse::<f64>().is_ok())
        .collect();
    let y: Vec<&str> = numbers.iter().copied().filter(|t| !t.starts_with("0.")).collect();
    assert!(y.len() >= 4, "y labels {y:?} in {numbers:?}");
    let mut unique = y.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), y.len(), "duplicate y labels {y:?}");
    assert!(y.iter().all(|l| !l.contains('.')), "mixed precision {y:?}");
    assert!(y.contains(&"100") && !y.contains(&"1000"), "not fitted to 10..177 ms: {y:?}");
    let values: Vec<f64> = y.iter().map(|l| l.parse().unwrap()).collect();
    let step = values[1] - values[0];
    assert!([10.0, 20.0, 25.0, 50.0].contains(&step), "{y:?}");
    // Grid lines only at the ticks: one horizontal line across the plot per y label, one
    // vertical per x label, none in between.
    let grid_lines: Vec<&str> = svg.split("<line ").skip(1).collect();
    let attr = |l: &str, name: &str| -> String {
        l.split(&format!(" {name}=\"")).nth(1).and_then(|r| r.split('"').next()).unwrap_or("").to_string()
    };
    let across = grid_lines.iter().filter(|l| attr(l, "y1") == attr(l, "y2")).count();
    let up = grid_lines.iter().filter(|l| attr(l, "x1") == attr(l, "x2")).count();
    assert_eq!(across, y.len(), "horizontal grid lines for the y labels {y:?}");
    assert_eq!(up, numbers.len() - y.len(), "vertical grid lines for the x labels {numbers:?}");
    assert!(!svg.contains("(log scale)"), "10..177 ms is drawn on a linear axis");
}

/// The chart of [`grid_10_to_177`] on a `w`x`h` terminal, as text, and its y labels.
fn terminal_chart(w: u16, h: u16) -> (String, Vec<String>) {
    use ratatui::Terminal;
    use ratatui::backend::TestBackend;
    use ratatui::widgets::Widget;
    let grid = grid_10_to_177();
    let mut t = Terminal::new(TestBackend::new(w, h)).unwrap();
    t.draw(|f| lbsim::tui::sweep::SweepView { grid: &grid, status: "done" }.render(f.area(), f.buffer_mut()))
        .unwrap();
    let buf = t.backend().buffer().clone();
    let rows: Vec<String> =
        (0..h).map(|y| (0..w).map(|x| buf[(x, y)].symbol().to_string()).collect::<String>()).collect();
    // The y labels: the numbers between the chart's left border and the y axis line.
    let labels = rows
        .iter()
        .filter_map(|r| r.strip_prefix('│'))
        .filter_map(|r| r.split('│').next())
        .map(|l| l.trim().to_string())
        .filter(|l| l.parse::<f64>().is_ok())
        .collect();
    (rows.join("\n"), labels)
}

#[test]
fn the_terminal_chart_fits_10_to_177_ms_and_shows_its_whiskers() {
    for (w, h) in [(80, 24), (140, 40)] {
        let (text, labels) = terminal_chart(w, h);
        assert!(labels.len() >= 3, "{w}x{h}: y labels {labels:?}\n{text}");
        assert_ne!(labels, ["1000", "100.0", "10.00", "1.000"], "{w}x{h}: whole decades\n{text}");
        assert!(
            !labels.iter().any(|l| l == "1000" || l == "1" || l == "1.000"),
            "{w}x{h}: {labels:?}\n{text}"
        );
        let mut unique = labels.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), labels.len(), "{w}x{h}: {labels:?}");
        assert!(labels.iter().all(|l| !l.contains('.')), "{w}x{h}: one precision {labels:?}");
        assert!(text.contains("p99 latency (ms)") && !text.contains("(log)"), "{w}x{h}\n{text}");
        // The whiskers: at 177 ms, ±4% over 3 replications is an interval of about ±17 ms,
        // a vertical run of braille over several rows in the rightmost load's column, with
        // caps; count the rows with braille in the top whisker's column range.
        let rows: Vec<Vec<char>> = text.lines().map(|r| r.chars().collect()).collect();
        let col = (0..w as usize)
            .rev()
            .find(|&x| rows.iter().any(|r| ('\u{2801}'..='\u{28ff}').contains(&r[x])))
            .unwrap();
        let tall = rows
            .iter()
            .filter(|r| (col - 2..=col).any(|x| ('\u{2801}'..='\u{28ff}').contains(&r[x])))
            .count();
        assert!(tall >= 3, "{w}x{h}: the whisker at 0.9 spans {tall} rows\n{text}");
    }
}
