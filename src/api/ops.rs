//! Liveness, readiness, metrics.

use actix_web::{get, web, HttpRequest, HttpResponse};
use utoipa::OpenApi;

use super::body::Reply;
use super::Status;
use crate::domain::jobs::JobStatus;
use crate::domain::transaction::TxStatus;
use crate::error::{ApiError, Code};
use crate::AppState;

#[derive(OpenApi)]
#[openapi(paths(healthz, readyz, metrics), tags((name = "Operations", description = "Health and metrics")))]
pub struct Doc;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(healthz).service(readyz).service(metrics);
}

/// The process is alive.
#[utoipa::path(tag = "Operations", responses((status = 200, content((Status = "application/json"), (Status = "application/xml")))))]
#[get("/healthz")]
async fn healthz() -> Reply<Status> {
    Reply::ok(Status {
        status: "ok".to_owned(),
    })
}

/// The database answers and every migration is applied.
#[utoipa::path(tag = "Operations", responses(
    (status = 200, content((Status = "application/json"), (Status = "application/xml"))),
    (status = 503, body = crate::error::Problem, content_type = "application/problem+json", description = "Database unreachable or migrations pending"),
))]
#[get("/readyz")]
async fn readyz(state: web::Data<AppState>) -> Result<Reply<Status>, ApiError> {
    state
        .db
        .ready()
        .await
        .map_err(|e| ApiError::new(Code::Unavailable, e.to_string()))?;
    Ok(Reply::ok(Status {
        status: "ready".to_owned(),
    }))
}

/// Prometheus text. Open to callers on the loopback interface; others need a provider token.
#[utoipa::path(tag = "Operations", security((), ("bearer" = [])), responses(
    (status = 200, body = String, content_type = "text/plain"),
    (status = 401, body = crate::error::Problem, content_type = "application/problem+json"),
    (status = 403, body = crate::error::Problem, content_type = "application/problem+json"),
))]
#[get("/metrics")]
async fn metrics(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let loopback = req.peer_addr().is_some_and(|a| a.ip().is_loopback());
    if !loopback {
        crate::auth::authenticate(&req)
            .await?
            .require_role(&[crate::auth::Role::Provider])?;
    }
    let counts = state.db.run(crate::db::jobs::counts).await?;
    for status in JobStatus::ALL {
        let n = counts
            .iter()
            .find(|(s, _)| *s == status)
            .map_or(0, |(_, n)| *n);
        state
            .metrics
            .jobs
            .get_or_create(&crate::metrics::JobLabels {
                status: status.as_str().to_owned(),
            })
            .set(n);
    }
    let counts = state.db.run(crate::db::transactions::counts).await?;
    for status in TxStatus::ALL {
        let n = counts
            .iter()
            .find(|(s, _)| *s == status)
            .map_or(0, |(_, n)| *n);
        state
            .metrics
            .transactions
            .get_or_create(&crate::metrics::JobLabels {
                status: status.as_str().to_owned(),
            })
            .set(n);
    }
    // Per org, refilled at each scrape: an org with nothing pending (or that went) is left
    // out rather than shown with a stale count.
    let pending = state
        .db
        .run(crate::db::transactions::pending_by_org)
        .await?;
    let syncs = state.db.run(crate::db::connections::last_syncs).await?;
    let metrics = &state.metrics;
    metrics.org_pending.clear();
    for (org, n) in pending {
        metrics
            .org_pending
            .get_or_create(&crate::metrics::OrgLabels { org })
            .set(n);
    }
    metrics.last_sync.clear();
    for (org, micros) in syncs {
        metrics
            .last_sync
            .get_or_create(&crate::metrics::OrgLabels { org })
            .set(micros / 1_000_000);
    }
    Ok(HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(state.metrics.render()))
}
