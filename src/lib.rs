//! lbsim: a load-balancer simulator.
//!
//! Requesters send requests to a balancer, which picks a worker for each by a pluggable
//! [`strategy::Strategy`]; workers serve them after random delays. The [`engine`] is a pure,
//! deterministic discrete-event simulation and [`live`] the same model as tokio tasks; both
//! speak the [`model`]'s vocabulary and account through [`metrics`]; [`scenario`] reads TOML
//! into a configuration, [`report`] prints results, the [`playground`] runs and seeks them
//! for the [`tui`] and for replay, and [`cli`] is the thin command line.
//!
//! Imports run one way, down these layers (a module imports only from its own layer or
//! below; there is no import circle between files):
//!
//! 1. foundations: [`time`], [`rng`], [`text`], [`stats`], [`dist`], [`trace`], [`keys`]
//! 2. the vocabulary: [`model`] (config, commands, snapshots, endings), [`metrics`],
//!    [`strategy`]
//! 3. the two engines: [`engine`] and [`live`], neither importing the other
//! 4. [`engines`] (the `Engine` trait over both), [`scenario`], [`theory`] (closed forms for a
//!    configuration), [`report`], [`session`]
//! 5. features: [`playground`] (the run controller), [`sweep`], [`replay`], [`import`] (proxy
//!    configurations as scenarios); [`output`], the plumbing they share
//! 6. [`tui`]
//! 7. [`cli`], called by `main.rs`

#![warn(missing_docs)]

pub mod cli;
pub mod dist;
pub mod engine;
pub mod engines;
pub mod import;
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
pub mod theory;
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
