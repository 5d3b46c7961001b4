//! Shared test kit: the cast of a typical job and helpers to bring a work order to a stage.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use sync_core::ids::BlobHash;
use sync_core::workorder::*;

pub const T0: i64 = 1_790_000_000_000;
pub const MIN: i64 = 60_000;

pub struct Cast {
    pub agent: Actor,
    pub dispatcher: Actor,
    pub dispatcher2: Actor,
    pub a_phone: Actor,
    pub a_tablet: Actor,
    pub b: Actor,
    pub system: Actor,
}

pub fn cast() -> Cast {
    Cast {
        agent: Actor::new("agent-1", Role::Agent, "office-1"),
        dispatcher: Actor::new("disp-1", Role::Dispatcher, "office-2"),
        dispatcher2: Actor::new("disp-2", Role::Dispatcher, "office-3"),
        a_phone: Actor::new("tech-a", Role::Technician, "phone-a"),
        a_tablet: Actor::new("tech-a", Role::Technician, "tablet-a"),
        b: Actor::new("tech-b", Role::Technician, "phone-b"),
        system: Actor::new("clock", Role::System, "server-1"),
    }
}

pub fn blob(n: u8) -> String {
    BlobHash::of(&[n]).to_string()
}

/// How far a job has come before the test starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Stage {
    Created,
    AssignedToA,
    AcceptedByA,
    WorkingWithPart,
}

/// A work order for technician A brought to `stage` by the office and A's phone.
pub fn job(stage: Stage) -> WorkOrder {
    let c = cast();
    let mut wo = WorkOrder::create("WO-1", &c.agent, Intake::example(), T0).unwrap();
    if stage >= Stage::AssignedToA {
        wo.assign(&c.dispatcher, "tech-a", None, T0 + MIN).unwrap();
    }
    if stage >= Stage::AcceptedByA {
        wo.accept(&c.a_phone, T0 + 2 * MIN).unwrap();
    }
    if stage >= Stage::WorkingWithPart {
        wo.on_site(&c.a_phone, T0 + 3 * MIN).unwrap();
        wo.diagnose(&c.a_phone, "blocked pump", &["replace pump"], T0 + 4 * MIN)
            .unwrap();
        wo.start_work(&c.a_phone, T0 + 5 * MIN).unwrap();
        wo.add_part(&c.a_phone, PartInput::new("PUMP-7", 1, 4_900), T0 + 6 * MIN)
            .unwrap();
    }
    wo
}

/// Merges two replicas both ways and checks they agree; returns the common view.
pub fn converge(x: &mut WorkOrder, y: &mut WorkOrder) -> View {
    x.merge(y).unwrap();
    y.merge(x).unwrap();
    assert_eq!(x.heads(), y.heads(), "replicas hold the same changes");
    let (vx, vy) = (x.view().unwrap(), y.view().unwrap());
    assert_eq!(vx, vy, "replicas derive the same view");
    vx
}
