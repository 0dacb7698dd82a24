//! A whole IPG checkout against the embedded mock Vandar: no credentials, no network.
//!
//!     cargo run --example checkout --features mock
//!
//! 1. register the payment (ipg_send) and get its token;
//! 2. send the payer's browser to the payment page; Vandar sends it back to your callback_url;
//! 3. read the transaction (optional: e.g. compare the card hash);
//! 4. verify it with `verify_payment`, which never verifies twice and never loses a paid order.
use vandar::mock::MockVandar;
use vandar::money::Rials;
use vandar::VerifyOutcome;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mock = MockVandar::start().await?;
    let vandar = mock.client_builder().build()?;

    // 1. Register the payment: 25,000 Rials. The client adds the api_key to the body.
    let sent = vandar
        .ipg()
        .ipg_send()
        .body_map(|b| {
            b.amount(25_000)
                .callback_url("https://shop.example/checkout/callback")
                .factor_number(Some("ORDER-1001".to_string()))
        })
        .send()
        .await?;
    println!("1. ipg_send        -> token {}", sent.token);

    // 2. The payer's browser opens the payment page; after paying it returns to the callback.
    let page = vandar::redirects::ipg_payment_page(&vandar, &sent.token);
    println!("2. payment page    -> {page}");
    let browser = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build()?;
    let back = browser.get(&page).send().await?;
    let location = back.headers()["location"].to_str()?.to_string();
    println!("   callback        <- {location}");
    let callback = url::Url::parse(&location)?;
    let status = callback.query_pairs().find(|(k, _)| k == "payment_status").map(|(_, v)| v.into_owned());
    if status.as_deref() != Some("OK") {
        println!("   the payer did not pay; nothing to verify");
        return Ok(());
    }

    // 3. Optional: read the transaction before verifying it.
    let transaction = vandar.ipg().ipg_transaction().body_map(|b| b.token(sent.token.clone())).send().await?;
    println!(
        "3. ipg_transaction -> {} Rials, card {}, {}",
        transaction.amount.as_deref().unwrap_or("?"),
        transaction.card_number.as_deref().unwrap_or("?"),
        transaction.message.as_deref().unwrap_or("")
    );

    // 4. Verify. Safe to call again: a second call reads the true state instead of failing.
    let order_total = Rials(25_000);
    match vandar.verify_payment(&sent.token, order_total).await? {
        VerifyOutcome::Verified(v) => println!(
            "4. verify_payment  -> verified: {} Rials paid, {} Rials to your wallet (transId {})",
            v.amount.0,
            v.real_amount.map_or(0, |r| r.0),
            v.trans_id.unwrap_or_default()
        ),
        other => println!("4. verify_payment  -> {other:?}"),
    }
    let again = vandar.verify_payment(&sent.token, order_total).await?;
    println!("   verify again    -> {again:?}: paid {} (the lookup shows it verified; not settled twice)", again.is_paid());
    println!("   wallet          -> {} Rials", mock.wallet_rials());
    Ok(())
}
