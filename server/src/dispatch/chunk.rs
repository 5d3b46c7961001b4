//! Re-checking a planned batch, one chunk at a time (pure).
//!
//! A large batch is planned once ([`super::explain_batch`], without any lock) and then
//! recorded in short transactions ("chunks"). Between the plan and a chunk, and between two
//! chunks, the world moves on: an intake is dispatched, a technician declines or finishes a
//! job, an admin lowers a capacity, another instance runs a batch. So every chunk re-reads
//! the technicians' loads under the dispatch lock and passes each planned decision through a
//! [`Recheck`]:
//!
//! - the job is no longer waiting for dispatch: **gone**, nothing is recorded;
//! - the planned technician is still eligible (active, region, skills, not refused) and under
//!   capacity with the loads as they are now: the **planned** decision stands;
//! - a planned "nobody" (waiting, or escalated) still finds nobody eligible: it stands;
//! - otherwise the job is **decided again**, alone, by [`explain`] against the current loads.
//!
//! Every decision that assigns counts against the technician at once, so a chunk never gives
//! more than the free slots it found, whatever happened before it.

use std::collections::HashMap;

use super::{eligible, explain_with, Explanation, Job, Technician, Travel};

/// What a chunk records for one planned decision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Checked {
    /// The plan still holds.
    Planned(Explanation),
    /// The plan no longer held; this is the decision against the current loads.
    Redecided(Explanation),
    /// The job is no longer waiting for dispatch (assigned by someone else, cancelled).
    Gone,
}

/// The technicians as a chunk found them, filled as the chunk decides.
pub struct Recheck {
    technicians: Vec<Technician>,
    by_region: HashMap<String, Vec<usize>>,
    index: HashMap<String, usize>,
    /// Sites and positions, for the jobs decided again (ranked as the plan was).
    travel: Travel,
}

impl Recheck {
    /// Starts from the technicians with their loads as read at the start of the chunk.
    pub fn new(technicians: Vec<Technician>) -> Recheck {
        Recheck::with_travel(technicians, Travel::default())
    }

    /// [`Recheck::new`], deciding again with travel as the plan did.
    pub fn with_travel(technicians: Vec<Technician>, travel: Travel) -> Recheck {
        let mut by_region: HashMap<String, Vec<usize>> = HashMap::new();
        let mut index = HashMap::with_capacity(technicians.len());
        for (i, t) in technicians.iter().enumerate() {
            index.insert(t.id.clone(), i);
            for r in &t.regions {
                let pool = by_region.entry(r.clone()).or_default();
                // A region named twice still makes one candidate.
                if pool.last() != Some(&i) {
                    pool.push(i);
                }
            }
        }
        Recheck {
            technicians,
            by_region,
            index,
            travel,
        }
    }

    /// The technicians with the loads the chunk has reached so far.
    pub fn technicians(&self) -> &[Technician] {
        &self.technicians
    }

    fn pool(&self, region: &str) -> impl Iterator<Item = &Technician> {
        self.by_region
            .get(region)
            .map(Vec::as_slice)
            .unwrap_or(&[])
            .iter()
            .map(|&i| &self.technicians[i])
    }

    /// Checks `planned` against `current` (the job as it is now; `None` when it no longer
    /// waits for dispatch) and counts an assignment against its technician.
    pub fn check(&mut self, planned: Explanation, current: Option<&Job>) -> Checked {
        let Some(job) = current else {
            return Checked::Gone;
        };
        let holds = match &planned.chosen {
            Some(t) => self
                .index
                .get(t)
                .is_some_and(|&i| eligible(&self.technicians[i], job)),
            None => !self.pool(&job.region).any(|t| eligible(t, job)),
        };
        let (checked, chosen) = if holds {
            let chosen = planned.chosen.clone();
            (Checked::Planned(planned), chosen)
        } else {
            let again = explain_with(job, self.pool(&job.region), &self.travel);
            let chosen = again.chosen.clone();
            (Checked::Redecided(again), chosen)
        };
        if let Some(i) = chosen.and_then(|t| self.index.get(&t).copied()) {
            self.technicians[i].open += 1;
        }
        checked
    }
}

#[cfg(test)]
mod tests {
    use sync_core::workorder::{CustomerTier, Priority};

    use super::super::explain_batch;
    use super::*;

    fn tech(id: &str, capacity: u32, open: u32) -> Technician {
        Technician {
            id: id.into(),
            regions: vec!["north".into()],
            skills: vec!["ovens".into()],
            active: true,
            capacity,
            open,
        }
    }

    fn job(id: &str, priority: Priority) -> Job {
        Job {
            id: id.into(),
            region: "north".into(),
            skills: vec!["ovens".into()],
            priority,
            tier: CustomerTier::Standard,
            deadline: None,
            created_at: 0,
            refused: vec![],
        }
    }

    fn chosen(c: &Checked) -> Option<&str> {
        match c {
            Checked::Planned(e) | Checked::Redecided(e) => e.chosen.as_deref(),
            Checked::Gone => None,
        }
    }

    /// Plans `jobs` over `techs`, then rechecks them in chunks of `size` against `now`'s
    /// loads plus what earlier chunks assigned (as the database would hold them).
    fn run_in_chunks(
        jobs: &[Job],
        techs: &[Technician],
        size: usize,
        mut between: impl FnMut(usize, &mut Vec<Technician>),
    ) -> Vec<Checked> {
        let plan = explain_batch(jobs, &mut techs.to_vec());
        let by_id: HashMap<&str, &Job> = jobs.iter().map(|j| (j.id.as_str(), j)).collect();
        let mut stored = techs.to_vec();
        let mut out = vec![];
        for (n, chunk) in plan.chunks(size).enumerate() {
            between(n, &mut stored);
            let mut r = Recheck::new(stored.clone());
            for e in chunk {
                let j = by_id[e.job.as_str()];
                out.push(r.check(e.clone(), Some(j)));
            }
            stored = r.technicians().to_vec();
            for t in &stored {
                assert!(t.open <= t.capacity, "after chunk {n}: {t:?}");
            }
        }
        out
    }

    #[test]
    fn with_nothing_changed_between_chunks_every_planned_decision_stands() {
        let techs = [tech("a", 3, 0), tech("b", 2, 1)];
        let jobs: Vec<Job> = (0..6)
            .map(|i| job(&format!("J{i}"), Priority::Normal))
            .collect();
        let plan = explain_batch(&jobs, &mut techs.to_vec());
        let out = run_in_chunks(&jobs, &techs, 2, |_, _| {});
        assert_eq!(out.len(), plan.len());
        for (c, e) in out.iter().zip(&plan) {
            assert_eq!(c, &Checked::Planned(e.clone()));
        }
        // a takes 3, b its 1 free slot, two wait.
        let waiting = out.iter().filter(|c| chosen(c).is_none()).count();
        assert_eq!(waiting, 2);
    }

    #[test]
    fn a_slot_taken_between_chunks_sends_the_job_to_another_technician_or_leaves_it_waiting() {
        // a and b have 2 slots each; the plan spreads J0..J3 over them.
        let techs = [tech("a", 2, 0), tech("b", 2, 0)];
        let jobs: Vec<Job> = (0..4)
            .map(|i| job(&format!("J{i}"), Priority::Normal))
            .collect();
        // Between the first and the second chunk an intake gives b a job.
        let out = run_in_chunks(&jobs, &techs, 2, |n, stored| {
            if n == 1 {
                stored[1].open += 1;
            }
        });
        let got: Vec<Option<&str>> = out.iter().map(chosen).collect();
        assert_eq!(got, [Some("a"), Some("b"), Some("a"), None]);
        assert!(matches!(out[2], Checked::Planned(_)), "a still had room");
        let Checked::Redecided(e) = &out[3] else {
            panic!("b is full now: decided again, {:?}", out[3]);
        };
        assert_eq!(e.chosen, None);
        assert!(!e.escalate, "a normal job waits");
    }

    #[test]
    fn no_technician_ever_goes_over_capacity_whatever_changes_between_chunks() {
        let techs = [tech("a", 3, 0), tech("b", 3, 0), tech("c", 1, 0)];
        let jobs: Vec<Job> = (0..9)
            .map(|i| {
                let p = if i % 4 == 0 {
                    Priority::Urgent
                } else {
                    Priority::Normal
                };
                job(&format!("J{i}"), p)
            })
            .collect();
        // Before every chunk, something outside the batch fills one technician up (run_in_chunks
        // checks after each chunk that nobody is over capacity).
        let out = run_in_chunks(&jobs, &techs, 2, |n, stored| {
            let t = &mut stored[n % 3];
            t.open = t.capacity;
        });
        // No decision is dropped: one outcome per planned job.
        assert_eq!(out.len(), jobs.len());
        // Urgent jobs nobody could take any more are escalated, not left silently.
        for c in &out {
            if let Checked::Redecided(e) = c {
                let j = jobs.iter().find(|j| j.id == e.job).unwrap();
                assert_eq!(
                    e.escalate,
                    e.chosen.is_none() && j.priority == Priority::Urgent
                );
            }
        }
    }

    #[test]
    fn a_freed_slot_lets_a_planned_wait_or_escalation_be_assigned() {
        let techs = [tech("a", 1, 1)];
        let urgent = job("U", Priority::Urgent);
        let plan = explain_batch(std::slice::from_ref(&urgent), &mut techs.to_vec());
        assert!(plan[0].escalate);
        // The technician finished a job meanwhile.
        let mut r = Recheck::new(vec![tech("a", 1, 0)]);
        let c = r.check(plan[0].clone(), Some(&urgent));
        let Checked::Redecided(e) = c else {
            panic!("someone has room now: {c:?}");
        };
        assert_eq!(e.chosen.as_deref(), Some("a"));
        assert!(!e.escalate);
        assert_eq!(r.technicians()[0].open, 1);
    }

    #[test]
    fn a_technician_who_declined_or_left_is_not_given_the_job_again() {
        let techs = [tech("a", 2, 0), tech("b", 2, 1)];
        let j = job("J", Priority::Normal);
        let plan = explain_batch(std::slice::from_ref(&j), &mut techs.to_vec());
        assert_eq!(plan[0].chosen.as_deref(), Some("a"));
        // a declined the job between the plan and the chunk.
        let mut declined = j.clone();
        declined.refused = vec!["a".into()];
        let mut r = Recheck::new(techs.to_vec());
        assert_eq!(
            chosen(&r.check(plan[0].clone(), Some(&declined))),
            Some("b")
        );
        // a was deactivated instead.
        let mut gone = techs.to_vec();
        gone[0].active = false;
        let mut r = Recheck::new(gone);
        assert_eq!(chosen(&r.check(plan[0].clone(), Some(&j))), Some("b"));
        // a was removed from the technicians altogether.
        let mut r = Recheck::new(vec![techs[1].clone()]);
        assert_eq!(chosen(&r.check(plan[0].clone(), Some(&j))), Some("b"));
    }

    #[test]
    fn a_job_no_longer_waiting_is_gone_and_takes_no_slot() {
        let techs = [tech("a", 1, 0)];
        let j = job("J", Priority::Normal);
        let plan = explain_batch(std::slice::from_ref(&j), &mut techs.to_vec());
        let mut r = Recheck::new(techs.to_vec());
        assert_eq!(r.check(plan[0].clone(), None), Checked::Gone);
        assert_eq!(r.technicians()[0].open, 0);
    }
}
