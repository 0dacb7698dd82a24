#![allow(dead_code)]
//! A server on 127.0.0.1 that takes what is POSTed to one path: the `notify_url` callbacks the mock
//! delivers (to it, through `MockVandar::route_webhooks_to`).
use std::time::Duration;

use axum::http::HeaderMap;
use tokio::sync::mpsc::UnboundedReceiver;

pub struct NotifyReceiver {
    /// `http://127.0.0.1:PORT`, for `route_webhooks_to`.
    pub base_url: String,
    received: UnboundedReceiver<(String, String)>,
}

impl NotifyReceiver {
    /// Listens for POSTs to `path`.
    pub async fn start(path: &str) -> Self {
        let (sent, received) = tokio::sync::mpsc::unbounded_channel();
        let receiver = axum::Router::new().route(
            path,
            axum::routing::post(move |headers: HeaderMap, body: String| {
                let content_type = headers.get("content-type").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
                let sent = sent.clone();
                async move { sent.send((content_type, body)).unwrap() }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base_url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, receiver).await.unwrap() });
        Self { base_url, received }
    }

    /// The next POST (its content type and body), within 5 s.
    pub async fn next(&mut self) -> (String, String) {
        tokio::time::timeout(Duration::from_secs(5), self.received.recv()).await.expect("a POST within 5 s").unwrap()
    }
}
