//! The TOTP second factor (RFC 6238) and single-use recovery codes.
//!
//! Google Authenticator (Android) and Authy ignore the `algorithm` parameter of an `otpauth://`
//! URI and always compute HMAC-SHA-1, so anything but SHA-1, 6 digits and 30-second steps gives
//! people codes that never match. Only that is issued, and only that is checked.
//!
//! totp-rs accepts a code as often as it is shown. [`verify`] returns the time step a code
//! matched; the caller stores it (`users.totp_last_step`) and passes it back, and steps at or
//! below it are refused, so each code signs in once.
//!
//! Recovery codes are 16 random characters (about 79 bits): a plain SHA-256 is enough at rest,
//! nobody can guess such a code from its hash the way they could a password.

use qrcode::render::svg;
use qrcode::{EcLevel, QrCode};
use ring::digest::{SHA256, digest};
use ring::rand::{SecureRandom, SystemRandom};
use totp_rs::{Algorithm, Builder, Secret, Totp, TotpError};

use crate::CoreError;

/// Length of a new secret: 160 bits, what RFC 4226 recommends for HMAC-SHA-1.
pub const SECRET_BYTES: usize = 20;
/// Digits of a code.
pub const DIGITS: usize = 6;
/// Seconds per time step.
pub const STEP_SECONDS: u64 = 30;
/// Steps either side of now that are accepted, for phones whose clocks drift and people who
/// type the code as it changes.
pub const SKEW_STEPS: u64 = 1;
/// Recovery codes made at a time.
pub const RECOVERY_CODES: usize = 10;
/// Characters of a recovery code, without the dashes it is shown with.
pub const RECOVERY_CODE_CHARS: usize = 16;

/// Lowercase letters and digits without 0/o, 1/l/i: what people misread when they copy a code
/// off paper.
const RECOVERY_ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyz23456789";

fn random_fill(buf: &mut [u8]) -> Result<(), CoreError> {
    SystemRandom::new()
        .fill(buf)
        .map_err(|_| CoreError::Internal("system random number generator failed".into()))
}

/// A fresh random TOTP secret of [`SECRET_BYTES`] bytes.
pub fn new_secret() -> Result<Vec<u8>, CoreError> {
    let mut secret = vec![0u8; SECRET_BYTES];
    random_fill(&mut secret)?;
    Ok(secret)
}

/// The secret in RFC 4648 base32 without padding, as apps take it for manual entry.
pub fn secret_base32(secret: &[u8]) -> String {
    Secret::from(secret).to_base32()
}

/// The generator for a secret. `build_noncompliant` because generating and checking codes must
/// work (and never fail) whatever secret is stored; only [`otpauth_uri`] insists on a proper
/// one, and the fixed 6 digits and 30 s step cannot make it panic.
fn generator(secret: &[u8]) -> Totp {
    Builder::new()
        .with_algorithm(Algorithm::SHA1)
        .with_digits(DIGITS as u8)
        .with_step_duration(STEP_SECONDS)
        .with_skew(0)
        .with_secret(secret)
        .build_noncompliant()
}

/// The `otpauth://` URI that enrols `secret` in an authenticator app, labelled
/// `issuer:account`.
///
/// The algorithm, digits and period are spelled out although they are the defaults: some apps
/// show the parameters, and it documents what the secret is for.
pub fn otpauth_uri(secret: &[u8], issuer: &str, account: &str) -> Result<String, CoreError> {
    if issuer.trim().is_empty() {
        return Err(CoreError::invalid(
            "issuer",
            "the TOTP issuer must not be empty",
        ));
    }
    let uri = Builder::new()
        .with_algorithm(Algorithm::SHA1)
        .with_digits(DIGITS as u8)
        .with_step_duration(STEP_SECONDS)
        .with_secret(secret)
        .with_issuer(Some(issuer))
        .with_account_name(account)
        .build()
        .and_then(|t| t.to_url())
        .map_err(uri_error)?;
    // totp-rs leaves out parameters at their default values; add them back.
    Ok(format!(
        "{uri}&algorithm=SHA1&digits={DIGITS}&period={STEP_SECONDS}"
    ))
}

fn uri_error(e: TotpError) -> CoreError {
    match e {
        TotpError::InvalidIssuer { .. } => {
            CoreError::invalid("issuer", "the TOTP issuer must not contain a colon")
        }
        TotpError::InvalidAccountName { .. } => {
            CoreError::invalid("account", "the TOTP account name must not contain a colon")
        }
        TotpError::AccountNameNotSet => {
            CoreError::invalid("account", "the TOTP account name must not be empty")
        }
        other => CoreError::Internal(format!("otpauth URI: {other}")),
    }
}

/// A standalone SVG document (XML declaration included) showing `uri` as a QR code, with the
/// quiet zone scanners need around it.
pub fn qr_svg(uri: &str) -> Result<String, CoreError> {
    // Level M survives a smudge on a screen and keeps the code small enough to scan from afar.
    let code = QrCode::with_error_correction_level(uri.as_bytes(), EcLevel::M)
        .map_err(|e| CoreError::Internal(format!("QR code: {e}")))?;
    Ok(code
        .render::<svg::Color<'_>>()
        .quiet_zone(true)
        .min_dimensions(200, 200)
        .build())
}

/// Reads a base32 secret as shown at enrolment (what a user types into an app, and what
/// tests compute codes from).
pub fn secret_from_base32(text: &str) -> Option<Vec<u8>> {
    Secret::try_from_base32(text.trim().to_ascii_uppercase())
        .ok()
        .map(|s| s.to_vec())
}

/// The code for `secret` at `unix` seconds, as an app would show it.
pub fn code_at(secret: &[u8], unix: u64) -> String {
    generator(secret).generate(unix).to_string()
}

/// Checks a typed code against the steps around `now_unix` ([`SKEW_STEPS`] either side),
/// skipping every step at or below `last_step`, the last one accepted for this user.
///
/// Returns the step matched, for the caller to store as the new `last_step`. Whitespace is
/// ignored (apps show `123 456`); anything but exactly [`DIGITS`] ASCII digits is refused.
pub fn verify(secret: &[u8], code: &str, now_unix: u64, last_step: Option<i64>) -> Option<i64> {
    let typed = parse_code(code)?;
    let totp = generator(secret);
    let now = now_unix / STEP_SECONDS;
    let mut matched = None;
    for step in now.saturating_sub(SKEW_STEPS)..=now.saturating_add(SKEW_STEPS) {
        let Ok(signed) = i64::try_from(step) else {
            continue;
        };
        if last_step.is_some_and(|last| signed <= last) {
            continue;
        }
        let Some(at) = step.checked_mul(STEP_SECONDS) else {
            continue;
        };
        let expected = totp.generate(at).to_string();
        // Every candidate is compared, and all of each; the latest match wins, so that storing
        // it also rules out the earlier steps a chance collision might have matched.
        if constant_time_eq(expected.as_bytes(), &typed) {
            matched = Some(signed);
        }
    }
    matched
}

/// The digits of a typed code, or None unless it is exactly [`DIGITS`] ASCII digits once
/// whitespace is removed.
fn parse_code(code: &str) -> Option<[u8; DIGITS]> {
    let mut digits = [0u8; DIGITS];
    let mut n = 0;
    for c in code.chars().filter(|c| !c.is_whitespace()) {
        if !c.is_ascii_digit() || n == DIGITS {
            return None;
        }
        digits[n] = c as u8;
        n += 1;
    }
    (n == DIGITS).then_some(digits)
}

/// Equality whose time depends on the lengths only, not on where the bytes differ.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let diff = a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y));
    std::hint::black_box(diff) == 0
}

/// [`RECOVERY_CODES`] fresh, distinct recovery codes, shown as `xxxx-xxxx-xxxx-xxxx`.
pub fn new_recovery_codes() -> Result<Vec<String>, CoreError> {
    let mut codes: Vec<String> = Vec::with_capacity(RECOVERY_CODES);
    while codes.len() < RECOVERY_CODES {
        let code = grouped(&random_recovery_code()?);
        if !codes.contains(&code) {
            codes.push(code);
        }
    }
    Ok(codes)
}

/// 16 characters drawn uniformly from [`RECOVERY_ALPHABET`].
fn random_recovery_code() -> Result<String, CoreError> {
    // 31 symbols: bytes of 248 and above are thrown away so that `% 31` favours none.
    let limit = 256 - 256 % RECOVERY_ALPHABET.len();
    let mut code = String::with_capacity(RECOVERY_CODE_CHARS);
    let mut buf = [0u8; 32];
    while code.len() < RECOVERY_CODE_CHARS {
        random_fill(&mut buf)?;
        for b in buf {
            if usize::from(b) < limit && code.len() < RECOVERY_CODE_CHARS {
                code.push(char::from(
                    RECOVERY_ALPHABET[usize::from(b) % RECOVERY_ALPHABET.len()],
                ));
            }
        }
    }
    Ok(code)
}

/// `abcdefghjkmnpqrs` as `abcd-efgh-jkmn-pqrs`.
fn grouped(canonical: &str) -> String {
    let mut out = String::with_capacity(canonical.len() + canonical.len() / 4);
    for (i, c) in canonical.chars().enumerate() {
        if i > 0 && i % 4 == 0 {
            out.push('-');
        }
        out.push(c);
    }
    out
}

/// The canonical 16-character form of a typed recovery code: lowercased, spaces and dashes
/// removed. None if what is left is not 16 characters of the recovery alphabet.
pub fn normalize_recovery_code(input: &str) -> Option<String> {
    // Nothing sensible is that long; stop before walking a huge input.
    if input.len() > 4 * RECOVERY_CODE_CHARS {
        return None;
    }
    let canonical: String = input
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .map(|c| c.to_ascii_lowercase())
        .collect();
    let valid = canonical.len() == RECOVERY_CODE_CHARS
        && canonical.bytes().all(|b| RECOVERY_ALPHABET.contains(&b));
    valid.then_some(canonical)
}

/// SHA-256 of a canonical recovery code (see [`normalize_recovery_code`]), as stored.
pub fn recovery_code_hash(canonical: &str) -> Vec<u8> {
    digest(&SHA256, canonical.as_bytes()).as_ref().to_vec()
}

#[cfg(test)]
mod tests;
