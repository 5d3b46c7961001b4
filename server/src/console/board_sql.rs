//! The board's reads in SQL: counts per cell, the first cards of each cell and the head of
//! the unassigned queue, each filtered and ordered by the database, so that a board of 10,000
//! work orders moves a few hundred rows, not 10,000 (sqlx's SQLite driver costs ~20 µs a row).

use sqlx::{AnyConnection, Row};

use super::cards::{self, Card};

/// What the board is narrowed to. Every field is a plain equality or a text search.
#[derive(Debug, Default, Clone)]
pub struct Filter {
    /// The regions the caller may see (`None`: every region).
    pub regions: Option<Vec<String>>,
    pub region: Option<String>,
    pub skill: Option<String>,
    pub status: Option<String>,
    pub priority: Option<String>,
    /// Lower-case text to find in the id, customer, service type or assignee.
    pub text: Option<String>,
}

/// A `WHERE` clause and its values (bound as `$1`, `$2`, … in order).
struct Where {
    sql: String,
    binds: Vec<String>,
}

impl Where {
    fn push(&mut self, clause: &str, values: impl IntoIterator<Item = String>) {
        let mut clause = clause.to_owned();
        for v in values {
            self.binds.push(v);
            clause = clause.replacen('?', &format!("${}", self.binds.len()), 1);
        }
        self.sql.push_str(" AND ");
        self.sql.push_str(&clause);
    }
}

fn where_of(f: &Filter) -> Where {
    let off = cards::OFF_BOARD
        .iter()
        .map(|s| format!("'{s}'"))
        .collect::<Vec<_>>()
        .join(",");
    let mut w = Where {
        sql: format!("status NOT IN ({off})"),
        binds: Vec::new(),
    };
    if let Some(rs) = &f.regions {
        if rs.is_empty() {
            w.sql.push_str(" AND 1 = 0");
        } else {
            let marks = vec!["?"; rs.len()].join(", ");
            w.push(&format!("region IN ({marks})"), rs.iter().cloned());
        }
    }
    for (column, value) in [
        ("region", &f.region),
        ("status", &f.status),
        ("priority", &f.priority),
    ] {
        if let Some(v) = value {
            w.push(&format!("{column} = ?"), [v.clone()]);
        }
    }
    if let Some(skill) = &f.skill {
        // `skills` is a JSON array of strings: the quoted name is in it.
        let quoted = serde_json::to_string(skill).unwrap_or_default();
        w.push(
            "skills LIKE ? ESCAPE '\\'",
            [format!("%{}%", like_escape(&quoted))],
        );
    }
    if let Some(text) = &f.text {
        let pattern = format!("%{}%", like_escape(text));
        w.push(
            "(LOWER(id) LIKE ? ESCAPE '\\' OR LOWER(customer_name) LIKE ? ESCAPE '\\' \
             OR LOWER(service_type) LIKE ? ESCAPE '\\' OR LOWER(COALESCE(assignee, '')) LIKE ? ESCAPE '\\')",
            std::iter::repeat_n(pattern, 4),
        );
    }
    w
}

/// `%`, `_` and `\` stand for themselves.
fn like_escape(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_")
}

fn bind_all<'q>(
    mut q: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>,
    binds: &'q [String],
) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>> {
    for b in binds {
        q = q.bind(b.as_str());
    }
    q
}

/// How many work orders match, per (region, status).
pub async fn counts(
    conn: &mut AnyConnection,
    f: &Filter,
) -> sqlx::Result<Vec<(String, String, i64)>> {
    let w = where_of(f);
    let sql = format!(
        "SELECT region, status, COUNT(*) AS n FROM work_orders WHERE {} GROUP BY region, status",
        w.sql
    );
    bind_all(sqlx::query(&sql), &w.binds)
        .fetch_all(&mut *conn)
        .await?
        .into_iter()
        .map(|r| Ok((r.try_get("region")?, r.try_get("status")?, r.try_get("n")?)))
        .collect()
}

/// The first `limit` cards of every (region, status) cell: urgent first, then the soonest
/// deadline, then by id.
pub async fn cells(
    conn: &mut AnyConnection,
    f: &Filter,
    limit: usize,
    now: i64,
) -> sqlx::Result<Vec<Card>> {
    let w = where_of(f);
    let sql = format!(
        "SELECT {cols} FROM (
           SELECT {cols}, ROW_NUMBER() OVER (PARTITION BY region, status ORDER BY
             CASE WHEN priority = 'urgent' THEN 0 ELSE 1 END,
             CASE WHEN next_due_at IS NULL THEN 1 ELSE 0 END, next_due_at, id) AS place
           FROM work_orders WHERE {filter}) ranked
         WHERE place <= {limit} ORDER BY region, status, place",
        cols = cards::COLUMNS,
        filter = w.sql,
    );
    cards::fetch(conn, bind_all(sqlx::query(&sql), &w.binds), now).await
}

/// The first `limit` work orders waiting for dispatch, in the batch dispatcher's serving
/// order (`dispatch::job_order`: urgent, then VIP by priority or customer tier, then the
/// soonest running deadline, then the oldest).
pub async fn unassigned(
    conn: &mut AnyConnection,
    f: &Filter,
    limit: usize,
    now: i64,
) -> sqlx::Result<Vec<Card>> {
    let mut f = f.clone();
    f.status = Some("pending_dispatch".into());
    let w = where_of(&f);
    let sql = format!(
        "SELECT {cols} FROM work_orders WHERE {filter} ORDER BY
           CASE WHEN priority = 'urgent' THEN 0 WHEN priority = 'vip' OR tier = 'vip' THEN 1 ELSE 2 END,
           CASE WHEN next_due_at IS NULL THEN 1 ELSE 0 END, next_due_at, created_at, id
         LIMIT {limit}",
        cols = cards::COLUMNS,
        filter = w.sql,
    );
    cards::fetch(conn, bind_all(sqlx::query(&sql), &w.binds), now).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_become_numbered_placeholders_in_order_and_like_patterns_are_escaped() {
        let f = Filter {
            regions: Some(vec!["north".into(), "south".into()]),
            skill: Some("ovens".into()),
            priority: Some("urgent".into()),
            text: Some("50%_off".into()),
            ..Filter::default()
        };
        let w = where_of(&f);
        assert!(w.sql.contains("region IN ($1, $2)"), "{}", w.sql);
        assert!(w.sql.contains("priority = $3"), "{}", w.sql);
        assert!(w.sql.contains("skills LIKE $4"), "{}", w.sql);
        assert!(
            w.sql.contains("LOWER(COALESCE(assignee, '')) LIKE $8"),
            "{}",
            w.sql
        );
        assert_eq!(w.binds[3], "%\"ovens\"%");
        assert_eq!(w.binds[4], "%50\\%\\_off%");
        let none = where_of(&Filter {
            regions: Some(vec![]),
            ..Filter::default()
        });
        assert!(none.sql.ends_with("AND 1 = 0"), "{}", none.sql);
    }
}
