//! Building and running the server. Tests call [`Application::build`] with port 0 and read
//! [`Application::port`].

use std::net::TcpListener;
use std::sync::Arc;

use actix_web::dev::Server;
use actix_web::{web, App, HttpServer};
use tracing_actix_web::TracingLogger;

use crate::auth::jwt::JwtKeys;
use crate::clock::ServiceClock;
use crate::config::Settings;
use crate::db::Db;
use crate::error::{json_error_handler, path_error_handler, query_error_handler};
use crate::ops::Metrics;
use crate::policy::Policy;
use crate::state::AppState;

/// Largest JSON body accepted (bytes).
pub const MAX_JSON_BODY: usize = 1024 * 1024;

pub struct Application {
    addr: std::net::SocketAddr,
    port: u16,
    server: Server,
}

impl Application {
    pub async fn build(settings: Settings) -> anyhow::Result<Self> {
        // First, so that everything after (migrations, the admin's hash) can already count.
        let metrics = Metrics::install()?;
        let db = Db::connect(&settings.database_url).await?;
        let blobs =
            crate::blobs::store::open(&settings.blob_store, &settings.blob_dir, &settings.s3, &db)
                .await?;
        let policy = match &settings.policy {
            Some(path) => Policy::load(path)?,
            None => Policy::default(),
        };
        let clock = if settings.manual_clock {
            ServiceClock::Manual
        } else {
            ServiceClock::System
        };
        clock.init(&mut *db.pool.acquire().await?).await?;
        let secret = crate::auth::jwt_secret(&db, settings.jwt_secret.as_ref()).await?;
        let jwt = JwtKeys::new(&secret).map_err(|e| anyhow::anyhow!("jwt secret: {e}"))?;
        crate::admin::ensure_admin(&db, settings.admin_password.as_ref()).await?;
        // Build the dummy hash now, so the first login for an unknown user costs no more
        // than any other.
        tokio::task::spawn_blocking(|| crate::auth::password::verify_against_dummy("warm-up"))
            .await?;

        let listener = TcpListener::bind(&settings.bind)
            .map_err(|e| anyhow::anyhow!("cannot listen on {}: {e}", settings.bind))?;
        let addr = listener.local_addr()?;
        let port = addr.port();
        let events = crate::events::start(&db, &settings.database_url);
        let group = (db.backend == crate::db::Backend::Sqlite)
            .then(|| crate::db::group::GroupWriter::start(db.clone()));
        let state = web::Data::new(AppState {
            db,
            jwt,
            access_ttl_secs: settings.access_ttl_secs,
            refresh_ttl_secs: settings.refresh_ttl_secs,
            instance_id: settings.instance_id.clone(),
            blobs,
            metrics: Arc::new(metrics),
            image_permits: Arc::new(tokio::sync::Semaphore::new(2)),
            policy: Arc::new(policy),
            clock,
            auth: crate::auth::AuthGuards::default(),
            group,
            docs: crate::sync::cache::DocCache::new(settings.doc_cache_bytes),
            sync_permits: tokio::sync::Semaphore::new(crate::sync::MAX_CONCURRENT_MERGES),
            events,
        });
        if settings.demo {
            // Before the clock's passes start: the demo runs its own pass over the day it wrote.
            crate::demo::fill(&state).await?;
        }
        if clock == ServiceClock::System {
            // On a manual clock passes run when asked (`POST /v1/admin/clock/tick`), so that
            // tests and drills decide exactly when the clock acts.
            crate::clock::tick::spawn(state.clone());
        }
        tracing::info!(addr = %listener.local_addr()?, database = %redact(&settings.database_url), "fieldsync server listening");
        let server = HttpServer::new(move || {
            App::new()
                .wrap(TracingLogger::default())
                .wrap(crate::ops::RecordHttp)
                .wrap(
                    actix_web::middleware::ErrorHandlers::new()
                        .default_handler_client(crate::error::json_client_errors),
                )
                .app_data(state.clone())
                .app_data(
                    web::JsonConfig::default()
                        .limit(MAX_JSON_BODY)
                        .error_handler(json_error_handler),
                )
                .app_data(web::PathConfig::default().error_handler(path_error_handler))
                .app_data(web::QueryConfig::default().error_handler(query_error_handler))
                .configure(crate::ops::routes)
                .configure(crate::auth::routes)
                .configure(crate::admin::routes)
                .configure(crate::workorders::routes)
                .configure(crate::sync::routes)
                .configure(crate::events::routes)
                .configure(crate::blobs::routes)
                .configure(crate::dispatch::api::routes)
                .configure(crate::clock::api::routes)
                .configure(crate::board::routes)
                .configure(crate::kpi::http::routes)
                .configure(crate::stock::routes)
                .configure(crate::audit::routes)
                .configure(crate::console::routes)
                .default_service(web::to(crate::ops::not_found))
        })
        .listen(listener)?
        .shutdown_timeout(30)
        .run();
        Ok(Application { addr, port, server })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn addr(&self) -> std::net::SocketAddr {
        self.addr
    }

    /// Runs until SIGTERM or Ctrl-C; in-flight requests finish first (actix's graceful stop).
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        self.server.await
    }
}

/// The database URL without a password, for logs.
fn redact(url: &str) -> String {
    match (url.find("://"), url.find('@')) {
        (Some(s), Some(at)) if at > s => format!("{}://***{}", &url[..s], &url[at..]),
        _ => url.to_owned(),
    }
}
