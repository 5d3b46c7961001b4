//! The KPIs the after-sales manager reports on (SERVICE-RULES, "Targets the managers report on").
//!
//! Two steps:
//!
//! 1. [`facts`] boils one work order down to its [`Facts`]: what the KPIs need of it, derived
//!    from its [`View`] (which applied the conflict rules and so decides *whether* something
//!    counts) and its timed history (which tells *when* it happened, in field time). The server
//!    stores them as one projection row per work order.
//! 2. [`report`], [`daily`] and [`daily_series`] aggregate facts over a [`DateRange`] of UTC
//!    calendar days, optionally for one region.
//!
//! All instants are field times in ms since the Unix epoch (UTC). Durations come out of device
//! clocks that may disagree, so a negative duration (a step recorded "before" the one it
//! answers) counts as zero. Rates are rounded to 4 decimals and averages to 2, so the JSON is
//! stable; whether a target is met is decided on the unrounded value.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};
use sync_core::workorder::{EventKind, Priority, ServiceType, Status, View};
use time::{Date, OffsetDateTime};

const MINUTE_MS: i64 = 60_000;
const DAY_MS: i64 = 24 * 60 * MINUTE_MS;

/// The first-response window (CS-FIRST-RESPONSE): a response exactly at its end is in time.
pub const FIRST_RESPONSE_WINDOW_MS: i64 = DAY_MS;

/// Longest [`DateRange`] a report covers, in days (a leap year).
pub const MAX_RANGE_DAYS: i64 = 366;

/// A satisfied customer gives at least this score (4 or 5 of 5).
const SATISFIED_SCORE: u8 = 4;

pub use crate::clock::rules::TimedEvent;

/// What the KPIs need of one work order; derived from its view and timed history, stored as a
/// projection row. Times are field times in ms since the epoch.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Facts {
    pub wo_id: String,
    pub region: String,
    pub service_type: ServiceType,
    pub priority: Priority,
    /// Time of the `Created` event.
    pub created_at: i64,
    /// Time of the first `Assigned` event.
    pub first_assigned_at: Option<i64>,
    /// How long the first acceptance took: its time minus the time of the assignment it
    /// answered (the latest `Assigned` to the same technician before it in history), at least 0.
    pub accept_ms: Option<i64>,
    /// Time of the first contact with the customer: the first `AppointmentSet`, `EnRoute` or
    /// `OnSite` in history.
    pub first_response_at: Option<i64>,
    /// Time of the completion the view holds.
    pub completed_at: Option<i64>,
    /// Whether the completion the view holds fixed the problem.
    pub fixed: Option<bool>,
    /// Number of `OnSite` events.
    pub visits: u32,
    /// Whether the work order was ever reopened.
    pub reopened: bool,
    /// Completed, fixed, at most one visit and never reopened.
    pub first_time_fix: bool,
    /// Satisfaction score (1 to 5) of the follow-up the view holds.
    pub score: Option<u8>,
    /// Time of the follow-up the view holds.
    pub followed_up_at: Option<i64>,
    /// The view's status is `Cancelled`.
    pub cancelled: bool,
}

/// Derives the [`Facts`] of one work order from its view and its history in causal order.
///
/// Times are the [`TimedEvent::at`] field times, never `Event::at`. Where view and history
/// disagree the view decides whether (it applied the conflict rules), the history gives when:
/// the completion and the follow-up are looked up in the history by their event id. "First"
/// means first in causal order, since field times need not be monotonic. A history without a
/// `Created` event takes the time of its first event (0 when empty).
pub fn facts(view: &View, history: &[TimedEvent]) -> Facts {
    let time_of = |id: &str| history.iter().find(|t| t.event.id == id).map(|t| t.at);
    let first_at =
        |pred: fn(&EventKind) -> bool| history.iter().find(|t| pred(&t.event.kind)).map(|t| t.at);

    let created_at = first_at(|k| matches!(k, EventKind::Created))
        .or_else(|| history.first().map(|t| t.at))
        .unwrap_or(0);
    let visits = history
        .iter()
        .filter(|t| matches!(t.event.kind, EventKind::OnSite))
        .count();
    let visits = u32::try_from(visits).unwrap_or(u32::MAX);
    let reopened = history
        .iter()
        .any(|t| matches!(t.event.kind, EventKind::Reopened { .. }));
    let completed_at = view.completion.as_ref().and_then(|c| time_of(&c.by.event));
    let fixed = view.completion.as_ref().map(|c| c.fixed);

    Facts {
        wo_id: view.id.clone(),
        region: view.intake.region.clone(),
        service_type: view.intake.service_type,
        priority: view.intake.priority,
        created_at,
        first_assigned_at: first_at(|k| matches!(k, EventKind::Assigned { .. })),
        accept_ms: first_acceptance_ms(history),
        first_response_at: first_at(|k| {
            matches!(
                k,
                EventKind::AppointmentSet { .. } | EventKind::EnRoute | EventKind::OnSite
            )
        }),
        completed_at,
        fixed,
        visits,
        reopened,
        first_time_fix: completed_at.is_some() && fixed == Some(true) && visits <= 1 && !reopened,
        score: view.follow_up.as_ref().map(|f| f.score),
        followed_up_at: view.follow_up.as_ref().and_then(|f| time_of(&f.by.event)),
        cancelled: view.status == Status::Cancelled,
    }
}

/// The first acceptance minus the latest assignment to the same technician before it; `None`
/// when nothing was accepted or the first acceptance answers no assignment.
fn first_acceptance_ms(history: &[TimedEvent]) -> Option<i64> {
    let pos = history
        .iter()
        .position(|t| matches!(t.event.kind, EventKind::Accepted))?;
    let (before, rest) = history.split_at(pos);
    let accepted = rest.first()?;
    let assigned = before.iter().rev().find(|t| {
        matches!(&t.event.kind, EventKind::Assigned { technician, .. }
            if *technician == accepted.event.user)
    })?;
    Some(accepted.at.saturating_sub(assigned.at).max(0))
}

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
    fn of(outcomes: impl IntoIterator<Item = bool>, target: Option<f64>) -> Rate {
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
    fn minutes(durations_ms: impl IntoIterator<Item = i64>, target: Option<f64>) -> Average {
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

fn round(x: f64, decimals: i32) -> f64 {
    let scale = 10f64.powi(decimals);
    (x * scale).round() / scale
}

/// Why a report's parameters were refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KpiError {
    /// A date is not a calendar day written YYYY-MM-DD.
    BadDate {
        field: &'static str,
        value: String,
        reason: String,
    },
    /// The range ends before it starts.
    Reversed { from: Date, to: Date },
    /// The range covers more than [`MAX_RANGE_DAYS`] days.
    TooLong { days: i64, max: i64 },
}

impl fmt::Display for KpiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KpiError::BadDate {
                field,
                value,
                reason,
            } => write!(
                f,
                "{field} date {value:?} is not a calendar day written YYYY-MM-DD ({reason})"
            ),
            KpiError::Reversed { from, to } => write!(
                f,
                "the range starts on {} but ends earlier, on {}; `from` must not be after `to`",
                iso(*from),
                iso(*to)
            ),
            KpiError::TooLong { days, max } => write!(
                f,
                "the range covers {days} days; a report covers at most {max} days"
            ),
        }
    }
}

impl std::error::Error for KpiError {}

/// An inclusive range of UTC calendar days.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DateRange {
    pub from: Date,
    pub to: Date,
}

impl DateRange {
    /// Parses two `YYYY-MM-DD` days; `from` must not be after `to`, and the range covers at
    /// most [`MAX_RANGE_DAYS`] days.
    pub fn parse(from: &str, to: &str) -> Result<DateRange, KpiError> {
        let from = parse_date("from", from)?;
        let to = parse_date("to", to)?;
        if from > to {
            return Err(KpiError::Reversed { from, to });
        }
        let days = (to - from).whole_days() + 1;
        if days > MAX_RANGE_DAYS {
            return Err(KpiError::TooLong {
                days,
                max: MAX_RANGE_DAYS,
            });
        }
        Ok(DateRange { from, to })
    }

    /// 00:00 UTC of `from`, ms since the epoch (inclusive).
    pub fn start_ms(&self) -> i64 {
        day_start_ms(self.from)
    }

    /// 00:00 UTC of the day after `to`, ms since the epoch (exclusive).
    pub fn end_ms(&self) -> i64 {
        day_start_ms(self.to).saturating_add(DAY_MS)
    }

    /// Every day of the range, in order.
    pub fn days(&self) -> impl Iterator<Item = Date> {
        let to = self.to;
        std::iter::successors(Some(self.from).filter(|d| *d <= to), move |d| {
            d.next_day().filter(|n| *n <= to)
        })
    }

    fn contains(&self, ms: i64) -> bool {
        (self.start_ms()..self.end_ms()).contains(&ms)
    }
}

fn parse_date(field: &'static str, value: &str) -> Result<Date, KpiError> {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    Date::parse(value.trim(), format).map_err(|e| KpiError::BadDate {
        field,
        value: value.to_owned(),
        reason: e.to_string(),
    })
}

fn day_start_ms(day: Date) -> i64 {
    day.midnight()
        .assume_utc()
        .unix_timestamp()
        .saturating_mul(1000)
}

/// `YYYY-MM-DD`.
fn iso(day: Date) -> String {
    format!(
        "{:04}-{:02}-{:02}",
        day.year(),
        u8::from(day.month()),
        day.day()
    )
}

/// The UTC calendar day of an instant in ms since the epoch; `None` outside the supported years.
pub fn day_of(ms: i64) -> Option<Date> {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .ok()
        .map(|t| t.date())
}

/// The KPIs of the work orders created in a range of days (and region).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct KpiReport {
    pub from: String,
    pub to: String,
    pub region: Option<String>,
    /// Work orders created in the range (and region): the population of every KPI below.
    pub work_orders: u64,
    /// First response within 24 h of intake (a response exactly at 24 h counts). Counted: every
    /// responded work order, and every unresponded one whose 24 h have passed at `now`, unless
    /// it was cancelled. Target `first_response`.
    pub first_response_24h: Rate,
    /// Of the completed work orders (whenever completed), those fixed on the first visit and
    /// never reopened. Target `first_time_fix`.
    pub first_time_fix: Rate,
    /// Of the scored follow-ups, those scoring 4 or 5. Target `satisfaction`.
    pub satisfaction: Rate,
    /// Mean minutes from an assignment to its acceptance, over the accepted work orders; no
    /// target.
    pub avg_acceptance_minutes: Average,
    /// Mean minutes from intake to the first response, over the responded work orders (late
    /// responses included). Target `avg_response_minutes`, met when the mean is at most it.
    pub avg_response_minutes: Average,
    /// Complaints among all work orders; no target.
    pub complaint_rate: Rate,
    /// Work orders per service type, every type present (zeros included).
    pub volume_by_type: BTreeMap<String, u64>,
    /// Work orders that are completed (whenever completed).
    pub completed: u64,
    /// Work orders that are cancelled.
    pub cancelled: u64,
}

/// The KPIs of the work orders created in `range`, in `region` when given, as of `now`.
pub fn report(
    facts: &[Facts],
    range: &DateRange,
    region: Option<&str>,
    now: i64,
    targets: &Targets,
) -> KpiReport {
    let created: Vec<&Facts> = in_region(facts, region)
        .filter(|f| range.contains(f.created_at))
        .collect();
    let completed: Vec<&Facts> = created
        .iter()
        .copied()
        .filter(|f| f.completed_at.is_some())
        .collect();
    let response_ms = |f: &Facts| {
        f.first_response_at
            .map(|at| at.saturating_sub(f.created_at).max(0))
    };

    KpiReport {
        from: iso(range.from),
        to: iso(range.to),
        region: region.map(str::to_owned),
        work_orders: created.len() as u64,
        first_response_24h: Rate::of(
            created.iter().filter_map(|f| responded_in_time(f, now)),
            Some(targets.first_response),
        ),
        first_time_fix: Rate::of(
            completed.iter().map(|f| f.first_time_fix),
            Some(targets.first_time_fix),
        ),
        satisfaction: Rate::of(
            created.iter().filter_map(|f| f.score).map(satisfied),
            Some(targets.satisfaction),
        ),
        avg_acceptance_minutes: Average::minutes(
            created
                .iter()
                .filter_map(|f| f.accept_ms.map(|ms| ms.max(0))),
            None,
        ),
        avg_response_minutes: Average::minutes(
            created.iter().filter_map(|f| response_ms(f)),
            Some(targets.avg_response_minutes),
        ),
        complaint_rate: Rate::of(
            created
                .iter()
                .map(|f| f.service_type == ServiceType::Complaint),
            None,
        ),
        volume_by_type: volume_by_type(&created),
        completed: completed.len() as u64,
        cancelled: created.iter().filter(|f| f.cancelled).count() as u64,
    }
}

/// Whether a work order counts toward the first-response rate, and if so whether it was
/// answered in time: `None` when cancelled without a response, or unresponded while its
/// window is still open at `now`.
fn responded_in_time(f: &Facts, now: i64) -> Option<bool> {
    match f.first_response_at {
        Some(at) => Some(at.saturating_sub(f.created_at) <= FIRST_RESPONSE_WINDOW_MS),
        None if f.cancelled => None,
        None if now <= f.created_at.saturating_add(FIRST_RESPONSE_WINDOW_MS) => None,
        None => Some(false),
    }
}

fn satisfied(score: u8) -> bool {
    score >= SATISFIED_SCORE
}

fn in_region<'a>(
    facts: &'a [Facts],
    region: Option<&'a str>,
) -> impl Iterator<Item = &'a Facts> + 'a {
    facts
        .iter()
        .filter(move |f| region.is_none_or(|r| f.region == r))
}

/// Count per service type, every type present.
fn volume_by_type(facts: &[&Facts]) -> BTreeMap<String, u64> {
    let mut volume: BTreeMap<String, u64> = ServiceType::ALL
        .iter()
        .map(|t| (t.as_str().to_owned(), 0))
        .collect();
    for f in facts {
        *volume
            .entry(f.service_type.as_str().to_owned())
            .or_default() += 1;
    }
    volume
}

/// One day of the daily summary (and, one per day, of the trend).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DailySummary {
    pub date: String,
    pub region: Option<String>,
    /// Work orders created that day.
    pub volume: u64,
    /// Those per service type, every type present (zeros included).
    pub by_type: BTreeMap<String, u64>,
    /// Work orders completed that day, whenever created.
    pub completed: u64,
    /// Of those completed that day, the ones fixed; no target.
    pub resolution_rate: Rate,
    /// Of the follow-ups recorded that day, those scoring 4 or 5. Target `satisfaction`.
    pub satisfaction: Rate,
    /// Of those completed that day, the first-time fixes. Target `first_time_fix`.
    pub first_time_fix: Rate,
}

/// The summary of one UTC day, in `region` when given.
pub fn daily(facts: &[Facts], date: Date, region: Option<&str>, targets: &Targets) -> DailySummary {
    let day = DateRange {
        from: date,
        to: date,
    };
    let on_day = |at: Option<i64>| at.is_some_and(|ms| day.contains(ms));
    let created: Vec<&Facts> = in_region(facts, region)
        .filter(|f| day.contains(f.created_at))
        .collect();
    let completed: Vec<&Facts> = in_region(facts, region)
        .filter(|f| on_day(f.completed_at))
        .collect();

    DailySummary {
        date: iso(date),
        region: region.map(str::to_owned),
        volume: created.len() as u64,
        by_type: volume_by_type(&created),
        completed: completed.len() as u64,
        resolution_rate: Rate::of(completed.iter().map(|f| f.fixed == Some(true)), None),
        satisfaction: Rate::of(
            in_region(facts, region)
                .filter(|f| on_day(f.followed_up_at))
                .filter_map(|f| f.score)
                .map(satisfied),
            Some(targets.satisfaction),
        ),
        first_time_fix: Rate::of(
            completed.iter().map(|f| f.first_time_fix),
            Some(targets.first_time_fix),
        ),
    }
}

/// One [`daily`] summary per day of `range`, in order: the trend.
pub fn daily_series(
    facts: &[Facts],
    range: &DateRange,
    region: Option<&str>,
    targets: &Targets,
) -> Vec<DailySummary> {
    range
        .days()
        .map(|date| daily(facts, date, region, targets))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use sync_core::workorder::{Actor, Intake, Role, WorkOrder};
    use time::macros::date;

    const MIN: i64 = 60_000;
    const HOUR: i64 = 60 * MIN;

    // ---- facts() from real work orders -------------------------------------------------

    const T0: i64 = 1_790_000_000_000;

    fn agent() -> Actor {
        Actor::new("agent-1", Role::Agent, "office-1")
    }
    fn dispatcher() -> Actor {
        Actor::new("disp-1", Role::Dispatcher, "office-2")
    }
    fn tech(user: &str) -> Actor {
        Actor::new(user, Role::Technician, format!("phone-{user}"))
    }

    /// The history with each event's field time set to its device time plus `shift`.
    fn timed(wo: &WorkOrder, shift: i64) -> Vec<TimedEvent> {
        wo.history()
            .unwrap()
            .into_iter()
            .map(|event| TimedEvent {
                at: event.at + shift,
                event,
            })
            .collect()
    }

    fn facts_of(wo: &WorkOrder) -> Facts {
        facts(&wo.view().unwrap(), &timed(wo, 0))
    }

    fn created(id: &str) -> WorkOrder {
        WorkOrder::create(id, &agent(), Intake::example(), T0).unwrap()
    }

    /// Assigned to and accepted by tech-a, then one visit that ends completed.
    fn one_visit(fixed: bool) -> WorkOrder {
        let t = tech("tech-a");
        let mut wo = created("WO-V");
        wo.assign(&dispatcher(), "tech-a", None, T0 + MIN).unwrap();
        wo.accept(&t, T0 + 4 * MIN).unwrap();
        wo.set_appointment(&t, T0 + 2 * HOUR, T0 + 3 * HOUR, None, T0 + 10 * MIN)
            .unwrap();
        wo.en_route(&t, T0 + 100 * MIN).unwrap();
        wo.on_site(&t, T0 + 2 * HOUR).unwrap();
        wo.diagnose(&t, "pump blocked", &["clean pump"], T0 + 2 * HOUR + 5 * MIN)
            .unwrap();
        wo.start_work(&t, T0 + 2 * HOUR + 10 * MIN).unwrap();
        wo.record_test(&t, fixed, "drain test", T0 + 2 * HOUR + 40 * MIN)
            .unwrap();
        wo.complete(&t, fixed, T0 + 2 * HOUR + 45 * MIN).unwrap();
        wo
    }

    #[test]
    fn acceptance_after_a_reassignment_answers_the_second_assignment() {
        let d = dispatcher();
        let mut wo = created("WO-1");
        wo.assign(&d, "tech-a", None, T0 + MIN).unwrap();
        wo.assign(&d, "tech-b", Some("tech-a is ill"), T0 + 5 * MIN)
            .unwrap();
        wo.accept(&tech("tech-b"), T0 + 12 * MIN).unwrap();
        wo.set_appointment(
            &tech("tech-b"),
            T0 + HOUR,
            T0 + 2 * HOUR,
            None,
            T0 + 20 * MIN,
        )
        .unwrap();

        assert_eq!(
            facts_of(&wo),
            Facts {
                wo_id: "WO-1".into(),
                region: "berlin".into(),
                service_type: ServiceType::Repair,
                priority: Priority::Normal,
                created_at: T0,
                first_assigned_at: Some(T0 + MIN),
                accept_ms: Some(7 * MIN), // 12 min - 5 min, not 12 min - 1 min
                first_response_at: Some(T0 + 20 * MIN),
                completed_at: None,
                fixed: None,
                visits: 0,
                reopened: false,
                first_time_fix: false,
                score: None,
                followed_up_at: None,
                cancelled: false,
            }
        );
    }

    #[test]
    fn acceptance_answers_the_latest_assignment_to_the_same_technician() {
        let d = dispatcher();
        let mut wo = created("WO-2");
        wo.assign(&d, "tech-a", None, T0 + MIN).unwrap();
        wo.assign(&d, "tech-b", Some("closer"), T0 + 5 * MIN)
            .unwrap();
        wo.assign(&d, "tech-a", Some("tech-b has no van"), T0 + 8 * MIN)
            .unwrap();
        wo.accept(&tech("tech-a"), T0 + 10 * MIN).unwrap();
        let f = facts_of(&wo);
        assert_eq!(f.first_assigned_at, Some(T0 + MIN));
        assert_eq!(f.accept_ms, Some(2 * MIN));
        assert_eq!(f.first_response_at, None);
    }

    #[test]
    fn a_second_visit_after_a_reopen_is_not_a_first_time_fix() {
        let t = tech("tech-a");
        let mut wo = one_visit(true);
        assert!(facts_of(&wo).first_time_fix, "one visit, fixed");
        wo.follow_up(&agent(), 2, "still leaks", "revisit", T0 + 26 * HOUR)
            .unwrap();
        wo.reopen(&dispatcher(), "leak persists", T0 + 27 * HOUR)
            .unwrap();
        wo.accept(&t, T0 + 28 * HOUR).unwrap();
        wo.on_site(&t, T0 + 30 * HOUR).unwrap();
        wo.start_work(&t, T0 + 30 * HOUR + 5 * MIN).unwrap();
        wo.complete(&t, true, T0 + 31 * HOUR).unwrap();
        wo.follow_up(&agent(), 5, "dry now", "", T0 + 50 * HOUR)
            .unwrap();

        let f = facts_of(&wo);
        assert_eq!(f.visits, 2);
        assert!(f.reopened);
        assert_eq!(f.fixed, Some(true));
        assert!(!f.first_time_fix);
        // The view holds the second completion and follow-up; their times come from history.
        assert_eq!(f.completed_at, Some(T0 + 31 * HOUR));
        assert_eq!((f.score, f.followed_up_at), (Some(5), Some(T0 + 50 * HOUR)));
        // Firsts stay the firsts.
        assert_eq!(f.accept_ms, Some(3 * MIN));
        assert_eq!(f.first_response_at, Some(T0 + 10 * MIN));
    }

    #[test]
    fn a_cancelled_work_order() {
        let mut wo = created("WO-3");
        wo.assign(&dispatcher(), "tech-a", None, T0 + MIN).unwrap();
        wo.cancel(&agent(), "customer fixed it", T0 + 3 * MIN)
            .unwrap();
        let f = facts_of(&wo);
        assert!(f.cancelled);
        assert_eq!(f.first_assigned_at, Some(T0 + MIN));
        assert_eq!((f.accept_ms, f.first_response_at), (None, None));
        assert_eq!((f.completed_at, f.fixed, f.visits), (None, None, 0));
        assert!(!f.first_time_fix);
    }

    #[test]
    fn a_completion_that_did_not_fix_takes_its_time_from_the_field_clock() {
        let wo = one_visit(false);
        // Field times 7 minutes after the device times: every time is the field time.
        let f = facts(&wo.view().unwrap(), &timed(&wo, 7 * MIN));
        assert_eq!(f.created_at, T0 + 7 * MIN);
        assert_eq!(f.first_response_at, Some(T0 + 17 * MIN));
        assert_eq!(f.completed_at, Some(T0 + 2 * HOUR + 52 * MIN));
        assert_eq!(f.fixed, Some(false));
        assert_eq!((f.visits, f.reopened, f.first_time_fix), (1, false, false));
        assert_eq!(f.accept_ms, Some(3 * MIN));
        assert!(!f.cancelled);
    }

    #[test]
    fn a_negative_acceptance_time_from_skewed_clocks_counts_as_zero() {
        let d = dispatcher();
        let mut wo = created("WO-4");
        wo.assign(&d, "tech-a", None, T0 + 10 * MIN).unwrap();
        // The phone's clock runs 5 minutes behind.
        wo.accept(&tech("tech-a"), T0 + 5 * MIN).unwrap();
        assert_eq!(facts_of(&wo).accept_ms, Some(0));
    }

    // ---- the known data set ------------------------------------------------------------

    const D1: Date = date!(2026 - 03 - 01);
    const D2: Date = date!(2026 - 03 - 02);
    const D3: Date = date!(2026 - 03 - 03);
    const D4: Date = date!(2026 - 03 - 04);

    /// `hh:mm` UTC on `day`.
    fn t(day: Date, hh: i64, mm: i64) -> i64 {
        day_start_ms(day) + hh * HOUR + mm * MIN
    }

    fn fact(id: &str, region: &str, service_type: ServiceType, created_at: i64) -> Facts {
        Facts {
            wo_id: id.into(),
            region: region.into(),
            service_type,
            priority: Priority::Normal,
            created_at,
            first_assigned_at: None,
            accept_ms: None,
            first_response_at: None,
            completed_at: None,
            fixed: None,
            visits: 0,
            reopened: false,
            first_time_fix: false,
            score: None,
            followed_up_at: None,
            cancelled: false,
        }
    }

    /// Eleven work orders around 2026-03-01..=03-03; `NOW` is 2026-03-04 12:00.
    ///
    /// | wo | region | type | created | response after | accept | completed | fixed | ftf | score (on) |
    /// |----|--------|------|---------|----------------|--------|-----------|-------|-----|------------|
    /// | 1 | north | repair | 03-01 08:00 | 60 min | 10 | 03-01 12:00 | yes | yes | 5 (03-02) |
    /// | 2 | north | install | 03-01 10:00 | exactly 24 h | 20 | 03-02 15:00 | yes | no, 2 visits | 3 (03-03) |
    /// | 3 | south | complaint | 03-01 11:00 | 24 h + 1 ms | - | - | | | |
    /// | 4 | north | maintenance | 03-02 09:00 | none, cancelled | - | - | | | |
    /// | 5 | south | repair | 03-02 12:00 | 30 min | 5 | 03-02 16:00 | no | no | 4 (03-03) |
    /// | 6 | north | inspection | 03-03 23:59:59.999 | none, window open at NOW | - | - | | | |
    /// | 7 | north | repair | 03-04 00:00 (after range) | 10 min | 1 | 03-04 | yes | yes | 1 (03-04) |
    /// | 8 | south | repair | 03-02 08:00 | none, window over at NOW | - | - | | | |
    /// | 9 | north | repair | 02-28 23:59:59.999 (before range) | - | - | 03-01 15:00 | yes | yes | 5 (03-02) |
    /// | 10 | north | complaint | 03-03 07:00 | 25 min | 15 | 03-03 17:00 | yes | no, reopened | 2 (03-03) |
    /// | 11 | south | install | 03-03 14:00 | 60 min, then cancelled | 30 | - | | | |
    fn known() -> Vec<Facts> {
        use ServiceType::*;
        vec![
            Facts {
                first_assigned_at: Some(t(D1, 8, 5)),
                accept_ms: Some(10 * MIN),
                first_response_at: Some(t(D1, 9, 0)),
                completed_at: Some(t(D1, 12, 0)),
                fixed: Some(true),
                visits: 1,
                first_time_fix: true,
                score: Some(5),
                followed_up_at: Some(t(D2, 10, 0)),
                ..fact("WO-1", "north", Repair, t(D1, 8, 0))
            },
            Facts {
                accept_ms: Some(20 * MIN),
                first_response_at: Some(t(D2, 10, 0)),
                completed_at: Some(t(D2, 15, 0)),
                fixed: Some(true),
                visits: 2,
                score: Some(3),
                followed_up_at: Some(t(D3, 9, 0)),
                ..fact("WO-2", "north", Install, t(D1, 10, 0))
            },
            Facts {
                priority: Priority::Urgent,
                first_response_at: Some(t(D2, 11, 0) + 1),
                ..fact("WO-3", "south", Complaint, t(D1, 11, 0))
            },
            Facts {
                cancelled: true,
                ..fact("WO-4", "north", Maintenance, t(D2, 9, 0))
            },
            Facts {
                accept_ms: Some(5 * MIN),
                first_response_at: Some(t(D2, 12, 30)),
                completed_at: Some(t(D2, 16, 0)),
                fixed: Some(false),
                visits: 1,
                score: Some(4),
                followed_up_at: Some(t(D3, 10, 0)),
                ..fact("WO-5", "south", Repair, t(D2, 12, 0))
            },
            fact("WO-6", "north", Inspection, t(D4, 0, 0) - 1),
            Facts {
                accept_ms: Some(MIN),
                first_response_at: Some(t(D4, 0, 10)),
                completed_at: Some(t(D4, 3, 0)),
                fixed: Some(true),
                visits: 1,
                first_time_fix: true,
                score: Some(1),
                followed_up_at: Some(t(D4, 9, 0)),
                ..fact("WO-7", "north", Repair, t(D4, 0, 0))
            },
            fact("WO-8", "south", Repair, t(D2, 8, 0)),
            Facts {
                completed_at: Some(t(D1, 15, 0)),
                fixed: Some(true),
                visits: 1,
                first_time_fix: true,
                score: Some(5),
                followed_up_at: Some(t(D2, 9, 0)),
                ..fact("WO-9", "north", Repair, t(D1, 0, 0) - 1)
            },
            Facts {
                accept_ms: Some(15 * MIN),
                first_response_at: Some(t(D3, 7, 25)),
                completed_at: Some(t(D3, 17, 0)),
                fixed: Some(true),
                visits: 1,
                reopened: true,
                score: Some(2),
                followed_up_at: Some(t(D3, 20, 0)),
                ..fact("WO-10", "north", Complaint, t(D3, 7, 0))
            },
            Facts {
                accept_ms: Some(30 * MIN),
                first_response_at: Some(t(D3, 15, 0)),
                cancelled: true,
                ..fact("WO-11", "south", Install, t(D3, 14, 0))
            },
        ]
    }

    fn now() -> i64 {
        t(D4, 12, 0)
    }

    fn range() -> DateRange {
        DateRange::parse("2026-03-01", "2026-03-03").unwrap()
    }

    fn rate(n: u64, d: u64, rate: Option<f64>, target: Option<f64>, meets: Option<bool>) -> Rate {
        Rate {
            numerator: n,
            denominator: d,
            rate,
            target,
            meets_target: meets,
        }
    }

    fn avg(value: Option<f64>, count: u64, target: Option<f64>, meets: Option<bool>) -> Average {
        Average {
            value,
            count,
            target,
            meets_target: meets,
        }
    }

    fn types(
        install: u64,
        repair: u64,
        maintenance: u64,
        inspection: u64,
        complaint: u64,
    ) -> BTreeMap<String, u64> {
        [
            ("install", install),
            ("repair", repair),
            ("maintenance", maintenance),
            ("inspection", inspection),
            ("complaint", complaint),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect()
    }

    #[test]
    fn the_known_data_set_reports_the_hand_computed_kpis() {
        let r = report(&known(), &range(), None, now(), &Targets::default());
        let expected = KpiReport {
            from: "2026-03-01".into(),
            to: "2026-03-03".into(),
            region: None,
            // Created in range: 1, 2, 3, 4, 5, 6 (23:59:59.999 on the last day), 8, 10, 11.
            // Not 7 (00:00 the day after) nor 9 (23:59:59.999 the day before).
            work_orders: 9,
            // Counted: 1, 2, 3, 5, 8, 10, 11 = 7 (not 4: cancelled unanswered; not 6: its
            // window is open at NOW). In time: 1, 2 (exactly 24 h), 5, 10, 11 = 5.
            // Late: 3 (24 h + 1 ms), 8 (never answered, window over). 5/7 = 0.714285…
            first_response_24h: rate(5, 7, Some(0.7143), Some(0.95), Some(false)),
            // Completed: 1, 2, 5, 10 = 4; first-time fix: 1 only (2: two visits, 5: not
            // fixed, 10: reopened).
            first_time_fix: rate(1, 4, Some(0.25), Some(0.85), Some(false)),
            // Scored: 1 (5), 2 (3), 5 (4), 10 (2) = 4; satisfied: 1, 5.
            satisfaction: rate(2, 4, Some(0.5), Some(0.9), Some(false)),
            // 10 + 20 + 5 + 15 + 30 = 80 min over 5.
            avg_acceptance_minutes: avg(Some(16.0), 5, None, None),
            // 60 + 1440 + (1440 + 1/60000) + 30 + 25 + 60 = 3055.0000167 min over 6
            // = 509.1666…
            avg_response_minutes: avg(Some(509.17), 6, Some(30.0), Some(false)),
            // Complaints: 3, 10 of 9 = 0.2222…
            complaint_rate: rate(2, 9, Some(0.2222), None, None),
            // install 2, 11; repair 1, 5, 8; maintenance 4; inspection 6; complaint 3, 10.
            volume_by_type: types(2, 3, 1, 1, 2),
            completed: 4,
            cancelled: 2,
        };
        assert_eq!(r, expected);
    }

    #[test]
    fn the_known_data_set_for_one_region() {
        let r = report(
            &known(),
            &range(),
            Some("south"),
            now(),
            &Targets::default(),
        );
        let expected = KpiReport {
            from: "2026-03-01".into(),
            to: "2026-03-03".into(),
            region: Some("south".into()),
            // 3, 5, 8, 11.
            work_orders: 4,
            // All four counted (11 was answered before it was cancelled); in time: 5, 11.
            first_response_24h: rate(2, 4, Some(0.5), Some(0.95), Some(false)),
            // Completed: 5, not fixed.
            first_time_fix: rate(0, 1, Some(0.0), Some(0.85), Some(false)),
            // Scored: 5 with a 4.
            satisfaction: rate(1, 1, Some(1.0), Some(0.9), Some(true)),
            // (5 + 30) / 2.
            avg_acceptance_minutes: avg(Some(17.5), 2, None, None),
            // (1440.0000167 + 30 + 60) / 3 = 510.0000056.
            avg_response_minutes: avg(Some(510.0), 3, Some(30.0), Some(false)),
            complaint_rate: rate(1, 4, Some(0.25), None, None),
            volume_by_type: types(1, 2, 0, 0, 1),
            completed: 1,
            cancelled: 1,
        };
        assert_eq!(r, expected);
    }

    #[test]
    fn an_average_response_within_target_meets_it() {
        // North on 03-03: 6 (unanswered, window open) and 10 (answered after 25 min).
        let day = DateRange::parse("2026-03-03", "2026-03-03").unwrap();
        let r = report(&known(), &day, Some("north"), now(), &Targets::default());
        assert_eq!(r.work_orders, 2);
        assert_eq!(
            r.avg_response_minutes,
            avg(Some(25.0), 1, Some(30.0), Some(true))
        );
        assert_eq!(
            r.first_response_24h,
            rate(1, 1, Some(1.0), Some(0.95), Some(true))
        );
    }

    #[test]
    fn an_unanswered_work_order_counts_as_a_miss_once_its_window_is_over() {
        let targets = Targets::default();
        let wo6_deadline = t(D4, 0, 0) - 1 + FIRST_RESPONSE_WINDOW_MS;
        // At the deadline a response would still be in time: not counted yet.
        let r = report(&known(), &range(), None, wo6_deadline, &targets);
        assert_eq!(
            (
                r.first_response_24h.numerator,
                r.first_response_24h.denominator
            ),
            (5, 7)
        );
        // One ms later it is a miss.
        let r = report(&known(), &range(), None, wo6_deadline + 1, &targets);
        assert_eq!(
            r.first_response_24h,
            rate(5, 8, Some(0.625), Some(0.95), Some(false))
        );
    }

    #[test]
    fn daily_summaries_of_the_known_data_set() {
        let targets = Targets::default();
        assert_eq!(
            daily(&known(), D1, None, &targets),
            DailySummary {
                date: "2026-03-01".into(),
                region: None,
                // Created: 1, 2, 3 (9 was created the evening before).
                volume: 3,
                by_type: types(1, 1, 0, 0, 1),
                // Completed that day: 1, and 9 although created the day before.
                completed: 2,
                resolution_rate: rate(2, 2, Some(1.0), None, None),
                // No follow-up that day.
                satisfaction: rate(0, 0, None, Some(0.9), None),
                first_time_fix: rate(2, 2, Some(1.0), Some(0.85), Some(true)),
            }
        );
        assert_eq!(
            daily(&known(), D2, None, &targets),
            DailySummary {
                date: "2026-03-02".into(),
                region: None,
                // Created: 4, 5, 8.
                volume: 3,
                by_type: types(0, 2, 1, 0, 0),
                // Completed: 2 (fixed, two visits), 5 (not fixed).
                completed: 2,
                resolution_rate: rate(1, 2, Some(0.5), None, None),
                // Follow-ups that day: 1 (5) and 9 (5).
                satisfaction: rate(2, 2, Some(1.0), Some(0.9), Some(true)),
                first_time_fix: rate(0, 2, Some(0.0), Some(0.85), Some(false)),
            }
        );
        // South on 03-03: 11 created; no completion; the follow-up of 5 (a 4).
        let south = daily(&known(), D3, Some("south"), &targets);
        assert_eq!((south.volume, south.completed), (1, 0));
        assert_eq!(
            south.satisfaction,
            rate(1, 1, Some(1.0), Some(0.9), Some(true))
        );
        assert_eq!(south.resolution_rate.rate, None);
    }

    #[test]
    fn the_daily_series_has_one_summary_per_day() {
        let series = daily_series(&known(), &range(), None, &Targets::default());
        let dates: Vec<&str> = series.iter().map(|d| d.date.as_str()).collect();
        assert_eq!(dates, ["2026-03-01", "2026-03-02", "2026-03-03"]);
        let volume: u64 = series.iter().map(|d| d.volume).sum();
        assert_eq!(volume, 9, "the days add up to the report's work orders");
        assert_eq!(series[2].volume, 3, "on 03-03: 6, 10 and 11");
    }

    #[test]
    fn no_work_orders_give_no_rates_and_no_panic() {
        let targets = Targets::default();
        let r = report(&[], &range(), None, now(), &targets);
        assert_eq!(r.work_orders, 0);
        for rate in [
            &r.first_response_24h,
            &r.first_time_fix,
            &r.satisfaction,
            &r.complaint_rate,
        ] {
            assert_eq!(
                (rate.denominator, rate.rate, rate.meets_target),
                (0, None, None)
            );
        }
        assert_eq!(r.avg_acceptance_minutes, avg(None, 0, None, None));
        assert_eq!(r.avg_response_minutes, avg(None, 0, Some(30.0), None));
        assert_eq!(r.volume_by_type, types(0, 0, 0, 0, 0));
        let json = serde_json::to_value(&r).unwrap();
        assert_eq!(json["first_time_fix"]["rate"], serde_json::Value::Null);
        assert_eq!(json["volume_by_type"]["complaint"], 0);

        let d = daily(&[], D1, Some("north"), &targets);
        assert_eq!((d.volume, d.completed), (0, 0));
        assert_eq!(d.satisfaction.rate, None);
        assert!(daily_series(&[], &range(), None, &targets)
            .iter()
            .all(|d| d.volume == 0));
    }

    // ---- dates -------------------------------------------------------------------------

    #[test]
    fn date_ranges_cover_whole_utc_days() {
        let r = range();
        assert_eq!(r.start_ms(), 1_772_323_200_000); // 2026-03-01T00:00:00Z
        assert_eq!(r.end_ms(), 1_772_323_200_000 + 3 * DAY_MS);
        assert_eq!(r.days().collect::<Vec<_>>(), [D1, D2, D3]);
        assert_eq!(day_of(r.end_ms() - 1), Some(D3));
        assert_eq!(day_of(r.end_ms()), Some(D4));
        assert_eq!(day_of(-1), Some(date!(1969 - 12 - 31)));
        assert_eq!(day_of(i64::MAX), None);
        let leap = DateRange::parse("2024-01-01", "2024-12-31").unwrap();
        assert_eq!(leap.days().count(), 366);
        assert_eq!(
            DateRange::parse(" 2026-03-01", "2026-03-01 ")
                .unwrap()
                .days()
                .count(),
            1
        );
    }

    #[test]
    fn bad_date_ranges_are_refused_with_clear_messages() {
        let err = DateRange::parse("2026-3-01", "2026-03-02").unwrap_err();
        assert!(
            matches!(err, KpiError::BadDate { field: "from", .. }),
            "{err:?}"
        );
        assert!(err.to_string().contains("\"2026-3-01\""), "{err}");
        assert!(err.to_string().contains("YYYY-MM-DD"), "{err}");

        let err = DateRange::parse("2026-03-01", "2026-02-30").unwrap_err();
        assert!(
            matches!(err, KpiError::BadDate { field: "to", .. }),
            "{err:?}"
        );
        assert!(DateRange::parse("yesterday", "2026-03-01").is_err());
        assert!(DateRange::parse("2026-03-01T00:00", "2026-03-02").is_err());

        let err = DateRange::parse("2026-03-02", "2026-03-01").unwrap_err();
        assert_eq!(err, KpiError::Reversed { from: D2, to: D1 });
        assert_eq!(
            err.to_string(),
            "the range starts on 2026-03-02 but ends earlier, on 2026-03-01; `from` must not be after `to`"
        );

        let err = DateRange::parse("2025-01-01", "2026-01-02").unwrap_err();
        assert_eq!(
            err,
            KpiError::TooLong {
                days: 367,
                max: 366
            }
        );
        assert_eq!(
            err.to_string(),
            "the range covers 367 days; a report covers at most 366 days"
        );
    }

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

    // ---- properties --------------------------------------------------------------------

    fn any_time() -> impl Strategy<Value = i64> {
        let around = day_start_ms(D1) - 2 * DAY_MS..day_start_ms(D4) + 2 * DAY_MS;
        prop_oneof![4 => around, 1 => any::<i64>()]
    }

    fn any_facts() -> impl Strategy<Value = Facts> {
        let who = (
            prop_oneof![Just("north"), Just("south")],
            proptest::sample::select(ServiceType::ALL),
            proptest::sample::select(Priority::ALL),
            any_time(),
            proptest::option::of(any_time()),
            proptest::option::of(any::<i64>()),
        );
        let what = (
            proptest::option::of(any_time()),
            proptest::option::of(any_time()),
            proptest::option::of(any::<bool>()),
            any::<u32>(),
            any::<(bool, bool, bool)>(),
            proptest::option::of(any::<u8>()),
            proptest::option::of(any_time()),
        );
        (who, what).prop_map(
            |(
                (region, service_type, priority, created_at, first_assigned_at, accept_ms),
                (
                    first_response_at,
                    completed_at,
                    fixed,
                    visits,
                    (reopened, first_time_fix, cancelled),
                    score,
                    followed_up_at,
                ),
            )| Facts {
                wo_id: "WO-P".into(),
                region: region.into(),
                service_type,
                priority,
                created_at,
                first_assigned_at,
                accept_ms,
                first_response_at,
                completed_at,
                fixed,
                visits,
                reopened,
                first_time_fix,
                score,
                followed_up_at,
                cancelled,
            },
        )
    }

    fn check_rate(r: &Rate) -> Result<(), TestCaseError> {
        prop_assert!(r.numerator <= r.denominator, "{r:?}");
        prop_assert_eq!(r.rate.is_none(), r.denominator == 0);
        if let Some(x) = r.rate {
            prop_assert!((0.0..=1.0).contains(&x), "{r:?}");
        }
        Ok(())
    }

    proptest! {
        #[test]
        fn kpis_are_well_formed_for_any_facts(
            facts in proptest::collection::vec(any_facts(), 0..40),
            from in 0i64..4,
            len in 0i64..4,
            region in proptest::option::of(prop_oneof![Just("north"), Just("south"), Just("west")]),
            now in any_time(),
        ) {
            let start = D1 - time::Duration::days(1) + time::Duration::days(from);
            let range = DateRange { from: start, to: start + time::Duration::days(len) };
            let targets = Targets::default();

            let r = report(&facts, &range, region, now, &targets);
            for rate in [&r.first_response_24h, &r.first_time_fix, &r.satisfaction, &r.complaint_rate] {
                check_rate(rate)?;
            }
            prop_assert_eq!(r.volume_by_type.len(), ServiceType::ALL.len());
            prop_assert_eq!(r.volume_by_type.values().sum::<u64>(), r.work_orders);
            prop_assert!(r.completed <= r.work_orders && r.cancelled <= r.work_orders);
            for a in [&r.avg_acceptance_minutes, &r.avg_response_minutes] {
                prop_assert!(a.value.is_none_or(|v| v.is_finite() && v >= 0.0), "{a:?}");
                prop_assert_eq!(a.value.is_none(), a.count == 0);
            }

            let series = daily_series(&facts, &range, region, &targets);
            prop_assert_eq!(series.len() as i64, len + 1);
            prop_assert_eq!(series.iter().map(|d| d.volume).sum::<u64>(), r.work_orders);
            for d in &series {
                prop_assert_eq!(d.by_type.values().sum::<u64>(), d.volume);
                prop_assert_eq!(d.resolution_rate.denominator, d.completed);
                for rate in [&d.resolution_rate, &d.satisfaction, &d.first_time_fix] {
                    check_rate(rate)?;
                }
            }
        }
    }
}
