//! Zones on disk: one file per zone in `data_dir`, written to a temporary file, synced and
//! renamed over the old one, so a crash leaves either the old or the new copy, never half.
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

use apex_zone::dname::DName;
use apex_zone::rdata::RrType;
use apex_zone::record::ZoneRecord;
use ring::digest::{SHA256, digest};

const MAGIC: &[u8; 8] = b"APEXZ\x00\x01\n";
/// File name suffix.
pub const SUFFIX: &str = ".apexz";

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
        out.extend_from_slice(r.name.wire());
        out.extend_from_slice(&r.rtype.0.to_be_bytes());
        out.extend_from_slice(&r.ttl.to_be_bytes());
        out.extend_from_slice(&(r.rdata.len() as u16).to_be_bytes());
        out.extend_from_slice(&r.rdata);
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
    let count = u32::from_be_bytes([body[8], body[9], body[10], body[11]]) as usize;
    let mut pos = MAGIC.len() + 4;
    let mut out = Vec::with_capacity(count.min(body.len() / 11));
    for _ in 0..count {
        let (name, used) = DName::from_wire(&body[pos..]).ok_or(damaged("bad owner name"))?;
        pos += used;
        let fixed = body.get(pos..pos + 8).ok_or(damaged("truncated record"))?;
        let rtype = u16::from_be_bytes([fixed[0], fixed[1]]);
        let ttl = u32::from_be_bytes([fixed[2], fixed[3], fixed[4], fixed[5]]);
        let len = usize::from(u16::from_be_bytes([fixed[6], fixed[7]]));
        pos += 8;
        let rdata = body
            .get(pos..pos + len)
            .ok_or(damaged("truncated record"))?;
        pos += len;
        out.push(ZoneRecord {
            name,
            ttl,
            rtype: RrType(rtype),
            rdata: rdata.into(),
            comment: None,
            line: 0,
        });
    }
    if pos != body.len() {
        return Err(damaged("trailing bytes"));
    }
    Ok(out)
}

/// Writes `records` as the copy of `zone`, atomically.
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
    Ok(())
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

/// Removes the copy of `zone`, if any.
pub fn remove(dir: &Path, zone: &DName) {
    let path = path_of(dir, zone);
    match fs::remove_file(&path) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => tracing::warn!(path = %path.display(), error = %e, "cannot remove a zone file"),
    }
}

/// Every zone file in `dir` (for removing those no longer wanted).
pub fn files(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = fs::read_dir(dir) else {
        return Vec::new();
    };
    entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.to_string_lossy().ends_with(SUFFIX))
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
}
