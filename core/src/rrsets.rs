//! RRsets as a unit: read a zone RRset by RRset, and set or delete many RRsets in one
//! transaction, one change and one serial (`PUT /api/v1/domains/{name}/rrsets`).
//!
//! A batch is checked as a whole against the zone as it will be afterwards: a CNAME may
//! replace the A RRset at its name in the same batch, and a batch that leaves any name
//! breaking a rule (CNAME beside data, records below a DNAME, …) changes nothing. Revert
//! ([`crate::revert`]) writes through the same [`apply`], so it obeys the same rules.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use apex_zone::content::{self, parse_type};
use apex_zone::dname::DName;
use apex_zone::name::RecordName;
use apex_zone::rdata::{RrType, type_name};
use apex_zone::rrset::{Neighbourhood, RrsetError, Sibling, check_add};
use apex_zone::ttl::Ttl;
use serde::{Deserialize, Serialize};
use sqlx::{Postgres, Transaction};

use crate::actor::Actor;
use crate::authz::Action;
use crate::change_action::ChangeAction;
use crate::changes::{self, Change, NewChange, RecordDiff, RrsetKey, StoredRecord};
use crate::domain::{self, Domain};
use crate::ids::RecordId;
use crate::records::{self, DEFAULT_TTL, RecordView, Row};
use crate::{Core, CoreError};

/// Most RRsets one batch may carry.
pub const MAX_BATCH: usize = 10_000;

/// One RRset to set (with its records) or delete (`records` empty).
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"name": "www", "type": "A", "ttl": 300, "records": ["192.0.2.1", "192.0.2.2"]}))]
pub struct RrsetInput {
    /// Owner relative to the zone (`www`, `@`), or absolute inside it.
    pub name: String,
    /// Type mnemonic (`A`, `MX`, `TYPE65534`); the platform's types are refused as for records.
    #[serde(rename = "type")]
    pub rtype: String,
    /// Seconds; left out: the RRset's present TTL, or 3600 for a new RRset.
    pub ttl: Option<i64>,
    /// The RRset's records, content in zone-file presentation form; empty deletes the RRset.
    pub records: Vec<String>,
}

/// An RRset as the API shows it.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct RrsetView {
    /// Owner relative to the zone (`@` for the apex).
    pub name: String,
    /// Owner, absolute.
    pub fqdn: String,
    /// Type.
    #[serde(rename = "type")]
    pub rtype: String,
    /// TTL.
    pub ttl: u32,
    /// Canonical contents, sorted.
    pub records: Vec<String>,
}

/// An RRset's TTL and records, on one side of a diff.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct RrsetState {
    /// TTL.
    pub ttl: u32,
    /// Canonical contents, sorted.
    pub records: Vec<String>,
}

/// How one RRset changes (or would change).
#[derive(Debug, Clone, Serialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct RrsetChange {
    /// Owner relative to the zone.
    pub name: String,
    /// Owner, absolute.
    pub fqdn: String,
    /// Type.
    #[serde(rename = "type")]
    pub rtype: String,
    /// Before (none: the RRset is new).
    pub before: Option<RrsetState>,
    /// After (none: the RRset is deleted).
    pub after: Option<RrsetState>,
}

/// What a batch did, or on a dry run would do.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[schema(as = RrsetsOutcome)]
pub struct Outcome {
    /// Nothing was written.
    pub dry_run: bool,
    /// The zone's serial afterwards (unchanged when nothing changed, and on a dry run).
    pub serial: u32,
    /// The RRsets that change, by owner and type; RRsets asked for as they already are are
    /// left out.
    pub rrsets: Vec<RrsetChange>,
    /// The change written (none on a dry run, or when nothing changed).
    pub change: Option<Change>,
}

/// How a write is made.
#[derive(Debug, Clone, Copy, Default)]
pub struct WriteOptions {
    /// Check and show the diff, write nothing.
    pub dry_run: bool,
    /// The serial the caller read (`If-Match`): the write is refused when the zone has moved on.
    pub if_match: Option<u32>,
}

/// Refuses a write made against an older serial than the zone's (`If-Match`).
pub fn check_precondition(domain: &Domain, if_match: Option<u32>) -> Result<(), CoreError> {
    match if_match {
        Some(expected) if expected != domain.wanted_serial => Err(CoreError::PreconditionFailed {
            expected,
            current: domain.wanted_serial,
        }),
        _ => Ok(()),
    }
}

/// What becomes of a wanted record's comment and disabled flag.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Meta {
    /// Listed in a batch: published (enabled), its comment kept (none for a new record).
    Listed,
    /// Exactly this (revert).
    Exact {
        /// The comment.
        comment: Option<String>,
        /// Kept but not published.
        disabled: bool,
    },
}

/// A record of a wanted RRset.
#[derive(Debug, Clone)]
pub(crate) struct Wanted {
    /// Canonical content.
    pub(crate) content: String,
    /// Its wire form (for the RRset's size).
    pub(crate) wire: Vec<u8>,
    /// Its comment and disabled flag.
    pub(crate) meta: Meta,
}

/// An RRset as it should be: parsed and canonical, not yet checked against the zone.
#[derive(Debug, Clone)]
pub(crate) struct Target {
    /// Owner.
    pub(crate) name: RecordName,
    /// Type.
    pub(crate) rtype: RrType,
    /// TTL; `None`: the RRset's present one, or the default.
    pub(crate) ttl: Option<Ttl>,
    /// Records; empty deletes the RRset.
    pub(crate) records: Vec<Wanted>,
    /// Where it came from, as a field path for errors (`3` → `/3/records/0`).
    pub(crate) field: String,
    /// The RRset's disabled records are part of it: those not wanted are deleted (revert).
    /// Otherwise (a batch) disabled records are outside the RRset and left alone, unless
    /// listed, which enables them.
    pub(crate) exact: bool,
}

impl Target {
    fn fqdn(&self) -> String {
        self.name.to_fqdn()
    }
}

fn parse_input(
    core: &Core,
    domain: &Domain,
    i: usize,
    input: &RrsetInput,
) -> Result<Target, CoreError> {
    let field = i.to_string();
    let name = RecordName::parse(&input.name, &domain.zone)
        .map_err(|e| CoreError::invalid(format!("{field}.name"), e))?;
    let rtype =
        parse_type(&input.rtype).map_err(|e| CoreError::invalid(format!("{field}.type"), e))?;
    let ttl = input
        .ttl
        .map(|t| {
            Ttl::new(t, core.platform.ttl)
                .map_err(|e| CoreError::invalid(format!("{field}.ttl"), e))
        })
        .transpose()?;
    let mut records: Vec<Wanted> = Vec::with_capacity(input.records.len());
    for (j, text) in input.records.iter().enumerate() {
        let at = || format!("{field}.records[{j}]");
        let wire = content::parse(rtype, text, None).map_err(|e| CoreError::invalid(at(), e))?;
        let canonical =
            content::format(rtype, &wire).map_err(|e| CoreError::Internal(e.to_string()))?;
        if let Some(k) = records.iter().position(|r| r.content == canonical) {
            return Err(CoreError::invalid(
                at(),
                format!("the same record as records[{k}] ({canonical})"),
            ));
        }
        records.push(Wanted {
            content: canonical,
            wire,
            meta: Meta::Listed,
        });
    }
    Ok(Target {
        name,
        rtype,
        ttl,
        records,
        field,
        exact: false,
    })
}

/// Sets and deletes the RRsets of `inputs` in zone `zone`, all or nothing, in one change.
pub async fn put(
    core: &Core,
    actor: &Actor,
    zone: &str,
    inputs: &[RrsetInput],
    opts: WriteOptions,
) -> Result<Outcome, CoreError> {
    if inputs.len() > MAX_BATCH {
        return Err(CoreError::invalid(
            "",
            format!("{} RRsets in one batch; at most {MAX_BATCH}", inputs.len()),
        ));
    }
    let mut tx = core.pool.begin().await?;
    let domain = domain::lock(&mut tx, actor, zone, Action::WriteRecords).await?;
    check_precondition(&domain, opts.if_match)?;
    let targets = inputs
        .iter()
        .enumerate()
        .map(|(i, input)| parse_input(core, &domain, i, input))
        .collect::<Result<Vec<_>, _>>()?;
    let outcome = apply(
        core,
        &mut tx,
        actor,
        &domain,
        targets,
        How {
            action: ChangeAction::RrsetsUpdate,
            dry_run: opts.dry_run,
            check: Check::EachRrset,
        },
    )
    .await?;
    finish(core, tx, &domain, outcome).await
}

/// Commits a write that made a change (and wakes the worker); otherwise writes nothing.
pub(crate) async fn finish(
    core: &Core,
    mut tx: Transaction<'_, Postgres>,
    domain: &Domain,
    outcome: Outcome,
) -> Result<Outcome, CoreError> {
    let Some(change) = &outcome.change else {
        return Ok(outcome);
    };
    crate::secondaries::keep_addresses(&mut tx, domain.id, &domain.zone, &domain.secondaries)
        .await?;
    tx.commit().await?;
    tracing::info!(zone.name = %domain.zone, change.id = %change.id, action = %change.action, rrsets = outcome.rrsets.len(), "rrsets changed");
    core.queue.zone_changed(domain.id);
    Ok(outcome)
}

/// Whether [`apply`] authorizes each RRset for the actor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Check {
    /// Each RRset against the actor's role and key limits (batches, revert).
    EachRrset,
    /// The write as a whole was authorized already: the records are the platform's choice
    /// (a new domain's default records), not the actor's.
    Authorized,
}

/// How [`apply`] writes: the change's action, whether it only shows the diff, and whether it
/// authorizes each RRset.
#[derive(Debug, Clone, Copy)]
pub(crate) struct How {
    /// The action of the change written.
    pub(crate) action: ChangeAction,
    /// Show the diff, write nothing.
    pub(crate) dry_run: bool,
    /// Authorize each RRset, or not.
    pub(crate) check: Check,
}

/// A stored record of an RRset a batch touches.
struct Present {
    id: RecordId,
    ttl: u32,
    content: String,
    comment: Option<String>,
    disabled: bool,
}

/// Checks `targets` against the zone as it will be and (unless `dry_run`) writes them, with
/// a change of `action`, in the caller's transaction (the domain locked). The caller commits.
pub(crate) async fn apply(
    core: &Core,
    tx: &mut Transaction<'_, Postgres>,
    actor: &Actor,
    domain: &Domain,
    targets: Vec<Target>,
    how: How,
) -> Result<Outcome, CoreError> {
    let How {
        action,
        dry_run,
        check,
    } = how;
    domain.holds_own_records()?;
    // One entry per RRset, each authorized on its own (a key may be limited to some names).
    let mut seen: HashMap<(String, RrType), &str> = HashMap::new();
    for t in &targets {
        let fqdn = t.fqdn();
        if let Some(first) = seen.insert((fqdn.clone(), t.rtype), &t.field) {
            return Err(CoreError::invalid(
                &t.field,
                format!(
                    "the {} RRset at {} is already given at /{first}; give each RRset once",
                    type_name(t.rtype),
                    domain.zone.relative(t.name.name())
                ),
            ));
        }
        if check == Check::EachRrset {
            domain.authorize(
                actor,
                Action::WriteRecord {
                    name: &fqdn,
                    rtype: &type_name(t.rtype),
                },
            )?;
        }
    }

    // What the touched names hold now.
    let names: Vec<String> = targets
        .iter()
        .map(Target::fqdn)
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let rows = sqlx::query_as!(
        Row,
        r#"SELECT id AS "id: RecordId", name, type AS rtype, ttl, content, comment, disabled
             FROM records WHERE domain_id = $1 AND name = ANY($2) ORDER BY id"#,
        domain.id.0,
        &names,
    )
    .fetch_all(&mut **tx)
    .await?;
    let mut present: HashMap<(String, String), Vec<Present>> = HashMap::new();
    // What each name will hold: the types the batch does not touch stay as they are.
    let mut after_at: BTreeMap<String, Vec<(RrType, String)>> = BTreeMap::new();
    // A batch leaves the disabled records of its RRsets alone unless it lists them.
    let listed: HashMap<(String, String), (bool, BTreeSet<&str>)> = targets
        .iter()
        .map(|t| {
            (
                (t.fqdn(), type_name(t.rtype)),
                (
                    t.exact,
                    t.records.iter().map(|w| w.content.as_str()).collect(),
                ),
            )
        })
        .collect();
    let mut all_rows: HashMap<RecordId, Row> = HashMap::new();
    for r in rows {
        let key = (r.name.clone(), r.rtype.clone());
        // Outside the batch: kept as it is, and counted by the rules.
        let stays = match listed.get(&key) {
            None => true,
            Some((exact, contents)) => {
                r.disabled && !exact && !contents.contains(r.content.as_str())
            }
        };
        if stays {
            if let Some(t) = RrType::parse(r.rtype.as_bytes()) {
                after_at
                    .entry(r.name.clone())
                    .or_default()
                    .push((t, r.content.clone()));
            }
        } else {
            present.entry(key).or_default().push(Present {
                id: r.id,
                ttl: u32::try_from(r.ttl).unwrap_or_default(),
                content: r.content.clone(),
                comment: r.comment.clone(),
                disabled: r.disabled,
            });
        }
        all_rows.insert(r.id, r);
    }
    for t in &targets {
        let at = after_at.entry(t.fqdn()).or_default();
        at.extend(t.records.iter().map(|w| (t.rtype, w.content.clone())));
    }

    // DNAMEs above the touched names, as the zone will be.
    let zone_fqdn = format!("{}.", domain.zone.as_text());
    let ancestors_of = |owner: &str| {
        let mut v = Vec::new();
        let mut rest = owner;
        while let Some((_, parent)) = rest.split_once('.') {
            if parent.len() < zone_fqdn.len() {
                break;
            }
            v.push(parent.to_string());
            rest = parent;
        }
        v
    };
    let ancestors: Vec<String> = names
        .iter()
        .flat_map(|n| ancestors_of(n))
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let mut dnames: BTreeSet<String> = sqlx::query_scalar!(
        "SELECT DISTINCT name FROM records WHERE domain_id = $1 AND type = 'DNAME' AND name = ANY($2)",
        domain.id.0,
        &ancestors,
    )
    .fetch_all(&mut **tx)
    .await?
    .into_iter()
    .collect();
    for t in targets.iter().filter(|t| t.rtype == RrType::DNAME) {
        if t.records.is_empty() {
            dnames.remove(&t.fqdn());
        } else {
            dnames.insert(t.fqdn());
        }
    }

    // The rules, for every record of every RRset set, against the zone as it will be.
    let apex = domain.zone.name();
    for t in &targets {
        if t.records.is_empty() {
            continue;
        }
        let fqdn = t.fqdn();
        let rel = domain.zone.relative(t.name.name());
        let at = after_at.get(&fqdn).map_or(&[][..], Vec::as_slice);
        let dname_above = ancestors_of(&fqdn)
            .into_iter()
            .find(|a| dnames.contains(a))
            .map(|a| relative(domain, &a));
        let has_descendants = if t.rtype == RrType::DNAME {
            has_descendants(tx, domain, &fqdn, &after_at).await?
        } else {
            false
        };
        for (j, w) in t.records.iter().enumerate() {
            let mut skipped = false;
            let siblings = at
                .iter()
                .filter(|(rt, c)| {
                    if !skipped && *rt == t.rtype && *c == w.content {
                        skipped = true;
                        return false;
                    }
                    true
                })
                .map(|(rt, c)| Sibling {
                    rtype: *rt,
                    content: c.as_str().into(),
                })
                .collect();
            let near = Neighbourhood {
                name: rel.clone(),
                at_apex: t.name.name() == apex,
                siblings,
                dname_above: dname_above.clone(),
                has_descendants,
            };
            check_add(&near, t.rtype, &w.content).map_err(|e| {
                let field = format!("{}.records[{j}]", t.field);
                match e {
                    RrsetError::Duplicate { .. } => CoreError::conflict(field, e),
                    _ => CoreError::invalid(field, e),
                }
            })?;
        }
        // The RRset must fit one DNS message.
        let per_record = DName::from_name(t.name.name()).wire().len() + 10;
        let size: usize = t.records.iter().map(|w| per_record + w.wire.len()).sum();
        if size > 65_535 {
            return Err(CoreError::invalid(
                format!("{}.records", t.field),
                format!(
                    "the {} RRset at {rel} would be {size} bytes on the wire; at most 65535 fit a DNS message",
                    type_name(t.rtype)
                ),
            ));
        }
    }

    // The diff, RRset by RRset.
    let bounds = core.platform.ttl;
    let mut diffs: Vec<RrsetChange> = Vec::new();
    let mut delete_ids: Vec<i64> = Vec::new();
    let mut updates: Vec<(RecordId, u32, Option<String>, bool)> = Vec::new();
    let mut inserts: Vec<(String, String, u32, String, Option<String>, bool)> = Vec::new();
    let mut record_diff = RecordDiff::default();
    let mut keys: Vec<RrsetKey> = Vec::new();
    for t in &targets {
        let fqdn = t.fqdn();
        let tname = type_name(t.rtype);
        let now = present
            .remove(&(fqdn.clone(), tname.clone()))
            .unwrap_or_default();
        let ttl = match (t.ttl, now.first()) {
            (Some(ttl), _) => ttl.get(),
            (None, Some(p)) => p.ttl,
            (None, None) => {
                let v = DEFAULT_TTL.clamp(i64::from(bounds.min), i64::from(bounds.max));
                Ttl::new(v, bounds)
                    .map_err(|e| CoreError::invalid(format!("{}.ttl", t.field), e))?
                    .get()
            }
        };
        let stored =
            |content: &str, ttl: u32, comment: Option<String>, disabled: bool| StoredRecord {
                name: fqdn.clone(),
                rtype: tname.clone(),
                ttl,
                content: content.to_string(),
                comment,
                disabled,
            };
        let mut changed = false;
        let mut kept: HashMap<&str, &Present> =
            now.iter().map(|p| (p.content.as_str(), p)).collect();
        for w in &t.records {
            match kept.remove(w.content.as_str()) {
                Some(p) => {
                    let (comment, disabled) = match &w.meta {
                        Meta::Listed => (p.comment.clone(), false),
                        Meta::Exact { comment, disabled } => (comment.clone(), *disabled),
                    };
                    if p.ttl != ttl || p.comment != comment || p.disabled != disabled {
                        changed = true;
                        updates.push((p.id, ttl, comment.clone(), disabled));
                        record_diff.removed.push(stored(
                            &p.content,
                            p.ttl,
                            p.comment.clone(),
                            p.disabled,
                        ));
                        record_diff
                            .added
                            .push(stored(&p.content, ttl, comment, disabled));
                    }
                }
                None => {
                    changed = true;
                    let (comment, disabled) = match &w.meta {
                        Meta::Listed => (None, false),
                        Meta::Exact { comment, disabled } => (comment.clone(), *disabled),
                    };
                    inserts.push((
                        fqdn.clone(),
                        tname.clone(),
                        ttl,
                        w.content.clone(),
                        comment.clone(),
                        disabled,
                    ));
                    record_diff
                        .added
                        .push(stored(&w.content, ttl, comment, disabled));
                }
            }
        }
        for p in kept.into_values() {
            changed = true;
            delete_ids.push(p.id.0);
            record_diff
                .removed
                .push(stored(&p.content, p.ttl, p.comment.clone(), p.disabled));
        }
        if !changed {
            continue;
        }
        let state = |ttl: u32, mut records: Vec<String>| {
            records.sort();
            (!records.is_empty()).then_some(RrsetState { ttl, records })
        };
        diffs.push(RrsetChange {
            name: domain.zone.relative(t.name.name()),
            fqdn: fqdn.clone(),
            rtype: tname.clone(),
            before: state(
                now.first().map_or(0, |p| p.ttl),
                now.iter()
                    .filter(|p| !p.disabled)
                    .map(|p| p.content.clone())
                    .collect(),
            ),
            after: state(
                ttl,
                t.records
                    .iter()
                    .filter(|w| !matches!(w.meta, Meta::Exact { disabled: true, .. }))
                    .map(|w| w.content.clone())
                    .collect(),
            ),
        });
        keys.push(RrsetKey::new(fqdn, tname));
    }
    diffs.sort_by(|a, b| (&a.fqdn, &a.rtype).cmp(&(&b.fqdn, &b.rtype)));
    // The owner's quota, for what the batch adds.
    let growth = i64::try_from(inserts.len()).unwrap_or(i64::MAX)
        - i64::try_from(delete_ids.len()).unwrap_or(0);
    crate::quotas::check_growth(tx, core, domain, growth).await?;

    if diffs.is_empty() || dry_run {
        return Ok(Outcome {
            dry_run,
            serial: domain.wanted_serial,
            rrsets: diffs,
            change: None,
        });
    }

    // The writes: deletions, TTL and comment updates, insertions, each one statement.
    let mut before: Vec<RecordView> = Vec::new();
    let mut after: Vec<RecordView> = Vec::new();
    let view = |r: &Row| records::view(&domain.zone, r.clone());
    if !delete_ids.is_empty() {
        sqlx::query!("DELETE FROM records WHERE id = ANY($1)", &delete_ids)
            .execute(&mut **tx)
            .await?;
        before.extend(
            delete_ids
                .iter()
                .filter_map(|id| all_rows.get(&RecordId(*id)))
                .map(view),
        );
    }
    if !updates.is_empty() {
        records::update_many(tx, &updates).await?;
        for (id, ttl, comment, disabled) in &updates {
            if let Some(r) = all_rows.get(id) {
                before.push(view(r));
                let mut new = r.clone();
                new.ttl = i32::try_from(*ttl).unwrap_or(i32::MAX);
                new.comment.clone_from(comment);
                new.disabled = *disabled;
                after.push(view(&new));
            }
        }
    }
    if !inserts.is_empty() {
        let names: Vec<String> = inserts.iter().map(|i| i.0.clone()).collect();
        let types: Vec<String> = inserts.iter().map(|i| i.1.clone()).collect();
        let ttls: Vec<i32> = inserts
            .iter()
            .map(|i| i32::try_from(i.2).unwrap_or(i32::MAX))
            .collect();
        let contents: Vec<String> = inserts.iter().map(|i| i.3.clone()).collect();
        let comments: Vec<Option<String>> = inserts.iter().map(|i| i.4.clone()).collect();
        let disabled: Vec<bool> = inserts.iter().map(|i| i.5).collect();
        let rows = sqlx::query_as!(
            Row,
            r#"INSERT INTO records (domain_id, name, type, ttl, content, comment, disabled)
               SELECT $1, * FROM UNNEST($2::text[], $3::text[], $4::int[], $5::text[], $6::text[], $7::bool[])
               RETURNING id AS "id: RecordId", name, type AS rtype, ttl, content, comment, disabled"#,
            domain.id.0,
            &names,
            &types,
            &ttls,
            &contents,
            &comments as &[Option<String>],
            &disabled,
        )
        .fetch_all(&mut **tx)
        .await
        .map_err(|e| {
            CoreError::on_constraint(e, "records_unique", "records", "a record is given twice")
        })?;
        after.extend(rows.iter().map(view));
    }
    before.sort_by(|a, b| (&a.fqdn, &a.rtype, a.id).cmp(&(&b.fqdn, &b.rtype, b.id)));
    after.sort_by(|a, b| (&a.fqdn, &a.rtype, a.id).cmp(&(&b.fqdn, &b.rtype, b.id)));
    let serial = domain::bump_serial(tx, domain).await?;
    let json = |v: &[RecordView]| serde_json::to_value(v).unwrap_or_default();
    let change = changes::append(
        tx,
        actor,
        NewChange {
            domain_id: domain.id,
            zone: &domain.zone.as_text(),
            action,
            serial: Some(serial),
            before: (!before.is_empty()).then(|| json(&before)),
            after: (!after.is_empty()).then(|| json(&after)),
            rrsets: keys,
            records: Some(record_diff),
        },
    )
    .await?;
    Ok(Outcome {
        dry_run: false,
        serial,
        rrsets: diffs,
        change: Some(change),
    })
}

/// `fqdn` relative to the zone.
fn relative(domain: &Domain, fqdn: &str) -> String {
    DName::parse(fqdn.as_bytes(), None)
        .map(|n| n.to_name())
        .map_or_else(|_| fqdn.to_string(), |n| domain.zone.relative(&n))
}

/// Whether anything will live below `fqdn`: stored records (unless the batch empties their
/// name) or records the batch adds.
async fn has_descendants(
    tx: &mut Transaction<'_, Postgres>,
    domain: &Domain,
    fqdn: &str,
    after_at: &BTreeMap<String, Vec<(RrType, String)>>,
) -> Result<bool, CoreError> {
    let suffix = format!(".{fqdn}");
    if after_at
        .iter()
        .any(|(n, records)| n.ends_with(&suffix) && !records.is_empty())
    {
        return Ok(true);
    }
    let (from, until) = crate::db::names_below(fqdn);
    let below: Vec<String> = sqlx::query_scalar!(
        r#"SELECT DISTINCT name FROM records WHERE domain_id = $1
            AND reverse(name) COLLATE "C" >= $2 AND reverse(name) COLLATE "C" < $3"#,
        domain.id.0,
        from,
        until,
    )
    .fetch_all(&mut **tx)
    .await?;
    // A stored name the batch touches counts as it will be.
    Ok(below
        .iter()
        .any(|n| after_at.get(n).is_none_or(|records| !records.is_empty())))
}

/// Which RRsets to list, and from where.
#[derive(Debug, Clone, Default)]
pub struct RrsetFilter {
    /// Only this owner (relative or absolute).
    pub name: Option<String>,
    /// Only this type.
    pub rtype: Option<String>,
    /// Start after this RRset (owner, absolute, and type), from a page's `next` cursor.
    pub after: Option<(String, String)>,
    /// RRsets per page (1–1000).
    pub limit: i64,
}

/// A page of a zone's RRsets, by owner then type, and the zone's serial.
pub async fn list(
    core: &Core,
    actor: &Actor,
    zone: &str,
    filter: &RrsetFilter,
) -> Result<(Vec<RrsetView>, u32), CoreError> {
    let mut tx = core.pool.begin().await?;
    sqlx::query!("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        .execute(&mut *tx)
        .await?;
    let domain = domain::load(&mut *tx, actor, zone, Action::Read).await?;
    let name = filter
        .name
        .as_deref()
        .map(|n| RecordName::parse(n, &domain.zone).map(|n| n.to_fqdn()))
        .transpose()
        .map_err(|e| CoreError::invalid("name", e))?;
    let rtype = match filter.rtype.as_deref() {
        None => None,
        Some(t) => Some(
            RrType::parse(t.to_ascii_uppercase().as_bytes())
                .map(type_name)
                .ok_or_else(|| CoreError::invalid("type", format!("{t} is not a record type")))?,
        ),
    };
    let (after_name, after_type) = filter.after.clone().unzip();
    let rows = sqlx::query!(
        r#"WITH sets AS (
             SELECT DISTINCT name, type FROM records
              WHERE domain_id = $1 AND NOT disabled AND ($2::text IS NULL OR name = $2) AND ($3::text IS NULL OR type = $3)
                AND ($4::text IS NULL OR (name, type) > ($4, $5))
              ORDER BY name, type LIMIT $6)
           SELECT r.name, r.type AS rtype, r.ttl, r.content
             FROM records r JOIN sets s ON s.name = r.name AND s.type = r.type
            WHERE r.domain_id = $1 AND NOT r.disabled
            ORDER BY r.name, r.type, r.content"#,
        domain.id.0,
        name,
        rtype,
        after_name,
        after_type,
        filter.limit.clamp(1, 1000),
    )
    .fetch_all(&mut *tx)
    .await?;
    tx.commit().await?;
    let mut out: Vec<RrsetView> = Vec::new();
    for r in rows {
        match out.last_mut() {
            Some(last) if last.fqdn == r.name && last.rtype == r.rtype => {
                last.records.push(r.content);
            }
            _ => out.push(RrsetView {
                name: relative(&domain, &r.name),
                fqdn: r.name,
                rtype: r.rtype,
                ttl: u32::try_from(r.ttl).unwrap_or_default(),
                records: vec![r.content],
            }),
        }
    }
    Ok((out, domain.wanted_serial))
}
