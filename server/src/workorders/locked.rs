//! A work order the server changes itself (dispatch, the service clock, office actions
//! through the API): loaded under its row lock, changed through the sync-core operations,
//! then appended to the change log and projected in the caller's transaction.

use automerge::ChangeHash;
use sqlx::AnyConnection;
use sync_core::workorder::{actor_id_for, Actor, Role, View, WorkOrder};

use crate::db::{self, projection::Ctx};
use crate::error::ApiError;

/// The user the server's own steps are recorded as.
pub const SYSTEM_USER: &str = "system";

/// The actor for steps the server takes on its own (role `system`, this instance's device).
pub fn system_actor(instance_id: &str) -> Actor {
    Actor::new(SYSTEM_USER, Role::System, instance_id)
}

pub struct Locked {
    pub wo: WorkOrder,
    heads_before: Vec<ChangeHash>,
    log_count: i64,
}

fn internal(e: impl std::fmt::Display) -> ApiError {
    ApiError::Internal(anyhow::anyhow!("{e}"))
}

impl Locked {
    /// Locks and loads work order `id`; `None` when there is none.
    pub async fn load(
        conn: &mut AnyConnection,
        id: &str,
        instance_id: &str,
    ) -> Result<Option<Locked>, ApiError> {
        let Some(loaded) = db::docs::lock_and_load(conn, id, &actor_id_for(instance_id))
            .await
            .map_err(ApiError::Internal)?
        else {
            return Ok(None);
        };
        let wo = WorkOrder::from_automerge(loaded.doc);
        Ok(Some(Locked {
            heads_before: wo.heads(),
            wo,
            log_count: loaded.log_count,
        }))
    }

    pub fn view(&self) -> Result<View, ApiError> {
        self.wo.view().map_err(internal)
    }

    /// Appends what changed (recorded as made by `user` on this instance) and rewrites the
    /// projections. Returns the view after the change.
    pub async fn save(
        self,
        conn: &mut AnyConnection,
        user: &str,
        instance_id: &str,
        ctx: &Ctx<'_>,
    ) -> Result<View, ApiError> {
        let view = self.view()?;
        if self.wo.heads() == self.heads_before {
            return Ok(view);
        }
        let history = self.wo.history().map_err(internal)?;
        db::docs::append(
            conn,
            &view.id,
            self.wo.doc(),
            self.log_count,
            &self.heads_before,
            &db::docs::Upload {
                user,
                device: instance_id,
                at: ctx.now,
            },
        )
        .await
        .map_err(ApiError::Internal)?;
        db::projection::project(conn, &view, &history, ctx.now, ctx).await?;
        Ok(view)
    }
}
