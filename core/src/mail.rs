//! Placeholder until the mail outbox lands (branch `mail`).
#![allow(missing_docs)]

use sqlx::PgExecutor;

use crate::CoreError;
use crate::ids::UserId;

pub struct Message {
    pub kind: &'static str,
    pub subject: String,
    pub body: String,
}

pub fn notice(kind: &'static str, text: String) -> Message {
    Message {
        kind,
        subject: text.clone(),
        body: text,
    }
}

pub async fn enqueue(
    db: impl PgExecutor<'_>,
    user: Option<UserId>,
    to: &str,
    m: &Message,
) -> Result<i64, CoreError> {
    Ok(sqlx::query_scalar!(
        "INSERT INTO mail_outbox (user_id, recipient, kind, subject, body) VALUES ($1, $2, $3, $4, $5) RETURNING id",
        user.map(|u| u.0),
        to,
        m.kind,
        m.subject,
        m.body
    )
    .fetch_one(db)
    .await?)
}

pub fn recovery_code_used(left: i64, ip: Option<std::net::IpAddr>) -> Message {
    notice("notice.2fa", format!("a recovery code was used ({left} left) {ip:?}"))
}

pub fn invitation(inviter: &str, domain: Option<&str>, role: Option<&str>, link: &str) -> Message {
    notice("invitation", format!("{inviter} invites you {domain:?} {role:?}: {link}"))
}

pub fn verify_email(link: &str) -> Message {
    notice("verify_email", format!("verify: {link}"))
}

pub fn reset_password(link: &str) -> Message {
    notice("reset_password", format!("reset: {link}"))
}
