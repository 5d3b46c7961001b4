//! Performs the technician steps of a from-js vector with sync-core's own operations.
//!
//! A step is `{"op": …, "by": <actor key>, "at": <ms>, "branch"?: <name>, "expect_error"?:
//! <code>, …fields}`; `fork` copies the main document to a branch and `merge` merges a branch
//! back into the main one. `"save_as": <name>` keeps the id a step returns (a part line, a
//! photo), and a later string field `"$<name>"` stands for it. The TypeScript tests perform the same list with the client's
//! operations (clients/js/test/vectors.test.ts).

use std::collections::BTreeMap;

use serde_json::Value;
use sync_core::workorder::*;

fn actor(actors: &Value, key: &str) -> Actor {
    let a = &actors[key];
    Actor::new(
        a["user"].as_str().unwrap(),
        a["role"].as_str().unwrap().parse::<Role>().unwrap(),
        a["device"].as_str().unwrap(),
    )
}

fn s<'a>(step: &'a Value, key: &str) -> &'a str {
    step[key]
        .as_str()
        .unwrap_or_else(|| panic!("step field {key}: {step}"))
}

fn i(step: &Value, key: &str) -> i64 {
    step[key]
        .as_i64()
        .unwrap_or_else(|| panic!("step field {key}: {step}"))
}

fn b(step: &Value, key: &str) -> bool {
    step[key]
        .as_bool()
        .unwrap_or_else(|| panic!("step field {key}: {step}"))
}

/// The code the TypeScript client gives the same refusal.
pub fn code(e: &WorkOrderError) -> &'static str {
    match e {
        WorkOrderError::RoleNotAllowed { .. } => "role_not_allowed",
        WorkOrderError::NotAssignee { .. } => "not_assignee",
        WorkOrderError::WrongStatus { .. } => "wrong_status",
        WorkOrderError::MissingStep { .. } => "missing_step",
        WorkOrderError::Invalid { .. } => "invalid",
        WorkOrderError::UnknownPartLine(_) => "unknown_part_line",
        WorkOrderError::PartLineRemoved(_) => "part_line_removed",
        WorkOrderError::UnknownPhoto(_) => "unknown_photo",
        WorkOrderError::NewerSchema { .. } => "newer_schema",
        _ => "other",
    }
}

fn one(wo: &mut WorkOrder, a: &Actor, step: &Value) -> Result<String, WorkOrderError> {
    let at = i(step, "at");
    match s(step, "op") {
        "accept" => wo.accept(a, at),
        "decline" => wo.decline(a, s(step, "reason"), at),
        "appointment" => wo.set_appointment(
            a,
            i(step, "start"),
            i(step, "end"),
            step["reason"].as_str(),
            at,
        ),
        "en_route" => wo.en_route(a, at),
        "on_site" => wo.on_site(a, at),
        "diagnose" => {
            let solutions: Vec<&str> = step["solutions"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_str().unwrap())
                .collect();
            wo.diagnose(a, s(step, "cause"), &solutions, at)
        }
        "quote" => {
            let items: Vec<QuoteItem> = serde_json::from_value(step["items"].clone()).unwrap();
            wo.quote(a, &items, at)
        }
        "consent" => wo.consent(a, s(step, "by_name"), at),
        "start" => wo.start_work(a, at),
        "add_part" => {
            let p: PartFields = serde_json::from_value(step["part"].clone()).unwrap();
            let input = PartInput {
                sku: p.sku,
                qty: p.qty,
                serial_new: p.serial_new,
                serial_old: p.serial_old,
                price_cents: p.price_cents,
                old_part: p.old_part,
            };
            wo.add_part(a, input, at)
        }
        "change_part" => {
            let patch: PartPatch = serde_json::from_value(step["patch"].clone()).unwrap();
            wo.change_part(a, s(step, "line"), patch, at)
        }
        "remove_part" => wo.remove_part(a, s(step, "line"), at),
        "add_photo" => wo.add_photo(
            a,
            s(step, "blob"),
            s(step, "kind").parse().unwrap(),
            s(step, "caption"),
            i(step, "taken_at"),
            at,
        ),
        "remove_photo" => wo.remove_photo(a, s(step, "photo"), at),
        "note" => wo.edit_notes(a, s(step, "text"), at),
        "test" => wo.record_test(a, b(step, "passed"), s(step, "details"), at),
        "sign" => wo.sign(a, s(step, "signer"), s(step, "blob"), at),
        "complete" => wo.complete(a, b(step, "fixed"), at),
        other => panic!("unknown step op {other:?}"),
    }
}

/// The step with `"$name"` string fields replaced by the ids saved under those names.
fn resolve(step: &Value, saved: &BTreeMap<String, String>) -> Value {
    let mut out = step.clone();
    if let Some(fields) = out.as_object_mut() {
        for (key, v) in fields.iter_mut() {
            if let Some(name) = v.as_str().and_then(|s| s.strip_prefix('$')) {
                let id = saved
                    .get(name)
                    .unwrap_or_else(|| panic!("step field {key}: nothing saved as {name}"));
                *v = Value::String(id.clone());
            }
        }
    }
    out
}

/// Runs `steps` on `main` (and the branches they fork from it).
pub fn run(main: &mut WorkOrder, actors: &Value, steps: &[Value], case: &str) {
    let mut branches: BTreeMap<String, WorkOrder> = BTreeMap::new();
    let mut saved: BTreeMap<String, String> = BTreeMap::new();
    for (n, step) in steps.iter().enumerate() {
        let step = &resolve(step, &saved);
        let op = s(step, "op");
        if op == "fork" {
            branches.insert(s(step, "branch").to_owned(), main.clone());
            continue;
        }
        if op == "merge" {
            let mut other = branches.remove(s(step, "branch")).expect("merged branch");
            main.merge(&mut other).unwrap();
            continue;
        }
        let a = actor(actors, s(step, "by"));
        let wo = match step["branch"].as_str() {
            Some(name) => branches.get_mut(name).expect("branch"),
            None => &mut *main,
        };
        let outcome = one(wo, &a, step);
        match (step["expect_error"].as_str(), outcome) {
            (None, Ok(id)) => {
                if let Some(name) = step["save_as"].as_str() {
                    saved.insert(name.to_owned(), id);
                }
            }
            (Some(want), Err(e)) => assert_eq!(code(&e), want, "{case} step {n}: {e}"),
            (None, Err(e)) => panic!("{case} step {n} ({op}) failed in Rust: {e}"),
            (Some(want), Ok(id)) => {
                panic!("{case} step {n} ({op}) succeeded in Rust as {id}; TypeScript refused it ({want})")
            }
        }
    }
}
