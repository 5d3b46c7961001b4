//! The quality audit's figures in the manager's KPI report (`GET /v1/kpi`): the report as
//! `kpi::report` computes it, with `quality_audit` beside its fields. The figures come from
//! `audit::kpi` (pass rate per audit and per finding, open and overdue corrective actions) over
//! the audits drawn for the report's days, in the caller's regions.

use serde::Serialize;

use super::DateRange;
use crate::audit::kpi::{figures_in, AuditFigures};
use crate::auth::AuthUser;
use crate::error::ApiError;
use crate::state::AppState;
use crate::workorders::scope;

/// A report with the quality audit's figures beside its own fields.
#[derive(Debug, Serialize)]
pub struct WithQualityAudit<T: Serialize> {
    #[serde(flatten)]
    pub report: T,
    /// Audits drawn for the report's days: pass rate (per closed audit and per finding) and
    /// corrective actions not verified yet (and past their deadline now).
    pub quality_audit: AuditFigures,
}

/// `report` with the audit figures of `range` in `region` (or the caller's regions).
pub async fn with_quality_audit<T: Serialize>(
    state: &AppState,
    user: &AuthUser,
    report: T,
    range: &DateRange,
    region: Option<&str>,
) -> Result<WithQualityAudit<T>, ApiError> {
    let mut conn = state.db.pool.acquire().await?;
    let now = state.clock.now(&mut conn).await?;
    let regions = scope::office_regions(&mut conn, user, region).await?;
    let quality_audit = figures_in(
        &mut conn,
        range.start_ms(),
        range.end_ms(),
        regions.as_deref(),
        now,
    )
    .await?;
    Ok(WithQualityAudit {
        report,
        quality_audit,
    })
}
