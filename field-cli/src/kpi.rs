//! `field-cli kpi …`: the manager's report over a range (`kpi`), the daily summaries
//! (`kpi daily`) and the weekly or monthly trends (`kpi trends`). Every one prints a table
//! for people or, with `--json`, the server's answer.

use anyhow::bail;
use clap::{Args, Subcommand};
use reqwest::Method;
use serde_json::Value;

use crate::device::Device;
use crate::output::{path_segment, Out};

/// `field-cli kpi [--from --to --region]`, or one of its subcommands.
#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  field-cli kpi --from 2026-11-01 --to 2026-11-30 --region north\n  \
                  field-cli kpi trends --period week --from 2026-09-07 --to 2026-11-29\n  \
                  field-cli --json kpi daily --from 2026-11-23 --to 2026-11-29"
)]
pub struct KpiArgs {
    #[command(subcommand)]
    pub cmd: Option<KpiCmd>,
    #[command(flatten)]
    pub range: Range,
}

/// The days and region asked for; the server's defaults when left out.
#[derive(Debug, Clone, Args)]
pub struct Range {
    /// First day, YYYY-MM-DD (UTC).
    #[arg(long, global = true)]
    pub from: Option<String>,
    /// Last day, inclusive, YYYY-MM-DD; at most 366 days after --from.
    #[arg(long, global = true)]
    pub to: Option<String>,
    #[arg(long, global = true)]
    pub region: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum KpiCmd {
    /// One summary per day: volume, completed, resolution, satisfaction, first-time fix and
    /// repeat-fault rates (default: today).
    #[command(after_help = "Example: field-cli kpi daily --from 2026-11-23 --to 2026-11-29")]
    Daily,
    /// The same figures per day, ISO week (Monday to Sunday) or calendar month. Without
    /// --from: the last 30 days, 12 weeks or 12 months up to --to (default today).
    #[command(after_help = "Examples:\n  field-cli kpi trends --period month\n  \
                      field-cli kpi trends --period week --from 2026-09-07 --to 2026-11-29 --region north")]
    Trends {
        /// day, week or month.
        #[arg(long)]
        period: String,
    },
}

pub async fn run(dev: &Device, args: KpiArgs, out: &Out) -> anyhow::Result<()> {
    let Range { from, to, region } = args.range;
    let mut q: Vec<(&str, String)> = [("from", from), ("to", to), ("region", region)]
        .into_iter()
        .filter_map(|(k, v)| v.map(|v| (k, v)))
        .collect();
    match args.cmd {
        None => {
            let v = dev.call(Method::GET, &path("/v1/kpi", &q), None).await?;
            out.kpi(&v);
        }
        Some(KpiCmd::Daily) => {
            let v = dev
                .call(Method::GET, &path("/v1/kpi/daily", &q), None)
                .await?;
            out.value(&v, || series(&v, "date"));
        }
        Some(KpiCmd::Trends { period }) => {
            if !["day", "week", "month"].contains(&period.as_str()) {
                bail!("--period {period:?}: use day, week or month");
            }
            q.insert(0, ("period", period));
            let v = dev
                .call(Method::GET, &path("/v1/kpi/trends", &q), None)
                .await?;
            out.value(&v, || series(&v, "period"));
        }
    }
    Ok(())
}

fn path(base: &str, q: &[(&str, String)]) -> String {
    if q.is_empty() {
        return base.to_owned();
    }
    let q: Vec<String> = q
        .iter()
        .map(|(k, v)| format!("{k}={}", path_segment(v)))
        .collect();
    format!("{base}?{}", q.join("&"))
}

/// One line per day or period: its label, the days a cut period covers, and the figures.
fn series(v: &Value, label: &str) -> String {
    let rate = |r: &Value| match r["rate"].as_f64() {
        Some(x) => format!(
            "{:>5.1} % ({}/{})",
            x * 100.0,
            r["numerator"],
            r["denominator"]
        ),
        None => format!("{:>5} ({}/{})", "n/a", r["numerator"], r["denominator"]),
    };
    let mut lines = vec![format!(
        "{:<10} {:>4} {:>6} {:>9}  {:<20} {:<20} {:<20} {:<20}",
        label,
        "days",
        "volume",
        "completed",
        "resolution",
        "satisfaction",
        "first-time fix",
        "repeat faults"
    )];
    for p in v.as_array().into_iter().flatten() {
        lines.push(format!(
            "{:<10} {:>4} {:>6} {:>9}  {:<20} {:<20} {:<20} {:<20}",
            p[label].as_str().unwrap_or("?"),
            p["days"].as_u64().unwrap_or(1),
            p["volume"].as_u64().unwrap_or(0),
            p["completed"].as_u64().unwrap_or(0),
            rate(&p["resolution_rate"]),
            rate(&p["satisfaction"]),
            rate(&p["first_time_fix"]),
            rate(&p["repeat_fault_rate"]),
        ));
    }
    lines
        .iter()
        .map(|l| l.trim_end())
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_query_is_escaped_and_left_out_when_empty() {
        assert_eq!(path("/v1/kpi", &[]), "/v1/kpi");
        assert_eq!(
            path(
                "/v1/kpi/trends",
                &[("period", "week".into()), ("region", "north east".into())]
            ),
            "/v1/kpi/trends?period=week&region=north%20east"
        );
    }

    #[test]
    fn a_trend_prints_one_line_per_period() {
        let v = json!([{
            "period": "2026-W09", "days": 1, "volume": 3, "completed": 2,
            "resolution_rate": {"numerator": 2, "denominator": 2, "rate": 1.0},
            "satisfaction": {"numerator": 0, "denominator": 0, "rate": null},
            "first_time_fix": {"numerator": 1, "denominator": 2, "rate": 0.5},
            "repeat_fault_rate": {"numerator": 1, "denominator": 4, "rate": 0.25},
        }]);
        let text = series(&v, "period");
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 2);
        assert!(lines[0].contains("repeat faults"), "{text}");
        assert!(
            lines[1].starts_with("2026-W09      1      3         2"),
            "{text}"
        );
        assert!(lines[1].contains("100.0 % (2/2)"), "{text}");
        assert!(lines[1].contains("  n/a (0/0)"), "{text}");
        assert!(lines[1].contains(" 25.0 % (1/4)"), "{text}");
    }
}
