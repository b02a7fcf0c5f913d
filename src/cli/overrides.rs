//! Flags -> typed scenario overrides: the low-level [`SimArgs`] become an
//! [`Overrides`], which the scenario layer applies in one place.

use std::path::Path;

use super::{CliError, SimArgs};
use crate::scenario::{Overrides, Scenario, builtin};

impl SimArgs {
    /// The flags that change the scenario, as typed overrides.
    pub fn overrides(&self) -> Overrides {
        let switch = |on: bool| on.then_some(true);
        Overrides {
            workers: self.workers,
            rate: self.rate,
            load: self.load,
            service: self.service.clone(),
            discipline: self.discipline,
            requests: self.requests,
            duration: self.duration,
            seed: self.seed,
            warmup: self.warmup,
            choices: self.choices,
            ring_size: self.ring_size,
            table_size: self.table_size,
            balance_factor: self.balance_factor,
            active_request_bias: self.active_request_bias,
            cutoffs: self.cutoffs.clone(),
            ewma_decay: self.ewma_decay,
            error_penalty: self.error_penalty,
            timeout: self.timeout,
            retries: self.retries,
            per_try_timeout: self.per_try_timeout,
            retry_budget: self.retry_budget,
            failure_detection: self.failure_detection,
            outlier_ejection: switch(self.outlier_ejection),
            load_refresh: self.load_refresh,
            panic_threshold: self.panic_threshold,
            slow_start: self.slow_start,
            balancers: self.balancers,
            balancer_view: self.balancer_view,
            backpressure: self.backpressure,
            error_rate: self.error_rate,
            max_in_flight: self.max_in_flight,
            timeline: self.timeline,
            timeline_csv: switch(self.timeline_csv.is_some()),
            trace_scale: self.trace_scale,
            engine: self.engine,
            work: self.work,
            threads: self.threads,
            time_scale: self.time_scale,
            grace: self.grace,
            cancel_abandoned: switch(self.cancel_abandoned),
        }
    }
}

/// Loads `--scenario`: a scenario file, a proxy's configuration (`FILE` or `FILE#NAME`, see
/// [`super::import::config_scenario`]), or else the name of a built-in scenario.
pub fn load_scenario(arg: &str) -> Result<Scenario, CliError> {
    if let Some(s) = super::import::config_scenario(arg)? {
        return Ok(s);
    }
    let path = Path::new(arg);
    if path.is_file() {
        Scenario::load(path).map_err(CliError::input)
    } else if let Some(b) = builtin::find(arg) {
        b.scenario().map_err(CliError::runtime)
    } else if path.exists() {
        // A directory, a device, a pipe: loading says what it is and why it will not do.
        Scenario::load(path).map_err(|e| CliError::input(format!("--scenario {e}")))
    } else {
        Err(CliError::input(format!(
            "--scenario: no scenario file or built-in scenario named `{arg}` (built-ins: {})",
            builtin::names()
        )))
    }
}

/// Loads `--scenario` and applies the flags that override it.
pub fn resolve_scenario(args: &SimArgs) -> Result<Scenario, CliError> {
    let mut s = load_scenario(&args.scenario)?;
    args.overrides().apply(&mut s).map_err(CliError::input)?;
    Ok(s)
}
