//! Board cards: one work order as the console shows it, read from its `work_orders` row
//! alone (never from documents): the row also keeps its soonest running clock and its breach
//! count (`clock::store::summarize`), so a board of 10,000 work orders is one table scan.

use serde::Serialize;
use sqlx::{AnyConnection, FromRow};

/// A deadline is at risk when less than this share of its clock's time is left.
const AT_RISK_SHARE: f64 = 0.25;

/// Statuses the board leaves out (done with).
pub const OFF_BOARD: &[&str] = &["closed", "cancelled"];

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct NextDeadline {
    /// The clock rule, e.g. `CS-FIRST-RESPONSE`.
    pub rule: String,
    pub due_at: i64,
    /// Less than a quarter of the clock's time is left.
    pub at_risk: bool,
    /// Past due and still running.
    pub overdue: bool,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Card {
    pub id: String,
    pub region: String,
    pub status: String,
    pub customer_name: String,
    pub service_type: String,
    pub priority: String,
    pub tier: String,
    pub skills: Vec<String>,
    pub assignee: Option<String>,
    /// What to show for the assignee (the id: accounts have no display name yet).
    pub assignee_name: Option<String>,
    pub appointment_start: Option<i64>,
    pub appointment_end: Option<i64>,
    /// The soonest running clock.
    pub next_deadline: Option<NextDeadline>,
    /// Breaches recorded and not withdrawn.
    pub breaches: i64,
    pub open_conflicts: i64,
    pub created_at: i64,
    pub updated_at: i64,
}

#[derive(FromRow)]
struct Row0 {
    id: String,
    region: String,
    status: String,
    customer_name: String,
    service_type: String,
    priority: String,
    tier: String,
    skills: String,
    assignee: Option<String>,
    appointment_start: Option<i64>,
    appointment_end: Option<i64>,
    open_conflicts: i64,
    created_at: i64,
    updated_at: i64,
    next_rule: Option<String>,
    next_started_at: Option<i64>,
    next_due_at: Option<i64>,
    breaches: i64,
}

pub const COLUMNS: &str =
    "id, region, status, customer_name, service_type, priority, tier, skills, \
    assignee, appointment_start, appointment_end, open_conflicts, created_at, updated_at, \
    next_rule, next_started_at, next_due_at, breaches";

/// The cards a query selecting [`COLUMNS`] returns.
pub async fn fetch<'q>(
    conn: &mut AnyConnection,
    q: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>,
    now: i64,
) -> sqlx::Result<Vec<Card>> {
    let rows = q.fetch_all(&mut *conn).await?;
    rows.iter()
        .map(|r| Row0::from_row(r).map(|r| card(r, now)))
        .collect()
}

/// The cards of `ids` (those that exist; any status).
pub async fn by_ids(conn: &mut AnyConnection, ids: &[String], now: i64) -> sqlx::Result<Vec<Card>> {
    let mut out = Vec::with_capacity(ids.len());
    for part in ids.chunks(crate::db::MAX_BINDS) {
        let list = crate::db::projection::placeholders(1, part.len());
        let sql = format!("SELECT {COLUMNS} FROM work_orders WHERE id IN ({list})");
        let mut q = sqlx::query_as::<_, Row0>(&sql);
        for id in part {
            q = q.bind(id);
        }
        out.extend(
            q.fetch_all(&mut *conn)
                .await?
                .into_iter()
                .map(|r| card(r, now)),
        );
    }
    Ok(out)
}

/// A running clock's deadline as the board shows it.
pub fn deadline(rule: String, started_at: i64, due_at: i64, now: i64) -> NextDeadline {
    let span = (due_at - started_at).max(1) as f64;
    let left = (due_at - now) as f64;
    NextDeadline {
        rule,
        due_at,
        overdue: due_at < now,
        at_risk: due_at >= now && left < span * AT_RISK_SHARE,
    }
}

fn card(r: Row0, now: i64) -> Card {
    let next_deadline = match (r.next_rule, r.next_started_at, r.next_due_at) {
        (Some(rule), Some(started), Some(due)) => Some(deadline(rule, started, due, now)),
        _ => None,
    };
    Card {
        skills: serde_json::from_str(&r.skills).unwrap_or_default(),
        assignee_name: r.assignee.clone(),
        next_deadline,
        breaches: r.breaches,
        id: r.id,
        region: r.region,
        status: r.status,
        customer_name: r.customer_name,
        service_type: r.service_type,
        priority: r.priority,
        tier: r.tier,
        assignee: r.assignee,
        appointment_start: r.appointment_start,
        appointment_end: r.appointment_end,
        open_conflicts: r.open_conflicts,
        created_at: r.created_at,
        updated_at: r.updated_at,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_deadline_is_at_risk_in_its_last_quarter_and_overdue_after() {
        // A 100-minute clock started at 0.
        let d = |now| deadline("CS-X".into(), 0, 100, now);
        assert!(!d(10).at_risk && !d(10).overdue);
        assert!(!d(75).at_risk, "exactly a quarter left is not yet at risk");
        assert!(d(76).at_risk && !d(76).overdue);
        assert!(d(100).at_risk && !d(100).overdue, "due now");
        assert!(!d(101).at_risk && d(101).overdue);
    }
}
