//! Password hashing (argon2id) and the rules a new password must pass.
//!
//! Hashing is deliberately slow and takes [`M_COST_KIB`] of memory, so it runs on tokio's
//! blocking threads and at most one hash per core runs at a time: a burst of sign-ins waits
//! in line instead of claiming 64 MiB each without bound.

use std::collections::HashSet;
use std::sync::{Arc, LazyLock};

use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use argon2::{Algorithm, Argon2, Params, Version};
use tokio::sync::{OnceCell, Semaphore};

use crate::CoreError;

/// Memory per hash: 64 MiB.
///
/// With [`T_COST`] and [`P_COST`] this is RFC 9106's second recommended option (argon2id,
/// 64 MiB, 3 passes) with one lane, well above the argon2 crate's default (19 MiB, 2 passes,
/// OWASP's minimum). Hashes made with other parameters still verify, and
/// [`Verified::needs_rehash`] says when to replace them.
pub const M_COST_KIB: u32 = 64 * 1024;
/// Passes over the memory.
pub const T_COST: u32 = 3;
/// Lanes: one, since concurrency comes from serving several sign-ins, not from one hash.
pub const P_COST: u32 = 1;

/// Fewest characters (not bytes) a password may have.
pub const MIN_CHARS: usize = 10;
/// Most bytes a password may have: beyond that it is not a password people type.
pub const MAX_BYTES: usize = 1024;

const PARAMS: Params = match Params::new(M_COST_KIB, T_COST, P_COST, None) {
    Ok(params) => params,
    // Evaluated at compile time: wrong constants fail the build, never a request.
    Err(_) => panic!("invalid argon2 parameters"),
};

fn hasher() -> Argon2<'static> {
    Argon2::new(Algorithm::Argon2id, Version::V0x13, PARAMS)
}

/// One permit per core for hashing and verifying.
static PERMITS: LazyLock<Arc<Semaphore>> = LazyLock::new(|| {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    Arc::new(Semaphore::new(cores))
});

/// Runs `work` on a blocking thread once a permit is free.
async fn limited<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, CoreError> {
    let permit = PERMITS
        .clone()
        .acquire_owned()
        .await
        .map_err(|_| CoreError::Internal("password hashing semaphore closed".into()))?;
    // The permit moves into the blocking task: if the caller gives up waiting (a closed
    // connection), the hash still runs to the end and must still count.
    tokio::task::spawn_blocking(move || {
        let out = work();
        drop(permit);
        out
    })
    .await
    .map_err(|e| CoreError::Internal(format!("password hashing task failed: {e}")))
}

/// The result of checking a password against a stored hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Verified {
    /// The password matches.
    pub ok: bool,
    /// The stored hash was made with other parameters than the current ones: store a new
    /// [`hash`] of the password just checked. Never true unless `ok` is, so a caller cannot
    /// rehash a wrong password by mistake.
    pub needs_rehash: bool,
}

/// Hashes a password with argon2id and the current parameters, as a PHC string.
pub async fn hash(password: &str) -> Result<String, CoreError> {
    let password = password.to_owned();
    limited(move || {
        hasher()
            .hash_password(password.as_bytes())
            .map(|h| h.to_string())
            .map_err(|e| CoreError::Internal(format!("password hashing failed: {e}")))
    })
    .await?
}

/// Checks a password against a stored PHC string (argon2 with any parameters).
pub async fn verify(password: &str, stored: &str) -> Result<Verified, CoreError> {
    let password = password.to_owned();
    let stored = stored.to_owned();
    limited(move || {
        let parsed = PasswordHash::new(&stored)
            .map_err(|e| CoreError::Internal(format!("stored password hash unreadable: {e}")))?;
        // The parameters, algorithm and version come from the stored hash, not from `hasher`.
        let ok = hasher()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok();
        Ok(Verified {
            ok,
            needs_rehash: ok && !is_current(&parsed),
        })
    })
    .await?
}

/// Whether a stored hash was made exactly as [`hash`] makes them now.
fn is_current(stored: &PasswordHash) -> bool {
    let Ok(params) = Params::try_from(stored) else {
        return false;
    };
    stored.algorithm.as_str() == Algorithm::Argon2id.as_str()
        && stored.version == Some(Version::V0x13.into())
        && params.m_cost() == PARAMS.m_cost()
        && params.t_cost() == PARAMS.t_cost()
        && params.p_cost() == PARAMS.p_cost()
        && stored.hash.as_ref().map(|h| h.len()) == Some(Params::DEFAULT_OUTPUT_LEN)
}

/// A hash of a password nobody has, made once with the current parameters.
static DUMMY: OnceCell<String> = OnceCell::const_new();

/// Spends what a real [`verify`] spends, for a sign-in with an unknown e-mail address, so that
/// the answer's timing does not tell which addresses have accounts.
pub async fn verify_dummy(password: &str) {
    let mut made_now = false;
    let made = &mut made_now;
    let dummy = DUMMY
        .get_or_try_init(|| async move {
            *made = true;
            hash("not a password: a stand-in for accounts that do not exist").await
        })
        .await;
    match dummy {
        // Making the dummy hash just cost what a verification costs.
        Ok(_) if made_now => {}
        Ok(stored) => {
            let _ = verify(password, stored).await;
        }
        Err(e) => tracing::warn!(error = %e, "dummy password hash failed"),
    }
}

/// The common leaked passwords of [`MIN_CHARS`] or more characters, lowercase
/// (`core/data/README.md` says where they come from).
static COMMON: LazyLock<HashSet<&'static str>> = LazyLock::new(|| {
    include_str!("../../data/common-passwords.txt")
        .lines()
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .collect()
});

/// Whether a password is in the bundled list of common passwords, whatever its case.
pub fn is_common(password: &str) -> bool {
    COMMON.contains(password.to_lowercase().as_str())
}

/// Checks a new password for the account with address `email`: long enough, not absurdly
/// long, not the address or its local part, not a commonly leaked password.
pub fn check_policy(password: &str, email: &str) -> Result<(), CoreError> {
    // Bytes first, so that nothing below walks a huge input.
    if password.len() > MAX_BYTES {
        return Err(CoreError::invalid(
            "password",
            format!("the password must be at most {MAX_BYTES} bytes long"),
        ));
    }
    if password.chars().count() < MIN_CHARS {
        return Err(CoreError::invalid(
            "password",
            format!("the password must be at least {MIN_CHARS} characters long"),
        ));
    }
    let lower = password.to_lowercase();
    let email = email.trim().to_lowercase();
    let local = email.rsplit_once('@').map_or(email.as_str(), |(l, _)| l);
    if lower == email || lower == local {
        return Err(CoreError::invalid(
            "password",
            "the password must not be your e-mail address or the part of it before the @",
        ));
    }
    if is_common(&lower) {
        return Err(CoreError::invalid(
            "password",
            "the password is in a list of commonly used passwords; choose another",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests;
