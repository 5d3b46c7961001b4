//! Travel, the ranking term after load (pure).
//!
//! A job may have a site (the intake's coordinates); a technician may have a home base (set by
//! an admin) and a last known position (the latest on-site event that carried one). The
//! technician's **best-known position** is the last known one when it was reported within
//! [`POSITION_FRESH`] of the decision, else the home base, else none. The **distance** of a
//! candidate is the great-circle (haversine) distance from that position to the site, in whole
//! metres so that ranking and explanation compare the same numbers exactly.
//!
//! Ranking (`super::rank`): load first, exactly as without travel; at equal load the nearer
//! technician; a technician without a known position, or any technician for a job without a
//! site, has no distance and sorts after those with one; then the old tie-breaks (fewer open
//! jobs, then id). With no coordinates anywhere, every distance is unknown and the ranking is
//! exactly the one without travel.

use std::collections::HashMap;

use serde::{Serialize, Serializer};
use sync_core::workorder::GeoPoint;

/// The mean Earth radius (IUGG), in kilometres: the haversine's sphere.
pub const EARTH_RADIUS_KM: f64 = 6371.0088;

/// How long a reported position stands for where a technician is: 12 hours, a working day.
/// An older one (yesterday's last job) says less than the home base they start from.
pub const POSITION_FRESH: i64 = 12 * 3_600_000;

/// Great-circle distance between two points, in kilometres (haversine formula on a sphere of
/// [`EARTH_RADIUS_KM`]; within 0.5 % of the WGS84 ellipsoid, plenty for choosing who is nearer).
pub fn haversine_km(a: GeoPoint, b: GeoPoint) -> f64 {
    let (p1, p2) = (a.lat.to_radians(), b.lat.to_radians());
    let dp = p2 - p1;
    let dl = (b.lon - a.lon).to_radians();
    let h = (dp / 2.0).sin().powi(2) + p1.cos() * p2.cos() * (dl / 2.0).sin().powi(2);
    // Rounding can push h a hair over 1 for antipodal points: asin would be NaN.
    2.0 * EARTH_RADIUS_KM * h.clamp(0.0, 1.0).sqrt().asin()
}

/// A distance in whole metres, shown as kilometres (`12.345`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Km(pub u64);

impl Km {
    /// `d` kilometres, rounded to the metre.
    pub fn of(d: f64) -> Km {
        // A great-circle distance is at most ~20,016 km: far inside u64.
        Km((d * 1000.0).round().max(0.0) as u64)
    }

    pub fn km(self) -> f64 {
        self.0 as f64 / 1000.0
    }
}

impl Serialize for Km {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_f64(self.km())
    }
}

/// Where a technician's best-known position came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PositionSource {
    /// The latest on-site event with a position, reported within [`POSITION_FRESH`].
    LastKnown,
    /// The home base an admin set.
    HomeBase,
}

/// A technician's best-known position.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Whereabouts {
    pub point: GeoPoint,
    pub source: PositionSource,
}

/// The last known position when reported at most [`POSITION_FRESH`] before `now` (and not
/// after it), else the home base.
pub fn best_known(
    home: Option<GeoPoint>,
    last: Option<(GeoPoint, i64)>,
    now: i64,
) -> Option<Whereabouts> {
    match last {
        Some((point, at)) if at <= now && now - at <= POSITION_FRESH => Some(Whereabouts {
            point,
            source: PositionSource::LastKnown,
        }),
        _ => home.map(|point| Whereabouts {
            point,
            source: PositionSource::HomeBase,
        }),
    }
}

/// Travel's inputs to ranking: job sites by work-order id, technicians' best-known positions
/// by technician id. The default (empty) ranks by load alone.
#[derive(Debug, Clone, Default)]
pub struct Travel {
    pub sites: HashMap<String, GeoPoint>,
    pub positions: HashMap<String, Whereabouts>,
}

/// A candidate's distance to a job, and where it was measured from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Leg {
    pub distance: Km,
    pub from: PositionSource,
}

impl Travel {
    pub fn is_empty(&self) -> bool {
        self.sites.is_empty() || self.positions.is_empty()
    }

    /// The site of `job`, when known.
    pub fn site(&self, job: &str) -> Option<GeoPoint> {
        if self.positions.is_empty() {
            return None;
        }
        self.sites.get(job).copied()
    }

    /// From technician `t` to `site`.
    pub fn leg(&self, t: &str, site: Option<GeoPoint>) -> Option<Leg> {
        let site = site?;
        let w = self.positions.get(t)?;
        Some(Leg {
            distance: Km::of(haversine_km(w.point, site)),
            from: w.source,
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn p(lat: f64, lon: f64) -> GeoPoint {
        GeoPoint::new(lat, lon).unwrap()
    }

    #[test]
    fn known_distances_come_out_right() {
        // Berlin to Paris, about 878 km; Hamburg to Munich, about 612 km.
        let berlin_paris = haversine_km(p(52.5200, 13.4050), p(48.8566, 2.3522));
        assert!((berlin_paris - 877.5).abs() < 2.0, "{berlin_paris}");
        let hamburg_munich = haversine_km(p(53.5511, 9.9937), p(48.1351, 11.5820));
        assert!((hamburg_munich - 612.0).abs() < 2.0, "{hamburg_munich}");
        // One degree of latitude is ~111.2 km on this sphere.
        assert!((haversine_km(p(0.0, 0.0), p(1.0, 0.0)) - 111.195).abs() < 0.01);
        // Across the date line: 0.2 degrees of longitude at the equator, not 359.8.
        assert!(haversine_km(p(0.0, 179.9), p(0.0, -179.9)) < 23.0);
        // Antipodes: half the circumference, and no NaN.
        let half = haversine_km(p(90.0, 0.0), p(-90.0, 0.0));
        assert!((half - std::f64::consts::PI * EARTH_RADIUS_KM).abs() < 1e-6);
        assert_eq!(Km::of(12.3456).0, 12_346);
        assert_eq!(serde_json::to_string(&Km(12_346)).unwrap(), "12.346");
    }

    #[test]
    fn a_recent_last_position_beats_the_home_base_and_an_old_one_does_not() {
        let home = Some(p(52.0, 13.0));
        let last = Some((p(52.5, 13.5), 1_000));
        let recent = best_known(home, last, 1_000 + POSITION_FRESH).unwrap();
        assert_eq!(recent.source, PositionSource::LastKnown);
        assert_eq!(recent.point, p(52.5, 13.5));
        let stale = best_known(home, last, 1_001 + POSITION_FRESH).unwrap();
        assert_eq!(stale.source, PositionSource::HomeBase);
        // A report from the future (a device clock ahead) is not trusted as "now".
        assert_eq!(
            best_known(home, last, 999).unwrap().source,
            PositionSource::HomeBase
        );
        assert_eq!(best_known(None, last, 1_001 + POSITION_FRESH), None);
        assert_eq!(
            best_known(None, last, 2_000).map(|w| w.source),
            Some(PositionSource::LastKnown)
        );
        assert_eq!(best_known(None, None, 0), None);
    }

    fn arb_point() -> impl Strategy<Value = GeoPoint> {
        (-90.0..=90.0f64, -180.0..=180.0f64).prop_map(|(lat, lon)| GeoPoint { lat, lon })
    }

    proptest! {
        #[test]
        fn haversine_is_a_symmetric_bounded_distance(a in arb_point(), b in arb_point(), c in arb_point()) {
            let ab = haversine_km(a, b);
            prop_assert!(ab.is_finite() && ab >= 0.0);
            prop_assert!(ab <= std::f64::consts::PI * EARTH_RADIUS_KM + 1e-6);
            prop_assert!((ab - haversine_km(b, a)).abs() < 1e-6);
            prop_assert!(haversine_km(a, a) < 1e-6);
            // The triangle inequality, up to rounding.
            prop_assert!(ab <= haversine_km(a, c) + haversine_km(c, b) + 1e-6);
        }
    }
}
