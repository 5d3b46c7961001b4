//! Dispatch: which technician gets a job, and why. This module is the pure decision core;
//! `service` reads technicians and jobs from the database and records decisions, `api` is
//! the HTTP surface.
//!
//! A technician is **eligible** for a job when active, working in the job's region, holding
//! every required skill, with open jobs under capacity, and not one who already declined the
//! job or let its acceptance time out. Eligible technicians are **ranked**
//! by load against capacity (open / capacity, compared exactly by cross-multiplication), then
//! by travel distance to the job's site when coordinates are known ([`travel`]: nearer first,
//! unknown distances after every known one), then by fewer open jobs, then by id, so ties break
//! the same way everywhere. Without coordinates the ranking is load, open jobs, id, as before. In a **batch**, jobs
//! are served urgent first, then VIP (priority or customer tier), then normal; within a class by
//! earliest SLA deadline, then oldest, then id; and every assignment counts against capacity
//! at once, so a batch never overloads anyone.
//!
//! Deciding is cheap; explaining is on demand: [`explain`] lists every candidate with its score
//! or the reason it was excluded, and gives the same choice as [`assign_batch`] would.

pub mod api;
pub mod batch;
pub mod chunk;
pub mod places;
pub mod route;
pub mod route_api;
pub mod service;
pub mod travel;

use std::cmp::Ordering;
use std::collections::HashMap;

use serde::Serialize;
use sync_core::workorder::{CustomerTier, Priority};

pub use travel::{Km, PositionSource, Travel};

#[cfg(test)]
mod tests;
#[cfg(test)]
mod travel_tests;

/// A technician as dispatch sees them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Technician {
    pub id: String,
    pub regions: Vec<String>,
    pub skills: Vec<String>,
    pub active: bool,
    /// Open jobs they can hold at once.
    pub capacity: u32,
    /// Jobs assigned and not yet completed or cancelled.
    pub open: u32,
}

/// A job waiting for a technician.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Job {
    pub id: String,
    pub region: String,
    pub skills: Vec<String>,
    pub priority: Priority,
    pub tier: CustomerTier,
    /// The SLA deadline that matters for dispatch (ms since the epoch), if any.
    pub deadline: Option<i64>,
    pub created_at: i64,
    /// Technicians who declined this job or let its acceptance time out: try the next one.
    pub refused: Vec<String>,
}

impl Job {
    /// 0 urgent, 1 VIP (by priority or customer tier), 2 normal.
    fn class(&self) -> u8 {
        match (self.priority, self.tier) {
            (Priority::Urgent, _) => 0,
            (Priority::Vip, _) | (_, CustomerTier::Vip) => 1,
            _ => 2,
        }
    }
}

/// Why a technician cannot take a job.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "reason", rename_all = "snake_case")]
pub enum Exclusion {
    Inactive,
    OutsideRegion {
        region: String,
    },
    MissingSkills {
        skills: Vec<String>,
    },
    AtCapacity {
        open: u32,
        capacity: u32,
    },
    /// Declined this job, or let its acceptance time out.
    Refused,
}

/// One candidate in an explanation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CandidateOutcome {
    pub technician: String,
    pub open: u32,
    pub capacity: u32,
    /// `None` when eligible.
    pub excluded: Option<Exclusion>,
    /// Position among the eligible (1 = chosen), when eligible.
    pub rank: Option<usize>,
    /// Great-circle distance from the technician's best-known position to the job's site,
    /// in km; absent when either is unknown.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub distance_km: Option<Km>,
    /// Where that position came from: `last_known` (an on-site report today) or `home_base`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub position: Option<PositionSource>,
}

/// Why a job went to whom.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Explanation {
    pub job: String,
    pub chosen: Option<String>,
    /// Urgent and nobody eligible: a manager must step in now.
    pub escalate: bool,
    pub candidates: Vec<CandidateOutcome>,
}

/// One decision of a batch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Assignment {
    pub job: String,
    pub technician: Option<String>,
    pub escalate: bool,
}

fn exclusion(t: &Technician, job: &Job) -> Option<Exclusion> {
    if !t.active {
        return Some(Exclusion::Inactive);
    }
    if !t.regions.contains(&job.region) {
        return Some(Exclusion::OutsideRegion {
            region: job.region.clone(),
        });
    }
    let missing: Vec<String> = job
        .skills
        .iter()
        .filter(|s| !t.skills.contains(s))
        .cloned()
        .collect();
    if !missing.is_empty() {
        return Some(Exclusion::MissingSkills { skills: missing });
    }
    if t.open >= t.capacity {
        return Some(Exclusion::AtCapacity {
            open: t.open,
            capacity: t.capacity,
        });
    }
    if job.refused.contains(&t.id) {
        return Some(Exclusion::Refused);
    }
    None
}

/// [`exclusion`] is `None`, without allocating (the batch's hot loop).
fn eligible(t: &Technician, job: &Job) -> bool {
    t.active
        && t.open < t.capacity
        && t.regions.contains(&job.region)
        && job.skills.iter().all(|s| t.skills.contains(s))
        && !job.refused.contains(&t.id)
}

/// What ranking compares of a candidate.
#[derive(Debug, Clone, Copy)]
struct RankKey<'a> {
    id: &'a str,
    open: u32,
    capacity: u32,
    /// To the job's site; `None` when the site or the technician's position is unknown.
    distance: Option<Km>,
}

fn key_of(c: &CandidateOutcome) -> RankKey<'_> {
    RankKey {
        id: &c.technician,
        open: c.open,
        capacity: c.capacity,
        distance: c.distance_km,
    }
}

/// Less loaded first (open/capacity compared exactly), then nearer (a known distance before
/// an unknown one), then fewer open jobs, then id.
fn rank(a: RankKey<'_>, b: RankKey<'_>) -> Ordering {
    (u64::from(a.open) * u64::from(b.capacity))
        .cmp(&(u64::from(b.open) * u64::from(a.capacity)))
        .then(match (a.distance, b.distance) {
            (Some(x), Some(y)) => x.cmp(&y),
            (Some(_), None) => Ordering::Less,
            (None, Some(_)) => Ordering::Greater,
            (None, None) => Ordering::Equal,
        })
        .then(a.open.cmp(&b.open))
        .then(a.id.cmp(b.id))
}

/// The order jobs are served in.
fn job_order(a: &Job, b: &Job) -> Ordering {
    a.class()
        .cmp(&b.class())
        .then_with(|| match (a.deadline, b.deadline) {
            (Some(x), Some(y)) => x.cmp(&y),
            (Some(_), None) => Ordering::Less,
            (None, Some(_)) => Ordering::Greater,
            (None, None) => Ordering::Equal,
        })
        .then(a.created_at.cmp(&b.created_at))
        .then_with(|| a.id.cmp(&b.id))
}

/// Every candidate with its exclusion or rank, for one job, given the technicians' loads
/// (ranking by load alone: [`explain_with`] without coordinates).
pub fn explain<'a>(
    job: &Job,
    technicians: impl IntoIterator<Item = &'a Technician>,
) -> Explanation {
    explain_with(job, technicians, &Travel::default())
}

/// [`explain`] with travel: each candidate's distance to the job's site, when known, ranks
/// after load and is shown in km with where the technician's position came from.
pub fn explain_with<'a>(
    job: &Job,
    technicians: impl IntoIterator<Item = &'a Technician>,
    travel: &Travel,
) -> Explanation {
    let site = travel.site(&job.id);
    let mut candidates: Vec<CandidateOutcome> = technicians
        .into_iter()
        .map(|t| {
            let leg = travel.leg(&t.id, site);
            CandidateOutcome {
                technician: t.id.clone(),
                open: t.open,
                capacity: t.capacity,
                excluded: exclusion(t, job),
                rank: None,
                distance_km: leg.map(|l| l.distance),
                position: leg.map(|l| l.from),
            }
        })
        .collect();
    let mut eligible: Vec<usize> = (0..candidates.len())
        .filter(|&i| candidates[i].excluded.is_none())
        .collect();
    eligible.sort_by(|&a, &b| rank(key_of(&candidates[a]), key_of(&candidates[b])));
    for (rank, &i) in eligible.iter().enumerate() {
        candidates[i].rank = Some(rank + 1);
    }
    let chosen = eligible.first().map(|&i| candidates[i].technician.clone());
    candidates.sort_by(|a, b| match (a.rank, b.rank) {
        (Some(x), Some(y)) => x.cmp(&y),
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (None, None) => a.technician.cmp(&b.technician),
    });
    Explanation {
        job: job.id.clone(),
        escalate: chosen.is_none() && job.priority == Priority::Urgent,
        chosen,
        candidates,
    }
}

/// The batch of [`assign_batch`], explained: jobs served in the same order, each decided by
/// [`explain`] over the technicians of its region (with the loads as the batch has filled
/// them so far). Gives the same choices as [`assign_batch`] (a property test checks it), at
/// the cost of listing every candidate; the API records these explanations.
pub fn explain_batch(jobs: &[Job], technicians: &mut [Technician]) -> Vec<Explanation> {
    explain_batch_with(jobs, technicians, &Travel::default())
}

/// [`explain_batch`] with travel (as [`explain_with`]); the same choices as
/// [`assign_batch_with`] with the same travel.
pub fn explain_batch_with(
    jobs: &[Job],
    technicians: &mut [Technician],
    travel: &Travel,
) -> Vec<Explanation> {
    let mut by_region: HashMap<String, Vec<usize>> = HashMap::new();
    for (i, t) in technicians.iter().enumerate() {
        for r in &t.regions {
            let pool = by_region.entry(r.clone()).or_default();
            // A region named twice still makes one candidate.
            if pool.last() != Some(&i) {
                pool.push(i);
            }
        }
    }
    let index: HashMap<String, usize> = technicians
        .iter()
        .enumerate()
        .map(|(i, t)| (t.id.clone(), i))
        .collect();
    let mut order: Vec<&Job> = jobs.iter().collect();
    order.sort_by(|a, b| job_order(a, b));
    let mut out = Vec::with_capacity(jobs.len());
    for job in order {
        let pool = by_region.get(&job.region).map(Vec::as_slice).unwrap_or(&[]);
        let e = explain_with(job, pool.iter().map(|&i| &technicians[i]), travel);
        if let Some(i) = e.chosen.as_ref().and_then(|c| index.get(c)) {
            technicians[*i].open += 1;
        }
        out.push(e);
    }
    out
}

/// Assigns many jobs at once without overloading anyone. Returns one decision per job, in
/// the order the jobs were served, and leaves each technician's `open` updated.
pub fn assign_batch(jobs: &[Job], technicians: &mut [Technician]) -> Vec<Assignment> {
    assign_batch_with(jobs, technicians, &Travel::default())
}

/// [`assign_batch`] with travel: at equal load the nearer technician (see [`travel`]).
pub fn assign_batch_with(
    jobs: &[Job],
    technicians: &mut [Technician],
    travel: &Travel,
) -> Vec<Assignment> {
    // Index technicians by region so a job looks only at its region's people; for a handful
    // of jobs (an intake decision) building the index costs more than scanning everyone.
    let everyone: Vec<usize> = (0..technicians.len()).collect();
    let mut by_region: HashMap<&str, Vec<usize>> = HashMap::new();
    if jobs.len() > 4 {
        for (i, t) in technicians.iter().enumerate() {
            if t.active {
                for r in &t.regions {
                    by_region.entry(r.as_str()).or_default().push(i);
                }
            }
        }
    }
    let by_region: HashMap<String, Vec<usize>> = by_region
        .into_iter()
        .map(|(r, v)| (r.to_owned(), v))
        .collect();
    let mut order: Vec<&Job> = jobs.iter().collect();
    order.sort_by(|a, b| job_order(a, b));
    let mut out = Vec::with_capacity(jobs.len());
    for job in order {
        let site = travel.site(&job.id);
        let mut best: Option<(usize, Option<Km>)> = None;
        let pool: &[usize] = if by_region.is_empty() && jobs.len() <= 4 {
            &everyone
        } else {
            by_region.get(&job.region).map(Vec::as_slice).unwrap_or(&[])
        };
        for &i in pool {
            let t = &technicians[i];
            if !eligible(t, job) {
                continue;
            }
            let d = travel.leg(&t.id, site).map(|l| l.distance);
            best = match best {
                Some((b, bd)) => {
                    let c = &technicians[b];
                    let this = RankKey {
                        id: &t.id,
                        open: t.open,
                        capacity: t.capacity,
                        distance: d,
                    };
                    let that = RankKey {
                        id: &c.id,
                        open: c.open,
                        capacity: c.capacity,
                        distance: bd,
                    };
                    if rank(this, that) == Ordering::Less {
                        Some((i, d))
                    } else {
                        Some((b, bd))
                    }
                }
                None => Some((i, d)),
            };
        }
        let best = best.map(|(b, _)| b);
        if let Some(b) = best {
            technicians[b].open += 1;
        }
        out.push(Assignment {
            job: job.id.clone(),
            technician: best.map(|b| technicians[b].id.clone()),
            escalate: best.is_none() && job.priority == Priority::Urgent,
        });
    }
    out
}
