//! Jalali (Solar Hijri) dates. Vandar uses them in several documented places:
//!
//! * query filters: `transaction_list`'s `fromDate` / `toDate` as `YYYYMMDD` (e.g. `14000102`);
//! * answers: `created_at` of transactions (`"17:46:57 - 1401/3/7"`) and customer lists (`"13:53 - 1400/07/07"`),
//!   `settlement_date_jalali` (`"1400/08/08"`), direct-debit `expiration_date`, `withdrawal_date` and `created_at`,
//!   refund `refund_date` and `created_at`;
//! * requests: Miando's `birth_date` (`13700502`) and the KYC `birthday` (`1369/07/17`).
//!
//! Other fields are Gregorian strings (IPG `paymentDate`, settlement `settlement_date`), ISO 8601 (Miando's
//! `created_at`, decoded to `chrono::DateTime<Utc>`) or unix seconds; the spec says which for each field.
//! The calendar arithmetic is ICU4X's (`icu_calendar`).
//!
//! ```
//! use vandar::dates::JalaliDate;
//! let date: JalaliDate = "17:46:57 - 1401/3/7".parse()?;
//! assert_eq!(date.to_gregorian(), chrono::NaiveDate::from_ymd_opt(2022, 5, 28).unwrap());
//! assert_eq!(date.compact(), "14010307");              // the form query filters take
//! assert_eq!(JalaliDate::from_gregorian(chrono::NaiveDate::from_ymd_opt(2021, 3, 21).unwrap()).to_string(), "1400/01/01");
//! # Ok::<(), vandar::dates::InvalidJalaliDate>(())
//! ```
use chrono::{Datelike, NaiveDate};
use icu_calendar::cal::Persian;
use icu_calendar::{Date, Iso};

/// A Jalali calendar date.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct JalaliDate {
    year: i32,
    month: u8,
    day: u8,
}

/// Text that is not a Jalali date.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a Jalali date: {0:?}")]
pub struct InvalidJalaliDate(String);

impl JalaliDate {
    /// A date, checked against the Jalali calendar (month lengths, leap years).
    pub fn new(year: i32, month: u8, day: u8) -> Result<Self, InvalidJalaliDate> {
        Date::try_new_persian(year, month, day).map_err(|_| InvalidJalaliDate(format!("{year}/{month}/{day}")))?;
        Ok(Self { year, month, day })
    }

    /// The Gregorian date of the same day.
    pub fn to_gregorian(self) -> NaiveDate {
        let iso = Date::try_new_persian(self.year, self.month, self.day).expect("checked in new").to_calendar(Iso);
        NaiveDate::from_ymd_opt(iso.year().extended_year(), u32::from(iso.month().ordinal), u32::from(iso.day_of_month().0))
            .expect("ICU returns valid ISO dates")
    }

    /// The Jalali date of a Gregorian day.
    pub fn from_gregorian(date: NaiveDate) -> Self {
        let iso = Date::try_new_iso(date.year(), date.month() as u8, date.day() as u8).expect("a chrono date is a valid ISO date");
        let persian = iso.to_calendar(Persian);
        Self { year: persian.year().extended_year(), month: persian.month().ordinal, day: persian.day_of_month().0 }
    }

    /// `YYYYMMDD`, the form Vandar's query filters take.
    pub fn compact(self) -> String {
        format!("{:04}{:02}{:02}", self.year, self.month, self.day)
    }

    /// (year, month, day).
    pub fn parts(self) -> (i32, u8, u8) {
        (self.year, self.month, self.day)
    }
}

/// `1400/08/08`.
impl std::fmt::Display for JalaliDate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:04}/{:02}/{:02}", self.year, self.month, self.day)
    }
}

/// Reads `14000102`, `1400/08/08`, `1401/3/7`, `1400-08-08`, and Vandar's `"17:46:57 - 1401/3/7"`
/// or `"1400/04/04 14:47:09"` (the time is ignored); Persian digits are accepted.
impl std::str::FromStr for JalaliDate {
    type Err = InvalidJalaliDate;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let wrong = || InvalidJalaliDate(text.to_string());
        let normalized = crate::validate::normalize_digits(text);
        let date_part = normalized
            .split(|c: char| c.is_whitespace())
            .filter(|part| part.bytes().any(|b| b.is_ascii_digit()) && !part.contains(':'))
            .find(|part| part.contains('/') || part.contains('-') || part.len() == 8 && part.bytes().all(|b| b.is_ascii_digit()))
            .ok_or_else(wrong)?;
        let numbers: Vec<&str> = if date_part.len() == 8 && date_part.bytes().all(|b| b.is_ascii_digit()) {
            vec![&date_part[..4], &date_part[4..6], &date_part[6..]]
        } else {
            date_part.split(['/', '-']).collect()
        };
        let [year, month, day] = numbers.as_slice() else { return Err(wrong()) };
        let (year, month, day) = (year.parse().map_err(|_| wrong())?, month.parse().map_err(|_| wrong())?, day.parse().map_err(|_| wrong())?);
        Self::new(year, month, day).map_err(|_| wrong())
    }
}
