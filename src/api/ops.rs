//! Liveness, readiness, metrics.

use actix_web::{get, web, HttpRequest, HttpResponse};
use utoipa::OpenApi;

use super::body::Reply;
use super::Status;
use crate::error::ApiError;
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
    state.db.ready().await?;
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
        crate::auth::authenticate(&req)?.require_role(&[crate::auth::Role::Provider])?;
    }
    let counts = state.db.run(crate::db::jobs::counts).await?;
    for status in crate::jobs::JobStatus::ALL {
        let n = counts
            .iter()
            .find(|(s, _)| s == status.as_str())
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
    for status in ["Pending", "Processed", "Error", "Archived"] {
        let n = counts
            .iter()
            .find(|(s, _)| s == status)
            .map_or(0, |(_, n)| *n);
        state
            .metrics
            .transactions
            .get_or_create(&crate::metrics::JobLabels {
                status: status.to_owned(),
            })
            .set(n);
    }
    Ok(HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(state.metrics.render()))
}
