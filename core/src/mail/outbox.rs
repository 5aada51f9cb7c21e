//! The outbox as the sender sees it: taking due mails (with `FOR UPDATE SKIP LOCKED`, so any
//! number of workers share it) and recording how each attempt went. The sending itself, over
//! SMTP or to the log, is the worker's (`apex_worker::mail`).

use chrono::{DateTime, Utc};
use sqlx::PgPool;

use crate::CoreError;
use crate::ids::MailId;

/// A mail taken from the outbox, for an attempt or for the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxMail {
    /// Id; with `created_at`, it makes the `Message-ID` every attempt carries.
    pub id: MailId,
    /// The address it goes to.
    pub recipient: String,
    /// What it is (`verify_email`, `notice.password` …).
    pub kind: String,
    /// The subject line.
    pub subject: String,
    /// Plain text.
    pub body: String,
    /// Attempts made before this one.
    pub attempts: i32,
    /// When it was queued.
    pub created_at: DateTime<Utc>,
}

/// A mail marked `logged` by [`take_for_log`]: what the log prints of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoggedMail {
    /// Id.
    pub id: MailId,
    /// The address it was for.
    pub recipient: String,
    /// What it is.
    pub kind: String,
    /// The subject line.
    pub subject: String,
    /// Plain text (kept in the outbox).
    pub body: String,
}

/// With no SMTP server: marks at most `limit` due mails `logged` and returns them, so each is
/// printed once.
pub async fn take_for_log(pool: &PgPool, limit: i64) -> Result<Vec<LoggedMail>, CoreError> {
    let mails = sqlx::query_as!(
        LoggedMail,
        r#"UPDATE mail_outbox SET state = 'logged'
            WHERE id IN (SELECT id FROM mail_outbox
                          WHERE state = 'queued' AND next_attempt_at <= now()
                          ORDER BY next_attempt_at LIMIT $1
                            FOR UPDATE SKIP LOCKED)
        RETURNING id AS "id: MailId", recipient, kind, subject, body"#,
        limit,
    )
    .fetch_all(pool)
    .await?;
    Ok(mails)
}

/// Takes at most `limit` due mails for an attempt: each is left alone by other workers for
/// `lease_seconds` (the attempt's limit and some slack), so a worker dying mid-attempt only
/// delays the retry.
pub async fn take_due(
    pool: &PgPool,
    limit: i64,
    lease_seconds: f64,
) -> Result<Vec<OutboxMail>, CoreError> {
    let due = sqlx::query_as!(
        OutboxMail,
        r#"UPDATE mail_outbox SET next_attempt_at = now() + make_interval(secs => $2)
            WHERE id IN (SELECT id FROM mail_outbox
                          WHERE state = 'queued' AND next_attempt_at <= now()
                          ORDER BY next_attempt_at LIMIT $1
                            FOR UPDATE SKIP LOCKED)
        RETURNING id AS "id: MailId", recipient, kind, subject, body, attempts, created_at"#,
        limit,
        lease_seconds,
    )
    .fetch_all(pool)
    .await?;
    Ok(due)
}

/// Records that mail `id` was sent at its `attempts`th attempt. The body goes: its links are
/// secrets of a sort, and it has done its job.
pub async fn mark_sent(pool: &PgPool, id: MailId, attempts: i32) -> Result<(), CoreError> {
    sqlx::query!(
        "UPDATE mail_outbox SET state = 'sent', attempts = $2, sent_at = now(),
                        body = '', last_error = NULL
                  WHERE id = $1",
        id.0,
        attempts,
    )
    .execute(pool)
    .await?;
    Ok(())
}

/// Records that the `attempts`th attempt of mail `id` failed with `error`: it is tried again
/// at `next`, or, with no `next`, it has `failed` for good.
pub async fn mark_failed(
    pool: &PgPool,
    id: MailId,
    attempts: i32,
    next: Option<DateTime<Utc>>,
    error: &str,
) -> Result<(), CoreError> {
    sqlx::query!(
        "UPDATE mail_outbox
                    SET state = CASE WHEN $3::timestamptz IS NULL THEN 'failed' ELSE 'queued' END,
                        attempts = $2, last_error = $4,
                        next_attempt_at = coalesce($3, next_attempt_at)
                  WHERE id = $1",
        id.0,
        attempts,
        next,
        error,
    )
    .execute(pool)
    .await?;
    Ok(())
}
