//! Who sent a journal entry, and whether that process still lives.
//!
//! Each process that sends money moves has one sender id (`<host>.<pid>.<nonce>`), recorded in the
//! entry's [`Target::sender`](super::Target::sender) each time it begins sending one. Each journal
//! keeps a mark of life for the process that its storage releases when the process dies: a file
//! lock (the OS lets go of it), a Redis key with a short expiry that the living process renews, a
//! Postgres session-level advisory lock (the server lets go when the session ends). Recovery asks
//! [`Journal::sender`](super::Journal::sender) about the sender of each young entry: one whose sender
//! is [`Sender::Gone`] is looked up at once, not left "too young" (see `RecoveryOptions::min_age`).
//!
//! A mark that lapses while its process lives (a Redis key not renewed on a starved machine) only
//! makes recovery look an entry up early: finding nothing proves nothing until `min_age` has passed
//! since it was sent, whoever sent it, so no money move is ever concluded unsent on that ground.
use std::sync::OnceLock;

/// Whether the process that sent an entry still lives, as the journal can tell.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Sender {
    /// Its mark of life is held: it may still be sending (or retrying) the entry.
    Alive,
    /// Its mark of life is gone: it died (or, on Redis, stopped renewing it), and sends nothing more.
    Gone,
    /// The journal cannot tell (another host's process, a journal without marks of life, an entry
    /// written before senders were recorded, a sender id that does not read).
    Unknown,
}

impl std::fmt::Display for Sender {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Sender::Alive => "alive",
            Sender::Gone => "gone",
            Sender::Unknown => "unknown",
        })
    }
}

/// This process's sender id: `<host>.<pid>.<nonce>` (the nonce tells a reused pid apart), made of
/// `[A-Za-z0-9._-]` only, so it names a file and a key safely.
pub fn this_process() -> &'static str {
    static ID: OnceLock<String> = OnceLock::new();
    ID.get_or_init(|| format!("{}.{}.{:08x}", host_name(), std::process::id(), fastrand::u32(..)))
}

/// This machine's name, reduced to the characters a sender id may hold (`host` if none can be read).
pub(crate) fn host_name() -> String {
    let name = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .or_else(|_| std::fs::read_to_string("/etc/hostname"))
        .unwrap_or_default();
    let name: String = name.trim().chars().filter(|c| c.is_ascii_alphanumeric() || *c == '-').take(64).collect();
    if name.is_empty() { "host".to_string() } else { name }
}

/// A sender id as this crate writes it, read back from storage (which may be damaged or forged):
/// its host and pid, or `None` when it is not one.
pub(crate) fn parse(sender: &str) -> Option<(&str, u32)> {
    if sender.is_empty() || sender.len() > 96 || !sender.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-' || b == b'_') {
        return None;
    }
    let mut parts = sender.rsplitn(3, '.');
    let nonce = parts.next()?;
    let pid = parts.next()?.parse().ok()?;
    let host = parts.next()?;
    (nonce.len() == 8 && nonce.bytes().all(|b| b.is_ascii_hexdigit()) && !host.is_empty() && !host.contains('.')).then_some((host, pid))
}

/// The file journal's marks of life: one file per process in `<journal>.senders/`, named by its
/// sender id and held under an exclusive `flock` for the life of the process (the OS lets go of it
/// when the process dies, however it dies).
pub(crate) mod file_marks {
    use std::collections::HashSet;
    use std::fs::{File, OpenOptions};
    use std::io;
    use std::path::{Path, PathBuf};
    use std::sync::Mutex;

    use super::Sender;

    /// The marks this process holds, by folder: held (never closed) until the process ends.
    static HELD: Mutex<Option<(HashSet<PathBuf>, Vec<File>)>> = Mutex::new(None);

    fn open(path: &Path, create: bool) -> io::Result<File> {
        let mut options = OpenOptions::new();
        options.read(true);
        if create {
            options.write(true).create(true).truncate(false);
        }
        #[cfg(unix)]
        {
            std::os::unix::fs::OpenOptionsExt::custom_flags(&mut options, libc::O_NONBLOCK | libc::O_NOFOLLOW);
            std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        }
        let file = options.open(path)?;
        if !file.metadata()?.is_file() {
            return Err(io::Error::new(io::ErrorKind::InvalidInput, format!("{} is not a regular file; refused", path.display())));
        }
        Ok(file)
    }

    /// Holds this process's mark in `folder` (created, private, if missing), once per folder.
    pub(crate) fn hold(folder: &Path) -> io::Result<()> {
        let mut held = HELD.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let (folders, files) = held.get_or_insert_with(Default::default);
        if folders.contains(folder) {
            return Ok(());
        }
        match std::fs::symlink_metadata(folder) {
            Ok(metadata) if metadata.is_dir() => {}
            Ok(_) => return Err(io::Error::new(io::ErrorKind::InvalidInput, format!("{} is not a folder; refused", folder.display()))),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                let mut builder = std::fs::DirBuilder::new();
                #[cfg(unix)]
                std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
                match builder.create(folder) {
                    Ok(()) => {}
                    Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
                    Err(e) => return Err(e),
                }
            }
            Err(e) => return Err(e),
        }
        let file = open(&folder.join(super::this_process()), true)?;
        file.try_lock().map_err(|e| io::Error::other(format!("cannot hold this process's mark of life in {}: {e}", folder.display())))?;
        folders.insert(folder.to_path_buf());
        files.push(file);
        Ok(())
    }

    /// Whether `sender` holds its mark in `folder`. A mark found unheld is removed (its process is
    /// gone); a sender id that does not read, or another host's, is [`Sender::Unknown`].
    pub(crate) fn check(folder: &Path, sender: &str) -> Sender {
        let Some((host, _)) = super::parse(sender) else { return Sender::Unknown };
        if host != super::host_name() {
            return Sender::Unknown;
        }
        let path = folder.join(sender);
        let file = match open(&path, false) {
            Ok(file) => file,
            // No mark: removed once found unheld, or never made (holding it failed, and was logged).
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Sender::Gone,
            Err(error) => {
                tracing::warn!(path = %path.display(), %error, "a journal sender's mark of life does not open");
                return Sender::Unknown;
            }
        };
        match file.try_lock() {
            Ok(()) => {
                let _ = std::fs::remove_file(&path);
                Sender::Gone
            }
            Err(std::fs::TryLockError::WouldBlock) => Sender::Alive,
            Err(std::fs::TryLockError::Error(error)) => {
                tracing::warn!(path = %path.display(), %error, "a journal sender's mark of life cannot be checked");
                Sender::Unknown
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sender_id_reads_back_and_a_forged_one_does_not() {
        let me = this_process();
        assert_eq!(parse(me), Some((host_name().as_str(), std::process::id())), "{me}");
        for forged in ["", "../../etc/passwd", "host.12.zzzzzzzz", "host.x.0000000a", "a/b.1.0000000a", ".1.0000000a", "h.1.0000000a\n"] {
            assert_eq!(parse(forged), None, "{forged:?}");
        }
        assert_eq!(parse(&"h".repeat(97)), None);
    }
}
