//! A technician's day as a route (pure): the order to visit the day's jobs in, with the leg
//! distances and the total.
//!
//! The heuristic (docs/ARCHITECTURE.md, "Routes"):
//!
//! 1. **Appointments stay in time order.** Jobs with an agreed visit window are visited in the
//!    order of their windows (start, then end, then id); nothing ever reorders two of them.
//! 2. **Nearest neighbour.** From the start position (the home base), repeatedly go to the
//!    nearest of: the unvisited jobs without an appointment, and the *next* appointment. So a
//!    job without an appointment is fitted in where the route passes near it, and the
//!    appointments keep their order.
//! 3. **2-opt.** Reverse any stretch of the route that holds at most one appointment (so the
//!    appointments' order is unchanged) when that makes the route strictly shorter; repeat
//!    until no reversal helps (at most [`MAX_PASSES`] passes). A reversal is only ever taken
//!    when it shortens, so 2-opt never lengthens the nearest-neighbour route.
//!
//! The route is open: it starts at the start position and ends at the last job (the way home
//! is the same whatever the order before it ends). A leg with an end of unknown position (no
//! start position, a job without a site) has no distance: it counts 0 for the heuristic and
//! is shown as unknown. Jobs without an appointment and without a site cannot be placed: they
//! come last, by id.

use sync_core::workorder::GeoPoint;

use super::travel::{haversine_km, Km};

/// How many improving passes 2-opt makes at most (a day has a handful of jobs; each pass is
/// quadratic in them).
pub const MAX_PASSES: usize = 50;

/// The least a 2-opt reversal must save to be taken: one metre.
const MIN_SAVING_KM: f64 = 1e-3;

/// One job of the day.
#[derive(Debug, Clone, PartialEq)]
pub struct Stop {
    pub id: String,
    pub site: Option<GeoPoint>,
    /// The agreed visit window (ms since the epoch), when there is one: a fixed stop.
    pub window: Option<(i64, i64)>,
}

/// The day, ordered.
#[derive(Debug, Clone, PartialEq)]
pub struct Route {
    /// Indices into the stops, in visiting order.
    pub order: Vec<usize>,
    /// Per stop in `order`: the distance from the previous point (the start, for the first).
    pub legs: Vec<Option<Km>>,
    /// The sum of the known legs.
    pub total: Km,
    /// Legs whose distance is unknown.
    pub unknown_legs: usize,
}

fn dist(a: Option<GeoPoint>, b: Option<GeoPoint>) -> f64 {
    match (a, b) {
        (Some(a), Some(b)) => haversine_km(a, b),
        _ => 0.0,
    }
}

/// The heuristic's cost of visiting `order` from `start`: the sum of the legs, unknown ones 0.
pub fn length(start: Option<GeoPoint>, stops: &[Stop], order: &[usize]) -> f64 {
    let mut at = start;
    let mut sum = 0.0;
    for &i in order {
        sum += dist(at, stops[i].site);
        at = stops[i].site;
    }
    sum
}

/// Step 1 and 2: appointments in time order, the located jobs without one fitted in by
/// nearest neighbour. Jobs without an appointment or a site are not in the result.
pub fn nearest_neighbour(start: Option<GeoPoint>, stops: &[Stop]) -> Vec<usize> {
    let mut fixed: Vec<usize> = (0..stops.len())
        .filter(|&i| stops[i].window.is_some())
        .collect();
    fixed.sort_by(|&a, &b| (stops[a].window, &stops[a].id).cmp(&(stops[b].window, &stops[b].id)));
    let mut free: Vec<usize> = (0..stops.len())
        .filter(|&i| stops[i].window.is_none() && stops[i].site.is_some())
        .collect();
    free.sort_by(|&a, &b| stops[a].id.cmp(&stops[b].id));
    let mut out = Vec::with_capacity(fixed.len() + free.len());
    let mut next_fixed = 0;
    let mut at = start;
    while next_fixed < fixed.len() || !free.is_empty() {
        // The next appointment competes at its own distance; a free job wins only when
        // strictly nearer (ties go to the appointment, then to the lower id).
        let mut pick: Option<(f64, Option<usize>)> = fixed
            .get(next_fixed)
            .map(|&f| (dist_or(at, stops[f].site), None));
        for (k, &i) in free.iter().enumerate() {
            let d = dist_or(at, stops[i].site);
            if pick.is_none_or(|(best, _)| d < best) {
                pick = Some((d, Some(k)));
            }
        }
        let i = match pick {
            Some((_, Some(k))) => free.remove(k),
            _ => {
                next_fixed += 1;
                fixed[next_fixed - 1]
            }
        };
        at = stops[i].site.or(at);
        out.push(i);
    }
    out
}

/// The distance nearest-neighbour compares: unknown positions count as infinitely far for a
/// free job (so it is not dragged to an unknown place) and 0 for an appointment (taken when
/// its turn comes).
fn dist_or(at: Option<GeoPoint>, to: Option<GeoPoint>) -> f64 {
    match (at, to) {
        (Some(a), Some(b)) => haversine_km(a, b),
        (None, Some(_)) => f64::INFINITY,
        _ => 0.0,
    }
}

/// Step 3: 2-opt moves that keep the appointments' order; only strictly shorter routes are
/// taken.
pub fn two_opt(start: Option<GeoPoint>, stops: &[Stop], order: &mut [usize]) {
    let n = order.len();
    let site = |i: usize| stops[i].site;
    for _ in 0..MAX_PASSES {
        let mut improved = false;
        for i in 0..n {
            let mut fixed_inside = 0usize;
            for j in i..n {
                if stops[order[j]].window.is_some() {
                    fixed_inside += 1;
                }
                if fixed_inside > 1 {
                    break;
                }
                if j == i {
                    continue;
                }
                let before = if i == 0 { start } else { site(order[i - 1]) };
                let first = site(order[i]);
                let last = site(order[j]);
                let after = order.get(j + 1).and_then(|&k| site(k));
                let has_after = j + 1 < n;
                let old = dist(before, first) + if has_after { dist(last, after) } else { 0.0 };
                let new = dist(before, last) + if has_after { dist(first, after) } else { 0.0 };
                // A reversal must save at least a metre: on a sphere, stops in a line are
                // never exactly additive, and reordering for millimetres is noise.
                if new + MIN_SAVING_KM < old {
                    order[i..=j].reverse();
                    improved = true;
                }
            }
        }
        if !improved {
            break;
        }
    }
}

/// The day's route from `start` (the home base, when known).
pub fn plan(start: Option<GeoPoint>, stops: &[Stop]) -> Route {
    let mut order = nearest_neighbour(start, stops);
    two_opt(start, stops, &mut order);
    let mut unplaced: Vec<usize> = (0..stops.len())
        .filter(|&i| stops[i].window.is_none() && stops[i].site.is_none())
        .collect();
    unplaced.sort_by(|&a, &b| stops[a].id.cmp(&stops[b].id));
    order.extend(unplaced);
    let mut legs = Vec::with_capacity(order.len());
    let mut at = start;
    let mut total = 0u64;
    let mut unknown_legs = 0;
    for &i in &order {
        let leg = match (at, stops[i].site) {
            (Some(a), Some(b)) => Some(Km::of(haversine_km(a, b))),
            _ => None,
        };
        match leg {
            Some(k) => total += k.0,
            None => unknown_legs += 1,
        }
        legs.push(leg);
        at = stops[i].site;
    }
    Route {
        order,
        legs,
        total: Km(total),
        unknown_legs,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const H: i64 = 3_600_000;

    fn p(lat: f64, lon: f64) -> Option<GeoPoint> {
        Some(GeoPoint::new(lat, lon).unwrap())
    }

    fn stop(id: &str, site: Option<GeoPoint>, window: Option<i64>) -> Stop {
        Stop {
            id: id.into(),
            site,
            window: window.map(|s| (s, s + 2 * H)),
        }
    }

    fn ids(stops: &[Stop], r: &Route) -> Vec<String> {
        r.order.iter().map(|&i| stops[i].id.clone()).collect()
    }

    #[test]
    fn free_jobs_are_fitted_in_along_the_way_between_appointments() {
        // Home at 0°E; jobs along the equator. The 10:00 appointment is at 3°E, the 14:00 one
        // at 1°E; free jobs at 2°E and 0.5°E.
        let home = p(0.0, 0.0);
        let stops = vec![
            stop("late", p(0.0, 1.0), Some(14 * H)),
            stop("early", p(0.0, 3.0), Some(10 * H)),
            stop("far", p(0.0, 2.0), None),
            stop("near", p(0.0, 0.5), None),
        ];
        let r = plan(home, &stops);
        assert_eq!(ids(&stops, &r), ["near", "far", "early", "late"]);
        // Legs: 0.5°, 1.5°, 1°, 2° of the equator (111.195 km a degree).
        let km: Vec<f64> = r.legs.iter().map(|l| l.unwrap().km()).collect();
        for (got, want) in km.iter().zip([55.597, 166.793, 111.195, 222.390]) {
            assert!((got - want).abs() < 0.01, "{km:?}");
        }
        assert!((r.total.km() - 555.975).abs() < 0.02, "{}", r.total.km());
        assert_eq!(r.unknown_legs, 0);
    }

    #[test]
    fn without_coordinates_appointments_come_in_time_order_then_the_rest_by_id() {
        let stops = vec![
            stop("b", None, None),
            stop("x", None, Some(15 * H)),
            stop("a", None, None),
            stop("y", None, Some(9 * H)),
        ];
        let r = plan(None, &stops);
        assert_eq!(ids(&stops, &r), ["y", "x", "a", "b"]);
        assert_eq!(r.total, Km(0));
        assert_eq!(r.unknown_legs, 4);
        assert!(r.legs.iter().all(Option::is_none));
    }

    #[test]
    fn two_opt_improves_what_nearest_neighbour_left() {
        // On the equator from 0°: nearest neighbour takes a (+1°), then b (-2°, as near as c
        // from there, and first by id), then c (+4°): 1 + 3 + 6 = 10°. Starting with b is
        // shorter: 2 + 3 + 3 = 8°, and one reversal finds it.
        let home = p(0.0, 0.0);
        let stops = vec![
            stop("a", p(0.0, 1.0), None),
            stop("b", p(0.0, -2.0), None),
            stop("c", p(0.0, 4.0), None),
        ];
        let nn = nearest_neighbour(home, &stops);
        assert_eq!(nn, [0, 1, 2]);
        let mut improved = nn.clone();
        two_opt(home, &stops, &mut improved);
        assert_eq!(improved, [1, 0, 2]);
        let degree = haversine_km(p(0.0, 0.0).unwrap(), p(0.0, 1.0).unwrap());
        assert!((length(home, &stops, &nn) - 10.0 * degree).abs() < 1e-6);
        assert!((length(home, &stops, &improved) - 8.0 * degree).abs() < 1e-6);
    }

    #[test]
    fn a_reversal_never_moves_one_appointment_past_another() {
        // The shortest tour would visit "pm" before "am"; their windows forbid it.
        let home = p(0.0, 0.0);
        let stops = vec![
            stop("am", p(0.0, 3.0), Some(9 * H)),
            stop("pm", p(0.0, 1.0), Some(13 * H)),
        ];
        let r = plan(home, &stops);
        assert_eq!(ids(&stops, &r), ["am", "pm"]);
    }

    fn arb_stops() -> impl Strategy<Value = Vec<Stop>> {
        prop::collection::vec(
            (
                prop::option::weighted(0.8, (-1.0..1.0f64, -1.0..1.0f64)),
                prop::option::weighted(0.4, 0..24i64),
            ),
            0..9,
        )
        .prop_map(|v| {
            v.into_iter()
                .enumerate()
                .map(|(i, (site, hour))| Stop {
                    id: format!("J{i}"),
                    site: site.map(|(lat, lon)| GeoPoint { lat, lon }),
                    window: hour.map(|h| (h * H, h * H + H)),
                })
                .collect()
        })
    }

    proptest! {
        #[test]
        fn a_route_visits_every_job_once_keeps_appointments_in_order_and_2opt_never_lengthens(
            stops in arb_stops(),
            start in prop::option::of((-1.0..1.0f64, -1.0..1.0f64)),
        ) {
            let start = start.map(|(lat, lon)| GeoPoint { lat, lon });
            let r = plan(start, &stops);
            let mut seen = r.order.clone();
            seen.sort_unstable();
            prop_assert_eq!(seen, (0..stops.len()).collect::<Vec<_>>());
            let windows: Vec<(i64, i64)> = r.order.iter().filter_map(|&i| stops[i].window).collect();
            prop_assert!(windows.windows(2).all(|w| w[0] <= w[1]), "{windows:?}");
            let nn = nearest_neighbour(start, &stops);
            let mut opt = nn.clone();
            two_opt(start, &stops, &mut opt);
            prop_assert!(length(start, &stops, &opt) <= length(start, &stops, &nn) + 1e-9);
            // The reported total is the sum of the known legs.
            let sum: u64 = r.legs.iter().flatten().map(|k| k.0).sum();
            prop_assert_eq!(sum, r.total.0);
            prop_assert_eq!(r.legs.iter().filter(|l| l.is_none()).count(), r.unknown_legs);
        }
    }
}
