//! Set-up through the API as the admin: a region and a skill of the run's own, `n`
//! technicians and `n × k` work orders, every technician holding exactly `k`.

use std::collections::HashMap;

use anyhow::{anyhow, Context};
use futures_util::stream::{self, StreamExt, TryStreamExt};
use reqwest::Method;
use serde_json::json;

use super::admin::Admin;
use super::progress::Progress;

/// Admin requests in flight at once during set-up. Each user creation (and each device's login)
/// costs an argon2 hash that the server bounds to about its cores, answering `503` beyond
/// that: a few requests keep it busy without filling its queue.
pub const SETUP_CONCURRENCY: usize = 4;

/// The technicians of one scope and their shared password.
pub struct Crew {
    pub users: Vec<String>,
    pub password: String,
}

/// Creates region and skill `scope`, `n` technicians `scope-t0…` (capacity `k`) and `n × k`
/// work orders in that region, then assigns whatever dispatch on intake left unassigned.
pub async fn provision(
    admin: &Admin,
    progress: &Progress,
    scope: &str,
    n: usize,
    k: usize,
) -> anyhow::Result<Crew> {
    for kind in ["regions", "skills"] {
        admin
            .call(
                Method::PUT,
                &format!("/v1/admin/{kind}/{scope}"),
                Some(&json!({ "name": format!("Bench {scope}") })),
            )
            .await
            .with_context(|| format!("bench setup: creating {kind} {scope}"))?;
    }
    let password = format!("{scope}-{}", uuid::Uuid::new_v4().simple());
    let users: Vec<String> = (0..n).map(|i| format!("{scope}-t{i}")).collect();
    let bar = progress.phase("users", n);
    stream::iter(users.iter())
        .map(|user| {
            let (bar, password) = (&bar, &password);
            async move {
                admin
                    .call(
                        Method::POST,
                        "/v1/admin/users",
                        Some(&json!({
                            "id": user, "role": "technician", "password": password,
                            "regions": [scope], "skills": [scope], "capacity": k,
                        })),
                    )
                    .await
                    .with_context(|| format!("bench setup: creating technician {user}"))?;
                bar.inc(1);
                anyhow::Ok(())
            }
        })
        .buffer_unordered(SETUP_CONCURRENCY)
        .try_collect::<Vec<()>>()
        .await?;
    bar.finish();

    let bar = progress.phase("intake", n * k);
    let orders: Vec<(String, Option<String>)> = stream::iter(0..n * k)
        .map(|i| {
            let bar = &bar;
            async move {
                let intake = json!({
                    "customer": {"name": format!("Bench customer {i}"), "phone": "+49 30 1234567",
                                 "address": format!("Benchstr. {i}"), "tier": "standard"},
                    "product": {"model": "WM-800", "serial": format!("SN-{scope}-{i}"), "purchase_date": ""},
                    "service_type": "repair", "problem": "does not drain", "priority": "normal",
                    "required_skills": [scope], "region": scope, "attachments": [],
                });
                let v = admin
                    .call(Method::POST, "/v1/workorders", Some(&json!({ "intake": intake })))
                    .await
                    .with_context(|| format!("bench setup: intake of work order {i} of {}", n * k))?;
                let id = v["id"]
                    .as_str()
                    .ok_or_else(|| anyhow!("bench setup: intake of work order {i}: no id in the answer"))?
                    .to_owned();
                bar.inc(1);
                anyhow::Ok((id, v["assignee"].as_str().map(str::to_owned)))
            }
        })
        .buffer_unordered(SETUP_CONCURRENCY)
        .try_collect()
        .await?;
    bar.finish();

    let plan = assignment_plan(&users, k, &orders)?;
    if !plan.is_empty() {
        let bar = progress.phase("assign", plan.len());
        stream::iter(plan)
            .map(|(id, tech)| {
                let bar = &bar;
                async move {
                    admin
                        .call(
                            Method::POST,
                            &format!("/v1/workorders/{id}/assign"),
                            Some(&json!({ "technician": tech })),
                        )
                        .await
                        .with_context(|| {
                            format!("bench setup: assigning work order {id} to {tech}")
                        })?;
                    bar.inc(1);
                    anyhow::Ok(())
                }
            })
            .buffer_unordered(SETUP_CONCURRENCY)
            .try_collect::<Vec<()>>()
            .await?;
        bar.finish();
    }
    Ok(Crew { users, password })
}

/// Dispatch on intake should have given every technician exactly `k` (capacity `k`, the
/// least-loaded first). Plans the assignment of whatever it left unassigned (a server with
/// `auto_on_intake = false`) to technicians with room.
pub fn assignment_plan(
    users: &[String],
    k: usize,
    orders: &[(String, Option<String>)],
) -> anyhow::Result<Vec<(String, String)>> {
    let mut load: HashMap<&str, usize> = users.iter().map(|u| (u.as_str(), 0)).collect();
    let mut unassigned = Vec::new();
    for (id, assignee) in orders {
        match assignee.as_deref().and_then(|a| load.get_mut(a)) {
            Some(count) => *count += 1,
            None => unassigned.push(id.as_str()),
        }
    }
    let mut slots = users.iter().flat_map(|u| {
        std::iter::repeat_n(
            u.as_str(),
            k.saturating_sub(load.get(u.as_str()).copied().unwrap_or(0)),
        )
    });
    let mut plan = Vec::new();
    for id in unassigned {
        let tech = slots.next().ok_or_else(|| {
            anyhow!("bench setup: work order {id} is not assigned to a bench technician and none has room left (the server's dispatch gave some technicians more than {k})")
        })?;
        plan.push((id.to_owned(), tech.to_owned()));
    }
    Ok(plan)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unassigned_orders_fill_the_technicians_with_room() {
        let users = vec!["a".to_owned(), "b".to_owned()];
        let orders = vec![
            ("w1".to_owned(), Some("a".to_owned())),
            ("w2".to_owned(), None),
            ("w3".to_owned(), Some("someone-else".to_owned())),
            ("w4".to_owned(), None),
        ];
        let plan = assignment_plan(&users, 2, &orders).unwrap_or_default();
        assert_eq!(
            plan,
            vec![
                ("w2".to_owned(), "a".to_owned()),
                ("w3".to_owned(), "b".to_owned()),
                ("w4".to_owned(), "b".to_owned()),
            ]
        );
        let full = vec![("w5".to_owned(), None); 5];
        assert!(assignment_plan(&users, 2, &full).is_err());
    }
}
