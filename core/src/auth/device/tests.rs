use super::*;

const KEY: &[u8] = &[7u8; 32];
const USER: UserId = UserId(42);
const EPOCH: i32 = 3;
const NOW: i64 = 1_700_000_000;
const EXPIRES: i64 = NOW + REMEMBER_DAYS * 86_400;

fn fresh() -> String {
    sign(KEY, USER, EPOCH, EXPIRES)
}

#[test]
fn a_fresh_value_verifies_until_it_expires() {
    let value = fresh();
    assert!(value.starts_with("v1.42.3.1702592000."), "{value}");
    assert!(verify(KEY, &value, USER, EPOCH, NOW));
    assert!(verify(KEY, &value, USER, EPOCH, EXPIRES - 1));
    assert!(!verify(KEY, &value, USER, EPOCH, EXPIRES));
    assert!(!verify(KEY, &value, USER, EPOCH, EXPIRES + 1));
    assert!(!verify(KEY, &value, USER, EPOCH, i64::MAX));
}

#[test]
fn value_is_cookie_safe() {
    // base64url and dots only: no quoting needed in a Set-Cookie header.
    let value = fresh();
    assert!(
        value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b)),
        "{value}"
    );
}

#[test]
fn another_user_epoch_or_key_fails() {
    let value = fresh();
    assert!(!verify(KEY, &value, UserId(43), EPOCH, NOW));
    assert!(!verify(KEY, &value, UserId(-42), EPOCH, NOW));
    assert!(!verify(KEY, &value, USER, EPOCH + 1, NOW));
    assert!(!verify(KEY, &value, USER, EPOCH - 1, NOW));
    assert!(!verify(&[8u8; 32], &value, USER, EPOCH, NOW));
    assert!(!verify(b"", &value, USER, EPOCH, NOW));
}

#[test]
fn negative_and_extreme_numbers_round_trip() {
    for (user, epoch, expires) in [
        (UserId(i64::MAX), i32::MAX, i64::MAX),
        (UserId(i64::MIN), i32::MIN, NOW + 1),
        (UserId(0), 0, NOW + 1),
    ] {
        let value = sign(KEY, user, epoch, expires);
        assert!(verify(KEY, &value, user, epoch, NOW), "{value}");
    }
    // Expiry in the past when made.
    assert!(!verify(
        KEY,
        &sign(KEY, USER, EPOCH, i64::MIN),
        USER,
        EPOCH,
        NOW
    ));
}

#[test]
fn any_single_changed_character_fails() {
    let value = fresh();
    let alphabet: Vec<char> =
        "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ-_.+/= é"
            .chars()
            .collect();
    let chars: Vec<char> = value.chars().collect();
    for i in 0..chars.len() {
        for &c in &alphabet {
            if c == chars[i] {
                continue;
            }
            let mut changed = chars.clone();
            changed[i] = c;
            let changed: String = changed.into_iter().collect();
            assert!(!verify(KEY, &changed, USER, EPOCH, NOW), "{changed}");
        }
        // Dropped and doubled characters too.
        let mut dropped = chars.clone();
        dropped.remove(i);
        let dropped: String = dropped.into_iter().collect();
        assert!(!verify(KEY, &dropped, USER, EPOCH, NOW), "{dropped}");
        let mut doubled = chars.clone();
        doubled.insert(i, chars[i]);
        let doubled: String = doubled.into_iter().collect();
        assert!(!verify(KEY, &doubled, USER, EPOCH, NOW), "{doubled}");
    }
}

#[test]
fn a_longer_expiry_cannot_be_grafted_on() {
    let value = fresh();
    let mac = value.rsplit_once('.').unwrap().1;
    let forged = format!("v1.42.3.{}.{mac}", i64::MAX);
    assert!(!verify(KEY, &forged, USER, EPOCH, NOW));
    let padded = format!("v1.42.3.+{EXPIRES}.{mac}");
    assert!(!verify(KEY, &padded, USER, EPOCH, NOW));
    let leading_zero = format!("v1.42.3.0{EXPIRES}.{mac}");
    assert!(!verify(KEY, &leading_zero, USER, EPOCH, NOW));
}

#[test]
fn garbage_is_false_without_panicking() {
    let value = fresh();
    let mac = value.rsplit_once('.').unwrap().1.to_string();
    let huge = "9".repeat(10_000);
    let garbage = [
        String::new(),
        ".".into(),
        "....".into(),
        "v1".into(),
        "v1.42".into(),
        "v1.42.3".into(),
        "v1.42.3.1702592000".into(),
        "v1.42.3.1702592000.".into(),
        format!("v1.42.3.{mac}"),
        format!("v2.42.3.1702592000.{mac}"),
        format!("v1.42.3.1702592000.{mac}.extra"),
        format!("v1.42.3.1702592000.{mac}="),
        format!("v1.42.3.{huge}.{mac}"),
        format!("v1.{huge}.3.1702592000.{mac}"),
        format!("v1.42.3.99999999999999999999999.{mac}"),
        format!("{value}{huge}"),
        "v1.42.3.1702592000.!!!!".into(),
        "v1.42.3.1702592000.\u{0}\u{0}".into(),
        "v1.42.3.1702592000.\u{FFFD}\u{FFFD}".into(),
        "v1.４２.3.1702592000.abc".into(),
        "\u{FEFF}".into(),
        "é.é.é.é.é".into(),
    ];
    for g in &garbage {
        assert!(!verify(KEY, g, USER, EPOCH, NOW), "{g:?}");
        assert!(!verify(b"", g, USER, EPOCH, NOW), "{g:?}");
    }
}

#[sqlx::test(migrator = "crate::db::MIGRATOR")]
async fn signing_key_is_made_once(pool: PgPool) {
    // Sealed at rest: the row is not the key.
    let first = signing_key(&pool, &master()).await.unwrap();
    let stored: Vec<u8> = sqlx::query_scalar("SELECT secret FROM platform_secrets")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_ne!(stored, first);
    let second = signing_key(&pool, &master()).await.unwrap();
    assert_eq!(first.len(), KEY_BYTES);
    assert_eq!(first, second);
    let value = sign(&first, USER, EPOCH, EXPIRES);
    assert!(verify(&second, &value, USER, EPOCH, NOW));
}

#[sqlx::test(migrator = "crate::db::MIGRATOR")]
async fn concurrent_first_uses_agree(pool: PgPool) {
    let m = master();
    let (a, b, c) = tokio::join!(
        signing_key(&pool, &m),
        signing_key(&pool, &m),
        signing_key(&pool, &m)
    );
    let a = a.unwrap();
    assert_eq!(a, b.unwrap());
    assert_eq!(a, c.unwrap());
}

fn master() -> crate::sealing::MasterKey {
    crate::sealing::MasterKey::parse("MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=").unwrap()
}
