//! The standalone `vandar-mock` binary: starts, prints one JSON line with every host's base URL and
//! the credentials it accepts, and serves them.
#![cfg(feature = "mock")]

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

#[tokio::test]
async fn vandar_mock_prints_its_hosts_and_credentials_and_serves_them() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_vandar-mock")).args(["--port", "0"]).stdout(Stdio::piped()).spawn().unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
    let info: serde_json::Value = serde_json::from_str(&line).unwrap();
    let api = info["api"].as_str().unwrap().to_string();
    assert!(api.starts_with("http://127.0.0.1:"));
    assert_eq!(info["ipg"], format!("{api}/ipg"));
    assert_eq!(info["batch"], format!("{api}/batch"));
    assert_eq!(info["subscription"], format!("{api}/subscription"));

    // Any HTTP client can drive it with what it printed.
    let http = reqwest::Client::new();
    let sent: serde_json::Value = http
        .post(format!("{}/api/v4/send", info["ipg"].as_str().unwrap()))
        .json(&serde_json::json!({"api_key": info["ipg_api_key"], "amount": 1000, "callback_url": "https://x.example/cb"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(sent["status"], 1);
    let balance = http
        .get(format!("{api}/v2/business/{}/balance", info["business"].as_str().unwrap()))
        .bearer_auth(info["access_token"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(balance.status(), 200);
    child.kill().unwrap();
    child.wait().unwrap();
}
