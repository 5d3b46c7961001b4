//! The audit's figures for the managers' KPI report: the pass rate (per audit and per finding)
//! and the corrective actions still open (and overdue), over the audits drawn for the days of
//! a range, in one region or all.

use serde::Serialize;
use sqlx::{AnyConnection, Row};

/// Audit figures over a range of days.
#[derive(Debug, Clone, Default, PartialEq, Serialize, utoipa::ToSchema)]
pub struct AuditFigures {
    /// Closed audits of the range.
    pub audits_closed: u64,
    /// Closed audits with no failed finding.
    pub audits_passed: u64,
    /// `audits_passed / audits_closed`; `null` with no closed audit.
    pub pass_rate: Option<f64>,
    /// Findings of the closed audits.
    pub findings: u64,
    pub findings_passed: u64,
    /// `findings_passed / findings`; `null` with no finding.
    pub finding_pass_rate: Option<f64>,
    /// Failed findings of the range's audits (open or closed) not verified yet.
    pub open_corrective_actions: u64,
    /// … of which past their deadline at `now`: each is a QA-CORRECTIVE breach.
    pub overdue_corrective_actions: u64,
}

fn share(part: u64, whole: u64) -> Option<f64> {
    (whole > 0).then(|| part as f64 / whole as f64)
}

/// The figures of the audits drawn for days starting in `[from, to)` (ms since the epoch; a
/// day counts when its 00:00 UTC is in the range), in `region` or every region, with overdue
/// counted at service time `now`.
pub async fn figures(
    conn: &mut AnyConnection,
    from: i64,
    to: i64,
    region: Option<&str>,
    now: i64,
) -> sqlx::Result<AuditFigures> {
    let one = region.map(|r| vec![r.to_owned()]);
    figures_in(conn, from, to, one.as_deref(), now).await
}

/// [`figures`] over several regions (`None`: every region), for a caller's scope.
pub async fn figures_in(
    conn: &mut AnyConnection,
    from: i64,
    to: i64,
    regions: Option<&[String]>,
    now: i64,
) -> sqlx::Result<AuditFigures> {
    let rows = sqlx::query(
        "SELECT a.id AS id, a.region AS region, a.state AS state, f.result AS result,
                f.deadline_at AS deadline_at, f.verified_at AS verified_at
         FROM audits a LEFT JOIN audit_findings f ON f.audit_id = a.id
         WHERE a.day_start >= $1 AND a.day_start < $2
         ORDER BY a.id",
    )
    .bind(from)
    .bind(to)
    .fetch_all(&mut *conn)
    .await?;
    let mut out = AuditFigures::default();
    // (audit id, closed, any failed) of the audit being summed.
    let mut current: Option<(String, bool, bool)> = None;
    let finish = |c: Option<(String, bool, bool)>, out: &mut AuditFigures| {
        if let Some((_, true, failed)) = c {
            out.audits_closed += 1;
            out.audits_passed += u64::from(!failed);
        }
    };
    for r in rows {
        let rgn: String = r.try_get("region")?;
        if regions.is_some_and(|rs| !rs.contains(&rgn)) {
            continue;
        }
        let id: String = r.try_get("id")?;
        let closed = r.try_get::<String, _>("state")? == "closed";
        if current.as_ref().is_none_or(|c| c.0 != id) {
            finish(current.take(), &mut out);
            current = Some((id, closed, false));
        }
        let Some(result) = r.try_get::<Option<String>, _>("result")? else {
            continue;
        };
        let fail = result == "fail";
        if let Some(c) = current.as_mut() {
            c.2 |= fail;
        }
        if closed {
            out.findings += 1;
            out.findings_passed += u64::from(!fail);
        }
        if fail && r.try_get::<Option<i64>, _>("verified_at")?.is_none() {
            out.open_corrective_actions += 1;
            let overdue = r
                .try_get::<Option<i64>, _>("deadline_at")?
                .is_some_and(|d| d < now);
            out.overdue_corrective_actions += u64::from(overdue);
        }
    }
    finish(current.take(), &mut out);
    out.pass_rate = share(out.audits_passed, out.audits_closed);
    out.finding_pass_rate = share(out.findings_passed, out.findings);
    Ok(out)
}
