#![allow(dead_code)]
//! A real PostgreSQL server on 127.0.0.1 for tests: Debian's `initdb` and `postgres`
//! (`/usr/lib/postgresql/<version>/bin/`, or `$PG_BIN`) on a fresh cluster in a temporary folder, a
//! free port, its socket in that folder, no fsync; stopped by pid.
//!
//! PostgreSQL refuses to run as root: run as root (CI is), the cluster belongs to the `postgres`
//! system user of Debian's package, and `initdb` and `postgres` are started as that user (the child
//! is the postmaster itself, so its pid is the server's).
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

#[path = "process.rs"]
mod process;

pub struct PostgresServer {
    child: Child,
    pub port: u16,
    dir: tempfile::TempDir,
}

/// The folder holding `initdb`, `postgres` and `pg_isready`: `$PG_BIN`, or the newest Debian version.
fn bin_dir() -> PathBuf {
    if let Ok(dir) = std::env::var("PG_BIN") {
        return PathBuf::from(dir);
    }
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| Some((e.file_name().to_str()?.parse().ok()?, e.path().join("bin"))))
        .filter(|(_, bin)| bin.join("postgres").exists())
        .collect();
    versions.sort();
    versions.pop().map(|(_, bin)| bin).unwrap_or_else(|| {
        panic!("no /usr/lib/postgresql/*/bin/postgres: install Debian's postgresql (.ci/install-postgres does) or set PG_BIN")
    })
}

/// The uid and gid of the `postgres` user, when running as root.
fn run_as() -> Option<(u32, u32)> {
    let root = Command::new("id").arg("-u").output().map(|o| o.stdout.trim_ascii() == b"0").unwrap_or(false);
    if !root {
        return None;
    }
    let id = |flag: &str| -> u32 {
        let out = Command::new("id").args([flag, "postgres"]).output().expect("id");
        assert!(out.status.success(), "running as root, and there is no `postgres` user to run PostgreSQL as (Debian's postgresql package creates it)");
        String::from_utf8_lossy(&out.stdout).trim().parse().unwrap()
    };
    Some((id("-u"), id("-g")))
}

fn command(program: &Path, user: Option<(u32, u32)>) -> Command {
    let mut command = Command::new(program);
    if let Some((uid, gid)) = user {
        command.uid(uid).gid(gid).env("HOME", "/tmp");
    }
    command.current_dir("/tmp").stdin(Stdio::null());
    command
}

impl PostgresServer {
    /// Creates a cluster and starts it without fsync (tests); returns once it accepts connections.
    pub fn start() -> Self {
        Self::start_with(false)
    }

    /// [`PostgresServer::start`], with PostgreSQL's default fsync when `durable` (benchmarks).
    pub fn start_with(durable: bool) -> Self {
        let bin = bin_dir();
        let user = run_as();
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let dir = tempfile::tempdir().unwrap();
        if let Some((uid, gid)) = user {
            std::os::unix::fs::chown(dir.path(), Some(uid), Some(gid)).unwrap();
        }
        let data = dir.path().join("data");
        let init = command(&bin.join("initdb"), user)
            .args(["--auth=trust", "--username=postgres", "--encoding=UTF8", "--locale=C", "--no-sync", "--pgdata"])
            .arg(&data)
            .output()
            .unwrap_or_else(|e| panic!("cannot run {}/initdb: {e}", bin.display()));
        assert!(init.status.success(), "initdb failed: {}", String::from_utf8_lossy(&init.stderr));
        let child = command(&bin.join("postgres"), user)
            .arg("-D")
            .arg(&data)
            .args(["-h", "127.0.0.1", "-p", &port.to_string(), "-c", "max_connections=50"])
            .args(if durable { &[][..] } else { &["-F"][..] })
            .arg("-k")
            .arg(dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}/postgres: {e}", bin.display()));
        let server = Self { child, port, dir };
        let accepted = process::poll_until(Duration::from_secs(20), Duration::from_millis(50), || server.accepts(&bin));
        assert!(accepted, "postgres on port {port} did not accept connections within 20 s");
        server
    }

    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    fn accepts(&self, bin: &Path) -> bool {
        Command::new(bin.join("pg_isready"))
            .args(["-q", "-h", "127.0.0.1", "-p", &self.port.to_string(), "-t", "1"])
            .status()
            .is_ok_and(|s| s.success())
    }

    /// Stops the server by its pid: SIGINT (PostgreSQL's fast shutdown: it ends the open sessions;
    /// SIGTERM would wait for every client to disconnect), then SIGKILL.
    pub fn stop(&mut self) {
        process::stop_by_pid(&mut self.child, "INT", Duration::from_secs(10));
    }
}

impl Drop for PostgresServer {
    fn drop(&mut self) {
        self.stop();
        let _ = &self.dir;
    }
}
