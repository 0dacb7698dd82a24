//! The generated clients are our public API: each host's code is an insta snapshot in snapshots/.
//! Under CI=true insta never writes, so a spec change without `cargo xtask regen` fails here.

fn snapshot(host: &str, code: &str) {
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path(concat!(env!("CARGO_MANIFEST_DIR"), "/snapshots"));
    settings.set_prepend_module_to_snapshot(false);
    settings.set_omit_expression(true);
    settings.bind(|| insta::assert_snapshot!(host, code));
}

#[cfg(feature = "api")]
#[test]
fn generated_api_matches_snapshot() {
    snapshot("api", include_str!(concat!(env!("OUT_DIR"), "/api.rs")));
}

#[cfg(feature = "ipg")]
#[test]
fn generated_ipg_matches_snapshot() {
    snapshot("ipg", include_str!(concat!(env!("OUT_DIR"), "/ipg.rs")));
}

#[cfg(feature = "batch")]
#[test]
fn generated_batch_matches_snapshot() {
    snapshot("batch", include_str!(concat!(env!("OUT_DIR"), "/batch.rs")));
}

#[cfg(feature = "subscription")]
#[test]
fn generated_subscription_matches_snapshot() {
    snapshot("subscription", include_str!(concat!(env!("OUT_DIR"), "/subscription.rs")));
}

#[test]
fn generated_enums_match_snapshot() {
    snapshot("enums", include_str!(concat!(env!("OUT_DIR"), "/enums.rs")));
}

#[test]
fn generated_operations_match_snapshot() {
    snapshot("operations", include_str!(concat!(env!("OUT_DIR"), "/operations.rs")));
}
