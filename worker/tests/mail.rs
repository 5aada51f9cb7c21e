//! The mail outbox on the wire: mails logged when no SMTP server is configured, delivered to
//! a real SMTP server (aiosmtpd, started by `tests/smtp_sink.py`), retried while the server
//! is down, and given up on a permanent rejection. Each test has its own database and its
//! own port.

// Test helpers panic on the unexpected, like the tests themselves.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use apex_core::config::Config;
use apex_core::ids::MailId;
use apex_core::mail::{self, Message};
use apex_core::queue::Queue;
use apex_core::{Core, users};
use apex_net::TsigKey;
use apex_worker::mail::{Mailer, Settings};
use apex_worker::{WorkerConfig, webhooks};
use secrecy::SecretString;
use serde_json::Value;
use sqlx::PgPool;

const FROM: &str = "Apex <apex@apex.test>";
/// Longest a test waits for the worker.
const PATIENCE: Duration = Duration::from_secs(20);

fn settings(smtp_url: Option<String>) -> Settings {
    Settings {
        smtp_url: smtp_url.map(SecretString::from),
        from: FROM.into(),
        poll: Duration::from_millis(50),
        first_retry: Duration::from_millis(200),
    }
}

/// A port nothing listens on (bound, read back, released).
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// An aiosmtpd server on its own port, writing what it receives to its own folder; killed
/// and its folder removed when dropped.
struct SmtpServer {
    child: Child,
    dir: PathBuf,
    port: u16,
}

impl SmtpServer {
    /// Starts on `port`, answering 550 to RCPT TO any of `refused`.
    fn start(port: u16, refused: &[&str]) -> Self {
        let ok = Command::new("python3")
            .args(["-c", "import aiosmtpd"])
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        assert!(
            ok,
            "python3 with aiosmtpd is needed: `python3 -m pip install aiosmtpd` \
             (scripts/test.sh installs it)"
        );
        let dir = std::env::temp_dir().join(format!("apex-smtp-{}-{port}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/smtp_sink.py");
        let child = Command::new("python3")
            .arg(script)
            .args(["127.0.0.1", &port.to_string()])
            .arg(&dir)
            .args(refused)
            .stdout(Stdio::null())
            .spawn()
            .unwrap();
        let mut server = Self { child, dir, port };
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        let deadline = Instant::now() + PATIENCE;
        while TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_err() {
            if let Some(status) = server.child.try_wait().unwrap() {
                panic!("the SMTP server exited at start ({status}); see its error above");
            }
            assert!(Instant::now() < deadline, "the SMTP server did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
        server
    }

    fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    /// The messages received so far, in order.
    fn received(&self) -> Vec<Value> {
        let mut files: Vec<(u64, PathBuf)> = std::fs::read_dir(&self.dir)
            .unwrap()
            .filter_map(|e| {
                let path = e.unwrap().path();
                let n = path
                    .file_name()?
                    .to_str()?
                    .strip_suffix(".json")?
                    .parse()
                    .ok()?;
                Some((n, path))
            })
            .collect();
        files.sort();
        files
            .iter()
            .map(|(_, p)| serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap())
            .collect()
    }

    /// Waits until `n` messages have arrived.
    async fn wait_for(&self, n: usize) -> Vec<Value> {
        let deadline = Instant::now() + PATIENCE;
        loop {
            let got = self.received();
            if got.len() >= n {
                return got;
            }
            assert!(
                Instant::now() < deadline,
                "{} of {n} mails arrived",
                got.len()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A mail's row as the tests look at it.
#[derive(Debug)]
struct Row {
    state: String,
    body: String,
    attempts: i32,
    last_error: Option<String>,
    due_in_future: bool,
    sent: bool,
}

async fn row(pool: &PgPool, id: MailId) -> Row {
    // Checked at run time, like the other tests' queries: `.sqlx/` holds the library's only.
    let (state, body, attempts, last_error, due_in_future, sent) =
        sqlx::query_as::<_, (String, String, i32, Option<String>, bool, bool)>(
            "SELECT state, body, attempts, last_error, next_attempt_at > now(), sent_at IS NOT NULL
               FROM mail_outbox WHERE id = $1",
        )
        .bind(id.0)
        .fetch_one(pool)
        .await
        .unwrap();
    Row {
        state,
        body,
        attempts,
        last_error,
        due_in_future,
        sent,
    }
}

/// Waits until the mail's row satisfies `done`, and returns it.
async fn wait_row(pool: &PgPool, id: MailId, done: impl Fn(&Row) -> bool) -> Row {
    let deadline = Instant::now() + PATIENCE;
    loop {
        let r = row(pool, id).await;
        if done(&r) {
            return r;
        }
        assert!(
            Instant::now() < deadline,
            "gave up waiting; the mail is {r:?}"
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// The mail loop alone, stopped when dropped.
struct Loop(tokio::task::JoinHandle<()>);

impl Loop {
    fn start(pool: &PgPool, settings: Settings) -> Self {
        let mailer = Mailer::new(&settings).unwrap();
        Self(tokio::spawn(apex_worker::mail::run(pool.clone(), mailer)))
    }
}

impl Drop for Loop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// A body as sent, comparable with the one received: SMTP lines end in CRLF, and the end of
/// the data adds a line break of its own.
fn normalise(text: &str) -> String {
    text.replace("\r\n", "\n").trim_end().to_string()
}

fn greeting() -> Message {
    Message {
        kind: "notice.account",
        subject: "Grüße from Apex".into(),
        body: "Hello Jürgen,\n\nthis is a test.\n\n.\nA line with only a dot, above.\n".into(),
    }
}

#[sqlx::test(migrator = "apex_core::db::MIGRATOR")]
async fn without_smtp_mail_is_logged_and_kept(pool: PgPool) {
    // Through the worker as `apex worker` starts it: the mail loop is one of its tasks.
    let core = Core {
        pool: pool.clone(),
        queue: Queue::disabled(),
        platform: Arc::new(Config::defaults().platform().unwrap()),
    };
    let link = core.platform.accounts.link("/verify-email?token=s3cr3t");
    let user = users::create_user(&pool, "new@example.com", "a long enough password", false)
        .await
        .unwrap();
    let mut tx = pool.begin().await.unwrap();
    let id = mail::enqueue(
        &mut *tx,
        Some(user),
        "new@example.com",
        &Message::verify_email(&link),
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();

    let config = WorkerConfig {
        transfer: apex_worker::transfer::Listeners::on("127.0.0.1:0".parse().unwrap()),
        notify: vec![],
        tsig_keys: vec![TsigKey::parse(&TsigKey::generate_text("apex-fleet")).unwrap()],
        keep_versions: 3,
        reconcile_interval: Duration::from_secs(60),
        webhooks: webhooks::Settings {
            poll: Duration::from_millis(50),
            first_retry: Duration::from_millis(200),
        },
        mail: settings(None),
    };
    let worker = apex_worker::start(core, config).await.unwrap();
    let r = wait_row(&pool, id, |r| r.state != "queued").await;
    drop(worker);
    assert_eq!(r.state, "logged");
    assert!(!r.sent);
    assert_eq!(r.attempts, 0);

    // The body stays, so the link can be followed from the outbox.
    let (latest, subject, body) = mail::latest_to(&pool, "new@example.com", mail::VERIFY_EMAIL)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(latest, id);
    assert_eq!(subject, "Confirm your email address");
    assert_eq!(body, r.body);
    assert_eq!(mail::find_link(&body, "/verify-email"), Some(link));
    assert_eq!(
        mail::find_token(&body, "/verify-email").as_deref(),
        Some("s3cr3t")
    );
}

#[sqlx::test(migrator = "apex_core::db::MIGRATOR")]
async fn a_mail_reaches_the_smtp_server(pool: PgPool) {
    let server = SmtpServer::start(free_port(), &[]);
    let _mailer = Loop::start(&pool, settings(Some(server.url())));
    let m = greeting();
    let id = mail::enqueue(&pool, None, "Jürgen <juergen@example.com>", &m)
        .await
        .unwrap();

    let got = server.wait_for(1).await;
    let r = wait_row(&pool, id, |r| r.state != "queued").await;
    assert_eq!(r.state, "sent");
    assert!(r.sent);
    assert_eq!(r.attempts, 1);
    assert_eq!(r.body, "", "the body goes once sent");
    assert_eq!(r.last_error, None);

    let mail = &got[0];
    assert_eq!(mail["mail_from"], "apex@apex.test");
    assert_eq!(mail["rcpt_tos"], serde_json::json!(["juergen@example.com"]));
    assert_eq!(mail["from"], FROM);
    assert_eq!(mail["to"], "Jürgen <juergen@example.com>");
    assert_eq!(mail["subject"], "Grüße from Apex");
    assert_eq!(mail["content_type"], "text/plain");
    assert_eq!(mail["charset"], "utf-8");
    assert_eq!(
        normalise(mail["body"].as_str().unwrap()),
        normalise(&m.body)
    );
    assert!(mail["date"].is_string());
    let created: chrono::DateTime<chrono::Utc> =
        sqlx::query_scalar("SELECT created_at FROM mail_outbox WHERE id = $1")
            .bind(id.0)
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(
        mail["message_id"],
        format!("<apex.{id}.{}@apex.test>", created.timestamp_micros())
    );
    // Sent once, not again.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(server.received().len(), 1);
}

#[sqlx::test(migrator = "apex_core::db::MIGRATOR")]
async fn mail_waits_while_the_server_is_down(pool: PgPool) {
    let port = free_port();
    let _mailer = Loop::start(&pool, settings(Some(format!("smtp://127.0.0.1:{port}"))));
    let m = Message::reset_password("http://127.0.0.1:8080/reset-password?token=hush");
    let id = mail::enqueue(&pool, None, "late@example.com", &m)
        .await
        .unwrap();

    let r = wait_row(&pool, id, |r| r.attempts >= 1).await;
    assert_eq!(r.state, "queued");
    let error = r.last_error.clone().unwrap();
    assert!(error.to_lowercase().contains("connect"), "{error}");
    assert!(
        !error.contains("hush"),
        "the body never goes into the error"
    );
    assert_eq!(r.body, m.body);
    // Seen right after the failure: the next attempt is ahead, not due at once.
    assert!(r.due_in_future, "{r:?}");
    // And it comes: the worker keeps trying while the server is down.
    let r = wait_row(&pool, id, |r| r.attempts >= 2).await;
    assert_eq!(r.state, "queued");

    let server = SmtpServer::start(port, &[]);
    let got = server.wait_for(1).await;
    assert_eq!(got[0]["subject"], "Reset your password");
    assert_eq!(
        normalise(got[0]["body"].as_str().unwrap()),
        normalise(&m.body)
    );
    let r = wait_row(&pool, id, |r| r.state != "queued").await;
    assert_eq!(r.state, "sent");
    assert!(r.attempts >= 2);
    assert_eq!(r.last_error, None);
}

#[sqlx::test(migrator = "apex_core::db::MIGRATOR")]
async fn a_permanent_rejection_fails_the_mail(pool: PgPool) {
    let server = SmtpServer::start(free_port(), &["nobody@example.com"]);
    let _mailer = Loop::start(&pool, settings(Some(server.url())));
    let refused = mail::enqueue(&pool, None, "nobody@example.com", &greeting())
        .await
        .unwrap();
    let fine = mail::enqueue(&pool, None, "somebody@example.com", &greeting())
        .await
        .unwrap();

    let r = wait_row(&pool, refused, |r| r.state != "queued").await;
    assert_eq!(r.state, "failed");
    assert_eq!(r.attempts, 1);
    let error = r.last_error.unwrap();
    assert!(
        error.contains("550") && error.contains("no such user"),
        "{error}"
    );
    assert!(
        !error.contains("this is a test"),
        "the body never goes into the error"
    );

    let r = wait_row(&pool, fine, |r| r.state != "queued").await;
    assert_eq!(r.state, "sent");
    let got = server.wait_for(1).await;
    assert_eq!(got.len(), 1);
    assert_eq!(
        got[0]["rcpt_tos"],
        serde_json::json!(["somebody@example.com"])
    );
}
