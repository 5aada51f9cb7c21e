//! Domains (zones): create, list, change settings, delete. Each write is one transaction
//! that also appends its change and moves the zone's wanted serial; the queue is told after
//! commit. A single domain is loaded through [`crate::domain`].

use apex_zone::name::ZoneName;
use apex_zone::serial::{self, SerialPolicy};
use chrono::Utc;
use sqlx::{Postgres, Transaction};

use crate::actor::{Actor, Credential, Permission, Role};
use crate::authz::{self, Action, DomainAccess, Request};
use crate::changes::{self, Change, NewChange};
use crate::db::{policy_name, serial_to_db};
use crate::domain::{self, Domain, DomainRow, DomainView, load, lock, parse_zone};
use crate::ids::DomainId;
use crate::settings::{Settings, SettingsPatch, apply_patch};
use crate::{Core, CoreError, catalog};

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
    if crate::actor::PlatformRoles::from_db(row.is_admin, &row.permissions)
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
    let (domain, created) = create_in(&mut tx, core, actor, name).await?;
    // Its default records, in the same transaction: a template that does not fit leaves no
    // domain behind.
    let owner = actor.user()?;
    let (domain, change) =
        match crate::templates::apply(&mut tx, core, actor, &domain, owner).await? {
            Some(filled) => (
                load(&mut *tx, actor, &domain.zone.as_text(), Action::Read).await?,
                filled,
            ),
            None => (domain, created),
        };
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
            action: crate::change_action::ChangeAction::DomainCreate,
            serial: Some(serial),
            before: None,
            after: None,
            rrsets: Vec::new(),
            records: None,
        },
    )
    .await?;
    let domain = load(&mut **tx, actor, &zone.as_text(), Action::Read).await?;
    Ok((domain, change))
}

/// The domains the actor may read, by name: those the user is a member of (within a key's
/// domains), or a domain key's own. Platform administrators see their own here too; a
/// platform-wide listing is an admin endpoint of its own.
/// By name; a page starts after a name. A page may hold fewer than `limit` domains (a key
/// limited to some domains sees only those); when `limit` rows were read, the last name read
/// is returned, for the next page to start after.
pub async fn list(
    core: &Core,
    actor: &Actor,
    window: &crate::page::Window<String>,
) -> Result<(Vec<DomainView>, Option<String>), CoreError> {
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
                  d.dnssec_disabling_since, d.secondaries,
                  d.alias_of, (SELECT t.name FROM domains t WHERE t.id = d.alias_of) AS "alias_name?"
             FROM domains d LEFT JOIN domain_members m ON m.domain_id = d.id AND m.user_id = $1
            WHERE (m.user_id IS NOT NULL OR d.id = $2) AND ($3::text IS NULL OR d.name > $3)
            ORDER BY d.name
            LIMIT $4"#,
        actor.user_id.map(|u| u.0),
        key_domain,
        window.after,
        window.limit,
    )
    .fetch_all(&core.pool)
    .await?;
    // A full page: there may be more after its last name.
    let last = rows
        .last()
        .filter(|_| i64::try_from(rows.len()).is_ok_and(|n| n == window.limit))
        .map(|r| r.name.clone());
    let views = rows
        .into_iter()
        .map(|r| {
            let zone =
                ZoneName::from_name(apex_zone::Name::from_ascii(&r.name).unwrap_or_default());
            r.into_domain(zone)
        })
        .filter(|d| d.authorize(actor, Action::Read).is_ok())
        .map(|d| d.view(core))
        .collect();
    Ok((views, last))
}

/// Deletes a domain and its records. Its change stays in the log; the catalog moves on so
/// the fleet drops the zone.
pub async fn delete(core: &Core, actor: &Actor, name: &str) -> Result<Change, CoreError> {
    // Authorized before any lock: a caller without the role must not make the zone's
    // publishing and receipts wait on it.
    let found = load(&core.pool, actor, name, Action::Delete).await?;
    let mut tx = core.pool.begin().await?;
    // The receipt lock next, before the row locks the delete cascades to (see
    // `fleet::lock_receipts`).
    crate::fleet::lock_receipts(&mut tx, found.id).await?;
    let domain = lock(&mut tx, actor, name, Action::Delete).await?;
    if domain.id != found.id {
        // Deleted and created again meanwhile: the receipt lock held is not this one's.
        return Err(CoreError::conflict(
            "name",
            format!(
                "{} changed while it was being deleted; try again",
                domain.zone
            ),
        ));
    }
    if let Some(aliases) = sqlx::query_scalar!(
        "SELECT string_agg(name, ', ') FROM domains WHERE alias_of = $1",
        domain.id.0
    )
    .fetch_one(&mut *tx)
    .await?
    {
        return Err(CoreError::conflict(
            "name",
            format!(
                "{aliases} serve the records of {} (aliases): end those aliases or delete them first",
                domain.zone
            ),
        ));
    }
    let zone = domain.zone.as_text();
    let change = changes::append(
        &mut tx,
        actor,
        NewChange {
            domain_id: domain.id,
            zone: &zone,
            action: crate::change_action::ChangeAction::DomainDelete,
            serial: None,
            before: None,
            after: None,
            rrsets: Vec::new(),
            records: None,
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

fn to_db(v: Option<u32>) -> Option<i32> {
    v.and_then(|v| i32::try_from(v).ok())
}

/// The domain `target` that `domain` may become an alias of: one the actor may write (an alias
/// publishes its records), not `domain` itself, not an alias, while `domain` holds no records
/// of its own and no domain is an alias of it (no chains). Locks `target`.
async fn alias_target(
    tx: &mut Transaction<'_, Postgres>,
    actor: &Actor,
    domain: &Domain,
    target: &str,
) -> Result<DomainId, CoreError> {
    let refuse = |message: String| CoreError::conflict("alias_of", message);
    let target = match lock(tx, actor, target, Action::WriteZone).await {
        Ok(t) => t,
        Err(CoreError::NotFound { .. }) => {
            return Err(CoreError::invalid(
                "alias_of",
                format!("no domain {target} that you may write"),
            ));
        }
        Err(e) => return Err(e),
    };
    if target.id == domain.id {
        return Err(CoreError::invalid(
            "alias_of",
            "a domain cannot be an alias of itself",
        ));
    }
    if let Some(t) = &target.alias_of {
        return Err(refuse(format!(
            "{} is itself an alias (of {}): make {} an alias of {} instead",
            target.zone, t.name, domain.zone, t.name
        )));
    }
    let (records, aliases) = sqlx::query!(
        r#"SELECT (SELECT record_count FROM domains WHERE id = $1) AS "records!",
                  (SELECT string_agg(name, ', ') FROM domains WHERE alias_of = $1) AS aliases"#,
        domain.id.0,
    )
    .fetch_one(&mut **tx)
    .await
    .map(|r| (r.records, r.aliases))?;
    if let Some(aliases) = aliases {
        return Err(refuse(format!(
            "{aliases} serve the records of {}: it cannot become an alias itself",
            domain.zone
        )));
    }
    if records > 0 {
        return Err(refuse(format!(
            "{} holds {records} records of its own; an alias serves only its target's: delete them first",
            domain.zone
        )));
    }
    Ok(target.id)
}

/// Changes a domain's settings (needs the admin role); the serial moves so the new SOA is
/// published.
pub async fn update(
    core: &Core,
    actor: &Actor,
    name: &str,
    patch: &SettingsPatch,
) -> Result<(DomainView, Change), CoreError> {
    let mut tx = core.pool.begin().await?;
    let domain = domain::lock(&mut tx, actor, name, Action::Administer).await?;
    let mut new = apply_patch(domain.settings, patch, &core.platform.soa)?;
    let mut keys = crate::dnssec::KeyChange::Keep;
    if let Some(d) = &patch.dnssec {
        (new.dnssec, keys) =
            crate::dnssec::apply_patch(&domain.settings.dnssec, d, chrono::Utc::now())?;
    }
    let secondaries = match &patch.secondaries {
        None => domain.secondaries.clone(),
        Some(input) => {
            let list = crate::secondaries::parse(input, &core.platform)?;
            if let Some((i, host)) =
                crate::secondaries::missing_address(&mut tx, domain.id, &domain.zone, &list).await?
            {
                return Err(CoreError::invalid(
                    format!("secondaries[{i}].host"),
                    format!(
                        "{host} is inside the zone and has no A or AAAA record in it; add one first"
                    ),
                ));
            }
            list
        }
    };
    let alias_of = match &patch.alias_of {
        None => domain.alias_of.as_ref().map(|a| a.id),
        Some(None) => None,
        Some(Some(target)) => Some(alias_target(&mut tx, actor, &domain, target).await?),
    };
    let serial = domain::bump_serial_with(&mut tx, &domain, new.serial_policy).await?;
    sqlx::query!(
        "UPDATE domains SET alias_of = $2 WHERE id = $1",
        domain.id.0,
        alias_of.map(|a| a.0),
    )
    .execute(&mut *tx)
    .await?;
    sqlx::query!(
        "UPDATE domains SET serial_policy = $2, soa_refresh = $3, soa_retry = $4, soa_expire = $5,
                soa_minimum = $6, soa_ttl = $7, secondaries = $8 WHERE id = $1",
        domain.id.0,
        policy_name(new.serial_policy),
        to_db(new.soa.refresh),
        to_db(new.soa.retry),
        to_db(new.soa.expire),
        to_db(new.soa.minimum),
        to_db(new.soa.ttl),
        serde_json::to_value(&secondaries).map_err(|e| CoreError::Internal(e.to_string()))?,
    )
    .execute(&mut *tx)
    .await?;
    if patch.dnssec.is_some() {
        crate::dnssec::store(
            &mut tx,
            domain.id,
            &new.dnssec,
            keys,
            core.platform.master_key.as_ref(),
        )
        .await?;
    }
    let target_name = match &patch.alias_of {
        None => domain.alias_of.as_ref().map(|a| a.name.clone()),
        Some(None) => None,
        Some(Some(_)) => match alias_of {
            Some(id) => domain::name_of(&mut *tx, id).await?,
            None => None,
        },
    };
    let json =
        |s: &Settings, secondaries: &[crate::secondaries::Secondary], alias: Option<&str>| {
            serde_json::json!({
                "alias_of": alias,
                "serial_policy": policy_name(s.serial_policy),
                "soa": s.soa,
                "dnssec": {
                    "state": s.dnssec.state.as_str(),
                    "algorithm": s.dnssec.algorithm.mnemonic(),
                    "denial": if s.dnssec.nsec3 { "nsec3" } else { "nsec" },
                },
                "secondaries": secondaries,
            })
        };
    let change = changes::append(
        &mut tx,
        actor,
        NewChange {
            domain_id: domain.id,
            zone: &domain.zone.as_text(),
            action: crate::change_action::ChangeAction::DomainUpdate,
            serial: Some(serial),
            before: Some(json(
                &domain.settings,
                &domain.secondaries,
                domain.alias_of.as_ref().map(|a| a.name.as_str()),
            )),
            after: Some(json(&new, &secondaries, target_name.as_deref())),
            rrsets: Vec::new(),
            records: None,
        },
    )
    .await?;
    let updated = domain::load(&mut *tx, actor, name, Action::Read).await?;
    tx.commit().await?;
    tracing::info!(zone.name = %domain.zone, change.id = %change.id, "domain settings changed");
    core.queue.zone_changed(domain.id);
    Ok((updated.view(core), change))
}
