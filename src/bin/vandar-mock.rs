//! `vandar-mock [--host H] [--port N]`: the embedded mock Vandar as a standalone server, for clients in
//! any language generated from spec/vandar.yaml (as stripe-mock serves Stripe's SDKs), driven from
//! their tests through the control API under `/__mock/` (`vandar-mock --help` prints it).
//!
//! On start it prints one JSON line: the base URL of each host, the control API's URL and the
//! credentials it accepts.
//!
//! `vandar-mock trigger <kind> --forward-to URL` posts one signed webhook, notify_url post or IPG
//! callback to a receiver of yours; `vandar-mock listen --forward-to URL` serves the mock and sends
//! every delivery it makes to that URL (docs/testing.md).
use vandar::mock::trigger::{self, Trigger};
use vandar::mock::MockVandar;

const USAGE: &str = "usage: vandar-mock [--host H] [--port N] [--help]
       vandar-mock listen --forward-to URL [--host H] [--port N]
       vandar-mock trigger KIND --forward-to URL [--set FIELD=VALUE]... [--business SLUG]
       vandar-mock trigger --list";

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

  listen --forward-to URL   serve as above, and post every webhook and notify_url delivery the
                            mock makes to URL itself (whatever URL it was registered for)
  trigger KIND --forward-to URL
                            post one delivery of KIND to URL and print what it answered (exit 0 on
                            a 2xx, 1 otherwise): each Miando event type (signed in X-Signature with
                            --business, default mock-shop), settlement_notify, withdrawal_notify,
                            ipg_callback (a GET with ?token=..&payment_status=OK);
                            --set FIELD=VALUE overrides a field of the event's data or the body
  trigger --list            the kinds, one per line

{}",
        include_str!("../mock/control.md")
    )
}

fn usage_error(problem: &str) -> ! {
    eprintln!("vandar-mock: {problem}\n{USAGE}");
    std::process::exit(2)
}

#[tokio::main]
async fn main() {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let command = args.first().filter(|a| matches!(a.as_str(), "listen" | "trigger")).cloned();
    if command.is_some() {
        args.remove(0);
    }
    if command.as_deref() == Some("trigger") {
        std::process::exit(run_trigger(args).await);
    }
    let (forward_to, args) = take_flag(args, "--forward-to");
    if command.as_deref() == Some("listen") && forward_to.is_none() {
        usage_error("listen needs --forward-to URL");
    }
    let (host, port) = arguments(args.into_iter()).unwrap_or_else(|problem| usage_error(&problem));
    let mock = MockVandar::start_at(&host, port).await.unwrap_or_else(|e| {
        eprintln!("vandar-mock: cannot listen on {host}:{port}: {e}");
        std::process::exit(1)
    });
    if let Some(url) = forward_to {
        if url::Url::parse(&url).map_or(true, |u| !matches!(u.scheme(), "http" | "https")) {
            usage_error(&format!("--forward-to {url:?} is not an http(s) URL"));
        }
        mock.forward_deliveries_to(url);
    }
    // Each host's base URL, the control API and the credentials: vandar::mock::MockAddress.
    let line = serde_json::to_string(&mock.address()).expect("the address serializes");
    println!("{line}");
    mock.wait().await;
}

/// `flag VALUE` or `flag=VALUE` taken out of `args` (the last one given), and the rest.
fn take_flag(args: Vec<String>, flag: &str) -> (Option<String>, Vec<String>) {
    let (mut value, mut rest, mut args) = (None, Vec::new(), args.into_iter());
    while let Some(arg) = args.next() {
        if arg == flag {
            value = Some(args.next().unwrap_or_else(|| usage_error(&format!("{flag} needs a value"))));
        } else if let Some(inline) = arg.strip_prefix(&format!("{flag}=")) {
            value = Some(inline.to_string());
        } else {
            rest.push(arg);
        }
    }
    (value, rest)
}

/// `trigger KIND --forward-to URL [--set F=V]... [--business SLUG]`, or `trigger --list`: the exit status.
async fn run_trigger(args: Vec<String>) -> i32 {
    if args.iter().any(|a| a == "--list") {
        trigger::kinds().iter().for_each(|kind| println!("{kind}"));
        return 0;
    }
    let (url, args) = take_flag(args, "--forward-to");
    let (business, mut args) = take_flag(args, "--business");
    let Some(url) = url else { usage_error("trigger needs --forward-to URL") };
    if args.is_empty() {
        usage_error("trigger needs a KIND (vandar-mock trigger --list)");
    }
    let mut trigger = Trigger::new(&args.remove(0)).unwrap_or_else(|problem| usage_error(&problem));
    if let Some(slug) = business {
        trigger = trigger.business(slug);
    }
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        let pair = match arg.strip_prefix("--set=") {
            Some(pair) => pair.to_string(),
            None if arg == "--set" => args.next().unwrap_or_else(|| usage_error("--set needs FIELD=VALUE")),
            None => usage_error(&format!("unknown argument {arg:?}")),
        };
        trigger = trigger.set_pair(&pair).unwrap_or_else(|problem| usage_error(&problem));
    }
    match trigger.send(&url).await {
        Ok(answered) => {
            let delivery = &answered.delivery;
            println!("{} {}", delivery.method, delivery.url);
            for (name, value) in &delivery.headers {
                println!("{name}: {value}");
            }
            if !delivery.body.is_empty() {
                println!("\n{}", String::from_utf8_lossy(&delivery.body));
            }
            println!("\n<- {} {}", answered.status, answered.body);
            if (200..300).contains(&answered.status) { 0 } else { 1 }
        }
        Err(problem) => {
            eprintln!("vandar-mock trigger: {problem}");
            1
        }
    }
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
