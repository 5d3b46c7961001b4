//! What the audit API reads and writes, and the checks on requests that need no database.

use serde::{Deserialize, Serialize};
use sqlx::FromRow;

use crate::error::ApiError;

/// The service-clock rule of a failed finding's corrective action: verified by its deadline.
pub const QA_CORRECTIVE: &str = "QA-CORRECTIVE";

/// Longest standard, problem, team or corrective action (characters); notes take 4,000.
const MAX_FIELD_CHARS: usize = 1_000;
const MAX_NOTE_CHARS: usize = 4_000;

/// An audit as listed.
#[derive(Debug, Clone, Serialize, FromRow, utoipa::ToSchema)]
pub struct Audit {
    /// `aud-…`, derived from the day and the work order.
    pub id: String,
    /// The UTC day (`YYYY-MM-DD`) the work order was completed and drawn for.
    pub day: String,
    pub wo_id: String,
    pub region: String,
    /// `unassigned` (no auditor in the region yet), `open` or `closed`.
    pub state: String,
    pub auditor: Option<String>,
    pub assigned_at: Option<i64>,
    pub drawn_at: i64,
    pub closed_at: Option<i64>,
    pub closed_by: Option<String>,
}

/// One finding, as the manuals list them: standard, result, problem, responsible team,
/// corrective action, deadline and verification.
#[derive(Debug, Clone, Serialize, FromRow, utoipa::ToSchema)]
pub struct Finding {
    /// `fnd-…`.
    pub id: String,
    pub audit_id: String,
    /// 1, 2, … in the order recorded.
    pub seq: i64,
    pub standard: String,
    /// `pass` or `fail`.
    pub result: String,
    pub problem: Option<String>,
    pub responsible_team: Option<String>,
    pub corrective_action: Option<String>,
    /// When the corrective action must be verified (ms since the epoch); failed findings only.
    pub deadline_at: Option<i64>,
    pub note: String,
    pub recorded_by: String,
    pub recorded_at: i64,
    pub verified_by: Option<String>,
    pub verified_at: Option<i64>,
    pub verification_note: Option<String>,
}

/// One line of an audit's append-only history.
#[derive(Debug, Clone, Serialize, FromRow, utoipa::ToSchema)]
pub struct HistoryEntry {
    pub at: i64,
    pub by_user: String,
    /// `drawn`, `assigned`, `finding`, `verified` or `closed`.
    pub action: String,
    pub detail: String,
}

/// An audit with its findings and history.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct AuditDetail {
    #[serde(flatten)]
    pub audit: Audit,
    pub findings: Vec<Finding>,
    pub history: Vec<HistoryEntry>,
}

/// `pass` or `fail`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    Pass,
    Fail,
}

/// A finding to record. A pass needs only the standard; a fail also needs the problem, the
/// responsible team, the corrective action and its deadline (400 `missing_field` naming the
/// first one missing).
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewFinding {
    /// The standard checked, e.g. "signature matches the work done". Not blank, at most 1,000
    /// characters.
    #[schema(min_length = 1, max_length = 1000, pattern = "\\S")]
    pub standard: String,
    pub result: Outcome,
    #[serde(default)]
    #[schema(max_length = 1000)]
    pub problem: Option<String>,
    #[serde(default)]
    #[schema(max_length = 1000)]
    pub responsible_team: Option<String>,
    #[serde(default)]
    #[schema(max_length = 1000)]
    pub corrective_action: Option<String>,
    /// When the corrective action must be verified, ms since the epoch; after the service
    /// time now (400 `deadline_past` otherwise).
    #[serde(default, deserialize_with = "crate::ops::openapi::integer::option_i64")]
    pub deadline_at: Option<i64>,
    #[serde(default)]
    #[schema(max_length = 4000)]
    pub note: Option<String>,
}

/// A finding checked: text trimmed, the fields its result needs present.
#[derive(Debug, Clone, PartialEq)]
pub struct CheckedFinding {
    pub standard: String,
    pub fail: bool,
    pub problem: Option<String>,
    pub responsible_team: Option<String>,
    pub corrective_action: Option<String>,
    pub deadline_at: Option<i64>,
    pub note: String,
}

/// Trimmed text of at most `max` characters; `None` when absent or blank.
fn text(field: &str, v: Option<&str>, max: usize) -> Result<Option<String>, ApiError> {
    let Some(t) = v.map(str::trim).filter(|t| !t.is_empty()) else {
        return Ok(None);
    };
    if t.chars().count() > max {
        return Err(ApiError::bad(
            "too_long",
            format!("{field} is longer than {max} characters"),
        ));
    }
    Ok(Some(t.to_owned()))
}

fn missing(field: &str, why: &str) -> ApiError {
    ApiError::bad("missing_field", format!("{why} needs `{field}`"))
}

impl NewFinding {
    /// Checks the finding against the service time `now`.
    pub fn check(&self, now: i64) -> Result<CheckedFinding, ApiError> {
        let standard = text("standard", Some(&self.standard), MAX_FIELD_CHARS)?
            .ok_or_else(|| missing("standard", "every finding"))?;
        let problem = text("problem", self.problem.as_deref(), MAX_FIELD_CHARS)?;
        let team = text(
            "responsible_team",
            self.responsible_team.as_deref(),
            MAX_FIELD_CHARS,
        )?;
        let action = text(
            "corrective_action",
            self.corrective_action.as_deref(),
            MAX_FIELD_CHARS,
        )?;
        let note = text("note", self.note.as_deref(), MAX_NOTE_CHARS)?.unwrap_or_default();
        let fail = self.result == Outcome::Fail;
        if fail {
            let why = "a failed finding";
            problem.as_ref().ok_or_else(|| missing("problem", why))?;
            team.as_ref()
                .ok_or_else(|| missing("responsible_team", why))?;
            action
                .as_ref()
                .ok_or_else(|| missing("corrective_action", why))?;
            let deadline = self
                .deadline_at
                .ok_or_else(|| missing("deadline_at", why))?;
            if deadline <= now {
                return Err(ApiError::bad(
                    "deadline_past",
                    format!(
                        "deadline_at {deadline} is not after the service time now ({now}); \
                         give the team time to act"
                    ),
                ));
            }
        } else {
            // A pass has nothing to correct: a corrective action on it would start a clock
            // nobody means to stop.
            for (field, given) in [
                ("problem", problem.is_some()),
                ("responsible_team", team.is_some()),
                ("corrective_action", action.is_some()),
                ("deadline_at", self.deadline_at.is_some()),
            ] {
                if given {
                    return Err(ApiError::bad(
                        "unexpected_field",
                        format!("a passed finding takes no `{field}`; record it as a fail"),
                    ));
                }
            }
        }
        Ok(CheckedFinding {
            standard,
            fail,
            problem,
            responsible_team: team,
            corrective_action: action,
            deadline_at: self.deadline_at.filter(|_| fail),
            note,
        })
    }
}

/// The verification of a corrective action.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Verify {
    /// What was checked, e.g. "new photos show the hose clamp fitted". Optional, at most 4,000
    /// characters.
    #[serde(default)]
    #[schema(max_length = 4000)]
    pub note: Option<String>,
}

impl Verify {
    pub fn note(&self) -> Result<String, ApiError> {
        Ok(text("note", self.note.as_deref(), MAX_NOTE_CHARS)?.unwrap_or_default())
    }
}

/// Whether `s` is one of the audit states a list may filter on.
pub fn is_state(s: &str) -> bool {
    matches!(s, "unassigned" | "open" | "closed")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fail() -> NewFinding {
        NewFinding {
            standard: " signature matches the work ".into(),
            result: Outcome::Fail,
            problem: Some("no after photo".into()),
            responsible_team: Some("north crew".into()),
            corrective_action: Some("send the photo".into()),
            deadline_at: Some(2_000),
            note: None,
        }
    }

    fn code_and_message(e: ApiError) -> (String, String) {
        (e.code().to_owned(), e.to_string())
    }

    #[test]
    fn a_failed_finding_needs_each_of_its_fields_by_name() {
        let ok = fail().check(1_000).unwrap();
        assert!(ok.fail);
        assert_eq!(ok.standard, "signature matches the work");
        assert_eq!(ok.deadline_at, Some(2_000));
        for (field, strip) in [
            (
                "problem",
                (|f: &mut NewFinding| f.problem = None) as fn(&mut NewFinding),
            ),
            ("responsible_team", |f| {
                f.responsible_team = Some("  ".into())
            }),
            ("corrective_action", |f| f.corrective_action = None),
            ("deadline_at", |f| f.deadline_at = None),
        ] {
            let mut f = fail();
            strip(&mut f);
            let (code, msg) = code_and_message(f.check(1_000).unwrap_err());
            assert_eq!(code, "missing_field");
            assert!(msg.contains(&format!("`{field}`")), "{msg}");
        }
        let (code, _) = code_and_message(fail().check(2_000).unwrap_err());
        assert_eq!(code, "deadline_past");
    }

    #[test]
    fn a_pass_needs_only_the_standard_and_takes_no_corrective_action() {
        let pass = NewFinding {
            result: Outcome::Pass,
            problem: None,
            responsible_team: None,
            corrective_action: None,
            deadline_at: None,
            ..fail()
        };
        let ok = pass.check(1_000).unwrap();
        assert!(!ok.fail && ok.deadline_at.is_none());
        let blank = NewFinding {
            standard: " ".into(),
            ..pass
        };
        let (code, msg) = code_and_message(blank.check(1_000).unwrap_err());
        assert_eq!(
            (code.as_str(), msg.contains("`standard`")),
            ("missing_field", true)
        );
        let with_action = NewFinding {
            result: Outcome::Pass,
            ..fail()
        };
        let (code, _) = code_and_message(with_action.check(1_000).unwrap_err());
        assert_eq!(code, "unexpected_field");
    }
}
