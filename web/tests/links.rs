//! The pages behind the links in account mails, driven as a browser without JavaScript
//! would: GET the link, read the form, POST it back.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod common;

use common::*;

use apex_core::actor::{Actor, PlatformRoles};
use apex_core::auth::sessions::Client;
use apex_core::users::signup::{self, SignupInput};
use apex_core::{invitations, mail, users};
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use sqlx::PgPool;

/// The query value `key` of the link to `path` in a mail.
fn link_value(body: &str, path: &str, key: &str) -> String {
    let link = mail::find_link(body, path).unwrap_or_else(|| panic!("no {path} link in {body}"));
    let url = url::Url::parse(&link).unwrap();
    assert!(link.starts_with(&format!("{PUBLIC_URL}{path}?")), "{link}");
    url.query_pairs()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.into_owned())
        .unwrap()
}

#[sqlx::test(migrator = "apex_core::db::MIGRATOR")]
async fn verify_email_needs_the_button(pool: PgPool) {
    let web = Web::new(pool, &config("open"));
    let email = "bob@example.org";
    let input = SignupInput {
        email: Some(email.into()),
        password: PASSWORD.into(),
        invitation: None,
    };
    signup::signup(&web.core, &input, &Client::default())
        .await
        .unwrap();
    let token = mail::find_token(&web.mail(email, mail::VERIFY_EMAIL).await, "/verify-email")
        .expect("a verification link");
    assert!(!web.verified(email).await);

    // Opening the link (as a mail scanner does) shows a button and confirms nothing.
    let page = web.get(&format!("/verify-email?token={token}")).await;
    assert_eq!(page.status, StatusCode::OK);
    assert_eq!(page.attr("form", "method"), "post");
    assert_eq!(page.attr("form", "action"), "/verify-email");
    assert_eq!(page.attr("form input[name=token]", "type"), "hidden");
    assert_eq!(page.attr("form input[name=token]", "value"), token);
    assert!(page.has("form button[type=submit]"));
    assert!(!web.verified(email).await);

    // A link without its token says so.
    let page = web.get("/verify-email").await;
    assert_eq!(page.status, StatusCode::BAD_REQUEST);
    assert!(page.text("[role=alert]").contains("incomplete"));

    // Another site's form is refused, and nothing happens.
    let page = web
        .post_from(
            "/verify-email",
            &[("token", &token)],
            Some("https://evil.example"),
        )
        .await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
    assert!(!web.verified(email).await);

    // The button confirms.
    let page = web.post("/verify-email", &[("token", &token)]).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.source);
    assert_eq!(
        page.text("[role=status]"),
        "Your address bob@example.org is confirmed. You can now sign in."
    );
    assert!(web.verified(email).await);

    // The link works once.
    let page = web.post("/verify-email", &[("token", &token)]).await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        page.text("[role=alert]"),
        "This link does not work: it has expired or been used; ask for a new one."
    );
}

#[sqlx::test(migrator = "apex_core::db::MIGRATOR")]
async fn pages_escape_what_they_are_given(pool: PgPool) {
    let web = Web::new(pool, &config("invite"));
    let evil = "\"><script>alert(1)</script>";
    let query = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("token", evil)
        .finish();
    for path in ["/verify-email", "/reset-password"] {
        let page = web.get(&format!("{path}?{query}")).await;
        assert_eq!(page.status, StatusCode::OK);
        // Only the dashboard's own script, from its own URL.
        assert_eq!(page.all("script").len(), 1, "{}", page.source);
        assert!(page.has("script[src^='/assets/apex.js']"));
        assert_eq!(page.attr("input[name=token]", "value"), evil);
    }
    let page = web
        .post("/reset-password", &[("email", "<b>not</b> an address")])
        .await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(!page.has("form b"), "{}", page.source);
    assert!(page.text("#email-error").contains("<b>not</b> an address"));
}

#[sqlx::test(migrator = "apex_core::db::MIGRATOR")]
async fn reset_password_from_the_mailed_link(pool: PgPool) {
    let web = Web::new(pool, &config("invite"));
    let email = "carol@example.org";
    users::create_user(web.pool(), email, PASSWORD, false)
        .await
        .unwrap();

    // Without a token: ask for a link.
    let page = web.get("/reset-password").await;
    assert_eq!(page.status, StatusCode::OK);
    assert_eq!(page.attr("form", "action"), "/reset-password");
    page.assert_input("email", Some("email"), "email");
    assert_eq!(page.attr("input#email", "type"), "email");

    // Not an address: said next to the field, which keeps what was typed.
    let page = web
        .post("/reset-password", &[("email", "carol at example")])
        .await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(page.attr("input#email", "aria-invalid"), "true");
    assert_eq!(page.attr("input#email", "value"), "carol at example");
    assert!(
        page.text("#email-error")
            .contains("is not an e-mail address"),
        "{}",
        page.source
    );
    assert_eq!(page.attr(".summary a", "href"), "#email");

    // The answer is the same whether or not the address has an account.
    let sent = "If an account has this address, a link is on its way (it works for one hour).";
    for address in [email, "nobody@example.org"] {
        let page = web.post("/reset-password", &[("email", address)]).await;
        assert_eq!(page.status, StatusCode::OK);
        assert_eq!(page.text("[role=status]"), sent);
    }
    assert_eq!(
        web.mails("nobody@example.org", mail::RESET_PASSWORD).await,
        0
    );
    let body = web.mail(email, mail::RESET_PASSWORD).await;
    let token = link_value(&body, "/reset-password", "token");

    // The link shows the new-password form.
    let page = web.get(&format!("/reset-password?token={token}")).await;
    assert_eq!(page.status, StatusCode::OK);
    assert_eq!(page.attr("form", "method"), "post");
    assert_eq!(page.attr("form", "action"), "/reset-password/confirm");
    assert_eq!(page.attr("input[name=token]", "value"), token);
    page.assert_input("password", Some("password"), "new-password");
    page.assert_input("confirm", Some("confirm"), "new-password");
    assert!(!page.has(".summary"));

    // Two different passwords: said next to the second one; the token stays for a retry.
    let new = "correct horse battery staple";
    let page = web
        .post(
            "/reset-password/confirm",
            &[
                ("token", &token),
                ("password", new),
                ("confirm", "correct horse"),
            ],
        )
        .await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.text("#confirm-error").contains("differ"));
    assert_eq!(page.attr("input#confirm", "aria-invalid"), "true");
    assert_eq!(page.attr("input[name=token]", "value"), token);
    // Passwords are never written back into the page.
    assert!(!page.source.contains(new));
    assert!(web.password_is(email, PASSWORD).await);

    // Too short, then too common: the policy says which, next to the field.
    for (bad, problem) in [
        ("short", "at least 10 characters"),
        ("1234567890", "commonly used passwords"),
    ] {
        let page = web
            .post(
                "/reset-password/confirm",
                &[("token", &token), ("password", bad), ("confirm", bad)],
            )
            .await;
        assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}");
        assert!(
            page.text("#password-error").contains(problem),
            "{}",
            page.source
        );
        assert_eq!(page.attr("input#password", "aria-invalid"), "true");
        assert!(page.text(".summary").contains(problem));
        assert_eq!(page.attr("input[name=token]", "value"), token);
        assert!(web.password_is(email, PASSWORD).await);
    }

    // A good one works, once.
    let page = web
        .post(
            "/reset-password/confirm",
            &[("token", &token), ("password", new), ("confirm", new)],
        )
        .await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.source);
    assert!(page.text("[role=status]").contains("new password is set"));
    assert!(web.password_is(email, new).await);
    assert!(!web.password_is(email, PASSWORD).await);

    let page = web
        .post(
            "/reset-password/confirm",
            &[
                ("token", &token),
                ("password", PASSWORD),
                ("confirm", PASSWORD),
            ],
        )
        .await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        page.text("[role=alert]")
            .contains("expired (after an hour) or been used")
    );
    assert_eq!(page.attr("main p a", "href"), "/reset-password");
    assert!(web.password_is(email, new).await);
}

#[sqlx::test(migrator = "apex_core::db::MIGRATOR")]
async fn sign_up_with_an_invitation(pool: PgPool) {
    let web = Web::new(pool, &config("invite"));
    let admin = users::create_user(web.pool(), "admin@example.org", PASSWORD, true)
        .await
        .unwrap();
    let actor = Actor::cli(
        admin,
        PlatformRoles {
            admin: true,
            granted: vec![],
        },
    );
    let email = "x@example.org";
    invitations::invite_to_platform(&web.core, &actor, email)
        .await
        .unwrap();
    let body = web.mail(email, mail::INVITATION).await;
    let token = link_value(&body, "/signup", "invitation");

    // Not without an invitation on this platform, and not with a made-up one.
    let page = web.get("/signup").await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
    assert!(page.text("[role=alert]").contains("needs an invitation"));
    let page = web.get("/signup?invitation=0123abcd").await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.text("h1").contains("invitation does not work"));
    assert!(!page.has("form"));

    // The link shows whom the invitation is for, and asks for a password.
    let page = web.get(&format!("/signup?invitation={token}")).await;
    assert_eq!(page.status, StatusCode::OK);
    assert_eq!(page.attr("form", "action"), "/signup");
    assert_eq!(page.attr("input[name=invitation]", "value"), token);
    page.assert_input("email", None, "username");
    assert_eq!(page.attr("input#email", "value"), email);
    page.assert_input("password", Some("password"), "new-password");
    page.assert_input("confirm", Some("confirm"), "new-password");

    let new = "correct horse battery staple";
    let page = web
        .post(
            "/signup",
            &[
                ("invitation", &token),
                ("password", new),
                ("confirm", "other one, longer"),
            ],
        )
        .await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.text("#confirm-error").contains("differ"));
    assert_eq!(page.attr("input[name=invitation]", "value"), token);
    assert_eq!(page.attr("input#email", "value"), email);
    assert!(!web.user_exists(email).await);

    let page = web
        .post(
            "/signup",
            &[
                ("invitation", &token),
                ("password", "short"),
                ("confirm", "short"),
            ],
        )
        .await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        page.text("#password-error")
            .contains("at least 10 characters")
    );
    assert!(!web.user_exists(email).await);

    // Another site's form is refused.
    let page = web
        .post_from(
            "/signup",
            &[("invitation", &token), ("password", new), ("confirm", new)],
            Some("https://evil.example"),
        )
        .await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
    assert!(!web.user_exists(email).await);

    let page = web
        .post(
            "/signup",
            &[("invitation", &token), ("password", new), ("confirm", new)],
        )
        .await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.source);
    assert_eq!(
        page.text("[role=status]"),
        "We sent a link to x@example.org; open it to confirm your address, then sign in."
    );
    assert!(web.user_exists(email).await);
    assert!(!web.verified(email).await);
    assert!(web.password_is(email, new).await);
    let body = web.mail(email, mail::VERIFY_EMAIL).await;
    assert!(mail::find_token(&body, "/verify-email").is_some());

    // The invitation works once.
    let page = web
        .post(
            "/signup",
            &[("invitation", &token), ("password", new), ("confirm", new)],
        )
        .await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.text("h1").contains("invitation does not work"));
}

#[sqlx::test(migrator = "apex_core::db::MIGRATOR")]
async fn open_sign_up_asks_for_the_address(pool: PgPool) {
    let web = Web::new(pool, &config("open"));
    let page = web.get("/signup").await;
    assert_eq!(page.status, StatusCode::OK);
    page.assert_input("email", Some("email"), "email");
    let page = web
        .post(
            "/signup",
            &[
                ("email", "nope"),
                ("password", PASSWORD),
                ("confirm", PASSWORD),
            ],
        )
        .await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        page.text("#email-error")
            .contains("is not an e-mail address")
    );
    assert_eq!(page.attr("input#email", "value"), "nope");
    let page = web
        .post(
            "/signup",
            &[
                ("email", "dora@example.org"),
                ("password", PASSWORD),
                ("confirm", PASSWORD),
            ],
        )
        .await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.source);
    assert_eq!(web.mails("dora@example.org", mail::VERIFY_EMAIL).await, 1);

    let web = Web::new(web.core.pool.clone(), &config("closed"));
    let page = web.get("/signup").await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
    assert!(page.text("[role=alert]").contains("takes no sign-ups"));
}

#[sqlx::test(migrator = "apex_core::db::MIGRATOR")]
async fn forms_from_other_sites_are_refused(pool: PgPool) {
    let web = Web::new(pool, &config("open"));
    let forms: [(&str, &[(&str, &str)]); 4] = [
        ("/verify-email", &[("token", "x")]),
        ("/reset-password", &[("email", "eve@example.org")]),
        (
            "/reset-password/confirm",
            &[
                ("token", "x"),
                ("password", PASSWORD),
                ("confirm", PASSWORD),
            ],
        ),
        (
            "/signup",
            &[
                ("email", "eve@example.org"),
                ("password", PASSWORD),
                ("confirm", PASSWORD),
            ],
        ),
    ];
    for (path, form) in forms {
        for origin in ["https://evil.example", "null", "http://127.0.0.1:9999"] {
            let page = web.post_from(path, form, Some(origin)).await;
            assert_eq!(page.status, StatusCode::FORBIDDEN, "{path} from {origin}");
            assert!(
                page.text("[role=alert]")
                    .contains("did not come from this site")
            );
        }
    }
    // Browsers that say so in Sec-Fetch-Site alone are refused too.
    let req = Request::post("/signup")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header("sec-fetch-site", "cross-site")
        .body(Body::from("email=eve%40example.org"))
        .unwrap();
    assert_eq!(web.send(req).await.status, StatusCode::FORBIDDEN);
    assert!(!web.user_exists("eve@example.org").await);
    assert_eq!(web.mails("eve@example.org", mail::RESET_PASSWORD).await, 0);

    // From this site but without this browser's token (a form copied from elsewhere, a
    // page from before the cookie was lost): refused just the same.
    web.get("/reset-password").await;
    for token in ["", "0123456789abcdef0123456789abcdef01234567"] {
        let page = web
            .post(
                "/reset-password",
                &[("email", "eve@example.org"), ("csrf", token)],
            )
            .await;
        assert_eq!(page.status, StatusCode::FORBIDDEN, "token {token:?}");
    }
    assert_eq!(web.mails("eve@example.org", mail::RESET_PASSWORD).await, 0);

    // The site at another name than its public URL (a developer's localhost) is itself.
    let body = format!("email=eve%40example.org&csrf={}", web.csrf());
    let req = Request::post("/reset-password")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(header::HOST, "localhost:3000")
        .header(header::ORIGIN, "http://localhost:3000")
        .body(Body::from(body))
        .unwrap();
    assert_eq!(web.send(req).await.status, StatusCode::OK);
}

#[sqlx::test(migrator = "apex_core::db::MIGRATOR")]
async fn a_signed_in_user_accepts_an_invitation_with_their_account(pool: PgPool) {
    let web = Web::new(pool, &config("invite"));
    let owner = users::create_user(web.pool(), "owner@example.org", PASSWORD, false)
        .await
        .unwrap();
    let owner = Actor::cli(owner, PlatformRoles::default());
    apex_core::domains::create(&web.core, &owner, "shop.test")
        .await
        .unwrap();
    // Invited at an address without an account; they have one under another address.
    apex_core::members::add(
        &web.core,
        &owner,
        "shop.test",
        &apex_core::members::NewMember {
            email: "work@example.org".into(),
            role: apex_core::actor::Role::Write,
        },
    )
    .await
    .unwrap();
    let token = link_value(
        &web.mail("work@example.org", mail::INVITATION).await,
        "/signup",
        "invitation",
    );
    users::create_user(web.pool(), "home@example.org", PASSWORD, false)
        .await
        .unwrap();
    let page = web.get(&format!("/signup?invitation={token}")).await;
    let accept = page.attr("a[href^='/invitations/accept']", "href");
    // Signed out: to the sign-in page, and back.
    let page = web.get(&accept).await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    web.get("/login").await;
    let page = web
        .post(
            "/login",
            &[
                ("email", "home@example.org"),
                ("password", PASSWORD),
                ("next", &accept),
            ],
        )
        .await;
    assert_eq!(page.headers[header::LOCATION], accept.as_str());
    let page = web.get(&accept).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.source);
    assert!(page.text("main").contains("shop.test as editor"));
    assert!(page.text("main").contains("home@example.org"));
    let page = web.post("/invitations/accept", &[("token", &token)]).await;
    assert_eq!(page.headers[header::LOCATION], "/domains/shop.test");
    let role: String = sqlx::query_scalar(
        "SELECT m.role::text FROM domain_members m JOIN users u ON u.id = m.user_id WHERE u.email = 'home@example.org'",
    )
    .fetch_one(web.pool())
    .await
    .unwrap();
    assert_eq!(role, "write");
    // It works once.
    let page = web.post("/invitations/accept", &[("token", &token)]).await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
}

#[sqlx::test(migrator = "apex_core::db::MIGRATOR")]
async fn a_new_confirmation_link_on_request(pool: PgPool) {
    let web = Web::new(pool, &config("open"));
    let input = SignupInput {
        email: Some("late@example.org".into()),
        password: PASSWORD.into(),
        invitation: None,
    };
    signup::signup(&web.core, &input, &Client::default())
        .await
        .unwrap();
    assert_eq!(web.mails("late@example.org", mail::VERIFY_EMAIL).await, 1);
    let page = web.get("/login").await;
    assert!(page.has("a[href='/verify-email/resend']"));
    let page = web.get("/verify-email/resend").await;
    page.assert_input("email", Some("email"), "email");
    let page = web
        .post("/verify-email/resend", &[("email", "late@example.org")])
        .await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.text("[role=status]")
            .contains("a new link is on its way")
    );
    assert_eq!(web.mails("late@example.org", mail::VERIFY_EMAIL).await, 2);
    // An unknown address gets the same answer, and no mail.
    let page = web
        .post("/verify-email/resend", &[("email", "nobody@example.org")])
        .await;
    assert_eq!(page.status, StatusCode::OK);
    assert_eq!(web.mails("nobody@example.org", mail::VERIFY_EMAIL).await, 0);
}
