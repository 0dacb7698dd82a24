//! `cargo xtask build-cost`: what the crate costs to build, beside the floor any Vandar client pays.
//!
//! Builds, clean and in one run (so the ratios compare like with like on this machine):
//! 1. the **floor**: a crate with only what any Vandar client needs (reqwest 0.13 with its default
//!    TLS and `json`, serde, serde_json, tokio), written to `target/build-cost/floor`;
//! 2. **vandar, ipg only** (`--no-default-features --features ipg,rustls-ring`: the ipg host with the
//!    default TLS backend);
//! 3. **vandar, all hosts** (default features);
//!
//! each `cargo build --lib` (dev profile) into its own fresh target directory, with the registry
//! fetched beforehand so downloads are not timed. The floor uses vandar's Cargo.lock, so shared
//! crates build at the same versions. Prints the times, the ratios and the goals (ipg only at most
//! 1.3x the floor, all hosts at most 1.6x). `--timings` also writes cargo's per-crate HTML report
//! for each vandar build.
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

const FLOOR_MANIFEST: &str = r#"[package]
name = "floor"
version = "0.0.0"
edition = "2021"
publish = false

[workspace]

[dependencies]
reqwest = { version = "0.13", features = ["json"] }
serde = { version = "1", features = ["derive"] }
serde_json = "1"
tokio = { version = "1", features = ["rt", "macros"] }
"#;

const FLOOR_LIB: &str = r#"//! The floor: one typed JSON call, what any Vandar client does.
#[derive(serde::Deserialize, Debug)]
pub struct Balance {
    pub status: i64,
    pub data: serde_json::Value,
}

pub async fn balance(client: &reqwest::Client, url: &str, token: &str) -> reqwest::Result<Balance> {
    client.get(url).bearer_auth(token).send().await?.error_for_status()?.json().await
}
"#;

struct Build {
    name: &'static str,
    took: Duration,
}

pub fn run(args: &[&str]) -> Result<(), String> {
    let timings = args.contains(&"--timings");
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).ancestors().nth(2).ok_or("xtask/cli sits in the workspace")?.to_path_buf();
    let work = root.join("target").join("build-cost");
    let floor = work.join("floor");
    std::fs::create_dir_all(floor.join("src")).map_err(|e| e.to_string())?;
    std::fs::write(floor.join("Cargo.toml"), FLOOR_MANIFEST).map_err(|e| e.to_string())?;
    std::fs::write(floor.join("src/lib.rs"), FLOOR_LIB).map_err(|e| e.to_string())?;
    std::fs::copy(root.join("Cargo.lock"), floor.join("Cargo.lock")).map_err(|e| e.to_string())?;

    cargo(&root, &["fetch"], None)?;
    cargo(&floor, &["fetch"], None)?;
    let mut builds = Vec::new();
    builds.push(Build { name: "floor (reqwest+json+TLS, serde, serde_json, tokio)", took: clean_build(&floor, &work.join("t-floor"), &[], false)? });
    let ipg = ["--no-default-features", "--features", "ipg,rustls-ring"];
    builds.push(Build { name: "vandar, ipg only", took: clean_build(&root, &work.join("t-ipg"), &ipg, timings)? });
    builds.push(Build { name: "vandar, all hosts", took: clean_build(&root, &work.join("t-all"), &[], timings)? });

    let base = builds[0].took.as_secs_f64();
    println!("\nclean `cargo build --lib` (dev), one run, {} cores", std::thread::available_parallelism().map_or(0, |n| n.get()));
    println!("{:<55} {:>9} {:>7}", "build", "seconds", "ratio");
    for build in &builds {
        println!("{:<55} {:>9.1} {:>6.2}x", build.name, build.took.as_secs_f64(), build.took.as_secs_f64() / base);
    }
    let (ipg_ratio, all_ratio) = (builds[1].took.as_secs_f64() / base, builds[2].took.as_secs_f64() / base);
    println!(
        "goals: ipg only <= 1.30x ({}), all hosts <= 1.60x ({})",
        if ipg_ratio <= 1.3 { "met" } else { "not met" },
        if all_ratio <= 1.6 { "met" } else { "not met" }
    );
    if timings {
        println!("per-crate reports: {}/t-*/cargo-timings/cargo-timing.html", work.display());
    }
    Ok(())
}

/// `cargo build --lib` in `dir` into a fresh `target`, timed.
fn clean_build(dir: &Path, target: &PathBuf, extra: &[&str], timings: bool) -> Result<Duration, String> {
    if target.exists() {
        std::fs::remove_dir_all(target).map_err(|e| format!("cannot empty {}: {e}", target.display()))?;
    }
    let mut args = vec!["build", "--lib", "--quiet"];
    args.extend(extra);
    if timings {
        args.push("--timings");
    }
    let started = Instant::now();
    cargo(dir, &args, Some(target))?;
    Ok(started.elapsed())
}

fn cargo(dir: &Path, args: &[&str], target: Option<&PathBuf>) -> Result<(), String> {
    let mut command = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    command.args(args).current_dir(dir).env_remove("RUSTFLAGS");
    if let Some(target) = target {
        command.env("CARGO_TARGET_DIR", target);
    }
    eprintln!("xtask: cargo {} (in {})", args.join(" "), dir.display());
    let status = command.status().map_err(|e| format!("cannot run cargo: {e}"))?;
    status.success().then_some(()).ok_or_else(|| format!("cargo {} failed in {}", args.join(" "), dir.display()))
}
