//! Accounts as a new user meets them: an invitation, sign-up, the mailed verification link,
//! sign-in, TOTP, sign-out, sign-in with a code and with a recovery code; and the throttle
//! on failed sign-ins. Through the router, each test on its own database.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use apex_core::auth::keys;
use apex_core::users;
use axum::http::StatusCode;
use common::{Client, accounts_config, last_mail, link_token, router_for, totp_code};
use serde_json::{Value, json};
use sqlx::PgPool;

async fn events(pool: &PgPool, email: &str) -> Vec<String> {
    sqlx::query_scalar::<_, String>(
        "SELECT event FROM audit_events WHERE subject_email = $1 OR actor_email = $1 ORDER BY id",
    )
    .bind(email)
    .fetch_all(pool)
    .await
    .unwrap()
}

#[sqlx::test(migrator = "apex_core::db::MIGRATOR")]
async fn a_new_user_signs_up_and_turns_on_totp(pool: PgPool) {
    let router = router_for(&pool, &accounts_config());
    // Alice has an account and a domain, and shares it with an address that has none.
    let alice = users::create_user(&pool, "alice@example.com", "alice's long password", false)
        .await
        .unwrap();
    let (_, alice_key) = keys::create_full(&pool, alice, "alice").await.unwrap();
    let mut alice = Client::with_key(&router, &alice_key);
    let a = alice
        .post("/api/v1/domains", json!({"name": "example.com"}))
        .await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.body);
    let a = alice
        .post(
            "/api/v1/domains/example.com/members",
            json!({"email": "Bob@Example.com", "role": "read"}),
        )
        .await;
    assert_eq!(a.status, StatusCode::ACCEPTED, "{}", a.body);
    assert_eq!(a.body["status"], "invited");
    assert_eq!(a.body["invitation"]["email"], "bob@example.com");

    // Bob follows the invitation. Without it, sign-up is closed (invite-only by default).
    let mut bob = Client::new(&router);
    let a = bob
        .post(
            "/api/v1/auth/signup",
            json!({"email": "bob@example.com", "password": "correct horse battery"}),
        )
        .await;
    assert_eq!(a.status, StatusCode::FORBIDDEN, "{}", a.body);
    let invitation = link_token(&last_mail(&pool, "bob@example.com", "invitation").await);
    let a = bob
        .post(
            "/api/v1/auth/signup",
            json!({"password": "password123", "invitation": invitation}),
        )
        .await;
    assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", a.body);
    assert_eq!(a.body["errors"][0]["pointer"], "/password");
    let a = bob
        .post(
            "/api/v1/auth/signup",
            json!({"password": "correct horse battery", "invitation": invitation}),
        )
        .await;
    assert_eq!(a.status, StatusCode::ACCEPTED, "{}", a.body);
    assert_eq!(a.body["email"], "bob@example.com");
    // The invitation works once.
    let a = bob
        .post(
            "/api/v1/auth/signup",
            json!({"password": "correct horse battery", "invitation": invitation}),
        )
        .await;
    assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", a.body);

    // Not before the address is confirmed.
    let login = json!({"email": "BOB@example.com", "password": "correct horse battery"});
    let a = bob.post("/api/v1/auth/login", login.clone()).await;
    assert_eq!(a.status, StatusCode::FORBIDDEN, "{}", a.body);
    assert!(a.body["detail"].as_str().unwrap().contains("confirm"));
    let token = link_token(&last_mail(&pool, "bob@example.com", "verify_email").await);
    let a = bob
        .post("/api/v1/auth/verify-email", json!({"token": token}))
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    let a = bob
        .post("/api/v1/auth/verify-email", json!({"token": token}))
        .await;
    assert_eq!(
        a.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "a link works once"
    );

    // Signed in: a session cookie, HttpOnly and SameSite=Lax.
    let a = bob.post("/api/v1/auth/login", login.clone()).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    assert_eq!(a.body["status"], "signed_in");
    let cookie = a.header("set-cookie").unwrap();
    assert!(cookie.starts_with("apex_session="), "{cookie}");
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"),
        "{cookie}"
    );
    let a = bob.get("/api/v1/account").await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    assert_eq!(a.body["email"], "bob@example.com");
    assert_eq!(a.body["two_factor"]["totp"], false);
    // The invitation made Bob a reader of example.com.
    let members = alice.get("/api/v1/domains/example.com/members").await.body;
    assert!(
        members["members"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m["email"] == "bob@example.com" && m["role"] == "read"),
        "{members}"
    );
    // A session is not an API credential.
    let a = bob.get("/api/v1/domains").await;
    assert_eq!(a.status, StatusCode::UNAUTHORIZED, "{}", a.body);

    // TOTP: the secret, its URI and a QR code; on only once a code comes back.
    let a = bob.post("/api/v1/account/2fa/totp", json!({})).await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.body);
    let secret = a.body["secret"].as_str().unwrap().to_string();
    let uri = a.body["otpauth_uri"].as_str().unwrap();
    assert!(
        uri.starts_with("otpauth://totp/Apex:bob%40example.com?secret="),
        "{uri}"
    );
    assert!(
        uri.contains("algorithm=SHA1") && uri.contains("digits=6") && uri.contains("period=30")
    );
    assert!(a.body["qr_svg"].as_str().unwrap().contains("<svg"));
    let a = bob
        .post(
            "/api/v1/account/2fa/totp/confirm",
            json!({"code": "000000"}),
        )
        .await;
    assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", a.body);
    let enrolled_with = totp_code(&secret, 0);
    let a = bob
        .post(
            "/api/v1/account/2fa/totp/confirm",
            json!({"code": enrolled_with}),
        )
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    let recovery: Vec<String> = a.body["recovery_codes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_string())
        .collect();
    assert_eq!(recovery.len(), 10);
    assert!(
        last_mail(&pool, "bob@example.com", "notice.2fa")
            .await
            .contains("Two-factor authentication was turned on")
    );

    // Signed out: the cookie is cleared and the session no longer works.
    let session_cookie = bob.cookies.get("apex_session").cloned().unwrap();
    let a = bob.send("POST", "/api/v1/auth/logout", None).await;
    assert_eq!(a.status, StatusCode::NO_CONTENT);
    assert!(bob.cookies.is_empty());
    bob.cookies.insert("apex_session".into(), session_cookie);
    assert_eq!(
        bob.get("/api/v1/account").await.status,
        StatusCode::UNAUTHORIZED
    );
    bob.cookies.clear();

    // Signing in again asks for a code; the one used to enrol is spent.
    let a = bob.post("/api/v1/auth/login", login.clone()).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    assert_eq!(a.body["status"], "second_factor_required");
    assert_eq!(
        bob.get("/api/v1/account").await.status,
        StatusCode::UNAUTHORIZED,
        "a pending sign-in opens nothing"
    );
    let a = bob
        .post("/api/v1/auth/login/2fa", json!({"code": enrolled_with}))
        .await;
    assert_eq!(
        a.status,
        StatusCode::UNAUTHORIZED,
        "replayed code: {}",
        a.body
    );
    let next = totp_code(&secret, 1);
    let a = bob
        .post("/api/v1/auth/login/2fa", json!({"code": next}))
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    assert_eq!(a.body["status"], "signed_in");
    assert_eq!(bob.get("/api/v1/account").await.status, StatusCode::OK);
    bob.send("POST", "/api/v1/auth/logout", None).await;

    // The same code again, in a new sign-in: refused.
    bob.post("/api/v1/auth/login", login.clone()).await;
    let a = bob
        .post("/api/v1/auth/login/2fa", json!({"code": next}))
        .await;
    assert_eq!(
        a.status,
        StatusCode::UNAUTHORIZED,
        "replayed code: {}",
        a.body
    );

    // A recovery code works once.
    let a = bob
        .post(
            "/api/v1/auth/login/2fa",
            json!({"recovery_code": recovery[3].to_uppercase()}),
        )
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    let a = bob.get("/api/v1/account").await;
    assert_eq!(a.body["two_factor"]["recovery_codes_left"], 9);
    bob.send("POST", "/api/v1/auth/logout", None).await;
    bob.post("/api/v1/auth/login", login.clone()).await;
    let a = bob
        .post(
            "/api/v1/auth/login/2fa",
            json!({"recovery_code": recovery[3]}),
        )
        .await;
    assert_eq!(a.status, StatusCode::UNAUTHORIZED, "{}", a.body);

    // Every step is in Bob's audit log.
    let log = events(&pool, "bob@example.com").await;
    for e in [
        "invitation.created",
        "member.added",
        "account.created",
        "login.failed",
        "email.verified",
        "login.succeeded",
        "2fa.enabled",
        "logout",
        "login.password_accepted",
        "login.second_factor_failed",
    ] {
        assert!(log.iter().any(|l| l == e), "{e} missing from {log:?}");
    }
}

#[sqlx::test(migrator = "apex_core::db::MIGRATOR")]
async fn remembered_devices_skip_the_code_until_the_password_changes(pool: PgPool) {
    let router = router_for(&pool, &accounts_config());
    users::create_user(&pool, "carol@example.com", "carol's long password", false)
        .await
        .unwrap();
    let mut carol = Client::new(&router);
    let login = json!({"email": "carol@example.com", "password": "carol's long password"});
    carol.post("/api/v1/auth/login", login.clone()).await;
    let secret = carol.post("/api/v1/account/2fa/totp", json!({})).await.body["secret"]
        .as_str()
        .unwrap()
        .to_string();
    carol
        .post(
            "/api/v1/account/2fa/totp/confirm",
            json!({"code": totp_code(&secret, 0)}),
        )
        .await;
    carol.send("POST", "/api/v1/auth/logout", None).await;
    carol.post("/api/v1/auth/login", login.clone()).await;
    let a = carol
        .post(
            "/api/v1/auth/login/2fa",
            json!({"code": totp_code(&secret, 1), "remember_device": true}),
        )
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    assert!(carol.cookies.contains_key("apex_device"));
    carol.send("POST", "/api/v1/auth/logout", None).await;
    // Remembered: no code asked.
    let a = carol.post("/api/v1/auth/login", login.clone()).await;
    assert_eq!(a.body["status"], "signed_in", "{}", a.body);
    // Another browser (no cookie) is asked.
    let mut other = Client::new(&router);
    let a = other.post("/api/v1/auth/login", login.clone()).await;
    assert_eq!(a.body["status"], "second_factor_required");
    // A password change forgets remembered devices and ends other sessions.
    let a = carol
        .post(
            "/api/v1/account/password",
            json!({"current_password": "carol's long password", "new_password": "a brand new passphrase"}),
        )
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    assert_eq!(carol.get("/api/v1/account").await.status, StatusCode::OK);
    carol.send("POST", "/api/v1/auth/logout", None).await;
    let a = carol
        .post(
            "/api/v1/auth/login",
            json!({"email": "carol@example.com", "password": "a brand new passphrase"}),
        )
        .await;
    assert_eq!(a.body["status"], "second_factor_required", "{}", a.body);
}

#[sqlx::test(migrator = "apex_core::db::MIGRATOR")]
async fn failed_sign_ins_are_throttled_and_audited(pool: PgPool) {
    let router = router_for(&pool, &accounts_config());
    users::create_user(&pool, "dave@example.com", "dave's long password", false)
        .await
        .unwrap();
    let mut dave = Client::new(&router);
    let wrong = json!({"email": "dave@example.com", "password": "not the password"});
    let mut statuses = Vec::new();
    let mut retry_after = 0;
    for _ in 0..20 {
        let a = dave.post("/api/v1/auth/login", wrong.clone()).await;
        if a.status == StatusCode::TOO_MANY_REQUESTS {
            retry_after = a.header("retry-after").unwrap().parse::<u64>().unwrap();
            assert_eq!(a.body["type"], "urn:apex:problem:too-many-requests");
        }
        statuses.push(a.status.as_u16());
    }
    assert_eq!(&statuses[..5], &[401; 5], "{statuses:?}");
    assert_eq!(&statuses[5..], &[429; 15], "{statuses:?}");
    assert!((1..=30).contains(&retry_after), "{retry_after}");

    // The right password waits out the throttle too.
    let right = json!({"email": "dave@example.com", "password": "dave's long password"});
    let a = dave.post("/api/v1/auth/login", right.clone()).await;
    assert_eq!(a.status, StatusCode::TOO_MANY_REQUESTS, "{}", a.body);
    let wait = a.header("retry-after").unwrap().parse::<u64>().unwrap();
    // An unknown address is answered like a wrong password, and counts the same way.
    let a = Client::new(&router)
        .post(
            "/api/v1/auth/login",
            json!({"email": "nobody@example.com", "password": "whatever it is"}),
        )
        .await;
    assert_eq!(a.status, StatusCode::UNAUTHORIZED);
    assert_eq!(a.body["detail"], "wrong e-mail or password");

    tokio::time::sleep(std::time::Duration::from_secs(wait + 1)).await;
    let a = dave.post("/api/v1/auth/login", right).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);

    // Every attempt is in the audit log: 5 failures, 16 throttled, 1 success.
    let log = events(&pool, "dave@example.com").await;
    let count = |e: &str| log.iter().filter(|l| *l == e).count();
    assert_eq!(count("login.failed"), 5, "{log:?}");
    assert_eq!(count("login.throttled"), 16, "{log:?}");
    assert_eq!(count("login.succeeded"), 1, "{log:?}");
    let sources: Vec<Option<String>> = sqlx::query_scalar(
        "SELECT source_ip FROM audit_events WHERE subject_email = 'dave@example.com'",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    assert!(
        sources.iter().all(|s| s.as_deref() == Some("127.0.0.1")),
        "{sources:?} {log:?}"
    );
}

#[sqlx::test(migrator = "apex_core::db::MIGRATOR")]
async fn password_reset_by_mail(pool: PgPool) {
    let router = router_for(&pool, &accounts_config());
    users::create_user(&pool, "erin@example.com", "erin's long password", false)
        .await
        .unwrap();
    let mut erin = Client::new(&router);
    let a = erin
        .post(
            "/api/v1/auth/login",
            json!({"email": "erin@example.com", "password": "erin's long password"}),
        )
        .await;
    assert_eq!(a.status, StatusCode::OK);
    // Another site's page cannot use Erin's session to change anything.
    erin.headers
        .push(("origin".into(), "https://evil.example".into()));
    let a = erin
        .post(
            "/api/v1/account/password",
            json!({"current_password": "erin's long password", "new_password": "chosen by evil.example"}),
        )
        .await;
    assert_eq!(a.status, StatusCode::FORBIDDEN, "{}", a.body);
    assert_eq!(erin.get("/api/v1/account").await.status, StatusCode::OK);
    erin.headers.clear();
    // Asking for a reset says the same for any address.
    let mut stranger = Client::new(&router);
    for email in ["erin@example.com", "nobody@example.com"] {
        let a = stranger
            .post("/api/v1/auth/password-reset", json!({"email": email}))
            .await;
        assert_eq!(a.status, StatusCode::ACCEPTED, "{}", a.body);
    }
    let token = link_token(&last_mail(&pool, "erin@example.com", "reset_password").await);
    let a = stranger
        .post(
            "/api/v1/auth/password-reset/confirm",
            json!({"token": token, "password": "short"}),
        )
        .await;
    assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", a.body);
    // A refused password leaves the link working.
    let a = stranger
        .post(
            "/api/v1/auth/password-reset/confirm",
            json!({"token": token, "password": "a fresh long password"}),
        )
        .await;
    assert_eq!(a.status, StatusCode::NO_CONTENT, "{}", a.body);
    // Every session ended; the old password is gone, the new one works.
    assert_eq!(
        erin.get("/api/v1/account").await.status,
        StatusCode::UNAUTHORIZED
    );
    let a = erin
        .post(
            "/api/v1/auth/login",
            json!({"email": "erin@example.com", "password": "erin's long password"}),
        )
        .await;
    assert_eq!(a.status, StatusCode::UNAUTHORIZED);
    let a = erin
        .post(
            "/api/v1/auth/login",
            json!({"email": "erin@example.com", "password": "a fresh long password"}),
        )
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    let notice: Value = json!(last_mail(&pool, "erin@example.com", "notice.password").await);
    assert!(notice.as_str().unwrap().contains("reset"), "{notice}");
    // The link works once.
    let a = stranger
        .post(
            "/api/v1/auth/password-reset/confirm",
            json!({"token": token, "password": "yet another password"}),
        )
        .await;
    assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", a.body);
}

#[sqlx::test(migrator = "apex_core::db::MIGRATOR")]
async fn second_factor_guesses_are_throttled_across_sign_ins(pool: PgPool) {
    let router = router_for(&pool, &accounts_config());
    users::create_user(&pool, "fay@example.com", "fay's long password", false)
        .await
        .unwrap();
    let mut fay = Client::new(&router);
    let login = json!({"email": "fay@example.com", "password": "fay's long password"});
    fay.post("/api/v1/auth/login", login.clone()).await;
    let secret = fay.post("/api/v1/account/2fa/totp", json!({})).await.body["secret"]
        .as_str()
        .unwrap()
        .to_string();
    fay.post(
        "/api/v1/account/2fa/totp/confirm",
        json!({"code": totp_code(&secret, 0)}),
    )
    .await;
    fay.send("POST", "/api/v1/auth/logout", None).await;

    // An attacker with the password: the right password does not reset the count of wrong
    // codes, so signing in again to get fresh tries does not help.
    let wrong = |n: u32| json!({"code": format!("{:06}", (n * 7919) % 1_000_000)});
    let mut attacker = Client::new(&router);
    attacker.post("/api/v1/auth/login", login.clone()).await;
    for n in 0..3 {
        let a = attacker.post("/api/v1/auth/login/2fa", wrong(n)).await;
        assert_eq!(a.status, StatusCode::UNAUTHORIZED, "{}", a.body);
    }
    let a = attacker.post("/api/v1/auth/login", login.clone()).await;
    assert_eq!(a.body["status"], "second_factor_required", "{}", a.body);
    for n in 3..5 {
        attacker.post("/api/v1/auth/login/2fa", wrong(n)).await;
    }
    let a = attacker.post("/api/v1/auth/login", login.clone()).await;
    assert_eq!(a.status, StatusCode::TOO_MANY_REQUESTS, "{}", a.body);
    sqlx::query("DELETE FROM login_throttle")
        .execute(&pool)
        .await
        .unwrap();

    // Parallel guesses in one pending sign-in: at most five are looked at.
    attacker.post("/api/v1/auth/login", login.clone()).await;
    let cookie = attacker.cookies.clone();
    let mut tries = tokio::task::JoinSet::new();
    for n in 0..12 {
        let mut c = Client::new(&router);
        c.cookies = cookie.clone();
        let body = wrong(100 + n);
        tries.spawn(async move { c.post("/api/v1/auth/login/2fa", body).await.status });
    }
    let statuses = tries.join_all().await;
    let checked = sqlx::query_scalar::<_, i64>(
        "SELECT count(*) FROM audit_events WHERE event = 'login.second_factor_failed'
            AND detail ? 'attempts' AND (detail->>'attempts')::int > 0
            AND id > (SELECT max(id) FROM audit_events WHERE event = 'login.password_accepted')",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert!(checked <= 5, "{checked} codes checked: {statuses:?}");
    assert!(
        statuses.iter().all(|s| *s != StatusCode::OK),
        "{statuses:?}"
    );
}
