//! Direct debit against the embedded mock Vandar: authorize a user's account once, then withdraw
//! from it, safely.
//!
//!     cargo run --example subscription --features mock
use vandar::money::Rials;

use vandar::api::types::WithdrawalStoreRequest;
use vandar::mock::MockVandar;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mock = MockVandar::start().await?;
    let vandar = mock.client_builder().build()?;
    let api = vandar.api();

    let banks = api.subscription_banks_actives().send().await?;
    let bank = banks.result.and_then(|r| r.banks.into_iter().next()).expect("a bank");
    println!("1. active bank          -> {} ({})", bank.name.unwrap_or_default(), bank.code.clone().unwrap_or_default());

    // The mandate: at most 10 withdrawals a month, each at most 500,000 Rials.
    let stored = api
        .authorization_store()
        .body_map(|b| {
            b.bank_code(bank.code.clone().unwrap_or_default())
                .mobile("09123456789")
                .callback_url("https://shop.example/mandate/callback")
                .count(10)
                .limit(Rials(500_000))
                .expiration_date(chrono::NaiveDate::from_ymd_opt(2030, 1, 1).unwrap())
        })
        .send()
        .await?;
    let token = stored.result.and_then(|r| r.authorization).and_then(|a| a.token).expect("a token");
    let page = vandar::extras::redirects::authorization_page(&vandar, &token);
    println!("2. authorization_store  -> send the user to {page}");

    // The user approves at the bank and comes back with the authorization id.
    let browser = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build()?;
    let back = browser.get(&page).send().await?;
    let callback = url::Url::parse(back.headers()["location"].to_str()?)?;
    let id: uuid::Uuid = callback.query_pairs().find(|(k, _)| k == "authorization_id").map(|(_, v)| v.parse()).transpose()?.expect("an id");
    println!("3. bank approved        <- {callback}");
    api.authorization_verify().authorization_id(id).send().await?;
    println!("4. authorization_verify -> active");

    // Withdraw: the client fills in a track_id, and would reconcile a lost answer through it.
    let withdrawal = vandar.withdrawal_store(WithdrawalStoreRequest::builder().authorization_id(id).amount(Rials(120_000))).await?;
    println!("5. withdrawal_store     -> track_id {}", withdrawal.track_id());
    let found = api.withdrawal_show_by_track_id().track_id(withdrawal.track_id()).send().await?;
    let status = found.result.and_then(|r| r.withdrawal).and_then(|w| w.status);
    println!("6. by track_id          -> {status:?}");
    Ok(())
}
