//! Vandar's dates and times, typed. The documents use four forms, each a spec schema and a type here:
//!
//! | spec schema | what Vandar writes | type |
//! | --- | --- | --- |
//! | `JalaliDate` | `14000102` (query filters, Miando `birth_date`) | [`JalaliDate`], written `YYYYMMDD` |
//! | `JalaliDateSlashed` | `1400/08/08`, `1401/3/7` (`settlement_date_jalali`, `withdrawal_date`, KYC `birthday`) | [`JalaliDate`], written `YYYY/MM/DD` |
//! | `JalaliDateTime` | `17:46:57 - 1401/3/7`, `13:53 - 1400/07/07`, `1400/08/08 16:00:00` (transaction and customer `created_at`, mandate `expiration_date`, refund dates) | [`JalaliDateTime`] |
//! | `TehranDateTime` | `2019-02-19 18:19:55` (IPG `paymentDate`/`createdAt`, Miando webhook `created_at`, customer log dates) | [`TehranDateTime`] |
//!
//! Vandar writes local times without a zone; they are Tehran time ([`TEHRAN`], `Asia/Tehran` from
//! `chrono-tz`, which knows Iran's daylight saving time until it ended in 2022). Other fields are
//! `chrono::NaiveDate` (`format: date`), `chrono::DateTime<Utc>` (Miando's ISO 8601 `created_at`) or
//! unix seconds; the spec says which for each field. The calendar arithmetic is ICU4X's
//! (`icu_calendar`). Persian digits are accepted everywhere.
//!
//! ```
//! use vandar::dates::{JalaliDate, JalaliDateTime, TehranDateTime};
//! let date: JalaliDate = "1401/3/7".parse()?;
//! assert_eq!(date.to_gregorian(), chrono::NaiveDate::from_ymd_opt(2022, 5, 28).unwrap());
//! assert_eq!(date.compact(), "14010307");              // the form query filters take
//!
//! let created: JalaliDateTime = "17:46:57 - 1401/3/7".parse()?;   // a transaction's created_at
//! assert_eq!(created.date(), date);
//! assert_eq!(created.to_utc().to_rfc3339(), "2022-05-28T13:16:57+00:00"); // Tehran was +04:30 (summer time)
//!
//! let paid: TehranDateTime = "2019-02-19 18:21:50".parse()?;     // IPG paymentDate
//! assert_eq!(paid.to_utc().to_rfc3339(), "2019-02-19T14:51:50+00:00");
//! # Ok::<(), vandar::dates::InvalidDate>(())
//! ```
use chrono::{DateTime, Datelike, LocalResult, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Utc};
use icu_calendar::cal::Persian;
use icu_calendar::{Date, Iso};

pub use chrono_tz::Tz;

/// Vandar's time zone: every time it writes without a zone is Tehran time.
pub const TEHRAN: Tz = chrono_tz::Asia::Tehran;

/// Text that is not a date or time in the form expected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a {expected}: {text:?}")]
pub struct InvalidDate {
    expected: &'static str,
    text: String,
}

impl InvalidDate {
    fn new(expected: &'static str, text: &str) -> Self {
        Self { expected, text: text.to_string() }
    }
}

/// A Jalali (Solar Hijri) calendar date.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct JalaliDate {
    year: i32,
    month: u8,
    day: u8,
}

impl JalaliDate {
    /// A date, checked against the Jalali calendar (month lengths, leap years), in years 1 to
    /// 9999 (every conversion stays in range, so none of them can fail later).
    pub fn new(year: i32, month: u8, day: u8) -> Result<Self, InvalidDate> {
        let wrong = || InvalidDate::new("Jalali date", &format!("{year}/{month}/{day}"));
        if !(1..=9999).contains(&year) {
            return Err(wrong());
        }
        Date::try_new_persian(year, month, day).map_err(|_| wrong())?;
        Ok(Self { year, month, day })
    }

    /// The Gregorian date of the same day.
    pub fn to_gregorian(self) -> NaiveDate {
        let iso = Date::try_new_persian(self.year, self.month, self.day).expect("checked in new").to_calendar(Iso);
        NaiveDate::from_ymd_opt(iso.year().extended_year(), u32::from(iso.month().ordinal), u32::from(iso.day_of_month().0))
            .expect("ICU returns valid ISO dates")
    }

    /// The Jalali date of a Gregorian day (from 622-03-22, Jalali 1/1/1, to Jalali year 9999).
    pub fn from_gregorian(date: NaiveDate) -> Result<Self, InvalidDate> {
        let wrong = || InvalidDate::new("Gregorian date within Jalali years 1 to 9999", &date.to_string());
        if !(622..=10620).contains(&date.year()) {
            return Err(wrong());
        }
        let iso = Date::try_new_iso(date.year(), date.month() as u8, date.day() as u8).map_err(|_| wrong())?;
        let persian = iso.to_calendar(Persian);
        Self::new(persian.year().extended_year(), persian.month().ordinal, persian.day_of_month().0).map_err(|_| wrong())
    }

    /// Today in Tehran.
    pub fn today() -> Self {
        Self::from_gregorian(Utc::now().with_timezone(&TEHRAN).date_naive()).expect("today is within Jalali years 1 to 9999")
    }

    /// `YYYYMMDD`, the form Vandar's query filters take (and how this type is serialized).
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

/// Reads `14000102`, `1400/08/08`, `1401/3/7`, `1400-08-08`, and the date of Vandar's date-times
/// (`"17:46:57 - 1401/3/7"`, `"1400/04/04 14:47:09"`; the time is ignored).
impl std::str::FromStr for JalaliDate {
    type Err = InvalidDate;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let normalized = crate::validate::normalize_digits(text);
        split_date_time(&normalized).and_then(|(date, _)| jalali_date(date)).ok_or_else(|| InvalidDate::new("Jalali date", text))
    }
}

/// The date part of Vandar's text (`14000102`, `1401/3/7`, `1400-08-08`), ASCII digits.
fn jalali_date(date_part: &str) -> Option<JalaliDate> {
    let numbers: Vec<&str> = if date_part.len() == 8 && date_part.bytes().all(|b| b.is_ascii_digit()) {
        vec![&date_part[..4], &date_part[4..6], &date_part[6..]]
    } else {
        date_part.split(['/', '-']).collect()
    };
    let [year, month, day] = numbers.as_slice() else { return None };
    JalaliDate::new(year.parse().ok()?, month.parse().ok()?, day.parse().ok()?).ok()
}

/// `.from_date("14000102")` on a generated builder: checked, and a bad date fails the call naming the field.
impl TryFrom<&str> for JalaliDate {
    type Error = InvalidDate;

    fn try_from(text: &str) -> Result<Self, Self::Error> {
        text.parse()
    }
}

/// The date part and the time part (if any) of a Vandar date-time, in either order:
/// `17:46:57 - 1401/3/7`, `1400/08/08 16:00:00`, `2019-02-19 18:19:55`, `2019-02-19T18:19:55`.
fn split_date_time(text: &str) -> Option<(&str, Option<&str>)> {
    let mut date = None;
    let mut time = None;
    for part in text.split(|c: char| c.is_whitespace() || c == 'T').filter(|p| !p.is_empty() && *p != "-") {
        if part.contains(':') {
            if time.replace(part).is_some() {
                return None; // two times
            }
        } else if part.bytes().all(|b| b.is_ascii_digit() || b == b'/' || b == b'-') && date.is_none() {
            date = Some(part);
        } else {
            return None;
        }
    }
    date.map(|d| (d, time))
}

/// `HH:MM` or `HH:MM:SS`.
fn parse_time(text: &str) -> Option<NaiveTime> {
    NaiveTime::parse_from_str(text, "%H:%M:%S").or_else(|_| NaiveTime::parse_from_str(text, "%H:%M")).ok()
}

/// A Tehran wall-clock time as the instant it names. Where daylight saving time makes it
/// ambiguous (the repeated hour) the earlier instant is taken; where it skipped the hour (a time
/// that did not exist) the offset in force before the change is used, so Vandar's text always
/// decodes.
fn in_tehran(local: NaiveDateTime) -> DateTime<Tz> {
    match TEHRAN.from_local_datetime(&local) {
        LocalResult::Single(at) | LocalResult::Ambiguous(at, _) => at,
        // Tehran's gaps are an hour long and months apart, so the hour before is a time that existed.
        LocalResult::None => local
            .checked_sub_signed(chrono::Duration::hours(1))
            .and_then(|before| TEHRAN.from_local_datetime(&before).earliest())
            .and_then(|before| before.checked_add_signed(chrono::Duration::hours(1)))
            .unwrap_or_else(|| TEHRAN.from_utc_datetime(&local)),
    }
}

/// A Jalali date with a Tehran wall-clock time, as Vandar writes transaction and customer
/// `created_at` (`17:46:57 - 1401/3/7`, `13:53 - 1400/07/07`), mandate `expiration_date` and refund
/// dates (`1400/04/04 14:47:09`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct JalaliDateTime {
    date: JalaliDate,
    time: NaiveTime,
}

impl JalaliDateTime {
    /// A date and a Tehran wall-clock time.
    pub fn new(date: JalaliDate, time: NaiveTime) -> Self {
        Self { date, time }
    }

    /// The Jalali date.
    pub fn date(self) -> JalaliDate {
        self.date
    }

    /// The wall-clock time in Tehran.
    pub fn time(self) -> NaiveTime {
        self.time
    }

    /// The instant, in Tehran time.
    pub fn in_tehran(self) -> DateTime<Tz> {
        in_tehran(self.date.to_gregorian().and_time(self.time))
    }

    /// The instant, in UTC.
    pub fn to_utc(self) -> DateTime<Utc> {
        self.in_tehran().with_timezone(&Utc)
    }
}

/// `1400/08/08 16:00:00`.
impl std::fmt::Display for JalaliDateTime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.date, self.time.format("%H:%M:%S"))
    }
}

/// Reads every form above, and a date alone (midnight).
impl std::str::FromStr for JalaliDateTime {
    type Err = InvalidDate;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let wrong = || InvalidDate::new("Jalali date-time", text);
        let normalized = crate::validate::normalize_digits(text);
        let (date, time) = split_date_time(&normalized).ok_or_else(wrong)?;
        let date = jalali_date(date).ok_or_else(wrong)?;
        let time = match time {
            Some(time) => parse_time(time).ok_or_else(wrong)?,
            None => NaiveTime::MIN,
        };
        Ok(Self { date, time })
    }
}

/// A Gregorian date-time that Vandar writes without a zone (`2019-02-19 18:19:55`): Tehran time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TehranDateTime(DateTime<Tz>);

impl TehranDateTime {
    /// The instant, in Tehran time.
    pub fn in_tehran(self) -> DateTime<Tz> {
        self.0
    }

    /// The instant, in UTC.
    pub fn to_utc(self) -> DateTime<Utc> {
        self.0.with_timezone(&Utc)
    }

    /// The Jalali date of the day in Tehran (an error only outside Jalali years 1 to 9999, for a
    /// time made with `From<DateTime<Utc>>`).
    pub fn jalali_date(self) -> Result<JalaliDate, InvalidDate> {
        JalaliDate::from_gregorian(self.0.date_naive())
    }
}

impl From<DateTime<Utc>> for TehranDateTime {
    fn from(at: DateTime<Utc>) -> Self {
        Self(at.with_timezone(&TEHRAN))
    }
}

impl From<TehranDateTime> for DateTime<Utc> {
    fn from(at: TehranDateTime) -> Self {
        at.to_utc()
    }
}

/// `2019-02-19 18:19:55`, Tehran time, as Vandar writes it. The text names no offset, so a time in
/// the hour Tehran repeated when daylight saving time ended (until 2022) reads back as the earlier one.
impl std::fmt::Display for TehranDateTime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0.format("%Y-%m-%d %H:%M:%S"))
    }
}

/// Reads `2019-02-19 18:19:55` (or `HH:MM`, or with a `T`) as Tehran time; text that names its
/// own offset (RFC 3339, `2022-11-12T13:41:40.000000Z`) is taken at that offset.
impl std::str::FromStr for TehranDateTime {
    type Err = InvalidDate;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let normalized = crate::validate::normalize_digits(text.trim());
        if let Ok(zoned) = DateTime::parse_from_rfc3339(&normalized) {
            return Ok(Self(zoned.with_timezone(&TEHRAN)));
        }
        let wrong = || InvalidDate::new("Tehran date-time (YYYY-MM-DD HH:MM:SS)", text);
        let (date, time) = split_date_time(&normalized).ok_or_else(wrong)?;
        // Exactly YYYY-MM-DD: chrono alone would also take a sign and any number of year digits.
        let shaped = date.len() == 10 && date.bytes().enumerate().all(|(i, b)| if i == 4 || i == 7 { b == b'-' } else { b.is_ascii_digit() });
        if !shaped || date.starts_with("0000") {
            return Err(wrong());
        }
        let date = NaiveDate::parse_from_str(date, "%Y-%m-%d").map_err(|_| wrong())?;
        let time = parse_time(time.ok_or_else(wrong)?).ok_or_else(wrong)?;
        Ok(Self(in_tehran(date.and_time(time))))
    }
}

/// serde through `Display` and `FromStr` (strings on the wire; a Jalali date also reads an
/// integer such as `14000102`).
macro_rules! serde_as_text {
    ($($name:ident => $write:expr),* $(,)?) => {$(
        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.collect_str(&$write(self))
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                struct Text;
                impl serde::de::Visitor<'_> for Text {
                    type Value = $name;
                    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                        f.write_str(concat!("a ", stringify!($name), " string"))
                    }
                    fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<$name, E> {
                        text.parse().map_err(E::custom)
                    }
                    fn visit_u64<E: serde::de::Error>(self, number: u64) -> Result<$name, E> {
                        self.visit_str(&number.to_string())
                    }
                    fn visit_i64<E: serde::de::Error>(self, number: i64) -> Result<$name, E> {
                        self.visit_str(&number.to_string())
                    }
                }
                deserializer.deserialize_any(Text)
            }
        }
    )*};
}
serde_as_text! {
    JalaliDate => |d: &JalaliDate| d.compact(),
    JalaliDateTime => |d: &JalaliDateTime| d.to_string(),
    TehranDateTime => |d: &TehranDateTime| d.to_string(),
}

/// Lenient reading for date fields in Vandar's answers (build.rs points the optional ones here): text
/// that is not a date in the expected form (an empty string, `0000-00-00 00:00:00`, a form the
/// documents do not show) reads as `None`, with a warning, instead of making the whole answer
/// undecodable. A payment or settlement that succeeded is never reported as failed over a date.
pub mod lenient {
    use serde::Deserialize;

    /// `deserialize_with` for an optional date field of an answer.
    pub fn deserialize<'de, D, T>(deserializer: D) -> Result<Option<T>, D::Error>
    where
        D: serde::Deserializer<'de>,
        T: std::str::FromStr,
        T::Err: std::fmt::Display,
    {
        let text = match Option::<serde_json::Value>::deserialize(deserializer)? {
            None | Some(serde_json::Value::Null) => return Ok(None),
            Some(serde_json::Value::String(text)) => text,
            Some(other) => other.to_string(),
        };
        if text.trim().is_empty() {
            return Ok(None);
        }
        match text.parse() {
            Ok(date) => Ok(Some(date)),
            Err(error) => {
                tracing::warn!(%error, "a date in Vandar's answer could not be read; left empty");
                Ok(None)
            }
        }
    }
}

/// Writes a [`JalaliDate`] as `YYYY/MM/DD`, for the fields Vandar takes in that form (the spec's
/// `JalaliDateSlashed`, e.g. the KYC `birthday`); build.rs points those fields here.
pub mod slashed {
    use super::JalaliDate;

    /// `serialize_with` for a required field.
    pub fn serialize<S: serde::Serializer>(date: &JalaliDate, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(date)
    }

    /// `serialize_with` for an optional field.
    pub fn option<S: serde::Serializer>(date: &Option<JalaliDate>, serializer: S) -> Result<S::Ok, S::Error> {
        match date {
            Some(date) => serializer.collect_str(date),
            None => serializer.serialize_none(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tehran_times_follow_the_daylight_saving_rules_in_force() {
        // Summer 1400 (2021): +04:30; winter: +03:30; after DST ended in 2022, +03:30 all year.
        let utc = |s: &str| s.parse::<TehranDateTime>().unwrap().to_utc().to_rfc3339();
        assert_eq!(utc("2021-07-01 12:00:00"), "2021-07-01T07:30:00+00:00");
        assert_eq!(utc("2021-12-01 12:00:00"), "2021-12-01T08:30:00+00:00");
        assert_eq!(utc("2024-07-01 12:00:00"), "2024-07-01T08:30:00+00:00");
        // 2021-03-22 00:30 did not exist (clocks went 00:00 -> 01:00): read with the winter offset.
        assert_eq!(utc("2021-03-22 00:30:00"), "2021-03-21T21:00:00+00:00");
        // 2021-09-21 23:30 happened twice: the earlier.
        assert_eq!(utc("2021-09-21 23:30:00"), "2021-09-21T19:00:00+00:00");
        assert_eq!(utc("2022-11-12T13:41:40.000000Z"), "2022-11-12T13:41:40+00:00");
    }

    #[test]
    fn date_times_in_every_documented_form() {
        for (text, shown) in [
            ("17:46:57 - 1401/3/7", "1401/03/07 17:46:57"),
            ("13:53 - 1400/07/07", "1400/07/07 13:53:00"),
            ("1400/08/08 16:00:00", "1400/08/08 16:00:00"),
            ("۱۴۰۰/۰۴/۰۴ ۱۴:۴۷:۰۹", "1400/04/04 14:47:09"),
            ("1399/05/21", "1399/05/21 00:00:00"),
        ] {
            assert_eq!(text.parse::<JalaliDateTime>().unwrap().to_string(), shown, "{text}");
        }
        for bad in ["", "17:46:57", "1401/13/01 10:00", "10:00 10:00 1401/1/1", "1401/1/1 25:00", "yesterday"] {
            assert!(bad.parse::<JalaliDateTime>().is_err(), "{bad}");
        }
        for bad in ["2019-02-19", "2019-02-30 10:00:00", "1401/3/7 10:00:00", "2019-02-19 10:00 11:00"] {
            assert!(bad.parse::<TehranDateTime>().is_err(), "{bad}");
        }
    }

    #[test]
    fn odd_text_is_an_error_never_a_panic() {
        for text in ["-262143-01-01 00:30:00", "+262142-12-31 23:59:59", "0000-00-00 00:00:00", "99999-01-01 10:00:00", "2019-2-19 10:00:00"] {
            assert!(text.parse::<TehranDateTime>().is_err(), "{text}");
        }
        for text in ["0/1/1", "-5/1/1", "99999/1/1", "1401/3/7 - -", "۱۴۰۱/۳/۷ ۱۰:۰۰", "\u{200c}1401/3/7", "14011307"] {
            let _ = text.parse::<JalaliDate>();
            let _ = text.parse::<JalaliDateTime>();
        }
        assert!(JalaliDate::new(0, 1, 1).is_err() && JalaliDate::new(10_000, 1, 1).is_err());
        assert!(JalaliDate::from_gregorian(NaiveDate::MIN).is_err() && JalaliDate::from_gregorian(NaiveDate::MAX).is_err());
        let far = TehranDateTime::from(DateTime::<Utc>::MIN_UTC);
        assert!(far.jalali_date().is_err());
        assert!(JalaliDate::new(9999, 12, 29).unwrap().to_gregorian().year() > 10_000);
    }

    #[test]
    fn answers_read_odd_dates_as_none() {
        #[derive(serde::Deserialize)]
        struct Answer {
            #[serde(default, deserialize_with = "super::lenient::deserialize")]
            paid: Option<TehranDateTime>,
        }
        let read = |json: &str| serde_json::from_str::<Answer>(json).unwrap().paid;
        assert_eq!(read(r#"{"paid": "2019-02-19 18:21:50"}"#).map(|t| t.to_string()).as_deref(), Some("2019-02-19 18:21:50"));
        for odd in [r#"{"paid": ""}"#, r#"{"paid": "0000-00-00 00:00:00"}"#, r#"{"paid": "soon"}"#, r#"{"paid": null}"#, r#"{}"#, r#"{"paid": 5}"#] {
            assert_eq!(read(odd), None, "{odd}");
        }
    }

    #[test]
    fn serde_reads_strings_and_numbers_and_writes_vandars_forms() {
        let date: JalaliDate = serde_json::from_str("14000102").unwrap();
        assert_eq!(serde_json::to_string(&date).unwrap(), "\"14000102\"");
        let date: JalaliDate = serde_json::from_str("\"1400/1/2\"").unwrap();
        assert_eq!(date, JalaliDate::new(1400, 1, 2).unwrap());
        let time: TehranDateTime = serde_json::from_str("\"2019-02-19 18:19:55\"").unwrap();
        assert_eq!(serde_json::to_string(&time).unwrap(), "\"2019-02-19 18:19:55\"");
        let error = serde_json::from_str::<JalaliDateTime>("\"soon\"").unwrap_err().to_string();
        assert!(error.contains("not a Jalali date-time"), "{error}");
    }
}
