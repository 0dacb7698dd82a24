//! Business bearer tokens (refreshed through POST /v3/refreshtoken) and Miando client-credentials
//! tokens (POST /sso/oauth/token): renewed ahead of expiry, once on a 401, one renewal at a time.
mod clock;
mod store;
mod tokens;

pub use clock::{Clock, ManualClock, SystemClock};
pub use store::{FileTokenStore, MemoryTokenStore, TokenPair, TokenStore};
pub(crate) use tokens::{Source, TokenManager};
