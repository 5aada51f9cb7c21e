//! One domain, loaded for an actor: [`load`] and [`lock`] are the door every operation on a
//! domain goes through (authorization included), [`Domain`] what they hand back, [`DomainView`]
//! how the API shows it, and [`bump_serial`] how a write moves its wanted serial.

use apex_zone::name::ZoneName;
use apex_zone::serial::{self, SerialPolicy};
use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::{PgExecutor, Postgres, Transaction};

use crate::actor::{Actor, Role};
use crate::authz::{self, Action, DomainAccess};
use crate::db::{policy_from_db, policy_name, serial_from_db, serial_to_db};
use crate::ids::DomainId;
use crate::settings::{Settings, SoaTimers, SoaView};
use crate::{Core, CoreError};

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
    /// The domain whose records this one serves (an alias), if any.
    pub alias_of: Option<AliasOf>,
}

/// The domain an alias serves the records of.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AliasOf {
    /// Its id.
    pub id: DomainId,
    /// Its name (A-labels, no final dot).
    pub name: String,
}

/// The columns every domain query reads, mapped once into [`Domain`].
pub(crate) struct DomainRow {
    pub(crate) id: DomainId,
    pub(crate) name: String,
    pub(crate) wanted_serial: i64,
    pub(crate) published_serial: Option<i64>,
    pub(crate) created_at: DateTime<Utc>,
    pub(crate) published_at: Option<DateTime<Utc>>,
    pub(crate) role: Option<Role>,
    pub(crate) serial_policy: String,
    pub(crate) soa_refresh: Option<i32>,
    pub(crate) soa_retry: Option<i32>,
    pub(crate) soa_expire: Option<i32>,
    pub(crate) soa_minimum: Option<i32>,
    pub(crate) soa_ttl: Option<i32>,
    pub(crate) dnssec_state: String,
    pub(crate) dnssec_algorithm: String,
    pub(crate) dnssec_denial: String,
    pub(crate) dnssec_split_keys: bool,
    pub(crate) dnssec_disabling_since: Option<DateTime<Utc>>,
    pub(crate) secondaries: serde_json::Value,
    pub(crate) alias_of: Option<i64>,
    pub(crate) alias_name: Option<String>,
}

impl DomainRow {
    pub(crate) fn into_domain(self, zone: ZoneName) -> Domain {
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
                serial_policy: policy_from_db(&self.serial_policy),
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
            alias_of: self
                .alias_of
                .zip(self.alias_name)
                .map(|(id, name)| AliasOf {
                    id: DomainId(id),
                    name,
                }),
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
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
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
    /// The domain whose records this one serves, renamed into it (an alias), if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub alias_of: Option<String>,
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
            serial_policy: policy_name(self.settings.serial_policy),
            soa: SoaView::of(&self.settings.soa.apply(&core.platform.soa)),
            dnssec: self.settings.dnssec.state,
            secondaries: self.secondaries.clone(),
            alias_of: self.alias_of.as_ref().map(|a| a.name.clone()),
        }
    }

    /// Refuses a write of records to an alias: its records are its target's.
    pub fn holds_own_records(&self) -> Result<(), CoreError> {
        match &self.alias_of {
            None => Ok(()),
            Some(target) => Err(CoreError::conflict(
                "alias_of",
                format!(
                    "{} serves the records of {} (an alias): change them there, or end the alias with PATCH {{\"alias_of\": null}}",
                    self.zone, target.name
                ),
            )),
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
                  d.dnssec_disabling_since, d.secondaries,
                  d.alias_of, (SELECT t.name FROM domains t WHERE t.id = d.alias_of) AS "alias_name?"
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

/// Locks and reads a domain by id for publishing — the platform's own work: no actor, no
/// role, no authorization — with whether its last full signing is older than `refresh`
/// seconds (then it is signed in full again). One query: publishing is on the path of every
/// edit. `None` if the domain is gone.
pub(crate) async fn lock_for_publish(
    tx: &mut Transaction<'_, Postgres>,
    id: DomainId,
    refresh: u32,
) -> Result<Option<(Domain, bool)>, CoreError> {
    let Some(r) = sqlx::query!(
        r#"SELECT d.id AS "id: DomainId", d.name, d.wanted_serial, d.published_serial, d.created_at, d.published_at,
                  d.serial_policy, d.soa_refresh, d.soa_retry, d.soa_expire, d.soa_minimum, d.soa_ttl,
                  d.dnssec_state, d.dnssec_algorithm, d.dnssec_denial, d.dnssec_split_keys,
                  d.dnssec_disabling_since, d.secondaries,
                  d.alias_of, (SELECT t.name FROM domains t WHERE t.id = d.alias_of) AS "alias_name?",
                  d.dnssec_signed_at < now() - make_interval(secs => $2::double precision) AS "renewal_due: bool"
             FROM domains d WHERE d.id = $1 FOR UPDATE"#,
        id.0,
        f64::from(refresh),
    )
    .fetch_optional(&mut **tx)
    .await?
    else {
        return Ok(None);
    };
    let row = DomainRow {
        id: r.id,
        name: r.name,
        wanted_serial: r.wanted_serial,
        published_serial: r.published_serial,
        created_at: r.created_at,
        published_at: r.published_at,
        role: None,
        serial_policy: r.serial_policy,
        soa_refresh: r.soa_refresh,
        soa_retry: r.soa_retry,
        soa_expire: r.soa_expire,
        soa_minimum: r.soa_minimum,
        soa_ttl: r.soa_ttl,
        dnssec_state: r.dnssec_state,
        dnssec_algorithm: r.dnssec_algorithm,
        dnssec_denial: r.dnssec_denial,
        dnssec_split_keys: r.dnssec_split_keys,
        dnssec_disabling_since: r.dnssec_disabling_since,
        secondaries: r.secondaries,
        alias_of: r.alias_of,
        alias_name: r.alias_name,
    };
    // Stored names were parsed on the way in; read them as the worker always has.
    let zone = apex_zone::Name::from_ascii(format!("{}.", row.name))
        .map(ZoneName::from_name)
        .map_err(|e| CoreError::Internal(format!("stored zone name {:?}: {e}", row.name)))?;
    Ok(Some((
        row.into_domain(zone),
        r.renewal_due.unwrap_or(false),
    )))
}

/// Loads and locks a domain for a write in `tx`: concurrent writes to one zone queue up here,
/// so rules across records (CNAME exclusivity) and serials stay consistent.
///
/// The caller is authorized before the row lock is taken, so nobody can make a domain's
/// writers queue (or learn that it exists) without a role on it; and again after, on the
/// locked row, since a role may have changed while it waited.
pub async fn lock(
    tx: &mut Transaction<'_, Postgres>,
    actor: &Actor,
    name: &str,
    action: Action<'_>,
) -> Result<Domain, CoreError> {
    let zone = ZoneName::parse(name).map_err(|_| not_found(name))?;
    load(&mut **tx, actor, name, action).await?;
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
    // Its aliases serve its records: they move on with it (the reconciler publishes them).
    sqlx::query!(
        "UPDATE domains SET wanted_serial = (wanted_serial + 1) % 4294967296, updated_at = now()
          WHERE alias_of = $1",
        domain.id.0,
    )
    .execute(&mut **tx)
    .await?;
    Ok(next)
}

/// The domains serving the records of domain `id` (its aliases).
pub async fn aliases_of(db: impl PgExecutor<'_>, id: DomainId) -> Result<Vec<DomainId>, CoreError> {
    Ok(sqlx::query_scalar!(
        r#"SELECT id AS "id: DomainId" FROM domains WHERE alias_of = $1 ORDER BY id"#,
        id.0
    )
    .fetch_all(db)
    .await?)
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
