//! The typed values of a scenario file's fields, each checked as it is read: a positive
//! number, a probability, a duration (`"1.5s"`), a strategy's name, a popularity, a view.

use serde::Deserialize;

use crate::engine::View;
use crate::strategy;
use crate::time::{Nanos, parse_duration};

/// `uniform` or `zipf:S`.
#[derive(Debug)]
pub(super) struct PopularityName(pub(super) crate::keys::Popularity);

impl<'de> Deserialize<'de> for PopularityName {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<PopularityName, D::Error> {
        let s = String::deserialize(d)?;
        crate::keys::Popularity::parse(&s).map(PopularityName).map_err(serde::de::Error::custom)
    }
}

/// A balancer view's name: global, local, report or report+local.
#[derive(Debug)]
pub(super) struct ViewName(pub(super) View);

impl<'de> Deserialize<'de> for ViewName {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<ViewName, D::Error> {
        let s = String::deserialize(d)?;
        View::parse(&s).map(ViewName).map_err(serde::de::Error::custom)
    }
}

/// A probability, 0 to 1.
#[derive(Clone, Copy, Debug)]
pub(super) struct Probability(pub(super) f64);

impl<'de> Deserialize<'de> for Probability {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Probability, D::Error> {
        let x = f64::deserialize(d)?;
        if (0.0..=1.0).contains(&x) {
            Ok(Probability(x))
        } else {
            Err(serde::de::Error::custom(format!("must be a probability between 0 and 1, got {x}")))
        }
    }
}

/// A finite number > 0.
#[derive(Clone, Copy, Debug)]
pub(super) struct Positive(pub(super) f64);

impl<'de> Deserialize<'de> for Positive {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Positive, D::Error> {
        let x = f64::deserialize(d)?;
        if x.is_finite() && x > 0.0 {
            Ok(Positive(x))
        } else {
            Err(serde::de::Error::custom(format!("must be a positive number, got {x}")))
        }
    }
}

/// A finite number >= 0.
#[derive(Clone, Copy, Debug)]
pub(super) struct NonNegative(pub(super) f64);

impl<'de> Deserialize<'de> for NonNegative {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<NonNegative, D::Error> {
        let x = f64::deserialize(d)?;
        if x.is_finite() && x >= 0.0 {
            Ok(NonNegative(x))
        } else {
            Err(serde::de::Error::custom(format!("must be zero or a positive number, got {x}")))
        }
    }
}

/// A duration string such as `"1.5s"`.
#[derive(Clone, Copy, Debug)]
pub(super) struct Duration(pub(super) Nanos);

impl<'de> Deserialize<'de> for Duration {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        let s = String::deserialize(d)?;
        parse_duration(&s).map(Duration).map_err(serde::de::Error::custom)
    }
}

/// A registered strategy's name.
#[derive(Clone, Debug)]
pub(super) struct StrategyName(pub(super) String);

impl<'de> Deserialize<'de> for StrategyName {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<StrategyName, D::Error> {
        let s = String::deserialize(d)?;
        strategy::find(&s).map_err(serde::de::Error::custom)?;
        Ok(StrategyName(s))
    }
}
