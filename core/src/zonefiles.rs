//! Zone-file import and export for a domain. An import is one transaction: the file is read
//! and checked completely (every error with its line and column) before anything is written,
//! and a dry run computes the same diff and writes nothing.

use std::collections::HashMap;

use apex_zone::dname::DName;
use apex_zone::import::prepare;
use apex_zone::rdata::{self, type_name};
use apex_zone::record::ZoneRecord;
use apex_zone::render;
use apex_zone::validate::check_zone;
use apex_zone::zonefile::{self, ParseOptions};
use serde::Serialize;

use crate::actor::Actor;
use crate::authz::Action;
use crate::changes::{self, Change, NewChange};
use crate::domain::{self, Domain};
use crate::domains;
use crate::error::LineProblem;
use crate::ids::RecordId;
use crate::records::Row as StoredRow;
use crate::{Core, CoreError};

/// Most records listed in each part of an import's diff (the counts are always complete).
pub const MAX_LISTED: usize = 10_000;

/// Replace the zone's records with the file's, or add the file's to them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImportMode {
    /// The zone ends up with exactly the file's records.
    Replace,
    /// The file's records are added; records only in the zone stay.
    Merge,
}

/// The largest zone file an import takes (through the API or the dashboard).
pub const MAX_FILE: usize = 64 * 1024 * 1024;

/// A record in an import's diff.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct DiffRecord {
    /// Owner relative to the zone.
    pub name: String,
    /// Type.
    #[serde(rename = "type")]
    pub rtype: String,
    /// TTL.
    pub ttl: u32,
    /// Canonical content.
    pub content: String,
    /// Comment.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
}

/// A remark about the file.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ImportWarning {
    /// Line in the file (0: the whole file).
    pub line: u32,
    /// What happened.
    pub message: String,
}

/// One part of the diff: how many, and (up to [`MAX_LISTED`]) which.
#[derive(Debug, Clone, Serialize, Default, utoipa::ToSchema)]
pub struct DiffPart {
    /// How many records.
    pub count: usize,
    /// The records, up to the listing limit.
    pub records: Vec<DiffRecord>,
}

impl DiffPart {
    fn push(&mut self, r: DiffRecord) {
        self.count += 1;
        if self.records.len() < MAX_LISTED {
            self.records.push(r);
        }
    }
}

/// What an import did (or, on a dry run, would do).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ImportOutcome {
    /// Nothing was written.
    pub dry_run: bool,
    /// Records added.
    pub added: DiffPart,
    /// Records removed (replace mode only).
    pub removed: DiffPart,
    /// Records whose TTL or comment changed.
    pub updated: DiffPart,
    /// Records already there as they are.
    pub unchanged: usize,
    /// Remarks: dropped records, adjusted TTLs.
    pub warnings: Vec<ImportWarning>,
    /// The change made (none on a dry run or when nothing changed).
    pub change: Option<Change>,
}

/// Identity of a record: owner, type, canonical content.
type Key = (String, String, String);

struct Existing {
    id: i64,
    ttl: u32,
    comment: Option<String>,
    disabled: bool,
}

fn problems<T: Into<LineProblem>>(list: Vec<T>) -> CoreError {
    CoreError::ZoneFile(list.into_iter().map(Into::into).collect())
}

fn origin_of(domain: &Domain) -> DName {
    DName::from_name(domain.zone.name())
}

fn diff_record(origin: &DName, key: &Key, ttl: u32, comment: Option<String>) -> DiffRecord {
    let name = DName::parse(key.0.as_bytes(), None)
        .map_or_else(|_| key.0.clone(), |n| n.relative_to(origin));
    DiffRecord {
        name,
        rtype: key.1.clone(),
        ttl,
        content: key.2.clone(),
        comment,
    }
}

fn key_of(r: &ZoneRecord) -> Result<Key, CoreError> {
    let content =
        rdata::format(r.rtype, &r.rdata).map_err(|e| CoreError::Internal(e.to_string()))?;
    Ok((r.name.to_string(), type_name(r.rtype), content))
}

/// Reads a stored record back as a zone record with its comment (for rules over the merged
/// zone and for export).
fn stored_record(
    origin: &DName,
    row: (i64, &str, &str, i32, &str),
    comment: Option<String>,
) -> Result<ZoneRecord, CoreError> {
    let (id, name, rtype, ttl, content) = row;
    let mut record = crate::records::stored(origin, id, name, rtype, ttl, content)?;
    record.comment = comment;
    Ok(record)
}

/// Imports `text` into the zone `name`.
pub async fn import(
    core: &Core,
    actor: &Actor,
    name: &str,
    text: &[u8],
    mode: ImportMode,
    dry_run: bool,
) -> Result<ImportOutcome, CoreError> {
    // Authorization first (cheap), then the file is read and checked completely, on a
    // blocking thread and before the zone is locked: a large file holds up no other writer.
    let mut stages = crate::stages::Stages::new();
    let origin = origin_of(&domain::load(&core.pool, actor, name, Action::WriteZone).await?);
    let slot = ImportSlot::claim(&account_of(core, actor, name))?;
    let prepared = read(core, origin, text, slot).await?;
    stages.lap("parse");
    let mut tx = core.pool.begin().await?;
    let (outcome, domain) = import_in(&mut tx, core, actor, name, prepared, mode, dry_run).await?;
    stages.lap("store");
    if let Some(change) = &outcome.change {
        tx.commit().await?;
        stages.lap("commit");
        tracing::info!(zone.name = %domain.zone, change.id = %change.id, added = outcome.added.count, removed = outcome.removed.count, updated = outcome.updated.count, "zone imported");
        tracing::debug!(zone.name = %domain.zone, %stages, "zone import stages");
        core.queue.zone_changed(domain.id);
    }
    // Otherwise (a dry run, or nothing to change) dropping the transaction writes nothing.
    Ok(outcome)
}

/// Creates the domain `name` filled from the zone file `text`, in one transaction: a file
/// that does not parse, or breaks a rule of the zone, leaves no domain behind. Answers the
/// domain and the last change made (the import's, or the creation's for an empty file).
pub async fn create_from(
    core: &Core,
    actor: &Actor,
    name: &str,
    text: &[u8],
) -> Result<(domain::DomainView, Change), CoreError> {
    let zone = domain::parse_zone(name)?;
    let slot = ImportSlot::claim(&account_of(core, actor, name))?;
    let prepared = read(core, DName::from_name(zone.name()), text, slot).await?;
    let mut tx = core.pool.begin().await?;
    let (domain, created) = domains::create_in(&mut tx, core, actor, name).await?;
    let (outcome, _) = import_in(
        &mut tx,
        core,
        actor,
        &domain.name,
        prepared,
        ImportMode::Merge,
        false,
    )
    .await?;
    tx.commit().await?;
    tracing::info!(zone.name = %domain.zone, change.id = %created.id, added = outcome.added.count, "domain created from a zone file");
    core.queue.zone_changed(domain.id);
    Ok((domain.view(core), outcome.change.unwrap_or(created)))
}

/// Zone files read at once by this process, overall: each may take a few hundred megabytes
/// while it is read and planned.
pub const MAX_IMPORTS: usize = 4;
/// Zone files read at once for one account (a user, or a domain key's domain).
pub const MAX_IMPORTS_PER_ACCOUNT: usize = 1;

/// Imports running, by account, and their total.
static IMPORTS: std::sync::LazyLock<std::sync::Mutex<(usize, HashMap<String, usize>)>> =
    std::sync::LazyLock::new(Default::default);

/// Whose imports count together: the user's, or (a domain key) the domain's, of this
/// database (a process serving several, as the tests do, must not mix their user ids).
fn account_of(core: &Core, actor: &Actor, name: &str) -> String {
    let db = core
        .pool
        .connect_options()
        .get_database()
        .unwrap_or_default()
        .to_string();
    match actor.user_id {
        Some(user) => format!("{db}/user:{}", user.0),
        None => format!(
            "{db}/domain:{}",
            name.trim_end_matches('.').to_ascii_lowercase()
        ),
    }
}

/// A place among the imports running; given back when dropped.
struct ImportSlot {
    account: String,
}

impl ImportSlot {
    fn claim(account: &str) -> Result<Self, CoreError> {
        let busy = |detail: String| CoreError::Busy {
            detail,
            retry_after: std::time::Duration::from_secs(2),
        };
        let mut imports = IMPORTS
            .lock()
            .map_err(|_| CoreError::Internal("import slots poisoned".into()))?;
        let (total, by_account) = &mut *imports;
        let mine = by_account.get(account).copied().unwrap_or(0);
        if mine >= MAX_IMPORTS_PER_ACCOUNT {
            return Err(busy(format!(
                "{mine} zone file import(s) of this account are being read; at most {MAX_IMPORTS_PER_ACCOUNT} at once: try again when it is done"
            )));
        }
        if *total >= MAX_IMPORTS {
            return Err(busy(format!(
                "{total} zone file imports are being read on this server, the most it reads at once: try again in a moment"
            )));
        }
        *total += 1;
        *by_account.entry(account.to_string()).or_insert(0) += 1;
        Ok(Self {
            account: account.to_string(),
        })
    }
}

impl Drop for ImportSlot {
    fn drop(&mut self) {
        if let Ok(mut imports) = IMPORTS.lock() {
            let (total, by_account) = &mut *imports;
            *total = total.saturating_sub(1);
            if let Some(n) = by_account.get_mut(&self.account) {
                *n -= 1;
                if *n == 0 {
                    by_account.remove(&self.account);
                }
            }
        }
    }
}

/// Reads and checks the file on a blocking thread, holding `slot` until it is done (even if
/// the request is dropped meanwhile).
async fn read(
    core: &Core,
    origin: DName,
    text: &[u8],
    slot: ImportSlot,
) -> Result<apex_zone::import::Prepared, CoreError> {
    let owned_text = text.to_vec();
    let ttl = core.platform.ttl;
    tokio::task::spawn_blocking(move || {
        let _slot = slot;
        // The apex NS set is the platform's: left out before its content is judged.
        // The records a file may make are bounded by its size (`$GENERATE` and `\#` data
        // make more than they take).
        let options = ParseOptions {
            platform_apex_ns: true,
            ..ParseOptions::for_upload(owned_text.len())
        };
        let parsed = zonefile::parse(&owned_text, &origin, options).map_err(problems)?;
        prepare(&origin, parsed, ttl).map_err(problems)
    })
    .await
    .map_err(|e| CoreError::Internal(format!("zone-file reader failed: {e}")))?
}

/// Applies a read file to the zone in the caller's transaction: reads what is stored,
/// [`plan`]s the import, and (unless a dry run, or nothing changes) writes it with its change;
/// the caller commits.
async fn import_in(
    tx: &mut sqlx::Transaction<'_, sqlx::Postgres>,
    core: &Core,
    actor: &Actor,
    name: &str,
    prepared: apex_zone::import::Prepared,
    mode: ImportMode,
    dry_run: bool,
) -> Result<(ImportOutcome, Domain), CoreError> {
    let mut stages = crate::stages::Stages::new();
    let domain = domain::lock(tx, actor, name, Action::WriteZone).await?;
    domain.holds_own_records()?;
    let stored = sqlx::query_as!(
        StoredRow,
        r#"SELECT id AS "id: RecordId", name, type AS rtype, ttl, content, comment, disabled
             FROM records WHERE domain_id = $1"#,
        domain.id.0
    )
    .fetch_all(&mut **tx)
    .await?;
    stages.lap("lock and read");
    let stored_count = stored.len() as i64;
    let mut plan = plan(&origin_of(&domain), prepared, stored, mode, dry_run)?;
    stages.lap("plan");
    let after = stored_count + plan.add.len() as i64 - plan.remove.len() as i64;
    if after > stored_count {
        crate::quotas::check_records(tx, core, &domain, after).await?;
    }
    if dry_run || plan.is_empty() {
        return Ok((plan.outcome, domain));
    }
    write_diff(tx, &domain, &plan.remove, &plan.update, plan.add).await?;
    stages.lap("write");
    crate::secondaries::keep_addresses(tx, domain.id, &domain.zone, &domain.secondaries).await?;
    let serial = domain::bump_serial(tx, &domain).await?;
    let summary = |part: &DiffPart| {
        if part.count <= 1000 {
            serde_json::to_value(&part.records).unwrap_or_default()
        } else {
            serde_json::json!({"count": part.count})
        }
    };
    let outcome = &mut plan.outcome;
    let change = changes::append(
        tx,
        actor,
        NewChange {
            domain_id: domain.id,
            zone: &domain.zone.as_text(),
            action: crate::change_action::ChangeAction::ZoneImport,
            serial: Some(serial),
            before: Some(serde_json::json!({"removed": summary(&outcome.removed)})),
            after: Some(serde_json::json!({"added": summary(&outcome.added), "updated": summary(&outcome.updated), "mode": if mode == ImportMode::Replace { "replace" } else { "merge" }})),
            rrsets: Vec::new(),
            records: Some(std::mem::take(&mut plan.diff)),
        },
    )
    .await?;
    stages.lap("change");
    tracing::debug!(zone.name = %domain.zone, %stages, "zone import stored");
    outcome.change = Some(change);
    Ok((plan.outcome, domain))
}

/// What an import will do: the outcome shown (a dry run shows only this) and the writes.
struct Plan {
    outcome: ImportOutcome,
    /// New records: identity, TTL, comment.
    add: Vec<(Key, u32, Option<String>)>,
    /// Records kept with a new TTL or comment: id, TTL, comment.
    update: Vec<(i64, u32, Option<String>)>,
    /// Records to delete (always none when merging).
    remove: Vec<i64>,
    /// The exact diff, kept with the change for revert.
    diff: changes::RecordDiff,
}

impl Plan {
    fn is_empty(&self) -> bool {
        self.add.is_empty() && self.update.is_empty() && self.remove.is_empty()
    }
}

/// Decides an import, touching nothing: the zone as it should be afterwards (merging: the
/// file's records over the stored ones, checked as a whole), then its diff from what is
/// stored.
fn plan(
    origin: &DName,
    prepared: apex_zone::import::Prepared,
    stored: Vec<StoredRow>,
    mode: ImportMode,
    dry_run: bool,
) -> Result<Plan, CoreError> {
    let mut warnings: Vec<ImportWarning> = prepared
        .warnings
        .into_iter()
        .map(|w| ImportWarning {
            line: w.line,
            message: w.message,
        })
        .collect();
    let mut existing: HashMap<Key, Existing> = HashMap::with_capacity(stored.len());
    let mut kept: Vec<ZoneRecord> = Vec::new();
    for r in stored {
        if mode == ImportMode::Merge {
            kept.push(stored_record(
                origin,
                (r.id.0, &r.name, &r.rtype, r.ttl, &r.content),
                r.comment.clone(),
            )?);
        }
        existing.insert(
            (r.name, r.rtype, r.content),
            Existing {
                id: r.id.0,
                ttl: u32::try_from(r.ttl).unwrap_or_default(),
                comment: r.comment,
                disabled: r.disabled,
            },
        );
    }

    // The zone as it should be after the import, checked as a whole. The file's records are
    // published: a disabled record the file holds is enabled; merging keeps the others as
    // they are.
    let mut wanted: Vec<ZoneRecord> = prepared.records;
    let in_file: std::collections::HashSet<Key> =
        wanted.iter().map(key_of).collect::<Result<_, _>>()?;
    if mode == ImportMode::Merge {
        for r in kept {
            if !in_file.contains(&key_of(&r)?) {
                wanted.push(r);
            }
        }
        let (errors, more) = check_zone(origin, &mut wanted);
        if !errors.is_empty() {
            return Err(CoreError::ZoneFile(
                errors
                    .into_iter()
                    .map(|p| LineProblem {
                        line: p.line,
                        column: 1,
                        message: if p.line == 0 {
                            format!("with the zone's current records: {}", p.message)
                        } else {
                            p.message
                        },
                    })
                    .collect(),
            ));
        }
        warnings.extend(more.into_iter().map(|w| ImportWarning {
            line: w.line,
            message: w.message,
        }));
    }

    // Diff against what is stored.
    let mut plan = Plan {
        outcome: ImportOutcome {
            dry_run,
            added: DiffPart::default(),
            removed: DiffPart::default(),
            updated: DiffPart::default(),
            unchanged: 0,
            warnings,
            change: None,
        },
        add: Vec::new(),
        update: Vec::new(),
        remove: Vec::with_capacity(existing.len()),
        diff: changes::RecordDiff::default(),
    };
    let stored_record = |key: &Key, ttl: u32, comment: Option<String>| changes::StoredRecord {
        name: key.0.clone(),
        rtype: key.1.clone(),
        ttl,
        content: key.2.clone(),
        comment,
        disabled: false,
    };
    let outcome = &mut plan.outcome;
    for r in &wanted {
        let key = key_of(r)?;
        match existing.remove(&key) {
            Some(e)
                if e.ttl == r.ttl
                    && e.comment == r.comment
                    && !(e.disabled && in_file.contains(&key)) =>
            {
                outcome.unchanged += 1;
            }
            Some(e) => {
                outcome
                    .updated
                    .push(diff_record(origin, &key, r.ttl, r.comment.clone()));
                plan.diff.removed.push(changes::StoredRecord {
                    disabled: e.disabled,
                    ..stored_record(&key, e.ttl, e.comment)
                });
                plan.diff
                    .added
                    .push(stored_record(&key, r.ttl, r.comment.clone()));
                plan.update.push((e.id, r.ttl, r.comment.clone()));
            }
            None => {
                outcome
                    .added
                    .push(diff_record(origin, &key, r.ttl, r.comment.clone()));
                plan.diff
                    .added
                    .push(stored_record(&key, r.ttl, r.comment.clone()));
                plan.add.push((key, r.ttl, r.comment.clone()));
            }
        }
    }
    // What is left of the stored records is not wanted (always empty when merging).
    for (key, e) in existing {
        outcome
            .removed
            .push(diff_record(origin, &key, e.ttl, e.comment.clone()));
        plan.diff.removed.push(changes::StoredRecord {
            disabled: e.disabled,
            ..stored_record(&key, e.ttl, e.comment)
        });
        plan.remove.push(e.id);
    }
    outcome
        .added
        .records
        .sort_by(|a, b| (&a.name, &a.rtype, &a.content).cmp(&(&b.name, &b.rtype, &b.content)));
    outcome
        .removed
        .records
        .sort_by(|a, b| (&a.name, &a.rtype, &a.content).cmp(&(&b.name, &b.rtype, &b.content)));
    Ok(plan)
}

async fn write_diff(
    tx: &mut sqlx::Transaction<'_, sqlx::Postgres>,
    domain: &Domain,
    remove: &[i64],
    update: &[(i64, u32, Option<String>)],
    add: Vec<(Key, u32, Option<String>)>,
) -> Result<(), CoreError> {
    if !remove.is_empty() {
        sqlx::query!("DELETE FROM records WHERE id = ANY($1)", remove)
            .execute(&mut **tx)
            .await?;
    }
    // A record the file holds is published: an update enables it.
    let update: Vec<(RecordId, u32, Option<String>, bool)> = update
        .iter()
        .map(|(id, ttl, comment)| (RecordId(*id), *ttl, comment.clone(), false))
        .collect();
    crate::records::update_many(tx, &update).await?;
    // Inserted in batches, each one statement.
    for chunk in add.chunks(10_000) {
        let names: Vec<String> = chunk.iter().map(|a| a.0.0.clone()).collect();
        let types: Vec<String> = chunk.iter().map(|a| a.0.1.clone()).collect();
        let contents: Vec<String> = chunk.iter().map(|a| a.0.2.clone()).collect();
        let ttls: Vec<i32> = chunk
            .iter()
            .map(|a| i32::try_from(a.1).unwrap_or(i32::MAX))
            .collect();
        let comments: Vec<Option<String>> = chunk.iter().map(|a| a.2.clone()).collect();
        sqlx::query!(
            "INSERT INTO records (domain_id, name, type, ttl, content, comment)
             SELECT $1, * FROM UNNEST($2::text[], $3::text[], $4::int[], $5::text[], $6::text[])",
            domain.id.0,
            &names,
            &types,
            &ttls,
            &contents,
            &comments as &[Option<String>],
        )
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

/// The zone as served, in canonical BIND form: the SOA (at the newest serial), the platform's
/// apex NS set, and every record with its comment.
pub async fn export(core: &Core, actor: &Actor, name: &str) -> Result<(String, u32), CoreError> {
    // One snapshot: the serial and the records come from the same moment.
    let mut tx = core.pool.begin().await?;
    sqlx::query!("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        .execute(&mut *tx)
        .await?;
    let domain = domain::load(&mut *tx, actor, name, Action::Read).await?;
    let origin = origin_of(&domain);
    let rows = sqlx::query!(
        "SELECT id, name, type AS rtype, ttl, content, comment FROM records WHERE domain_id = $1 AND NOT disabled",
        domain.alias_of.as_ref().map_or(domain.id, |a| a.id).0
    )
    .fetch_all(&mut *tx)
    .await?;
    tx.commit().await?;
    let mut records = Vec::with_capacity(rows.len() + 4);
    // An alias exports its target's records, renamed into it, as it serves them.
    let rename = domain.alias_of.as_ref().map(|a| {
        (
            format!("{}.", a.name),
            format!("{}.", domain.zone.as_text()),
        )
    });
    for r in rows {
        let name = match &rename {
            Some((from, to)) => crate::records::renamed(&r.name, from, to),
            None => r.name,
        };
        records.push(stored_record(
            &origin,
            (r.id, &name, &r.rtype, r.ttl, &r.content),
            r.comment,
        )?);
    }
    let platform = &core.platform;
    let soa_params = domain.settings.soa.apply(&platform.soa);
    let mut platform_records = render::render(
        &domain.zone,
        domain.wanted_serial,
        &soa_params,
        &crate::secondaries::apex_ns(platform, &domain.secondaries),
        Vec::new(),
    );
    let soa = platform_records.remove(0);
    records.extend(platform_records);
    let text = zonefile::write(&origin, Some(&soa), &mut records)
        .map_err(|e| CoreError::Internal(e.to_string()))?;
    Ok((text, domain.wanted_serial))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One import per account at a time, and at most [`MAX_IMPORTS`] in all; a slot is given
    /// back when dropped.
    #[test]
    fn imports_at_once_are_limited() {
        let first = ImportSlot::claim("test:alice").unwrap();
        let e = ImportSlot::claim("test:alice").err().unwrap();
        assert!(
            matches!(&e, CoreError::Busy { detail, .. } if detail.contains("of this account")),
            "{e}"
        );
        drop(first);
        let again = ImportSlot::claim("test:alice").unwrap();
        let mut others = Vec::new();
        let refused = (0..MAX_IMPORTS + 1)
            .find_map(|i| match ImportSlot::claim(&format!("test:other-{i}")) {
                Ok(slot) => {
                    others.push(slot);
                    None
                }
                Err(e) => Some(e),
            })
            .expect("more than MAX_IMPORTS imports at once");
        assert!(refused.to_string().contains("on this server"), "{refused}");
        assert!(others.len() < MAX_IMPORTS);
        drop(again);
        drop(others);
    }
}
