//! lbsim: a load-balancer simulator.
//!
//! Requesters send requests to a balancer, which picks a worker for each by a pluggable
//! [`strategy::Strategy`]; workers serve them after random delays. The [`engine`] is a pure,
//! deterministic discrete-event simulation; [`scenario`] reads TOML scenarios into its
//! configuration, [`metrics`] measures and [`report`] prints the results.

#![warn(missing_docs)]

pub mod cli;
pub mod dist;
pub mod engine;
pub mod engines;
pub mod keys;
pub mod live;
pub mod metrics;
pub mod model;
pub mod output;
pub mod playground;
pub mod replay;
pub mod report;
pub mod rng;
pub mod scenario;
pub mod session;
pub mod stats;
pub mod strategy;
pub mod sweep;
pub mod text;
pub mod time;
pub mod trace;
pub mod tui;

// The book's pages that hold Rust code, compiled and run by `cargo test --doc` so that they
// cannot rot (tests/docs.rs checks that every such page is listed here).
#[cfg(doctest)]
#[doc = include_str!("../docs/src/guide/keys.md")]
pub struct BookKeys;
#[cfg(doctest)]
#[doc = include_str!("../docs/src/guide/own-strategy.md")]
pub struct BookOwnStrategy;
