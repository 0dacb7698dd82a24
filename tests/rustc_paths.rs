//! The paths rustc prints for this crate's types must be paths a user can write. A newcomer reads a
//! type off a compiler note (`found enum Result<vandar::api::types::BalanceResponse, vandar::Error>`)
//! and imports it; a type reachable only through a private module (`vandar::transport::Transport`)
//! would be printed at a path that does not compile. `#![deny(unnameable_types)]` in lib.rs stops such
//! a type at build time; this test checks what rustc actually prints.
//!
//! It compiles a probe with the real rustc against this build's `libvandar` rlib: the values a shop
//! handles, each put where a `()` is expected, so rustc names their types. Every `vandar::` path in
//! those messages is then imported by a second file, which must compile. (A type too long for a
//! message is written to a file by rustc and shortened; the values are chosen to stay short.)
#![cfg(all(feature = "api", feature = "ipg", feature = "batch", feature = "subscription"))]
use std::path::{Path, PathBuf};
use std::process::Command;

/// One value per line; each must make rustc name its type (`let _: () = <expr>;`).
const VALUES: &[&str] = &[
    "vandar::Client::builder()",
    "v.api()",
    "v.ipg()",
    "v.batch()",
    "v.subscription()",
    "v.api().inner()",
    "v.start_payment(vandar::money::Rials(1_000), \"https://shop.example/cb\").await",
    "v.verify_payment(\"token\", vandar::money::Rials(1_000)).await",
    "v.settlement_store(vandar::api::types::SettlementStoreRequest::builder()).await",
    "v.batch_settlement_store(vandar::batch::types::BatchSettlementStoreRequest::builder()).await",
    "v.recover().await",
    "v.api().balance().send().await",
    "v.api().balance().send_with_headers().await",
    "v.api().settlement_list().items()",
    "v.api().transaction_list().pages()",
    "v.api().transaction_refund()",
    "v.ipg().ipg_send().send().await",
    "v.api().authorization_list().send().await",
    "vandar::inbound::Callback::parse(\"token=t&payment_status=OK\")",
    "vandar::inbound::webhook::Event::from_json(b\"{}\")",
    "vandar::CallOptions::new()",
    "vandar::RetryPolicy::default()",
    "vandar::rate_limit::RateLimits::vandar()",
    "vandar::journal::FileJournal::open(\"/tmp/journal\")",
    "vandar::money::Rials(1_000).whole_tomans()",
    "e.code()",
    "e.reach()",
];

/// Values only the `mock` feature has.
const MOCK_VALUES: &[&str] = &["vandar::mock::MockVandar::start().await", "m.pay(\"page\")", "m.requests()", "m.stats()", "m.credentials()"];

fn probe(values: &[&str]) -> String {
    let lines: String = values.iter().map(|value| format!("    let _: () = {value};\n")).collect();
    format!(
        "#![allow(unused)]\nuse vandar::api::ClientInfo;\n\
         async fn probe(v: vandar::Client, e: vandar::Error{mock}) {{\n{lines}}}\nfn main() {{}}\n",
        mock = if cfg!(feature = "mock") { ", m: vandar::mock::MockVandar" } else { "" },
    )
}

/// The rustc of the toolchain that built this test: `$RUSTC`, else the one beside the cargo running
/// it (`$CARGO`, the toolchain's own binary under rustup), else `rustc` on the PATH.
fn rustc_of_this_build() -> PathBuf {
    if let Some(rustc) = std::env::var_os("RUSTC") {
        return rustc.into();
    }
    std::env::var_os("CARGO")
        .map(|cargo| PathBuf::from(cargo).with_file_name(format!("rustc{}", std::env::consts::EXE_SUFFIX)))
        .filter(|rustc| rustc.exists())
        .unwrap_or_else(|| "rustc".into())
}

/// `rustc` on `source` against `rlib`; the rendered messages of its errors (none: it compiled).
fn rustc(rlib: &Path, source: &str) -> Vec<String> {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("probe.rs");
    std::fs::write(&file, source).unwrap();
    let deps = rlib.parent().unwrap();
    let output = Command::new(rustc_of_this_build())
        .args(["--edition", "2021", "--crate-type", "bin", "--emit=metadata", "--error-format=json"])
        .arg("--extern")
        .arg(format!("vandar={}", rlib.display()))
        .arg("-L")
        .arg(format!("dependency={}", deps.display()))
        .arg("-o")
        .arg(dir.path().join("probe.rmeta"))
        .arg(&file)
        .output()
        .expect("rustc runs");
    String::from_utf8_lossy(&output.stderr)
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter(|message| message["level"] == "error")
        .map(|message| message["rendered"].as_str().unwrap_or_default().to_owned())
        .filter(|rendered| !rendered.starts_with("error: aborting due to"))
        .collect()
}

/// This build's rlib: the newest `libvandar-*.rlib` beside the test binary that has every feature
/// this test was compiled with (other feature sets of the crate may sit in the same directory).
fn this_builds_rlib() -> PathBuf {
    let deps = std::env::current_exe().unwrap().parent().unwrap().to_path_buf();
    let mut rlibs: Vec<(std::time::SystemTime, PathBuf)> = std::fs::read_dir(&deps)
        .unwrap()
        .filter_map(|entry| {
            let path = entry.ok()?.path();
            let name = path.file_name()?.to_str()?;
            let ours = name.starts_with("libvandar-") && name.ends_with(".rlib");
            ours.then(|| Some((path.metadata().ok()?.modified().ok()?, path)))?
        })
        .collect();
    rlibs.sort_by(|a, b| b.0.cmp(&a.0));
    let features = format!(
        "#![allow(unused)]\nfn main() {{ let v = vandar::Client::builder().build().unwrap(); v.api(); v.ipg(); v.batch(); v.subscription(); {} {} }}\n",
        if cfg!(feature = "mock") { "let _ = vandar::mock::MockVandar::start;" } else { "" },
        if cfg!(feature = "redis") { "let _ = vandar::journal::RedisJournal::new;" } else { "" },
    );
    rlibs
        .into_iter()
        .map(|(_, path)| path)
        .find(|rlib| rustc(rlib, &features).is_empty())
        .unwrap_or_else(|| panic!("no libvandar rlib in {} with this test's features", deps.display()))
}

/// Every `vandar::a::B` path in what rustc said the values' types are (the `found ...` parts).
fn printed_paths(messages: &[String]) -> Vec<String> {
    let mut paths: Vec<String> = Vec::new();
    for message in messages {
        for line in message.lines().filter(|line| line.contains("found")) {
            let text = &line[line.find("found").unwrap()..];
            for (start, _) in text.match_indices("vandar::") {
                let path: String = text[start..].chars().take_while(|c| c.is_alphanumeric() || *c == '_' || *c == ':').collect();
                let path = path.trim_end_matches(':').to_owned();
                if !paths.contains(&path) {
                    paths.push(path);
                }
            }
        }
    }
    paths
}

#[test]
fn every_path_rustc_prints_for_a_type_of_this_crate_can_be_imported() {
    let rlib = this_builds_rlib();
    let mut values = VALUES.to_vec();
    if cfg!(feature = "mock") {
        values.extend(MOCK_VALUES);
    }
    let messages = rustc(&rlib, &probe(&values));
    let mismatches = messages.iter().filter(|m| m.starts_with("error[E0308]")).count();
    let others: Vec<&String> = messages.iter().filter(|m| !m.starts_with("error[E0308]")).collect();
    assert!(others.is_empty(), "the probe itself must be right; rustc said:\n{}", others.iter().map(|s| s.as_str()).collect::<String>());
    assert_eq!(mismatches, values.len(), "rustc named the type of each value");

    let paths = printed_paths(&messages);
    for expected in ["vandar::Error", "vandar::api::types::BalanceResponse", "vandar::Transport"] {
        assert!(paths.iter().any(|p| p == expected), "rustc printed {expected}: {paths:#?}");
    }
    let imports: String = paths.iter().enumerate().map(|(i, path)| format!("#[allow(unused_imports)]\nuse {path} as Printed{i};\n")).collect();
    let refused = rustc(&rlib, &format!("{imports}fn main() {{}}\n"));
    assert!(refused.is_empty(), "rustc printed paths a user cannot import:\n{}", refused.concat());
}
