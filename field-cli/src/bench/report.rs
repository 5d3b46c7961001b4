//! Figures shared by the bench modes: nearest-rank percentiles and rounding.

use std::time::Duration;

use serde::Serialize;

/// Sync latency in milliseconds (nearest-rank percentiles).
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct LatencyMs {
    pub p50: f64,
    pub p95: f64,
    pub p99: f64,
    pub max: f64,
}

/// The nearest-rank percentile `p` (0 < p ≤ 100) of ascending `sorted`; 0 when it is empty.
pub fn percentile(sorted: &[f64], p: f64) -> f64 {
    let n = sorted.len();
    if n == 0 {
        return 0.0;
    }
    let rank = ((p / 100.0) * n as f64).ceil() as usize;
    let index = rank.clamp(1, n) - 1;
    sorted.get(index).copied().unwrap_or(0.0)
}

pub fn latency(durations: &[Duration]) -> LatencyMs {
    let mut ms: Vec<f64> = durations.iter().map(|d| d.as_secs_f64() * 1000.0).collect();
    ms.sort_by(f64::total_cmp);
    LatencyMs {
        p50: round(percentile(&ms, 50.0), 2),
        p95: round(percentile(&ms, 95.0), 2),
        p99: round(percentile(&ms, 99.0), 2),
        max: round(ms.last().copied().unwrap_or(0.0), 2),
    }
}

pub fn round(x: f64, decimals: i32) -> f64 {
    let f = 10f64.powi(decimals);
    (x * f).round() / f
}

/// `num / den` rounded, or 0 when `den` is 0 (an empty run reports zeros, not NaN).
pub fn ratio(num: f64, den: f64, decimals: i32) -> f64 {
    if den > 0.0 {
        round(num / den, decimals)
    } else {
        0.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles() {
        let v: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(percentile(&v, 50.0), 50.0);
        assert_eq!(percentile(&v, 95.0), 95.0);
        assert_eq!(percentile(&v, 99.0), 99.0);
        assert_eq!(percentile(&v, 100.0), 100.0);
        // Nearest rank: ceil(p/100 · n), never interpolated.
        let v = [10.0, 20.0, 30.0, 40.0];
        assert_eq!(percentile(&v, 50.0), 20.0);
        assert_eq!(percentile(&v, 51.0), 30.0);
        assert_eq!(percentile(&v, 95.0), 40.0);
        assert_eq!(percentile(&v, 1.0), 10.0);
        assert_eq!(percentile(&[7.0], 99.0), 7.0);
        assert_eq!(percentile(&[], 50.0), 0.0);
    }

    #[test]
    fn latency_sorts_and_rounds() {
        let d: Vec<Duration> = [30u64, 10, 20]
            .iter()
            .map(|ms| Duration::from_millis(*ms))
            .collect();
        let l = latency(&d);
        assert_eq!(
            l,
            LatencyMs {
                p50: 20.0,
                p95: 30.0,
                p99: 30.0,
                max: 30.0
            }
        );
    }

    #[test]
    fn a_ratio_over_nothing_is_zero() {
        assert_eq!(ratio(1.0, 0.0, 2), 0.0);
        assert_eq!(ratio(1.0, 3.0, 2), 0.33);
    }
}
