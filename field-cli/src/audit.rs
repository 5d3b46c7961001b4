//! `field-cli audit …`: the quality audit. The day's sample, an audit with its findings,
//! recording a finding (a fail with its corrective action and deadline), verifying a
//! corrective action, closing an audit, and the admin's draw.

use anyhow::bail;
use clap::Subcommand;
use reqwest::Method;
use serde_json::{json, Value};

use crate::device::Device;
use crate::output::{path_segment, Out};

#[derive(Debug, Subcommand)]
pub enum AuditCmd {
    /// Audits in your regions: a day's sample, yours, those waiting for an auditor.
    #[command(
        after_help = "Examples:\n  field-cli audit list --day 2026-12-01\n  field-cli audit list --auditor aud-1 --state open\n  field-cli audit list --state unassigned --json"
    )]
    List {
        /// A UTC day, YYYY-MM-DD: that day's sample.
        #[arg(long)]
        day: Option<String>,
        #[arg(long)]
        region: Option<String>,
        #[arg(long)]
        auditor: Option<String>,
        /// unassigned, open or closed.
        #[arg(long)]
        state: Option<String>,
    },
    /// One audit with its findings and history.
    #[command(after_help = "Example: field-cli audit show aud-3f9c2a7d41e0b6c8")]
    Show { audit: String },
    /// Record a finding: --pass with the standard, or --fail with problem, team, action and deadline.
    #[command(
        after_help = "Examples:\n  field-cli audit finding aud-3f9c2a7d41e0b6c8 --standard \"customer signature present\" --pass\n  field-cli audit finding aud-3f9c2a7d41e0b6c8 --standard \"after photo of the repair\" --fail \\\n    --problem \"no after photo\" --team \"north crew\" --action \"attach the photo\" --deadline +48h\n\n--deadline takes RFC 3339, 2026-12-03T12:00 (UTC) or +DURATION from the service clock's now."
    )]
    Finding {
        audit: String,
        #[arg(long)]
        standard: String,
        #[arg(long, conflicts_with = "fail")]
        pass: bool,
        #[arg(long)]
        fail: bool,
        #[arg(long)]
        problem: Option<String>,
        /// The responsible team.
        #[arg(long)]
        team: Option<String>,
        /// The corrective action.
        #[arg(long)]
        action: Option<String>,
        #[arg(long)]
        deadline: Option<String>,
        #[arg(long)]
        note: Option<String>,
    },
    /// Verify a failed finding's corrective action (auditors and managers of the region).
    #[command(
        after_help = "Example: field-cli audit verify aud-3f9c2a7d41e0b6c8 fnd-0c1d… --note \"photo attached\""
    )]
    Verify {
        audit: String,
        finding: String,
        #[arg(long)]
        note: Option<String>,
    },
    /// Close an audit that has findings.
    #[command(after_help = "Example: field-cli audit close aud-3f9c2a7d41e0b6c8")]
    Close { audit: String },
    /// Run a finished day's draw now (admin; the service clock does it each day). Idempotent.
    #[command(
        after_help = "Examples:\n  field-cli audit draw            (yesterday)\n  field-cli audit draw --day 2026-12-01 --json"
    )]
    Draw {
        #[arg(long)]
        day: Option<String>,
    },
    /// Draws with their seed, rate, candidates and choice (to reproduce them).
    #[command(after_help = "Example: field-cli audit draws --day 2026-12-01 --json")]
    Draws {
        #[arg(long)]
        day: Option<String>,
    },
}

/// A service time for people: `2026-12-01 09:30 UTC`.
fn when(ms: Option<i64>) -> String {
    let Some(ms) = ms else {
        return "-".to_owned();
    };
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

fn list_text(v: &Value) -> String {
    let mut lines = Vec::new();
    for a in v.as_array().into_iter().flatten() {
        lines.push(format!(
            "{}  {}  {:<8} {:<12} {:<10} {}",
            a["id"].as_str().unwrap_or("?"),
            a["day"].as_str().unwrap_or("?"),
            a["region"].as_str().unwrap_or("?"),
            a["wo_id"].as_str().unwrap_or("?"),
            a["state"].as_str().unwrap_or("?"),
            a["auditor"].as_str().unwrap_or("(waiting for an auditor)"),
        ));
    }
    if lines.is_empty() {
        lines.push("no audits".into());
    }
    lines.join("\n")
}

fn detail_text(v: &Value) -> String {
    let mut lines = vec![format!(
        "{} of {} ({}, {}): {}, auditor {}",
        v["id"].as_str().unwrap_or("?"),
        v["wo_id"].as_str().unwrap_or("?"),
        v["region"].as_str().unwrap_or("?"),
        v["day"].as_str().unwrap_or("?"),
        v["state"].as_str().unwrap_or("?"),
        v["auditor"].as_str().unwrap_or("none yet"),
    )];
    for f in v["findings"].as_array().into_iter().flatten() {
        let mut line = format!(
            "  {}. {} {}: {}",
            f["seq"],
            f["id"].as_str().unwrap_or("?"),
            f["result"].as_str().unwrap_or("?").to_uppercase(),
            f["standard"].as_str().unwrap_or("?"),
        );
        if f["result"] == "fail" {
            line.push_str(&format!(
                "\n     problem: {}; team: {}; action: {}; due {}",
                f["problem"].as_str().unwrap_or("?"),
                f["responsible_team"].as_str().unwrap_or("?"),
                f["corrective_action"].as_str().unwrap_or("?"),
                when(f["deadline_at"].as_i64()),
            ));
            line.push_str(&match f["verified_by"].as_str() {
                Some(by) => format!(
                    "\n     verified by {by} at {}",
                    when(f["verified_at"].as_i64())
                ),
                None => "\n     NOT VERIFIED".to_owned(),
            });
        }
        lines.push(line);
    }
    lines.push("  history:".into());
    for h in v["history"].as_array().into_iter().flatten() {
        lines.push(format!(
            "    {} {} {} {}",
            when(h["at"].as_i64()),
            h["by_user"].as_str().unwrap_or("?"),
            h["action"].as_str().unwrap_or("?"),
            h["detail"].as_str().unwrap_or(""),
        ));
    }
    lines.join("\n")
}

fn draw_text(d: &Value) -> String {
    let mut lines = vec![format!(
        "{}: {} completed, seed {}, rate {}{}",
        d["day"].as_str().unwrap_or("?"),
        d["candidate_count"],
        d["seed"],
        d["rate"],
        if d["new"] == true { " (drawn now)" } else { "" }
    )];
    for r in d["regions"].as_array().into_iter().flatten() {
        let chosen: Vec<&str> = r["chosen"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .collect();
        lines.push(format!(
            "  {}: {} of {}: {}",
            r["region"].as_str().unwrap_or("?"),
            chosen.len(),
            r["candidates"].as_array().map_or(0, Vec::len),
            chosen.join(", ")
        ));
    }
    lines.join("\n")
}

fn query(pairs: &[(&str, &Option<String>)]) -> String {
    let q: Vec<String> = pairs
        .iter()
        .filter_map(|(k, v)| v.as_ref().map(|v| format!("{k}={}", path_segment(v))))
        .collect();
    if q.is_empty() {
        String::new()
    } else {
        format!("?{}", q.join("&"))
    }
}

/// The finding's JSON body; the deadline is read against the service clock.
async fn finding_body(dev: &Device, cmd: AuditCmd) -> anyhow::Result<(String, Value)> {
    let AuditCmd::Finding {
        audit,
        standard,
        pass,
        fail,
        problem,
        team,
        action,
        deadline,
        note,
    } = cmd
    else {
        bail!("not a finding");
    };
    if pass == fail {
        bail!("say whether the standard was met: --pass or --fail");
    }
    let deadline_at = match deadline {
        Some(d) => {
            let clock = dev.call(Method::GET, "/v1/clock", None).await?;
            let now = clock["now"].as_i64().unwrap_or_default();
            Some(crate::cli::parse_time(&d, now)?)
        }
        None => None,
    };
    let body = json!({
        "standard": standard,
        "result": if fail { "fail" } else { "pass" },
        "problem": problem,
        "responsible_team": team,
        "corrective_action": action,
        "deadline_at": deadline_at,
        "note": note,
    });
    Ok((audit, body))
}

pub async fn run(dev: &Device, cmd: AuditCmd, out: &Out) -> anyhow::Result<()> {
    match cmd {
        AuditCmd::List {
            day,
            region,
            auditor,
            state,
        } => {
            let q = query(&[
                ("day", &day),
                ("region", &region),
                ("auditor", &auditor),
                ("state", &state),
            ]);
            let v = dev
                .call(Method::GET, &format!("/v1/audits{q}"), None)
                .await?;
            out.value(&v, || list_text(&v));
        }
        AuditCmd::Show { audit } => {
            let v = dev
                .call(
                    Method::GET,
                    &format!("/v1/audits/{}", path_segment(&audit)),
                    None,
                )
                .await?;
            out.value(&v, || detail_text(&v));
        }
        cmd @ AuditCmd::Finding { .. } => {
            let (audit, body) = finding_body(dev, cmd).await?;
            let v = dev
                .call(
                    Method::POST,
                    &format!("/v1/audits/{}/findings", path_segment(&audit)),
                    Some(&body),
                )
                .await?;
            out.value(&v, || {
                let last = v["findings"]
                    .as_array()
                    .and_then(|f| f.last())
                    .cloned()
                    .unwrap_or_default();
                format!(
                    "finding {} recorded ({})",
                    last["id"].as_str().unwrap_or("?"),
                    last["result"].as_str().unwrap_or("?")
                )
            });
        }
        AuditCmd::Verify {
            audit,
            finding,
            note,
        } => {
            let v = dev
                .call(
                    Method::POST,
                    &format!(
                        "/v1/audits/{}/findings/{}/verify",
                        path_segment(&audit),
                        path_segment(&finding)
                    ),
                    Some(&json!({ "note": note })),
                )
                .await?;
            out.value(&v, || format!("corrective action of {finding} verified"));
        }
        AuditCmd::Close { audit } => {
            let v = dev
                .call(
                    Method::POST,
                    &format!("/v1/audits/{}/close", path_segment(&audit)),
                    None,
                )
                .await?;
            out.value(&v, || detail_text(&v));
        }
        AuditCmd::Draw { day } => {
            let v = dev
                .call(
                    Method::POST,
                    "/v1/audits/draws",
                    Some(&json!({ "day": day })),
                )
                .await?;
            out.value(&v, || draw_text(&v));
        }
        AuditCmd::Draws { day } => {
            let q = query(&[("day", &day)]);
            let v = dev
                .call(Method::GET, &format!("/v1/audits/draws{q}"), None)
                .await?;
            out.value(&v, || {
                let all: Vec<String> = v.as_array().into_iter().flatten().map(draw_text).collect();
                if all.is_empty() {
                    "no draws".to_owned()
                } else {
                    all.join("\n")
                }
            });
        }
    }
    Ok(())
}
