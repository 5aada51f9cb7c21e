//! RFC 1035 section 3.3.13 and RFC 1996 section 2: the SOA timers are the fallback when NOTIFY
//! is lost. REFRESH polls the primary, RETRY follows a failure, and a zone not refreshed within
//! EXPIRE answers SERVFAIL until a refresh succeeds again.

mod common;

use std::time::Duration;

use common::*;
use hickory_proto::op::ResponseCode;
use hickory_proto::rr::RecordType;

#[tokio::test]
async fn refresh_timer_picks_up_a_change_without_notify() {
    let key = key();
    let primary = FakePrimary::start(&key).await;
    primary.set_zone(catalog(1, &[("z1", "example.com.")]));
    primary.set_zone(zone_with(
        "example.com.",
        1,
        (1, 1, 3600),
        vec![("www.example.com.", a(1))],
    ));
    let server = start_server(vec![primary.addr], &key).await;
    let addr = server.local_addrs()[0];
    assert!(
        eventually(Duration::from_secs(5), move || async move {
            addresses(&ask(addr, "www.example.com.", RecordType::A).await) == ["192.0.2.1"]
        })
        .await
    );
    primary.set_zone(zone_with(
        "example.com.",
        2,
        (1, 1, 3600),
        vec![("www.example.com.", a(2))],
    ));
    assert!(
        eventually(Duration::from_secs(4), move || async move {
            addresses(&ask(addr, "www.example.com.", RecordType::A).await) == ["192.0.2.2"]
        })
        .await,
        "REFRESH did not pick up the new serial"
    );
}

#[tokio::test]
async fn expired_zone_answers_servfail_until_refreshed() {
    let key = key();
    let primary = FakePrimary::start(&key).await;
    primary.set_zone(catalog(1, &[("z1", "example.com.")]));
    let records = zone_with(
        "example.com.",
        1,
        (1, 1, 2),
        vec![("www.example.com.", a(1))],
    );
    primary.set_zone(records.clone());
    let server = start_server(vec![primary.addr], &key).await;
    let addr = server.local_addrs()[0];
    let rcode = move || async move {
        ask(addr, "www.example.com.", RecordType::A)
            .await
            .metadata
            .response_code
    };
    assert!(
        eventually(Duration::from_secs(5), move || async move {
            rcode().await == ResponseCode::NoError
        })
        .await
    );

    // The primary stops serving the zone: refreshes fail, and after EXPIRE (2 s) it is gone.
    primary.drop_zone("example.com.");
    assert!(
        eventually(Duration::from_secs(5), move || async move {
            rcode().await == ResponseCode::ServFail
        })
        .await,
        "zone did not expire"
    );

    // Back on the primary: the next RETRY revives it.
    primary.set_zone(records);
    assert!(
        eventually(Duration::from_secs(4), move || async move {
            rcode().await == ResponseCode::NoError
        })
        .await,
        "zone did not come back"
    );
}
