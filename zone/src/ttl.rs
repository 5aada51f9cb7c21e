//! TTLs, held within the platform's configured bounds.

use std::fmt;

/// The lowest and highest TTL the platform accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TtlBounds {
    /// Smallest TTL accepted, in seconds.
    pub min: u32,
    /// Largest TTL accepted, in seconds.
    pub max: u32,
}

impl Default for TtlBounds {
    /// 30 seconds to one week: short enough for failover, long enough for any cache.
    fn default() -> Self {
        Self {
            min: 30,
            max: 604_800,
        }
    }
}

/// A TTL out of bounds.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("TTL {value} is outside the allowed range {min}..={max} seconds")]
pub struct TtlError {
    /// The value given.
    pub value: i64,
    /// Lower bound.
    pub min: u32,
    /// Upper bound.
    pub max: u32,
}

/// A TTL in seconds, within bounds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Ttl(u32);

impl Ttl {
    /// Checks `value` against `bounds`.
    pub fn new(value: i64, bounds: TtlBounds) -> Result<Self, TtlError> {
        if value < i64::from(bounds.min) || value > i64::from(bounds.max) {
            return Err(TtlError {
                value,
                min: bounds.min,
                max: bounds.max,
            });
        }
        Ok(Self(value as u32))
    }

    /// Seconds.
    pub fn get(self) -> u32 {
        self.0
    }
}

impl fmt::Display for Ttl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounds() {
        let b = TtlBounds::default();
        assert_eq!(Ttl::new(300, b).unwrap().get(), 300);
        assert_eq!(Ttl::new(30, b).unwrap().get(), 30);
        assert!(Ttl::new(29, b).is_err());
        assert!(Ttl::new(604_801, b).is_err());
        assert!(Ttl::new(-1, b).is_err());
        assert_eq!(
            Ttl::new(1, b).unwrap_err().to_string(),
            "TTL 1 is outside the allowed range 30..=604800 seconds"
        );
    }
}
