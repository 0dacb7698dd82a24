//! vandar::Client against scripted HTTP servers on 127.0.0.1: what goes on the wire, how many
//! calls are made, what comes back.
mod support;

use vandar::money::{Rials, Tomans};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use serde_json::json;
use support::{balance_ok, business_api, client_for, json, raw, serve, Seen};
use vandar::auth::{FileTokenStore, ManualClock, MemoryTokenStore, Saved, TokenStore};
use vandar::{Error, TokenPair};

const HOUR: Duration = Duration::from_secs(3600);

fn pair(access: &str, refresh: &str, expires_at: Option<SystemTime>) -> TokenPair {
    TokenPair::new(access, refresh, expires_at)
}

#[tokio::test]
async fn ipg_calls_carry_the_configured_api_key_in_the_body() {
    let server = serve(|_| async { json(200, json!({"status": 1, "token": "TOKEN-1"})) }).await;
    let vandar = client_for(&server).ipg_api_key("gateway-key").build().unwrap();
    let sent = vandar
        .ipg()
        .ipg_send()
        .body_map(|b| b.amount(Rials(10_000)).callback_url("https://shop.example/callback").factor_number("A-1"))
        .send()
        .await
        .unwrap();
    assert_eq!(sent.token, "TOKEN-1");
    let seen = server.seen();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].path, "/api/v4/send");
    assert_eq!(
        seen[0].json(),
        json!({"api_key": "gateway-key", "amount": 10000, "callback_url": "https://shop.example/callback", "factorNumber": "A-1"})
    );
    assert!(seen[0].headers.get("authorization").is_none(), "IPG uses no bearer header");
    assert!(seen[0].headers.get("api-version").is_none(), "progenitor's api-version header is stripped");
}

#[tokio::test]
async fn business_calls_carry_the_bearer_token() {
    let server = business_api().await;
    let vandar = client_for(&server).business_tokens(pair("access-1", "refresh-1", None)).build().unwrap();
    let balance = vandar.api().balance().business("shop").send().await.unwrap();
    assert_eq!(balance.data.wallet, Tomans(100000));
    assert_eq!(server.seen()[0].bearer().as_deref(), Some("access-1"));
    assert_eq!(server.seen()[0].path, "/v2/business/shop/balance");
}

#[tokio::test]
async fn a_token_near_expiry_is_refreshed_before_the_call_and_stored_first() {
    let server = business_api().await;
    let clock = Arc::new(ManualClock::new(SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000)));
    let store = Arc::new(MemoryTokenStore::default());
    let vandar = client_for(&server)
        .clock(clock.clone())
        .token_store(store.clone())
        .business_tokens(pair("access-1", "refresh-1", Some(clock.now_plus(HOUR))))
        .build()
        .unwrap();
    vandar.api().balance().business("shop").send().await.unwrap();
    assert_eq!(server.count("POST", "/v3/refreshtoken"), 0, "an hour left: no refresh");

    clock.advance(HOUR - Duration::from_secs(60)); // inside the refresh margin
    vandar.api().balance().business("shop").send().await.unwrap();
    let paths: Vec<String> = server.seen().iter().map(|s| format!("{} {}", s.method, s.path)).collect();
    assert_eq!(paths, ["GET /v2/business/shop/balance", "POST /v3/refreshtoken", "GET /v2/business/shop/balance"]);
    assert_eq!(server.seen()[1].json(), json!({"refreshtoken": "refresh-1"}));
    assert_eq!(server.seen()[2].bearer().as_deref(), Some("new-access"));
    let stored = store.load().await.unwrap().unwrap();
    assert_eq!(stored.refresh_token.expose(), "new-refresh");
    assert_eq!(stored.expires_at, Some(clock.now_plus(Duration::from_secs(432000))));
}

trait NowPlus {
    fn now_plus(&self, d: Duration) -> SystemTime;
}
impl NowPlus for ManualClock {
    fn now_plus(&self, d: Duration) -> SystemTime {
        vandar::auth::Clock::now(self) + d
    }
}

#[tokio::test]
async fn fifty_concurrent_calls_with_an_expired_token_make_one_refresh() {
    let server = business_api().await;
    let clock = Arc::new(ManualClock::new(SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000)));
    let expired = clock.now_plus(Duration::ZERO);
    let vandar = client_for(&server).clock(clock).business_tokens(pair("access-1", "refresh-1", Some(expired))).build().unwrap();
    let calls = (0..50).map(|_| {
        let vandar = vandar.clone();
        tokio::spawn(async move { vandar.api().balance().business("shop").send().await.map(|_| ()) })
    });
    for call in futures::future::join_all(calls).await {
        call.unwrap().unwrap();
    }
    assert_eq!(server.count("POST", "/v3/refreshtoken"), 1);
    assert_eq!(server.count("GET", "/v2/business/shop/balance"), 50);
    assert!(server.seen().iter().filter(|s| s.method == "GET").all(|s| s.bearer().as_deref() == Some("new-access")));
}

#[tokio::test]
async fn a_401_renews_the_token_once_and_repeats_the_request_once() {
    let server = business_api().await;
    // The client believes its token is fresh; the server says otherwise.
    let vandar = client_for(&server).business_tokens(pair("revoked", "refresh-1", None)).build().unwrap();
    vandar.api().balance().business("shop").send().await.unwrap();
    let seen: Vec<(String, Option<String>)> = server.seen().iter().map(|s| (s.path.clone(), s.bearer())).collect();
    assert_eq!(
        seen,
        [
            ("/v2/business/shop/balance".into(), Some("revoked".into())),
            ("/v3/refreshtoken".into(), None),
            ("/v2/business/shop/balance".into(), Some("new-access".into())),
        ]
    );
}

/// Issue 24: a call whose repeat after its one renewal meets the next rotation (another replica
/// renewed meanwhile) uses the newer valid pair in the store instead of failing with Authentication.
#[tokio::test]
async fn after_its_renewal_a_call_that_meets_a_401_again_adopts_the_newer_stored_pair() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tokens.json");
    let replica_path = path.clone();
    let server = serve(move |seen: Seen| {
        let replica = FileTokenStore::new(replica_path.clone());
        async move {
            if seen.path == "/v3/refreshtoken" {
                return json(200, json!({"token_type": "Bearer", "expires_in": 432000, "access_token": "access-2", "refresh_token": "refresh-2"}));
            }
            match seen.bearer().as_deref() {
                Some("access-3") => balance_ok(),
                Some("access-2") => {
                    // Another replica renews access-2 while this call's repeat is on its way.
                    let newer = TokenPair::new("access-3", "refresh-3", Some(SystemTime::now() + HOUR)).with_generation(2);
                    replica.save(&newer).await.unwrap();
                    json(401, json!({"status": 0, "error": "Unauthenticated"}))
                }
                _ => json(401, json!({"status": 0, "error": "Unauthenticated"})),
            }
        }
    })
    .await;
    let vandar = client_for(&server).business_tokens(pair("access-1", "refresh-1", None)).token_store(FileTokenStore::new(&path)).build().unwrap();
    vandar.api().balance().business("shop").send().await.unwrap();
    let bearers: Vec<Option<String>> = server.seen().iter().map(|s| s.bearer()).collect();
    assert_eq!(bearers, [Some("access-1".into()), None, Some("access-2".into()), Some("access-3".into())], "one renewal, then the stored pair");
    assert_eq!(server.count("POST", "/v3/refreshtoken"), 1, "the newer pair is adopted, not renewed again");

    // With nothing newer in the store, the second 401 is still an Authentication error (no loop).
    let stuck = serve(|seen: Seen| async move {
        if seen.path == "/v3/refreshtoken" {
            return json(200, json!({"token_type": "Bearer", "expires_in": 432000, "access_token": "access-2", "refresh_token": "refresh-2"}));
        }
        json(401, json!({"status": 0, "error": "Unauthenticated"}))
    })
    .await;
    let vandar = client_for(&stuck).business_tokens(pair("access-1", "refresh-1", None)).build().unwrap();
    let error = vandar.api().balance().business("shop").send().await.unwrap_err();
    assert!(matches!(error, Error::Authentication { .. }), "{error:?}");
    assert_eq!(stuck.seen().len(), 3, "the call, the renewal, the repeat");
}

#[tokio::test]
async fn a_refused_refresh_token_is_a_clear_authentication_error() {
    let server = business_api().await;
    let vandar = client_for(&server).business_tokens(pair("revoked", "expired-refresh", None)).build().unwrap();
    let error = vandar.api().balance().business("shop").send().await.unwrap_err();
    let Error::Authentication { message, .. } = &error else { panic!("{error:?}") };
    assert!(message.contains("Issue a new token pair in the Vandar dashboard"), "{message}");
    assert_eq!(server.count("GET", "/v2/business/shop/balance"), 1, "not repeated with a token that was not renewed");
}

/// A renewal that did not get Vandar's verdict (a 503, a dropped connection)
/// reports no HTTP status Vandar never sent: a 503 or a network failure is a transient
/// outage of the renewal, and the call that waited for it was never sent.
#[tokio::test]
async fn a_failed_renewal_reports_no_status_vandar_never_sent() {
    let unavailable = serve(|seen: Seen| async move {
        if seen.path == "/v3/refreshtoken" {
            return raw(503, "text/html", "<html><title>503 Service Unavailable</title></html>");
        }
        json(401, json!({"status": 0, "error": "Unauthenticated"}))
    })
    .await;
    let vandar = client_for(&unavailable).business_tokens(pair("expired", "refresh-1", None)).build().unwrap();
    let error = vandar.api().balance().business("shop").send().await.unwrap_err();
    assert!(matches!(&error, Error::Unavailable { component: "token renewal", message } if message.contains("503")), "{error:?}");
    assert_eq!((error.status(), error.is_retryable(), error.reach()), (None, true, vandar::Reach::NeverSent), "{error}");
    assert_eq!(unavailable.count("GET", "/v2/business/shop/balance"), 1, "not repeated without a renewed token");

    // The renewal's connection is closed unanswered: the same reading.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let closed = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for stream in listener.incoming().take(4) {
            drop(stream);
        }
    });
    let expiring = SystemTime::now() + Duration::from_secs(5);
    let vandar = vandar::Client::builder()
        .base_url(vandar::Host::Api, closed)
        .business("shop")
        .business_tokens(pair("near-expiry", "refresh-1", Some(expiring)))
        .retry_policy(vandar::RetryPolicy::default().max_attempts(1))
        .build()
        .unwrap();
    let error = vandar.api().balance().business("shop").send().await.unwrap_err();
    assert!(matches!(&error, Error::Unavailable { component: "token renewal", message } if message.contains("could not reach")), "{error:?}");
    assert_eq!((error.status(), error.is_retryable(), error.reach()), (None, true, vandar::Reach::NeverSent), "{error}");
}

#[tokio::test]
async fn a_pair_the_store_refuses_is_not_used_and_not_lost() {
    struct Refusing(AtomicUsize);
    impl TokenStore for Refusing {
        fn save<'a>(&'a self, _: &'a TokenPair) -> futures::future::BoxFuture<'a, std::io::Result<Saved>> {
            let attempt = self.0.fetch_add(1, Ordering::SeqCst);
            Box::pin(async move { if attempt == 0 { Err(std::io::Error::other("disk full")) } else { Ok(Saved::Stored) } })
        }
        fn load(&self) -> futures::future::BoxFuture<'_, std::io::Result<Option<TokenPair>>> {
            Box::pin(async { Ok(None) })
        }
    }
    let server = business_api().await;
    let vandar = client_for(&server).token_store(Refusing(AtomicUsize::new(0))).business_tokens(pair("revoked", "refresh-1", None)).build().unwrap();
    let error = vandar.api().balance().business("shop").send().await.unwrap_err();
    assert!(
        matches!(&error, Error::Unavailable { component: "token store", message } if message.contains("could not be saved") && message.contains("disk full")),
        "{error}"
    );
    assert_eq!(server.count("GET", "/v2/business/shop/balance"), 1, "the unsaved pair is not used");
    // The next call saves the kept pair first, then uses it: no second refresh (the old refresh token is spent).
    vandar.api().balance().business("shop").send().await.unwrap();
    assert_eq!(server.count("POST", "/v3/refreshtoken"), 1);
    assert_eq!(server.seen().last().unwrap().bearer().as_deref(), Some("new-access"));
}

#[tokio::test]
async fn file_token_store_replaces_the_pair_atomically() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tokens.json");
    let store = FileTokenStore::new(&path);
    assert!(store.load().await.unwrap().is_none());
    let first = pair("a1", "r1", Some(SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000))).with_generation(1);
    assert_eq!(store.save(&first).await.unwrap(), Saved::Stored);
    assert_eq!(store.save(&pair("a2", "r2", None).with_generation(2)).await.unwrap(), Saved::Stored);
    assert_eq!(store.load().await.unwrap().unwrap(), pair("a2", "r2", None).with_generation(2));
    // The fence: a pair no newer than the stored one is refused.
    assert_eq!(store.save(&pair("old", "old", None).with_generation(2)).await.unwrap(), Saved::Superseded);
    assert_eq!(store.load().await.unwrap().unwrap().access_token.expose(), "a2");
    let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(names, ["tokens.json"], "no temporary file left behind");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
    }
}

#[tokio::test]
async fn miando_token_is_fetched_once_cached_and_renewed_on_401() {
    let issued = Arc::new(AtomicUsize::new(0));
    let counter = issued.clone();
    let server = serve(move |seen: Seen| {
        let issued = counter.clone();
        async move {
            if seen.path == "/sso/oauth/token" {
                let n = issued.fetch_add(1, Ordering::SeqCst) + 1;
                return json(201, json!({"token_type": "Bearer", "expires_in": 31536000, "access_token": format!("jwt-{n}")}));
            }
            // jwt-1 is revoked by the time page 3 is asked for.
            match seen.bearer().as_deref() {
                Some("jwt-2") => json(200, json!({"data": [], "message": "ok"})),
                Some("jwt-1") if seen.query != "page=3" => json(200, json!({"data": [], "message": "ok"})),
                _ => json(401, json!({"error": "Unauthenticated"})),
            }
        }
    })
    .await;
    let vandar = client_for(&server).miando_credentials(7, "client-secret").build().unwrap();
    for page in 1..=3 {
        vandar.api().agreement_list().page(page).send().await.unwrap();
    }
    assert_eq!(server.seen()[0].json(), json!({"grant_type": "client_credentials", "client_id": 7, "client_secret": "client-secret"}));
    let flow: Vec<String> = server.seen().iter().map(|s| format!("{} {}", s.path, s.bearer().unwrap_or_default())).collect();
    assert_eq!(
        flow,
        [
            "/sso/oauth/token ",
            "/miando/api/v1/agreements jwt-1",
            "/miando/api/v1/agreements jwt-1",
            "/miando/api/v1/agreements jwt-1",
            "/sso/oauth/token ",
            "/miando/api/v1/agreements jwt-2",
        ]
    );
}

#[tokio::test]
async fn the_rate_limiter_makes_calls_wait_for_their_permit() {
    let server = serve(|_| async { balance_ok() }).await;
    // 2 POSTs per 600 ms: the 3rd and 4th POST wait about 300 ms each; GETs have their own budget.
    let vandar = client_for(&server)
        .business_tokens(pair("access-1", "refresh-1", None))
        .rate_limits(vandar::rate_limit::RateLimits::new(2, 100, Duration::from_millis(600)))
        .build()
        .unwrap();
    let started = Instant::now();
    for _ in 0..4 {
        let _ = vandar.api().customer_logs().business("shop").customer(uuid_like()).send().await;
    }
    let posts = started.elapsed();
    let started = Instant::now();
    for _ in 0..4 {
        vandar.api().balance().business("shop").send().await.unwrap();
    }
    let gets = started.elapsed();
    assert_eq!(server.seen().len(), 8, "waiting, not rejecting");
    assert!(posts >= Duration::from_millis(550), "4 POSTs took {posts:?}");
    assert!(gets < Duration::from_millis(300), "4 GETs took {gets:?}");
}

fn uuid_like() -> uuid::Uuid {
    "35e431e0-210c-11ec-9200-79b42496d8e0".parse().unwrap()
}

#[tokio::test]
async fn a_429_is_retried_after_retry_after_even_for_a_post() {
    let hits = Arc::new(AtomicUsize::new(0));
    let counter = hits.clone();
    let server = serve(move |_| {
        let n = counter.fetch_add(1, Ordering::SeqCst);
        async move {
            if n == 0 {
                axum::response::IntoResponse::into_response((axum::http::StatusCode::TOO_MANY_REQUESTS, [("retry-after", "1")], "slow down"))
            } else {
                json(200, json!({"status": 1, "token": "T"}))
            }
        }
    })
    .await;
    let vandar = client_for(&server).ipg_api_key("k").build().unwrap();
    let started = Instant::now();
    let sent = vandar.ipg().ipg_send().body_map(|b| b.amount(Rials(1000)).callback_url("https://s.example/cb")).send().await.unwrap();
    assert_eq!(sent.token, "T");
    assert_eq!(hits.load(Ordering::SeqCst), 2);
    // Retry-After: 1 is capped by the policy's max_delay (200 ms in tests).
    assert!(started.elapsed() >= Duration::from_millis(190));
}

#[tokio::test]
async fn a_429_burst_beyond_the_retries_is_a_rate_limited_error() {
    let server = serve(|_| async {
        axum::response::IntoResponse::into_response((axum::http::StatusCode::TOO_MANY_REQUESTS, [("retry-after", "0")], ""))
    })
    .await;
    let vandar = client_for(&server).business_tokens(pair("a", "r", None)).build().unwrap();
    let error = vandar.api().balance().business("shop").send().await.unwrap_err();
    assert!(matches!(error, Error::RateLimited { retry_after: Some(d) } if d == Duration::ZERO), "{error:?}");
    assert_eq!(server.seen().len(), 3);
}

#[tokio::test]
async fn a_get_is_retried_on_503_and_a_post_is_not() {
    let hits = Arc::new(AtomicUsize::new(0));
    let counter = hits.clone();
    let server = serve(move |seen: Seen| {
        let n = counter.fetch_add(1, Ordering::SeqCst);
        async move {
            if seen.method == "GET" && n >= 2 {
                return balance_ok();
            }
            raw(503, "text/html", "<html><body><h1>503 Service Unavailable</h1></body></html>")
        }
    })
    .await;
    let vandar = client_for(&server).business_tokens(pair("a", "r", None)).build().unwrap();
    vandar.api().balance().business("shop").send().await.unwrap();
    assert_eq!(server.count("GET", "/v2/business/shop/balance"), 3);

    let error = vandar
        .api()
        .settlement_store()
        .business("shop")
        .body_map(|b| b.amount(Tomans(5000)).iban("IR330120020000002353697200").track_id("t-1"))
        .send()
        .await.unwrap_err();
    assert_eq!(server.count("POST", "/v3/business/shop/settlement/store"), 1, "a POST is never repeated after it reached Vandar");
    let Error::Undecodable { status: Some(503), snippet, .. } = &error else { panic!("{error:?}") };
    assert!(snippet.contains("503 Service Unavailable"), "{snippet}");
}

#[tokio::test]
async fn a_post_is_not_retried_after_a_timeout() {
    let server = serve(|_| async {
        tokio::time::sleep(Duration::from_millis(500)).await;
        json(200, json!({"status": 1}))
    })
    .await;
    let vandar = client_for(&server).ipg_api_key("k").timeout(Duration::from_millis(150)).build().unwrap();
    let error = vandar.ipg().ipg_verify().body_map(|b| b.token("T")).send().await.unwrap_err();
    assert!(matches!(error, Error::Transport { timeout: true, .. }), "{error:?}");
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(server.count("POST", "/api/v4/verify"), 1);
}

#[tokio::test]
async fn a_connect_failure_is_retried_even_for_a_post() {
    // Reserve a port, close it, and open it only after the first attempt has failed to connect.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let url = format!("http://127.0.0.1:{port}");
    let seen = Arc::new(AtomicUsize::new(0));
    let counter = seen.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(80)).await;
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await.unwrap();
        let app = axum::Router::new().fallback(move || {
            counter.fetch_add(1, Ordering::SeqCst);
            async { json(200, json!({"status": 1, "token": "late"})) }
        });
        axum::serve(listener, app).await.unwrap();
    });
    let vandar = vandar::Client::builder()
        .base_url(vandar::Host::Ipg, &url)
        .ipg_api_key("k")
        .retry_policy(vandar::RetryPolicy::default().max_attempts(4).base_delay(Duration::from_millis(150)).max_delay(Duration::from_millis(400)))
        .build()
        .unwrap();
    let sent = vandar.ipg().ipg_send().body_map(|b| b.amount(Rials(1000)).callback_url("https://s.example/cb")).send().await.unwrap();
    assert_eq!(sent.token, "late");
    assert_eq!(seen.load(Ordering::SeqCst), 1, "the request reached the server exactly once");
}

#[tokio::test]
async fn every_documented_error_shape_becomes_a_typed_error() {
    let server = serve(|seen: Seen| async move {
        match seen.path.as_str() {
            "/v3/business/shop/settlement/store" => json(422, json!({"message": "The given data was invalid.", "errors": {"iban": ["شبا IR330120020000002353697200 معتبر نیست"]}})),
            "/api/v4/send" => json(422, json!({"status": 0, "errors": ["amount must not be below 1000"]})),
            "/v3/business/shop/cash-in/account/deposit" => json(422, json!({"status": 0, "errors": {"error": "cash-in tool not active"}})),
            "/sso/oauth/token" => json(201, json!({"token_type": "Bearer", "expires_in": 31536000, "access_token": "jwt"})),
            p if p.ends_with("/finalize") => json(400, json!({"message": "وضعیت قرارداد نامعتبر است!", "code": "invalid_state_agreement"})),
            _ => json(404, json!({"status": 0, "message": "no such authorization"})),
        }
    })
    .await;
    let vandar = client_for(&server).ipg_api_key("k").business_tokens(pair("a", "r", None)).miando_credentials(1, "s").build().unwrap();

    let error = vandar.api().settlement_store().business("shop").body_map(|b| b.amount(Tomans(5000)).iban("IR330120020000002353697200").track_id("t")).send().await.unwrap_err();
    let Error::Api(api) = &error else { panic!("{error:?}") };
    assert_eq!(api.status, 422);
    assert_eq!(api.message, "The given data was invalid.");
    assert_eq!(api.fields["iban"], ["شبا IR33******************7200 معتبر نیست"], "IBANs are masked in errors");
    assert_eq!(api.code, Some(vandar::ErrorCode::UnknownIban), "recognized from the field's text");

    let error = vandar.ipg().ipg_send().body_map(|b| b.amount(Rials(1000)).callback_url("https://s.example/cb")).send().await.unwrap_err();
    let Error::Api(api) = &error else { panic!("{error:?}") };
    assert_eq!((api.status, api.message.as_str()), (422, "amount must not be below 1000"));
    assert_eq!(api.fields[""], ["amount must not be below 1000"]);

    let deposit = vandar.api().cash_in_deposit().business("shop").body_map(|b| b.iban("IR330120020000002353697200").amount(Rials(10)).track_id("x"));
    let Error::Api(api) = deposit.send().await.unwrap_err() else { panic!() };
    assert_eq!(api.message, "cash-in tool not active");
    assert_eq!(api.code, Some(vandar::ErrorCode::ToolNotActive));

    let error = vandar.api().agreement_finalize().tracking_code("1").body_map(|b| b.buyer_mobile("09123456789")).send().await.unwrap_err();
    assert_eq!(error.code(), Some(&vandar::ErrorCode::InvalidStateAgreement));
    assert_eq!(error.status(), Some(400));

    let error = vandar.api().authorization_revoke().business("shop").authorization_id(uuid_like()).send().await.unwrap_err();
    assert!(matches!(&error, Error::Api(api) if api.status == 404 && api.message == "no such authorization"), "{error:?}");
    assert_eq!(error.code(), Some(&vandar::ErrorCode::NotFoundError));
}

#[tokio::test]
async fn broken_answers_are_typed_errors_not_panics() {
    let server = serve(|seen: Seen| async move {
        match seen.path.as_str() {
            "/api/v4/send" => raw(200, "application/json", r#"{"status": 1, "tok"#),
            "/api/v4/transaction" => raw(200, "text/html", "<!DOCTYPE html><html><title>Maintenance</title></html>"),
            _ => raw(500, "application/json", "{not json"),
        }
    })
    .await;
    let vandar = client_for(&server).ipg_api_key("k").business_tokens(pair("a", "r", None)).build().unwrap();
    let truncated = vandar.ipg().ipg_send().body_map(|b| b.amount(Rials(1000)).callback_url("https://s.example/cb")).send().await.unwrap_err();
    assert!(matches!(&truncated, Error::Undecodable { status: None, snippet, .. } if snippet == r#"{"status": 1, "tok"#), "{truncated:?}");
    let html = vandar.ipg().ipg_transaction().body_map(|b| b.token("T")).send().await.unwrap_err();
    assert!(matches!(&html, Error::Undecodable { snippet, .. } if snippet.contains("Maintenance")), "{html:?}");
    let garbage = vandar.api().balance().business("shop").send().await.unwrap_err();
    assert!(matches!(&garbage, Error::Undecodable { status: Some(500), .. }), "{garbage:?}");
}

#[tokio::test]
async fn an_unknown_enum_value_does_not_break_a_successful_answer() {
    let server = serve(|_| async {
        json(200, json!({"status": 1, "data": {"wallet": 10, "currency": "Toman", "settlements": {"current_page": 1, "data": [
            {"id": "94f5e3a4-1f37-4f5b-b6a5-8a4d0d7b4a11", "status": "DONE", "amount": 50000},
            {"id": "94f5e3a4-1f37-4f5b-b6a5-8a4d0d7b4a12", "status": "REVERSED", "amount": 50000}
        ]}}}))
    })
    .await;
    let vandar = client_for(&server).business_tokens(pair("a", "r", None)).build().unwrap();
    let list = vandar.api().settlement_list().business("shop").send().await.unwrap();
    let statuses: Vec<_> = list.data.settlements.data.into_iter().map(|s| s.status.unwrap()).collect();
    use vandar::enums::SettlementStatus;
    assert_eq!(statuses, [SettlementStatus::Done, SettlementStatus::Unknown("REVERSED".into())]);
    assert_eq!(statuses[1].to_string(), "REVERSED");
}

#[tokio::test]
async fn credentials_never_follow_a_redirect_to_another_host() {
    let elsewhere = serve(|_| async { json(200, json!({})) }).await;
    let target = format!("{}/steal", elsewhere.url);
    let server = serve(move |_| {
        let target = target.clone();
        async move { axum::response::IntoResponse::into_response((axum::http::StatusCode::TEMPORARY_REDIRECT, [("location", target)], "")) }
    })
    .await;
    let vandar = client_for(&server).business_tokens(pair("access-secret", "r", None)).build().unwrap();
    let error = vandar.api().balance().business("shop").send().await.unwrap_err();
    assert_eq!(error.status(), Some(307));
    assert!(elsewhere.seen().is_empty(), "the other host received nothing");
}

#[tokio::test]
async fn missing_credentials_fail_before_anything_is_sent() {
    let server = serve(|_| async { json(200, json!({})) }).await;
    let vandar = client_for(&server).build().unwrap();
    let error = vandar.ipg().ipg_verify().body_map(|b| b.token("T")).send().await.unwrap_err();
    // Missing local configuration is its own error, with no HTTP status: nothing was sent.
    assert!(matches!(&error, Error::Configuration { message } if message.contains("IPG api_key")), "{error:?}");
    assert_eq!((error.status(), error.is_retryable()), (None, false));
    assert_eq!(error.to_string(), "not configured: ipg_verify needs an IPG api_key, which this Client was not configured with");
    let error = vandar.api().balance().business("shop").send().await.unwrap_err();
    assert!(matches!(&error, Error::Configuration { message } if message.contains("business tokens")), "{error:?}");
    assert_eq!(error.status(), None);
    assert!(server.seen().is_empty());
}

#[tokio::test]
async fn a_missing_business_slug_is_a_typed_configuration_error_and_an_empty_one_invalid_input() {
    let server = serve(|_| async { json(200, json!({"status": 1})) }).await;
    let mut builder = vandar::Client::builder().business_tokens(vandar::TokenPair::new("a", "r", None));
    for host in vandar::Host::ALL {
        builder = builder.base_url(host, &server.url);
    }
    let without_slug = builder.build().unwrap();
    let error = without_slug.api().balance().send().await.unwrap_err();
    assert!(matches!(&error, Error::Configuration { message } if message.contains("balance needs a business slug")), "{error:?}");
    assert_eq!((error.status(), error.is_retryable(), error.reach()), (None, false, vandar::Reach::NeverSent));
    // Given on the call, it is sent (the test server's answer is not a balance: only the count matters).
    let _ = without_slug.api().balance().business("shop").send().await;
    assert_eq!(server.seen().len(), 1);
    // An empty slug on a configured client names the parameter.
    let error = client_for(&server).business_tokens(vandar::TokenPair::new("a", "r", None)).build().unwrap().api().balance().business("").send().await.unwrap_err();
    assert!(matches!(&error, Error::InvalidInput { field: Some(field), .. } if field == "business"), "{error:?}");
    assert_eq!(server.seen().len(), 1);
}

#[tokio::test]
async fn invalid_input_is_refused_before_anything_is_sent() {
    let server = serve(|_| async { json(200, json!({"status": 1, "token": "T"})) }).await;
    let vandar = client_for(&server).ipg_api_key("k").business_tokens(pair("a", "r", None)).build().unwrap();
    // The spec's length bound is checked before sending, in characters (Persian text is 2 bytes a character).
    let too_long = "ب".repeat(256);
    let error = vandar.ipg().ipg_send().body_map(|b| b.amount(Rials(1000)).callback_url("https://s.example/cb").description(too_long)).send().await.unwrap_err();
    assert!(matches!(&error, Error::InvalidInput { field: Some(f), reason } if f == "description" && reason == "must be at most 255 characters"), "{error:?}");
    assert_eq!(error.to_string(), "invalid input (description): must be at most 255 characters");
    assert!(server.seen().is_empty());
    let fine = "ب".repeat(255);
    vandar.ipg().ipg_send().body_map(|b| b.amount(Rials(1000)).callback_url("https://s.example/cb").description(fine)).send().await.unwrap();
    assert_eq!(server.seen().len(), 1);
    let error = vandar.ipg().ipg_send().body_map(|b| b.amount(Rials(1000))).send().await.unwrap_err();
    assert!(matches!(&error, Error::InvalidInput { field: Some(f), reason } if f == "callback_url" && reason == "is required"), "{error:?}");
    let error = vandar.api().settlement_store().business("shop").body_map(|b| b.amount(Tomans(5000)).iban("IR12").track_id("t")).send().await.unwrap_err();
    assert!(matches!(&error, Error::InvalidInput { .. }), "malformed IBAN: {error:?}");
    // A URL Vandar will send the payer's browser to (or call) must be one.
    for not_a_url in ["not a url", "shop.example/cb", "ftp://shop.example/cb"] {
        let error = vandar.start_payment(Rials(1000), not_a_url).await.unwrap_err();
        assert_eq!(error.to_string(), "invalid input (callback_url): must be an absolute http or https URL", "{not_a_url}");
    }
    let error = vandar.api().settlement_store().business("shop").body_map(|b| b.amount(Tomans(5000)).iban("IR330120020000002353697200").track_id("t").notify_url("/notify")).send().await.unwrap_err();
    assert!(matches!(&error, Error::InvalidInput { field: Some(f), .. } if f == "notify_url"), "{error:?}");
    assert_eq!(server.seen().len(), 1, "only the valid send went out");
}

#[test]
fn the_client_is_send_sync_and_cheap_to_clone() {
    fn assert_send_sync_clone<T: Send + Sync + Clone + 'static>() {}
    assert_send_sync_clone::<vandar::Client>();
}

#[tokio::test]
async fn tracked_calls_fill_in_a_track_id_and_reconcile_a_lost_answer() {
    let server = serve(|seen: Seen| async move {
        match seen.path.as_str() {
            "/v3/business/shop/subscription/withdrawal/store" => {
                tokio::time::sleep(Duration::from_millis(400)).await;
                json(200, json!({"status": 1}))
            }
            p if p.starts_with("/v3/business/shop/subscription/withdrawal/track-id/") => {
                let track_id = p.rsplit('/').next().unwrap();
                json(200, json!({"status": 1, "message": "ok", "result": {"withdrawal": {"track_id": track_id, "status": "INIT"}}}))
            }
            "/v3/business/shop/settlement/store" => json(200, json!({"status": 1, "data": {"settlement": []}})),
            _ => json(404, json!({})),
        }
    })
    .await;
    let vandar = client_for(&server).business_tokens(pair("a", "r", None)).timeout(Duration::from_millis(150)).build().unwrap();

    let stored = vandar
        .settlement_store(vandar::api::types::SettlementStoreRequest::builder().amount(Tomans(5000)).iban("IR330120020000002353697200"))
        .await
        .unwrap();
    let sent = server.seen().last().unwrap().json();
    assert_eq!(sent["track_id"], stored.track_id(), "the generated track_id is sent and returned");
    assert!(uuid::Uuid::parse_str(stored.track_id()).is_ok());

    let withdrawal = vandar
        .withdrawal_store(
            vandar::api::types::WithdrawalStoreRequest::builder()
                .authorization_id(uuid_like())
                .amount(Rials(10_000))
                .track_id("my-own-id"),
        )
        .await
        .unwrap();
    let vandar::money::Tracked::Reconciled { track_id, found } = withdrawal else { panic!("{withdrawal:?}") };
    assert_eq!(track_id, "my-own-id");
    assert_eq!(found.result.unwrap().withdrawal.unwrap().track_id.as_deref(), Some("my-own-id"));
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(server.count("POST", "/v3/business/shop/subscription/withdrawal/store"), 1, "never sent twice");
}

#[tokio::test]
async fn ravand_upload_is_sent_as_multipart_with_the_bearer_token() {
    let server = serve(|_| async { json(200, json!({"message": "uploaded"})) }).await;
    let vandar = client_for(&server).business_tokens(pair("access-1", "r", None)).build().unwrap();
    let form = reqwest::multipart::Form::new().part("national_card", reqwest::multipart::Part::bytes(b"PNG...".to_vec()).file_name("card.png"));
    let answer = vandar.ravand_cardholder_upload("tejarat", "42", form).await.unwrap();
    assert_eq!(answer["message"], "uploaded");
    let seen = &server.seen()[0];
    assert_eq!(seen.path, "/v1/business/shop/ravand/provider/tejarat/cardholder/42/upload");
    assert_eq!(seen.bearer().as_deref(), Some("access-1"));
    assert!(seen.headers["content-type"].to_str().unwrap().starts_with("multipart/form-data; boundary="));
    assert!(String::from_utf8_lossy(&seen.body).contains("filename=\"card.png\""));
}

#[tokio::test]
async fn redirect_urls_point_at_the_configured_hosts() {
    let vandar = vandar::Client::builder().build().unwrap();
    assert_eq!(vandar::extras::redirects::ipg_payment_page(&vandar, "ABC"), "https://ipg.vandar.io/v4/ABC");
    assert_eq!(vandar::extras::redirects::authorization_page(&vandar, "t/1"), "https://subscription.vandar.io/authorizations/t%2F1");
    assert_eq!(vandar::extras::redirects::ravand_activation_page(&vandar, "x"), "https://api.vandar.io/v1/redirect/x");
}

#[tokio::test]
async fn credentials_a_server_echoes_back_are_scrubbed_from_errors() {
    // A server that quotes what it received: the body (api_key included) and the bearer header.
    let server = serve(|seen: Seen| async move {
        let body = String::from_utf8_lossy(&seen.body).to_string();
        let bearer = seen.bearer().unwrap_or_default();
        match seen.path.as_str() {
            "/api/v4/send" => json(422, serde_json::json!({"status": 0, "errors": [format!("invalid request: {body}")]})),
            "/api/v4/transaction" => axum::response::IntoResponse::into_response((axum::http::StatusCode::OK, format!("<html>{body}</html>"))),
            _ => axum::response::IntoResponse::into_response((
                axum::http::StatusCode::INTERNAL_SERVER_ERROR,
                format!("<html><title>500</title>token {bearer} rejected</html>"),
            )),
        }
    })
    .await;
    let (api_key, access) = ("ECHOED-API-KEY-0123456789", "ECHOED-ACCESS-TOKEN-0123456789");
    let vandar = client_for(&server).ipg_api_key(api_key).business_tokens(TokenPair::new(access, "ECHOED-REFRESH-0123456789", None)).build().unwrap();
    let errors = [
        vandar.ipg().ipg_send().body_map(|b| b.amount(Rials(10_000)).callback_url("https://shop.example/cb")).send().await.unwrap_err(),
        vandar.ipg().ipg_transaction().body_map(|b| b.token("T")).send().await.unwrap_err(),
        vandar.api().balance().business("shop").send().await.unwrap_err(),
    ];
    assert!(matches!(&errors[0], Error::Api(api) if api.status == 422), "{:?}", errors[0]);
    for error in &errors {
        let shown = format!("{error} {error:?}");
        assert!(!shown.contains(api_key) && !shown.contains(access), "leaked: {shown}");
    }
    assert!(errors[0].to_string().contains("***"), "the echo is kept, the key replaced: {}", errors[0]);
}

/// A business API whose settlement_store answers too late (the client gives up at 150 ms) and
/// whose transaction lookup answers `listed`, whatever the filter says.
async fn lost_settlement_answer(listed: serde_json::Value) -> support::Server {
    serve(move |seen: Seen| {
        let listed = listed.clone();
        async move {
            match seen.path.as_str() {
                "/v3/business/shop/settlement/store" => {
                    tokio::time::sleep(Duration::from_millis(400)).await;
                    json(200, json!({"status": 1, "data": {"settlement": []}}))
                }
                "/v3/business/shop/transaction" => json(200, json!({"status": 1, "has_more": false, "data": listed})),
                p if p.starts_with("/v3/business/shop/subscription/withdrawal/track-id/") => {
                    json(200, json!({"status": 1, "result": {"withdrawal": {"track_id": "someone-elses", "amount": 10_000, "status": "DONE"}}}))
                }
                "/v3/business/shop/subscription/withdrawal/store" => {
                    tokio::time::sleep(Duration::from_millis(400)).await;
                    json(200, json!({"status": 1}))
                }
                _ => json(404, json!({})),
            }
        }
    })
    .await
}

async fn store_settlement(server: &support::Server) -> Result<String, Error> {
    let vandar = client_for(server).business_tokens(pair("a", "r", None)).timeout(Duration::from_millis(150)).build().unwrap();
    let body = vandar::api::types::SettlementStoreRequest::builder().amount(Tomans(5000)).iban("IR330120020000002353697200").track_id("order-77");
    vandar.settlement_store(body).await.map(|t| format!("{t:?}"))
}

#[tokio::test]
async fn a_lookup_that_ignores_the_filter_is_not_taken_as_proof() {
    // Another settlement (another track_id, another IBAN), as a server ignoring ?track_id= would list.
    let server = lost_settlement_answer(json!([{"id": 901, "amount": -5000, "settlement": {"track_id": "order-12", "iban": "IR060120000000000000000001"}}])).await;
    let error = store_settlement(&server).await.unwrap_err();
    assert!(
        matches!(&error, Error::Indeterminate { operation: "settlement_store", track_id, reason } if track_id == "order-77" && reason.contains("none proven") && reason.contains("id 901")),
        "{error}"
    );
    assert_eq!(server.count("POST", "/v3/business/shop/settlement/store"), 1, "never sent twice");
}

#[tokio::test]
async fn a_lookup_that_fails_too_leaves_the_settlement_in_doubt_not_a_plain_error() {
    // The lookup's answer cannot be read (its data is no list): the settlement may have been made.
    let server = lost_settlement_answer(json!("not a list")).await;
    let error = store_settlement(&server).await.unwrap_err();
    assert!(
        matches!(&error, Error::Indeterminate { operation: "settlement_store", track_id, reason } if track_id == "order-77" && reason.contains("lookup failed too")),
        "{error}"
    );
    assert!(!error.is_retryable());
    assert_eq!(server.count("POST", "/v3/business/shop/settlement/store"), 1, "never sent twice");
}

#[tokio::test]
async fn a_record_without_identity_fields_is_not_proof_even_with_the_same_amount() {
    let server = lost_settlement_answer(json!([{"id": 902, "amount": -5000}])).await;
    assert!(matches!(store_settlement(&server).await.unwrap_err(), Error::Indeterminate { .. }));
}

#[tokio::test]
async fn a_record_carrying_the_track_id_or_the_amount_and_iban_reconciles() {
    let by_track_id = lost_settlement_answer(json!([{"id": 1, "amount": -5000, "settlement": {"track_id": "someone-else"}}, {"id": 2, "amount": -5000, "settlement": {"track_id": "order-77"}}])).await;
    let found = store_settlement(&by_track_id).await.unwrap();
    assert!(found.starts_with("Reconciled") && found.contains("id: Some(2)") && !found.contains("id: Some(1)"), "{found}");
    let by_amount_and_iban = lost_settlement_answer(json!([{"id": 3, "amount": -5000, "settlement": {"iban": "IR330120020000002353697200"}}])).await;
    assert!(store_settlement(&by_amount_and_iban).await.unwrap().starts_with("Reconciled"));
}

#[tokio::test]
async fn a_withdrawal_found_under_another_track_id_is_not_proof() {
    let server = lost_settlement_answer(json!([])).await;
    let vandar = client_for(&server).business_tokens(pair("a", "r", None)).timeout(Duration::from_millis(150)).build().unwrap();
    let error = vandar
        .withdrawal_store(
            vandar::api::types::WithdrawalStoreRequest::builder()
                .authorization_id(uuid_like())
                .amount(Rials(10_000))
                .track_id("mine"),
        )
        .await
        .unwrap_err();
    assert!(matches!(&error, Error::Indeterminate { track_id, reason, .. } if track_id == "mine" && reason.contains("someone-elses")), "{error}");
}

#[tokio::test]
async fn money_moves_without_a_documented_lookup_fill_in_a_track_id_and_say_so_when_lost() {
    let server = serve(|seen: Seen| async move {
        match seen.path.as_str() {
            "/v3/business/shop/cash-in/account/deposit" => {
                tokio::time::sleep(Duration::from_millis(400)).await;
                json(200, json!({"status": 1}))
            }
            p if p.ends_with("/wallet/deposit") => {
                let sent = seen.json();
                json(200, json!({"id": uuid_like(), "track_id": sent["track_id"], "status": 1, "balance": 20000, "currency": "RIAL"}))
            }
            _ => json(404, json!({})),
        }
    })
    .await;
    let vandar = client_for(&server).business_tokens(pair("a", "r", None)).timeout(Duration::from_millis(150)).build().unwrap();

    let deposit = vandar
        .customer_wallet_deposit(uuid_like(), vandar::api::types::WalletMovementRequest::builder().amount(Rials(20_000)))
        .await
        .unwrap();
    let sent = server.seen().last().unwrap().json();
    assert_eq!(sent["track_id"], deposit.track_id(), "a fresh track_id went on the wire");
    let vandar::money::Tracked::Answered { answer, .. } = deposit else { panic!("a deposit without a lookup is answered or an error") };
    assert_eq!(answer.track_id.as_deref(), Some(sent["track_id"].as_str().unwrap()));

    let lost = vandar
        .cash_in_deposit(vandar::api::types::CashInDepositRequest::builder().iban("IR330120020000002353697200").amount(Rials(50_000)).track_id("dep-1"))
        .await
        .unwrap_err();
    assert!(
        matches!(&lost, Error::Indeterminate { operation: "cash_in_deposit", track_id, reason } if track_id == "dep-1" && reason.contains("no lookup by track_id")),
        "{lost}"
    );
    assert_eq!(server.count("POST", "/v3/business/shop/cash-in/account/deposit"), 1, "never sent twice");
}

#[tokio::test]
async fn a_lost_batch_is_reconciled_only_when_every_item_is_found() {
    let batch_id = "ab".repeat(64);
    let listed = Arc::new(std::sync::Mutex::new(json!([])));
    let shown = listed.clone();
    let server = serve(move |seen: Seen| {
        let shown = shown.clone();
        async move {
            if seen.path == "/api/v2/business/shop/batches-settlement" {
                tokio::time::sleep(Duration::from_millis(400)).await;
                return json(200, json!({"status": 1}));
            }
            if seen.path.starts_with("/api/v2/business/shop/batch-settlements/") {
                return json(200, json!({"data": shown.lock().unwrap().clone()}));
            }
            json(404, json!({}))
        }
    })
    .await;
    let vandar = client_for(&server).business_tokens(pair("a", "r", None)).timeout(Duration::from_millis(150)).build().unwrap();
    let item = |track_id: &str, amount: i64| {
        vandar::batch::types::BatchSettlementItem::builder().track_id(track_id).iban("IR330120020000002353697200").amount(amount)
    };
    let body = || {
        vandar::batch::types::BatchSettlementStoreRequest::builder().batch_id(batch_id.clone()).batches_settlement(vec![
            vandar::batch::types::BatchSettlementItem::try_from(item("a-1", 6000)).unwrap(),
            vandar::batch::types::BatchSettlementItem::try_from(item("a-2", 7000)).unwrap(),
        ])
    };
    // Only one of the two items is listed: not proof.
    *listed.lock().unwrap() = json!([{"track_id": "a-1", "iban": "IR330120020000002353697200", "amount": "6000"}]);
    let error = vandar.batch_settlement_store(body()).await.unwrap_err();
    assert!(matches!(&error, Error::Indeterminate { reason, .. } if reason.contains("1 of the 2 items")), "{error}");
    // Both, with their amounts and IBAN: reconciled.
    *listed.lock().unwrap() = json!([
        {"track_id": "a-1", "iban": "IR330120020000002353697200", "amount": "6000"},
        {"track_id": "a-2", "iban": "IR330120020000002353697200", "amount": "7000"}
    ]);
    let stored = vandar.batch_settlement_store(body()).await.unwrap();
    assert!(matches!(&stored, vandar::money::Tracked::Reconciled { track_id, found } if *track_id == batch_id && found.len() == 2), "{stored:?}");
    assert_eq!(server.count("POST", "/api/v2/business/shop/batches-settlement"), 2, "once per call, never repeated");
}

#[tokio::test]
async fn the_raw_generated_money_move_gets_a_track_id_too() {
    let server = serve(|_: Seen| async { json(200, json!({"status": 1, "result": {}})) }).await;
    let vandar = client_for(&server).business_tokens(pair("a", "r", None)).build().unwrap();
    vandar
        .api()
        .withdrawal_store()
        .business("shop")
        .body_map(|b| b.authorization_id(uuid_like()).amount(Rials(10_000)))
        .send()
        .await
        .unwrap();
    let sent = server.seen().last().unwrap().json();
    assert!(uuid::Uuid::parse_str(sent["track_id"].as_str().unwrap()).is_ok(), "{sent}");
    assert_eq!(sent["amount"], 10_000);
}

#[tokio::test]
async fn the_business_slug_comes_from_the_client_unless_the_call_names_another() {
    let server = business_api().await;
    let vandar = client_for(&server).business_tokens(pair("access-1", "refresh-1", None)).build().unwrap();
    vandar.api().balance().send().await.unwrap();
    assert_eq!(server.seen().last().unwrap().path, "/v2/business/shop/balance");
    vandar.api().balance().business("other-shop").send().await.unwrap();
    assert_eq!(server.seen().last().unwrap().path, "/v2/business/other-shop/balance");

    let unnamed = vandar::Client::builder().base_url(vandar::Host::Api, &server.url).business_tokens(pair("access-1", "refresh-1", None)).build().unwrap();
    let error = unnamed.api().balance().send().await.unwrap_err();
    assert!(matches!(&error, Error::Configuration { message } if message.contains("ClientBuilder::business")), "{error}");
    assert!(matches!(unnamed.business(), Err(Error::Configuration { .. })));
    assert_eq!(server.seen().len(), 2, "nothing sent without a slug");
}
