//! The account pages driven as a browser without JavaScript would: the password changed
//! (a wrong current one named on its field), two-factor sign-in set up from the page's
//! secret and its recovery codes shown, new recovery codes and turning it off, a user the
//! platform requires it of sent to set it up, API keys made (the secret shown once) and
//! revoked after a confirmation, sessions listed and another one ended; and forms without
//! this browser's CSRF token change nothing.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod common;

use apex_core::auth::{sessions, totp};
use apex_core::users;
use axum::http::StatusCode;
use common::*;
use sqlx::PgPool;

const EMAIL: &str = "someone@example.org";
const NEW_PASSWORD: &str = "an even longer new password";

/// A user with a password and no second factor.
async fn user(web: &Web, email: &str) {
    users::create_user(web.pool(), email, PASSWORD, false)
        .await
        .unwrap();
}

async fn live_sessions(web: &Web, email: &str) -> i64 {
    sqlx::query_scalar(
        "SELECT count(*) FROM sessions s JOIN users u ON u.id = s.user_id
          WHERE u.email = $1 AND s.state = 'active' AND s.revoked_at IS NULL",
    )
    .bind(email)
    .fetch_one(web.pool())
    .await
    .unwrap()
}

async fn totp_on(web: &Web, email: &str) -> bool {
    sqlx::query_scalar("SELECT totp_enabled_at IS NOT NULL FROM users WHERE email = $1")
        .bind(email)
        .fetch_one(web.pool())
        .await
        .unwrap()
}

async fn key_count(web: &Web) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM api_keys")
        .fetch_one(web.pool())
        .await
        .unwrap()
}

#[sqlx::test(migrator = "apex_core::db::MIGRATOR")]
async fn the_password_is_changed_and_other_sessions_end(pool: PgPool) {
    let web = Web::new(pool.clone(), &config("invite"));
    user(&web, EMAIL).await;
    web.sign_in(EMAIL).await;
    let other = Web::new(pool, &config("invite"));
    other.sign_in(EMAIL).await;
    assert_eq!(live_sessions(&web, EMAIL).await, 2);

    let page = web.get("/account").await;
    assert_eq!(page.status, StatusCode::OK);
    let main = page.text("main");
    assert!(main.contains(EMAIL), "{main}");
    assert!(main.contains("verified"), "{main}");
    assert_eq!(
        page.attr("nav[aria-label=Main] a[href='/account']", "aria-current"),
        "page"
    );

    let page = web.get("/account/password").await;
    page.assert_input(
        "current_password",
        Some("current_password"),
        "current-password",
    );
    page.assert_input("new_password", Some("new_password"), "new-password");
    page.assert_input("confirm", Some("confirm"), "new-password");

    // A wrong current password: named on its field, nothing changes.
    let page = web
        .post(
            "/account/password",
            &[
                ("current_password", "not my password at all"),
                ("new_password", NEW_PASSWORD),
                ("confirm", NEW_PASSWORD),
            ],
        )
        .await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(page.attr("#current_password", "aria-invalid"), "true");
    assert!(
        page.text("#current_password-error")
            .contains("is not your password")
    );
    assert!(page.has(".summary a[href='#current_password']"));
    assert!(web.password_is(EMAIL, PASSWORD).await);

    // The new one typed differently the second time.
    let page = web
        .post(
            "/account/password",
            &[
                ("current_password", PASSWORD),
                ("new_password", NEW_PASSWORD),
                ("confirm", "something else entirely"),
            ],
        )
        .await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(page.attr("#confirm", "aria-invalid"), "true");
    assert!(web.password_is(EMAIL, PASSWORD).await);

    // A new password too short: apex-core's rule, on the new password's field.
    let page = web
        .post(
            "/account/password",
            &[
                ("current_password", PASSWORD),
                ("new_password", "short"),
                ("confirm", "short"),
            ],
        )
        .await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(page.attr("#new_password", "aria-invalid"), "true");
    assert!(web.password_is(EMAIL, PASSWORD).await);

    let page = web
        .post(
            "/account/password",
            &[
                ("current_password", PASSWORD),
                ("new_password", NEW_PASSWORD),
                ("confirm", NEW_PASSWORD),
            ],
        )
        .await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.source);
    let notice = page.text(".notice.ok");
    assert!(notice.contains("other session was ended"), "{notice}");
    assert!(web.password_is(EMAIL, NEW_PASSWORD).await);
    assert_eq!(web.mails(EMAIL, "notice.password").await, 1);
    // This browser stays signed in; the other one is out.
    assert_eq!(live_sessions(&web, EMAIL).await, 1);
    assert_eq!(web.get("/account").await.status, StatusCode::OK);
    let page = other.get("/account").await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    assert!(page.location().starts_with("/login"));
}

#[sqlx::test(migrator = "apex_core::db::MIGRATOR")]
async fn two_factor_sign_in_is_set_up_from_the_page(pool: PgPool) {
    let web = Web::new(pool, &config("invite"));
    user(&web, EMAIL).await;
    web.sign_in(EMAIL).await;

    let page = web.get("/account/2fa").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.text("main").contains("off"));
    assert!(page.has("form[action='/account/2fa/start'] button"));

    let page = web.post("/account/2fa/start", &[]).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.source);
    assert!(page.has(".qr svg"), "{}", page.source);
    assert!(!page.source.contains("<?xml"));
    assert!(page.has("button[data-copy=totp-secret]"));
    let shown = page.text("#totp-secret");
    let secret = totp::secret_from_base32(&shown).expect("a base32 secret");
    // The secret is kept by apex-core, not sent back by the form.
    assert!(
        page.all("input")
            .iter()
            .all(|i| i.value().attr("value") != Some(shown.as_str()))
    );
    assert_eq!(
        page.all("form[action='/account/2fa/confirm'] input").len(),
        2,
        "the code and the CSRF token only"
    );
    page.assert_input("code", Some("code"), "one-time-code");
    assert!(!totp_on(&web, EMAIL).await);

    // A wrong code: on its field, still off.
    let wrong = if totp::code_at(&secret, now()) == "000000" {
        "111111"
    } else {
        "000000"
    };
    let page = web.post("/account/2fa/confirm", &[("code", wrong)]).await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(page.attr("#code", "aria-invalid"), "true");
    assert!(
        page.text("#code-error")
            .starts_with("The code does not match the secret")
    );
    assert!(!totp_on(&web, EMAIL).await);

    let code = totp::code_at(&secret, now());
    let page = web.post("/account/2fa/confirm", &[("code", &code)]).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.source);
    assert!(totp_on(&web, EMAIL).await);
    let codes: Vec<String> = page
        .all("#recovery-codes li")
        .iter()
        .map(|li| li.text().collect::<String>().trim().to_string())
        .collect();
    assert_eq!(codes.len(), 10);
    assert!(page.text("main").contains("Store them now"));
    assert!(page.has("button[data-copy=recovery-codes]"));

    // This session goes on, and the page now offers new codes and turning it off.
    let page = web.get("/account/2fa").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.text("main").contains("10 unused recovery codes"));
    page.assert_input("regen_code", Some("code"), "one-time-code");
    page.assert_input("disable_password", Some("password"), "current-password");
    page.assert_input("disable_code", Some("code"), "one-time-code");
    assert!(web.get("/account").await.text("main").contains("on"));

    // New recovery codes need a fresh code from the app.
    let page = web.post("/account/2fa/codes", &[("code", &code)]).await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(page.attr("#regen_code", "aria-invalid"), "true");
    let next = totp::code_at(&secret, now() + 30);
    let page = web.post("/account/2fa/codes", &[("code", &next)]).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.source);
    let fresh: Vec<String> = page
        .all("#recovery-codes li")
        .iter()
        .map(|li| li.text().collect::<String>().trim().to_string())
        .collect();
    assert_eq!(fresh.len(), 10);
    assert!(fresh.iter().all(|c| !codes.contains(c)));

    // Turning it off: the wrong password is named; then an old recovery code is refused
    // and a new one works.
    let page = web
        .post(
            "/account/2fa/disable",
            &[("password", "not my password"), ("code", &fresh[0])],
        )
        .await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(page.attr("#disable_password", "aria-invalid"), "true");
    let page = web
        .post(
            "/account/2fa/disable",
            &[("password", PASSWORD), ("code", &codes[0])],
        )
        .await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(page.attr("#disable_code", "aria-invalid"), "true");
    assert!(totp_on(&web, EMAIL).await);
    let page = web
        .post(
            "/account/2fa/disable",
            &[("password", PASSWORD), ("code", &fresh[0])],
        )
        .await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.source);
    assert!(!totp_on(&web, EMAIL).await);
}

#[sqlx::test(migrator = "apex_core::db::MIGRATOR")]
async fn a_user_required_to_use_two_factor_sets_it_up_first(pool: PgPool) {
    let mut config = config("invite");
    config.require_2fa = "all".into();
    let web = Web::new(pool, &config);
    user(&web, EMAIL).await;
    let page = web.get("/domains").await;
    web.get(&page.location()).await;
    let page = web
        .post(
            "/login",
            &[
                ("email", EMAIL),
                ("password", PASSWORD),
                ("next", "/domains"),
            ],
        )
        .await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.source);

    for elsewhere in ["/domains", "/account", "/account/keys"] {
        let page = web.get(elsewhere).await;
        assert_eq!(page.status, StatusCode::SEE_OTHER, "{elsewhere}");
        assert_eq!(page.location(), "/account/2fa");
    }
    let page = web.get("/account/2fa").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.text("main").contains("requires two-factor sign-in"));

    let page = web.post("/account/2fa/start", &[]).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.source);
    let secret = totp::secret_from_base32(&page.text("#totp-secret")).unwrap();
    let page = web
        .post(
            "/account/2fa/confirm",
            &[("code", &totp::code_at(&secret, now()))],
        )
        .await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.source);
    assert_eq!(page.all("#recovery-codes li").len(), 10);

    assert_eq!(web.get("/domains").await.status, StatusCode::OK);
    // Required: it cannot be turned off, so the page does not offer it.
    let page = web.get("/account/2fa").await;
    assert!(!page.has("#disable_password"));
    assert!(page.text("main").contains("cannot be turned off"));
}

#[sqlx::test(migrator = "apex_core::db::MIGRATOR")]
async fn an_api_key_is_shown_once_and_revoked_after_a_confirmation(pool: PgPool) {
    let web = Web::new(pool, &config("invite"));
    user(&web, EMAIL).await;
    web.sign_in(EMAIL).await;

    let page = web.get("/account/keys").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.text("main").contains("You have no API keys"));

    let page = web.get("/account/keys/new").await;
    assert_eq!(page.status, StatusCode::OK);
    for id in [
        "description",
        "domains",
        "expires_at",
        "records",
        "record_types",
        "networks",
        "role",
        "manage_keys",
    ] {
        assert!(page.has(&format!("label[for={id}]")), "no label for {id}");
        assert!(page.has(&format!("#{id}[name={id}]")), "{id}");
    }

    // apex-core's rules, next to the fields: no name; a domain that is not the user's.
    let page = web
        .post("/account/keys", &[("description", ""), ("role", "owner")])
        .await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(page.attr("#description", "aria-invalid"), "true");
    let page = web
        .post(
            "/account/keys",
            &[
                ("description", "deploy"),
                ("domains", "nobodys.test"),
                ("role", "write"),
            ],
        )
        .await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.text("#domains-error").contains("nobodys.test"));
    // What was typed stays.
    assert_eq!(page.attr("#description", "value"), "deploy");
    assert!(page.has("#role option[value=write][selected]"));
    let page = web
        .post(
            "/account/keys",
            &[("description", "deploy"), ("expires_at", "tomorrow")],
        )
        .await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(page.attr("#expires_at", "aria-invalid"), "true");
    assert_eq!(key_count(&web).await, 0);

    let page = web
        .post(
            "/account/keys",
            &[
                ("description", "certbot on web1"),
                ("role", "write"),
                ("expires_at", "2031-12-31"),
                ("records", "_acme-challenge.*"),
                ("record_types", "txt"),
                ("networks", "192.0.2.0/24, 2001:db8::/32"),
            ],
        )
        .await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.source);
    let token = page.attr("#key-secret", "value");
    assert!(token.starts_with("apex_"), "{token}");
    assert!(page.has("label[for=key-secret]"));
    assert!(page.has("button[data-copy=key-secret]"));
    assert!(page.text("main").contains("will not be shown again"));
    let main = page.text("main");
    assert!(main.contains("_acme-challenge.* (TXT)"), "{main}");
    assert!(main.contains("2031-12-31"), "{main}");
    assert!(main.contains("192.0.2.0/24"), "{main}");

    // Listed with its limits, never with its secret.
    let page = web.get("/account/keys").await;
    assert!(!page.source.contains(&token));
    let main = page.text("main");
    assert!(main.contains("certbot on web1"), "{main}");
    assert!(main.contains("at most write"), "{main}");
    assert!(main.contains("_acme-challenge.* (TXT)"), "{main}");
    let (id, role): (i64, String) =
        sqlx::query_as("SELECT id, max_role::text FROM api_keys WHERE name = 'certbot on web1'")
            .fetch_one(web.pool())
            .await
            .unwrap();
    assert_eq!(role, "write");
    let revoke = format!("/account/keys/{id}/revoke");
    assert!(page.has(&format!("form[action='{revoke}'] button")));

    // Changed: the form comes filled, and saving keeps what was not touched.
    let page = web.get(&format!("/account/keys/{id}")).await;
    assert_eq!(page.attr("#description", "value"), "certbot on web1");
    assert_eq!(
        page.attr("#networks", "value"),
        "192.0.2.0/24, 2001:db8::/32"
    );
    let mut form: Vec<(String, String)> = page
        .all("form.card input[name]:not([type=checkbox]), form.card input[type=checkbox][checked], form.card select[name]")
        .iter()
        .map(|e| {
            let name = e.value().attr("name").unwrap().to_string();
            let value = if e.value().name() == "select" {
                e.select(&scraper::Selector::parse("option[selected]").unwrap())
                    .next()
                    .and_then(|o| o.value().attr("value"))
                    .unwrap_or_default()
                    .to_string()
            } else {
                e.value().attr("value").unwrap_or_default().to_string()
            };
            (name, value)
        })
        .filter(|(n, _)| n != "csrf")
        .collect();
    for (n, v) in &mut form {
        if n == "role" {
            *v = "read".into();
        }
    }
    let pairs: Vec<(&str, &str)> = form.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
    let page = web.post(&format!("/account/keys/{id}"), &pairs).await;
    assert_eq!(page.location(), "/account/keys", "{}", page.source);
    let (role, networks): (String, Vec<String>) = sqlx::query_as(
        "SELECT max_role::text, ARRAY(SELECT unnest(networks)::text) FROM api_keys WHERE id = $1",
    )
    .bind(id)
    .fetch_one(web.pool())
    .await
    .unwrap();
    assert_eq!(role, "read");
    assert_eq!(networks, ["192.0.2.0/24", "2001:db8::/32"]);

    // Revoking asks first.
    let page = web.post(&revoke, &[]).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.text("h2").contains("certbot on web1"));
    assert!(page.has("input[name=confirm][value='1']"));
    let revoked = || async {
        sqlx::query_scalar::<_, bool>("SELECT revoked_at IS NOT NULL FROM api_keys WHERE id = $1")
            .bind(id)
            .fetch_one(web.pool())
            .await
            .unwrap()
    };
    assert!(!revoked().await);
    let page = web.post(&revoke, &[("confirm", "1")]).await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    assert_eq!(page.location(), format!("/account/keys?revoked={id}"));
    assert!(revoked().await);
    let page = web.get(&page.location()).await;
    assert!(page.text(".notice.ok").contains("certbot on web1"));
    assert!(page.has(".badge.bad"));
    assert!(!page.has(&format!("form[action='{revoke}']")));
}

#[sqlx::test(migrator = "apex_core::db::MIGRATOR")]
async fn sessions_are_listed_and_another_one_is_ended(pool: PgPool) {
    let web = Web::new(pool.clone(), &config("invite"));
    user(&web, EMAIL).await;
    web.sign_in(EMAIL).await;
    let other = Web::new(pool, &config("invite"));
    other.sign_in(EMAIL).await;

    // An administrator acting as the user (support) is named on that session.
    let admin = users::create_user(web.pool(), "admin@example.org", PASSWORD, true)
        .await
        .unwrap();
    let me = users::find_by_email(web.pool(), EMAIL).await.unwrap();
    let client = sessions::Client {
        ip: Some([192, 0, 2, 7].into()),
        user_agent: Some("Support desk browser".into()),
    };
    sessions::create(web.pool(), &web.core, me, false, Some(admin), &client)
        .await
        .unwrap();

    let page = web.get("/account/sessions").await;
    assert_eq!(page.status, StatusCode::OK);
    assert_eq!(page.all("tbody tr").len(), 3);
    let support = page.text("tbody tr:first-child");
    assert!(support.contains("Support desk browser"), "{support}");
    assert!(support.contains("192.0.2.7"), "{support}");
    assert!(support.contains("admin@example.org"), "{support}");
    assert!(support.contains("impersonation"), "{support}");
    let end_support = page.attr("tbody tr:first-child form", "action");
    let page = web.post(&end_support, &[]).await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);

    let page = web.get("/account/sessions").await;
    assert_eq!(page.all("tbody tr").len(), 2);
    assert_eq!(page.all("tbody tr.current").len(), 1);
    assert!(page.text("tr.current").contains("this browser"));
    // The other session can be ended; this one is signed out of with "Sign out".
    let forms = page.all("tbody form");
    assert_eq!(forms.len(), 1);
    let action = forms[0].value().attr("action").unwrap().to_string();
    assert!(action.starts_with("/account/sessions/") && action.ends_with("/revoke"));

    let page = web.post(&action, &[]).await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    assert_eq!(page.location(), "/account/sessions?ended=1");
    let page = web.get(&page.location()).await;
    assert!(page.has(".notice.ok"));
    assert_eq!(page.all("tbody tr").len(), 1);
    assert_eq!(live_sessions(&web, EMAIL).await, 1);
    let page = other.get("/account").await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);

    // Someone else's session, or one already ended: not found.
    let page = web.post(&action, &[]).await;
    assert_eq!(page.status, StatusCode::NOT_FOUND);

    // Signing out everywhere ends this one too.
    let page = web.post("/account/sessions/end-all", &[]).await;
    assert_eq!(page.status, StatusCode::OK);
    assert_eq!(live_sessions(&web, EMAIL).await, 0);
    assert_eq!(web.cookie("apex_session"), None);
}

#[sqlx::test(migrator = "apex_core::db::MIGRATOR")]
async fn forms_without_the_csrf_token_change_nothing(pool: PgPool) {
    let web = Web::new(pool, &config("invite"));
    user(&web, EMAIL).await;
    web.sign_in(EMAIL).await;
    web.get("/account").await;

    let page = web
        .post(
            "/account/password",
            &[
                ("csrf", "x"),
                ("current_password", PASSWORD),
                ("new_password", NEW_PASSWORD),
                ("confirm", NEW_PASSWORD),
            ],
        )
        .await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
    assert!(web.password_is(EMAIL, PASSWORD).await);

    let page = web
        .post("/account/keys", &[("csrf", "x"), ("description", "sneaky")])
        .await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
    assert_eq!(key_count(&web).await, 0);

    let page = web.post("/account/2fa/start", &[("csrf", "x")]).await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
    let pending: bool = sqlx::query_scalar("SELECT totp_pending IS NOT NULL FROM users")
        .fetch_one(web.pool())
        .await
        .unwrap();
    assert!(!pending);

    let page = web
        .post("/account/sessions/end-all", &[("csrf", "x")])
        .await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
    assert_eq!(live_sessions(&web, EMAIL).await, 1);

    // From another site, even with the token.
    web.get("/account").await;
    let page = web
        .post_from(
            "/account/sessions/end-all",
            &[],
            Some("https://evil.example"),
        )
        .await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
    assert_eq!(live_sessions(&web, EMAIL).await, 1);
}
