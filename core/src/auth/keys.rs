//! API keys: a user's own (`/api/v1/keys`), acting as that user within their scopes, and a
//! domain's (`/api/v1/domains/{name}/keys`), acting on that domain alone whoever made them.
//!
//! A key is `apex_` and 64 hex digits, shown once; the database keeps its SHA-256. A key
//! never has more power than its user: its role on a domain is the smaller of the user's
//! membership role and the key's `role`, worked out at each request, so a membership change
//! takes effect at once. A key made by another key is contained in it.

use std::net::IpAddr;

use chrono::{DateTime, Utc};
use ipnet::IpNet;
use serde::{Deserialize, Serialize};
use sqlx::{PgExecutor, PgPool};

use crate::actor::{
    Actor, Credential, Impersonator, KeyScope, PlatformRoles, RecordScope, Role, Via,
};
use crate::audit::Event;
use crate::authz::{self, AccountAction, Action, KeyGrant, Request};
use crate::config::Require2fa;
use crate::domain::{self, Domain};
use crate::ids::{ApiKeyId, DomainId, UserId};
use crate::page::Window;
use crate::{Core, CoreError, mail};

/// How long a key's description may be.
const DESCRIPTION_MAX: usize = 100;
/// Most record patterns and networks per key.
const LIST_MAX: usize = 50;

/// A key as asked for: `POST /api/v1/keys` and `POST /api/v1/domains/{name}/keys`.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct KeyInput {
    /// What it is for (`certbot on web1`).
    pub description: String,
    /// When it stops working; none: never.
    pub expires_at: Option<DateTime<Utc>>,
    /// User keys: the domains it may act on; none: all of the user's, present and future.
    pub domains: Option<Vec<String>>,
    /// The highest role it may use (user keys: default `owner`, i.e. the user's own; domain
    /// keys: `read`, `write` or `admin`, default `write`).
    pub role: Option<Role>,
    /// The records it may write: `[{"name": "_acme-challenge.*", "types": ["TXT"]}]`; none:
    /// any.
    pub records: Option<Vec<RecordScope>>,
    /// Source networks it may be used from (`192.0.2.0/24`, `2001:db8::/32`, an address);
    /// none: anywhere.
    pub networks: Option<Vec<String>>,
    /// User keys: may manage its user's keys.
    #[serde(default)]
    pub manage_keys: bool,
    /// User keys: may share domains and leave them.
    #[serde(default)]
    pub manage_members: bool,
    /// User keys: may read and change its user's account.
    #[serde(default)]
    pub manage_account: bool,
    /// User keys: may use its user's platform roles (the admin API).
    #[serde(default)]
    pub platform_roles: bool,
}

/// A change to a key: fields left out keep their value; `null` clears an expiry, a
/// domain list, record limits or networks.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct KeyPatch {
    /// New description.
    pub description: Option<String>,
    /// New expiry (`null`: never).
    #[serde(default, deserialize_with = "double_option")]
    pub expires_at: Option<Option<DateTime<Utc>>>,
    /// New domain list (`null`: all of the user's).
    #[serde(default, deserialize_with = "double_option")]
    pub domains: Option<Option<Vec<String>>>,
    /// New highest role.
    pub role: Option<Role>,
    /// New record limits (`null`: any record).
    #[serde(default, deserialize_with = "double_option")]
    pub records: Option<Option<Vec<RecordScope>>>,
    /// New networks (`null`: anywhere).
    #[serde(default, deserialize_with = "double_option")]
    pub networks: Option<Option<Vec<String>>>,
    /// New flag.
    pub manage_keys: Option<bool>,
    /// New flag.
    pub manage_members: Option<bool>,
    /// New flag.
    pub manage_account: Option<bool>,
    /// New flag.
    pub platform_roles: Option<bool>,
}

/// Tells a field that is `null` from one that is absent.
fn double_option<'de, T: Deserialize<'de>, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

/// A key as the API shows it (never its token, except once at creation).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct KeyView {
    /// Id.
    pub id: ApiKeyId,
    /// `user` or `domain`.
    pub kind: &'static str,
    /// What it is for.
    pub description: String,
    /// The start of the token, to tell keys apart (`apex_3f9a1c0`).
    pub prefix: String,
    /// The domain a domain key belongs to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub domain: Option<String>,
    /// User keys: the domains it may act on (null: all of the user's).
    pub domains: Option<Vec<String>>,
    /// The highest role it may use.
    pub role: Role,
    /// The records it may write (null: any).
    pub records: Option<Vec<RecordScope>>,
    /// Source networks (null: anywhere).
    pub networks: Option<Vec<String>>,
    /// May manage keys.
    pub manage_keys: bool,
    /// May manage members.
    pub manage_members: bool,
    /// May manage the account.
    pub manage_account: bool,
    /// May use the user's platform roles.
    pub platform_roles: bool,
    /// Made by.
    pub created_by: Option<String>,
    /// Made at.
    pub created_at: DateTime<Utc>,
    /// Last used (to the minute).
    pub last_used_at: Option<DateTime<Utc>>,
    /// From where it was last used.
    pub last_used_ip: Option<String>,
    /// Stops working at.
    pub expires_at: Option<DateTime<Utc>>,
    /// Revoked at (revoked keys are listed until deleted from the list by nobody: forever).
    pub revoked_at: Option<DateTime<Utc>>,
}

/// A key just made: the token is here and nowhere else, ever.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CreatedKey {
    /// The key.
    #[serde(flatten)]
    pub key: KeyView,
    /// The secret, to keep now: it is not shown again.
    pub token: String,
}

/// The stored form of a key's limits.
struct Spec {
    description: String,
    expires_at: Option<DateTime<Utc>>,
    domain_ids: Option<Vec<DomainId>>,
    role: Role,
    records: Option<Vec<RecordScope>>,
    networks: Option<Vec<IpNet>>,
    manage_keys: bool,
    manage_members: bool,
    manage_account: bool,
    platform_roles: bool,
}

fn description(input: &str) -> Result<String, CoreError> {
    let d = input.trim();
    if d.is_empty() || d.chars().count() > DESCRIPTION_MAX {
        return Err(CoreError::invalid(
            "description",
            format!("must be 1 to {DESCRIPTION_MAX} characters"),
        ));
    }
    Ok(d.to_string())
}

fn expiry(at: Option<DateTime<Utc>>) -> Result<Option<DateTime<Utc>>, CoreError> {
    match at {
        Some(t) if t <= Utc::now() => Err(CoreError::invalid(
            "expires_at",
            "lies in the past: a key must expire in the future",
        )),
        other => Ok(other),
    }
}

pub(crate) fn records(
    input: Option<Vec<RecordScope>>,
) -> Result<Option<Vec<RecordScope>>, CoreError> {
    let Some(list) = input else { return Ok(None) };
    if list.is_empty() || list.len() > LIST_MAX {
        return Err(CoreError::invalid(
            "records",
            format!(
                "give 1 to {LIST_MAX} patterns, or leave it out (null) for any record; an empty list would allow nothing"
            ),
        ));
    }
    list.into_iter()
        .enumerate()
        .map(|(i, r)| {
            let name = r.name.trim().trim_end_matches('.').to_ascii_lowercase();
            let ok = !name.is_empty()
                && name.len() <= 253
                && name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_.*?".contains(c));
            if !ok {
                return Err(CoreError::invalid(
                    format!("records[{i}].name"),
                    format!(
                        "{:?} is not a name pattern (letters, digits, '-', '_', '.', and the wildcards '*' and '?')",
                        r.name
                    ),
                ));
            }
            let types = r
                .types
                .iter()
                .enumerate()
                .map(|(j, t)| {
                    apex_zone::content::parse_type(t)
                        .map(|rt| apex_zone::rdata::type_name(rt).to_string())
                        .map_err(|e| CoreError::invalid(format!("records[{i}].types[{j}]"), e))
                })
                .collect::<Result<Vec<_>, _>>()?;
            Ok(RecordScope { name, types })
        })
        .collect::<Result<Vec<_>, _>>()
        .map(Some)
}

/// Parses CIDR networks (a bare address is its own /32 or /128).
pub fn networks(input: Option<Vec<String>>) -> Result<Option<Vec<IpNet>>, CoreError> {
    let Some(list) = input else { return Ok(None) };
    if list.is_empty() || list.len() > LIST_MAX {
        return Err(CoreError::invalid(
            "networks",
            format!("give 1 to {LIST_MAX} networks, or leave it out (null) for anywhere"),
        ));
    }
    list.iter()
        .enumerate()
        .map(|(i, n)| {
            let n = n.trim();
            n.parse::<IpNet>()
                .map(|net| net.trunc())
                .or_else(|_| n.parse::<IpAddr>().map(IpNet::from))
                .map_err(|_| {
                    CoreError::invalid(
                        format!("networks[{i}]"),
                        format!("{n:?} is not an address or a network such as 192.0.2.0/24"),
                    )
                })
        })
        .collect::<Result<Vec<_>, _>>()
        .map(Some)
}

impl Spec {
    /// `api_keys.domain_ids`.
    fn domain_ids_db(&self) -> Option<Vec<i64>> {
        self.domain_ids
            .as_ref()
            .map(|l| l.iter().map(|d| d.0).collect())
    }

    /// `api_keys.record_scopes`.
    fn records_db(&self) -> Option<serde_json::Value> {
        self.records
            .as_ref()
            .map(|r| serde_json::to_value(r).unwrap_or_default())
    }

    /// `api_keys.networks`, canonical.
    fn networks_db(&self) -> Option<Vec<String>> {
        self.networks
            .as_ref()
            .map(|l| l.iter().map(ToString::to_string).collect())
    }

    /// The limits as authorization sees them.
    fn scope(&self) -> KeyScope {
        KeyScope {
            domains: self.domain_ids.clone(),
            networks: self.networks.clone(),
            expires_at: self.expires_at,
            max_role: self.role,
            records: self.records.clone(),
            manage_keys: self.manage_keys,
            manage_members: self.manage_members,
            manage_account: self.manage_account,
            platform_roles: self.platform_roles,
        }
    }

    /// Checks what may be asked of a user key, then whether the actor may grant it.
    /// `asks_roles`: the request turns `platform_roles` on (keys made with every permission
    /// have it whether or not their user holds any role).
    fn authorize_user_key(&self, actor: &Actor, asks_roles: bool) -> Result<(), CoreError> {
        let scope = self.scope();
        if scope.platform_roles {
            if asks_roles && !actor.roles.any() {
                return Err(CoreError::invalid(
                    "platform_roles",
                    "you hold no platform role for a key to use",
                ));
            }
            if scope.limited() {
                return Err(CoreError::invalid(
                    "platform_roles",
                    "a key that uses platform roles cannot be limited to domains, a role or records: set platform_roles to false to limit it",
                ));
            }
        }
        authz::authorize(
            actor,
            Request::GrantKey(KeyGrant {
                domain: None,
                scope: &scope,
            }),
        )
    }

    /// Checks what may be asked of a domain key, then whether the actor may grant it there.
    fn authorize_domain_key(&self, actor: &Actor, domain: &Domain) -> Result<(), CoreError> {
        if self.role == Role::Owner {
            return Err(CoreError::invalid(
                "role",
                "a domain key's role is read, write or admin",
            ));
        }
        authz::authorize(
            actor,
            Request::GrantKey(KeyGrant {
                domain: Some(domain.access()),
                scope: &self.scope(),
            }),
        )
    }
}

/// Resolves domain names to ids of domains the actor may see.
async fn domain_ids(
    core: &Core,
    actor: &Actor,
    names: Option<Vec<String>>,
) -> Result<Option<Vec<DomainId>>, CoreError> {
    let Some(names) = names else { return Ok(None) };
    if names.is_empty() || names.len() > 1000 {
        return Err(CoreError::invalid(
            "domains",
            "give 1 to 1000 domains, or leave it out (null) for all of yours",
        ));
    }
    let mut ids = Vec::with_capacity(names.len());
    for (i, name) in names.iter().enumerate() {
        match domain::load(&core.pool, actor, name, Action::Read).await {
            Ok(d) => ids.push(d.id),
            Err(CoreError::NotFound { .. }) => {
                return Err(CoreError::invalid(
                    format!("domains[{i}]"),
                    format!("no domain {name} among yours"),
                ));
            }
            Err(e) => return Err(e),
        }
    }
    ids.sort();
    ids.dedup();
    Ok(Some(ids))
}

fn token() -> Result<(String, String), CoreError> {
    let token = super::token::random_token("apex_")?;
    let prefix = token[..12].to_string();
    Ok((token, prefix))
}

/// Creates a key for `user` with everything its user may do; for the command line and the
/// first start.
pub async fn create_full(
    db: impl PgExecutor<'_>,
    user: UserId,
    description: &str,
) -> Result<(ApiKeyId, String), CoreError> {
    let description = self::description(description)?;
    let (token, prefix) = token()?;
    let id = sqlx::query_scalar!(
        r#"INSERT INTO api_keys (user_id, name, prefix, token_hash, created_by, max_role,
                                 manage_keys, manage_members, manage_account, platform_roles)
           VALUES ($1, $2, $3, $4, $1, 'owner', true, true, true, true)
           RETURNING id AS "id: ApiKeyId""#,
        user.0,
        description,
        prefix,
        super::token::token_hash(&token),
    )
    .fetch_one(db)
    .await?;
    Ok((id, token))
}

async fn insert(
    core: &Core,
    actor: &Actor,
    user: Option<UserId>,
    domain: Option<(DomainId, &str)>,
    spec: &Spec,
) -> Result<CreatedKey, CoreError> {
    let (token, prefix) = token()?;
    let mut tx = core.pool.begin().await?;
    let (domain_ids, networks) = (spec.domain_ids_db(), spec.networks_db());
    let id = sqlx::query_scalar!(
        r#"INSERT INTO api_keys (user_id, domain_id, name, prefix, token_hash, created_by, expires_at,
                                 domain_ids, max_role, record_scopes, networks, manage_keys,
                                 manage_members, manage_account, platform_roles)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)
           RETURNING id AS "id: ApiKeyId""#,
        user.map(|u| u.0),
        domain.map(|d| d.0.0),
        spec.description,
        prefix,
        super::token::token_hash(&token),
        actor.user_id.map(|u| u.0),
        spec.expires_at,
        domain_ids.as_deref(),
        spec.role as Role,
        spec.records_db(),
        networks.as_deref(),
        spec.manage_keys,
        spec.manage_members,
        spec.manage_account,
        spec.platform_roles,
    )
    .fetch_one(&mut *tx)
    .await?;
    let mut event = Event::new(
        if domain.is_some() {
            "domain_key.created"
        } else {
            "key.created"
        },
        true,
    )
    .actor(actor)
    .detail(serde_json::json!({"key_id": id, "description": spec.description}));
    if let Some((id, name)) = domain {
        event = event.domain(id, name);
    }
    event.record(&mut *tx).await?;
    if let (Some(user), None) = (user, domain)
        && let Some(email) = email_of(&mut *tx, user).await?
    {
        mail::enqueue(
            &mut *tx,
            Some(user),
            &email,
            &mail::Message::api_key_created(&spec.description, id, &core.occasion(actor.source)),
        )
        .await?;
    }
    tx.commit().await?;
    let key = show(&core.pool, id).await?;
    Ok(CreatedKey { key, token })
}

async fn email_of(db: impl PgExecutor<'_>, user: UserId) -> Result<Option<String>, CoreError> {
    Ok(
        sqlx::query_scalar!("SELECT email FROM users WHERE id = $1", user.0)
            .fetch_optional(db)
            .await?,
    )
}

/// Creates one of the actor's own keys.
pub async fn create_user_key(
    core: &Core,
    actor: &Actor,
    input: KeyInput,
) -> Result<CreatedKey, CoreError> {
    let user = authz::account(actor, AccountAction::ManageKeys)?;
    let spec = Spec {
        description: description(&input.description)?,
        expires_at: expiry(input.expires_at)?,
        domain_ids: domain_ids(core, actor, input.domains).await?,
        role: input.role.unwrap_or(Role::Owner),
        records: records(input.records)?,
        networks: networks(input.networks)?,
        manage_keys: input.manage_keys,
        manage_members: input.manage_members,
        manage_account: input.manage_account,
        platform_roles: input.platform_roles,
    };
    spec.authorize_user_key(actor, spec.platform_roles)?;
    let created = insert(core, actor, Some(user), None, &spec).await?;
    tracing::info!(key.id = %created.key.id, user.id = %user, "API key created");
    Ok(created)
}

/// Creates a key of a domain (needs `admin` there): it acts on that domain alone, and keeps
/// working whoever leaves.
pub async fn create_domain_key(
    core: &Core,
    actor: &Actor,
    zone: &str,
    input: KeyInput,
) -> Result<CreatedKey, CoreError> {
    let domain = domain::load(&core.pool, actor, zone, Action::ManageKeys).await?;
    if input.domains.is_some() {
        return Err(CoreError::invalid(
            "domains",
            "a domain key belongs to its domain; leave this out",
        ));
    }
    for (flag, on) in [
        ("manage_keys", input.manage_keys),
        ("manage_members", input.manage_members),
        ("manage_account", input.manage_account),
        ("platform_roles", input.platform_roles),
    ] {
        if on {
            return Err(CoreError::invalid(
                flag,
                "a domain key acts on records and settings of its domain only",
            ));
        }
    }
    let role = input.role.unwrap_or(Role::Write);
    let spec = Spec {
        description: description(&input.description)?,
        expires_at: expiry(input.expires_at)?,
        domain_ids: None,
        role,
        records: records(input.records)?,
        networks: networks(input.networks)?,
        manage_keys: false,
        manage_members: false,
        manage_account: false,
        platform_roles: false,
    };
    spec.authorize_domain_key(actor, &domain)?;
    let created = insert(core, actor, None, Some((domain.id, &domain.name)), &spec).await?;
    tracing::info!(key.id = %created.key.id, zone.name = %domain.zone, "domain key created");
    Ok(created)
}

struct Row {
    id: ApiKeyId,
    user_id: Option<i64>,
    domain: Option<String>,
    name: String,
    prefix: String,
    domain_ids: Option<Vec<i64>>,
    domain_names: Option<Vec<String>>,
    max_role: Role,
    record_scopes: Option<serde_json::Value>,
    networks: Option<Vec<String>>,
    manage_keys: bool,
    manage_members: bool,
    manage_account: bool,
    platform_roles: bool,
    created_by: Option<String>,
    created_at: DateTime<Utc>,
    last_used_at: Option<DateTime<Utc>>,
    last_used_ip: Option<String>,
    expires_at: Option<DateTime<Utc>>,
    revoked_at: Option<DateTime<Utc>>,
}

impl Row {
    fn view(self) -> KeyView {
        KeyView {
            id: self.id,
            kind: if self.user_id.is_some() {
                "user"
            } else {
                "domain"
            },
            description: self.name,
            prefix: self.prefix,
            domain: self.domain,
            domains: self
                .domain_ids
                .map(|_| self.domain_names.unwrap_or_default()),
            role: self.max_role,
            records: self
                .record_scopes
                .and_then(|v| serde_json::from_value(v).ok()),
            networks: self.networks,
            manage_keys: self.manage_keys,
            manage_members: self.manage_members,
            manage_account: self.manage_account,
            platform_roles: self.platform_roles,
            created_by: self.created_by,
            created_at: self.created_at,
            last_used_at: self.last_used_at,
            last_used_ip: self.last_used_ip,
            expires_at: self.expires_at,
            revoked_at: self.revoked_at,
        }
    }
}

/// The keys of a user (`user`) or of a domain (`domain`), newest first.
async fn rows(
    pool: &PgPool,
    id: Option<ApiKeyId>,
    user: Option<UserId>,
    domain: Option<DomainId>,
) -> Result<Vec<KeyView>, CoreError> {
    rows_in(pool, id, user, domain, &Window::all()).await
}

/// Keys newest first (by id, descending); a page starts below an id.
async fn rows_in(
    pool: &PgPool,
    id: Option<ApiKeyId>,
    user: Option<UserId>,
    domain: Option<DomainId>,
    window: &Window<i64>,
) -> Result<Vec<KeyView>, CoreError> {
    let rows = sqlx::query_as!(
        Row,
        r#"SELECT k.id AS "id: ApiKeyId", k.user_id, d.name AS "domain?", k.name, k.prefix,
                  k.domain_ids,
                  (SELECT array_agg(x.name ORDER BY x.name) FROM domains x WHERE x.id = ANY(k.domain_ids)) AS domain_names,
                  k.max_role AS "max_role: Role", k.record_scopes, k.networks, k.manage_keys,
                  k.manage_members, k.manage_account, k.platform_roles, c.email AS "created_by?",
                  k.created_at, k.last_used_at, k.last_used_ip, k.expires_at, k.revoked_at
             FROM api_keys k
             LEFT JOIN domains d ON d.id = k.domain_id
             LEFT JOIN users c ON c.id = k.created_by
            WHERE ($1::bigint IS NULL OR k.id = $1)
              AND ($2::bigint IS NULL OR k.user_id = $2)
              AND ($3::bigint IS NULL OR k.domain_id = $3)
              AND ($4::bigint IS NULL OR k.id < $4)
            ORDER BY k.id DESC
            LIMIT $5"#,
        id.map(|k| k.0),
        user.map(|u| u.0),
        domain.map(|d| d.0),
        window.after,
        window.limit,
    )
    .fetch_all(pool)
    .await?;
    Ok(rows.into_iter().map(Row::view).collect())
}

async fn show(pool: &PgPool, id: ApiKeyId) -> Result<KeyView, CoreError> {
    rows(pool, Some(id), None, None)
        .await?
        .pop()
        .ok_or_else(|| not_found(id))
}

fn not_found(id: ApiKeyId) -> CoreError {
    CoreError::NotFound {
        what: "key",
        name: id.to_string(),
    }
}

/// The actor's own keys.
pub async fn list_user_keys(
    core: &Core,
    actor: &Actor,
    window: &Window<i64>,
) -> Result<Vec<KeyView>, CoreError> {
    let user = authz::account(actor, AccountAction::ReadKeys)?;
    rows_in(&core.pool, None, Some(user), None, window).await
}

/// One of the actor's own keys.
pub async fn user_key(core: &Core, actor: &Actor, id: ApiKeyId) -> Result<KeyView, CoreError> {
    let user = authz::account(actor, AccountAction::ReadKeys)?;
    rows(&core.pool, Some(id), Some(user), None)
        .await?
        .pop()
        .ok_or_else(|| not_found(id))
}

/// The keys of a domain (needs `admin` there).
pub async fn list_domain_keys(
    core: &Core,
    actor: &Actor,
    zone: &str,
    window: &Window<i64>,
) -> Result<Vec<KeyView>, CoreError> {
    let domain = domain::load(&core.pool, actor, zone, Action::ManageKeys).await?;
    rows_in(&core.pool, None, None, Some(domain.id), window).await
}

/// One key of a domain.
pub async fn domain_key(
    core: &Core,
    actor: &Actor,
    zone: &str,
    id: ApiKeyId,
) -> Result<KeyView, CoreError> {
    let domain = domain::load(&core.pool, actor, zone, Action::ManageKeys).await?;
    rows(&core.pool, Some(id), None, Some(domain.id))
        .await?
        .pop()
        .ok_or_else(|| not_found(id))
}

/// Changes one of the actor's own keys: the result must still fit what the actor may grant.
pub async fn update_user_key(
    core: &Core,
    actor: &Actor,
    id: ApiKeyId,
    patch: KeyPatch,
) -> Result<KeyView, CoreError> {
    let user = authz::account(actor, AccountAction::ManageKeys)?;
    let old = rows(&core.pool, Some(id), Some(user), None)
        .await?
        .pop()
        .ok_or_else(|| not_found(id))?;
    if old.revoked_at.is_some() {
        return Err(CoreError::conflict("id", "this key is revoked"));
    }
    let spec = Spec {
        description: description(patch.description.as_deref().unwrap_or(&old.description))?,
        expires_at: match patch.expires_at {
            Some(e) => expiry(e)?,
            None => old.expires_at,
        },
        domain_ids: match patch.domains {
            Some(names) => domain_ids(core, actor, names).await?,
            // Unchanged: the ids as stored (a deleted domain stays out of reach).
            None => sqlx::query_scalar!("SELECT domain_ids FROM api_keys WHERE id = $1", id.0)
                .fetch_one(&core.pool)
                .await?
                .map(|l| l.into_iter().map(DomainId).collect()),
        },
        role: patch.role.unwrap_or(old.role),
        records: records(patch.records.unwrap_or(old.records))?,
        networks: networks(patch.networks.unwrap_or(old.networks))?,
        manage_keys: patch.manage_keys.unwrap_or(old.manage_keys),
        manage_members: patch.manage_members.unwrap_or(old.manage_members),
        manage_account: patch.manage_account.unwrap_or(old.manage_account),
        platform_roles: patch.platform_roles.unwrap_or(old.platform_roles),
    };
    let mut spec = spec;
    if patch.platform_roles.is_none() && !actor.roles.any() {
        // A full key of a user with no platform role: the flag gives nothing, and must not
        // stand in the way of limiting the key.
        spec.platform_roles = false;
    }
    spec.authorize_user_key(
        actor,
        patch.platform_roles == Some(true) && !old.platform_roles,
    )?;
    let mut tx = core.pool.begin().await?;
    store(&mut *tx, id, &spec).await?;
    Event::new("key.updated", true)
        .actor(actor)
        .detail(serde_json::json!({"key_id": id}))
        .record(&mut *tx)
        .await?;
    tx.commit().await?;
    show(&core.pool, id).await
}

/// Changes a key of a domain.
pub async fn update_domain_key(
    core: &Core,
    actor: &Actor,
    zone: &str,
    id: ApiKeyId,
    patch: KeyPatch,
) -> Result<KeyView, CoreError> {
    let domain = domain::load(&core.pool, actor, zone, Action::ManageKeys).await?;
    let old = rows(&core.pool, Some(id), None, Some(domain.id))
        .await?
        .pop()
        .ok_or_else(|| not_found(id))?;
    if old.revoked_at.is_some() {
        return Err(CoreError::conflict("id", "this key is revoked"));
    }
    if patch.domains.is_some()
        || patch.manage_keys == Some(true)
        || patch.manage_members == Some(true)
        || patch.manage_account == Some(true)
        || patch.platform_roles == Some(true)
    {
        return Err(CoreError::invalid(
            "role",
            "a domain key acts on records and settings of its domain only",
        ));
    }
    let role = patch.role.unwrap_or(old.role);
    let spec = Spec {
        description: description(patch.description.as_deref().unwrap_or(&old.description))?,
        expires_at: match patch.expires_at {
            Some(e) => expiry(e)?,
            None => old.expires_at,
        },
        domain_ids: None,
        role,
        records: records(patch.records.unwrap_or(old.records))?,
        networks: networks(patch.networks.unwrap_or(old.networks))?,
        manage_keys: false,
        manage_members: false,
        manage_account: false,
        platform_roles: false,
    };
    spec.authorize_domain_key(actor, &domain)?;
    let mut tx = core.pool.begin().await?;
    store(&mut *tx, id, &spec).await?;
    Event::new("domain_key.updated", true)
        .actor(actor)
        .domain(domain.id, domain.name.clone())
        .detail(serde_json::json!({"key_id": id}))
        .record(&mut *tx)
        .await?;
    tx.commit().await?;
    show(&core.pool, id).await
}

async fn store(db: impl PgExecutor<'_>, id: ApiKeyId, spec: &Spec) -> Result<(), CoreError> {
    let (domain_ids, networks) = (spec.domain_ids_db(), spec.networks_db());
    sqlx::query!(
        r#"UPDATE api_keys SET name = $2, expires_at = $3, domain_ids = $4, max_role = $5,
                  record_scopes = $6, networks = $7, manage_keys = $8, manage_members = $9,
                  manage_account = $10, platform_roles = $11
            WHERE id = $1"#,
        id.0,
        spec.description,
        spec.expires_at,
        domain_ids.as_deref(),
        spec.role as Role,
        spec.records_db(),
        networks.as_deref(),
        spec.manage_keys,
        spec.manage_members,
        spec.manage_account,
        spec.platform_roles,
    )
    .execute(db)
    .await?;
    Ok(())
}

/// Revokes one of the actor's own keys, at once.
pub async fn revoke_user_key(
    core: &Core,
    actor: &Actor,
    id: ApiKeyId,
) -> Result<KeyView, CoreError> {
    let user = authz::account(actor, AccountAction::ManageKeys)?;
    let mut tx = core.pool.begin().await?;
    let row = sqlx::query!(
        r#"UPDATE api_keys SET revoked_at = COALESCE(revoked_at, now())
            WHERE id = $1 AND user_id = $2 RETURNING name"#,
        id.0,
        user.0,
    )
    .fetch_optional(&mut *tx)
    .await?
    .ok_or_else(|| not_found(id))?;
    Event::new("key.revoked", true)
        .actor(actor)
        .detail(serde_json::json!({"key_id": id, "description": row.name}))
        .record(&mut *tx)
        .await?;
    if let Some(email) = email_of(&mut *tx, user).await? {
        mail::enqueue(
            &mut *tx,
            Some(user),
            &email,
            &mail::Message::api_key_revoked(&row.name, id, &core.occasion(actor.source)),
        )
        .await?;
    }
    tx.commit().await?;
    tracing::info!(key.id = %id, user.id = %user, "API key revoked");
    show(&core.pool, id).await
}

/// Revokes a key of a domain, at once.
pub async fn revoke_domain_key(
    core: &Core,
    actor: &Actor,
    zone: &str,
    id: ApiKeyId,
) -> Result<KeyView, CoreError> {
    let domain = domain::load(&core.pool, actor, zone, Action::ManageKeys).await?;
    let mut tx = core.pool.begin().await?;
    let row = sqlx::query!(
        r#"UPDATE api_keys SET revoked_at = COALESCE(revoked_at, now())
            WHERE id = $1 AND domain_id = $2 RETURNING name"#,
        id.0,
        domain.id.0,
    )
    .fetch_optional(&mut *tx)
    .await?
    .ok_or_else(|| not_found(id))?;
    Event::new("domain_key.revoked", true)
        .actor(actor)
        .domain(domain.id, domain.name.clone())
        .detail(serde_json::json!({"key_id": id, "description": row.name}))
        .record(&mut *tx)
        .await?;
    tx.commit().await?;
    tracing::info!(key.id = %id, zone.name = %domain.zone, "domain key revoked");
    show(&core.pool, id).await
}

/// Why a presented key was refused (all answered 401 alike; the audit log tells apart).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Refusal {
    Revoked,
    Expired,
    Network,
    UserDisabled,
}

impl Refusal {
    fn as_str(self) -> &'static str {
        match self {
            Refusal::Revoked => "revoked",
            Refusal::Expired => "expired",
            Refusal::Network => "outside its networks",
            Refusal::UserDisabled => "its user is disabled",
        }
    }
}

/// Finds the actor behind a bearer token presented from `source`. Unknown tokens,
/// revoked or expired keys, keys used from outside their networks and keys of disabled
/// users are all `Unauthenticated`; every refusal of a real key is audited.
pub async fn authenticate(
    core: &Core,
    token: &str,
    source: Option<IpAddr>,
    via: Via,
) -> Result<Actor, CoreError> {
    if !token.starts_with("apex_") || token.len() != 69 {
        return Err(CoreError::Unauthenticated);
    }
    let row = sqlx::query!(
        r#"SELECT k.id AS "id: ApiKeyId", k.user_id, k.domain_id, k.revoked_at, k.expires_at,
                  k.domain_ids, k.max_role AS "max_role: Role", k.record_scopes, k.networks,
                  k.manage_keys, k.manage_members, k.manage_account, k.platform_roles,
                  (k.last_used_at IS NULL OR k.last_used_at < now() - interval '1 minute'
                   OR k.last_used_ip IS DISTINCT FROM $2) AS "touch!",
                  u.email AS "email?", u.is_admin AS "is_admin?", u.permissions AS "permissions?",
                  u.disabled_at, u.totp_enabled_at
             FROM api_keys k LEFT JOIN users u ON u.id = k.user_id
            WHERE k.token_hash = $1"#,
        super::token::token_hash(token),
        source.map(|ip| ip.to_string()),
    )
    .fetch_optional(&core.pool)
    .await?
    .ok_or(CoreError::Unauthenticated)?;
    let networks: Option<Vec<IpNet>> = row
        .networks
        .as_ref()
        .map(|l| l.iter().filter_map(|n| n.parse().ok()).collect());
    let refusal = if row.revoked_at.is_some() {
        Some(Refusal::Revoked)
    } else if row.expires_at.is_some_and(|t| t <= Utc::now()) {
        Some(Refusal::Expired)
    } else if networks
        .as_ref()
        .is_some_and(|nets| !source.is_some_and(|ip| nets.iter().any(|n| n.contains(&ip))))
    {
        Some(Refusal::Network)
    } else if row.disabled_at.is_some() {
        Some(Refusal::UserDisabled)
    } else {
        None
    };
    let label = if row.user_id.is_some() {
        format!("api_key:{}", row.id)
    } else {
        format!("domain_key:{}", row.id)
    };
    if let Some(why) = refusal {
        let mut event = Event::new("key.refused", false)
            .credential(label)
            .source(source)
            .detail(serde_json::json!({"key_id": row.id, "reason": why.as_str()}));
        if let (Some(user), Some(email)) = (row.user_id, &row.email) {
            event = event.subject(Some(UserId(user)), email.clone());
        }
        if let Some(d) = row.domain_id {
            event = event.domain(DomainId(d), "");
        }
        event.record_quietly(&core.pool).await;
        tracing::info!(key.id = %row.id, reason = why.as_str(), "API key refused");
        return Err(CoreError::Unauthenticated);
    }
    if row.touch {
        // Coarse on purpose: one write per key per minute at most, not one per request.
        sqlx::query!(
            "UPDATE api_keys SET last_used_at = now(), last_used_ip = $2 WHERE id = $1",
            row.id.0,
            source.map(|ip| ip.to_string()),
        )
        .execute(&core.pool)
        .await?;
    }
    // Limits that do not read back must not read as "no limits".
    let records: Option<Vec<RecordScope>> = match row.record_scopes {
        None => None,
        Some(v) => match serde_json::from_value(v) {
            Ok(r) => Some(r),
            Err(e) => {
                tracing::error!(key.id = %row.id, error = %e, "a key's record limits do not read; refused");
                return Err(CoreError::Unauthenticated);
            }
        },
    };
    let roles = PlatformRoles::from_db(
        row.is_admin.unwrap_or(false),
        row.permissions.as_deref().unwrap_or_default(),
    );
    let credential = match (row.user_id, row.domain_id) {
        (_, Some(domain)) => Credential::DomainKey {
            id: row.id,
            domain: DomainId(domain),
            role: row.max_role,
            records,
        },
        _ => Credential::UserKey {
            id: row.id,
            scope: KeyScope {
                domains: row
                    .domain_ids
                    .map(|l| l.into_iter().map(DomainId).collect()),
                networks,
                expires_at: row.expires_at,
                max_role: row.max_role,
                records,
                manage_keys: row.manage_keys,
                manage_members: row.manage_members,
                manage_account: row.manage_account,
                platform_roles: row.platform_roles,
            },
        },
    };
    let needs_2fa = row.user_id.is_some()
        && row.totp_enabled_at.is_none()
        && second_factor_required(core, &roles);
    Ok(Actor {
        user_id: row.user_id.map(UserId),
        email: row.email,
        roles,
        credential,
        impersonator: None::<Impersonator>,
        needs_2fa,
        via,
        source,
    })
}

/// Does the platform require a second factor of a user with these roles?
pub fn second_factor_required(core: &Core, roles: &PlatformRoles) -> bool {
    match core.platform.accounts.require_2fa {
        Require2fa::Off => false,
        Require2fa::Admins => roles.any(),
        Require2fa::All => true,
    }
}
