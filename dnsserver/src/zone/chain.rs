//! An NSEC or NSEC3 chain, layered like the zone: the base's entries sorted in one vector
//! (shared by every version built on that base, searched by bisection), and the entries
//! changed since in a small ordered map, where `None` means "no longer in the chain".

use std::borrow::Borrow;
use std::collections::BTreeMap;
use std::ops::Bound;
use std::sync::Arc;

/// Keys (canonical names or NSEC3 hashes) to the nodes holding the chain's records.
#[derive(Debug, Clone)]
pub struct Chain<K> {
    base: Arc<[(K, u32)]>,
    edits: Arc<BTreeMap<K, Option<u32>>>,
}

impl<K: Ord + Clone> Chain<K> {
    /// A chain of these entries (sorted here).
    pub fn new(mut entries: Vec<(K, u32)>) -> Self {
        entries.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        entries.dedup_by(|a, b| a.0 == b.0);
        Self {
            base: entries.into(),
            edits: Arc::default(),
        }
    }

    /// A copy sharing nothing with this one.
    pub(super) fn deep_copy(&self) -> Self {
        Self {
            base: self.base.iter().cloned().collect::<Vec<_>>().into(),
            edits: Arc::new(BTreeMap::clone(&self.edits)),
        }
    }

    /// Bytes held, given the heap bytes of one key.
    pub fn heap_bytes(&self, key_bytes: impl Fn(&K) -> usize) -> usize {
        let entry = std::mem::size_of::<(K, u32)>();
        self.base
            .iter()
            .map(|(k, _)| entry + key_bytes(k))
            .sum::<usize>()
            + self
                .edits
                .keys()
                .map(|k| entry + 16 + key_bytes(k))
                .sum::<usize>()
    }

    /// The base entry at `key`, if any.
    fn in_base<Q: Ord + ?Sized>(&self, key: &Q) -> Option<u32>
    where
        K: Borrow<Q>,
    {
        self.base
            .binary_search_by(|(k, _)| k.borrow().cmp(key))
            .ok()
            .map(|i| self.base[i].1)
    }

    /// The node whose key is `key`.
    pub fn matching<Q: Ord + ?Sized>(&self, key: &Q) -> Option<u32>
    where
        K: Borrow<Q>,
    {
        if !self.edits.is_empty()
            && let Some(now) = self.edits.get(key)
        {
            return *now;
        }
        self.in_base(key)
    }

    /// The node with the greatest key at or before `key`, wrapping around to the last when
    /// none is (the NSEC or NSEC3 record that matches or covers it).
    pub fn at_or_before<Q: Ord + ?Sized>(&self, key: &Q) -> Option<u32>
    where
        K: Borrow<Q>,
    {
        let upto = self.base.partition_point(|(k, _)| k.borrow() <= key);
        if self.edits.is_empty() {
            let i = upto
                .checked_sub(1)
                .or_else(|| self.base.len().checked_sub(1))?;
            return Some(self.base[i].1);
        }
        self.last_before(upto, Bound::Included(key))
            .or_else(|| self.last_before(self.base.len(), Bound::Unbounded))
    }

    /// The greatest live entry among the base's first `upto` entries and the edits up to
    /// `bound`.
    fn last_before<Q: Ord + ?Sized>(&self, upto: usize, bound: Bound<&Q>) -> Option<u32>
    where
        K: Borrow<Q>,
    {
        // The base's greatest entry not changed since (changed ones are in the edits).
        let from_base = self.base[..upto]
            .iter()
            .rev()
            .find(|(k, _)| !self.edits.contains_key(k.borrow()))
            .map(|(k, id)| (k, *id));
        let from_edits = self
            .edits
            .range::<Q, _>((Bound::Unbounded, bound))
            .rev()
            .find_map(|(k, now)| now.map(|id| (k, id)));
        match (from_base, from_edits) {
            (Some(b), Some(e)) => Some(if e.0 > b.0 { e.1 } else { b.1 }),
            (b, e) => b.or(e).map(|(_, id)| id),
        }
    }

    /// Makes `key` lead to `node` (or out of the chain, with `None`).
    pub(super) fn set(&mut self, key: K, node: Option<u32>) {
        let in_base = self.in_base(key.borrow()).is_some();
        let edits = Arc::make_mut(&mut self.edits);
        if node.is_none() && !in_base {
            edits.remove(&key);
        } else {
            edits.insert(key, node);
        }
    }

    /// Entries changed since the base.
    pub fn edits(&self) -> usize {
        self.edits.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The layered chain answers like a plain sorted vector of the same live entries.
    #[test]
    fn layered_answers_like_a_sorted_vector() {
        let mut chain = Chain::new((0u8..20).step_by(2).map(|k| (k, u32::from(k))).collect());
        let mut plain: BTreeMap<u8, u32> =
            (0u8..20).step_by(2).map(|k| (k, u32::from(k))).collect();
        // Remove some, move some, add some (including below the first and past the last).
        for (k, v) in [
            (0, None),
            (4, Some(40)),
            (5, Some(50)),
            (18, None),
            (19, Some(190)),
            (16, None),
        ] {
            chain.set(k, v);
            match v {
                Some(v) => plain.insert(k, v),
                None => plain.remove(&k),
            };
        }
        for q in 0u8..25 {
            let want_match = plain.get(&q).copied();
            let want_before = plain
                .range(..=q)
                .next_back()
                .or_else(|| plain.iter().next_back())
                .map(|(_, v)| *v);
            assert_eq!(chain.matching(&q), want_match, "matching {q}");
            assert_eq!(chain.at_or_before(&q), want_before, "at_or_before {q}");
        }
        // Everything removed: nothing matches or covers.
        for k in 0u8..25 {
            chain.set(k, None);
        }
        assert_eq!(chain.at_or_before(&7), None);
    }
}
