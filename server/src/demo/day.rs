//! The demo day, step by step: 24 requests from yesterday morning to a few minutes ago,
//! dispatched, worked on offline and synced, so that the board shows every status, with
//! breaches, escalations, a conflict and devices in every state of freshness.
//!
//! The story, by technician (times before now):
//! - tech-anna (north, phone synced 4 min ago): two jobs done yesterday (one closed after a
//!   score of 5, one completed with a new pump and waiting for its follow-up call), one done
//!   this morning, one en route, one accepted, one just assigned.
//! - tech-ben (north): his phone never synced. A job assigned 35 min ago waits for him; one
//!   assigned 2 h 40 min ago times out at the clock pass and goes back to dispatch.
//! - tech-carl (north and centre, synced 25 min ago): yesterday's oven repair scored 3; the
//!   manager called the customer back and closed it. Today a door seal replaced and signed
//!   (not yet completed), and on site at an oven.
//! - tech-dana (south, synced 1 h ago): yesterday's drum bearing repair scored 2 on the
//!   follow-up call 40 min ago: escalated, waiting for the manager. A freezer visit whose
//!   window she and the dispatcher both changed (a conflict). The customer consented to a
//!   quote. An urgent complaint was assigned to her after she last synced.
//! - tech-emil (south, synced 2 h 30 min ago): a dishwasher quoted, waiting for the
//!   customer's yes; his tablet's clock runs 2 h fast, and the server flagged it.
//! - tech-fay (centre, synced 3 h ago): a compressor relay being replaced; a visit booked for
//!   tomorrow.
//! - tech-gus (centre and south, synced a day ago): a job accepted and one diagnosed
//!   yesterday, nothing since: their deadlines are breached.
//! - Waiting for dispatch: an urgent air-conditioning failure nobody in the south can fix
//!   (escalated), a complaint not yet classified, a VIP request that came in 6 min ago.

use sync_core::workorder::{ComplaintCategory, OldPart, PhotoKind};

use super::script::{ago, ahead, FieldOp, OfficeOp, Step, What};
use FieldOp::*;

pub const ANNA: &str = "tech-anna-phone";
pub const CARL: &str = "tech-carl-phone";
pub const DANA: &str = "tech-dana-phone";
pub const EMIL: &str = "tech-emil-tablet";
pub const FAY: &str = "tech-fay-phone";
pub const GUS: &str = "tech-gus-phone";

#[derive(Default)]
struct Day(Vec<Step>);

impl Day {
    fn push(&mut self, at: i64, what: What) {
        self.0.push(Step { at, what });
    }

    fn intake(&mut self, at: i64, wo: &'static str) {
        self.push(
            at,
            What::Intake {
                wo,
                by: "agent-alex",
            },
        );
    }

    fn assign(&mut self, at: i64, wo: &'static str, by: &'static str, technician: &'static str) {
        self.push(at, What::Assign { wo, by, technician });
    }

    fn office(&mut self, at: i64, wo: &'static str, by: &'static str, op: OfficeOp) {
        self.push(at, What::Office { wo, by, op });
    }

    fn follow_up(&mut self, at: i64, wo: &'static str, score: u8, comment: &'static str) {
        let remedial = if score <= 3 {
            "manager to call back"
        } else {
            ""
        };
        let op = OfficeOp::FollowUp {
            score,
            comment,
            remedial,
        };
        self.office(at, wo, "agent-alex", op);
    }

    fn field(&mut self, device: &'static str, wo: &'static str, ops: Vec<(i64, FieldOp)>) {
        for (at, op) in ops {
            self.push(at, What::Field { device, wo, op });
        }
    }

    fn syncs(&mut self, device: &'static str, times: &[i64]) {
        for &at in times {
            self.push(at, What::Sync { device });
        }
    }
}

fn book(start: i64, end: i64) -> FieldOp {
    Appointment {
        start,
        end,
        reason: None,
    }
}

fn part(sku: &'static str, serial_new: &'static str, serial_old: &'static str) -> FieldOp {
    Part {
        sku,
        serial_new,
        serial_old,
        old_part: if serial_old.is_empty() {
            OldPart::None
        } else {
            OldPart::TakenAway
        },
    }
}

fn passed(details: &'static str) -> FieldOp {
    Test {
        passed: true,
        details,
    }
}

const FIXED: FieldOp = Complete { fixed: true };

/// Every step of the day, in time order (steps at the same time keep the order they are
/// written in).
pub fn steps() -> Vec<Step> {
    let mut d = Day::default();
    north(&mut d);
    centre(&mut d);
    south(&mut d);
    let mut steps = d.0;
    steps.sort_by_key(|s| s.at);
    steps
}

// A table of timed steps: one line per step reads better than rustfmt's layout.
#[rustfmt::skip]
fn north(d: &mut Day) {
    d.syncs(ANNA, &[ago(30, 50), ago(28, 20), ago(26, 40), ago(22, 50)]);
    d.syncs(ANNA, &[ago(8, 45), ago(6, 0), ago(1, 50), ago(0, 40), ago(0, 4)]);

    d.intake(ago(31, 0), "WO-1003");
    d.assign(ago(30, 55), "WO-1003", "disp-north", "tech-anna");
    d.field(ANNA, "WO-1003", vec![
        (ago(30, 45), Accept),
        (ago(30, 44), book(ago(29, 30), ago(28, 30))),
        (ago(29, 40), EnRoute),
        (ago(29, 25), OnSite),
        (ago(29, 15), Diagnose { cause: "limescale in the heating circuit; fine filter clogged", solutions: &["descale", "replace the fine filter"] }),
        (ago(29, 12), Quote { items: &[("fine filter FILTER-9", 1290), ("descaling", 2500), ("labour", 3500)] }),
        (ago(29, 10), Consent { by: "Jonas Weber" }),
        (ago(29, 8), Start),
        (ago(29, 0), part("FILTER-9", "", "")),
        (ago(28, 50), Photo { kind: PhotoKind::After, caption: "clean filter and spray arms" }),
        (ago(28, 45), passed("test programme, glasses clear")),
        (ago(28, 40), Sign { signer: "Jonas Weber" }),
        (ago(28, 35), FIXED),
    ]);
    d.follow_up(ago(3, 0), "WO-1003", 5, "very friendly, explained everything");

    d.intake(ago(27, 0), "WO-1006");
    d.assign(ago(26, 50), "WO-1006", "disp-north", "tech-anna");
    d.field(ANNA, "WO-1006", vec![
        (ago(26, 35), Accept),
        (ago(26, 30), book(ago(24, 0), ago(22, 0))),
        (ago(24, 10), EnRoute),
        (ago(23, 55), OnSite),
        (ago(23, 52), Photo { kind: PhotoKind::Before, caption: "water standing in the drum" }),
        (ago(23, 45), Diagnose { cause: "a coin blocked the drain pump and broke its impeller", solutions: &["replace the drain pump"] }),
        (ago(23, 43), Quote { items: &[("drain pump PUMP-7", 4990), ("labour", 3500)] }),
        (ago(23, 40), Consent { by: "Maria Keller" }),
        (ago(23, 38), Start),
        (ago(23, 20), part("PUMP-7", "DP7-24-118842", "DP7-19-003117")),
        (ago(23, 10), Photo { kind: PhotoKind::After, caption: "new pump fitted" }),
        (ago(23, 8), passed("full cycle, drains in 40 s")),
        (ago(23, 5), Sign { signer: "Maria Keller" }),
        (ago(23, 0), FIXED),
    ]);

    d.intake(ago(9, 0), "WO-1009");
    d.assign(ago(8, 55), "WO-1009", "disp-north", "tech-anna");
    d.field(ANNA, "WO-1009", vec![
        (ago(8, 40), Accept),
        (ago(8, 35), book(ago(7, 0), ago(6, 0))),
        (ago(7, 10), EnRoute),
        (ago(6, 55), OnSite),
        (ago(6, 45), Diagnose { cause: "detergent drawer and upper spray arm blocked", solutions: &["clean drawer and spray arms"] }),
        (ago(6, 40), Start),
        (ago(6, 20), passed("short programme, tab dissolved")),
        (ago(6, 15), Sign { signer: "Sofia Richter" }),
        (ago(6, 10), FIXED),
    ]);

    d.intake(ago(5, 0), "WO-1011");
    d.assign(ago(4, 55), "WO-1011", "disp-north", "tech-carl");
    d.field(CARL, "WO-1011", vec![
        (ago(4, 40), Accept),
        (ago(4, 35), book(ago(2, 30), ago(1, 0))),
        (ago(2, 40), EnRoute),
        (ago(2, 25), OnSite),
        (ago(2, 22), Photo { kind: PhotoKind::Fault, caption: "torn door seal" }),
        (ago(2, 15), Diagnose { cause: "door seal torn at the bottom", solutions: &["replace the door seal"] }),
        (ago(2, 13), Quote { items: &[("door seal SEAL-3", 2450), ("labour", 3500)] }),
        (ago(2, 10), Consent { by: "Clara Schmitt" }),
        (ago(2, 5), Start),
        (ago(1, 50), part("SEAL-3", "DS3-2301-7781", "")),
        (ago(1, 25), passed("no leak after a 30 min cycle")),
        (ago(1, 15), Sign { signer: "Clara Schmitt" }),
    ]);

    d.intake(ago(2, 45), "WO-1016");
    d.assign(ago(2, 40), "WO-1016", "disp-north", "tech-ben");

    d.intake(ago(2, 0), "WO-1018");
    d.assign(ago(1, 55), "WO-1018", "disp-north", "tech-anna");
    d.field(ANNA, "WO-1018", vec![
        (ago(1, 48), Accept),
        (ago(1, 45), book(ago(0, 30), ahead(0, 30))),
        (ago(0, 10), EnRoute),
    ]);

    d.intake(ago(0, 55), "WO-1020");
    d.assign(ago(0, 47), "WO-1020", "disp-north", "tech-anna");
    d.field(ANNA, "WO-1020", vec![(ago(0, 30), Accept)]);

    d.intake(ago(0, 42), "WO-1021");
    d.assign(ago(0, 35), "WO-1021", "disp-north", "tech-ben");

    d.intake(ago(0, 20), "WO-1022");

    d.intake(ago(0, 12), "WO-1023");
    d.assign(ago(0, 8), "WO-1023", "disp-north", "tech-anna");
}

#[rustfmt::skip]
fn centre(d: &mut Day) {
    d.syncs(CARL, &[ago(31, 10), ago(29, 20), ago(4, 45), ago(2, 48), ago(0, 25)]);
    d.syncs(FAY, &[ago(19, 45), ago(19, 30), ago(4, 15), ago(3, 0)]);

    d.intake(ago(31, 30), "WO-1002");
    d.assign(ago(31, 20), "WO-1002", "disp-south", "tech-carl");
    d.field(CARL, "WO-1002", vec![
        (ago(31, 5), Accept),
        (ago(31, 0), book(ago(30, 30), ago(29, 30))),
        (ago(30, 40), EnRoute),
        (ago(30, 25), OnSite),
        (ago(30, 15), Diagnose { cause: "lower heating element burnt out", solutions: &["replace the heating element"] }),
        (ago(30, 12), Quote { items: &[("heating element HEAT-5", 3900), ("labour", 3500)] }),
        (ago(30, 10), Consent { by: "Peter Brandt" }),
        (ago(30, 5), Start),
        (ago(29, 55), part("HEAT-5", "HE5-2208-5521", "HE5-1811-0042")),
        (ago(29, 45), passed("reaches 200 °C in 11 min")),
        (ago(29, 40), Sign { signer: "Peter Brandt" }),
        (ago(29, 35), FIXED),
    ]);
    d.follow_up(ago(5, 0), "WO-1002", 3, "fixed, but he came late and did not call ahead");
    let handled = OfficeOp::HandleEscalation {
        action: "called the customer, apologised; 20 % off the next service",
    };
    d.office(ago(4, 0), "WO-1002", "mgr-maria", handled);

    d.intake(ago(28, 0), "WO-1005");
    d.assign(ago(27, 50), "WO-1005", "disp-south", "tech-gus");
    d.field(GUS, "WO-1005", vec![(ago(27, 30), Accept)]);

    d.intake(ago(20, 0), "WO-1007");
    d.assign(ago(19, 52), "WO-1007", "disp-south", "tech-fay");
    d.field(FAY, "WO-1007", vec![
        (ago(19, 40), Accept),
        (ago(19, 38), book(ahead(20, 0), ahead(22, 0))),
    ]);

    d.intake(ago(9, 30), "WO-1008");
    let cancel = OfficeOp::Cancel {
        reason: "customer called back: a sock blocked the filter, machine works again",
    };
    d.office(ago(9, 22), "WO-1008", "agent-alex", cancel);

    d.intake(ago(4, 30), "WO-1013");
    d.assign(ago(4, 25), "WO-1013", "disp-south", "tech-fay");
    d.field(FAY, "WO-1013", vec![
        (ago(4, 10), Accept),
        (ago(4, 5), book(ago(3, 30), ago(1, 30))),
        (ago(3, 45), EnRoute),
        (ago(3, 30), OnSite),
        (ago(3, 20), Diagnose { cause: "compressor start relay failed", solutions: &["replace the start relay"] }),
        (ago(3, 18), Quote { items: &[("start relay COMP-1", 3200), ("labour", 3500)] }),
        (ago(3, 15), Consent { by: "Greta Lange" }),
        (ago(3, 10), Start),
        (ago(3, 5), part("COMP-1", "SR1-2310-0932", "SR1-1707-2210")),
    ]);

    d.intake(ago(3, 0), "WO-1015");
    d.assign(ago(2, 55), "WO-1015", "disp-south", "tech-carl");
    d.field(CARL, "WO-1015", vec![
        (ago(2, 45), Accept),
        (ago(2, 44), book(ago(1, 0), ahead(1, 0))),
        (ago(0, 50), EnRoute),
        (ago(0, 30), OnSite),
    ]);

    d.intake(ago(0, 6), "WO-1024");
}

#[rustfmt::skip]
fn south(d: &mut Day) {
    d.syncs(DANA, &[ago(31, 40), ago(28, 40), ago(5, 40), ago(5, 0), ago(2, 50), ago(1, 0)]);
    d.syncs(GUS, &[ago(29, 45), ago(27, 40), ago(26, 0)]);

    d.intake(ago(32, 0), "WO-1001");
    d.assign(ago(31, 50), "WO-1001", "disp-south", "tech-dana");
    d.field(DANA, "WO-1001", vec![
        (ago(31, 35), Accept),
        (ago(31, 30), book(ago(30, 30), ago(29, 0))),
        (ago(30, 10), EnRoute),
        (ago(30, 0), OnSite),
        (ago(29, 50), Diagnose { cause: "drum bearings worn, drive belt cracked", solutions: &["replace bearings and belt"] }),
        (ago(29, 48), Quote { items: &[("bearing kit BEARING-KIT", 6800), ("drive belt BELT-12", 1850), ("labour, 2 h", 7000)] }),
        (ago(29, 45), Consent { by: "Hanna Vogel" }),
        (ago(29, 40), Start),
        (ago(29, 20), part("BEARING-KIT", "BK-2402-4411", "")),
        (ago(29, 18), part("BELT-12", "", "")),
        (ago(29, 0), passed("spin at 1400 rpm, quiet")),
        (ago(28, 58), Sign { signer: "Hanna Vogel" }),
        (ago(28, 55), FIXED),
    ]);
    d.follow_up(ago(0, 40), "WO-1001", 2, "the noise came back the same evening; technician was in a hurry");

    d.intake(ago(30, 0), "WO-1004");
    d.assign(ago(29, 50), "WO-1004", "disp-south", "tech-gus");
    d.field(GUS, "WO-1004", vec![
        (ago(29, 40), Accept),
        (ago(29, 38), book(ago(27, 0), ago(26, 0))),
        (ago(27, 10), EnRoute),
        (ago(26, 55), OnSite),
        (ago(26, 30), Diagnose { cause: "heating element burnt out", solutions: &["replace the heating element (ordered)"] }),
    ]);

    d.intake(ago(6, 0), "WO-1010");
    d.assign(ago(5, 55), "WO-1010", "disp-south", "tech-dana");
    d.field(DANA, "WO-1010", vec![
        (ago(5, 35), Accept),
        (ago(5, 30), book(ahead(1, 0), ahead(3, 0))),
    ]);
    // The customer calls the office and, later, the technician: both move the visit, neither
    // knowing of the other (the phone is offline): a conflict the technician's booking wins.
    let office_rebook = OfficeOp::Appointment {
        start: ahead(4, 0),
        end: ahead(6, 0),
        reason: "customer called the office: cannot be home before 4 pm",
    };
    d.office(ago(2, 0), "WO-1010", "disp-south", office_rebook);
    let rebook = Appointment {
        start: ahead(2, 0),
        end: ahead(4, 0),
        reason: Some("customer asked me by phone to come a little later"),
    };
    d.field(DANA, "WO-1010", vec![(ago(1, 40), rebook)]);

    d.intake(ago(4, 53), "WO-1012");
    d.assign(ago(4, 45), "WO-1012", "disp-south", "tech-emil");
    d.field(EMIL, "WO-1012", vec![
        (ago(3, 55), Accept),
        (ago(3, 45), book(ago(3, 0), ago(1, 0))),
        (ago(3, 10), EnRoute),
        (ago(2, 50), OnSite),
        (ago(2, 40), Diagnose { cause: "drain hose kinked behind the unit; drain pump worn", solutions: &["straighten the hose", "replace the drain pump"] }),
        (ago(2, 30), Quote { items: &[("drain pump PUMP-7", 4990), ("labour", 3500)] }),
    ]);
    // Right after the quote: what it sent is dated the whole 2 h of its clock ahead.
    d.syncs(EMIL, &[ago(4, 0), ago(3, 50), ago(2, 30)]);

    d.intake(ago(3, 10), "WO-1014");
    d.assign(ago(3, 2), "WO-1014", "disp-south", "tech-dana");
    d.field(DANA, "WO-1014", vec![
        (ago(2, 45), Accept),
        (ago(2, 40), book(ago(2, 15), ago(1, 0))),
        (ago(2, 20), EnRoute),
        (ago(2, 5), OnSite),
        (ago(1, 55), Diagnose { cause: "door lock switch faulty", solutions: &["replace the door lock switch"] }),
        (ago(1, 50), Quote { items: &[("door lock LOCK-4", 2990), ("labour", 3500)] }),
        (ago(1, 45), Consent { by: "Tom Becker" }),
    ]);

    d.intake(ago(2, 20), "WO-1017");
    let classify = OfficeOp::Classify {
        category: ComplaintCategory::Quality,
        urgent: true,
    };
    d.office(ago(2, 5), "WO-1017", "disp-south", classify);
    d.assign(ago(0, 25), "WO-1017", "disp-south", "tech-dana");

    d.intake(ago(1, 10), "WO-1019");
    d.push(ago(1, 9), What::Dispatch { wo: "WO-1019" });
}
