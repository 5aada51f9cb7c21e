//! Cursor pagination on every list: pages joined are the whole list, in its documented order,
//! and a walk misses and repeats nothing while writes happen.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::{BTreeMap, BTreeSet};

use axum::http::StatusCode;
use common::{Api, setup};
use serde_json::{Value, json};
use sqlx::PgPool;

/// Every item of the list at `first`, following `next` links; and how many pages it took.
async fn walk(api: &Api, first: &str, field: &str) -> (Vec<Value>, usize) {
    let mut items = Vec::new();
    let mut pages = 0;
    let mut next = Some(first.to_string());
    while let Some(uri) = next {
        let (s, b, _) = api.call("GET", &uri, None).await;
        assert_eq!(s, StatusCode::OK, "{uri}: {b}");
        items.extend(b[field].as_array().unwrap().iter().cloned());
        pages += 1;
        next = b["next"].as_str().map(str::to_string);
        assert!(pages < 100_000, "no end to {first}");
    }
    (items, pages)
}

#[sqlx::test(migrator = "apex_core::db::MIGRATOR")]
async fn twenty_five_thousand_records_walked_while_writes_happen(pool: PgPool) {
    let api = setup(pool).await;
    let (s, b) = api
        .post("/api/v1/domains", json!({"name": "big.example"}))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    let mut zone = String::from("$ORIGIN big.example.\n");
    for i in 0..25_000 {
        zone.push_str(&format!(
            "m{i:05} 300 IN A 10.{}.{}.{}\n",
            i / 65536,
            (i / 256) % 256,
            i % 256
        ));
    }
    let (s, b) = api
        .upload("/api/v1/domains/big.example/import", "text/dns", &zone)
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let original: BTreeSet<i64> = sqlx::query_scalar("SELECT id FROM records")
        .fetch_all(&api.pool)
        .await
        .unwrap()
        .into_iter()
        .collect();
    assert_eq!(original.len(), 25_000);

    // Pages of 500; between pages, records come and go before and after the cursor, and
    // some of the walked records change TTL (their sort key stays).
    let mut seen: BTreeMap<i64, usize> = BTreeMap::new();
    let mut order: Vec<(String, String, i64)> = Vec::new();
    let mut next = Some("/api/v1/domains/big.example/records?limit=500".to_string());
    let mut i = 0;
    let mut added: Vec<i64> = Vec::new();
    while let Some(uri) = next {
        let (s, b, _) = api.call("GET", &uri, None).await;
        assert_eq!(s, StatusCode::OK, "{b}");
        next = b["next"].as_str().map(str::to_string);
        for r in b["records"].as_array().unwrap() {
            let id = r["id"].as_i64().unwrap();
            *seen.entry(id).or_default() += 1;
            order.push((
                r["fqdn"].as_str().unwrap().to_string(),
                r["type"].as_str().unwrap().to_string(),
                id,
            ));
        }
        for name in [
            format!("a{i}"),
            format!("z{i}"),
            format!("m{:05}x", i * 500),
        ] {
            let (s, b) = api
                .post(
                    "/api/v1/domains/big.example/records",
                    json!({"name": name, "type": "TXT", "content": format!("\"{i}\"")}),
                )
                .await;
            assert_eq!(s, StatusCode::CREATED, "{b}");
            added.push(b["record"]["id"].as_i64().unwrap());
        }
        if let Some(old) = added.first().copied().filter(|_| i % 3 == 2) {
            let (s, _, _) = api
                .call(
                    "DELETE",
                    &format!("/api/v1/domains/big.example/records/{old}"),
                    None,
                )
                .await;
            assert_eq!(s, StatusCode::OK);
            added.remove(0);
        }
        let (s, b, _) = api
            .call(
                "PUT",
                "/api/v1/domains/big.example/rrsets",
                Some(&json!([{"name": format!("m{:05}", i * 400), "type": "A", "ttl": 600,
                               "records": [format!("10.0.{}.{}", (i * 400) / 256 % 256, (i * 400) % 256)]}])
                    .to_string()),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{b}");
        i += 1;
    }
    assert!(i >= 50, "{i} pages");
    let missed: Vec<&i64> = original
        .iter()
        .filter(|id| !seen.contains_key(id))
        .collect();
    let repeated: Vec<(&i64, &usize)> = seen.iter().filter(|(_, n)| **n > 1).collect();
    assert!(missed.is_empty(), "missed {} records", missed.len());
    assert!(repeated.is_empty(), "repeated {repeated:?}");
    // The documented order: owner, type, id.
    assert!(order.windows(2).all(|w| w[0] < w[1]));
}

#[sqlx::test(migrator = "apex_core::db::MIGRATOR")]
async fn every_list_pages(pool: PgPool) {
    let api = setup(pool).await;
    for i in 0..5 {
        let (s, b) = api
            .post("/api/v1/domains", json!({"name": format!("d{i}.example")}))
            .await;
        assert_eq!(s, StatusCode::CREATED, "{b}");
    }
    for i in 0..4 {
        let (s, b) = api
            .post("/api/v1/keys", json!({"description": format!("k{i}")}))
            .await;
        assert_eq!(s, StatusCode::CREATED, "{b}");
        let (s, b) = api
            .post(
                "/api/v1/domains/d0.example/keys",
                json!({"description": format!("dk{i}"), "role": "read"}),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{b}");
    }
    for i in 0..3 {
        let user = apex_core::users::create_user(
            &api.pool,
            &format!("member{i}@example.com"),
            "a long enough password",
            false,
        )
        .await
        .unwrap();
        sqlx::query(
            "INSERT INTO domain_members (domain_id, user_id, role)
             SELECT id, $1, 'read' FROM domains WHERE name = 'd0.example'",
        )
        .bind(user.0)
        .execute(&api.pool)
        .await
        .unwrap();
    }
    let (s, b) = api
        .post(
            "/api/v1/domains/d0.example/webhooks",
            json!({"url": "https://hooks.example.net/a"}),
        )
        .await;
    let webhook_lists = s == StatusCode::CREATED;
    if webhook_lists {
        for n in ["b", "c"] {
            api.post(
                "/api/v1/domains/d0.example/webhooks",
                json!({"url": format!("https://hooks.example.net/{n}")}),
            )
            .await;
        }
    } else {
        // Webhooks need a master key: without one the list stays empty but still pages.
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{b}");
    }

    for (path, field, key) in [
        ("/api/v1/domains", "domains", "name"),
        ("/api/v1/keys", "keys", "id"),
        ("/api/v1/domains/d0.example/keys", "keys", "id"),
        ("/api/v1/domains/d0.example/members", "members", "email"),
        ("/api/v1/domains/d0.example/webhooks", "webhooks", "id"),
        ("/api/v1/domains/d0.example/changes", "changes", "id"),
        ("/api/v1/audit", "events", "id"),
    ] {
        let (whole, _) = walk(&api, &format!("{path}?limit=500"), field).await;
        let (paged, pages) = walk(&api, &format!("{path}?limit=2"), field).await;
        assert_eq!(paged, whole, "{path}");
        if whole.len() > 2 {
            assert!(pages >= whole.len() / 2, "{path}: {pages} pages");
        }
        let keys: Vec<String> = whole.iter().map(|v| v[key].to_string()).collect();
        let unique: BTreeSet<&String> = keys.iter().collect();
        assert_eq!(unique.len(), keys.len(), "{path}: {keys:?}");
        let (s, b, _) = api.call("GET", &format!("{path}?limit=0"), None).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{path}: {b}");
        let (s, _, _) = api
            .call("GET", &format!("{path}?cursor=%25%25"), None)
            .await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{path}");
    }
}
