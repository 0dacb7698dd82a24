//! `vandar-mock --port N`: the embedded mock Vandar as a standalone server, for clients in any
//! language generated from spec/vandar.yaml (as stripe-mock serves Stripe's SDKs).
//!
//! On start it prints one JSON line: the base URL of each host and the credentials it accepts.
use vandar::mock::MockVandar;
use vandar::Host;

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let port = match args.as_slice() {
        [] => 0,
        [flag, port] if flag == "--port" => port.parse().unwrap_or_else(|_| usage()),
        _ => usage(),
    };
    let mock = MockVandar::start_on(port).await.unwrap_or_else(|e| {
        eprintln!("vandar-mock: cannot listen on 127.0.0.1:{port}: {e}");
        std::process::exit(1)
    });
    let c = mock.credentials();
    let line = serde_json::json!({
        "api": mock.base_url(Host::Api),
        "ipg": mock.base_url(Host::Ipg),
        "batch": mock.base_url(Host::Batch),
        "subscription": mock.base_url(Host::Subscription),
        "business": c.business,
        "access_token": c.access_token,
        "refresh_token": c.refresh_token,
        "ipg_api_key": c.ipg_api_key,
        "miando_client_id": c.miando_client_id,
        "miando_client_secret": c.miando_client_secret,
    });
    println!("{line}");
    mock.wait().await;
}

fn usage() -> ! {
    eprintln!("usage: vandar-mock [--port N]");
    std::process::exit(2)
}
