//! fieldsync server: the actix-web service devices sync with.
//!
//! | module | concern |
//! | --- | --- |
//! | `config` | settings from defaults, TOML file, environment and flags |
//! | `app` | building and running the HTTP server (tests start it on port 0) |
//! | `db` | storage on SQLite or PostgreSQL through sqlx; projections; sync states |
//! | `auth` | argon2id passwords, JWT access tokens, rotating refresh tokens, the `AuthUser` extractor |
//! | `sync` | `POST /v1/sync`: the batched sync protocol with per-role scope |
//! | `events` | `GET /v1/events`: live push (server-sent events) telling devices when to sync |
//! | `blobs` | photo and signature images: validated, stored once, thumbnailed, scoped |
//! | `workorders` | intake, listing and reading work orders |
//! | `admin` | users, regions, skills, parts catalogue |
//! | `dispatch` | which technician gets a job and why; auto, batch and manual dispatch |
//! | `clock` | the service clock: deadlines, breaches, escalations, field time, devices |
//! | `policy` | the service policy (TOML): clock rules, dispatch, KPI targets |
//! | `projection` | what a work order's relational projection holds: a pure function of its events |
//! | `kpi` | KPI facts per work order, reports and daily summaries |
//! | `audit` | the daily quality-audit sample, findings, corrective actions on the clock |
//! | `stock` | spare parts: warehouses, vans, the ledger of moves, counts, reorder list |
//! | `board` | the dispatcher's board, technicians' loads, KPI endpoints |
//! | `console` | the dispatcher console in the browser: embedded pages, cookie session, its reads |
//! | `demo` | `--demo`: a small realistic day in an empty database |
//! | `ops` | health, readiness, metrics, OpenAPI |

pub mod admin;
pub mod app;
pub mod audit;
pub mod auth;
pub mod blobs;
pub mod board;
pub mod clock;
pub mod config;
pub mod console;
pub mod db;
pub mod demo;
pub mod dispatch;
pub mod error;
pub mod events;
pub mod kpi;
pub mod ops;
pub mod policy;
pub mod projection;
pub mod state;
pub mod stock;
pub mod sync;
pub mod workorders;
