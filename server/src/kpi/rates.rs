//! [`Targets`], and the [`Rate`]s and [`Average`]s the KPIs come out as.

use serde::{Deserialize, Serialize};

use super::MINUTE_MS;

/// The targets KPIs are compared with; every one is a default of a configurable service policy.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Targets {
    /// Share of work orders with a first response within 24 h (at least).
    pub first_response: f64,
    /// Share of completed work orders fixed on the first visit (at least).
    pub first_time_fix: f64,
    /// Share of scored follow-ups with a score of 4 or 5 (at least).
    pub satisfaction: f64,
    /// Mean minutes from intake to the first response (at most).
    pub avg_response_minutes: f64,
}

impl Default for Targets {
    fn default() -> Self {
        Targets {
            first_response: 0.95,
            first_time_fix: 0.85,
            satisfaction: 0.90,
            avg_response_minutes: 30.0,
        }
    }
}

/// A share: `numerator` of `denominator` work orders, with the target it is held against.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Rate {
    pub numerator: u64,
    pub denominator: u64,
    /// `numerator / denominator` rounded to 4 decimals; `None` when the denominator is 0.
    pub rate: Option<f64>,
    pub target: Option<f64>,
    /// The unrounded rate is at least the target; `None` without a rate or a target.
    pub meets_target: Option<bool>,
}

impl Rate {
    /// One outcome per counted work order: `true` counts in the numerator.
    pub(super) fn of(outcomes: impl IntoIterator<Item = bool>, target: Option<f64>) -> Rate {
        let (numerator, denominator) = outcomes
            .into_iter()
            .fold((0u64, 0u64), |(n, d), hit| (n + u64::from(hit), d + 1));
        let raw = (denominator > 0).then(|| numerator as f64 / denominator as f64);
        Rate {
            numerator,
            denominator,
            rate: raw.map(|r| round(r, 4)),
            target,
            meets_target: raw.zip(target).map(|(r, t)| r >= t),
        }
    }
}

/// A mean duration in minutes, with the target it is held against.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Average {
    /// Mean in minutes rounded to 2 decimals; `None` when nothing was counted.
    pub value: Option<f64>,
    /// How many durations the mean is over.
    pub count: u64,
    pub target: Option<f64>,
    /// The unrounded mean is at most the target; `None` without a mean or a target.
    pub meets_target: Option<bool>,
}

impl Average {
    pub(super) fn minutes(
        durations_ms: impl IntoIterator<Item = i64>,
        target: Option<f64>,
    ) -> Average {
        let (sum, count) = durations_ms
            .into_iter()
            .fold((0i128, 0u64), |(s, c), d| (s + i128::from(d), c + 1));
        let raw = (count > 0).then(|| sum as f64 / count as f64 / MINUTE_MS as f64);
        Average {
            value: raw.map(|m| round(m, 2)),
            count,
            target,
            meets_target: raw.zip(target).map(|(m, t)| m <= t),
        }
    }
}

pub(super) fn round(x: f64, decimals: i32) -> f64 {
    let scale = 10f64.powi(decimals);
    (x * scale).round() / scale
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_default_to_the_service_rules_and_deserialize_partially() {
        let t: Targets = serde_json::from_str(r#"{"first_time_fix": 0.9}"#).unwrap();
        assert_eq!(
            t,
            Targets {
                first_time_fix: 0.9,
                ..Targets::default()
            }
        );
        assert_eq!(Targets::default().satisfaction, 0.90);
    }
}
