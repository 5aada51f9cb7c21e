//! Revert: take a zone's records back to how they were at an earlier serial, or undo one
//! change, as a new change (`POST /api/v1/domains/{name}/revert`).
//!
//! Every change that moves records keeps its exact diff (`changes.record_diff`, see
//! [`crate::changes::RecordDiff`]). Going back to serial N undoes the diffs of the changes
//! made after the one that made N, newest first; undoing one change applies its diff the
//! other way. Either way the result is a set of RRsets written through
//! [`crate::rrsets::apply`], so it is checked against the zone's rules like any batch, and it
//! is published like any change. Nothing travels back but records: a revert across a change of
//! the zone's settings or DNSSEC state is refused, naming that change, as is one that needs a
//! diff older than the history window (`APEX_HISTORY_DAYS`).

use std::collections::{BTreeMap, BTreeSet};

use apex_zone::content;
use apex_zone::name::RecordName;
use apex_zone::rdata::RrType;
use apex_zone::ttl::Ttl;
use serde::Deserialize;
use sqlx::{Postgres, Transaction};

use crate::actor::Actor;
use crate::authz::Action;
use crate::change_action::ChangeAction;
use crate::changes::RecordDiff;
use crate::db::serial_to_db;
use crate::domain::{self, Domain};
use crate::ids::ChangeId;
use crate::rrsets::{self, Meta, Outcome, Target, Wanted, WriteOptions};
use crate::{Core, CoreError};

/// What to go back to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub enum RevertTo {
    /// The records as they were right after the change that made this serial.
    #[serde(rename = "to_serial")]
    Serial(u32),
    /// Undo this one change, leaving later ones in place.
    #[serde(rename = "change")]
    Change(ChangeId),
}

/// Reverts zone `zone` as `to` says, in one new change (`zone.revert`).
pub async fn revert(
    core: &Core,
    actor: &Actor,
    zone: &str,
    to: RevertTo,
    opts: WriteOptions,
) -> Result<Outcome, CoreError> {
    let mut tx = core.pool.begin().await?;
    let domain = domain::lock(&mut tx, actor, zone, Action::WriteRecords).await?;
    rrsets::check_precondition(&domain, opts.if_match)?;
    let undo = match to {
        RevertTo::Serial(serial) => {
            // Going back in time may touch any record: it needs the right to write the zone.
            domain.authorize(actor, Action::WriteZone)?;
            since_serial(&mut tx, core, &domain, serial).await?
        }
        RevertTo::Change(id) => vec![one_change(&mut tx, &domain, id).await?],
    };
    let targets = targets(
        &mut tx,
        core,
        &domain,
        &undo,
        matches!(to, RevertTo::Change(_)),
    )
    .await?;
    let outcome = rrsets::apply(
        core,
        &mut tx,
        actor,
        &domain,
        targets,
        rrsets::How {
            action: ChangeAction::ZoneRevert,
            dry_run: opts.dry_run,
            check: rrsets::Check::EachRrset,
        },
    )
    .await?;
    rrsets::finish(core, tx, &domain, outcome).await
}

/// The diffs to undo to go back to `serial`, newest first.
async fn since_serial(
    tx: &mut Transaction<'_, Postgres>,
    core: &Core,
    domain: &Domain,
    serial: u32,
) -> Result<Vec<RecordDiff>, CoreError> {
    let made = sqlx::query_scalar!(
        r#"SELECT id AS "id: ChangeId" FROM changes WHERE domain_id = $1 AND serial = $2
            ORDER BY id DESC LIMIT 1"#,
        domain.id.0,
        serial_to_db(serial),
    )
    .fetch_optional(&mut **tx)
    .await?
    .ok_or_else(|| {
        CoreError::RevertRefused(format!(
            "no change of {} made serial {serial}: GET /api/v1/domains/{}/changes lists the serials there are",
            domain.zone, domain.zone
        ))
    })?;
    let rows = sqlx::query!(
        r#"SELECT id AS "id: ChangeId", action AS "action: ChangeAction", record_diff
             FROM changes WHERE domain_id = $1 AND id > $2 ORDER BY id DESC"#,
        domain.id.0,
        made.0,
    )
    .fetch_all(&mut **tx)
    .await?;
    let mut undo = Vec::with_capacity(rows.len());
    for r in rows {
        if r.action.moves_settings() {
            return Err(CoreError::RevertRefused(format!(
                "change {} ({}) after serial {serial} changed the zone's settings or DNSSEC state, which a revert does not take back; undo single changes with {{\"change\": id}} instead",
                r.id, r.action
            )));
        }
        match decode(r.record_diff)? {
            Some(diff) => undo.push(diff),
            None if moves_records(r.action) => {
                return Err(CoreError::RevertRefused(format!(
                    "the records change {} ({}) made are no longer kept (history keeps {} days, and nothing from before history was kept): serial {serial} is too far back",
                    r.id, r.action, core.platform.history_days
                )));
            }
            // Re-signing and the like move no records.
            None => {}
        }
    }
    Ok(undo)
}

/// The diff of change `id`, to undo on its own.
async fn one_change(
    tx: &mut Transaction<'_, Postgres>,
    domain: &Domain,
    id: ChangeId,
) -> Result<RecordDiff, CoreError> {
    let row = sqlx::query!(
        r#"SELECT action AS "action: ChangeAction", record_diff FROM changes
            WHERE id = $1 AND domain_id = $2"#,
        id.0,
        domain.id.0,
    )
    .fetch_optional(&mut **tx)
    .await?
    .ok_or(CoreError::NotFound {
        what: "change",
        name: id.to_string(),
    })?;
    match decode(row.record_diff)? {
        Some(diff) => Ok(diff),
        None if moves_records(row.action) => Err(CoreError::RevertRefused(format!(
            "the records change {id} ({}) made are no longer kept, so it cannot be undone",
            row.action
        ))),
        None => Err(CoreError::RevertRefused(format!(
            "change {id} ({}) moved no records; revert undoes record changes only (settings are changed with PATCH /api/v1/domains/{})",
            row.action, domain.zone
        ))),
    }
}

fn moves_records(action: ChangeAction) -> bool {
    action.is_record_edit() || action == ChangeAction::ZoneImport
}

fn decode(value: Option<serde_json::Value>) -> Result<Option<RecordDiff>, CoreError> {
    value
        .map(serde_json::from_value)
        .transpose()
        .map_err(|e| CoreError::Internal(format!("stored record diff: {e}")))
}

/// A record as revert wants it: TTL, comment and disabled flag, by owner, type and content.
type Records = BTreeMap<(String, String, String), (u32, Option<String>, bool)>;

/// The records of each RRset revert sets: content, TTL, comment and flag, by owner and type.
type ByRrset = BTreeMap<(String, String), Vec<(String, u32, Option<String>, bool)>>;

/// The RRsets the undone diffs touched, as they should be afterwards. With `strict` (undoing
/// one change), every record the change added must still be there as it left it: otherwise a
/// later change built on it, and undoing it alone would be a guess.
async fn targets(
    tx: &mut Transaction<'_, Postgres>,
    core: &Core,
    domain: &Domain,
    undo: &[RecordDiff],
    strict: bool,
) -> Result<Vec<Target>, CoreError> {
    let touched: BTreeSet<(String, String)> = undo
        .iter()
        .flat_map(|d| d.removed.iter().chain(&d.added))
        .map(|r| (r.name.clone(), r.rtype.clone()))
        .collect();
    let names: Vec<String> = touched
        .iter()
        .map(|(n, _)| n.clone())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let rows = sqlx::query!(
        "SELECT name, type AS rtype, ttl, content, comment, disabled FROM records
          WHERE domain_id = $1 AND name = ANY($2)",
        domain.id.0,
        &names,
    )
    .fetch_all(&mut **tx)
    .await?;
    let mut records: Records = rows
        .into_iter()
        .filter(|r| touched.contains(&(r.name.clone(), r.rtype.clone())))
        .map(|r| {
            (
                (r.name, r.rtype, r.content),
                (
                    u32::try_from(r.ttl).unwrap_or_default(),
                    r.comment,
                    r.disabled,
                ),
            )
        })
        .collect();
    for diff in undo {
        for r in &diff.added {
            let key = (r.name.clone(), r.rtype.clone(), r.content.clone());
            let now = records.remove(&key);
            if strict && now.as_ref().map(|(ttl, _, _)| *ttl) != Some(r.ttl) {
                return Err(CoreError::RevertRefused(format!(
                    "{} {} {} has changed since that change; revert to a serial instead",
                    domain.zone.relative(record_name(domain, &r.name)?.name()),
                    r.rtype,
                    r.content
                )));
            }
        }
        for r in &diff.removed {
            records.insert(
                (r.name.clone(), r.rtype.clone(), r.content.clone()),
                (r.ttl, r.comment.clone(), r.disabled),
            );
        }
    }
    let mut by_rrset: ByRrset = touched.into_iter().map(|k| (k, Vec::new())).collect();
    for ((name, rtype, content), (ttl, comment, disabled)) in records {
        if let Some(list) = by_rrset.get_mut(&(name, rtype)) {
            list.push((content, ttl, comment, disabled));
        }
    }
    let mut out = Vec::with_capacity(by_rrset.len());
    for (i, ((name, rtype), list)) in by_rrset.into_iter().enumerate() {
        let t = RrType::parse(rtype.as_bytes()).ok_or_else(|| {
            CoreError::Internal(format!("stored record diff: unknown type {rtype}"))
        })?;
        // An RRset has one TTL (RFC 2181 section 5.2); the history's records agree on it.
        let ttl = list
            .iter()
            .map(|(_, ttl, _, _)| *ttl)
            .min()
            .map(|ttl| Ttl::new(i64::from(ttl), core.platform.ttl))
            .transpose()
            .map_err(|e| CoreError::invalid("ttl", e))?;
        let mut wanted = Vec::with_capacity(list.len());
        for (content, _, comment, disabled) in list {
            let wire = content::parse(t, &content, None).map_err(|e| {
                CoreError::Internal(format!("stored record {name} {rtype} {content}: {e}"))
            })?;
            wanted.push(Wanted {
                content,
                wire,
                meta: Meta::Exact { comment, disabled },
            });
        }
        out.push(Target {
            name: record_name(domain, &name)?,
            rtype: t,
            ttl,
            records: wanted,
            field: format!("rrsets[{i}]"),
            exact: true,
        });
    }
    Ok(out)
}

fn record_name(domain: &Domain, fqdn: &str) -> Result<RecordName, CoreError> {
    RecordName::parse(fqdn, &domain.zone)
        .map_err(|e| CoreError::Internal(format!("stored record name {fqdn}: {e}")))
}
