//! Zones on disk: one file per zone in `data_dir`, written to a temporary file, synced and
//! renamed over the old one, so a crash leaves either the old or the new copy, never half;
//! beside it, the zone's journal: the incremental transfers applied since, appended and
//! synced one by one, replayed on start-up, and folded into a new copy when it grows past a
//! quarter of the copy and 1 MiB (so an IXFR costs a write of its own size, not of the zone's).
//!
//! The form is compact and binary: a magic line, the record count, then each record as its
//! owner (uncompressed wire form), type, TTL, data length and data, and a SHA-256 of all that
//! at the end (a damaged file is skipped and the zone transferred afresh). The file's
//! modification time is the last moment the zone was known current (a transfer or a SOA check
//! that found it current): after a restart the SOA expire timer runs on from there.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use apex_net::xfr::Delta;
use apex_zone::dname::DName;
use apex_zone::rdata::RrType;
use apex_zone::record::ZoneRecord;
use ring::digest::{SHA256, digest};

const MAGIC: &[u8; 8] = b"APEXZ\x00\x01\n";
/// File name suffix.
pub const SUFFIX: &str = ".apexz";
/// File name suffix of a journal.
pub const JOURNAL_SUFFIX: &str = ".apexj";

/// The file of `zone` in `dir`: its name in presentation form, with every byte other than
/// lowercase letters, digits, `-`, `_` and `.` written as `%XX` (owners such as RFC 2317's
/// `0/25.2.0.192.in-addr.arpa` may hold `/`).
pub fn path_of(dir: &Path, zone: &DName) -> PathBuf {
    let text = zone.to_string();
    let mut name = String::with_capacity(text.len() + SUFFIX.len());
    for b in text.trim_end_matches('.').bytes() {
        if b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'-' | b'_' | b'.') {
            name.push(char::from(b));
        } else {
            name.push_str(&format!("%{b:02X}"));
        }
    }
    name.push_str(SUFFIX);
    dir.join(name)
}

/// The journal of `zone` in `dir`.
pub fn journal_of(dir: &Path, zone: &DName) -> PathBuf {
    path_of(dir, zone).with_extension(&JOURNAL_SUFFIX[1..])
}

fn put_record(out: &mut Vec<u8>, r: &ZoneRecord) {
    out.extend_from_slice(r.name.wire());
    out.extend_from_slice(&r.rtype.0.to_be_bytes());
    out.extend_from_slice(&r.ttl.to_be_bytes());
    out.extend_from_slice(&(r.rdata.len() as u16).to_be_bytes());
    out.extend_from_slice(&r.rdata);
}

/// Reads records off a byte slice.
struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl Reader<'_> {
    fn u32(&mut self) -> Result<u32, LoadError> {
        let b = self
            .bytes
            .get(self.pos..self.pos + 4)
            .ok_or(LoadError::Damaged("truncated"))?;
        self.pos += 4;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    fn record(&mut self) -> Result<ZoneRecord, LoadError> {
        let damaged = LoadError::Damaged;
        let (name, used) =
            DName::from_wire(&self.bytes[self.pos..]).ok_or(damaged("bad owner name"))?;
        self.pos += used;
        let fixed = self
            .bytes
            .get(self.pos..self.pos + 8)
            .ok_or(damaged("truncated record"))?;
        let rtype = u16::from_be_bytes([fixed[0], fixed[1]]);
        let ttl = u32::from_be_bytes([fixed[2], fixed[3], fixed[4], fixed[5]]);
        let len = usize::from(u16::from_be_bytes([fixed[6], fixed[7]]));
        self.pos += 8;
        let rdata = self
            .bytes
            .get(self.pos..self.pos + len)
            .ok_or(damaged("truncated record"))?;
        self.pos += len;
        Ok(ZoneRecord {
            name,
            ttl,
            rtype: RrType(rtype),
            rdata: rdata.into(),
            comment: None,
            line: 0,
        })
    }

    fn records(&mut self) -> Result<Vec<ZoneRecord>, LoadError> {
        let count = self.u32()? as usize;
        let mut out = Vec::with_capacity(count.min(self.bytes.len() / 11));
        for _ in 0..count {
            out.push(self.record()?);
        }
        Ok(out)
    }
}

/// One entry of a journal: the SOA reached and the IXFR steps that led there.
pub type JournalEntry = (ZoneRecord, Vec<Delta>);

/// Appends the transfer that led to `soa` to the journal of `zone`, synced, and marks the
/// zone current (the copy's modification time). Returns the journal's size.
pub fn append(dir: &Path, zone: &DName, soa: &ZoneRecord, steps: &[Delta]) -> std::io::Result<u64> {
    let mut body = Vec::new();
    put_record(&mut body, soa);
    body.extend_from_slice(&(steps.len() as u32).to_be_bytes());
    for step in steps {
        body.extend_from_slice(&step.from.to_be_bytes());
        body.extend_from_slice(&step.to.to_be_bytes());
        for part in [&step.removed, &step.added] {
            body.extend_from_slice(&(part.len() as u32).to_be_bytes());
            for r in part {
                put_record(&mut body, r);
            }
        }
    }
    let mut entry = Vec::with_capacity(body.len() + 36);
    entry.extend_from_slice(&(body.len() as u32).to_be_bytes());
    entry.extend_from_slice(&body);
    entry.extend_from_slice(digest(&SHA256, &body).as_ref());
    let mut f = fs::File::options()
        .create(true)
        .append(true)
        .open(journal_of(dir, zone))?;
    f.write_all(&entry)?;
    f.sync_data()?;
    let size = f.metadata()?.len();
    touch(dir, zone)?;
    Ok(size)
}

/// The journal of `zone`: its entries, oldest first, up to the first damaged one (a write cut
/// short by a crash), where the file is cut so later entries follow whole ones.
pub fn journal(dir: &Path, zone: &DName) -> Result<Vec<JournalEntry>, LoadError> {
    let path = journal_of(dir, zone);
    let bytes = match fs::read(&path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e.into()),
    };
    let mut out = Vec::new();
    let mut pos = 0;
    while pos < bytes.len() {
        match journal_entry(&bytes[pos..]) {
            Some((entry, used)) => {
                out.push(entry);
                pos += used;
            }
            None => {
                tracing::warn!(path = %path.display(), at = pos, "journal damaged past this point; cut there");
                fs::File::options()
                    .write(true)
                    .open(&path)?
                    .set_len(pos as u64)?;
                break;
            }
        }
    }
    Ok(out)
}

fn journal_entry(bytes: &[u8]) -> Option<(JournalEntry, usize)> {
    let len = u32::from_be_bytes(bytes.get(..4)?.try_into().ok()?) as usize;
    let body = bytes.get(4..4 + len)?;
    let sum = bytes.get(4 + len..4 + len + 32)?;
    if digest(&SHA256, body).as_ref() != sum {
        return None;
    }
    let mut r = Reader {
        bytes: body,
        pos: 0,
    };
    let soa = r.record().ok()?;
    let count = r.u32().ok()?;
    let mut steps = Vec::new();
    for _ in 0..count {
        let from = r.u32().ok()?;
        let to = r.u32().ok()?;
        let removed = r.records().ok()?;
        let added = r.records().ok()?;
        steps.push(Delta {
            from,
            to,
            removed,
            added,
        });
    }
    (r.pos == body.len()).then_some(((soa, steps), 4 + len + 32))
}

/// Encodes records.
pub fn encode(records: &[ZoneRecord]) -> Vec<u8> {
    let size: usize = records
        .iter()
        .map(|r| r.name.wire().len() + 8 + r.rdata.len())
        .sum();
    let mut out = Vec::with_capacity(MAGIC.len() + 4 + size + 32);
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(
        &u32::try_from(records.len())
            .unwrap_or(u32::MAX)
            .to_be_bytes(),
    );
    for r in records {
        put_record(&mut out, r);
    }
    let sum = digest(&SHA256, &out);
    out.extend_from_slice(sum.as_ref());
    out
}

/// Why a file could not be read back.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// Reading failed.
    #[error("{0}")]
    Io(#[from] std::io::Error),
    /// The bytes are not a zone file of ours, or are damaged.
    #[error("damaged zone file: {0}")]
    Damaged(&'static str),
}

/// Decodes records.
pub fn decode(bytes: &[u8]) -> Result<Vec<ZoneRecord>, LoadError> {
    let damaged = LoadError::Damaged;
    if bytes.len() < MAGIC.len() + 4 + 32 || &bytes[..MAGIC.len()] != MAGIC {
        return Err(damaged("not a zone file of this version"));
    }
    let (body, sum) = bytes.split_at(bytes.len() - 32);
    if digest(&SHA256, body).as_ref() != sum {
        return Err(damaged("checksum mismatch"));
    }
    let mut r = Reader {
        bytes: body,
        pos: MAGIC.len(),
    };
    let out = r.records()?;
    if r.pos != body.len() {
        return Err(damaged("trailing bytes"));
    }
    Ok(out)
}

/// Writes `records` as the copy of `zone`, atomically, and drops its journal (whose entries
/// the copy holds).
pub fn save(dir: &Path, zone: &DName, records: &[ZoneRecord]) -> std::io::Result<()> {
    let path = path_of(dir, zone);
    let tmp = path.with_extension("tmp");
    let bytes = encode(records);
    {
        let mut f = fs::File::create(&tmp)?;
        f.write_all(&bytes)?;
        f.sync_all()?;
    }
    fs::rename(&tmp, &path)?;
    // The rename itself is durable once the directory is synced.
    if let Ok(d) = fs::File::open(dir) {
        let _ = d.sync_all();
    }
    // A crash before this leaves a journal that starts from an older serial than the copy:
    // replay skips it.
    match fs::remove_file(journal_of(dir, zone)) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

/// Records that `zone` was found current now (the expire timer restarts from here).
pub fn touch(dir: &Path, zone: &DName) -> std::io::Result<()> {
    let f = fs::File::options().append(true).open(path_of(dir, zone))?;
    f.set_modified(SystemTime::now())
}

/// Reads the copy of `zone`: its records and how long ago it was last known current.
pub fn load(dir: &Path, zone: &DName) -> Result<Option<(Vec<ZoneRecord>, Duration)>, LoadError> {
    let path = path_of(dir, zone);
    let bytes = match fs::read(&path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e.into()),
    };
    let age = fs::metadata(&path)?
        .modified()
        .ok()
        .and_then(|m| SystemTime::now().duration_since(m).ok())
        .unwrap_or_default();
    Ok(Some((decode(&bytes)?, age)))
}

/// Removes the copy of `zone` and its journal, if any.
pub fn remove(dir: &Path, zone: &DName) {
    for path in [path_of(dir, zone), journal_of(dir, zone)] {
        match fs::remove_file(&path) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => {
                tracing::warn!(path = %path.display(), error = %e, "cannot remove a zone file");
            }
        }
    }
}

/// Every zone file and journal in `dir` (for removing those no longer wanted).
pub fn files(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = fs::read_dir(dir) else {
        return Vec::new();
    };
    entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| {
            let p = p.to_string_lossy();
            p.ends_with(SUFFIX) || p.ends_with(JOURNAL_SUFFIX)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(name: &str, rtype: RrType, rdata: &[u8]) -> ZoneRecord {
        ZoneRecord {
            name: DName::parse(name.as_bytes(), None).unwrap(),
            ttl: 300,
            rtype,
            rdata: rdata.into(),
            comment: None,
            line: 0,
        }
    }

    #[test]
    fn round_trip_and_damage() {
        let dir = std::env::temp_dir().join(format!("apex-persist-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let zone = DName::parse(b"0/25.2.0.192.in-addr.arpa.", None).unwrap();
        let records = vec![
            rec(
                "0/25.2.0.192.in-addr.arpa.",
                RrType::NS,
                b"\x02ns\x07example\x00",
            ),
            rec(
                "1.0/25.2.0.192.in-addr.arpa.",
                RrType::PTR,
                b"\x04Host\x07example\x00",
            ),
        ];
        save(&dir, &zone, &records).unwrap();
        assert!(
            path_of(&dir, &zone)
                .to_string_lossy()
                .ends_with("0%2F25.2.0.192.in-addr.arpa.apexz")
        );
        let (back, age) = load(&dir, &zone).unwrap().unwrap();
        assert_eq!(back, records);
        assert!(age < Duration::from_secs(60));
        touch(&dir, &zone).unwrap();

        let mut bytes = fs::read(path_of(&dir, &zone)).unwrap();
        let mid = bytes.len() / 2;
        bytes[mid] ^= 1;
        assert!(decode(&bytes).is_err());
        assert!(decode(b"junk").is_err());
        remove(&dir, &zone);
        assert!(load(&dir, &zone).unwrap().is_none());
        fs::remove_dir_all(&dir).unwrap();
    }

    /// The journal keeps whole entries in order; a write cut short by a crash is cut off on
    /// reading, so the next append follows the last whole entry; a new copy drops the journal.
    #[test]
    fn journal_appends_replays_and_survives_a_torn_write() {
        let dir = std::env::temp_dir().join(format!("apex-journal-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let zone = DName::parse(b"example.", None).unwrap();
        let soa = |serial: u32| {
            let mut rdata = b"\x02ns\x07example\x00\x04host\x07example\x00".to_vec();
            for v in [serial, 3600, 600, 86400, 300] {
                rdata.extend_from_slice(&v.to_be_bytes());
            }
            rec("example.", RrType::SOA, &rdata)
        };
        let step = |from: u32, last: u8| Delta {
            from,
            to: from + 1,
            removed: vec![rec("www.example.", RrType::A, &[192, 0, 2, last - 1])],
            added: vec![rec("www.example.", RrType::A, &[192, 0, 2, last])],
        };
        save(&dir, &zone, &[soa(1)]).unwrap();
        append(&dir, &zone, &soa(2), &[step(1, 2)]).unwrap();
        let size = append(&dir, &zone, &soa(4), &[step(2, 3), step(3, 4)]).unwrap();
        let entries = journal(&dir, &zone).unwrap();
        assert_eq!(entries.len(), 2);
        assert_eq!(entries[1].0, soa(4));
        assert_eq!(entries[1].1.len(), 2);
        assert_eq!(entries[1].1[1].added, step(3, 4).added);

        // Half an entry at the end: the whole ones are read, the file is cut after them.
        let mut f = fs::File::options()
            .append(true)
            .open(journal_of(&dir, &zone))
            .unwrap();
        f.write_all(&[0, 0, 1, 0, 7, 7, 7]).unwrap();
        drop(f);
        assert_eq!(journal(&dir, &zone).unwrap().len(), 2);
        assert_eq!(fs::metadata(journal_of(&dir, &zone)).unwrap().len(), size);
        append(&dir, &zone, &soa(5), &[step(4, 5)]).unwrap();
        assert_eq!(journal(&dir, &zone).unwrap().len(), 3);

        // A new copy holds everything: the journal goes.
        save(&dir, &zone, &[soa(5)]).unwrap();
        assert!(journal(&dir, &zone).unwrap().is_empty());
        assert!(!journal_of(&dir, &zone).exists());
        remove(&dir, &zone);
        fs::remove_dir_all(&dir).unwrap();
    }
}
