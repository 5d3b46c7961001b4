//! Relational projections of a work order, written in the same transaction as its merge.
//! They can always be rebuilt from the documents.

use sqlx::AnyConnection;
use sync_core::workorder::View;

pub async fn project(
    conn: &mut AnyConnection,
    v: &View,
    created_at: i64,
    now: i64,
) -> sqlx::Result<()> {
    let open_conflicts = v.open_conflicts().count() as i64;
    sqlx::query(
        "INSERT INTO work_orders (id, region, status, assignee, priority, service_type, customer_name, open_conflicts, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
         ON CONFLICT (id) DO UPDATE SET region = excluded.region, status = excluded.status,
           assignee = excluded.assignee, priority = excluded.priority, service_type = excluded.service_type,
           customer_name = excluded.customer_name, open_conflicts = excluded.open_conflicts,
           updated_at = excluded.updated_at",
    )
    .bind(&v.id)
    .bind(&v.intake.region)
    .bind(v.status.as_str())
    .bind(v.assignee.clone())
    .bind(v.intake.priority.as_str())
    .bind(v.intake.service_type.as_str())
    .bind(&v.intake.customer.name)
    .bind(open_conflicts)
    .bind(created_at)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    for table in ["part_lines", "photos", "doc_blobs", "scores"] {
        sqlx::query(&format!("DELETE FROM {table} WHERE wo_id = $1"))
            .bind(&v.id)
            .execute(&mut *conn)
            .await?;
    }
    for p in &v.parts {
        sqlx::query(
            "INSERT INTO part_lines (wo_id, line, sku, qty, price_cents, removed, technician) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(&v.id)
        .bind(&p.line)
        .bind(&p.sku)
        .bind(i64::from(p.qty))
        .bind(p.price_cents)
        .bind(i64::from(p.removed.is_some()))
        .bind(&p.added.user)
        .execute(&mut *conn)
        .await?;
    }
    for p in &v.photos {
        sqlx::query(
            "INSERT INTO photos (wo_id, photo, blob, kind, removed) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(&v.id)
        .bind(&p.photo)
        .bind(&p.blob)
        .bind(p.kind.as_str())
        .bind(i64::from(p.removed.is_some()))
        .execute(&mut *conn)
        .await?;
    }
    if let Some(f) = &v.follow_up {
        sqlx::query("INSERT INTO scores (wo_id, score, comment, called_by, called_at) VALUES ($1, $2, $3, $4, $5)")
            .bind(&v.id)
            .bind(i64::from(f.score))
            .bind(&f.comment)
            .bind(&f.by.user)
            .bind(f.by.at)
            .execute(&mut *conn)
            .await?;
    }
    let mut blobs: Vec<&str> = v.intake.attachments.iter().map(String::as_str).collect();
    blobs.extend(v.signature.as_ref().map(|s| s.blob.as_str()));
    blobs.sort_unstable();
    blobs.dedup();
    for b in blobs {
        sqlx::query("INSERT INTO doc_blobs (wo_id, blob) VALUES ($1, $2) ON CONFLICT DO NOTHING")
            .bind(&v.id)
            .bind(b)
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}
