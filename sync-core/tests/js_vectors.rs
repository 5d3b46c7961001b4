//! Cross-language work-order vectors, shared with the TypeScript client (`clients/js`).
//!
//! Both directions are checked in the normal test runs of each language:
//!
//! - `vectors/workorder/from-rust/*.json`: documents made here with sync-core's operations
//!   (fixed devices and times, so the bytes are reproducible) and the view sync-core folds
//!   from them. This test rebuilds them and compares the bytes; the TypeScript tests load the
//!   documents and fold them to the same view.
//! - `vectors/workorder/from-js/*.json`: a Rust-made base document, a list of technician
//!   steps, and the document the TypeScript client produced by performing them, with the
//!   view it folded. This test folds that document to the same view, and performs the same
//!   steps with sync-core on the same base: the event list (JSON strings, byte for byte), the
//!   notes and the view must come out identical.
//!
//! `FIELDSYNC_UPDATE_VECTORS=1 cargo test -p sync-core --test js_vectors` rewrites the
//! from-rust files (a missing file is always written).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "js_vectors/cases.rs"]
mod cases;
#[path = "js_vectors/steps.rs"]
mod steps;

use std::path::PathBuf;

use automerge::{ReadDoc, Value as AmValue, ROOT};
use serde_json::{json, Value};
use sync_core::workorder::WorkOrder;

fn dir(sub: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../vectors/workorder")
        .join(sub)
}

fn update_requested() -> bool {
    std::env::var("FIELDSYNC_UPDATE_VECTORS").is_ok_and(|v| v == "1")
}

/// The view as JSON, the form both languages compare.
pub fn view_json(wo: &WorkOrder) -> Value {
    serde_json::to_value(wo.view().expect("fold")).unwrap()
}

/// The raw JSON strings of the event list, in list order.
pub fn raw_events(wo: &WorkOrder) -> Vec<String> {
    let doc = wo.doc();
    let Some((AmValue::Object(_), list)) = doc.get(ROOT, "events").unwrap() else {
        panic!("no events list");
    };
    (0..doc.length(&list))
        .map(|i| {
            let (v, _) = doc.get(&list, i).unwrap().expect("event");
            v.into_string().expect("an event is a string")
        })
        .collect()
}

fn load_hex(hex_doc: &str, device: &str) -> WorkOrder {
    WorkOrder::load(&hex::decode(hex_doc).expect("hex"), device).expect("load")
}

#[test]
fn rust_made_documents_are_reproducible_and_fold_to_their_committed_view() {
    let out = dir("from-rust");
    std::fs::create_dir_all(&out).unwrap();
    let mut names = Vec::new();
    for case in cases::all() {
        names.push(case.name);
        let path = out.join(format!("{}.json", case.name));
        let fresh = json!({
            "name": case.name,
            "description": case.description,
            "doc_hex": hex::encode(case.doc.save()),
            "events": raw_events(&case.doc),
            "view": view_json(&case.doc),
        });
        if update_requested() || !path.exists() {
            let text = serde_json::to_string_pretty(&fresh).unwrap() + "\n";
            std::fs::write(&path, text).unwrap();
        }
        let committed: Value =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        assert_eq!(
            committed["doc_hex"], fresh["doc_hex"],
            "{}: the document bytes changed; rerun with FIELDSYNC_UPDATE_VECTORS=1 and rerun the TypeScript tests",
            case.name
        );
        let loaded = load_hex(committed["doc_hex"].as_str().unwrap(), "reader");
        assert_eq!(view_json(&loaded), committed["view"], "{}", case.name);
        assert_eq!(
            raw_events(&loaded),
            fresh["events"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| e.as_str().unwrap().to_owned())
                .collect::<Vec<_>>()
        );
    }
    // No stale vector lingers after a case was renamed.
    for entry in std::fs::read_dir(&out).unwrap() {
        let file = entry.unwrap().file_name().into_string().unwrap();
        let stem = file.trim_end_matches(".json");
        assert!(names.contains(&stem), "{file} is not made by any case");
    }
}

#[test]
fn js_made_documents_fold_in_rust_to_the_view_js_folded_and_equal_the_same_steps_in_rust() {
    let from_js = dir("from-js");
    let Ok(entries) = std::fs::read_dir(&from_js) else {
        panic!(
            "{} is missing: run the TypeScript tests (clients/js: npm test)",
            from_js.display()
        );
    };
    let mut checked = 0;
    for entry in entries {
        let path = entry.unwrap().path();
        if path.extension().and_then(|e| e.to_str()) != Some("json") {
            continue;
        }
        let v: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let name = v["name"].as_str().unwrap();
        let js_doc = load_hex(v["doc_hex"].as_str().unwrap(), "reader");
        assert_eq!(
            view_json(&js_doc),
            v["view"],
            "{name}: Rust folds the TypeScript-made document to the view TypeScript folded"
        );

        checked += 1;
        if let Some(why) = v["no_rust_replay"].as_str() {
            // A case sync-core cannot perform itself yet (the reason is in the file).
            eprintln!("{name}: folded only, not replayed: {why}");
            continue;
        }
        // The same steps performed by sync-core on the same base.
        let base_path = dir("from-rust").join(format!("{}.json", v["base"].as_str().unwrap()));
        let base: Value =
            serde_json::from_str(&std::fs::read_to_string(&base_path).unwrap()).unwrap();
        let mut rust_doc = load_hex(base["doc_hex"].as_str().unwrap(), "reader");
        steps::run(
            &mut rust_doc,
            &v["actors"],
            v["steps"].as_array().unwrap(),
            name,
        );
        assert_eq!(
            raw_events(&rust_doc),
            raw_events(&js_doc),
            "{name}: the events TypeScript wrote are byte for byte the ones sync-core writes"
        );
        assert_eq!(
            view_json(&rust_doc),
            view_json(&js_doc),
            "{name}: the same steps fold to the same view in both languages"
        );
    }
    assert!(
        checked >= 3,
        "expected the TypeScript vectors, found {checked}"
    );
}
