//! Business bearer tokens (refreshed through POST /v3/refreshtoken) and Miando client-credentials
//! tokens (POST /sso/oauth/token): renewed ahead of expiry, once on a 401, one renewal at a time,
//! in this process and, through a shared [`TokenStore`], across processes.
mod clock;
#[cfg(feature = "redis")]
mod redis_store;
mod store;
mod tokens;

pub use clock::{Clock, ManualClock, SystemClock};
#[cfg(feature = "redis")]
pub use redis_store::{RedisTokenStore, DEFAULT_LEASE};
pub use store::{FileTokenStore, MemoryTokenStore, MAX_GENERATION, RenewalLock, Saved, TokenPair, TokenStore};
pub(crate) use tokens::{Source, TokenEndpoint, TokenManager, TokenRequest};
