//! Failed-login counters (`login_throttle`). The rule is `crate::auth::throttle`; these
//! queries store it.

use sqlx::{AnyConnection, FromRow};

use crate::auth::throttle::Counter;

#[derive(Debug, FromRow)]
struct Row {
    key: String,
    failures: i64,
    window_start: i64,
}

/// The counters stored for `account` and `address` (one indexed read), in that order.
pub async fn load(
    conn: &mut AnyConnection,
    account: &str,
    address: &str,
) -> sqlx::Result<(Option<Counter>, Option<Counter>)> {
    let rows = sqlx::query_as::<_, Row>(
        "SELECT key, failures, window_start FROM login_throttle WHERE key IN ($1, $2)",
    )
    .bind(account)
    .bind(address)
    .fetch_all(conn)
    .await?;
    let find = |key: &str| {
        rows.iter().find(|r| r.key == key).map(|r| Counter {
            failures: r.failures,
            window_start: r.window_start,
        })
    };
    Ok((find(account), find(address)))
}

/// Counts one failure for `key` at `now` (ms): one more in a live window, or a new window of
/// `window_ms` when the old one has ended (`ThrottlePolicy::after_failure`, as one upsert so
/// concurrent instances never lose a count).
pub async fn record_failure(
    conn: &mut AnyConnection,
    key: &str,
    now: i64,
    window_ms: i64,
) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO login_throttle (key, failures, window_start, expires_at) VALUES ($1, 1, $2, $3)
         ON CONFLICT (key) DO UPDATE SET
           failures = CASE WHEN login_throttle.expires_at <= $2 THEN 1 ELSE login_throttle.failures + 1 END,
           window_start = CASE WHEN login_throttle.expires_at <= $2 THEN $2 ELSE login_throttle.window_start END,
           expires_at = CASE WHEN login_throttle.expires_at <= $2 THEN $3 ELSE login_throttle.expires_at END",
    )
    .bind(key)
    .bind(now)
    .bind(now.saturating_add(window_ms))
    .execute(conn)
    .await?;
    Ok(())
}

/// Deletes the counters whose window ended by `now`; an index range scan over the few rows
/// that expired since the last call, so it runs with every recorded failure.
pub async fn prune(conn: &mut AnyConnection, now: i64) -> sqlx::Result<u64> {
    let done = sqlx::query("DELETE FROM login_throttle WHERE expires_at <= $1")
        .bind(now)
        .execute(conn)
        .await?;
    Ok(done.rows_affected())
}

/// Forgets `key`'s failures (a successful login clears its account).
pub async fn clear(conn: &mut AnyConnection, key: &str) -> sqlx::Result<()> {
    sqlx::query("DELETE FROM login_throttle WHERE key = $1")
        .bind(key)
        .execute(conn)
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::throttle::ThrottlePolicy;

    const T0: i64 = 1_800_000_000_000;

    #[tokio::test]
    async fn the_stored_counter_follows_the_policy_rule_and_old_rows_go() {
        let scratch = crate::db::scratch::Scratch::new().await;
        let db = &scratch.db;
        let p = ThrottlePolicy::default();
        let mut conn = db.pool.acquire().await.unwrap();
        let mut expected = None;
        // Three failures in one window, one after it ended: the same as the pure rule.
        for at in [T0, T0 + 1_000, T0 + 2_000, T0 + p.window_ms + 5] {
            record_failure(&mut conn, "user:a", at, p.window_ms)
                .await
                .unwrap();
            expected = Some(p.after_failure(expected.as_ref(), at));
            let (stored, none) = load(&mut conn, "user:a", "ip:1.2.3.4").await.unwrap();
            assert_eq!(stored, expected, "after a failure at {at}");
            assert_eq!(none, None);
        }
        record_failure(&mut conn, "ip:1.2.3.4", T0, p.window_ms)
            .await
            .unwrap();
        let (_, address) = load(&mut conn, "user:a", "ip:1.2.3.4").await.unwrap();
        assert_eq!(address.map(|c| c.failures), Some(1));

        // The address window ended; the account's (restarted later) has not.
        assert_eq!(prune(&mut conn, T0 + p.window_ms).await.unwrap(), 1);
        let (account, address) = load(&mut conn, "user:a", "ip:1.2.3.4").await.unwrap();
        assert!(account.is_some());
        assert_eq!(address, None);

        clear(&mut conn, "user:a").await.unwrap();
        assert_eq!(
            load(&mut conn, "user:a", "ip:1.2.3.4").await.unwrap(),
            (None, None)
        );
        drop(conn);
        db.pool.close().await;
    }
}
