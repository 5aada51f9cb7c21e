//! Sealing secrets at rest: the platform's master key, and the AES-256-GCM seal and open that
//! keep DNSSEC private keys, webhook secrets and second-factor secrets unreadable in the
//! database.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use ring::aead::{AES_256_GCM, Aad, LessSafeKey, Nonce, UnboundKey};
use ring::rand::{SecureRandom, SystemRandom};

use crate::error::CoreError;

/// The platform's master key (`APEX_MASTER_KEY`, 32 bytes in base64): seals DNSSEC private
/// keys, webhook secrets, second-factor secrets and the platform's own secrets at rest.
///
/// `APEX_MASTER_KEY` may list several keys, comma-separated: the first seals, any of them
/// opens. That is how the key changes without a pause: put the new key first and the old one
/// after it everywhere, run `apex admin rotate-master-key` (which re-seals everything under
/// the first key, in one transaction), then drop the old key.
///
/// A sealed blob is `0x01`, the sealing key's id (the first 8 bytes of its SHA-256), the
/// 12-byte nonce, then the AES-256-GCM ciphertext and tag. Blobs sealed before key ids were
/// written (nonce first) still open.
#[derive(Clone)]
pub struct MasterKey {
    /// The keys: the first seals.
    keys: Vec<([u8; 8], [u8; 32])>,
}

/// The first byte of a blob that names its key.
const WITH_KEY_ID: u8 = 0x01;

impl std::fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "MasterKey(id {}, redacted)", self.id_hex())
    }
}

fn key_id(key: &[u8; 32]) -> [u8; 8] {
    let digest = ring::digest::digest(&ring::digest::SHA256, key);
    let mut id = [0u8; 8];
    id.copy_from_slice(&digest.as_ref()[..8]);
    id
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

impl MasterKey {
    /// From its base64 text, or several, comma-separated (the first seals).
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut keys = Vec::new();
        let parts: Vec<&str> = text
            .split(',')
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .collect();
        for (i, part) in parts.iter().enumerate() {
            let which = if parts.len() > 1 {
                format!("key {}: ", i + 1)
            } else {
                String::new()
            };
            let bytes = B64
                .decode(part)
                .map_err(|_| format!("{which}is not base64"))?;
            let key: [u8; 32] = bytes
                .try_into()
                .map_err(|_| format!("{which}must be 32 bytes (44 characters of base64)"))?;
            keys.push((key_id(&key), key));
        }
        if keys.is_empty() {
            return Err("is empty".into());
        }
        Ok(Self { keys })
    }

    /// A new random key as base64 text (for `make run` and tests).
    pub fn generate_text() -> String {
        let mut key = [0u8; 32];
        // The system generator does not fail on supported platforms; all zeros would be
        // caught nowhere, so fail loudly instead.
        if SystemRandom::new().fill(&mut key).is_err() {
            return String::new();
        }
        B64.encode(key)
    }

    /// The sealing key's id, in hex (it names the key in logs and errors; it reveals
    /// nothing of it).
    pub fn id_hex(&self) -> String {
        hex(&self.keys[0].0)
    }

    fn aead(key: &[u8; 32]) -> Result<LessSafeKey, CoreError> {
        UnboundKey::new(&AES_256_GCM, key)
            .map(LessSafeKey::new)
            .map_err(|_| CoreError::Internal("master key unusable".into()))
    }

    /// Seals `plain` under the first key, bound to `context` (authenticated, not
    /// encrypted): `0x01`, key id, nonce, ciphertext.
    pub fn seal(&self, context: &[u8], plain: &[u8]) -> Result<Vec<u8>, CoreError> {
        let (id, key) = &self.keys[0];
        let mut nonce = [0u8; 12];
        SystemRandom::new()
            .fill(&mut nonce)
            .map_err(|_| CoreError::Internal("system random number generator failed".into()))?;
        let mut sealed = plain.to_vec();
        Self::aead(key)?
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(context),
                &mut sealed,
            )
            .map_err(|_| CoreError::Internal("sealing failed".into()))?;
        let mut out = Vec::with_capacity(1 + 8 + 12 + sealed.len());
        out.push(WITH_KEY_ID);
        out.extend_from_slice(id);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&sealed);
        Ok(out)
    }

    fn open_with(key: &[u8; 32], context: &[u8], nonce_and_body: &[u8]) -> Option<Vec<u8>> {
        let (nonce, body) = nonce_and_body.split_first_chunk::<12>()?;
        let mut buf = body.to_vec();
        let plain = Self::aead(key)
            .ok()?
            .open_in_place(
                Nonce::assume_unique_for_key(*nonce),
                Aad::from(context),
                &mut buf,
            )
            .ok()?;
        Some(plain.to_vec())
    }

    /// Opens what [`MasterKey::seal`] made with the same `context`, with whichever key of the
    /// ring sealed it.
    pub fn open(&self, context: &[u8], sealed: &[u8]) -> Result<Vec<u8>, CoreError> {
        if sealed.first() == Some(&WITH_KEY_ID)
            && let Some(id) = sealed.get(1..9)
        {
            if let Some((_, key)) = self.keys.iter().find(|(k, _)| k.as_slice() == id) {
                return Self::open_with(key, context, &sealed[9..]).ok_or_else(|| {
                    CoreError::Internal(
                        "a sealed secret does not open: it was altered, or belongs to another row"
                            .into(),
                    )
                });
            }
            // Not one of ours by id; it may still be an old blob whose nonce starts so.
            if let Some(plain) = self.open_legacy(context, sealed) {
                return Ok(plain);
            }
            return Err(CoreError::Internal(format!(
                "a secret is sealed under master key {}, which APEX_MASTER_KEY does not hold (it holds {})",
                hex(id),
                self.keys
                    .iter()
                    .map(|(k, _)| hex(k))
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        }
        self.open_legacy(context, sealed).ok_or_else(|| {
            CoreError::Internal(
                "a sealed secret does not open with APEX_MASTER_KEY (wrong key?)".into(),
            )
        })
    }

    fn open_legacy(&self, context: &[u8], sealed: &[u8]) -> Option<Vec<u8>> {
        self.keys
            .iter()
            .find_map(|(_, key)| Self::open_with(key, context, sealed))
    }

    /// Whether `sealed` is sealed under the first key already (else rotation re-seals it).
    pub fn is_current(&self, sealed: &[u8]) -> bool {
        sealed.first() == Some(&WITH_KEY_ID) && sealed.get(1..9) == Some(&self.keys[0].0[..])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seal_and_open() {
        let key = MasterKey::parse(&MasterKey::generate_text()).unwrap();
        let sealed = key.seal(b"ctx", b"secret pkcs8").unwrap();
        assert_eq!(key.open(b"ctx", &sealed).unwrap(), b"secret pkcs8");
        // Bound to its context, and to the key.
        assert!(key.open(b"other", &sealed).is_err());
        let other = MasterKey::parse(&MasterKey::generate_text()).unwrap();
        assert!(other.open(b"ctx", &sealed).is_err());
        assert!(!format!("{key:?}").contains(&B64.encode(key.keys[0].1)));
        assert!(MasterKey::parse("c2hvcnQ=").is_err());
    }

    /// Blobs name their key; a ring opens what any of its keys sealed and seals with the
    /// first; blobs from before key ids still open.
    #[test]
    fn key_ids_and_rings() {
        let old_text = MasterKey::generate_text();
        let new_text = MasterKey::generate_text();
        let old = MasterKey::parse(&old_text).unwrap();
        let sealed_old = old.seal(b"ctx", b"secret").unwrap();
        assert_eq!(sealed_old[0], WITH_KEY_ID);
        assert_eq!(hex(&sealed_old[1..9]), old.id_hex());
        assert!(old.is_current(&sealed_old));

        let ring = MasterKey::parse(&format!("{new_text}, {old_text}")).unwrap();
        assert_eq!(ring.open(b"ctx", &sealed_old).unwrap(), b"secret");
        assert!(!ring.is_current(&sealed_old));
        let sealed_new = ring.seal(b"ctx", b"secret").unwrap();
        assert!(ring.is_current(&sealed_new));
        let new = MasterKey::parse(&new_text).unwrap();
        assert_eq!(new.open(b"ctx", &sealed_new).unwrap(), b"secret");
        let e = new.open(b"ctx", &sealed_old).unwrap_err().to_string();
        assert!(
            e.contains(&old.id_hex()) && e.contains(&new.id_hex()),
            "{e}"
        );

        // A blob as sealed before key ids: nonce, then ciphertext.
        let mut nonce = [7u8; 12];
        nonce[0] = 0x02;
        let mut body = b"legacy".to_vec();
        MasterKey::aead(&old.keys[0].1)
            .unwrap()
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(b"ctx"),
                &mut body,
            )
            .unwrap();
        let mut legacy = nonce.to_vec();
        legacy.extend_from_slice(&body);
        assert_eq!(ring.open(b"ctx", &legacy).unwrap(), b"legacy");
        assert!(!ring.is_current(&legacy));
        assert!(
            MasterKey::parse(&format!("{new_text},c2hvcnQ="))
                .unwrap_err()
                .starts_with("key 2:")
        );
    }
}
