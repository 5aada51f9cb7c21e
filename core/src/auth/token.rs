//! Random tokens and passwords, and the SHA-256 hashes tokens are stored as.
//!
//! Keys and session tokens are random (256 bits), shown once and stored as SHA-256 hashes; a
//! plain hash is right for such values, unlike passwords, which get argon2id
//! ([`super::password`]).

use ring::digest::{SHA256, digest};
use ring::rand::{SecureRandom, SystemRandom};

use crate::CoreError;

/// `N` random bytes from the system's generator.
pub fn random_bytes<const N: usize>() -> Result<[u8; N], CoreError> {
    let mut buf = [0u8; N];
    SystemRandom::new()
        .fill(&mut buf)
        .map_err(|_| CoreError::Internal("system random number generator failed".into()))?;
    Ok(buf)
}

/// A random token: `prefix` followed by 64 hex digits (256 bits).
pub fn random_token(prefix: &str) -> Result<String, CoreError> {
    Ok(format!("{prefix}{}", hex::encode(random_bytes::<32>()?)))
}

/// A random password of 24 letters and digits (about 140 bits), for generated accounts.
pub fn random_password() -> Result<String, CoreError> {
    const ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789";
    let bytes = random_bytes::<24>()?;
    Ok(bytes
        .iter()
        .map(|b| ALPHABET[usize::from(*b) % ALPHABET.len()] as char)
        .collect())
}

/// SHA-256 of a token (API key, session, mailed link).
pub fn token_hash(token: &str) -> Vec<u8> {
    digest(&SHA256, token.as_bytes()).as_ref().to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn random_passwords() {
        let a = random_password().unwrap();
        assert_eq!(a.len(), 24);
        assert!(a.chars().all(|c| c.is_ascii_alphanumeric()));
        assert_ne!(a, random_password().unwrap());
    }

    #[test]
    fn hashes_are_sha256() {
        assert_eq!(token_hash("abc").len(), 32);
        assert_ne!(token_hash("abc"), token_hash("abd"));
    }
}
