//! The admin console: a page of plain HTML, CSS and JavaScript, embedded in the binary and
//! served at `/admin/`. It holds no data and has no way in of its own: every action it offers
//! is a call of the REST API with the signed-in user's token, under the API's authorization.

use actix_web::http::header::{self, HeaderValue};
use actix_web::{get, web, HttpResponse};
use include_dir::{include_dir, Dir};

use crate::domain::error::Code;
use crate::error::ApiError;

/// `console/` at build time.
static CONSOLE: Dir<'_> = include_dir!("$CARGO_MANIFEST_DIR/console");

/// Only the console's own files run, and it talks to this service alone.
const POLICY: &str = "default-src 'self'; img-src 'self' data:; object-src 'none'; \
                      base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::redirect("/admin", "/admin/").permanent())
        .service(console_file);
}

fn content_type(path: &str) -> &'static str {
    match path.rsplit_once('.').map(|(_, ext)| ext) {
        Some("html") => "text/html; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("js") => "text/javascript; charset=utf-8",
        Some("svg") => "image/svg+xml",
        Some("png") => "image/png",
        Some("ico") => "image/x-icon",
        _ => "application/octet-stream",
    }
}

/// A file of the console; the page itself at `/admin/`.
#[get("/admin/{path:.*}")]
async fn console_file(path: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let wanted = match path.as_str() {
        "" => "index.html",
        other => other,
    };
    let Some(file) = CONSOLE.get_file(wanted) else {
        return Err(ApiError::new(
            Code::RouteNotFound,
            format!("the console has no file '{wanted}'"),
        ));
    };
    let mut res = HttpResponse::Ok()
        .content_type(content_type(wanted))
        .body(file.contents());
    let headers = res.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(POLICY),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    // A new binary may bring new files: the browser asks again (cheap, they are in memory).
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    Ok(res)
}
