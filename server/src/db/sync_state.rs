//! Per (device, document) Automerge sync states: the server keeps no session in memory.

use automerge::sync;
use sqlx::AnyConnection;

/// Whether the device was ever given the document (it then holds a state row).
pub async fn get(
    conn: &mut AnyConnection,
    device: &str,
    doc: &str,
) -> sqlx::Result<Option<sync::State>> {
    let bytes: Option<Vec<u8>> =
        sqlx::query_scalar("SELECT state FROM sync_states WHERE device_id = $1 AND doc_id = $2")
            .bind(device)
            .bind(doc)
            .fetch_optional(conn)
            .await?;
    // An undecodable state only costs extra rounds: start afresh.
    Ok(bytes.map(|b| sync::State::decode(&b).unwrap_or_default()))
}

/// Ids of the documents this device holds (has been given and not told to drop).
pub async fn held(conn: &mut AnyConnection, device: &str) -> sqlx::Result<Vec<String>> {
    sqlx::query_scalar("SELECT doc_id FROM sync_states WHERE device_id = $1")
        .bind(device)
        .fetch_all(conn)
        .await
}

pub async fn put(
    conn: &mut AnyConnection,
    device: &str,
    doc: &str,
    state: &sync::State,
) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO sync_states (device_id, doc_id, state) VALUES ($1, $2, $3)
         ON CONFLICT (device_id, doc_id) DO UPDATE SET state = excluded.state",
    )
    .bind(device)
    .bind(doc)
    .bind(state.encode())
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn forget(conn: &mut AnyConnection, device: &str, doc: &str) -> sqlx::Result<()> {
    sqlx::query("DELETE FROM sync_states WHERE device_id = $1 AND doc_id = $2")
        .bind(device)
        .bind(doc)
        .execute(conn)
        .await?;
    Ok(())
}
