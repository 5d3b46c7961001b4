//! Scenario steps for travel-aware dispatch (`op = "travel_…"`); their fields go in a
//! `travel` table of the step:
//!
//! | op | fields | what |
//! | --- | --- | --- |
//! | `travel_home` | `technician`, `travel.lat`, `.lon` | the admin sets the technician's home base |
//! | `travel_intake` | `job`, `travel.region`, `.skills`, optional `.lat`, `.lon`, `.priority` | the admin records a work order (with its site) |
//! | `travel_on_site` | `device`, `job`, `travel.lat`, `.lon` | the technician arrives, reporting where (offline; synced later) |
//! | `travel_expect` | `job`, `travel.chosen`, optional `.position` (`last_known`/`home_base`), `.max_km` | the latest dispatch decision about the job, and the chosen candidate's distance |
//! | `travel_route` | `technician`, `travel.route` (work orders in order), optional `.date`, `.max_km` | the technician's route for the day |
//!
//! ```toml
//! [[step]]
//! op = "travel_intake"
//! job = "WO-2"
//! travel = { region = "north", skills = ["washers"], lat = 52.52, lon = 13.40 }
//! ```

use anyhow::{anyhow, bail};
use reqwest::Method;
use serde::Deserialize;
use serde_json::{json, Value};
use sync_core::workorder::GeoPoint;

use super::spec::Step;
use super::Run;
use crate::output::path_segment;

/// The `travel` table of a step.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TravelSpec {
    pub lat: Option<f64>,
    pub lon: Option<f64>,
    pub region: Option<String>,
    #[serde(default)]
    pub skills: Vec<String>,
    pub priority: Option<String>,
    /// The technician dispatch chooses now.
    pub chosen: Option<String>,
    /// Where the chosen technician's position came from.
    pub position: Option<String>,
    /// The chosen candidate's (or the route's total) distance is at most this many km.
    pub max_km: Option<f64>,
    /// The route's work orders in visiting order.
    pub route: Option<Vec<String>>,
    /// `YYYY-MM-DD`; default the service clock's day.
    pub date: Option<String>,
}

impl TravelSpec {
    fn point(&self, op: &str) -> anyhow::Result<Option<GeoPoint>> {
        match (self.lat, self.lon) {
            (Some(lat), Some(lon)) => GeoPoint::new(lat, lon)
                .map(Some)
                .map_err(|e| anyhow!("{op}: {e}")),
            (None, None) => Ok(None),
            _ => bail!("{op} needs both `travel.lat` and `travel.lon`"),
        }
    }
}

impl Run<'_> {
    pub(super) async fn travel_op(&mut self, s: &Step) -> anyhow::Result<()> {
        let op = s.op.as_str();
        let t = s
            .travel
            .as_ref()
            .ok_or_else(|| anyhow!("{op} needs a `travel` table"))?;
        match op {
            "travel_home" => {
                let who = s
                    .technician
                    .as_deref()
                    .ok_or_else(|| anyhow!("{op} needs `technician`"))?;
                let p = t
                    .point(op)?
                    .ok_or_else(|| anyhow!("{op} needs `travel.lat` and `travel.lon`"))?;
                self.admin
                    .call(
                        Method::PATCH,
                        &format!("/v1/admin/users/{}", path_segment(who)),
                        Some(&json!({"home": {"lat": p.lat, "lon": p.lon}})),
                    )
                    .await?;
            }
            "travel_intake" => {
                let job = self.job(s)?.to_owned();
                let region = t
                    .region
                    .as_deref()
                    .ok_or_else(|| anyhow!("{op} needs `travel.region`"))?;
                let mut intake = json!({
                    "customer": {"name": "Ada Customer", "phone": "+49 30 1234567", "address": "Hauptstr. 1", "tier": "standard"},
                    "product": {"model": "WM-800", "serial": "SN-0001", "purchase_date": ""},
                    "service_type": "repair", "problem": "does not drain",
                    "priority": t.priority.as_deref().unwrap_or("normal"),
                    "required_skills": t.skills, "region": region, "attachments": [],
                });
                if let Some(p) = t.point(op)? {
                    intake["site"] = json!({"lat": p.lat, "lon": p.lon});
                }
                self.admin
                    .call(
                        Method::POST,
                        "/v1/workorders",
                        Some(&json!({"id": job, "intake": intake})),
                    )
                    .await?;
            }
            "travel_on_site" => {
                let job = self.job(s)?.to_owned();
                let p = t.point(op)?;
                self.device(s)?
                    .act(&job, |w, a, now| w.on_site_at(a, p, now))
                    .await?;
            }
            "travel_expect" => {
                let job = self.job(s)?.to_owned();
                let v = self
                    .admin
                    .call(
                        Method::GET,
                        &format!("/v1/workorders/{}/explain", path_segment(&job)),
                        None,
                    )
                    .await?;
                let last = v["decisions"]
                    .as_array()
                    .and_then(|d| d.last())
                    .ok_or_else(|| anyhow!("{job}: no dispatch decision yet"))?;
                check_choice(&last["explanation"], t).map_err(|e| anyhow!("{job}: {e}"))?;
            }
            "travel_route" => {
                let who = s
                    .technician
                    .as_deref()
                    .ok_or_else(|| anyhow!("{op} needs `technician`"))?;
                let q = t
                    .date
                    .as_deref()
                    .map(|d| format!("?date={}", path_segment(d)))
                    .unwrap_or_default();
                let v = self
                    .admin
                    .call(
                        Method::GET,
                        &format!("/v1/technicians/{}/route{q}", path_segment(who)),
                        None,
                    )
                    .await?;
                check_route(&v, t).map_err(|e| anyhow!("route of {who}: {e}"))?;
            }
            other => bail!("unknown op {other:?}"),
        }
        Ok(())
    }
}

fn check_choice(now: &Value, t: &TravelSpec) -> anyhow::Result<()> {
    let chosen = now["chosen"].as_str();
    if let Some(want) = &t.chosen {
        if chosen != Some(want.as_str()) {
            bail!("dispatch would choose {chosen:?}, expected {want}: {now}");
        }
    }
    let c = now["candidates"]
        .as_array()
        .and_then(|cs| cs.iter().find(|c| c["rank"] == 1));
    if let Some(want) = &t.position {
        let got = c.and_then(|c| c["position"].as_str());
        if got != Some(want.as_str()) {
            bail!("the chosen position came from {got:?}, expected {want}: {now}");
        }
    }
    if let Some(max) = t.max_km {
        match c.and_then(|c| c["distance_km"].as_f64()) {
            Some(km) if km <= max => {}
            got => bail!("the chosen distance is {got:?} km, expected at most {max}: {now}"),
        }
    }
    Ok(())
}

fn check_route(v: &Value, t: &TravelSpec) -> anyhow::Result<()> {
    if let Some(want) = &t.route {
        let got: Vec<&str> = v["stops"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|s| s["work_order"].as_str())
            .collect();
        if got != *want {
            bail!("visits {got:?}, expected {want:?}: {v}");
        }
    }
    if let Some(max) = t.max_km {
        match v["total_km"].as_f64() {
            Some(km) if km <= max => {}
            got => bail!("the total is {got:?} km, expected at most {max}"),
        }
    }
    Ok(())
}
