//! Security notices: mails that tell someone their account or their access changed, so that
//! a change they did not make does not go unnoticed.

use std::net::IpAddr;

use chrono::{DateTime, Utc};

use super::{Message, role_text};
use crate::ids::ApiKeyId;

/// What a notice is about; each kind ends with its own advice.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoticeKind {
    /// The password changed (`notice.password`).
    Password,
    /// The second factor or the recovery codes changed (`notice.2fa`).
    TwoFactor,
    /// An API key was created or revoked (`notice.key`).
    Key,
    /// Access to a domain changed (`notice.member`).
    Member,
    /// Anything else about the account (`notice.account`).
    Account,
}

impl NoticeKind {
    /// The outbox's `kind`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Password => "notice.password",
            Self::TwoFactor => "notice.2fa",
            Self::Key => "notice.key",
            Self::Member => "notice.member",
            Self::Account => "notice.account",
        }
    }

    /// What to do if the change was not wanted.
    fn advice(self, public_url: &str) -> String {
        match self {
            Self::Password => format!(
                "If this was you, there is nothing to do. If it was not, someone else may know \
                 your password: reset it now from the sign-in page at {public_url}, and tell \
                 the platform's administrators."
            ),
            Self::TwoFactor => format!(
                "If this was you, there is nothing to do. If it was not, sign in at \
                 {public_url}, change your password and check your two-factor settings; if you \
                 cannot sign in, tell the platform's administrators."
            ),
            Self::Key => format!(
                "If this was you, there is nothing to do. If it was not, sign in at \
                 {public_url}, revoke every key you do not know and change your password."
            ),
            Self::Member => format!(
                "If you did not expect this, ask the domain's owner or administrators. Your \
                 domains are listed at {public_url}."
            ),
            Self::Account => format!(
                "If this was you, there is nothing to do. If it was not, sign in at \
                 {public_url} and change your password, or ask the platform's administrators \
                 for help."
            ),
        }
    }
}

/// When and from where something happened, and where the platform is, for a notice.
#[derive(Debug, Clone, Copy)]
pub struct Occasion<'a> {
    /// The platform's public URL (`Accounts::public_url`).
    pub public_url: &'a str,
    /// When it happened.
    pub at: DateTime<Utc>,
    /// The client address it came from, if known.
    pub from: Option<IpAddr>,
}

impl<'a> Occasion<'a> {
    /// Now, from `from`.
    pub fn now(public_url: &'a str, from: Option<IpAddr>) -> Self {
        Self {
            public_url,
            at: Utc::now(),
            from,
        }
    }

    /// The same moment without the address: for notices about what someone else did, whose
    /// address is theirs to keep.
    fn anonymous(self) -> Self {
        Self { from: None, ..self }
    }
}

impl Message {
    /// A security notice of `kind`. The first line of `text` is also the subject; the body
    /// adds when, from which address (if known), and what to do if it was not you.
    pub fn notice(kind: NoticeKind, text: &str, o: &Occasion<'_>) -> Self {
        let subject = text
            .lines()
            .next()
            .unwrap_or_default()
            .trim()
            .trim_end_matches('.')
            .to_string();
        let mut body = format!(
            "Hello,\n\n{}\n\nWhen: {}\n",
            text.trim(),
            o.at.format("%Y-%m-%d %H:%M:%S UTC")
        );
        if let Some(ip) = o.from {
            body.push_str(&format!("From address: {ip}\n"));
        }
        body.push('\n');
        body.push_str(&kind.advice(o.public_url));
        body.push('\n');
        Self {
            kind: kind.as_str(),
            subject,
            body,
        }
    }

    /// The password was changed by its holder.
    pub fn password_changed(o: &Occasion<'_>) -> Self {
        Self::notice(NoticeKind::Password, "Your Apex password was changed.", o)
    }

    /// The password was set anew through a reset link.
    pub fn password_reset(o: &Occasion<'_>) -> Self {
        Self::notice(
            NoticeKind::Password,
            "Your Apex password was reset.\n\
             A new password was chosen through a reset link sent to this address; every \
             session signed in before was ended.",
            o,
        )
    }

    /// Two-factor authentication was turned on.
    pub fn two_factor_enabled(o: &Occasion<'_>) -> Self {
        Self::notice(
            NoticeKind::TwoFactor,
            "Two-factor authentication was turned on for your Apex account.\n\
             Signing in now needs a code from your authenticator app or a recovery code.",
            o,
        )
    }

    /// Two-factor authentication was turned off by the account's holder.
    pub fn two_factor_disabled(o: &Occasion<'_>) -> Self {
        Self::notice(
            NoticeKind::TwoFactor,
            "Two-factor authentication was turned off for your Apex account.\n\
             Signing in now needs only your password.",
            o,
        )
    }

    /// An administrator (`admin_email`) removed the second factor, usually because it was
    /// lost. The address shown is the administrator's, so it is left out.
    pub fn two_factor_reset(admin_email: &str, o: &Occasion<'_>) -> Self {
        Self::notice(
            NoticeKind::TwoFactor,
            &format!(
                "An administrator reset two-factor authentication on your Apex account.\n\
                 {admin_email} removed your authenticator and recovery codes; signing in needs \
                 only your password until you turn two-factor authentication on again."
            ),
            &o.anonymous(),
        )
    }

    /// New recovery codes were made; the old ones stopped working.
    pub fn recovery_codes_regenerated(o: &Occasion<'_>) -> Self {
        Self::notice(
            NoticeKind::TwoFactor,
            "New recovery codes were made for your Apex account.\n\
             The codes you had before no longer work.",
            o,
        )
    }

    /// An API key was created for the account.
    pub fn api_key_created(description: &str, id: ApiKeyId, o: &Occasion<'_>) -> Self {
        Self::notice(
            NoticeKind::Key,
            &format!(
                "A new API key was created for your Apex account.\n\
                 Key: {} (id {id})",
                key_name(description)
            ),
            o,
        )
    }

    /// An API key of the account was revoked.
    pub fn api_key_revoked(description: &str, id: ApiKeyId, o: &Occasion<'_>) -> Self {
        Self::notice(
            NoticeKind::Key,
            &format!(
                "An API key of your Apex account was revoked.\n\
                 Key: {} (id {id}). Programs using it can no longer sign in with it.",
                key_name(description)
            ),
            o,
        )
    }

    /// `by` gave the recipient `role` on `domain`.
    pub fn member_added(domain: &str, role: &str, by: &str, o: &Occasion<'_>) -> Self {
        Self::notice(
            NoticeKind::Member,
            &format!(
                "You were added to the domain {domain} on Apex.\n\
                 {by} gave you the role {}.",
                role_text(role)
            ),
            &o.anonymous(),
        )
    }

    /// `by` changed the recipient's role on `domain` from `old` to `new`.
    pub fn member_role_changed(
        domain: &str,
        old: &str,
        new: &str,
        by: &str,
        o: &Occasion<'_>,
    ) -> Self {
        Self::notice(
            NoticeKind::Member,
            &format!(
                "Your role on the domain {domain} changed to {new}.\n\
                 {by} changed it from {old} to {}.",
                role_text(new)
            ),
            &o.anonymous(),
        )
    }

    /// `by` removed the recipient from `domain`.
    pub fn member_removed(domain: &str, by: &str, o: &Occasion<'_>) -> Self {
        Self::notice(
            NoticeKind::Member,
            &format!(
                "You were removed from the domain {domain} on Apex.\n\
                 {by} removed you; you can no longer see or change it."
            ),
            &o.anonymous(),
        )
    }

    /// `by`, its owner until now, transferred `domain` to the recipient.
    pub fn ownership_transferred(domain: &str, by: &str, o: &Occasion<'_>) -> Self {
        Self::notice(
            NoticeKind::Member,
            &format!(
                "You are now the owner of the domain {domain} on Apex.\n\
                 {by} transferred its ownership to you: {}.",
                role_meaning_owner()
            ),
            &o.anonymous(),
        )
    }
}

/// What owning a domain means, as the role list says it.
fn role_meaning_owner() -> &'static str {
    super::role_meaning("owner").unwrap_or("you have every right on it")
}

/// A key's description, quoted, or a stand-in when it has none.
fn key_name(description: &str) -> String {
    match description.trim() {
        "" => "(no description)".to_string(),
        d => format!("{d:?}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn occasion() -> Occasion<'static> {
        Occasion {
            public_url: "https://dns.example.net",
            at: DateTime::parse_from_rfc3339("2026-12-05T14:03:09Z")
                .unwrap()
                .with_timezone(&Utc),
            from: Some("203.0.113.7".parse().unwrap()),
        }
    }

    #[test]
    fn a_notice_says_what_when_where_and_what_to_do() {
        let m = Message::password_changed(&occasion());
        assert_eq!(m.kind, "notice.password");
        assert_eq!(m.subject, "Your Apex password was changed");
        assert!(m.body.contains("When: 2026-12-05 14:03:09 UTC\n"));
        assert!(m.body.contains("From address: 203.0.113.7\n"));
        assert!(m.body.contains("If it was not, someone else may know"));
        assert!(m.body.contains("https://dns.example.net"));

        let o = Occasion {
            from: None,
            ..occasion()
        };
        assert!(
            !Message::two_factor_enabled(&o)
                .body
                .contains("From address")
        );
    }

    #[test]
    fn every_kind_has_its_name() {
        let o = occasion();
        let kinds = [
            Message::password_changed(&o),
            Message::password_reset(&o),
            Message::two_factor_enabled(&o),
            Message::two_factor_disabled(&o),
            Message::two_factor_reset("root@example.net", &o),
            Message::recovery_codes_regenerated(&o),
            Message::api_key_created("deploy", ApiKeyId(7), &o),
            Message::api_key_revoked("", ApiKeyId(7), &o),
            Message::member_added("example.org", "write", "ann@example.com", &o),
            Message::member_role_changed("example.org", "write", "admin", "ann@x.com", &o),
            Message::member_removed("example.org", "ann@example.com", &o),
            Message::ownership_transferred("example.org", "ann@example.com", &o),
        ]
        .map(|m| m.kind);
        assert_eq!(
            kinds,
            [
                "notice.password",
                "notice.password",
                "notice.2fa",
                "notice.2fa",
                "notice.2fa",
                "notice.2fa",
                "notice.key",
                "notice.key",
                "notice.member",
                "notice.member",
                "notice.member",
                "notice.member",
            ]
        );
    }

    #[test]
    fn details_and_privacy() {
        let o = occasion();
        let m = Message::api_key_created("deploy", ApiKeyId(7), &o);
        assert_eq!(m.subject, "A new API key was created for your Apex account");
        assert!(m.body.contains("Key: \"deploy\" (id 7)"));
        assert!(
            Message::api_key_revoked(" ", ApiKeyId(8), &o)
                .body
                .contains("Key: (no description) (id 8)")
        );
        // Someone else's address is never shown.
        let m = Message::member_added("example.org", "read", "ann@example.com", &o);
        assert!(!m.body.contains("203.0.113.7"));
        assert!(
            m.body
                .contains("ann@example.com gave you the role read (you can see")
        );
        let m = Message::two_factor_reset("root@example.net", &o);
        assert!(!m.body.contains("203.0.113.7"));
        let m = Message::member_role_changed("example.org", "write", "admin", "ann@x.com", &o);
        assert_eq!(
            m.subject,
            "Your role on the domain example.org changed to admin"
        );
        assert!(m.body.contains("from write to admin ("));
        let m = Message::ownership_transferred("example.org", "ann@example.com", &o);
        assert!(m.body.contains("deleting it included"));
        let m = Message::notice(NoticeKind::Account, "Your address changed.", &o);
        assert_eq!(m.kind, "notice.account");
    }
}
