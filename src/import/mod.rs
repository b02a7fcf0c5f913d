//! Importing a real balancer's configuration as a scenario (issue 22): an Envoy cluster
//! ([`envoy`]), an nginx `upstream` ([`nginx`]) or a HAProxy `backend` ([`haproxy`]) becomes a
//! scenario TOML that `lbsim run`, `compare`, `sweep` and `check` take.
//!
//! The translation is honest rather than complete: every setting that lbsim maps gets a
//! comment naming its source (file:line and the original key), and every setting that lbsim
//! does not model, or models differently, is named in a note (in the file and on standard
//! error) saying what was done instead. Nothing is dropped silently. What a proxy's
//! configuration cannot say (the traffic and the service times) is stated as an assumption.
//!
//! Each importer fills a [`Draft`] (the scenario's tables, entries with their sources, the
//! workers and the notes), which [`Draft::render`] writes as TOML.
//!
//! [`traces`] converts public traces (Azure Functions 2021, Alibaba 2021 microservices, access
//! logs) to lbsim's trace CSV.
//!
//! Layer 5 (a feature): it imports foundations (`time`, `text`) and nothing above.

pub mod envoy;
pub mod haproxy;
pub mod nginx;
pub mod traces;
mod words;
mod yaml;

use std::fmt;

use crate::time::{Nanos, canonical};

/// Which proxy's configuration a file is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// Envoy v3, YAML or JSON: a bootstrap with `static_resources.clusters`, or one cluster.
    Envoy,
    /// An nginx configuration with `upstream` blocks.
    Nginx,
    /// A HAProxy configuration with `backend` (and `defaults`) sections.
    Haproxy,
}

impl Format {
    /// The name used on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Format::Envoy => "envoy",
            Format::Nginx => "nginx",
            Format::Haproxy => "haproxy",
        }
    }
}

/// A configuration that cannot be read: its file, line and key, and what is wrong.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImportError {
    /// The file as the user named it.
    pub origin: String,
    /// 1-based line; 0 when the problem is the whole file.
    pub line: usize,
    /// The key or directive at fault (empty when none).
    pub key: String,
    /// What is wrong.
    pub problem: String,
}

impl fmt::Display for ImportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.line, self.key.is_empty()) {
            (0, true) => write!(f, "{}: {}", self.origin, self.problem),
            (0, false) => write!(f, "{}: {}: {}", self.origin, self.key, self.problem),
            (l, true) => write!(f, "{}:{l}: {}", self.origin, self.problem),
            (l, false) => write!(f, "{}:{l}: {}: {}", self.origin, self.key, self.problem),
        }
    }
}

impl std::error::Error for ImportError {}

/// The outcome of an import: the scenario's TOML text and the notes (also in the text).
#[derive(Clone, Debug)]
pub struct Imported {
    /// The scenario, TOML.
    pub toml: String,
    /// Every setting not modelled or modelled differently, one line each, `file:line key: ...`.
    pub notes: Vec<String>,
}

/// Imports `text` (from `origin`, shown in comments and errors) as `format`; `select` names
/// the cluster, upstream or backend when the file has several.
pub fn import(
    format: Format,
    text: &str,
    origin: &str,
    select: Option<&str>,
) -> Result<Imported, ImportError> {
    let draft = match format {
        Format::Envoy => envoy::import(text, origin, select)?,
        Format::Nginx => nginx::import(text, origin, select)?,
        Format::Haproxy => haproxy::import(text, origin, select)?,
    };
    Ok(Imported { toml: draft.render(), notes: draft.notes.clone() })
}

/// Where a setting came from: its line and key, and its value as written.
#[derive(Clone, Debug, Default)]
pub struct Src {
    /// 1-based line.
    pub line: usize,
    /// The key or directive, e.g. `lb_policy` or `server app1 weight`.
    pub key: String,
    /// The value as written.
    pub value: String,
}

impl Src {
    /// A source at `line`.
    pub fn new(line: usize, key: impl Into<String>, value: impl Into<String>) -> Src {
        Src { line, key: key.into(), value: value.into() }
    }
}

/// One `key = value` line of the scenario, with the comment naming its source.
#[derive(Clone, Debug)]
struct Entry {
    key: String,
    value: String,
    from: String,
}

/// One worker: a server or endpoint of the configuration.
#[derive(Clone, Debug)]
pub struct Worker {
    /// The server's address or name.
    pub label: String,
    /// Its weight (1 when the configuration gives none).
    pub weight: f64,
    /// Waiting requests it takes before rejecting.
    pub queue_capacity: Option<u32>,
    /// Where it was defined.
    pub src: Src,
}

/// The tables of the scenario being written, in the order they are written.
const TABLES: [&str; 9] = [
    "",
    "strategy",
    "retry",
    "health_check",
    "outlier_ejection",
    "balancer",
    "slow_start",
    "keys",
    "arrivals",
];

/// A scenario being built from a configuration.
#[derive(Clone, Debug)]
pub struct Draft {
    format: Format,
    origin: String,
    /// What was imported: `cluster "backend"`.
    what: String,
    tables: Vec<(&'static str, Vec<Entry>)>,
    /// The workers, in the configuration's order.
    pub workers: Vec<Worker>,
    /// Notes: settings not modelled or modelled differently.
    pub notes: Vec<String>,
    assumptions: Vec<String>,
}

impl Draft {
    /// An empty draft for `what` (e.g. `cluster "backend"`) of `origin`.
    pub fn new(format: Format, origin: &str, what: String) -> Draft {
        Draft {
            format,
            origin: origin.to_string(),
            what,
            tables: TABLES.iter().map(|t| (*t, Vec::new())).collect(),
            workers: Vec::new(),
            notes: Vec::new(),
            assumptions: Vec::new(),
        }
    }

    /// The file name in comments and notes (its last component).
    fn file(&self) -> String {
        std::path::Path::new(&self.origin)
            .file_name()
            .map_or_else(|| self.origin.clone(), |n| n.to_string_lossy().into_owned())
    }

    /// Sets `table.key = value` (a TOML literal), from `src`; a later set replaces an earlier.
    pub fn set(&mut self, table: &str, key: &str, value: String, src: &Src) {
        let from = if src.line == 0 {
            src.key.clone()
        } else {
            format!("from {}:{} {}: {}", self.file(), src.line, src.key, src.value)
        };
        let entries = &mut self.tables.iter_mut().find(|(t, _)| *t == table).expect("a known table").1;
        entries.retain(|e| e.key != key);
        let entry = Entry { key: key.to_string(), value, from };
        // A strategy's name comes first in its table.
        if key == "name" { entries.insert(0, entry) } else { entries.push(entry) }
    }

    /// Whether `table.key` was set.
    pub fn has(&self, table: &str, key: &str) -> bool {
        self.tables.iter().any(|(t, es)| *t == table && es.iter().any(|e| e.key == key))
    }

    /// The value set for `table.key`, if any.
    pub fn get(&self, table: &str, key: &str) -> Option<&str> {
        let entries = &self.tables.iter().find(|(t, _)| *t == table)?.1;
        entries.iter().find(|e| e.key == key).map(|e| e.value.as_str())
    }

    /// A note on a setting lbsim does not model, or models differently.
    pub fn note(&mut self, src: &Src, text: &str) {
        let at = if src.line == 0 { self.file() } else { format!("{}:{}", self.file(), src.line) };
        let key = if src.key.is_empty() { String::new() } else { format!(" {}", src.key) };
        self.notes.push(format!("{at}{key}: {text}"));
    }

    /// An assumption about what the configuration does not say.
    pub fn assume(&mut self, text: &str) {
        self.assumptions.push(text.to_string());
    }

    /// Whether the workers' weights differ.
    pub fn weights_differ(&self) -> bool {
        self.workers.windows(2).any(|w| w[0].weight != w[1].weight)
    }

    /// Picks a hashing strategy's keys: hashing needs keyed requests, which a configuration
    /// does not describe.
    pub fn keyed(&mut self, hashed_on: &str) {
        if !self.has("keys", "count") {
            let src = Src::new(0, format!("assumed: {hashed_on} takes 10,000 values, equally often"), "");
            self.set("keys", "count", "10000".into(), &src);
            self.assume(&format!(
                "the requests' {hashed_on} is drawn from 10,000 keys, uniformly: change [keys] \
                 (count, popularity = \"zipf:1.1\") to match your traffic"
            ));
        }
    }

    /// The scenario's TOML text.
    pub fn render(&self) -> String {
        let mut out = format!(
            "# Imported by `lbsim import {}` from {}, {}.\n# Check it with `lbsim check FILE`; \
             run it with `lbsim run --scenario FILE`.\n#\n",
            self.format.name(),
            self.file(),
            self.what
        );
        out += "# Assumed (a proxy's configuration does not say):\n";
        let mut assumptions = vec![
            "service times: exp:10ms at speed 1 (`service` below, or --service)".to_string(),
            "traffic: Poisson arrivals at 80% of the workers' capacity ([arrivals], or --load / \
             --rate; or a recorded trace: [arrivals] kind = \"trace\", file = \"trace.csv\")"
                .to_string(),
            "each server serves one request at a time (concurrency 1) and all are equally fast (speed 1), whatever \
             their weights: set [[workers]] concurrency and speed"
                .to_string(),
        ];
        assumptions.extend(self.assumptions.iter().cloned());
        for a in &assumptions {
            out += &comment_lines(&format!("- {a}"), "#   ");
        }
        out += &format!("\nname = {}\n", quote(&format!("{} {}", self.format.name(), self.what_name())));
        out += &format!(
            "description = {}\nservice = \"exp:10ms\"\n",
            quote(&format!("imported from {}, {}", self.file(), self.what))
        );
        for (table, entries) in &self.tables {
            if table.is_empty() {
                out += &entries_text(entries);
                continue;
            }
            if *table == "arrivals" {
                out += "\n[arrivals]\nkind = \"poisson\"\nload = 0.8\n";
                continue;
            }
            if !entries.is_empty() {
                out += &format!("\n[{table}]\n{}", entries_text(entries));
            }
        }
        for w in &self.workers {
            out += &format!(
                "\n[[workers]]   # {}, from {}:{} {}\nweight = {}\n",
                self.workers_label(w),
                self.file(),
                w.src.line,
                w.src.key,
                number(w.weight)
            );
            if let Some(q) = w.queue_capacity {
                out += &format!("queue_capacity = {q}\n");
            }
        }
        out += "\n# Not modelled, or modelled differently (also printed on standard error):\n";
        if self.notes.is_empty() {
            out += "#   (nothing)\n";
        }
        for n in &self.notes {
            out += &comment_lines(&format!("- {n}"), "#   ");
        }
        out
    }

    fn what_name(&self) -> &str {
        self.what.split('"').nth(1).unwrap_or(&self.what)
    }

    fn workers_label(&self, w: &Worker) -> String {
        crate::text::escape(&w.label).replace('\n', " ")
    }
}

/// `key = value   # from ...` lines.
fn entries_text(entries: &[Entry]) -> String {
    entries.iter().map(|e| format!("{} = {}   # {}\n", e.key, e.value, e.from.replace('\n', " "))).collect()
}

/// A comment, wrapped at 96 columns, continuation lines indented.
fn comment_lines(text: &str, prefix: &str) -> String {
    let mut out = String::new();
    for (i, line) in crate::text::wrap(text, 92).iter().enumerate() {
        let indent = if i == 0 { "" } else { "  " };
        out += &format!("{prefix}{indent}{line}\n");
    }
    out
}

/// A TOML basic string.
pub fn quote(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out += "\\\"",
            '\\' => out += "\\\\",
            c if c.is_control() => out += &format!("\\u{:04X}", c as u32),
            c => out.push(c),
        }
    }
    out + "\""
}

/// A duration as a TOML string lbsim reads.
pub fn duration(t: Nanos) -> String {
    quote(&canonical(t))
}

/// A number as TOML: integers without a point, others shortest.
pub fn number(x: f64) -> String {
    if x.fract() == 0.0 && x.abs() < 1e15 { format!("{}", x as i64) } else { format!("{x}") }
}

/// Which proxy's configuration `text` is, recognised by its content (the file's name is not
/// looked at): JSON or YAML with Envoy's keys (`static_resources`, `clusters`, `lb_policy`,
/// `load_assignment`), an nginx `upstream NAME {` block, or a HAProxy `backend`, `listen`,
/// `defaults` or `frontend` section header. `None` for anything else (a TOML scenario, too).
pub fn recognise(text: &str) -> Option<Format> {
    const ENVOY: [&str; 4] = ["static_resources", "clusters", "lb_policy", "load_assignment"];
    let lines = || {
        text.lines().map(str::trim_end).filter(|l| {
            let t = l.trim_start();
            !t.is_empty() && !t.starts_with('#')
        })
    };
    if text.trim_start().starts_with('{') {
        return ENVOY.iter().any(|k| text.contains(&format!("\"{k}\""))).then_some(Format::Envoy);
    }
    let yaml_key = |l: &str| {
        let t = l.trim_start().trim_start_matches("- ").trim_start();
        ENVOY.iter().any(|k| t.strip_prefix(k).is_some_and(|rest| rest.trim_start().starts_with(':')))
    };
    if lines().any(yaml_key) {
        return Some(Format::Envoy);
    }
    let nginx_upstream = |l: &str| {
        let words: Vec<&str> = l.split_whitespace().collect();
        matches!(words.as_slice(), ["upstream", _, "{", ..]) || {
            words.len() == 2 && words[0] == "upstream" && words[1].ends_with('{')
        }
    };
    if lines().any(nginx_upstream) {
        return Some(Format::Nginx);
    }
    let haproxy_section = |l: &str| {
        let mut words = l.split_whitespace();
        let first = words.next().unwrap_or("");
        let named = words.next().is_some_and(|w| !w.contains(['=', '{']));
        !l.starts_with(char::is_whitespace)
            && !l.contains('{')
            && (first == "defaults" || (named && ["backend", "listen", "frontend"].contains(&first)))
    };
    lines().any(haproxy_section).then_some(Format::Haproxy)
}
