//! Stopping a server a test started: by its pid, with the signal it shuts down fast on, then
//! SIGKILL if it is still running after `grace`.
use std::process::{Child, Command};
use std::time::{Duration, Instant};

pub fn stop_by_pid(child: &mut Child, signal: &str, grace: Duration) {
    if let Ok(Some(_)) = child.try_wait() {
        return;
    }
    let _ = Command::new("kill").arg(format!("-{signal}")).arg(child.id().to_string()).status();
    let deadline = Instant::now() + grace;
    while Instant::now() < deadline {
        if let Ok(Some(_)) = child.try_wait() {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    let _ = child.wait();
}
