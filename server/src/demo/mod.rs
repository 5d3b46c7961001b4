//! `field-server --demo`: a small, realistic day in an empty database, so that a first look
//! at the board (or the dispatcher console) shows work in every state.
//!
//! On start, after the migrations and the admin account, [`fill`] checks that the database
//! holds no work orders and no users but the admin (otherwise it refuses and changes
//! nothing), then creates three regions, five skills, a parts catalogue and twelve accounts
//! sharing one generated password ([`people`]), and plays the day of [`day`]: 24 requests
//! from yesterday morning to a few minutes ago, dispatched, worked on offline and synced by
//! the technicians' devices. Times count back from the service time at start (`now`), so the
//! data is always "today". Everything goes through the server's own write paths (documents
//! changed by sync-core operations as the right people on the right devices, stored and
//! projected; see [`store`]) in one transaction: a failure leaves the database as it was.
//! Then one pass of the service clock records the breaches and times out an acceptance
//! nobody gave, and the accounts are printed on stdout.
//!
//! The dispatchers of the demo assign by hand (as with `dispatch.auto_on_intake = false`),
//! so that each job goes to the technician its story needs; automatic dispatch runs only for
//! a job nobody can take.

pub mod day;
pub mod images;
pub mod orders;
pub mod people;
pub mod script;
pub mod store;

#[cfg(test)]
mod tests;

use crate::auth::password;
use crate::state::AppState;

/// What the database already holds, when it is not empty.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Existing {
    pub work_orders: i64,
    /// Users besides the admin.
    pub users: i64,
}

/// Why the demo did not run.
#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    #[error("--demo refuses to touch a database that already holds data ({} work orders, {} users besides admin); use a new --database-url", .0.work_orders, .0.users)]
    NotEmpty(Existing),
    #[error("--demo could not create its data (nothing was stored): {0:#}")]
    Failed(anyhow::Error),
}

/// What is in the database, `None` when it is empty (no work orders, no users but admin).
pub async fn existing(state: &AppState) -> anyhow::Result<Option<Existing>> {
    let mut conn = state.db.pool.acquire().await?;
    let work_orders: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM documents")
        .fetch_one(&mut *conn)
        .await?;
    let users: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM users WHERE id <> 'admin'")
        .fetch_one(&mut *conn)
        .await?;
    let found = Existing { work_orders, users };
    Ok((work_orders > 0 || users > 0).then_some(found))
}

/// A password for every demo account: 16 characters, URL-safe.
fn new_password() -> String {
    use base64::Engine;
    use rand::RngCore;
    let mut b = [0u8; 12];
    rand::rngs::OsRng.fill_bytes(&mut b);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b)
}

/// Fills an empty database with the demo day and prints the accounts; refuses (changing
/// nothing) when the database holds data. Call it before the service clock's passes start.
pub async fn fill(state: &AppState) -> Result<(), DemoError> {
    if let Some(found) = existing(state).await.map_err(DemoError::Failed)? {
        return Err(DemoError::NotEmpty(found));
    }
    let pw = new_password();
    let created = create(state, &pw).await.map_err(DemoError::Failed)?;
    // Service time has moved on while the day was written; this pass records what is late now.
    let report = crate::clock::tick::run_once(state)
        .await
        .map_err(|e| DemoError::Failed(anyhow::anyhow!("the clock pass: {e}")))?;
    tracing::info!(
        work_orders = created,
        breaches = report.breaches.len(),
        "demo data created"
    );
    let regions: Vec<&str> = people::REGIONS.iter().map(|(id, _)| *id).collect();
    println!(
        "demo data: {created} work orders from the last day and a half in {}; {} accounts, all with the password on the last line",
        regions.join(", "),
        people::ACCOUNTS.len()
    );
    for a in people::ACCOUNTS {
        println!(
            "demo account {:<11} {:<10} {}",
            a.id,
            a.role.as_str(),
            people::regions_text(a)
        );
    }
    println!("demo password {pw}");
    Ok(())
}

/// The accounts and the day, in one transaction. Returns the number of work orders.
async fn create(state: &AppState, pw: &str) -> anyhow::Result<usize> {
    password::check_password_policy(pw)?;
    let pw = pw.to_owned();
    let hash = tokio::task::spawn_blocking(move || password::hash_password(&pw)).await??;
    let mut tx = state.db.begin_write().await?;
    let now = state.clock.now(&mut tx).await?;
    // Every demo account exists since before the day began.
    let since = now + script::ago(48, 0);
    people::create(&mut tx, &hash, since).await?;
    let steps = day::steps();
    store::Player::new(state, now).play(&mut tx, &steps).await?;
    tx.commit().await?;
    Ok(orders::ids().count())
}
