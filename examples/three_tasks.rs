//! Three everyday tasks, each the shortest correct code with this crate: a checkout, a payout with
//! the latest 50 settlements, and the balance; against the embedded mock Vandar.
//!
//!     cargo run --example three_tasks --features mock
use futures::{StreamExt, TryStreamExt};
use vandar::api::types::SettlementStoreRequest;
use vandar::mock::MockVandar;
use vandar::money::{Rials, Tomans};

/// Checkout, part 1: registers the payment; the payer's browser goes to the returned page.
async fn checkout_start(vandar: &vandar::Client) -> Result<String, vandar::Error> {
    let payment = vandar
        .start_payment_with(Rials(250_000), "https://shop.example/callback", |b| b.factor_number("1001").description("Order 1001"))
        .await?;
    Ok(payment.payment_page)
}

/// Checkout, part 2: on the payer's return to the callback URL, verifies the payment for the amount.
async fn checkout_callback(vandar: &vandar::Client, callback_url: &str) -> Result<bool, vandar::Error> {
    let back = vandar::inbound::Callback::parse(callback_url)?;
    Ok(vandar.verify_payment(&back.token, Rials(250_000)).await?.is_paid())
}

/// Pays 6,000 Tomans out to an IBAN, then reads the latest 50 settlements.
async fn pay_out_and_list(vandar: &vandar::Client) -> Result<usize, vandar::Error> {
    let payout = SettlementStoreRequest::builder().amount(Tomans(6_000)).iban("IR330120020000002353697200").description("rent");
    vandar.settlement_store(payout).await?;
    let latest: Vec<_> = vandar.api().settlement_list().per_page(25).items().take(50).try_collect().await?;
    Ok(latest.len())
}

/// The business wallet.
async fn balance(vandar: &vandar::Client) -> Result<Tomans, vandar::Error> {
    Ok(vandar.api().balance().send().await?.data.wallet)
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mock = MockVandar::start().await?;
    let vandar = mock.client_builder().build()?;

    // The payer's browser opens the payment page, pays, and returns to the callback URL.
    let page = checkout_start(&vandar).await?;
    let callback_url = mock.pay(&page)?;
    println!("checkout         -> paid: {}", checkout_callback(&vandar, &callback_url).await?);

    for _ in 0..60 {
        vandar.settlement_store(SettlementStoreRequest::builder().amount(Tomans(5_000)).iban("IR330120020000002353697200")).await?;
    }
    println!("pay out and list -> {} settlements", pay_out_and_list(&vandar).await?);
    println!("balance          -> {}", balance(&vandar).await?);
    Ok(())
}
