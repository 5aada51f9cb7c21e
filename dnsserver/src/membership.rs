//! Catalog membership (RFC 9432), decided without doing anything: given the member zones the
//! engine follows and one catalog's new member list, which zones to drop, which to start
//! (afresh), which change owning catalog keeping their data, and which stay with another
//! catalog. The secondary engine ([`crate::secondary`]) carries the plan out.
//!
//! The rules: a zone belongs to the first catalog that lists it; another catalog listing it
//! too is ignored unless the owner's `coo` property points at that catalog, and then the zone
//! moves, keeping its data when its unique id stays the same (section 5.6). A new unique id
//! in the owner's catalog resets the zone: dropped and started afresh (section 5.4). Zones
//! served from files and the catalogs themselves are never members.

use std::collections::{BTreeMap, HashMap, HashSet};

use apex_zone::catalog::Listed;
use apex_zone::dname::DName;

/// What the plan needs to know of a zone already followed.
pub(crate) trait Held {
    /// Its unique id in its owner's catalog.
    fn id(&self) -> &str;
    /// Index of the owning catalog.
    fn owner(&self) -> usize;
}

/// What one catalog's member list changes.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct Plan {
    /// Zones to drop: task stopped, copy deleted (a reset zone is also in `add`).
    pub(crate) remove: Vec<DName>,
    /// Zones to start with no data: (zone, unique id, owning catalog).
    pub(crate) add: Vec<(DName, String, usize)>,
    /// Zones that change owning catalog keeping their data: (zone, unique id, new owner).
    pub(crate) moved: Vec<(DName, String, usize)>,
    /// Zones this catalog lists that another catalog keeps: (zone, owner), to be reported.
    pub(crate) contested: Vec<(DName, usize)>,
}

impl Plan {
    /// Whether nothing is to change (contested zones change nothing).
    pub(crate) fn changes_nothing(&self) -> bool {
        self.remove.is_empty() && self.add.is_empty() && self.moved.is_empty()
    }
}

/// Plans catalog `idx`'s new member list `listed`. `members`: the zones followed now;
/// `catalogs`: the names of the followed catalogs, by index; `statics`: zones served from
/// files; `listing(t, zone)`: catalog `t`'s entry for `zone` as last read (asked only of
/// catalogs other than `idx`).
pub(crate) fn plan<M: Held>(
    idx: usize,
    listed: &BTreeMap<DName, Listed>,
    members: &HashMap<DName, M>,
    catalogs: &[DName],
    statics: &HashSet<DName>,
    listing: impl Fn(usize, &DName) -> Option<Listed>,
) -> Plan {
    let mut plan = Plan::default();
    for (zone, m) in members {
        if m.owner() != idx {
            continue;
        }
        match listed.get(zone) {
            None => plan.remove.push(zone.clone()),
            Some(l) if l.id != m.id() => {
                // A new unique id: start afresh (RFC 9432 section 5.4).
                plan.remove.push(zone.clone());
                plan.add.push((zone.clone(), l.id.clone(), idx));
            }
            Some(l) => {
                // coo pointing at a catalog that already lists the zone: it moves now (the
                // other catalog may have been read first).
                let target = l
                    .coo
                    .as_ref()
                    .and_then(|coo| catalogs.iter().position(|c| c == coo));
                if let Some(t) = target.filter(|&t| t != idx) {
                    match listing(t, zone) {
                        Some(tl) if tl.id == m.id() => plan.moved.push((zone.clone(), tl.id, t)),
                        Some(tl) => {
                            plan.remove.push(zone.clone());
                            plan.add.push((zone.clone(), tl.id, t));
                        }
                        None => {}
                    }
                }
            }
        }
    }
    for (zone, l) in listed {
        if statics.contains(zone) || catalogs.contains(zone) {
            continue;
        }
        match members.get(zone) {
            None => plan.add.push((zone.clone(), l.id.clone(), idx)),
            Some(m) if m.owner() == idx => {}
            Some(m) => {
                // Another catalog owns it: only its coo can hand it over.
                let handed = listing(m.owner(), zone)
                    .and_then(|o| o.coo)
                    .is_some_and(|coo| coo == catalogs[idx]);
                if !handed {
                    plan.contested.push((zone.clone(), m.owner()));
                } else if l.id == m.id() {
                    plan.moved.push((zone.clone(), l.id.clone(), idx));
                } else {
                    plan.remove.push(zone.clone());
                    plan.add.push((zone.clone(), l.id.clone(), idx));
                }
            }
        }
    }
    plan
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Entry(&'static str, usize);

    impl Held for Entry {
        fn id(&self) -> &str {
            self.0
        }
        fn owner(&self) -> usize {
            self.1
        }
    }

    fn n(s: &str) -> DName {
        DName::parse(s.as_bytes(), None).unwrap()
    }

    fn listed(entries: &[(&str, &str, Option<&str>)]) -> BTreeMap<DName, Listed> {
        entries
            .iter()
            .map(|(z, id, coo)| {
                (
                    n(z),
                    Listed {
                        id: (*id).to_string(),
                        coo: coo.map(n),
                    },
                )
            })
            .collect()
    }

    fn catalogs() -> Vec<DName> {
        vec![n("cat0.test."), n("cat1.test.")]
    }

    /// Plans catalog `idx` with `others` as the last read list of every other catalog.
    fn run(
        idx: usize,
        new: &BTreeMap<DName, Listed>,
        members: &HashMap<DName, Entry>,
        others: &BTreeMap<DName, Listed>,
    ) -> Plan {
        let statics: HashSet<DName> = [n("static.test.")].into_iter().collect();
        plan(idx, new, members, &catalogs(), &statics, |t, zone| {
            assert_ne!(t, idx);
            others.get(zone).cloned()
        })
    }

    #[test]
    fn a_new_member_is_added() {
        let new = listed(&[("a.test.", "id1", None)]);
        let p = run(0, &new, &HashMap::new(), &BTreeMap::new());
        assert_eq!(p.add, vec![(n("a.test."), "id1".to_string(), 0)]);
        assert!(p.remove.is_empty() && p.moved.is_empty() && p.contested.is_empty());
    }

    #[test]
    fn a_member_no_longer_listed_is_removed() {
        let members = HashMap::from([
            (n("a.test."), Entry("id1", 0)),
            (n("b.test."), Entry("id2", 1)),
        ]);
        let p = run(0, &BTreeMap::new(), &members, &BTreeMap::new());
        // Only the zones of the catalog applied are touched.
        assert_eq!(p.remove, vec![n("a.test.")]);
        assert!(p.add.is_empty() && p.moved.is_empty());
    }

    #[test]
    fn an_unchanged_list_changes_nothing() {
        let members = HashMap::from([(n("a.test."), Entry("id1", 0))]);
        let new = listed(&[("a.test.", "id1", None)]);
        let p = run(0, &new, &members, &BTreeMap::new());
        assert!(p.changes_nothing());
        assert_eq!(p, Plan::default());
    }

    #[test]
    fn a_new_unique_id_resets_the_zone() {
        let members = HashMap::from([(n("a.test."), Entry("id1", 0))]);
        let new = listed(&[("a.test.", "id9", None)]);
        let p = run(0, &new, &members, &BTreeMap::new());
        assert_eq!(p.remove, vec![n("a.test.")]);
        assert_eq!(p.add, vec![(n("a.test."), "id9".to_string(), 0)]);
    }

    #[test]
    fn statics_and_catalogs_are_never_members() {
        let new = listed(&[("static.test.", "s", None), ("cat1.test.", "c", None)]);
        let p = run(0, &new, &HashMap::new(), &BTreeMap::new());
        assert_eq!(p, Plan::default());
    }

    #[test]
    fn a_zone_of_another_catalog_stays_there_without_coo() {
        let members = HashMap::from([(n("a.test."), Entry("id1", 1))]);
        let new = listed(&[("a.test.", "id1", None)]);
        let owner = listed(&[("a.test.", "id1", None)]);
        let p = run(0, &new, &members, &owner);
        assert!(p.changes_nothing());
        assert_eq!(p.contested, vec![(n("a.test."), 1)]);
    }

    #[test]
    fn coo_in_the_owner_hands_the_zone_over() {
        let members = HashMap::from([(n("a.test."), Entry("id1", 1))]);
        let owner = listed(&[("a.test.", "id1", Some("cat0.test."))]);
        // Same unique id: the data moves along.
        let p = run(0, &listed(&[("a.test.", "id1", None)]), &members, &owner);
        assert_eq!(p.moved, vec![(n("a.test."), "id1".to_string(), 0)]);
        assert!(p.remove.is_empty() && p.add.is_empty());
        // Another unique id: the zone starts afresh in its new catalog.
        let p = run(0, &listed(&[("a.test.", "id2", None)]), &members, &owner);
        assert_eq!(p.remove, vec![n("a.test.")]);
        assert_eq!(p.add, vec![(n("a.test."), "id2".to_string(), 0)]);
        assert!(p.moved.is_empty());
    }

    #[test]
    fn coo_applied_by_the_owner_moves_to_a_catalog_that_lists_the_zone() {
        let members = HashMap::from([(n("a.test."), Entry("id1", 0))]);
        let new = listed(&[("a.test.", "id1", Some("cat1.test."))]);
        // The target lists it with the same id: moved; with another: reset there.
        let p = run(0, &new, &members, &listed(&[("a.test.", "id1", None)]));
        assert_eq!(p.moved, vec![(n("a.test."), "id1".to_string(), 1)]);
        let p = run(0, &new, &members, &listed(&[("a.test.", "id7", None)]));
        assert_eq!(p.remove, vec![n("a.test.")]);
        assert_eq!(p.add, vec![(n("a.test."), "id7".to_string(), 1)]);
        // The target does not list it (yet): nothing happens.
        let p = run(0, &new, &members, &BTreeMap::new());
        assert_eq!(p, Plan::default());
    }
}
