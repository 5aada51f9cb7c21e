//! Changing the master key: every sealed secret in the database, re-sealed under the first
//! key of `APEX_MASTER_KEY` (`apex admin rotate-master-key`). This module knows where each
//! kind of sealed secret lives and what it is bound to; [`crate::sealing`] knows how to seal.

use crate::error::CoreError;
use crate::sealing::MasterKey;

/// What [`rotate`] re-sealed, per kind of secret.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Resealed {
    /// DNSSEC private keys.
    pub dnssec_keys: usize,
    /// Webhook secrets.
    pub webhooks: usize,
    /// Second-factor secrets (active and pending).
    pub totp: usize,
    /// Domains' TSIG key secrets.
    pub tsig_keys: usize,
    /// Customer catalogs' key secrets.
    pub catalog_keys: usize,
    /// The platform's own secrets (the cookie signing key).
    pub platform: usize,
    /// Already under the first key: left alone.
    pub current: usize,
}

/// Re-seals every sealed secret in the database under `master`'s first key, opening each
/// with whichever key of the ring sealed it, in one transaction: either every secret moves
/// to the new key or none does. A secret that opens with no key stops it, naming the row.
pub async fn rotate(pool: &sqlx::PgPool, master: &MasterKey) -> Result<Resealed, CoreError> {
    let mut tx = pool.begin().await?;
    let mut done = Resealed::default();
    let reseal =
        |context: &[u8], sealed: &[u8], what: &str| -> Result<Option<Vec<u8>>, CoreError> {
            if master.is_current(sealed) {
                return Ok(None);
            }
            let plain = master
                .open(context, sealed)
                .map_err(|e| CoreError::Internal(format!("{what}: {e}")))?;
            master.seal(context, &plain).map(Some)
        };

    let rows = sqlx::query!(
        r#"SELECT id, domain_id AS "domain: crate::ids::DomainId", key_tag, private_key
             FROM dnssec_keys ORDER BY id FOR UPDATE"#
    )
    .fetch_all(&mut *tx)
    .await?;
    for r in rows {
        let tag = u16::try_from(r.key_tag)
            .map_err(|_| CoreError::Internal(format!("DNSSEC key {}: bad tag", r.id)))?;
        let context = crate::dnssec::seal_context(r.domain, tag);
        match reseal(&context, &r.private_key, &format!("DNSSEC key {}", r.id))? {
            None => done.current += 1,
            Some(sealed) => {
                sqlx::query!(
                    "UPDATE dnssec_keys SET private_key = $2 WHERE id = $1",
                    r.id,
                    sealed
                )
                .execute(&mut *tx)
                .await?;
                done.dnssec_keys += 1;
            }
        }
    }

    let rows = sqlx::query!(
        r#"SELECT id AS "id: crate::ids::WebhookId", domain_id AS "domain: crate::ids::DomainId", secret
             FROM webhooks ORDER BY id FOR UPDATE"#
    )
    .fetch_all(&mut *tx)
    .await?;
    for r in rows {
        let context = crate::webhooks::seal_context(r.id, r.domain);
        match reseal(&context, &r.secret, &format!("webhook {}", r.id))? {
            None => done.current += 1,
            Some(sealed) => {
                sqlx::query!(
                    "UPDATE webhooks SET secret = $2 WHERE id = $1",
                    r.id.0,
                    sealed
                )
                .execute(&mut *tx)
                .await?;
                done.webhooks += 1;
            }
        }
    }

    let rows = sqlx::query!(
        r#"SELECT id AS "id: crate::ids::TsigKeyId", domain_id AS "domain: crate::ids::DomainId", secret
             FROM tsig_keys ORDER BY id FOR UPDATE"#
    )
    .fetch_all(&mut *tx)
    .await?;
    for r in rows {
        let context = crate::tsig_keys::seal_context(r.id, r.domain);
        match reseal(&context, &r.secret, &format!("TSIG key {}", r.id))? {
            None => done.current += 1,
            Some(sealed) => {
                sqlx::query!(
                    "UPDATE tsig_keys SET secret = $2 WHERE id = $1",
                    r.id.0,
                    sealed
                )
                .execute(&mut *tx)
                .await?;
                done.tsig_keys += 1;
            }
        }
    }

    let rows = sqlx::query!(
        r#"SELECT user_id AS "user: crate::ids::UserId", key_secret
             FROM account_catalogs ORDER BY user_id FOR UPDATE"#
    )
    .fetch_all(&mut *tx)
    .await?;
    for r in rows {
        let context = crate::account_catalogs::seal_context(r.user);
        match reseal(
            &context,
            &r.key_secret,
            &format!("catalog key of user {}", r.user),
        )? {
            None => done.current += 1,
            Some(sealed) => {
                sqlx::query!(
                    "UPDATE account_catalogs SET key_secret = $2 WHERE user_id = $1",
                    r.user.0,
                    sealed
                )
                .execute(&mut *tx)
                .await?;
                done.catalog_keys += 1;
            }
        }
    }

    let rows = sqlx::query!(
        r#"SELECT id AS "id: crate::ids::UserId", totp_secret, totp_pending FROM users
            WHERE totp_secret IS NOT NULL OR totp_pending IS NOT NULL ORDER BY id FOR UPDATE"#
    )
    .fetch_all(&mut *tx)
    .await?;
    for r in rows {
        let context = crate::users::twofa::secret_context(r.id);
        let what = format!("user {}'s second factor", r.id);
        let secret = match &r.totp_secret {
            Some(s) => reseal(&context, s, &what)?,
            None => None,
        };
        let pending = match &r.totp_pending {
            Some(s) => reseal(&context, s, &what)?,
            None => None,
        };
        let changed = usize::from(secret.is_some()) + usize::from(pending.is_some());
        done.current +=
            usize::from(r.totp_secret.is_some()) + usize::from(r.totp_pending.is_some()) - changed;
        if changed > 0 {
            sqlx::query!(
                "UPDATE users SET totp_secret = coalesce($2, totp_secret),
                                  totp_pending = coalesce($3, totp_pending)
                  WHERE id = $1",
                r.id.0,
                secret,
                pending
            )
            .execute(&mut *tx)
            .await?;
            done.totp += changed;
        }
    }

    let rows = sqlx::query!("SELECT name, secret FROM platform_secrets ORDER BY name FOR UPDATE")
        .fetch_all(&mut *tx)
        .await?;
    for r in rows {
        let context = format!("apex platform secret {}", r.name);
        match reseal(
            context.as_bytes(),
            &r.secret,
            &format!("platform secret {}", r.name),
        )? {
            None => done.current += 1,
            Some(sealed) => {
                sqlx::query!(
                    "UPDATE platform_secrets SET secret = $2 WHERE name = $1",
                    r.name,
                    sealed
                )
                .execute(&mut *tx)
                .await?;
                done.platform += 1;
            }
        }
    }
    tx.commit().await?;
    Ok(done)
}
