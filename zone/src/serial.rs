//! SOA serials that always move forward in RFC 1982 serial-number arithmetic.

use chrono::{DateTime, Datelike, Utc};

/// How a zone's serial is formed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SerialPolicy {
    /// `YYYYMMDDnn`: readable dates; past 99 changes in a day the counter simply runs on into
    /// the next day's numbers, and the date catches up later.
    #[default]
    DateCounter,
    /// Seconds since 1970.
    UnixTime,
}

/// `a` is greater than `b` in RFC 1982 arithmetic (32-bit serials).
pub fn serial_gt(a: u32, b: u32) -> bool {
    a != b && a.wrapping_sub(b) < 0x8000_0000
}

/// The serial after `current` under `policy` at time `now`. Always greater than `current` in
/// RFC 1982 terms, so secondaries always take the new version.
pub fn next(current: Option<u32>, policy: SerialPolicy, now: DateTime<Utc>) -> u32 {
    let candidate = match policy {
        SerialPolicy::DateCounter => {
            let date = now.date_naive();
            (date.year() as u32) * 1_000_000 + date.month() * 10_000 + date.day() * 100
        }
        SerialPolicy::UnixTime => now.timestamp() as u32,
    };
    match current {
        None => candidate,
        Some(cur) if serial_gt(candidate, cur) => candidate,
        Some(cur) => cur.wrapping_add(1),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn day(y: i32, m: u32, d: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, m, d, 12, 0, 0).unwrap()
    }

    #[test]
    fn date_counter() {
        let t = day(2026, 11, 21);
        assert_eq!(next(None, SerialPolicy::DateCounter, t), 2026112100);
        assert_eq!(
            next(Some(2026112100), SerialPolicy::DateCounter, t),
            2026112101
        );
        assert_eq!(
            next(Some(2026112001), SerialPolicy::DateCounter, t),
            2026112100
        );
        // Past 99 changes in a day the serial still moves forward.
        assert_eq!(
            next(Some(2026112199), SerialPolicy::DateCounter, t),
            2026112200
        );
        assert_eq!(
            next(Some(2026112200), SerialPolicy::DateCounter, t),
            2026112201
        );
        // A serial ahead of the date (imported from elsewhere) keeps counting.
        assert_eq!(
            next(Some(4_000_000_000), SerialPolicy::DateCounter, t),
            4_000_000_001
        );
    }

    #[test]
    fn wraps_forward() {
        let t = day(2026, 11, 21);
        assert_eq!(
            next(
                Some(u32::MAX),
                SerialPolicy::UnixTime,
                Utc.timestamp_opt(5, 0).unwrap()
            ),
            5
        );
        assert!(serial_gt(0, u32::MAX));
        assert!(serial_gt(2026112101, 2026112100));
        assert!(!serial_gt(2026112100, 2026112100));
        assert_eq!(
            next(Some(1), SerialPolicy::UnixTime, t),
            t.timestamp() as u32
        );
    }
}
