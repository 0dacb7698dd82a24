//! Crash-safe money: a payout whose answer never came back and a payment whose callback never
//! came, both settled after a (simulated) restart by `Client::recover`. Against the embedded mock:
//! no credentials, no network.
//!
//!     cargo run --example recover --features mock
//!
//! 1. the client writes every money move's intent to its journal before the request leaves;
//! 2. a payout is sent, and the process "dies" before the answer arrives (its future is dropped
//!    mid-flight, as a SIGKILL or a deploy would end it): the journal holds the intent, open;
//! 3. a payer pays, and the callback never reaches the shop (the tab was closed);
//! 4. a new process starts with the same journal and runs `recover()`: the payout is found by its
//!    track id (reconciled, never sent again) and the payment is verified, once.
use std::time::Duration;

use vandar::api::types::builder::SettlementStoreRequest;
use vandar::journal::{FileJournal, Outcome};
use vandar::money::RecoveryOptions;
use vandar::mock::{Fault, MockVandar};
use vandar::money::{Rials, Tomans};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mock = MockVandar::start().await?;
    let folder = tempfile_folder()?;
    let journal_path = folder.join("vandar.journal");
    // For the demonstration, recovery may touch entries of any age (the defaults leave alone what
    // a living process may still be sending, and payers still on the payment page).
    let recovery = RecoveryOptions::default().min_age(Duration::ZERO).payments_after(Duration::ZERO);

    // 1.-3. The first process.
    {
        let vandar = mock.client_builder().journal(FileJournal::open(&journal_path)?).recovery(recovery.clone()).build()?;
        // 2. Vandar carries the payout out but answers late; the process ends before the answer.
        mock.inject(Fault::Latency(Duration::from_secs(2)));
        let payout = SettlementStoreRequest::default().amount(Tomans(5_000)).iban("IR330120020000002353697200").track_id("payout-2024-001");
        let died = tokio::time::timeout(Duration::from_millis(300), vandar.settlement_store(payout)).await;
        println!("2. settlement_store payout-2024-001 -> the process died first ({})", if died.is_err() { "no answer" } else { "answered?" });

        // 3. A payment the payer pays; the callback never arrives, so verify is never called.
        let payment = vandar.start_payment_with(Rials(250_000), "https://shop.example/cb", |b| b.factor_number("ORDER-1002")).await?;
        mock.pay(&payment.payment_page)?; // the payer pays; the browser's way back to the callback is lost
        println!("3. payment {} (ORDER-1002) paid by the payer; the callback was lost", payment.token);
    } // the process is gone: nothing of it survives but the journal

    // 4. The restart: a new client on the same journal.
    let vandar = mock.client_builder().journal(FileJournal::open(&journal_path)?).recovery(recovery).build()?;
    let report = vandar.recover().await?;
    for settled in &report.settled {
        let intent = &settled.entry.intent;
        match &settled.outcome {
            Outcome::Reconciled { found } => println!("4. {} {} -> reconciled ({found}): Vandar carried it out; not sent again", intent.operation, intent.key),
            Outcome::ProvenNotSent { looked_up } => println!("4. {} {} -> proven not sent ({looked_up}): decide whether to send it again", intent.operation, intent.key),
            Outcome::Paid { amount, card, .. } => println!(
                "4. payment for {} -> paid {amount} Rials by card {}: verified now, ship the order",
                intent.reference.as_deref().unwrap_or("?"),
                card.as_deref().unwrap_or("?")
            ),
            other => println!("4. {} {} -> {}", intent.operation, intent.key, other.kind()),
        }
    }
    for open in &report.still_open {
        println!("   still open: {} {} ({})", open.entry.intent.operation, open.entry.intent.key, open.looked_up);
    }
    assert_eq!((report.settled.len(), report.still_open.len()), (2, 0), "both recovered: {report:?}");
    let again = vandar.recover().await?;
    println!("   recover again -> {} settled, {} open: nothing left", again.settled.len(), again.still_open.len());
    std::fs::remove_dir_all(folder)?;
    Ok(())
}

/// A fresh folder under the system's temporary one.
fn tempfile_folder() -> std::io::Result<std::path::PathBuf> {
    let folder = std::env::temp_dir().join(format!("vandar-recover-{}", std::process::id()));
    std::fs::create_dir_all(&folder)?;
    Ok(folder)
}
