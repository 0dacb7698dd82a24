//! Pay out from the wallet to an IBAN, list, and cancel, against the embedded mock Vandar.
//!
//!     cargo run --example settlement --features mock
use vandar::money::Tomans;
use vandar::api::types::SettlementStoreRequest;
use vandar::mock::MockVandar;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mock = MockVandar::start().await?;
    let vandar = mock.client_builder().build()?;
    let business = vandar.business()?;

    let balance = vandar.api().balance().business(business).send().await?;
    println!("balance           -> {:?} Tomans", balance.data.wallet);

    // settlement_store takes Tomans. No track_id given: the client makes one and returns it.
    let stored = vandar.settlement_store(SettlementStoreRequest::builder().amount(Tomans(120_000)).iban("IR330120020000002353697200")).await?;
    println!("settlement_store  -> track_id {}", stored.track_id());
    let vandar::tracked::Tracked::Answered { answer, .. } = stored else { unreachable!("the mock answered") };
    let record = &answer.data.settlement[0];
    println!("                     {} Rials ({} Tomans), {:?}", record.amount.0, record.amount_toman.unwrap_or_default().0, record.status);

    let list = vandar.api().settlement_list().business(business).send().await?;
    let page = &list.data.settlements;
    println!("settlement_list   -> {} settlement(s)", page.data.len());

    let transaction_id = record.transaction_id;
    let canceled = vandar.api().settlement_cancel().business(business).settlement_id(transaction_id).send().await?;
    println!("settlement_cancel -> {}", canceled.message.as_deref().unwrap_or(""));

    let balance = vandar.api().balance().business(business).send().await?;
    println!("balance           -> {:?} Tomans (the amount came back)", balance.data.wallet);
    Ok(())
}
