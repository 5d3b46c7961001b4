//! # sync-core
//!
//! The shared heart of fieldsync: work orders as Automerge documents, their life-cycle events
//! and the status fold, the conflict rules, the signature seal and the batched multi-document
//! sync protocol. Pure logic: no I/O, and time is always passed in.
//!
//! Two devices edit one work order offline and converge:
//!
//! ```
//! use sync_core::workorder::{Actor, Intake, WorkOrder, Role, Status, PartInput};
//!
//! let dispatcher = Actor::new("disp-1", Role::Dispatcher, "office-pc");
//! let mut office = WorkOrder::create("WO-1", &dispatcher, Intake::example(), 1_000).unwrap();
//! office.assign(&dispatcher, "tech-7", None, 2_000).unwrap();
//!
//! // The technician's phone receives the job, then loses signal.
//! let tech = Actor::new("tech-7", Role::Technician, "phone-7");
//! let mut phone = office.fork_for(&tech.device).unwrap();
//! phone.accept(&tech, 3_000).unwrap();
//! phone.add_part(&tech, PartInput::new("FLT-100", 1, 1_250), 4_000).unwrap();
//!
//! // Meanwhile the office edits the notes.
//! office.edit_notes(&dispatcher, "Gate code 4711", 3_500).unwrap();
//!
//! // Signal is back: both merge and agree.
//! office.merge(&mut phone).unwrap();
//! phone.merge(&mut office).unwrap();
//! assert_eq!(office.view().unwrap(), phone.view().unwrap());
//! let view = office.view().unwrap();
//! assert_eq!(view.status, Status::Accepted);
//! assert_eq!(view.parts.len(), 1);
//! assert_eq!(view.notes, "Gate code 4711");
//! ```

pub mod ids;
pub mod protocol;
#[cfg(feature = "store")]
pub mod store;
pub mod workorder;
