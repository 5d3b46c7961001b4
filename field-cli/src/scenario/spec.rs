//! The scenario file: its TOML shape, read strictly (an unknown key is an error).

use std::path::Path;

use anyhow::{anyhow, Context};
use serde::Deserialize;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    pub name: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub server: ServerSpec,
    #[serde(default, rename = "user")]
    pub users: Vec<UserSpec>,
    #[serde(default, rename = "order")]
    pub orders: Vec<OrderSpec>,
    #[serde(default, rename = "device")]
    pub devices: Vec<DeviceSpec>,
    #[serde(default, rename = "step")]
    pub steps: Vec<Step>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerSpec {
    /// A service policy (TOML text) for the server.
    pub policy: Option<String>,
    /// Access-token lifetime, to let tokens expire within a scenario.
    pub access_ttl_secs: Option<u32>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserSpec {
    pub id: String,
    pub role: String,
    #[serde(default)]
    pub regions: Vec<String>,
    #[serde(default)]
    pub skills: Vec<String>,
    #[serde(default = "five")]
    pub capacity: i64,
}

fn five() -> i64 {
    5
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OrderSpec {
    pub id: String,
    pub region: String,
    #[serde(default)]
    pub skills: Vec<String>,
    #[serde(default = "normal")]
    pub priority: String,
    #[serde(default = "repair", rename = "type")]
    pub service_type: String,
    #[serde(default = "standard")]
    pub tier: String,
}

fn normal() -> String {
    "normal".into()
}
fn repair() -> String {
    "repair".into()
}
fn standard() -> String {
    "standard".into()
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeviceSpec {
    pub name: String,
    pub user: String,
    /// How far this device's clock is off service time, e.g. "+3h" or "-10m".
    pub clock_skew: Option<String>,
}

/// One step. `op` says what; the other fields are its arguments.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Step {
    pub op: String,
    pub device: Option<String>,
    pub job: Option<String>,
    pub reason: Option<String>,
    pub technician: Option<String>,
    pub at: Option<String>,
    pub cause: Option<String>,
    pub items: Option<Vec<String>>,
    pub sku: Option<String>,
    pub qty: Option<u32>,
    pub price_cents: Option<i64>,
    /// Names a part line for later steps (`part_add`), or refers to one (`part_change`,
    /// `part_remove`).
    pub line: Option<String>,
    pub serial: Option<String>,
    pub text: Option<String>,
    pub passed: Option<bool>,
    pub fixed: Option<bool>,
    pub name: Option<String>,
    pub kind: Option<String>,
    pub score: Option<u8>,
    pub category: Option<String>,
    pub urgent: Option<bool>,
    /// `advance`: how far to move the service clock; `wait`: real seconds (at most 5).
    pub by: Option<String>,
    /// `wait_event`, `no_event`: how long to wait, e.g. "2s".
    pub timeout: Option<String>,
    /// `wait_event`: the event to wait for (default `sync`).
    pub event: Option<String>,
    /// The step must fail with a message containing this.
    pub fails_with: Option<String>,
    // Expectations (`op = "expect"`).
    pub status: Option<String>,
    pub assignee: Option<String>,
    pub accepted: Option<bool>,
    pub converged: Option<Vec<String>>,
    pub held_by: Option<Vec<String>>,
    pub not_held_by: Option<Vec<String>>,
    pub conflicts: Option<Vec<String>>,
    pub open_conflicts: Option<usize>,
    pub parts: Option<usize>,
    pub photos: Option<usize>,
    pub signature_intact: Option<bool>,
    pub breaches: Option<Vec<String>>,
    pub escalations: Option<Vec<String>>,
    pub notes_contain: Option<Vec<String>>,
    pub fixed_outcome: Option<bool>,
    /// `sync`: how many images this sync must upload.
    pub images_uploaded: Option<usize>,
    pub appointment_by: Option<String>,
    pub flagged: Option<Vec<String>>,
    // Spare-part stock (`stock_*` ops, scenario/stock.rs).
    pub location: Option<String>,
    pub counted: Option<i64>,
    pub variance: Option<i64>,
    pub stock_qty: Option<i64>,
    pub consumed: Option<i64>,
    pub moves: Option<usize>,
    pub shortfalls: Option<usize>,
    /// Travel-aware dispatch (`travel_*` ops, scenario/travel.rs).
    pub travel: Option<super::travel::TravelSpec>,
    /// The quality audit (`audit_*` ops, scenario/audit.rs).
    pub audit: Option<super::audit::AuditSpec>,
}

impl Scenario {
    pub fn load(path: &Path) -> anyhow::Result<Scenario> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        Scenario::from_toml_str(&text).map_err(|e| anyhow!("{}: {e}", path.display()))
    }

    /// Parses a scenario from TOML text; the error is one line. Also the entry of the
    /// `scenario_toml` fuzz target (docs/FUZZING.md).
    pub fn from_toml_str(text: &str) -> anyhow::Result<Scenario> {
        toml::from_str(text)
            .map_err(|e| anyhow!("{}", e.to_string().lines().collect::<Vec<_>>().join(" ")))
    }

    /// Environment for a server this scenario needs (`FIELDSYNC_*`), with the policy written
    /// to `dir`.
    pub fn server_env(&self, dir: &Path) -> anyhow::Result<Vec<(String, String)>> {
        let mut env = vec![("FIELDSYNC_CLOCK".to_owned(), "manual".to_owned())];
        if let Some(p) = &self.server.policy {
            let file = dir.join("policy.toml");
            std::fs::write(&file, p).context("writing the scenario's policy")?;
            env.push(("FIELDSYNC_POLICY".into(), file.display().to_string()));
        }
        if let Some(t) = self.server.access_ttl_secs {
            env.push(("FIELDSYNC_ACCESS_TTL_SECS".into(), t.to_string()));
        }
        Ok(env)
    }
}
