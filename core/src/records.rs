//! Records: list, create, update, delete. Input is parsed with apex-zone before anything is
//! written; the rules between records at one name are checked under the domain's row lock.
//! Every record type apex-zone knows (or writes as `TYPEnnn`) may be written, except the
//! SOA, the DNSSEC signer's records and the meta types, which the platform makes.
//!
//! TTL is a property of the RRset (RFC 2181 section 5.2): writing a record with a TTL gives
//! its whole RRset that TTL, and the change shows the siblings it touched. A record written
//! without one takes its RRset's TTL, or [`DEFAULT_TTL`] for a new RRset.

use apex_zone::content::{self, parse_type};
use apex_zone::dname::DName;
use apex_zone::name::{RecordName, ZoneName};
use apex_zone::rdata::{RrType, type_name};
use apex_zone::rrset::{Neighbourhood, RrsetError, Sibling, check_add};
use apex_zone::ttl::Ttl;
use serde::{Deserialize, Serialize};
use sqlx::{Postgres, Transaction};

use crate::actor::Actor;
use crate::authz::Action;
use crate::changes::{self, Change, NewChange, RrsetKey};
use crate::domain::{self, Domain};
use crate::ids::RecordId;
use crate::{Core, CoreError};

/// TTL of a new RRset written without one (kept within the configured bounds).
pub const DEFAULT_TTL: i64 = 3600;

/// A record as the API takes it.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RecordInput {
    /// Owner relative to the zone (`www`, `@`), or absolute inside it (`www.example.com.`).
    pub name: String,
    /// Type: any record type by its mnemonic (`A`, `AAAA`, `CAA`, `CNAME`, `DS`, `HTTPS`,
    /// `MX`, `NS`, `PTR`, `SRV`, `SSHFP`, `SVCB`, `TLSA`, `TXT`, …, in any case) or as
    /// `TYPEnnn` (RFC 3597), except those the platform makes: `SOA`, the signer's `RRSIG`,
    /// `NSEC`, `NSEC3` and `NSEC3PARAM`, and the meta types (`OPT`, `TSIG`, `AXFR`, `IXFR`,
    /// `ANY`, codes 128–255). See [`apex_zone::content::parse_type`].
    #[serde(rename = "type")]
    pub rtype: String,
    /// Seconds; left out: the RRset's TTL, or 3600 for a new RRset.
    pub ttl: Option<i64>,
    /// Content in zone-file presentation form; names must end with a dot.
    pub content: String,
    /// A note kept with the record.
    pub comment: Option<String>,
    /// Keep the record without publishing it (default false).
    #[serde(default)]
    pub disabled: bool,
}

/// A partial update: fields left out keep their value.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RecordPatch {
    /// New owner.
    pub name: Option<String>,
    /// New type.
    #[serde(rename = "type")]
    pub rtype: Option<String>,
    /// New TTL.
    pub ttl: Option<i64>,
    /// New content.
    pub content: Option<String>,
    /// New comment.
    pub comment: Option<String>,
    /// Disable (keep, do not publish) or enable the record.
    pub disabled: Option<bool>,
}

/// A record as the API shows it.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct RecordView {
    /// Id.
    pub id: RecordId,
    /// Owner relative to the zone (`@` for the apex).
    pub name: String,
    /// Owner, absolute.
    pub fqdn: String,
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
    /// Kept but not published (enable it again with `PATCH {"disabled": false}`).
    pub disabled: bool,
    /// The owner in Unicode, for internationalised names (`bücher` for `xn--bcher-kva`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name_unicode: Option<String>,
    /// TXT: the strings joined, as applications read them (a DKIM key split at 255 bytes reads
    /// as one key again).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
}

/// A record checked and ready to store.
struct Parsed {
    name: RecordName,
    rtype: RrType,
    /// Canonical wire form of the content.
    wire: Vec<u8>,
    /// As given; `None` takes the RRset's.
    ttl: Option<Ttl>,
    content: String,
    comment: Option<String>,
    disabled: bool,
}

fn parse(core: &Core, zone: &ZoneName, input: &RecordInput) -> Result<Parsed, CoreError> {
    let name = RecordName::parse(&input.name, zone).map_err(|e| CoreError::invalid("name", e))?;
    let rtype = parse_type(&input.rtype).map_err(|e| CoreError::invalid("type", e))?;
    let ttl = input
        .ttl
        .map(|t| Ttl::new(t, core.platform.ttl).map_err(|e| CoreError::invalid("ttl", e)))
        .transpose()?;
    let wire = content::parse(rtype, &input.content, None)
        .map_err(|e| CoreError::invalid("content", e))?;
    let canonical =
        content::format(rtype, &wire).map_err(|e| CoreError::Internal(e.to_string()))?;
    let comment = input
        .comment
        .as_ref()
        .map(|c| c.trim().to_string())
        .filter(|c| !c.is_empty());
    if comment.as_ref().is_some_and(|c| c.len() > 500) {
        return Err(CoreError::invalid(
            "comment",
            "comment is longer than 500 characters",
        ));
    }
    Ok(Parsed {
        name,
        rtype,
        ttl,
        content: canonical,
        comment,
        wire,
        disabled: input.disabled,
    })
}

/// A row of `records` as stored.
#[derive(Debug, Clone)]
pub(crate) struct Row {
    /// Id.
    pub(crate) id: RecordId,
    /// Owner, absolute.
    pub(crate) name: String,
    /// Type mnemonic.
    pub(crate) rtype: String,
    /// TTL.
    pub(crate) ttl: i32,
    /// Canonical content.
    pub(crate) content: String,
    /// Comment.
    pub(crate) comment: Option<String>,
    /// Kept, not published.
    pub(crate) disabled: bool,
}

/// A stored record as the API shows it.
pub(crate) fn view(zone: &ZoneName, r: Row) -> RecordView {
    let owner = stored_name(&r.name);
    let name = zone.relative(&owner);
    let unicode = apex_zone::name::to_unicode(&name);
    let text = (r.rtype == "TXT")
        .then(|| content::parse(RrType::TXT, &r.content, None).ok())
        .flatten()
        .map(|wire| String::from_utf8_lossy(&apex_zone::rdata::txt_joined(&wire)).into_owned());
    RecordView {
        id: r.id,
        name_unicode: (unicode != name).then_some(unicode),
        name,
        fqdn: r.name,
        rtype: r.rtype,
        ttl: u32::try_from(r.ttl).unwrap_or_default(),
        content: r.content,
        comment: r.comment,
        disabled: r.disabled,
        text,
    }
}

/// Remarks about a record that is valid but probably not what was meant.
async fn warnings(
    tx: &mut Transaction<'_, Postgres>,
    domain: &Domain,
    p: &Parsed,
) -> Result<Vec<String>, CoreError> {
    let mut out = Vec::new();
    if let Some(w) = apex_zone::spf::warning(p.rtype, &p.wire) {
        out.push(w);
    }
    // NS, MX and SRV must name a host, not an alias (RFC 2181 section 10.3).
    let mut w = apex_zone::rdata::Wire::new(&p.wire);
    let target = match p.rtype {
        RrType::NS => w.name().ok(),
        RrType::MX => w.u16().ok().and_then(|_| w.name().ok()),
        RrType::SRV => w.bytes(6).ok().and_then(|_| w.name().ok()),
        _ => None,
    };
    if let Some(t) = target {
        let is_alias = sqlx::query_scalar!(
            r#"SELECT EXISTS (SELECT 1 FROM records WHERE domain_id = $1 AND name = $2 AND type = 'CNAME') AS "e!""#,
            domain.id.0,
            t.to_string(),
        )
        .fetch_one(&mut **tx)
        .await?;
        if is_alias {
            out.push(format!("{} points at {t}, which is a CNAME: it must point at a host's own name (RFC 2181 section 10.3)", type_name(p.rtype)));
        }
    }
    Ok(out)
}

/// A stored owner name (DName's text form, which hickory's `from_ascii` cannot read for
/// labels like RFC 2317's `0/26`) as a hickory name.
fn stored_name(text: &str) -> apex_zone::Name {
    DName::parse(text.as_bytes(), None)
        .map(|n| n.to_name())
        .unwrap_or_default()
}

/// A stored owner `name` (absolute) of the zone `from` (`example.com.`) moved into the zone
/// `to`: `www.example.com.` becomes `www.alias.example.` (for aliases).
pub(crate) fn renamed(name: &str, from: &str, to: &str) -> String {
    match name.strip_suffix(from) {
        Some("") => to.to_string(),
        Some(label) => format!("{label}{to}"),
        None => name.to_string(),
    }
}

/// A stored record read back as a zone record — for publishing, export and the rules over a
/// whole zone. Records are checked on the way in, so one that does not parse is a bug or a
/// hand edit: it is an error naming the record, never silently left out.
pub fn stored(
    origin: &DName,
    id: i64,
    name: &str,
    rtype: &str,
    ttl: i32,
    content: &str,
) -> Result<apex_zone::record::ZoneRecord, CoreError> {
    let bad = |reason: String| {
        CoreError::Internal(format!(
            "record {id} ({name} {rtype}) does not parse: {reason}"
        ))
    };
    let owner = DName::parse(name.as_bytes(), None).map_err(|e| bad(e.to_string()))?;
    let t = RrType::parse(rtype.as_bytes()).ok_or_else(|| bad("unknown type".into()))?;
    let wire = content::parse(t, content, Some(origin)).map_err(|e| bad(e.to_string()))?;
    let ttl = u32::try_from(ttl).map_err(|_| bad("negative TTL".into()))?;
    Ok(apex_zone::record::ZoneRecord::new(
        owner,
        ttl,
        t,
        wire.into_boxed_slice(),
    ))
}

fn json(records: &[RecordView]) -> serde_json::Value {
    serde_json::to_value(records).unwrap_or_default()
}

/// Which records to list (`GET /domains/{name}/records`), and which page of them.
#[derive(Debug, Clone)]
pub struct RecordQuery {
    /// Only this owner (relative or absolute).
    pub name: Option<String>,
    /// Only this type.
    pub rtype: Option<String>,
    /// Only records whose content contains this (any case).
    pub content: Option<String>,
    /// The page: after (owner, type, id), by owner, type and id.
    pub window: crate::page::Window<(String, String, i64)>,
}

/// A page of the zone's records by owner (absolute, as text), type and id, with the zone's
/// serial, read in one snapshot.
pub async fn list(
    core: &Core,
    actor: &Actor,
    zone: &str,
    q: &RecordQuery,
) -> Result<(Vec<RecordView>, u32), CoreError> {
    let mut tx = core.pool.begin().await?;
    sqlx::query!("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        .execute(&mut *tx)
        .await?;
    let domain = domain::load(&mut *tx, actor, zone, Action::Read).await?;
    let name = q
        .name
        .as_deref()
        .map(|n| RecordName::parse(n, &domain.zone).map(|n| n.to_fqdn()))
        .transpose()
        .map_err(|e| CoreError::invalid("name", e))?;
    let rtype = q
        .rtype
        .as_deref()
        .map(|t| parse_type(t).map(type_name))
        .transpose()
        .map_err(|e| CoreError::invalid("type", e))?;
    let content = q.content.as_deref().filter(|c| !c.is_empty()).map(like);
    let (after_name, after_type, after_id) = match &q.window.after {
        Some((n, t, i)) => (Some(n.as_str()), Some(t.as_str()), Some(*i)),
        None => (None, None, None),
    };
    let rows = sqlx::query_as!(
        Row,
        r#"SELECT id AS "id: RecordId", name, type AS rtype, ttl, content, comment, disabled
             FROM records
            WHERE domain_id = $1 AND ($2::text IS NULL OR name = $2) AND ($3::text IS NULL OR type = $3)
              AND ($4::text IS NULL OR content ILIKE $4)
              AND ($5::text IS NULL OR (name, type, id) > ($5, $6, $7))
            ORDER BY name, type, id
            LIMIT $8"#,
        domain.id.0,
        name,
        rtype,
        content,
        after_name,
        after_type,
        after_id,
        q.window.limit,
    )
    .fetch_all(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok((
        rows.into_iter().map(|r| view(&domain.zone, r)).collect(),
        domain.wanted_serial,
    ))
}

/// A case-insensitive substring pattern for ILIKE, its wildcards taken literally.
fn like(s: &str) -> String {
    let escaped = s
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_");
    format!("%{escaped}%")
}

/// Which records to show, and which page of them.
#[derive(Debug, Clone, Default)]
pub struct RecordFilter {
    /// Words to look for in the owner, the content or the comment (case-insensitive).
    pub search: Option<String>,
    /// Only this type.
    pub rtype: Option<String>,
    /// Records to skip.
    pub offset: i64,
    /// Records to return at most.
    pub limit: i64,
}

/// One page of a zone's records.
#[derive(Debug, Clone)]
pub struct RecordPage {
    /// The records, by owner, type and content.
    pub records: Vec<RecordView>,
    /// How many match the filter in all.
    pub total: i64,
    /// How many records of each type the zone has (for the type filter), by type.
    pub types: Vec<(String, i64)>,
}

/// A page of the zone's records matching `filter` (the dashboard's record list: a zone of
/// many thousands of records is read a page at a time).
pub async fn page(
    core: &Core,
    actor: &Actor,
    zone: &str,
    filter: &RecordFilter,
) -> Result<RecordPage, CoreError> {
    let domain = domain::load(&core.pool, actor, zone, Action::Read).await?;
    let pattern = filter
        .search
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(like);
    let rtype = filter
        .rtype
        .as_deref()
        .filter(|t| !t.is_empty())
        .map(str::to_ascii_uppercase);
    let rows = sqlx::query!(
        r#"SELECT id AS "id: RecordId", name, type AS rtype, ttl, content, comment, disabled,
                  count(*) OVER () AS "total!"
             FROM records
            WHERE domain_id = $1 AND ($2::text IS NULL OR type = $2)
              AND ($3::text IS NULL OR name ILIKE $3 OR content ILIKE $3 OR comment ILIKE $3)
            ORDER BY name, type, content
            LIMIT $4 OFFSET $5"#,
        domain.id.0,
        rtype,
        pattern,
        filter.limit.clamp(1, 1000),
        filter.offset.max(0),
    )
    .fetch_all(&core.pool)
    .await?;
    let total = rows.first().map_or(0, |r| r.total);
    let records = rows
        .into_iter()
        .map(|r| {
            view(
                &domain.zone,
                Row {
                    id: r.id,
                    name: r.name,
                    rtype: r.rtype,
                    ttl: r.ttl,
                    content: r.content,
                    comment: r.comment,
                    disabled: r.disabled,
                },
            )
        })
        .collect();
    let types = sqlx::query!(
        r#"SELECT type AS rtype, count(*) AS "n!" FROM records WHERE domain_id = $1
            GROUP BY type ORDER BY type"#,
        domain.id.0,
    )
    .fetch_all(&core.pool)
    .await?
    .into_iter()
    .map(|r| (r.rtype, r.n))
    .collect();
    Ok(RecordPage {
        records,
        total,
        types,
    })
}

/// One record of the zone.
pub async fn get(
    core: &Core,
    actor: &Actor,
    zone: &str,
    id: RecordId,
) -> Result<RecordView, CoreError> {
    let domain = domain::load(&core.pool, actor, zone, Action::Read).await?;
    let row = sqlx::query_as!(
        Row,
        r#"SELECT id AS "id: RecordId", name, type AS rtype, ttl, content, comment, disabled
             FROM records WHERE id = $1 AND domain_id = $2"#,
        id.0,
        domain.id.0,
    )
    .fetch_optional(&core.pool)
    .await?
    .ok_or(CoreError::NotFound {
        what: "record",
        name: id.to_string(),
    })?;
    Ok(view(&domain.zone, row))
}

/// What surrounds the record's owner: records at the name, a DNAME above it, records below it.
async fn neighbourhood(
    tx: &mut Transaction<'_, Postgres>,
    domain: &Domain,
    name: &RecordName,
    except: Option<RecordId>,
) -> Result<Neighbourhood<'static>, CoreError> {
    let owner = name.to_fqdn();
    let rows = sqlx::query!(
        r#"SELECT type AS rtype, content FROM records
            WHERE domain_id = $1 AND name = $2 AND ($3::bigint IS NULL OR id <> $3)"#,
        domain.id.0,
        owner,
        except.map(|e| e.0),
    )
    .fetch_all(&mut **tx)
    .await?;
    let siblings = rows
        .into_iter()
        .filter_map(|r| {
            RrType::parse(r.rtype.as_bytes()).map(|t| Sibling {
                rtype: t,
                content: r.content.into(),
            })
        })
        .collect();
    let zone_fqdn = format!("{}.", domain.zone.as_text());
    let ancestors: Vec<String> = {
        let mut v = Vec::new();
        let mut rest = owner.as_str();
        while let Some((_, parent)) = rest.split_once('.') {
            if parent.len() < zone_fqdn.len() {
                break;
            }
            v.push(parent.to_string());
            rest = parent;
        }
        v
    };
    let dname_above = sqlx::query_scalar!(
        "SELECT name FROM records WHERE domain_id = $1 AND type = 'DNAME' AND name = ANY($2) LIMIT 1",
        domain.id.0,
        &ancestors,
    )
    .fetch_optional(&mut **tx)
    .await?;
    let (from, until) = crate::db::names_below(&owner);
    let has_descendants = sqlx::query_scalar!(
        r#"SELECT EXISTS (SELECT 1 FROM records WHERE domain_id = $1
                  AND reverse(name) COLLATE "C" >= $2 AND reverse(name) COLLATE "C" < $3) AS "e!""#,
        domain.id.0,
        from,
        until,
    )
    .fetch_one(&mut **tx)
    .await?;
    let apex = domain.zone.name();
    let rel = |fqdn: &str| {
        DName::parse(fqdn.as_bytes(), None)
            .map(|n| n.to_name())
            .map_or_else(|_| fqdn.to_string(), |n| domain.zone.relative(&n))
    };
    Ok(Neighbourhood {
        name: rel(&owner),
        at_apex: name.name() == apex,
        siblings,
        dname_above: dname_above.map(|d| rel(&d)),
        has_descendants,
    })
}

async fn check_rules(
    tx: &mut Transaction<'_, Postgres>,
    domain: &Domain,
    p: &Parsed,
    except: Option<RecordId>,
) -> Result<(), CoreError> {
    let near = neighbourhood(tx, domain, &p.name, except).await?;
    check_add(&near, p.rtype, &p.content).map_err(|e| {
        let field = e.field();
        match e {
            RrsetError::Duplicate { .. } => CoreError::conflict(field, e),
            _ => CoreError::invalid(field, e),
        }
    })?;
    // The RRset must fit one DNS message.
    let origin = apex_zone::dname::DName::from_name(domain.zone.name());
    let per_record = apex_zone::dname::DName::from_name(p.name.name())
        .wire()
        .len()
        + 10;
    let mut size = per_record + p.wire.len();
    for s in near.siblings.iter().filter(|s| s.rtype == p.rtype) {
        size +=
            per_record + content::parse(p.rtype, &s.content, Some(&origin)).map_or(0, |w| w.len());
    }
    if size > 65_535 {
        return Err(CoreError::invalid(
            "content",
            format!(
                "the {} RRset at {} would be {size} bytes on the wire; at most 65535 fit a DNS message",
                type_name(p.rtype),
                near.name
            ),
        ));
    }
    Ok(())
}

/// The TTL a record gets: as given, else its RRset's, else `fallback`, else [`DEFAULT_TTL`]
/// (brought within the configured bounds).
async fn settle_ttl(
    core: &Core,
    tx: &mut Transaction<'_, Postgres>,
    domain: &Domain,
    p: &Parsed,
    except: Option<RecordId>,
    fallback: Option<u32>,
) -> Result<Ttl, CoreError> {
    if let Some(ttl) = p.ttl {
        return Ok(ttl);
    }
    let rrset = sqlx::query_scalar!(
        "SELECT ttl FROM records WHERE domain_id = $1 AND name = $2 AND type = $3
            AND ($4::bigint IS NULL OR id <> $4) LIMIT 1",
        domain.id.0,
        p.name.to_fqdn(),
        type_name(p.rtype),
        except.map(|e| e.0),
    )
    .fetch_optional(&mut **tx)
    .await?;
    let bounds = core.platform.ttl;
    let value = rrset
        .map(i64::from)
        .or(fallback.map(i64::from))
        .unwrap_or(DEFAULT_TTL)
        .clamp(i64::from(bounds.min), i64::from(bounds.max));
    Ttl::new(value, bounds).map_err(|e| CoreError::invalid("ttl", e))
}

/// Gives the RRset of `p` the TTL `ttl`; returns the sibling records before and after.
async fn align_rrset_ttl(
    tx: &mut Transaction<'_, Postgres>,
    domain: &Domain,
    p: &Parsed,
    ttl: Ttl,
    except: Option<RecordId>,
) -> Result<(Vec<RecordView>, Vec<RecordView>), CoreError> {
    let new_ttl = ttl;
    let ttl = i32::try_from(ttl.get()).unwrap_or(i32::MAX);
    let before = sqlx::query_as!(
        Row,
        r#"SELECT id AS "id: RecordId", name, type AS rtype, ttl, content, comment, disabled FROM records
            WHERE domain_id = $1 AND name = $2 AND type = $3 AND ttl <> $4 AND ($5::bigint IS NULL OR id <> $5)
            ORDER BY id"#,
        domain.id.0,
        p.name.to_fqdn(),
        type_name(p.rtype),
        ttl,
        except.map(|e| e.0),
    )
    .fetch_all(&mut **tx)
    .await?;
    if before.is_empty() {
        return Ok((vec![], vec![]));
    }
    let ids: Vec<i64> = before.iter().map(|r| r.id.0).collect();
    sqlx::query!(
        "UPDATE records SET ttl = $2, updated_at = now() WHERE id = ANY($1)",
        &ids,
        ttl
    )
    .execute(&mut **tx)
    .await?;
    let before: Vec<RecordView> = before.into_iter().map(|r| view(&domain.zone, r)).collect();
    let after = before
        .iter()
        .cloned()
        .map(|mut r| {
            r.ttl = new_ttl.get();
            r
        })
        .collect();
    Ok((before, after))
}

/// Every record a write touches is authorized on its own: a key may be limited to some names
/// and types (`_acme-challenge.*`, TXT).
fn authorize_record(
    actor: &Actor,
    domain: &Domain,
    fqdn: &str,
    rtype: &str,
) -> Result<(), CoreError> {
    domain.authorize(actor, Action::WriteRecord { name: fqdn, rtype })
}

/// The RRsets records before and after a change belong to, each once.
fn rrsets(before: &[RecordView], after: &[RecordView]) -> Vec<RrsetKey> {
    let set: std::collections::BTreeSet<RrsetKey> = before
        .iter()
        .chain(after)
        .map(|r| RrsetKey::new(&r.fqdn, &r.rtype))
        .collect();
    set.into_iter().collect()
}

/// Sets the TTL, comment and disabled flag of many records (id, TTL, comment, disabled) in one
/// statement, in the caller's transaction.
pub(crate) async fn update_many(
    tx: &mut Transaction<'_, Postgres>,
    updates: &[(RecordId, u32, Option<String>, bool)],
) -> Result<(), CoreError> {
    if updates.is_empty() {
        return Ok(());
    }
    let ids: Vec<i64> = updates.iter().map(|u| u.0.0).collect();
    let ttls: Vec<i32> = updates
        .iter()
        .map(|u| i32::try_from(u.1).unwrap_or(i32::MAX))
        .collect();
    let comments: Vec<Option<String>> = updates.iter().map(|u| u.2.clone()).collect();
    let disabled: Vec<bool> = updates.iter().map(|u| u.3).collect();
    sqlx::query!(
        "UPDATE records r SET ttl = u.ttl, comment = u.comment, disabled = u.disabled, updated_at = now()
           FROM UNNEST($1::bigint[], $2::int[], $3::text[], $4::bool[]) AS u(id, ttl, comment, disabled)
          WHERE r.id = u.id",
        &ids,
        &ttls,
        &comments as &[Option<String>],
        &disabled,
    )
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// The exact diff of a change from the record views before and after it.
fn record_diff(before: &[RecordView], after: &[RecordView]) -> changes::RecordDiff {
    let stored = |r: &RecordView| changes::StoredRecord {
        name: r.fqdn.clone(),
        rtype: r.rtype.clone(),
        ttl: r.ttl,
        content: r.content.clone(),
        comment: r.comment.clone(),
        disabled: r.disabled,
    };
    changes::RecordDiff {
        removed: before.iter().map(stored).collect(),
        added: after.iter().map(stored).collect(),
    }
}

async fn finish(
    core: &Core,
    mut tx: Transaction<'_, Postgres>,
    domain: &Domain,
    change: Change,
) -> Result<Change, CoreError> {
    crate::secondaries::keep_addresses(&mut tx, domain.id, &domain.zone, &domain.secondaries)
        .await?;
    tx.commit().await?;
    tracing::info!(zone.name = %domain.zone, change.id = %change.id, action = %change.action, "records changed");
    core.queue.zone_changed(domain.id);
    Ok(change)
}

/// Adds a record; returns it, the change, and warnings about what is valid but suspect.
pub async fn create(
    core: &Core,
    actor: &Actor,
    zone: &str,
    input: &RecordInput,
) -> Result<(RecordView, Change, Vec<String>), CoreError> {
    let mut tx = core.pool.begin().await?;
    let domain = domain::lock(&mut tx, actor, zone, Action::WriteRecords).await?;
    domain.holds_own_records()?;
    let p = parse(core, &domain.zone, input)?;
    authorize_record(actor, &domain, &p.name.to_fqdn(), &type_name(p.rtype))?;
    check_rules(&mut tx, &domain, &p, None).await?;
    crate::quotas::check_one_more_record(&mut tx, core, &domain).await?;
    let ttl = settle_ttl(core, &mut tx, &domain, &p, None, None).await?;
    let (mut before, mut after) = align_rrset_ttl(&mut tx, &domain, &p, ttl, None).await?;
    let row = sqlx::query_as!(
        Row,
        r#"INSERT INTO records (domain_id, name, type, ttl, content, comment, disabled) VALUES ($1, $2, $3, $4, $5, $6, $7)
           RETURNING id AS "id: RecordId", name, type AS rtype, ttl, content, comment, disabled"#,
        domain.id.0,
        p.name.to_fqdn(),
        type_name(p.rtype),
        i32::try_from(ttl.get()).unwrap_or(i32::MAX),
        p.content,
        p.comment,
        p.disabled,
    )
    .fetch_one(&mut *tx)
    .await
    .map_err(|e| CoreError::on_constraint(e, "records_unique", "content", "this record already exists"))?;
    let record = view(&domain.zone, row);
    after.push(record.clone());
    let serial = domain::bump_serial(&mut tx, &domain).await?;
    before.sort_by_key(|r| r.id);
    let change = changes::append(
        &mut tx,
        actor,
        NewChange {
            domain_id: domain.id,
            zone: &domain.zone.as_text(),
            action: crate::change_action::ChangeAction::RecordCreate,
            serial: Some(serial),
            before: (!before.is_empty()).then(|| json(&before)),
            after: Some(json(&after)),
            rrsets: rrsets(&before, &after),
            records: Some(record_diff(&before, &after)),
        },
    )
    .await?;
    let remarks = warnings(&mut tx, &domain, &p).await?;
    let change = finish(core, tx, &domain, change).await?;
    Ok((record, change, remarks))
}

async fn fetch(
    tx: &mut Transaction<'_, Postgres>,
    domain: &Domain,
    id: RecordId,
) -> Result<RecordView, CoreError> {
    let row = sqlx::query_as!(
        Row,
        r#"SELECT id AS "id: RecordId", name, type AS rtype, ttl, content, comment, disabled
             FROM records WHERE id = $1 AND domain_id = $2"#,
        id.0,
        domain.id.0,
    )
    .fetch_optional(&mut **tx)
    .await?
    .ok_or(CoreError::NotFound {
        what: "record",
        name: id.to_string(),
    })?;
    Ok(view(&domain.zone, row))
}

/// Changes a record; fields left out keep their value.
pub async fn update(
    core: &Core,
    actor: &Actor,
    zone: &str,
    id: RecordId,
    patch: &RecordPatch,
) -> Result<(RecordView, Change, Vec<String>), CoreError> {
    let mut tx = core.pool.begin().await?;
    let domain = domain::lock(&mut tx, actor, zone, Action::WriteRecords).await?;
    domain.holds_own_records()?;
    let old = fetch(&mut tx, &domain, id).await?;
    authorize_record(actor, &domain, &old.fqdn, &old.rtype)?;
    let input = RecordInput {
        name: patch.name.clone().unwrap_or_else(|| old.fqdn.clone()),
        rtype: patch.rtype.clone().unwrap_or_else(|| old.rtype.clone()),
        // Left out: the (possibly new) RRset's TTL, else the record's own (settle_ttl).
        ttl: patch.ttl,
        // A new type needs new content; keeping old content under a new type makes no sense.
        content: match (&patch.content, &patch.rtype) {
            (Some(c), _) => c.clone(),
            (None, Some(_)) => {
                return Err(CoreError::invalid(
                    "content",
                    "changing the type needs new content",
                ));
            }
            (None, None) => old.content.clone(),
        },
        comment: patch.comment.clone().or_else(|| old.comment.clone()),
        disabled: patch.disabled.unwrap_or(old.disabled),
    };
    let p = parse(core, &domain.zone, &input)?;
    authorize_record(actor, &domain, &p.name.to_fqdn(), &type_name(p.rtype))?;
    check_rules(&mut tx, &domain, &p, Some(id)).await?;
    let ttl = settle_ttl(core, &mut tx, &domain, &p, Some(id), Some(old.ttl)).await?;
    let (mut before, mut after) = align_rrset_ttl(&mut tx, &domain, &p, ttl, Some(id)).await?;
    let row = sqlx::query_as!(
        Row,
        r#"UPDATE records SET name = $2, type = $3, ttl = $4, content = $5, comment = $6, disabled = $7, updated_at = now()
            WHERE id = $1
           RETURNING id AS "id: RecordId", name, type AS rtype, ttl, content, comment, disabled"#,
        id.0,
        p.name.to_fqdn(),
        type_name(p.rtype),
        i32::try_from(ttl.get()).unwrap_or(i32::MAX),
        p.content,
        p.comment,
        p.disabled,
    )
    .fetch_one(&mut *tx)
    .await
    .map_err(|e| CoreError::on_constraint(e, "records_unique", "content", "this record already exists"))?;
    let record = view(&domain.zone, row);
    before.insert(0, old);
    after.insert(0, record.clone());
    let serial = domain::bump_serial(&mut tx, &domain).await?;
    let change = changes::append(
        &mut tx,
        actor,
        NewChange {
            domain_id: domain.id,
            zone: &domain.zone.as_text(),
            action: crate::change_action::ChangeAction::RecordUpdate,
            serial: Some(serial),
            before: Some(json(&before)),
            after: Some(json(&after)),
            rrsets: rrsets(&before, &after),
            records: Some(record_diff(&before, &after)),
        },
    )
    .await?;
    let remarks = warnings(&mut tx, &domain, &p).await?;
    let change = finish(core, tx, &domain, change).await?;
    Ok((record, change, remarks))
}

/// Deletes a record.
pub async fn delete(
    core: &Core,
    actor: &Actor,
    zone: &str,
    id: RecordId,
) -> Result<Change, CoreError> {
    delete_many(core, actor, zone, &[id]).await
}

/// Deletes several records at once: all of them in one change, or (one missing, one the
/// actor may not touch) none.
pub async fn delete_many(
    core: &Core,
    actor: &Actor,
    zone: &str,
    ids: &[RecordId],
) -> Result<Change, CoreError> {
    if ids.is_empty() {
        return Err(CoreError::invalid("records", "no record was chosen"));
    }
    let mut tx = core.pool.begin().await?;
    let domain = domain::lock(&mut tx, actor, zone, Action::WriteRecords).await?;
    domain.holds_own_records()?;
    let mut old = Vec::with_capacity(ids.len());
    for &id in ids {
        let record = fetch(&mut tx, &domain, id).await?;
        authorize_record(actor, &domain, &record.fqdn, &record.rtype)?;
        if !old.iter().any(|r: &RecordView| r.id == id) {
            old.push(record);
        }
    }
    let gone: Vec<i64> = old.iter().map(|r| r.id.0).collect();
    sqlx::query!("DELETE FROM records WHERE id = ANY($1)", &gone)
        .execute(&mut *tx)
        .await?;
    let serial = domain::bump_serial(&mut tx, &domain).await?;
    old.sort_by_key(|r| r.id);
    let change = changes::append(
        &mut tx,
        actor,
        NewChange {
            domain_id: domain.id,
            zone: &domain.zone.as_text(),
            action: crate::change_action::ChangeAction::RecordDelete,
            serial: Some(serial),
            before: Some(json(&old)),
            after: None,
            rrsets: rrsets(&old, &[]),
            records: Some(record_diff(&old, &[])),
        },
    )
    .await?;
    finish(core, tx, &domain, change).await
}
