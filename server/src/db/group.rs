//! Group commit for SQLite: write jobs of concurrent requests share one transaction and one
//! `fsync`.
//!
//! SQLite has one writer at a time, and with `synchronous = FULL` every commit waits for the
//! disk (2–15 ms on the machines measured, the largest single cost of a sync request). The
//! writer task takes every job waiting when it is free (up to [`MAX_GROUP`]), runs each inside
//! its own `SAVEPOINT` (a job that fails is rolled back alone and gets its error), commits once,
//! and only then answers each job: acknowledged still means durable.
//!
//! PostgreSQL does not use this: its writers run concurrently and it groups commits itself,
//! and one transaction holding the row locks of unrelated requests from several instances
//! could deadlock with another instance's group.

use std::any::Any;

use futures_util::future::BoxFuture;
use sqlx::AnyConnection;
use tokio::sync::{mpsc, oneshot};

use super::Db;

/// Jobs committed together at most.
pub const MAX_GROUP: usize = 64;

type Output = Box<dyn Any + Send>;
type Run =
    Box<dyn for<'c> FnOnce(&'c mut AnyConnection) -> BoxFuture<'c, anyhow::Result<Output>> + Send>;

struct Job {
    run: Run,
    done: oneshot::Sender<anyhow::Result<Output>>,
}

/// A handle to the writer task (cheap to clone).
#[derive(Clone)]
pub struct GroupWriter {
    jobs: mpsc::Sender<Job>,
}

impl GroupWriter {
    /// Starts the writer task on the current runtime.
    pub fn start(db: Db) -> Self {
        let (jobs, rx) = mpsc::channel(1024);
        tokio::spawn(writer(db, rx));
        GroupWriter { jobs }
    }

    /// Runs `job` in a transaction shared with other jobs and returns its output once that
    /// transaction has committed. An error from the job rolls back only its own writes.
    pub async fn write<T, F>(&self, job: F) -> anyhow::Result<T>
    where
        T: Send + 'static,
        F: for<'c> FnOnce(&'c mut AnyConnection) -> BoxFuture<'c, anyhow::Result<T>>
            + Send
            + 'static,
    {
        let (done, answer) = oneshot::channel();
        let run: Run = Box::new(move |conn| {
            Box::pin(async move { job(conn).await.map(|t| Box::new(t) as Output) })
        });
        self.jobs
            .send(Job { run, done })
            .await
            .map_err(|_| anyhow::anyhow!("the database writer has stopped"))?;
        let out = answer
            .await
            .map_err(|_| anyhow::anyhow!("the database writer dropped a job"))??;
        out.downcast::<T>()
            .map(|t| *t)
            .map_err(|_| anyhow::anyhow!("the database writer returned another type"))
    }
}

async fn writer(db: Db, mut rx: mpsc::Receiver<Job>) {
    while let Some(first) = rx.recv().await {
        let mut group = vec![first];
        while group.len() < MAX_GROUP {
            match rx.try_recv() {
                Ok(job) => group.push(job),
                Err(_) => break,
            }
        }
        metrics::histogram!("fieldsync_db_group_jobs").record(group.len() as f64);
        run_group(&db, group).await;
    }
}

async fn run_group(db: &Db, group: Vec<Job>) {
    let mut tx = match db.begin_write().await {
        Ok(tx) => tx,
        Err(e) => {
            for job in group {
                let _ = job
                    .done
                    .send(Err(anyhow::anyhow!("beginning a transaction: {e}")));
            }
            return;
        }
    };
    let mut results = Vec::with_capacity(group.len());
    for job in group {
        let outcome = run_one(&mut tx, job.run).await;
        results.push((job.done, outcome));
    }
    match tx.commit().await {
        Ok(()) => {
            for (done, outcome) in results {
                let _ = done.send(outcome);
            }
        }
        Err(e) => {
            let msg = e.to_string();
            for (done, _) in results {
                let _ = done.send(Err(anyhow::anyhow!("committing: {msg}")));
            }
        }
    }
}

/// One job inside its savepoint.
async fn run_one(conn: &mut AnyConnection, run: Run) -> anyhow::Result<Output> {
    sqlx::query("SAVEPOINT job").execute(&mut *conn).await?;
    match run(conn).await {
        Ok(out) => {
            sqlx::query("RELEASE SAVEPOINT job")
                .execute(&mut *conn)
                .await?;
            Ok(out)
        }
        Err(e) => {
            sqlx::query("ROLLBACK TO SAVEPOINT job")
                .execute(&mut *conn)
                .await?;
            sqlx::query("RELEASE SAVEPOINT job")
                .execute(&mut *conn)
                .await?;
            Err(e)
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    async fn db() -> crate::db::scratch::Scratch {
        let s = crate::db::scratch::Scratch::new().await;
        sqlx::query("CREATE TABLE t (k TEXT PRIMARY KEY)")
            .execute(&s.db.pool)
            .await
            .unwrap();
        s
    }

    fn insert(
        k: &'static str,
        fail: bool,
    ) -> impl for<'c> FnOnce(&'c mut AnyConnection) -> BoxFuture<'c, anyhow::Result<&'static str>>
           + Send
           + 'static {
        move |conn| {
            Box::pin(async move {
                sqlx::query("INSERT INTO t (k) VALUES ($1)")
                    .bind(k)
                    .execute(&mut *conn)
                    .await?;
                if fail {
                    anyhow::bail!("job {k} fails after writing");
                }
                Ok(k)
            })
        }
    }

    #[tokio::test]
    async fn a_failing_job_alone_is_undone_and_the_next_one_commits() {
        let scratch = db().await;
        let db = &scratch.db;
        let w = GroupWriter::start(db.clone());
        let failed = w.write(insert("alone", true)).await;
        assert!(failed.unwrap_err().to_string().contains("job alone fails"));
        assert_eq!(w.write(insert("next", false)).await.unwrap(), "next");
        let keys: Vec<String> = sqlx::query_scalar("SELECT k FROM t ORDER BY k")
            .fetch_all(&db.pool)
            .await
            .unwrap();
        assert_eq!(keys, ["next"]);
    }

    #[tokio::test]
    async fn concurrent_jobs_commit_together_and_a_failing_one_alone_is_undone() {
        let scratch = db().await;
        let db = &scratch.db;
        let w = GroupWriter::start(db.clone());
        let (a, b, c) = tokio::join!(
            w.write(insert("a", false)),
            w.write(insert("b", true)),
            w.write(insert("c", false)),
        );
        assert_eq!(a.unwrap(), "a");
        assert!(b.unwrap_err().to_string().contains("job b fails"));
        assert_eq!(c.unwrap(), "c");
        let keys: Vec<String> = sqlx::query_scalar("SELECT k FROM t ORDER BY k")
            .fetch_all(&db.pool)
            .await
            .unwrap();
        assert_eq!(keys, ["a", "c"]);
    }
}
