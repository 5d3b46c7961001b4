//! Who may see which work orders: a technician its assigned jobs, a dispatcher the work
//! orders of its regions, agents, managers, auditors and admins all of them.

use std::collections::BTreeSet;

use sqlx::AnyConnection;
use sync_core::workorder::Role;

use crate::auth::AuthUser;
use crate::db;
use crate::error::ApiError;

pub async fn regions_of(conn: &mut AnyConnection, user: &str) -> Result<Vec<String>, ApiError> {
    Ok(db::users::get(conn, user)
        .await?
        .map(|u| u.regions())
        .unwrap_or_default())
}

/// Ids of every work order `user` may see.
pub async fn visible(
    conn: &mut AnyConnection,
    user: &AuthUser,
) -> Result<BTreeSet<String>, ApiError> {
    let ids: Vec<String> = match user.role {
        Role::Technician => {
            sqlx::query_scalar("SELECT id FROM work_orders WHERE assignee = $1")
                .bind(&user.id)
                .fetch_all(&mut *conn)
                .await?
        }
        Role::Dispatcher => {
            let regions = regions_of(conn, &user.id).await?;
            if regions.is_empty() {
                Vec::new()
            } else {
                let ph: Vec<String> = (1..=regions.len()).map(|i| format!("${i}")).collect();
                let sql = format!(
                    "SELECT id FROM work_orders WHERE region IN ({})",
                    ph.join(",")
                );
                let mut q = sqlx::query_scalar(&sql);
                for r in &regions {
                    q = q.bind(r);
                }
                q.fetch_all(&mut *conn).await?
            }
        }
        Role::Agent | Role::Manager | Role::Auditor | Role::Admin | Role::System => {
            sqlx::query_scalar("SELECT id FROM work_orders")
                .fetch_all(&mut *conn)
                .await?
        }
    };
    Ok(ids.into_iter().collect())
}

/// Whether `user` may see work order `id` (false also when it does not exist).
pub async fn can_see(
    conn: &mut AnyConnection,
    user: &AuthUser,
    id: &str,
) -> Result<bool, ApiError> {
    let row: Option<(String, Option<String>)> =
        sqlx::query_as("SELECT region, assignee FROM work_orders WHERE id = $1")
            .bind(id)
            .fetch_optional(&mut *conn)
            .await?;
    let Some((region, assignee)) = row else {
        return Ok(false);
    };
    Ok(match user.role {
        Role::Technician => assignee.as_deref() == Some(user.id.as_str()),
        Role::Dispatcher => regions_of(conn, &user.id).await?.contains(&region),
        _ => true,
    })
}

/// The regions an office user's board, breach and KPI views cover, narrowed to `asked`:
/// `None` means every region (agents, managers, auditors, admins); a dispatcher sees its own
/// regions only. Technicians have no office views.
pub async fn office_regions(
    conn: &mut AnyConnection,
    user: &AuthUser,
    asked: Option<&str>,
) -> Result<Option<Vec<String>>, ApiError> {
    match user.role {
        Role::Technician => Err(ApiError::Forbidden(
            "a technician has no office views; use sync".into(),
        )),
        Role::Dispatcher => {
            let mine = regions_of(conn, &user.id).await?;
            match asked {
                Some(r) if !mine.iter().any(|m| m == r) => Err(ApiError::Forbidden(format!(
                    "region {r} is not one of yours"
                ))),
                Some(r) => Ok(Some(vec![r.to_owned()])),
                None => Ok(Some(mine)),
            }
        }
        _ => Ok(asked.map(|r| vec![r.to_owned()])),
    }
}

/// Whether `region` is within `regions` (`None`: every region).
pub fn covers(regions: &Option<Vec<String>>, region: &str) -> bool {
    regions
        .as_ref()
        .is_none_or(|rs| rs.iter().any(|r| r == region))
}
