//! The draw itself, a pure function: which of a day's completed work orders are audited,
//! given the sample rate and a seed. Anyone holding the recorded seed, rate and candidates
//! (`GET /v1/audits/draws`) can reproduce it with the steps below, in any language.
//!
//! 1. Regions in byte order of their names; in each region, the candidate work-order ids in
//!    byte order.
//! 2. A region of `n` candidates gets `k = min(n, max(1, floor(rate × n + 0.5)))` audits
//!    (`rate × n` in IEEE-754 double precision): the rate rounded half up, at least one per
//!    region with any completed work. A rate of 0 draws nothing.
//! 3. One SplitMix64 stream, started at the seed, serves every region in that order. For a
//!    region, a partial Fisher–Yates shuffle: for `i` in `0..k`, `j = i + next() % (n - i)`,
//!    swap positions `i` and `j`. The first `k` ids are chosen (listed sorted).
//!
//! SplitMix64 (Steele, Lea and Flood 2014): `state += 0x9E3779B97F4A7C15; z = state;
//! z = (z ^ (z >> 30)) × 0xBF58476D1CE4E5B9; z = (z ^ (z >> 27)) × 0x94D049BB133111EB;
//! next = z ^ (z >> 31)`, all wrapping on 64 bits. Written out here rather than taken from a
//! crate so that a library upgrade can never change a recorded draw; the modulo's bias is
//! below 2⁻⁴⁰ for any real day's count.

use std::collections::BTreeMap;

/// Milliseconds in a day.
pub const DAY_MS: i64 = 86_400_000;

/// Seeds are below 2⁵³, so they survive JSON readers that hold numbers as doubles.
pub const SEED_LIMIT: u64 = 1 << 53;

/// SplitMix64, the generator the draw is specified with.
#[derive(Debug, Clone)]
pub struct SplitMix64(u64);

impl SplitMix64 {
    pub fn new(seed: u64) -> Self {
        SplitMix64(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

/// How many of `n` candidates a region gets at `rate`.
pub fn quota(rate: f64, n: usize) -> usize {
    if n == 0 || rate.is_nan() || rate <= 0.0 {
        return 0;
    }
    // n is a day's work orders in one region: exact in f64.
    let k = (rate * n as f64 + 0.5).floor();
    (k.clamp(1.0, n as f64)) as usize
}

/// The chosen ids of each region (sorted), for candidates grouped by region. Input order does
/// not matter: regions and ids are sorted first, duplicates dropped.
pub fn draw(
    candidates: &BTreeMap<String, Vec<String>>,
    rate: f64,
    seed: u64,
) -> BTreeMap<String, Vec<String>> {
    let mut rng = SplitMix64::new(seed);
    let mut out = BTreeMap::new();
    for (region, ids) in candidates {
        let mut ids = ids.clone();
        ids.sort();
        ids.dedup();
        let n = ids.len();
        let k = quota(rate, n);
        for i in 0..k {
            // n - i >= 1; both fit in u64.
            let j = i + (rng.next_u64() % (n - i) as u64) as usize;
            ids.swap(i, j);
        }
        ids.truncate(k);
        ids.sort();
        out.insert(region.clone(), ids);
    }
    out
}

/// The UTC day (`YYYY-MM-DD`) of a time in ms since the epoch.
pub fn day_of(ms: i64) -> String {
    let days = ms.div_euclid(DAY_MS);
    // Julian day 2440588 is 1970-01-01. Service times are far inside time's range; a time
    // outside it is shown as the epoch rather than failing a read.
    let date = i32::try_from(days + 2_440_588)
        .ok()
        .and_then(|jd| time::Date::from_julian_day(jd).ok())
        .unwrap_or(time::Date::MIN);
    format!(
        "{:04}-{:02}-{:02}",
        date.year(),
        u8::from(date.month()),
        date.day()
    )
}

/// Start (00:00 UTC, ms since the epoch) of a day written `YYYY-MM-DD`; `None` when it is not
/// a real date of years 1970 to 9999.
pub fn day_start(day: &str) -> Option<i64> {
    let b = day.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let num = |s: &str| -> Option<u32> {
        s.bytes()
            .all(|c| c.is_ascii_digit())
            .then(|| s.parse().ok())
            .flatten()
    };
    let year = i32::try_from(num(&day[0..4])?).ok()?;
    let month = time::Month::try_from(u8::try_from(num(&day[5..7])?).ok()?).ok()?;
    let d = u8::try_from(num(&day[8..10])?).ok()?;
    if year < 1970 {
        return None;
    }
    let date = time::Date::from_calendar_date(year, month, d).ok()?;
    Some(i64::from(date.to_julian_day() - 2_440_588) * DAY_MS)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn regions(spec: &[(&str, usize)]) -> BTreeMap<String, Vec<String>> {
        spec.iter()
            .map(|(r, n)| {
                (
                    (*r).to_owned(),
                    (0..*n).map(|i| format!("WO-{r}-{i:03}")).collect(),
                )
            })
            .collect()
    }

    #[test]
    fn splitmix64_matches_the_reference_values() {
        // First outputs for seed 1234567 of the reference C implementation (Vigna).
        let mut r = SplitMix64::new(1_234_567);
        let got: Vec<u64> = (0..3).map(|_| r.next_u64()).collect();
        assert_eq!(
            got,
            [
                6_457_827_717_110_365_317,
                3_203_168_211_198_807_973,
                9_817_491_932_198_370_423
            ]
        );
    }

    #[test]
    fn the_quota_rounds_half_up_with_at_least_one_per_region() {
        assert_eq!(quota(0.1, 0), 0);
        assert_eq!(quota(0.1, 1), 1);
        assert_eq!(quota(0.1, 4), 1);
        assert_eq!(quota(0.1, 14), 1);
        assert_eq!(quota(0.1, 15), 2);
        assert_eq!(quota(0.1, 100), 10);
        assert_eq!(quota(1.0, 7), 7);
        assert_eq!(quota(0.0, 7), 0);
        assert_eq!(quota(0.5, 3), 2);
    }

    #[test]
    fn a_draw_is_a_function_of_seed_rate_and_candidates() {
        let c = regions(&[("north", 40), ("east", 3), ("south", 0)]);
        let a = draw(&c, 0.1, 42);
        assert_eq!(a, draw(&c, 0.1, 42));
        assert_eq!(a["north"].len(), 4);
        assert_eq!(a["east"].len(), 1);
        assert!(a["south"].is_empty());
        for (region, chosen) in &a {
            assert!(chosen.windows(2).all(|w| w[0] < w[1]), "sorted, distinct");
            assert!(chosen.iter().all(|id| c[region].contains(id)));
        }
        // The order candidates arrive in does not matter.
        let mut shuffled = c.clone();
        shuffled.get_mut("north").unwrap().reverse();
        assert_eq!(draw(&shuffled, 0.1, 42), a);
        // Another seed draws another sample (for 40 choose 4, almost surely).
        assert_ne!(draw(&c, 0.1, 43)["north"], a["north"]);
    }

    #[test]
    fn every_candidate_is_drawn_about_equally_often() {
        let c = regions(&[("north", 10)]);
        let mut hits = BTreeMap::<String, u32>::new();
        for seed in 0..5_000 {
            for id in &draw(&c, 0.2, seed)["north"] {
                *hits.entry(id.clone()).or_default() += 1;
            }
        }
        // 5,000 draws of 2 from 10: 1,000 each expected.
        assert_eq!(hits.len(), 10);
        assert!(hits.values().all(|h| (850..1150).contains(h)), "{hits:?}");
    }

    #[test]
    fn days_are_utc_dates() {
        assert_eq!(day_of(0), "1970-01-01");
        assert_eq!(day_start("1970-01-02"), Some(DAY_MS));
        let t = 1_796_000_000_000; // 2026-11-29T...
        let d = day_of(t);
        let start = day_start(&d).unwrap();
        assert!(start <= t && t < start + DAY_MS);
        assert_eq!(day_of(start + DAY_MS - 1), d);
        for bad in [
            "2026-13-01",
            "2026-02-30",
            "26-01-01",
            "2026/01/01",
            "+026-01-01",
            "1969-12-31",
            "",
        ] {
            assert_eq!(day_start(bad), None, "{bad}");
        }
    }
}
