//! Domains (zones): create, list, show, delete. Each write is one transaction that also
//! appends its change and moves the zone's wanted serial; the queue is told after commit.

use apex_zone::name::ZoneName;
use apex_zone::serial::{self, SerialPolicy};
use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::{PgExecutor, Postgres, Transaction};

use crate::auth::{Actor, Credential, Permission};
use crate::authz::{self, Action, DomainAccess, Request, Role};
use crate::changes::{self, Change, NewChange};
use crate::db::{serial_from_db, serial_to_db};
use crate::ids::DomainId;
use crate::settings::{self, Settings, SoaTimers, SoaView};
use crate::{Core, CoreError, catalog};

/// A domain row with the actor's role on it, after authorization.
#[derive(Debug, Clone)]
pub struct Domain {
    /// Id.
    pub id: DomainId,
    /// Parsed name.
    pub zone: ZoneName,
    /// The name as text (A-labels, no final dot).
    pub name: String,
    /// Serial the newest change asks for.
    pub wanted_serial: u32,
    /// Serial of the newest published version.
    pub published_serial: Option<u32>,
    /// The acting user's membership role (None for a domain key, or a platform
    /// administrator acting on another's domain).
    pub role: Option<Role>,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Last published.
    pub published_at: Option<DateTime<Utc>>,
    /// Serial policy and SOA timers.
    pub settings: Settings,
    /// The domain's own secondaries outside the fleet.
    pub secondaries: Vec<crate::secondaries::Secondary>,
}

/// The columns every domain query reads, mapped once into [`Domain`].
struct DomainRow {
    id: DomainId,
    name: String,
    wanted_serial: i64,
    published_serial: Option<i64>,
    created_at: DateTime<Utc>,
    published_at: Option<DateTime<Utc>>,
    role: Option<Role>,
    serial_policy: String,
    soa_refresh: Option<i32>,
    soa_retry: Option<i32>,
    soa_expire: Option<i32>,
    soa_minimum: Option<i32>,
    soa_ttl: Option<i32>,
    dnssec_state: String,
    dnssec_algorithm: String,
    dnssec_denial: String,
    dnssec_split_keys: bool,
    dnssec_disabling_since: Option<DateTime<Utc>>,
    secondaries: serde_json::Value,
}

impl DomainRow {
    fn into_domain(self, zone: ZoneName) -> Domain {
        Domain {
            id: self.id,
            name: zone.as_text(),
            zone,
            wanted_serial: serial_from_db(self.wanted_serial),
            published_serial: self.published_serial.map(serial_from_db),
            role: self.role,
            created_at: self.created_at,
            published_at: self.published_at,
            settings: Settings {
                serial_policy: settings::policy_from_db(&self.serial_policy),
                soa: SoaTimers::from_db(
                    self.soa_refresh,
                    self.soa_retry,
                    self.soa_expire,
                    self.soa_minimum,
                    self.soa_ttl,
                ),
                dnssec: crate::dnssec::Settings::from_db(
                    &self.dnssec_state,
                    &self.dnssec_algorithm,
                    &self.dnssec_denial,
                    self.dnssec_split_keys,
                    self.dnssec_disabling_since,
                ),
            },
            secondaries: crate::secondaries::from_db(self.secondaries),
        }
    }
}

crate::text_enum! {
    /// Whether a zone's newest change is out.
    pub enum ZoneState {
        /// A change waits for the worker (the wanted serial is ahead of the published one).
        Pending = "pending",
        /// The newest change is published.
        Published = "published",
    }
}

/// A domain as the API shows it.
#[derive(Debug, Clone, Serialize)]
pub struct DomainView {
    /// A-label form: `xn--bcher-kva.example`.
    pub name: String,
    /// Unicode form: `bücher.example`.
    pub name_unicode: String,
    /// Serial of the newest change.
    pub serial: u32,
    /// Serial the nameservers have been given (null until the first publish).
    pub published_serial: Option<u32>,
    /// Whether the newest change is published.
    pub state: ZoneState,
    /// The platform nameservers to delegate to.
    pub nameservers: Vec<String>,
    /// Your role on it.
    pub role: Option<Role>,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Last published.
    pub published_at: Option<DateTime<Utc>>,
    /// `date` (YYYYMMDDnn) or `unixtime`.
    pub serial_policy: &'static str,
    /// The SOA as served: the platform's names, the domain's timers.
    pub soa: SoaView,
    /// DNSSEC: `off`, `signed` or `disabling` (details at `/dnssec`).
    pub dnssec: crate::dnssec::State,
    /// The domain's own nameservers outside the platform: in the apex NS set, sent NOTIFY,
    /// allowed to transfer the zone from their addresses.
    pub secondaries: Vec<crate::secondaries::Secondary>,
}

impl Domain {
    /// The domain as authorization sees it.
    pub fn access(&self) -> DomainAccess<'_> {
        DomainAccess {
            id: self.id,
            name: &self.name,
            member: self.role,
        }
    }

    /// Authorizes a further action on this loaded domain (each record of a write).
    pub fn authorize(&self, actor: &Actor, action: Action<'_>) -> Result<(), CoreError> {
        authz::domain(actor, self.access(), action)
    }

    /// The API view.
    pub fn view(&self, core: &Core) -> DomainView {
        DomainView {
            name: self.zone.as_text(),
            name_unicode: self.zone.to_unicode(),
            serial: self.wanted_serial,
            published_serial: self.published_serial,
            state: if self.published_serial == Some(self.wanted_serial) {
                ZoneState::Published
            } else {
                ZoneState::Pending
            },
            nameservers: core
                .platform
                .apex_ns
                .hosts
                .iter()
                .map(|n| n.to_ascii())
                .collect(),
            role: self.role,
            created_at: self.created_at,
            published_at: self.published_at,
            serial_policy: settings::policy_name(self.settings.serial_policy),
            soa: SoaView::of(&self.settings.soa.apply(&core.platform.soa)),
            dnssec: self.settings.dnssec.state,
            secondaries: self.secondaries.clone(),
        }
    }
}

pub(crate) fn parse_zone(name: &str) -> Result<ZoneName, CoreError> {
    ZoneName::parse(name).map_err(|e| CoreError::invalid("name", e))
}

fn not_found(name: &str) -> CoreError {
    CoreError::NotFound {
        what: "domain",
        name: name.to_string(),
    }
}

/// Loads a domain for `action`, checking authorization. This is the one door to a domain.
pub async fn load(
    db: impl PgExecutor<'_>,
    actor: &Actor,
    name: &str,
    action: Action<'_>,
) -> Result<Domain, CoreError> {
    let zone = ZoneName::parse(name).map_err(|_| not_found(name))?;
    let row = sqlx::query_as!(
        DomainRow,
        r#"SELECT d.id AS "id: DomainId", d.name, d.wanted_serial, d.published_serial, d.created_at, d.published_at,
                  m.role AS "role: Role", d.serial_policy,
                  d.soa_refresh, d.soa_retry, d.soa_expire, d.soa_minimum, d.soa_ttl,
                  d.dnssec_state, d.dnssec_algorithm, d.dnssec_denial, d.dnssec_split_keys,
                  d.dnssec_disabling_since, d.secondaries
             FROM domains d LEFT JOIN domain_members m ON m.domain_id = d.id AND m.user_id = $2
            WHERE d.name = $1"#,
        zone.as_text(),
        actor.user_id.map(|u| u.0),
    )
    .fetch_optional(db)
    .await?
    .ok_or_else(|| not_found(name))?;
    let domain = row.into_domain(zone);
    domain.authorize(actor, action)?;
    Ok(domain)
}

/// Loads a domain by id for the platform's own work (publishing), with no actor: no role, no
/// authorization. `None` if it is gone.
pub(crate) async fn by_id(
    db: impl PgExecutor<'_>,
    id: DomainId,
) -> Result<Option<Domain>, CoreError> {
    let Some(row) = sqlx::query_as!(
        DomainRow,
        r#"SELECT d.id AS "id: DomainId", d.name, d.wanted_serial, d.published_serial, d.created_at, d.published_at,
                  NULL::domain_role AS "role?: Role", d.serial_policy,
                  d.soa_refresh, d.soa_retry, d.soa_expire, d.soa_minimum, d.soa_ttl,
                  d.dnssec_state, d.dnssec_algorithm, d.dnssec_denial, d.dnssec_split_keys,
                  d.dnssec_disabling_since, d.secondaries
             FROM domains d WHERE d.id = $1"#,
        id.0,
    )
    .fetch_optional(db)
    .await?
    else {
        return Ok(None);
    };
    // Stored names were parsed on the way in; read them as the worker always has.
    let zone = apex_zone::Name::from_ascii(format!("{}.", row.name))
        .map(ZoneName::from_name)
        .map_err(|e| CoreError::Internal(format!("stored zone name {:?}: {e}", row.name)))?;
    Ok(Some(row.into_domain(zone)))
}

/// Loads and locks a domain for a write in `tx`: concurrent writes to one zone queue up here,
/// so rules across records (CNAME exclusivity) and serials stay consistent.
pub async fn lock(
    tx: &mut Transaction<'_, Postgres>,
    actor: &Actor,
    name: &str,
    action: Action<'_>,
) -> Result<Domain, CoreError> {
    let zone = ZoneName::parse(name).map_err(|_| not_found(name))?;
    sqlx::query!(
        "SELECT id FROM domains WHERE name = $1 FOR UPDATE",
        zone.as_text()
    )
    .fetch_optional(&mut **tx)
    .await?
    .ok_or_else(|| not_found(name))?;
    load(&mut **tx, actor, name, action).await
}

/// Moves the domain's wanted serial forward under its serial policy and returns it.
pub async fn bump_serial(
    tx: &mut Transaction<'_, Postgres>,
    domain: &Domain,
) -> Result<u32, CoreError> {
    bump_serial_with(tx, domain, domain.settings.serial_policy).await
}

/// Moves the domain's wanted serial forward under `policy` (a policy being switched to).
pub async fn bump_serial_with(
    tx: &mut Transaction<'_, Postgres>,
    domain: &Domain,
    policy: SerialPolicy,
) -> Result<u32, CoreError> {
    let next = serial::next(Some(domain.wanted_serial), policy, Utc::now());
    sqlx::query!(
        "UPDATE domains SET wanted_serial = $2, updated_at = now() WHERE id = $1",
        domain.id.0,
        serial_to_db(next),
    )
    .execute(&mut **tx)
    .await?;
    Ok(next)
}

fn catalog_id() -> Result<String, CoreError> {
    let mut b = [0u8; 8];
    ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut b)
        .map_err(|_| CoreError::Internal("random number generator failed".into()))?;
    Ok(hex::encode(b))
}

/// Zones may nest (a customer giving `dev.example.com` a zone of its own), but only for someone
/// who administers the zone nested into or under: the fleet answers from the most specific
/// zone it has, so otherwise anyone could take over names inside another customer's zone.
/// Creations are serialised by an advisory lock so two cannot race past this check (nor past
/// the quota).
async fn check_overlap(
    tx: &mut Transaction<'_, Postgres>,
    actor: &Actor,
    zone: &ZoneName,
) -> Result<(), CoreError> {
    sqlx::query!("SELECT pg_advisory_xact_lock(hashtext('apex.domains.create'))")
        .execute(&mut **tx)
        .await?;
    let overlapping = sqlx::query!(
        r#"SELECT d.id AS "id: DomainId", d.name, m.role AS "role: Role"
             FROM domains d LEFT JOIN domain_members m ON m.domain_id = d.id AND m.user_id = $2
            WHERE right($1, length(d.name) + 1) = '.' || d.name
               OR right(d.name, length($1) + 1) = '.' || $1"#,
        zone.as_text(),
        actor.user_id.map(|u| u.0),
    )
    .fetch_all(&mut **tx)
    .await?;
    let foreign = overlapping.iter().any(|o| {
        let access = DomainAccess {
            id: o.id,
            name: &o.name,
            member: o.role,
        };
        authz::domain(actor, access, Action::Administer).is_err()
    });
    if foreign {
        return Err(CoreError::conflict(
            "name",
            format!(
                "{zone} lies inside or above a zone of another account; ask its administrators to create it"
            ),
        ));
    }
    Ok(())
}

/// Public suffixes (`co.uk`, `github.io`, any top-level domain) hold other people's names:
/// only holders of `create_domains` may create them (a registry running on the platform).
fn check_public_suffix(actor: &Actor, zone: &ZoneName) -> Result<(), CoreError> {
    let name = zone.as_text();
    let Some(suffix) = psl::suffix(name.as_bytes()) else {
        return Ok(());
    };
    if suffix.as_bytes() != name.as_bytes() || authz::holds(actor, Permission::CreateDomains) {
        return Ok(());
    }
    let rule = match suffix.typ() {
        Some(psl::Type::Icann) => "it is a public suffix (ICANN section of the Public Suffix List)",
        Some(psl::Type::Private) => {
            "it is a public suffix (private section of the Public Suffix List: its operator gives names under it to others)"
        }
        None => "it is a top-level domain",
    };
    Err(CoreError::Forbidden(format!(
        "{name} cannot be created: {rule}, so names under it belong to different people; only a platform administrator can create it"
    )))
}

/// Each user owns at most their quota of domains (theirs, else `APEX_DOMAIN_QUOTA`), unless
/// they hold `create_domains`. Runs under the creation lock.
async fn check_quota(
    tx: &mut Transaction<'_, Postgres>,
    core: &Core,
    actor: &Actor,
) -> Result<(), CoreError> {
    let user = actor.user()?;
    if authz::holds(actor, Permission::CreateDomains) {
        return Ok(());
    }
    quota_allows_one_more(tx, core, user, "you").await
}

/// Refuses when `user` owns their quota of domains already (theirs, else the platform's),
/// unless they hold `create_domains`. `who` is how the message names them ("you", an
/// address). Runs under a lock that keeps others from changing what they own meanwhile.
pub(crate) async fn quota_allows_one_more(
    tx: &mut Transaction<'_, Postgres>,
    core: &Core,
    user: crate::ids::UserId,
    who: &str,
) -> Result<(), CoreError> {
    let row = sqlx::query!(
        r#"SELECT u.domain_quota, u.is_admin, u.permissions,
                  (SELECT count(*) FROM domain_members m WHERE m.user_id = u.id AND m.role = 'owner') AS "owned!"
             FROM users u WHERE u.id = $1"#,
        user.0,
    )
    .fetch_one(&mut **tx)
    .await?;
    if crate::auth::PlatformRoles::from_db(row.is_admin, &row.permissions)
        .has(Permission::CreateDomains)
    {
        return Ok(());
    }
    let (limit, whose) = match row.domain_quota {
        Some(q) => (
            i64::from(q),
            "the limit an administrator set for the account",
        ),
        None => (
            i64::from(core.platform.accounts.domain_quota),
            "the platform's limit per account",
        ),
    };
    if row.owned >= limit {
        return Err(CoreError::Forbidden(format!(
            "domain quota reached: {who} own(s) {} domain(s) and {whose} is {limit}; delete one or ask an administrator to raise it",
            row.owned
        )));
    }
    Ok(())
}

/// Creates a domain owned by the actor. It reaches the fleet once the worker publishes it.
pub async fn create(
    core: &Core,
    actor: &Actor,
    name: &str,
) -> Result<(DomainView, Change), CoreError> {
    let mut tx = core.pool.begin().await?;
    let (domain, change) = create_in(&mut tx, core, actor, name).await?;
    tx.commit().await?;
    tracing::info!(zone.name = %domain.zone, change.id = %change.id, "domain created");
    core.queue.zone_changed(domain.id);
    Ok((domain.view(core), change))
}

/// Creates the domain in the caller's transaction (a domain filled from a zone file is
/// created and filled in one); the caller commits and tells the worker.
pub(crate) async fn create_in(
    tx: &mut Transaction<'_, Postgres>,
    core: &Core,
    actor: &Actor,
    name: &str,
) -> Result<(Domain, Change), CoreError> {
    authz::authorize(actor, Request::CreateDomain)?;
    let owner = actor.user()?;
    let zone = parse_zone(name)?;
    if zone.name() == &core.platform.catalog || core.platform.catalog.zone_of(zone.name()) {
        return Err(CoreError::invalid(
            "name",
            "this name is reserved for the platform's catalog zone",
        ));
    }
    if !authz::holds(actor, Permission::CreateDomains)
        && core
            .platform
            .apex_ns
            .hosts
            .iter()
            .any(|ns| zone.contains(ns))
    {
        return Err(CoreError::invalid(
            "name",
            "this zone would hold the platform's own nameserver names; only administrators may create it",
        ));
    }
    check_public_suffix(actor, &zone)?;
    let serial = serial::next(None, SerialPolicy::DateCounter, Utc::now());
    check_overlap(tx, actor, &zone).await?;
    check_quota(tx, core, actor).await?;
    let id = sqlx::query_scalar!(
        r#"INSERT INTO domains (name, catalog_id, wanted_serial) VALUES ($1, $2, $3)
           RETURNING id AS "id: DomainId""#,
        zone.as_text(),
        catalog_id()?,
        serial_to_db(serial),
    )
    .fetch_one(&mut **tx)
    .await
    .map_err(|e| {
        CoreError::on_constraint(
            e,
            "domains_name_key",
            "name",
            format!("domain {zone} already exists"),
        )
    })?;
    sqlx::query!(
        "INSERT INTO domain_members (domain_id, user_id, role) VALUES ($1, $2, 'owner')",
        id.0,
        owner.0
    )
    .execute(&mut **tx)
    .await?;
    let change = changes::append(
        tx,
        actor,
        NewChange {
            domain_id: id,
            zone: &zone.as_text(),
            action: crate::changes::ChangeAction::DomainCreate,
            serial: Some(serial),
            before: None,
            after: None,
            rrsets: Vec::new(),
        },
    )
    .await?;
    let domain = load(&mut **tx, actor, &zone.as_text(), Action::Read).await?;
    Ok((domain, change))
}

/// The domains the actor may read, by name: those the user is a member of (within a key's
/// domains), or a domain key's own. Platform administrators see their own here too; a
/// platform-wide listing is an admin endpoint of its own.
pub async fn list(core: &Core, actor: &Actor) -> Result<Vec<DomainView>, CoreError> {
    let key_domain = match &actor.credential {
        Credential::DomainKey { domain, .. } => Some(domain.0),
        _ => None,
    };
    let rows = sqlx::query_as!(
        DomainRow,
        r#"SELECT d.id AS "id: DomainId", d.name, d.wanted_serial, d.published_serial, d.created_at, d.published_at,
                  m.role AS "role?: Role", d.serial_policy,
                  d.soa_refresh, d.soa_retry, d.soa_expire, d.soa_minimum, d.soa_ttl,
                  d.dnssec_state, d.dnssec_algorithm, d.dnssec_denial, d.dnssec_split_keys,
                  d.dnssec_disabling_since, d.secondaries
             FROM domains d LEFT JOIN domain_members m ON m.domain_id = d.id AND m.user_id = $1
            WHERE m.user_id IS NOT NULL OR d.id = $2
            ORDER BY d.name"#,
        actor.user_id.map(|u| u.0),
        key_domain,
    )
    .fetch_all(&core.pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| {
            let zone =
                ZoneName::from_name(apex_zone::Name::from_ascii(&r.name).unwrap_or_default());
            r.into_domain(zone)
        })
        .filter(|d| d.authorize(actor, Action::Read).is_ok())
        .map(|d| d.view(core))
        .collect())
}

/// Deletes a domain and its records. Its change stays in the log; the catalog moves on so
/// the fleet drops the zone.
pub async fn delete(core: &Core, actor: &Actor, name: &str) -> Result<Change, CoreError> {
    let mut tx = core.pool.begin().await?;
    // The receipt lock first, before the row locks the delete cascades to (see
    // `fleet::lock_receipts`).
    if let Ok(zone) = ZoneName::parse(name)
        && let Some(id) = sqlx::query_scalar!(
            r#"SELECT id AS "id: DomainId" FROM domains WHERE name = $1"#,
            zone.as_text()
        )
        .fetch_optional(&mut *tx)
        .await?
    {
        crate::fleet::lock_receipts(&mut tx, id).await?;
    }
    let domain = lock(&mut tx, actor, name, Action::Delete).await?;
    let zone = domain.zone.as_text();
    let change = changes::append(
        &mut tx,
        actor,
        NewChange {
            domain_id: domain.id,
            zone: &zone,
            action: crate::changes::ChangeAction::DomainDelete,
            serial: None,
            before: None,
            after: None,
            rrsets: Vec::new(),
        },
    )
    .await?;
    sqlx::query!("DELETE FROM domains WHERE id = $1", domain.id.0)
        .execute(&mut *tx)
        .await?;
    let was_published = domain.published_serial.is_some();
    if was_published {
        catalog::bump(&mut tx).await?;
    }
    tx.commit().await?;
    tracing::info!(zone.name = %zone, change.id = %change.id, "domain deleted");
    if was_published {
        core.queue.catalog_changed();
    }
    Ok(change)
}

/// The name of domain `id` (without the final dot), if it still exists.
pub async fn name_of(db: impl PgExecutor<'_>, id: DomainId) -> Result<Option<String>, CoreError> {
    Ok(
        sqlx::query_scalar!("SELECT name FROM domains WHERE id = $1", id.0)
            .fetch_optional(db)
            .await?,
    )
}

/// The own secondaries of the domain whose zone is `zone`, if there is such a domain (with
/// none, the list is empty).
pub async fn secondaries_of(
    db: impl PgExecutor<'_>,
    zone: &ZoneName,
) -> Result<Option<Vec<crate::secondaries::Secondary>>, CoreError> {
    let list = sqlx::query_scalar!(
        "SELECT secondaries FROM domains WHERE name = $1",
        zone.as_text()
    )
    .fetch_optional(db)
    .await?;
    Ok(list.map(crate::secondaries::from_db))
}
