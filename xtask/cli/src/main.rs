//! `cargo xtask regen [--check]`: snapshot the generated clients in snapshots/ (insta).
//! `cargo xtask build-cost [--timings]`: clean build times beside the floor crate (see build_cost.rs).
//! `cargo xtask hosts [--check]`: spec/hosts/*.yaml, one OpenAPI file per host, from spec/vandar.yaml (see hosts.rs).
//!
//! `regen` rewrites snapshots/{api,ipg,batch,subscription,enums,operations}.snap from what build.rs generates now;
//! `regen --check` fails when they differ (what CI runs). Both drive the snapshot test in
//! tests/generated_snapshots.rs, so the test, the check and the rewrite can never disagree.
use std::process::{exit, Command};

mod build_cost;
mod hosts;
// build.rs's passes, for their unit tests only (see codegen.rs).
#[cfg(test)]
mod codegen;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let check = match args.iter().map(String::as_str).collect::<Vec<_>>().as_slice() {
        ["regen"] => false,
        ["regen", "--check"] => true,
        ["hosts", rest @ ..] if rest.is_empty() || rest == ["--check"] => {
            let check = !rest.is_empty();
            let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
            if let Err(message) = hosts::run(&root, check) {
                eprintln!("xtask: {message}");
                exit(1);
            }
            println!("xtask: spec/hosts/ {}", if check { "matches spec/vandar.yaml" } else { "written" });
            return;
        }
        ["build-cost", rest @ ..] => {
            if let Err(message) = build_cost::run(rest) {
                eprintln!("xtask: {message}");
                exit(1);
            }
            return;
        }
        _ => {
            eprintln!("usage: cargo xtask regen [--check] | cargo xtask hosts [--check] | cargo xtask build-cost [--timings]");
            exit(2);
        }
    };
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut test = Command::new(cargo);
    test.args(["test", "--quiet", "--package", "vandar", "--test", "generated_snapshots"]);
    if check {
        // insta never writes in CI mode; INSTA_UPDATE=no for belt and braces.
        test.env("CI", "true").env("INSTA_UPDATE", "no");
    } else {
        test.env_remove("CI").env("INSTA_UPDATE", "always").env("INSTA_FORCE_PASS", "0");
    }
    let status = test.status().unwrap_or_else(|e| {
        eprintln!("xtask: cannot run cargo: {e}");
        exit(1)
    });
    if !status.success() {
        eprintln!(
            "xtask: {}",
            if check {
                "snapshots/ differ from the code generated from spec/vandar.yaml; run `cargo xtask regen` and commit the result"
            } else {
                "snapshot run failed"
            }
        );
        exit(1);
    }
    println!("xtask: snapshots {}", if check { "match the spec" } else { "rewritten" });
}
