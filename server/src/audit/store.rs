//! Reading audits, their findings and history, and draws.

use sqlx::{AnyConnection, Row};

use super::draw::{Draw, RegionDraw};
use super::model::{Audit, AuditDetail, Finding, HistoryEntry};

const AUDIT_COLUMNS: &str =
    "id, day, wo_id, region, state, auditor, assigned_at, drawn_at, closed_at, closed_by";
pub const FINDING_COLUMNS: &str = "id, audit_id, seq, standard, result, problem, responsible_team, \
     corrective_action, deadline_at, note, recorded_by, recorded_at, verified_by, verified_at, verification_note";

/// What a list of audits is narrowed to.
#[derive(Debug, Default)]
pub struct Filter<'a> {
    pub day: Option<&'a str>,
    pub region: Option<&'a str>,
    pub auditor: Option<&'a str>,
    pub state: Option<&'a str>,
    /// `None`: every region (admins); otherwise only these.
    pub regions: Option<&'a [String]>,
}

/// Audits matching `f`, oldest day first, then by region and work order.
pub async fn list(conn: &mut AnyConnection, f: &Filter<'_>) -> sqlx::Result<Vec<Audit>> {
    if f.regions.is_some_and(<[String]>::is_empty) {
        return Ok(Vec::new());
    }
    let mut clauses: Vec<String> = Vec::new();
    let mut binds: Vec<&str> = Vec::new();
    for (col, v) in [
        ("day", f.day),
        ("region", f.region),
        ("auditor", f.auditor),
        ("state", f.state),
    ] {
        if let Some(v) = v {
            binds.push(v);
            clauses.push(format!("{col} = ${}", binds.len()));
        }
    }
    if let Some(rs) = f.regions {
        let first = binds.len() + 1;
        binds.extend(rs.iter().map(String::as_str));
        clauses.push(format!(
            "region IN ({})",
            crate::db::projection::placeholders(first, rs.len())
        ));
    }
    let filter = if clauses.is_empty() {
        String::new()
    } else {
        format!("WHERE {}", clauses.join(" AND "))
    };
    let sql = format!(
        "SELECT {AUDIT_COLUMNS} FROM audits {filter} ORDER BY day_start, region, wo_id, id"
    );
    let mut q = sqlx::query_as::<_, Audit>(&sql);
    for b in binds {
        q = q.bind(b);
    }
    q.fetch_all(conn).await
}

pub async fn audit(conn: &mut AnyConnection, id: &str) -> sqlx::Result<Option<Audit>> {
    sqlx::query_as(&format!("SELECT {AUDIT_COLUMNS} FROM audits WHERE id = $1"))
        .bind(id)
        .fetch_optional(conn)
        .await
}

pub async fn findings(conn: &mut AnyConnection, audit: &str) -> sqlx::Result<Vec<Finding>> {
    sqlx::query_as(&format!(
        "SELECT {FINDING_COLUMNS} FROM audit_findings WHERE audit_id = $1 ORDER BY seq"
    ))
    .bind(audit)
    .fetch_all(conn)
    .await
}

/// An audit with its findings and history.
pub async fn detail(conn: &mut AnyConnection, id: &str) -> sqlx::Result<Option<AuditDetail>> {
    let Some(audit) = audit(conn, id).await? else {
        return Ok(None);
    };
    let findings = findings(conn, id).await?;
    let history: Vec<HistoryEntry> = sqlx::query_as(
        "SELECT at, by_user, action, detail FROM audit_history WHERE audit_id = $1 ORDER BY id",
    )
    .bind(id)
    .fetch_all(conn)
    .await?;
    Ok(Some(AuditDetail {
        audit,
        findings,
        history,
    }))
}

/// The draw of `day`, with the regions in `regions` (`None`: all).
pub async fn draw(
    conn: &mut AnyConnection,
    day: &str,
    regions: Option<&[String]>,
) -> sqlx::Result<Option<Draw>> {
    let Some(r) = sqlx::query(
        "SELECT day, seed, rate, candidate_count, drawn_at, drawn_by FROM audit_draws WHERE day = $1",
    )
    .bind(day)
    .fetch_optional(&mut *conn)
    .await?
    else {
        return Ok(None);
    };
    let chosen: Vec<(String, String)> =
        sqlx::query_as("SELECT region, wo_id FROM audits WHERE day = $1 ORDER BY region, wo_id")
            .bind(day)
            .fetch_all(&mut *conn)
            .await?;
    let mut out = Vec::new();
    for g in sqlx::query(
        "SELECT region, candidates FROM audit_draw_regions WHERE day = $1 ORDER BY region",
    )
    .bind(day)
    .fetch_all(&mut *conn)
    .await?
    {
        let region: String = g.try_get("region")?;
        if regions.is_some_and(|rs| !rs.contains(&region)) {
            continue;
        }
        let text: String = g.try_get("candidates")?;
        out.push(RegionDraw {
            candidates: serde_json::from_str(&text).unwrap_or_default(),
            chosen: chosen
                .iter()
                .filter(|(r, _)| *r == region)
                .map(|(_, w)| w.clone())
                .collect(),
            region,
        });
    }
    Ok(Some(Draw {
        day: r.try_get("day")?,
        seed: r.try_get("seed")?,
        rate: r.try_get("rate")?,
        candidate_count: r.try_get("candidate_count")?,
        drawn_at: r.try_get("drawn_at")?,
        drawn_by: r.try_get("drawn_by")?,
        new: false,
        regions: out,
    }))
}

/// The days drawn in `[from, to]` (inclusive, `YYYY-MM-DD`), newest first.
pub async fn drawn_days(
    conn: &mut AnyConnection,
    from: &str,
    to: &str,
) -> sqlx::Result<Vec<String>> {
    sqlx::query_scalar(
        "SELECT day FROM audit_draws WHERE day >= $1 AND day <= $2 ORDER BY day DESC LIMIT 366",
    )
    .bind(from)
    .bind(to)
    .fetch_all(conn)
    .await
}
