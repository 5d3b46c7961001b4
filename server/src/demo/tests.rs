//! The demo day played in memory (no database): every step applies, and the day ends with
//! what the board must show. The database path is tested end to end (`tests/e2e/demo.rs`).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::{BTreeMap, BTreeSet};

use sync_core::workorder::{Actor, ConflictKind, Role, Status, View, WorkOrder};

use super::day::{self, ANNA, EMIL, GUS};
use super::script::{ago, apply_field, apply_office, Step, What};
use super::{images, orders, people};

const NOW: i64 = 1_790_000_000_000;

/// The server's documents and each device's copies, after the day.
struct Played {
    server: BTreeMap<String, WorkOrder>,
    devices: BTreeMap<&'static str, BTreeMap<String, WorkOrder>>,
    /// Each device's syncs, in order (offsets from now).
    syncs: BTreeMap<&'static str, Vec<i64>>,
}

impl Played {
    fn view(&self, wo: &str) -> View {
        self.server[wo].view().unwrap()
    }
}

fn office(user: &str) -> Actor {
    Actor::new(user, people::role_of(user).unwrap(), "server-demo")
}

fn device(id: &str) -> people::DeviceDef {
    *people::DEVICES.iter().find(|d| d.id == id).unwrap()
}

fn fail<T>(step: &Step, e: impl std::fmt::Display) -> T {
    panic!("step {step:?}: {e}")
}

fn play(steps: &[Step]) -> Played {
    let mut p = Played {
        server: BTreeMap::new(),
        devices: BTreeMap::new(),
        syncs: BTreeMap::new(),
    };
    for step in steps {
        let at = NOW + step.at;
        match &step.what {
            What::Intake { wo, by } => {
                let doc = WorkOrder::create(wo, &office(by), orders::intake(wo).unwrap(), at)
                    .unwrap_or_else(|e| fail(step, e));
                p.server.insert((*wo).to_owned(), doc);
            }
            What::Assign { wo, by, technician } => {
                let doc = p.server.get_mut(*wo).unwrap();
                doc.assign(&office(by), technician, None, at)
                    .unwrap_or_else(|e| fail(step, e));
            }
            What::Dispatch { .. } => {}
            What::Office { wo, by, op } => {
                let doc = p.server.get_mut(*wo).unwrap();
                apply_office(doc, &office(by), op, NOW, at).unwrap_or_else(|e| fail(step, e));
            }
            What::Field { device: id, wo, op } => {
                let d = device(id);
                let actor = Actor::new(d.user, Role::Technician, d.id);
                let image = images::for_step(wo, op).unwrap();
                let doc = p
                    .devices
                    .get_mut(id)
                    .and_then(|docs| docs.get_mut(*wo))
                    .unwrap_or_else(|| fail(step, "the device does not hold the job"));
                let blob = image.as_ref().map(|i| i.hash.as_str());
                apply_field(doc, &actor, op, blob, NOW, at + d.skew_ms)
                    .unwrap_or_else(|e| fail(step, e));
            }
            What::Sync { device: id } => {
                let user = device(id).user;
                let docs = p.devices.entry(id).or_default();
                for (wo, local) in docs.iter_mut() {
                    let server = p.server.get_mut(wo).unwrap();
                    server.merge(local).unwrap();
                    local.merge(server).unwrap();
                }
                for (wo, doc) in &p.server {
                    if doc.view().unwrap().assignee.as_deref() == Some(user)
                        && !docs.contains_key(wo)
                    {
                        docs.insert(wo.clone(), doc.fork_for(id).unwrap());
                    }
                }
                p.syncs.entry(id).or_default().push(step.at);
            }
        }
    }
    p
}

#[test]
fn every_step_of_the_day_applies_in_time_order() {
    let steps = day::steps();
    assert!(steps.windows(2).all(|w| w[0].at <= w[1].at));
    assert!(
        steps.iter().all(|s| s.at < 0 && s.at > ago(36, 0)),
        "within the last day and a half"
    );
    let p = play(&steps);
    let ids: Vec<&str> = orders::ids().collect();
    assert!((20..=30).contains(&ids.len()));
    assert_eq!(p.server.keys().map(String::as_str).collect::<Vec<_>>(), ids);
}

#[test]
fn the_day_ends_with_every_status_on_the_board() {
    let p = play(&day::steps());
    let statuses: BTreeSet<Status> = p.server.keys().map(|wo| p.view(wo).status).collect();
    // WO-1016 is still assigned here: the clock pass after the day takes it back.
    assert_eq!(p.view("WO-1016").status, Status::Assigned);
    for s in [
        Status::PendingDispatch,
        Status::Assigned,
        Status::Accepted,
        Status::Scheduled,
        Status::EnRoute,
        Status::OnSite,
        Status::Diagnosed,
        Status::Quoted,
        Status::ConsentGiven,
        Status::InProgress,
        Status::Signed,
        Status::Completed,
        Status::Escalated,
        Status::Closed,
        Status::Cancelled,
    ] {
        assert!(statuses.contains(&s), "no work order is {s:?}");
    }
}

#[test]
fn the_pending_jobs_include_an_urgent_a_vip_and_an_unclassified_complaint() {
    use sync_core::workorder::{CustomerTier, Priority, ServiceType};
    let p = play(&day::steps());
    let pending: Vec<View> = p
        .server
        .keys()
        .map(|wo| p.view(wo))
        .filter(|v| v.status == Status::PendingDispatch)
        .collect();
    assert!(pending
        .iter()
        .any(|v| v.intake.priority == Priority::Urgent));
    assert!(pending
        .iter()
        .any(|v| v.intake.customer.tier == CustomerTier::Vip));
    assert!(pending
        .iter()
        .any(|v| v.intake.service_type == ServiceType::Complaint && v.classification.is_none()));
}

#[test]
fn completed_work_has_parts_with_serials_and_a_signature_and_a_low_score_waits() {
    let p = play(&day::steps());
    let done = p.view("WO-1006");
    assert_eq!(done.status, Status::Completed);
    assert!(done.signature.is_some());
    assert!(done
        .parts
        .iter()
        .any(|l| !l.serial_new.is_empty() && !l.serial_old.is_empty()));
    assert!(done.photos.len() >= 2);
    let low = p.view("WO-1001");
    assert_eq!(low.status, Status::Escalated);
    assert!(low.follow_up.as_ref().is_some_and(|f| f.score <= 2));
    assert!(low.escalation_handled.is_none());
}

#[test]
fn two_devices_moving_one_visit_is_a_conflict_the_technician_wins() {
    let p = play(&day::steps());
    let v = p.view("WO-1010");
    assert_eq!(v.status, Status::Scheduled);
    let c: Vec<_> = v.open_conflicts().collect();
    assert_eq!(c.len(), 1);
    assert_eq!(c[0].kind, ConflictKind::AppointmentChanged);
    let booked = v.appointment.unwrap();
    assert_eq!(
        booked.start,
        NOW + super::script::ahead(2, 0),
        "the technician's window"
    );
}

#[test]
fn devices_last_synced_minutes_hours_and_a_day_ago_and_one_runs_fast() {
    let p = play(&day::steps());
    let last = |d: &str| *p.syncs[d].last().unwrap();
    assert!(last(ANNA) > ago(0, 10));
    assert!(last(EMIL) < ago(1, 0) && last(EMIL) > ago(3, 0));
    assert!(last(GUS) < ago(24, 0));
    assert!(people::DEVICES
        .iter()
        .any(|d| d.skew_ms.abs() > super::script::H));
    let with_device: BTreeSet<&str> = people::DEVICES.iter().map(|d| d.user).collect();
    assert!(
        people::ACCOUNTS
            .iter()
            .any(|a| a.role == Role::Technician && !with_device.contains(a.id)),
        "a technician whose phone never synced"
    );
}
