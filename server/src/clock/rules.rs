//! The service clocks of one work order, evaluated from its history (pure: no I/O, no system
//! time). Each clock rule of `SERVICE-RULES.md` gives zero or more [`ClockRow`]s: when the clock
//! started, when it is due, and what stopped it. Whether a row is breached is asked with a `now`
//! ([`ClockRow::state`]), so the rows of a work order only change when its history does.
//!
//! Times are field times (device clocks, clamped by the caller), in ms since the Unix epoch.
//! The history is in causal order; field times need not grow along it, so "after X" always
//! means "later in the history", never "at a later time".

use std::str::FromStr;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use sync_core::workorder::{Event, EventKind, Intake, Priority, ServiceType, LOW_SCORE_MAX};
use time::{OffsetDateTime, PrimitiveDateTime, Time, Weekday};

use crate::policy::ClockPolicy;

/// An event with the time it happened in the field (the device time, already clamped by the
/// caller), ms since epoch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimedEvent {
    pub event: Event,
    pub at: i64,
}

/// A clock rule of `SERVICE-RULES.md`. Serialized as its id (`"CS-ACCEPT"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Rule {
    /// CS-INTAKE: a new request is assigned within `intake` of intake.
    #[serde(rename = "CS-INTAKE")]
    Intake,
    /// CS-ACCEPT: the assigned technician accepts or declines within `accept` of assignment.
    #[serde(rename = "CS-ACCEPT")]
    Accept,
    /// CS-CONTACT: the visit is booked within `contact` of intake (listed service types only).
    #[serde(rename = "CS-CONTACT")]
    Contact,
    /// CS-FIRST-RESPONSE: first contact with the customer within `first_response` of intake.
    #[serde(rename = "CS-FIRST-RESPONSE")]
    FirstResponse,
    /// CS-MAJOR: first contact with the customer within `major` of intake (urgent jobs only).
    #[serde(rename = "CS-MAJOR")]
    Major,
    /// CS-SOLUTION: a diagnosis within `solution` of intake (all but complaints).
    #[serde(rename = "CS-SOLUTION")]
    Solution,
    /// CS-PROGRESS: while open, an update to the customer at least every `progress`.
    #[serde(rename = "CS-PROGRESS")]
    Progress,
    /// CS-FOLLOWUP: the follow-up call between `followup_earliest` and `followup` after completion.
    #[serde(rename = "CS-FOLLOWUP")]
    FollowUp,
    /// CS-LOWSCORE: a low score (≤ `LOW_SCORE_MAX`, 3) is handled by a manager within `low_score`.
    #[serde(rename = "CS-LOWSCORE")]
    LowScore,
    /// CS-COMPLAINT-CLASSIFY: a complaint is classified within `complaint_classify` of intake.
    #[serde(rename = "CS-COMPLAINT-CLASSIFY")]
    ComplaintClassify,
    /// CS-COMPLAINT-DISPATCH: a complaint is assigned within `complaint_dispatch` of intake.
    #[serde(rename = "CS-COMPLAINT-DISPATCH")]
    ComplaintDispatch,
    /// CS-COMPLAINT-SOLUTION: a complaint is diagnosed within `complaint_solution` of intake.
    #[serde(rename = "CS-COMPLAINT-SOLUTION")]
    ComplaintSolution,
    /// CS-COMPLAINT-RESOLVE: a complaint is completed within
    /// `complaint_resolve_business_days` business days of intake.
    #[serde(rename = "CS-COMPLAINT-RESOLVE")]
    ComplaintResolve,
}

impl Rule {
    /// Every rule, in their sort order.
    pub const ALL: [Rule; 13] = [
        Rule::Intake,
        Rule::Accept,
        Rule::Contact,
        Rule::FirstResponse,
        Rule::Major,
        Rule::Solution,
        Rule::Progress,
        Rule::FollowUp,
        Rule::LowScore,
        Rule::ComplaintClassify,
        Rule::ComplaintDispatch,
        Rule::ComplaintSolution,
        Rule::ComplaintResolve,
    ];

    /// The rule's id in `SERVICE-RULES.md`.
    pub fn id(self) -> &'static str {
        match self {
            Rule::Intake => "CS-INTAKE",
            Rule::Accept => "CS-ACCEPT",
            Rule::Contact => "CS-CONTACT",
            Rule::FirstResponse => "CS-FIRST-RESPONSE",
            Rule::Major => "CS-MAJOR",
            Rule::Solution => "CS-SOLUTION",
            Rule::Progress => "CS-PROGRESS",
            Rule::FollowUp => "CS-FOLLOWUP",
            Rule::LowScore => "CS-LOWSCORE",
            Rule::ComplaintClassify => "CS-COMPLAINT-CLASSIFY",
            Rule::ComplaintDispatch => "CS-COMPLAINT-DISPATCH",
            Rule::ComplaintSolution => "CS-COMPLAINT-SOLUTION",
            Rule::ComplaintResolve => "CS-COMPLAINT-RESOLVE",
        }
    }

    /// What the rule asks for, in one line.
    pub fn description(self) -> &'static str {
        match self {
            Rule::Intake => "a new request is acknowledged by assigning it",
            Rule::Accept => "the assigned technician accepts or declines the job",
            Rule::Contact => "the technician contacts the customer and books the visit",
            Rule::FirstResponse => {
                "first response to the customer (appointment, en route or on site)"
            }
            Rule::Major => "first response to the customer on an urgent job",
            Rule::Solution => "a diagnosis with a proposed solution",
            Rule::Progress => "a progress update to the customer while the work order is open",
            Rule::FollowUp => "the follow-up call, inside its window after completion",
            Rule::LowScore => "a manager handles a low satisfaction score",
            Rule::ComplaintClassify => "a complaint is classified",
            Rule::ComplaintDispatch => "a complaint is dispatched",
            Rule::ComplaintSolution => "a solution to a complaint is proposed",
            Rule::ComplaintResolve => "a complaint is resolved within business days",
        }
    }
}

impl std::fmt::Display for Rule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.id())
    }
}

impl FromStr for Rule {
    type Err = String;

    /// Parses a rule id (`"CS-ACCEPT"`), exactly as [`Rule::id`] writes it.
    fn from_str(s: &str) -> Result<Self, String> {
        Rule::ALL.into_iter().find(|r| r.id() == s).ok_or_else(|| {
            let ids: Vec<&str> = Rule::ALL.iter().map(|r| r.id()).collect();
            format!(
                "unknown clock rule {s:?}; expected one of: {}",
                ids.join(", ")
            )
        })
    }
}

/// Why a clock stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StopKind {
    /// The required step happened.
    Met,
    /// The clock no longer applies (cancelled, reassigned, reopened…).
    Moot,
}

/// One clock of one work order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ClockRow {
    pub rule: Rule,
    /// `"intake"` or the id of the event that started the clock.
    pub anchor: String,
    pub started_at: i64,
    pub due_at: i64,
    /// Only CS-FOLLOWUP: stopping (Met) before this is a breach too.
    pub not_before: Option<i64>,
    /// Never before `started_at` (an earlier field time is clamped to the start).
    pub stopped_at: Option<i64>,
    /// Id of the event that stopped the clock.
    pub stopped_by: Option<String>,
    pub stop: Option<StopKind>,
    /// CS-ACCEPT: who was to accept.
    pub technician: Option<String>,
}

/// Where a clock stands at some moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ClockState {
    Running,
    Met,
    Moot,
    Breached,
}

impl ClockRow {
    /// Breached when: running and `now > due_at`; or stopped (Met or Moot) after `due_at`;
    /// or Met before `not_before`. A row counts as stopped only with both `stop` and
    /// `stopped_at` set.
    pub fn state(&self, now: i64) -> ClockState {
        match (self.stop, self.stopped_at) {
            (Some(kind), Some(at)) => {
                let early = kind == StopKind::Met && self.not_before.is_some_and(|nb| at < nb);
                if at > self.due_at || early {
                    ClockState::Breached
                } else if kind == StopKind::Met {
                    ClockState::Met
                } else {
                    ClockState::Moot
                }
            }
            _ if now > self.due_at => ClockState::Breached,
            _ => ClockState::Running,
        }
    }

    /// Whether [`ClockRow::state`] is [`ClockState::Breached`] at `now`.
    pub fn is_breached(&self, now: i64) -> bool {
        self.state(now) == ClockState::Breached
    }

    fn open(rule: Rule, anchor: String, started_at: i64, due_at: i64) -> ClockRow {
        ClockRow {
            rule,
            anchor,
            started_at,
            due_at,
            not_before: None,
            stopped_at: None,
            stopped_by: None,
            stop: None,
            technician: None,
        }
    }

    /// Stops the clock by `e`, at `e`'s time clamped to the start.
    fn stop_by(mut self, e: &TimedEvent, kind: StopKind) -> ClockRow {
        self.stopped_at = Some(e.at.max(self.started_at));
        self.stopped_by = Some(e.event.id.clone());
        self.stop = Some(kind);
        self
    }

    /// Stops the clock by the first event of `rest` for which `stop` says so, or by the first
    /// `Cancelled` (Moot), whichever comes first; leaves it running when neither comes.
    fn watch(self, rest: &[TimedEvent], stop: impl Fn(&TimedEvent) -> Option<StopKind>) -> Self {
        let hit = rest.iter().find_map(|e| {
            stop(e)
                .or_else(|| {
                    matches!(e.event.kind, EventKind::Cancelled { .. }).then_some(StopKind::Moot)
                })
                .map(|kind| (e, kind))
        });
        match hit {
            Some((e, kind)) => self.stop_by(e, kind),
            None => self,
        }
    }
}

/// A duration in ms, saturating at `i64::MAX`.
fn ms(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

/// A stop condition: Met by the first event whose kind satisfies `is`.
fn met_by(is: fn(&EventKind) -> bool) -> impl Fn(&TimedEvent) -> Option<StopKind> {
    move |e| is(&e.event.kind).then_some(StopKind::Met)
}

fn is_assigned(k: &EventKind) -> bool {
    matches!(k, EventKind::Assigned { .. })
}

fn is_appointment(k: &EventKind) -> bool {
    matches!(k, EventKind::AppointmentSet { .. })
}

/// First contact with the customer: an appointment, on the way, or on site.
fn is_first_contact(k: &EventKind) -> bool {
    matches!(
        k,
        EventKind::AppointmentSet { .. } | EventKind::EnRoute | EventKind::OnSite
    )
}

fn is_diagnosed(k: &EventKind) -> bool {
    matches!(k, EventKind::Diagnosed { .. })
}

fn is_classified(k: &EventKind) -> bool {
    matches!(k, EventKind::Classified { .. })
}

fn is_completed(k: &EventKind) -> bool {
    matches!(k, EventKind::Completed { .. })
}

/// A step the customer hears of (CS-PROGRESS).
fn is_update(k: &EventKind) -> bool {
    matches!(
        k,
        EventKind::AppointmentSet { .. }
            | EventKind::EnRoute
            | EventKind::OnSite
            | EventKind::Diagnosed { .. }
            | EventKind::Quoted { .. }
            | EventKind::ConsentGiven { .. }
            | EventKind::WorkStarted
            | EventKind::Tested { .. }
    )
}

/// Every event of `events` with the events after it.
fn with_rest(events: &[TimedEvent]) -> impl Iterator<Item = (&TimedEvent, &[TimedEvent])> {
    let mut rest = events;
    std::iter::from_fn(move || {
        let (e, tail) = rest.split_first()?;
        rest = tail;
        Some((e, tail))
    })
}

/// The clocks of one work order, sorted by (rule, started_at, anchor).
///
/// `history` is in causal order. Intake is the first `Created` event; without one there are no
/// clocks. Events listed before it are ignored (in a well-formed history nothing precedes it).
/// Every clock is stopped Moot by the first `Cancelled` after its start, and stays stopped:
/// a later `Reopened` starts only new CS-PROGRESS rows.
pub fn evaluate(policy: &ClockPolicy, intake: &Intake, history: &[TimedEvent]) -> Vec<ClockRow> {
    let Some(created) = history
        .iter()
        .position(|e| matches!(e.event.kind, EventKind::Created))
    else {
        return Vec::new();
    };
    let Some((created, after)) = history.get(created..).and_then(<[_]>::split_first) else {
        return Vec::new();
    };
    let intake_at = created.at;
    let from_intake = |rule: Rule, d: Duration| {
        ClockRow::open(
            rule,
            "intake".into(),
            intake_at,
            intake_at.saturating_add(ms(d)),
        )
    };
    let complaint = intake.service_type == ServiceType::Complaint;

    let mut rows = vec![from_intake(Rule::Intake, policy.intake).watch(after, met_by(is_assigned))];
    rows.extend(accept_rows(policy, after));
    if policy.contact_service_types.contains(&intake.service_type) {
        rows.push(from_intake(Rule::Contact, policy.contact).watch(after, met_by(is_appointment)));
    }
    rows.push(
        from_intake(Rule::FirstResponse, policy.first_response)
            .watch(after, met_by(is_first_contact)),
    );
    if intake.priority == Priority::Urgent {
        rows.push(from_intake(Rule::Major, policy.major).watch(after, met_by(is_first_contact)));
    }
    if !complaint {
        rows.push(from_intake(Rule::Solution, policy.solution).watch(after, met_by(is_diagnosed)));
    }
    rows.extend(progress_rows(policy, intake_at, after));
    rows.extend(followup_rows(policy, after));
    rows.extend(low_score_rows(policy, after));
    if complaint {
        rows.push(
            from_intake(Rule::ComplaintClassify, policy.complaint_classify)
                .watch(after, met_by(is_classified)),
        );
        rows.push(
            from_intake(Rule::ComplaintDispatch, policy.complaint_dispatch)
                .watch(after, met_by(is_assigned)),
        );
        rows.push(
            from_intake(Rule::ComplaintSolution, policy.complaint_solution)
                .watch(after, met_by(is_diagnosed)),
        );
        let due = add_business_days(intake_at, policy.complaint_resolve_business_days);
        rows.push(
            ClockRow::open(Rule::ComplaintResolve, "intake".into(), intake_at, due)
                .watch(after, met_by(is_completed)),
        );
    }
    // Stable: rows equal in the key keep the (deterministic) order they were made in.
    rows.sort_by(|a, b| (a.rule, a.started_at, &a.anchor).cmp(&(b.rule, b.started_at, &b.anchor)));
    rows
}

/// CS-ACCEPT: one row per `Assigned { technician: T }`. Met by T's `Accepted` or `Declined`;
/// Moot by `AcceptTimedOut { technician: T }`, another `Assigned`, `Unassigned` or `Cancelled`.
fn accept_rows<'a>(
    policy: &'a ClockPolicy,
    events: &'a [TimedEvent],
) -> impl Iterator<Item = ClockRow> + 'a {
    with_rest(events).filter_map(move |(a, rest)| {
        let EventKind::Assigned { technician, .. } = &a.event.kind else {
            return None;
        };
        let mut row = ClockRow::open(
            Rule::Accept,
            a.event.id.clone(),
            a.at,
            a.at.saturating_add(ms(policy.accept)),
        );
        row.technician = Some(technician.clone());
        Some(row.watch(rest, |e| match &e.event.kind {
            EventKind::Accepted | EventKind::Declined { .. } if e.event.user == *technician => {
                Some(StopKind::Met)
            }
            EventKind::AcceptTimedOut { technician: t } if t == technician => Some(StopKind::Moot),
            EventKind::Assigned { .. } | EventKind::Unassigned { .. } => Some(StopKind::Moot),
            _ => None,
        }))
    })
}

/// CS-PROGRESS: a chain of rows. The first starts at intake; each update event stops the running
/// row (Met) and starts the next; `Completed` or `Signed` stops it (Met), `Cancelled` (Moot),
/// and a `Reopened` starts a new one. While no row runs, updates start none and while one runs,
/// a `Reopened` changes nothing.
fn progress_rows(policy: &ClockPolicy, intake_at: i64, events: &[TimedEvent]) -> Vec<ClockRow> {
    let every = ms(policy.progress);
    let start = |anchor: String, at: i64| {
        ClockRow::open(Rule::Progress, anchor, at, at.saturating_add(every))
    };
    let mut rows = Vec::new();
    let mut running = Some(start("intake".into(), intake_at));
    for e in events {
        let kind = &e.event.kind;
        if is_update(kind) {
            if let Some(row) = running.take() {
                rows.push(row.stop_by(e, StopKind::Met));
                running = Some(start(e.event.id.clone(), e.at));
            }
        } else if matches!(kind, EventKind::Completed { .. } | EventKind::Signed { .. }) {
            rows.extend(running.take().map(|row| row.stop_by(e, StopKind::Met)));
        } else if matches!(kind, EventKind::Cancelled { .. }) {
            rows.extend(running.take().map(|row| row.stop_by(e, StopKind::Moot)));
        } else if matches!(kind, EventKind::Reopened { .. }) && running.is_none() {
            running = Some(start(e.event.id.clone(), e.at));
        }
    }
    rows.extend(running);
    rows
}

/// CS-FOLLOWUP: one row per completion episode (from the first `Completed` after intake or
/// after a `Reopened`), due `followup` after it and not before `followup_earliest`. Met by the
/// first `FollowedUp`; Moot by `Reopened` or `Cancelled`.
fn followup_rows(policy: &ClockPolicy, events: &[TimedEvent]) -> Vec<ClockRow> {
    let mut rows = Vec::new();
    let mut completed_in_episode = false;
    for (c, rest) in with_rest(events) {
        match &c.event.kind {
            EventKind::Reopened { .. } => completed_in_episode = false,
            EventKind::Completed { .. } if !completed_in_episode => {
                completed_in_episode = true;
                let mut row = ClockRow::open(
                    Rule::FollowUp,
                    c.event.id.clone(),
                    c.at,
                    c.at.saturating_add(ms(policy.followup)),
                );
                row.not_before = Some(c.at.saturating_add(ms(policy.followup_earliest)));
                rows.push(row.watch(
                    rest,
                    stopped_by_or_reopened(|k| matches!(k, EventKind::FollowedUp { .. })),
                ));
            }
            _ => {}
        }
    }
    rows
}

/// CS-LOWSCORE: one row per `FollowedUp` with a score ≤ `LOW_SCORE_MAX` (3), due `low_score` after
/// it. Met by the first `EscalationHandled`; Moot by `Reopened` or `Cancelled`.
fn low_score_rows<'a>(
    policy: &'a ClockPolicy,
    events: &'a [TimedEvent],
) -> impl Iterator<Item = ClockRow> + 'a {
    with_rest(events).filter_map(move |(f, rest)| {
        let EventKind::FollowedUp { score, .. } = f.event.kind else {
            return None;
        };
        (score <= LOW_SCORE_MAX).then(|| {
            ClockRow::open(
                Rule::LowScore,
                f.event.id.clone(),
                f.at,
                f.at.saturating_add(ms(policy.low_score)),
            )
            .watch(
                rest,
                stopped_by_or_reopened(|k| matches!(k, EventKind::EscalationHandled { .. })),
            )
        })
    })
}

/// A stop condition: Met by an event whose kind satisfies `is`, Moot by `Reopened`.
fn stopped_by_or_reopened(is: fn(&EventKind) -> bool) -> impl Fn(&TimedEvent) -> Option<StopKind> {
    move |e| match &e.event.kind {
        k if is(k) => Some(StopKind::Met),
        EventKind::Reopened { .. } => Some(StopKind::Moot),
        _ => None,
    }
}

const DAY_MS: i64 = 86_400_000;

/// `start_ms` plus `days` business days (Monday to Friday, UTC), keeping the time of day.
///
/// Each business day moves to the same time on the next business day: Fri 10:00 + 1 = Mon
/// 10:00, Fri 10:00 + 5 = the next Fri 10:00. A start on a Saturday or Sunday counts from the
/// following Monday 00:00, so Sat 15:00 + 5 = the Monday after next, 00:00 (five whole business
/// days after Monday 00:00), and Sun + 0 = Mon 00:00. Outside the calendar's range (years beyond
/// ±9999) it falls back to `days` calendar days, saturating.
pub fn add_business_days(start_ms: i64, days: u32) -> i64 {
    business_days(start_ms, days)
        .unwrap_or_else(|| start_ms.saturating_add(i64::from(days).saturating_mul(DAY_MS)))
}

fn business_days(start_ms: i64, days: u32) -> Option<i64> {
    let start = OffsetDateTime::from_unix_timestamp_nanos(i128::from(start_ms) * 1_000_000).ok()?;
    let (mut date, mut time_of_day) = (start.date(), start.time());
    if is_weekend(date.weekday()) {
        let to_monday = 7 - i64::from(date.weekday().number_days_from_monday());
        date = date.checked_add(time::Duration::days(to_monday))?;
        time_of_day = Time::MIDNIGHT;
    }
    // Whole weeks of five business days are seven calendar days; the rest go one by one.
    date = date.checked_add(time::Duration::weeks(i64::from(days / 5)))?;
    for _ in 0..days % 5 {
        date = date.next_day()?;
        while is_weekend(date.weekday()) {
            date = date.next_day()?;
        }
    }
    let due = PrimitiveDateTime::new(date, time_of_day).assume_utc();
    i64::try_from(due.unix_timestamp_nanos() / 1_000_000).ok()
}

fn is_weekend(day: Weekday) -> bool {
    matches!(day, Weekday::Saturday | Weekday::Sunday)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use sync_core::workorder::{ComplaintCategory, Role};
    use time::macros::datetime;

    const MIN: i64 = 60_000;
    const H: i64 = 60 * MIN;
    /// Monday 2025-06-02 09:00 UTC.
    const T0: i64 = 1_748_854_800_000;
    /// Far enough for every running clock to be overdue.
    const LATER: i64 = T0 + 1000 * H;

    fn ms_of(t: OffsetDateTime) -> i64 {
        i64::try_from(t.unix_timestamp_nanos() / 1_000_000).unwrap()
    }

    fn ev(id: &str, at: i64, user: &str, role: Role, kind: EventKind) -> TimedEvent {
        TimedEvent {
            event: Event {
                id: id.into(),
                parents: vec![],
                at,
                user: user.into(),
                role,
                device: id.split('#').next().unwrap().into(),
                kind,
                position: None,
            },
            at,
        }
    }

    fn created() -> TimedEvent {
        ev("office#1", T0, "agent", Role::Agent, EventKind::Created)
    }

    fn assigned(id: &str, at: i64, tech: &str) -> TimedEvent {
        let kind = EventKind::Assigned {
            technician: tech.into(),
            reason: String::new(),
        };
        ev(id, at, "disp", Role::Dispatcher, kind)
    }

    fn tech(id: &str, at: i64, kind: EventKind) -> TimedEvent {
        ev(id, at, "tom", Role::Technician, kind)
    }

    fn office(id: &str, at: i64, kind: EventKind) -> TimedEvent {
        ev(id, at, "mia", Role::Manager, kind)
    }

    fn appointment() -> EventKind {
        EventKind::AppointmentSet {
            start: T0 + 48 * H,
            end: T0 + 50 * H,
            reason: String::new(),
        }
    }

    fn diagnosed() -> EventKind {
        EventKind::Diagnosed {
            cause: "pump".into(),
            solutions: vec!["new pump".into()],
        }
    }

    fn completed() -> EventKind {
        EventKind::Completed { fixed: true }
    }

    fn cancelled() -> EventKind {
        EventKind::Cancelled {
            reason: "customer".into(),
        }
    }

    fn reopened() -> EventKind {
        EventKind::Reopened {
            reason: "again".into(),
        }
    }

    fn followed_up(score: u8) -> EventKind {
        EventKind::FollowedUp {
            score,
            comment: String::new(),
            remedial: String::new(),
        }
    }

    fn handled() -> EventKind {
        EventKind::EscalationHandled {
            escalation: "E1".into(),
            action: "called back".into(),
        }
    }

    fn intake_of(service_type: ServiceType, priority: Priority) -> Intake {
        Intake {
            service_type,
            priority,
            ..Intake::example()
        }
    }

    fn eval_with(intake: &Intake, history: &[TimedEvent]) -> Vec<ClockRow> {
        evaluate(&ClockPolicy::default(), intake, history)
    }

    fn eval(history: &[TimedEvent]) -> Vec<ClockRow> {
        eval_with(&Intake::example(), history)
    }

    fn of(rows: &[ClockRow], rule: Rule) -> Vec<&ClockRow> {
        rows.iter().filter(|r| r.rule == rule).collect()
    }

    fn one(rows: &[ClockRow], rule: Rule) -> &ClockRow {
        let found = of(rows, rule);
        assert_eq!(found.len(), 1, "{rule}: {rows:#?}");
        found[0]
    }

    /// An intake-anchored rule: which intake makes it apply, its due time, and an event kind that
    /// meets it.
    struct IntakeRule {
        rule: Rule,
        intake: Intake,
        due: i64,
        meet: fn() -> EventKind,
    }

    fn intake_rules() -> Vec<IntakeRule> {
        let repair = Intake::example();
        let urgent = intake_of(ServiceType::Repair, Priority::Urgent);
        let complaint = intake_of(ServiceType::Complaint, Priority::Normal);
        let assign = || EventKind::Assigned {
            technician: "tom".into(),
            reason: String::new(),
        };
        vec![
            IntakeRule {
                rule: Rule::Intake,
                intake: repair.clone(),
                due: T0 + 10 * MIN,
                meet: assign,
            },
            IntakeRule {
                rule: Rule::Contact,
                intake: repair.clone(),
                due: T0 + 24 * H,
                meet: appointment,
            },
            IntakeRule {
                rule: Rule::FirstResponse,
                intake: repair.clone(),
                due: T0 + 24 * H,
                meet: || EventKind::EnRoute,
            },
            IntakeRule {
                rule: Rule::Major,
                intake: urgent,
                due: T0 + H,
                meet: || EventKind::OnSite,
            },
            IntakeRule {
                rule: Rule::Solution,
                intake: repair,
                due: T0 + 48 * H,
                meet: diagnosed,
            },
            IntakeRule {
                rule: Rule::ComplaintClassify,
                intake: complaint.clone(),
                due: T0 + 30 * MIN,
                meet: || EventKind::Classified {
                    category: ComplaintCategory::Delay,
                    urgent: false,
                },
            },
            IntakeRule {
                rule: Rule::ComplaintDispatch,
                intake: complaint.clone(),
                due: T0 + H,
                meet: assign,
            },
            IntakeRule {
                rule: Rule::ComplaintSolution,
                intake: complaint.clone(),
                due: T0 + 24 * H,
                meet: diagnosed,
            },
            // Monday 09:00 + 5 business days = next Monday 09:00.
            IntakeRule {
                rule: Rule::ComplaintResolve,
                intake: complaint,
                due: T0 + 7 * 24 * H,
                meet: completed,
            },
        ]
    }

    #[test]
    fn intake_anchored_rules_met_late_running_and_moot() {
        for c in intake_rules() {
            let rule = c.rule;
            let run = |tail: Vec<TimedEvent>| {
                let mut history = vec![created()];
                history.extend(tail);
                one(&eval_with(&c.intake, &history), rule).clone()
            };

            let met = run(vec![tech("dev#1", c.due - MIN, (c.meet)())]);
            assert_eq!(
                (met.anchor.as_str(), met.started_at, met.due_at),
                ("intake", T0, c.due),
                "{rule}"
            );
            assert_eq!(met.stopped_by.as_deref(), Some("dev#1"), "{rule}");
            assert_eq!(met.state(LATER), ClockState::Met, "{rule}");

            let on_the_dot = run(vec![tech("dev#1", c.due, (c.meet)())]);
            assert_eq!(on_the_dot.state(LATER), ClockState::Met, "{rule}");

            let late = run(vec![tech("dev#1", c.due + MIN, (c.meet)())]);
            assert_eq!(late.stop, Some(StopKind::Met), "{rule}");
            assert_eq!(late.state(T0), ClockState::Breached, "{rule}");
            assert!(late.is_breached(LATER), "{rule}");

            let running = run(vec![tech("dev#1", T0 + MIN, EventKind::NotesEdited)]);
            assert_eq!(running.stop, None, "{rule}");
            assert_eq!(running.state(c.due), ClockState::Running, "{rule}");
            assert_eq!(running.state(c.due + 1), ClockState::Breached, "{rule}");

            let moot = run(vec![
                office("office#2", c.due - MIN, cancelled()),
                tech("dev#1", c.due - 1, (c.meet)()),
            ]);
            assert_eq!(moot.stop, Some(StopKind::Moot), "{rule}");
            assert_eq!(moot.stopped_by.as_deref(), Some("office#2"), "{rule}");
            assert_eq!(moot.state(LATER), ClockState::Moot, "{rule}");

            let cancelled_late = run(vec![office("office#2", c.due + MIN, cancelled())]);
            assert_eq!(cancelled_late.state(LATER), ClockState::Breached, "{rule}");

            // A stop that a reopen after a cancel does not undo.
            let stays_moot = run(vec![
                office("office#2", T0 + MIN, cancelled()),
                office("office#3", T0 + 2 * MIN, reopened()),
                tech("dev#1", T0 + 3 * MIN, (c.meet)()),
            ]);
            assert_eq!(stays_moot.stop, Some(StopKind::Moot), "{rule}");
        }
    }

    #[test]
    fn first_response_is_met_by_any_first_contact() {
        for kind in [appointment(), EventKind::EnRoute, EventKind::OnSite] {
            let rows = eval(&[created(), tech("dev#1", T0 + H, kind)]);
            assert_eq!(one(&rows, Rule::FirstResponse).stop, Some(StopKind::Met));
        }
        let rows = eval(&[created(), tech("dev#1", T0 + H, diagnosed())]);
        assert_eq!(one(&rows, Rule::FirstResponse).stop, None);
    }

    #[test]
    fn rules_apply_only_to_their_work_orders() {
        let rules = |intake: &Intake| {
            let mut rules: Vec<Rule> = eval_with(intake, &[created()])
                .iter()
                .map(|r| r.rule)
                .collect();
            rules.dedup();
            rules
        };
        assert_eq!(
            rules(&Intake::example()),
            [
                Rule::Intake,
                Rule::Contact,
                Rule::FirstResponse,
                Rule::Solution,
                Rule::Progress
            ]
        );
        assert_eq!(
            rules(&intake_of(ServiceType::Install, Priority::Urgent)),
            [
                Rule::Intake,
                Rule::Contact,
                Rule::FirstResponse,
                Rule::Major,
                Rule::Solution,
                Rule::Progress
            ]
        );
        // A complaint: no CS-SOLUTION, no CS-CONTACT (not in the default list), the four complaint rules.
        assert_eq!(
            rules(&intake_of(ServiceType::Complaint, Priority::Vip)),
            [
                Rule::Intake,
                Rule::FirstResponse,
                Rule::Progress,
                Rule::ComplaintClassify,
                Rule::ComplaintDispatch,
                Rule::ComplaintSolution,
                Rule::ComplaintResolve
            ]
        );
        let policy = ClockPolicy {
            contact_service_types: vec![],
            ..ClockPolicy::default()
        };
        let rows = evaluate(&policy, &Intake::example(), &[created()]);
        assert!(of(&rows, Rule::Contact).is_empty());
    }

    #[test]
    fn no_created_event_no_clocks_and_nothing_before_it_counts() {
        assert!(eval(&[]).is_empty());
        assert!(eval(&[assigned("office#2", T0, "tom")]).is_empty());
        let rows = eval(&[assigned("office#2", T0 + MIN, "tom"), created()]);
        assert_eq!(one(&rows, Rule::Intake).stop, None);
        assert!(of(&rows, Rule::Accept).is_empty());
    }

    #[test]
    fn a_stop_before_the_start_is_clamped_to_the_start() {
        // The dispatcher's device clock is 5 minutes behind the agent's.
        let rows = eval(&[created(), assigned("office#2", T0 - 5 * MIN, "tom")]);
        let intake = one(&rows, Rule::Intake);
        assert_eq!(intake.stopped_at, Some(T0));
        assert_eq!(intake.state(LATER), ClockState::Met);
    }

    fn accept_row(tail: Vec<TimedEvent>) -> ClockRow {
        let mut history = vec![created(), assigned("office#2", T0 + MIN, "tom")];
        history.extend(tail);
        let rows = eval(&history);
        let row = of(&rows, Rule::Accept)
            .into_iter()
            .find(|r| r.anchor == "office#2")
            .unwrap()
            .clone();
        assert_eq!(row.technician.as_deref(), Some("tom"));
        assert_eq!((row.started_at, row.due_at), (T0 + MIN, T0 + MIN + H));
        row
    }

    #[test]
    fn accept_met_by_the_technicians_answer() {
        let accepted = accept_row(vec![tech("dev#1", T0 + 30 * MIN, EventKind::Accepted)]);
        assert_eq!(accepted.stop, Some(StopKind::Met));
        assert_eq!(accepted.state(LATER), ClockState::Met);

        let declined = accept_row(vec![tech(
            "dev#1",
            T0 + 30 * MIN,
            EventKind::Declined {
                reason: "sick".into(),
            },
        )]);
        assert_eq!(declined.stop, Some(StopKind::Met));
        assert_eq!(declined.state(LATER), ClockState::Met);

        let late = accept_row(vec![tech("dev#1", T0 + 2 * H, EventKind::Accepted)]);
        assert_eq!(late.state(LATER), ClockState::Breached);

        // Someone else's answer does not stop tom's clock.
        let other = accept_row(vec![ev(
            "dev#2",
            T0 + 30 * MIN,
            "ann",
            Role::Technician,
            EventKind::Accepted,
        )]);
        assert_eq!(other.stop, None);
        assert_eq!(other.state(T0 + MIN + H), ClockState::Running);
        assert_eq!(other.state(T0 + 2 * H), ClockState::Breached);
    }

    #[test]
    fn accept_timed_out_reassigned_or_cancelled_is_moot() {
        let timed_out = |technician: &str| {
            ev(
                "server#1",
                T0 + MIN + H + 1,
                "clock",
                Role::System,
                EventKind::AcceptTimedOut {
                    technician: technician.into(),
                },
            )
        };
        let out = accept_row(vec![timed_out("tom")]);
        assert_eq!(
            (out.stop, out.stopped_by.as_deref()),
            (Some(StopKind::Moot), Some("server#1"))
        );
        assert_eq!(out.state(LATER), ClockState::Breached);
        // A timeout for someone else is not this clock's.
        assert_eq!(accept_row(vec![timed_out("ann")]).stop, None);

        let early = accept_row(vec![assigned("office#3", T0 + 20 * MIN, "ann")]);
        assert_eq!(early.stop, Some(StopKind::Moot));
        assert_eq!(early.state(LATER), ClockState::Moot);
        assert!(!early.is_breached(LATER));

        let late = accept_row(vec![assigned("office#3", T0 + 2 * H, "ann")]);
        assert_eq!(late.stop, Some(StopKind::Moot));
        assert!(late.is_breached(LATER));

        let unassigned = accept_row(vec![office(
            "office#3",
            T0 + 20 * MIN,
            EventKind::Unassigned {
                reason: String::new(),
            },
        )]);
        assert_eq!(unassigned.state(LATER), ClockState::Moot);

        let cancel = accept_row(vec![office("office#3", T0 + 20 * MIN, cancelled())]);
        assert_eq!(cancel.state(LATER), ClockState::Moot);
    }

    #[test]
    fn every_assignment_has_its_own_accept_clock() {
        let rows = eval(&[
            created(),
            assigned("office#2", T0 + MIN, "tom"),
            tech(
                "dev#1",
                T0 + 10 * MIN,
                EventKind::Declined {
                    reason: String::new(),
                },
            ),
            assigned("office#3", T0 + 20 * MIN, "ann"),
            ev(
                "dev#2",
                T0 + 30 * MIN,
                "ann",
                Role::Technician,
                EventKind::Accepted,
            ),
        ]);
        let accept = of(&rows, Rule::Accept);
        assert_eq!(accept.len(), 2);
        assert_eq!(
            (accept[0].anchor.as_str(), accept[0].stopped_by.as_deref()),
            ("office#2", Some("dev#1"))
        );
        assert_eq!(
            (accept[1].anchor.as_str(), accept[1].stopped_by.as_deref()),
            ("office#3", Some("dev#2"))
        );
        assert!(accept.iter().all(|r| r.state(LATER) == ClockState::Met));
    }

    #[test]
    fn progress_chain_breaches_only_the_long_gap() {
        let rows = eval(&[
            created(),
            tech("dev#1", T0 + 2 * H, appointment()),
            tech("dev#2", T0 + 30 * H, EventKind::EnRoute),
            tech("dev#3", T0 + 31 * H, EventKind::OnSite),
            tech("dev#4", T0 + 40 * H, completed()),
        ]);
        let progress = of(&rows, Rule::Progress);
        let chain: Vec<_> = progress
            .iter()
            .map(|r| {
                (
                    r.anchor.as_str(),
                    r.started_at,
                    r.due_at,
                    r.stopped_at,
                    r.stop,
                    r.state(LATER),
                )
            })
            .collect();
        use ClockState::*;
        let met = Some(StopKind::Met);
        assert_eq!(
            chain,
            [
                ("intake", T0, T0 + 24 * H, Some(T0 + 2 * H), met, Met),
                (
                    "dev#1",
                    T0 + 2 * H,
                    T0 + 26 * H,
                    Some(T0 + 30 * H),
                    met,
                    Breached
                ),
                (
                    "dev#2",
                    T0 + 30 * H,
                    T0 + 54 * H,
                    Some(T0 + 31 * H),
                    met,
                    Met
                ),
                (
                    "dev#3",
                    T0 + 31 * H,
                    T0 + 55 * H,
                    Some(T0 + 40 * H),
                    met,
                    Met
                ),
            ]
        );
    }

    #[test]
    fn progress_runs_while_open_stops_on_cancel_and_restarts_on_reopen() {
        let rows = eval(&[created(), tech("dev#1", T0 + H, EventKind::WorkStarted)]);
        let running = of(&rows, Rule::Progress)[1];
        assert_eq!((running.anchor.as_str(), running.stop), ("dev#1", None));
        assert_eq!(running.state(T0 + 25 * H), ClockState::Running);
        assert_eq!(running.state(T0 + 25 * H + 1), ClockState::Breached);

        let rows = eval(&[
            created(),
            tech(
                "dev#1",
                T0 + H,
                EventKind::Signed {
                    signer: "Ada".into(),
                    blob: String::new(),
                    heads: vec![],
                    digest: String::new(),
                },
            ),
            tech(
                "dev#2",
                T0 + 2 * H,
                EventKind::Tested {
                    passed: true,
                    details: String::new(),
                },
            ),
            tech("dev#3", T0 + 3 * H, completed()),
            office("office#2", T0 + 4 * H, reopened()),
            office("office#3", T0 + 5 * H, reopened()),
            office("office#4", T0 + 6 * H, cancelled()),
            tech("dev#4", T0 + 7 * H, EventKind::OnSite),
            office("office#5", T0 + 8 * H, reopened()),
        ]);
        let chain: Vec<_> = of(&rows, Rule::Progress)
            .iter()
            .map(|r| (r.anchor.as_str(), r.stopped_by.as_deref(), r.stop))
            .collect();
        assert_eq!(
            chain,
            [
                // Signed stops the chain; an update while nothing runs starts nothing.
                ("intake", Some("dev#1"), Some(StopKind::Met)),
                // The first reopen restarts it, the second (while running) changes nothing.
                ("office#2", Some("office#4"), Some(StopKind::Moot)),
                ("office#5", None, None),
            ]
        );
    }

    fn followup_history(tail: Vec<TimedEvent>) -> Vec<TimedEvent> {
        let mut history = vec![created(), tech("dev#1", T0 + H, completed())];
        history.extend(tail);
        history
    }

    #[test]
    fn followup_must_come_inside_its_window() {
        let c = T0 + H;
        let row = |at: i64| {
            let rows = eval(&followup_history(vec![office(
                "office#2",
                at,
                followed_up(5),
            )]));
            one(&rows, Rule::FollowUp).clone()
        };
        let early = row(c + 2 * H);
        assert_eq!((early.anchor.as_str(), early.started_at), ("dev#1", c));
        assert_eq!(
            (early.not_before, early.due_at),
            (Some(c + 24 * H), c + 72 * H)
        );
        assert_eq!(early.stop, Some(StopKind::Met));
        assert_eq!(early.state(LATER), ClockState::Breached);
        assert_eq!(row(c + 24 * H).state(LATER), ClockState::Met);
        assert_eq!(row(c + 30 * H).state(LATER), ClockState::Met);
        assert_eq!(row(c + 72 * H).state(LATER), ClockState::Met);
        assert_eq!(row(c + 80 * H).state(LATER), ClockState::Breached);

        let rows = eval(&followup_history(vec![]));
        let running = one(&rows, Rule::FollowUp);
        assert_eq!(running.state(c + 2 * H), ClockState::Running);
        assert_eq!(running.state(c + 73 * H), ClockState::Breached);
    }

    #[test]
    fn followup_one_row_per_completion_episode_moot_on_reopen_or_cancel() {
        let rows = eval(&followup_history(vec![
            tech("dev#2", T0 + 2 * H, completed()),
            office("office#2", T0 + 3 * H, reopened()),
            tech("dev#3", T0 + 4 * H, completed()),
            office("office#3", T0 + 40 * H, followed_up(4)),
        ]));
        let rows: Vec<_> = of(&rows, Rule::FollowUp)
            .iter()
            .map(|r| (r.anchor.as_str(), r.stopped_by.as_deref(), r.state(LATER)))
            .collect();
        assert_eq!(
            rows,
            [
                ("dev#1", Some("office#2"), ClockState::Moot),
                ("dev#3", Some("office#3"), ClockState::Met)
            ]
        );

        let rows = eval(&followup_history(vec![office(
            "office#2",
            T0 + 2 * H,
            cancelled(),
        )]));
        assert_eq!(one(&rows, Rule::FollowUp).state(LATER), ClockState::Moot);
    }

    fn low_score_rows_for(score: u8, tail: Vec<TimedEvent>) -> Vec<ClockRow> {
        let mut history =
            followup_history(vec![office("office#2", T0 + 30 * H, followed_up(score))]);
        history.extend(tail);
        of(&eval(&history), Rule::LowScore)
            .into_iter()
            .cloned()
            .collect()
    }

    #[test]
    fn low_score_is_handled_by_a_manager_in_time() {
        let f = T0 + 30 * H;
        assert!(low_score_rows_for(4, vec![]).is_empty());
        let running = low_score_rows_for(3, vec![]);
        assert_eq!(running.len(), 1);
        assert_eq!(
            (
                running[0].anchor.as_str(),
                running[0].started_at,
                running[0].due_at
            ),
            ("office#2", f, f + 2 * H)
        );
        assert_eq!(running[0].state(f + 2 * H), ClockState::Running);
        assert_eq!(running[0].state(f + 2 * H + 1), ClockState::Breached);

        let in_time = low_score_rows_for(1, vec![office("office#3", f + H, handled())]);
        assert_eq!(in_time[0].state(LATER), ClockState::Met);
        let late = low_score_rows_for(2, vec![office("office#3", f + 3 * H, handled())]);
        assert_eq!(late[0].state(LATER), ClockState::Breached);
        let reopened = low_score_rows_for(3, vec![office("office#3", f + H, reopened())]);
        assert_eq!(reopened[0].state(LATER), ClockState::Moot);
        let cancelled = low_score_rows_for(3, vec![office("office#3", f + H, cancelled())]);
        assert_eq!(cancelled[0].state(LATER), ClockState::Moot);

        let history = followup_history(vec![office("office#2", f, followed_up(4))]);
        assert!(
            of(
                &evaluate(&ClockPolicy::default(), &Intake::example(), &history),
                Rule::LowScore
            )
            .is_empty(),
            "4 is not a low score"
        );
    }

    #[test]
    fn business_days_skip_weekends_and_keep_the_time_of_day() {
        let fri = ms_of(datetime!(2025-06-06 10:00 UTC));
        assert_eq!(add_business_days(fri, 0), fri);
        assert_eq!(
            add_business_days(fri, 1),
            ms_of(datetime!(2025-06-09 10:00 UTC))
        );
        assert_eq!(
            add_business_days(fri, 5),
            ms_of(datetime!(2025-06-13 10:00 UTC))
        );
        assert_eq!(
            add_business_days(fri, 6),
            ms_of(datetime!(2025-06-16 10:00 UTC))
        );
        let wed = ms_of(datetime!(2025-06-04 23:59:59.999 UTC));
        assert_eq!(
            add_business_days(wed, 3),
            ms_of(datetime!(2025-06-09 23:59:59.999 UTC))
        );
        assert_eq!(
            add_business_days(wed, 10),
            ms_of(datetime!(2025-06-18 23:59:59.999 UTC))
        );
        // A weekend start counts from Monday 00:00.
        let sat = ms_of(datetime!(2025-06-07 15:30 UTC));
        assert_eq!(
            add_business_days(sat, 0),
            ms_of(datetime!(2025-06-09 00:00 UTC))
        );
        assert_eq!(
            add_business_days(sat, 1),
            ms_of(datetime!(2025-06-10 00:00 UTC))
        );
        assert_eq!(
            add_business_days(sat, 5),
            ms_of(datetime!(2025-06-16 00:00 UTC))
        );
        let sun = ms_of(datetime!(2025-06-08 23:00 UTC));
        assert_eq!(
            add_business_days(sun, 5),
            ms_of(datetime!(2025-06-16 00:00 UTC))
        );
        // Before 1970 too.
        let old = ms_of(datetime!(1969-12-26 12:00 UTC)); // a Friday
        assert_eq!(
            add_business_days(old, 1),
            ms_of(datetime!(1969-12-29 12:00 UTC))
        );
        // Out of the calendar's range: calendar days, saturating, no panic.
        assert_eq!(add_business_days(i64::MAX, 5), i64::MAX);
        assert_eq!(add_business_days(i64::MIN, 1), i64::MIN + DAY_MS);
        assert!(add_business_days(i64::MAX - DAY_MS, u32::MAX) >= i64::MAX - DAY_MS);
        let near_end = ms_of(datetime!(9999-12-30 12:00 UTC)); // a Thursday
        assert_eq!(add_business_days(near_end, 5), near_end + 5 * DAY_MS);
    }

    #[test]
    fn complaint_resolve_counts_business_days_across_the_weekend() {
        let fri = ms_of(datetime!(2025-06-06 10:00 UTC));
        let complaint = intake_of(ServiceType::Complaint, Priority::Normal);
        let history = [
            ev("office#1", fri, "agent", Role::Agent, EventKind::Created),
            tech("dev#1", ms_of(datetime!(2025-06-13 09:00 UTC)), completed()),
        ];
        let rows = eval_with(&complaint, &history);
        let resolve = one(&rows, Rule::ComplaintResolve);
        assert_eq!(resolve.due_at, ms_of(datetime!(2025-06-13 10:00 UTC)));
        assert_eq!(resolve.state(LATER), ClockState::Met);
    }

    #[test]
    fn rules_have_ids_descriptions_and_parse_back() {
        for rule in Rule::ALL {
            assert_eq!(rule.id().parse::<Rule>(), Ok(rule));
            assert_eq!(rule.to_string(), rule.id());
            assert!(!rule.description().is_empty());
        }
        assert!(Rule::ALL.windows(2).all(|w| w[0] < w[1]));
        let e = "CS-NOPE".parse::<Rule>().unwrap_err();
        assert!(e.contains("CS-NOPE") && e.contains("CS-LOWSCORE"), "{e}");
    }

    #[test]
    fn rows_serialize_with_rule_ids_and_snake_case() {
        let rows = eval(&[created(), assigned("office#2", T0 + MIN, "tom")]);
        let json = serde_json::to_value(one(&rows, Rule::Intake)).unwrap();
        assert_eq!(json["rule"], "CS-INTAKE");
        assert_eq!(json["stop"], "met");
        assert_eq!(json["stopped_by"], "office#2");
        assert_eq!(
            serde_json::to_value(ClockState::Breached).unwrap(),
            "breached"
        );
        assert_eq!(
            serde_json::from_str::<Rule>("\"CS-FIRST-RESPONSE\"").unwrap(),
            Rule::FirstResponse
        );
    }

    #[test]
    fn output_is_sorted_and_deterministic() {
        let history = [
            created(),
            assigned("office#3", T0 + 2 * MIN, "ann"),
            assigned("office#2", T0 + 2 * MIN, "tom"),
            tech("dev#1", T0 + H, appointment()),
            tech("dev#2", T0 - H, EventKind::EnRoute),
            tech("dev#3", T0 + 5 * H, completed()),
            office("office#4", T0 + 30 * H, followed_up(2)),
        ];
        let complaint = intake_of(ServiceType::Complaint, Priority::Urgent);
        let rows = eval_with(&complaint, &history);
        assert_eq!(rows, eval_with(&complaint, &history));
        assert!(is_sorted(&rows), "{rows:#?}");
        let accept: Vec<_> = of(&rows, Rule::Accept)
            .iter()
            .map(|r| r.anchor.as_str())
            .collect();
        assert_eq!(accept, ["office#2", "office#3"]);
    }

    fn is_sorted(rows: &[ClockRow]) -> bool {
        rows.windows(2).all(|w| {
            (w[0].rule, w[0].started_at, &w[0].anchor) <= (w[1].rule, w[1].started_at, &w[1].anchor)
        })
    }

    /// Every kind of event that matters to some clock, plus one that matters to none.
    fn kind_for(n: u8, technician: &str) -> EventKind {
        match n % 20 {
            0 => EventKind::Created,
            1 => EventKind::Assigned {
                technician: technician.into(),
                reason: String::new(),
            },
            2 => EventKind::Unassigned {
                reason: String::new(),
            },
            3 => EventKind::Accepted,
            4 => EventKind::Declined {
                reason: String::new(),
            },
            5 => EventKind::AcceptTimedOut {
                technician: technician.into(),
            },
            6 => appointment(),
            7 => EventKind::EnRoute,
            8 => EventKind::OnSite,
            9 => diagnosed(),
            10 => EventKind::WorkStarted,
            11 => EventKind::Tested {
                passed: true,
                details: String::new(),
            },
            12 => completed(),
            13 => followed_up(n % 6),
            14 => cancelled(),
            15 => reopened(),
            16 => EventKind::Classified {
                category: ComplaintCategory::Quality,
                urgent: true,
            },
            17 => handled(),
            18 => EventKind::Signed {
                signer: "Ada".into(),
                blob: String::new(),
                heads: vec![],
                digest: String::new(),
            },
            _ => EventKind::NotesEdited,
        }
    }

    fn any_at() -> impl Strategy<Value = i64> {
        prop_oneof![
            8 => (T0 - 100 * H)..(T0 + 500 * H),
            1 => any::<i64>(),
            1 => Just(i64::MAX),
            1 => Just(i64::MIN),
        ]
    }

    proptest! {
        #[test]
        fn evaluate_is_total_sorted_and_consistent(
            created_first in any::<bool>(),
            huge in any::<bool>(),
            service in 0..ServiceType::ALL.len(),
            priority in 0..Priority::ALL.len(),
            steps in prop::collection::vec((any::<u8>(), any_at(), 0..3usize), 0..40),
        ) {
            let users = ["tom", "ann", "mia"];
            let mut history: Vec<TimedEvent> = steps
                .iter()
                .enumerate()
                .map(|(i, &(n, at, u))| {
                    ev(&format!("dev{u}#{i}"), at, users[u], Role::Technician, kind_for(n, users[(u + 1) % 3]))
                })
                .collect();
            if created_first {
                history.insert(0, created());
            }
            let policy = if huge {
                ClockPolicy {
                    intake: Duration::MAX,
                    accept: Duration::MAX,
                    progress: Duration::MAX,
                    followup: Duration::MAX,
                    followup_earliest: Duration::MAX,
                    low_score: Duration::MAX,
                    complaint_resolve_business_days: u32::MAX,
                    ..ClockPolicy::default()
                }
            } else {
                ClockPolicy::default()
            };
            let intake = intake_of(ServiceType::ALL[service], Priority::ALL[priority]);
            let rows = evaluate(&policy, &intake, &history);
            prop_assert!(is_sorted(&rows));
            prop_assert_eq!(&rows, &evaluate(&policy, &intake, &history));
            for r in &rows {
                prop_assert!(r.due_at >= r.started_at, "{:?}", r);
                if let Some(stopped) = r.stopped_at {
                    prop_assert!(stopped >= r.started_at, "{:?}", r);
                }
                prop_assert_eq!(r.stop.is_some(), r.stopped_at.is_some());
                prop_assert_eq!(r.stop.is_some(), r.stopped_by.is_some());
                prop_assert_eq!(r.not_before.is_some(), r.rule == Rule::FollowUp);
                prop_assert_eq!(r.technician.is_some(), r.rule == Rule::Accept);
                let _ = r.state(i64::MIN);
                let _ = r.state(i64::MAX);
            }
            let has_created = history.iter().any(|e| matches!(e.event.kind, EventKind::Created));
            prop_assert_eq!(rows.is_empty(), !has_created);
        }
    }
}
