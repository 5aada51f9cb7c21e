//! Mail to people: what the platform says, and the outbox it goes through.
//!
//! ```text
//!   account action ──enqueue (same transaction)──▶ queued ──SMTP 250──▶ sent (body emptied)
//!                                                   │  ▲
//!                              no answer, 4xx, or   │  │ retry after 5 s, 10 s, 20 s …
//!                              the server is down   ▼  │ (at most an hour apart)
//!                                                 attempt ──5xx, or 24 h of failures──▶ failed
//!
//!   queued ──no APEX_SMTP_URL──▶ logged (printed to the worker's log, body kept)
//! ```
//!
//! A mail is written by [`enqueue`] in the transaction of the action it tells of, so a
//! password-reset link exists exactly when its token does, and a notice is never sent for a
//! change that rolled back. The worker (`apex_worker::mail`) sends the outbox, taking due
//! mails and recording each attempt through [`outbox`].
//!
//! Texts are plain, short and in English; links come from the caller, built with
//! [`crate::config::Accounts::link`] so they name the platform's public URL.

mod link;
mod notice;
pub mod outbox;

pub use link::{find_link, find_token};
pub use notice::{NoticeKind, Occasion};

use sqlx::{PgExecutor, PgPool};

use crate::error::CoreError;
use crate::ids::{MailId, UserId};

/// Kind of the mail that confirms an address.
pub const VERIFY_EMAIL: &str = "verify_email";
/// Kind of the mail with a password-reset link.
pub const RESET_PASSWORD: &str = "reset_password";
/// Kind of an invitation to a domain or to the platform.
pub const INVITATION: &str = "invitation";

/// One mail, ready for the outbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// What it is (`verify_email`, `notice.password` …), for support and tests.
    pub kind: &'static str,
    /// The subject line.
    pub subject: String,
    /// Plain text.
    pub body: String,
}

/// What a domain role allows, in words, for people who never saw the role names.
fn role_meaning(role: &str) -> Option<&'static str> {
    match role {
        "read" => Some("you can see its records and their history"),
        "write" => Some("you can change its records"),
        "admin" => Some("you can change its records, settings, keys and members"),
        "owner" => Some("you have every right on it, deleting it included"),
        _ => None,
    }
}

/// `role` and, when it is a known domain role, what it allows: `write (you can change …)`.
pub(crate) fn role_text(role: &str) -> String {
    match role_meaning(role) {
        Some(meaning) => format!("{role} ({meaning})"),
        None => role.to_string(),
    }
}

impl Message {
    /// Asks someone to confirm that an address is theirs by opening `link`.
    pub fn verify_email(link: &str) -> Self {
        Self {
            kind: VERIFY_EMAIL,
            subject: "Confirm your email address".into(),
            body: format!(
                "Hello,\n\n\
                 This address was given for an account on the Apex DNS hosting platform. \
                 To confirm that it is yours, open this link:\n\n\
                 {link}\n\n\
                 If it was not you, ignore this mail: nothing happens without the link.\n"
            ),
        }
    }

    /// Sends a password-reset `link`, good for one hour.
    pub fn reset_password(link: &str) -> Self {
        Self {
            kind: RESET_PASSWORD,
            subject: "Reset your password".into(),
            body: format!(
                "Hello,\n\n\
                 Someone asked to reset the password of the Apex account with this address. \
                 To choose a new password, open this link:\n\n\
                 {link}\n\n\
                 The link expires in one hour and works once.\n\n\
                 If you did not ask for this, ignore this mail: your password stays as it is.\n"
            ),
        }
    }

    /// Invites someone, from `inviter_email`, to a domain at a role, or to the platform alone
    /// (`domain` none; `role` is then a platform role, if any). `link` accepts.
    pub fn invitation(
        inviter_email: &str,
        domain: Option<&str>,
        role: Option<&str>,
        link: &str,
    ) -> Self {
        let (subject, what) = match (domain, role) {
            (Some(d), Some(r)) => (
                format!("{inviter_email} invited you to {d} on Apex"),
                format!("to the domain {d} as {}", role_text(r)),
            ),
            (Some(d), None) => (
                format!("{inviter_email} invited you to {d} on Apex"),
                format!("to share the domain {d}"),
            ),
            (None, Some(r)) => (
                format!("{inviter_email} invited you to Apex"),
                format!("to the Apex DNS hosting platform, with the platform role {r}"),
            ),
            (None, None) => (
                format!("{inviter_email} invited you to Apex"),
                "to the Apex DNS hosting platform".to_string(),
            ),
        };
        Self {
            kind: INVITATION,
            subject,
            body: format!(
                "Hello,\n\n\
                 {inviter_email} invited you {what}.\n\n\
                 To accept, open this link, then sign in or create your account:\n\n\
                 {link}\n\n\
                 Invitations expire: if the link no longer works, ask {inviter_email} for a \
                 new one. If you do not know {inviter_email}, ignore this mail.\n"
            ),
        }
    }
}

/// Puts `m` to `to` in the outbox, for the user `user` if the mail is theirs. Run it in the
/// transaction of the action it tells of: the mail exists if and only if that commits.
pub async fn enqueue(
    db: impl PgExecutor<'_>,
    user: Option<UserId>,
    to: &str,
    m: &Message,
) -> Result<MailId, CoreError> {
    let id = sqlx::query_scalar!(
        r#"INSERT INTO mail_outbox (user_id, recipient, kind, subject, body)
           VALUES ($1, $2, $3, $4, $5) RETURNING id AS "id: MailId""#,
        user.map(|u| u.0),
        to,
        m.kind,
        m.subject,
        m.body,
    )
    .fetch_one(db)
    .await?;
    tracing::debug!(mail.id = %id, mail.kind = m.kind, "mail queued");
    Ok(id)
}

/// The newest mail of `kind` to `recipient`: its id, subject and body (empty once sent).
/// For tests and support, which follow a link from a mail that was only logged.
pub async fn latest_to(
    pool: &PgPool,
    recipient: &str,
    kind: &str,
) -> Result<Option<(MailId, String, String)>, CoreError> {
    let row = sqlx::query!(
        r#"SELECT id AS "id: MailId", subject, body FROM mail_outbox
            WHERE recipient = $1 AND kind = $2 ORDER BY id DESC LIMIT 1"#,
        recipient,
        kind,
    )
    .fetch_optional(pool)
    .await?;
    Ok(row.map(|r| (r.id, r.subject, r.body)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn account_mails_carry_their_links() {
        let link = "https://dns.example.net/verify-email?token=abc";
        let m = Message::verify_email(link);
        assert_eq!(m.kind, VERIFY_EMAIL);
        assert!(m.body.contains(link));

        let m = Message::reset_password("https://dns.example.net/reset-password?token=t");
        assert_eq!(m.kind, RESET_PASSWORD);
        assert!(m.body.contains("?token=t"));
        assert!(m.body.contains("one hour"));
        assert!(m.body.contains("ignore this mail"));
    }

    #[test]
    fn invitations_name_what_they_invite_to() {
        let link = "https://dns.example.net/invitations?token=x";
        let m = Message::invitation("ann@example.com", Some("example.org"), Some("write"), link);
        assert_eq!(m.kind, INVITATION);
        assert_eq!(
            m.subject,
            "ann@example.com invited you to example.org on Apex"
        );
        assert!(
            m.body
                .contains("to the domain example.org as write (you can change")
        );
        assert!(m.body.contains(link));

        let m = Message::invitation("ann@example.com", None, None, link);
        assert_eq!(m.subject, "ann@example.com invited you to Apex");
        assert!(
            m.body
                .contains("invited you to the Apex DNS hosting platform.")
        );

        let m = Message::invitation("ann@example.com", None, Some("support"), link);
        assert!(m.body.contains("with the platform role support"));
        let m = Message::invitation("ann@example.com", Some("example.org"), None, link);
        assert!(m.body.contains("to share the domain example.org"));
    }
}
