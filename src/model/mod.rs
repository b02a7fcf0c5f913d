//! The neutral vocabulary of a run, which both engines ([`crate::engine`], the model, and
//! [`crate::live`], real tokio tasks), the UI and the reports speak:
//!
//! - [`config`]: the run's configuration ([`SimConfig`]), its defaults and its validation;
//! - [`command`]: the changes made while a run goes on ([`Command`]) and their one check;
//! - [`snapshot`]: what a run looks like at one moment ([`Snapshot`], [`Notice`],
//!   [`StopReason`]);
//! - `arrivals`: the open-loop arrival processes both engines draw from;
//! - [`figures`]: what only a live run measures, for the reports.
//!
//! How a request ended ([`Ending`]) and the one accounting path live in [`crate::metrics`],
//! beside the counters; they are re-exported here.
//!
//! Layer 2 of the house: this folder may import the foundations (`time`, `rng`, `text`,
//! `stats`, `dist`, `trace`, `keys`), [`crate::metrics`] and [`crate::strategy`], nothing
//! above. Everything above may import it; `metrics` and `strategy` may not.

pub(crate) mod arrivals;
pub mod command;
pub mod config;
pub mod figures;
pub mod snapshot;

pub use command::{Command, CommandError};
pub use config::SimConfig;
pub use figures::{LiveFigures, Work};
pub use snapshot::{Lifecycle, Notice, Snapshot, StopReason, WorkerSnapshot};

pub use crate::metrics::Ending;
