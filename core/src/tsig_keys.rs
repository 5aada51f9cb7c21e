//! A domain's TSIG keys (RFC 8945): what DNS-speaking tools sign with, each limited to what it
//! is for. A key may send RFC 2136 UPDATE (all records, or those matching its record scopes,
//! like `_acme-challenge.*` TXT for certbot), may transfer the zone (AXFR, IXFR), or both.
//!
//! A key's DNS name lies inside its zone (`certbot.example.com.`): a signed message names its
//! key and nothing else, so names are unique across the platform and no tenant can pick a name
//! another's tools use. The secret is shown once, when the key is made; it is kept sealed under
//! the master key (an HMAC needs the secret itself, so it cannot be hashed). Keys go with their
//! domain; managing them needs the `admin` role, and never while impersonating.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use chrono::{DateTime, Utc};
use ring::rand::{SecureRandom, SystemRandom};
use serde::{Deserialize, Serialize};
use sqlx::PgPool;

use crate::actor::{Actor, Credential, PlatformRoles, RecordScope, Via};
use crate::audit::Event;
use crate::authz::Action;
use crate::domain::{self, Domain};
use crate::ids::{DomainId, TsigKeyId};
use crate::sealing::MasterKey;
use crate::{Core, CoreError};

/// Most TSIG keys one domain may have.
pub const MAX_PER_DOMAIN: i64 = 50;

/// The HMAC algorithms offered, with the secret length made for each (the hash's output
/// size, as RFC 8945 section 6 recommends).
const ALGORITHMS: [(&str, usize); 3] = [
    ("hmac-sha256", 32),
    ("hmac-sha384", 48),
    ("hmac-sha512", 64),
];

/// A new TSIG key, as asked for.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"name": "certbot", "records": [{"name": "_acme-challenge.*", "types": ["TXT"]}]}))]
pub struct NewTsigKey {
    /// The key's name, relative to the zone (`certbot` is `certbot.example.com.`) or absolute
    /// inside it. Tools name the key in every message they sign.
    pub name: String,
    /// `hmac-sha256` (the default), `hmac-sha384` or `hmac-sha512`.
    pub algorithm: Option<String>,
    /// May send RFC 2136 UPDATE; default true.
    pub update: Option<bool>,
    /// The records an UPDATE may write: `[{"name": "_acme-challenge.*", "types": ["TXT"]}]`;
    /// none: any record.
    pub records: Option<Vec<RecordScope>>,
    /// May transfer the zone (AXFR and IXFR); default false.
    pub transfer: Option<bool>,
    /// What the key is for.
    pub description: Option<String>,
}

/// A TSIG key as shown (never its secret).
#[derive(Debug, Clone, Serialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct TsigKeyView {
    /// Id.
    pub id: TsigKeyId,
    /// The key's DNS name, absolute: what tools are configured with.
    pub name: String,
    /// The HMAC algorithm.
    pub algorithm: String,
    /// May send UPDATE.
    pub update: bool,
    /// The records it may write (null: any).
    pub records: Option<Vec<RecordScope>>,
    /// May transfer the zone.
    pub transfer: bool,
    /// What it is for.
    pub description: Option<String>,
    /// When it was made.
    pub created_at: DateTime<Utc>,
    /// When a message signed with it was last accepted.
    pub last_used_at: Option<DateTime<Utc>>,
}

/// A key just made: the only answer that carries its secret.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CreatedTsigKey {
    /// The key.
    #[serde(flatten)]
    pub key: TsigKeyView,
    /// The secret, base64: shown this once.
    pub secret: String,
    /// The key as `nsupdate -y` and `dig -y` take it: `algorithm:name:secret`.
    pub nsupdate: String,
}

/// A key as the primary uses it to check a message: the secret opened.
#[derive(Clone)]
pub struct LoadedKey {
    /// Id.
    pub id: TsigKeyId,
    /// DNS name, absolute, lowercase.
    pub name: String,
    /// Algorithm (`hmac-sha256`).
    pub algorithm: String,
    /// The secret.
    pub secret: Vec<u8>,
    /// The domain.
    pub domain: DomainId,
    /// Its name (`example.com`).
    pub zone: String,
    /// May send UPDATE.
    pub update: bool,
    /// The records it may write.
    pub records: Option<Vec<RecordScope>>,
    /// May transfer the zone.
    pub transfer: bool,
}

impl std::fmt::Debug for LoadedKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "LoadedKey({} {} <secret>)", self.name, self.algorithm)
    }
}

/// A key in `name:algorithm:secret` form (what apex-net's `TsigKey::parse` reads).
pub(crate) fn config_text(name: &str, algorithm: &str, secret: &[u8]) -> String {
    format!(
        "{}:{algorithm}:{}",
        name.trim_end_matches('.'),
        B64.encode(secret)
    )
}

impl LoadedKey {
    /// The key in `name:algorithm:secret` form (what apex-net's `TsigKey::parse` reads).
    pub fn config_text(&self) -> String {
        config_text(&self.name, &self.algorithm, &self.secret)
    }

    /// The actor a message signed with this key acts as, from `source`, through `via`.
    pub fn actor(&self, source: Option<std::net::IpAddr>) -> Actor {
        Actor {
            user_id: None,
            email: None,
            roles: PlatformRoles::default(),
            credential: Credential::TsigKey {
                id: self.id,
                name: self.name.clone(),
                domain: self.domain,
                may_update: self.update,
                records: self.records.clone(),
            },
            impersonator: None,
            needs_2fa: false,
            via: Via::DnsUpdate,
            source,
        }
    }
}

/// The associated data that binds a sealed secret to its key and domain.
pub(crate) fn seal_context(key: TsigKeyId, domain: DomainId) -> Vec<u8> {
    let mut c = b"apex-tsig-secret:".to_vec();
    c.extend_from_slice(&key.0.to_be_bytes());
    c.extend_from_slice(&domain.0.to_be_bytes());
    c
}

pub(crate) fn algorithm(input: Option<&str>) -> Result<(&'static str, usize), CoreError> {
    let wanted = input.map_or("hmac-sha256".to_string(), |a| {
        a.trim().trim_end_matches('.').to_ascii_lowercase()
    });
    ALGORITHMS
        .into_iter()
        .find(|(name, _)| *name == wanted)
        .ok_or_else(|| {
            CoreError::invalid(
                "algorithm",
                format!("{wanted:?} is not offered: use hmac-sha256, hmac-sha384 or hmac-sha512"),
            )
        })
}

fn key_name(domain: &Domain, input: &str) -> Result<String, CoreError> {
    let text = input.trim();
    if text.is_empty() || text == "@" || text.contains('*') {
        return Err(CoreError::invalid(
            "name",
            "give the key a name of its own inside the zone, such as `certbot` (no `@`, no wildcard)",
        ));
    }
    let name = apex_zone::name::RecordName::parse(text, &domain.zone)
        .map_err(|e| CoreError::invalid("name", e))?;
    if name.name() == domain.zone.name() {
        return Err(CoreError::invalid(
            "name",
            "the zone's own name cannot be a key's: give it a label of its own, such as `certbot`",
        ));
    }
    Ok(name.to_fqdn().to_ascii_lowercase())
}

fn not_found(id: TsigKeyId) -> CoreError {
    CoreError::NotFound {
        what: "TSIG key",
        name: id.to_string(),
    }
}

fn master(core: &Core) -> Result<&MasterKey, CoreError> {
    core.platform.master_key.as_ref().ok_or_else(|| {
        CoreError::invalid(
            "name",
            "this platform has no APEX_MASTER_KEY to keep TSIG secrets with; ask its operator",
        )
    })
}

fn scopes_from_db(id: TsigKeyId, v: Option<serde_json::Value>) -> Option<Vec<RecordScope>> {
    v.map(|v| {
        serde_json::from_value(v).unwrap_or_else(|e| {
            // Limits that do not read back must not read as "no limits": allow nothing.
            tracing::error!(tsig_key.id = %id, error = %e, "a TSIG key's record limits do not read");
            vec![RecordScope {
                name: String::new(),
                types: vec!["NONE".into()],
            }]
        })
    })
}

/// Makes a TSIG key (needs `admin`). The answer carries the secret; nothing shows it again.
pub async fn create(
    core: &Core,
    actor: &Actor,
    zone: &str,
    new: NewTsigKey,
) -> Result<CreatedTsigKey, CoreError> {
    let domain = domain::load(&core.pool, actor, zone, Action::ManageKeys).await?;
    let name = key_name(&domain, &new.name)?;
    if apex_zone::Name::from_ascii(&name).is_ok_and(|n| core.platform.catalog.zone_of(&n)) {
        // Customer catalogs' keys are named there (crate::account_catalogs).
        return Err(CoreError::invalid(
            "name",
            format!(
                "names under {} are the platform's catalogs': give the key another name",
                core.platform.catalog
            ),
        ));
    }
    let (algorithm, secret_len) = algorithm(new.algorithm.as_deref())?;
    let records = crate::auth::keys::records(new.records)?;
    let update = new.update.unwrap_or(true);
    let transfer = new.transfer.unwrap_or(false);
    if !update && !transfer {
        return Err(CoreError::invalid(
            "update",
            "a key that may neither update nor transfer could do nothing: allow one of them",
        ));
    }
    if !update && records.is_some() {
        return Err(CoreError::invalid(
            "records",
            "record limits apply to updates, and this key may not update",
        ));
    }
    let description = crate::webhooks::description(new.description.as_deref())?;
    let master = master(core)?;
    let mut secret = vec![0u8; secret_len];
    SystemRandom::new()
        .fill(&mut secret)
        .map_err(|_| CoreError::Internal("system random number generator failed".into()))?;
    let mut tx = core.pool.begin().await?;
    let count = sqlx::query_scalar!(
        r#"SELECT count(*) AS "n!" FROM tsig_keys WHERE domain_id = $1"#,
        domain.id.0
    )
    .fetch_one(&mut *tx)
    .await?;
    if count >= MAX_PER_DOMAIN {
        return Err(CoreError::invalid(
            "name",
            format!(
                "{} has {count} TSIG keys, the most a domain may have; delete one first",
                domain.zone
            ),
        ));
    }
    // The id first: the sealed secret is bound to it.
    let id = TsigKeyId(
        sqlx::query_scalar!(
            r#"SELECT nextval(pg_get_serial_sequence('tsig_keys', 'id')) AS "id!""#
        )
        .fetch_one(&mut *tx)
        .await?,
    );
    let sealed = master.seal(&seal_context(id, domain.id), &secret)?;
    let records_db = records
        .as_ref()
        .map(serde_json::to_value)
        .transpose()
        .map_err(|e| CoreError::Internal(format!("record scopes: {e}")))?;
    let created_at = sqlx::query_scalar!(
        "INSERT INTO tsig_keys (id, domain_id, name, algorithm, secret, may_update, update_records,
                                may_transfer, description, created_by)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
         ON CONFLICT (name) DO NOTHING
         RETURNING created_at",
        id.0,
        domain.id.0,
        name,
        algorithm,
        sealed,
        update,
        records_db,
        transfer,
        description,
        actor.user_id.map(|u| u.0),
    )
    .fetch_optional(&mut *tx)
    .await?
    .ok_or_else(|| CoreError::Conflict {
        field: "name".into(),
        message: format!("a TSIG key named {name} exists already: give this one another name"),
    })?;
    Event::new("tsig_key.create", true)
        .actor(actor)
        .domain(domain.id, domain.zone.as_text())
        .detail(serde_json::json!({"key": name, "update": update, "transfer": transfer}))
        .record(&mut *tx)
        .await?;
    tx.commit().await?;
    tracing::info!(zone.name = %domain.zone, tsig_key.name = %name, user.id = ?actor.user_id, "TSIG key created");
    let secret = B64.encode(&secret);
    Ok(CreatedTsigKey {
        nsupdate: format!("{algorithm}:{}:{secret}", name.trim_end_matches('.')),
        secret,
        key: TsigKeyView {
            id,
            name,
            algorithm: algorithm.to_string(),
            update,
            records,
            transfer,
            description,
            created_at,
            last_used_at: None,
        },
    })
}

/// A stored key as shown.
struct Row {
    id: TsigKeyId,
    name: String,
    algorithm: String,
    may_update: bool,
    update_records: Option<serde_json::Value>,
    may_transfer: bool,
    description: Option<String>,
    created_at: DateTime<Utc>,
    last_used_at: Option<DateTime<Utc>>,
}

impl From<Row> for TsigKeyView {
    fn from(r: Row) -> Self {
        TsigKeyView {
            id: r.id,
            name: r.name,
            algorithm: r.algorithm,
            update: r.may_update,
            records: scopes_from_db(r.id, r.update_records),
            transfer: r.may_transfer,
            description: r.description,
            created_at: r.created_at,
            last_used_at: r.last_used_at,
        }
    }
}

/// A domain's TSIG keys, oldest first (managing keys, as for the domain's API keys: a key's
/// limits tell what it can reach).
pub async fn list(
    core: &Core,
    actor: &Actor,
    zone: &str,
    window: &crate::page::Window<i64>,
) -> Result<Vec<TsigKeyView>, CoreError> {
    let domain = domain::load(&core.pool, actor, zone, Action::ManageKeys).await?;
    let rows = sqlx::query_as!(
        Row,
        r#"SELECT id AS "id: TsigKeyId", name, algorithm, may_update, update_records, may_transfer,
                  description, created_at, last_used_at
             FROM tsig_keys WHERE domain_id = $1 AND ($2::bigint IS NULL OR id > $2)
            ORDER BY id LIMIT $3"#,
        domain.id.0,
        window.after,
        window.limit,
    )
    .fetch_all(&core.pool)
    .await?;
    Ok(rows.into_iter().map(TsigKeyView::from).collect())
}

/// One TSIG key of a domain (managing keys).
pub async fn get(
    core: &Core,
    actor: &Actor,
    zone: &str,
    id: TsigKeyId,
) -> Result<TsigKeyView, CoreError> {
    let domain = domain::load(&core.pool, actor, zone, Action::ManageKeys).await?;
    sqlx::query_as!(
        Row,
        r#"SELECT id AS "id: TsigKeyId", name, algorithm, may_update, update_records, may_transfer,
                  description, created_at, last_used_at
             FROM tsig_keys WHERE id = $1 AND domain_id = $2"#,
        id.0,
        domain.id.0,
    )
    .fetch_optional(&core.pool)
    .await?
    .map(TsigKeyView::from)
    .ok_or_else(|| not_found(id))
}

/// Deletes a TSIG key (needs `admin`): messages signed with it are refused from then on.
pub async fn delete(
    core: &Core,
    actor: &Actor,
    zone: &str,
    id: TsigKeyId,
) -> Result<(), CoreError> {
    let mut tx = core.pool.begin().await?;
    let domain = domain::load(&mut *tx, actor, zone, Action::ManageKeys).await?;
    let name = sqlx::query_scalar!(
        "DELETE FROM tsig_keys WHERE id = $1 AND domain_id = $2 RETURNING name",
        id.0,
        domain.id.0
    )
    .fetch_optional(&mut *tx)
    .await?
    .ok_or_else(|| not_found(id))?;
    Event::new("tsig_key.delete", true)
        .actor(actor)
        .domain(domain.id, domain.zone.as_text())
        .detail(serde_json::json!({"key": name}))
        .record(&mut *tx)
        .await?;
    tx.commit().await?;
    tracing::info!(zone.name = %domain.zone, tsig_key.name = %name, "TSIG key deleted");
    Ok(())
}

/// The key named `name` (absolute, any case), its secret opened; `None` when no domain has
/// such a key. For the primary, checking a signed message.
pub async fn by_name(
    pool: &PgPool,
    master: Option<&MasterKey>,
    name: &str,
) -> Result<Option<LoadedKey>, CoreError> {
    let mut name = name.to_ascii_lowercase();
    if !name.ends_with('.') {
        name.push('.');
    }
    let Some(r) = sqlx::query!(
        r#"SELECT k.id AS "id: TsigKeyId", k.name, k.algorithm, k.secret, k.may_update,
                  k.update_records, k.may_transfer, k.domain_id AS "domain: DomainId",
                  d.name AS zone
             FROM tsig_keys k JOIN domains d ON d.id = k.domain_id
            WHERE k.name = $1"#,
        name
    )
    .fetch_optional(pool)
    .await?
    else {
        return Ok(None);
    };
    let Some(master) = master else {
        return Err(CoreError::Internal(
            "TSIG keys are kept sealed and APEX_MASTER_KEY is not set".into(),
        ));
    };
    let secret = master
        .open(&seal_context(r.id, r.domain), &r.secret)
        .map_err(|_| {
            CoreError::Internal(format!(
                "the secret of TSIG key {} does not open with APEX_MASTER_KEY (wrong key?)",
                r.id
            ))
        })?;
    Ok(Some(LoadedKey {
        id: r.id,
        records: scopes_from_db(r.id, r.update_records),
        name: r.name,
        algorithm: r.algorithm,
        secret,
        domain: r.domain,
        zone: r.zone,
        update: r.may_update,
        transfer: r.may_transfer,
    }))
}

/// Notes that a message signed with `key` was accepted: its last use, and an audit event
/// (`tsig_key.use`) with what it did.
pub async fn record_use(
    pool: &PgPool,
    key: &LoadedKey,
    source: Option<std::net::IpAddr>,
    success: bool,
    detail: serde_json::Value,
) -> Result<(), CoreError> {
    sqlx::query!(
        "UPDATE tsig_keys SET last_used_at = now() WHERE id = $1",
        key.id.0
    )
    .execute(pool)
    .await?;
    Event::new("tsig_key.use", success)
        .actor(&key.actor(source))
        .domain(key.domain, key.zone.clone())
        .detail(detail)
        .record(pool)
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn algorithms() {
        assert_eq!(algorithm(None).unwrap(), ("hmac-sha256", 32));
        assert_eq!(
            algorithm(Some("HMAC-SHA512.")).unwrap(),
            ("hmac-sha512", 64)
        );
        assert!(algorithm(Some("hmac-md5")).is_err());
    }
}
