//! A compact domain name for bulk work (zone files of a million records): its lowercase wire
//! form in one shared allocation (records of one owner share it), ordered in DNSSEC canonical
//! order (RFC 4034 section 6.1).
//!
//! The API-facing types ([`crate::name::ZoneName`], [`crate::name::RecordName`]) wrap
//! hickory's `Name`; zone-file import and export work with [`DName`] and convert at the edge.

use std::cmp::Ordering;
use std::fmt::{self, Write};
use std::sync::Arc;

use hickory_proto::rr::Name;
use hickory_proto::serialize::binary::{BinDecodable, BinDecoder};

use crate::presentation::unescape;

/// A fully qualified name in lowercase wire form (`\x03www\x07example\x03com\x00`).
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct DName(Arc<[u8]>);

/// Why a name in presentation form is not a name at all (the character rules of owners and
/// targets are checked by the callers, see [`crate::name`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DNameError {
    /// `a..b` or a leading dot.
    #[error("empty label (two dots in a row or a leading dot)")]
    EmptyLabel,
    /// A label of more than 63 octets.
    #[error("label longer than 63 octets")]
    LabelTooLong,
    /// More than 255 octets in wire form.
    #[error("name longer than 255 octets")]
    TooLong,
    /// A broken `\` escape.
    #[error("{0}")]
    Escape(&'static str),
    /// A relative name where no origin is known.
    #[error("relative name with no origin: end it with a dot")]
    Relative,
}

impl DName {
    /// The root name `.`.
    pub fn root() -> Self {
        Self(Arc::from([0u8].as_slice()))
    }

    /// Parses a name as written in a zone file: `@` is `origin`, a name without a final dot
    /// is relative to `origin`, escapes are resolved, letters are lowercased.
    pub fn parse(raw: &[u8], origin: Option<&DName>) -> Result<Self, DNameError> {
        if raw == b"@" {
            return origin.cloned().ok_or(DNameError::Relative);
        }
        if raw == b"." {
            return Ok(Self::root());
        }
        let mut wire = Vec::with_capacity(raw.len() + 2 + origin.map_or(0, |o| o.0.len()));
        let mut label_start = 0usize;
        wire.push(0);
        let mut i = 0;
        let mut absolute = false;
        while i < raw.len() {
            let c = raw[i];
            if c == b'.' {
                if wire.len() - label_start == 1 {
                    return Err(DNameError::EmptyLabel);
                }
                close_label(&mut wire, label_start)?;
                i += 1;
                if i == raw.len() {
                    absolute = true;
                    break;
                }
                label_start = wire.len();
                wire.push(0);
                continue;
            }
            let byte = if c == b'\\' {
                let (b, used) = unescape(raw, i).map_err(DNameError::Escape)?;
                i += used;
                b
            } else {
                i += 1;
                c
            };
            wire.push(byte.to_ascii_lowercase());
        }
        if !absolute {
            if wire.len() - label_start == 1 {
                return Err(DNameError::EmptyLabel);
            }
            close_label(&mut wire, label_start)?;
            match origin {
                Some(o) => wire.extend_from_slice(&o.0),
                None => return Err(DNameError::Relative),
            }
        } else {
            wire.push(0);
        }
        if wire.len() > 255 {
            return Err(DNameError::TooLong);
        }
        Ok(Self(wire.into()))
    }

    /// From uncompressed wire bytes (lowercased); `None` if they are not one well-formed name.
    pub fn from_wire(wire: &[u8]) -> Option<(Self, usize)> {
        let mut i = 0;
        loop {
            let len = *wire.get(i)? as usize;
            if len > 63 {
                return None;
            }
            if len == 0 {
                let used = i + 1;
                if used > 255 {
                    return None;
                }
                return Some((Self(wire[..used].to_ascii_lowercase().into()), used));
            }
            i += 1 + len;
        }
    }

    /// The wire form.
    pub fn wire(&self) -> &[u8] {
        &self.0
    }

    /// Is this the root?
    pub fn is_root(&self) -> bool {
        self.0.len() == 1
    }

    /// The labels, leftmost first.
    pub fn labels(&self) -> Labels<'_> {
        Labels {
            wire: &self.0,
            pos: 0,
        }
    }

    /// Number of labels (the root has none).
    pub fn label_count(&self) -> usize {
        self.labels().count()
    }

    /// The name without its leftmost label (`None` for the root).
    pub fn parent(&self) -> Option<DName> {
        if self.is_root() {
            return None;
        }
        let skip = 1 + self.0[0] as usize;
        Some(Self(self.0[skip..].into()))
    }

    /// Is `self` equal to or below `zone`?
    pub fn is_within(&self, zone: &DName) -> bool {
        if zone.0.len() > self.0.len() || !self.0.ends_with(&zone.0) {
            return false;
        }
        // The suffix must start on a label boundary.
        let mut pos = 0;
        let start = self.0.len() - zone.0.len();
        while pos < start {
            pos += 1 + self.0[pos] as usize;
        }
        pos == start
    }

    /// Is the leftmost label `*`?
    pub fn is_wildcard(&self) -> bool {
        self.0.len() > 2 && self.0[0] == 1 && self.0[1] == b'*'
    }

    /// A byte string whose plain (memcmp) order is this name's canonical order: the labels
    /// from the right, each followed by 0, with bytes 0 and 1 written as 1 0 and 1 1 so that
    /// the separator sorts below every byte. Sorting many names by these keys is much cheaper
    /// than comparing them label by label.
    pub fn canonical_key(&self) -> Box<[u8]> {
        let mut starts = [0u8; 128];
        let n = label_starts(&self.0, &mut starts);
        let mut key = Vec::with_capacity(self.0.len() + 4);
        for k in (0..n).rev() {
            let at = starts[k] as usize;
            for &b in &self.0[at + 1..at + 1 + self.0[at] as usize] {
                if b <= 1 {
                    key.push(1);
                }
                key.push(b);
            }
            key.push(0);
        }
        key.into_boxed_slice()
    }

    /// Converts to hickory's name.
    pub fn to_name(&self) -> Name {
        let mut decoder = BinDecoder::new(&self.0);
        Name::read(&mut decoder).unwrap_or_else(|_| Name::root())
    }

    /// From hickory's name.
    pub fn from_name(name: &Name) -> Self {
        let mut wire = Vec::with_capacity(name.len() + 1);
        for label in name.iter() {
            wire.push(label.len() as u8);
            wire.extend(label.iter().map(u8::to_ascii_lowercase));
        }
        wire.push(0);
        Self(wire.into())
    }

    /// Presentation form relative to `origin` (`@` for the origin itself), absolute otherwise.
    pub fn relative_to(&self, origin: &DName) -> String {
        if self == origin {
            return "@".into();
        }
        if self.is_within(origin) && !origin.is_root() {
            let keep = self.label_count() - origin.label_count();
            let mut out = String::new();
            for (i, label) in self.labels().take(keep).enumerate() {
                if i > 0 {
                    out.push('.');
                }
                write_label(label, &mut out);
            }
            return out;
        }
        self.to_string()
    }
}

fn close_label(wire: &mut [u8], start: usize) -> Result<(), DNameError> {
    let len = wire.len() - start - 1;
    if len > 63 {
        return Err(DNameError::LabelTooLong);
    }
    wire[start] = len as u8;
    Ok(())
}

/// Writes one label in presentation form, escaping what needs it.
pub fn write_label(label: &[u8], out: &mut String) {
    for &b in label {
        match b {
            b'.' | b'\\' | b'"' | b'(' | b')' | b';' | b'@' | b'$' => {
                out.push('\\');
                out.push(b as char);
            }
            0x21..=0x7e => out.push(b as char),
            _ => {
                let _ = write!(out, "\\{b:03}");
            }
        }
    }
}

/// The labels of a [`DName`], leftmost first.
pub struct Labels<'a> {
    wire: &'a [u8],
    pos: usize,
}

impl<'a> Iterator for Labels<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        let len = *self.wire.get(self.pos)? as usize;
        if len == 0 {
            return None;
        }
        let label = &self.wire[self.pos + 1..self.pos + 1 + len];
        self.pos += 1 + len;
        Some(label)
    }
}

impl std::borrow::Borrow<[u8]> for DName {
    /// Lets hash maps keyed by names be searched with wire bytes straight from a packet.
    fn borrow(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Display for DName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_root() {
            return f.write_str(".");
        }
        let mut out = String::with_capacity(self.0.len());
        for label in self.labels() {
            write_label(label, &mut out);
            out.push('.');
        }
        f.write_str(&out)
    }
}

impl fmt::Debug for DName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DName({self})")
    }
}

impl Ord for DName {
    /// Canonical order: compare label by label from the right, as octet strings (both are
    /// already lowercase); a name sorts before the names below it.
    fn cmp(&self, other: &Self) -> Ordering {
        let (mut a, mut b) = ([0u8; 128], [0u8; 128]);
        let na = label_starts(&self.0, &mut a);
        let nb = label_starts(&other.0, &mut b);
        for k in 1..=na.min(nb) {
            let (x, y) = (a[na - k] as usize, b[nb - k] as usize);
            let lx = &self.0[x + 1..x + 1 + self.0[x] as usize];
            let ly = &other.0[y + 1..y + 1 + other.0[y] as usize];
            match lx.cmp(ly) {
                Ordering::Equal => {}
                ord => return ord,
            }
        }
        na.cmp(&nb)
    }
}

impl PartialOrd for DName {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// Writes the offsets of the label length bytes into `out` (a name of 255 octets has at most
/// 127 labels, all starting below offset 255) and returns how many; never allocates.
fn label_starts(wire: &[u8], out: &mut [u8; 128]) -> usize {
    let mut n = 0;
    let mut pos = 0;
    while let Some(&len) = wire.get(pos) {
        if len == 0 || n == out.len() {
            break;
        }
        out[n] = pos as u8;
        n += 1;
        pos += 1 + len as usize;
    }
    n
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(s: &str) -> DName {
        DName::parse(s.as_bytes(), None).unwrap()
    }

    #[test]
    fn parse_and_print() {
        let origin = n("Example.COM.");
        assert_eq!(origin.to_string(), "example.com.");
        assert_eq!(
            DName::parse(b"www", Some(&origin)).unwrap().to_string(),
            "www.example.com."
        );
        assert_eq!(DName::parse(b"@", Some(&origin)).unwrap(), origin);
        assert_eq!(
            DName::parse(b"a\\.b", Some(&origin)).unwrap().to_string(),
            "a\\.b.example.com."
        );
        assert_eq!(
            DName::parse(b"\\065", Some(&origin)).unwrap().to_string(),
            "a.example.com."
        );
        assert_eq!(DName::parse(b"x", None), Err(DNameError::Relative));
        assert_eq!(DName::parse(b"a..b.", None), Err(DNameError::EmptyLabel));
        assert_eq!(
            DName::parse(format!("{}.", "a".repeat(64)).as_bytes(), None),
            Err(DNameError::LabelTooLong)
        );
        assert_eq!(
            DName::parse("abcdefghi.".repeat(26).as_bytes(), None),
            Err(DNameError::TooLong)
        );
        assert_eq!(n("www.example.com.").relative_to(&origin), "www");
        assert_eq!(origin.relative_to(&origin), "@");
        assert_eq!(n("other.org.").relative_to(&origin), "other.org.");
        assert_eq!(n(".").to_string(), ".");
    }

    #[test]
    fn canonical_order() {
        // RFC 4034 section 6.1's example, in order.
        let names = [
            "example.",
            "a.example.",
            "yljkjljk.a.example.",
            "Z.a.example.",
            "zABC.a.EXAMPLE.",
            "z.example.",
            "\\001.z.example.",
            "*.z.example.",
            "\\200.z.example.",
        ];
        let parsed: Vec<DName> = names.iter().map(|s| n(s)).collect();
        let mut sorted = parsed.clone();
        sorted.sort();
        assert_eq!(sorted, parsed);
        let mut by_key = parsed.clone();
        by_key.reverse();
        by_key.sort_by_key(DName::canonical_key);
        assert_eq!(by_key, parsed);
        // Bytes 0 and 1 and prefixes keep their order under the key.
        let tricky: Vec<DName> = [
            "a.",
            "\\000.a.",
            "\\001.a.",
            "\\001\\000.a.",
            "\\002.a.",
            "b.a.",
        ]
        .iter()
        .map(|s| n(s))
        .collect();
        for pair in tricky.windows(2) {
            assert!(
                pair[0] < pair[1] && pair[0].canonical_key() < pair[1].canonical_key(),
                "{pair:?}"
            );
        }
    }

    #[test]
    fn relations() {
        let zone = n("example.com.");
        assert!(n("a.example.com.").is_within(&zone));
        assert!(zone.is_within(&zone));
        assert!(!n("aexample.com.").is_within(&zone));
        assert_eq!(n("a.b.example.com.").parent().unwrap(), n("b.example.com."));
        assert!(n("*.example.com.").is_wildcard());
        assert_eq!(
            n("www.example.com.").to_name().to_ascii(),
            "www.example.com."
        );
        assert_eq!(
            DName::from_name(&Name::from_ascii("WWW.example.com.").unwrap()),
            n("www.example.com.")
        );
        let (d, used) = DName::from_wire(b"\x01A\x00rest").unwrap();
        assert_eq!((d.to_string().as_str(), used), ("a.", 3));
    }
}
