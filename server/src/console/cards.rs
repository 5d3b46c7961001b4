//! Board cards: one work order as the console shows it, read from the projections (never
//! from documents), with its next deadline.

use std::collections::HashMap;

use serde::Serialize;
use sqlx::{AnyConnection, FromRow, Row};

use crate::db::projection::placeholders;

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
}

const COLUMNS: &str = "id, region, status, customer_name, service_type, priority, tier, skills, \
    assignee, appointment_start, appointment_end, open_conflicts, created_at, updated_at";

/// Every work order on the board (not closed or cancelled), oldest first.
pub async fn on_board(conn: &mut AnyConnection, now: i64) -> sqlx::Result<Vec<Card>> {
    let off = OFF_BOARD
        .iter()
        .map(|s| format!("'{s}'"))
        .collect::<Vec<_>>()
        .join(",");
    let rows: Vec<Row0> = sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM work_orders WHERE status NOT IN ({off}) ORDER BY created_at, id"
    ))
    .fetch_all(&mut *conn)
    .await?;
    // The clocks of work orders on the board only, joined in the database.
    let clocks = sqlx::query(&format!(
        "SELECT c.wo_id AS wo_id, c.rule AS rule, c.started_at AS started_at, c.due_at AS due_at,
                c.stopped_at AS stopped_at, c.breached_at AS breached_at, c.cleared_at AS cleared_at
         FROM clocks c JOIN work_orders w ON w.id = c.wo_id
         WHERE w.status NOT IN ({off})
           AND (c.stopped_at IS NULL OR (c.breached_at IS NOT NULL AND c.cleared_at IS NULL))"
    ))
    .fetch_all(&mut *conn)
    .await?;
    Ok(assemble(rows, clock_facts(clocks, now)?, now))
}

/// The cards of `ids` (those that exist; any status).
pub async fn by_ids(conn: &mut AnyConnection, ids: &[String], now: i64) -> sqlx::Result<Vec<Card>> {
    let mut rows: Vec<Row0> = Vec::with_capacity(ids.len());
    let mut clocks = Vec::new();
    for part in ids.chunks(crate::db::MAX_BINDS) {
        let list = placeholders(1, part.len());
        let sql = format!("SELECT {COLUMNS} FROM work_orders WHERE id IN ({list})");
        let mut q = sqlx::query_as::<_, Row0>(&sql);
        for id in part {
            q = q.bind(id);
        }
        rows.extend(q.fetch_all(&mut *conn).await?);
        let sql = format!(
            "SELECT wo_id, rule, started_at, due_at, stopped_at, breached_at, cleared_at FROM clocks
             WHERE wo_id IN ({list})
               AND (stopped_at IS NULL OR (breached_at IS NOT NULL AND cleared_at IS NULL))"
        );
        let mut q = sqlx::query(&sql);
        for id in part {
            q = q.bind(id);
        }
        clocks.extend(q.fetch_all(&mut *conn).await?);
    }
    Ok(assemble(rows, clock_facts(clocks, now)?, now))
}

#[derive(Default)]
struct ClockFacts {
    next: Option<NextDeadline>,
    breaches: i64,
}

fn clock_facts(
    rows: Vec<sqlx::any::AnyRow>,
    now: i64,
) -> sqlx::Result<HashMap<String, ClockFacts>> {
    let mut out: HashMap<String, ClockFacts> = HashMap::new();
    for c in rows {
        let wo: String = c.try_get("wo_id")?;
        let facts = out.entry(wo).or_default();
        let breached = c.try_get::<Option<i64>, _>("breached_at")?.is_some()
            && c.try_get::<Option<i64>, _>("cleared_at")?.is_none();
        if breached {
            facts.breaches += 1;
        }
        if c.try_get::<Option<i64>, _>("stopped_at")?.is_some() {
            continue;
        }
        let (started, due): (i64, i64) = (c.try_get("started_at")?, c.try_get("due_at")?);
        let rule: String = c.try_get("rule")?;
        let sooner = facts
            .next
            .as_ref()
            .is_none_or(|n| (due, rule.as_str()) < (n.due_at, n.rule.as_str()));
        if sooner {
            facts.next = Some(deadline(rule, started, due, now));
        }
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

fn assemble(rows: Vec<Row0>, mut facts: HashMap<String, ClockFacts>, _now: i64) -> Vec<Card> {
    rows.into_iter()
        .map(|r| {
            let f = facts.remove(&r.id).unwrap_or_default();
            Card {
                skills: serde_json::from_str(&r.skills).unwrap_or_default(),
                assignee_name: r.assignee.clone(),
                next_deadline: f.next,
                breaches: f.breaches,
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
        })
        .collect()
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
