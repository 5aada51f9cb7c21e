//! The catalog's member set, diffed: which zones to drop and which to start following.
//!
//! Interpreting the catalog zone is `apex_zone::catalog::parse`; applying the diff (tasks and the
//! zone table) is the secondary engine's. This module only decides.

use std::collections::{BTreeMap, HashMap};

use hickory_proto::rr::Name;

/// Changes between the members followed now and the members the catalog lists.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Diff {
    /// Zones to drop, with their data.
    pub remove: Vec<Name>,
    /// Zones to start following from scratch, with their unique id.
    pub add: Vec<(Name, String)>,
}

impl Diff {
    /// True when nothing changes.
    pub fn is_empty(&self) -> bool {
        self.remove.is_empty() && self.add.is_empty()
    }
}

/// Compares `current` (zone to unique id) with the catalog's `listed` members. A member whose
/// unique id changed is removed and added again: RFC 9432 section 5.4 asks consumers to drop
/// their copy and start afresh. The catalog zone itself is never a member.
pub fn diff(
    current: &HashMap<Name, String>,
    listed: &BTreeMap<Name, String>,
    catalog: &Name,
) -> Diff {
    let mut out = Diff::default();
    for (zone, id) in current {
        if listed.get(zone) != Some(id) {
            out.remove.push(zone.clone());
        }
    }
    for (zone, id) in listed {
        if zone == catalog {
            continue;
        }
        if current.get(zone) != Some(id) {
            out.add.push((zone.clone(), id.clone()));
        }
    }
    out.remove.sort();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(s: &str) -> Name {
        Name::from_ascii(s).unwrap()
    }

    #[test]
    fn adds_removes_and_reowns() {
        let catalog = n("cat.invalid.");
        let current: HashMap<Name, String> = [
            (n("keep.example."), "k".to_string()),
            (n("gone.example."), "g".to_string()),
            (n("moved.example."), "old".to_string()),
        ]
        .into_iter()
        .collect();
        let listed: BTreeMap<Name, String> = [
            (n("keep.example."), "k".to_string()),
            (n("moved.example."), "new".to_string()),
            (n("fresh.example."), "f".to_string()),
            (n("cat.invalid."), "self".to_string()),
        ]
        .into_iter()
        .collect();
        let d = diff(&current, &listed, &catalog);
        assert_eq!(d.remove, vec![n("gone.example."), n("moved.example.")]);
        assert_eq!(
            d.add,
            vec![
                (n("fresh.example."), "f".to_string()),
                (n("moved.example."), "new".to_string())
            ]
        );
        assert!(diff(&current, &current.clone().into_iter().collect(), &catalog).is_empty());
    }
}
