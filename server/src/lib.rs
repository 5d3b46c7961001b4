//! fieldsync server: the actix-web service devices sync with.
//!
//! | module | concern |
//! | --- | --- |
//! | `config` | settings from defaults, TOML file, environment and flags |
//! | `app` | building and running the HTTP server (tests start it on port 0) |
//! | `db` | storage on SQLite or PostgreSQL through sqlx; projections; sync states |
//! | `auth` | argon2id passwords, JWT access tokens, rotating refresh tokens, the `AuthUser` extractor |
//! | `sync` | `POST /v1/sync`: the batched sync protocol with per-role scope |
//! | `blobs` | photo and signature images: validated, stored once, thumbnailed, scoped |
//! | `workorders` | intake, listing and reading work orders |
//! | `admin` | users |
//! | `ops` | health, readiness, metrics |

pub mod admin;
pub mod app;
pub mod auth;
pub mod blobs;
pub mod config;
pub mod db;
pub mod dispatch;
pub mod error;
pub mod ops;
pub mod state;
pub mod sync;
pub mod workorders;
