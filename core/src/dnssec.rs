//! DNSSEC per domain: its state, its keys (private halves sealed with AES-256-GCM under the
//! platform's master key, [`crate::sealing`], which never enters the database), and the view the API shows with
//! the DS records to give the parent.
//!
//! ```text
//!   off ──enable──▶ signed ──disable──▶ disabling ──(APEX_DNSSEC_REMOVAL_DELAY, or force)──▶ off
//!                     ▲                     │        signed, with the CDS/CDNSKEY delete
//!                     └──────enable─────────┘        records (RFC 8078) for the parent
//! ```
//!
//! Turning DNSSEC on generates the keys (one combined signing key, or a KSK and a ZSK) in the
//! same transaction as the setting; the zone is signed at its next publish. Keys of a domain
//! that goes back to `off` are deleted.

use apex_zone::dname::DName;
use apex_zone::sign::{Algorithm, KSK_FLAGS, SigningKey, ZSK_FLAGS};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sqlx::{PgExecutor, Postgres, Transaction};

use crate::CoreError;
use crate::ids::DomainId;
use crate::sealing::MasterKey;

/// Where a domain is in its DNSSEC life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
#[schema(as = DnssecState)]
pub enum State {
    /// Unsigned.
    #[default]
    Off,
    /// Signed.
    Signed,
    /// Signed, publishing the CDS/CDNSKEY delete records; unsigned after the removal delay.
    Disabling,
}

impl State {
    /// As stored.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Off => "off",
            Self::Signed => "signed",
            Self::Disabling => "disabling",
        }
    }

    /// From `domains.dnssec_state` (its CHECK allows only these).
    pub fn from_db(s: &str) -> Self {
        match s {
            "signed" => Self::Signed,
            "disabling" => Self::Disabling,
            _ => Self::Off,
        }
    }
}

/// A domain's DNSSEC settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Settings {
    /// State.
    pub state: State,
    /// Algorithm.
    pub algorithm: Algorithm,
    /// NSEC3 (RFC 9276 parameters) or NSEC.
    pub nsec3: bool,
    /// A KSK and a ZSK instead of one combined signing key.
    pub split_keys: bool,
    /// When disabling began.
    pub disabling_since: Option<DateTime<Utc>>,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            state: State::Off,
            algorithm: Algorithm::EcdsaP256Sha256,
            nsec3: true,
            split_keys: false,
            disabling_since: None,
        }
    }
}

impl Settings {
    /// From the `domains.dnssec_*` columns.
    pub fn from_db(
        state: &str,
        algorithm: &str,
        denial: &str,
        split_keys: bool,
        disabling_since: Option<DateTime<Utc>>,
    ) -> Self {
        Self {
            state: State::from_db(state),
            algorithm: Algorithm::parse(algorithm).unwrap_or(Algorithm::EcdsaP256Sha256),
            nsec3: denial != "nsec",
            split_keys,
            disabling_since,
        }
    }

    /// Whether zones are signed in this state.
    pub fn signs(&self) -> bool {
        self.state != State::Off
    }
}

/// What `PATCH /api/v1/domains/{name}` takes under `dnssec`.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = DnssecPatch)]
pub struct Patch {
    /// Turn signing on or off.
    pub enabled: Option<bool>,
    /// `ECDSAP256SHA256` (default) or `ED25519`; set when turning on.
    pub algorithm: Option<String>,
    /// `nsec3` (default) or `nsec`.
    pub denial: Option<String>,
    /// `csk` (default: one combined signing key) or `ksk+zsk`; set when turning on.
    pub keys: Option<String>,
    /// With `enabled: false`: stop signing now instead of after the removal delay (the parent's
    /// DS must already be gone, or the zone goes bogus).
    pub force: Option<bool>,
}

/// The settings after `patch`, checked; and whether keys must be made (`true`) or dropped.
pub fn apply_patch(
    current: &Settings,
    patch: &Patch,
    now: DateTime<Utc>,
) -> Result<(Settings, KeyChange), CoreError> {
    let mut next = *current;
    if let Some(a) = &patch.algorithm {
        let algorithm = Algorithm::parse(a).ok_or_else(|| {
            CoreError::invalid(
                "dnssec.algorithm",
                format!("{a:?} is not one of \"ECDSAP256SHA256\", \"ED25519\""),
            )
        })?;
        if current.signs() && algorithm != current.algorithm {
            return Err(CoreError::Conflict {
                field: "dnssec.algorithm".into(),
                message: "changing the algorithm of a signed zone needs an algorithm rollover, which Apex does not do yet: turn DNSSEC off first".into(),
            });
        }
        next.algorithm = algorithm;
    }
    if let Some(d) = &patch.denial {
        next.nsec3 = match d.as_str() {
            "nsec3" => true,
            "nsec" => false,
            other => {
                return Err(CoreError::invalid(
                    "dnssec.denial",
                    format!("{other:?} is not one of \"nsec3\", \"nsec\""),
                ));
            }
        };
    }
    if let Some(k) = &patch.keys {
        let split = match k.as_str() {
            "csk" => false,
            "ksk+zsk" => true,
            other => {
                return Err(CoreError::invalid(
                    "dnssec.keys",
                    format!("{other:?} is not one of \"csk\", \"ksk+zsk\""),
                ));
            }
        };
        if current.signs() && split != current.split_keys {
            return Err(CoreError::Conflict {
                field: "dnssec.keys".into(),
                message: "changing the key layout of a signed zone needs a key rollover: turn DNSSEC off first".into(),
            });
        }
        next.split_keys = split;
    }
    let mut keys = KeyChange::Keep;
    match (current.state, patch.enabled) {
        (State::Off, Some(true)) => {
            next.state = State::Signed;
            keys = KeyChange::Create;
        }
        (State::Disabling, Some(true)) => {
            next.state = State::Signed;
            next.disabling_since = None;
        }
        (State::Signed, Some(false)) if patch.force == Some(true) => {
            next.state = State::Off;
            keys = KeyChange::Drop;
        }
        (State::Signed, Some(false)) => {
            next.state = State::Disabling;
            next.disabling_since = Some(now);
        }
        (State::Disabling, Some(false)) if patch.force == Some(true) => {
            next.state = State::Off;
            next.disabling_since = None;
            keys = KeyChange::Drop;
        }
        _ => {}
    }
    if patch.force.is_some() && patch.enabled != Some(false) {
        return Err(CoreError::invalid(
            "dnssec.force",
            "only goes with \"enabled\": false",
        ));
    }
    Ok((next, keys))
}

/// What happens to a domain's keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyChange {
    /// Nothing.
    Keep,
    /// Generate them.
    Create,
    /// Delete them.
    Drop,
}

pub(crate) fn seal_context(domain: DomainId, tag: u16) -> Vec<u8> {
    let mut c = b"apex-dnssec-key:".to_vec();
    c.extend_from_slice(&domain.0.to_be_bytes());
    c.extend_from_slice(&tag.to_be_bytes());
    c
}

/// Stores `settings` and makes or drops keys, in `tx`.
pub async fn store(
    tx: &mut Transaction<'_, Postgres>,
    domain: DomainId,
    settings: &Settings,
    keys: KeyChange,
    master: Option<&MasterKey>,
) -> Result<(), CoreError> {
    sqlx::query!(
        "UPDATE domains SET dnssec_state = $2, dnssec_algorithm = $3, dnssec_denial = $4,
                dnssec_split_keys = $5, dnssec_disabling_since = $6 WHERE id = $1",
        domain.0,
        settings.state.as_str(),
        settings.algorithm.mnemonic(),
        if settings.nsec3 { "nsec3" } else { "nsec" },
        settings.split_keys,
        settings.disabling_since,
    )
    .execute(&mut **tx)
    .await?;
    match keys {
        KeyChange::Keep => {}
        KeyChange::Drop => {
            sqlx::query!("DELETE FROM dnssec_keys WHERE domain_id = $1", domain.0)
                .execute(&mut **tx)
                .await?;
        }
        KeyChange::Create => {
            let master = master.ok_or_else(|| {
                CoreError::invalid(
                    "dnssec.enabled",
                    "this platform has no APEX_MASTER_KEY to keep signing keys with; ask its operator",
                )
            })?;
            let flags: &[u16] = if settings.split_keys {
                &[KSK_FLAGS, ZSK_FLAGS]
            } else {
                &[KSK_FLAGS]
            };
            for &f in flags {
                let (key, pkcs8) = SigningKey::generate(settings.algorithm, f)
                    .map_err(|e| CoreError::Internal(e.to_string()))?;
                let sealed = master.seal(&seal_context(domain, key.tag()), &pkcs8)?;
                sqlx::query!(
                    "INSERT INTO dnssec_keys (domain_id, algorithm, flags, key_tag, dnskey, private_key)
                     VALUES ($1, $2, $3, $4, $5, $6)",
                    domain.0,
                    i16::from(settings.algorithm.number()),
                    i32::from(f),
                    i32::from(key.tag()),
                    key.dnskey_rdata(),
                    sealed,
                )
                .execute(&mut **tx)
                .await?;
            }
        }
    }
    Ok(())
}

/// A domain's keys, opened for signing.
pub async fn signing_keys(
    db: impl PgExecutor<'_>,
    domain: DomainId,
    master: Option<&MasterKey>,
) -> Result<Vec<SigningKey>, CoreError> {
    let rows = sqlx::query!(
        "SELECT algorithm, flags, key_tag, private_key FROM dnssec_keys WHERE domain_id = $1 ORDER BY id",
        domain.0
    )
    .fetch_all(db)
    .await?;
    let master = match (master, rows.is_empty()) {
        (_, true) => return Ok(Vec::new()),
        (Some(m), false) => m,
        (None, false) => {
            return Err(CoreError::Internal(
                "the zone is signed but APEX_MASTER_KEY is not set".into(),
            ));
        }
    };
    rows.into_iter()
        .map(|r| {
            let algorithm = u8::try_from(r.algorithm)
                .ok()
                .and_then(Algorithm::from_number)
                .ok_or_else(|| {
                    CoreError::Internal(format!("stored key algorithm {}", r.algorithm))
                })?;
            let tag = u16::try_from(r.key_tag).unwrap_or_default();
            let pkcs8 = master.open(&seal_context(domain, tag), &r.private_key)?;
            SigningKey::from_pkcs8(
                algorithm,
                u16::try_from(r.flags).unwrap_or_default(),
                &pkcs8,
            )
            .map_err(|e| CoreError::Internal(e.to_string()))
        })
        .collect()
}

/// One key as the API shows it (never the private half).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[schema(as = DnssecKey)]
pub struct KeyView {
    /// Key tag.
    pub key_tag: u16,
    /// `csk`, `ksk` or `zsk`.
    pub role: &'static str,
    /// 256 or 257.
    pub flags: u16,
    /// Algorithm mnemonic.
    pub algorithm: &'static str,
    /// The DNSKEY record data in presentation form.
    pub dnskey: String,
    /// The DS record data (SHA-256) for the parent, for secure entry points.
    pub ds: Option<String>,
    /// Created.
    pub created_at: DateTime<Utc>,
}

/// `GET /api/v1/domains/{name}/dnssec`.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[schema(as = Dnssec)]
pub struct View {
    /// `off`, `signed` or `disabling`.
    pub state: State,
    /// Algorithm mnemonic.
    pub algorithm: &'static str,
    /// `nsec3` or `nsec`.
    pub denial: &'static str,
    /// `csk` or `ksk+zsk`.
    pub keys_layout: &'static str,
    /// When disabling began (the CDS delete records are published since then).
    pub disabling_since: Option<DateTime<Utc>>,
    /// The keys.
    pub keys: Vec<KeyView>,
    /// DS records to give the parent (`owner DS data`), empty when unsigned.
    pub ds: Vec<String>,
}

/// The view of `settings` and the stored keys of `domain` (named `zone`).
pub async fn view(
    db: impl PgExecutor<'_>,
    domain: DomainId,
    zone: &apex_zone::name::ZoneName,
    settings: &Settings,
) -> Result<View, CoreError> {
    let zone = &DName::from_name(zone.name());
    let rows = sqlx::query!(
        "SELECT flags, key_tag, algorithm, dnskey, created_at FROM dnssec_keys WHERE domain_id = $1 ORDER BY id",
        domain.0
    )
    .fetch_all(db)
    .await?;
    let split = rows.iter().any(|r| r.flags == 256);
    let mut keys = Vec::with_capacity(rows.len());
    let mut ds_list = Vec::new();
    for r in rows {
        let flags = u16::try_from(r.flags).unwrap_or_default();
        let alg = u8::try_from(r.algorithm)
            .ok()
            .and_then(Algorithm::from_number);
        let dnskey = apex_zone::rdata::format(apex_zone::rdata::RrType::DNSKEY, &r.dnskey)
            .unwrap_or_default();
        let sep = flags & 1 == 1;
        let ds = if sep {
            // SHA-256 of owner and DNSKEY data (RFC 4509).
            let mut input = zone.wire().to_vec();
            input.extend_from_slice(&r.dnskey);
            let d = ring::digest::digest(&ring::digest::SHA256, &input);
            let hex: String = d.as_ref().iter().map(|b| format!("{b:02X}")).collect();
            let text = format!("{} {} 2 {hex}", r.key_tag, r.algorithm);
            ds_list.push(format!("{zone} DS {text}"));
            Some(text)
        } else {
            None
        };
        keys.push(KeyView {
            key_tag: u16::try_from(r.key_tag).unwrap_or_default(),
            role: match (sep, split) {
                (true, false) => "csk",
                (true, true) => "ksk",
                (false, _) => "zsk",
            },
            flags,
            algorithm: alg.map_or("unknown", Algorithm::mnemonic),
            dnskey,
            ds,
            created_at: r.created_at,
        });
    }
    Ok(View {
        state: settings.state,
        algorithm: settings.algorithm.mnemonic(),
        denial: if settings.nsec3 { "nsec3" } else { "nsec" },
        keys_layout: if settings.split_keys {
            "ksk+zsk"
        } else {
            "csk"
        },
        disabling_since: settings.disabling_since,
        keys,
        ds: if settings.signs() {
            ds_list
        } else {
            Vec::new()
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_machine() {
        let now = Utc::now();
        let off = Settings::default();
        let patch = |j: &str| serde_json::from_str::<Patch>(j).unwrap();
        let (on, keys) =
            apply_patch(&off, &patch(r#"{"enabled": true, "denial": "nsec"}"#), now).unwrap();
        assert_eq!(
            (on.state, keys, on.nsec3),
            (State::Signed, KeyChange::Create, false)
        );
        let (dis, keys) = apply_patch(&on, &patch(r#"{"enabled": false}"#), now).unwrap();
        assert_eq!((dis.state, keys), (State::Disabling, KeyChange::Keep));
        assert_eq!(dis.disabling_since, Some(now));
        let (back, _) = apply_patch(&dis, &patch(r#"{"enabled": true}"#), now).unwrap();
        assert_eq!(back.state, State::Signed);
        let (gone, keys) =
            apply_patch(&dis, &patch(r#"{"enabled": false, "force": true}"#), now).unwrap();
        assert_eq!((gone.state, keys), (State::Off, KeyChange::Drop));
        // A signed zone keeps its algorithm.
        assert!(matches!(
            apply_patch(&on, &patch(r#"{"algorithm": "ED25519"}"#), now),
            Err(CoreError::Conflict { .. })
        ));
        assert!(matches!(
            apply_patch(&off, &patch(r#"{"denial": "nsec5"}"#), now),
            Err(CoreError::Invalid { field, .. }) if field == "dnssec.denial"
        ));
        assert!(serde_json::from_str::<Patch>(r#"{"enable": true}"#).is_err());
    }
}

/// What the scheduled DNSSEC maintenance did to one zone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Maintenance {
    /// Signatures renewed (a new version is wanted).
    Renewed,
    /// The removal delay passed: the zone is now unsigned and its keys are gone.
    Removed,
}

/// Signed zones whose signatures are due for renewal (last published more than `refresh`
/// seconds ago, each zone a little earlier or later by its id so that renewals spread out),
/// and zones being turned off whose removal delay has passed: each gets a new wanted serial
/// (a new, freshly signed or unsigned version) and a change row by the system. Returns what
/// was done, by zone name.
pub async fn maintain(
    pool: &sqlx::PgPool,
    refresh: u32,
    removal: u32,
) -> Result<Vec<(String, Maintenance)>, CoreError> {
    let due = sqlx::query!(
        r#"SELECT id, name, dnssec_state FROM domains
            WHERE (dnssec_state IN ('signed', 'disabling')
                   AND published_serial = wanted_serial
                   AND COALESCE(dnssec_signed_at, published_at)
                       < now() - make_interval(secs => $1::double precision - (id % 3600)))
               OR (dnssec_state = 'disabling'
                   AND dnssec_disabling_since < now() - make_interval(secs => $2::double precision))
            ORDER BY id LIMIT 500"#,
        f64::from(refresh),
        f64::from(removal),
    )
    .fetch_all(pool)
    .await?;
    let mut done = Vec::with_capacity(due.len());
    for d in due {
        let mut tx = pool.begin().await?;
        // Re-read under the lock: an API write may have got there first.
        let Some(row) = sqlx::query!(
            "SELECT wanted_serial, serial_policy, dnssec_state, dnssec_disabling_since FROM domains WHERE id = $1 FOR UPDATE",
            d.id
        )
        .fetch_optional(&mut *tx)
        .await?
        else {
            continue;
        };
        let removing = row.dnssec_state == "disabling"
            && row
                .dnssec_disabling_since
                .is_some_and(|t| t < Utc::now() - chrono::Duration::seconds(i64::from(removal)));
        let action = if removing {
            sqlx::query!(
                "UPDATE domains SET dnssec_state = 'off', dnssec_disabling_since = NULL WHERE id = $1",
                d.id
            )
            .execute(&mut *tx)
            .await?;
            sqlx::query!("DELETE FROM dnssec_keys WHERE domain_id = $1", d.id)
                .execute(&mut *tx)
                .await?;
            crate::change_action::ChangeAction::DnssecRemove
        } else if row.dnssec_state == "off" {
            continue;
        } else {
            crate::change_action::ChangeAction::DnssecRenew
        };
        let policy = crate::db::policy_from_db(&row.serial_policy);
        let next = apex_zone::serial::next(
            Some(crate::db::serial_from_db(row.wanted_serial)),
            policy,
            Utc::now(),
        );
        sqlx::query!(
            "UPDATE domains SET wanted_serial = $2, updated_at = now() WHERE id = $1",
            d.id,
            crate::db::serial_to_db(next),
        )
        .execute(&mut *tx)
        .await?;
        sqlx::query!(
            "INSERT INTO changes (domain_id, zone, action, serial, via) VALUES ($1, $2, $3, $4, 'system')",
            d.id,
            d.name,
            action.as_str(),
            crate::db::serial_to_db(next),
        )
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        done.push((
            d.name,
            if removing {
                Maintenance::Removed
            } else {
                Maintenance::Renewed
            },
        ));
    }
    Ok(done)
}
