//! `field-cli stock …`: spare parts. Office commands call the server; `stock van` is the
//! technician's view of its own van, offline: the snapshot cached at the last sync, adjusted
//! by the part lines this device recorded (or changed, or removed) that the snapshot does not
//! yet count.

use std::collections::HashMap;

use anyhow::{bail, Context};
use clap::Subcommand;
use reqwest::Method;
use serde_json::{json, Value};

use crate::device::Device;
use crate::output::{path_segment, Out};

#[derive(Debug, Subcommand)]
pub enum StockCmd {
    /// Add a part to the catalogue, or change it (admin).
    #[command(
        after_help = "Example: field-cli stock part PUMP-1 --name \"Drain pump\" --price-cents 4500"
    )]
    Part {
        sku: String,
        #[arg(long)]
        name: String,
        #[arg(long, default_value_t = 0)]
        price_cents: i64,
    },
    /// Create a warehouse (vans are created with their first transfer).
    #[command(
        after_help = "Example: field-cli stock warehouse central --name \"Central warehouse\""
    )]
    Warehouse {
        id: String,
        #[arg(long)]
        name: String,
    },
    /// Receive parts into a warehouse.
    #[command(
        after_help = "Example: field-cli stock receive --location central --sku PUMP-1 --qty 5\nWith serials (one per unit): field-cli stock receive --location central --sku PUMP-1 --qty 2 --serial P-1 --serial P-2"
    )]
    Receive {
        #[arg(long)]
        location: String,
        #[arg(long)]
        sku: String,
        #[arg(long)]
        qty: i64,
        /// One per unit (repeatable).
        #[arg(long = "serial")]
        serials: Vec<String>,
        #[arg(long)]
        note: Option<String>,
    },
    /// Issue parts from a warehouse to a technician's van.
    #[command(
        after_help = "Example: field-cli stock issue --from central --technician tech-a --sku PUMP-1 --qty 2"
    )]
    Issue {
        #[arg(long)]
        from: String,
        #[arg(long)]
        technician: String,
        #[arg(long)]
        sku: String,
        #[arg(long)]
        qty: i64,
        #[arg(long = "serial")]
        serials: Vec<String>,
    },
    /// Move parts between any two locations (a van is van:<technician>).
    #[command(
        after_help = "Example: field-cli stock transfer --from van:tech-a --to central --sku PUMP-1 --qty 1"
    )]
    Transfer {
        #[arg(long)]
        from: String,
        #[arg(long)]
        to: String,
        #[arg(long)]
        sku: String,
        #[arg(long)]
        qty: i64,
        #[arg(long = "serial")]
        serials: Vec<String>,
    },
    /// Record a removed old part brought back, by its serial, for repair or scrap.
    #[command(
        after_help = "Example: field-cli stock return --location central --sku PUMP-1 --serial OLD-9 --disposition scrap"
    )]
    Return {
        #[arg(long)]
        location: String,
        #[arg(long)]
        sku: String,
        #[arg(long)]
        serial: String,
        /// repair or scrap.
        #[arg(long)]
        disposition: String,
        #[arg(long)]
        work_order: Option<String>,
    },
    /// Count a van or warehouse: each SKU=COUNTED against what the ledger expected.
    #[command(
        after_help = "Example: field-cli stock count van:tech-a PUMP-1=0 FILTER-2=4 --note \"evening check\""
    )]
    Count {
        location: String,
        /// SKU=COUNTED (one or more).
        #[arg(required = true)]
        items: Vec<String>,
        #[arg(long)]
        note: Option<String>,
    },
    /// Set a low-stock threshold: below --min, reorder up to --reorder-to.
    #[command(
        after_help = "Example: field-cli stock threshold central PUMP-1 --min 5 --reorder-to 20"
    )]
    Threshold {
        location: String,
        sku: String,
        #[arg(long)]
        min: i64,
        #[arg(long)]
        reorder_to: i64,
    },
    /// The levels of one location, or the list of locations.
    #[command(
        after_help = "Example: field-cli stock levels central\nAll locations: field-cli stock levels"
    )]
    Levels { location: Option<String> },
    /// This technician's van, offline: the last sync's snapshot adjusted by unsynced part lines.
    #[command(after_help = "Example: field-cli --device ~/.fieldsync/phone stock van --json")]
    Van,
    /// SKUs below their threshold, with how many to reorder.
    #[command(after_help = "Example: field-cli stock reorder --json")]
    Reorder,
    /// Vans below zero (parts used offline before they were issued), to reconcile.
    #[command(after_help = "Example: field-cli stock shortfalls")]
    Shortfalls,
    /// The ledger, newest first: a work order's traceable parts, a location's moves.
    #[command(after_help = "Example: field-cli stock moves --work-order WO-123")]
    Moves {
        #[arg(long)]
        work_order: Option<String>,
        #[arg(long)]
        location: Option<String>,
        #[arg(long)]
        sku: Option<String>,
        #[arg(long, default_value_t = 50)]
        limit: i64,
    },
}

/// Parses `SKU=COUNTED`.
fn count_item(s: &str) -> anyhow::Result<Value> {
    let (sku, n) = s
        .split_once('=')
        .with_context(|| format!("{s:?}: write each count as SKU=COUNTED, e.g. PUMP-1=3"))?;
    let n: i64 = n
        .trim()
        .parse()
        .with_context(|| format!("{s:?}: the count after '=' is a whole number"))?;
    Ok(json!({"sku": sku.trim(), "counted": n}))
}

fn moved(v: &Value) -> String {
    let n = v["moves"].as_array().map_or(0, Vec::len);
    let levels: Vec<String> = v["levels"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|l| {
            format!(
                "{} {} now {}",
                l["location"].as_str().unwrap_or("?"),
                l["sku"].as_str().unwrap_or("?"),
                l["qty"]
            )
        })
        .collect();
    format!("{n} move(s) recorded; {}", levels.join(", "))
}

fn levels_text(v: &Value) -> String {
    let mut lines = vec![format!(
        "{} ({})",
        v["location"]["id"].as_str().unwrap_or("?"),
        v["location"]["kind"].as_str().unwrap_or("?")
    )];
    for l in v["levels"].as_array().into_iter().flatten() {
        let mut line = format!(
            "  {:<16} {:>6}",
            l["sku"].as_str().unwrap_or("?"),
            l["qty"].as_i64().unwrap_or(0)
        );
        if l["qty"].as_i64().unwrap_or(0) < 0 {
            line.push_str("  SHORT: to reconcile");
        } else if l["low"] == true {
            line.push_str(&format!("  low (min {})", l["min_qty"]));
        }
        if let Some(p) = l["pending"].as_i64().filter(|p| *p != 0) {
            line.push_str(&format!("  ({p:+} not yet synced)"));
        }
        lines.push(line);
    }
    if lines.len() == 1 {
        lines.push("  (nothing)".into());
    }
    lines.join("\n")
}

/// The van snapshot adjusted by this device's part lines the snapshot does not count yet.
pub fn adjust_van(snapshot: &mut Value, jobs: &[sync_core::workorder::View], me: &str) {
    let counted: HashMap<(String, String), i64> = snapshot["lines"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|l| {
            Some((
                (
                    l["wo_id"].as_str()?.to_owned(),
                    l["line"].as_str()?.to_owned(),
                ),
                l["qty"].as_i64()?,
            ))
        })
        .collect();
    let mut pending: HashMap<String, i64> = HashMap::new();
    for v in jobs {
        for p in v.parts.iter().filter(|p| p.added.user == me) {
            let want = if p.removed.is_some() {
                0
            } else {
                i64::from(p.qty)
            };
            let had = counted
                .get(&(v.id.clone(), p.line.clone()))
                .copied()
                .unwrap_or(0);
            if want != had {
                *pending.entry(p.sku.clone()).or_default() += want - had;
            }
        }
    }
    let Some(levels) = snapshot["levels"].as_array_mut() else {
        return;
    };
    for (sku, used) in pending {
        match levels.iter_mut().find(|l| l["sku"] == sku.as_str()) {
            Some(l) => {
                let q = l["qty"].as_i64().unwrap_or(0);
                l["qty"] = json!(q - used);
                l["pending"] = json!(-used);
            }
            None => levels.push(
                json!({"sku": sku, "qty": -used, "pending": -used, "serials": [], "low": false}),
            ),
        }
    }
}

pub async fn run(dev: &Device, cmd: StockCmd, out: &Out) -> anyhow::Result<()> {
    match cmd {
        StockCmd::Part {
            sku,
            name,
            price_cents,
        } => {
            let v = dev
                .call(
                    Method::PUT,
                    &format!("/v1/admin/parts/{}", path_segment(&sku)),
                    Some(&json!({"name": name, "price_cents": price_cents})),
                )
                .await?;
            out.value(&v, || format!("part {sku} ({name}) in the catalogue"));
        }
        StockCmd::Warehouse { id, name } => {
            let v = dev
                .call(
                    Method::POST,
                    "/v1/stock/locations",
                    Some(&json!({"id": id, "name": name})),
                )
                .await?;
            out.value(&v, || format!("warehouse {id} created"));
        }
        StockCmd::Receive {
            location,
            sku,
            qty,
            serials,
            note,
        } => {
            let body = json!({"location": location, "sku": sku, "qty": qty, "serials": serials, "note": note});
            let v = dev
                .call(Method::POST, "/v1/stock/receipts", Some(&body))
                .await?;
            out.value(&v, || moved(&v));
        }
        StockCmd::Issue {
            from,
            technician,
            sku,
            qty,
            serials,
        } => {
            let body = json!({"from": from, "to": format!("van:{technician}"), "sku": sku, "qty": qty, "serials": serials});
            let v = dev
                .call(Method::POST, "/v1/stock/transfers", Some(&body))
                .await?;
            out.value(&v, || moved(&v));
        }
        StockCmd::Transfer {
            from,
            to,
            sku,
            qty,
            serials,
        } => {
            let body = json!({"from": from, "to": to, "sku": sku, "qty": qty, "serials": serials});
            let v = dev
                .call(Method::POST, "/v1/stock/transfers", Some(&body))
                .await?;
            out.value(&v, || moved(&v));
        }
        StockCmd::Return {
            location,
            sku,
            serial,
            disposition,
            work_order,
        } => {
            let body = json!({"location": location, "sku": sku, "serial": serial, "disposition": disposition, "work_order": work_order});
            let v = dev
                .call(Method::POST, "/v1/stock/returns", Some(&body))
                .await?;
            out.value(&v, || {
                let wo = v["moves"][0]["wo_id"]
                    .as_str()
                    .unwrap_or("no known work order");
                format!("old part {serial} returned for {disposition} ({wo})")
            });
        }
        StockCmd::Count {
            location,
            items,
            note,
        } => {
            let items: Vec<Value> = items
                .iter()
                .map(|s| count_item(s))
                .collect::<Result<_, _>>()?;
            let body = json!({"location": location, "items": items, "note": note});
            let v = dev
                .call(Method::POST, "/v1/stock/counts", Some(&body))
                .await?;
            out.value(&v, || {
                v.as_array()
                    .into_iter()
                    .flatten()
                    .map(|r| {
                        format!(
                            "{} {}: counted {}, expected {}, variance {:+}",
                            r["location"].as_str().unwrap_or("?"),
                            r["sku"].as_str().unwrap_or("?"),
                            r["counted"],
                            r["expected"],
                            r["variance"].as_i64().unwrap_or(0)
                        )
                    })
                    .collect::<Vec<_>>()
                    .join("\n")
            });
        }
        StockCmd::Threshold {
            location,
            sku,
            min,
            reorder_to,
        } => {
            let v = dev
                .call(
                    Method::PUT,
                    &format!(
                        "/v1/stock/thresholds/{}/{}",
                        path_segment(&location),
                        path_segment(&sku)
                    ),
                    Some(&json!({"min_qty": min, "reorder_to": reorder_to})),
                )
                .await?;
            out.value(&v, || {
                format!("{location} {sku}: below {min}, reorder up to {reorder_to}")
            });
        }
        StockCmd::Levels { location: Some(l) } => {
            let v = dev
                .call(
                    Method::GET,
                    &format!("/v1/stock/locations/{}", path_segment(&l)),
                    None,
                )
                .await?;
            out.value(&v, || levels_text(&v));
        }
        StockCmd::Levels { location: None } => {
            let v = dev.call(Method::GET, "/v1/stock/locations", None).await?;
            out.value(&v, || {
                v.as_array()
                    .into_iter()
                    .flatten()
                    .map(|l| {
                        format!(
                            "{:<24} {:<10} {}",
                            l["id"].as_str().unwrap_or("?"),
                            l["kind"].as_str().unwrap_or("?"),
                            l["name"].as_str().unwrap_or("")
                        )
                    })
                    .collect::<Vec<_>>()
                    .join("\n")
            });
        }
        StockCmd::Van => {
            let Some(mut v) = dev.van_snapshot().await? else {
                bail!("no van snapshot on this device yet: sync once while online");
            };
            let me = dev.actor().await?.user;
            adjust_van(&mut v, &dev.jobs().await?, &me);
            out.value(&v, || levels_text(&v));
        }
        StockCmd::Reorder => {
            let v = dev.call(Method::GET, "/v1/stock/reorder", None).await?;
            out.value(&v, || {
                let rows: Vec<String> = v
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|l| {
                        format!(
                            "{:<20} {:<16} has {:>5}, min {}, order {}",
                            l["location"].as_str().unwrap_or("?"),
                            l["sku"].as_str().unwrap_or("?"),
                            l["qty"],
                            l["min_qty"],
                            l["suggested"]
                        )
                    })
                    .collect();
                if rows.is_empty() {
                    "nothing to reorder".into()
                } else {
                    rows.join("\n")
                }
            });
        }
        StockCmd::Shortfalls => {
            let v = dev.call(Method::GET, "/v1/stock/shortfalls", None).await?;
            out.value(&v, || {
                let rows: Vec<String> = v
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|l| {
                        let jobs: Vec<&str> = l["consumptions"]
                            .as_array()
                            .into_iter()
                            .flatten()
                            .filter_map(|m| m["wo_id"].as_str())
                            .collect();
                        format!(
                            "{:<20} {:<16} {:>5}  used on {}",
                            l["location"].as_str().unwrap_or("?"),
                            l["sku"].as_str().unwrap_or("?"),
                            l["qty"],
                            jobs.join(", ")
                        )
                    })
                    .collect();
                if rows.is_empty() {
                    "no shortfalls".into()
                } else {
                    rows.join("\n")
                }
            });
        }
        StockCmd::Moves {
            work_order,
            location,
            sku,
            limit,
        } => {
            let mut q = vec![format!("limit={limit}")];
            for (k, v) in [
                ("work_order", work_order),
                ("location", location),
                ("sku", sku),
            ] {
                if let Some(v) = v {
                    q.push(format!("{k}={}", path_segment(&v)));
                }
            }
            let v = dev
                .call(
                    Method::GET,
                    &format!("/v1/stock/moves?{}", q.join("&")),
                    None,
                )
                .await?;
            out.value(&v, || {
                v.as_array()
                    .into_iter()
                    .flatten()
                    .map(|m| {
                        format!(
                            "#{} {:<20} {} x{} {} -> {}{}{}",
                            m["id"],
                            m["kind"].as_str().unwrap_or("?"),
                            m["sku"].as_str().unwrap_or("?"),
                            m["qty"],
                            m["from_loc"].as_str().unwrap_or("-"),
                            m["to_loc"].as_str().unwrap_or("-"),
                            m["wo_id"]
                                .as_str()
                                .map(|w| format!("  {w}"))
                                .unwrap_or_default(),
                            m["serial"]
                                .as_str()
                                .filter(|s| !s.is_empty())
                                .map(|s| format!(" serial {s}"))
                                .unwrap_or_default()
                        )
                    })
                    .collect::<Vec<_>>()
                    .join("\n")
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_are_sku_equals_number() {
        assert_eq!(
            count_item("PUMP-1=3").unwrap(),
            json!({"sku": "PUMP-1", "counted": 3})
        );
        assert!(count_item("PUMP-1").is_err());
        assert!(count_item("PUMP-1=x").is_err());
    }
}
