//! The scenarios in `scenarios/`, compiled into the binary so an installed lbsim has them.

use super::{Scenario, ScenarioError};

/// A scenario file shipped with lbsim.
pub struct Builtin {
    /// Its name (the file's stem).
    pub name: &'static str,
    /// The file's text.
    pub text: &'static str,
}

macro_rules! builtins {
    ($($name:literal),* $(,)?) => {
        /// Every shipped scenario, in teaching order.
        pub const BUILTINS: &[Builtin] = &[
            $(Builtin { name: $name, text: include_str!(concat!("../../scenarios/", $name, ".toml")) },)*
        ];
    };
}

// The playground first, then the course in order: lesson n is `BUILTINS[n]`.
builtins![
    "default",
    "one-worker",
    "identical-workers",
    "heterogeneous",
    "heavy-tail",
    "power-of-two",
    "closed-loop",
    "bursty",
    "slow-worker",
    "worker-crash",
    "fast-failure",
    "retry-storm",
    "stale-herding",
    "autoscale",
    "select-loop",
    "backpressure",
    "blocking-the-runtime",
    "timeouts-and-cancellation",
    "graceful-shutdown",
    "hockey-stick",
    "replica-herding",
    "hot-keys",
    "real-traffic",
    "slow-start",
    "processor-sharing",
    "size-interval",
    "theory-on-screen",
    "your-config",
];

/// Data files the built-in scenarios name (traces, service times), compiled in beside them.
pub const DATA: &[(&str, &[u8])] =
    &[("example-trace.csv", include_bytes!("../../scenarios/example-trace.csv"))];

/// A data file built into lbsim, by the name a built-in scenario gives it.
pub fn data(name: &str) -> Option<&'static [u8]> {
    DATA.iter().find(|(n, _)| *n == name).map(|(_, bytes)| *bytes)
}

/// The lesson number of a built-in scenario (`None` for the playground, `default`).
pub fn lesson(name: &str) -> Option<usize> {
    BUILTINS.iter().position(|b| b.name == name).filter(|&i| i > 0)
}

/// Looks a built-in scenario up by name.
pub fn find(name: &str) -> Option<&'static Builtin> {
    BUILTINS.iter().find(|b| b.name == name)
}

impl Builtin {
    /// Parses it.
    pub fn scenario(&self) -> Result<Scenario, ScenarioError> {
        Scenario::parse(self.text, &format!("built-in {}", self.name))
    }
}

/// The names of all built-in scenarios, comma separated.
pub fn names() -> String {
    BUILTINS.iter().map(|b| b.name).collect::<Vec<_>>().join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_file_in_the_folder_is_built_in_and_parses() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/scenarios");
        let mut on_disk: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .filter_map(|e| e.ok()?.file_name().to_str()?.strip_suffix(".toml").map(str::to_string))
            .collect();
        on_disk.sort();
        let mut listed: Vec<String> = BUILTINS.iter().map(|b| b.name.to_string()).collect();
        listed.sort();
        assert_eq!(on_disk, listed, "scenarios/ and BUILTINS disagree");
        for b in BUILTINS {
            let s = b.scenario().unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(s.name, b.name);
            assert!(!s.description.is_empty(), "{} has no description", b.name);
            assert!(b.text.starts_with('#'), "{} must start with comments saying what it teaches", b.name);
            if let Some(n) = lesson(b.name) {
                let total = BUILTINS.len() - 1;
                assert!(
                    b.text.starts_with(&format!("# Lesson {n} of {total}: ")),
                    "{} is lesson {n}",
                    b.name
                );
                for part in ["# Question:", "# Run:", "# Press:", "# See:", "# Claim:", "# Lesson:"] {
                    assert!(b.text.contains(part), "{} lacks {part}", b.name);
                }
            }
            s.to_config().unwrap();
        }
    }
}
