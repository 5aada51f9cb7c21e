//! RFC 2136 UPDATE, evaluated by the platform: a message signed with one of the zone's TSIG
//! keys ([`crate::tsig_keys`]) becomes an ordinary change, written through the same RRset
//! machinery as the API's batches ([`crate::rrsets`]), so the platform's rules, the change
//! history, publishing, webhooks and receipts all apply.
//!
//! In order (RFC 2136 section 3): the zone section (3.1), the prerequisites (3.2), a prescan
//! of the updates (3.4.1) with the key's scope checked for every one (REFUSED when any is
//! outside it), then the updates (3.4.2) applied in order to the RRsets they touch, under the
//! domain's lock and in one transaction: all of the message or none of it.
//!
//! Where the RFC has a server ignore an update, the platform's rules decide instead: the apex
//! SOA and NS are the platform's, so deleting them is ignored (as RFC 2136 says for the SOA
//! and the last apex NS) and adding to them is REFUSED; a CNAME beside other data, and any
//! other record the API would refuse, is REFUSED with the reason, never silently dropped.

use std::collections::{BTreeMap, BTreeSet};

use apex_zone::content;
use apex_zone::dname::DName;
use apex_zone::name::RecordName;
use apex_zone::rdata::{RrType, is_meta, type_name};
use apex_zone::ttl::Ttl;

use crate::actor::Actor;
use crate::authz::Action;
use crate::change_action::ChangeAction;
use crate::domain::{self, Domain};
use crate::rrsets::{self, Check, How, Meta, Target, Wanted};
use crate::{Core, CoreError};

/// Most updates (records of the update section) one message may carry.
pub const MAX_CHANGES: usize = 1_000;

/// Class IN.
const CLASS_IN: u16 = 1;
/// Class NONE (RFC 2136 section 1.3).
const CLASS_NONE: u16 = 254;
/// Class ANY.
const CLASS_ANY: u16 = 255;

/// A record of the prerequisite or update section, as received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rr {
    /// Owner.
    pub name: DName,
    /// Type code.
    pub rtype: u16,
    /// Class code (IN, ANY or NONE mean different things here).
    pub class: u16,
    /// TTL.
    pub ttl: u32,
    /// Data, uncompressed.
    pub rdata: Vec<u8>,
}

/// An UPDATE message's zone, prerequisites and updates.
#[derive(Debug, Clone)]
pub struct Message {
    /// The zone section's name.
    pub zone: DName,
    /// Its type (must be SOA).
    pub zone_type: u16,
    /// Its class (must be IN).
    pub zone_class: u16,
    /// Prerequisite section.
    pub prerequisites: Vec<Rr>,
    /// Update section.
    pub updates: Vec<Rr>,
}

/// The response code of an UPDATE's answer (RFC 2136 section 2.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rcode {
    /// Done.
    NoError = 0,
    /// Malformed.
    FormErr = 1,
    /// A fault on our side.
    ServFail = 2,
    /// A name that should exist does not.
    NxDomain = 3,
    /// Refused: outside the key's scope, or against the platform's rules.
    Refused = 5,
    /// A name that should not exist does.
    YxDomain = 6,
    /// An RRset that should not exist does.
    YxRrset = 7,
    /// An RRset that should exist does not (or not with those records).
    NxRrset = 8,
    /// Not authoritative for the zone (or the key is not the zone's).
    NotAuth = 9,
    /// A name outside the zone.
    NotZone = 10,
}

/// What an UPDATE came to: the answer's rcode and why (for the log and the audit event).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    /// The answer's rcode.
    pub rcode: Rcode,
    /// Why, in words; for NOERROR, what changed.
    pub reason: String,
    /// The change written, if any.
    pub change: Option<crate::ids::ChangeId>,
}

fn verdict(rcode: Rcode, reason: impl Into<String>) -> Verdict {
    Verdict {
        rcode,
        reason: reason.into(),
        change: None,
    }
}

/// One RRset of the zone as the message sees it: TTL and canonical contents.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Set {
    ttl: u32,
    contents: BTreeSet<String>,
}

/// The RRsets at the names a message touches, by (owner, type).
type Sets = BTreeMap<(DName, RrType), Set>;

fn class_name(class: u16) -> String {
    match class {
        CLASS_IN => "IN".into(),
        CLASS_NONE => "NONE".into(),
        CLASS_ANY => "ANY".into(),
        c => format!("CLASS{c}"),
    }
}

fn describe(rr: &Rr, zone: &DName) -> String {
    format!(
        "{} {} {}",
        rr.name.relative_to(zone),
        class_name(rr.class),
        type_name(RrType(rr.rtype))
    )
}

fn canonical(rtype: RrType, rdata: &[u8]) -> Result<String, String> {
    content::format(rtype, rdata).map_err(|e| e.to_string())
}

/// Section 3.1 and the format checks of 3.2 and 3.4.1, before anything is read: `Err` with
/// the answer when the message is malformed or reaches outside the zone.
fn prescan(m: &Message, zone: &DName) -> Result<(), Verdict> {
    if m.zone_type != RrType::SOA.0 || m.zone_class != CLASS_IN {
        return Err(verdict(
            Rcode::FormErr,
            "the zone section must hold the zone's name, type SOA, class IN",
        ));
    }
    if m.updates.len() > MAX_CHANGES {
        return Err(verdict(
            Rcode::Refused,
            format!(
                "{} updates in one message; at most {MAX_CHANGES}",
                m.updates.len()
            ),
        ));
    }
    for rr in &m.prerequisites {
        if !rr.name.is_within(zone) {
            return Err(verdict(
                Rcode::NotZone,
                format!("prerequisite {} is outside the zone", rr.name),
            ));
        }
        let ok = rr.ttl == 0
            && match rr.class {
                CLASS_ANY | CLASS_NONE => rr.rdata.is_empty(),
                CLASS_IN => !is_meta(RrType(rr.rtype)),
                _ => false,
            };
        if !ok {
            return Err(verdict(
                Rcode::FormErr,
                format!("prerequisite {} is malformed", describe(rr, zone)),
            ));
        }
    }
    for rr in &m.updates {
        if !rr.name.is_within(zone) {
            return Err(verdict(
                Rcode::NotZone,
                format!("update {} is outside the zone", rr.name),
            ));
        }
        let t = RrType(rr.rtype);
        let ok = match rr.class {
            CLASS_IN => !is_meta(t),
            CLASS_ANY => rr.ttl == 0 && rr.rdata.is_empty() && (t == RrType::ANY || !is_meta(t)),
            CLASS_NONE => rr.ttl == 0 && !is_meta(t),
            _ => false,
        };
        if !ok {
            return Err(verdict(
                Rcode::FormErr,
                format!("update {} is malformed", describe(rr, zone)),
            ));
        }
    }
    Ok(())
}

/// Every update within what `actor` may write (section 3.3): REFUSED naming the first that
/// is not. A deletion of every RRset at a name (type ANY) needs a scope that allows any type.
fn permitted(actor: &Actor, domain: &Domain, m: &Message, zone: &DName) -> Result<(), Verdict> {
    for rr in &m.updates {
        let fqdn = rr.name.to_string();
        let rtype = if rr.rtype == RrType::ANY.0 {
            "ANY".to_string()
        } else {
            type_name(RrType(rr.rtype))
        };
        if let Err(e) = domain.authorize(
            actor,
            Action::WriteRecord {
                name: &fqdn,
                rtype: &rtype,
            },
        ) {
            return Err(verdict(
                Rcode::Refused,
                format!("update {}: {e}", describe(rr, zone)),
            ));
        }
    }
    Ok(())
}

/// Section 3.2: the prerequisites against the zone's RRsets `sets` (which hold every RRset
/// at every name they mention).
fn check_prerequisites(m: &Message, sets: &Sets, zone: &DName) -> Result<(), Verdict> {
    let name_used = |name: &DName| sets.keys().any(|(n, _)| n == name);
    let mut wanted: BTreeMap<(DName, RrType), BTreeSet<String>> = BTreeMap::new();
    for rr in &m.prerequisites {
        let t = RrType(rr.rtype);
        let key = (rr.name.clone(), t);
        match (rr.class, t) {
            (CLASS_ANY, RrType::ANY) if !name_used(&rr.name) => {
                return Err(verdict(
                    Rcode::NxDomain,
                    format!("prerequisite: {} has no records", rr.name),
                ));
            }
            (CLASS_ANY, RrType::ANY) => {}
            (CLASS_ANY, _) if !sets.contains_key(&key) => {
                return Err(verdict(
                    Rcode::NxRrset,
                    format!(
                        "prerequisite: there is no {} RRset at {}",
                        type_name(t),
                        rr.name
                    ),
                ));
            }
            (CLASS_NONE, RrType::ANY) if name_used(&rr.name) => {
                return Err(verdict(
                    Rcode::YxDomain,
                    format!("prerequisite: {} has records", rr.name),
                ));
            }
            (CLASS_NONE, _) if sets.contains_key(&key) && t != RrType::ANY => {
                return Err(verdict(
                    Rcode::YxRrset,
                    format!(
                        "prerequisite: there is a {} RRset at {}",
                        type_name(t),
                        rr.name
                    ),
                ));
            }
            (CLASS_IN, _) => {
                let text = canonical(t, &rr.rdata).map_err(|e| {
                    verdict(
                        Rcode::FormErr,
                        format!("prerequisite {}: {e}", describe(rr, zone)),
                    )
                })?;
                wanted.entry(key).or_default().insert(text);
            }
            _ => {}
        }
    }
    for ((name, t), contents) in wanted {
        let present = sets.get(&(name.clone(), t)).map(|s| &s.contents);
        if present != Some(&contents) {
            return Err(verdict(
                Rcode::NxRrset,
                format!(
                    "prerequisite: the {} RRset at {name} is not exactly the records given",
                    type_name(t)
                ),
            ));
        }
    }
    Ok(())
}

/// Section 3.4.2: the updates, in order, on `sets`. The apex SOA and NS are the platform's:
/// their deletion is ignored, an addition to them refused.
fn apply_updates(m: &Message, sets: &mut Sets, zone: &DName) -> Result<(), Verdict> {
    let platform = |name: &DName, t: RrType| name == zone && (t == RrType::SOA || t == RrType::NS);
    for rr in &m.updates {
        let t = RrType(rr.rtype);
        match rr.class {
            CLASS_IN => {
                if platform(&rr.name, t) {
                    return Err(verdict(
                        Rcode::Refused,
                        format!(
                            "update {}: the apex {} RRset is the platform's",
                            describe(rr, zone),
                            type_name(t)
                        ),
                    ));
                }
                let text = canonical(t, &rr.rdata).map_err(|e| {
                    verdict(
                        Rcode::FormErr,
                        format!("update {}: {e}", describe(rr, zone)),
                    )
                })?;
                let set = sets.entry((rr.name.clone(), t)).or_default();
                set.ttl = rr.ttl;
                set.contents.insert(text);
            }
            CLASS_ANY if t == RrType::ANY => {
                sets.retain(|(name, st), _| name != &rr.name || platform(name, *st));
            }
            CLASS_ANY => {
                if !platform(&rr.name, t) {
                    sets.remove(&(rr.name.clone(), t));
                }
            }
            _ => {
                // CLASS NONE: delete this one record.
                if platform(&rr.name, t) {
                    continue;
                }
                let text = canonical(t, &rr.rdata).map_err(|e| {
                    verdict(
                        Rcode::FormErr,
                        format!("update {}: {e}", describe(rr, zone)),
                    )
                })?;
                let key = (rr.name.clone(), t);
                if let Some(set) = sets.get_mut(&key) {
                    set.contents.remove(&text);
                    if set.contents.is_empty() {
                        sets.remove(&key);
                    }
                }
            }
        }
    }
    Ok(())
}

/// The zone's RRsets at `names` (published records, and the platform's apex SOA and NS).
async fn read_sets(
    core: &Core,
    tx: &mut sqlx::Transaction<'_, sqlx::Postgres>,
    domain: &Domain,
    names: &BTreeSet<DName>,
) -> Result<Sets, CoreError> {
    let texts: Vec<String> = names.iter().map(DName::to_string).collect();
    let rows = sqlx::query!(
        "SELECT name, type AS rtype, ttl, content FROM records
          WHERE domain_id = $1 AND name = ANY($2) AND NOT disabled",
        domain.id.0,
        &texts,
    )
    .fetch_all(&mut **tx)
    .await?;
    let mut sets = Sets::new();
    for r in rows {
        let (Some(t), Ok(name)) = (
            RrType::parse(r.rtype.as_bytes()),
            DName::parse(r.name.as_bytes(), None),
        ) else {
            continue;
        };
        let set = sets.entry((name, t)).or_default();
        set.ttl = u32::try_from(r.ttl).unwrap_or_default();
        set.contents.insert(r.content);
    }
    let apex = DName::from_name(domain.zone.name());
    if names.contains(&apex) {
        let soa = apex_zone::render::soa_record(
            &domain.zone,
            domain.wanted_serial,
            &domain.settings.soa.apply(&core.platform.soa),
        );
        let text = canonical(RrType::SOA, &soa.rdata).map_err(CoreError::Internal)?;
        sets.insert(
            (apex.clone(), RrType::SOA),
            Set {
                ttl: soa.ttl,
                contents: BTreeSet::from([text]),
            },
        );
        let ns = &core.platform.apex_ns;
        let hosts = ns
            .hosts
            .iter()
            .map(|h| DName::from_name(h).to_string())
            .collect::<BTreeSet<_>>();
        let set = sets.entry((apex, RrType::NS)).or_default();
        set.ttl = ns.ttl;
        set.contents.extend(hosts);
    }
    Ok(sets)
}

/// Evaluates and applies an UPDATE signed with `actor`'s TSIG key for `zone_name` (the
/// key's zone): all of it in one transaction, or nothing. `Err` only for a fault.
pub async fn apply(
    core: &Core,
    actor: &Actor,
    zone_name: &str,
    m: &Message,
) -> Result<Verdict, CoreError> {
    let zone = m.zone.clone();
    if zone.to_string().trim_end_matches('.') != zone_name {
        return Ok(verdict(
            Rcode::NotAuth,
            format!("the key does not belong to {zone}"),
        ));
    }
    if let Err(v) = prescan(m, &zone) {
        return Ok(v);
    }
    let mut tx = core.pool.begin().await?;
    let domain = match domain::lock(&mut tx, actor, zone_name, Action::WriteRecords).await {
        Ok(d) => d,
        Err(CoreError::NotFound { .. }) => {
            return Ok(verdict(Rcode::NotAuth, format!("no zone {zone} here")));
        }
        Err(CoreError::Forbidden(why)) => return Ok(verdict(Rcode::Refused, why)),
        Err(e) => return Err(e),
    };
    if let Err(v) = permitted(actor, &domain, m, &zone) {
        return Ok(v);
    }
    let names: BTreeSet<DName> = m
        .prerequisites
        .iter()
        .chain(&m.updates)
        .map(|rr| rr.name.clone())
        .collect();
    let before = read_sets(core, &mut tx, &domain, &names).await?;
    if let Err(v) = check_prerequisites(m, &before, &zone) {
        return Ok(v);
    }
    let mut after = before.clone();
    if let Err(v) = apply_updates(m, &mut after, &zone) {
        return Ok(v);
    }
    let targets = match targets(core, &domain, &before, &after) {
        Ok(t) => t,
        Err(v) => return Ok(v),
    };
    if targets.is_empty() {
        return Ok(verdict(Rcode::NoError, "nothing to change"));
    }
    let outcome = match rrsets::apply(
        core,
        &mut tx,
        actor,
        &domain,
        targets,
        How {
            action: ChangeAction::DnsUpdate,
            dry_run: false,
            check: Check::EachRrset,
        },
    )
    .await
    {
        Ok(o) => o,
        Err(
            e @ (CoreError::Invalid { .. }
            | CoreError::Forbidden(_)
            | CoreError::Conflict { .. }
            | CoreError::QuotaExceeded { .. }),
        ) => return Ok(verdict(Rcode::Refused, e.to_string())),
        Err(e) => return Err(e),
    };
    let outcome = rrsets::finish(core, tx, &domain, outcome).await?;
    let summary = outcome
        .rrsets
        .iter()
        .map(|c| format!("{} {}", c.fqdn, c.rtype))
        .collect::<Vec<_>>()
        .join(", ");
    Ok(Verdict {
        rcode: Rcode::NoError,
        reason: format!("changed {summary}"),
        change: outcome.change.map(|c| c.id),
    })
}

/// The RRsets that differ between `before` and `after`, as batch targets.
fn targets(
    core: &Core,
    domain: &Domain,
    before: &Sets,
    after: &Sets,
) -> Result<Vec<Target>, Verdict> {
    let keys: BTreeSet<&(DName, RrType)> = before.keys().chain(after.keys()).collect();
    let mut out = Vec::new();
    for key in keys {
        let (old, new) = (before.get(key), after.get(key));
        if old == new {
            continue;
        }
        let (name, t) = key;
        let field = format!("{name} {}", type_name(*t));
        let refused = |e: String| verdict(Rcode::Refused, format!("{field}: {e}"));
        let owner = RecordName::parse(&name.to_string(), &domain.zone)
            .map_err(|e| refused(e.to_string()))?;
        let (ttl, records) = match new {
            None => (None, Vec::new()),
            Some(set) => {
                let ttl = (old.map(|o| o.ttl) != Some(set.ttl))
                    .then(|| Ttl::new(i64::from(set.ttl), core.platform.ttl))
                    .transpose()
                    .map_err(|e| refused(e.to_string()))?;
                let records = set
                    .contents
                    .iter()
                    .map(|text| {
                        content::parse(*t, text, None)
                            .map(|wire| Wanted {
                                content: text.clone(),
                                wire,
                                meta: Meta::Listed,
                            })
                            .map_err(|e| refused(e.to_string()))
                    })
                    .collect::<Result<Vec<_>, _>>()?;
                (ttl, records)
            }
        };
        out.push(Target {
            name: owner,
            rtype: *t,
            ttl,
            records,
            field,
            exact: false,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(s: &str) -> DName {
        DName::parse(s.as_bytes(), None).unwrap()
    }

    fn rr(owner: &str, rtype: RrType, class: u16, ttl: u32, text: &str) -> Rr {
        let rdata = if text.is_empty() {
            Vec::new()
        } else {
            content::parse(rtype, text, None).unwrap()
        };
        Rr {
            name: name(owner),
            rtype: rtype.0,
            class,
            ttl,
            rdata,
        }
    }

    fn message(prerequisites: Vec<Rr>, updates: Vec<Rr>) -> Message {
        Message {
            zone: name("example.com."),
            zone_type: RrType::SOA.0,
            zone_class: CLASS_IN,
            prerequisites,
            updates,
        }
    }

    fn zone_sets() -> Sets {
        let mut s = Sets::new();
        s.insert(
            (name("www.example.com."), RrType::A),
            Set {
                ttl: 300,
                contents: BTreeSet::from(["192.0.2.1".to_string()]),
            },
        );
        s.insert(
            (name("example.com."), RrType::NS),
            Set {
                ttl: 3600,
                contents: BTreeSet::from(["ns1.apex.test.".to_string()]),
            },
        );
        s
    }

    /// RFC 2136 section 3.2.1: class ANY asks for existence, of a name or an RRset.
    #[test]
    fn section_3_2_1_existence() {
        let z = name("example.com.");
        let s = zone_sets();
        let ok = message(
            vec![rr("www.example.com.", RrType::A, CLASS_ANY, 0, "")],
            vec![],
        );
        assert!(check_prerequisites(&ok, &s, &z).is_ok());
        let nx = message(
            vec![rr("www.example.com.", RrType::TXT, CLASS_ANY, 0, "")],
            vec![],
        );
        assert_eq!(
            check_prerequisites(&nx, &s, &z).unwrap_err().rcode,
            Rcode::NxRrset
        );
        let nxd = message(
            vec![rr("no.example.com.", RrType::ANY, CLASS_ANY, 0, "")],
            vec![],
        );
        assert_eq!(
            check_prerequisites(&nxd, &s, &z).unwrap_err().rcode,
            Rcode::NxDomain
        );
    }

    /// Section 3.2.2: class NONE asks for absence.
    #[test]
    fn section_3_2_2_absence() {
        let z = name("example.com.");
        let s = zone_sets();
        let yx = message(
            vec![rr("www.example.com.", RrType::ANY, CLASS_NONE, 0, "")],
            vec![],
        );
        assert_eq!(
            check_prerequisites(&yx, &s, &z).unwrap_err().rcode,
            Rcode::YxDomain
        );
        let yxr = message(
            vec![rr("www.example.com.", RrType::A, CLASS_NONE, 0, "")],
            vec![],
        );
        assert_eq!(
            check_prerequisites(&yxr, &s, &z).unwrap_err().rcode,
            Rcode::YxRrset
        );
        let ok = message(
            vec![rr("new.example.com.", RrType::ANY, CLASS_NONE, 0, "")],
            vec![],
        );
        assert!(check_prerequisites(&ok, &s, &z).is_ok());
    }

    /// Section 3.2.3: class IN asks for an RRset exactly as given.
    #[test]
    fn section_3_2_3_value_dependent() {
        let z = name("example.com.");
        let s = zone_sets();
        let same = message(
            vec![rr("www.example.com.", RrType::A, CLASS_IN, 0, "192.0.2.1")],
            vec![],
        );
        assert!(check_prerequisites(&same, &s, &z).is_ok());
        let other = message(
            vec![rr("www.example.com.", RrType::A, CLASS_IN, 0, "192.0.2.9")],
            vec![],
        );
        assert_eq!(
            check_prerequisites(&other, &s, &z).unwrap_err().rcode,
            Rcode::NxRrset
        );
    }

    /// Sections 3.1, 3.2 and 3.4.1: format errors and names outside the zone.
    #[test]
    fn section_3_4_1_prescan() {
        let z = name("example.com.");
        let outside = message(
            vec![],
            vec![rr("www.example.org.", RrType::A, CLASS_IN, 60, "192.0.2.1")],
        );
        assert_eq!(prescan(&outside, &z).unwrap_err().rcode, Rcode::NotZone);
        let ttl = message(
            vec![rr("www.example.com.", RrType::A, CLASS_ANY, 5, "")],
            vec![],
        );
        assert_eq!(prescan(&ttl, &z).unwrap_err().rcode, Rcode::FormErr);
        let meta = message(
            vec![],
            vec![rr("www.example.com.", RrType::AXFR, CLASS_ANY, 0, "")],
        );
        assert_eq!(prescan(&meta, &z).unwrap_err().rcode, Rcode::FormErr);
        let mut wrong_zone = message(vec![], vec![]);
        wrong_zone.zone_type = RrType::A.0;
        assert_eq!(prescan(&wrong_zone, &z).unwrap_err().rcode, Rcode::FormErr);
        let many = message(
            vec![],
            (0..=MAX_CHANGES)
                .map(|i| {
                    rr(
                        "www.example.com.",
                        RrType::TXT,
                        CLASS_IN,
                        60,
                        &format!("\"{i}\""),
                    )
                })
                .collect(),
        );
        assert_eq!(prescan(&many, &z).unwrap_err().rcode, Rcode::Refused);
    }

    /// Section 3.4.2: additions, deletions of an RRset, of a name, of one record, in order;
    /// the apex NS stays the platform's.
    #[test]
    fn section_3_4_2_updates_in_order() {
        let z = name("example.com.");
        let mut s = zone_sets();
        let m = message(
            vec![],
            vec![
                rr("www.example.com.", RrType::A, CLASS_IN, 600, "192.0.2.2"),
                rr("www.example.com.", RrType::A, CLASS_NONE, 0, "192.0.2.1"),
                rr("txt.example.com.", RrType::TXT, CLASS_IN, 60, "\"a\""),
                rr("txt.example.com.", RrType::TXT, CLASS_ANY, 0, ""),
                rr("example.com.", RrType::ANY, CLASS_ANY, 0, ""),
                rr("example.com.", RrType::NS, CLASS_NONE, 0, "ns1.apex.test."),
            ],
        );
        apply_updates(&m, &mut s, &z).unwrap();
        let www = &s[&(name("www.example.com."), RrType::A)];
        assert_eq!(www.ttl, 600);
        assert_eq!(www.contents, BTreeSet::from(["192.0.2.2".to_string()]));
        assert!(!s.contains_key(&(name("txt.example.com."), RrType::TXT)));
        assert!(s.contains_key(&(name("example.com."), RrType::NS)));
        let add_ns = message(
            vec![],
            vec![rr(
                "example.com.",
                RrType::NS,
                CLASS_IN,
                60,
                "ns.evil.test.",
            )],
        );
        assert_eq!(
            apply_updates(&add_ns, &mut s, &z).unwrap_err().rcode,
            Rcode::Refused
        );
    }
}
