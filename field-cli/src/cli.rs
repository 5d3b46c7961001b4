//! The command line: what each command does and prints. Technician commands work on the
//! device's own store with no server; office commands call the server as the logged-in user.

use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Context};
use clap::{Args, Parser, Subcommand};
use reqwest::Method;
use serde_json::{json, Value};
use sync_core::workorder::{PartInput, PhotoKind, QuoteItem};

use crate::device::Device;
use crate::output::{self, Out};

#[derive(Debug, Parser)]
#[command(
    name = "field-cli",
    version,
    about = "fieldsync on the command line: a technician's device that works offline, a dispatcher's console, sync scenarios and a load generator",
    after_help = "Examples:\n  field-cli --device ~/.fieldsync/phone login --server http://127.0.0.1:8080 --user tech-a\n  field-cli --device ~/.fieldsync/phone sync\n  field-cli --device ~/.fieldsync/phone jobs\n  field-cli --device ~/.fieldsync/phone accept WO-123\n  field-cli --device ~/.fieldsync/office board --json"
)]
pub struct Cli {
    /// Directory of this device's offline store (created if missing).
    #[arg(
        long,
        env = "FIELDSYNC_DEVICE",
        default_value = ".fieldsync-device",
        global = true
    )]
    pub device: PathBuf,
    /// Print machine-readable JSON instead of text.
    #[arg(long, global = true)]
    pub json: bool,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Log in to a server; the device keeps the session (days offline included).
    #[command(
        after_help = "Example: field-cli login --server http://127.0.0.1:8080 --user tech-a"
    )]
    Login {
        #[arg(long)]
        server: String,
        #[arg(long)]
        user: String,
        /// Otherwise FIELDSYNC_PASSWORD, otherwise a prompt.
        #[arg(long, env = "FIELDSYNC_PASSWORD", hide_env_values = true)]
        password: Option<String>,
    },
    /// End the session; work on the device stays.
    Logout,
    /// The jobs on this device (offline).
    #[command(after_help = "Example: field-cli jobs --json")]
    Jobs,
    /// One job in full (offline).
    #[command(after_help = "Example: field-cli show WO-123")]
    Show { job: String },
    /// Accept an assigned job.
    Accept { job: String },
    /// Give a job back to dispatch.
    #[command(after_help = "Example: field-cli decline WO-123 --reason \"van broke down\"")]
    Decline {
        job: String,
        #[arg(long)]
        reason: String,
    },
    /// Set or change the visit time agreed with the customer (a change needs --reason).
    #[command(
        after_help = "TIME is RFC 3339 (2026-11-24T09:00:00Z), YYYY-MM-DDTHH:MM (UTC) or +DURATION from now (+2h).\nExample: field-cli appointment WO-123 --at 2026-11-24T09:00 --until 2026-11-24T11:00"
    )]
    Appointment {
        job: String,
        #[arg(long)]
        at: String,
        /// End of the visit window; default two hours after --at.
        #[arg(long)]
        until: Option<String>,
        #[arg(long)]
        reason: Option<String>,
    },
    /// On the way to the customer.
    EnRoute { job: String },
    /// Arrived at the customer (optionally where: dispatch then knows where you are).
    #[command(after_help = "Example: field-cli on-site WO-123 --lat 52.52 --lon 13.405")]
    OnSite {
        job: String,
        #[command(flatten)]
        at: crate::route::SiteArgs,
    },
    /// Record the cause of the fault and at least one proposed solution.
    #[command(
        after_help = "Example: field-cli diagnose WO-123 \"pump blocked\" --solution \"clean the pump\""
    )]
    Diagnose {
        job: String,
        cause: String,
        /// A proposed solution (repeatable); default: fix the cause.
        #[arg(long = "solution")]
        solutions: Vec<String>,
    },
    /// List the charges; the customer must consent before chargeable work starts.
    #[command(
        after_help = "Example: field-cli quote WO-123 --item \"drain pump:49.90\" --item \"labour:35\""
    )]
    Quote {
        job: String,
        /// DESCRIPTION:PRICE, price in currency units (repeatable).
        #[arg(long = "item", required = true)]
        items: Vec<String>,
    },
    /// The customer consents to the current quote.
    Consent {
        job: String,
        /// Who consented; default: the customer on the work order.
        #[arg(long)]
        by: Option<String>,
    },
    /// Start the work (after consent, when there are charges).
    Start { job: String },
    /// Part lines.
    #[command(subcommand)]
    Part(PartCmd),
    /// Photos.
    #[command(subcommand)]
    Photo(PhotoCmd),
    /// Add a line to the job's notes.
    #[command(after_help = "Example: field-cli note WO-123 \"gate code 4711\"")]
    Note { job: String, text: String },
    /// Record the functional test.
    #[command(after_help = "Example: field-cli test WO-123 --passed")]
    Test {
        job: String,
        #[arg(long, conflicts_with = "failed", required_unless_present = "failed")]
        passed: bool,
        #[arg(long)]
        failed: bool,
        #[arg(long, default_value = "")]
        details: String,
    },
    /// The customer signs (an image of the signature); seals what was recorded.
    #[command(
        after_help = "Example: field-cli sign WO-123 --name \"Ada Customer\" --image signature.png"
    )]
    Sign {
        job: String,
        #[arg(long)]
        name: String,
        #[arg(long)]
        image: PathBuf,
    },
    /// Complete the job.
    #[command(after_help = "Example: field-cli complete WO-123 --fixed")]
    Complete {
        job: String,
        #[arg(
            long,
            conflicts_with = "not_fixed",
            required_unless_present = "not_fixed"
        )]
        fixed: bool,
        #[arg(long)]
        not_fixed: bool,
    },
    /// Exchange everything with the server (one batched exchange; images first).
    #[command(after_help = "Example: field-cli sync --watch")]
    Sync {
        /// Stay connected and sync whenever the server says something changed (Ctrl-C ends).
        #[arg(long)]
        watch: bool,
    },
    /// Users (admin).
    #[command(subcommand)]
    User(UserCmd),
    /// Regions (admin).
    #[command(subcommand)]
    Region(CatalogCmd),
    /// Skills (admin).
    #[command(subcommand)]
    Skill(CatalogCmd),
    /// Work orders (intake).
    #[command(subcommand)]
    Order(OrderCmd),
    /// Auto-dispatch.
    #[command(subcommand)]
    Dispatch(DispatchCmd),
    /// Spare parts: warehouses, vans, receipts, issues, counts, reorder list, shortfalls.
    #[command(subcommand)]
    Stock(crate::stock::StockCmd),
    /// The quality audit: the day's sample, findings, corrective actions, draws.
    #[command(subcommand)]
    Audit(crate::audit::AuditCmd),
    /// Assign or reassign a job to a technician (dispatcher).
    #[command(after_help = "Example: field-cli assign WO-123 tech-b --reason \"tech-a is ill\"")]
    Assign {
        job: String,
        technician: String,
        #[arg(long)]
        reason: Option<String>,
    },
    /// Why a job went to whom: every candidate's rank or reason for exclusion, and distance.
    #[command(after_help = "Example: field-cli explain WO-123 --json")]
    Explain { job: String },
    /// A technician's day as a route: the jobs in visiting order with the distances.
    Route(crate::route::RouteArgs),
    /// Work orders by region and status with their deadlines.
    Board {
        #[arg(long)]
        region: Option<String>,
    },
    /// KPIs over a date range (default today, UTC); `kpi daily`, `kpi trends`.
    Kpi(crate::kpi::KpiArgs),
    /// Sync scenarios.
    #[command(subcommand)]
    Scenario(ScenarioCmd),
    /// Load generator: devices edit offline, then sync all at once (or, with --steady, each
    /// on its own schedule); prints one JSON line.
    #[command(after_help = crate::bench::args_after_help())]
    Bench(crate::bench::BenchArgs),
    /// Record the follow-up call (score 1 to 5; 3 or less escalates).
    #[command(
        after_help = "Example: field-cli followup WO-123 --score 5 --comment \"very friendly\""
    )]
    Followup {
        job: String,
        #[arg(long)]
        score: u8,
        #[arg(long, default_value = "")]
        comment: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum PartCmd {
    /// Add a part line.
    #[command(
        after_help = "Example: field-cli part add WO-123 --sku PUMP-7 --qty 1 --serial SN-NEW --old-serial SN-OLD"
    )]
    Add {
        job: String,
        #[arg(long)]
        sku: String,
        #[arg(long, default_value_t = 1)]
        qty: u32,
        #[arg(long)]
        serial: Option<String>,
        #[arg(long)]
        old_serial: Option<String>,
        /// Price per line in cents; default: the catalogue's price (cached at sync), else 0.
        #[arg(long)]
        price_cents: Option<i64>,
    },
    /// Remove a part line (it stays in the history).
    Remove { job: String, line: String },
}

#[derive(Debug, Subcommand)]
pub enum PhotoCmd {
    /// Add a photo (JPEG, PNG or WebP); uploaded at the next sync.
    #[command(
        after_help = "Example: field-cli photo add WO-123 before.jpg --kind before --caption \"drain hose\""
    )]
    Add {
        job: String,
        file: PathBuf,
        #[arg(long, default_value = "fault")]
        kind: String,
        #[arg(long, default_value = "")]
        caption: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum UserCmd {
    /// Create a user.
    #[command(
        after_help = "Example: field-cli user add tech-a --role technician --regions north --skills washers --capacity 6"
    )]
    Add {
        name: String,
        #[arg(long)]
        role: String,
        /// Default: a generated one, printed once.
        #[arg(long)]
        password: Option<String>,
        #[arg(long, value_delimiter = ',')]
        regions: Vec<String>,
        #[arg(long, value_delimiter = ',')]
        skills: Vec<String>,
        #[arg(long, default_value_t = 5)]
        capacity: i64,
    },
    /// Set or clear a technician's home base (where routes start).
    Home(crate::route::HomeArgs),
}

#[derive(Debug, Subcommand)]
pub enum CatalogCmd {
    /// Create or rename one.
    #[command(after_help = "Example: field-cli region add north --name \"North\"")]
    Add {
        id: String,
        #[arg(long)]
        name: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum OrderCmd {
    /// Record a request; prints the new work order's id.
    #[command(
        after_help = "Example: field-cli order create --region north --type repair --priority urgent --skills washers \\\n    --customer \"Ada Customer\" --phone \"+49 30 123\" --address \"Hauptstr. 1\" --problem \"does not drain\" \\\n    --lat 52.52 --lon 13.405"
    )]
    Create(OrderArgs),
}

#[derive(Debug, Args)]
pub struct OrderArgs {
    #[arg(long)]
    pub region: String,
    /// install, repair, maintenance, inspection or complaint.
    #[arg(long = "type", default_value = "repair")]
    pub service_type: String,
    /// normal, vip or urgent.
    #[arg(long, default_value = "normal")]
    pub priority: String,
    #[arg(long, value_delimiter = ',')]
    pub skills: Vec<String>,
    #[arg(long)]
    pub customer: String,
    #[arg(long)]
    pub phone: String,
    #[arg(long)]
    pub address: String,
    #[arg(long)]
    pub problem: String,
    /// standard or vip.
    #[arg(long, default_value = "standard")]
    pub tier: String,
    #[arg(long, default_value = "")]
    pub model: String,
    #[arg(long, default_value = "")]
    pub serial: String,
    /// Optional id; the server numbers the work order otherwise.
    #[arg(long)]
    pub id: Option<String>,
    /// The site's coordinates (optional): dispatch prefers the nearest technician.
    #[command(flatten)]
    pub site: crate::route::SiteArgs,
}

#[derive(Debug, Subcommand)]
pub enum ScenarioCmd {
    /// Run scenario files (TOML), each against a fresh server started here (the
    /// `field-server` next to this program), or against --server (manual clock).
    #[command(after_help = "Example: field-cli scenario run tests/scenarios/*.toml")]
    Run {
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Use this running server (started with --clock manual) instead of starting one.
        #[arg(long)]
        server: Option<String>,
        /// The admin's password on --server (otherwise FIELDSYNC_ADMIN_PASSWORD).
        #[arg(long, env = "FIELDSYNC_ADMIN_PASSWORD", hide_env_values = true)]
        admin_password: Option<String>,
        /// The field-server program to start; default: the one next to field-cli.
        #[arg(long)]
        server_bin: Option<PathBuf>,
    },
}

#[derive(Debug, Subcommand)]
pub enum DispatchCmd {
    /// Assign every job waiting for dispatch (a region, or all of yours).
    #[command(after_help = "Example: field-cli dispatch auto --region north")]
    Auto {
        #[arg(long)]
        region: Option<String>,
    },
}

/// A time on the command line: RFC 3339, `YYYY-MM-DDTHH:MM` (UTC), or `+DURATION` from `now`.
pub fn parse_time(text: &str, now: i64) -> anyhow::Result<i64> {
    let t = text.trim();
    if let Some(rel) = t.strip_prefix('+') {
        let d = humantime_serde::re::humantime::parse_duration(rel)
            .map_err(|e| anyhow!("time {text:?}: {e}"))?;
        return Ok(now.saturating_add(i64::try_from(d.as_millis()).unwrap_or(i64::MAX)));
    }
    let rfc = time::format_description::well_known::Rfc3339;
    if let Ok(dt) = time::OffsetDateTime::parse(t, &rfc) {
        return Ok((dt.unix_timestamp_nanos() / 1_000_000) as i64);
    }
    let short = time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]");
    let spaced = time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]");
    for f in [short, spaced] {
        if let Ok(dt) = time::PrimitiveDateTime::parse(t, &f) {
            return Ok((dt.assume_utc().unix_timestamp_nanos() / 1_000_000) as i64);
        }
    }
    bail!("time {text:?}: use 2026-11-24T09:00:00Z, 2026-11-24T09:00 (UTC) or +2h")
}

/// `DESCRIPTION:PRICE` with the price in currency units (up to two decimals).
pub fn parse_item(text: &str) -> anyhow::Result<QuoteItem> {
    let (desc, price) = text.rsplit_once(':').ok_or_else(|| {
        anyhow!("quote item {text:?}: write DESCRIPTION:PRICE, e.g. \"pump:49.90\"")
    })?;
    let price = price.trim();
    if price.is_empty() || desc.trim().is_empty() {
        bail!("quote item {text:?}: write DESCRIPTION:PRICE, e.g. \"pump:49.90\"");
    }
    let (units, cents) = match price.split_once('.') {
        Some((u, c)) if c.len() <= 2 && !c.is_empty() => (u, format!("{c:0<2}")),
        None => (price, "00".to_owned()),
        _ => bail!("quote item {text:?}: price {price:?} has more than two decimals"),
    };
    let cents: i64 = format!("{units}{cents}")
        .parse()
        .map_err(|_| anyhow!("quote item {text:?}: price {price:?} is not a number"))?;
    Ok(QuoteItem {
        description: desc.trim().to_owned(),
        price_cents: cents,
    })
}

fn password_from(given: Option<String>, user: &str) -> anyhow::Result<String> {
    if let Some(p) = given {
        return Ok(p);
    }
    rpassword::prompt_password(format!("password for {user}: "))
        .context("no password: pass --password, set FIELDSYNC_PASSWORD, or run in a terminal")
}

fn generated_password() -> String {
    format!("fs-{}", uuid::Uuid::new_v4().simple())
}

async fn open(dir: &Path) -> anyhow::Result<Device> {
    Device::open(dir).await
}

/// Runs one command and prints its result.
pub async fn run(cli: Cli) -> anyhow::Result<()> {
    let out = Out::new(cli.json);
    if let Command::Sync { watch: true } = cli.command {
        // Opens the device only while it syncs, so other commands can use it meanwhile.
        return crate::watch::run(&cli.device, &out).await;
    }
    let dev = open(&cli.device).await?;
    let result = run_on(&dev, cli.command, &out).await;
    dev.close().await;
    result
}

async fn step(
    dev: &Device,
    out: &Out,
    job: &str,
    what: &str,
    op: impl FnOnce(
        &mut sync_core::workorder::WorkOrder,
        &sync_core::workorder::Actor,
        i64,
    ) -> Result<String, sync_core::workorder::WorkOrderError>,
) -> anyhow::Result<()> {
    let (event, view) = dev.act(job, op).await?;
    out.recorded(what, &event, &view);
    Ok(())
}

async fn run_on(dev: &Device, command: Command, out: &Out) -> anyhow::Result<()> {
    match command {
        Command::Login {
            server,
            user,
            password,
        } => {
            let password = password_from(password, &user)?;
            let t = dev.login(&server, &user, &password).await?;
            let device = dev.device_id().await?;
            out.value(
                &json!({"user": t.user.id, "role": t.user.role, "device": device, "server": server}),
                || format!("logged in as {} ({}) on device {device}", t.user.id, t.user.role),
            );
        }
        Command::Logout => {
            let told = dev.logout().await?;
            out.value(&json!({"logged_out": true, "server_told": told}), || {
                if told {
                    "logged out; the work on this device stays".into()
                } else {
                    "logged out on this device (the server could not be told); the work on this device stays".into()
                }
            });
        }
        Command::Jobs => {
            let jobs = dev.jobs().await?;
            out.jobs(&jobs);
        }
        Command::Show { job } => out.show(&dev.view(&job).await?),
        Command::Accept { job } => {
            step(dev, out, &job, "accepted", |w, a, now| w.accept(a, now)).await?
        }
        Command::Decline { job, reason } => {
            step(dev, out, &job, "declined", |w, a, now| {
                w.decline(a, &reason, now)
            })
            .await?
        }
        Command::Appointment {
            job,
            at,
            until,
            reason,
        } => {
            let start = parse_time(&at, dev.now())?;
            let end = match until {
                Some(u) => parse_time(&u, dev.now())?,
                None => start.saturating_add(2 * 3_600_000),
            };
            step(dev, out, &job, "appointment set", |w, a, now| {
                w.set_appointment(a, start, end, reason.as_deref(), now)
            })
            .await?
        }
        Command::EnRoute { job } => {
            step(dev, out, &job, "en route", |w, a, now| w.en_route(a, now)).await?
        }
        Command::OnSite { job, at } => {
            let p = at.point()?;
            step(dev, out, &job, "on site", |w, a, now| {
                w.on_site_at(a, p, now)
            })
            .await?
        }
        Command::Diagnose {
            job,
            cause,
            solutions,
        } => {
            let solutions = if solutions.is_empty() {
                vec![format!("fix: {cause}")]
            } else {
                solutions
            };
            let refs: Vec<&str> = solutions.iter().map(String::as_str).collect();
            step(dev, out, &job, "diagnosed", |w, a, now| {
                w.diagnose(a, &cause, &refs, now)
            })
            .await?
        }
        Command::Quote { job, items } => {
            let items = items
                .iter()
                .map(|i| parse_item(i))
                .collect::<anyhow::Result<Vec<_>>>()?;
            step(dev, out, &job, "quoted", |w, a, now| {
                w.quote(a, &items, now)
            })
            .await?
        }
        Command::Consent { job, by } => {
            let by = match by {
                Some(b) => b,
                None => dev.view(&job).await?.intake.customer.name,
            };
            step(dev, out, &job, "consent recorded", |w, a, now| {
                w.consent(a, &by, now)
            })
            .await?
        }
        Command::Start { job } => {
            step(dev, out, &job, "work started", |w, a, now| {
                w.start_work(a, now)
            })
            .await?
        }
        Command::Part(PartCmd::Add {
            job,
            sku,
            qty,
            serial,
            old_serial,
            price_cents,
        }) => {
            let price = match price_cents {
                Some(p) => p,
                None => dev.catalogue_price(&sku).await?.unwrap_or(0),
            };
            let mut part = PartInput::new(sku, qty, price);
            part.serial_new = serial.unwrap_or_default();
            part.serial_old = old_serial.unwrap_or_default();
            step(dev, out, &job, "part line added", |w, a, now| {
                w.add_part(a, part, now)
            })
            .await?
        }
        Command::Part(PartCmd::Remove { job, line }) => {
            step(dev, out, &job, "part line removed", |w, a, now| {
                w.remove_part(a, &line, now)
            })
            .await?
        }
        Command::Photo(PhotoCmd::Add {
            job,
            file,
            kind,
            caption,
        }) => {
            let kind: PhotoKind = kind.parse().map_err(|e: String| anyhow!(e))?;
            dev.view(&job).await?; // the job must exist before the image is kept
            let hash = dev.add_image(&file).await?;
            step(
                dev,
                out,
                &job,
                "photo added (uploaded at the next sync)",
                |w, a, now| w.add_photo(a, hash.as_str(), kind, &caption, now, now),
            )
            .await?
        }
        Command::Note { job, text } => {
            step(dev, out, &job, "note added", |w, a, now| {
                let notes = w.view()?.notes;
                let joined = if notes.is_empty() {
                    text.clone()
                } else {
                    format!("{notes}\n{text}")
                };
                w.edit_notes(a, &joined, now)
            })
            .await?
        }
        Command::Test {
            job,
            passed,
            failed: _,
            details,
        } => {
            step(
                dev,
                out,
                &job,
                if passed { "test passed" } else { "test failed" },
                |w, a, now| w.record_test(a, passed, &details, now),
            )
            .await?
        }
        Command::Sign { job, name, image } => {
            dev.view(&job).await?;
            let hash = dev.add_image(&image).await?;
            step(
                dev,
                out,
                &job,
                "signed (the image is uploaded at the next sync)",
                |w, a, now| w.sign(a, &name, hash.as_str(), now),
            )
            .await?
        }
        Command::Complete {
            job,
            fixed,
            not_fixed: _,
        } => {
            step(
                dev,
                out,
                &job,
                if fixed {
                    "completed, fixed"
                } else {
                    "completed, not fixed"
                },
                |w, a, now| w.complete(a, fixed, now),
            )
            .await?
        }
        Command::Sync { .. } => {
            let s = dev.sync().await?;
            out.synced(&s);
            if let Some((id, why)) = s.failed.first() {
                bail!("the server's answer for {id} could not be applied ({why}); the copy on this device is unchanged, sync again");
            }
            if let Some((id, why)) = s.rejected.first() {
                // The rest synced; these changes stay on the device, refused.
                bail!(
                    "the server refused the changes to {id} ({why}){}",
                    if s.rejected.len() > 1 {
                        format!(" and to {} more work order(s)", s.rejected.len() - 1)
                    } else {
                        String::new()
                    }
                );
            }
        }
        Command::User(UserCmd::Add {
            name,
            role,
            password,
            regions,
            skills,
            capacity,
        }) => {
            let generated = password.is_none();
            let password = password.unwrap_or_else(generated_password);
            let v = dev
                .call(
                    Method::POST,
                    "/v1/admin/users",
                    Some(&json!({"id": name, "role": role, "password": password, "regions": regions, "skills": skills, "capacity": capacity})),
                )
                .await?;
            let mut shown = v.clone();
            if generated {
                shown["password"] = json!(password);
            }
            out.value(&shown, || {
                let mut line = format!("user {name} ({role}) created");
                if generated {
                    line.push_str(&format!("; password: {password}"));
                }
                line
            });
        }
        Command::User(UserCmd::Home(a)) => crate::route::home(dev, a, out).await?,
        Command::Route(a) => crate::route::route(dev, a, out).await?,
        Command::Region(CatalogCmd::Add { id, name }) => {
            catalog(dev, out, "regions", "region", &id, name).await?
        }
        Command::Skill(CatalogCmd::Add { id, name }) => {
            catalog(dev, out, "skills", "skill", &id, name).await?
        }
        Command::Order(OrderCmd::Create(o)) => {
            let mut intake = json!({
                "customer": {"name": o.customer, "phone": o.phone, "address": o.address, "tier": o.tier},
                "product": {"model": o.model, "serial": o.serial, "purchase_date": ""},
                "service_type": o.service_type, "problem": o.problem, "priority": o.priority,
                "required_skills": o.skills, "region": o.region, "attachments": [],
            });
            if let Some(site) = o.site.json()? {
                intake["site"] = site;
            }
            let mut body = json!({ "intake": intake });
            if let Some(id) = o.id {
                body["id"] = json!(id);
            }
            let v = dev
                .call(Method::POST, "/v1/workorders", Some(&body))
                .await?;
            let id = v["id"].as_str().unwrap_or("").to_owned();
            // Only the id on stdout, for `JOB=$(field-cli order create …)`; the rest on stderr.
            if !out.is_json() {
                match v["assignee"].as_str() {
                    Some(t) => eprintln!("{id}: dispatched to {t}"),
                    None => eprintln!("{id}: waiting for dispatch"),
                }
            }
            out.value(&v, || id.clone());
        }
        Command::Stock(cmd) => crate::stock::run(dev, cmd, out).await?,
        Command::Audit(cmd) => crate::audit::run(dev, cmd, out).await?,
        Command::Dispatch(DispatchCmd::Auto { region }) => {
            let body = match region {
                Some(r) => json!({ "region": r }),
                None => json!({}),
            };
            let v = dev
                .call(Method::POST, "/v1/dispatch/auto", Some(&body))
                .await?;
            out.dispatched(&v);
        }
        Command::Assign {
            job,
            technician,
            reason,
        } => {
            let v = dev
                .call(
                    Method::POST,
                    &format!("/v1/workorders/{}/assign", output::path_segment(&job)),
                    Some(&json!({"technician": technician, "reason": reason})),
                )
                .await?;
            out.value(&v, || {
                let mut line = format!("{job} assigned to {technician}");
                if let Some(w) = v["warning"].as_object() {
                    line.push_str(&format!(
                        " (outside the dispatch rules: {})",
                        w.get("reason").and_then(Value::as_str).unwrap_or("?")
                    ));
                }
                line
            });
        }
        Command::Explain { job } => {
            let v = dev
                .call(
                    Method::GET,
                    &format!("/v1/workorders/{}/explain", output::path_segment(&job)),
                    None,
                )
                .await?;
            out.explained(&v);
        }
        Command::Board { region } => {
            let q = region
                .map(|r| format!("?region={}", output::path_segment(&r)))
                .unwrap_or_default();
            let v = dev
                .call(Method::GET, &format!("/v1/board{q}"), None)
                .await?;
            out.board(&v);
        }
        Command::Kpi(args) => crate::kpi::run(dev, args, out).await?,
        Command::Scenario(ScenarioCmd::Run {
            files,
            server,
            admin_password,
            server_bin,
        }) => {
            let mut failed = 0usize;
            for file in &files {
                match run_scenario(
                    file,
                    server.as_deref(),
                    admin_password.as_deref(),
                    server_bin.as_deref(),
                )
                .await
                {
                    Ok(r) => out.value(&serde_json::to_value(&r)?, || {
                        format!("ok    {} ({} steps, {} checks)", r.name, r.steps, r.checks)
                    }),
                    Err(e) => {
                        failed += 1;
                        out.value(&json!({"file": file, "error": format!("{e:#}")}), || {
                            format!("FAIL  {}: {e:#}", file.display())
                        });
                    }
                }
            }
            if failed > 0 {
                bail!("{failed} of {} scenario(s) failed", files.len());
            }
        }
        Command::Bench(args) => {
            let admin_password = password_from(args.admin_password.clone(), &args.admin_user)?;
            println!(
                "{}",
                crate::bench::run_cli(args, admin_password, !out.is_json()).await?
            );
        }
        Command::Followup {
            job,
            score,
            comment,
        } => {
            let v = dev
                .call(
                    Method::POST,
                    &format!("/v1/workorders/{}/followup", output::path_segment(&job)),
                    Some(&json!({"score": score, "comment": comment})),
                )
                .await?;
            out.value(&v, || {
                format!(
                    "{job}: follow-up recorded, status {}",
                    v["status"].as_str().unwrap_or("?")
                )
            });
        }
    }
    Ok(())
}

/// Runs one scenario file against `server`, or against a fresh server started for it.
pub async fn run_scenario(
    file: &Path,
    server: Option<&str>,
    admin_password: Option<&str>,
    server_bin: Option<&Path>,
) -> anyhow::Result<crate::scenario::ScenarioReport> {
    use crate::scenario;
    let sc = scenario::Scenario::load(file)?;
    let dir = std::env::temp_dir().join(format!(
        "fieldsync-scenario-{}",
        uuid::Uuid::new_v4().simple()
    ));
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let result = match server {
        Some(url) => {
            let pw = admin_password
                .ok_or_else(|| anyhow!("--server needs the admin's password (--admin-password or FIELDSYNC_ADMIN_PASSWORD)"))?;
            scenario::run(&sc, url, pw, &dir).await
        }
        None => {
            let bin = match server_bin {
                Some(b) => b.to_owned(),
                None => scenario::sibling_server_bin()?,
            };
            let env = sc.server_env(&dir)?;
            let spawned = scenario::spawn_server(&bin, &dir, &env)?;
            let r = scenario::run(&sc, &spawned.url, &spawned.admin_password, &dir).await;
            drop(spawned);
            r
        }
    };
    let _ = std::fs::remove_dir_all(&dir);
    result.with_context(|| format!("scenario {:?} ({})", sc.name, file.display()))
}

/// Creates or renames a region or skill (admin).
async fn catalog(
    dev: &Device,
    out: &Out,
    kind: &str,
    what: &str,
    id: &str,
    name: Option<String>,
) -> anyhow::Result<()> {
    let name = name.unwrap_or_else(|| id.to_owned());
    let v = dev
        .call(
            Method::PUT,
            &format!("/v1/admin/{kind}/{}", output::path_segment(id)),
            Some(&json!({ "name": name })),
        )
        .await?;
    out.value(&v, || format!("{what} {id} ({name}) saved"));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_rfc3339_utc_minutes_or_relative() {
        let now = 1_790_000_000_000;
        assert_eq!(parse_time("+90m", now).unwrap(), now + 90 * 60_000);
        assert_eq!(
            parse_time("2026-11-24T09:00:00Z", now).unwrap(),
            parse_time("2026-11-24T09:00", now).unwrap()
        );
        assert_eq!(
            parse_time("2026-11-24T10:00:00+01:00", now).unwrap(),
            parse_time("2026-11-24 09:00", now).unwrap()
        );
        for bad in ["tomorrow", "+soon", "2026-13-01T00:00"] {
            assert!(parse_time(bad, now).is_err(), "{bad}");
        }
    }

    #[test]
    fn quote_items_are_description_colon_price() {
        let i = parse_item("drain pump: 49.9").unwrap();
        assert_eq!(
            (i.description.as_str(), i.price_cents),
            ("drain pump", 4990)
        );
        assert_eq!(parse_item("labour:35").unwrap().price_cents, 3500);
        assert_eq!(parse_item("a:b:1.05").unwrap().description, "a:b");
        for bad in ["no price", "pump:4.999", "pump:abc", "pump:"] {
            assert!(parse_item(bad).is_err(), "{bad}");
        }
    }
}
