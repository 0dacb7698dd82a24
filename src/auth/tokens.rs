use std::sync::Arc;
use std::time::{Duration, SystemTime};

use serde::Deserialize;
use tokio::sync::Mutex;

use super::{Clock, TokenPair, TokenStore};
use crate::rate_limit::RateLimits;
use crate::Secret;

/// How a token is renewed.
pub(crate) enum Source {
    /// Business API: POST /v3/refreshtoken with the (rotating) refresh token; every pair is saved first.
    Refresh { store: Arc<dyn TokenStore> },
    /// Miando: POST /sso/oauth/token with client credentials.
    ClientCredentials { client_id: i64, client_secret: Secret },
}

struct State {
    access: Option<Secret>,
    refresh: Option<Secret>,
    expires_at: Option<SystemTime>,
    /// A pair Vandar issued that the store has not accepted yet: never dropped, never used unsaved.
    unsaved: Option<TokenPair>,
}

/// One token, renewed ahead of expiry and after a 401, one renewal at a time: callers wait on the
/// lock while the first of them renews, then all use the new token.
pub(crate) struct TokenManager {
    source: Source,
    state: Mutex<State>,
    clock: Arc<dyn Clock>,
    /// Renew this long before expiry.
    margin: Duration,
    http: reqwest::Client,
    /// Base URL of the api host (refresh and token calls live there).
    api_base: String,
    limits: Arc<RateLimits>,
}

#[derive(Deserialize)]
struct Issued {
    access_token: String,
    refresh_token: Option<String>,
    expires_in: Option<u64>,
}

impl TokenManager {
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn new(
        source: Source,
        initial: Option<TokenPair>,
        clock: Arc<dyn Clock>,
        margin: Duration,
        http: reqwest::Client,
        api_base: String,
        limits: Arc<RateLimits>,
    ) -> Self {
        let state = State {
            access: initial.as_ref().map(|p| p.access_token.clone()),
            refresh: initial.as_ref().map(|p| p.refresh_token.clone()),
            expires_at: initial.and_then(|p| p.expires_at),
            unsaved: None,
        };
        Self { source, state: Mutex::new(state), clock, margin, http, api_base, limits }
    }

    /// A token good for at least `margin`, renewing it first if needed.
    pub(crate) async fn token(&self) -> Result<Secret, String> {
        let mut state = self.state.lock().await;
        self.save_pending(&mut state).await?;
        let fresh = match (&state.access, state.expires_at) {
            (Some(_), Some(expires_at)) => self.clock.now() + self.margin < expires_at,
            (Some(_), None) => true,
            (None, _) => false,
        };
        if !fresh {
            self.renew(&mut state).await?;
        }
        Ok(state.access.clone().expect("renew sets the token"))
    }

    /// After a 401 with `stale`: renew, unless another caller already did.
    pub(crate) async fn renew_after_401(&self, stale: &Secret) -> Result<Secret, String> {
        let mut state = self.state.lock().await;
        self.save_pending(&mut state).await?;
        if state.access.as_ref() == Some(stale) {
            self.renew(&mut state).await?;
        }
        Ok(state.access.clone().expect("renew sets the token"))
    }

    async fn save_pending(&self, state: &mut State) -> Result<(), String> {
        let (Some(pair), Source::Refresh { store }) = (&state.unsaved, &self.source) else { return Ok(()) };
        store.save(pair).await.map_err(|e| {
            format!("Vandar issued a new token pair but the token store refused it ({e}); it is kept in memory and saved before use")
        })?;
        let pair = state.unsaved.take().expect("checked above");
        state.access = Some(pair.access_token);
        state.refresh = Some(pair.refresh_token);
        state.expires_at = pair.expires_at;
        Ok(())
    }

    async fn renew(&self, state: &mut State) -> Result<(), String> {
        let (path, body) = match &self.source {
            Source::Refresh { .. } => {
                let refresh = state.refresh.as_ref().ok_or(
                    "no business refresh token configured; issue a token pair in the Vandar dashboard (Settings > Tokens)",
                )?;
                ("/v3/refreshtoken", serde_json::json!({ "refreshtoken": refresh.expose() }))
            }
            Source::ClientCredentials { client_id, client_secret } => (
                "/sso/oauth/token",
                serde_json::json!({
                    "grant_type": "client_credentials",
                    "client_id": client_id,
                    "client_secret": client_secret.expose(),
                }),
            ),
        };
        self.limits.acquire(&reqwest::Method::POST).await;
        let sent = self.http.post(format!("{}{path}", self.api_base)).json(&body).send().await;
        let response = sent.map_err(|e| format!("could not reach Vandar to renew the token: {}", e.without_url()))?;
        let status = response.status();
        if !status.is_success() {
            return Err(match (&self.source, status.as_u16()) {
                (Source::Refresh { .. }, 400 | 401 | 403 | 422) => format!(
                    "Vandar refused the refresh token (HTTP {status}): it expired (refresh tokens live about 10 days) or was \
                     already used. Issue a new token pair in the Vandar dashboard (Settings > Tokens)"
                ),
                (Source::ClientCredentials { .. }, 400 | 401 | 403 | 422) => {
                    format!("Vandar refused the Miando client id or secret (HTTP {status})")
                }
                _ => format!("token renewal failed with HTTP {status}; try again"),
            });
        }
        let issued: Issued = response.json().await.map_err(|e| format!("token renewal answer unreadable: {}", e.without_url()))?;
        let expires_at = issued.expires_in.map(|s| self.clock.now() + Duration::from_secs(s));
        match &self.source {
            Source::Refresh { .. } => {
                let refresh = issued.refresh_token.ok_or("token renewal answer has no refresh_token")?;
                state.unsaved = Some(TokenPair::new(issued.access_token, refresh, expires_at));
                self.save_pending(state).await
            }
            Source::ClientCredentials { .. } => {
                state.access = Some(Secret::new(issued.access_token));
                state.expires_at = expires_at;
                Ok(())
            }
        }
    }
}
