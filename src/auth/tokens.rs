use std::sync::Arc;
use std::time::{Duration, SystemTime};

use serde::Deserialize;
use tokio::sync::Mutex;

use super::{Clock, Saved, TokenPair, TokenStore};
use crate::error::Failure;
use crate::generated::operations::Operation;
use crate::secret::Secret;

/// A token call to Vandar: `POST {api}{path}` with a JSON body.
pub(crate) struct TokenRequest {
    /// `token_refresh` or `miando_token`: its host and path are the spec's.
    pub(crate) operation: Operation,
    /// The JSON body (holds the refresh token or the client secret).
    pub(crate) body: serde_json::Value,
}

/// How a [`TokenManager`] reaches Vandar. The transport implements it, so a renewal takes its rate
/// permit, its `vandar.http` span and its send from the same path as every call; the manager
/// itself holds no HTTP client.
pub(crate) trait TokenEndpoint: Sync {
    /// Sends `request` (`attempt` numbers the sends of one renewal, for the span); `Err` when it
    /// could not leave (the rate limiter unavailable), otherwise what the send gave.
    fn send_token_request(
        &self,
        request: TokenRequest,
        attempt: u32,
    ) -> impl std::future::Future<Output = Result<reqwest::Result<reqwest::Response>, Failure>> + Send;
}

/// How a token is renewed.
pub(crate) enum Source {
    /// Business API: POST /v3/refreshtoken with the (rotating) refresh token. `seed` is the
    /// configured pair; the store holds the lineage renewed from it and wins when newer.
    Refresh { store: Arc<dyn TokenStore>, seed: TokenPair },
    /// Miando: POST /sso/oauth/token with client credentials.
    ClientCredentials { client_id: i64, client_secret: Secret },
}

struct State {
    access: Option<Secret>,
    refresh: Option<Secret>,
    expires_at: Option<SystemTime>,
    generation: u64,
    /// Whether the store was read since this process started.
    loaded: bool,
    /// Whether the configured pair was tried after the stored lineage was refused.
    seed_tried: bool,
    /// A pair Vandar issued that the store has not accepted yet: never dropped, never used unsaved.
    unsaved: Option<TokenPair>,
}

impl State {
    fn adopt(&mut self, pair: TokenPair) {
        crate::secret::remember(&pair.access_token);
        crate::secret::remember(&pair.refresh_token);
        self.access = Some(pair.access_token);
        self.refresh = Some(pair.refresh_token);
        self.expires_at = pair.expires_at;
        self.generation = pair.generation;
    }
}

/// How long a token must still be valid to be sent while a renewal is under way: longer than
/// a request can take (its permit, the send, Vandar's answer), so it never expires in flight.
pub(crate) const IN_FLIGHT: Duration = Duration::from_secs(30);

/// One token, renewed ahead of expiry and after a 401, one renewal at a time: callers in this
/// process wait on the mutex while the first of them renews, and processes sharing the store
/// wait on its lock (see [`TokenStore`] for the protocol).
pub(crate) struct TokenManager {
    source: Source,
    state: Mutex<State>,
    /// The token in use and its expiry, read without the lock while it is good for the margin,
    /// and while another caller renews, as long as it is good for [`IN_FLIGHT`] more (half the
    /// margin at most). One closer to expiry than that is never handed out while a renewal is
    /// under way: callers wait for the renewal (which goes ahead of every lane of the budget)
    /// rather than send with a token known to be expiring.
    current: std::sync::RwLock<Option<(Secret, Option<SystemTime>)>>,
    /// `Authorization: Bearer <token>` for the token last sent, built once per token instead of
    /// once per request (marked sensitive, so it never shows in Debug).
    header: std::sync::RwLock<Option<(Secret, reqwest::header::HeaderValue)>>,
    clock: Arc<dyn Clock>,
    /// Renew this long before expiry.
    margin: Duration,
}

#[derive(Deserialize)]
struct Issued {
    access_token: String,
    refresh_token: Option<String>,
    expires_in: Option<u64>,
}

/// Why the renewal call did not give a pair.
enum Refusal {
    /// Vandar refused the refresh token or the client credentials.
    Refused(reqwest::StatusCode),
    Failed(Failure),
}

fn store_unavailable(what: &str, error: std::io::Error) -> Failure {
    Failure::Unavailable { component: "token store", message: format!("{what}: {error}") }
}

impl TokenManager {
    pub(crate) fn new(source: Source, clock: Arc<dyn Clock>, margin: Duration) -> Self {
        let seed = match &source {
            Source::Refresh { seed, .. } => Some(seed.clone()),
            Source::ClientCredentials { client_secret, .. } => {
                crate::secret::remember(client_secret);
                None
            }
        };
        if let Some(seed) = &seed {
            crate::secret::remember(&seed.access_token);
            crate::secret::remember(&seed.refresh_token);
        }
        let state = State {
            access: seed.as_ref().map(|p| p.access_token.clone()),
            refresh: seed.as_ref().map(|p| p.refresh_token.clone()),
            expires_at: seed.as_ref().and_then(|p| p.expires_at),
            generation: seed.as_ref().map_or(0, |p| p.generation),
            loaded: seed.is_none(),
            seed_tried: false,
            unsaved: None,
        };
        Self { source, state: Mutex::new(state), current: std::sync::RwLock::new(None), header: std::sync::RwLock::new(None), clock, margin }
    }

    /// A token good for at least `margin`, renewing it first if needed. While another caller
    /// renews, a token good for [`IN_FLIGHT`] more (half the margin at most) is handed out
    /// instead of waiting; one closer to expiry waits for the renewal.
    pub(crate) async fn token(&self, endpoint: &impl TokenEndpoint) -> Result<Secret, Failure> {
        let seen = self.current.read().expect("token cache").clone();
        if let Some((token, expires_at)) = &seen {
            if self.good_for_margin(*expires_at) || (self.lasts_in_flight(*expires_at) && self.state.try_lock().is_err()) {
                return Ok(token.clone());
            }
        }
        // Boxed: the renewal (store, lock, HTTP) is a large future that every call's future would
        // otherwise carry, and move, for the rare call that renews.
        Box::pin(self.token_after_renewal(endpoint, seen.map(|(token, _)| token))).await
    }

    /// Whether a token expiring at `expires_at` outlasts a request: [`IN_FLIGHT`], half the margin at most.
    fn lasts_in_flight(&self, expires_at: Option<SystemTime>) -> bool {
        expires_at.is_none_or(|at| self.clock.now() + IN_FLIGHT.min(self.margin / 2) < at)
    }

    async fn token_after_renewal(&self, endpoint: &impl TokenEndpoint, seen: Option<Secret>) -> Result<Secret, Failure> {
        let mut state = self.prepare().await?;
        // Renewed by the caller this one waited for (a lifetime shorter than the margin is never
        // "fresh"): that token, if it outlasts the request, rather than one more renewal.
        let renewed_meanwhile = seen.is_some() && state.access.is_some() && state.access != seen && self.lasts_in_flight(state.expires_at);
        if !self.fresh(&state) && !renewed_meanwhile {
            self.renew(endpoint, &mut state, None).await?;
        }
        Ok(self.publish(&state))
    }

    /// After a 401 with `stale`: renew, unless another caller (or process) already did.
    pub(crate) async fn renew_after_401(&self, endpoint: &impl TokenEndpoint, stale: &Secret) -> Result<Secret, Failure> {
        let mut state = self.prepare().await?;
        if state.access.as_ref() == Some(stale) {
            self.renew(endpoint, &mut state, Some(stale)).await?;
        }
        Ok(self.publish(&state))
    }

    /// After the one renewal a call makes, a 401 again with `sent`: a newer pair another process
    /// (or caller) stored since, still valid, to repeat with once more instead of failing. `None`
    /// when the store holds nothing newer than `sent`; never calls Vandar.
    pub(crate) async fn newer_than(&self, sent: &Secret) -> Result<Option<Secret>, Failure> {
        let mut state = self.prepare().await?;
        self.adopt_newer(&mut state).await?;
        let valid = state.expires_at.is_none_or(|at| self.clock.now() < at);
        if state.access.as_ref().is_some_and(|access| access != sent) && valid {
            return Ok(Some(self.publish(&state)));
        }
        Ok(None)
    }

    /// The token in use now, without waiting (`None` before the first call).
    pub(crate) fn current(&self) -> Option<Secret> {
        self.current.read().expect("token cache").as_ref().map(|(token, _)| token.clone())
    }

    /// The `Authorization` header for `token`; `None` if the token holds characters a header cannot.
    pub(crate) fn bearer(&self, token: &Secret) -> Option<reqwest::header::HeaderValue> {
        if let Some((cached, value)) = self.header.read().expect("header cache").as_ref() {
            if cached == token {
                return Some(value.clone());
            }
        }
        let mut value = reqwest::header::HeaderValue::from_str(&format!("Bearer {}", token.expose())).ok()?;
        value.set_sensitive(true);
        *self.header.write().expect("header cache") = Some((token.clone(), value.clone()));
        Some(value)
    }

    /// Makes the state's token the one handed out without the lock.
    fn publish(&self, state: &State) -> Secret {
        let token = state.access.clone().expect("renew sets the token");
        *self.current.write().expect("token cache") = Some((token.clone(), state.expires_at));
        token
    }

    /// The state, with the store read once since start and any unsaved pair saved.
    async fn prepare(&self) -> Result<tokio::sync::MutexGuard<'_, State>, Failure> {
        let mut state = self.state.lock().await;
        if !state.loaded {
            // The configured pair is a seed: a lineage renewed from it (by this service before a
            // restart, or by another replica) is newer and wins.
            self.adopt_newer(&mut state).await?;
            state.loaded = true;
        }
        self.save_pending(&mut state).await?;
        Ok(state)
    }

    fn fresh(&self, state: &State) -> bool {
        state.access.is_some() && self.good_for_margin(state.expires_at)
    }

    /// Whether a token expiring at `expires_at` (`None`: unknown) has at least `margin` left.
    fn good_for_margin(&self, expires_at: Option<SystemTime>) -> bool {
        expires_at.is_none_or(|at| self.clock.now() + self.margin < at)
    }

    /// Adopts the stored pair if it is newer than the one in use; whether it did.
    async fn adopt_newer(&self, state: &mut State) -> Result<bool, Failure> {
        let Source::Refresh { store, .. } = &self.source else { return Ok(false) };
        let stored = store.load().await.map_err(|e| store_unavailable("could not read the token pair", e))?;
        match stored {
            Some(pair) if pair.generation > state.generation => {
                tracing::debug!(generation = pair.generation, "using the newer token pair found in the store");
                state.adopt(pair);
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    async fn save_pending(&self, state: &mut State) -> Result<(), Failure> {
        let (Some(pair), Source::Refresh { store, .. }) = (&state.unsaved, &self.source) else { return Ok(()) };
        let saved = store.save(pair).await.map_err(|e| {
            store_unavailable("Vandar issued a new token pair but it could not be saved; it is kept in memory and saved before use", e)
        })?;
        let pair = state.unsaved.take().expect("checked above");
        match saved {
            Saved::Stored => state.adopt(pair),
            Saved::Superseded => {
                // Only possible when the lock did not exclude another renewal (a lease that ran
                // out): the store is the truth every process follows.
                tracing::warn!(generation = pair.generation, "a newer token pair was stored meanwhile; using it");
                self.adopt_newer(state).await?;
            }
        }
        Ok(())
    }

    /// Renews the token (`stale`: the one Vandar answered 401 to, if that is why).
    async fn renew(&self, endpoint: &impl TokenEndpoint, state: &mut State, stale: Option<&Secret>) -> Result<(), Failure> {
        let Source::Refresh { store, .. } = &self.source else {
            return match self.call_vandar(endpoint, None, 1).await {
                Ok(issued) => {
                    let access = Secret::new(issued.access_token);
                    crate::secret::remember(&access);
                    state.access = Some(access);
                    state.expires_at = issued.expires_in.map(|s| self.clock.now() + Duration::from_secs(s));
                    crate::telemetry::token_refresh("miando", "renewed");
                    Ok(())
                }
                Err(Refusal::Refused(status)) => {
                    crate::telemetry::token_refresh("miando", "refused");
                    Err(Failure::Authentication {
                        status: Some(status.as_u16()),
                        message: format!("Vandar refused the Miando client id or secret (HTTP {status})"),
                    })
                }
                Err(Refusal::Failed(failure)) => {
                    crate::telemetry::token_refresh("miando", "failed");
                    Err(failure)
                }
            };
        };
        let lock = store.lock().await.map_err(|e| store_unavailable("could not take the token renewal lock", e))?;
        let renewed = self.renew_locked(endpoint, state, stale).await;
        if let Err(error) = lock.release().await {
            // The lease frees it; the pair is saved either way.
            tracing::warn!(%error, "could not release the token renewal lock");
        }
        crate::telemetry::token_refresh("business", match &renewed {
            Ok(how) => how,
            Err(Failure::Authentication { .. }) => "refused",
            Err(_) => "failed",
        });
        renewed.map(drop)
    }

    /// The critical section: adopt another process's renewal, or renew and save; which of the two
    /// (`adopted`, `renewed`).
    async fn renew_locked(&self, endpoint: &impl TokenEndpoint, state: &mut State, stale: Option<&Secret>) -> Result<&'static str, Failure> {
        // Another process may have renewed while this one waited for the lock.
        if self.adopt_newer(state).await? {
            let done = match stale {
                Some(stale) => state.access.as_ref() != Some(stale),
                None => self.fresh(state),
            };
            if done {
                return Ok("adopted");
            }
        }
        let tried = state.refresh.clone().ok_or_else(|| {
            Failure::Authentication {
                status: None,
                message: "no business refresh token configured; issue a token pair in the Vandar dashboard (Settings > Tokens)"
                    .into(),
            }
        })?;
        let status = match self.call_vandar(endpoint, Some(&tried), 1).await {
            Ok(issued) => return self.save_issued(state, issued).await.map(|()| "renewed"),
            Err(Refusal::Failed(failure)) => return Err(failure),
            Err(Refusal::Refused(status)) => status,
        };
        // Rotated by a process this one could not see (or before its lock was respected).
        if self.adopt_newer(state).await? {
            return Ok("adopted");
        }
        // A pair issued in the dashboard after the stored lineage began: the configuration.
        if let Source::Refresh { seed, .. } = &self.source {
            if !state.seed_tried && seed.refresh_token != tried {
                state.seed_tried = true;
                if let Ok(issued) = self.call_vandar(endpoint, Some(&seed.refresh_token), 2).await {
                    // Worth a look: the store held a pair Vandar no longer honours. Most often another
                    // environment (or an earlier run against a mock) shares the store's prefix.
                    tracing::warn!(
                        "the stored token lineage was refused and the configured pair renewed instead: does another \
                         environment or an earlier test run share this token store (its prefix or file)?"
                    );
                    return self.save_issued(state, issued).await.map(|()| "renewed");
                }
            }
        }
        Err(Failure::Authentication {
            status: Some(status.as_u16()),
            message: format!(
                "Vandar refused the refresh token (HTTP {status}): it expired (refresh tokens live about 10 days) or was \
                 already used, and the token store holds no newer pair. Issue a new token pair in the Vandar dashboard \
                 (Settings > Tokens) and configure it"
            ),
        })
    }

    async fn save_issued(&self, state: &mut State, issued: Issued) -> Result<(), Failure> {
        let refresh = issued
            .refresh_token
            .ok_or_else(|| Failure::Authentication { status: None, message: "token renewal answer has no refresh_token".into() })?;
        // An `expires_in` past what the clock holds reads as no expiry given (renewed on a 401).
        let expires_at = issued.expires_in.and_then(|s| self.clock.now().checked_add(Duration::from_secs(s)));
        let generation = state.generation.checked_add(1).filter(|g| *g <= super::store::MAX_GENERATION).ok_or_else(|| Failure::Unavailable {
            component: "token store",
            message: "the stored token generation is at its maximum; refused".into(),
        })?;
        let pair = TokenPair::new(issued.access_token, refresh, expires_at).with_generation(generation);
        crate::secret::remember(&pair.access_token);
        crate::secret::remember(&pair.refresh_token);
        tracing::info!(generation = pair.generation, "renewed the business token pair");
        state.unsaved = Some(pair);
        self.save_pending(state).await
    }

    /// POST /v3/refreshtoken with `refresh`, or /sso/oauth/token with the client credentials, sent
    /// through `endpoint` (operation `token_refresh` or `miando_token`; `attempt` 2 is the
    /// configured pair tried after the stored lineage was refused), under the call that waits.
    async fn call_vandar(&self, endpoint: &impl TokenEndpoint, refresh: Option<&Secret>, attempt: u32) -> Result<Issued, Refusal> {
        let request = match (&self.source, refresh) {
            (Source::Refresh { .. }, Some(refresh)) => TokenRequest {
                operation: Operation::TokenRefresh,
                body: serde_json::json!({ "refreshtoken": refresh.expose() }),
            },
            (Source::ClientCredentials { client_id, client_secret }, _) => TokenRequest {
                operation: Operation::MiandoToken,
                body: serde_json::json!({
                    "grant_type": "client_credentials",
                    "client_id": client_id,
                    "client_secret": client_secret.expose(),
                }),
            },
            (Source::Refresh { .. }, None) => unreachable!("a refresh always names its token"),
        };
        // A renewal that did not get Vandar's verdict is an outage of the renewal, not a refusal:
        // transient, the call that waited for it not sent, and no status Vandar never answered.
        let unavailable = |message: String| Refusal::Failed(Failure::Unavailable { component: "token renewal", message });
        let sent = endpoint.send_token_request(request, attempt).await.map_err(Refusal::Failed)?;
        let response = sent.map_err(|e| unavailable(format!("could not reach Vandar to renew the token: {}", e.without_url())))?;
        let status = response.status();
        match status.as_u16() {
            200..=299 => response.json().await.map_err(|e| {
                Refusal::Failed(Failure::Authentication {
                    status: None,
                    message: format!("token renewal answer unreadable: {}", e.without_url()),
                })
            }),
            400 | 401 | 403 | 422 => Err(Refusal::Refused(status)),
            _ => Err(unavailable(format!("Vandar answered HTTP {status} to the token renewal; try again"))),
        }
    }
}
