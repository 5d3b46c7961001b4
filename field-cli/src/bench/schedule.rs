//! When a steady-state device syncs: first at a random offset within the interval (so the
//! devices do not start together), then every interval give or take the jitter. Pure: the
//! random numbers come in as an argument, so the schedule is tested without a clock.

use std::time::Duration;

use rand::Rng;

/// Each device's sync schedule (all offsets from the start of the steady phase).
#[derive(Debug, Clone, Copy)]
pub struct Schedule {
    pub interval: Duration,
    /// Fraction of the interval each gap may be longer or shorter by (0 ≤ jitter < 1).
    pub jitter: f64,
}

impl Schedule {
    /// The first sync: uniformly within `[0, interval)`.
    pub fn first(&self, rng: &mut impl Rng) -> Duration {
        self.interval.mul_f64(rng.gen_range(0.0..1.0))
    }

    /// The sync after the one planned at `prev`: `interval × (1 ± jitter)` later.
    pub fn next(&self, prev: Duration, rng: &mut impl Rng) -> Duration {
        let factor = if self.jitter > 0.0 {
            1.0 + rng.gen_range(-self.jitter..self.jitter)
        } else {
            1.0
        };
        prev + self.interval.mul_f64(factor)
    }
}

/// How many offline steps come before a sync (1 to 3) and on which of the device's `jobs`
/// jobs (one, or two different ones when there are two or more steps and a coin says so).
pub fn plan_edits(jobs: usize, rng: &mut impl Rng) -> Vec<usize> {
    if jobs == 0 {
        return Vec::new();
    }
    let count = rng.gen_range(1..=3usize);
    let first = rng.gen_range(0..jobs);
    let second = if count >= 2 && jobs > 1 && rng.gen_bool(0.5) {
        // Any job but the first.
        (first + rng.gen_range(1..jobs)) % jobs
    } else {
        first
    };
    (0..count)
        .map(|i| if i % 2 == 0 { first } else { second })
        .collect()
}

#[cfg(test)]
mod tests {
    use rand::rngs::StdRng;
    use rand::SeedableRng;

    use super::*;

    #[test]
    fn syncs_start_within_the_interval_and_follow_it_within_the_jitter() {
        let s = Schedule {
            interval: Duration::from_secs(30),
            jitter: 0.1,
        };
        let mut rng = StdRng::seed_from_u64(7);
        let mut firsts = Vec::new();
        for _ in 0..1000 {
            let first = s.first(&mut rng);
            assert!(first < s.interval, "{first:?}");
            firsts.push(first.as_secs_f64());
            let next = s.next(first, &mut rng);
            let gap = (next - first).as_secs_f64();
            assert!((27.0..=33.0).contains(&gap), "{gap}");
        }
        // Spread rather than a burst: both halves of the interval get about half the devices.
        let early = firsts.iter().filter(|f| **f < 15.0).count();
        assert!((400..=600).contains(&early), "{early}");
    }

    #[test]
    fn no_jitter_means_exactly_the_interval() {
        let s = Schedule {
            interval: Duration::from_millis(500),
            jitter: 0.0,
        };
        let mut rng = StdRng::seed_from_u64(1);
        assert_eq!(
            s.next(Duration::from_millis(100), &mut rng),
            Duration::from_millis(600)
        );
    }

    #[test]
    fn one_to_three_steps_on_one_or_two_jobs() {
        let mut rng = StdRng::seed_from_u64(3);
        let mut two_jobs = 0;
        for _ in 0..500 {
            let plan = plan_edits(5, &mut rng);
            assert!((1..=3).contains(&plan.len()), "{plan:?}");
            assert!(plan.iter().all(|j| *j < 5));
            let mut distinct = plan.clone();
            distinct.sort_unstable();
            distinct.dedup();
            assert!(distinct.len() <= 2, "{plan:?}");
            if distinct.len() == 2 {
                two_jobs += 1;
            }
        }
        assert!(two_jobs > 50, "{two_jobs}");
        assert!(plan_edits(1, &mut rng).iter().all(|j| *j == 0));
        assert!(plan_edits(0, &mut rng).is_empty());
    }
}
