//! Plays the demo day against the database through the server's own write paths, each step
//! at its own time: intake as `POST /v1/workorders` stores and projects a document; manual
//! assignment as `POST /v1/workorders/{id}/assign` (with its dispatch log entry); automatic
//! dispatch through `dispatch::service`; office steps as the API records them (on this
//! instance's device); and a device's sync as the sync pipeline persists it: its changes
//! appended with the device as uploader, field times clamped to its previous contact and the
//! receipt, projections rewritten, and its contact (and clock offset) noted by
//! `clock::store::touch_device`.

use std::collections::{BTreeMap, HashSet};

use sqlx::AnyConnection;
use sync_core::workorder::{actor_id_for, Actor, Event, Role, WorkOrder};

use super::images;
use super::people::{self, DeviceDef};
use super::script::{self, FieldOp, OfficeOp, Step, What};
use crate::clock::store as clock_store;
use crate::db::{self, docs::Upload, projection::Ctx};
use crate::dispatch::{explain, service};
use crate::error::ApiError;
use crate::projection::{self, Arrival};
use crate::state::AppState;
use crate::workorders::locked::Locked;

/// An API error with its cause (an internal one displays only "internal error").
fn api(e: ApiError) -> anyhow::Error {
    match e {
        ApiError::Internal(e) => e,
        other => anyhow::anyhow!("{other}"),
    }
}

/// A technician's device: its own copy of each job it has received.
struct Device {
    def: DeviceDef,
    docs: BTreeMap<String, WorkOrder>,
}

/// The day being played at service time `now` (the script's offsets count from it).
pub struct Player<'a> {
    state: &'a AppState,
    now: i64,
    devices: BTreeMap<&'static str, Device>,
}

impl<'a> Player<'a> {
    pub fn new(state: &'a AppState, now: i64) -> Self {
        let devices = people::DEVICES
            .iter()
            .map(|d| {
                let device = Device {
                    def: *d,
                    docs: BTreeMap::new(),
                };
                (d.id, device)
            })
            .collect();
        Player {
            state,
            now,
            devices,
        }
    }

    fn ctx(&self, at: i64) -> Ctx<'a> {
        Ctx {
            policy: &self.state.policy,
            now: at,
        }
    }

    fn office_actor(&self, user: &str) -> anyhow::Result<Actor> {
        let role =
            people::role_of(user).ok_or_else(|| anyhow::anyhow!("{user} is not a demo account"))?;
        Ok(Actor::new(user, role, self.state.instance_id.clone()))
    }

    async fn load(&self, conn: &mut AnyConnection, wo: &str) -> anyhow::Result<Locked> {
        Locked::load(conn, wo, &self.state.instance_id)
            .await
            .map_err(api)?
            .ok_or_else(|| anyhow::anyhow!("no work order {wo}"))
    }

    /// Plays every step in order, in the caller's transaction.
    pub async fn play(&mut self, conn: &mut AnyConnection, steps: &[Step]) -> anyhow::Result<()> {
        for step in steps {
            let at = self.now + step.at;
            self.step(conn, at, &step.what)
                .await
                .map_err(|e| anyhow::anyhow!("demo step {:?}: {e:#}", step.what))?;
        }
        Ok(())
    }

    async fn step(&mut self, conn: &mut AnyConnection, at: i64, what: &What) -> anyhow::Result<()> {
        match what {
            What::Intake { wo, by } => self.intake(conn, at, wo, by).await,
            What::Assign { wo, by, technician } => self.assign(conn, at, wo, by, technician).await,
            What::Dispatch { wo } => self.dispatch(conn, at, wo).await,
            What::Office { wo, by, op } => self.office(conn, at, wo, by, op).await,
            What::Field { device, wo, op } => self.field(conn, at, device, wo, op).await,
            What::Sync { device } => self.sync(conn, at, device).await,
        }
    }

    /// A request recorded by an office user: stored and projected, no dispatch yet.
    async fn intake(
        &self,
        conn: &mut AnyConnection,
        at: i64,
        wo: &str,
        by: &str,
    ) -> anyhow::Result<()> {
        let intake =
            super::orders::intake(wo).ok_or_else(|| anyhow::anyhow!("no intake for {wo}"))?;
        let doc = WorkOrder::create(wo, &self.office_actor(by)?, intake, at)?;
        let history = doc.history()?;
        db::docs::insert(conn, wo, doc.doc(), at).await?;
        db::projection::project(conn, &doc.view()?, &history, at, &self.ctx(at)).await?;
        Ok(())
    }

    /// A dispatcher's assignment, with its explanation in the dispatch log.
    async fn assign(
        &self,
        conn: &mut AnyConnection,
        at: i64,
        wo: &str,
        by: &str,
        technician: &str,
    ) -> anyhow::Result<()> {
        service::lock(conn).await?;
        let mut doc = self.load(conn, wo).await?;
        let view = doc.view().map_err(api)?;
        let techs = service::technicians(conn, None).await?;
        let history = doc.wo.history()?;
        let created_at = history.first().map_or(at, |e| e.at);
        let job = service::job_of(&view, projection::refused_by(&history), created_at);
        let mut explanation = explain(
            &job,
            techs.iter().filter(|t| t.regions.contains(&job.region)),
        );
        let candidate = explanation
            .candidates
            .iter()
            .find(|c| c.technician == technician);
        if let Some(why) = candidate.and_then(|c| c.excluded.as_ref()) {
            anyhow::bail!("{technician} is not eligible: {why:?}");
        }
        if candidate.is_none() {
            anyhow::bail!("{technician} does not work in {}", job.region);
        }
        doc.wo
            .assign(&self.office_actor(by)?, technician, None, at)?;
        doc.save(conn, by, &self.state.instance_id, &self.ctx(at))
            .await
            .map_err(api)?;
        explanation.chosen = Some(technician.to_owned());
        let decision = service::Decision {
            work_order: wo.to_owned(),
            technician: Some(technician.to_owned()),
            escalated: false,
            cause: format!("manual by {by}"),
            explanation,
        };
        service::log(conn, &decision, at).await?;
        Ok(())
    }

    /// Automatic dispatch of a job nobody can take: it waits (an urgent one escalates).
    async fn dispatch(&self, conn: &mut AnyConnection, at: i64, wo: &str) -> anyhow::Result<()> {
        service::lock(conn).await?;
        let doc = self.load(conn, wo).await?;
        let instance = &self.state.instance_id;
        let decision = service::dispatch_loaded(conn, doc, "intake", instance, &self.ctx(at))
            .await
            .map_err(api)?;
        if let Some(t) = decision.technician {
            anyhow::bail!("the script expects nobody eligible, but dispatch chose {t}");
        }
        Ok(())
    }

    async fn office(
        &self,
        conn: &mut AnyConnection,
        at: i64,
        wo: &str,
        by: &str,
        op: &OfficeOp,
    ) -> anyhow::Result<()> {
        if matches!(op, OfficeOp::Cancel { .. }) {
            // As the API does: a cancellation frees a technician's slot.
            service::lock(conn).await?;
        }
        let mut doc = self.load(conn, wo).await?;
        script::apply_office(&mut doc.wo, &self.office_actor(by)?, op, self.now, at)?;
        doc.save(conn, by, &self.state.instance_id, &self.ctx(at))
            .await
            .map_err(api)?;
        Ok(())
    }

    /// A step on the device's own copy, at the device's clock; nothing reaches the server
    /// until the device syncs. A photo or signature image is uploaded first, as devices do.
    async fn field(
        &mut self,
        conn: &mut AnyConnection,
        at: i64,
        device: &str,
        wo: &str,
        op: &FieldOp,
    ) -> anyhow::Result<()> {
        let image = images::for_step(wo, op)?;
        let dev = self
            .devices
            .get_mut(device)
            .ok_or_else(|| anyhow::anyhow!("no device {device}"))?;
        let actor = Actor::new(dev.def.user, Role::Technician, dev.def.id);
        let doc = dev
            .docs
            .get_mut(wo)
            .ok_or_else(|| anyhow::anyhow!("{device} has not received {wo}"))?;
        let blob = image.as_ref().map(|i| i.hash.as_str());
        script::apply_field(doc, &actor, op, blob, self.now, at + dev.def.skew_ms)?;
        if let Some(image) = &image {
            images::store(self.state, conn, image, dev.def.user, at).await?;
        }
        Ok(())
    }

    /// The device syncs at `at`: what it recorded is merged and stored as its upload, and it
    /// receives every job assigned to its technician.
    async fn sync(
        &mut self,
        conn: &mut AnyConnection,
        at: i64,
        device: &str,
    ) -> anyhow::Result<()> {
        let ctx = self.ctx(at);
        let dev = self
            .devices
            .get_mut(device)
            .ok_or_else(|| anyhow::anyhow!("no device {device}"))?;
        let (user, device) = (dev.def.user, dev.def.id);
        let previous_contact = clock_store::previous_contact(conn, device).await?;
        let by = Upload { user, device, at };
        let mut worst: Option<i64> = None;
        for (id, local) in dev.docs.iter_mut() {
            let Some(loaded) = db::docs::lock_and_load(conn, id, &actor_id_for(device)).await?
            else {
                continue;
            };
            let mut server = WorkOrder::from_automerge(loaded.doc);
            let heads_before = server.heads();
            let known: HashSet<String> = server.events()?.into_iter().map(|e| e.id).collect();
            server.merge(local)?;
            if server.heads() != heads_before {
                let history = server.history()?;
                let arrived: Vec<Event> = history
                    .iter()
                    .filter(|e| !known.contains(&e.id))
                    .cloned()
                    .collect();
                let ids = [id.clone()];
                let times = db::projection::event_times(conn, &ids).await?;
                let clocks = clock_store::stored_clocks(conn, &ids).await?;
                let arrival = Arrival {
                    device,
                    events: &arrived,
                    previous_contact,
                };
                let p = projection::compute(
                    server.view()?,
                    &history,
                    times.get(id).unwrap_or(&Default::default()),
                    (!arrived.is_empty()).then_some(&arrival),
                    ctx.policy,
                    at,
                );
                if !arrived.is_empty() && worst.is_none_or(|w| p.offset.abs() > w.abs()) {
                    worst = Some(p.offset);
                }
                let log = loaded.log_count;
                db::docs::append(conn, id, server.doc(), log, &heads_before, &by).await?;
                let stored = clocks.get(id).cloned().unwrap_or_default();
                db::projection::write(conn, &p, at, &stored, &ctx).await?;
            }
            local.merge(&mut server)?;
        }
        // The technician's jobs it does not hold yet (a technician sees its assigned jobs).
        let mine: Vec<String> =
            sqlx::query_scalar("SELECT id FROM work_orders WHERE assignee = $1 ORDER BY id")
                .bind(user)
                .fetch_all(&mut *conn)
                .await?;
        for id in mine {
            if dev.docs.contains_key(&id) {
                continue;
            }
            let doc = db::docs::load(conn, &id)
                .await?
                .ok_or_else(|| anyhow::anyhow!("no work order {id}"))?;
            let copy = WorkOrder::from_automerge(doc).fork_for(device)?;
            dev.docs.insert(id, copy);
        }
        let tolerance = i64::try_from(ctx.policy.clock.clock_tolerance.as_millis())?;
        let contact = clock_store::Arrival {
            device,
            user,
            previous_contact,
            now: at,
        };
        clock_store::touch_device(conn, &contact, worst, tolerance).await?;
        Ok(())
    }
}
