//! Customer catalogs: an account's own catalog zone (RFC 9432, schema version 2), for the
//! customer's own Knot or BIND to follow, so that every domain the account owns is served by
//! their secondaries too without configuring each one.
//!
//! - The catalog is named `<user id>.<the platform's catalog>` (`42.catalog.apex.invalid.`)
//!   and lists the published domains the account owns (as the fleet's catalog does, with the
//!   same member ids).
//! - Its TSIG key is named like the catalog. Signed with it, a secondary may read the
//!   catalog's SOA and transfer (AXFR, IXFR) the catalog and its members, and nothing else;
//!   each transfer is audited (`catalog_key.use`). The secret is shown when the catalog is
//!   turned on or its key rotated, and kept sealed under the master key.
//! - `secondaries` are where NOTIFY goes (port 53 unless given), signed with the key, when
//!   the catalog changes and when a member zone does.
//! - The serial starts at the time the catalog is turned on and moves by one whenever the
//!   member list changes. The list's SHA-256 is stored with the serial it was given, and every
//!   read compares: a domain that joins or leaves in any way (first published, deleted, handed
//!   to another owner) moves the serial the next time the catalog is read, and the worker's
//!   reconciler announces it ([`due`]).
//!
//! Reading needs the account (`AccountAction::Read`); turning it on or off, changing where
//! NOTIFY goes and rotating the key need `AccountAction::ManageKeys` (a secret comes back).

use std::net::{IpAddr, SocketAddr};

use apex_zone::Name;
use apex_zone::catalog::Member;
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use chrono::{DateTime, Utc};
use ring::rand::{SecureRandom, SystemRandom};
use serde::{Deserialize, Serialize};
use sqlx::PgPool;

use crate::actor::Actor;
use crate::audit::Event;
use crate::authz::{self, AccountAction};
use crate::config::Platform;
use crate::db::{serial_from_db, serial_to_db};
use crate::ids::UserId;
use crate::sealing::MasterKey;
use crate::{Core, CoreError};

/// Most addresses NOTIFY goes to.
pub const MAX_SECONDARIES: usize = 8;

/// Turning a catalog on.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"secondaries": ["198.51.100.53", "[2001:db8::53]:5353"]}))]
pub struct NewCatalog {
    /// Where NOTIFY goes: addresses, port 53 unless given (`203.0.113.53:5353`).
    #[serde(default)]
    pub secondaries: Vec<String>,
    /// The key's algorithm: `hmac-sha256` (the default), `hmac-sha384` or `hmac-sha512`.
    pub algorithm: Option<String>,
}

/// Changing where NOTIFY goes.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CatalogPatch {
    /// Where NOTIFY goes (replaces the list).
    pub secondaries: Vec<String>,
}

/// The catalog's key as shown (never its secret).
#[derive(Debug, Clone, Serialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct CatalogKeyView {
    /// The key's DNS name: the catalog's.
    pub name: String,
    /// Its HMAC algorithm.
    pub algorithm: String,
    /// When it was made (turned on, or last rotated).
    pub created_at: DateTime<Utc>,
    /// When a transfer signed with it was last accepted.
    pub last_used_at: Option<DateTime<Utc>>,
}

/// An account's catalog as shown.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct CatalogView {
    /// The catalog zone's name: what a secondary is configured to follow.
    pub zone: String,
    /// Its SOA serial now.
    pub serial: u32,
    /// How many zones it lists (the account's published domains).
    pub members: usize,
    /// Where NOTIFY goes.
    pub secondaries: Vec<String>,
    /// The key transfers are signed with.
    pub key: CatalogKeyView,
    /// When it was turned on.
    pub created_at: DateTime<Utc>,
}

/// A catalog with its key's secret: the answer to turning on and to rotating, and no other.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CreatedCatalog {
    /// The catalog.
    #[serde(flatten)]
    pub catalog: CatalogView,
    /// The key's secret, base64: shown this once.
    pub secret: String,
    /// The key as `dig -y` takes it: `algorithm:name:secret`.
    pub dig: String,
}

/// A catalog key, its secret opened: what the transfer server checks a message with.
#[derive(Clone)]
pub struct CatalogKey {
    /// The account.
    pub user: UserId,
    /// Its e-mail (for the audit log).
    pub email: String,
    /// The key's (and catalog's) name, absolute, lowercase.
    pub name: String,
    /// Algorithm.
    pub algorithm: String,
    /// The secret.
    pub secret: Vec<u8>,
}

impl std::fmt::Debug for CatalogKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "CatalogKey({} {} <secret>)", self.name, self.algorithm)
    }
}

impl CatalogKey {
    /// The key in `name:algorithm:secret` form (what apex-net's `TsigKey::parse` reads).
    pub fn config_text(&self) -> String {
        crate::tsig_keys::config_text(&self.name, &self.algorithm, &self.secret)
    }
}

/// The catalog zone of `user`.
pub fn zone_name(platform: &Platform, user: UserId) -> Name {
    Name::from_ascii(user.0.to_string())
        .and_then(|l| l.append_domain(&platform.catalog))
        .unwrap_or_else(|_| platform.catalog.clone())
}

/// The account whose catalog `name` is, when it is one's (`42.<catalog>`).
pub fn account_of(platform: &Platform, name: &Name) -> Option<UserId> {
    if name.num_labels() != platform.catalog.num_labels() + 1 || !platform.catalog.zone_of(name) {
        return None;
    }
    let label = name.iter().next()?;
    let text = std::str::from_utf8(label).ok()?;
    if text.starts_with('0') || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok().filter(|id| *id > 0).map(UserId)
}

pub(crate) fn seal_context(user: UserId) -> Vec<u8> {
    let mut c = b"apex-catalog-key:".to_vec();
    c.extend_from_slice(&user.0.to_be_bytes());
    c
}

fn master(core: &Core) -> Result<&MasterKey, CoreError> {
    core.platform.master_key.as_ref().ok_or_else(|| {
        CoreError::invalid(
            "algorithm",
            "this platform has no APEX_MASTER_KEY to keep TSIG secrets with; ask its operator",
        )
    })
}

fn not_on() -> CoreError {
    CoreError::NotFound {
        what: "catalog",
        name: "of this account (turn it on with POST)".into(),
    }
}

/// Reads a list of NOTIFY targets: addresses, port 53 (the platform's secondary NOTIFY port)
/// unless given; public unless the platform allows others; at most [`MAX_SECONDARIES`].
fn secondaries(input: &[String], platform: &Platform) -> Result<Vec<SocketAddr>, CoreError> {
    if input.len() > MAX_SECONDARIES {
        return Err(CoreError::invalid(
            "secondaries",
            format!("{} addresses given; at most {MAX_SECONDARIES}", input.len()),
        ));
    }
    let mut out: Vec<SocketAddr> = Vec::with_capacity(input.len());
    for (i, text) in input.iter().enumerate() {
        let field = format!("secondaries[{i}]");
        let text = text.trim();
        let addr = match text.parse::<IpAddr>() {
            Ok(ip) => SocketAddr::new(ip, platform.secondary_notify_port),
            Err(_) => text.parse::<SocketAddr>().map_err(|_| {
                CoreError::invalid(
                    &field,
                    format!(
                        "{text:?} is not an address (203.0.113.53, 203.0.113.53:5353 or [2001:db8::53]:5353)"
                    ),
                )
            })?,
        };
        let addr = SocketAddr::new(addr.ip().to_canonical(), addr.port());
        if addr.port() == 0 {
            return Err(CoreError::invalid(&field, format!("{text:?}: port 0")));
        }
        if !platform.secondary_allow_private
            && let Some(why) = crate::address::refused(addr.ip())
        {
            return Err(CoreError::invalid(
                &field,
                format!("{} is {why}; a secondary needs a public address", addr.ip()),
            ));
        }
        if out.contains(&addr) {
            return Err(CoreError::invalid(
                &field,
                format!("{addr} is listed twice"),
            ));
        }
        out.push(addr);
    }
    Ok(out)
}

fn new_secret(len: usize) -> Result<Vec<u8>, CoreError> {
    let mut secret = vec![0u8; len];
    SystemRandom::new()
        .fill(&mut secret)
        .map_err(|_| CoreError::Internal("system random number generator failed".into()))?;
    Ok(secret)
}

/// The published domains `user` owns, by name: the catalog's members.
async fn members_of(db: impl sqlx::PgExecutor<'_>, user: UserId) -> Result<Vec<Member>, CoreError> {
    let rows = sqlx::query!(
        "SELECT d.name, d.catalog_id FROM domains d
           JOIN domain_members m ON m.domain_id = d.id AND m.role = 'owner'
          WHERE m.user_id = $1 AND d.published_serial IS NOT NULL
          ORDER BY d.name",
        user.0
    )
    .fetch_all(db)
    .await?;
    Ok(crate::catalog::members(
        rows.into_iter().map(|r| (r.name, r.catalog_id)),
    ))
}

fn digest(members: &[Member]) -> Vec<u8> {
    let mut ctx = ring::digest::Context::new(&ring::digest::SHA256);
    for m in members {
        ctx.update(m.id.as_bytes());
        ctx.update(b" ");
        ctx.update(m.zone.to_ascii().as_bytes());
        ctx.update(b"\n");
    }
    ctx.finish().as_ref().to_vec()
}

/// The catalog of `user`, serial and members from one consistent read, its serial moved
/// first when the members changed since it was given; `None` when the catalog is off.
pub async fn snapshot(
    pool: &PgPool,
    user: UserId,
) -> Result<Option<(u32, Vec<Member>)>, CoreError> {
    let mut tx = pool.begin().await?;
    let Some(row) = sqlx::query!(
        "SELECT serial, digest FROM account_catalogs WHERE user_id = $1 FOR UPDATE",
        user.0
    )
    .fetch_optional(&mut *tx)
    .await?
    else {
        return Ok(None);
    };
    let members = members_of(&mut *tx, user).await?;
    let now = digest(&members);
    let serial = if row.digest.as_deref() == Some(now.as_slice()) {
        row.serial
    } else {
        sqlx::query_scalar!(
            "UPDATE account_catalogs SET serial = (serial + 1) % 4294967296, digest = $2
              WHERE user_id = $1 RETURNING serial",
            user.0,
            now
        )
        .fetch_one(&mut *tx)
        .await?
    };
    tx.commit().await?;
    Ok(Some((serial_from_db(serial), members)))
}

/// Whether `zone` (`example.com`) is a published domain `user` owns: a member of their
/// catalog, which their catalog key may transfer.
pub async fn is_member(pool: &PgPool, user: UserId, zone: &str) -> Result<bool, CoreError> {
    Ok(sqlx::query_scalar!(
        r#"SELECT EXISTS (
             SELECT 1 FROM domains d
               JOIN domain_members m ON m.domain_id = d.id AND m.role = 'owner'
              WHERE m.user_id = $1 AND d.name = $2 AND d.published_serial IS NOT NULL
               AND EXISTS (SELECT 1 FROM account_catalogs c WHERE c.user_id = $1)) AS "e!""#,
        user.0,
        zone.trim_end_matches('.').to_ascii_lowercase()
    )
    .fetch_one(pool)
    .await?)
}

struct Row {
    user_id: i64,
    key_algorithm: String,
    key_created_at: DateTime<Utc>,
    key_last_used_at: Option<DateTime<Utc>>,
    secondaries: Vec<String>,
    created_at: DateTime<Utc>,
}

async fn view(pool: &PgPool, platform: &Platform, r: Row) -> Result<CatalogView, CoreError> {
    let user = UserId(r.user_id);
    let (serial, members) = snapshot(pool, user).await?.ok_or_else(not_on)?;
    let zone = zone_name(platform, user).to_ascii();
    Ok(CatalogView {
        key: CatalogKeyView {
            name: zone.clone(),
            algorithm: r.key_algorithm,
            created_at: r.key_created_at,
            last_used_at: r.key_last_used_at,
        },
        zone,
        serial,
        members: members.len(),
        secondaries: r.secondaries,
        created_at: r.created_at,
    })
}

async fn row(db: impl sqlx::PgExecutor<'_>, user: UserId) -> Result<Option<Row>, CoreError> {
    Ok(sqlx::query_as!(
        Row,
        "SELECT user_id, key_algorithm, key_created_at, key_last_used_at, secondaries, created_at
           FROM account_catalogs WHERE user_id = $1",
        user.0
    )
    .fetch_optional(db)
    .await?)
}

/// The account's catalog.
pub async fn show(core: &Core, actor: &Actor) -> Result<CatalogView, CoreError> {
    let user = authz::account(actor, AccountAction::Read)?;
    let r = row(&core.pool, user).await?.ok_or_else(not_on)?;
    view(&core.pool, &core.platform, r).await
}

fn created(view: CatalogView, secret: &[u8]) -> CreatedCatalog {
    let secret = B64.encode(secret);
    CreatedCatalog {
        dig: format!(
            "{}:{}:{secret}",
            view.key.algorithm,
            view.key.name.trim_end_matches('.')
        ),
        secret,
        catalog: view,
    }
}

/// Turns the account's catalog on, with a new key (its secret in the answer, and only there).
pub async fn enable(
    core: &Core,
    actor: &Actor,
    new: &NewCatalog,
) -> Result<CreatedCatalog, CoreError> {
    let user = authz::account(actor, AccountAction::ManageKeys)?;
    let targets = secondaries(&new.secondaries, &core.platform)?;
    let (algorithm, len) = crate::tsig_keys::algorithm(new.algorithm.as_deref())?;
    let master = master(core)?;
    let secret = new_secret(len)?;
    let sealed = master.seal(&seal_context(user), &secret)?;
    let texts: Vec<String> = targets.iter().map(ToString::to_string).collect();
    let mut tx = core.pool.begin().await?;
    // A catalog turned off and on again starts at a higher serial than it ever had: the
    // epoch time (seconds, as u32 serials go until 2106).
    let inserted = sqlx::query!(
        "INSERT INTO account_catalogs (user_id, key_algorithm, key_secret, secondaries, serial)
         VALUES ($1, $2, $3, $4, extract(epoch FROM now())::bigint % 4294967296)
         ON CONFLICT (user_id) DO NOTHING",
        user.0,
        algorithm,
        sealed,
        &texts,
    )
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if inserted == 0 {
        return Err(CoreError::Conflict {
            field: "catalog".into(),
            message: "this account's catalog is on already: rotate its key with POST /api/v1/account/catalog/key".into(),
        });
    }
    let zone = zone_name(&core.platform, user).to_ascii();
    Event::new("catalog.enable", true)
        .actor(actor)
        .detail(serde_json::json!({"zone": zone, "secondaries": texts}))
        .record(&mut *tx)
        .await?;
    tx.commit().await?;
    tracing::info!(user.id = %user, zone.name = %zone, "customer catalog turned on");
    let r = row(&core.pool, user).await?.ok_or_else(not_on)?;
    Ok(created(view(&core.pool, &core.platform, r).await?, &secret))
}

/// Changes where the catalog's NOTIFY goes.
pub async fn update(
    core: &Core,
    actor: &Actor,
    patch: &CatalogPatch,
) -> Result<CatalogView, CoreError> {
    let user = authz::account(actor, AccountAction::ManageKeys)?;
    let targets = secondaries(&patch.secondaries, &core.platform)?;
    let texts: Vec<String> = targets.iter().map(ToString::to_string).collect();
    let mut tx = core.pool.begin().await?;
    let changed = sqlx::query!(
        "UPDATE account_catalogs SET secondaries = $2 WHERE user_id = $1",
        user.0,
        &texts
    )
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if changed == 0 {
        return Err(not_on());
    }
    Event::new("catalog.update", true)
        .actor(actor)
        .detail(serde_json::json!({"secondaries": texts}))
        .record(&mut *tx)
        .await?;
    tx.commit().await?;
    let r = row(&core.pool, user).await?.ok_or_else(not_on)?;
    view(&core.pool, &core.platform, r).await
}

/// Gives the catalog a new secret (the old one stops working at once).
pub async fn rotate_key(core: &Core, actor: &Actor) -> Result<CreatedCatalog, CoreError> {
    let user = authz::account(actor, AccountAction::ManageKeys)?;
    let master = master(core)?;
    let mut tx = core.pool.begin().await?;
    let algorithm = sqlx::query_scalar!(
        "SELECT key_algorithm FROM account_catalogs WHERE user_id = $1 FOR UPDATE",
        user.0
    )
    .fetch_optional(&mut *tx)
    .await?
    .ok_or_else(not_on)?;
    let (_, len) = crate::tsig_keys::algorithm(Some(&algorithm))?;
    let secret = new_secret(len)?;
    let sealed = master.seal(&seal_context(user), &secret)?;
    sqlx::query!(
        "UPDATE account_catalogs SET key_secret = $2, key_created_at = now(), key_last_used_at = NULL
          WHERE user_id = $1",
        user.0,
        sealed
    )
    .execute(&mut *tx)
    .await?;
    Event::new("catalog.key_rotate", true)
        .actor(actor)
        .record(&mut *tx)
        .await?;
    tx.commit().await?;
    tracing::info!(user.id = %user, "customer catalog key rotated");
    let r = row(&core.pool, user).await?.ok_or_else(not_on)?;
    Ok(created(view(&core.pool, &core.platform, r).await?, &secret))
}

/// Turns the catalog off: its key stops working, and its name answers REFUSED.
pub async fn disable(core: &Core, actor: &Actor) -> Result<(), CoreError> {
    let user = authz::account(actor, AccountAction::ManageKeys)?;
    let mut tx = core.pool.begin().await?;
    let gone = sqlx::query!("DELETE FROM account_catalogs WHERE user_id = $1", user.0)
        .execute(&mut *tx)
        .await?
        .rows_affected();
    if gone == 0 {
        return Err(not_on());
    }
    Event::new("catalog.disable", true)
        .actor(actor)
        .record(&mut *tx)
        .await?;
    tx.commit().await?;
    tracing::info!(user.id = %user, "customer catalog turned off");
    Ok(())
}

/// The catalog key named `name` (absolute, any case), its secret opened; `None` when `name`
/// is no account's catalog or that catalog is off.
pub async fn key_by_name(
    pool: &PgPool,
    platform: &Platform,
    name: &Name,
) -> Result<Option<CatalogKey>, CoreError> {
    let Some(user) = account_of(platform, &name.to_lowercase()) else {
        return Ok(None);
    };
    key_of(pool, platform, user).await
}

async fn key_of(
    pool: &PgPool,
    platform: &Platform,
    user: UserId,
) -> Result<Option<CatalogKey>, CoreError> {
    let Some(r) = sqlx::query!(
        "SELECT c.key_algorithm, c.key_secret, u.email FROM account_catalogs c
           JOIN users u ON u.id = c.user_id WHERE c.user_id = $1",
        user.0
    )
    .fetch_optional(pool)
    .await?
    else {
        return Ok(None);
    };
    let master = platform.master_key.as_ref().ok_or_else(|| {
        CoreError::Internal("TSIG keys are kept sealed and APEX_MASTER_KEY is not set".into())
    })?;
    let secret = master
        .open(&seal_context(user), &r.key_secret)
        .map_err(|_| {
            CoreError::Internal(format!(
                "the catalog key of user {user} does not open with APEX_MASTER_KEY (wrong key?)"
            ))
        })?;
    Ok(Some(CatalogKey {
        user,
        email: r.email,
        name: zone_name(platform, user).to_ascii(),
        algorithm: r.key_algorithm,
        secret,
    }))
}

/// Notes a use of a catalog key: its last use, and an audit event on the account.
pub async fn record_use(
    pool: &PgPool,
    key: &CatalogKey,
    source: Option<IpAddr>,
    success: bool,
    detail: serde_json::Value,
) -> Result<(), CoreError> {
    sqlx::query!(
        "UPDATE account_catalogs SET key_last_used_at = now() WHERE user_id = $1",
        key.user.0
    )
    .execute(pool)
    .await?;
    Event::new("catalog_key.use", success)
        .credential(format!("catalog key {}", key.name))
        .subject(Some(key.user), key.email.clone())
        .source(source)
        .detail(detail)
        .record(pool)
        .await?;
    Ok(())
}

/// A catalog whose newest serial its secondaries have not been told about.
#[derive(Debug, Clone)]
pub struct Due {
    /// The catalog zone.
    pub zone: Name,
    /// Its serial now.
    pub serial: u32,
    /// Where NOTIFY goes.
    pub secondaries: Vec<SocketAddr>,
    /// Signs the NOTIFY.
    pub key: CatalogKey,
}

/// The stored NOTIFY targets, without those the platform no longer allows (stored while it
/// allowed non-public addresses).
fn targets(texts: &[String], platform: &Platform) -> Vec<SocketAddr> {
    texts
        .iter()
        .filter_map(|t| t.parse::<SocketAddr>().ok())
        .filter(|a| platform.secondary_allow_private || crate::address::refused(a.ip()).is_none())
        .collect()
}

/// The catalogs (all, or `user`'s) whose serial moved since their secondaries were last
/// notified, each brought up to date first ([`snapshot`]).
pub async fn due(
    pool: &PgPool,
    platform: &Platform,
    user: Option<UserId>,
) -> Result<Vec<Due>, CoreError> {
    let users = sqlx::query_scalar!(
        "SELECT user_id FROM account_catalogs WHERE $1::bigint IS NULL OR user_id = $1
          ORDER BY user_id",
        user.map(|u| u.0)
    )
    .fetch_all(pool)
    .await?;
    let mut out = Vec::new();
    for user in users.into_iter().map(UserId) {
        let Some((serial, _)) = snapshot(pool, user).await? else {
            continue;
        };
        let Some(r) = sqlx::query!(
            "SELECT notified_serial, secondaries FROM account_catalogs WHERE user_id = $1",
            user.0
        )
        .fetch_optional(pool)
        .await?
        else {
            continue;
        };
        if r.notified_serial.map(serial_from_db) == Some(serial) {
            continue;
        }
        let Some(key) = key_of(pool, platform, user).await? else {
            continue;
        };
        out.push(Due {
            zone: zone_name(platform, user),
            serial,
            secondaries: targets(&r.secondaries, platform),
            key,
        });
    }
    Ok(out)
}

/// Records that `user`'s catalog's secondaries were notified of `serial`.
pub async fn mark_notified(pool: &PgPool, user: UserId, serial: u32) -> Result<(), CoreError> {
    sqlx::query!(
        "UPDATE account_catalogs SET notified_serial = $2 WHERE user_id = $1",
        user.0,
        serial_to_db(serial)
    )
    .execute(pool)
    .await?;
    Ok(())
}

/// Where a member zone's NOTIFY goes besides the fleet: the secondaries of its owner's
/// catalog, with the key to sign with; `None` when the owner has no catalog.
pub async fn member_targets(
    pool: &PgPool,
    platform: &Platform,
    zone: &str,
) -> Result<Option<(Vec<SocketAddr>, CatalogKey)>, CoreError> {
    let Some(r) = sqlx::query!(
        "SELECT c.user_id, c.secondaries FROM account_catalogs c
           JOIN domain_members m ON m.user_id = c.user_id AND m.role = 'owner'
           JOIN domains d ON d.id = m.domain_id
          WHERE d.name = $1",
        zone.trim_end_matches('.').to_ascii_lowercase()
    )
    .fetch_optional(pool)
    .await?
    else {
        return Ok(None);
    };
    let list = targets(&r.secondaries, platform);
    if list.is_empty() {
        return Ok(None);
    }
    Ok(key_of(pool, platform, UserId(r.user_id))
        .await?
        .map(|k| (list, k)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn platform() -> Platform {
        crate::config::Config::defaults().platform().unwrap()
    }

    #[test]
    fn catalog_names_name_their_account() {
        let platform = platform();
        let zone = zone_name(&platform, UserId(42));
        assert_eq!(
            zone.to_ascii(),
            format!("42.{}", platform.catalog.to_ascii())
        );
        assert_eq!(account_of(&platform, &zone), Some(UserId(42)));
        for other in [
            platform.catalog.to_ascii(),
            format!("042.{}", platform.catalog.to_ascii()),
            format!("0.{}", platform.catalog.to_ascii()),
            format!("x.{}", platform.catalog.to_ascii()),
            format!("1.42.{}", platform.catalog.to_ascii()),
            "42.example.com.".to_string(),
        ] {
            assert_eq!(
                account_of(&platform, &Name::from_ascii(&other).unwrap()),
                None,
                "{other}"
            );
        }
    }

    #[test]
    fn secondaries_take_addresses_with_or_without_a_port() {
        let platform = platform();
        let list = secondaries(
            &[
                "9.9.9.9".into(),
                "9.9.9.10:5353".into(),
                "[2620:fe::fe]:5353".into(),
            ],
            &platform,
        )
        .unwrap();
        assert_eq!(list[0].port(), platform.secondary_notify_port);
        assert_eq!(list[1].port(), 5353);
        assert_eq!(list[2].to_string(), "[2620:fe::fe]:5353");
        // Documentation space is not public.
        let e = secondaries(&["9.9.9.9".into(), "[2001:db8::53]:53".into()], &platform)
            .unwrap_err()
            .to_string();
        assert!(e.contains("secondaries[1]"), "{e}");
        let e = secondaries(&["127.0.0.1".into()], &platform)
            .unwrap_err()
            .to_string();
        assert!(e.contains("secondaries[0]") && e.contains("public"), "{e}");
        let e = secondaries(&["ns1.example.net".into()], &platform)
            .unwrap_err()
            .to_string();
        assert!(e.contains("not an address"), "{e}");
        let e = secondaries(&["9.9.9.9".into(), "9.9.9.9:53".into()], &platform)
            .unwrap_err()
            .to_string();
        assert!(e.contains("twice"), "{e}");
    }
}
