//! What commands print: short text for people, or JSON (`--json`) for scripts.

use serde::Serialize;
use serde_json::Value;
use sync_core::workorder::View;

use crate::device::SyncSummary;

pub struct Out {
    json: bool,
}

/// Percent-encodes one URL path or query segment (ids are plain, but never trust input).
pub fn path_segment(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

fn time(ms: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .ok()
        .and_then(|t| {
            t.format(time::macros::format_description!(
                "[year]-[month]-[day] [hour]:[minute] UTC"
            ))
            .ok()
        })
        .unwrap_or_else(|| ms.to_string())
}

fn money(cents: i64) -> String {
    format!("{}.{:02}", cents / 100, (cents % 100).abs())
}

impl Out {
    pub fn new(json: bool) -> Out {
        Out { json }
    }

    pub fn is_json(&self) -> bool {
        self.json
    }

    fn print_json<T: Serialize + ?Sized>(&self, v: &T) {
        match serde_json::to_string(v) {
            Ok(s) => println!("{s}"),
            Err(e) => eprintln!("field-cli: cannot print JSON: {e}"),
        }
    }

    /// A value as JSON, or the text `human` makes of it.
    pub fn value(&self, v: &Value, human: impl FnOnce() -> String) {
        if self.json {
            self.print_json(v);
        } else {
            println!("{}", human());
        }
    }

    pub fn recorded(&self, what: &str, event: &str, view: &View) {
        if self.json {
            self.print_json(&serde_json::json!({"event": event, "work_order": view}));
        } else {
            println!("{}: {what} ({}), status {}", view.id, event, view.status);
        }
    }

    pub fn jobs(&self, jobs: &[View]) {
        if self.json {
            self.print_json(jobs);
            return;
        }
        if jobs.is_empty() {
            println!("no jobs on this device (run `field-cli sync` to fetch them)");
        }
        for v in jobs {
            let when = v
                .appointment
                .as_ref()
                .map(|a| format!(", visit {}", time(a.start)))
                .unwrap_or_default();
            let conflicts = v.open_conflicts().count();
            let flag = if conflicts > 0 {
                format!(", {conflicts} conflict(s) to look at")
            } else {
                String::new()
            };
            println!(
                "{}  {:<16} {:<8} {} — {}{when}{flag}",
                v.id, v.status, v.intake.priority, v.intake.customer.name, v.intake.problem
            );
        }
    }

    pub fn show(&self, v: &View) {
        if self.json {
            self.print_json(v);
            return;
        }
        let i = &v.intake;
        println!(
            "{}  {} ({}), {} priority",
            v.id, v.status, i.service_type, i.priority
        );
        println!(
            "customer  {} ({}), {}, {}",
            i.customer.name, i.customer.tier, i.customer.phone, i.customer.address
        );
        println!("product   {} {}", i.product.model, i.product.serial);
        println!("problem   {}", i.problem);
        println!(
            "assigned  {}{}",
            v.assignee.as_deref().unwrap_or("nobody"),
            if v.accepted { " (accepted)" } else { "" }
        );
        if let Some(a) = &v.appointment {
            println!("visit     {} – {}", time(a.start), time(a.end));
        }
        if let Some(d) = &v.diagnosis {
            println!("diagnosis {} → {}", d.cause, d.solutions.join("; "));
        }
        if let Some(q) = &v.quote {
            println!(
                "quote     {} ({} items)",
                money(q.total_cents),
                q.items.len()
            );
        }
        if let Some(c) = &v.consent {
            println!("consent   by {}", c.by_name);
        }
        for p in &v.parts {
            println!(
                "part      {} ×{} {} {}{}",
                p.sku,
                p.qty,
                money(p.price_cents),
                p.line,
                if p.removed.is_some() {
                    " (removed)"
                } else {
                    ""
                }
            );
        }
        for p in &v.photos {
            println!(
                "photo     {} {} {}{}",
                p.kind,
                p.caption,
                p.blob.chars().take(12).collect::<String>(),
                if p.removed.is_some() {
                    " (removed)"
                } else {
                    ""
                }
            );
        }
        if let Some(t) = &v.test {
            println!("test      {}", if t.passed { "passed" } else { "failed" });
        }
        if let Some(s) = &v.signature {
            println!("signed    by {} at {}", s.signer, time(s.by.at));
        }
        if let Some(c) = &v.completion {
            println!("completed {}", if c.fixed { "fixed" } else { "not fixed" });
        }
        if !v.notes.is_empty() {
            println!("notes     {}", v.notes.replace('\n', "\n          "));
        }
        for c in v.open_conflicts() {
            println!("conflict  {}: {}", c.id, c.outcome);
        }
    }

    pub fn synced(&self, s: &SyncSummary) {
        if self.json {
            self.print_json(s);
            return;
        }
        println!(
            "synced in {} round trip(s): sent {} change(s) in {} document(s), received {} change(s) in {} document(s); {} B up, {} B down; {} image(s) uploaded",
            s.round_trips,
            s.changes_sent,
            s.documents_sent,
            s.changes_received,
            s.documents_received,
            s.bytes_up,
            s.bytes_down,
            s.blobs_uploaded
        );
        for id in &s.added {
            println!("new job   {id}");
        }
        for (id, why) in &s.removed {
            println!("removed   {id}: {why}");
        }
        for id in &s.kept {
            println!(
                "kept      {id}: taken away, but it holds changes the server has not confirmed"
            );
        }
        for (id, why) in &s.rejected {
            println!("refused   {id}: {why}");
        }
        for (id, why) in &s.failed {
            println!("failed    {id}: {why} (the copy on this device is unchanged)");
        }
        for (hash, why) in &s.images_refused {
            println!(
                "image     {}: refused by the server: {why}",
                hash.chars().take(12).collect::<String>()
            );
        }
    }

    pub fn dispatched(&self, v: &Value) {
        self.value(v, || {
            let mut lines = vec![format!(
                "{} considered: {} assigned, {} waiting, {} escalated",
                v["considered"], v["assigned"], v["waiting"], v["escalated"]
            )];
            for d in v["decisions"].as_array().into_iter().flatten() {
                lines.push(format!(
                    "  {} → {}{}",
                    d["work_order"].as_str().unwrap_or("?"),
                    d["technician"].as_str().unwrap_or("nobody"),
                    if d["escalated"] == true {
                        " (escalated)"
                    } else {
                        ""
                    }
                ));
            }
            lines.join("\n")
        });
    }

    pub fn explained(&self, v: &Value) {
        self.value(v, || {
            let mut lines = vec![format!(
                "{}: {}, assigned to {}",
                v["work_order"].as_str().unwrap_or("?"),
                v["status"].as_str().unwrap_or("?"),
                v["assignee"].as_str().unwrap_or("nobody")
            )];
            let mut candidates = |label: String, e: &Value| {
                lines.push(label);
                for c in e["candidates"].as_array().into_iter().flatten() {
                    let load = format!("{}/{}", c["open"], c["capacity"]);
                    let why = match c["rank"].as_u64() {
                        Some(r) => match c["distance_km"].as_f64() {
                            Some(km) => format!(
                                "rank {r}, {km:.1} km from {}",
                                c["position"].as_str().unwrap_or("?").replace('_', " ")
                            ),
                            None => format!("rank {r}"),
                        },
                        None => c["excluded"]["reason"]
                            .as_str()
                            .unwrap_or("excluded")
                            .replace('_', " "),
                    };
                    lines.push(format!(
                        "    {:<16} load {load:<6} {why}",
                        c["technician"].as_str().unwrap_or("?")
                    ));
                }
            };
            for d in v["decisions"].as_array().into_iter().flatten() {
                candidates(
                    format!(
                        "  {} ({}): {}",
                        time(d["decided_at"].as_i64().unwrap_or(0)),
                        d["cause"].as_str().unwrap_or("?"),
                        d["technician"].as_str().unwrap_or("nobody")
                    ),
                    &d["explanation"],
                );
            }
            candidates(
                format!(
                    "  now: {}",
                    v["now"]["chosen"].as_str().unwrap_or("nobody eligible")
                ),
                &v["now"],
            );
            lines.join("\n")
        });
    }

    pub fn board(&self, v: &Value) {
        self.value(v, || {
            let mut lines = Vec::new();
            for (region, statuses) in v["regions"].as_object().into_iter().flatten() {
                lines.push(region.clone());
                for (status, orders) in statuses.as_object().into_iter().flatten() {
                    lines.push(format!("  {status}"));
                    for o in orders.as_array().into_iter().flatten() {
                        let next = o["deadlines"]
                            .as_array()
                            .and_then(|d| d.first())
                            .map(|d| {
                                format!(
                                    ", next {} {}{}",
                                    d["rule"].as_str().unwrap_or("?"),
                                    time(d["due_at"].as_i64().unwrap_or(0)),
                                    if d["overdue"] == true { " OVERDUE" } else { "" }
                                )
                            })
                            .unwrap_or_default();
                        lines.push(format!(
                            "    {} {} {} → {}{next}",
                            o["id"].as_str().unwrap_or("?"),
                            o["priority"].as_str().unwrap_or("?"),
                            o["customer_name"].as_str().unwrap_or("?"),
                            o["assignee"].as_str().unwrap_or("nobody"),
                        ));
                    }
                }
            }
            if lines.is_empty() {
                lines.push("no work orders".into());
            }
            lines.join("\n")
        });
    }

    pub fn kpi(&self, v: &Value) {
        self.value(v, || {
            let rate = |k: &str| {
                let r = &v[k];
                match r["rate"].as_f64() {
                    Some(x) => format!(
                        "{:.1} % ({}/{}){}",
                        x * 100.0,
                        r["numerator"],
                        r["denominator"],
                        match r["meets_target"].as_bool() {
                            Some(true) => " ✓",
                            Some(false) => " below target",
                            None => "",
                        }
                    ),
                    None => "n/a".into(),
                }
            };
            let avg = |k: &str| match v[k]["value"].as_f64() {
                Some(x) => format!("{x:.1} min"),
                None => "n/a".into(),
            };
            [
                format!(
                    "{} to {}{}: {} work orders",
                    v["from"].as_str().unwrap_or("?"),
                    v["to"].as_str().unwrap_or("?"),
                    v["region"]
                        .as_str()
                        .map(|r| format!(" ({r})"))
                        .unwrap_or_default(),
                    v["work_orders"]
                ),
                format!("first response within 24 h  {}", rate("first_response_24h")),
                format!("first-time fix              {}", rate("first_time_fix")),
                format!("satisfaction (4-5)          {}", rate("satisfaction")),
                format!("complaint rate              {}", rate("complaint_rate")),
                format!(
                    "repeat faults ({} days)     {}",
                    v["repeat_window_days"].as_f64().unwrap_or(30.0),
                    rate("repeat_fault_rate")
                ),
                format!(
                    "average acceptance          {}",
                    avg("avg_acceptance_minutes")
                ),
                format!(
                    "average response            {}",
                    avg("avg_response_minutes")
                ),
                format!("volume by type              {}", v["volume_by_type"]),
            ]
            .join("\n")
        });
    }
}
