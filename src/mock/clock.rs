//! The mock's clock: real time plus what a test advanced it by (`POST /__mock/clock`,
//! [`MockVandar::advance`](super::MockVandar::advance)). Tokens expire, settlements complete and
//! unverified IPG payments expire by it; the dates the mock writes (Tehran time, Jalali) come from it.
use std::time::{Duration, Instant};

/// Tehran's offset from UTC (Iran keeps no daylight saving time since 2022).
const TEHRAN_OFFSET_SECONDS: i64 = 3 * 3600 + 30 * 60;

/// Real time shifted by the advances a test made.
#[derive(Debug, Clone, Default)]
pub(crate) struct Clock {
    advanced: Duration,
}

impl Clock {
    pub(crate) fn advance(&mut self, by: Duration) {
        self.advanced += by;
    }

    pub(crate) fn advanced(&self) -> Duration {
        self.advanced
    }

    /// Now, as an `Instant` the expiry checks compare with.
    pub(crate) fn instant(&self) -> Instant {
        Instant::now() + self.advanced
    }

    /// Now, in seconds since the epoch.
    pub(crate) fn unix(&self) -> i64 {
        super::unix_now() + self.advanced.as_secs() as i64
    }
}

/// A unix time as Tehran's wall clock: the Gregorian date and the time of day.
fn tehran(unix: i64) -> ((i64, i64, i64), (i64, i64, i64)) {
    let local = unix + TEHRAN_OFFSET_SECONDS;
    let (days, seconds) = (local.div_euclid(86_400), local.rem_euclid(86_400));
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    ((year, month, day), (seconds / 3600, seconds % 3600 / 60, seconds % 60))
}

/// A Gregorian date as a Jalali (Solar Hijri) one (the common arithmetic algorithm, exact for 1900-2100).
fn jalali((gy, gm, gd): (i64, i64, i64)) -> (i64, i64, i64) {
    const G_DAYS: [i64; 12] = [0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334];
    let gy2 = if gm > 2 { gy + 1 } else { gy };
    let mut days = 355_666 + 365 * gy + (gy2 + 3) / 4 - (gy2 + 99) / 100 + (gy2 + 399) / 400 + gd + G_DAYS[(gm - 1) as usize];
    let mut jy = -1595 + 33 * (days / 12_053);
    days %= 12_053;
    jy += 4 * (days / 1461);
    days %= 1461;
    if days > 365 {
        jy += (days - 1) / 365;
        days = (days - 1) % 365;
    }
    let (jm, jd) = if days < 186 { (1 + days / 31, 1 + days % 31) } else { (7 + (days - 186) / 30, 1 + (days - 186) % 30) };
    (jy, jm, jd)
}

/// `unix` as the documents' transaction time, "17:46:57 - 1401/3/7" (Tehran, Jalali).
pub(crate) fn jalali_date_time(unix: i64) -> String {
    let (date, (h, m, s)) = tehran(unix);
    let (jy, jm, jd) = jalali(date);
    format!("{h:02}:{m:02}:{s:02} - {jy}/{jm}/{jd}")
}

/// `unix` as a Jalali YYYYMMDD number, as transaction_list's fromDate and toDate take it.
pub(crate) fn jalali_day(unix: i64) -> i64 {
    let (jy, jm, jd) = jalali(tehran(unix).0);
    jy * 10_000 + jm * 100 + jd
}

/// `unix` as Tehran's "YYYY-MM-DD HH:MM:SS" (the IPG's dates).
pub(crate) fn tehran_date_time(unix: i64) -> String {
    let ((y, mo, d), (h, m, s)) = tehran(unix);
    format!("{y:04}-{mo:02}-{d:02} {h:02}:{m:02}:{s:02}")
}

/// `unix` as Laravel writes a model's timestamp, in UTC: "YYYY-MM-DDTHH:MM:SS.000000Z" (Miando's `created_at`).
pub(crate) fn utc_timestamp(unix: i64) -> String {
    let ((y, mo, d), (h, m, s)) = tehran(unix - TEHRAN_OFFSET_SECONDS);
    format!("{y:04}-{mo:02}-{d:02}T{h:02}:{m:02}:{s:02}.000000Z")
}

/// `unix` as Tehran's date, "YYYY-MM-DD", its time of day, "HH:MM:SS", and its Jalali date,
/// "YYYY/MM/DD" (a settlement's `settlement_date`, `settlement_time`, `settlement_date_jalali`).
pub(crate) fn tehran_day_parts(unix: i64) -> (String, String, String) {
    let ((y, mo, d), (h, m, s)) = tehran(unix);
    let (jy, jm, jd) = jalali((y, mo, d));
    (format!("{y:04}-{mo:02}-{d:02}"), format!("{h:02}:{m:02}:{s:02}"), format!("{jy:04}/{jm:02}/{jd:02}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_dates_convert() {
        // 2021-10-30 is 1400/08/08 (the documents' settlement example); 2022-05-28 is 1401/3/7.
        assert_eq!(jalali((2021, 10, 30)), (1400, 8, 8));
        assert_eq!(jalali((2022, 5, 28)), (1401, 3, 7));
        assert_eq!(jalali((2026, 3, 21)), (1405, 1, 1));
        // 2022-05-28 14:16:57 UTC is 17:46:57 in Tehran.
        assert_eq!(jalali_date_time(1_653_747_417), "17:46:57 - 1401/3/7");
        assert_eq!(jalali_day(1_653_747_417), 14_010_307);
        assert_eq!(utc_timestamp(1_653_747_417), "2022-05-28T14:16:57.000000Z");
        assert_eq!(tehran_day_parts(1_653_747_417), ("2022-05-28".into(), "17:46:57".into(), "1401/03/07".into()));
    }
}
