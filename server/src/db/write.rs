//! Write transactions, and the turn every SQLite writer of this process takes first.
//!
//! SQLite has one writer at a time. A connection that finds the write lock taken does not
//! queue: its busy handler sleeps and polls (for up to the busy timeout), and a poller can lose
//! every round to writers that arrived after it. Under a steady stream of short writes (an
//! intake burst, a steady sync load) one unlucky request waited out the whole 10 s timeout and
//! answered 500 "database is locked" although no transaction held the lock for long.
//!
//! So on SQLite every writer of this process first takes its turn from a fair (first come,
//! first served) semaphore of one permit, and only then runs `BEGIN IMMEDIATE`: inside one
//! process writers queue in arrival order and never poll each other. The busy timeout is
//! left for other processes on the same file (`field-server` admin commands). The turn is
//! taken before the connection; no caller holds a pooled connection while it begins a write,
//! so the writer holding the turn only waits for readers to give one back.
//! PostgreSQL writers run concurrently and need no turn.

use std::ops::{Deref, DerefMut};
use std::sync::Arc;
use std::time::Instant;

use sqlx::{Any, AnyConnection, Transaction};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::{Backend, Db};

/// The writers' queue of one process (SQLite only).
#[derive(Clone)]
pub struct WriteGate(Arc<Semaphore>);

impl WriteGate {
    pub fn new() -> Self {
        WriteGate(Arc::new(Semaphore::new(1)))
    }

    /// Waits for this writer's turn, in arrival order.
    pub async fn turn(&self) -> sqlx::Result<OwnedSemaphorePermit> {
        let started = Instant::now();
        let permit = self
            .0
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| sqlx::Error::PoolClosed)?;
        metrics::histogram!("fieldsync_db_write_wait_seconds")
            .record(started.elapsed().as_secs_f64());
        Ok(permit)
    }
}

impl Default for WriteGate {
    fn default() -> Self {
        Self::new()
    }
}

/// A write transaction. It derefs to its connection, so `&mut *tx` runs statements inside it.
/// Dropped without [`WriteTx::commit`], it rolls back (sqlx's rule for its transactions).
pub struct WriteTx {
    tx: Transaction<'static, Any>,
    /// This process's writer turn, held until the transaction ends (SQLite).
    _turn: Option<OwnedSemaphorePermit>,
}

impl WriteTx {
    /// Commits, then gives the turn to the next writer.
    pub async fn commit(self) -> sqlx::Result<()> {
        self.tx.commit().await
    }
}

impl Deref for WriteTx {
    type Target = AnyConnection;
    fn deref(&self) -> &AnyConnection {
        &self.tx
    }
}

impl DerefMut for WriteTx {
    fn deref_mut(&mut self) -> &mut AnyConnection {
        &mut self.tx
    }
}

impl Db {
    /// Begins a transaction that will write. On SQLite it waits for this process's writer turn,
    /// then takes the write lock at once (`BEGIN IMMEDIATE`): a deferred transaction that read
    /// first would fail outright when another connection wrote in between (WAL snapshot), and
    /// a concurrent sync would answer 500. PostgreSQL locks rows as it goes.
    pub async fn begin_write(&self) -> sqlx::Result<WriteTx> {
        // The turn first: a writer holding it only waits for a pooled connection, which
        // readers give back, never for another writer (no caller holds a connection here).
        let turn = self.write_turn().await?;
        let tx = match self.backend {
            Backend::Sqlite => self.pool.begin_with("BEGIN IMMEDIATE").await?,
            Backend::Postgres => match self.pool.begin().await {
                // A pooled connection can break while it waits (the server closed it, or, while
                // this process stops, the worker whose runtime drives its socket has ended).
                // Nothing has run on it yet, so beginning once more on another is safe.
                Err(sqlx::Error::Io(e)) => {
                    tracing::warn!(error = %e, "a pooled connection failed to begin a transaction; trying another");
                    self.pool.begin().await?
                }
                other => other?,
            },
        };
        Ok(WriteTx { tx, _turn: turn })
    }

    /// This process's writer turn, for a writer that runs its own transaction on a connection
    /// it holds (the batch dispatcher). `None` on PostgreSQL.
    pub async fn write_turn(&self) -> sqlx::Result<Option<OwnedSemaphorePermit>> {
        match &self.gate {
            Some(gate) => gate.turn().await.map(Some),
            None => Ok(None),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use std::sync::Mutex;

    use super::*;
    use crate::db::scratch::Scratch;

    async fn counter() -> Scratch {
        let s = Scratch::new().await;
        sqlx::query("CREATE TABLE n (k TEXT PRIMARY KEY, v BIGINT NOT NULL)")
            .execute(&s.db.pool)
            .await
            .unwrap();
        sqlx::query("INSERT INTO n (k, v) VALUES ('n', 0)")
            .execute(&s.db.pool)
            .await
            .unwrap();
        s
    }

    async fn value(db: &Db) -> i64 {
        sqlx::query_scalar("SELECT v FROM n WHERE k = 'n'")
            .fetch_one(&db.pool)
            .await
            .unwrap()
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn many_concurrent_writers_all_commit_and_none_loses_an_update() {
        let s = counter().await;
        let mut tasks = Vec::new();
        for _ in 0..32 {
            let db = s.db.clone();
            tasks.push(tokio::spawn(async move {
                for _ in 0..10 {
                    // Read, then write what was read plus one: a lost update shows in the sum.
                    let mut tx = db.begin_write().await?;
                    let v: i64 = sqlx::query_scalar("SELECT v FROM n WHERE k = 'n'")
                        .fetch_one(&mut *tx)
                        .await?;
                    sqlx::query("UPDATE n SET v = $1 WHERE k = 'n'")
                        .bind(v + 1)
                        .execute(&mut *tx)
                        .await?;
                    tx.commit().await?;
                }
                Ok::<_, sqlx::Error>(())
            }));
        }
        for t in tasks {
            t.await.unwrap().unwrap();
        }
        assert_eq!(value(&s.db).await, 320);
    }

    #[tokio::test]
    async fn writers_take_their_turns_in_arrival_order() {
        let gate = WriteGate::new();
        let order = Arc::new(Mutex::new(Vec::new()));
        let first = gate.turn().await.unwrap();
        let mut tasks = Vec::new();
        for i in 0..5 {
            let (gate, order) = (gate.clone(), order.clone());
            tasks.push(tokio::spawn(async move {
                let _turn = gate.turn().await.unwrap();
                order.lock().unwrap().push(i);
                tokio::task::yield_now().await;
            }));
            // On this single-threaded runtime the task runs until it waits for its turn.
            tokio::task::yield_now().await;
        }
        assert!(order.lock().unwrap().is_empty(), "nobody passes the holder");
        drop(first);
        for t in tasks {
            t.await.unwrap();
        }
        assert_eq!(*order.lock().unwrap(), [0, 1, 2, 3, 4]);
    }

    #[tokio::test]
    async fn a_write_dropped_without_commit_rolls_back_and_the_next_writer_goes_on() {
        let s = counter().await;
        {
            let mut tx = s.db.begin_write().await.unwrap();
            sqlx::query("UPDATE n SET v = 99 WHERE k = 'n'")
                .execute(&mut *tx)
                .await
                .unwrap();
        }
        let mut tx = s.db.begin_write().await.unwrap();
        sqlx::query("UPDATE n SET v = v + 1 WHERE k = 'n'")
            .execute(&mut *tx)
            .await
            .unwrap();
        tx.commit().await.unwrap();
        assert_eq!(value(&s.db).await, 1);
    }
}
