//! Sending the mail outbox (filled by `apex_core::mail::enqueue` in the transaction of the
//! action each mail tells of) over SMTP, with retries; or, with no SMTP server configured,
//! printing each mail to the log once so a local user can copy a link out of it.
//!
//! Each pass takes the due mails with `FOR UPDATE SKIP LOCKED` and moves their
//! `next_attempt_at` past the attempt's time limit (a lease), so any number of workers share
//! the outbox without sending one attempt twice, and a worker dying mid-attempt only delays
//! the retry. The outbox's queries are core's ([`apex_core::mail::outbox`]); this module
//! only sends. A mail is sent at least once; every attempt carries the same `Message-ID`, so
//! a mail that reached the server but whose answer was lost can be recognised as a repeat.
//!
//! The SMTP URL holds credentials: it stays a [`SecretString`] until lettre has it, and no
//! error message here formats it (lettre's own parse errors do not quote it either).

use std::sync::Arc;
use std::time::Duration;

use apex_core::CoreError;
use apex_core::mail::outbox::{self, OutboxMail};
use lettre::message::Mailbox;
use lettre::message::header::ContentType;
use lettre::{AsyncSmtpTransport, AsyncTransport as _, Tokio1Executor};
use secrecy::{ExposeSecret as _, SecretString};
use sqlx::PgPool;
use tokio::task::JoinSet;

use crate::retry::{after_failure, chain};

/// Most mails one pass takes.
const BATCH: i64 = 32;
/// Limit of one SMTP command (connecting, greeting, each step of the dialogue).
const COMMAND_TIMEOUT: Duration = Duration::from_secs(30);
/// Limit of a whole attempt, however many commands it takes.
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(120);
/// How long a taken mail is left alone by other workers: an attempt's limit and some slack.
const LEASE_SECONDS: f64 = 180.0;
/// Most characters of an error kept in `last_error`.
const MAX_ERROR: usize = 500;

/// How the mail loop runs.
#[derive(Debug, Clone)]
pub struct Settings {
    /// `APEX_SMTP_URL`: `smtp://host:25`, `smtp://user:pass@host:587?tls=required`,
    /// `smtps://user:pass@host:465`. None: mail is logged, not sent.
    pub smtp_url: Option<SecretString>,
    /// `APEX_MAIL_FROM`: the sender of every mail (`Apex <apex@example.net>`).
    pub from: String,
    /// Pause between passes that found nothing more to do.
    pub poll: Duration,
    /// Wait before the first retry; each later one waits twice as long (at most an hour).
    pub first_retry: Duration,
}

/// Where the outbox goes.
#[derive(Clone)]
enum Outlet {
    /// An SMTP server.
    Smtp(Arc<AsyncSmtpTransport<Tokio1Executor>>),
    /// The log (no SMTP server configured).
    Log,
}

/// The mail sender, its settings checked: build it before starting the loop so a bad
/// `APEX_SMTP_URL` or `APEX_MAIL_FROM` stops the worker at start, not each mail later.
#[derive(Clone)]
pub struct Mailer {
    outlet: Outlet,
    from: Mailbox,
    poll: Duration,
    first_retry: Duration,
}

impl std::fmt::Debug for Mailer {
    // Not derived: the transport's Debug would print the credentials it holds.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mailer")
            .field("smtp", &matches!(self.outlet, Outlet::Smtp(_)))
            .field("from", &self.from.to_string())
            .finish_non_exhaustive()
    }
}

/// The settings cannot work.
#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    /// The SMTP URL does not parse (the message never quotes it).
    #[error("APEX_SMTP_URL is not a usable SMTP URL: {0}")]
    SmtpUrl(String),
    /// The sender is not a mailbox.
    #[error("APEX_MAIL_FROM {from:?} is not a mail address: {error}")]
    From {
        /// The value given.
        from: String,
        /// Why.
        error: String,
    },
}

impl Mailer {
    /// Checks `settings` and prepares the transport (no connection is made yet).
    pub fn new(settings: &Settings) -> Result<Self, SettingsError> {
        let from = settings
            .from
            .parse::<Mailbox>()
            .map_err(|e| SettingsError::From {
                from: settings.from.clone(),
                error: e.to_string(),
            })?;
        let url = settings
            .smtp_url
            .as_ref()
            .map(|u| u.expose_secret())
            .filter(|u| !u.trim().is_empty());
        let outlet = match url {
            None => Outlet::Log,
            Some(url) => {
                let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url.trim())
                    .map_err(|e| SettingsError::SmtpUrl(chain(&e)))?
                    .timeout(Some(COMMAND_TIMEOUT))
                    .build();
                Outlet::Smtp(Arc::new(transport))
            }
        };
        Ok(Self {
            outlet,
            from,
            poll: settings.poll,
            first_retry: settings.first_retry,
        })
    }

    /// Whether mail goes to an SMTP server (rather than to the log).
    pub fn sends(&self) -> bool {
        matches!(self.outlet, Outlet::Smtp(_))
    }
}

/// Sends (or logs) due mail forever.
pub async fn run(pool: PgPool, mailer: Mailer) {
    if mailer.sends() {
        tracing::info!(from = %mailer.from, "mail goes out over SMTP");
    } else {
        tracing::info!("APEX_SMTP_URL is not set: mail is written to this log, not sent");
    }
    loop {
        let busy = match pass(&pool, &mailer).await {
            Ok(taken) => taken >= BATCH,
            Err(e) => {
                tracing::warn!(error = %chain(&e), "mail pass failed");
                false
            }
        };
        if !busy {
            tokio::time::sleep(mailer.poll).await;
        }
    }
}

/// Handles the due mails once; returns how many it took.
pub async fn pass(pool: &PgPool, mailer: &Mailer) -> Result<i64, CoreError> {
    match &mailer.outlet {
        Outlet::Log => log_pass(pool).await,
        Outlet::Smtp(transport) => smtp_pass(pool, mailer, transport).await,
    }
}

/// Without SMTP: marks the due mails `logged` and prints them, once each.
async fn log_pass(pool: &PgPool) -> Result<i64, CoreError> {
    let mails = outbox::take_for_log(pool, BATCH).await?;
    for m in &mails {
        tracing::info!(mail.id = %m.id, mail.to = %m.recipient, mail.kind = %m.kind,
            "mail not sent (no APEX_SMTP_URL): {}\n\n{}", m.subject, m.body);
    }
    Ok(i64::try_from(mails.len()).unwrap_or(BATCH))
}

/// A mail taken for an attempt.
type Due = OutboxMail;

/// Takes the due mails and attempts them all at once.
async fn smtp_pass(
    pool: &PgPool,
    mailer: &Mailer,
    transport: &Arc<AsyncSmtpTransport<Tokio1Executor>>,
) -> Result<i64, CoreError> {
    let due = outbox::take_due(pool, BATCH, LEASE_SECONDS).await?;
    let taken = i64::try_from(due.len()).unwrap_or(BATCH);
    let mut attempts = JoinSet::new();
    for d in due {
        let (pool, transport, from) = (pool.clone(), transport.clone(), mailer.from.clone());
        let first_retry = mailer.first_retry;
        attempts.spawn(async move {
            let result =
                match tokio::time::timeout(ATTEMPT_TIMEOUT, attempt(&transport, &from, &d)).await {
                    Ok(r) => r,
                    Err(_) => Err(Failure::new("the attempt timed out")),
                };
            if let Err(e) = record(&pool, &d, result, first_retry).await {
                tracing::warn!(mail.id = %d.id, error = %chain(&e),
                    "cannot record a mail attempt; it is retried after its lease");
            }
        });
    }
    while attempts.join_next().await.is_some() {}
    Ok(taken)
}

/// Why an attempt failed.
#[derive(Debug)]
struct Failure {
    error: String,
    /// Not worth retrying.
    permanent: bool,
}

impl Failure {
    fn new(error: impl Into<String>) -> Self {
        Self {
            error: error.into(),
            permanent: false,
        }
    }

    fn permanent(error: impl Into<String>) -> Self {
        Self {
            error: error.into(),
            permanent: true,
        }
    }
}

/// Sorts an SMTP error: a 5xx answer is permanent, except those about authentication,
/// which are the operator's to fix and must not cost users their mail.
fn classify(e: &lettre::transport::smtp::Error) -> Failure {
    let mut error = chain(e);
    if error.chars().count() > MAX_ERROR {
        error = error.chars().take(MAX_ERROR).collect();
    }
    let auth = e
        .status()
        .is_some_and(|c| matches!(c.to_string().as_str(), "530" | "534" | "535" | "538"));
    if e.is_permanent() && !auth {
        Failure::permanent(error)
    } else {
        Failure::new(error)
    }
}

/// The `Message-ID`, the same on every attempt: `<apex.{id}.{created µs}@{sender's domain}>`.
fn message_id(d: &Due, from: &Mailbox) -> String {
    format!(
        "<apex.{}.{}@{}>",
        d.id,
        d.created_at.timestamp_micros(),
        from.email.domain()
    )
}

/// One SMTP transaction.
async fn attempt(
    transport: &AsyncSmtpTransport<Tokio1Executor>,
    from: &Mailbox,
    d: &Due,
) -> Result<(), Failure> {
    let to = d
        .recipient
        .parse::<Mailbox>()
        .map_err(|e| Failure::permanent(format!("the recipient is not a mail address: {e}")))?;
    let message = lettre::Message::builder()
        .from(from.clone())
        .to(to)
        .subject(d.subject.as_str())
        .date_now()
        .message_id(Some(message_id(d, from)))
        .header(ContentType::TEXT_PLAIN)
        .body(d.body.clone())
        .map_err(|e| Failure::permanent(format!("cannot build the message: {e}")))?;
    transport
        .send(message)
        .await
        .map(|_| ())
        .map_err(|e| classify(&e))
}

async fn record(
    pool: &PgPool,
    d: &Due,
    result: Result<(), Failure>,
    first_retry: Duration,
) -> Result<(), CoreError> {
    let attempts = d.attempts.saturating_add(1);
    match result {
        Ok(()) => {
            // The body goes: its links are secrets of a sort, and it has done its job.
            outbox::mark_sent(pool, d.id, attempts).await?;
            tracing::info!(mail.id = %d.id, mail.to = %d.recipient, mail.kind = %d.kind,
                attempts, "mail sent");
        }
        Err(f) => {
            let next = after_failure(f.permanent, attempts, d.id.0, d.created_at, first_retry);
            outbox::mark_failed(pool, d.id, attempts, next, &f.error).await?;
            match next {
                Some(at) => tracing::info!(mail.id = %d.id, mail.to = %d.recipient,
                    mail.kind = %d.kind, attempts, error = %f.error, retry_at = %at,
                    "mail attempt failed"),
                None => tracing::warn!(mail.id = %d.id, mail.to = %d.recipient,
                    mail.kind = %d.kind, attempts, error = %f.error,
                    "mail failed for good"),
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use apex_core::ids::MailId;
    use chrono::DateTime;

    fn settings(url: Option<&str>, from: &str) -> Settings {
        Settings {
            smtp_url: url.map(SecretString::from),
            from: from.into(),
            poll: Duration::from_millis(50),
            first_retry: Duration::from_millis(200),
        }
    }

    #[test]
    fn settings_are_checked_without_showing_credentials() {
        let ok = Mailer::new(&settings(None, "Apex <apex@apex.test>")).unwrap();
        assert!(!ok.sends());
        let ok = Mailer::new(&settings(Some(""), "apex@apex.test")).unwrap();
        assert!(!ok.sends());
        let url = "smtps://user:hunter2@mail.example.net:465";
        let smtp = Mailer::new(&settings(Some(url), "apex@apex.test")).unwrap();
        assert!(smtp.sends());
        assert!(!format!("{smtp:?}").contains("hunter2"));
        for bad in [
            "ftp://user:hunter2@host",
            "user:hunter2@",
            "smtp://user:hunter2@",
        ] {
            let e = Mailer::new(&settings(Some(bad), "apex@apex.test")).unwrap_err();
            assert!(!e.to_string().contains("hunter2"), "{e}");
        }
        assert!(Mailer::new(&settings(None, "not an address")).is_err());
    }

    #[test]
    fn the_message_id_is_stable_and_names_the_sender_domain() {
        let d = Due {
            id: MailId(42),
            recipient: "a@example.com".into(),
            kind: "verify_email".into(),
            subject: "s".into(),
            body: "b".into(),
            attempts: 0,
            created_at: DateTime::from_timestamp_micros(1_700_000_000_123_456).unwrap(),
        };
        let from: Mailbox = "Apex <apex@apex.test>".parse().unwrap();
        assert_eq!(
            message_id(&d, &from),
            "<apex.42.1700000000123456@apex.test>"
        );
    }
}
