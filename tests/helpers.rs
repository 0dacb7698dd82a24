//! Payment helpers: IPG callback and card hash, typed amounts, Jalali dates (Miando webhooks: tests/webhook.rs).
use chrono::NaiveDate;
use proptest::prelude::*;
use sha2::Digest;
use vandar::dates::JalaliDate;
use vandar::enums::IpgPaymentStatus;
use vandar::money::{Rials, Tomans};
use vandar::inbound::Callback;
use vandar::money::cid_matches;
use vandar::Error;

#[test]
fn the_callback_is_read_from_a_query_or_a_url() {
    let paid = Callback::parse("https://shop.example/cb?order=7&token=ABC123&payment_status=OK").unwrap();
    assert_eq!(paid, Callback { token: "ABC123".into(), payment_status: IpgPaymentStatus::Ok });
    assert!(paid.says_paid());
    let failed = Callback::parse("?token=ABC123&payment_status=FAILED").unwrap();
    assert!(!failed.says_paid());
    let novel = Callback::parse("token=T&payment_status=REVERSED").unwrap();
    assert_eq!(novel.payment_status, IpgPaymentStatus::Unknown("REVERSED".into()));
    assert!(!novel.says_paid(), "only OK counts as paid");
}

#[test]
fn a_callback_without_its_fields_is_refused() {
    for bad in ["", "?", "payment_status=OK", "token=&payment_status=OK", "token=T", "https://shop.example/cb", "token=T&payment_status="] {
        let error = Callback::parse(bad).unwrap_err();
        assert!(matches!(error, Error::InvalidInput { field: Some(_), .. }), "{bad:?}: {error:?}");
    }
    // Percent-encoded values are decoded, repeated keys take the last value, junk is ignored.
    let odd = Callback::parse("token=A%2FB&payment_status=FAILED&payment_status=OK&x=%FF").unwrap();
    assert_eq!((odd.token.as_str(), odd.says_paid()), ("A/B", true));
}

#[test]
fn the_card_hash_matches_only_its_card() {
    let card = "6037991234567893";
    let cid: String = sha2::Sha256::digest(card.as_bytes()).iter().map(|b| format!("{b:02X}")).collect();
    assert!(cid_matches(card, &cid), "upper-case hex, as Vandar sends it");
    assert!(cid_matches("۶۰۳۷-۹۹۱۲-۳۴۵۶-۷۸۹۳", &cid.to_lowercase()), "Persian digits and separators");
    assert!(!cid_matches("6037991234567885", &cid));
    assert!(!cid_matches(card, &cid[..63]));
    assert!(!cid_matches(card, ""));
    assert!(!cid_matches("", &cid));
}

#[test]
fn rials_and_tomans_convert_only_explicitly() {
    assert_eq!(Rials::from(Tomans(5_000)), Rials(50_000));
    assert_eq!(Rials(50_009).whole_tomans(), Tomans(5_000));
    assert_eq!(format!("{} = {}", Tomans(5), Rials::from(Tomans(5))), "5 Tomans = 50 Rials");
}

#[test]
fn jalali_dates_in_vandars_forms_convert_both_ways() {
    let cases = [
        ("14000102", (2021, 3, 22)),
        ("1400/08/08", (2021, 10, 30)),
        ("17:46:57 - 1401/3/7", (2022, 5, 28)),
        ("1400/04/04 14:47:09", (2021, 6, 25)),
        ("۱۳۷۰۰۵۰۲", (1991, 7, 24)),
        ("1403/12/30", (2025, 3, 20)), // 1403 is a leap year
    ];
    for (text, (y, m, d)) in cases {
        let date: JalaliDate = text.parse().unwrap_or_else(|e| panic!("{text}: {e}"));
        assert_eq!(date.to_gregorian(), NaiveDate::from_ymd_opt(y, m, d).unwrap(), "{text}");
        assert_eq!(JalaliDate::from_gregorian(date.to_gregorian()), Ok(date));
    }
    for bad in ["", "1400/13/01", "1402/12/30", "14001", "abcd/ef/gh", "13:53 -", "1400/1/1/1", "99999999999"] {
        assert!(bad.parse::<JalaliDate>().is_err(), "{bad}");
    }
}

proptest! {
    #[test]
    fn every_gregorian_day_round_trips_through_jalali(days in 0i64..60_000) {
        let day = NaiveDate::from_ymd_opt(1950, 1, 1).unwrap() + chrono::Duration::days(days);
        let jalali = JalaliDate::from_gregorian(day).unwrap();
        prop_assert_eq!(jalali.to_gregorian(), day);
        prop_assert_eq!(jalali.compact().parse::<JalaliDate>().unwrap(), jalali);
        prop_assert_eq!(jalali.to_string().parse::<JalaliDate>().unwrap(), jalali);
    }
}

#[cfg(feature = "mock")]
#[tokio::test]
async fn start_payment_takes_rials_and_returns_the_payment_page() {
    let mock = vandar::mock::MockVandar::start().await.unwrap();
    let vandar = mock.client_builder().build().unwrap();
    let started = vandar.start_payment(Rials::from(Tomans(2_500)), "https://shop.example/cb").await.unwrap();
    assert_eq!(started.payment_page, vandar::extras::redirects::ipg_payment_page(&vandar, &started.token));
    let transaction = vandar.ipg().ipg_transaction().body_map(|b| b.token(started.token.clone())).send().await.unwrap();
    assert_eq!(transaction.amount, Some(Rials(25_000)), "2,500 Tomans went out as 25,000 Rials");
    let too_small = vandar.start_payment(Rials(999), "https://shop.example/cb").await.unwrap_err();
    assert!(matches!(too_small, Error::InvalidInput { field: Some(f), .. } if f == "amount"));
}
