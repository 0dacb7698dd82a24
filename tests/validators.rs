//! Iranian identifier validators: known-good and known-bad cases, property tests, adversarial
//! input, and the Client refusing a bad identifier before anything is sent.
mod support;

use vandar::money::Tomans;
use proptest::prelude::*;
use vandar::validate::{self, IdKind};

fn persian(ascii: &str) -> String {
    ascii.chars().map(|c| if c.is_ascii_digit() { char::from_u32('۰' as u32 + (c as u32 - '0' as u32)).unwrap() } else { c }).collect()
}

fn arabic_indic(ascii: &str) -> String {
    ascii.chars().map(|c| if c.is_ascii_digit() { char::from_u32('٠' as u32 + (c as u32 - '0' as u32)).unwrap() } else { c }).collect()
}

/// IBAN check digits computed independently (big-integer arithmetic by hand, on the IR country code).
fn with_check_digits(bban: &str) -> String {
    let rearranged = format!("{bban}182700");
    let remainder = rearranged.bytes().fold(0u64, |r, b| (r * 10 + u64::from(b - b'0')) % 97);
    format!("IR{:02}{bban}", 98 - remainder)
}

fn national_check(nine: &str) -> String {
    let sum: u32 = nine.bytes().enumerate().map(|(i, b)| u32::from(b - b'0') * (10 - i as u32)).sum();
    let r = sum % 11;
    format!("{nine}{}", if r < 2 { r } else { 11 - r })
}

fn luhn_complete(fifteen: &str) -> String {
    (0..10).map(|d| format!("{fifteen}{d}")).find(|c| validate::card_number(c).is_ok()).unwrap()
}

#[test]
fn known_good_and_known_bad_identifiers() {
    assert_eq!(validate::iban("IR330120020000002353697200").unwrap(), "IR330120020000002353697200");
    assert_eq!(validate::iban("IR062960000000100324200001").unwrap(), "IR062960000000100324200001");
    // The documents' example IBAN is a placeholder: right shape, wrong check digits.
    assert_eq!(validate::iban("IR670120020000002353697200").unwrap_err().kind, IdKind::Iban);
    assert!(validate::iban("IR33012002000000235369720").is_err(), "23 digits");
    assert!(validate::iban("DE89370400440532013000").is_err(), "not Iranian");

    assert!(validate::national_code("0013542419").is_ok());
    assert!(validate::national_code("1271234567").is_err(), "the documents' example");
    assert!(validate::national_code("1111111111").is_err(), "one repeated digit passes the sum but is refused");
    assert!(validate::national_code("001354241").is_err());

    assert_eq!(validate::mobile("09123456789").unwrap(), "09123456789");
    assert_eq!(validate::mobile("+989123456789").unwrap(), "09123456789");
    assert_eq!(validate::mobile("00989123456789").unwrap(), "09123456789");
    assert_eq!(validate::mobile("۰۹۱۲-۳۴۵-۶۷۸۹").unwrap(), "09123456789");
    assert!(validate::mobile("08123456789").is_err(), "landline prefix");
    assert!(validate::mobile("+449123456789").is_err(), "another country");

    assert!(validate::card_number("6037991234567893").is_ok());
    assert!(validate::card_number("6037 9912 3456 7890").is_err(), "Luhn");
    assert!(validate::card_number("603799123456789").is_err(), "15 digits");
}

#[test]
fn adversarial_input_is_refused_without_panicking() {
    for text in ["", "IR", "ir", "+", "00", "۰", "IR\u{0}", "𝟘𝟙𝟚", "IR-------------------------", &"9".repeat(10_000), "IR٠٠", "\u{200c}"] {
        let _ = validate::iban(text);
        let _ = validate::national_code(text);
        let _ = validate::mobile(text);
        let _ = validate::card_number(text);
    }
    assert!(validate::mobile("0098").is_err());
    assert!(validate::iban("IR𝟘𝟙").is_err(), "mathematical digits are not digits");
}

proptest! {
    #[test]
    fn every_iban_with_its_check_digits_passes_and_any_changed_digit_fails(bban in "[0-9]{22}", at in 0usize..24, bump in 1u8..10) {
        let iban = with_check_digits(&bban);
        prop_assert_eq!(validate::iban(&iban).unwrap(), iban.clone());
        prop_assert_eq!(validate::iban(&persian(&iban)).unwrap(), iban.clone());
        prop_assert_eq!(validate::iban(&arabic_indic(&iban.to_lowercase())).unwrap(), iban.clone());
        // mod 97 catches every single-digit error
        let mut bytes = iban.into_bytes();
        bytes[2 + at] = b'0' + (bytes[2 + at] - b'0' + bump) % 10;
        prop_assert!(validate::iban(std::str::from_utf8(&bytes).unwrap()).is_err());
    }

    #[test]
    fn national_codes_with_their_check_digit_pass_and_others_fail(nine in "[0-9]{9}", wrong in 1u32..10) {
        let code = national_check(&nine);
        prop_assume!(!code.bytes().all(|b| b == code.as_bytes()[0]));
        prop_assert!(validate::national_code(&code).is_ok());
        prop_assert!(validate::national_code(&persian(&code)).is_ok());
        let last = code.as_bytes()[9] - b'0';
        let bad = format!("{}{}", &nine, (u32::from(last) + wrong) % 10);
        prop_assert!(validate::national_code(&bad).is_err());
    }

    #[test]
    fn mobiles_normalize_from_every_prefix(rest in "9[0-9]{9}") {
        let expected = format!("0{rest}");
        for form in [format!("0{rest}"), format!("+98{rest}"), format!("0098{rest}"), format!("98{rest}"), persian(&format!("+98 {rest}"))] {
            prop_assert_eq!(validate::mobile(&form).unwrap(), expected.clone());
        }
    }

    #[test]
    fn luhn_complete_cards_pass_and_any_changed_digit_fails(fifteen in "[0-9]{15}", at in 0usize..16, bump in 1u8..10) {
        let card = luhn_complete(&fifteen);
        prop_assert!(validate::card_number(&arabic_indic(&card)).is_ok());
        let mut bytes = card.into_bytes();
        bytes[at] = b'0' + (bytes[at] - b'0' + bump) % 10;
        prop_assert!(validate::card_number(std::str::from_utf8(&bytes).unwrap()).is_err());
    }

    #[test]
    fn no_input_makes_a_validator_panic(text in "\\PC{0,40}") {
        let _ = (validate::iban(&text), validate::national_code(&text), validate::mobile(&text), validate::card_number(&text));
        prop_assert_eq!(validate::normalize_digits(&text).chars().count(), text.chars().count());
    }
}

#[tokio::test]
async fn the_client_refuses_a_checksum_invalid_identifier_before_sending() {
    let server = support::serve(|_| async { support::json(200, serde_json::json!({"status": 1})) }).await;
    let vandar = support::client_for(&server).business_tokens(vandar::TokenPair::new("a", "r", None)).build().unwrap();
    // Right shape (the generated type accepts it), wrong check digits: the Client's validator refuses it.
    let error = vandar
        .api()
        .settlement_store()
        .business("shop")
        .body_map(|b| b.amount(Tomans(5000)).iban("IR670120020000002353697200").track_id("t"))
        .send()
        .await.unwrap_err();
    assert!(matches!(&error, vandar::Error::InvalidInput { field: Some(f), reason } if f == "iban" && reason.contains("mod 97")), "{error:?}");
    let error = vandar.api().shahkar_unregistered().business("shop").body_map(|b| b.individual_national_code("1271234567").mobile("09123456789")).send().await.unwrap_err();
    assert!(matches!(&error, vandar::Error::InvalidInput { field: Some(f), .. } if f == "individual_national_code"), "{error:?}");
    assert!(server.seen().is_empty(), "nothing was sent");
}
