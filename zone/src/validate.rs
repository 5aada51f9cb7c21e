//! Rules over a whole zone, for files: the same rules a single API write meets
//! ([`crate::rrset`]), checked in one pass over the records in canonical order, plus what only
//! shows across RRsets (size, TTL agreement, targets that are aliases). What it finds is a
//! [`Problem`] (a broken rule) or a [`Warning`] (a remark; zone-file reading gives those too).

use std::collections::HashSet;

use crate::dname::DName;
use crate::rdata::{RrType, Wire, type_name};
use crate::record::{ZoneRecord, permute};

/// Something worth saying about a file or zone that is still valid.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Warning {
    /// The line concerned (0 for the whole file).
    pub line: u32,
    /// What happened.
    pub message: String,
}

/// A broken rule, at a line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// Line of the record concerned (0 when it did not come from a file).
    pub line: u32,
    /// What is wrong.
    pub message: String,
}

/// Checks `records` (of the zone `apex`, without its SOA) and groups them by owner (owners in
/// order of first appearance, each owner's records by type and data). RRsets whose TTLs differ
/// get the smallest, with a warning. No full sort: grouping is linear, and rules about names
/// above or below others walk a name's ancestors through hash sets.
pub fn check_zone(apex: &DName, records: &mut [ZoneRecord]) -> (Vec<Problem>, Vec<Warning>) {
    let mut errors = Vec::new();
    let mut warnings = Vec::new();
    let rel = |n: &DName| n.relative_to(apex);
    let groups = group_by_owner(records);

    let mut dnames: HashSet<DName> = HashSet::new();
    let mut cuts: HashSet<DName> = HashSet::new();
    let mut aliases: HashSet<DName> = HashSet::new();
    for &(start, end) in &groups {
        let group = &mut records[start..end];
        check_group(apex, group, &mut errors, &mut warnings);
        let name = &group[0].name;
        for r in group.iter() {
            match r.rtype {
                RrType::CNAME => {
                    aliases.insert(name.clone());
                }
                RrType::DNAME => {
                    dnames.insert(name.clone());
                }
                RrType::NS if name != apex => {
                    cuts.insert(name.clone());
                }
                _ => {}
            }
        }
    }
    // Names below a DNAME are never answered (RFC 6672 section 2.3); below a delegation only
    // glue addresses are.
    if !dnames.is_empty() || !cuts.is_empty() {
        for &(start, end) in &groups {
            let name = &records[start].name;
            let mut up = name.parent();
            while let Some(ancestor) = up {
                if !ancestor.is_within(apex) || ancestor == *apex {
                    break;
                }
                if dnames.contains(&ancestor) {
                    errors.push(Problem {
                        line: records[start].line,
                        message: format!(
                            "{} is below the DNAME at {}, so it could never be answered",
                            rel(name),
                            rel(&ancestor)
                        ),
                    });
                    break;
                }
                if cuts.contains(&ancestor) {
                    if let Some(r) = records[start..end]
                        .iter()
                        .find(|r| !matches!(r.rtype, RrType::A | RrType::AAAA))
                    {
                        warnings.push(Warning {
                            line: r.line,
                            message: format!("{} {} is below the delegation at {} and will not be answered (only glue addresses are)", rel(name), type_name(r.rtype), rel(&ancestor)),
                        });
                    }
                    break;
                }
                up = ancestor.parent();
            }
        }
    }

    // Hosts that are aliases: RFC 2181 section 10.3. And SPF mistakes (the first few in
    // full; a zone generated with the same mistake on every name gets a count).
    let mut spf = 0usize;
    for r in records.iter() {
        if let Some(w) = crate::spf::warning(r.rtype, &r.rdata) {
            spf += 1;
            if spf <= MAX_SIMILAR_WARNINGS {
                warnings.push(Warning {
                    line: r.line,
                    message: format!("{}: {w}", rel(&r.name)),
                });
            }
        }
        let target = match r.rtype {
            RrType::NS => Wire::new(&r.rdata).name().ok(),
            RrType::MX => {
                let mut w = Wire::new(&r.rdata);
                w.u16().ok().and_then(|_| w.name().ok())
            }
            RrType::SRV => {
                let mut w = Wire::new(&r.rdata);
                w.bytes(6).ok().and_then(|_| w.name().ok())
            }
            _ => None,
        };
        if let Some(t) = target
            && aliases.contains(&t)
        {
            warnings.push(Warning {
                line: r.line,
                message: format!("{} {} points at {}, which is a CNAME: it must point at a host's own name (RFC 2181 section 10.3)", rel(&r.name), type_name(r.rtype), rel(&t)),
            });
        }
    }
    if spf > MAX_SIMILAR_WARNINGS {
        warnings.push(Warning {
            line: 0,
            message: format!(
                "and {} more SPF records with mistakes",
                spf - MAX_SIMILAR_WARNINGS
            ),
        });
    }
    (errors, warnings)
}

/// Warnings of one kind given in full before the rest are only counted.
const MAX_SIMILAR_WARNINGS: usize = 20;

/// Puts the records of each owner together (owners in order of first appearance, records of
/// one owner by type and data) and returns each owner's range. Linear in the records, plus a
/// small sort per owner.
fn group_by_owner(records: &mut [ZoneRecord]) -> Vec<(usize, usize)> {
    use std::collections::HashMap;
    let mut index: HashMap<DName, u32> = HashMap::new();
    let mut group_of = Vec::with_capacity(records.len());
    let mut sizes: Vec<usize> = Vec::new();
    let mut last: Option<(DName, u32)> = None;
    for r in records.iter() {
        let g = match &last {
            Some((name, g)) if *name == r.name => *g,
            _ => {
                let next = index.len() as u32;
                let g = *index.entry(r.name.clone()).or_insert(next);
                if g == next {
                    sizes.push(0);
                }
                last = Some((r.name.clone(), g));
                g
            }
        };
        sizes[g as usize] += 1;
        group_of.push(g);
    }
    // Counting sort by group: where each record goes.
    let mut starts = Vec::with_capacity(sizes.len());
    let mut at = 0;
    for s in &sizes {
        starts.push(at);
        at += s;
    }
    let mut fill = starts.clone();
    let mut order = vec![0usize; records.len()];
    for (i, g) in group_of.iter().enumerate() {
        order[fill[*g as usize]] = i;
        fill[*g as usize] += 1;
    }
    permute(records, order);
    let ranges: Vec<(usize, usize)> = starts
        .iter()
        .zip(&sizes)
        .map(|(s, n)| (*s, s + n))
        .collect();
    for &(s, e) in &ranges {
        records[s..e].sort_by(|a, b| a.rtype.cmp(&b.rtype).then_with(|| a.rdata.cmp(&b.rdata)));
    }
    ranges
}

/// Rules among the records of one owner.
fn check_group(
    apex: &DName,
    group: &mut [ZoneRecord],
    errors: &mut Vec<Problem>,
    warnings: &mut Vec<Warning>,
) {
    let name = group[0].name.clone();
    let rel = name.relative_to(apex);
    let count = |t: RrType| group.iter().filter(|r| r.rtype == t).count();
    for pair in group.windows(2) {
        if pair[0].rtype == pair[1].rtype && pair[0].rdata == pair[1].rdata {
            errors.push(Problem {
                line: pair[1].line.max(pair[0].line),
                message: format!(
                    "duplicate {} record at {rel} (also on line {})",
                    type_name(pair[1].rtype),
                    pair[0].line.min(pair[1].line)
                ),
            });
        }
    }
    if count(RrType::CNAME) > 0 {
        if name == *apex {
            errors.push(Problem { line: group[0].line, message: "a CNAME cannot be at the zone apex: it would replace the zone's SOA and NS records".into() });
        }
        if count(RrType::CNAME) > 1 {
            errors.push(Problem {
                line: group[1].line,
                message: format!("{rel} has more than one CNAME"),
            });
        }
        if let Some(other) = group.iter().find(|r| r.rtype != RrType::CNAME) {
            let cname = group
                .iter()
                .find(|r| r.rtype == RrType::CNAME)
                .map_or(0, |r| r.line);
            errors.push(Problem {
                // At whichever of the two comes later in the file.
                line: other.line.max(cname),
                message: format!(
                    "{rel} has a CNAME (line {cname}) and {} {} record (line {}): a CNAME must be alone at its name",
                    crate::rrset::article(&type_name(other.rtype)),
                    type_name(other.rtype),
                    other.line
                ),
            });
        }
    }
    if count(RrType::DNAME) > 1 {
        errors.push(Problem {
            line: group[0].line,
            message: format!("{rel} has more than one DNAME"),
        });
    }
    if count(RrType::DNAME) > 0 && name == *apex {
        errors.push(Problem {
            line: group[0].line,
            message: "a DNAME cannot be at the zone apex".into(),
        });
    }
    // Per RRset: one TTL, and a size that fits a DNS message.
    for set in group.chunk_by_mut(|a, b| a.rtype == b.rtype) {
        let t = set[0].rtype;
        let min = set.iter().map(|r| r.ttl).min().unwrap_or(0);
        if set.iter().any(|r| r.ttl != min) {
            warnings.push(Warning {
                line: set[0].line,
                message: format!("the {} records at {rel} have different TTLs; all get the smallest, {min} (an RRset has one TTL)", type_name(t)),
            });
            for r in set.iter_mut() {
                r.ttl = min;
            }
        }
        let size: usize = set
            .iter()
            .map(|r| name.wire().len() + 10 + r.rdata.len())
            .sum();
        if size > 65_535 {
            errors.push(Problem {
                line: set[0].line,
                message: format!("the {} RRset at {rel} is {size} bytes on the wire; at most 65535 fit a DNS message", type_name(t)),
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::zonefile::{ParseOptions, parse};

    fn check(text: &str) -> (Vec<String>, Vec<String>) {
        let apex = DName::parse(b"example.com.", None).unwrap();
        let mut z = parse(text.as_bytes(), &apex, ParseOptions::default()).unwrap();
        let (e, w) = check_zone(&apex, &mut z.records);
        (
            e.into_iter()
                .map(|p| format!("{}: {}", p.line, p.message))
                .collect(),
            w.into_iter()
                .map(|p| format!("{}: {}", p.line, p.message))
                .collect(),
        )
    }

    #[test]
    fn clean_zone() {
        let (e, w) = check("$TTL 300\n@ MX 10 mail\nmail A 192.0.2.1\nwww CNAME mail\n");
        assert!(e.is_empty() && w.is_empty(), "{e:?} {w:?}");
    }

    #[test]
    fn alias_rules() {
        let (e, _) = check(
            "$TTL 300\nwww CNAME a.example.net.\nwww A 192.0.2.1\n@ CNAME x.example.net.\nx CNAME a.\nx CNAME b.\n",
        );
        assert!(
            e.iter().any(|m| m.starts_with("3: www has a CNAME")),
            "{e:?}"
        );
        assert!(
            e.iter()
                .any(|m| m.starts_with("4: a CNAME cannot be at the zone apex")),
            "{e:?}"
        );
        assert!(e.iter().any(|m| m.contains("more than one CNAME")), "{e:?}");
    }

    #[test]
    fn dname_and_delegation() {
        let (e, w) = check(
            "$TTL 300\nold DNAME new.example.net.\nx.old A 192.0.2.1\nother A 192.0.2.2\nsub NS ns.sub\nns.sub A 192.0.2.3\ntxt.sub TXT hi\n",
        );
        assert_eq!(
            e,
            vec!["3: x.old is below the DNAME at old, so it could never be answered"]
        );
        assert!(
            w.iter()
                .any(|m| m.starts_with("7: txt.sub TXT is below the delegation")),
            "{w:?}"
        );
    }

    #[test]
    fn duplicates_ttls_sizes_and_alias_targets() {
        let (e, w) = check(
            "$TTL 300\nwww A 192.0.2.1\nwww 600 A 192.0.2.2\nwww A 192.0.2.1\n@ MX 10 alias\nalias CNAME www\n@ TXT \"v=spf1 -all\" \"x\"\n",
        );
        assert!(
            w.iter()
                .any(|m| m.contains("SPF record (strings joined)") && m.contains("-allx")),
            "{w:?}"
        );
        assert_eq!(e, vec!["4: duplicate A record at www (also on line 2)"]);
        assert!(w.iter().any(|m| m.contains("different TTLs")), "{w:?}");
        assert!(
            w.iter()
                .any(|m| m.contains("points at alias, which is a CNAME")),
            "{w:?}"
        );
        let big: String = (0..20)
            .map(|i| format!("t TXT \"{i}{}\"\n", "x".repeat(4000)))
            .collect();
        let (e, _) = check(&format!("$TTL 300\n{big}"));
        assert!(e.iter().any(|m| m.contains("at most 65535")), "{e:?}");
    }
}
