//! The payer's return from the payment page to your `callback_url`.
use crate::enums::IpgPaymentStatus;
use crate::error::Error;

/// The payer's return to your `callback_url`: `?token=..&payment_status=OK|FAILED`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Callback {
    /// The payment token.
    pub token: String,
    /// `Ok`, `Failed`, or a value Vandar may add later.
    pub payment_status: IpgPaymentStatus,
}

impl Callback {
    /// Reads the callback from a query string (`token=..&payment_status=..`, with or without `?`)
    /// or from the whole callback URL.
    ///
    /// ```
    /// let back = vandar::inbound::Callback::parse("https://shop.example/cb?token=6ZTL4EPC&payment_status=OK")?;
    /// assert!(back.says_paid());
    /// assert_eq!(back.token, "6ZTL4EPC");
    /// # Ok::<(), vandar::Error>(())
    /// ```
    pub fn parse(query_or_url: &str) -> Result<Self, Error> {
        let query = match url::Url::parse(query_or_url) {
            Ok(url) => url.query().unwrap_or_default().to_string(),
            Err(_) => query_or_url.trim_start_matches('?').to_string(),
        };
        let mut token = None;
        let mut status = None;
        for (key, value) in url::form_urlencoded::parse(query.as_bytes()) {
            match key.as_ref() {
                "token" if !value.is_empty() => token = Some(value.into_owned()),
                "payment_status" if !value.is_empty() => status = Some(IpgPaymentStatus::from(value.as_ref())),
                _ => {}
            }
        }
        Ok(Callback {
            token: token.ok_or_else(|| Error::invalid("token", "the callback carries no payment token"))?,
            payment_status: status.ok_or_else(|| Error::invalid("payment_status", "the callback carries no payment_status"))?,
        })
    }

    /// Whether the payer says they paid (`OK`). Verify before shipping anyway.
    pub fn says_paid(&self) -> bool {
        self.payment_status == IpgPaymentStatus::Ok
    }
}

