//! Travel on the command line: coordinates for intake and for the on-site step
//! ([`SiteArgs`]), a technician's home base (`user home`), and a technician's day as a route
//! (`route`).

use anyhow::bail;
use clap::Args;
use reqwest::Method;
use serde_json::{json, Value};
use sync_core::workorder::GeoPoint;

use crate::device::Device;
use crate::output::{path_segment, Out};

/// `--lat`/`--lon` in degrees (WGS84), both or neither.
#[derive(Debug, Clone, Args)]
pub struct SiteArgs {
    /// Latitude in degrees, -90 to 90 (with --lon).
    #[arg(long, requires = "lon", allow_negative_numbers = true)]
    pub lat: Option<f64>,
    /// Longitude in degrees, -180 to 180 (with --lat).
    #[arg(long, requires = "lat", allow_negative_numbers = true)]
    pub lon: Option<f64>,
}

impl SiteArgs {
    /// The point, checked; `None` without `--lat`/`--lon`.
    pub fn point(&self) -> anyhow::Result<Option<GeoPoint>> {
        match (self.lat, self.lon) {
            (Some(lat), Some(lon)) => match GeoPoint::new(lat, lon) {
                Ok(p) => Ok(Some(p)),
                Err(e) => {
                    bail!("{e}; give --lat and --lon in degrees, e.g. --lat 52.52 --lon 13.405")
                }
            },
            (None, None) => Ok(None),
            _ => bail!("give both --lat and --lon, or neither"),
        }
    }

    /// The point as the API's JSON (`{"lat": …, "lon": …}`), when given.
    pub fn json(&self) -> anyhow::Result<Option<Value>> {
        Ok(self.point()?.map(|p| json!({"lat": p.lat, "lon": p.lon})))
    }
}

/// `field-cli user home`: set or clear a technician's home base (admin).
#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  field-cli user home tech-a --lat 52.52 --lon 13.405\n  field-cli user home tech-a --clear --json"
)]
pub struct HomeArgs {
    /// The technician's user id.
    pub user: String,
    #[command(flatten)]
    pub at: SiteArgs,
    /// Remove the home base.
    #[arg(long, conflicts_with_all = ["lat", "lon"])]
    pub clear: bool,
}

/// `field-cli route`: a technician's day as a route.
#[derive(Debug, Args)]
#[command(
    after_help = "Appointments stay in time order; jobs without one are fitted in by nearest neighbour from the home base and improved by 2-opt.\nExamples:\n  field-cli route tech-a --date 2026-12-03\n  field-cli route tech-a --json"
)]
pub struct RouteArgs {
    /// The technician's user id.
    pub technician: String,
    /// The day (UTC), YYYY-MM-DD; default today.
    #[arg(long)]
    pub date: Option<String>,
}

pub async fn home(dev: &Device, a: HomeArgs, out: &Out) -> anyhow::Result<()> {
    let home = match (a.clear, a.at.json()?) {
        (true, _) => Value::Null,
        (false, Some(p)) => p,
        (false, None) => bail!("give --lat and --lon, or --clear"),
    };
    let v = dev
        .call(
            Method::PATCH,
            &format!("/v1/admin/users/{}", path_segment(&a.user)),
            Some(&json!({ "home": home })),
        )
        .await?;
    out.value(&v, || match v["home"].as_object() {
        Some(h) => format!(
            "{}: home base {}, {}",
            a.user,
            h.get("lat").and_then(Value::as_f64).unwrap_or(f64::NAN),
            h.get("lon").and_then(Value::as_f64).unwrap_or(f64::NAN)
        ),
        None => format!("{}: no home base", a.user),
    });
    Ok(())
}

pub async fn route(dev: &Device, a: RouteArgs, out: &Out) -> anyhow::Result<()> {
    let q = a
        .date
        .as_deref()
        .map(|d| format!("?date={}", path_segment(d)))
        .unwrap_or_default();
    let v = dev
        .call(
            Method::GET,
            &format!("/v1/technicians/{}/route{q}", path_segment(&a.technician)),
            None,
        )
        .await?;
    out.value(&v, || human(&v));
    Ok(())
}

fn km(v: &Value) -> String {
    v.as_f64()
        .map(|k| format!("{k:.1} km"))
        .unwrap_or_else(|| "? km".into())
}

fn human(v: &Value) -> String {
    let start = match v["start"].as_object() {
        Some(s) => format!(
            "from home base {}, {}",
            s.get("lat").and_then(Value::as_f64).unwrap_or(f64::NAN),
            s.get("lon").and_then(Value::as_f64).unwrap_or(f64::NAN)
        ),
        None => "no home base".into(),
    };
    let mut lines = vec![format!(
        "{} on {}: {start}",
        v["technician"].as_str().unwrap_or("?"),
        v["date"].as_str().unwrap_or("?")
    )];
    let stops = v["stops"].as_array().map(Vec::as_slice).unwrap_or(&[]);
    if stops.is_empty() {
        lines.push("  no jobs".into());
    }
    for (n, s) in stops.iter().enumerate() {
        let when = match s["appointment"]["start"].as_i64() {
            Some(ms) => time::OffsetDateTime::from_unix_timestamp(ms.div_euclid(1000))
                .ok()
                .and_then(|t| {
                    t.format(time::macros::format_description!("[hour]:[minute]"))
                        .ok()
                })
                .unwrap_or_else(|| "?".into()),
            None => "any time".into(),
        };
        lines.push(format!(
            "  {}. {:<20} {:<9} +{:<10} {}",
            n + 1,
            s["work_order"].as_str().unwrap_or("?"),
            when,
            km(&s["leg_km"]),
            s["customer"].as_str().unwrap_or("")
        ));
    }
    let mut total = format!("  total {}", km(&v["total_km"]));
    if let Some(n) = v["unknown_legs"].as_u64().filter(|n| *n > 0) {
        total.push_str(&format!(" ({n} legs without coordinates not counted)"));
    }
    lines.push(total);
    lines.join("\n")
}
