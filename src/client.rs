//! [`Client`]: configure once, call any generated operation (or a hand-written flow) through it.
use std::sync::Arc;
use std::time::Duration;

use crate::generated::operations::Operation;
use crate::auth::{Clock, MemoryTokenStore, Source, SystemClock, TokenManager, TokenPair, TokenStore};
use crate::generated::HostClients;
use crate::host::{for_each_host, Host};
use crate::journal::Journal;
use crate::money::RecoveryOptions;
use crate::rate_limit::{Lane, RateLimits};
use crate::transport::{RetryPolicy, Transport};
use crate::{error::Error, secret::Secret};

/// Renew the business access token this long before it expires (it lives 432000 s = 5 days).
pub const REFRESH_MARGIN: Duration = Duration::from_secs(10 * 60);

/// The Vandar client: the generated client of every host, sharing one connection pool, one set of
/// tokens and one rate limiter. Cheap to clone, `Send + Sync`.
///
/// ```no_run
/// # async fn run() -> Result<(), vandar::Error> {
/// let vandar = vandar::Client::builder()
///     .business("my-shop")
///     .business_tokens(vandar::TokenPair::new("access", "refresh", None))
///     .ipg_api_key("gateway-key")
///     .build()?;
/// let balance = vandar.api().balance().send().await?;   // the business slug comes from the client
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Client {
    inner: Arc<Parts>,
}

struct Parts {
    transport: Arc<Transport>,
    clients: HostClients,
    recovery: RecoveryOptions,
    #[cfg_attr(not(feature = "ipg"), allow(dead_code))]
    verify: crate::money::VerifyPolicy,
    /// Names this client's leases on journal entries during recovery.
    holder: String,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let transport = &self.inner.transport;
        f.debug_struct("Client")
            .field("business", &transport.business_slug)
            .field("base_urls", &transport.base_urls)
            .field("ipg_api_key", &transport.ipg_api_key.as_ref().map(|_| "***"))
            .field("business_tokens", &transport.business_tokens.as_ref().map(|_| "***"))
            .field("miando_credentials", &transport.miando_tokens.as_ref().map(|_| "***"))
            .field("retry", &transport.retry)
            .finish()
    }
}

macro_rules! host_accessors {
    ($(($variant:ident, $module:ident, $feature:literal, $url:literal, $doc:literal),)*) => {
        impl Client {
            $(
                #[doc = $doc]
                #[cfg(feature = $feature)]
                pub fn $module(&self) -> &crate::$module::Client {
                    &self.inner.clients.$module
                }
            )*
        }
    };
}
for_each_host!(host_accessors);

impl Client {
    /// Starts configuring a client.
    pub fn builder() -> ClientBuilder {
        ClientBuilder::default()
    }

    /// The business slug (English name) this client was configured with.
    pub fn business(&self) -> Result<&str, Error> {
        self.inner.transport.business_slug.as_deref().ok_or_else(|| Error::Configuration {
            message: "no business slug: configure ClientBuilder::business(..)".into(),
        })
    }

    /// Base URL in use for `host`.
    pub fn base_url(&self, host: Host) -> &str {
        &self.inner.transport.base_urls[host.index()]
    }

    /// How [`Client::recover`] treats the journal's open entries.
    #[cfg_attr(not(all(feature = "api", feature = "ipg")), allow(dead_code))]
    pub(crate) fn recovery_options(&self) -> &RecoveryOptions {
        &self.inner.recovery
    }

    /// How [`Client::verify_payment`] repeats verify.
    #[cfg_attr(not(feature = "ipg"), allow(dead_code))]
    pub(crate) fn verify_policy(&self) -> &crate::money::VerifyPolicy {
        &self.inner.verify
    }

    /// The holder name of this client's leases on journal entries.
    #[cfg_attr(not(all(feature = "api", feature = "ipg")), allow(dead_code))]
    pub(crate) fn recovery_holder(&self) -> &str {
        &self.inner.holder
    }

    /// The send path every call of this client goes through.
    #[cfg_attr(not(feature = "api"), allow(dead_code))] // used by the api-only upload
    pub(crate) fn transport(&self) -> &Transport {
        &self.inner.transport
    }
}

/// Configuration of a [`Client`].
pub struct ClientBuilder {
    business: Option<String>,
    tokens: Option<TokenPair>,
    store: Option<Arc<dyn TokenStore>>,
    ipg_api_key: Option<Secret>,
    miando: Option<(i64, Secret)>,
    base_urls: [String; 4],
    timeout: Duration,
    connect_timeout: Duration,
    user_agent: String,
    clock: Arc<dyn Clock>,
    retry: RetryPolicy,
    limits: Option<RateLimits>,
    http: Option<reqwest::Client>,
    journal: Option<Arc<dyn Journal>>,
    recovery: RecoveryOptions,
    verify: crate::money::VerifyPolicy,
    max_wait: Option<Duration>,
    lanes: std::collections::HashMap<String, Lane>,
}

impl Default for ClientBuilder {
    fn default() -> Self {
        Self {
            business: None,
            tokens: None,
            store: None,
            ipg_api_key: None,
            miando: None,
            base_urls: Host::ALL.map(|h| h.default_base_url().to_string()),
            timeout: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(10),
            user_agent: concat!("vandar-rust/", env!("CARGO_PKG_VERSION")).into(),
            clock: Arc::new(SystemClock),
            retry: RetryPolicy::default(),
            limits: None,
            http: None,
            journal: None,
            recovery: RecoveryOptions::default(),
            verify: crate::money::VerifyPolicy::default(),
            max_wait: None,
            lanes: Default::default(),
        }
    }
}

impl ClientBuilder {
    /// The business's English name (dashboard: Settings > Basic info), used in business API paths.
    pub fn business(mut self, slug: impl Into<String>) -> Self {
        self.business = Some(slug.into());
        self
    }

    /// The business API token pair (dashboard: Settings > Tokens). It is a seed: before first use
    /// the client reads the [`token_store`](Self::token_store), and a pair renewed from it since
    /// (before a restart, or by another process) wins. See [`TokenStore`].
    pub fn business_tokens(mut self, pair: TokenPair) -> Self {
        self.tokens = Some(pair);
        self
    }

    /// Where renewed token pairs are saved before use, shared by every process that uses the same
    /// store (default: in memory, this process only). See [`TokenStore`] for which to pick.
    pub fn token_store(mut self, store: impl TokenStore) -> Self {
        self.store = Some(Arc::new(store));
        self
    }

    /// The payment gateway's api_key.
    pub fn ipg_api_key(mut self, key: impl Into<Secret>) -> Self {
        self.ipg_api_key = Some(key.into());
        self
    }

    /// Miando client credentials.
    pub fn miando_credentials(mut self, client_id: i64, client_secret: impl Into<Secret>) -> Self {
        self.miando = Some((client_id, client_secret.into()));
        self
    }

    /// Sends `host`'s calls to `base_url` instead (mock servers, tests). Credentials go to this URL only.
    pub fn base_url(mut self, host: Host, base_url: impl Into<String>) -> Self {
        self.base_urls[host.index()] = base_url.into().trim_end_matches('/').to_string();
        self
    }

    /// Whole-request timeout (default 30 s).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Connection timeout (default 10 s).
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// User-Agent header.
    pub fn user_agent(mut self, user_agent: impl Into<String>) -> Self {
        self.user_agent = user_agent.into();
        self
    }

    /// The clock token expiry is measured with (tests inject [`crate::auth::ManualClock`]).
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Retry attempts and backoff.
    pub fn retry_policy(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    /// Client-side rate limits (default: Vandar's documented 30 POST / 100 other per 3 s).
    pub fn rate_limits(mut self, limits: RateLimits) -> Self {
        self.limits = Some(limits);
        self
    }

    /// Where money moves and payments are recorded before they leave, so a restart can settle
    /// them ([`Client::recover`]): a [`crate::journal::FileJournal`] on one machine, a
    /// `RedisJournal` or `PostgresJournal` for a fleet. Without one, nothing outlives the process.
    /// A journal that cannot be written refuses the money move before anything is sent
    /// ([`Error::Unavailable`] naming the journal).
    pub fn journal(mut self, journal: impl Journal) -> Self {
        self.journal = Some(Arc::new(journal));
        self
    }

    /// How [`Client::recover`] treats the journal's open entries (ages, leases, the payment sweep).
    pub fn recovery(mut self, options: RecoveryOptions) -> Self {
        self.recovery = options;
        self
    }

    /// How many verifies one `verify_payment` sends while the payment reads paid but unverified,
    /// and the waits between (default: 3, from 400 ms to 2 s). See [`crate::money::VerifyPolicy`]
    /// for the worst-case request count.
    pub fn verify_policy(mut self, policy: crate::money::VerifyPolicy) -> Self {
        self.verify = policy;
        self
    }

    /// The longest a call waits for rate-limit permits and retries (default: no limit). A call
    /// that cannot get a permit in time is refused before sending ([`Error::DeadlineExceeded`]);
    /// a money move's or `verify_payment`'s lookups count within the same deadline. Per call:
    /// [`crate::CallOptions::max_wait`].
    pub fn max_wait(mut self, max_wait: Duration) -> Self {
        self.max_wait = Some(max_wait);
        self
    }

    /// Puts `operation` (an operation id of the spec, e.g. `"settlement_list"` or
    /// `Operation::SettlementList.id()`; `build` refuses one it does not have) in `lane` for every
    /// call of this client. By default each operation waits in the lane the spec gives it
    /// ([`Operation::default_lane`]: the payment gateway's calls [`Lane::Interactive`], the rest
    /// [`Lane::Background`]); per call: [`crate::CallOptions::lane`].
    pub fn lane_for(mut self, operation: impl Into<String>, lane: Lane) -> Self {
        self.lanes.insert(operation.into(), lane);
        self
    }

    /// Builds the client. Refused with [`Error::InvalidInput`] when a base URL does not parse or
    /// [`ClientBuilder::lane_for`] names an operation the spec does not have (a typo would
    /// otherwise leave the operation in its default lane without a word).
    pub fn build(self) -> Result<Client, Error> {
        let mut lanes = std::collections::HashMap::new();
        for (name, lane) in &self.lanes {
            let id = crate::validate::operation_id(name).map_err(|problem| Error::invalid("lane_for", problem))?;
            lanes.extend(Operation::from_id(id).map(|operation| (operation, *lane)));
        }
        crate::tls::install_default_provider();
        let http = match self.http {
            Some(http) => http,
            None => reqwest::Client::builder()
                .timeout(self.timeout)
                .connect_timeout(self.connect_timeout)
                .user_agent(self.user_agent)
                // Never follow redirects: credentials must not travel to another host.
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .map_err(Error::transport)?,
        };
        let mut parsed_base_urls = Vec::with_capacity(4);
        for (host, url) in Host::ALL.iter().zip(&self.base_urls) {
            parsed_base_urls.push(url::Url::parse(url).map_err(|e| Error::invalid(format!("base_url({host:?})"), e.to_string()))?);
        }
        let parsed_base_urls: [url::Url; 4] = parsed_base_urls.try_into().expect("one per host");
        if let Some(key) = &self.ipg_api_key {
            crate::secret::remember(key);
        }
        let limits = Arc::new(self.limits.unwrap_or_else(RateLimits::vandar));
        let manager = |source| TokenManager::new(source, self.clock.clone(), REFRESH_MARGIN);
        let business_tokens = self.tokens.map(|seed| {
            let store = self.store.unwrap_or_else(|| Arc::new(MemoryTokenStore::default()));
            manager(Source::Refresh { store, seed })
        });
        let miando_tokens =
            self.miando.map(|(client_id, client_secret)| manager(Source::ClientCredentials { client_id, client_secret }));
        let transport = Arc::new(Transport {
            http: http.clone(),
            business_slug: self.business,
            base_urls: self.base_urls,
            parsed_base_urls,
            ipg_api_key: self.ipg_api_key,
            business_tokens,
            miando_tokens,
            limits,
            retry: self.retry,
            journal: self.journal,
            max_wait: self.max_wait,
            lanes,
        });
        let clients = HostClients::new(&http, &transport);
        let holder = uuid::Uuid::new_v4().to_string();
        Ok(Client { inner: Arc::new(Parts { transport, clients, recovery: self.recovery, verify: self.verify, holder }) })
    }
}
