//! The run over time, at its old path: the measurement is [`crate::metrics::timeline`], the
//! report's form and the CSV are [`crate::report::timeline`]. Kept so that callers of
//! `crate::timeline::...` go on compiling; new code should use the two homes.

pub use crate::metrics::timeline::*;
pub use crate::report::timeline::*;
