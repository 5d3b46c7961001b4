//! Scenario steps for spare-part stock (`op = "stock_…"`), as office calls (the step's
//! device user, or the admin) and checks against the server's ledger:
//!
//! | op | fields | what |
//! | --- | --- | --- |
//! | `stock_part` | `sku`, `name`, `price_cents` | add the part to the catalogue (admin) |
//! | `stock_warehouse` | `location`, `name` | create a warehouse |
//! | `stock_receive` | `location`, `sku`, `qty` | receive parts into a warehouse |
//! | `stock_issue` | `location` (from), `technician`, `sku`, `qty` | transfer to the technician's van |
//! | `stock_count` | `location`, `sku`, `counted`, optional `variance` | count, and check the variance |
//! | `stock_expect` | `location`, `sku`, `stock_qty`; optional `job` + `consumed`, `moves`; `shortfalls` | check levels, a job's net consumption and its number of ledger moves, the number of shortfalls |

use anyhow::{anyhow, bail};
use reqwest::Method;
use serde_json::{json, Value};

use super::spec::Step;
use super::Run;
use crate::output::path_segment;

fn need<'s, T>(v: &'s Option<T>, op: &str, field: &str) -> anyhow::Result<&'s T> {
    v.as_ref().ok_or_else(|| anyhow!("{op} needs `{field}`"))
}

impl Run<'_> {
    pub(super) async fn stock_op(&mut self, s: &Step) -> anyhow::Result<()> {
        let op = s.op.as_str();
        match op {
            "stock_part" => {
                let sku = need(&s.sku, op, "sku")?;
                let body = json!({"name": s.name.clone().unwrap_or_else(|| sku.clone()),
                                  "price_cents": s.price_cents.unwrap_or(0)});
                self.admin
                    .call(
                        Method::PUT,
                        &format!("/v1/admin/parts/{}", path_segment(sku)),
                        Some(&body),
                    )
                    .await?;
            }
            "stock_warehouse" => {
                let id = need(&s.location, op, "location")?;
                let body = json!({"id": id, "name": s.name.clone().unwrap_or_else(|| id.clone())});
                self.office_call(s, Method::POST, "/v1/stock/locations", body)
                    .await?;
            }
            "stock_receive" => {
                let body = json!({"location": need(&s.location, op, "location")?,
                                  "sku": need(&s.sku, op, "sku")?, "qty": need(&s.qty, op, "qty")?});
                self.office_call(s, Method::POST, "/v1/stock/receipts", body)
                    .await?;
            }
            "stock_issue" => {
                let tech = need(&s.technician, op, "technician")?;
                let body = json!({"from": need(&s.location, op, "location")?, "to": format!("van:{tech}"),
                                  "sku": need(&s.sku, op, "sku")?, "qty": need(&s.qty, op, "qty")?});
                self.office_call(s, Method::POST, "/v1/stock/transfers", body)
                    .await?;
            }
            "stock_count" => {
                let body = json!({"location": need(&s.location, op, "location")?,
                                  "items": [{"sku": need(&s.sku, op, "sku")?, "counted": need(&s.counted, op, "counted")?}]});
                let v = self
                    .office_call(s, Method::POST, "/v1/stock/counts", body)
                    .await?;
                if let Some(want) = s.variance {
                    let got = v[0]["variance"].as_i64();
                    self.check(got == Some(want), || {
                        format!("count variance {got:?}, expected {want}")
                    })?;
                }
            }
            "stock_expect" => self.stock_expect(s).await?,
            other => bail!("unknown stock op {other:?}"),
        }
        Ok(())
    }

    async fn stock_expect(&mut self, s: &Step) -> anyhow::Result<()> {
        let before = self.checks;
        if let (Some(loc), Some(want)) = (&s.location, s.stock_qty) {
            let sku = need(&s.sku, "stock_expect", "sku")?;
            let v = self
                .admin
                .call(
                    Method::GET,
                    &format!("/v1/stock/locations/{}", path_segment(loc)),
                    None,
                )
                .await?;
            let got = v["levels"]
                .as_array()
                .into_iter()
                .flatten()
                .find(|l| l["sku"] == sku.as_str())
                .and_then(|l| l["qty"].as_i64())
                .unwrap_or(0);
            self.check(got == want, || {
                format!("{loc} holds {got} of {sku}, expected {want}")
            })?;
        }
        if let Some(job) = &s.job {
            let v = self
                .admin
                .call(
                    Method::GET,
                    &format!("/v1/stock/moves?work_order={}", path_segment(job)),
                    None,
                )
                .await?;
            let moves: Vec<&Value> = v.as_array().into_iter().flatten().collect();
            if let Some(want) = s.consumed {
                let net: i64 = moves
                    .iter()
                    .map(|m| match m["kind"].as_str() {
                        Some("consumption") => m["qty"].as_i64().unwrap_or(0),
                        Some("consumption_reversal") => -m["qty"].as_i64().unwrap_or(0),
                        _ => 0,
                    })
                    .sum();
                self.check(net == want, || {
                    format!("{job} consumed {net} part(s) net, expected {want}")
                })?;
            }
            if let Some(want) = s.moves {
                self.check(moves.len() == want, || {
                    format!("{job} has {} stock move(s), expected {want}", moves.len())
                })?;
            }
        }
        if let Some(want) = s.shortfalls {
            let v = self
                .admin
                .call(Method::GET, "/v1/stock/shortfalls", None)
                .await?;
            let got = v.as_array().map_or(0, Vec::len);
            self.check(got == want, || {
                format!("{got} shortfall(s), expected {want}: {v}")
            })?;
        }
        if self.checks == before {
            bail!("stock_expect checks nothing: give location + sku + stock_qty, job + consumed/moves, or shortfalls");
        }
        Ok(())
    }
}
