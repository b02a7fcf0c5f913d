//! The JSON contract: every JSON document lbsim prints or writes (run, compare, crosscheck,
//! sweep, a sweep's plan) starts with `"schema_version": SCHEMA_VERSION`, and `schemas/`
//! holds a JSON Schema (draft 2020-12) for each, checked by `tests/schemas.rs` and described
//! in the book (docs/src/reference/json.md).
//!
//! Keys are only ever added within a version; a change that removes or changes the meaning of
//! a key raises [`SCHEMA_VERSION`] (and every schema's `schema_version` constant with it).

use serde::Serialize;

use super::Report;

/// The version of the JSON contract every document carries as `schema_version`.
pub const SCHEMA_VERSION: u32 = 1;

/// `value` (which must serialise as an object) as pretty JSON with `"schema_version"` as its
/// first key, and a final newline: the one way lbsim's JSON documents are written.
pub fn document<T: Serialize + ?Sized>(value: &T) -> String {
    #[derive(Serialize)]
    struct Versioned<'a, T: ?Sized> {
        schema_version: u32,
        #[serde(flatten)]
        value: &'a T,
    }
    serde_json::to_string_pretty(&Versioned { schema_version: SCHEMA_VERSION, value })
        .expect("reports serialise")
        + "\n"
}

/// JSON for one run (also replay's report and each job of a sweep's plan).
pub fn run_json(report: &Report) -> String {
    document(report)
}

/// JSON for a comparison: `{"schema_version", "runs": [...]}`.
pub fn compare_json(reports: &[Report]) -> String {
    #[derive(Serialize)]
    struct Runs<'a> {
        /// Present (true) only when a signal stopped some run before its end.
        #[serde(skip_serializing_if = "std::ops::Not::not")]
        partial: bool,
        runs: &'a [Report],
    }
    let partial = reports.iter().any(|r| r.interrupted_by.is_some());
    document(&Runs { partial, runs: reports })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_version_comes_first_and_the_rest_follows_in_order() {
        #[derive(Serialize)]
        struct Two {
            b: u8,
            a: u8,
        }
        let text = document(&Two { b: 2, a: 1 });
        assert_eq!(text, "{\n  \"schema_version\": 1,\n  \"b\": 2,\n  \"a\": 1\n}\n");
    }
}
