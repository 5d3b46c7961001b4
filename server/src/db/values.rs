//! Multi-row `VALUES` lists sized for the backend.
//!
//! SQLite looks a numbered parameter (`$N`) up by walking a list, and sqlx's SQLite driver asks
//! for the name of every parameter it binds, so binding `$N` parameters costs time quadratic in
//! their number: the reason statements bind at most [`super::MAX_BINDS`] values. A bare `?` has
//! no name and binds in order at constant cost. So on SQLite a multi-row insert whose values
//! each appear once, in bind order, is written with `?` and takes up to
//! [`MAX_POSITIONAL_BINDS`] values: a sync request writes its event times, part lines, stock
//! moves and clock rows in one statement per table instead of up to fifteen (every statement is
//! a hand-off to sqlx's SQLite thread inside the write lock). PostgreSQL keeps `$N`, as every
//! other statement does, and [`super::MAX_BINDS`].

use sqlx::AnyConnection;

/// Values one positional (SQLite) statement binds at most (SQLite allows 32,766).
pub const MAX_POSITIONAL_BINDS: usize = 960;

/// How the multi-row statements of one connection are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Values {
    positional: bool,
}

impl Values {
    /// The form for `conn`'s backend.
    pub fn of(conn: &AnyConnection) -> Self {
        Values {
            positional: conn.backend_name() == "SQLite",
        }
    }

    /// Rows of `cols` values one statement takes.
    pub fn rows_per_statement(self, cols: usize) -> usize {
        let binds = if self.positional {
            MAX_POSITIONAL_BINDS
        } else {
            super::MAX_BINDS
        };
        (binds / cols.max(1)).max(1)
    }

    /// `(?,…),(?,…)` on SQLite, `($1,…,$k),($k+1,…)` elsewhere: `rows` rows of `cols` values,
    /// bound row by row.
    pub fn sql(self, rows: usize, cols: usize) -> String {
        if self.positional {
            let row = format!("({})", vec!["?"; cols].join(","));
            vec![row; rows].join(",")
        } else {
            super::projection::rows_sql(rows, cols)
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::db::scratch::Scratch;

    #[test]
    fn each_backend_gets_its_placeholders() {
        let (sqlite, numbered) = (Values { positional: true }, Values { positional: false });
        assert_eq!(sqlite.sql(2, 3), "(?,?,?),(?,?,?)");
        assert_eq!(numbered.sql(2, 3), "($1,$2,$3),($4,$5,$6)");
        assert_eq!(sqlite.rows_per_statement(16), 60);
        assert_eq!(numbered.rows_per_statement(16), 7);
        assert_eq!(sqlite.rows_per_statement(2000), 1);
    }

    #[tokio::test]
    async fn a_long_positional_insert_keeps_every_value_in_its_row_and_column() {
        let s = Scratch::new().await;
        let mut conn = s.db.pool.acquire().await.unwrap();
        sqlx::query("CREATE TABLE t (k BIGINT PRIMARY KEY, a TEXT NOT NULL, b BIGINT NOT NULL)")
            .execute(&mut *conn)
            .await
            .unwrap();
        let v = Values::of(&conn);
        assert_eq!(v, Values { positional: true });
        let rows: Vec<i64> = (0..700).collect();
        for chunk in rows.chunks(v.rows_per_statement(3)) {
            let sql = format!("INSERT INTO t (k, a, b) VALUES {}", v.sql(chunk.len(), 3));
            let mut q = sqlx::query(&sql);
            for k in chunk {
                q = q.bind(*k).bind(format!("row {k}")).bind(k * 10);
            }
            q.execute(&mut *conn).await.unwrap();
        }
        let back: Vec<(i64, String, i64)> = sqlx::query_as("SELECT k, a, b FROM t ORDER BY k")
            .fetch_all(&mut *conn)
            .await
            .unwrap();
        assert_eq!(back.len(), 700);
        for (k, a, b) in back {
            assert_eq!((a, b), (format!("row {k}"), k * 10));
        }
    }
}
