//! The administration pages driven as a browser without JavaScript would: a user without
//! platform roles is refused and sees no link; an administrator finds a user, sets their
//! quota, resets their second factor, acts as them and stops, disables them, retries a
//! publishing job, reads the fleet's lag and finds the impersonation in the audit log; a
//! form without this browser's CSRF token changes nothing.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod common;

use apex_core::actor::{Actor, PlatformRoles};
use apex_core::auth::totp;
use apex_core::users::{self, twofa};
use axum::http::StatusCode;
use common::*;
use sqlx::PgPool;

const ADMIN: &str = "admin@example.org";
const BOB: &str = "bob@example.org";
const CAROL: &str = "carol@example.org";

/// A user with a password (a platform administrator when `admin`) and, when `with_totp`,
/// an authenticator.
async fn user(web: &Web, email: &str, admin: bool, with_totp: bool) -> i64 {
    let id = users::create_user(web.pool(), email, PASSWORD, admin)
        .await
        .unwrap();
    if with_totp {
        enrol(web, id.0).await;
    }
    id.0
}

/// Gives user `id` an authenticator; returns its secret.
async fn enrol(web: &Web, id: i64) -> Vec<u8> {
    let actor = Actor::cli(apex_core::ids::UserId(id), PlatformRoles::default());
    let enrolment = twofa::start(&web.core, &actor).await.unwrap();
    let secret = totp::secret_from_base32(&enrolment.secret).unwrap();
    twofa::confirm(&web.core, &actor, &totp::code_at(&secret, now()))
        .await
        .unwrap();
    secret
}

/// Signs in with the password and the authenticator's next code.
async fn sign_in_2fa(web: &Web, email: &str, secret: &[u8]) {
    web.get("/login").await;
    let page = web
        .post(
            "/login",
            &[
                ("email", email),
                ("password", PASSWORD),
                ("next", "/domains"),
            ],
        )
        .await;
    assert_eq!(page.location(), "/login/2fa?next=%2Fdomains");
    web.get(&page.location()).await;
    let code = totp::code_at(secret, now() + 30);
    let page = web
        .post("/login/2fa", &[("code", &code), ("next", "/domains")])
        .await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.source);
    assert_eq!(page.location(), "/domains");
}

async fn scalar<T>(web: &Web, sql: &'static str, id: i64) -> T
where
    T: for<'r> sqlx::Decode<'r, sqlx::Postgres> + sqlx::Type<sqlx::Postgres> + Send + Unpin,
{
    sqlx::query_scalar(sql)
        .bind(id)
        .fetch_one(web.pool())
        .await
        .unwrap()
}

#[sqlx::test(migrator = "apex_core::db::MIGRATOR")]
async fn someone_without_platform_roles_is_refused(pool: PgPool) {
    let web = Web::new(pool, &config("invite"));
    user(&web, CAROL, false, false).await;
    web.sign_in(CAROL).await;
    let page = web.get("/domains").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(!page.has("a[href='/admin']"), "{}", page.source);
    for uri in [
        "/admin",
        "/admin/users",
        "/admin/users/1",
        "/admin/jobs",
        "/admin/fleet",
        "/admin/audit",
    ] {
        let page = web.get(uri).await;
        assert_eq!(page.status, StatusCode::FORBIDDEN, "{uri}: {}", page.source);
        assert!(page.text("h1").contains("Not allowed"), "{uri}");
    }
    web.get("/domains").await;
    let page = web
        .post("/admin/users/1/status", &[("disabled", "true")])
        .await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
}

#[sqlx::test(migrator = "apex_core::db::MIGRATOR")]
async fn an_administrator_manages_users_jobs_fleet_and_audit(pool: PgPool) {
    let web = Web::new(pool, &config("invite"));
    let admin = user(&web, ADMIN, true, false).await;
    let bob = user(&web, BOB, false, true).await;
    user(&web, CAROL, false, false).await;
    web.sign_in(ADMIN).await;

    // The overview links every section.
    let page = web.get("/domains").await;
    assert!(page.has("a[href='/admin']"));
    let page = web.get("/admin").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.source);
    for href in [
        "/admin/users",
        "/admin/jobs",
        "/admin/fleet",
        "/admin/audit",
    ] {
        assert!(page.has(&format!("nav a[href='{href}']")), "{href}");
    }
    assert_eq!(
        page.attr("nav[aria-label=Main] a[href='/admin']", "aria-current"),
        "page"
    );

    // All users, then a search.
    let page = web.get("/admin/users").await;
    assert_eq!(page.status, StatusCode::OK);
    assert_eq!(page.all("tbody tr").len(), 3);
    assert!(page.has("th[scope=col]"));
    assert!(page.has("label[for=q]"));
    let page = web.get("/admin/users?q=BOB").await;
    assert_eq!(page.all("tbody tr").len(), 1, "{}", page.source);
    let link = page.attr("tbody a", "href");
    assert_eq!(link, format!("/admin/users/{bob}"));
    assert!(page.text("tbody tr").contains("on"));

    // Bob's page: a quota typed wrong stays on its field; a right one is saved.
    let page = web.get(&link).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.text("h2").contains(BOB));
    assert!(page.has("label[for=domain_quota]"));
    let page = web
        .post(&format!("{link}/quota"), &[("domain_quota", "lots")])
        .await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(page.attr("#domain_quota", "aria-invalid"), "true");
    assert_eq!(page.attr("#domain_quota", "value"), "lots");
    let page = web
        .post(&format!("{link}/quota"), &[("domain_quota", "-1")])
        .await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.has("#domain_quota-error"));
    let page = web
        .post(&format!("{link}/quota"), &[("domain_quota", "5")])
        .await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.source);
    let quota: Option<i32> =
        scalar(&web, "SELECT domain_quota FROM users WHERE id = $1", bob).await;
    assert_eq!(quota, Some(5));
    let page = web.get(&page.location()).await;
    assert!(page.text(".notice.ok").contains("quota"));

    // Without this browser's token nothing changes.
    let page = web
        .post(
            &format!("{link}/status"),
            &[("disabled", "true"), ("csrf", "x")],
        )
        .await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
    let disabled: bool = scalar(
        &web,
        "SELECT disabled_at IS NOT NULL FROM users WHERE id = $1",
        bob,
    )
    .await;
    assert!(!disabled);

    // The second factor, reset after a confirmation.
    web.get(&link).await;
    let page = web.get(&format!("{link}/reset-2fa")).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.has("form[action$='/reset-2fa'] button.danger"));
    let page = web.post(&format!("{link}/reset-2fa"), &[]).await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.source);
    let totp: bool = scalar(
        &web,
        "SELECT totp_enabled_at IS NOT NULL FROM users WHERE id = $1",
        bob,
    )
    .await;
    assert!(!totp);
    let told: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM mail_outbox WHERE recipient = $1 AND body LIKE '%reset two-factor%'",
    )
    .bind(BOB)
    .fetch_one(web.pool())
    .await
    .unwrap();
    assert_eq!(told, 1);

    // Acting as Bob: his pages, with the banner; the session names the administrator.
    let page = web.get(&link).await;
    assert!(page.has("form[action$='/impersonate']"));
    let page = web
        .post(&format!("{link}/impersonate"), &[("email", BOB)])
        .await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.source);
    assert_eq!(page.location(), "/domains");
    assert!(web.cookie("apex_admin_session").is_some());
    let page = web.get("/domains").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.text(".banner").contains(BOB));
    assert!(page.text(".banner").contains(ADMIN));
    assert!(page.text(".who").contains(BOB));
    assert!(!page.has("a[href='/admin']"));
    let impersonator: Option<i64> = scalar(
        &web,
        "SELECT impersonator_id FROM sessions WHERE user_id = $1 AND revoked_at IS NULL",
        bob,
    )
    .await;
    assert_eq!(impersonator, Some(admin));
    // Bob holds no platform role: as him, administration is refused.
    assert_eq!(web.get("/admin/users").await.status, StatusCode::FORBIDDEN);

    // The banner's button: back to the administrator, the impersonation session ended.
    web.get("/domains").await;
    let page = web.post("/admin/stop-impersonating", &[]).await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.source);
    assert_eq!(page.location(), format!("{link}?done=impersonation"));
    assert!(web.cookie("apex_admin_session").is_none());
    let page = web.get(&page.location()).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(!page.has(".banner"));
    assert!(page.text(".who").contains(ADMIN));
    let open: i64 = scalar(
        &web,
        "SELECT count(*) FROM sessions WHERE user_id = $1 AND revoked_at IS NULL",
        bob,
    )
    .await;
    assert_eq!(open, 0);

    // Disabled, then enabled again.
    let page = web
        .post(&format!("{link}/status"), &[("disabled", "true")])
        .await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.source);
    let disabled: bool = scalar(
        &web,
        "SELECT disabled_at IS NOT NULL FROM users WHERE id = $1",
        bob,
    )
    .await;
    assert!(disabled);
    let page = web.get(&page.location()).await;
    assert!(page.has(".badge.bad"));
    // Disabling yourself is refused, with apex-core's reason on the page.
    let page = web
        .post(
            &format!("/admin/users/{admin}/status"),
            &[("disabled", "true")],
        )
        .await;
    assert_eq!(page.status, StatusCode::CONFLICT);
    assert!(page.text(".summary").contains("cannot disable yourself"));
    let page = web
        .post(&format!("{link}/status"), &[("disabled", "false")])
        .await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);

    // A new domain waits to be published: its job is listed and retried.
    web.get("/domains/new").await;
    let page = web
        .post(
            "/domains",
            &[
                ("name", "shop.test"),
                ("zone", "$TTL 300\nwww IN A 192.0.2.10\n"),
            ],
        )
        .await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.source);
    let domain: i64 = sqlx::query_scalar("SELECT id FROM domains WHERE name = 'shop.test'")
        .fetch_one(web.pool())
        .await
        .unwrap();
    let page = web.get("/admin/jobs").await;
    assert_eq!(page.status, StatusCode::OK);
    let job = format!("publish_zone:{domain}");
    assert!(page.text("tbody").contains(&job), "{}", page.source);
    assert!(page.has("label[for=state]"));
    let action = page.attr("tbody form", "action");
    let page = web.post(&action, &[("state", "")]).await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.source);
    let page = web.get(&page.location()).await;
    assert!(page.text(".notice.ok").contains(&job));
    let page = web.get("/admin/jobs?state=failed").await;
    assert!(!page.has("tbody"));
    assert_eq!(
        web.get("/admin/jobs?state=odd").await.status,
        StatusCode::UNPROCESSABLE_ENTITY
    );

    // The fleet: one nameserver has served the version, the other not yet.
    let page = web.get("/admin/fleet").await;
    assert_eq!(page.status, StatusCode::OK);
    sqlx::query(
        "INSERT INTO fleet_sync (domain_id, serial, nameserver, observed_serial, seen_at)
         VALUES ($1, 1, '192.0.2.53:53', 1, now()), ($1, 1, '192.0.2.54:53', NULL, NULL),
                ($1, 2, '192.0.2.53:53', 2, now()), ($1, 2, '192.0.2.54:53', NULL, NULL)",
    )
    .bind(domain)
    .execute(web.pool())
    .await
    .unwrap();
    let page = web.get("/admin/fleet").await;
    let rows = page.all("tbody tr");
    assert_eq!(rows.len(), 2, "{}", page.source);
    let text = |r: &scraper::ElementRef<'_>| r.text().collect::<Vec<_>>().join(" ");
    assert!(text(&rows[0]).contains("192.0.2.54:53"));
    assert!(text(&rows[0]).contains("behind"));
    assert!(text(&rows[1]).contains("192.0.2.53:53"));
    assert!(text(&rows[1]).contains("in sync"));

    // The audit log: the impersonation, started and ended, and the reset.
    let page = web.get("/admin/audit").await;
    assert_eq!(page.status, StatusCode::OK);
    let all = page.text("tbody");
    for event in [
        "impersonation.started",
        "impersonation.ended",
        "2fa.reset",
        "user.disabled",
    ] {
        assert!(all.contains(event), "{event}");
    }
    let page = web.get("/admin/audit?event=impersonation.started").await;
    let rows = page.all("tbody tr");
    assert_eq!(rows.len(), 1, "{}", page.source);
    assert!(text(&rows[0]).contains(ADMIN));
    assert!(text(&rows[0]).contains(BOB));
    assert!(page.has("label[for=event]"));
}

#[sqlx::test(migrator = "apex_core::db::MIGRATOR")]
async fn impersonating_a_disabled_user_is_refused(pool: PgPool) {
    let web = Web::new(pool, &config("invite"));
    user(&web, ADMIN, true, false).await;
    let bob = user(&web, BOB, false, false).await;
    web.sign_in(ADMIN).await;
    let link = format!("/admin/users/{bob}");
    web.get(&link).await;
    let page = web
        .post(&format!("{link}/status"), &[("disabled", "true")])
        .await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    web.get(&link).await;
    let page = web
        .post(&format!("{link}/impersonate"), &[("email", BOB)])
        .await;
    assert_eq!(page.status, StatusCode::FORBIDDEN, "{}", page.source);
    assert!(web.cookie("apex_admin_session").is_none());
    let sessions: i64 = scalar(
        &web,
        "SELECT count(*) FROM sessions WHERE user_id = $1",
        bob,
    )
    .await;
    assert_eq!(sessions, 0);
    // Nobody else's address may be slipped in under Bob's id.
    let page = web
        .post(&format!("{link}/impersonate"), &[("email", CAROL)])
        .await;
    assert_ne!(page.status, StatusCode::SEE_OTHER);
    let page = web.get("/admin/audit?event=impersonation.refused").await;
    assert_eq!(page.all("tbody tr").len(), 2, "{}", page.source);
}

#[sqlx::test(migrator = "apex_core::db::MIGRATOR")]
async fn impersonation_where_everyone_needs_a_second_factor(pool: PgPool) {
    let mut config = config("invite");
    config.require_2fa = "all".into();
    let web = Web::new(pool, &config);
    let admin = user(&web, ADMIN, true, false).await;
    let secret = enrol(&web, admin).await;
    // Bob has not enrolled yet: on his own, he could only enrol.
    let bob = user(&web, BOB, false, false).await;
    sign_in_2fa(&web, ADMIN, &secret).await;
    let link = format!("/admin/users/{bob}");
    web.get(&link).await;
    let page = web
        .post(&format!("{link}/impersonate"), &[("email", BOB)])
        .await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.source);
    // The administrator proved who they are: Bob's pages, not his enrolment.
    let page = web.get("/domains").await;
    assert_eq!(page.status, StatusCode::OK, "{:?}", page.headers);
    assert!(page.text(".banner").contains(BOB));
    // Signing out while impersonating keeps no administrator's session in the browser, and
    // ends it: the administrator pressed "Sign out".
    let kept = web.cookie("apex_admin_session").unwrap();
    let page = web.post("/logout", &[]).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.source);
    assert!(web.cookie("apex_admin_session").is_none());
    assert!(web.cookie("apex_session").is_none());
    let live: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM sessions WHERE token_hash = $1 AND revoked_at IS NULL",
    )
    .bind(apex_core::auth::token::token_hash(&kept))
    .fetch_one(web.pool())
    .await
    .unwrap();
    assert_eq!(live, 0, "the administrator's own session ended");
}

#[sqlx::test(migrator = "apex_core::db::MIGRATOR")]
async fn users_and_events_come_in_pages(pool: PgPool) {
    let web = Web::new(pool, &config("invite"));
    user(&web, ADMIN, true, false).await;
    sqlx::query(
        "INSERT INTO users (email, password_hash)
         SELECT 'user' || n || '@example.org', 'x' FROM generate_series(1, 120) AS n",
    )
    .execute(web.pool())
    .await
    .unwrap();
    sqlx::query(
        "INSERT INTO audit_events (event, success, subject_email)
         SELECT 'test.event', true, 'user' || n || '@example.org' FROM generate_series(1, 130) AS n",
    )
    .execute(web.pool())
    .await
    .unwrap();
    web.sign_in(ADMIN).await;

    let page = web.get("/admin/users").await;
    assert_eq!(page.all("tbody tr").len(), 100);
    let next = page.attr("nav.pages a[rel=next]", "href");
    let page = web.get(&next).await;
    assert_eq!(page.status, StatusCode::OK);
    // 121 users: the admin is the oldest, on the second page.
    assert_eq!(page.all("tbody tr").len(), 21);
    assert!(page.text("tbody").contains(ADMIN));
    assert!(!page.has("nav.pages a[rel=next]"));
    assert!(page.has("nav.pages a[href='/admin/users']"));
    // A search pages too, and keeps its words.
    let page = web.get("/admin/users?q=user1").await;
    // user1, user10–19, user100–120.
    assert_eq!(page.all("tbody tr").len(), 32);
    assert!(!page.has("nav.pages a[rel=next]"));

    let page = web.get("/admin/audit?event=test.").await;
    assert_eq!(page.all("tbody tr").len(), 100);
    let next = page.attr("nav.pages a[rel=next]", "href");
    assert!(next.contains("event=test."), "{next}");
    let page = web.get(&next).await;
    assert_eq!(page.all("tbody tr").len(), 30);
    assert!(!page.has("nav.pages a[rel=next]"));
    assert_eq!(
        page.attr("nav.pages a:not([rel])", "href"),
        "/admin/audit?event=test."
    );
}

async fn count(web: &Web, sql: &'static str, email: &str) -> i64 {
    sqlx::query_scalar(sql)
        .bind(email)
        .fetch_one(web.pool())
        .await
        .unwrap()
}

#[sqlx::test(migrator = "apex_core::db::MIGRATOR")]
async fn an_administrator_creates_users_and_invites_addresses(pool: PgPool) {
    const DAVE: &str = "dave@example.org";
    const ERIN: &str = "erin@example.org";
    const FRANK: &str = "frank@example.org";
    const GINA: &str = "gina@example.org";
    let web = Web::new(pool, &config("invite"));
    user(&web, ADMIN, true, false).await;
    user(&web, BOB, false, false).await;
    web.sign_in(ADMIN).await;

    // The forms, each input labelled, no inline style or script.
    let page = web.get("/admin/users").await;
    assert_eq!(page.status, StatusCode::OK);
    for id in ["new_email", "new_password", "new_admin", "invite_email"] {
        assert!(page.has(&format!("label[for={id}]")), "{id}");
        assert!(page.has(&format!("#{id}")), "{id}");
    }
    assert!(!page.has("[style]"));
    assert!(!page.has("script:not([src])"));
    assert_eq!(page.text("title").trim(), "Users · Administration · Apex");

    // With a password: the user's page, and they can sign in with it.
    let page = web
        .post("/admin/users", &[("email", DAVE), ("password", PASSWORD)])
        .await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.source);
    let dave: i64 = sqlx::query_scalar("SELECT id FROM users WHERE email = $1")
        .bind(DAVE)
        .fetch_one(web.pool())
        .await
        .unwrap();
    assert_eq!(page.location(), format!("/admin/users/{dave}?done=created"));
    let page = web.get(&page.location()).await;
    assert!(page.text("h2").contains(DAVE));
    assert!(page.text(".notice.ok").contains("created"));
    assert!(web.password_is(DAVE, PASSWORD).await);
    assert_eq!(web.mails(DAVE, "reset_password").await, 0);
    let other = Web::new(web.pool().clone(), &config("invite"));
    other.sign_in(DAVE).await;

    // Without one: a mail with a link to set it.
    web.get("/admin/users").await;
    let page = web
        .post("/admin/users", &[("email", ERIN), ("password", "")])
        .await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.source);
    assert!(page.location().ends_with("?done=created-mailed"));
    assert!(web.user_exists(ERIN).await);
    assert_eq!(web.mails(ERIN, "reset_password").await, 1);
    assert!(
        web.mail(ERIN, "reset_password")
            .await
            .contains("/reset-password")
    );
    let page = web.get(&page.location()).await;
    assert!(page.text(".notice.ok").contains("mail"));

    // The same address again: apex-core's reason on the address field, as typed.
    web.get("/admin/users").await;
    let page = web
        .post("/admin/users", &[("email", DAVE), ("password", "")])
        .await;
    assert_eq!(page.status, StatusCode::CONFLICT, "{}", page.source);
    assert!(page.text("#new_email-error").contains("already exists"));
    assert_eq!(page.attr("#new_email", "aria-invalid"), "true");
    assert_eq!(page.attr("#new_email", "value"), DAVE);
    assert!(page.has(".summary a[href='#new_email']"));
    // A password too short: on the password field.
    let page = web
        .post("/admin/users", &[("email", FRANK), ("password", "short")])
        .await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.text("#new_password-error").contains("at least"));
    assert!(!web.user_exists(FRANK).await);
    // An administrator may create another.
    let page = web
        .post(
            "/admin/users",
            &[("email", FRANK), ("password", PASSWORD), ("admin", "1")],
        )
        .await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.source);
    let admin: bool = sqlx::query_scalar("SELECT is_admin FROM users WHERE email = $1")
        .bind(FRANK)
        .fetch_one(web.pool())
        .await
        .unwrap();
    assert!(admin);

    // An invitation: a row, a mail, a notice.
    web.get("/admin/users").await;
    let page = web.post("/admin/invitations", &[("email", GINA)]).await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.source);
    let page = web.get(&page.location()).await;
    assert_eq!(page.status, StatusCode::OK);
    let notice = page.text(".notice.ok");
    assert!(
        notice.contains(GINA) && notice.contains("a mail is on its way"),
        "{notice}"
    );
    let rows = "SELECT count(*) FROM invitations WHERE email = $1 AND domain_id IS NULL";
    assert_eq!(count(&web, rows, GINA).await, 1);
    assert_eq!(web.mails(GINA, "invitation").await, 1);
    // An address with an account: said on the field, nothing sent.
    let page = web.post("/admin/invitations", &[("email", BOB)]).await;
    assert_eq!(page.status, StatusCode::CONFLICT, "{}", page.source);
    assert!(
        page.text("#invite_email-error")
            .contains("has an account already")
    );
    assert_eq!(page.attr("#invite_email", "aria-invalid"), "true");
    assert_eq!(count(&web, rows, BOB).await, 0);
    assert_eq!(web.mails(BOB, "invitation").await, 0);

    // Without this browser's token nothing is created or sent.
    let page = web
        .post(
            "/admin/users",
            &[
                ("email", "hugo@example.org"),
                ("password", PASSWORD),
                ("csrf", "x"),
            ],
        )
        .await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
    assert!(!web.user_exists("hugo@example.org").await);
    let page = web
        .post(
            "/admin/invitations",
            &[("email", "hugo@example.org"), ("csrf", "x")],
        )
        .await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
    assert_eq!(count(&web, rows, "hugo@example.org").await, 0);
}

#[sqlx::test(migrator = "apex_core::db::MIGRATOR")]
async fn an_administrator_grants_platform_roles(pool: PgPool) {
    const DAVE: &str = "dave@example.org";
    let web = Web::new(pool, &config("invite"));
    let admin = user(&web, ADMIN, true, false).await;
    let bob = user(&web, BOB, false, false).await;
    let carol = user(&web, CAROL, false, false).await;
    let dave = user(&web, DAVE, false, false).await;
    web.sign_in(ADMIN).await;
    let roles = |id: i64| format!("/admin/users/{id}/roles");
    let permissions = "SELECT permissions FROM users WHERE id = $1";
    let is_admin = "SELECT is_admin FROM users WHERE id = $1";

    // One box for administration, one per permission, each labelled.
    let page = web.get(&format!("/admin/users/{bob}")).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.has("label[for=role_admin]"));
    assert_eq!(page.all("input[name=permissions]").len(), 5);
    for p in apex_core::actor::Permission::ALL {
        assert!(
            page.has(&format!("label[for=role_{}]", p.as_str())),
            "{p:?}"
        );
    }
    assert!(!page.has("[style]"));

    // Without this browser's token nothing changes.
    let page = web
        .post(&roles(bob), &[("permissions", "view_audit"), ("csrf", "x")])
        .await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
    let granted: Vec<String> = scalar(&web, permissions, bob).await;
    assert!(granted.is_empty());

    // Bob may read the audit log.
    let page = web
        .post(&roles(bob), &[("permissions", "view_audit")])
        .await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.source);
    let granted: Vec<String> = scalar(&web, permissions, bob).await;
    assert_eq!(granted, ["view_audit"]);
    let page = web.get(&page.location()).await;
    assert!(page.text(".notice.ok").contains("platform roles"));
    assert_eq!(page.attr("#role_view_audit", "checked"), "");
    assert!(!page.has("#role_manage_users[checked]"));
    let as_bob = Web::new(web.pool().clone(), &config("invite"));
    as_bob.sign_in(BOB).await;
    let page = as_bob.get("/domains").await;
    assert!(page.has("a[href='/admin']"), "{}", page.source);
    let page = as_bob.get("/admin/audit").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.source);
    assert_eq!(
        as_bob.get("/admin/users").await.status,
        StatusCode::FORBIDDEN
    );

    // Taking away your own administration is refused, on its box.
    web.get(&format!("/admin/users/{admin}")).await;
    let page = web.post(&roles(admin), &[]).await;
    assert_eq!(page.status, StatusCode::CONFLICT, "{}", page.source);
    assert!(page.has("#role_admin-error"));
    assert!(scalar::<bool>(&web, is_admin, admin).await);

    // Carol may manage users, but not grant roles: no such form for her, and apex-core
    // refuses the post.
    web.get(&format!("/admin/users/{carol}")).await;
    let page = web
        .post(&roles(carol), &[("permissions", "manage_users")])
        .await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.source);
    let as_carol = Web::new(web.pool().clone(), &config("invite"));
    as_carol.sign_in(CAROL).await;
    let page = as_carol.get(&format!("/admin/users/{dave}")).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.source);
    assert!(!page.has("form[action$='/roles']"));
    let page = as_carol.get("/admin/users").await;
    assert!(page.has("#new_email"));
    assert!(!page.has("#new_admin"));
    as_carol.get(&format!("/admin/users/{dave}")).await;
    let page = as_carol.post(&roles(dave), &[("admin", "1")]).await;
    assert_eq!(page.status, StatusCode::FORBIDDEN, "{}", page.source);
    assert!(
        page.text(".summary")
            .contains("Only a platform administrator may grant"),
        "{}",
        page.source
    );
    assert!(!scalar::<bool>(&web, is_admin, dave).await);
    let granted: Vec<String> = scalar(&web, permissions, dave).await;
    assert!(granted.is_empty());
    // Nor create an administrator.
    as_carol.get("/admin/users").await;
    let page = as_carol
        .post(
            "/admin/users",
            &[
                ("email", "eve@example.org"),
                ("password", PASSWORD),
                ("admin", "1"),
            ],
        )
        .await;
    assert_eq!(page.status, StatusCode::FORBIDDEN, "{}", page.source);
    assert!(!as_carol.user_exists("eve@example.org").await);
}

#[sqlx::test(migrator = "apex_core::db::MIGRATOR")]
async fn an_impersonation_ends_with_the_administrators_rights(pool: PgPool) {
    let web = Web::new(pool, &config("invite"));
    let admin = user(&web, ADMIN, true, false).await;
    let bob = user(&web, BOB, false, false).await;
    let carol = user(&web, CAROL, true, false).await;
    // The administrator loses the right to impersonate: the impersonation stops working.
    impersonate(&web, bob).await;
    sqlx::query("UPDATE users SET is_admin = false WHERE id = $1")
        .bind(admin)
        .execute(web.pool())
        .await
        .unwrap();
    let page = web.get("/domains").await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.source);
    assert!(page.location().starts_with("/login"));

    // Disabled by another administrator: the sessions they act in for others end too.
    sqlx::query("UPDATE users SET is_admin = true WHERE id = $1")
        .bind(admin)
        .execute(web.pool())
        .await
        .unwrap();
    impersonate(&web, bob).await;
    let carol = apex_core::actor::Actor::cli(
        apex_core::ids::UserId(carol),
        apex_core::actor::PlatformRoles {
            admin: true,
            granted: vec![],
        },
    );
    apex_core::users::admin::update(
        &web.core,
        &carol,
        apex_core::ids::UserId(admin),
        &apex_core::users::admin::UserPatch {
            disabled: Some(true),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let open: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM sessions WHERE impersonator_id = $1 AND revoked_at IS NULL",
    )
    .bind(admin)
    .fetch_one(web.pool())
    .await
    .unwrap();
    assert_eq!(open, 0);
    assert_eq!(web.get("/domains").await.status, StatusCode::SEE_OTHER);
}

/// Signs in as ADMIN and acts as the user `bob`.
async fn impersonate(web: &Web, bob: i64) {
    let link = format!("/admin/users/{bob}");
    web.clear_cookies();
    web.sign_in(ADMIN).await;
    web.get(&link).await;
    let page = web
        .post(&format!("{link}/impersonate"), &[("email", BOB)])
        .await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.source);
    assert!(web.get("/domains").await.text(".banner").contains(BOB));
}
