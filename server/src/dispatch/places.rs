//! Where jobs and technicians are, in the database: job sites (copied from the intake at
//! creation), home bases (set by an admin) and last known positions (from on-site events that
//! carried one, kept per technician, latest by field time). `travel` turns them into the
//! ranking's [`Travel`].

use std::collections::HashMap;

use sqlx::{AnyConnection, Row};
use sync_core::workorder::{Event, EventKind, GeoPoint};

use super::travel::{best_known, Travel};
use crate::db::projection::placeholders;
use crate::db::MAX_BINDS;
use crate::projection::EventTime;

/// A position a technician's device reported with an on-site event.
#[derive(Debug, Clone, PartialEq)]
pub struct Reported {
    pub technician: String,
    pub point: GeoPoint,
    /// The event's field time (its device time clamped to the upload's bounds).
    pub at: i64,
    pub wo_id: String,
    pub event_id: String,
}

/// The positions among events that just arrived (`new_times`: their field times).
pub fn reported(wo_id: &str, arrived: &[Event], new_times: &[EventTime]) -> Vec<Reported> {
    arrived
        .iter()
        .filter(|e| matches!(e.kind, EventKind::OnSite))
        .filter_map(|e| {
            let point = e.position?;
            // The upload check refused anything out of range; a stored event is re-checked
            // anyway, it costs nothing.
            point.check().ok()?;
            let at = new_times.iter().find(|t| t.event_id == e.id)?.field_at;
            Some(Reported {
                technician: e.user.clone(),
                point,
                at,
                wo_id: wo_id.to_owned(),
                event_id: e.id.clone(),
            })
        })
        .collect()
}

/// Keeps each technician's latest reported position (by field time; a later report replaces
/// an earlier one, never the other way round, whatever order the syncs come in).
pub async fn keep_positions<'a>(
    conn: &mut AnyConnection,
    reports: impl IntoIterator<Item = &'a Reported>,
) -> sqlx::Result<()> {
    for r in reports {
        sqlx::query(
            "INSERT INTO technician_positions (technician, lat, lon, reported_at, wo_id, event_id)
             VALUES ($1, $2, $3, $4, $5, $6)
             ON CONFLICT (technician) DO UPDATE SET lat = excluded.lat, lon = excluded.lon,
               reported_at = excluded.reported_at, wo_id = excluded.wo_id, event_id = excluded.event_id
             WHERE excluded.reported_at > technician_positions.reported_at",
        )
        .bind(&r.technician)
        .bind(r.point.lat)
        .bind(r.point.lon)
        .bind(r.at)
        .bind(&r.wo_id)
        .bind(&r.event_id)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

/// Records a new work order's site (none: nothing to record).
pub async fn put_site(
    conn: &mut AnyConnection,
    wo_id: &str,
    site: Option<GeoPoint>,
) -> sqlx::Result<()> {
    if let Some(p) = site {
        sqlx::query(
            "INSERT INTO work_order_sites (wo_id, lat, lon) VALUES ($1, $2, $3)
             ON CONFLICT (wo_id) DO NOTHING",
        )
        .bind(wo_id)
        .bind(p.lat)
        .bind(p.lon)
        .execute(conn)
        .await?;
    }
    Ok(())
}

fn point(r: &sqlx::any::AnyRow) -> sqlx::Result<GeoPoint> {
    Ok(GeoPoint {
        lat: r.try_get("lat")?,
        lon: r.try_get("lon")?,
    })
}

/// The sites of `ids` that have one.
pub async fn sites(
    conn: &mut AnyConnection,
    ids: &[String],
) -> sqlx::Result<HashMap<String, GeoPoint>> {
    let mut out = HashMap::new();
    for part in ids.chunks(MAX_BINDS) {
        let sql = format!(
            "SELECT wo_id, lat, lon FROM work_order_sites WHERE wo_id IN ({})",
            placeholders(1, part.len())
        );
        let mut q = sqlx::query(&sql);
        for id in part {
            q = q.bind(id);
        }
        for r in q.fetch_all(&mut *conn).await? {
            out.insert(r.try_get("wo_id")?, point(&r)?);
        }
    }
    Ok(out)
}

/// Every home base, by technician.
pub async fn homes(conn: &mut AnyConnection) -> sqlx::Result<HashMap<String, GeoPoint>> {
    let mut out = HashMap::new();
    for r in sqlx::query("SELECT technician, lat, lon FROM technician_homes")
        .fetch_all(&mut *conn)
        .await?
    {
        out.insert(r.try_get("technician")?, point(&r)?);
    }
    Ok(out)
}

/// One technician's home base.
pub async fn home(conn: &mut AnyConnection, technician: &str) -> sqlx::Result<Option<GeoPoint>> {
    let row = sqlx::query("SELECT lat, lon FROM technician_homes WHERE technician = $1")
        .bind(technician)
        .fetch_optional(conn)
        .await?;
    row.as_ref().map(point).transpose()
}

/// Sets (`Some`) or clears (`None`) a technician's home base.
pub async fn set_home(
    conn: &mut AnyConnection,
    technician: &str,
    home: Option<GeoPoint>,
    now: i64,
) -> sqlx::Result<()> {
    match home {
        Some(p) => {
            sqlx::query(
                "INSERT INTO technician_homes (technician, lat, lon, set_at) VALUES ($1, $2, $3, $4)
                 ON CONFLICT (technician) DO UPDATE SET lat = excluded.lat, lon = excluded.lon,
                   set_at = excluded.set_at",
            )
            .bind(technician)
            .bind(p.lat)
            .bind(p.lon)
            .bind(now)
            .execute(conn)
            .await?;
        }
        None => {
            sqlx::query("DELETE FROM technician_homes WHERE technician = $1")
                .bind(technician)
                .execute(conn)
                .await?;
        }
    }
    Ok(())
}

/// Every last known position, by technician, with its field time.
pub async fn positions(conn: &mut AnyConnection) -> sqlx::Result<HashMap<String, (GeoPoint, i64)>> {
    let mut out = HashMap::new();
    for r in sqlx::query("SELECT technician, lat, lon, reported_at FROM technician_positions")
        .fetch_all(&mut *conn)
        .await?
    {
        out.insert(
            r.try_get("technician")?,
            (point(&r)?, r.try_get("reported_at")?),
        );
    }
    Ok(out)
}

/// Travel for deciding `job_ids` at `now`: their sites and every technician's best-known
/// position. Reads nothing more when none of the jobs has a site.
pub async fn travel(
    conn: &mut AnyConnection,
    job_ids: &[String],
    now: i64,
) -> sqlx::Result<Travel> {
    let sites = sites(conn, job_ids).await?;
    travel_with_sites(conn, sites, now).await
}

/// [`travel`] for sites already known (a work order just loaded).
pub async fn travel_with_sites(
    conn: &mut AnyConnection,
    sites: HashMap<String, GeoPoint>,
    now: i64,
) -> sqlx::Result<Travel> {
    if sites.is_empty() {
        return Ok(Travel::default());
    }
    let mut homes = homes(conn).await?;
    let last = positions(conn).await?;
    let mut positions = HashMap::with_capacity(homes.len().max(last.len()));
    for (t, l) in &last {
        if let Some(w) = best_known(homes.remove(t), Some(*l), now) {
            positions.insert(t.clone(), w);
        }
    }
    for (t, h) in homes {
        if let Some(w) = best_known(Some(h), None, now) {
            positions.insert(t, w);
        }
    }
    Ok(Travel { sites, positions })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use sync_core::workorder::Role;

    fn event(id: &str, kind: EventKind, position: Option<GeoPoint>) -> Event {
        Event {
            id: id.into(),
            parents: vec![],
            at: 5,
            user: "tech-a".into(),
            role: Role::Technician,
            device: "phone-a".into(),
            kind,
            position,
        }
    }

    fn time(id: &str, field_at: i64) -> EventTime {
        EventTime {
            event_id: id.into(),
            device: "phone-a".into(),
            device_at: 5,
            received_at: 9,
            field_at,
        }
    }

    #[test]
    fn only_arrived_on_site_events_with_a_position_are_reported_at_their_field_time() {
        let here = GeoPoint::new(52.5, 13.4).unwrap();
        let arrived = [
            event("phone-a#3", EventKind::EnRoute, None),
            event("phone-a#4", EventKind::OnSite, Some(here)),
            event("phone-a#5", EventKind::OnSite, None),
        ];
        let times = [time("phone-a#4", 7), time("phone-a#5", 8)];
        let got = reported("WO-1", &arrived, &times);
        assert_eq!(
            got,
            [Reported {
                technician: "tech-a".into(),
                point: here,
                at: 7,
                wo_id: "WO-1".into(),
                event_id: "phone-a#4".into(),
            }]
        );
        // An event that already had a field time (a replay) is not among the new times.
        assert!(reported("WO-1", &arrived, &[]).is_empty());
    }
}
