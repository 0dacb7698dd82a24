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
//! A plain number is not an amount:
//!
//! ```compile_fail
//! # async fn f(vandar: vandar::Client) {
//! vandar.start_payment(25_000, "https://shop.example/cb").await; // which unit? does not compile
//! # }
//! ```

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

impl std::fmt::Display for Rials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} Rials", self.0)
    }
}

impl std::fmt::Display for Tomans {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} Tomans", self.0)
    }
}
