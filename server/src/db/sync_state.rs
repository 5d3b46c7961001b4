//! Per (device, document) Automerge sync states: the server keeps no session in memory.

use sqlx::AnyConnection;
use sync_core::protocol::PeerState;

/// Whether the device was ever given the document (it then holds a state row).
pub async fn get(
    conn: &mut AnyConnection,
    device: &str,
    doc: &str,
) -> sqlx::Result<Option<PeerState>> {
    let bytes: Option<Vec<u8>> =
        sqlx::query_scalar("SELECT state FROM sync_states WHERE device_id = $1 AND doc_id = $2")
            .bind(device)
            .bind(doc)
            .fetch_optional(conn)
            .await?;
    // An undecodable state only costs extra rounds: start afresh.
    Ok(bytes.map(|b| PeerState::decode(&b).unwrap_or_default()))
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
    state: &PeerState,
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

/// The device's states for `ids` (documents it was never given have none).
pub async fn get_many(
    conn: &mut AnyConnection,
    device: &str,
    ids: &[String],
) -> sqlx::Result<std::collections::HashMap<String, PeerState>> {
    let mut out = std::collections::HashMap::with_capacity(ids.len());
    for chunk in ids.chunks(crate::db::MAX_BINDS) {
        let sql = format!(
            "SELECT doc_id, state FROM sync_states WHERE device_id = $1 AND doc_id IN ({})",
            crate::db::projection::placeholders(2, chunk.len())
        );
        let mut q = sqlx::query_as::<_, (String, Vec<u8>)>(&sql).bind(device);
        for id in chunk {
            q = q.bind(id);
        }
        for (id, bytes) in q.fetch_all(&mut *conn).await? {
            // An undecodable state only costs extra rounds: start afresh.
            out.insert(id, PeerState::decode(&bytes).unwrap_or_default());
        }
    }
    Ok(out)
}

/// Stores several states of one device (`(doc_id, encoded state)`), 200 per statement.
pub async fn put_many(
    conn: &mut AnyConnection,
    device: &str,
    states: &[(String, Vec<u8>)],
) -> sqlx::Result<()> {
    let values = crate::db::values::Values::of(conn);
    for chunk in states.chunks(values.rows_per_statement(3)) {
        let sql = format!(
            "INSERT INTO sync_states (device_id, doc_id, state) VALUES {}
             ON CONFLICT (device_id, doc_id) DO UPDATE SET state = excluded.state",
            values.sql(chunk.len(), 3)
        );
        let mut q = sqlx::query(&sql);
        for (doc, state) in chunk {
            q = q.bind(device).bind(doc).bind(state);
        }
        q.execute(&mut *conn).await?;
    }
    Ok(())
}

/// Forgets several documents of one device.
pub async fn forget_many(
    conn: &mut AnyConnection,
    device: &str,
    ids: &[String],
) -> sqlx::Result<()> {
    for chunk in ids.chunks(crate::db::MAX_BINDS) {
        let sql = format!(
            "DELETE FROM sync_states WHERE device_id = $1 AND doc_id IN ({})",
            crate::db::projection::placeholders(2, chunk.len())
        );
        let mut q = sqlx::query(&sql).bind(device);
        for id in chunk {
            q = q.bind(id);
        }
        q.execute(&mut *conn).await?;
    }
    Ok(())
}
