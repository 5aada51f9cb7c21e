//! Sealing secrets at rest: the platform's master key, and the AES-256-GCM seal and open that
//! keep DNSSEC private keys, webhook secrets and second-factor secrets unreadable in the
//! database.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use ring::aead::{AES_256_GCM, Aad, LessSafeKey, Nonce, UnboundKey};
use ring::rand::{SecureRandom, SystemRandom};

use crate::error::CoreError;

/// The platform's master key (`APEX_MASTER_KEY`, 32 bytes in base64): seals DNSSEC private
/// keys and webhook secrets ([`crate::webhooks`]) at rest.
#[derive(Clone)]
pub struct MasterKey([u8; 32]);

impl std::fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MasterKey(redacted)")
    }
}

impl MasterKey {
    /// From its base64 text.
    pub fn parse(text: &str) -> Result<Self, String> {
        let bytes = B64
            .decode(text.trim())
            .map_err(|_| "is not base64".to_string())?;
        let key: [u8; 32] = bytes
            .try_into()
            .map_err(|_| "must be 32 bytes (44 characters of base64)".to_string())?;
        Ok(Self(key))
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

    fn aead(&self) -> Result<LessSafeKey, CoreError> {
        UnboundKey::new(&AES_256_GCM, &self.0)
            .map(LessSafeKey::new)
            .map_err(|_| CoreError::Internal("master key unusable".into()))
    }

    /// Seals `plain`, bound to `context` (authenticated, not encrypted): nonce || ciphertext.
    pub fn seal(&self, context: &[u8], plain: &[u8]) -> Result<Vec<u8>, CoreError> {
        let mut nonce = [0u8; 12];
        SystemRandom::new()
            .fill(&mut nonce)
            .map_err(|_| CoreError::Internal("system random number generator failed".into()))?;
        let mut sealed = plain.to_vec();
        self.aead()?
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(context),
                &mut sealed,
            )
            .map_err(|_| CoreError::Internal("sealing failed".into()))?;
        let mut out = nonce.to_vec();
        out.extend_from_slice(&sealed);
        Ok(out)
    }

    /// Opens what [`MasterKey::seal`] made with the same `context`.
    pub fn open(&self, context: &[u8], sealed: &[u8]) -> Result<Vec<u8>, CoreError> {
        let (nonce, body) = sealed
            .split_first_chunk::<12>()
            .ok_or_else(|| CoreError::Internal("sealed key too short".into()))?;
        let mut buf = body.to_vec();
        let plain = self
            .aead()?
            .open_in_place(
                Nonce::assume_unique_for_key(*nonce),
                Aad::from(context),
                &mut buf,
            )
            .map_err(|_| {
                CoreError::Internal(
                    "a DNSSEC private key does not open with APEX_MASTER_KEY (wrong key?)".into(),
                )
            })?;
        Ok(plain.to_vec())
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
        assert!(!format!("{key:?}").contains(&B64.encode(key.0)));
        assert!(MasterKey::parse("c2hvcnQ=").is_err());
    }
}
