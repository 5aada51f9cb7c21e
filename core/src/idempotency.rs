//! Answers kept for retried requests (`Idempotency-Key`, draft-ietf-httpapi-idempotency-key-
//! header): a client that did not get an answer sends the same POST again with the same key,
//! and gets the first answer instead of a second change.
//!
//! Keys are per credential: the row is keyed by a hash of the API key or session that sent
//! the request, and the kept answer is sealed (AES-256-GCM) under a key derived from that
//! credential's secret, which the database never holds, so answers that carry a secret shown
//! once (a new API key, a webhook's secret) are readable only by a retry from their holder.
//!
//! [`begin`] claims the key in one statement, [`complete`] keeps a successful answer,
//! [`release`] forgets a claim whose request failed (nothing was changed; a retry runs
//! again). Kept answers last [`KEEP_HOURS`]; the worker's housekeeping deletes older ones
//! ([`prune`]), and an old key is reused as new meanwhile. A claim whose request never
//! finished (a process that died) is taken over after [`STALE_MINUTES`].

use ring::aead::{AES_256_GCM, Aad, LessSafeKey, Nonce, UnboundKey};
use ring::digest::{Context, SHA256, digest};
use ring::rand::{SecureRandom, SystemRandom};
use sqlx::PgPool;

use crate::CoreError;

/// Hours a kept answer is given again.
pub const KEEP_HOURS: i64 = 24;

/// Minutes after which a request still marked running is taken as abandoned.
pub const STALE_MINUTES: i64 = 10;

/// A request carrying an idempotency key.
#[derive(Debug, Clone, Copy)]
pub struct Request<'a> {
    /// The secret of the credential that sent it (API key or session token).
    pub secret: &'a str,
    /// The client's key.
    pub key: &'a str,
    /// `POST`.
    pub method: &'a str,
    /// Path and query.
    pub path: &'a str,
    /// Its `Content-Type`.
    pub content_type: &'a str,
    /// Its body.
    pub body: &'a [u8],
}

impl Request<'_> {
    /// The credential's id in the table: a hash, never the secret.
    fn credential(&self) -> String {
        let mut c = Context::new(&SHA256);
        c.update(b"apex idempotency credential\0");
        c.update(self.secret.as_bytes());
        hex::encode(c.finish())
    }

    /// The key sealing this credential's answers.
    fn sealing_key(&self) -> Result<LessSafeKey, CoreError> {
        let mut c = Context::new(&SHA256);
        c.update(b"apex idempotency seal\0");
        c.update(self.secret.as_bytes());
        UnboundKey::new(&AES_256_GCM, c.finish().as_ref())
            .map(LessSafeKey::new)
            .map_err(|_| CoreError::Internal("idempotency key unusable".into()))
    }

    /// What must match for a retry: method, path, content type and body.
    fn hash(&self) -> Vec<u8> {
        let mut c = Context::new(&SHA256);
        for part in [
            self.method.as_bytes(),
            self.path.as_bytes(),
            self.content_type.as_bytes(),
        ] {
            c.update(&(part.len() as u64).to_be_bytes());
            c.update(part);
        }
        c.update(digest(&SHA256, self.body).as_ref());
        c.finish().as_ref().to_vec()
    }

    fn aad(&self) -> Vec<u8> {
        let mut aad = self.credential().into_bytes();
        aad.push(0);
        aad.extend_from_slice(self.key.as_bytes());
        aad
    }
}

/// A kept answer.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Answer {
    /// HTTP status.
    pub status: u16,
    /// The headers kept (content type, location).
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Vec<u8>,
}

/// What to do with a request carrying a key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Begin {
    /// The first with this key: run it, then [`complete`] or [`release`].
    First,
    /// Answered before: give this again.
    Replay(Answer),
    /// The key was used for another request (method, path or body differ).
    Mismatch,
    /// The first request with this key is still running.
    InFlight,
}

/// Claims the key for `req`, or says why not.
pub async fn begin(pool: &PgPool, req: &Request<'_>) -> Result<Begin, CoreError> {
    let credential = req.credential();
    let hash = req.hash();
    let claimed = sqlx::query_scalar!(
        r#"INSERT INTO idempotency_keys (credential, key, method, path, request_hash)
           VALUES ($1, $2, $3, $4, $5)
           ON CONFLICT (credential, key) DO UPDATE
              SET method = EXCLUDED.method, path = EXCLUDED.path,
                  request_hash = EXCLUDED.request_hash, status = NULL, response = NULL,
                  created_at = now()
            WHERE idempotency_keys.created_at < now() - make_interval(hours => $6)
               OR (idempotency_keys.status IS NULL
                   AND idempotency_keys.created_at < now() - make_interval(mins => $7))
           RETURNING 1 AS "one!""#,
        credential,
        req.key,
        req.method,
        req.path,
        hash,
        KEEP_HOURS as i32,
        STALE_MINUTES as i32,
    )
    .fetch_optional(pool)
    .await?;
    if claimed.is_some() {
        return Ok(Begin::First);
    }
    let Some(row) = sqlx::query!(
        "SELECT method, path, request_hash, status, response FROM idempotency_keys
          WHERE credential = $1 AND key = $2",
        credential,
        req.key,
    )
    .fetch_optional(pool)
    .await?
    else {
        // Released between the two statements: its request failed and is being retried.
        return Ok(Begin::InFlight);
    };
    if row.method != req.method || row.path != req.path || row.request_hash != hash {
        return Ok(Begin::Mismatch);
    }
    match (row.status, row.response) {
        (Some(_), Some(sealed)) => Ok(Begin::Replay(open(req, &sealed)?)),
        _ => Ok(Begin::InFlight),
    }
}

fn seal(req: &Request<'_>, answer: &Answer) -> Result<Vec<u8>, CoreError> {
    let mut buf =
        serde_json::to_vec(answer).map_err(|e| CoreError::Internal(format!("encode: {e}")))?;
    let mut nonce = [0u8; 12];
    SystemRandom::new()
        .fill(&mut nonce)
        .map_err(|_| CoreError::Internal("system random number generator failed".into()))?;
    req.sealing_key()?
        .seal_in_place_append_tag(
            Nonce::assume_unique_for_key(nonce),
            Aad::from(req.aad()),
            &mut buf,
        )
        .map_err(|_| CoreError::Internal("sealing failed".into()))?;
    let mut out = nonce.to_vec();
    out.extend_from_slice(&buf);
    Ok(out)
}

fn open(req: &Request<'_>, sealed: &[u8]) -> Result<Answer, CoreError> {
    let (nonce, body) = sealed
        .split_first_chunk::<12>()
        .ok_or_else(|| CoreError::Internal("kept answer too short".into()))?;
    let mut buf = body.to_vec();
    let plain = req
        .sealing_key()?
        .open_in_place(
            Nonce::assume_unique_for_key(*nonce),
            Aad::from(req.aad()),
            &mut buf,
        )
        .map_err(|_| CoreError::Internal("kept answer does not open".into()))?;
    serde_json::from_slice(plain).map_err(|e| CoreError::Internal(format!("kept answer: {e}")))
}

/// Keeps `answer` as the answer to the request that claimed the key.
pub async fn complete(pool: &PgPool, req: &Request<'_>, answer: &Answer) -> Result<(), CoreError> {
    let sealed = seal(req, answer)?;
    sqlx::query!(
        "UPDATE idempotency_keys SET status = $3, response = $4
          WHERE credential = $1 AND key = $2 AND status IS NULL",
        req.credential(),
        req.key,
        i32::from(answer.status),
        sealed,
    )
    .execute(pool)
    .await?;
    Ok(())
}

/// Forgets the claim of a request that failed or was abandoned: a retry runs again.
pub async fn release(pool: &PgPool, req: &Request<'_>) -> Result<(), CoreError> {
    sqlx::query!(
        "DELETE FROM idempotency_keys WHERE credential = $1 AND key = $2 AND status IS NULL",
        req.credential(),
        req.key,
    )
    .execute(pool)
    .await?;
    Ok(())
}

/// Deletes answers kept longer than [`KEEP_HOURS`]; returns how many.
pub async fn prune(pool: &PgPool) -> Result<u64, CoreError> {
    Ok(sqlx::query!(
        "DELETE FROM idempotency_keys WHERE created_at < now() - make_interval(hours => $1)",
        KEEP_HOURS as i32
    )
    .execute(pool)
    .await?
    .rows_affected())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req<'a>(secret: &'a str, body: &'a [u8]) -> Request<'a> {
        Request {
            secret,
            key: "k1",
            method: "POST",
            path: "/api/v1/domains",
            content_type: "application/json",
            body,
        }
    }

    #[test]
    fn answers_open_only_for_their_credential() {
        let answer = Answer {
            status: 201,
            headers: vec![("content-type".into(), "application/json".into())],
            body: b"{\"token\":\"apex_secret\"}".to_vec(),
        };
        let a = req("apex_a", b"{}");
        let sealed = seal(&a, &answer).unwrap();
        assert!(!sealed.windows(11).any(|w| w == b"apex_secret"));
        assert_eq!(open(&a, &sealed).unwrap(), answer);
        assert!(open(&req("apex_b", b"{}"), &sealed).is_err());
        assert!(!a.credential().contains("apex_a"));
    }

    #[test]
    fn the_hash_covers_method_path_type_and_body() {
        let a = req("s", b"{\"a\":1}");
        assert_eq!(a.hash(), req("s", b"{\"a\":1}").hash());
        assert_ne!(a.hash(), req("s", b"{\"a\":2}").hash());
        let mut other = a;
        other.path = "/api/v1/keys";
        assert_ne!(a.hash(), other.hash());
    }
}
