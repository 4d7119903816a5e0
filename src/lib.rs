//! orgsync: keeps a server organization and a client organization hosted here in step.
//!
//! [`create_app`] builds the whole HTTP app from an [`AppState`]; `main` and the tests both
//! start the service through it.

pub mod api;
pub mod auth;
pub mod config;
pub mod crypto;
pub mod db;
pub mod domain;
pub mod error;
pub mod jobs;
pub mod metrics;
pub mod providers;
pub mod sync;
pub mod telemetry;
pub mod wire;

use std::sync::Arc;
use std::time::{Duration, Instant};

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceFactory, ServiceRequest, ServiceResponse};
use actix_web::middleware::{from_fn, Next};
use actix_web::{web, App};
use tracing_actix_web::TracingLogger;
use utoipa_swagger_ui::SwaggerUi;

use crate::api::body::BodyLimit;
use crate::api::Routes;
use crate::auth::throttle::SigninThrottle;
use crate::auth::JwtKeys;
use crate::config::Settings;
use crate::db::{Db, DbResult};
use crate::error::ApiError;
use crate::metrics::{Metrics, RequestLabels};
use crate::sync::Engine;

/// Everything a request handler may need, shared by all workers.
#[derive(Clone)]
pub struct AppState {
    pub settings: Arc<Settings>,
    pub db: Db,
    pub jwt: Arc<JwtKeys>,
    pub metrics: Arc<Metrics>,
    /// The engine the handlers call, over the same database, settings and metrics.
    pub engine: Engine,
    /// Sign-in attempts per user and per address.
    pub signin: Arc<SigninThrottle>,
}

impl AppState {
    /// Opens the database (applying migrations) and prepares the keys.
    pub fn new(settings: Settings) -> Result<Self, String> {
        let db = Db::connect(&settings.database_url, settings.db_pool_size)?;
        let settings = Arc::new(settings);
        let metrics = Arc::new(Metrics::default());
        Ok(Self {
            jwt: Arc::new(JwtKeys::new(&settings.jwt_secret)),
            signin: Arc::new(SigninThrottle::new(
                settings.signin_per_user,
                settings.signin_per_address,
            )),
            engine: Engine::new(db.clone(), settings.clone(), metrics.clone()),
            settings,
            db,
            metrics,
        })
    }

    /// Starts the background work of the process: job workers, the scheduler of periodic
    /// syncs, and the hourly purge of tombstones and old jobs.
    pub fn spawn_background(&self) {
        jobs::worker::spawn_workers(self.engine.clone());
        jobs::scheduler::spawn_scheduler(self.engine.clone());
        spawn_maintenance(self.clone());
    }
}

/// The app: routes, Swagger UI, error handling, request spans (with a request id) and metrics.
pub fn create_app(
    state: AppState,
) -> App<
    impl ServiceFactory<
        ServiceRequest,
        Config = (),
        Response = ServiceResponse<impl MessageBody>,
        Error = actix_web::Error,
        InitError = (),
    >,
> {
    let body_limit = BodyLimit(state.settings.body_limit);
    let jwt = web::Data::from(state.jwt.clone());
    let db = web::Data::new(state.db.clone());
    App::new()
        .app_data(web::Data::new(state))
        .app_data(jwt)
        .app_data(db)
        .app_data(web::Data::new(body_limit))
        .app_data(web::Data::new(Routes::from_openapi()))
        .app_data(web::PayloadConfig::new(body_limit.0))
        .app_data(web::QueryConfig::default().error_handler(|e, _| {
            ApiError::new(
                error::Code::InvalidQuery,
                format!("the query string is not valid: {e}"),
            )
            .into()
        }))
        .app_data(
            web::FormConfig::default()
                .limit(64 * 1024)
                .error_handler(|e, _| {
                    ApiError::new(
                        error::Code::InvalidBody,
                        format!("the form is not valid: {e}"),
                    )
                    .into()
                }),
        )
        .app_data(web::PathConfig::default().error_handler(|e, _| {
            ApiError::new(
                error::Code::RouteNotFound,
                format!("the path is not valid: {e}"),
            )
            .into()
        }))
        .configure(api::configure)
        // Where a person lands first: the API's own pages.
        .service(web::redirect("/", "/swagger-ui/"))
        .service(web::redirect("/swagger-ui", "/swagger-ui/").permanent())
        .service(SwaggerUi::new("/swagger-ui/{_:.*}").url("/api-docs/openapi.json", api::openapi()))
        .default_service(web::to(api::no_route))
        .wrap(from_fn(api::problem::problem_middleware))
        .wrap(from_fn(count_requests))
        .wrap(TracingLogger::default())
}

async fn count_requests(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let started = Instant::now();
    let metrics = req
        .app_data::<web::Data<AppState>>()
        .map(|s| s.metrics.clone());
    let method = req.method().to_string();
    let res = next.call(req).await?;
    let status = res.status().as_u16();
    let elapsed = started.elapsed();
    // One line per request, inside the request's span (which carries its request id). The
    // query string and the bodies are never logged.
    tracing::info!(
        method = %method,
        path = %res.request().path(),
        status,
        elapsed_ms = elapsed.as_secs_f64() * 1000.0,
        "request"
    );
    if let Some(m) = metrics {
        let route = res
            .request()
            .match_pattern()
            .unwrap_or_else(|| "unmatched".to_owned());
        m.requests
            .get_or_create(&RequestLabels {
                method,
                route,
                status,
            })
            .inc();
        m.request_seconds.observe(elapsed.as_secs_f64());
    }
    Ok(res)
}

/// Purges tombstones past the retention now and then, for as long as the process runs.
fn spawn_maintenance(state: AppState) {
    actix_web::rt::spawn(async move {
        let mut tick = actix_web::rt::time::interval(Duration::from_secs(3600));
        loop {
            tick.tick().await;
            if let Err(e) = purge_tombstones(&state).await {
                tracing::warn!(error = %e.chain(), "purging tombstones failed");
            }
            if let Err(e) = purge_jobs(&state).await {
                tracing::warn!(error = %e.chain(), "purging old jobs failed");
            }
        }
    });
}

/// Removes finished jobs (with their logs) and delivered or archived client transactions
/// older than the job retention; gives how many jobs went.
pub async fn purge_jobs(state: &AppState) -> DbResult<usize> {
    let retention = i64::try_from(state.settings.job_retention.as_micros()).unwrap_or(i64::MAX);
    let cutoff = db::now_micros().saturating_sub(retention);
    let purged = state
        .db
        .run(move |conn| {
            let jobs = db::jobs::purge(conn, cutoff)?;
            db::transactions::purge(conn, cutoff)?;
            Ok::<_, db::DbError>(jobs)
        })
        .await?;
    if purged > 0 {
        tracing::info!(purged, "purged finished jobs past the retention");
    }
    Ok(purged)
}

/// Removes tombstones, and what jobs kept in their quarantine, older than the configured
/// retention; gives how many tombstones went.
pub async fn purge_tombstones(state: &AppState) -> DbResult<usize> {
    let retention =
        i64::try_from(state.settings.tombstone_retention.as_micros()).unwrap_or(i64::MAX);
    let cutoff = db::now_micros().saturating_sub(retention);
    let (purged, kept) = state
        .db
        .run(move |conn| {
            Ok::<_, db::DbError>((
                db::changes::purge(conn, cutoff)?,
                db::quarantine::purge(conn, cutoff)?,
            ))
        })
        .await?;
    if purged > 0 {
        tracing::info!(purged, "purged tombstones past the retention");
    }
    if kept > 0 {
        tracing::info!(
            purged = kept,
            "purged quarantined records past the tombstone retention; they can no longer be restored"
        );
    }
    Ok(purged)
}
