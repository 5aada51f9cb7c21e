//! A domain's zone settings: how its serials are formed, and its SOA timers (the SOA names
//! are the platform's); what `PATCH /api/v1/domains/{name}` takes, and how it applies. The
//! change itself is made by [`crate::domains::update`]; it moves the serial, since the SOA
//! served changes.

use apex_zone::render::SoaParams;
use apex_zone::serial::SerialPolicy;
use serde::{Deserialize, Deserializer, Serialize};

use crate::CoreError;

/// A domain's settings as stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Settings {
    /// How serials are formed.
    pub serial_policy: SerialPolicy,
    /// SOA timers; unset ones are the platform's.
    pub soa: SoaTimers,
    /// DNSSEC.
    pub dnssec: crate::dnssec::Settings,
}

/// SOA timers a domain sets for itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct SoaTimers {
    /// Refresh, seconds.
    pub refresh: Option<u32>,
    /// Retry, seconds.
    pub retry: Option<u32>,
    /// Expire, seconds.
    pub expire: Option<u32>,
    /// Negative-caching TTL (RFC 2308), seconds.
    pub minimum: Option<u32>,
    /// TTL of the SOA record, seconds.
    pub ttl: Option<u32>,
}

impl SoaTimers {
    /// From the `domains.soa_*` columns.
    pub fn from_db(
        refresh: Option<i32>,
        retry: Option<i32>,
        expire: Option<i32>,
        minimum: Option<i32>,
        ttl: Option<i32>,
    ) -> Self {
        let t = |v: Option<i32>| v.and_then(|v| u32::try_from(v).ok());
        Self {
            refresh: t(refresh),
            retry: t(retry),
            expire: t(expire),
            minimum: t(minimum),
            ttl: t(ttl),
        }
    }

    /// The SOA parameters with these timers over the platform's.
    pub fn apply(&self, base: &SoaParams) -> SoaParams {
        SoaParams {
            refresh: self.refresh.unwrap_or(base.refresh),
            retry: self.retry.unwrap_or(base.retry),
            expire: self.expire.unwrap_or(base.expire),
            minimum: self.minimum.unwrap_or(base.minimum),
            ttl: self.ttl.unwrap_or(base.ttl),
            ..base.clone()
        }
    }
}

/// The SOA as the API shows it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct SoaView {
    /// Primary nameserver (the platform's first).
    pub mname: String,
    /// Hostmaster mailbox, as a name.
    pub rname: String,
    /// Refresh, seconds.
    pub refresh: u32,
    /// Retry, seconds.
    pub retry: u32,
    /// Expire, seconds.
    pub expire: u32,
    /// Negative-caching TTL, seconds.
    pub minimum: u32,
    /// TTL of the SOA record.
    pub ttl: u32,
}

impl SoaView {
    /// From effective parameters.
    pub fn of(p: &SoaParams) -> Self {
        Self {
            mname: p.mname.to_ascii(),
            rname: p.rname.to_ascii(),
            refresh: p.refresh,
            retry: p.retry,
            expire: p.expire,
            minimum: p.minimum,
            ttl: p.ttl,
        }
    }
}

/// `Some(None)` for an explicit `null` (back to the platform default), `None` when absent.
fn double<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Option<i64>>, D::Error> {
    Option::<i64>::deserialize(d).map(Some)
}

/// SOA timers to change; `null` returns a timer to the platform's value.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SoaPatch {
    /// Refresh.
    #[serde(default, deserialize_with = "double")]
    pub refresh: Option<Option<i64>>,
    /// Retry.
    #[serde(default, deserialize_with = "double")]
    pub retry: Option<Option<i64>>,
    /// Expire.
    #[serde(default, deserialize_with = "double")]
    pub expire: Option<Option<i64>>,
    /// Negative-caching TTL.
    #[serde(default, deserialize_with = "double")]
    pub minimum: Option<Option<i64>>,
    /// SOA TTL.
    #[serde(default, deserialize_with = "double")]
    pub ttl: Option<Option<i64>>,
}

/// What `PATCH /api/v1/domains/{name}` takes.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SettingsPatch {
    /// `date` or `unixtime`.
    pub serial_policy: Option<String>,
    /// SOA timers.
    pub soa: Option<SoaPatch>,
    /// DNSSEC.
    pub dnssec: Option<crate::dnssec::Patch>,
    /// The domain's own secondaries outside the fleet: the whole list, replacing the one
    /// before (`[]` removes them all).
    pub secondaries: Option<Vec<crate::secondaries::SecondaryInput>>,
    /// Serve the records of this other domain (an alias), renamed into this one; `null` ends
    /// the alias.
    #[serde(default, deserialize_with = "double_text")]
    #[schema(value_type = Option<String>)]
    pub alias_of: Option<Option<String>>,
}

fn double_text<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Option<String>>, D::Error> {
    Option::<String>::deserialize(d).map(Some)
}

fn timer(
    field: &str,
    value: Option<Option<i64>>,
    current: Option<u32>,
    min: i64,
    max: i64,
) -> Result<Option<u32>, CoreError> {
    match value {
        None => Ok(current),
        Some(None) => Ok(None),
        Some(Some(v)) if (min..=max).contains(&v) => Ok(Some(v as u32)),
        Some(Some(v)) => Err(CoreError::invalid(
            field,
            format!("{v} is outside {min}..={max} seconds"),
        )),
    }
}

/// Applies `patch` to the current settings, checking each value and how they fit together.
pub fn apply_patch(
    current: Settings,
    patch: &SettingsPatch,
    base: &SoaParams,
) -> Result<Settings, CoreError> {
    let serial_policy = match patch.serial_policy.as_deref() {
        None => current.serial_policy,
        Some("date") => SerialPolicy::DateCounter,
        Some("unixtime") => SerialPolicy::UnixTime,
        Some(other) => {
            return Err(CoreError::invalid(
                "serial_policy",
                format!("{other:?} is not one of \"date\", \"unixtime\""),
            ));
        }
    };
    let mut soa = current.soa;
    if let Some(p) = &patch.soa {
        const MAX: i64 = 2_147_483_647;
        soa = SoaTimers {
            refresh: timer("soa.refresh", p.refresh, soa.refresh, 60, MAX)?,
            retry: timer("soa.retry", p.retry, soa.retry, 60, MAX)?,
            expire: timer("soa.expire", p.expire, soa.expire, 3600, MAX)?,
            // RFC 2308 section 5: more than a day of negative caching does more harm than good.
            minimum: timer("soa.minimum", p.minimum, soa.minimum, 0, 86_400)?,
            ttl: timer("soa.ttl", p.ttl, soa.ttl, 0, 604_800)?,
        };
    }
    let effective = soa.apply(base);
    if u64::from(effective.expire) < u64::from(effective.refresh) + u64::from(effective.retry) {
        return Err(CoreError::invalid(
            "soa.expire",
            format!(
                "expire ({}) must be at least refresh + retry ({} + {})",
                effective.expire, effective.refresh, effective.retry
            ),
        ));
    }
    if effective.retry > effective.refresh {
        return Err(CoreError::invalid(
            "soa.retry",
            format!(
                "retry ({}) should not exceed refresh ({})",
                effective.retry, effective.refresh
            ),
        ));
    }
    Ok(Settings {
        serial_policy,
        soa,
        dnssec: current.dnssec,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use apex_zone::Name;

    fn base() -> SoaParams {
        SoaParams {
            mname: Name::root(),
            rname: Name::root(),
            refresh: 3600,
            retry: 600,
            expire: 1_209_600,
            minimum: 300,
            ttl: 3600,
        }
    }

    fn patch(json: &str) -> SettingsPatch {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn timers_and_policy() {
        let s = apply_patch(
            Settings::default(),
            &patch(r#"{"serial_policy": "unixtime", "soa": {"refresh": 7200}}"#),
            &base(),
        )
        .unwrap();
        assert_eq!(s.serial_policy, SerialPolicy::UnixTime);
        assert_eq!(s.soa.apply(&base()).refresh, 7200);
        // null returns to the platform's value; absent keeps.
        let s2 = apply_patch(s, &patch(r#"{"soa": {"refresh": null}}"#), &base()).unwrap();
        assert_eq!(s2.soa.refresh, None);
        assert_eq!(s2.serial_policy, SerialPolicy::UnixTime);
    }

    #[test]
    fn errors_name_the_field() {
        let err = |j: &str| match apply_patch(Settings::default(), &patch(j), &base()).unwrap_err()
        {
            CoreError::Invalid { field, .. } => field,
            other => panic!("{other:?}"),
        };
        assert_eq!(err(r#"{"serial_policy": "weekly"}"#), "serial_policy");
        assert_eq!(err(r#"{"soa": {"minimum": 100000}}"#), "soa.minimum");
        assert_eq!(err(r#"{"soa": {"expire": 3600}}"#), "soa.expire");
        assert_eq!(err(r#"{"soa": {"retry": 7200}}"#), "soa.retry");
        assert!(serde_json::from_str::<SettingsPatch>(r#"{"soa": {"refesh": 1}}"#).is_err());
    }
}
