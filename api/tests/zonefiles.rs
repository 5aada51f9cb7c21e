//! Zone files through the API: import (replace, merge, dry run), export, errors with line and
//! column that change nothing, Cloudflare exports, and domain settings that shape the SOA.

// Test helpers panic on the unexpected, like the tests themselves.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use axum::http::StatusCode;
use common::setup;
use serde_json::json;
use sqlx::PgPool;

const ZONE: &str = r#"$ORIGIN example.com.
$TTL 3600
@       IN SOA  ns1.elsewhere.net. hostmaster.elsewhere.net. ( 2024010101 7200 900 1209600 300 )
        IN NS   ns1.elsewhere.net.
        IN NS   ns2.elsewhere.net.
        IN MX   10 mail
        IN TXT  "v=spf1 mx -all"
        IN CAA  0 issue "letsencrypt.org"
; the mail server
mail    300 IN A 192.0.2.25
www     IN CNAME @            ; the site
_dmarc  IN TXT "v=DMARC1; p=reject"
sip._udp IN SRV 10 5 5060 sip.example.com.
sip     IN A 192.0.2.60
"#;

const URL: &str = "/api/v1/domains/example.com/import";

#[sqlx::test(migrator = "apex_core::db::MIGRATOR")]
async fn import_export_round_trip(pool: PgPool) {
    let api = setup(pool).await;
    api.post("/api/v1/domains", json!({"name": "example.com"}))
        .await;
    let (s, b) = api.upload(URL, "text/dns", ZONE).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["added"]["count"], 8);
    assert_eq!(b["removed"]["count"], 0);
    assert!(b["change"]["serial"].as_u64().is_some());
    let warnings = b["warnings"].to_string();
    assert!(
        warnings.contains("SOA record is left out")
            && warnings.contains("2 NS record(s) at the apex"),
        "{warnings}"
    );

    let (_, recs, _) = api
        .call("GET", "/api/v1/domains/example.com/records", None)
        .await;
    let mail = recs["records"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == "mail")
        .unwrap();
    assert_eq!(
        (mail["ttl"].as_u64(), mail["comment"].as_str()),
        (Some(300), Some("the mail server"))
    );
    let www = recs["records"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == "www")
        .unwrap();
    assert_eq!(
        (www["content"].as_str(), www["comment"].as_str()),
        (Some("example.com."), Some("the site"))
    );

    let (s, ctype, text) = api.get_text("/api/v1/domains/example.com/export").await;
    assert_eq!((s, ctype.as_str()), (StatusCode::OK, "text/dns"));
    assert!(
        text.starts_with(
            "$ORIGIN example.com.\n@\t3600\tIN\tSOA\tns1.apex.test. hostmaster.apex.test. "
        ),
        "{text}"
    );
    assert!(
        text.contains("\tNS\tns1.apex.test.\n")
            && text.contains("mail\t300\tIN\tA\t192.0.2.25 ; the mail server\n"),
        "{text}"
    );

    // Importing the export changes nothing: the platform's SOA and NS are left out again.
    let (s, b) = api.upload(URL, "text/dns", &text).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(
        (
            b["added"]["count"].as_u64(),
            b["removed"]["count"].as_u64(),
            b["updated"]["count"].as_u64(),
            b["unchanged"].as_u64()
        ),
        (Some(0), Some(0), Some(0), Some(8))
    );
    assert!(b["change"].is_null());
}

#[sqlx::test(migrator = "apex_core::db::MIGRATOR")]
async fn dry_run_merge_and_replace(pool: PgPool) {
    let api = setup(pool).await;
    api.post("/api/v1/domains", json!({"name": "example.com"}))
        .await;
    api.post(
        "/api/v1/domains/example.com/records",
        json!({"name": "old", "type": "A", "content": "192.0.2.9"}),
    )
    .await;
    let before = api.state().await;

    let (s, b) = api
        .upload(&format!("{URL}?dry_run=true"), "text/dns", ZONE)
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(
        (
            b["dry_run"].as_bool(),
            b["added"]["count"].as_u64(),
            b["removed"]["count"].as_u64()
        ),
        (Some(true), Some(8), Some(1))
    );
    assert_eq!(b["removed"]["records"][0]["name"], "old");
    assert_eq!(api.state().await, before, "a dry run writes nothing");

    let (s, b) = api
        .upload(
            &format!("{URL}?mode=merge"),
            "text/dns",
            "$TTL 300\nnew A 192.0.2.10\n",
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(
        (
            b["added"]["count"].as_u64(),
            b["removed"]["count"].as_u64(),
            b["unchanged"].as_u64()
        ),
        (Some(1), Some(0), Some(1))
    );

    // Merging a CNAME where a record already is: refused, nothing changed.
    let before = api.state().await;
    let (s, b) = api
        .upload(
            &format!("{URL}?mode=merge"),
            "text/dns",
            "$TTL 300\nold CNAME elsewhere.example.net.\n",
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{b}");
    assert!(
        b["lines"][0]["detail"]
            .as_str()
            .unwrap()
            .contains("a CNAME must be alone"),
        "{b}"
    );
    assert_eq!(api.state().await, before);

    let (s, b) = api
        .upload(URL, "text/dns", "$TTL 300\nonly A 192.0.2.11\n")
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(
        (b["added"]["count"].as_u64(), b["removed"]["count"].as_u64()),
        (Some(1), Some(2))
    );
}

#[sqlx::test(migrator = "apex_core::db::MIGRATOR")]
async fn bad_files_change_nothing(pool: PgPool) {
    let api = setup(pool).await;
    api.post("/api/v1/domains", json!({"name": "example.com"}))
        .await;
    api.post(
        "/api/v1/domains/example.com/records",
        json!({"name": "keep", "type": "A", "content": "192.0.2.9"}),
    )
    .await;
    let before = api.state().await;
    let cases = [
        (
            "$TTL 300\nok A 192.0.2.1\nbad A 192.0.2.300\n",
            3,
            7,
            "not a valid IPv4",
        ),
        ("$TTL 300\n$INCLUDE /etc/passwd\n", 2, 1, "$INCLUDE"),
        ("$TTL 300\nx TXT (\"open\"\n", 2, 7, "never closed"),
        (
            "$TTL 300\n$GENERATE 1-2000000000 h$ A 10.0.0.1\n",
            2,
            11,
            "at most",
        ),
        (
            "$TTL 300\nwww A 192.0.2.1\nwww CNAME x.example.net.\n",
            3,
            1,
            "a CNAME must be alone",
        ),
        (
            "$TTL 10\nshort A 192.0.2.1\n",
            2,
            1,
            "outside the allowed range",
        ),
        ("\u{0}\u{1}garbage\u{ff}", 1, 1, ""),
    ];
    for (file, line, column, fragment) in cases {
        let (s, b) = api.upload(URL, "text/dns", file).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{file}: {b}");
        assert_eq!(b["type"], "urn:apex:problem:invalid-zone-file");
        assert_eq!(
            (
                b["lines"][0]["line"].as_u64(),
                b["lines"][0]["column"].as_u64()
            ),
            (Some(line), Some(column)),
            "{file}: {b}"
        );
        assert!(
            b["lines"][0]["detail"].as_str().unwrap().contains(fragment),
            "{file}: {b}"
        );
        assert_eq!(api.state().await, before, "{file} changed something");
    }
    let (s, _) = api.upload(URL, "text/html", "x").await;
    assert_eq!(s, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let (s, b) = api
        .upload(&format!("{URL}?mode=sideways"), "text/dns", "")
        .await;
    assert_eq!(
        (s, b["errors"][0]["pointer"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("/mode"))
    );
}

#[sqlx::test(migrator = "apex_core::db::MIGRATOR")]
async fn cloudflare_export(pool: PgPool) {
    let api = setup(pool).await;
    api.post("/api/v1/domains", json!({"name": "example.com"}))
        .await;
    let file = include_str!("../../zone/tests/corpus/cloudflare-export.txt");
    let (s, b) = api.upload(URL, "text/plain", file).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let (_, recs, _) = api
        .call("GET", "/api/v1/domains/example.com/records", None)
        .await;
    let all = recs["records"].as_array().unwrap();
    let caa = all.iter().find(|r| r["type"] == "CAA").unwrap();
    assert_eq!(caa["content"], "0 issue \"letsencrypt.org\"");
    let www = all.iter().find(|r| r["name"] == "www").unwrap();
    assert_eq!(
        (www["ttl"].as_u64(), www["comment"].as_str()),
        (Some(300), Some("cf_tags=cf-proxied:true"))
    );
    assert!(all.iter().all(|r| !(r["type"] == "NS" && r["name"] == "@")));

    // The export of a zone not yet on Cloudflare's nameservers, with its placeholder apex NS,
    // imports the same records, the placeholder left out with a warning at its line.
    api.post("/api/v1/domains", json!({"name": "example.net"}))
        .await;
    let file = include_str!("../../zone/tests/corpus/cloudflare-placeholder.txt")
        .replace("example.com", "example.net");
    let (s, b) = api
        .upload("/api/v1/domains/example.net/import", "text/plain", &file)
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert!(
        b["warnings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|w| w["line"] == 32
                && w["message"]
                    .as_str()
                    .unwrap()
                    .contains("NS record(s) at the apex left out")),
        "{b}"
    );
    assert_eq!(b["added"]["count"].as_u64(), Some(all.len() as u64), "{b}");
}

#[sqlx::test(migrator = "apex_core::db::MIGRATOR")]
async fn settings_shape_the_soa(pool: PgPool) {
    let api = setup(pool).await;
    let (_, b) = api
        .post("/api/v1/domains", json!({"name": "example.com"}))
        .await;
    assert_eq!(
        (
            b["domain"]["serial_policy"].as_str(),
            b["domain"]["soa"]["refresh"].as_u64()
        ),
        (Some("date"), Some(3600))
    );
    let serial = b["change"]["serial"].as_u64().unwrap();
    let (s, b, _) = api
        .call(
            "PATCH",
            "/api/v1/domains/example.com",
            Some(r#"{"serial_policy": "unixtime", "soa": {"refresh": 7200, "minimum": 60}}"#),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(
        (
            b["domain"]["soa"]["refresh"].as_u64(),
            b["domain"]["soa"]["minimum"].as_u64()
        ),
        (Some(7200), Some(60))
    );
    assert_eq!(b["change"]["action"], "domain.update");
    // The serial still moves forward, though unix time is below a date serial.
    assert!(b["change"]["serial"].as_u64().unwrap() > serial);
    let (_, _, text) = api.get_text("/api/v1/domains/example.com/export").await;
    assert!(
        text.lines()
            .nth(1)
            .unwrap()
            .ends_with(" 7200 600 1209600 60"),
        "{text}"
    );
    let (s, b, _) = api
        .call(
            "PATCH",
            "/api/v1/domains/example.com",
            Some(r#"{"soa": {"expire": 3600}}"#),
        )
        .await;
    assert_eq!(
        (s, b["errors"][0]["pointer"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("/soa/expire"))
    );
    let (s, b, _) = api
        .call(
            "PATCH",
            "/api/v1/domains/example.com",
            Some(r#"{"soa": {"refresh": null}}"#),
        )
        .await;
    assert_eq!(
        (s, b["domain"]["soa"]["refresh"].as_u64()),
        (StatusCode::OK, Some(3600))
    );
}

#[sqlx::test(migrator = "apex_core::db::MIGRATOR")]
async fn the_signers_apex_records_are_the_platforms(pool: PgPool) {
    let api = setup(pool).await;
    api.post("/api/v1/domains", json!({"name": "example.com"}))
        .await;
    let state = api.state().await;
    // A write member may not publish DNSKEY, CDS or CDNSKEY at the apex (a parent that
    // bootstraps from CDS would install its DS), by record or by batch.
    for (rtype, content) in [
        (
            "CDS",
            "12345 13 2 0000000000000000000000000000000000000000000000000000000000000000",
        ),
        (
            "CDNSKEY",
            "257 3 13 mdsswUyr3DPW132mOi8V9xESWE8jTo0dxCjjnopKl+GqJxpVXckHAeF+KkxLbxILfDLUT0rAK9iUzy1L53eKGQ==",
        ),
        (
            "DNSKEY",
            "257 3 13 mdsswUyr3DPW132mOi8V9xESWE8jTo0dxCjjnopKl+GqJxpVXckHAeF+KkxLbxILfDLUT0rAK9iUzy1L53eKGQ==",
        ),
    ] {
        let (s, b) = api
            .post(
                "/api/v1/domains/example.com/records",
                json!({"name": "@", "type": rtype, "content": content}),
            )
            .await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{rtype}: {b}");
        assert_eq!(b["errors"][0]["pointer"], "/type", "{b}");
        assert!(
            b["detail"]
                .as_str()
                .unwrap()
                .contains("managed by the platform"),
            "{b}"
        );
        let (s, b, _) = api
            .call(
                "PUT",
                "/api/v1/domains/example.com/rrsets",
                Some(&json!([{"name": "@", "type": rtype, "records": [content]}]).to_string()),
            )
            .await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{rtype}: {b}");
        // Below the apex they are a child's data like any other.
        let (s, b) = api
            .post(
                "/api/v1/domains/example.com/records",
                json!({"name": "child", "type": rtype, "content": content}),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{rtype}: {b}");
    }
    assert_eq!(api.state().await.0, state.0 + 3);

    // An imported file's apex CDS and CDNSKEY are left out with a warning.
    let file = "$ORIGIN example.com.\n$TTL 300\n\
                @ CDS 12345 13 2 0000000000000000000000000000000000000000000000000000000000000000\n\
                @ CDNSKEY 257 3 13 mdsswUyr3DPW132mOi8V9xESWE8jTo0dxCjjnopKl+GqJxpVXckHAeF+KkxLbxILfDLUT0rAK9iUzy1L53eKGQ==\n\
                www A 192.0.2.1\n";
    let (s, b) = api.upload(URL, "text/dns", file).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert!(
        b["warnings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|w| w["message"]
                .as_str()
                .unwrap()
                .contains("2 DNSKEY, CDS or CDNSKEY record(s) at the apex left out")),
        "{b}"
    );
    let (_, recs, _) = api
        .call("GET", "/api/v1/domains/example.com/records?name=%40", None)
        .await;
    assert_eq!(recs["records"], json!([]), "{recs}");
}
