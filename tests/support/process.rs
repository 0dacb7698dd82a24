//! The processes a test starts: waiting for them to be ready, and stopping them by pid, with the
//! signal they shut down fast on, then SIGKILL if they are still running after a grace period.
use std::process::{Child, Command};
use std::time::{Duration, Instant};

/// Asks `ready` every `every` until it says yes or `within` has passed; whether it said yes.
pub fn poll_until(within: Duration, every: Duration, mut ready: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + within;
    loop {
        if ready() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(every);
    }
}

pub fn stop_by_pid(child: &mut Child, signal: &str, grace: Duration) {
    let exited = |child: &mut Child| matches!(child.try_wait(), Ok(Some(_)));
    if exited(child) {
        return;
    }
    let _ = Command::new("kill").arg(format!("-{signal}")).arg(child.id().to_string()).status();
    if poll_until(grace, Duration::from_millis(20), || exited(child)) {
        return;
    }
    let _ = child.kill();
    let _ = child.wait();
}
