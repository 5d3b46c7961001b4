//! The quality audit (SERVICE-RULES "Quality audit"; issue 12, part 2): every day a random
//! sample of the work orders completed that day is inspected, and each finding records the
//! standard, pass or fail, the problem, the responsible team, the corrective action, its
//! deadline and its verification.
//!
//! | file | what |
//! | --- | --- |
//! | `sample` | the draw as a pure function of seed, rate and candidates (specified there, so anyone can reproduce a draw) |
//! | `draw` | the draw in the database: candidates, audits, least-loaded auditors; run by each clock pass |
//! | `model` | the types the API shows, checks on findings |
//! | `store` | reading audits, findings, history and draws |
//! | `api` | listing audits and draws; the admin's draw on demand |
//! | `findings` | recording findings, verifying corrective actions, closing audits |
//! | `kpi` | pass rate and open corrective actions for the managers' KPI report |
//!
//! **On the service clock.** A failed finding's corrective action is a row of `clocks` with
//! rule `QA-CORRECTIVE` (anchor: the finding id; due: its deadline), written when the finding
//! is recorded and stopped (`met`) when it is verified. The clock pass records its breach like
//! any rule's, so it shows in `GET /v1/breaches`, the board's breach counts, the console's
//! queues and the daily KPI summary, and is pushed on the event feed. The rules of
//! `clock/rules.rs` never produce this row, and the projection leaves rules named `QA-…` alone
//! (`clock::store::stored_clocks`).
//!
//! **Who sees what.** Auditors and managers see the audits of their own regions, admins all;
//! technicians, dispatchers and agents have no audit views. The audit's auditor (an auditor of
//! the region may take one still waiting) or an admin records findings and closes it; auditors
//! and managers of the region and admins verify corrective actions. Findings are only ever
//! inserted, a verification is written once, and `audit_history` keeps who did what and when.

use actix_web::web;

pub mod api;
pub mod draw;
pub mod findings;
pub mod kpi;
pub mod model;
pub mod sample;
pub mod store;

pub fn routes(cfg: &mut web::ServiceConfig) {
    // `draws` before `{id}`: audit ids all start `aud-`, so no audit is called `draws`.
    cfg.route("/v1/audits", web::get().to(api::list))
        .route("/v1/audits/draws", web::get().to(api::draws))
        .route("/v1/audits/draws", web::post().to(api::run_draw))
        .route("/v1/audits/{id}", web::get().to(api::get))
        .route("/v1/audits/{id}/findings", web::post().to(findings::record))
        .route(
            "/v1/audits/{id}/findings/{finding}/verify",
            web::post().to(findings::verify),
        )
        .route("/v1/audits/{id}/close", web::post().to(findings::close));
}
