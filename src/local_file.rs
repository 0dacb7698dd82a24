//! The files the client keeps on this machine (the file journal, the token file), handled as input
//! that may come back damaged, huge or replaced: opened only when they are regular files (never
//! blocking on a FIFO or a device), read up to a documented size, and written private (0600 from
//! the first byte) through a temporary file that is never a planted symlink.

use std::fs::{File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::Path;

/// The most a journal file may hold (64 MiB: about 100,000 open entries); past it the journal is
/// refused with an error naming the file, never read until memory runs out.
pub(crate) const JOURNAL_LIMIT: u64 = 64 << 20;
/// The most a token file may hold (64 KiB; a pair is a few hundred bytes).
pub(crate) const TOKEN_FILE_LIMIT: u64 = 64 << 10;

/// `path`'s bytes (`None`: no such file), refusing what is not a regular file or is over `limit`.
/// `what` names the file in errors ("journal", "token file"); nothing of its content is quoted.
pub(crate) fn read_bounded(path: &Path, limit: u64, what: &str) -> io::Result<Option<Vec<u8>>> {
    let Some(mut file) = open_regular(path, what)? else { return Ok(None) };
    let mut bytes = Vec::new();
    // One byte over the limit tells a file that grew past it while it was read.
    (&mut file).take(limit.saturating_add(1)).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > limit {
        return Err(too_big(path, what, limit));
    }
    Ok(Some(bytes))
}

/// Opens `path` to read without blocking (a FIFO or a device at the path would hold `open` forever),
/// then refuses it unless it is a regular file within reach.
pub(crate) fn open_regular(path: &Path, what: &str) -> io::Result<Option<File>> {
    let mut options = OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::custom_flags(&mut options, libc::O_NONBLOCK);
    let file = match options.open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    let metadata = file.metadata()?;
    if !metadata.is_file() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("the {what} {} is not a regular file (a folder, a FIFO or a device); refused", path.display()),
        ));
    }
    Ok(Some(file))
}

/// The error for a file over its limit.
pub(crate) fn too_big(path: &Path, what: &str, limit: u64) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, format!("the {what} {} is over its {limit}-byte limit; refused", path.display()))
}

/// Refuses `path` when something other than a regular file is there (a write would block on a FIFO).
pub(crate) fn refuse_special(path: &Path, what: &str) -> io::Result<()> {
    open_regular(path, what).map(drop)
}

/// Writes `bytes` as `path`'s new content, atomically and durably: a temporary file beside it,
/// created new (never following a symlink planted there) with `mode` from the first byte, fsynced,
/// renamed over `path`, the folder fsynced.
pub(crate) fn replace(path: &Path, bytes: &[u8], mode: u32) -> io::Result<()> {
    let folder = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("vandar");
    let temporary = folder.join(format!(".{name}.{}.tmp", std::process::id()));
    // A leftover of a killed writer (or anything planted there) goes: the new file is created fresh.
    match std::fs::remove_file(&temporary) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
        _ => {}
    }
    let mut file = create_private(&temporary, mode)?;
    let written = file.write_all(bytes).and_then(|()| file.sync_all());
    drop(file);
    if let Err(e) = written.and_then(|()| std::fs::rename(&temporary, path)) {
        let _ = std::fs::remove_file(&temporary);
        return Err(e);
    }
    File::open(folder)?.sync_all() // the rename itself, durable
}

/// Creates `path` new (`O_EXCL`, so never through a symlink) with `mode` whatever the umask.
fn create_private(path: &Path, mode: u32) -> io::Result<File> {
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, mode);
    let file = options.open(path)?;
    // The umask may have taken bits away: set exactly `mode`.
    #[cfg(unix)]
    file.set_permissions(std::os::unix::fs::PermissionsExt::from_mode(mode))?;
    Ok(file)
}

/// `path`'s permission bits, or `default` when it does not exist yet.
pub(crate) fn mode_of(path: &Path, default: u32) -> u32 {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::metadata(path).map(|m| m.permissions().mode() & 0o7777).unwrap_or(default)
    }
    #[cfg(not(unix))]
    {
        let _ = path;
        default
    }
}

/// Opens `path` to append, creating it with `mode` (0600 for files holding IBANs or tokens).
pub(crate) fn open_append(path: &Path, mode: u32, what: &str) -> io::Result<File> {
    refuse_special(path, what)?;
    let mut options = OpenOptions::new();
    options.create(true).read(true).append(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, mode);
    options.open(path)
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn a_fifo_a_folder_and_a_device_are_refused_without_blocking() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("journal");
        let made = std::process::Command::new("mkfifo").arg(&fifo).status().unwrap();
        assert!(made.success());
        let started = std::time::Instant::now();
        let error = read_bounded(&fifo, JOURNAL_LIMIT, "journal").unwrap_err();
        assert!(error.to_string().contains("not a regular file"), "{error}");
        assert!(open_append(&fifo, 0o600, "journal").is_err());
        assert!(read_bounded(dir.path(), JOURNAL_LIMIT, "journal").is_err(), "a folder");
        let zero = read_bounded(Path::new("/dev/zero"), JOURNAL_LIMIT, "journal").unwrap_err();
        assert!(zero.to_string().contains("not a regular file"), "{zero}");
        assert!(started.elapsed() < std::time::Duration::from_secs(2), "nothing blocked");
        assert!(read_bounded(&dir.path().join("none"), 10, "journal").unwrap().is_none());
    }

    #[test]
    fn a_file_over_its_limit_is_refused_naming_the_file_not_its_content() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tokens.json");
        std::fs::write(&path, "s3cret-refresh-token".repeat(10)).unwrap();
        let error = read_bounded(&path, 64, "token file").unwrap_err();
        assert!(error.to_string().contains("over its 64-byte limit") && error.to_string().contains("tokens.json"), "{error}");
        assert!(!error.to_string().contains("s3cret"));
        assert_eq!(read_bounded(&path, 1000, "token file").unwrap().unwrap().len(), 200);
    }

    #[test]
    #[allow(unsafe_code)] // libc::umask: the process-wide mask the test varies
    fn replaced_files_are_private_whatever_the_umask_and_never_follow_a_planted_symlink() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tokens.json");
        let victim = dir.path().join("victim");
        std::fs::write(&victim, "untouched").unwrap();
        // A symlink planted where the temporary file goes.
        std::os::unix::fs::symlink(&victim, dir.path().join(format!(".tokens.json.{}.tmp", std::process::id()))).unwrap();
        for umask in [0o022, 0o077, 0o000] {
            let before = unsafe { libc::umask(umask) };
            let replaced = replace(&path, b"{}", 0o600);
            unsafe { libc::umask(before) };
            replaced.unwrap();
            assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600, "umask {umask:o}");
        }
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "untouched");
        assert_eq!(std::fs::read(&path).unwrap(), b"{}");
        // A mode the operator chose is kept by the next replace.
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640)).unwrap();
        replace(&path, b"[]", mode_of(&path, 0o600)).unwrap();
        assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o640);
    }
}
