//! The PostgreSQL tests run when `ORGSYNC_TEST_POSTGRES_URL` is set as they are built; without
//! it they are built as ignored, so `cargo test` reports them as such instead of passing them
//! without running anything.

fn main() {
    println!("cargo::rustc-check-cfg=cfg(postgres_tests)");
    println!("cargo::rerun-if-env-changed=ORGSYNC_TEST_POSTGRES_URL");
    println!("cargo::rerun-if-changed=build.rs");
    if std::env::var_os("ORGSYNC_TEST_POSTGRES_URL").is_some_and(|v| !v.is_empty()) {
        println!("cargo::rustc-cfg=postgres_tests");
    }
}
