//! Scenario steps for the quality audit (`op = "audit_…"`), as calls by the step's device user
//! (or the admin). An audit is named by its work order (`job`); its fields go in an `audit`
//! table of the step:
//!
//! | op | fields | what |
//! | --- | --- | --- |
//! | `audit_draw` | optional `audit.sample` | the admin runs yesterday's draw (idempotent); checks how many were chosen |
//! | `audit_expect` | `audit.sample`; or `job` with `audit.state`, `.auditor`, `.findings`, `.open_actions` | the latest draw's audits the user sees; one job's audit |
//! | `audit_finding` | `job`, `audit.standard`, `.result` (`pass`/`fail`), `.problem`, `.team`, `.action`, `.deadline` (`+48h` or RFC 3339), `.note` | record a finding |
//! | `audit_verify` | `job`, optional `audit.note` | verify the first failed finding not verified yet |
//! | `audit_close` | `job` | close the audit |
//!
//! ```toml
//! [[step]]
//! op = "audit_finding"
//! device = "auditor"
//! job = "WO-1"
//! audit = { standard = "after photo", result = "fail", problem = "none taken", team = "north crew", action = "send it", deadline = "+2h" }
//! ```

use anyhow::{anyhow, bail};
use reqwest::Method;
use serde::Deserialize;
use serde_json::{json, Value};

use super::spec::Step;
use super::Run;
use crate::output::path_segment;

/// The `audit` table of a step.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditSpec {
    pub standard: Option<String>,
    /// `pass` or `fail`.
    pub result: Option<String>,
    pub problem: Option<String>,
    pub team: Option<String>,
    pub action: Option<String>,
    /// `+DURATION` from the service clock's now, or a time (RFC 3339).
    pub deadline: Option<String>,
    pub note: Option<String>,
    /// How many audits the latest draw holds (that the user sees).
    pub sample: Option<usize>,
    pub state: Option<String>,
    pub auditor: Option<String>,
    pub findings: Option<usize>,
    /// Failed findings not verified yet.
    pub open_actions: Option<usize>,
}

impl Run<'_> {
    fn audit_spec<'s>(&self, s: &'s Step) -> &'s AuditSpec {
        static NONE: AuditSpec = AuditSpec {
            standard: None,
            result: None,
            problem: None,
            team: None,
            action: None,
            deadline: None,
            note: None,
            sample: None,
            state: None,
            auditor: None,
            findings: None,
            open_actions: None,
        };
        s.audit.as_ref().unwrap_or(&NONE)
    }

    async fn as_user(&self, s: &Step, method: Method, path: &str) -> anyhow::Result<Value> {
        let who = match &s.device {
            Some(_) => self.device(s)?,
            None => &self.admin,
        };
        who.call(method, path, None).await
    }

    /// The most recent audit of the step's job, with its findings.
    async fn audit_of(&self, s: &Step) -> anyhow::Result<Value> {
        let job = self.job(s)?;
        let list = self.as_user(s, Method::GET, "/v1/audits").await?;
        let id = list
            .as_array()
            .into_iter()
            .flatten()
            .filter(|a| a["wo_id"] == job)
            .filter_map(|a| a["id"].as_str())
            .next_back()
            .ok_or_else(|| anyhow!("{job} has no audit (was it drawn?)"))?
            .to_owned();
        self.as_user(s, Method::GET, &format!("/v1/audits/{}", path_segment(&id)))
            .await
    }

    pub(super) async fn audit_op(&mut self, s: &Step) -> anyhow::Result<()> {
        let a = self.audit_spec(s);
        match s.op.as_str() {
            "audit_draw" => {
                let v = self
                    .admin
                    .call(Method::POST, "/v1/audits/draws", Some(&json!({})))
                    .await?;
                if let Some(want) = a.sample {
                    let got: usize = v["regions"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .map(|r| r["chosen"].as_array().map_or(0, Vec::len))
                        .sum();
                    self.check(got == want, || {
                        format!("the draw chose {got}, expected {want}: {v}")
                    })?;
                }
            }
            "audit_expect" => self.audit_expect(s).await?,
            "audit_finding" => {
                let deadline_at = match &a.deadline {
                    Some(d) => {
                        let v = self.admin.call(Method::GET, "/v1/clock", None).await?;
                        let now = v["now"].as_i64().unwrap_or_default();
                        Some(crate::cli::parse_time(d, now)?)
                    }
                    None => None,
                };
                let body = json!({
                    "standard": a.standard.clone().unwrap_or_default(),
                    "result": a.result.clone().unwrap_or_else(|| "pass".into()),
                    "problem": a.problem, "responsible_team": a.team,
                    "corrective_action": a.action, "deadline_at": deadline_at, "note": a.note,
                });
                let audit = self.audit_of(s).await?;
                let id = audit["id"].as_str().unwrap_or_default();
                self.office_call(
                    s,
                    Method::POST,
                    &format!("/v1/audits/{}/findings", path_segment(id)),
                    body,
                )
                .await?;
            }
            "audit_verify" => {
                let audit = self.audit_of(s).await?;
                let id = audit["id"].as_str().unwrap_or_default();
                let finding = audit["findings"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .find(|f| f["result"] == "fail" && f["verified_at"].is_null())
                    .and_then(|f| f["id"].as_str())
                    .ok_or_else(|| anyhow!("audit {id} has no corrective action to verify"))?;
                let path = format!(
                    "/v1/audits/{}/findings/{}/verify",
                    path_segment(id),
                    path_segment(finding)
                );
                self.office_call(s, Method::POST, &path, json!({"note": a.note}))
                    .await?;
            }
            "audit_close" => {
                let audit = self.audit_of(s).await?;
                let id = audit["id"].as_str().unwrap_or_default();
                self.office_call(
                    s,
                    Method::POST,
                    &format!("/v1/audits/{}/close", path_segment(id)),
                    json!({}),
                )
                .await?;
            }
            other => bail!("unknown audit op {other:?}"),
        }
        Ok(())
    }

    async fn audit_expect(&mut self, s: &Step) -> anyhow::Result<()> {
        let before = self.checks;
        let a = self.audit_spec(s);
        if let Some(want) = a.sample {
            let draws = self.as_user(s, Method::GET, "/v1/audits/draws").await?;
            let day = draws[0]["day"]
                .as_str()
                .ok_or_else(|| anyhow!("no audit draw yet"))?
                .to_owned();
            let list = self
                .as_user(s, Method::GET, &format!("/v1/audits?day={day}"))
                .await?;
            let got = list.as_array().map_or(0, Vec::len);
            self.check(got == want, || {
                format!("{day}'s sample holds {got} audit(s), expected {want}: {list}")
            })?;
        }
        if s.job.is_some() {
            let audit = self.audit_of(s).await?;
            let findings: Vec<&Value> =
                audit["findings"].as_array().into_iter().flatten().collect();
            if let Some(want) = &a.state {
                let got = audit["state"].as_str().unwrap_or_default();
                self.check(got == want, || {
                    format!("audit state {got:?}, expected {want:?}")
                })?;
            }
            if let Some(want) = &a.auditor {
                let got = audit["auditor"].as_str().unwrap_or_default();
                self.check(got == want, || {
                    format!("auditor {got:?}, expected {want:?}")
                })?;
            }
            if let Some(want) = a.findings {
                self.check(findings.len() == want, || {
                    format!("{} finding(s), expected {want}", findings.len())
                })?;
            }
            if let Some(want) = a.open_actions {
                let got = findings
                    .iter()
                    .filter(|f| f["result"] == "fail" && f["verified_at"].is_null())
                    .count();
                self.check(got == want, || {
                    format!("{got} corrective action(s) open, expected {want}")
                })?;
            }
        }
        if self.checks == before {
            bail!("audit_expect checks nothing: give audit.sample, or job with audit.state/auditor/findings/open_actions");
        }
        Ok(())
    }
}
