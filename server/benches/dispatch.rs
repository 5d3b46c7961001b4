//! `cargo bench -p server --bench dispatch`
//!
//! Auto-assign 10,000 open work orders to 2,000 technicians over 50 regions and 30 skills
//! (target: under 1 s on 2 cores), and a single intake decision (target: under 1 ms), both
//! with and without the full explanation (the API records an explanation for every decision;
//! a region's candidates only).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use criterion::{criterion_group, criterion_main, BatchSize, Criterion};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use server::dispatch::{assign_batch, explain, explain_batch, Job, Technician};
use sync_core::workorder::{CustomerTier, Priority};

const JOBS: usize = 10_000;
const TECHS: usize = 2_000;
const REGIONS: usize = 50;
const SKILLS: usize = 30;

fn world() -> (Vec<Job>, Vec<Technician>) {
    let mut rng = StdRng::seed_from_u64(7);
    let techs = (0..TECHS)
        .map(|i| {
            let home = i % REGIONS;
            let mut regions = vec![format!("region-{home}")];
            if rng.gen_bool(0.3) {
                regions.push(format!("region-{}", (home + 1) % REGIONS));
            }
            let skills = (0..rng.gen_range(4..10))
                .map(|_| format!("skill-{}", rng.gen_range(0..SKILLS)))
                .collect();
            Technician {
                id: format!("tech-{i:04}"),
                regions,
                skills,
                active: rng.gen_bool(0.95),
                capacity: rng.gen_range(4..10),
                open: rng.gen_range(0..3),
            }
        })
        .collect();
    let jobs = (0..JOBS)
        .map(|i| Job {
            id: format!("WO-{i:05}"),
            region: format!("region-{}", rng.gen_range(0..REGIONS)),
            skills: (0..rng.gen_range(1..3))
                .map(|_| format!("skill-{}", rng.gen_range(0..SKILLS)))
                .collect(),
            priority: match rng.gen_range(0..20) {
                0 => Priority::Urgent,
                1..=3 => Priority::Vip,
                _ => Priority::Normal,
            },
            tier: if rng.gen_bool(0.1) {
                CustomerTier::Vip
            } else {
                CustomerTier::Standard
            },
            deadline: Some(1_790_000_000_000 + rng.gen_range(0..86_400_000)),
            created_at: 1_789_900_000_000 + i as i64,
            refused: vec![],
        })
        .collect();
    (jobs, techs)
}

fn bench(c: &mut Criterion) {
    let (jobs, techs) = world();
    {
        let mut t = techs.clone();
        let out = assign_batch(&jobs, &mut t);
        let assigned = out.iter().filter(|a| a.technician.is_some()).count();
        let escalated = out.iter().filter(|a| a.escalate).count();
        assert!(
            t.iter().all(|x| x.open <= x.capacity),
            "nobody is overloaded"
        );
        eprintln!(
            "batch: {assigned} of {JOBS} assigned, {escalated} urgent escalated, {} left waiting",
            JOBS - assigned
        );
    }
    let mut group = c.benchmark_group("dispatch");
    group.sample_size(20);
    group.bench_function("auto-assign 10,000 jobs to 2,000 technicians", |b| {
        b.iter_batched_ref(
            || techs.clone(),
            |t| assign_batch(&jobs, t),
            BatchSize::LargeInput,
        )
    });
    group.bench_function("auto-assign 10,000 jobs, every decision explained", |b| {
        b.iter_batched_ref(
            || techs.clone(),
            |t| explain_batch(&jobs, t),
            BatchSize::LargeInput,
        )
    });
    let one = &jobs[0];
    group.bench_function("single intake decision", |b| {
        b.iter_batched_ref(
            || techs.clone(),
            |t| assign_batch(std::slice::from_ref(one), t),
            BatchSize::LargeInput,
        )
    });
    group.bench_function("single decision with full explanation", |b| {
        b.iter(|| explain(one, &techs))
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
