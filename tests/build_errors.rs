//! A spec mistake must stop the build with a message naming the operation and field, not a panic
//! trace from inside progenitor. These tests run the compiled build script on broken copies of the spec.
use std::path::{Path, PathBuf};
use std::process::Command;

const SPEC: &str = include_str!("../spec/vandar.yaml");

/// The newest compiled build script of this package (cargo keeps it beside OUT_DIR's parent).
fn build_script() -> PathBuf {
    let build_dir = Path::new(env!("OUT_DIR")).ancestors().nth(2).expect("target/<profile>/build");
    std::fs::read_dir(build_dir)
        .unwrap()
        .filter_map(|entry| {
            let path = entry.ok()?.path().join("build-script-build");
            let modified = path.metadata().ok()?.modified().ok()?;
            path.file_name().is_some().then_some((modified, path))
        })
        .filter(|(_, p)| p.parent().unwrap().file_name().unwrap().to_string_lossy().starts_with("vandar-"))
        .max()
        .map(|(_, path)| path)
        .expect("the build script was compiled")
}

/// Runs the build script on `spec` (ipg host only); returns (success, stderr).
fn run_on(spec: &str) -> (bool, String) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("spec")).unwrap();
    std::fs::create_dir_all(dir.path().join("out")).unwrap();
    std::fs::write(dir.path().join("spec/vandar.yaml"), spec).unwrap();
    let output = Command::new(build_script())
        .current_dir(dir.path())
        .env("OUT_DIR", dir.path().join("out"))
        .env("CARGO_FEATURE_IPG", "1")
        .output()
        .unwrap();
    let generated = dir.path().join("out/ipg.rs").exists();
    assert_eq!(output.status.success(), generated, "output written exactly when the build succeeds");
    (output.status.success(), String::from_utf8_lossy(&output.stderr).into_owned())
}

#[test]
fn the_real_spec_generates() {
    let (ok, stderr) = run_on(SPEC);
    assert!(ok, "{stderr}");
}

#[test]
fn a_second_media_type_names_the_operation() {
    let broken = SPEC.replacen(
        "            schema: {$ref: '#/components/schemas/IpgSendRequest'}\n",
        "            schema: {$ref: '#/components/schemas/IpgSendRequest'}\n          application/x-www-form-urlencoded:\n            schema: {$ref: '#/components/schemas/IpgSendRequest'}\n",
        1,
    );
    assert_ne!(broken, SPEC);
    let (ok, stderr) = run_on(&broken);
    assert!(!ok);
    assert!(stderr.contains("ipg_send: requestBody: one media type per body, found 2"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn a_dangling_ref_names_where_it_stands() {
    let broken = SPEC.replacen("schema: {$ref: '#/components/schemas/IpgVerifyResponse'}", "schema: {$ref: '#/components/schemas/IpgVerifyAnswer'}", 1);
    let (ok, stderr) = run_on(&broken);
    assert!(!ok);
    assert!(stderr.contains("/api/v4/verify/post/responses/200/content/application/json/schema"), "{stderr}");
    assert!(stderr.contains("IpgVerifyAnswer does not resolve"), "{stderr}");
}

#[test]
fn a_missing_operation_id_names_the_path() {
    let broken = SPEC.replacen("      operationId: ipg_transaction\n", "", 1);
    let (ok, stderr) = run_on(&broken);
    assert!(!ok);
    assert!(stderr.contains("post /api/v4/transaction: missing operationId"), "{stderr}");
}

#[test]
fn two_success_answers_name_the_operation() {
    let broken = SPEC.replacen(
        "        '200':\n          description: Verified payment\n",
        "        '201': {description: Also fine}\n        '200':\n          description: Verified payment\n",
        1,
    );
    let (ok, stderr) = run_on(&broken);
    assert!(!ok);
    assert!(stderr.contains("ipg_verify: responses: one success answer per operation"), "{stderr}");
}
