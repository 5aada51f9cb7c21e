//! Sharing a domain by role, scoped keys and domain keys, public suffixes and quotas: the
//! acceptance lines of the accounts issue, through the router.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use apex_core::auth::keys;
use apex_core::ids::UserId;
use apex_core::users;
use axum::http::StatusCode;
use common::{Client, accounts_config, router_for};
use serde_json::{Value, json};
use sqlx::PgPool;

/// A user with a full key, as a client.
async fn person(
    pool: &PgPool,
    router: &axum::Router,
    email: &str,
    admin: bool,
) -> (UserId, Client) {
    let id = users::create_user(pool, email, "a long enough password", admin)
        .await
        .unwrap();
    let (_, key) = keys::create_full(pool, id, "test").await.unwrap();
    (id, Client::with_key(router, &key))
}

fn txt(name: &str, value: &str) -> Value {
    json!({"name": name, "type": "TXT", "content": format!("\"{value}\"")})
}

#[sqlx::test(migrator = "apex_core::db::MIGRATOR")]
async fn roles_decide_what_a_colleague_may_do(pool: PgPool) {
    let router = router_for(&pool, &accounts_config());
    let (_, mut alice) = person(&pool, &router, "alice@example.com", false).await;
    let (bob_id, mut bob) = person(&pool, &router, "bob@example.com", false).await;
    let (_, mut carol) = person(&pool, &router, "carol@example.com", false).await;
    alice
        .post("/api/v1/domains", json!({"name": "example.com"}))
        .await;
    let a = alice
        .post(
            "/api/v1/domains/example.com/members",
            json!({"email": "bob@example.com", "role": "read"}),
        )
        .await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.body);
    assert_eq!(a.body["status"], "added");

    // Read: listed and readable, not changeable.
    let a = bob.get("/api/v1/domains").await;
    assert_eq!(a.body["domains"][0]["name"], "example.com", "{}", a.body);
    assert_eq!(a.body["domains"][0]["role"], "read");
    assert_eq!(
        bob.get("/api/v1/domains/example.com/records").await.status,
        StatusCode::OK
    );
    assert_eq!(
        bob.get("/api/v1/domains/example.com/export").await.status,
        StatusCode::OK
    );
    let a = bob
        .post("/api/v1/domains/example.com/records", txt("www", "x"))
        .await;
    assert_eq!(a.status, StatusCode::FORBIDDEN, "{}", a.body);
    assert!(a.body["detail"].as_str().unwrap().contains("read"));
    // A third user does not see it at all.
    for uri in [
        "/api/v1/domains/example.com",
        "/api/v1/domains/example.com/records",
        "/api/v1/domains/example.com/members",
    ] {
        let a = carol.get(uri).await;
        assert_eq!(a.status, StatusCode::NOT_FOUND, "{uri}: {}", a.body);
    }
    let a = carol
        .post("/api/v1/domains/example.com/records", txt("www", "x"))
        .await;
    assert_eq!(a.status, StatusCode::NOT_FOUND);
    assert_eq!(
        carol.get("/api/v1/domains").await.body["domains"],
        json!([])
    );

    // Write: records yes, members no.
    let a = alice
        .send(
            "PATCH",
            &format!("/api/v1/domains/example.com/members/{bob_id}"),
            Some(json!({"role": "write"})),
        )
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    let a = bob
        .post("/api/v1/domains/example.com/records", txt("www", "x"))
        .await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.body);
    assert_eq!(a.body["change"]["by"]["user"], "bob@example.com");
    let a = bob
        .post(
            "/api/v1/domains/example.com/members",
            json!({"email": "carol@example.com", "role": "read"}),
        )
        .await;
    assert_eq!(a.status, StatusCode::FORBIDDEN, "{}", a.body);
    let a = bob
        .send(
            "PATCH",
            "/api/v1/domains/example.com",
            Some(json!({"serial_policy": "unixtime"})),
        )
        .await;
    assert_eq!(a.status, StatusCode::FORBIDDEN, "{}", a.body);

    // Removing the membership takes effect on the next request.
    let a = alice
        .send(
            "DELETE",
            &format!("/api/v1/domains/example.com/members/{bob_id}"),
            None,
        )
        .await;
    assert_eq!(a.status, StatusCode::NO_CONTENT, "{}", a.body);
    let a = bob
        .post("/api/v1/domains/example.com/records", txt("www", "y"))
        .await;
    assert_eq!(a.status, StatusCode::NOT_FOUND, "{}", a.body);
    assert_eq!(
        bob.get("/api/v1/domains/example.com").await.status,
        StatusCode::NOT_FOUND
    );
    let notices: Vec<String> = sqlx::query_scalar(
        "SELECT subject FROM mail_outbox WHERE recipient = 'bob@example.com' AND kind = 'notice.member' ORDER BY id",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(notices.len(), 3, "{notices:?}");
}

#[sqlx::test(migrator = "apex_core::db::MIGRATOR")]
async fn you_grant_only_below_your_own_role(pool: PgPool) {
    let router = router_for(&pool, &accounts_config());
    let (alice_id, mut alice) = person(&pool, &router, "alice@example.com", false).await;
    let (bob_id, mut bob) = person(&pool, &router, "bob@example.com", false).await;
    let (carol_id, mut carol) = person(&pool, &router, "carol@example.com", false).await;
    let (_, mut root) = person(&pool, &router, "root@example.com", true).await;
    alice
        .post("/api/v1/domains", json!({"name": "example.com"}))
        .await;
    let add = |email: &str, role: &str| json!({"email": email, "role": role});
    alice
        .post(
            "/api/v1/domains/example.com/members",
            add("bob@example.com", "admin"),
        )
        .await;
    // An admin may add below admin, not admin or owner.
    let a = bob
        .post(
            "/api/v1/domains/example.com/members",
            add("carol@example.com", "admin"),
        )
        .await;
    assert_eq!(a.status, StatusCode::FORBIDDEN, "{}", a.body);
    let a = bob
        .post(
            "/api/v1/domains/example.com/members",
            add("carol@example.com", "owner"),
        )
        .await;
    assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", a.body);
    let a = bob
        .post(
            "/api/v1/domains/example.com/members",
            add("carol@example.com", "write"),
        )
        .await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.body);
    let a = bob
        .post(
            "/api/v1/domains/example.com/members",
            add("carol@example.com", "read"),
        )
        .await;
    assert_eq!(
        a.status,
        StatusCode::CONFLICT,
        "already a member: {}",
        a.body
    );
    // Nor change someone at or above them, nor themselves.
    let patch = |role: &str| Some(json!({"role": role}));
    let a = bob
        .send(
            "PATCH",
            &format!("/api/v1/domains/example.com/members/{alice_id}"),
            patch("read"),
        )
        .await;
    assert_eq!(a.status, StatusCode::CONFLICT, "the owner: {}", a.body);
    let a = bob
        .send(
            "PATCH",
            "/api/v1/domains/example.com/members/me",
            patch("owner"),
        )
        .await;
    assert_eq!(a.status, StatusCode::FORBIDDEN, "{}", a.body);
    // Below admin, a member may only leave.
    let a = carol
        .send(
            "DELETE",
            &format!("/api/v1/domains/example.com/members/{bob_id}"),
            None,
        )
        .await;
    assert_eq!(a.status, StatusCode::FORBIDDEN, "{}", a.body);
    let a = carol
        .send("DELETE", "/api/v1/domains/example.com/members/me", None)
        .await;
    assert_eq!(a.status, StatusCode::NO_CONTENT, "{}", a.body);
    // The owner cannot leave, only hand the domain on; it always has one owner.
    let a = alice
        .send("DELETE", "/api/v1/domains/example.com/members/me", None)
        .await;
    assert_eq!(a.status, StatusCode::CONFLICT, "{}", a.body);
    let a = alice
        .send(
            "PATCH",
            &format!("/api/v1/domains/example.com/members/{bob_id}"),
            patch("owner"),
        )
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    let members = bob.get("/api/v1/domains/example.com/members").await.body;
    let roles: Vec<(String, String)> = members["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["email"].as_str().unwrap().to_string(),
                m["role"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    // By e-mail address (the order pages are cut in).
    assert_eq!(
        roles,
        vec![
            ("alice@example.com".into(), "admin".into()),
            ("bob@example.com".into(), "owner".into())
        ]
    );
    // The new owner may delete it; the old one (now admin) may not.
    let a = alice
        .send("DELETE", "/api/v1/domains/example.com", None)
        .await;
    assert_eq!(a.status, StatusCode::FORBIDDEN);
    // A platform administrator can do anything: make carol owner of a domain she left.
    let a = root
        .post(
            "/api/v1/domains/example.com/members",
            add("carol@example.com", "read"),
        )
        .await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.body);
    let a = root
        .send(
            "PATCH",
            &format!("/api/v1/domains/example.com/members/{carol_id}"),
            patch("owner"),
        )
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    assert_eq!(
        carol
            .send("DELETE", "/api/v1/domains/example.com", None)
            .await
            .status,
        StatusCode::OK
    );
}

#[sqlx::test(migrator = "apex_core::db::MIGRATOR")]
async fn an_acme_key_writes_its_challenge_and_nothing_else(pool: PgPool) {
    let router = router_for(&pool, &accounts_config());
    let (_, mut alice) = person(&pool, &router, "alice@example.com", false).await;
    for name in ["example.com", "example.net"] {
        alice.post("/api/v1/domains", json!({"name": name})).await;
    }
    let a = alice
        .post(
            "/api/v1/keys",
            json!({
                "description": "certbot on web1",
                "domains": ["example.com"],
                "role": "write",
                "records": [{"name": "_acme-challenge.*", "types": ["TXT"]}],
            }),
        )
        .await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.body);
    let token = a.body["token"].as_str().unwrap().to_string();
    assert_eq!(a.body["domains"], json!(["example.com"]));
    let mut certbot = Client::with_key(&router, &token);

    let a = certbot
        .post(
            "/api/v1/domains/example.com/records",
            txt("_acme-challenge", "token-1"),
        )
        .await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.body);
    let id = a.body["record"]["id"].as_i64().unwrap();
    let a = certbot
        .post(
            "/api/v1/domains/example.com/records",
            txt("_acme-challenge.www", "token-2"),
        )
        .await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.body);
    let a = certbot
        .send(
            "DELETE",
            &format!("/api/v1/domains/example.com/records/{id}"),
            None,
        )
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);

    // An A record there, a TXT record elsewhere, another domain: refused.
    let a = certbot
        .post(
            "/api/v1/domains/example.com/records",
            json!({"name": "_acme-challenge", "type": "A", "content": "192.0.2.1"}),
        )
        .await;
    assert_eq!(a.status, StatusCode::FORBIDDEN, "{}", a.body);
    assert!(
        a.body["detail"]
            .as_str()
            .unwrap()
            .contains("_acme-challenge.*")
    );
    let a = certbot
        .post("/api/v1/domains/example.com/records", txt("www", "x"))
        .await;
    assert_eq!(a.status, StatusCode::FORBIDDEN, "{}", a.body);
    let a = certbot
        .post(
            "/api/v1/domains/example.net/records",
            txt("_acme-challenge", "x"),
        )
        .await;
    assert_eq!(a.status, StatusCode::FORBIDDEN, "{}", a.body);
    // Nor a record outside turned into one inside, nor the whole zone, nor a new domain.
    let www = alice
        .post("/api/v1/domains/example.com/records", txt("www", "x"))
        .await
        .body["record"]["id"]
        .as_i64()
        .unwrap();
    let a = certbot
        .send(
            "PATCH",
            &format!("/api/v1/domains/example.com/records/{www}"),
            Some(json!({"name": "_acme-challenge"})),
        )
        .await;
    assert_eq!(a.status, StatusCode::FORBIDDEN, "{}", a.body);
    let a = certbot
        .send(
            "DELETE",
            &format!("/api/v1/domains/example.com/records/{www}"),
            None,
        )
        .await;
    assert_eq!(a.status, StatusCode::FORBIDDEN, "{}", a.body);
    let a = certbot
        .post("/api/v1/domains", json!({"name": "example.org"}))
        .await;
    assert_eq!(a.status, StatusCode::FORBIDDEN, "{}", a.body);
    // Nor manage keys or the account.
    assert_eq!(
        certbot.get("/api/v1/keys").await.status,
        StatusCode::FORBIDDEN
    );
    // Record limits keep a key to records even with no role given: no settings, no deletion.
    let a = alice
        .post(
            "/api/v1/keys",
            json!({"description": "lazy", "records": [{"name": "_acme-challenge.*", "types": ["TXT"]}]}),
        )
        .await;
    let mut lazy = Client::with_key(&router, a.body["token"].as_str().unwrap());
    assert_eq!(
        lazy.send("DELETE", "/api/v1/domains/example.com", None)
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        lazy.send(
            "PATCH",
            "/api/v1/domains/example.com",
            Some(json!({"serial_policy": "unixtime"}))
        )
        .await
        .status,
        StatusCode::FORBIDDEN
    );
    // A key that may use platform roles cannot be limited.
    let a = alice
        .post(
            "/api/v1/keys",
            json!({"description": "x", "domains": ["example.com"], "platform_roles": true}),
        )
        .await;
    assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", a.body);
    // Its use is recorded on the key and on the change.
    let keys = alice.get("/api/v1/keys").await.body;
    let k = keys["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["description"] == "certbot on web1")
        .unwrap();
    assert!(k["last_used_at"].is_string(), "{k}");
    assert_eq!(k["last_used_ip"], "127.0.0.1");
}

#[sqlx::test(migrator = "apex_core::db::MIGRATOR")]
async fn a_domain_key_outlives_its_creators_membership(pool: PgPool) {
    let router = router_for(&pool, &accounts_config());
    let (_, mut alice) = person(&pool, &router, "alice@example.com", false).await;
    let (_, mut bob) = person(&pool, &router, "bob@example.com", false).await;
    alice
        .post("/api/v1/domains", json!({"name": "example.com"}))
        .await;
    alice
        .post("/api/v1/domains", json!({"name": "example.net"}))
        .await;
    alice
        .post(
            "/api/v1/domains/example.com/members",
            json!({"email": "bob@example.com", "role": "admin"}),
        )
        .await;
    // An admin makes a key of the domain; not with more than admin.
    let a = bob
        .post(
            "/api/v1/domains/example.com/keys",
            json!({"description": "deploy", "role": "owner"}),
        )
        .await;
    assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", a.body);
    let a = bob
        .post(
            "/api/v1/domains/example.com/keys",
            json!({"description": "deploy", "role": "write"}),
        )
        .await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.body);
    assert_eq!(a.body["kind"], "domain");
    assert_eq!(a.body["created_by"], "bob@example.com");
    let mut deploy = Client::with_key(&router, a.body["token"].as_str().unwrap());
    let key_id = a.body["id"].as_i64().unwrap();

    let a = bob
        .send("DELETE", "/api/v1/domains/example.com/members/me", None)
        .await;
    assert_eq!(a.status, StatusCode::NO_CONTENT);
    assert_eq!(
        bob.get("/api/v1/domains/example.com").await.status,
        StatusCode::NOT_FOUND
    );
    // The key still works, on its domain alone.
    let a = deploy
        .post(
            "/api/v1/domains/example.com/records",
            txt("www", "deployed"),
        )
        .await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.body);
    assert_eq!(a.body["change"]["by"]["api_key_id"], key_id);
    assert_eq!(a.body["change"]["by"]["user"], Value::Null);
    let a = deploy.get("/api/v1/domains").await;
    assert_eq!(a.body["domains"].as_array().unwrap().len(), 1, "{}", a.body);
    assert_eq!(
        deploy.get("/api/v1/domains/example.net").await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        deploy
            .send(
                "PATCH",
                "/api/v1/domains/example.com",
                Some(json!({"serial_policy": "unixtime"}))
            )
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        deploy.get("/api/v1/account").await.status,
        StatusCode::FORBIDDEN
    );
    // Revoked: refused at once.
    let a = alice
        .send(
            "DELETE",
            &format!("/api/v1/domains/example.com/keys/{key_id}"),
            None,
        )
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    let a = deploy.get("/api/v1/domains/example.com").await;
    assert_eq!(a.status, StatusCode::UNAUTHORIZED);
}

#[sqlx::test(migrator = "apex_core::db::MIGRATOR")]
async fn keys_from_elsewhere_or_expired_are_refused_and_audited(pool: PgPool) {
    let router = router_for(&pool, &accounts_config());
    let (_, mut alice) = person(&pool, &router, "alice@example.com", false).await;
    let a = alice
        .post(
            "/api/v1/keys",
            json!({"description": "office only", "networks": ["192.0.2.0/24", "2001:db8::/32"]}),
        )
        .await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.body);
    let mut office = Client::with_key(&router, a.body["token"].as_str().unwrap());
    let a = office.get("/api/v1/domains").await;
    assert_eq!(
        a.status,
        StatusCode::UNAUTHORIZED,
        "from 127.0.0.1: {}",
        a.body
    );
    let a = alice
        .post(
            "/api/v1/keys",
            json!({"description": "local", "networks": ["127.0.0.0/8"]}),
        )
        .await;
    let mut local = Client::with_key(&router, a.body["token"].as_str().unwrap());
    assert_eq!(local.get("/api/v1/domains").await.status, StatusCode::OK);
    // Expiry in the past is refused at creation; a key past its expiry at use.
    let a = alice
        .post(
            "/api/v1/keys",
            json!({"description": "old", "expires_at": "2020-01-01T00:00:00Z"}),
        )
        .await;
    assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(a.body["errors"][0]["pointer"], "/expires_at");
    let a = alice
        .post(
            "/api/v1/keys",
            json!({"description": "soon", "expires_at": (chrono::Utc::now() + chrono::TimeDelta::seconds(60)).to_rfc3339()}),
        )
        .await;
    let id = a.body["id"].as_i64().unwrap();
    let mut soon = Client::with_key(&router, a.body["token"].as_str().unwrap());
    assert_eq!(soon.get("/api/v1/domains").await.status, StatusCode::OK);
    sqlx::query("UPDATE api_keys SET expires_at = now() - interval '1 second' WHERE id = $1")
        .bind(id)
        .execute(&pool)
        .await
        .unwrap();
    assert_eq!(
        soon.get("/api/v1/domains").await.status,
        StatusCode::UNAUTHORIZED
    );
    let refusals: Vec<Value> = sqlx::query_scalar(
        "SELECT detail FROM audit_events WHERE event = 'key.refused' ORDER BY id",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    let reasons: Vec<&str> = refusals
        .iter()
        .map(|d| d["reason"].as_str().unwrap())
        .collect();
    assert_eq!(reasons, vec!["outside its networks", "expired"]);
    // Bad networks name the entry.
    let a = alice
        .post(
            "/api/v1/keys",
            json!({"description": "x", "networks": ["192.0.2.0/24", "nowhere"]}),
        )
        .await;
    assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(a.body["errors"][0]["pointer"], "/networks/1");
}

#[sqlx::test(migrator = "apex_core::db::MIGRATOR")]
async fn public_suffixes_and_quotas(pool: PgPool) {
    let router = router_for(&pool, &accounts_config());
    let (alice_id, mut alice) = person(&pool, &router, "alice@example.com", false).await;
    let (_, mut root) = person(&pool, &router, "root@example.com", true).await;
    let a = alice
        .post("/api/v1/domains", json!({"name": "co.uk"}))
        .await;
    assert_eq!(a.status, StatusCode::FORBIDDEN, "{}", a.body);
    let detail = a.body["detail"].as_str().unwrap();
    assert!(
        detail.contains("public suffix") && detail.contains("ICANN"),
        "{detail}"
    );
    let a = alice
        .post("/api/v1/domains", json!({"name": "github.io"}))
        .await;
    assert_eq!(a.status, StatusCode::FORBIDDEN, "{}", a.body);
    assert!(
        a.body["detail"]
            .as_str()
            .unwrap()
            .contains("private section")
    );
    // Top-level domains are no zones for anyone here.
    let a = alice.post("/api/v1/domains", json!({"name": "com"})).await;
    assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", a.body);
    // Names under a suffix are anyone's to register.
    let a = alice
        .post("/api/v1/domains", json!({"name": "alice.github.io"}))
        .await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.body);
    // A platform administrator may.
    let a = root.post("/api/v1/domains", json!({"name": "co.uk"})).await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.body);

    // Quota: the administrator sets Alice's to 2; she owns 1.
    let a = root
        .send(
            "PATCH",
            &format!("/api/v1/admin/users/{alice_id}"),
            Some(json!({"domain_quota": 2})),
        )
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    let a = alice
        .post("/api/v1/domains", json!({"name": "example.com"}))
        .await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.body);
    let a = alice
        .post("/api/v1/domains", json!({"name": "example.net"}))
        .await;
    assert_eq!(a.status, StatusCode::FORBIDDEN, "{}", a.body);
    let detail = a.body["detail"].as_str().unwrap();
    assert!(detail.contains("quota") && detail.contains('2'), "{detail}");
    assert_eq!(alice.get("/api/v1/account").await.body["domain_quota"], 2);
}
