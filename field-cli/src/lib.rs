//! field-cli: a technician's or dispatcher's device on the command line.
//!
//! | module | concern |
//! | --- | --- |
//! | `api` | the server's HTTP API: tokens, JSON calls, the binary sync exchange, blobs |
//! | `device` | the offline store, the session, operations offline, `sync` |
//! | `cli` | the commands and what they print |
//! | `output` | text for people, JSON for scripts |
//! | `audit` | `audit …`: the day's audit sample, findings, corrective actions, draws |
//! | `bench` | the load generator |
//! | `kpi` | `kpi …`: the manager's report, daily summaries, weekly and monthly trends |
//! | `route` | travel: coordinates for intake and on-site, home bases, a technician's day as a route |
//! | `scenario` | sync scenarios (TOML) against a real server |
//! | `stock` | `stock …`: spare parts, and the technician's van offline |
//! | `watch` | `sync --watch`: the server's event stream, a sync on each event |

pub mod api;
pub mod audit;
pub mod bench;
pub mod cli;
pub mod device;
pub mod kpi;
pub mod output;
pub mod route;
pub mod scenario;
pub mod stock;
pub mod watch;
