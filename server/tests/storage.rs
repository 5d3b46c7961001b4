//! One storage test suite, run against SQLite and (when `FIELDSYNC_TEST_POSTGRES_URL` is set;
//! otherwise that run is reported as ignored) PostgreSQL: migrations, the document log and its
//! compaction, sync states, users, refresh families, and concurrent writers of one document.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use automerge::ActorId;
use server::db::projection::Ctx;
use server::db::{self, Db};
use server::policy::Policy;
use sync_core::workorder::{actor_id_for, Actor, Intake, Role, WorkOrder};
use tests::Backend;

/// A fresh database on `backend`; the returned guard drops a PostgreSQL database at the end.
async fn fresh(
    backend: &Backend,
) -> (
    Db,
    String,
    Option<(String, String)>,
    Option<std::path::PathBuf>,
) {
    match backend {
        Backend::Sqlite => {
            let dir = std::env::temp_dir().join(format!(
                "fieldsync-storage-{}",
                uuid::Uuid::new_v4().simple()
            ));
            std::fs::create_dir_all(&dir).unwrap();
            let url = format!("sqlite://{}", dir.join("t.db").display());
            (Db::connect(&url).await.unwrap(), url, None, Some(dir))
        }
        Backend::Postgres(base) => {
            let name = format!("fieldsync_st_{}", uuid::Uuid::new_v4().simple());
            let admin = sqlx::PgPool::connect(base).await.unwrap();
            sqlx::query(&format!("CREATE DATABASE {name}"))
                .execute(&admin)
                .await
                .unwrap();
            admin.close().await;
            let i = base.rfind('/').unwrap();
            let url = format!("{}/{name}", &base[..i]);
            (
                Db::connect(&url).await.unwrap(),
                url,
                Some((base.clone(), name)),
                None,
            )
        }
    }
}

async fn cleanup(db: Db, pg: Option<(String, String)>, dir: Option<std::path::PathBuf>) {
    db.pool.close().await;
    if let Some((base, name)) = pg {
        let admin = sqlx::PgPool::connect(&base).await.unwrap();
        sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            .execute(&admin)
            .await
            .unwrap();
    }
    if let Some(dir) = dir {
        let _ = std::fs::remove_dir_all(dir);
    }
}

fn office() -> Actor {
    Actor::new("agent-1", Role::Agent, "server-1")
}

async fn store_new(db: &Db, id: &str) -> WorkOrder {
    let wo = WorkOrder::create(id, &office(), Intake::example(), 1).unwrap();
    let mut tx = db.pool.begin().await.unwrap();
    db::docs::insert(&mut tx, id, wo.doc(), 1).await.unwrap();
    let policy = Policy::default();
    let ctx = Ctx {
        policy: &policy,
        now: 1,
    };
    db::projection::project(
        &mut tx,
        &wo.view().unwrap(),
        &wo.history().unwrap(),
        1,
        &ctx,
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    wo
}

/// One writer's transaction: lock, load, add a note line, append, commit.
async fn add_note(db: &Db, id: &str, actor: &Actor, line: &str) {
    let mut tx = db.pool.begin().await.unwrap();
    let loaded = db::docs::lock_and_load(&mut tx, id, &actor_id_for(&actor.device))
        .await
        .unwrap()
        .unwrap();
    let heads_before = loaded.doc.get_heads();
    let mut wo = WorkOrder::from_automerge(loaded.doc);
    let notes = wo.view().unwrap().notes;
    wo.edit_notes(actor, &format!("{notes} {line}"), 2).unwrap();
    let by = db::docs::Upload {
        user: &actor.user,
        device: &actor.device,
        at: 2,
    };
    db::docs::append(&mut tx, id, wo.doc(), loaded.log_count, &heads_before, &by)
        .await
        .unwrap();
    tx.commit().await.unwrap();
}

async fn read(db: &Db, id: &str) -> WorkOrder {
    let mut conn = db.pool.acquire().await.unwrap();
    WorkOrder::from_automerge(db::docs::load(&mut conn, id).await.unwrap().unwrap())
}

tests::on_each_backend! {
    async fn the_storage_suite_passes_on_every_backend(backend) {
        let (db, url, pg, dir) = fresh(&backend).await;
        migrations_are_idempotent(&db, &url, &backend).await;
        the_log_survives_replays_and_compaction(&db).await;
        concurrent_writers_of_one_document_lose_nothing(&db).await;
        sync_states_users_and_token_families(&db).await;
        projections_follow_the_document(&db).await;
        cleanup(db, pg, dir).await;
    }
}

async fn migrations_are_idempotent(db: &Db, url: &str, backend: &Backend) {
    assert!(db.ping().await, "{}", backend.name());
    // Connecting again re-runs the migrator: nothing to do, no error.
    let again = Db::connect(url).await.unwrap();
    again.pool.close().await;
    let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM _sqlx_migrations")
        .fetch_one(&db.pool)
        .await
        .unwrap();
    // Both databases have the same migration history, each applied once.
    let dir = |d: &str| {
        std::fs::read_dir(format!("{}/../migrations/{d}", env!("CARGO_MANIFEST_DIR")))
            .unwrap()
            .count() as i64
    };
    assert_eq!(dir("sqlite"), dir("postgres"));
    assert_eq!(n, dir("sqlite"));
}

async fn the_log_survives_replays_and_compaction(db: &Db) {
    let wo = store_new(db, "WO-LOG").await;
    let actor = Actor::new("disp-1", Role::Dispatcher, "pc-1");
    for i in 0..(db::docs::COMPACT_AFTER + 5) {
        add_note(db, "WO-LOG", &actor, &format!("[{i}]")).await;
    }
    let stored = read(db, "WO-LOG").await;
    let notes = stored.view().unwrap().notes;
    for i in 0..(db::docs::COMPACT_AFTER + 5) {
        assert!(
            notes.contains(&format!("[{i}]")),
            "line {i} lost after compaction"
        );
    }
    let log: i64 = sqlx::query_scalar("SELECT log_count FROM documents WHERE id = 'WO-LOG'")
        .fetch_one(&db.pool)
        .await
        .unwrap();
    assert!(
        log < db::docs::COMPACT_AFTER,
        "the log was compacted (now {log})"
    );

    // Replaying the same changes adds nothing.
    let mut tx = db.pool.begin().await.unwrap();
    let loaded = db::docs::lock_and_load(&mut tx, "WO-LOG", &ActorId::random())
        .await
        .unwrap()
        .unwrap();
    let by = db::docs::Upload {
        user: "disp-1",
        device: "pc-1",
        at: 3,
    };
    let before = loaded.log_count;
    db::docs::append(
        &mut tx,
        "WO-LOG",
        &loaded.doc,
        loaded.log_count,
        &wo.heads(),
        &by,
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    let after: i64 = sqlx::query_scalar("SELECT log_count FROM documents WHERE id = 'WO-LOG'")
        .fetch_one(&db.pool)
        .await
        .unwrap();
    assert!(
        after == before || after == 0,
        "replayed changes were not appended twice"
    );
    assert_eq!(read(db, "WO-LOG").await.heads(), stored.heads());

    let mut conn = db.pool.acquire().await.unwrap();
    let rows = db::docs::rows_of(&mut conn, &["WO-LOG".to_owned(), "nope".to_owned()])
        .await
        .unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows["WO-LOG"].heads, db::docs::heads_text(&stored.heads()));
}

async fn concurrent_writers_of_one_document_lose_nothing(db: &Db) {
    store_new(db, "WO-RACE").await;
    let mut tasks = Vec::new();
    for w in 0..4 {
        let db = db.clone();
        tasks.push(tokio::spawn(async move {
            let actor = Actor::new("disp-1", Role::Dispatcher, format!("pc-{w}"));
            for i in 0..10 {
                add_note(&db, "WO-RACE", &actor, &format!("<{w}.{i}>")).await;
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let notes = read(db, "WO-RACE").await.view().unwrap().notes;
    for w in 0..4 {
        for i in 0..10 {
            assert!(
                notes.contains(&format!("<{w}.{i}>")),
                "<{w}.{i}> lost: {notes}"
            );
        }
    }
}

async fn sync_states_users_and_token_families(db: &Db) {
    let mut conn = db.pool.acquire().await.unwrap();
    let mut state = sync_core::protocol::PeerState::new();
    state.sync.shared_heads = read(db, "WO-LOG").await.heads();
    state.sent_heads = state.sync.shared_heads.clone();
    db::sync_state::put(&mut conn, "phone-1", "WO-LOG", &state)
        .await
        .unwrap();
    db::sync_state::put(&mut conn, "phone-1", "WO-LOG", &state)
        .await
        .unwrap();
    assert_eq!(
        db::sync_state::held(&mut conn, "phone-1").await.unwrap(),
        ["WO-LOG"]
    );
    let back = db::sync_state::get(&mut conn, "phone-1", "WO-LOG")
        .await
        .unwrap()
        .unwrap();
    // What the encoding keeps: the shared heads and the heads the last reply sent.
    assert_eq!(back.sync.shared_heads, state.sync.shared_heads);
    assert_eq!(back.sent_heads, state.sent_heads);
    db::sync_state::forget_many(&mut conn, "phone-1", &["WO-LOG".to_owned()])
        .await
        .unwrap();
    assert!(db::sync_state::get(&mut conn, "phone-1", "WO-LOG")
        .await
        .unwrap()
        .is_none());

    let user = db::users::UserRow {
        id: "tech-a".into(),
        role: "technician".into(),
        password_hash: "x".into(),
        regions: "[\"north\"]".into(),
        skills: "[]".into(),
        capacity: 3,
        active: 1,
        created_at: 1,
    };
    assert!(db::users::insert(&mut conn, &user).await.unwrap());
    assert!(
        !db::users::insert(&mut conn, &user).await.unwrap(),
        "ids are unique"
    );
    assert_eq!(
        db::users::get(&mut conn, "tech-a")
            .await
            .unwrap()
            .unwrap()
            .regions(),
        ["north"]
    );

    let fam = db::tokens::FamilyRow {
        family_id: "f1".into(),
        user_id: "tech-a".into(),
        device_id: "phone-1".into(),
        current_hash: "h1".into(),
        expires_at: 10,
        revoked: 0,
        previous_hash: None,
        rotated_at: None,
    };
    db::tokens::create(&mut conn, &fam, 1).await.unwrap();
    db::tokens::rotate(&mut conn, "f1", "h1", "h2", 20, 2)
        .await
        .unwrap();
    assert!(db::tokens::is_spent(&mut conn, "f1", "h1").await.unwrap());
    let f = db::tokens::lock(&mut conn, "f1").await.unwrap().unwrap();
    assert_eq!(
        (f.current_hash.as_str(), f.expires_at, f.revoked),
        ("h2", 20, 0)
    );
    db::tokens::revoke_user(&mut conn, "tech-a").await.unwrap();
    assert_eq!(
        db::tokens::lock(&mut conn, "f1")
            .await
            .unwrap()
            .unwrap()
            .revoked,
        1
    );
}

async fn projections_follow_the_document(db: &Db) {
    use sync_core::workorder::{PartInput, PhotoKind};
    let mut wo = store_new(db, "WO-PROJ").await;
    let disp = Actor::new("disp-1", Role::Dispatcher, "pc-1");
    let tech = Actor::new("tech-a", Role::Technician, "phone-a");
    let blob = sync_core::ids::BlobHash::of(b"photo").to_string();
    wo.assign(&disp, "tech-a", None, 2).unwrap();
    wo.accept(&tech, 3).unwrap();
    wo.diagnose(&tech, "belt", &["replace"], 4).unwrap();
    wo.start_work(&tech, 5).unwrap();
    let line = wo
        .add_part(&tech, PartInput::new("BELT-1", 2, 700), 6)
        .unwrap();
    wo.add_photo(&tech, &blob, PhotoKind::After, "new belt", 7, 7)
        .unwrap();
    wo.sign(&tech, "Ada", &blob, 8).unwrap();
    wo.complete(&tech, true, 9).unwrap();
    wo.follow_up(
        &Actor::new("agent-1", Role::Agent, "pc-2"),
        2,
        "noisy",
        "",
        10,
    )
    .unwrap();
    let mut tx = db.pool.begin().await.unwrap();
    // A later projection passes its own time as created_at; the intake's stays.
    let policy = Policy::default();
    let ctx = Ctx {
        policy: &policy,
        now: 11,
    };
    db::projection::project(
        &mut tx,
        &wo.view().unwrap(),
        &wo.history().unwrap(),
        999,
        &ctx,
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();

    let (status, assignee): (String, Option<String>) =
        sqlx::query_as("SELECT status, assignee FROM work_orders WHERE id = 'WO-PROJ'")
            .fetch_one(&db.pool)
            .await
            .unwrap();
    assert_eq!(
        (status.as_str(), assignee.as_deref()),
        ("escalated", Some("tech-a"))
    );
    let created: i64 =
        sqlx::query_scalar("SELECT created_at FROM work_orders WHERE id = 'WO-PROJ'")
            .fetch_one(&db.pool)
            .await
            .unwrap();
    assert_eq!(created, 1, "re-projecting keeps the intake time");
    let (sku, qty, technician): (String, i64, String) = sqlx::query_as(
        "SELECT sku, qty, technician FROM part_lines WHERE wo_id = 'WO-PROJ' AND line = $1",
    )
    .bind(&line)
    .fetch_one(&db.pool)
    .await
    .unwrap();
    assert_eq!(
        (sku.as_str(), qty, technician.as_str()),
        ("BELT-1", 2, "tech-a")
    );
    let photos: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM photos WHERE wo_id = 'WO-PROJ' AND blob = $1")
            .bind(&blob)
            .fetch_one(&db.pool)
            .await
            .unwrap();
    assert_eq!(photos, 1);
    let signed: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM doc_blobs WHERE wo_id = 'WO-PROJ'")
        .fetch_one(&db.pool)
        .await
        .unwrap();
    assert_eq!(signed, 1, "the signature image is referenced");
    let (score, called_by): (i64, String) =
        sqlx::query_as("SELECT score, called_by FROM scores WHERE wo_id = 'WO-PROJ'")
            .fetch_one(&db.pool)
            .await
            .unwrap();
    assert_eq!((score, called_by.as_str()), (2, "agent-1"));
}
