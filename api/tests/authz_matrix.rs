//! The authorization matrix: every route of the router, enumerated from the router itself
//! (`apex_api::route_paths` and the methods each path answers), driven with every kind of
//! credential, and the status of each call asserted. A route without a row here fails the
//! test, and so does a row without a route.
//!
//! The rule the rows spell out: no valid credential → 401; a domain the caller may not see →
//! 404; seen but too little power → 403; otherwise the endpoint's own answer.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use apex_core::actor::{Actor, PlatformRoles};
use apex_core::auth::sessions::{self, Client};
use apex_core::auth::{keys, password};
use apex_core::config::Config;
use apex_core::ids::UserId;
use apex_core::queue::Queue;
use apex_core::{Core, domains, webhooks};
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use sqlx::PgPool;
use tower::ServiceExt;

/// The credentials, one column each.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Col {
    /// No credential.
    None,
    /// The owner's key, revoked.
    Revoked,
    /// The owner's key, past its expiry.
    Expired,
    /// The owner's key limited to 192.0.2.0/24 (calls come from 127.0.0.1).
    BadNet,
    /// The key of a disabled user.
    Disabled,
    /// Another account's key (no role on the domain).
    Stranger,
    /// Members' full keys, one per role.
    Read,
    Write,
    Admin,
    Owner,
    /// The owner's key capped at `read`.
    Capped,
    /// The owner's key limited to another domain.
    Elsewhere,
    /// The owner's key for ACME: role write, records `_acme-challenge.*` TXT only.
    Acme,
    /// The owner's key with no manage flags.
    NoManage,
    /// The domain's own key (write).
    DomainKey,
    /// The owner's dashboard session (a cookie).
    Session,
    /// A platform administrator's key.
    Platform,
    /// The platform administrator's key acting as the `read` member.
    Impersonating,
}

const COLS: [Col; 18] = [
    Col::None,
    Col::Revoked,
    Col::Expired,
    Col::BadNet,
    Col::Disabled,
    Col::Stranger,
    Col::Read,
    Col::Write,
    Col::Admin,
    Col::Owner,
    Col::Capped,
    Col::Elsewhere,
    Col::Acme,
    Col::NoManage,
    Col::DomainKey,
    Col::Session,
    Col::Platform,
    Col::Impersonating,
];

/// What a domain endpoint needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Need {
    Read,
    /// Writing a record (`www`, TXT: outside the ACME key's names).
    Write,
    /// Replacing the zone.
    WriteZone,
    Admin,
    /// Admin, and hands out a secret.
    Secret,
    Members,
    Keys,
    Owner,
}

/// A domain endpoint's expected statuses.
fn dom(need: Need, ok: u16) -> BTreeMap<Col, u16> {
    COLS.iter()
        .map(|&c| {
            let allowed = match c {
                Col::None | Col::Revoked | Col::Expired | Col::BadNet | Col::Disabled => {
                    return (c, 401);
                }
                // A session is not an API credential.
                Col::Session => return (c, 401),
                Col::Stranger => return (c, 404),
                Col::Read | Col::Capped | Col::Impersonating => need == Need::Read,
                Col::Write => need <= Need::WriteZone,
                Col::Admin => true,
                Col::Owner | Col::Platform => true,
                Col::Elsewhere => false,
                Col::Acme => need == Need::Read,
                Col::NoManage => !matches!(need, Need::Members | Need::Keys),
                Col::DomainKey => need <= Need::WriteZone,
            };
            let allowed = allowed && !(c == Col::Admin && need == Need::Owner);
            (c, if allowed { ok } else { 403 })
        })
        .collect()
}

/// What an account endpoint needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Acct {
    Read,
    Manage,
    ReadKeys,
    ManageKeys,
}

/// An account endpoint's expected statuses: each caller acts on their own account.
fn acct(need: Acct, ok: u16) -> BTreeMap<Col, u16> {
    COLS.iter()
        .map(|&c| {
            let s = match c {
                Col::None | Col::Revoked | Col::Expired | Col::BadNet | Col::Disabled => 401,
                // Full keys and sessions may; keys without the flag and domain keys may not.
                Col::Stranger
                | Col::Read
                | Col::Write
                | Col::Admin
                | Col::Owner
                | Col::Platform
                | Col::Session => ok,
                Col::Capped | Col::Elsewhere | Col::Acme | Col::NoManage | Col::DomainKey => 403,
                // Impersonation reads, never changes credentials or makes secrets.
                Col::Impersonating => match need {
                    Acct::Read | Acct::ReadKeys => ok,
                    Acct::Manage | Acct::ManageKeys => 403,
                },
            };
            (c, s)
        })
        .collect()
}

/// A platform endpoint's expected statuses (API keys only).
fn plat(ok: u16) -> BTreeMap<Col, u16> {
    COLS.iter()
        .map(|&c| {
            let s = match c {
                Col::None
                | Col::Revoked
                | Col::Expired
                | Col::BadNet
                | Col::Disabled
                | Col::Session => 401,
                Col::Platform => ok,
                _ => 403,
            };
            (c, s)
        })
        .collect()
}

/// The same answer whoever asks.
fn public(ok: u16) -> BTreeMap<Col, u16> {
    COLS.iter().map(|&c| (c, ok)).collect()
}

fn with(mut m: BTreeMap<Col, u16>, changes: &[(Col, u16)]) -> BTreeMap<Col, u16> {
    for (c, s) in changes {
        m.insert(*c, *s);
    }
    m
}

/// Every row: method, path, expected statuses, and whether each call needs a world of its
/// own (it ends a credential or the domain).
fn rows() -> Vec<(&'static str, &'static str, BTreeMap<Col, u16>, bool)> {
    use Col::*;
    let keyless = [None, Revoked, Expired, BadNet, Disabled];
    let logout = {
        // Ends the session it is made in; keys have none (422), unless not allowed at all.
        let mut m = acct(Acct::Read, 422);
        m.insert(Session, 204);
        m
    };
    let _ = keyless;
    vec![
        ("GET", "/healthz", public(200), false),
        // Router tests run without Redis: not ready.
        ("GET", "/readyz", public(503), false),
        ("GET", "/api/v1/openapi.json", public(200), false),
        ("POST", "/api/v1/auth/signup", public(202), false),
        ("POST", "/api/v1/auth/verify-email", public(422), false),
        (
            "POST",
            "/api/v1/auth/verify-email/resend",
            public(202),
            false,
        ),
        ("POST", "/api/v1/auth/login", public(200), false),
        ("POST", "/api/v1/auth/login/2fa", public(401), false),
        ("POST", "/api/v1/auth/logout", logout, true),
        (
            "POST",
            "/api/v1/auth/logout-all",
            acct(Acct::Manage, 200),
            true,
        ),
        ("POST", "/api/v1/auth/password-reset", public(202), false),
        (
            "POST",
            "/api/v1/auth/password-reset/confirm",
            public(422),
            false,
        ),
        (
            "POST",
            "/api/v1/auth/invitations/accept",
            acct(Acct::Manage, 422),
            false,
        ),
        ("GET", "/api/v1/account", acct(Acct::Read, 200), false),
        (
            "GET",
            "/api/v1/account/template",
            acct(Acct::Read, 200),
            false,
        ),
        (
            "PUT",
            "/api/v1/account/template",
            acct(Acct::Manage, 200),
            false,
        ),
        // The catalog is off for everyone (404) until turned on; each caller turns on their
        // own (the world is fresh for each call).
        (
            "GET",
            "/api/v1/account/catalog",
            acct(Acct::Read, 404),
            false,
        ),
        (
            "POST",
            "/api/v1/account/catalog",
            acct(Acct::ManageKeys, 201),
            true,
        ),
        (
            "PATCH",
            "/api/v1/account/catalog",
            acct(Acct::ManageKeys, 404),
            false,
        ),
        (
            "DELETE",
            "/api/v1/account/catalog",
            acct(Acct::ManageKeys, 404),
            false,
        ),
        (
            "POST",
            "/api/v1/account/catalog/key",
            acct(Acct::ManageKeys, 404),
            false,
        ),
        ("GET", "/api/v1/admin/template", plat(200), false),
        ("PUT", "/api/v1/admin/template", plat(200), false),
        // The owner owns domains (409); the others have none.
        (
            "DELETE",
            "/api/v1/account",
            with(acct(Acct::Manage, 204), &[(Owner, 409), (Session, 409)]),
            true,
        ),
        (
            "POST",
            "/api/v1/account/password",
            acct(Acct::Manage, 200),
            true,
        ),
        (
            "GET",
            "/api/v1/account/sessions",
            acct(Acct::Read, 200),
            false,
        ),
        // Someone else's session: not among yours.
        (
            "DELETE",
            "/api/v1/account/sessions/{id}",
            acct(Acct::Manage, 404),
            false,
        ),
        (
            "POST",
            "/api/v1/account/2fa/totp",
            acct(Acct::Manage, 201),
            false,
        ),
        // Off already (the password given is right).
        (
            "DELETE",
            "/api/v1/account/2fa/totp",
            acct(Acct::Manage, 409),
            false,
        ),
        (
            "POST",
            "/api/v1/account/2fa/totp/confirm",
            acct(Acct::Manage, 409),
            true,
        ),
        (
            "POST",
            "/api/v1/account/2fa/recovery-codes",
            acct(Acct::Manage, 409),
            false,
        ),
        ("GET", "/api/v1/keys", acct(Acct::ReadKeys, 200), false),
        ("POST", "/api/v1/keys", acct(Acct::ManageKeys, 201), false),
        ("GET", "/api/v1/keys/{id}", acct(Acct::ReadKeys, 200), false),
        (
            "PATCH",
            "/api/v1/keys/{id}",
            acct(Acct::ManageKeys, 200),
            false,
        ),
        (
            "DELETE",
            "/api/v1/keys/{id}",
            acct(Acct::ManageKeys, 200),
            true,
        ),
        ("GET", "/api/v1/audit", acct(Acct::Read, 200), false),
        ("GET", "/api/v1/admin/jobs", plat(200), false),
        ("POST", "/api/v1/admin/jobs/{id}/retry", plat(202), false),
        ("GET", "/api/v1/admin/users", plat(200), false),
        ("POST", "/api/v1/admin/users", plat(201), false),
        ("GET", "/api/v1/admin/users/{id}", plat(200), false),
        ("PATCH", "/api/v1/admin/users/{id}", plat(200), false),
        (
            "POST",
            "/api/v1/admin/users/{id}/reset-2fa",
            plat(200),
            false,
        ),
        ("POST", "/api/v1/admin/invitations", plat(201), false),
        // Anyone may list; only their own domains show.
        (
            "GET",
            "/api/v1/domains",
            with(
                public(200),
                &[
                    (None, 401),
                    (Revoked, 401),
                    (Expired, 401),
                    (BadNet, 401),
                    (Disabled, 401),
                    (Session, 401),
                ],
            ),
            false,
        ),
        // Anyone may create (within quota), except keys limited to domains or records.
        (
            "POST",
            "/api/v1/domains",
            with(
                public(201),
                &[
                    (None, 401),
                    (Revoked, 401),
                    (Expired, 401),
                    (BadNet, 401),
                    (Disabled, 401),
                    (Session, 401),
                    (Elsewhere, 403),
                    (Acme, 403),
                    (DomainKey, 403),
                ],
            ),
            false,
        ),
        ("GET", "/api/v1/domains/{name}", dom(Need::Read, 200), false),
        (
            "PATCH",
            "/api/v1/domains/{name}",
            dom(Need::Admin, 200),
            false,
        ),
        (
            "DELETE",
            "/api/v1/domains/{name}",
            dom(Need::Owner, 200),
            true,
        ),
        (
            "GET",
            "/api/v1/domains/{name}/changes",
            dom(Need::Read, 200),
            false,
        ),
        (
            "GET",
            "/api/v1/domains/{name}/changes/{id}",
            dom(Need::Read, 200),
            false,
        ),
        (
            "GET",
            "/api/v1/domains/{name}/versions",
            dom(Need::Read, 200),
            false,
        ),
        // Nothing is published in these worlds: the version asked for does not exist.
        (
            "GET",
            "/api/v1/domains/{name}/versions/{serial}/export",
            dom(Need::Read, 404),
            false,
        ),
        (
            "POST",
            "/api/v1/domains/{name}/revert",
            dom(Need::Write, 200),
            false,
        ),
        (
            "GET",
            "/api/v1/domains/{name}/rrsets",
            dom(Need::Read, 200),
            false,
        ),
        (
            "PUT",
            "/api/v1/domains/{name}/rrsets",
            dom(Need::Write, 200),
            false,
        ),
        (
            "GET",
            "/api/v1/domains/{name}/dnssec",
            dom(Need::Read, 200),
            false,
        ),
        (
            "GET",
            "/api/v1/domains/{name}/records",
            dom(Need::Read, 200),
            false,
        ),
        (
            "POST",
            "/api/v1/domains/{name}/records",
            dom(Need::Write, 201),
            false,
        ),
        (
            "PATCH",
            "/api/v1/domains/{name}/records/{id}",
            dom(Need::Write, 200),
            false,
        ),
        (
            "DELETE",
            "/api/v1/domains/{name}/records/{id}",
            dom(Need::Write, 200),
            false,
        ),
        (
            "POST",
            "/api/v1/domains/{name}/import",
            dom(Need::WriteZone, 200),
            false,
        ),
        (
            "GET",
            "/api/v1/domains/{name}/export",
            dom(Need::Read, 200),
            false,
        ),
        (
            "GET",
            "/api/v1/domains/{name}/webhooks",
            dom(Need::Read, 200),
            false,
        ),
        (
            "POST",
            "/api/v1/domains/{name}/webhooks",
            dom(Need::Secret, 201),
            false,
        ),
        (
            "GET",
            "/api/v1/domains/{name}/webhooks/{id}",
            dom(Need::Read, 200),
            false,
        ),
        (
            "PATCH",
            "/api/v1/domains/{name}/webhooks/{id}",
            dom(Need::Admin, 200),
            false,
        ),
        (
            "DELETE",
            "/api/v1/domains/{name}/webhooks/{id}",
            dom(Need::Admin, 204),
            false,
        ),
        (
            "GET",
            "/api/v1/domains/{name}/webhooks/{id}/deliveries",
            dom(Need::Read, 200),
            false,
        ),
        (
            "GET",
            "/api/v1/domains/{name}/tsig-keys",
            dom(Need::Keys, 200),
            false,
        ),
        (
            "POST",
            "/api/v1/domains/{name}/tsig-keys",
            dom(Need::Keys, 201),
            false,
        ),
        (
            "GET",
            "/api/v1/domains/{name}/tsig-keys/{id}",
            dom(Need::Keys, 200),
            false,
        ),
        (
            "DELETE",
            "/api/v1/domains/{name}/tsig-keys/{id}",
            dom(Need::Keys, 204),
            false,
        ),
        (
            "GET",
            "/api/v1/domains/{name}/members",
            dom(Need::Read, 200),
            false,
        ),
        (
            "POST",
            "/api/v1/domains/{name}/members",
            dom(Need::Members, 201),
            false,
        ),
        (
            "PATCH",
            "/api/v1/domains/{name}/members/{user}",
            dom(Need::Members, 200),
            false,
        ),
        (
            "DELETE",
            "/api/v1/domains/{name}/members/{user}",
            dom(Need::Members, 204),
            false,
        ),
        (
            "DELETE",
            "/api/v1/domains/{name}/invitations/{id}",
            dom(Need::Members, 204),
            false,
        ),
        (
            "GET",
            "/api/v1/domains/{name}/keys",
            dom(Need::Keys, 200),
            false,
        ),
        (
            "POST",
            "/api/v1/domains/{name}/keys",
            dom(Need::Keys, 201),
            false,
        ),
        (
            "GET",
            "/api/v1/domains/{name}/keys/{id}",
            dom(Need::Keys, 200),
            false,
        ),
        (
            "PATCH",
            "/api/v1/domains/{name}/keys/{id}",
            dom(Need::Keys, 200),
            false,
        ),
        (
            "DELETE",
            "/api/v1/domains/{name}/keys/{id}",
            dom(Need::Keys, 200),
            false,
        ),
    ]
}

/// Everything the columns act with: users, their keys, a session, two domains.
struct World {
    n: usize,
    domain: String,
    creds: BTreeMap<Col, Cred>,
    users: BTreeMap<&'static str, (UserId, String)>,
    key_of: BTreeMap<Col, i64>,
    owner_key: i64,
    change_id: i64,
    webhook_id: i64,
    domain_key_id: i64,
    tsig_key_id: i64,
    domain_id: i64,
    other_session: i64,
}

#[derive(Clone)]
enum Cred {
    Nothing,
    Key(String),
    Cookie(String),
    KeyAs(String, String),
}

const PASSWORD: &str = "the matrix password";

struct Fixture {
    pool: PgPool,
    core: Core,
    router: axum::Router,
    hash: String,
    worlds: std::sync::atomic::AtomicUsize,
    calls: std::sync::atomic::AtomicUsize,
}

fn config() -> Config {
    let mut config = common::accounts_config();
    config.signup = "open".into();
    config.webhook_allow_private = true;
    config.webhook_ports = vec!["*".into()];
    // Every webhook route's row makes a webhook on the same domain.
    config.max_webhooks_per_domain = 0;
    config
}

impl Fixture {
    async fn new(pool: PgPool) -> Self {
        let config = config();
        let core = Core {
            pool: pool.clone(),
            queue: Queue::disabled(),
            platform: Arc::new(config.platform().unwrap()),
        };
        Self {
            router: common::router_for(&pool, &config),
            pool,
            core,
            hash: password::hash(PASSWORD).await.unwrap(),
            worlds: Default::default(),
            calls: Default::default(),
        }
    }

    fn next(&self) -> usize {
        self.calls
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    }

    async fn user(&self, name: &str, n: usize, admin: bool) -> (UserId, String) {
        let email = format!("{name}{n}@example.com");
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO users (email, password_hash, is_admin, email_verified_at) VALUES ($1, $2, $3, now()) RETURNING id",
        )
        .bind(&email)
        .bind(&self.hash)
        .bind(admin)
        .fetch_one(&self.pool)
        .await
        .unwrap();
        (UserId(id), email)
    }

    async fn key(&self, user: UserId, tweak: &str) -> (i64, String) {
        let (id, token) = keys::create_full(&self.pool, user, "matrix").await.unwrap();
        if !tweak.is_empty() {
            // Test-only: the tweaks are fixed strings of this file.
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "UPDATE api_keys SET {tweak} WHERE id = $1"
            )))
            .bind(id.0)
            .execute(&self.pool)
            .await
            .unwrap();
        }
        (id.0, token)
    }

    async fn world(&self) -> World {
        let n = self
            .worlds
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let alice = self.user("alice", n, false).await;
        let rita = self.user("rita", n, false).await;
        let walt = self.user("walt", n, false).await;
        let ada = self.user("ada", n, false).await;
        let sam = self.user("sam", n, false).await;
        let dora = self.user("dora", n, false).await;
        let root = self.user("root", n, true).await;
        let as_alice = Actor::cli(alice.0, PlatformRoles::default());
        let domain = format!("d{n}.example");
        let other = format!("o{n}.example");
        domains::create(&self.core, &as_alice, &domain)
            .await
            .unwrap();
        domains::create(&self.core, &as_alice, &other)
            .await
            .unwrap();
        let domain_id: i64 = sqlx::query_scalar("SELECT id FROM domains WHERE name = $1")
            .bind(&domain)
            .fetch_one(&self.pool)
            .await
            .unwrap();
        let other_id: i64 = sqlx::query_scalar("SELECT id FROM domains WHERE name = $1")
            .bind(&other)
            .fetch_one(&self.pool)
            .await
            .unwrap();
        for (user, role) in [
            (&rita, "read"),
            (&walt, "write"),
            (&ada, "admin"),
            (&dora, "owner"),
        ] {
            if role == "owner" {
                continue;
            }
            sqlx::query("INSERT INTO domain_members (domain_id, user_id, role) VALUES ($1, $2, $3::domain_role)")
                .bind(domain_id)
                .bind(user.0.0)
                .bind(role)
                .execute(&self.pool)
                .await
                .unwrap();
        }
        let flagless = "manage_keys = false, manage_members = false, manage_account = false, platform_roles = false";
        let mut creds = BTreeMap::new();
        let mut key_of = BTreeMap::new();
        let mut put = |c: Col, (id, token): (i64, String)| {
            key_of.insert(c, id);
            creds.insert(c, Cred::Key(token));
        };
        put(Col::Revoked, self.key(alice.0, "revoked_at = now()").await);
        put(
            Col::Expired,
            self.key(alice.0, "expires_at = now() - interval '1 second'")
                .await,
        );
        put(
            Col::BadNet,
            self.key(alice.0, "networks = '{192.0.2.0/24}'").await,
        );
        put(Col::Disabled, self.key(dora.0, "").await);
        put(Col::Stranger, self.key(sam.0, "").await);
        put(Col::Read, self.key(rita.0, "").await);
        put(Col::Write, self.key(walt.0, "").await);
        put(Col::Admin, self.key(ada.0, "").await);
        let owner = self.key(alice.0, "").await;
        let owner_key = owner.0;
        put(Col::Owner, owner);
        put(
            Col::Capped,
            self.key(alice.0, &format!("max_role = 'read', {flagless}"))
                .await,
        );
        put(
            Col::Elsewhere,
            self.key(
                alice.0,
                &format!("domain_ids = '{{{other_id}}}', {flagless}"),
            )
            .await,
        );
        put(
            Col::Acme,
            self.key(
                alice.0,
                &format!(
                    r#"max_role = 'write', record_scopes = '[{{"name": "_acme-challenge.*", "types": ["TXT"]}}]', {flagless}"#
                ),
            )
            .await,
        );
        put(Col::NoManage, self.key(alice.0, flagless).await);
        put(Col::Platform, self.key(root.0, "").await);
        let (imp_id, imp_token) = self.key(root.0, "").await;
        key_of.insert(Col::Impersonating, imp_id);
        creds.insert(Col::Impersonating, Cred::KeyAs(imp_token, rita.1.clone()));
        sqlx::query("UPDATE users SET disabled_at = now() WHERE id = $1")
            .bind(dora.0.0)
            .execute(&self.pool)
            .await
            .unwrap();
        let dk = keys::create_domain_key(
            &self.core,
            &as_alice,
            &domain,
            keys::KeyInput {
                description: "deploy".into(),
                role: Some(apex_core::actor::Role::Write),
                ..Default::default()
            },
        )
        .await
        .unwrap();
        creds.insert(Col::DomainKey, Cred::Key(dk.token.clone()));
        key_of.insert(Col::DomainKey, dk.key.id.0);
        let session = sessions::create(
            &self.pool,
            &self.core,
            alice.0,
            false,
            None,
            &Client::default(),
        )
        .await
        .unwrap();
        creds.insert(Col::Session, Cred::Cookie(session.token));
        // A session of someone none of the columns acts as.
        let tess = self.user("tess", n, false).await;
        let other_session = sessions::create(
            &self.pool,
            &self.core,
            tess.0,
            false,
            None,
            &Client::default(),
        )
        .await
        .unwrap()
        .id
        .0;
        creds.insert(Col::None, Cred::Nothing);
        let hook = webhooks::create(
            &self.core,
            &as_alice,
            &domain,
            &webhooks::NewWebhook {
                url: "http://127.0.0.1:9/hook".into(),
                events: None,
                description: None,
            },
        )
        .await
        .unwrap();
        let change_id: i64 =
            sqlx::query_scalar("SELECT id FROM changes WHERE zone = $1 ORDER BY id LIMIT 1")
                .bind(&domain)
                .fetch_one(&self.pool)
                .await
                .unwrap();
        let users = BTreeMap::from([
            ("alice", alice.clone()),
            ("rita", rita),
            ("sam", sam),
            ("root", root),
        ]);
        let tsig_key_id = apex_core::tsig_keys::create(
            &self.core,
            &as_alice,
            &domain,
            apex_core::tsig_keys::NewTsigKey {
                name: "tool".into(),
                algorithm: None,
                update: None,
                records: None,
                transfer: None,
                description: None,
            },
        )
        .await
        .unwrap()
        .key
        .id
        .0;
        World {
            n,
            domain,
            creds,
            users,
            key_of,
            owner_key,
            change_id,
            webhook_id: hook.webhook.id.0,
            domain_key_id: dk.key.id.0,
            tsig_key_id,
            domain_id,
            other_session,
        }
    }

    /// A record of the world's domain, made by its owner, for a call to change or delete.
    async fn record(&self, w: &World, i: usize) -> i64 {
        let alice = w.users["alice"].0;
        let (record, _, _) = apex_core::records::create(
            &self.core,
            &Actor::cli(alice, PlatformRoles::default()),
            &w.domain,
            &apex_core::records::RecordInput {
                name: format!("www{i}"),
                rtype: "TXT".into(),
                ttl: None,
                content: format!("\"record {i}\""),
                comment: None,
                disabled: false,
            },
        )
        .await
        .unwrap();
        record.id.0
    }
}

/// A concrete request for a row, made against `w` for column `c` (the `i`th call).
async fn request(
    f: &Fixture,
    w: &World,
    c: Col,
    method: &str,
    path: &str,
    i: usize,
) -> (String, Option<(String, &'static str)>) {
    let d = &w.domain;
    let json = |v: Value| Some((v.to_string(), "application/json"));
    let alice = &w.users["alice"];
    match (method, path) {
        ("POST", "/api/v1/auth/signup") => (
            path.into(),
            json(json!({"email": format!("new{i}@example.org"), "password": PASSWORD})),
        ),
        ("POST", "/api/v1/auth/verify-email") | ("POST", "/api/v1/auth/password-reset/confirm") => {
            (
                path.into(),
                json(
                    json!({"token": "0".repeat(64), "password": PASSWORD})
                        .as_object()
                        .map(|o| {
                            let mut o = o.clone();
                            if path.ends_with("verify-email") {
                                o.remove("password");
                            }
                            Value::Object(o)
                        })
                        .unwrap(),
                ),
            )
        }
        ("POST", "/api/v1/auth/verify-email/resend") | ("POST", "/api/v1/auth/password-reset") => {
            (path.into(), json(json!({"email": alice.1})))
        }
        ("POST", "/api/v1/auth/login") => (
            path.into(),
            json(json!({"email": w.users["sam"].1, "password": PASSWORD})),
        ),
        ("POST", "/api/v1/auth/login/2fa") => (path.into(), json(json!({"code": "123456"}))),
        ("POST", "/api/v1/auth/invitations/accept") => {
            (path.into(), json(json!({"token": "0".repeat(64)})))
        }
        ("DELETE", "/api/v1/account") => (path.into(), json(json!({"password": PASSWORD}))),
        ("POST", "/api/v1/account/catalog") | ("PATCH", "/api/v1/account/catalog") => {
            (path.into(), json(json!({"secondaries": []})))
        }
        ("PUT", "/api/v1/account/template") | ("PUT", "/api/v1/admin/template") => (
            path.into(),
            json(json!({"records": [{"name": "@", "type": "MX", "content": "10 mail.{domain}"}]})),
        ),
        ("POST", "/api/v1/account/password") => (
            path.into(),
            json(json!({"current_password": PASSWORD, "new_password": "another matrix password"})),
        ),
        ("DELETE", "/api/v1/account/sessions/{id}") => (
            format!("/api/v1/account/sessions/{}", w.other_session),
            None,
        ),
        ("DELETE", "/api/v1/account/2fa/totp") => (
            path.into(),
            json(json!({"password": PASSWORD, "code": "123456"})),
        ),
        ("POST", "/api/v1/account/2fa/totp/confirm")
        | ("POST", "/api/v1/account/2fa/recovery-codes") => {
            (path.into(), json(json!({"code": "123456"})))
        }
        ("POST", "/api/v1/account/2fa/totp") => (path.into(), json(json!({}))),
        ("POST", "/api/v1/keys") => (path.into(), json(json!({"description": format!("k{i}")}))),
        (_, "/api/v1/keys/{id}") => {
            // The caller's own key (an impersonator sees the impersonated user's).
            let own = if c == Col::Impersonating {
                Col::Read
            } else {
                c
            };
            let id = w.key_of.get(&own).copied().unwrap_or(w.owner_key);
            let body = (method == "PATCH").then(|| json!({"description": "renamed"}));
            (format!("/api/v1/keys/{id}"), body.and_then(json))
        }
        ("POST", "/api/v1/admin/jobs/{id}/retry") => (
            format!("/api/v1/admin/jobs/publish_zone:{}/retry", w.domain_id),
            None,
        ),
        ("POST", "/api/v1/admin/users") => (
            path.into(),
            json(json!({"email": format!("made{i}@example.org")})),
        ),
        (_, p) if p.starts_with("/api/v1/admin/users/{id}") => {
            let target = f.user("target", 100_000 + i, false).await;
            let body = (method == "PATCH").then(|| json!({"domain_quota": 5}));
            (
                p.replace("{id}", &target.0.to_string()),
                body.and_then(json),
            )
        }
        ("POST", "/api/v1/admin/invitations") => (
            path.into(),
            json(json!({"email": format!("invited{i}@example.org")})),
        ),
        ("POST", "/api/v1/domains") => (
            path.into(),
            json(json!({"name": format!("new{i}-{}.example", w.n)})),
        ),
        ("PATCH", "/api/v1/domains/{name}") => (
            format!("/api/v1/domains/{d}"),
            json(json!({"soa": {"refresh": 7200 + i}})),
        ),
        ("GET", "/api/v1/domains/{name}/changes/{id}") => {
            (format!("/api/v1/domains/{d}/changes/{}", w.change_id), None)
        }
        ("POST", "/api/v1/domains/{name}/records") => (
            format!("/api/v1/domains/{d}/records"),
            json(
                json!({"name": format!("new{i}"), "type": "TXT", "content": format!("\"call {i}\"")}),
            ),
        ),
        (_, "/api/v1/domains/{name}/records/{id}") => {
            let id = f.record(w, i).await;
            let body = (method == "PATCH").then(|| json!({"ttl": 600}));
            (
                format!("/api/v1/domains/{d}/records/{id}"),
                body.and_then(json),
            )
        }
        ("POST", "/api/v1/domains/{name}/import") => (
            format!("/api/v1/domains/{d}/import?dry_run=true"),
            Some(("www 300 IN A 192.0.2.1\n".into(), "text/dns")),
        ),
        ("POST", "/api/v1/domains/{name}/webhooks") => (
            format!("/api/v1/domains/{d}/webhooks"),
            json(json!({"url": "http://127.0.0.1:9/other"})),
        ),
        ("DELETE", "/api/v1/domains/{name}/webhooks/{id}") => {
            let hook = webhooks::create(
                &f.core,
                &Actor::cli(alice.0, PlatformRoles::default()),
                d,
                &webhooks::NewWebhook {
                    url: "http://127.0.0.1:9/gone".into(),
                    events: None,
                    description: None,
                },
            )
            .await
            .unwrap();
            (
                format!("/api/v1/domains/{d}/webhooks/{}", hook.webhook.id.0),
                None,
            )
        }
        ("PATCH", "/api/v1/domains/{name}/webhooks/{id}") => (
            format!("/api/v1/domains/{d}/webhooks/{}", w.webhook_id),
            json(json!({"enabled": false})),
        ),
        (_, p) if p.starts_with("/api/v1/domains/{name}/webhooks/{id}") => (
            p.replace("{name}", d)
                .replace("{id}", &w.webhook_id.to_string()),
            None,
        ),
        ("POST", "/api/v1/domains/{name}/members") => {
            let u = f.user("joiner", 200_000 + i, false).await;
            (
                format!("/api/v1/domains/{d}/members"),
                json(json!({"email": u.1, "role": "read"})),
            )
        }
        (_, "/api/v1/domains/{name}/members/{user}") => {
            let u = f.user("member", 300_000 + i, false).await;
            sqlx::query(
                "INSERT INTO domain_members (domain_id, user_id, role) VALUES ($1, $2, 'read')",
            )
            .bind(w.domain_id)
            .bind(u.0.0)
            .execute(&f.pool)
            .await
            .unwrap();
            let body = (method == "PATCH").then(|| json!({"role": "write"}));
            (
                format!("/api/v1/domains/{d}/members/{}", u.0),
                body.and_then(json),
            )
        }
        ("DELETE", "/api/v1/domains/{name}/invitations/{id}") => {
            let mut tx = f.pool.begin().await.unwrap();
            let inv = apex_core::invitations::create(
                &mut tx,
                &f.core,
                &Actor::cli(alice.0, PlatformRoles::default()),
                &format!("guest{i}@example.org"),
                Some((apex_core::ids::DomainId(w.domain_id), d)),
                Some(apex_core::actor::Role::Read),
            )
            .await
            .unwrap();
            tx.commit().await.unwrap();
            (
                format!("/api/v1/domains/{d}/invitations/{}", inv.id.0),
                None,
            )
        }
        ("POST", "/api/v1/domains/{name}/tsig-keys") => (
            format!("/api/v1/domains/{d}/tsig-keys"),
            json(json!({"name": format!("t{i}")})),
        ),
        ("DELETE", "/api/v1/domains/{name}/tsig-keys/{id}") => {
            let k = apex_core::tsig_keys::create(
                &f.core,
                &Actor::cli(alice.0, PlatformRoles::default()),
                d,
                apex_core::tsig_keys::NewTsigKey {
                    name: format!("gone{i}"),
                    algorithm: None,
                    update: None,
                    records: None,
                    transfer: None,
                    description: None,
                },
            )
            .await
            .unwrap();
            (
                format!("/api/v1/domains/{d}/tsig-keys/{}", k.key.id.0),
                None,
            )
        }
        ("GET", "/api/v1/domains/{name}/tsig-keys/{id}") => (
            format!("/api/v1/domains/{d}/tsig-keys/{}", w.tsig_key_id),
            None,
        ),
        ("POST", "/api/v1/domains/{name}/keys") => (
            format!("/api/v1/domains/{d}/keys"),
            json(json!({"description": format!("dk{i}"), "role": "read"})),
        ),
        ("DELETE", "/api/v1/domains/{name}/keys/{id}") => {
            let dk = keys::create_domain_key(
                &f.core,
                &Actor::cli(alice.0, PlatformRoles::default()),
                d,
                keys::KeyInput {
                    description: format!("gone{i}"),
                    role: Some(apex_core::actor::Role::Read),
                    ..Default::default()
                },
            )
            .await
            .unwrap();
            (format!("/api/v1/domains/{d}/keys/{}", dk.key.id.0), None)
        }
        (_, "/api/v1/domains/{name}/keys/{id}") => {
            let body = (method == "PATCH").then(|| json!({"description": format!("renamed {i}")}));
            (
                format!("/api/v1/domains/{d}/keys/{}", w.domain_key_id),
                body.and_then(json),
            )
        }
        ("POST", "/api/v1/domains/{name}/revert") => {
            // Undo (as a dry run) the creation of a record of its own.
            f.record(w, i).await;
            let change: i64 = sqlx::query_scalar("SELECT max(id) FROM changes WHERE zone = $1")
                .bind(d)
                .fetch_one(&f.pool)
                .await
                .unwrap();
            (
                format!("/api/v1/domains/{d}/revert?dry_run=true"),
                json(json!({"change": change})),
            )
        }
        ("PUT", "/api/v1/domains/{name}/rrsets") => (
            format!("/api/v1/domains/{d}/rrsets"),
            json(
                json!([{"name": format!("set{i}"), "type": "TXT", "records": [format!("\"set {i}\"")]}]),
            ),
        ),
        (_, p) => (p.replace("{name}", d).replace("{serial}", "1"), None),
    }
}

async fn call(
    router: &axum::Router,
    cred: &Cred,
    method: &str,
    uri: &str,
    body: Option<(String, &'static str)>,
) -> (u16, Value) {
    let mut req = Request::builder().method(method).uri(uri);
    match cred {
        Cred::Nothing => {}
        Cred::Key(k) => req = req.header(header::AUTHORIZATION, format!("Bearer {k}")),
        Cred::Cookie(t) => req = req.header(header::COOKIE, format!("apex_session={t}")),
        Cred::KeyAs(k, who) => {
            req = req
                .header(header::AUTHORIZATION, format!("Bearer {k}"))
                .header("apex-impersonate", who)
        }
    }
    let body = match body {
        Some((text, ctype)) => {
            req = req.header(header::CONTENT_TYPE, ctype);
            Body::from(text)
        }
        None => Body::empty(),
    };
    let resp = router
        .clone()
        .oneshot(req.body(body).unwrap())
        .await
        .unwrap();
    let status = resp.status().as_u16();
    let bytes = resp.into_body().collect().await.unwrap().to_bytes();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

/// Every (method, path) the router answers: the paths it was built with, and for each the
/// methods that do not get 405.
async fn routed(router: &axum::Router) -> BTreeSet<(String, String)> {
    let mut found = BTreeSet::new();
    for path in apex_api::route_paths() {
        let concrete = path
            .replace("{name}", "probe.example")
            .replace("{id}", "1")
            .replace("{serial}", "1")
            .replace("{user}", "1");
        for method in ["GET", "POST", "PUT", "PATCH", "DELETE"] {
            let req = Request::builder()
                .method(method)
                .uri(&concrete)
                .body(Body::empty())
                .unwrap();
            let status = router.clone().oneshot(req).await.unwrap().status();
            if status != StatusCode::METHOD_NOT_ALLOWED {
                found.insert((method.to_string(), path.clone()));
            }
        }
    }
    found
}

#[sqlx::test(migrator = "apex_core::db::MIGRATOR")]
async fn every_route_with_every_credential(pool: PgPool) {
    let f = Fixture::new(pool).await;
    let rows = rows();

    // The rows are exactly the router's routes.
    let listed: BTreeSet<(String, String)> = rows
        .iter()
        .map(|(m, p, _, _)| (m.to_string(), p.to_string()))
        .collect();
    let routed = routed(&f.router).await;
    let unlisted: Vec<_> = routed.difference(&listed).collect();
    let unrouted: Vec<_> = listed.difference(&routed).collect();
    assert!(
        unlisted.is_empty() && unrouted.is_empty(),
        "routes without a matrix row: {unlisted:?}; rows without a route: {unrouted:?}"
    );

    let shared = f.world().await;
    let mut failures = Vec::new();
    let mut calls = 0;
    for (method, path, expected, fresh) in &rows {
        assert_eq!(expected.len(), COLS.len(), "{method} {path}");
        for col in COLS {
            let own;
            let w = if *fresh {
                own = f.world().await;
                &own
            } else {
                &shared
            };
            let i = f.next();
            let (uri, body) = request(&f, w, col, method, path, i).await;
            let (status, answer) = call(&f.router, &w.creds[&col], method, &uri, body).await;
            calls += 1;
            let want = expected[&col];
            if status != want {
                failures.push(format!(
                    "{method} {path} as {col:?}: got {status}, want {want}: {answer}"
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {calls} calls answered otherwise:\n{}",
        failures.len(),
        failures.join("\n")
    );
    // Zero leaks: no 404-hidden domain was named in any refusal to a stranger (checked by
    // the statuses) and no secret went to an impersonator (the Secret and key rows).
    assert!(calls >= rows.len() * COLS.len());
}
