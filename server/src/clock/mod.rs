//! The service clock: deadlines of every work order (`rules`), kept as rows (`store`), and a
//! background task that records breaches and takes the clock's actions exactly once across
//! server instances (`tick`).
//!
//! Clocks run on **field time**: the device time of each event, clamped between the device's
//! previous contact and the server's receipt, so work done offline counts when it happened
//! without trusting a wrong clock (DESIGN.md principle 10). The current time comes from
//! [`ServiceClock`]: the system clock, or, with `--clock manual`, a time kept in the database
//! that an admin advances, so tests and drills run without sleeping and every instance agrees.

pub mod api;
pub mod rules;
pub mod store;
pub mod tick;

use sqlx::AnyConnection;

use crate::db::now_ms;

/// Where "now" comes from for service rules (not for token lifetimes: those stay real).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServiceClock {
    System,
    /// Stored in `server_settings` under [`MANUAL_KEY`]; moves only when advanced.
    Manual,
}

/// The `server_settings` key of the manual clock (ms since the epoch, as text).
pub const MANUAL_KEY: &str = "service_clock_ms";

impl ServiceClock {
    /// The service time now.
    pub async fn now(self, conn: &mut AnyConnection) -> sqlx::Result<i64> {
        match self {
            ServiceClock::System => Ok(now_ms()),
            ServiceClock::Manual => {
                let v: Option<String> =
                    sqlx::query_scalar("SELECT value FROM server_settings WHERE key = $1")
                        .bind(MANUAL_KEY)
                        .fetch_optional(&mut *conn)
                        .await?;
                Ok(v.and_then(|v| v.parse().ok()).unwrap_or_else(now_ms))
            }
        }
    }

    /// A manual clock starts at the real time when the database first sees it.
    pub async fn init(self, conn: &mut AnyConnection) -> sqlx::Result<()> {
        if self == ServiceClock::Manual {
            sqlx::query(
                "INSERT INTO server_settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING",
            )
            .bind(MANUAL_KEY)
            .bind(now_ms().to_string())
            .execute(conn)
            .await?;
        }
        Ok(())
    }

    /// Moves a manual clock forward by `by_ms` (never backwards) and returns the new time.
    pub async fn advance(self, conn: &mut AnyConnection, by_ms: i64) -> sqlx::Result<i64> {
        // Lock the row first so that concurrent advances add up.
        sqlx::query("UPDATE server_settings SET value = value WHERE key = $1")
            .bind(MANUAL_KEY)
            .execute(&mut *conn)
            .await?;
        let now = self.now(conn).await?.saturating_add(by_ms.max(0));
        sqlx::query("UPDATE server_settings SET value = $1 WHERE key = $2")
            .bind(now.to_string())
            .bind(MANUAL_KEY)
            .execute(&mut *conn)
            .await?;
        Ok(now)
    }
}
