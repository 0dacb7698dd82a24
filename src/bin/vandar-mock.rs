//! `vandar-mock [--host H] [--port N]`: the embedded mock Vandar as a standalone server, for clients in
//! any language generated from spec/vandar.yaml (as stripe-mock serves Stripe's SDKs), driven from
//! their tests through the control API under `/__mock/` (`vandar-mock --help` prints it).
//!
//! On start it prints one JSON line: the base URL of each host, the control API's URL and the
//! credentials it accepts.
use vandar::mock::MockVandar;

const USAGE: &str = "usage: vandar-mock [--host H] [--port N] [--help]";

fn help() -> String {
    format!(
        "{USAGE}

A mock Vandar (https://vandar.io) on one port, with Vandar's documented behaviour and state, for
testing clients generated from spec/vandar.yaml in any language.

  --host H   address or name to listen on (default 127.0.0.1)
  --port N   port to listen on (default 0: the OS chooses one)

On start it prints one JSON line, then serves until stopped:

  {{\"api\": \"http://127.0.0.1:PORT\", \"ipg\": \".../ipg\", \"batch\": \".../batch\",
   \"subscription\": \".../subscription\", \"control\": \".../__mock\", \"business\": ...,
   \"access_token\": ..., \"refresh_token\": ..., \"ipg_api_key\": ...,
   \"miando_client_id\": ..., \"miando_client_secret\": ...}}

The api host is served at /, the others under /ipg, /batch and /subscription. Lists page as
Vandar's do (page, per_page, start_after as the spec gives them to each list).

{}",
        include_str!("../mock/control.md")
    )
}

#[tokio::main]
async fn main() {
    let (host, port) = arguments(std::env::args().skip(1)).unwrap_or_else(|problem| {
        eprintln!("vandar-mock: {problem}\n{USAGE}");
        std::process::exit(2)
    });
    let mock = MockVandar::start_at(&host, port).await.unwrap_or_else(|e| {
        eprintln!("vandar-mock: cannot listen on {host}:{port}: {e}");
        std::process::exit(1)
    });
    // Each host's base URL, the control API and the credentials: vandar::mock::MockAddress.
    let line = serde_json::to_string(&mock.address()).expect("the address serializes");
    println!("{line}");
    mock.wait().await;
}

/// `--host H`, `--port N` (also `--host=H`, `--port=N`); `--help` prints the help and exits.
fn arguments(mut args: impl Iterator<Item = String>) -> Result<(String, u16), String> {
    let (mut host, mut port) = ("127.0.0.1".to_string(), 0);
    while let Some(arg) = args.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((flag, value)) => (flag.to_string(), Some(value.to_string())),
            None => (arg, None),
        };
        if flag == "--help" || flag == "-h" {
            println!("{}", help());
            std::process::exit(0);
        }
        let mut value = || inline.clone().or_else(|| args.next()).ok_or(format!("{flag} needs a value"));
        match flag.as_str() {
            "--host" => host = value()?,
            "--port" => {
                let given = value()?;
                port = given.parse().map_err(|_| format!("--port {given:?} is not a port number (0-65535)"))?;
            }
            _ => return Err(format!("unknown argument {flag:?}")),
        }
    }
    Ok((host, port))
}
