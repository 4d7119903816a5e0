//! End-to-end tests: a real orgsync on a loopback port, on SQLite and on PostgreSQL.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../testkit/mod.rs"]
mod testkit;

/// Runs each named test once on SQLite and once on PostgreSQL (reported as ignored when
/// `ORGSYNC_TEST_POSTGRES_URL` is unset; `.ci/run` sets it). Each name is an
/// `async fn name(app: TestApp)` of the calling module; it becomes a module `name` with the
/// tests `sqlite` and `postgres`. (Defined before the modules, it is in scope in each.)
macro_rules! both_backends {
    ($($name:ident),+ $(,)?) => {
        $(mod $name {
            #[actix_web::test]
            async fn sqlite() {
                super::$name($crate::testkit::launch::TestApp::sqlite().await).await
            }
            #[actix_web::test]
            #[cfg_attr(not(postgres_tests), ignore = "needs ORGSYNC_TEST_POSTGRES_URL at build time")]
            async fn postgres() {
                super::$name($crate::testkit::launch::TestApp::postgres().await).await
            }
        })+
    };
}

/// [`both_backends!`] on apps whose settings the calling module's `fn tune(&mut Settings)`
/// changes before they start: `both_backends_with!(tune; fn_a, fn_b)`.
macro_rules! both_backends_with {
    ($tune:ident; $($name:ident),+ $(,)?) => {
        $(mod $name {
            #[actix_web::test]
            async fn sqlite() {
                super::$name($crate::testkit::launch::TestApp::sqlite_with(super::$tune).await).await
            }
            #[actix_web::test]
            #[cfg_attr(not(postgres_tests), ignore = "needs ORGSYNC_TEST_POSTGRES_URL at build time")]
            async fn postgres() {
                super::$name($crate::testkit::launch::TestApp::postgres_with(super::$tune).await).await
            }
        })+
    };
}

mod auth;
mod bad_input;
mod batch;
mod changes;
mod compare;
mod connect;
mod contract;
mod examples;
mod explain;
mod hostile;
mod limits;
mod metadata;
mod ops;
mod orgs;
mod overview;
mod processes;
mod records;
mod safety;
mod schema;
mod security;
mod snapshots;
mod sql;
mod sync;
mod timeline;
mod transactions;
