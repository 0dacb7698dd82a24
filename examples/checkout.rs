//! A whole IPG checkout against the embedded mock Vandar: no credentials, no network.
//!
//!     cargo run --example checkout --features mock
//!
//! 1. register the payment (`start_payment`, a typed amount) and get its token and payment page;
//! 2. send the payer's browser to the payment page; Vandar sends it back to your callback_url,
//!    which you read with `Callback::parse`;
//! 3. read the transaction (optional: e.g. compare the card hash);
//! 4. verify it with `verify_payment`, which never settles twice and never reports a payment
//!    paid without proof.
use vandar::mock::MockVandar;
use vandar::money::{Rials, Tomans};
use vandar::inbound::Callback;
use vandar::money::VerifyOutcome;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mock = MockVandar::start().await?;
    let vandar = mock.client_builder().build()?;

    // 1. Register the payment: 2,500 Tomans = 25,000 Rials. The client adds the api_key.
    let order_total = Rials::from(Tomans(2_500));
    let payment = vandar
        .start_payment_with(order_total, "https://shop.example/checkout/callback", |b| b.factor_number("ORDER-1001"))
        .await?;
    println!("1. start_payment   -> token {}", payment.token);

    // 2. The payer's browser opens the payment page; after paying it returns to the callback. The mock
    //    plays the payer (`decline` and `abandon` play the others): no HTTP client of your own.
    println!("2. payment page    -> {}", payment.payment_page);
    let location = mock.pay(&payment.payment_page)?;
    println!("   callback        <- {location}");
    let callback = Callback::parse(&location)?;
    if !callback.says_paid() {
        println!("   the payer did not pay; nothing to verify");
        return Ok(());
    }

    // 3. Optional: read the transaction before verifying it.
    let transaction = vandar.ipg().ipg_transaction().body_map(|b| b.token(callback.token.clone())).send().await?;
    println!(
        "3. ipg_transaction -> {}, card {}, {}",
        transaction.amount.map_or("?".to_string(), |a| a.to_string()),
        transaction.card_number.as_deref().unwrap_or("?"),
        transaction.message.as_deref().unwrap_or("")
    );

    // 4. Verify, stating what the order costs. Safe to call again (a reloaded callback).
    match vandar.verify_payment(&callback.token, order_total).await? {
        VerifyOutcome::Verified(v) => println!(
            "4. verify_payment  -> verified: {} Rials paid, {} Rials to your wallet (transId {})",
            v.amount.0,
            v.real_amount.map_or(0, |r| r.0),
            v.trans_id.unwrap_or_default()
        ),
        other => println!("4. verify_payment  -> {other:?}"),
    }
    let again = vandar.verify_payment(&callback.token, order_total).await?;
    println!("   verify again    -> paid {}: {again:?} (the lookup shows it verified; not settled twice)", again.is_paid());
    println!("   wallet          -> {} Rials", mock.wallet_rials());
    Ok(())
}
