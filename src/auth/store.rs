use std::io;
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use futures::future::BoxFuture;

use crate::Secret;

/// An access and refresh token pair of the business API.
#[derive(Clone, Debug, PartialEq)]
pub struct TokenPair {
    /// Bearer token for the business API and batch hosts.
    pub access_token: Secret,
    /// One-use token that renews the pair (lives about 10 days).
    pub refresh_token: Secret,
    /// When the access token expires; `None` = unknown (renewed only on a 401).
    pub expires_at: Option<SystemTime>,
}

impl TokenPair {
    /// A pair as issued in the dashboard or by Vandar.
    pub fn new(access_token: impl Into<Secret>, refresh_token: impl Into<Secret>, expires_at: Option<SystemTime>) -> Self {
        Self { access_token: access_token.into(), refresh_token: refresh_token.into(), expires_at }
    }
}

/// Where every new token pair is saved *before* it is used: Vandar rotates the refresh token on
/// every refresh, so a pair lost between refresh and save locks the merchant out.
///
/// Implement it for your own database; [`MemoryTokenStore`] and [`FileTokenStore`] ship here.
pub trait TokenStore: Send + Sync + 'static {
    /// Persists the pair durably; the client uses it only after this returns `Ok`.
    fn save<'a>(&'a self, pair: &'a TokenPair) -> BoxFuture<'a, io::Result<()>>;
    /// The last saved pair, if any.
    fn load(&self) -> BoxFuture<'_, io::Result<Option<TokenPair>>>;
}

/// Keeps the pair in memory (tests, short-lived processes).
#[derive(Debug, Default)]
pub struct MemoryTokenStore(Mutex<Option<TokenPair>>);

impl TokenStore for MemoryTokenStore {
    fn save<'a>(&'a self, pair: &'a TokenPair) -> BoxFuture<'a, io::Result<()>> {
        *self.0.lock().expect("store lock") = Some(pair.clone());
        Box::pin(async { Ok(()) })
    }

    fn load(&self) -> BoxFuture<'_, io::Result<Option<TokenPair>>> {
        let pair = self.0.lock().expect("store lock").clone();
        Box::pin(async move { Ok(pair) })
    }
}

/// Keeps the pair in a JSON file, replaced atomically: write a temporary file, fsync, rename, fsync
/// the directory. The file is created readable by its owner only (on Unix).
#[derive(Debug, Clone)]
pub struct FileTokenStore {
    path: PathBuf,
}

impl FileTokenStore {
    /// A store at `path`.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self { path: path.into() }
    }
}

#[derive(serde::Serialize, serde::Deserialize)]
struct StoredPair {
    access_token: String,
    refresh_token: String,
    expires_at_unix: Option<u64>,
}

impl TokenStore for FileTokenStore {
    fn save<'a>(&'a self, pair: &'a TokenPair) -> BoxFuture<'a, io::Result<()>> {
        let stored = StoredPair {
            access_token: pair.access_token.expose().to_string(),
            refresh_token: pair.refresh_token.expose().to_string(),
            expires_at_unix: pair.expires_at.and_then(|t| t.duration_since(UNIX_EPOCH).ok()).map(|d| d.as_secs()),
        };
        let path = self.path.clone();
        Box::pin(async move {
            tokio::task::spawn_blocking(move || write_atomically(&path, &serde_json::to_vec(&stored)?))
                .await
                .map_err(io::Error::other)?
        })
    }

    fn load(&self) -> BoxFuture<'_, io::Result<Option<TokenPair>>> {
        let path = self.path.clone();
        Box::pin(async move {
            let bytes = match tokio::task::spawn_blocking(move || std::fs::read(path)).await.map_err(io::Error::other)? {
                Ok(bytes) => bytes,
                Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
                Err(e) => return Err(e),
            };
            let stored: StoredPair = serde_json::from_slice(&bytes)?;
            Ok(Some(TokenPair::new(
                stored.access_token,
                stored.refresh_token,
                stored.expires_at_unix.map(|s| UNIX_EPOCH + Duration::from_secs(s)),
            )))
        })
    }
}

fn write_atomically(path: &std::path::Path, bytes: &[u8]) -> io::Result<()> {
    use std::io::Write;
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(std::path::Path::new("."));
    let tmp = dir.join(format!(".{}.tmp", path.file_name().and_then(|n| n.to_str()).unwrap_or("vandar-tokens")));
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(&tmp)?;
    file.write_all(bytes)?;
    file.sync_all()?;
    drop(file);
    std::fs::rename(&tmp, path)?;
    // Make the rename itself durable.
    std::fs::File::open(dir)?.sync_all()
}
