//! Work-order documents: a compacted snapshot row plus an append-only change log.

use automerge::{Automerge, ChangeHash};
use sqlx::{AnyConnection, Row};

/// Compact the log into the snapshot once it holds this many changes: loading then applies
/// at most this many changes on top of the snapshot.
pub const COMPACT_AFTER: i64 = 64;

/// Heads as stored: sorted hex hashes joined by commas (compared as text for the pre-filter).
pub fn heads_text(heads: &[ChangeHash]) -> String {
    let mut v: Vec<String> = heads.iter().map(|h| h.to_string()).collect();
    v.sort();
    v.join(",")
}

/// The heads of a `heads` column ([`heads_text`]); an unreadable entry is skipped, which
/// makes the heads compare unequal and so costs a load, never a wrong answer.
pub fn parse_heads(text: &str) -> Vec<ChangeHash> {
    text.split(',')
        .filter(|part| !part.is_empty())
        .filter_map(|part| part.parse().ok())
        .collect()
}

/// A document from its stored form: the snapshot and the changes logged since, loaded in one
/// pass. Automerge parses the chunks and applies the changes as one batch, where a
/// `load_incremental` per logged change applied them one at a time (the load was about a
/// quarter of the server's CPU in a sync burst; this halves it for a document with a log).
pub fn assemble(snapshot: &[u8], log: &[Vec<u8>]) -> anyhow::Result<Automerge> {
    if log.is_empty() {
        return Ok(Automerge::load(snapshot)?);
    }
    let mut bytes = Vec::with_capacity(snapshot.len() + log.iter().map(Vec::len).sum::<usize>());
    bytes.extend_from_slice(snapshot);
    for change in log {
        bytes.extend_from_slice(change);
    }
    Ok(Automerge::load(&bytes)?)
}

pub struct Loaded {
    pub doc: Automerge,
    pub log_count: i64,
}

/// Locks the document's row for this transaction (serializing writers across instances),
/// then loads snapshot and log. `None` when there is no such document.
pub async fn lock_and_load(
    conn: &mut AnyConnection,
    id: &str,
    actor: &automerge::ActorId,
) -> anyhow::Result<Option<Loaded>> {
    let locked = sqlx::query("UPDATE documents SET version = version + 1 WHERE id = $1")
        .bind(id)
        .execute(&mut *conn)
        .await?;
    if locked.rows_affected() == 0 {
        return Ok(None);
    }
    let row = sqlx::query("SELECT snapshot, log_count FROM documents WHERE id = $1")
        .bind(id)
        .fetch_one(&mut *conn)
        .await?;
    let snapshot: Vec<u8> = row.try_get("snapshot")?;
    let log_count: i64 = row.try_get("log_count")?;
    let changes: Vec<Vec<u8>> = if log_count > 0 {
        sqlx::query_scalar("SELECT change FROM doc_changes WHERE doc_id = $1")
            .bind(id)
            .fetch_all(&mut *conn)
            .await?
    } else {
        Vec::new()
    };
    let doc = assemble(&snapshot, &changes)?.with_actor(actor.clone());
    Ok(Some(Loaded { doc, log_count }))
}

/// Locks the rows of `ids` in id order, for a transaction that will change several documents
/// in another order (a dispatch batch serves urgent jobs first): every writer then takes its
/// document locks in the same order, so none waits for another in a cycle.
pub async fn lock_rows(conn: &mut AnyConnection, ids: &[String]) -> anyhow::Result<()> {
    let mut sorted: Vec<&String> = ids.iter().collect();
    sorted.sort();
    sorted.dedup();
    for id in sorted {
        sqlx::query("UPDATE documents SET version = version + 1 WHERE id = $1")
            .bind(id)
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

/// Loads a document for reading (no lock).
pub async fn load(conn: &mut AnyConnection, id: &str) -> anyhow::Result<Option<Automerge>> {
    let Some(row) = sqlx::query("SELECT snapshot, log_count FROM documents WHERE id = $1")
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?
    else {
        return Ok(None);
    };
    let snapshot: Vec<u8> = row.try_get("snapshot")?;
    let changes: Vec<Vec<u8>> =
        sqlx::query_scalar("SELECT change FROM doc_changes WHERE doc_id = $1")
            .bind(id)
            .fetch_all(&mut *conn)
            .await?;
    Ok(Some(assemble(&snapshot, &changes)?))
}

/// Stores a new document (intake).
pub async fn insert(
    conn: &mut AnyConnection,
    id: &str,
    doc: &Automerge,
    now: i64,
) -> anyhow::Result<()> {
    sqlx::query(
        "INSERT INTO documents (id, snapshot, heads, log_count, version, updated_at) VALUES ($1, $2, $3, 0, 0, $4)",
    )
    .bind(id)
    .bind(doc.save())
    .bind(heads_text(&doc.get_heads()))
    .bind(now)
    .execute(conn)
    .await?;
    Ok(())
}

/// Who uploaded changes, from which device, and when the server received them.
pub struct Upload<'a> {
    pub user: &'a str,
    pub device: &'a str,
    pub at: i64,
}

/// Appends the changes made since `heads_before` (keyed by hash: replays are no-ops),
/// recording the authenticated uploader, and compacts when the log is long.
pub async fn append(
    conn: &mut AnyConnection,
    id: &str,
    doc: &Automerge,
    loaded_log: i64,
    heads_before: &[ChangeHash],
    by: &Upload<'_>,
) -> anyhow::Result<usize> {
    let (uploader, device, now) = (by.user, by.device, by.at);
    let changes = doc.get_changes(heads_before);
    let mut added = 0i64;
    for change in &changes {
        let done = sqlx::query(
            "INSERT INTO doc_changes (doc_id, hash, change, uploader, device_id, received_at)
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (doc_id, hash) DO NOTHING",
        )
        .bind(id)
        .bind(change.hash().to_string())
        .bind(change.raw_bytes().to_vec())
        .bind(uploader)
        .bind(device)
        .bind(now)
        .execute(&mut *conn)
        .await?;
        added += done.rows_affected() as i64;
    }
    let log_count = loaded_log + added;
    let heads = heads_text(&doc.get_heads());
    if log_count >= COMPACT_AFTER {
        // We hold the row lock: nobody else can have appended since we loaded.
        sqlx::query("DELETE FROM doc_changes WHERE doc_id = $1")
            .bind(id)
            .execute(&mut *conn)
            .await?;
        sqlx::query("UPDATE documents SET snapshot = $1, heads = $2, log_count = 0, updated_at = $3 WHERE id = $4")
            .bind(doc.save())
            .bind(heads)
            .bind(now)
            .bind(id)
            .execute(conn)
            .await?;
    } else {
        sqlx::query(
            "UPDATE documents SET heads = $1, log_count = $2, updated_at = $3 WHERE id = $4",
        )
        .bind(heads)
        .bind(log_count)
        .bind(now)
        .bind(id)
        .execute(conn)
        .await?;
    }
    Ok(changes.len())
}

/// A document row as the sync pipeline reads it before taking any lock.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredRow {
    /// Heads as stored ([`heads_text`]): what a later conditional write expects.
    pub heads: String,
    /// Changes in the log on top of the snapshot.
    pub log_count: i64,
}

/// The stored heads and log length of each of `ids` that exists.
pub async fn rows_of(
    conn: &mut AnyConnection,
    ids: &[String],
) -> anyhow::Result<std::collections::HashMap<String, StoredRow>> {
    let mut out = std::collections::HashMap::with_capacity(ids.len());
    for chunk in ids.chunks(crate::db::MAX_BINDS) {
        let sql = format!(
            "SELECT id, heads, log_count FROM documents WHERE id IN ({})",
            crate::db::projection::placeholders(1, chunk.len())
        );
        let mut q = sqlx::query(&sql);
        for id in chunk {
            q = q.bind(id);
        }
        for row in q.fetch_all(&mut *conn).await? {
            out.insert(
                row.try_get("id")?,
                StoredRow {
                    heads: row.try_get("heads")?,
                    log_count: row.try_get("log_count")?,
                },
            );
        }
    }
    Ok(out)
}

/// Loads several documents (no lock), each with the number of stored bytes it was built
/// from (snapshot plus log), in two queries per 500 documents.
pub async fn load_many(
    conn: &mut AnyConnection,
    ids: &[String],
) -> anyhow::Result<std::collections::HashMap<String, (Automerge, usize)>> {
    let mut out = std::collections::HashMap::with_capacity(ids.len());
    for chunk in ids.chunks(crate::db::MAX_BINDS) {
        let ph = crate::db::projection::placeholders(1, chunk.len());
        let sql = format!("SELECT id, snapshot FROM documents WHERE id IN ({ph})");
        let mut q = sqlx::query(&sql);
        for id in chunk {
            q = q.bind(id);
        }
        let mut stored: std::collections::HashMap<String, (Vec<u8>, Vec<Vec<u8>>)> =
            std::collections::HashMap::with_capacity(chunk.len());
        for row in q.fetch_all(&mut *conn).await? {
            let id: String = row.try_get("id")?;
            stored.insert(id, (row.try_get("snapshot")?, Vec::new()));
        }
        let sql = format!("SELECT doc_id, change FROM doc_changes WHERE doc_id IN ({ph})");
        let mut q = sqlx::query(&sql);
        for id in chunk {
            q = q.bind(id);
        }
        for row in q.fetch_all(&mut *conn).await? {
            let id: String = row.try_get("doc_id")?;
            if let Some((_, log)) = stored.get_mut(&id) {
                log.push(row.try_get("change")?);
            }
        }
        for (id, (snapshot, log)) in stored {
            let bytes = snapshot.len() + log.iter().map(Vec::len).sum::<usize>();
            let doc = assemble(&snapshot, &log)
                .map_err(|e| anyhow::anyhow!("stored document {id} does not load: {e:#}"))?;
            out.insert(id, (doc, bytes));
        }
    }
    Ok(out)
}

/// What a merge changed in one document, computed before the write lock.
#[derive(Debug, Clone)]
pub struct DocWrite {
    /// The heads the document had when it was read: the write happens only if they still are.
    pub expected_heads: String,
    pub heads: String,
    /// Log entries to append (key, bytes): one change each, keyed by its hash, or a sync's
    /// change chunks as they arrived, keyed by the first applied change's hash.
    pub changes: Vec<(String, Vec<u8>)>,
    /// Changes those entries add to the document.
    pub added: usize,
    /// Log length after this write.
    pub log_count: i64,
    /// When the log has grown past [`COMPACT_AFTER`]: the new snapshot (the log is cleared).
    pub snapshot: Option<Vec<u8>>,
}

impl DocWrite {
    /// The write for `doc` after changes were applied on top of `before` (stored as `row`).
    /// The log entries are re-encoded from the document, one per change.
    pub fn of(doc: &Automerge, before: &[ChangeHash], row: &StoredRow) -> DocWrite {
        let changes: Vec<(String, Vec<u8>)> = doc
            .get_changes(before)
            .into_iter()
            .map(|c| (c.hash().to_string(), c.raw_bytes().to_vec()))
            .collect();
        let added = changes.len();
        Self::with_log(doc, changes, added, row)
    }

    /// The write for `doc` after a sync applied `r`: the change chunks as they arrived (taken
    /// out of `r`) become one log entry, keyed by the first applied change's hash (a change is
    /// applied to a document once, so the key is new), instead of re-encoding every change
    /// from the document (5 % of a sync burst's CPU) and writing a row for each. Falls back to
    /// [`DocWrite::of`] when `r` carries no chunk.
    pub fn of_sync(
        doc: &Automerge,
        r: &mut sync_core::protocol::server::Responded,
        row: &StoredRow,
    ) -> DocWrite {
        match r.applied.first() {
            Some(first) if !r.arrived.is_empty() => Self::with_log(
                doc,
                vec![(first.to_string(), std::mem::take(&mut r.arrived))],
                r.applied.len(),
                row,
            ),
            _ => Self::of(doc, &r.heads_before, row),
        }
    }

    /// `changes` (log entries holding `added` changes in all) appended after `row`.
    fn with_log(
        doc: &Automerge,
        changes: Vec<(String, Vec<u8>)>,
        added: usize,
        row: &StoredRow,
    ) -> DocWrite {
        let log_count = row.log_count + added as i64;
        DocWrite {
            expected_heads: row.heads.clone(),
            heads: heads_text(&doc.get_heads()),
            snapshot: (log_count >= COMPACT_AFTER).then(|| doc.save()),
            changes,
            added,
            log_count,
        }
    }
}

/// Updates the document row for `w` if the document still has the heads it was read with,
/// taking its row lock (serializing writers across instances); compacts when `w` carries a
/// snapshot. `false` when another writer got there first: nothing was written and the caller
/// redoes the merge under the lock. The new changes are appended by [`insert_changes`].
pub async fn write_if_unchanged(
    conn: &mut AnyConnection,
    id: &str,
    w: &DocWrite,
    by: &Upload<'_>,
) -> anyhow::Result<bool> {
    let done = match &w.snapshot {
        Some(snapshot) => {
            sqlx::query(
                "UPDATE documents SET version = version + 1, snapshot = $1, heads = $2, log_count = 0, updated_at = $3
                 WHERE id = $4 AND heads = $5",
            )
            .bind(snapshot)
            .bind(&w.heads)
            .bind(by.at)
            .bind(id)
            .bind(&w.expected_heads)
            .execute(&mut *conn)
            .await?
        }
        None => {
            sqlx::query(
                "UPDATE documents SET version = version + 1, heads = $1, log_count = $2, updated_at = $3
                 WHERE id = $4 AND heads = $5",
            )
            .bind(&w.heads)
            .bind(w.log_count)
            .bind(by.at)
            .bind(id)
            .bind(&w.expected_heads)
            .execute(&mut *conn)
            .await?
        }
    };
    if done.rows_affected() == 0 {
        return Ok(false);
    }
    if w.snapshot.is_some() {
        // The snapshot holds every change: the log goes (we hold the row lock).
        sqlx::query("DELETE FROM doc_changes WHERE doc_id = $1")
            .bind(id)
            .execute(&mut *conn)
            .await?;
        return Ok(true);
    }
    Ok(true)
}

/// [`write_if_unchanged`] for many documents at once. On SQLite, one conditional
/// `UPDATE … RETURNING id` per 30 documents whose write keeps the log (no new snapshot) instead
/// of one statement each (each statement is a thread hand-off in sqlx's SQLite driver; the
/// transaction holds the whole database, so the order rows are written in does not matter).
/// On PostgreSQL, and for compacting writes, one by one in the given (id) order, so that row
/// locks are always taken in id order and concurrent requests cannot deadlock. Returns the ids
/// written; a document whose heads moved since it was read is left out (its caller merges it
/// again under the lock).
pub async fn write_many_if_unchanged(
    conn: &mut AnyConnection,
    writes: &[(&str, &DocWrite)],
    by: &Upload<'_>,
) -> anyhow::Result<std::collections::HashSet<String>> {
    let mut written = std::collections::HashSet::with_capacity(writes.len());
    let batched = conn.backend_name() == "SQLite";
    let (logged, compacting): (Vec<_>, Vec<_>) = writes
        .iter()
        .partition(|(_, w)| batched && w.snapshot.is_none());
    for (id, w) in compacting {
        if write_if_unchanged(conn, id, w, by).await? {
            written.insert((*id).to_owned());
        }
    }
    const BINDS_PER_DOC: usize = 4;
    for chunk in logged.chunks((crate::db::MAX_BINDS - 1) / BINDS_PER_DOC) {
        // $1 is the time; then per document: id, new heads, log count, expected heads.
        let mut heads = String::from("CASE id");
        let mut counts = String::from("CASE id");
        let mut matches = Vec::with_capacity(chunk.len());
        for i in 0..chunk.len() {
            let b = 2 + i * BINDS_PER_DOC;
            heads.push_str(&format!(" WHEN ${b} THEN ${}", b + 1));
            counts.push_str(&format!(" WHEN ${b} THEN ${}", b + 2));
            matches.push(format!("(id = ${b} AND heads = ${})", b + 3));
        }
        heads.push_str(" END");
        counts.push_str(" END");
        let sql = format!(
            "UPDATE documents SET version = version + 1, heads = {heads}, log_count = {counts}, updated_at = $1
             WHERE {} RETURNING id",
            matches.join(" OR ")
        );
        let mut q = sqlx::query(&sql).bind(by.at);
        for (id, w) in chunk {
            q = q
                .bind(*id)
                .bind(&w.heads)
                .bind(w.log_count)
                .bind(&w.expected_heads);
        }
        for row in q.fetch_all(&mut *conn).await? {
            written.insert(sqlx::Row::try_get::<String, _>(&row, "id")?);
        }
    }
    Ok(written)
}

/// Appends the new changes of several written documents (those not compacted), keyed by hash:
/// a replay inserts nothing. One statement per 100 changes.
pub async fn insert_changes(
    conn: &mut AnyConnection,
    writes: &[(&str, &DocWrite)],
    by: &Upload<'_>,
) -> anyhow::Result<()> {
    let rows: Vec<(&str, &(String, Vec<u8>))> = writes
        .iter()
        .filter(|(_, w)| w.snapshot.is_none())
        .flat_map(|(id, w)| w.changes.iter().map(move |c| (*id, c)))
        .collect();
    let values = crate::db::values::Values::of(conn);
    for chunk in rows.chunks(values.rows_per_statement(6)) {
        let sql = format!(
            "INSERT INTO doc_changes (doc_id, hash, change, uploader, device_id, received_at)
             VALUES {} ON CONFLICT (doc_id, hash) DO NOTHING",
            values.sql(chunk.len(), 6)
        );
        let mut q = sqlx::query(&sql);
        for (id, (hash, bytes)) in chunk {
            q = q
                .bind(*id)
                .bind(hash)
                .bind(bytes)
                .bind(by.user)
                .bind(by.device)
                .bind(by.at);
        }
        q.execute(&mut *conn).await?;
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::db::scratch::Scratch;

    fn write(expected: &str, heads: &str, log_count: i64, snapshot: bool) -> DocWrite {
        DocWrite {
            expected_heads: expected.to_owned(),
            heads: heads.to_owned(),
            changes: Vec::new(),
            added: 0,
            log_count,
            snapshot: snapshot.then(|| Automerge::new().save()),
        }
    }

    /// A stored document, and a device's copy three changes ahead of it.
    fn stored_and_ahead() -> (Automerge, Automerge) {
        use automerge::transaction::Transactable;
        let mut base = Automerge::new().with_actor(automerge::ActorId::from([1; 16]));
        base.transact::<_, _, automerge::AutomergeError>(|tx| tx.put(automerge::ROOT, "k", 1))
            .unwrap();
        let mut device = base.fork().with_actor(automerge::ActorId::from([2; 16]));
        for v in 2..5_i64 {
            device
                .transact::<_, _, automerge::AutomergeError>(|tx| tx.put(automerge::ROOT, "k", v))
                .unwrap();
        }
        (base, device)
    }

    #[tokio::test]
    async fn a_synced_chunk_is_one_log_entry_that_loads_back_to_the_merged_document() {
        use sync_core::protocol::{self, server, DocOffer, OfferedHeads, PeerState};
        let s = Scratch::new().await;
        let mut conn = s.db.pool.acquire().await.unwrap();
        let (mut doc, mut device) = stored_and_ahead();
        insert(&mut conn, "WO-1", &doc, 1).await.unwrap();
        let row = rows_of(&mut conn, &["WO-1".to_owned()]).await.unwrap()["WO-1"].clone();
        // One round of Automerge sync tells the device what the server has; its next message
        // carries the three changes.
        use automerge::sync::SyncDoc;
        let (mut server_state, mut device_state) =
            (automerge::sync::State::new(), automerge::sync::State::new());
        let hello = doc.fork().generate_sync_message(&mut server_state).unwrap();
        device
            .receive_sync_message(&mut device_state, hello)
            .unwrap();
        let message = device.generate_sync_message(&mut device_state).unwrap();
        let offer = DocOffer {
            doc_id: "WO-1".into(),
            heads: OfferedHeads::Full(protocol::heads_to_wire(&device.get_heads())),
            message: Some(message.encode()),
        };
        let mut r = server::respond(&mut doc, &mut PeerState::new(), &offer).unwrap();
        let w = DocWrite::of_sync(&doc, &mut r, &row);
        assert_eq!((w.changes.len(), w.added, w.log_count), (1, 3, 3));
        // The same write re-encoded from the document: one entry per change.
        let per_change = DocWrite::of(&doc, &r.heads_before, &row);
        assert_eq!((per_change.changes.len(), per_change.added), (3, 3));

        let by = Upload {
            user: "u",
            device: "d",
            at: 2,
        };
        let writes = [("WO-1", &w)];
        assert!(write_many_if_unchanged(&mut conn, &writes, &by)
            .await
            .unwrap()
            .contains("WO-1"));
        insert_changes(&mut conn, &writes, &by).await.unwrap();
        let entries: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM doc_changes WHERE doc_id = 'WO-1'")
                .fetch_one(&mut *conn)
                .await
                .unwrap();
        assert_eq!(entries, 1);
        let want = doc.get_heads();
        let many = load_many(&mut conn, &["WO-1".to_owned()]).await.unwrap();
        assert_eq!(many["WO-1"].0.get_heads(), want);
        assert_eq!(
            load(&mut conn, "WO-1").await.unwrap().unwrap().get_heads(),
            want
        );
        let locked = lock_and_load(&mut conn, "WO-1", &automerge::ActorId::from([9; 16]))
            .await
            .unwrap()
            .unwrap();
        assert_eq!((locked.doc.get_heads(), locked.log_count), (want, 3));
    }

    #[tokio::test]
    async fn many_conditional_writes_write_exactly_the_documents_whose_heads_did_not_move() {
        let s = Scratch::new().await;
        let mut conn = s.db.pool.acquire().await.unwrap();
        let doc = Automerge::new();
        let stored = heads_text(&doc.get_heads());
        for id in ["A", "B", "C", "D"] {
            insert(&mut conn, id, &doc, 1).await.unwrap();
        }
        let by = Upload {
            user: "u",
            device: "d",
            at: 2,
        };
        let (a, b, c, d) = (
            write(&stored, "a1", 3, false),
            write("moved-meanwhile", "b1", 3, false),
            write(&stored, "c1", 4, false),
            write(&stored, "d1", 0, true),
        );
        let writes = [("A", &a), ("B", &b), ("C", &c), ("D", &d)];
        let done = write_many_if_unchanged(&mut conn, &writes, &by)
            .await
            .unwrap();
        let mut done: Vec<&str> = done.iter().map(String::as_str).collect();
        done.sort();
        assert_eq!(done, ["A", "C", "D"]);
        let rows: Vec<(String, String, i64, i64)> =
            sqlx::query_as("SELECT id, heads, log_count, version FROM documents ORDER BY id")
                .fetch_all(&mut *conn)
                .await
                .unwrap();
        assert_eq!(
            rows,
            [
                ("A".into(), "a1".into(), 3, 1),
                ("B".into(), stored.clone(), 0, 0),
                ("C".into(), "c1".into(), 4, 1),
                ("D".into(), "d1".into(), 0, 1),
            ]
        );
    }
}
