//! The service policy: every number of the clock rules, dispatch and the KPI targets, read from
//! a TOML file. Defaults are those of `SERVICE-RULES.md`; a file names only what it changes.
//!
//! ```toml
//! [clock]
//! accept = "30m"                # CS-ACCEPT
//! followup_earliest = "12h"     # CS-FOLLOWUP window start
//! contact_service_types = ["repair"]
//!
//! [dispatch]
//! auto_on_intake = false
//! batch_chunk_decisions = 64   # POST /v1/dispatch/auto: decisions per write transaction
//!
//! [kpi]
//! first_time_fix_target = 0.9
//!
//! [audit]
//! sample_rate = 0.05           # the daily quality-audit sample: 5 % a region, at least one
//! ```
//!
//! Durations are written the `humantime` way (`"10m"`, `"1h"`, `"5days"`, `"1h 30m"`). Unknown
//! keys are refused, so a misspelt setting never silently falls back to its default.

use std::path::Path;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use sync_core::workorder::ServiceType;

const MINUTE: u64 = 60;
const HOUR: u64 = 60 * MINUTE;

/// The whole service policy (`field-server --print-policy` prints it).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Policy {
    /// `[clock]`: the clock rules.
    pub clock: ClockPolicy,
    /// `[dispatch]`: how work orders reach technicians.
    pub dispatch: DispatchPolicy,
    /// `[kpi]`: the targets managers report against.
    pub kpi: KpiTargets,
    /// `[audit]`: the daily quality-audit sample.
    pub audit: AuditPolicy,
}

/// The quality audit (`SERVICE-RULES.md`, "Quality audit"; `server/src/audit`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuditPolicy {
    /// Share (0 to 1) of each region's work orders completed in a day that the daily draw
    /// samples for audit; a region with any completed gets at least one (0 turns the draw off).
    pub sample_rate: f64,
}

impl Default for AuditPolicy {
    fn default() -> Self {
        AuditPolicy { sample_rate: 0.10 }
    }
}

/// The clock rules (`SERVICE-RULES.md`, "Clock rules"): how long each step may take.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ClockPolicy {
    /// CS-INTAKE: a request is recorded and acknowledged (assigned) within this after intake.
    #[serde(with = "humantime_serde")]
    pub intake: Duration,
    /// CS-ACCEPT: the assigned technician accepts (or declines) within this after assignment.
    #[serde(with = "humantime_serde")]
    pub accept: Duration,
    /// CS-CONTACT: the technician books the visit with the customer within this after intake.
    #[serde(with = "humantime_serde")]
    pub contact: Duration,
    /// CS-CONTACT: the service types the contact rule applies to.
    pub contact_service_types: Vec<ServiceType>,
    /// CS-FIRST-RESPONSE: first contact with the customer within this after intake.
    #[serde(with = "humantime_serde")]
    pub first_response: Duration,
    /// CS-MAJOR: first contact with the customer within this after intake, for urgent jobs.
    #[serde(with = "humantime_serde")]
    pub major: Duration,
    /// CS-SOLUTION: a diagnosis with a proposed solution within this after intake.
    #[serde(with = "humantime_serde")]
    pub solution: Duration,
    /// CS-PROGRESS: while open, the customer hears of progress at least this often.
    #[serde(with = "humantime_serde")]
    pub progress: Duration,
    /// CS-FOLLOWUP: the follow-up call comes no earlier than this after completion.
    #[serde(with = "humantime_serde")]
    pub followup_earliest: Duration,
    /// CS-FOLLOWUP: the follow-up call comes no later than this after completion.
    #[serde(with = "humantime_serde")]
    pub followup: Duration,
    /// CS-LOWSCORE: a manager handles a low satisfaction score within this after the follow-up.
    #[serde(with = "humantime_serde")]
    pub low_score: Duration,
    /// CS-COMPLAINT-CLASSIFY: a complaint is classified within this after intake.
    #[serde(with = "humantime_serde")]
    pub complaint_classify: Duration,
    /// CS-COMPLAINT-DISPATCH: a complaint is dispatched within this after intake.
    #[serde(with = "humantime_serde")]
    pub complaint_dispatch: Duration,
    /// CS-COMPLAINT-SOLUTION: a solution to a complaint is proposed within this after intake.
    #[serde(with = "humantime_serde")]
    pub complaint_solution: Duration,
    /// CS-COMPLAINT-RESOLVE (the "resolved" part of CS-COMPLAINT-SOLUTION): a complaint is
    /// resolved within this many business days (Monday to Friday, UTC) after intake.
    pub complaint_resolve_business_days: u32,
    /// How far a device clock may be off the server's before the device is flagged.
    #[serde(with = "humantime_serde")]
    pub clock_tolerance: Duration,
    /// How often the background clock task looks for breached clocks.
    #[serde(with = "humantime_serde")]
    pub tick: Duration,
}

impl Default for ClockPolicy {
    fn default() -> Self {
        ClockPolicy {
            intake: Duration::from_secs(10 * MINUTE),
            accept: Duration::from_secs(HOUR),
            contact: Duration::from_secs(24 * HOUR),
            contact_service_types: vec![
                ServiceType::Repair,
                ServiceType::Install,
                ServiceType::Maintenance,
                ServiceType::Inspection,
            ],
            first_response: Duration::from_secs(24 * HOUR),
            major: Duration::from_secs(HOUR),
            solution: Duration::from_secs(48 * HOUR),
            progress: Duration::from_secs(24 * HOUR),
            followup_earliest: Duration::from_secs(24 * HOUR),
            followup: Duration::from_secs(72 * HOUR),
            low_score: Duration::from_secs(2 * HOUR),
            complaint_classify: Duration::from_secs(30 * MINUTE),
            complaint_dispatch: Duration::from_secs(HOUR),
            complaint_solution: Duration::from_secs(24 * HOUR),
            complaint_resolve_business_days: 5,
            clock_tolerance: Duration::from_secs(5 * MINUTE),
            tick: Duration::from_secs(30),
        }
    }
}

/// How work orders reach technicians.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DispatchPolicy {
    /// Assign a new work order automatically (region, skills, load) as soon as it is recorded.
    pub auto_on_intake: bool,
    /// `POST /v1/dispatch/auto` records its plan in short transactions ("chunks") so that
    /// technicians' syncs are not kept waiting: a chunk stops taking decisions once it has held
    /// the write lock this long (1ms to 10s; the commit comes on top).
    #[serde(with = "humantime_serde")]
    pub batch_chunk_budget: Duration,
    /// … or once it has recorded this many decisions (1 to 10,000): its documents are locked
    /// up front, so this bounds the locked set.
    pub batch_chunk_decisions: usize,
}

impl Default for DispatchPolicy {
    fn default() -> Self {
        DispatchPolicy {
            auto_on_intake: true,
            batch_chunk_budget: Duration::from_millis(130),
            batch_chunk_decisions: 256,
        }
    }
}

/// The targets managers report on (`SERVICE-RULES.md`, "Targets"). Fractions are 0 to 1.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct KpiTargets {
    /// Share of work orders with a first response in time (CS-FIRST-RESPONSE).
    pub first_response_target: f64,
    /// Share of work orders fixed on the first visit.
    pub first_time_fix_target: f64,
    /// Share of follow-ups with a satisfied customer (score 4 or 5).
    pub satisfaction_target: f64,
    /// Average time from intake to the first response, in minutes.
    pub avg_response_target_minutes: f64,
    /// The repeat-fault window: a new repair or complaint for the same product serial at most
    /// this long after a completion means the fault came back (`kpi::repeat`). 1 day to 366.
    #[serde(with = "humantime_serde")]
    pub repeat_fault_window: Duration,
}

impl Default for KpiTargets {
    fn default() -> Self {
        KpiTargets {
            first_response_target: 0.95,
            first_time_fix_target: 0.85,
            satisfaction_target: 0.90,
            avg_response_target_minutes: 30.0,
            repeat_fault_window: Duration::from_secs(30 * 24 * HOUR),
        }
    }
}

/// Why a service policy could not be used. Every message is one line naming the file.
#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    #[error("{file}: cannot read the service policy: {source}")]
    Read {
        file: String,
        #[source]
        source: std::io::Error,
    },
    /// Not TOML, or not the shape of a policy (unknown key, wrong type, bad duration).
    #[error("{file}{}: {message}", position_suffix(*.position))]
    Parse {
        file: String,
        /// 1-based line and column of the offending text, when TOML knows it.
        position: Option<(usize, usize)>,
        message: String,
    },
    /// Well-formed but out of range.
    #[error("{file}: invalid service policy: {field} {reason}")]
    Invalid {
        file: String,
        /// Dotted name, e.g. `clock.accept`.
        field: String,
        reason: String,
    },
}

fn position_suffix(position: Option<(usize, usize)>) -> String {
    position
        .map(|(line, column)| format!(":{line}:{column}"))
        .unwrap_or_default()
}

/// The name [`Policy::from_toml_str`] gives its text in messages.
const INLINE_SOURCE: &str = "<policy>";

impl Policy {
    /// Parses and validates a policy from TOML text.
    pub fn from_toml_str(text: &str) -> Result<Policy, PolicyError> {
        Policy::parse(text, INLINE_SOURCE)
    }

    /// Reads, parses and validates a policy file.
    pub fn load(path: &Path) -> Result<Policy, PolicyError> {
        let file = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| PolicyError::Read {
            file: file.clone(),
            source,
        })?;
        Policy::parse(&text, &file)
    }

    /// The policy as pretty TOML; [`Policy::from_toml_str`] reads it back to an equal policy.
    pub fn to_toml(&self) -> String {
        // Plain structs of numbers, strings and durations always serialize; were that ever
        // to fail, the output says so instead of being an empty (all-defaults) policy.
        toml::to_string_pretty(self)
            .unwrap_or_else(|e| format!("# the service policy could not be written: {e}\n"))
    }

    fn parse(text: &str, file: &str) -> Result<Policy, PolicyError> {
        let policy: Policy = toml::from_str(text).map_err(|e| PolicyError::Parse {
            file: file.to_owned(),
            position: e.span().map(|span| line_column(text, span.start)),
            message: e.message().split_whitespace().collect::<Vec<_>>().join(" "),
        })?;
        policy
            .validate()
            .map_err(|(field, reason)| PolicyError::Invalid {
                file: file.to_owned(),
                field: field.to_owned(),
                reason,
            })?;
        Ok(policy)
    }

    /// The first out-of-range setting, as (dotted field name, what is wrong).
    fn validate(&self) -> Result<(), (&'static str, String)> {
        let c = &self.clock;
        let durations = [
            ("clock.intake", c.intake),
            ("clock.accept", c.accept),
            ("clock.contact", c.contact),
            ("clock.first_response", c.first_response),
            ("clock.major", c.major),
            ("clock.solution", c.solution),
            ("clock.progress", c.progress),
            ("clock.followup_earliest", c.followup_earliest),
            ("clock.followup", c.followup),
            ("clock.low_score", c.low_score),
            ("clock.complaint_classify", c.complaint_classify),
            ("clock.complaint_dispatch", c.complaint_dispatch),
            ("clock.complaint_solution", c.complaint_solution),
            ("clock.clock_tolerance", c.clock_tolerance),
            ("clock.tick", c.tick),
        ];
        for (field, d) in durations {
            // The clocks count in milliseconds: anything shorter would be a zero-length clock.
            if d < Duration::from_millis(1) {
                return Err((field, "must be at least 1ms".into()));
            }
        }
        if c.followup_earliest >= c.followup {
            return Err((
                "clock.followup_earliest",
                format!(
                    "({}) must be shorter than clock.followup ({})",
                    humantime_serde::re::humantime::format_duration(c.followup_earliest),
                    humantime_serde::re::humantime::format_duration(c.followup),
                ),
            ));
        }
        if c.complaint_resolve_business_days < 1 {
            return Err((
                "clock.complaint_resolve_business_days",
                "must be at least 1".into(),
            ));
        }
        let d = &self.dispatch;
        if !(Duration::from_millis(1)..=Duration::from_secs(10)).contains(&d.batch_chunk_budget) {
            return Err((
                "dispatch.batch_chunk_budget",
                "must be from 1ms to 10s".into(),
            ));
        }
        if !(1..=10_000).contains(&d.batch_chunk_decisions) {
            return Err((
                "dispatch.batch_chunk_decisions",
                format!("must be from 1 to 10000, not {}", d.batch_chunk_decisions),
            ));
        }
        let k = &self.kpi;
        for (field, share) in [
            ("kpi.first_response_target", k.first_response_target),
            ("kpi.first_time_fix_target", k.first_time_fix_target),
            ("kpi.satisfaction_target", k.satisfaction_target),
        ] {
            if !(0.0..=1.0).contains(&share) {
                return Err((
                    field,
                    format!("must be a fraction from 0 to 1, not {share}"),
                ));
            }
        }
        let rate = self.audit.sample_rate;
        if !(0.0..=1.0).contains(&rate) {
            return Err((
                "audit.sample_rate",
                format!("must be a fraction from 0 to 1, not {rate}"),
            ));
        }
        let minutes = k.avg_response_target_minutes;
        if !(minutes.is_finite() && minutes > 0.0) {
            return Err((
                "kpi.avg_response_target_minutes",
                format!("must be more than 0 minutes, not {minutes}"),
            ));
        }
        let window = k.repeat_fault_window;
        if !(Duration::from_secs(24 * HOUR)..=Duration::from_secs(366 * 24 * HOUR))
            .contains(&window)
        {
            return Err((
                "kpi.repeat_fault_window",
                format!(
                    "must be from 1 day to 366 days, not {}",
                    humantime_serde::re::humantime::format_duration(window)
                ),
            ));
        }
        Ok(())
    }
}

/// 1-based line and column (in characters) of byte `offset` in `text`.
fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let before = text.get(..offset).unwrap_or(text);
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let line = before.matches('\n').count() + 1;
    let column = before.get(line_start..).map_or(0, |s| s.chars().count()) + 1;
    (line, column)
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOUR: Duration = Duration::from_secs(3600);

    #[test]
    fn defaults_match_the_service_rules_table() {
        let c = ClockPolicy::default();
        assert_eq!(c.intake, Duration::from_secs(600));
        assert_eq!(c.accept, HOUR);
        assert_eq!(c.contact, 24 * HOUR);
        assert_eq!(
            c.contact_service_types,
            [
                ServiceType::Repair,
                ServiceType::Install,
                ServiceType::Maintenance,
                ServiceType::Inspection
            ]
        );
        assert_eq!(c.first_response, 24 * HOUR);
        assert_eq!(c.major, HOUR);
        assert_eq!(c.solution, 48 * HOUR);
        assert_eq!(c.progress, 24 * HOUR);
        assert_eq!(c.followup_earliest, 24 * HOUR);
        assert_eq!(c.followup, 72 * HOUR);
        assert_eq!(c.low_score, 2 * HOUR);
        assert_eq!(c.complaint_classify, Duration::from_secs(1800));
        assert_eq!(c.complaint_dispatch, HOUR);
        assert_eq!(c.complaint_solution, 24 * HOUR);
        assert_eq!(c.complaint_resolve_business_days, 5);
        assert_eq!(c.clock_tolerance, Duration::from_secs(300));
        assert_eq!(c.tick, Duration::from_secs(30));
        let p = Policy::default();
        assert!(p.dispatch.auto_on_intake);
        assert_eq!(p.kpi.first_response_target, 0.95);
        assert_eq!(p.kpi.first_time_fix_target, 0.85);
        assert_eq!(p.kpi.satisfaction_target, 0.90);
        assert_eq!(p.kpi.avg_response_target_minutes, 30.0);
        assert_eq!(p.kpi.repeat_fault_window, 30 * 24 * HOUR);
        assert_eq!(p.audit.sample_rate, 0.10);
        assert_eq!(Policy::from_toml_str("").unwrap(), p);
    }

    #[test]
    fn a_partial_file_overrides_only_what_it_names() {
        let p = Policy::from_toml_str(
            "[clock]\naccept = \"30m\"\nlow_score = \"2days\"\ncontact_service_types = [\"repair\"]\n\
             [kpi]\nfirst_time_fix_target = 0.9\nrepeat_fault_window = \"14days\"\n",
        )
        .unwrap();
        let mut want = Policy::default();
        want.clock.accept = Duration::from_secs(1800);
        want.clock.low_score = 48 * HOUR;
        want.clock.contact_service_types = vec![ServiceType::Repair];
        want.kpi.first_time_fix_target = 0.9;
        want.kpi.repeat_fault_window = 14 * 24 * HOUR;
        assert_eq!(p, want);
    }

    #[test]
    fn unknown_keys_are_refused_by_name_with_their_position() {
        let e =
            Policy::from_toml_str("[clock]\naccept = \"1h\"\naccpet_after = \"2h\"\n").unwrap_err();
        let msg = e.to_string();
        assert!(msg.contains("accpet_after"), "{msg}");
        assert!(msg.starts_with("<policy>:3:1: "), "{msg}");
        assert!(!msg.contains('\n'), "{msg}");

        let e = Policy::from_toml_str("[clocks]\n").unwrap_err().to_string();
        assert!(e.contains("clocks"), "{e}");
    }

    #[test]
    fn bad_values_are_refused_naming_the_field() {
        for (text, needle) in [
            (
                "[clock]\naccept = \"0s\"",
                "clock.accept must be at least 1ms",
            ),
            ("[clock]\ntick = \"0ms\"", "clock.tick"),
            (
                "[clock]\nfollowup_earliest = \"3days\"",
                "clock.followup_earliest",
            ),
            ("[clock]\nfollowup = \"12h\"", "clock.followup_earliest"),
            (
                "[clock]\ncomplaint_resolve_business_days = 0",
                "complaint_resolve_business_days",
            ),
            (
                "[kpi]\nsatisfaction_target = 1.5",
                "kpi.satisfaction_target",
            ),
            (
                "[kpi]\nfirst_response_target = -0.1",
                "kpi.first_response_target",
            ),
            (
                "[kpi]\navg_response_target_minutes = 0.0",
                "kpi.avg_response_target_minutes",
            ),
            (
                "[kpi]\navg_response_target_minutes = nan",
                "kpi.avg_response_target_minutes",
            ),
            ("[audit]\nsample_rate = 1.1", "audit.sample_rate"),
            (
                "[kpi]\nrepeat_fault_window = \"23h\"",
                "kpi.repeat_fault_window must be from 1 day to 366 days, not 23h",
            ),
            (
                "[kpi]\nrepeat_fault_window = \"367days\"",
                "kpi.repeat_fault_window",
            ),
            (
                "[dispatch]\nbatch_chunk_decisions = 0",
                "dispatch.batch_chunk_decisions must be from 1 to 10000, not 0",
            ),
            (
                "[dispatch]\nbatch_chunk_budget = \"1min\"",
                "dispatch.batch_chunk_budget must be from 1ms to 10s",
            ),
        ] {
            let e = Policy::from_toml_str(text).unwrap_err();
            assert!(matches!(e, PolicyError::Invalid { .. }), "{text}: {e:?}");
            let msg = e.to_string();
            assert!(
                msg.starts_with("<policy>: invalid service policy: "),
                "{msg}"
            );
            assert!(msg.contains(needle), "{text}: {msg}");
        }
    }

    #[test]
    fn malformed_values_are_parse_errors_with_a_position() {
        for text in [
            "[clock]\naccept = \"soon\"",
            "[clock]\nlow_score = \"three\"",
            "[clock]\ncontact_service_types = [\"plumbing\"]",
            "[clock\n",
        ] {
            let e = Policy::from_toml_str(text).unwrap_err();
            let PolicyError::Parse { position, .. } = &e else {
                panic!("{text}: {e:?}");
            };
            assert!(position.is_some(), "{text}: {e}");
            assert!(!e.to_string().contains('\n'), "{e}");
        }
    }

    #[test]
    fn to_toml_round_trips() {
        let p = Policy::default();
        let text = p.to_toml();
        assert!(text.contains("[clock]") && text.contains("[kpi]"), "{text}");
        assert!(text.contains("accept = \"1h\""), "{text}");
        assert_eq!(Policy::from_toml_str(&text).unwrap(), p);

        let mut q = Policy::default();
        q.clock.followup = Duration::from_secs(5 * 86_400 + 90 * 60);
        q.clock.contact_service_types.clear();
        q.dispatch.auto_on_intake = false;
        q.kpi.satisfaction_target = 0.875;
        assert_eq!(Policy::from_toml_str(&q.to_toml()).unwrap(), q);
    }

    #[test]
    fn load_names_the_file() {
        let dir = std::env::temp_dir().join(format!("clockrules-policy-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let good = dir.join("good.toml");
        std::fs::write(&good, "[clock]\nmajor = \"45m\"\n").unwrap();
        assert_eq!(
            Policy::load(&good).unwrap().clock.major,
            Duration::from_secs(45 * 60)
        );

        let bad = dir.join("bad.toml");
        std::fs::write(&bad, "[dispatch]\nauto_on_intake = \"yes\"\n").unwrap();
        let msg = Policy::load(&bad).unwrap_err().to_string();
        assert!(msg.starts_with(&format!("{}:2:", bad.display())), "{msg}");

        let missing = dir.join("missing.toml");
        let msg = Policy::load(&missing).unwrap_err().to_string();
        assert!(
            msg.contains("missing.toml") && msg.contains("cannot read"),
            "{msg}"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
