//! "Remember this device for 30 days": a signed cookie that lets one browser skip the second
//! factor.
//!
//! The value is `v1.<user>.<epoch>.<expires>.<mac>`, the MAC being HMAC-SHA256 (base64url,
//! unpadded) over everything before it, under a platform key kept in the database
//! ([`signing_key`]). The epoch is the user's `security_epoch`, which moves whenever their
//! password or second factor changes: a cookie made under an older epoch stops working, so such
//! a change forgets every remembered device at once without a table of devices.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ring::hmac;
use ring::rand::{SecureRandom, SystemRandom};
use sqlx::PgPool;

use crate::CoreError;
use crate::ids::UserId;
use crate::sealing::MasterKey;

/// How long a remembered device skips the second factor.
pub const REMEMBER_DAYS: i64 = 30;

/// The remembered-device cookie's name.
pub const COOKIE: &str = "apex_device";

/// The name of the signing key in `platform_secrets`.
pub const KEY_NAME: &str = "device_cookie";

/// Bytes of the signing key: as long as the SHA-256 output, as RFC 2104 advises.
pub const KEY_BYTES: usize = 32;

/// Longer than any value [`sign`] makes (about 110 bytes): anything longer is refused unread.
const MAX_VALUE_LEN: usize = 256;

fn payload(user: UserId, epoch: i32, expires_unix: i64) -> String {
    format!("v1.{}.{}.{}", user.0, epoch, expires_unix)
}

/// The cookie value remembering this device for `user` under `epoch` until `expires_unix`.
pub fn sign(key: &[u8], user: UserId, epoch: i32, expires_unix: i64) -> String {
    let payload = payload(user, epoch, expires_unix);
    let tag = hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, key), payload.as_bytes());
    format!("{payload}.{}", URL_SAFE_NO_PAD.encode(tag.as_ref()))
}

/// Whether `value` is a cookie [`sign`] made with `key` for `user` under `epoch` that has not
/// expired at `now_unix`. Anything else, however malformed, is simply false.
pub fn verify(key: &[u8], value: &str, user: UserId, epoch: i32, now_unix: i64) -> bool {
    if value.len() > MAX_VALUE_LEN {
        return false;
    }
    let Some((signed, mac)) = value.rsplit_once('.') else {
        return false;
    };
    // Only the expiry is read from the value; the user and epoch expected are put in, so the
    // MAC check covers exactly what was signed and nothing is parsed loosely.
    let Some(expires) = signed
        .rsplit_once('.')
        .and_then(|(_, e)| e.parse::<i64>().ok())
    else {
        return false;
    };
    if signed != payload(user, epoch, expires) {
        return false;
    }
    let Ok(mac) = URL_SAFE_NO_PAD.decode(mac) else {
        return false;
    };
    let key = hmac::Key::new(hmac::HMAC_SHA256, key);
    hmac::verify(&key, signed.as_bytes(), &mac).is_ok() && now_unix < expires
}

/// The platform's cookie signing key, made on first use and kept sealed under
/// `APEX_MASTER_KEY` (whoever reads the database cannot forge cookies with it).
///
/// Every instance inserts a fresh random key unless one exists and then reads whichever won,
/// so concurrent first uses agree on one key.
pub async fn signing_key(pool: &PgPool, master: &MasterKey) -> Result<Vec<u8>, CoreError> {
    let mut fresh = [0u8; KEY_BYTES];
    SystemRandom::new()
        .fill(&mut fresh)
        .map_err(|_| CoreError::Internal("system random number generator failed".into()))?;
    let context = format!("apex platform secret {KEY_NAME}");
    sqlx::query!(
        "INSERT INTO platform_secrets (name, secret) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING",
        KEY_NAME,
        master.seal(context.as_bytes(), &fresh)?,
    )
    .execute(pool)
    .await?;
    let sealed = sqlx::query_scalar!(
        "SELECT secret FROM platform_secrets WHERE name = $1",
        KEY_NAME
    )
    .fetch_one(pool)
    .await?;
    let key = master.open(context.as_bytes(), &sealed)?;
    // A short key would weaken every cookie; better to fail loudly.
    if key.len() < KEY_BYTES {
        return Err(CoreError::Internal(format!(
            "platform secret {KEY_NAME} is {} bytes, expected {KEY_BYTES}",
            key.len()
        )));
    }
    Ok(key)
}

#[cfg(test)]
mod tests;
