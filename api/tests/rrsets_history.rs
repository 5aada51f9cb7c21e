//! RRsets as a unit (`/rrsets`), `If-Match`/`ETag`, history (`/changes`, `/versions`) and
//! revert, through the router without TCP.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeSet;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use common::{Api, assert_problem, setup};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use sqlx::PgPool;
use tower::ServiceExt;

/// A call with extra headers: status, body, headers.
async fn call(
    api: &Api,
    method: &str,
    uri: &str,
    body: Option<Value>,
    headers: &[(&str, &str)],
) -> (StatusCode, Value, axum::http::HeaderMap) {
    let mut req = Request::builder()
        .method(method)
        .uri(uri)
        .header(header::AUTHORIZATION, format!("Bearer {}", api.key));
    if body.is_some() {
        req = req.header(header::CONTENT_TYPE, "application/json");
    }
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let req = req
        .body(Body::from(body.map(|b| b.to_string()).unwrap_or_default()))
        .unwrap();
    let resp = api.router.clone().oneshot(req).await.unwrap();
    let status = resp.status();
    let headers = resp.headers().clone();
    let bytes = resp.into_body().collect().await.unwrap().to_bytes();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        headers,
    )
}

async fn domain(api: &Api, name: &str) {
    let (s, b) = api.post("/api/v1/domains", json!({"name": name})).await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
}

async fn put(api: &Api, zone: &str, body: Value) -> (StatusCode, Value, axum::http::HeaderMap) {
    call(
        api,
        "PUT",
        &format!("/api/v1/domains/{zone}/rrsets"),
        Some(body),
        &[],
    )
    .await
}

/// The zone's RRsets as (name, type, ttl, sorted records), all pages.
async fn rrsets(api: &Api, zone: &str) -> BTreeSet<(String, String, u64, Vec<String>)> {
    let mut out = BTreeSet::new();
    let mut next = Some(format!("/api/v1/domains/{zone}/rrsets?limit=1000"));
    while let Some(uri) = next {
        let (s, b, _) = call(api, "GET", &uri, None, &[]).await;
        assert_eq!(s, StatusCode::OK, "{b}");
        for r in b["rrsets"].as_array().unwrap() {
            out.insert((
                r["name"].as_str().unwrap().to_string(),
                r["type"].as_str().unwrap().to_string(),
                r["ttl"].as_u64().unwrap(),
                r["records"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|v| v.as_str().unwrap().to_string())
                    .collect(),
            ));
        }
        next = b["next"].as_str().map(str::to_string);
    }
    out
}

fn etag(headers: &axum::http::HeaderMap) -> String {
    headers
        .get(header::ETAG)
        .expect("an ETag")
        .to_str()
        .unwrap()
        .to_string()
}

#[sqlx::test(migrator = "apex_core::db::MIGRATOR")]
async fn a_batch_is_one_change_and_one_serial(pool: PgPool) {
    let api = setup(pool).await;
    domain(&api, "batch.example").await;
    let (_, _, h) = call(&api, "GET", "/api/v1/domains/batch.example", None, &[]).await;
    let before = etag(&h);

    let (s, b, h) = put(
        &api,
        "batch.example",
        json!([
            {"name": "www", "type": "A", "ttl": 300, "records": ["192.0.2.1", "192.0.2.2"]},
            {"name": "@", "type": "MX", "records": ["10 mail.batch.example."]},
            {"name": "mail", "type": "AAAA", "records": ["2001:db8::1"]},
        ]),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["rrsets"].as_array().unwrap().len(), 3, "{b}");
    let serial = b["serial"].as_u64().unwrap();
    assert_eq!(etag(&h), format!("\"{serial}\""));
    assert_ne!(etag(&h), before);
    assert_eq!(b["change"]["action"], "rrsets.update");
    assert_eq!(b["change"]["serial"], serial);
    // Every zone response carries the serial: the zone, its records, its export.
    for uri in [
        "/api/v1/domains/batch.example",
        "/api/v1/domains/batch.example/records",
        "/api/v1/domains/batch.example/rrsets",
        "/api/v1/domains/batch.example/export",
    ] {
        let (_, _, h) = call(&api, "GET", uri, None, &[]).await;
        assert_eq!(etag(&h), format!("\"{serial}\""), "{uri}");
    }
    // One change for the three RRsets.
    let (_, changes, _) = call(
        &api,
        "GET",
        "/api/v1/domains/batch.example/changes",
        None,
        &[],
    )
    .await;
    let list = changes["changes"].as_array().unwrap();
    assert_eq!(list[0]["action"], "rrsets.update");
    assert_eq!(list[0]["records"]["added_count"], 4);
    assert_eq!(list[0]["records"]["removed_count"], 0);

    // Setting again what is there changes nothing.
    let (s, b, _) = put(
        &api,
        "batch.example",
        json!([{"name": "www", "type": "A", "records": ["192.0.2.2", "192.0.2.1"]}]),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert!(b["change"].is_null(), "{b}");
    assert_eq!(b["serial"], serial);

    // A CNAME may replace the A RRset in the same batch; records keep their TTL when none given.
    let (s, b, _) = put(
        &api,
        "batch.example",
        json!([
            {"name": "www", "type": "A", "records": []},
            {"name": "www", "type": "CNAME", "records": ["mail.batch.example."]},
            {"name": "mail", "type": "AAAA", "records": ["2001:db8::1", "2001:db8::2"]},
        ]),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let sets = rrsets(&api, "batch.example").await;
    assert!(sets.contains(&(
        "www".into(),
        "CNAME".into(),
        3600,
        vec!["mail.batch.example.".into()]
    )));
    assert!(sets.contains(&(
        "mail".into(),
        "AAAA".into(),
        3600,
        vec!["2001:db8::1".into(), "2001:db8::2".into()]
    )));
    assert!(!sets.iter().any(|s| s.0 == "www" && s.1 == "A"));
}

#[sqlx::test(migrator = "apex_core::db::MIGRATOR")]
async fn a_bad_batch_changes_nothing_and_names_the_record(pool: PgPool) {
    let api = setup(pool).await;
    domain(&api, "bad.example").await;
    put(
        &api,
        "bad.example",
        json!([{"name": "www", "type": "A", "records": ["192.0.2.1"]}]),
    )
    .await;
    let state = api.state().await;

    // Bad content in the second RRset's second record.
    let (s, b, h) = call(
        &api,
        "PUT",
        "/api/v1/domains/bad.example/rrsets",
        Some(json!([
            {"name": "ok", "type": "TXT", "records": ["\"fine\""]},
            {"name": "x", "type": "A", "records": ["192.0.2.9", "300.1.1.1"]},
        ])),
        &[],
    )
    .await;
    let ctype = h[header::CONTENT_TYPE].to_str().unwrap().to_string();
    assert_problem(
        s,
        &b,
        &ctype,
        StatusCode::UNPROCESSABLE_ENTITY,
        Some("/1/records/1"),
    );
    assert_eq!(api.state().await, state);

    // A CNAME beside data the batch leaves alone.
    let (s, b, h) = put(
        &api,
        "bad.example",
        json!([
            {"name": "ok", "type": "TXT", "records": ["\"fine\""]},
            {"name": "www", "type": "CNAME", "records": ["elsewhere.example.net."]},
        ]),
    )
    .await;
    let ctype = h[header::CONTENT_TYPE].to_str().unwrap().to_string();
    assert_problem(
        s,
        &b,
        &ctype,
        StatusCode::UNPROCESSABLE_ENTITY,
        Some("/1/records/0"),
    );
    assert!(b["detail"].as_str().unwrap().contains("CNAME"), "{b}");
    assert_eq!(api.state().await, state);

    // The same RRset twice; a record twice in one RRset; the platform's apex NS.
    for (body, pointer) in [
        (
            json!([{"name": "a", "type": "A", "records": ["192.0.2.1"]},
                   {"name": "a.bad.example.", "type": "a", "records": []}]),
            "/1",
        ),
        (
            json!([{"name": "a", "type": "A", "records": ["192.0.2.1", "192.0.2.01"]}]),
            "/0/records/1",
        ),
        (
            json!([{"name": "@", "type": "NS", "records": ["ns.example.net."]}]),
            "/0/records/0",
        ),
        (
            json!([{"name": "@", "type": "SOA", "records": []}]),
            "/0/type",
        ),
    ] {
        let (s, b, h) = put(&api, "bad.example", body).await;
        let ctype = h[header::CONTENT_TYPE].to_str().unwrap().to_string();
        assert_problem(
            s,
            &b,
            &ctype,
            StatusCode::UNPROCESSABLE_ENTITY,
            Some(pointer),
        );
        assert_eq!(api.state().await, state);
    }
}

#[sqlx::test(migrator = "apex_core::db::MIGRATOR")]
async fn dry_run_shows_the_diff_and_writes_nothing(pool: PgPool) {
    let api = setup(pool).await;
    domain(&api, "dry.example").await;
    put(
        &api,
        "dry.example",
        json!([{"name": "www", "type": "A", "ttl": 600, "records": ["192.0.2.1"]}]),
    )
    .await;
    let state = api.state().await;
    let (s, b, _) = call(
        &api,
        "PUT",
        "/api/v1/domains/dry.example/rrsets?dry_run=true",
        Some(json!([
            {"name": "www", "type": "A", "ttl": 300, "records": ["192.0.2.1", "192.0.2.2"]},
            {"name": "new", "type": "TXT", "records": ["\"hi\""]},
        ])),
        &[],
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["dry_run"], true);
    assert!(b["change"].is_null());
    assert_eq!(
        b["rrsets"],
        json!([
            {"name": "new", "fqdn": "new.dry.example.", "type": "TXT", "before": null,
             "after": {"ttl": 3600, "records": ["\"hi\""]}},
            {"name": "www", "fqdn": "www.dry.example.", "type": "A",
             "before": {"ttl": 600, "records": ["192.0.2.1"]},
             "after": {"ttl": 300, "records": ["192.0.2.1", "192.0.2.2"]}},
        ])
    );
    assert_eq!(api.state().await, state);
}

#[sqlx::test(migrator = "apex_core::db::MIGRATOR")]
async fn if_match_lets_exactly_one_of_two_editors_win(pool: PgPool) {
    let api = setup(pool).await;
    domain(&api, "race.example").await;
    let (_, _, h) = call(&api, "GET", "/api/v1/domains/race.example", None, &[]).await;
    let tag = etag(&h);
    let if_match = [("If-Match", tag.as_str())];

    // Two editors read the same serial and write different contents at once.
    let a = call(
        &api,
        "PUT",
        "/api/v1/domains/race.example/rrsets",
        Some(
            json!([{"name": "www", "type": "A", "records": ["192.0.2.1"]},
                     {"name": "a", "type": "TXT", "records": ["\"a\""]}]),
        ),
        &if_match,
    );
    let b = call(
        &api,
        "PUT",
        "/api/v1/domains/race.example/rrsets",
        Some(
            json!([{"name": "www", "type": "A", "records": ["192.0.2.2"]},
                     {"name": "b", "type": "TXT", "records": ["\"b\""]}]),
        ),
        &if_match,
    );
    let ((sa, ba, _), (sb, bb, _)) = tokio::join!(a, b);
    let statuses = BTreeSet::from([sa.as_u16(), sb.as_u16()]);
    assert_eq!(statuses, BTreeSet::from([200, 412]), "{ba} {bb}");
    let (winner, loser) = if sa == StatusCode::OK {
        ("a", &bb)
    } else {
        ("b", &ba)
    };
    assert_eq!(loser["type"], "urn:apex:problem:precondition-failed");
    // Nothing lost, nothing mixed: exactly the winner's batch.
    let sets = rrsets(&api, "race.example").await;
    let www = if winner == "a" {
        "192.0.2.1"
    } else {
        "192.0.2.2"
    };
    assert_eq!(
        sets,
        BTreeSet::from([
            ("www".into(), "A".into(), 3600, vec![www.to_string()]),
            (
                winner.into(),
                "TXT".into(),
                3600,
                vec![format!("\"{winner}\"")]
            ),
        ])
    );

    // A stale tag is refused; the current one works; a malformed one is a clear 400.
    let (s, _, _) = call(
        &api,
        "POST",
        "/api/v1/domains/race.example/records",
        Some(json!({"name": "c", "type": "TXT", "content": "\"c\""})),
        &[],
    )
    .await;
    assert_eq!(s, StatusCode::CREATED);
    let (s, b, _) = put(&api, "race.example", json!([])).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let (_, _, h) = call(
        &api,
        "GET",
        "/api/v1/domains/race.example/rrsets",
        None,
        &[],
    )
    .await;
    let now = etag(&h);
    let (s, b, _) = call(
        &api,
        "PUT",
        "/api/v1/domains/race.example/rrsets",
        Some(json!([{"name": "d", "type": "TXT", "records": ["\"d\""]}])),
        &[("If-Match", &tag)],
    )
    .await;
    assert_eq!(s, StatusCode::PRECONDITION_FAILED, "{b}");
    let (s, b, _) = call(
        &api,
        "PUT",
        "/api/v1/domains/race.example/rrsets",
        Some(json!([{"name": "d", "type": "TXT", "records": ["\"d\""]}])),
        &[("If-Match", &now)],
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let (s, _, _) = call(
        &api,
        "PUT",
        "/api/v1/domains/race.example/rrsets",
        Some(json!([])),
        &[("If-Match", "yesterday")],
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
}

/// The zone's RRsets after each of `n` changes, and each change's serial.
async fn twenty_changes(
    api: &Api,
    zone: &str,
) -> Vec<(u64, BTreeSet<(String, String, u64, Vec<String>)>)> {
    let mut states = Vec::new();
    for i in 0..20u32 {
        let (s, b) = match i % 4 {
            // Single records, batches, updates and deletions.
            0 => {
                let (s, b, _) = call(
                    api,
                    "POST",
                    &format!("/api/v1/domains/{zone}/records"),
                    Some(json!({"name": format!("h{i}"), "type": "A", "content": format!("192.0.2.{i}")})),
                    &[],
                )
                .await;
                (s, b)
            }
            1 => {
                let (s, b, _) = put(
                    api,
                    zone,
                    json!([{"name": "www", "type": "TXT", "ttl": 300 + i, "records": [format!("\"v{i}\""), "\"both\""]},
                           {"name": format!("h{}", i - 1), "type": "AAAA", "records": [format!("2001:db8::{i}")]}]),
                )
                .await;
                (s, b)
            }
            2 => {
                let (s, b, _) = put(
                    api,
                    zone,
                    json!([{"name": format!("h{}", i - 2), "type": "A", "records": []}]),
                )
                .await;
                (s, b)
            }
            _ => {
                let (s, b, _) = put(
                    api,
                    zone,
                    json!([{"name": "mail", "type": "MX", "records": [format!("{i} mx{i}.example.net.")]}]),
                )
                .await;
                (s, b)
            }
        };
        assert!(s.is_success(), "change {i}: {b}");
        let serial = b["change"]["serial"].as_u64().unwrap();
        states.push((serial, rrsets(api, zone).await));
    }
    states
}

#[sqlx::test(migrator = "apex_core::db::MIGRATOR")]
async fn revert_to_a_serial_and_undo_one_change(pool: PgPool) {
    let api = setup(pool).await;
    domain(&api, "undo.example").await;
    let states = twenty_changes(&api, "undo.example").await;
    let (fifth, at_fifth) = states[4].clone();

    // A dry run shows the way back and writes nothing.
    let state = api.state().await;
    let (s, b, _) = call(
        &api,
        "POST",
        "/api/v1/domains/undo.example/revert?dry_run=true",
        Some(json!({"to_serial": fifth})),
        &[],
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert!(!b["rrsets"].as_array().unwrap().is_empty());
    assert_eq!(api.state().await, state);

    let (s, b, _) = call(
        &api,
        "POST",
        "/api/v1/domains/undo.example/revert",
        Some(json!({"to_serial": fifth})),
        &[],
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["change"]["action"], "zone.revert");
    assert_eq!(rrsets(&api, "undo.example").await, at_fifth);

    // The revert is itself a change: undoing it brings back the twentieth state.
    let revert_id = b["change"]["id"].as_i64().unwrap();
    let (s, b, _) = call(
        &api,
        "POST",
        "/api/v1/domains/undo.example/revert",
        Some(json!({"change": revert_id})),
        &[],
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(rrsets(&api, "undo.example").await, states[19].1);

    // Undoing one change undoes only it: the MX set by the 20th change goes back to the
    // 16th's, and nothing else moves.
    let (_, list, _) = call(
        &api,
        "GET",
        "/api/v1/domains/undo.example/changes?via=api&limit=3",
        None,
        &[],
    )
    .await;
    let twentieth = list["changes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["serial"] == states[19].0)
        .unwrap()["id"]
        .as_i64()
        .unwrap();
    let (s, b, _) = call(
        &api,
        "POST",
        "/api/v1/domains/undo.example/revert",
        Some(json!({"change": twentieth})),
        &[],
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let now = rrsets(&api, "undo.example").await;
    let mx =
        |s: &BTreeSet<(String, String, u64, Vec<String>)>| s.iter().find(|r| r.1 == "MX").cloned();
    assert_eq!(mx(&now), mx(&states[15].1));
    let without_mx = |s: &BTreeSet<(String, String, u64, Vec<String>)>| {
        s.iter()
            .filter(|r| r.1 != "MX")
            .cloned()
            .collect::<BTreeSet<_>>()
    };
    assert_eq!(without_mx(&now), without_mx(&states[19].1));

    // A change that was built on is not undone alone: the 2nd change set www TXT, later
    // changes set it again.
    let (_, all, _) = call(
        &api,
        "GET",
        "/api/v1/domains/undo.example/changes?limit=500",
        None,
        &[],
    )
    .await;
    let second = all["changes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["serial"] == states[1].0)
        .unwrap()["id"]
        .as_i64()
        .unwrap();
    let state = api.state().await;
    let (s, b, _) = call(
        &api,
        "POST",
        "/api/v1/domains/undo.example/revert",
        Some(json!({"change": second})),
        &[],
    )
    .await;
    assert_eq!(s, StatusCode::CONFLICT, "{b}");
    assert_eq!(b["type"], "urn:apex:problem:revert-refused");
    assert!(b["detail"].as_str().unwrap().contains("www"), "{b}");
    assert_eq!(api.state().await, state);
}

#[sqlx::test(migrator = "apex_core::db::MIGRATOR")]
async fn revert_refuses_to_take_settings_back(pool: PgPool) {
    let api = setup(pool).await;
    domain(&api, "settings.example").await;
    let (_, b, _) = put(
        &api,
        "settings.example",
        json!([{"name": "www", "type": "A", "records": ["192.0.2.1"]}]),
    )
    .await;
    let serial = b["serial"].as_u64().unwrap();
    let (s, b, _) = call(
        &api,
        "PATCH",
        "/api/v1/domains/settings.example",
        Some(json!({"soa": {"refresh": 7200}})),
        &[],
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    put(
        &api,
        "settings.example",
        json!([{"name": "www", "type": "A", "records": ["192.0.2.2"]}]),
    )
    .await;
    let state = api.state().await;
    let (s, b, _) = call(
        &api,
        "POST",
        "/api/v1/domains/settings.example/revert",
        Some(json!({"to_serial": serial})),
        &[],
    )
    .await;
    assert_eq!(s, StatusCode::CONFLICT, "{b}");
    assert!(
        b["detail"].as_str().unwrap().contains("domain.update"),
        "{b}"
    );
    assert_eq!(api.state().await, state);

    // Unknown serials and both targets at once are clear errors.
    let (s, b, _) = call(
        &api,
        "POST",
        "/api/v1/domains/settings.example/revert",
        Some(json!({"to_serial": 12})),
        &[],
    )
    .await;
    assert_eq!(s, StatusCode::CONFLICT, "{b}");
    assert!(b["detail"].as_str().unwrap().contains("serial 12"), "{b}");
    let (s, b, _) = call(
        &api,
        "POST",
        "/api/v1/domains/settings.example/revert",
        Some(json!({"to_serial": serial, "change": 1})),
        &[],
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{b}");
    assert_eq!(b["type"], "urn:apex:problem:malformed-body", "{b}");
    assert_eq!(api.state().await, state);
}

#[sqlx::test(migrator = "apex_core::db::MIGRATOR")]
async fn history_filters_and_pages(pool: PgPool) {
    let api = setup(pool).await;
    domain(&api, "log.example").await;
    for i in 0..7 {
        put(
            &api,
            "log.example",
            json!([{"name": format!("n{i}"), "type": "TXT", "records": [format!("\"{i}\"")]}]),
        )
        .await;
    }
    // Seven batches and the creation, newest first, three at a time.
    let mut ids = Vec::new();
    let mut next = Some("/api/v1/domains/log.example/changes?limit=3".to_string());
    let mut pages = 0;
    while let Some(uri) = next {
        let (s, b, h) = call(&api, "GET", &uri, None, &[]).await;
        assert_eq!(s, StatusCode::OK, "{b}");
        pages += 1;
        ids.extend(
            b["changes"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| c["id"].as_i64().unwrap()),
        );
        next = b["next"].as_str().map(str::to_string);
        if let Some(n) = &next {
            assert!(h[header::LINK].to_str().unwrap().contains(n.as_str()));
        }
    }
    assert_eq!(pages, 3);
    assert_eq!(ids.len(), 8);
    assert!(ids.windows(2).all(|w| w[0] > w[1]), "newest first: {ids:?}");

    let (_, b, _) = call(
        &api,
        "GET",
        "/api/v1/domains/log.example/changes?via=web",
        None,
        &[],
    )
    .await;
    assert_eq!(b["changes"], json!([]));
    let (_, b, _) = call(
        &api,
        "GET",
        "/api/v1/domains/log.example/changes?user=ALICE@example.com&limit=1",
        None,
        &[],
    )
    .await;
    assert_eq!(
        b["changes"][0]["records"]["added"][0]["name"],
        "n6.log.example."
    );
    let (s, b, _) = call(
        &api,
        "GET",
        "/api/v1/domains/log.example/changes?cursor=garbage!",
        None,
        &[],
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{b}");
    assert_eq!(b["errors"][0]["pointer"], "/cursor");
}

#[sqlx::test(migrator = "apex_core::db::MIGRATOR")]
async fn rrset_pages_miss_nothing_while_writes_happen(pool: PgPool) {
    let api = setup(pool).await;
    domain(&api, "pages.example").await;
    let batch: Vec<Value> = (0..2500)
        .map(|i| json!({"name": format!("h{i:05}"), "type": "A", "records": [format!("10.0.{}.{}", i / 256, i % 256)]}))
        .collect();
    let (s, b, _) = put(&api, "pages.example", Value::Array(batch)).await;
    assert_eq!(s, StatusCode::OK, "{b}");

    // Walk in pages of 97 while names before and after the cursor come and go.
    let mut seen = Vec::new();
    let mut next = Some("/api/v1/domains/pages.example/rrsets?type=A&limit=97".to_string());
    let mut i = 0;
    while let Some(uri) = next {
        let (s, b, _) = call(&api, "GET", &uri, None, &[]).await;
        assert_eq!(s, StatusCode::OK, "{b}");
        seen.extend(
            b["rrsets"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| r["name"].as_str().unwrap().to_string()),
        );
        put(
            &api,
            "pages.example",
            json!([{"name": format!("a{i}"), "type": "A", "records": ["192.0.2.1"]},
                   {"name": format!("z{i}"), "type": "TXT", "records": ["\"x\""]}]),
        )
        .await;
        i += 1;
        next = b["next"].as_str().map(str::to_string);
    }
    let want: Vec<String> = (0..2500).map(|i| format!("h{i:05}")).collect();
    let got: Vec<String> = seen.into_iter().filter(|n| n.starts_with('h')).collect();
    assert_eq!(got, want);
}

/// Every record of `zone` as (content, disabled), in the list's order.
async fn contents_and_flags(api: &Api, zone: &str) -> Vec<(String, bool)> {
    let (_, list, _) = call(
        api,
        "GET",
        &format!("/api/v1/domains/{zone}/records"),
        None,
        &[],
    )
    .await;
    list["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["content"].as_str().unwrap().to_string(),
                r["disabled"].as_bool().unwrap(),
            )
        })
        .collect()
}

#[sqlx::test(migrator = "apex_core::db::MIGRATOR")]
async fn disabled_records_are_kept_out_of_rrsets_and_come_back(pool: PgPool) {
    let api = setup(pool).await;
    domain(&api, "off.example").await;
    put(
        &api,
        "off.example",
        json!([{"name": "www", "type": "A", "records": ["192.0.2.1", "192.0.2.2"]}]),
    )
    .await;
    let (_, list, _) = call(
        &api,
        "GET",
        "/api/v1/domains/off.example/records?content=192.0.2.2",
        None,
        &[],
    )
    .await;
    let id = list["records"][0]["id"].as_i64().unwrap();
    assert_eq!(list["records"][0]["disabled"], false);
    let (s, b, _) = call(
        &api,
        "PATCH",
        &format!("/api/v1/domains/off.example/records/{id}"),
        Some(json!({"disabled": true})),
        &[],
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["record"]["disabled"], true);
    let disabled_at = b["change"]["serial"].as_u64().unwrap();

    // Not in the RRset as served, nor in the export; still a record.
    let sets = rrsets(&api, "off.example").await;
    assert!(sets.contains(&("www".into(), "A".into(), 3600, vec!["192.0.2.1".into()])));
    let (_, _, export) = api.get_text("/api/v1/domains/off.example/export").await;
    assert!(
        export.contains("192.0.2.1") && !export.contains("192.0.2.2"),
        "{export}"
    );
    // A batch leaves it alone unless it lists it; the rules still count it.
    put(
        &api,
        "off.example",
        json!([{"name": "www", "type": "A", "records": ["192.0.2.3"]}]),
    )
    .await;
    let rows = contents_and_flags(&api, "off.example").await;
    assert_eq!(
        rows,
        vec![("192.0.2.2".into(), true), ("192.0.2.3".into(), false)]
    );
    let (s, b, _) = put(
        &api,
        "off.example",
        json!([{"name": "www", "type": "CNAME", "records": ["elsewhere.example.net."]},
               {"name": "www", "type": "A", "records": []}]),
    )
    .await;
    assert_eq!(
        s,
        StatusCode::UNPROCESSABLE_ENTITY,
        "a disabled A still stands: {b}"
    );
    // Listing it enables it.
    let (s, b, _) = put(
        &api,
        "off.example",
        json!([{"name": "www", "type": "A", "records": ["192.0.2.2", "192.0.2.3"]}]),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let (_, list, _) = call(
        &api,
        "GET",
        "/api/v1/domains/off.example/records",
        None,
        &[],
    )
    .await;
    assert!(
        list["records"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["disabled"] == false)
    );

    // Revert brings the disabled state back exactly.
    let (s, b, _) = call(
        &api,
        "POST",
        "/api/v1/domains/off.example/revert",
        Some(json!({"to_serial": disabled_at})),
        &[],
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let rows: Vec<(String, bool)> = contents_and_flags(&api, "off.example")
        .await
        .into_iter()
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    assert_eq!(
        rows,
        vec![("192.0.2.1".into(), false), ("192.0.2.2".into(), true)]
    );
}

#[sqlx::test(migrator = "apex_core::db::MIGRATOR")]
async fn new_domains_get_the_default_records(pool: PgPool) {
    let api = setup(pool).await;
    // The platform's template, set by an administrator.
    sqlx::query(
        "INSERT INTO record_templates (user_id, position, name, type, ttl, content)
         VALUES (NULL, 0, '@', 'TXT', NULL, '\"platform default\"')",
    )
    .execute(&api.pool)
    .await
    .unwrap();
    domain(&api, "plain.example").await;
    let sets = rrsets(&api, "plain.example").await;
    assert_eq!(
        sets,
        BTreeSet::from([(
            "@".into(),
            "TXT".into(),
            3600,
            vec!["\"platform default\"".into()]
        )])
    );

    // One's own template wins over the platform's.
    let (s, b, _) = call(
        &api,
        "PUT",
        "/api/v1/account/template",
        Some(json!({"records": [
            {"name": "@", "type": "MX", "ttl": 300, "content": "10 mail.{domain}"},
            {"name": "@", "type": "MX", "content": "20 backup.example.net."},
            {"name": "_dmarc", "type": "TXT", "content": "v=DMARC1; p=reject"},
            {"name": "www", "type": "CNAME", "content": "{domain}"},
        ]})),
        &[],
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["records"].as_array().unwrap().len(), 4);
    let (s, b) = api
        .post("/api/v1/domains", json!({"name": "mine.example"}))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    assert_eq!(b["change"]["action"], "rrsets.update");
    let sets = rrsets(&api, "mine.example").await;
    assert_eq!(
        sets,
        BTreeSet::from([
            (
                "@".into(),
                "MX".into(),
                300,
                vec![
                    "10 mail.mine.example.".into(),
                    "20 backup.example.net.".into()
                ]
            ),
            (
                "_dmarc".into(),
                "TXT".into(),
                3600,
                vec!["\"v=DMARC1; p=reject\"".into()]
            ),
            (
                "www".into(),
                "CNAME".into(),
                3600,
                vec!["mine.example.".into()]
            ),
        ])
    );

    // A template that breaks a rule or does not parse is refused when saved, naming the record.
    let state = api.state().await;
    for (records, pointer) in [
        (
            json!([{"name": "@", "type": "CNAME", "content": "elsewhere.example.net."}]),
            "/records/0",
        ),
        (
            json!([{"name": "www", "type": "A", "content": "192.0.2.1"},
                   {"name": "www", "type": "CNAME", "content": "{domain}"}]),
            "/records/0",
        ),
        (
            json!([{"name": "ok", "type": "A", "content": "192.0.2.1"},
                   {"name": "bad", "type": "A", "content": "not an address"}]),
            "/records/1/content",
        ),
    ] {
        let (s, b, _) = call(
            &api,
            "PUT",
            "/api/v1/account/template",
            Some(json!({ "records": records })),
            &[],
        )
        .await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{b}");
        assert_eq!(b["errors"][0]["pointer"], pointer, "{b}");
    }
    assert_eq!(api.state().await, state);
    let (_, b, _) = call(&api, "GET", "/api/v1/account/template", None, &[]).await;
    assert_eq!(b["records"].as_array().unwrap().len(), 4);

    // The platform's template is for administrators.
    let (s, _, _) = call(&api, "GET", "/api/v1/admin/template", None, &[]).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
}
