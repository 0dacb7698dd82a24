//! `vandar journal ...`: the operator's look at a money journal (feature `ops`), for the person paged
//! at 3 a.m.: which money moves and payments are open or in doubt, what was looked up, recovery
//! run by hand, and an entry closed by hand with a reason the journal keeps.
//!
//! ```text
//! vandar journal --file /var/lib/shop/vandar.journal list
//! vandar journal --redis redis://10.0.0.5/ --prefix vandar:my-shop show payout-1842
//! vandar journal --postgres postgres://shop@db/shop recover --tokens-file /var/lib/shop/tokens.json
//! vandar journal --file vandar.journal close payout-1842 --reason "paid per dashboard, ticket 77"
//! ```
//!
//! What it prints is masked: no full IBAN, card, mobile or national code, and no credentials.
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use vandar::journal::{Entry, EntryState, Journal, Outcome};
use vandar::money::RecoveryOptions;
use vandar::mask::mask_personal_data;

#[derive(Parser)]
#[command(name = "vandar", version, about = "Look at, recover and close the entries of a vandar money journal")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// The money journal: list, show, recover, close.
    Journal {
        #[command(flatten)]
        at: JournalAt,
        #[command(subcommand)]
        action: Action,
    },
}

/// Which journal (exactly one of --file, --redis, --postgres).
#[derive(Args)]
struct JournalAt {
    /// A FileJournal's path.
    #[arg(long, value_name = "PATH")]
    file: Option<std::path::PathBuf>,
    /// A RedisJournal's URL (needs the `redis` feature); its prefix with --prefix.
    #[arg(long, value_name = "URL")]
    redis: Option<String>,
    /// A PostgresJournal's URL (needs the `postgres` feature).
    #[arg(long, value_name = "URL")]
    postgres: Option<String>,
    /// The RedisJournal's key prefix, as the application configures it.
    #[arg(long, default_value = "vandar", requires = "redis")]
    prefix: String,
}

#[derive(Subcommand)]
enum Action {
    /// The entries recovery still has to settle: staged, sending and in doubt, oldest first.
    List {
        /// One JSON object per line instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// One entry (open or closed): what was sent where, and its last outcome with what was looked up.
    Show { key: String },
    /// The stored records that do not read back (damaged, forged, or another version's): where,
    /// why and the track id each names. Nothing is sent under those track ids until the record is
    /// repaired or removed. Exits 3 when there is any.
    Damaged {
        /// One JSON object per line.
        #[arg(long)]
        json: bool,
    },
    /// Runs recovery on the open entries, as `Client::recover` does, and prints the report.
    ///
    /// The business and the gateway key come from VANDAR_BUSINESS and VANDAR_IPG_API_KEY, the
    /// token pair from VANDAR_ACCESS_TOKEN and VANDAR_REFRESH_TOKEN, the token store from
    /// --tokens-file or --tokens-redis: the store the application's fleet uses, so that a renewal
    /// here continues the fleet's lineage instead of spending the refresh token it holds.
    Recover {
        /// The FileTokenStore the application uses.
        #[arg(long, value_name = "PATH", conflicts_with = "tokens_redis")]
        tokens_file: Option<std::path::PathBuf>,
        /// The RedisTokenStore the application uses (needs the `redis` feature), with --tokens-prefix.
        #[arg(long, value_name = "URL")]
        tokens_redis: Option<String>,
        #[arg(long, default_value = "vandar", requires = "tokens_redis")]
        tokens_prefix: String,
        /// Entries younger than this are left alone (a live process may still be sending them).
        #[arg(long, value_name = "SECONDS", default_value_t = 120)]
        min_age: u64,
        /// The report as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Closes an open entry by hand (after checking Vandar's dashboard): the journal keeps the
    /// reason as its outcome, and the client never sends that track id again.
    Close {
        key: String,
        /// Why, as the journal will keep it (who checked what).
        #[arg(long)]
        reason: String,
    },
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let Command::Journal { at, action } = Cli::parse().command;
    match run(at, action).await {
        Ok(code) => code,
        Err(problem) => {
            eprintln!("vandar: {}", mask_personal_data(&problem));
            ExitCode::from(1)
        }
    }
}

async fn run(at: JournalAt, action: Action) -> Result<ExitCode, String> {
    let journal = open(&at).await?;
    let shown = journal.describe();
    match action {
        Action::List { json } => {
            let mut entries = journal.open().await.map_err(|e| format!("{shown}: {e}"))?;
            entries.sort_by_key(|e| e.intent.created_at_ms);
            if !json {
                println!("{:<40} {:<8} {:<24} {:<10} {:>9} {:>16}  {:<16} {}", "KEY", "KIND", "OPERATION", "STATE", "AGE", "AMOUNT", "BUSINESS", "LAST OUTCOME");
            }
            for entry in &entries {
                if json {
                    println!("{}", serde_json::to_string(&summary(entry)).expect("serializes"));
                } else {
                    println!("{}", row(entry));
                }
            }
            eprintln!("{} open entr{} in {shown}", entries.len(), if entries.len() == 1 { "y" } else { "ies" });
            let damaged = journal.damaged().await.map_err(|e| format!("{shown}: {e}"))?;
            if !damaged.is_empty() {
                eprintln!("and {} damaged record(s) that may be money moves in doubt: see `vandar journal ... damaged`", damaged.len());
                return Ok(ExitCode::from(3));
            }
            Ok(ExitCode::SUCCESS)
        }
        Action::Damaged { json } => {
            let damaged = journal.damaged().await.map_err(|e| format!("{shown}: {e}"))?;
            for record in &damaged {
                if json {
                    println!("{}", serde_json::to_string(record).map_err(|e| e.to_string())?);
                } else {
                    println!("{}", masked(&record.to_string()));
                }
            }
            eprintln!("{} damaged record(s) in {shown}", damaged.len());
            Ok(if damaged.is_empty() { ExitCode::SUCCESS } else { ExitCode::from(3) })
        }
        Action::Show { key } => {
            let entry = journal.get(&key).await.map_err(|e| format!("{shown}: {e}"))?;
            let Some(entry) = entry else { return Err(format!("{shown} holds no entry {key:?}")) };
            let mut shown_entry = serde_json::to_value(&entry).map_err(|e| e.to_string())?;
            shown_entry["state"] = serde_json::to_value(entry.state()).map_err(|e| e.to_string())?;
            println!("{}", masked(&serde_json::to_string_pretty(&shown_entry).expect("serializes")));
            Ok(ExitCode::SUCCESS)
        }
        Action::Recover { tokens_file, tokens_redis, tokens_prefix, min_age, json } => {
            let client = recovering_client(journal, tokens_file, tokens_redis, &tokens_prefix, min_age)?;
            let report = client.recover().await.map_err(|e| e.to_string())?;
            if json {
                println!("{}", masked(&serde_json::to_string(&report).expect("serializes")));
            } else {
                for settled in &report.settled {
                    println!("settled     {:<40} {}", settled.entry.intent.key, masked(&describe(&settled.outcome)));
                }
                for still in &report.still_open {
                    println!("still open  {:<40} {}", still.entry.intent.key, masked(&still.looked_up));
                }
                for skipped in &report.skipped {
                    println!("skipped     {:<40} {:?}: {}", skipped.key, skipped.why, skipped.why);
                }
                for damaged in &report.damaged {
                    println!("damaged     {}", masked(&damaged.to_string()));
                }
            }
            eprintln!(
                "{} settled, {} still open, {} skipped, {} damaged",
                report.settled.len(),
                report.still_open.len(),
                report.skipped.len(),
                report.damaged.len()
            );
            // Open entries or damaged records left: a non-zero exit so a script or a pager notices.
            Ok(if report.still_open.is_empty() && report.damaged.is_empty() { ExitCode::SUCCESS } else { ExitCode::from(3) })
        }
        Action::Close { key, reason } => {
            let reason = reason.trim().to_string();
            if reason.is_empty() {
                return Err("--reason must say why (who checked what in the dashboard)".into());
            }
            let Some(entry) = journal.get(&key).await.map_err(|e| format!("{shown}: {e}"))? else {
                return Err(format!("{shown} holds no entry {key:?}"));
            };
            if !entry.is_open() {
                return Err(format!("{key} is closed already: {}", masked(&describe(entry.outcome.as_ref().expect("closed")))));
            }
            // Not while a recovery works on it: the lease is the one recovery takes.
            let holder = format!("operator:{}", std::process::id());
            if !journal.lease(&key, &holder, Duration::from_secs(60)).await.map_err(|e| format!("{shown}: {e}"))? {
                return Err(format!("a recovery holds {key} now; try again in a minute"));
            }
            let outcome = Outcome::ClosedByHand { reason };
            journal.update(&key, &outcome).await.map_err(|e| format!("{shown}: {e}"))?;
            println!("closed {key}: {}", masked(&describe(&outcome)));
            Ok(ExitCode::SUCCESS)
        }
    }
}

async fn open(at: &JournalAt) -> Result<Arc<dyn Journal>, String> {
    let named = [at.file.is_some(), at.redis.is_some(), at.postgres.is_some()].iter().filter(|n| **n).count();
    if named != 1 {
        return Err("name exactly one journal: --file PATH, --redis URL or --postgres URL".into());
    }
    if let Some(path) = &at.file {
        if !path.exists() {
            return Err(format!("no journal at {}", path.display()));
        }
        return vandar::journal::FileJournal::open(path).map(|j| Arc::new(j) as Arc<dyn Journal>).map_err(|e| e.to_string());
    }
    if let Some(url) = &at.redis {
        #[cfg(feature = "redis")]
        return vandar::journal::RedisJournal::new(url, &at.prefix).map(|j| Arc::new(j) as Arc<dyn Journal>).map_err(|e| e.to_string());
        #[cfg(not(feature = "redis"))]
        return Err(format!("--redis {url}: this vandar was built without the `redis` feature"));
    }
    if let Some(url) = &at.postgres {
        #[cfg(feature = "postgres")]
        return vandar::journal::PostgresJournal::connect(url).await.map(|j| Arc::new(j) as Arc<dyn Journal>).map_err(|e| e.to_string());
        #[cfg(not(feature = "postgres"))]
        return Err(format!("--postgres {}: this vandar was built without the `postgres` feature", mask_url(url)));
    }
    unreachable!("exactly one is named")
}

/// A Client for recovery from the environment, on the application's token store.
fn recovering_client(
    journal: Arc<dyn Journal>,
    tokens_file: Option<std::path::PathBuf>,
    tokens_redis: Option<String>,
    tokens_prefix: &str,
    min_age: u64,
) -> Result<vandar::Client, String> {
    let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    let business = var("VANDAR_BUSINESS").ok_or("VANDAR_BUSINESS is not set (the business slug the entries were sent under)")?;
    let mut builder = vandar::Client::builder().business(business);
    match (var("VANDAR_ACCESS_TOKEN"), var("VANDAR_REFRESH_TOKEN")) {
        (Some(access), Some(refresh)) => builder = builder.business_tokens(vandar::TokenPair::new(access, refresh, None)),
        (None, None) => {}
        _ => return Err("set both VANDAR_ACCESS_TOKEN and VANDAR_REFRESH_TOKEN, or neither".into()),
    }
    match (tokens_file, tokens_redis) {
        (Some(path), _) => builder = builder.token_store(vandar::auth::FileTokenStore::new(path)),
        (None, Some(url)) => {
            #[cfg(feature = "redis")]
            {
                builder = builder.token_store(vandar::auth::RedisTokenStore::new(&url, tokens_prefix).map_err(|e| e.to_string())?);
            }
            #[cfg(not(feature = "redis"))]
            return Err(format!("--tokens-redis {}: this vandar was built without the `redis` feature", mask_url(&url)));
        }
        (None, None) => {
            return Err("recovery renews the business token when it must: name the application's token store \
                        (--tokens-file or --tokens-redis), or a renewal here spends the refresh token the fleet holds"
                .into())
        }
    }
    let _ = tokens_prefix;
    if let Some(key) = var("VANDAR_IPG_API_KEY") {
        builder = builder.ipg_api_key(key);
    }
    // Base URLs, for a staging gateway or a test against vandar-mock.
    use vandar::Host;
    for (host, name) in [(Host::Api, "VANDAR_API_URL"), (Host::Ipg, "VANDAR_IPG_URL"), (Host::Batch, "VANDAR_BATCH_URL"), (Host::Subscription, "VANDAR_SUBSCRIPTION_URL")] {
        if let Some(url) = var(name) {
            builder = builder.base_url(host, url);
        }
    }
    let options = RecoveryOptions::default().min_age(Duration::from_secs(min_age));
    builder.journal(journal).recovery(options).build().map_err(|e| e.to_string())
}

#[derive(serde::Serialize)]
struct Summary<'a> {
    key: &'a str,
    kind: String,
    operation: &'a str,
    state: EntryState,
    age_secs: u64,
    amount: Option<i64>,
    unit: Option<&'a str>,
    destination: Option<String>,
    business: Option<&'a str>,
    outcome: Option<String>,
}

fn summary(entry: &Entry) -> Summary<'_> {
    let intent = &entry.intent;
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default().as_millis() as u64;
    Summary {
        key: &intent.key,
        kind: serde_json::to_value(intent.kind).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default(),
        operation: &intent.operation,
        state: entry.state(),
        age_secs: now.saturating_sub(intent.created_at_ms) / 1000,
        amount: intent.amount,
        unit: intent.unit.as_deref(),
        destination: intent.destination.as_deref().map(mask_personal_data),
        business: intent.target.as_ref().and_then(|t| t.business.as_deref()),
        outcome: entry.outcome.as_ref().map(|o| masked(&describe(o))),
    }
}

fn row(entry: &Entry) -> String {
    let s = summary(entry);
    let state = serde_json::to_value(s.state).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default();
    let amount = s.amount.map(|a| format!("{a} {}", s.unit.unwrap_or(""))).unwrap_or_default();
    format!(
        "{:<40} {:<8} {:<24} {:<10} {:>8}s {:>16}  {:<16} {}",
        s.key,
        s.kind,
        s.operation,
        state,
        s.age_secs,
        amount,
        s.business.unwrap_or("-"),
        s.outcome.unwrap_or_else(|| "-".into())
    )
}

/// An outcome in one line: its kind and what it says.
fn describe(outcome: &Outcome) -> String {
    let detail = serde_json::to_value(outcome).ok().map(|v| v.to_string()).unwrap_or_default();
    format!("{} {detail}", outcome.kind())
}

fn masked(text: &str) -> String {
    mask_personal_data(text)
}

/// A URL without its password.
#[allow(dead_code)]
fn mask_url(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) if parsed.password().is_some() => {
            let _ = parsed.set_password(Some("***"));
            parsed.to_string()
        }
        _ => url.to_string(),
    }
}
