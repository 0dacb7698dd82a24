//! Pay out from the wallet to an IBAN, list the latest settlements, cancel one, against the
//! embedded mock Vandar: the three tasks of a payout back office.
//!
//!     cargo run --example settlement --features mock
use futures::{StreamExt, TryStreamExt};
use vandar::api::types::SettlementStoreRequest;
use vandar::mock::MockVandar;
use vandar::money::{Rials, Tomans};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mock = MockVandar::start().await?;
    let vandar = mock.client_builder().build()?;

    // Read the balance: the business slug comes from the Client, the wallet is typed Tomans.
    let wallet: Tomans = vandar.api().balance().send().await?.data.wallet;
    println!("balance           -> {wallet} ({})", Rials::from(wallet));

    // Pay out. settlement_store takes Tomans; the client makes the track_id and reconciles a lost answer.
    let payout = SettlementStoreRequest::builder().amount(Tomans(120_000)).iban("IR330120020000002353697200").description("rent");
    let stored = vandar.settlement_store(payout).await?;
    println!("settlement_store  -> track_id {}", stored.track_id());
    let vandar::money::Tracked::Answered { answer, .. } = stored else { unreachable!("the mock answered") };
    let record = &answer.data.settlement[0];
    println!("                     {} ({:?}), {:?}", record.amount, record.amount_toman, record.status);

    // The latest 50 settlements, newest first, fetched page by page as the stream is read.
    let latest: Vec<_> = vandar.api().settlement_list().per_page(25).items().take(50).try_collect().await?;
    println!("settlement_list   -> {} settlement(s)", latest.len());

    let canceled = vandar.api().settlement_cancel().transaction_id(record.transaction_id).send().await?;
    println!("settlement_cancel -> {}", canceled.message.as_deref().unwrap_or(""));

    let wallet = vandar.api().balance().send().await?.data.wallet;
    println!("balance           -> {wallet} (the amount came back)");
    Ok(())
}
