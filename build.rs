//! Tests that need something of the machine run when the variable naming it is set as they are
//! built; without it they are built as ignored, so `cargo test` reports them as such instead of
//! passing them without running anything:
//! - the PostgreSQL tests: `ORGSYNC_TEST_POSTGRES_URL`;
//! - the admin console's browser tests: `ORGSYNC_TEST_BROWSER` (Chromium and chromedriver
//!   installed, as the packages `chromium` and `chromium-driver` put them).

fn main() {
    println!("cargo::rustc-check-cfg=cfg(postgres_tests)");
    println!("cargo::rustc-check-cfg=cfg(browser_tests)");
    println!("cargo::rerun-if-env-changed=ORGSYNC_TEST_POSTGRES_URL");
    println!("cargo::rerun-if-env-changed=ORGSYNC_TEST_BROWSER");
    println!("cargo::rerun-if-changed=build.rs");
    // The admin console's files are embedded (include_dir, which cargo does not watch): a
    // change of one rebuilds the crate.
    println!("cargo::rerun-if-changed=console");
    let set = |name: &str| std::env::var_os(name).is_some_and(|v| !v.is_empty());
    if set("ORGSYNC_TEST_POSTGRES_URL") {
        println!("cargo::rustc-cfg=postgres_tests");
    }
    if set("ORGSYNC_TEST_BROWSER") {
        println!("cargo::rustc-cfg=browser_tests");
    }
}
