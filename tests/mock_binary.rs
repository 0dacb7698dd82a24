//! The standalone `vandar-mock` binary: starts where `--host`/`--port` say, prints one JSON line with
//! every host's base URL, the control API and the credentials it accepts, serves them, and is driven
//! through the control API with plain HTTP, as a test in another language drives it.
#![cfg(feature = "mock")]

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use serde_json::{json, Value};

/// Starts the binary with `args`; its JSON line. Killed by its pid in [`Mock::drop`].
struct Mock {
    child: Child,
    info: Value,
}

impl Mock {
    fn start(args: &[&str]) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_vandar-mock")).args(args).stdout(Stdio::piped()).spawn().unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
        let info = serde_json::from_str(&line).unwrap_or_else(|e| panic!("{e}: {line:?}"));
        Self { child, info }
    }

    fn url(&self, key: &str) -> String {
        self.info[key].as_str().unwrap().to_string()
    }
}

impl Drop for Mock {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test]
async fn vandar_mock_prints_its_hosts_and_credentials_and_serves_them() {
    let mock = Mock::start(&["--port", "0"]);
    let info = &mock.info;
    let api = mock.url("api");
    assert!(api.starts_with("http://127.0.0.1:"));
    assert_eq!(info["ipg"], format!("{api}/ipg"));
    assert_eq!(info["batch"], format!("{api}/batch"));
    assert_eq!(info["subscription"], format!("{api}/subscription"));
    assert_eq!(info["control"], format!("{api}/__mock"));

    // Any HTTP client can drive it with what it printed.
    let http = reqwest::Client::new();
    let sent: Value = http
        .post(format!("{}/api/v4/send", mock.url("ipg")))
        .json(&json!({"api_key": info["ipg_api_key"], "amount": 1000, "callback_url": "https://x.example/cb"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(sent["status"], 1);
    let balance = http.get(format!("{api}/v2/business/{}/balance", mock.url("business"))).bearer_auth(mock.url("access_token")).send().await.unwrap();
    assert_eq!(balance.status(), 200);
}

#[tokio::test]
async fn vandar_mock_listens_on_the_given_host_and_port_and_obeys_its_control_api() {
    let port = {
        let free = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        free.local_addr().unwrap().port()
    };
    let mock = Mock::start(&["--host", "127.0.0.1", "--port", &port.to_string()]);
    let api = mock.url("api");
    assert_eq!(api, format!("http://127.0.0.1:{port}"));
    let control = mock.url("control");
    let balance = format!("{api}/v2/business/mock-shop/balance");
    let http = reqwest::Client::new();
    let token = mock.url("access_token");

    // A fault, the request log, an expired token, a reset: what a test in any language does.
    let queued: Value = http.post(format!("{control}/faults")).json(&json!({"faults": [{"status": 503}]})).send().await.unwrap().json().await.unwrap();
    assert_eq!(queued, json!({"queued": 1}));
    assert_eq!(http.get(&balance).bearer_auth(&token).send().await.unwrap().status(), 503);
    assert_eq!(http.get(&balance).bearer_auth(&token).send().await.unwrap().status(), 200);
    let log: Value = http.get(format!("{control}/requests")).send().await.unwrap().json().await.unwrap();
    let paths: Vec<&str> = log["requests"].as_array().unwrap().iter().map(|r| r["path"].as_str().unwrap()).collect();
    assert_eq!(paths, ["/v2/business/mock-shop/balance", "/v2/business/mock-shop/balance"]);
    http.post(format!("{control}/expire-access-token")).send().await.unwrap();
    assert_eq!(http.get(&balance).bearer_auth(&token).send().await.unwrap().status(), 401);
    let reset: Value = http.post(format!("{control}/reset")).send().await.unwrap().json().await.unwrap();
    assert_eq!(reset, json!({"reset": true}));
    assert_eq!(http.get(&balance).bearer_auth(&token).send().await.unwrap().status(), 200, "the printed token works again");
    let stats: Value = http.get(format!("{control}/stats")).send().await.unwrap().json().await.unwrap();
    assert_eq!(stats["accepted_other"], 1);

    let bad = http.post(format!("{control}/rate-limits")).body(r#"{"post": 1}"#).send().await.unwrap();
    assert_eq!(bad.status(), 400);
    assert!(bad.json::<Value>().await.unwrap()["error"].as_str().unwrap().contains("missing field `other`"));
}

#[test]
fn vandar_mock_help_documents_its_flags_and_control_api_and_bad_arguments_exit_2() {
    let help = Command::new(env!("CARGO_BIN_EXE_vandar-mock")).arg("--help").output().unwrap();
    assert!(help.status.success());
    let text = String::from_utf8(help.stdout).unwrap();
    for needle in ["--host", "--port", "/__mock/faults", "/__mock/reset", "/__mock/requests", "/__mock/expire-access-token", "/__mock/rate-limits",
        "/__mock/token-lifetime", "/__mock/payer-declines", "/__mock/webhook-route", "/__mock/stats", "drop_connection", "latency_ms"]
    {
        assert!(text.contains(needle), "--help does not mention {needle}");
    }
    for args in [&["--port", "http"][..], &["--port"][..], &["--verbose"][..]] {
        let refused = Command::new(env!("CARGO_BIN_EXE_vandar-mock")).args(args).output().unwrap();
        assert_eq!(refused.status.code(), Some(2), "{args:?}");
        assert!(String::from_utf8(refused.stderr).unwrap().contains("usage: vandar-mock"), "{args:?}");
    }
}
