//! A small scripted HTTP server on 127.0.0.1 for tests: records every request it receives and
//! answers through the test's own handler.
#![allow(dead_code)]
use std::future::Future;
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};

/// One request as the server saw it.
#[derive(Clone, Debug)]
pub struct Seen {
    pub method: String,
    pub path: String,
    pub query: String,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Seen {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or(serde_json::Value::Null)
    }

    pub fn bearer(&self) -> Option<String> {
        self.headers.get("authorization").map(|v| v.to_str().unwrap().trim_start_matches("Bearer ").to_string())
    }
}

pub struct Server {
    pub url: String,
    pub log: Arc<Mutex<Vec<Seen>>>,
}

impl Server {
    pub fn seen(&self) -> Vec<Seen> {
        self.log.lock().unwrap().clone()
    }

    pub fn count(&self, method: &str, path: &str) -> usize {
        self.seen().iter().filter(|s| s.method == method && s.path == path).count()
    }
}

/// Starts a server on 127.0.0.1 (OS-chosen port) answering with `handler`.
pub async fn serve<F, Fut>(handler: F) -> Server
where
    F: Fn(Seen) -> Fut + Clone + Send + Sync + 'static,
    Fut: Future<Output = Response> + Send + 'static,
{
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let log: Arc<Mutex<Vec<Seen>>> = Arc::default();
    let recorded = log.clone();
    let app = axum::Router::new().fallback(move |request: axum::extract::Request| {
        let handler = handler.clone();
        let recorded = recorded.clone();
        async move {
            let (parts, body) = request.into_parts();
            let body = axum::body::to_bytes(body, usize::MAX).await.unwrap();
            let seen = Seen {
                method: parts.method.to_string(),
                path: parts.uri.path().to_string(),
                query: parts.uri.query().unwrap_or_default().to_string(),
                headers: parts.headers,
                body,
            };
            recorded.lock().unwrap().push(seen.clone());
            handler(seen).await
        }
    });
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    Server { url, log }
}

pub fn json(status: u16, body: serde_json::Value) -> Response {
    (StatusCode::from_u16(status).unwrap(), axum::Json(body)).into_response()
}

pub fn raw(status: u16, content_type: &str, body: &'static str) -> Response {
    (StatusCode::from_u16(status).unwrap(), [("content-type", content_type.to_string())], body).into_response()
}

/// A client builder whose four hosts all point at `server`, with fast retries.
pub fn client_for(server: &Server) -> vandar::ClientBuilder {
    let mut builder = vandar::Client::builder().business("shop").retry_policy(vandar::RetryPolicy::default().max_attempts(3).base_delay(std::time::Duration::from_millis(10)).max_delay(std::time::Duration::from_millis(200)));
    for host in vandar::Host::ALL {
        builder = builder.base_url(host, &server.url);
    }
    builder
}

pub fn balance_ok() -> axum::response::Response {
    json(200, serde_json::json!({"status": 1, "data": {"wallet": 100000, "currency": "Toman"}}))
}

/// A business API that issues `new-access`/`new-refresh` for `refresh-1` and accepts only the token it last issued.
pub async fn business_api() -> Server {
    let current = Arc::new(Mutex::new("access-1".to_string()));
    serve(move |seen: Seen| {
        let current = current.clone();
        async move {
            if seen.path == "/v3/refreshtoken" {
                if seen.json()["refreshtoken"] != "refresh-1" {
                    return json(401, serde_json::json!({"status": 0, "error": "Unauthenticated"}));
                }
                *current.lock().unwrap() = "new-access".into();
                return json(200, serde_json::json!({"token_type": "Bearer", "expires_in": 432000, "access_token": "new-access", "refresh_token": "new-refresh"}));
            }
            if seen.bearer().as_deref() != Some(current.lock().unwrap().as_str()) {
                return json(401, serde_json::json!({"status": 0, "error": "Unauthenticated"}));
            }
            balance_ok()
        }
    })
    .await
}

