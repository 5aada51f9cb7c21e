//! Quotas per account: how many records each domain may hold and how many webhooks it may
//! have. The account is the domain's owner's; its limits are the platform's defaults
//! (`APEX_MAX_RECORDS_PER_DOMAIN`, `APEX_MAX_WEBHOOKS_PER_DOMAIN`) unless an administrator
//! set others for it (`PATCH /api/v1/admin/users/{id}`). 0 means no limit.
//!
//! Writes check under the domain's row lock (or, for webhooks, a lock of their own), so two
//! writers cannot both slip under the limit. A write that leaves a domain no larger is never
//! refused, even above a limit lowered since: it can only help.

use sqlx::{PgExecutor, Postgres, Transaction};

use crate::domain::Domain;
use crate::ids::DomainId;
use crate::{Core, CoreError};

/// The platform's defaults (0: no limit), as configured.
pub use crate::config::QuotaDefaults as Defaults;

/// The limits of a domain's owner (`None`: no limit).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Records per domain.
    pub records: Option<i64>,
    /// Webhooks per domain.
    pub webhooks: Option<i64>,
}

fn effective(own: Option<i32>, default: u32) -> Option<i64> {
    let limit = own.map_or(i64::from(default), i64::from);
    (limit > 0).then_some(limit)
}

/// The limits of the owner of `domain` (the platform's for a domain without an owner).
pub async fn limits_of(
    db: impl PgExecutor<'_>,
    core: &Core,
    domain: DomainId,
) -> Result<Limits, CoreError> {
    let own = sqlx::query!(
        r#"SELECT u.max_records_per_domain, u.max_webhooks_per_domain
             FROM domain_members m JOIN users u ON u.id = m.user_id
            WHERE m.domain_id = $1 AND m.role = 'owner'"#,
        domain.0,
    )
    .fetch_optional(db)
    .await?;
    let defaults = core.platform.quotas;
    Ok(Limits {
        records: effective(
            own.as_ref().and_then(|o| o.max_records_per_domain),
            defaults.records_per_domain,
        ),
        webhooks: effective(
            own.as_ref().and_then(|o| o.max_webhooks_per_domain),
            defaults.webhooks_per_domain,
        ),
    })
}

/// Records stored in `domain` (one count over the `records_unique` index).
pub async fn records_in(db: impl PgExecutor<'_>, domain: DomainId) -> Result<i64, CoreError> {
    // Kept by triggers on `records` (migration 20261205000011): counting the rows of a
    // 300,000-record zone took 50-80 ms of every write.
    Ok(
        sqlx::query_scalar!("SELECT record_count FROM domains WHERE id = $1", domain.0)
            .fetch_optional(db)
            .await?
            .unwrap_or(0),
    )
}

/// The refusal, naming the limit.
fn exceeded(what: &'static str, detail: String) -> CoreError {
    CoreError::QuotaExceeded {
        limit: what,
        detail,
    }
}

/// Refuses a write that would leave `domain` with `records_after` records, above its owner's
/// limit, unless the domain holds that many already (a write that does not grow it). Call
/// under the domain's row lock ([`crate::domain::lock`]), before committing. Costs one query
/// under the limit, two above it.
pub async fn check_records(
    tx: &mut Transaction<'_, Postgres>,
    core: &Core,
    domain: &Domain,
    records_after: i64,
) -> Result<(), CoreError> {
    let Some(limit) = limits_of(&mut **tx, core, domain.id).await?.records else {
        return Ok(());
    };
    if records_after <= limit {
        return Ok(());
    }
    let now = records_in(&mut **tx, domain.id).await?;
    records_verdict(domain, limit, now, records_after)
}

/// Refuses a write adding `growth` records (net) to `domain` beyond its owner's limit. Under
/// the row lock; a write that does not grow the domain costs no query.
pub async fn check_growth(
    tx: &mut Transaction<'_, Postgres>,
    core: &Core,
    domain: &Domain,
    growth: i64,
) -> Result<(), CoreError> {
    if growth <= 0 {
        return Ok(());
    }
    let Some(limit) = limits_of(&mut **tx, core, domain.id).await?.records else {
        return Ok(());
    };
    let now = records_in(&mut **tx, domain.id).await?;
    records_verdict(domain, limit, now, now + growth)
}

/// Refuses one more record in `domain` when it is at its owner's limit. Under the row lock.
pub async fn check_one_more_record(
    tx: &mut Transaction<'_, Postgres>,
    core: &Core,
    domain: &Domain,
) -> Result<(), CoreError> {
    let Some(limit) = limits_of(&mut **tx, core, domain.id).await?.records else {
        return Ok(());
    };
    let now = records_in(&mut **tx, domain.id).await?;
    records_verdict(domain, limit, now, now + 1)
}

/// Allows `now` records becoming `after` under `limit`, or a write that does not grow the
/// domain; refuses the rest, saying the counts.
fn records_verdict(domain: &Domain, limit: i64, now: i64, after: i64) -> Result<(), CoreError> {
    if after <= limit || after <= now {
        return Ok(());
    }
    Err(exceeded(
        "records_per_domain",
        if after == now + 1 {
            format!(
                "{} has {now} records, the limit of its owner's account is {limit}; delete some or ask an administrator to raise it",
                domain.name
            )
        } else {
            format!(
                "{} has {now} records and would have {after}, above the limit of its owner's account, {limit}; nothing was changed",
                domain.name
            )
        },
    ))
}

/// Refuses a new webhook on `domain` when it has its owner's limit already. Takes a lock for
/// the domain's webhooks until `tx` ends: create the webhook in the same transaction.
pub async fn check_one_more_webhook(
    tx: &mut Transaction<'_, Postgres>,
    core: &Core,
    domain: &Domain,
) -> Result<(), CoreError> {
    let Some(limit) = limits_of(&mut **tx, core, domain.id).await?.webhooks else {
        return Ok(());
    };
    sqlx::query!(
        "SELECT pg_advisory_xact_lock(hashtext('apex.webhooks.create'), hashtext($1))",
        domain.name
    )
    .execute(&mut **tx)
    .await?;
    let now = sqlx::query_scalar!(
        r#"SELECT count(*) AS "n!" FROM webhooks WHERE domain_id = $1"#,
        domain.id.0
    )
    .fetch_one(&mut **tx)
    .await?;
    if now < limit {
        return Ok(());
    }
    Err(exceeded(
        "webhooks_per_domain",
        format!(
            "{} has {now} webhooks, the limit of its owner's account is {limit}; delete one or ask an administrator to raise it",
            domain.name
        ),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn own_limits_over_the_platform_s_and_zero_is_none() {
        assert_eq!(effective(None, 100), Some(100));
        assert_eq!(effective(Some(5), 100), Some(5));
        assert_eq!(effective(Some(0), 100), None);
        assert_eq!(effective(None, 0), None);
    }
}
