use super::*;

fn tech(id: &str, regions: &[&str], skills: &[&str], capacity: u32, open: u32) -> Technician {
    Technician {
        id: id.into(),
        regions: regions.iter().map(|s| (*s).into()).collect(),
        skills: skills.iter().map(|s| (*s).into()).collect(),
        active: true,
        capacity,
        open,
    }
}

fn job(id: &str, region: &str, skills: &[&str], priority: Priority) -> Job {
    Job {
        id: id.into(),
        region: region.into(),
        skills: skills.iter().map(|s| (*s).into()).collect(),
        priority,
        tier: CustomerTier::Standard,
        deadline: None,
        created_at: 0,
        refused: vec![],
    }
}

#[test]
fn eligibility_needs_region_every_skill_activity_and_room() {
    let mut inactive = tech("e", &["north"], &["ovens", "gas"], 5, 0);
    inactive.active = false;
    let techs = vec![
        tech("a", &["south"], &["ovens", "gas"], 5, 0),
        tech("b", &["north"], &["ovens"], 5, 0),
        tech("c", &["north"], &["ovens", "gas"], 2, 2),
        tech("d", &["north", "south"], &["gas", "ovens", "fridges"], 5, 4),
        inactive,
    ];
    let e = explain(
        &job("J", "north", &["ovens", "gas"], Priority::Normal),
        &techs,
    );
    assert_eq!(e.chosen.as_deref(), Some("d"));
    let reason = |id: &str| {
        e.candidates
            .iter()
            .find(|c| c.technician == id)
            .unwrap()
            .excluded
            .clone()
    };
    assert_eq!(
        reason("a"),
        Some(Exclusion::OutsideRegion {
            region: "north".into()
        })
    );
    assert_eq!(
        reason("b"),
        Some(Exclusion::MissingSkills {
            skills: vec!["gas".into()]
        })
    );
    assert_eq!(
        reason("c"),
        Some(Exclusion::AtCapacity {
            open: 2,
            capacity: 2
        })
    );
    assert_eq!(reason("e"), Some(Exclusion::Inactive));
    assert_eq!(reason("d"), None);
    assert_eq!(
        e.candidates[0].technician, "d",
        "the chosen one is listed first"
    );
    assert!(!e.escalate);
}

#[test]
fn the_least_loaded_against_capacity_wins_and_ties_break_by_fewer_jobs_then_id() {
    let techs = vec![
        tech("x", &["r"], &[], 10, 5), // 50 %
        tech("y", &["r"], &[], 4, 1),  // 25 %
        tech("z", &["r"], &[], 8, 2),  // 25 %, more jobs than y
        tech("w", &["r"], &[], 4, 1),  // 25 %, same as y: id decides
    ];
    let e = explain(&job("J", "r", &[], Priority::Normal), &techs);
    let order: Vec<(&str, Option<usize>)> = e
        .candidates
        .iter()
        .map(|c| (c.technician.as_str(), c.rank))
        .collect();
    assert_eq!(
        order,
        [
            ("w", Some(1)),
            ("y", Some(2)),
            ("z", Some(3)),
            ("x", Some(4))
        ]
    );
    assert_eq!(e.chosen.as_deref(), Some("w"));
}

#[test]
fn a_batch_fills_capacity_as_it_goes_and_never_overloads() {
    let mut techs = vec![tech("a", &["r"], &[], 2, 0), tech("b", &["r"], &[], 1, 0)];
    let jobs: Vec<Job> = (0..5)
        .map(|i| job(&format!("J{i}"), "r", &[], Priority::Normal))
        .collect();
    let out = assign_batch(&jobs, &mut techs);
    let given: Vec<Option<&str>> = out.iter().map(|a| a.technician.as_deref()).collect();
    assert_eq!(given, [Some("a"), Some("b"), Some("a"), None, None]);
    assert_eq!((techs[0].open, techs[1].open), (2, 1));
    assert!(
        out.iter().all(|a| !a.escalate),
        "normal jobs wait, they do not escalate"
    );
}

#[test]
fn urgent_then_vip_then_earliest_deadline_are_served_first() {
    let mut techs = vec![tech("a", &["r"], &[], 1, 0)];
    let mut normal_early = job("normal-early", "r", &[], Priority::Normal);
    normal_early.deadline = Some(10);
    let mut vip_customer = job("vip-customer", "r", &[], Priority::Normal);
    vip_customer.tier = CustomerTier::Vip;
    let jobs = vec![
        normal_early.clone(),
        vip_customer.clone(),
        job("urgent", "r", &[], Priority::Urgent),
    ];
    let out = assign_batch(&jobs, &mut techs);
    assert_eq!(out[0].job, "urgent");
    assert_eq!(out[0].technician.as_deref(), Some("a"));
    assert_eq!(out[1].job, "vip-customer");
    assert_eq!(out[2].job, "normal-early");

    let mut late = job("late", "r", &[], Priority::Normal);
    late.deadline = Some(500);
    let mut soon = job("soon", "r", &[], Priority::Normal);
    soon.deadline = Some(100);
    let mut techs = vec![tech("a", &["r"], &[], 1, 0)];
    let out = assign_batch(&[late, soon], &mut techs);
    assert_eq!(out[0].job, "soon");
    assert_eq!(out[0].technician.as_deref(), Some("a"));
    assert_eq!(out[1].technician, None);
}

#[test]
fn an_urgent_job_nobody_can_take_escalates() {
    let mut techs = vec![tech("a", &["r"], &["gas"], 1, 1)];
    let urgent = job("U", "r", &["gas"], Priority::Urgent);
    let e = explain(&urgent, &techs);
    assert!(e.chosen.is_none() && e.escalate);
    let out = assign_batch(&[urgent], &mut techs);
    assert!(out[0].escalate);
}

#[test]
fn explain_and_the_batch_agree_on_the_first_choice() {
    let techs = vec![
        tech("a", &["n", "s"], &["x"], 3, 1),
        tech("b", &["n"], &["x", "y"], 6, 2),
        tech("c", &["n"], &["x"], 3, 0),
    ];
    let j = job("J", "n", &["x"], Priority::Normal);
    let explained = explain(&j, &techs).chosen;
    let mut copy = techs.clone();
    let batch = assign_batch(std::slice::from_ref(&j), &mut copy);
    assert_eq!(explained, batch[0].technician);
    assert_eq!(explained.as_deref(), Some("c"));
}

mod properties {
    use super::*;
    use proptest::prelude::*;

    fn arb_tech() -> impl Strategy<Value = Technician> {
        (
            0..20u8,
            prop::collection::vec(0..4u8, 1..3),
            prop::collection::vec(0..5u8, 0..4),
            0..5u32,
            0..5u32,
            any::<bool>(),
        )
            .prop_map(|(id, regions, skills, capacity, open, active)| Technician {
                id: format!("t{id}"),
                regions: regions.iter().map(|r| format!("r{r}")).collect(),
                skills: skills.iter().map(|s| format!("s{s}")).collect(),
                active,
                capacity,
                open: open.min(capacity),
            })
    }

    fn arb_job() -> impl Strategy<Value = Job> {
        (
            0..1000u32,
            0..4u8,
            prop::collection::vec(0..5u8, 0..3),
            0..3u8,
            prop::option::of(0..100i64),
            prop::collection::vec(0..12u8, 0..3),
        )
            .prop_map(|(id, region, skills, p, deadline, refused)| Job {
                id: format!("j{id}"),
                region: format!("r{region}"),
                skills: skills.iter().map(|s| format!("s{s}")).collect(),
                priority: [Priority::Normal, Priority::Vip, Priority::Urgent][p as usize],
                tier: CustomerTier::Standard,
                deadline,
                created_at: 0,
                refused: refused.iter().map(|t| format!("t{t:02}")).collect(),
            })
    }

    proptest! {
        #[test]
        fn a_batch_assigns_only_eligible_technicians_and_respects_capacity(
            techs in prop::collection::vec(arb_tech(), 0..12),
            jobs in prop::collection::vec(arb_job(), 0..40),
        ) {
            // Unique ids, by position.
            let techs: Vec<Technician> = techs
                .into_iter()
                .enumerate()
                .map(|(i, t)| Technician { id: format!("t{i:02}"), ..t })
                .collect();
            let jobs: Vec<Job> = jobs
                .into_iter()
                .enumerate()
                .map(|(i, j)| Job { id: format!("j{i:02}"), ..j })
                .collect();
            let mut after = techs.clone();
            let out = assign_batch(&jobs, &mut after);
            prop_assert_eq!(out.len(), jobs.len());
            // Replay the decisions one by one against explain(): each chosen technician was
            // eligible at that moment and ranked first.
            let mut replay = techs.clone();
            for a in &out {
                let job = jobs.iter().find(|j| j.id == a.job).unwrap();
                let e = explain(job, &replay);
                prop_assert_eq!(&e.chosen, &a.technician);
                prop_assert_eq!(e.escalate, a.escalate);
                if let Some(t) = &a.technician {
                    let chosen = replay.iter_mut().find(|x| &x.id == t).unwrap();
                    chosen.open += 1;
                }
            }
            prop_assert_eq!(&replay, &after);
            // The explained batch (what the API records) makes the same choices.
            let mut explained_after = techs.clone();
            let explained = explain_batch(&jobs, &mut explained_after);
            let chosen: Vec<(&str, Option<&String>)> =
                explained.iter().map(|e| (e.job.as_str(), e.chosen.as_ref())).collect();
            let decided: Vec<(&str, Option<&String>)> =
                out.iter().map(|a| (a.job.as_str(), a.technician.as_ref())).collect();
            prop_assert_eq!(chosen, decided);
            prop_assert_eq!(&explained_after, &after);
            for t in &after {
                prop_assert!(t.open <= t.capacity, "{} holds {} of {}", t.id, t.open, t.capacity);
            }
        }

        #[test]
        fn chunks_rechecked_against_changing_loads_never_give_more_than_the_free_slots(
            techs in prop::collection::vec(arb_tech(), 0..12),
            jobs in prop::collection::vec(arb_job(), 0..40),
            size in 1..8usize,
            // Per chunk and technician: a new open count outside the batch (None: unchanged).
            changes in prop::collection::vec(prop::collection::vec(prop::option::of(0..6u32), 12), 8),
        ) {
            use super::super::chunk::{Checked, Recheck};
            let techs: Vec<Technician> = techs
                .into_iter()
                .enumerate()
                .map(|(i, t)| Technician { id: format!("t{i:02}"), ..t })
                .collect();
            let jobs: Vec<Job> = jobs
                .into_iter()
                .enumerate()
                .map(|(i, j)| Job { id: format!("j{i:02}"), ..j })
                .collect();
            let plan = explain_batch(&jobs, &mut techs.clone());
            // Unchanged loads: every planned decision stands, in order.
            let mut r = Recheck::new(techs.clone());
            for e in &plan {
                let job = jobs.iter().find(|j| j.id == e.job).unwrap();
                prop_assert_eq!(r.check(e.clone(), Some(job)), Checked::Planned(e.clone()));
            }
            // Loads changed from outside before each chunk.
            let mut stored = techs.clone();
            let mut outcomes = 0;
            for (n, chunk) in plan.chunks(size).enumerate() {
                if let Some(row) = changes.get(n) {
                    for (t, c) in stored.iter_mut().zip(row) {
                        if let Some(open) = c {
                            t.open = *open;
                        }
                    }
                }
                let before = stored.clone();
                let mut r = Recheck::new(stored.clone());
                for e in chunk {
                    let job = jobs.iter().find(|j| j.id == e.job).unwrap();
                    let c = r.check(e.clone(), Some(job));
                    let decided = match &c {
                        Checked::Planned(d) | Checked::Redecided(d) => d,
                        Checked::Gone => return Err(TestCaseError::fail("a waiting job is never gone")),
                    };
                    prop_assert_eq!(&decided.job, &e.job);
                    if let Checked::Redecided(d) = &c {
                        // Decided again: what explain() says with the loads as they were
                        // just before this decision.
                        let mut then = r.technicians().to_vec();
                        if let Some(t) = then.iter_mut().find(|t| d.chosen.as_ref() == Some(&t.id)) {
                            t.open -= 1;
                        }
                        let pool = then.iter().filter(|t| t.regions.contains(&job.region));
                        prop_assert_eq!(&explain(job, pool), d);
                    }
                    outcomes += 1;
                }
                stored = r.technicians().to_vec();
                for (b, a) in before.iter().zip(&stored) {
                    let given = a.open - b.open;
                    prop_assert!(
                        given <= b.capacity.saturating_sub(b.open),
                        "{} had {} of {} free and was given {}", b.id, b.capacity.saturating_sub(b.open), b.capacity, given
                    );
                }
            }
            prop_assert_eq!(outcomes, plan.len());
        }
    }
}

#[test]
fn a_technician_who_declined_or_timed_out_is_skipped_for_the_next() {
    let techs = vec![tech("a", &["r"], &[], 4, 0), tech("b", &["r"], &[], 4, 2)];
    let mut j = job("J", "r", &[], Priority::Normal);
    assert_eq!(explain(&j, &techs).chosen.as_deref(), Some("a"));
    j.refused = vec!["a".into()];
    let e = explain(&j, &techs);
    assert_eq!(e.chosen.as_deref(), Some("b"), "the next technician");
    let a = e.candidates.iter().find(|c| c.technician == "a").unwrap();
    assert_eq!(a.excluded, Some(Exclusion::Refused));
    j.refused.push("b".into());
    j.priority = Priority::Urgent;
    let e = explain(&j, &techs);
    assert_eq!(
        (e.chosen, e.escalate),
        (None, true),
        "urgent, nobody left: escalate"
    );
}
