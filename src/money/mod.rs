//! Amounts with their unit. Vandar takes Rials in most calls and Tomans in some (settlement_store);
//! 1 Toman = 10 Rials. These types make a mix-up a compile error instead of a tenfold payment.
//!
//! ```
//! use vandar::money::{Rials, Tomans};
//! assert_eq!(Rials::from(Tomans(2_500)), Rials(25_000));
//! assert_eq!(Rials(25_000).to_string(), "25000 Rials");
//! assert_eq!(Rials(25_005).whole_tomans(), Tomans(2_500)); // explicit, and it says it drops the rest
//! ```
//!
//! Every generated amount field is typed too, per the unit the documents state (the spec's `Rials`,
//! `Tomans`, `RialsString` and `RialsNumberOrString` schemas); an amount whose unit no source
//! states stays a plain integer whose doc line says so. Where Vandar takes Tomans, `Rials` convert
//! when exact, and an inexact amount is refused before sending:
//!
//! ```
//! # async fn f(vandar: vandar::Client) -> Result<(), vandar::Error> {
//! use vandar::money::{Rials, Tomans};
//! vandar.api().settlement_store().body_map(|b| b.amount(Tomans(6_000)).iban("IR330120020000002353697200")).send().await?;
//! vandar.api().settlement_store().body_map(|b| b.amount(Rials(60_000)).iban("IR330120020000002353697200")).send().await?; // 6000 Tomans
//! # Ok(()) }
//! ```
//!
//! A plain number is not an amount:
//!
//! ```compile_fail
//! # async fn f(vandar: vandar::Client) {
//! vandar.start_payment(25_000, "https://shop.example/cb").await; // which unit? does not compile
//! # }
//! ```
//!
//! ```compile_fail
//! # async fn f(vandar: vandar::Client) {
//! vandar.api().settlement_store().body_map(|b| b.amount(6_000)); // Tomans or Rials? does not compile
//! # }
//! ```
//!
//! The flows that move money live here too: the money moves whose result is [`Tracked`]
//! (`Client::settlement_store`, `withdrawal_store`, `batch_settlement_store`, `cash_in_deposit`,
//! `customer_wallet_deposit`/`_withdraw`), reconciled by track_id after a lost answer, and the
//! payment flow (`Client::start_payment`, `Client::verify_payment` and its [`VerifyOutcome`]).
#[cfg(feature = "api")]
mod moves;
#[cfg(feature = "ipg")]
mod payment;
#[cfg(all(feature = "api", feature = "ipg"))]
mod recovery;
mod options;
mod verify;

pub use options::RecoveryOptions;
pub use verify::VerifyPolicy;

#[cfg(feature = "api")]
pub use moves::{StoredSettlement, Tracked};

#[cfg(feature = "ipg")]
pub use payment::{cid_matches, StartedPayment, VerifiedPayment, VerifyOutcome};
#[cfg(all(feature = "api", feature = "ipg"))]
pub use recovery::{RecoveryReport, Settled, SkipReason, Skipped, StillOpen};

/// An amount in Rials (what the payment gateway and most calls take).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Rials(pub i64);

/// An amount in Tomans (what settlement_store takes; 1 Toman = 10 Rials).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Tomans(pub i64);

impl From<Tomans> for Rials {
    fn from(tomans: Tomans) -> Self {
        Rials(tomans.0 * 10)
    }
}

impl Rials {
    /// Whole Tomans in this amount (the Rials below 10 are dropped).
    pub fn whole_tomans(self) -> Tomans {
        Tomans(self.0 / 10)
    }
}

/// An amount in Rials that is not a whole number of Tomans, so it cannot be sent where Vandar takes
/// Tomans. Nothing is rounded: fix the amount.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("{0} is not a whole number of Tomans (1 Toman = 10 Rials)")]
pub struct NotWholeTomans(pub Rials);

/// Where Vandar takes Tomans, an amount in Rials is converted when it is exact:
///
/// ```
/// use vandar::money::{Rials, Tomans};
/// assert_eq!(Tomans::try_from(Rials(60_000)), Ok(Tomans(6_000)));
/// assert!(Tomans::try_from(Rials(60_005)).is_err());
/// ```
impl TryFrom<Rials> for Tomans {
    type Error = NotWholeTomans;
    fn try_from(rials: Rials) -> Result<Self, NotWholeTomans> {
        if rials.0 % 10 == 0 { Ok(Tomans(rials.0 / 10)) } else { Err(NotWholeTomans(rials)) }
    }
}

/// A text that is not a whole amount: not digits, or a fraction that is not zero.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not a whole amount (digits, optionally with a zero fraction such as \".00\")")]
pub struct NotAnAmount(String);

/// Reads `"1000"`, `"1000.00"` or `"-50"`: Vandar writes some amounts as decimal strings.
/// A fraction that is not zero is refused, never rounded.
fn whole_amount(text: &str) -> Result<i64, NotAnAmount> {
    let refuse = || NotAnAmount(text.to_string());
    let trimmed = text.trim();
    let (whole, fraction) = trimmed.split_once('.').unwrap_or((trimmed, ""));
    let digits = whole.strip_prefix('-').unwrap_or(whole);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) || !fraction.bytes().all(|b| b == b'0') {
        return Err(refuse());
    }
    whole.parse().map_err(|_| refuse())
}

/// What both units have alike: Display (`25000 Rials`), `+` and `-` within the unit, parsing, serde.
macro_rules! amount_type {
    ($unit:ident, $name:literal) => {
        impl std::fmt::Display for $unit {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                write!(f, "{} {}", self.0, $name)
            }
        }

        impl std::ops::Add for $unit {
            type Output = $unit;
            fn add(self, other: $unit) -> $unit {
                $unit(self.0 + other.0)
            }
        }

        impl std::ops::Sub for $unit {
            type Output = $unit;
            fn sub(self, other: $unit) -> $unit {
                $unit(self.0 - other.0)
            }
        }

        impl std::str::FromStr for $unit {
            type Err = NotAnAmount;
            fn from_str(text: &str) -> Result<Self, NotAnAmount> {
                whole_amount(text).map($unit)
            }
        }

        /// A JSON integer on the wire.
        impl serde::Serialize for $unit {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_i64(self.0)
            }
        }

        /// A JSON number or a decimal string (`1000`, `1000.0`, `"1000"`, `"1000.00"`): Vandar sends
        /// amounts both ways. A fraction that is not zero is an error, never rounded.
        impl<'de> serde::Deserialize<'de> for $unit {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                struct Visitor;
                impl serde::de::Visitor<'_> for Visitor {
                    type Value = $unit;
                    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                        write!(f, "a whole amount in {} (a number or a decimal string)", $name)
                    }
                    fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<$unit, E> {
                        Ok($unit(v))
                    }
                    fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<$unit, E> {
                        i64::try_from(v).map($unit).map_err(|_| E::custom(format!("{v} {} is out of range", $name)))
                    }
                    fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<$unit, E> {
                        let whole = v.fract() == 0.0 && v.abs() < 9.0e15;
                        whole.then_some($unit(v as i64)).ok_or_else(|| E::custom(format!("{v} is not a whole amount in {}", $name)))
                    }
                    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<$unit, E> {
                        whole_amount(v).map($unit).map_err(E::custom)
                    }
                }
                deserializer.deserialize_any(Visitor)
            }
        }
    };
}

amount_type!(Rials, "Rials");
amount_type!(Tomans, "Tomans");

/// Serializers for the fields the spec types `RialsString`: Vandar takes those amounts as a string
/// of digits (build.rs attaches these to the generated fields).
#[doc(hidden)]
pub mod as_text {
    use super::Rials;

    pub fn serialize<S: serde::Serializer>(amount: &Rials, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(&amount.0)
    }

    pub fn option<S: serde::Serializer>(amount: &Option<Rials>, serializer: S) -> Result<S::Ok, S::Error> {
        match amount {
            Some(amount) => serialize(amount, serializer),
            None => serializer.serialize_none(),
        }
    }
}
