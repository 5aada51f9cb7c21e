//! Credentials: argon2id password hashes and API keys stored as SHA-256 hashes.
//!
//! An API key is `apex_` followed by 64 hex digits (256 random bits). It is shown once, at
//! creation; the database keeps its SHA-256 and a short prefix for listings. A plain hash is
//! right for such keys: they are random, not guessable like passwords.

use argon2::Argon2;
use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use ring::digest::{SHA256, digest};
use ring::rand::{SecureRandom, SystemRandom};
use sqlx::{PgExecutor, PgPool};

use crate::CoreError;
use crate::ids::{ApiKeyId, UserId};

pub mod device;
pub mod password;
pub mod totp;

/// Where a request came from, for the audit trail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Via {
    /// The REST API.
    Api,
    /// The dashboard.
    Web,
    /// The `apex` command line.
    Cli,
}

impl Via {
    /// As stored in `changes.via`.
    pub fn as_str(self) -> &'static str {
        match self {
            Via::Api => "api",
            Via::Web => "web",
            Via::Cli => "cli",
        }
    }
}

/// Who is acting: an authenticated user, through which credential.
#[derive(Debug, Clone)]
pub struct Actor {
    /// The user.
    pub user_id: UserId,
    /// The API key used, if any.
    pub api_key_id: Option<ApiKeyId>,
    /// Platform administrators may act on every domain.
    pub is_admin: bool,
    /// Through what.
    pub via: Via,
}

/// A freshly created API key: the token is in here and nowhere else.
#[derive(Debug)]
pub struct NewApiKey {
    /// The key's id.
    pub id: ApiKeyId,
    /// The secret token, to show once.
    pub token: String,
    /// The prefix stored for listings.
    pub prefix: String,
}

fn random_bytes<const N: usize>() -> Result<[u8; N], CoreError> {
    let mut buf = [0u8; N];
    SystemRandom::new()
        .fill(&mut buf)
        .map_err(|_| CoreError::Internal("system random number generator failed".into()))?;
    Ok(buf)
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

/// SHA-256 of an API token.
pub fn token_hash(token: &str) -> Vec<u8> {
    digest(&SHA256, token.as_bytes()).as_ref().to_vec()
}

/// Hashes a password with argon2id (on a blocking thread: it is deliberately slow).
pub async fn hash_password(password: String) -> Result<String, CoreError> {
    tokio::task::spawn_blocking(move || {
        Argon2::default()
            .hash_password(password.as_bytes())
            .map(|h| h.to_string())
            .map_err(|e| CoreError::Internal(format!("password hashing failed: {e}")))
    })
    .await
    .map_err(|e| CoreError::Internal(e.to_string()))?
}

/// Checks a password against a stored argon2 hash.
pub async fn verify_password(password: String, stored: String) -> Result<bool, CoreError> {
    tokio::task::spawn_blocking(move || {
        let parsed = PasswordHash::new(&stored)
            .map_err(|e| CoreError::Internal(format!("stored password hash unreadable: {e}")))?;
        Ok(Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok())
    })
    .await
    .map_err(|e| CoreError::Internal(e.to_string()))?
}

/// Creates an API key for `user` and returns its token, which is not stored.
pub async fn create_api_key(
    db: impl PgExecutor<'_>,
    user: UserId,
    name: &str,
) -> Result<NewApiKey, CoreError> {
    let name = name.trim();
    if name.is_empty() || name.len() > 100 {
        return Err(CoreError::invalid(
            "name",
            "API key name must be 1 to 100 characters",
        ));
    }
    let token = format!("apex_{}", hex::encode(random_bytes::<32>()?));
    let prefix = token[..12].to_string();
    let id = sqlx::query_scalar!(
        r#"INSERT INTO api_keys (user_id, name, prefix, token_hash) VALUES ($1, $2, $3, $4)
           RETURNING id AS "id: ApiKeyId""#,
        user.0,
        name,
        prefix,
        token_hash(&token),
    )
    .fetch_one(db)
    .await?;
    Ok(NewApiKey { id, token, prefix })
}

/// Finds the actor behind a bearer token; `Unauthenticated` for unknown, revoked or expired
/// keys and disabled users.
pub async fn authenticate_api_key(pool: &PgPool, token: &str) -> Result<Actor, CoreError> {
    if !token.starts_with("apex_") || token.len() != 69 {
        return Err(CoreError::Unauthenticated);
    }
    let row = sqlx::query!(
        r#"SELECT k.id AS "key_id: ApiKeyId", u.id AS "user_id: UserId", u.is_admin
             FROM api_keys k JOIN users u ON u.id = k.user_id
            WHERE k.token_hash = $1
              AND k.revoked_at IS NULL
              AND (k.expires_at IS NULL OR k.expires_at > now())
              AND u.disabled_at IS NULL"#,
        token_hash(token),
    )
    .fetch_optional(pool)
    .await?
    .ok_or(CoreError::Unauthenticated)?;
    // Coarse on purpose: one write per key per minute at most, not one per request.
    sqlx::query!(
        "UPDATE api_keys SET last_used_at = now()
          WHERE id = $1 AND (last_used_at IS NULL OR last_used_at < now() - interval '1 minute')",
        row.key_id.0
    )
    .execute(pool)
    .await?;
    Ok(Actor {
        user_id: row.user_id,
        api_key_id: Some(row.key_id),
        is_admin: row.is_admin,
        via: Via::Api,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn passwords() {
        let h = hash_password("correct horse".into()).await.unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(
            verify_password("correct horse".into(), h.clone())
                .await
                .unwrap()
        );
        assert!(!verify_password("wrong".into(), h).await.unwrap());
    }

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
