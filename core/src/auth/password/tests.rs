use super::*;

fn message(e: CoreError) -> String {
    match e {
        CoreError::Invalid { field, message } => {
            assert_eq!(field, "password");
            message
        }
        other => panic!("not an invalid-field error: {other:?}"),
    }
}

#[tokio::test]
async fn hash_then_verify() {
    let stored = hash("correct horse battery").await.unwrap();
    assert!(
        stored.starts_with("$argon2id$v=19$m=65536,t=3,p=1$"),
        "{stored}"
    );
    let good = verify("correct horse battery", &stored).await.unwrap();
    assert_eq!(
        good,
        Verified {
            ok: true,
            needs_rehash: false
        }
    );
    let bad = verify("correct horse battery!", &stored).await.unwrap();
    assert_eq!(
        bad,
        Verified {
            ok: false,
            needs_rehash: false
        }
    );
    // Salted: the same password never hashes the same twice.
    assert_ne!(stored, hash("correct horse battery").await.unwrap());
}

#[tokio::test]
async fn old_default_hashes_verify_and_ask_for_a_rehash() {
    let old = Argon2::default()
        .hash_password(b"correct horse battery")
        .unwrap()
        .to_string();
    assert!(old.contains("m=19456,t=2,p=1"), "{old}");
    let v = verify("correct horse battery", &old).await.unwrap();
    assert_eq!(
        v,
        Verified {
            ok: true,
            needs_rehash: true
        }
    );
    // A wrong password never asks for a rehash, whatever the stored parameters.
    let v = verify("wrong horse battery", &old).await.unwrap();
    assert_eq!(
        v,
        Verified {
            ok: false,
            needs_rehash: false
        }
    );
}

#[tokio::test]
async fn other_algorithms_and_versions_ask_for_a_rehash() {
    let params = Params::new(M_COST_KIB, T_COST, P_COST, None).unwrap();
    for (alg, version) in [
        (Algorithm::Argon2i, Version::V0x13),
        (Algorithm::Argon2id, Version::V0x10),
    ] {
        let stored = Argon2::new(alg, version, params.clone())
            .hash_password(b"correct horse battery")
            .unwrap()
            .to_string();
        let v = verify("correct horse battery", &stored).await.unwrap();
        assert!(v.ok && v.needs_rehash, "{stored}");
    }
}

#[tokio::test]
async fn unreadable_stored_hash_is_an_error() {
    assert!(verify("correct horse battery", "").await.is_err());
    assert!(verify("correct horse battery", "not a hash").await.is_err());
}

#[tokio::test]
async fn dummy_verification_completes() {
    // The first call makes the dummy hash, later ones verify against it.
    verify_dummy("whatever").await;
    verify_dummy("whatever").await;
    assert!(DUMMY.get().is_some_and(|h| h.starts_with("$argon2id$")));
}

#[test]
fn at_most_one_hash_per_core() {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    assert_eq!(PERMITS.available_permits(), cores);
}

#[test]
fn parameters_are_rfc9106_second_option() {
    assert_eq!(
        (PARAMS.m_cost(), PARAMS.t_cost(), PARAMS.p_cost()),
        (65536, 3, 1)
    );
    // Stronger than the crate's default, which old hashes were made with.
    const { assert!(M_COST_KIB > Params::DEFAULT_M_COST && T_COST > Params::DEFAULT_T_COST) };
}

#[test]
fn nine_characters_are_too_few() {
    let m = message(check_policy("abcdefgh9", "a@example.com").unwrap_err());
    assert!(m.contains("at least 10 characters"), "{m}");
    // Characters, not bytes: nine two-byte letters are still nine.
    let m = message(check_policy(&"é".repeat(9), "a@example.com").unwrap_err());
    assert!(m.contains("at least 10 characters"), "{m}");
}

#[test]
fn ten_random_characters_are_enough() {
    check_policy("Zq8#vL2!pX", "a@example.com").unwrap();
    check_policy(&"é".repeat(10), "a@example.com").unwrap();
    let random = &crate::auth::token::random_password().unwrap()[..10];
    check_policy(random, "a@example.com").unwrap();
}

#[test]
fn more_than_1024_bytes_are_refused() {
    let long = "Zq8#vL2!pX".repeat(103);
    let m = message(check_policy(&long[..1025], "a@example.com").unwrap_err());
    assert!(m.contains("at most 1024 bytes"), "{m}");
    check_policy(&long[..1024], "a@example.com").unwrap();
    // 513 two-byte characters: few characters, too many bytes.
    assert!(check_policy(&"é".repeat(513), "a@example.com").is_err());
}

#[test]
fn the_email_address_and_its_local_part_are_refused() {
    let email = "Alice.Smith@Example.com";
    for password in [
        "alice.smith@example.com",
        "ALICE.SMITH@EXAMPLE.COM",
        "alice.smith",
        "Alice.Smith",
    ] {
        let m = message(check_policy(password, email).unwrap_err());
        assert!(m.contains("e-mail address"), "{password}: {m}");
    }
    check_policy("alice.smith@example.org", email).unwrap();
    check_policy("alice.smith2", email).unwrap();
}

#[test]
fn common_passwords_are_refused_in_any_case() {
    for password in [
        "1234567890",
        "qwertyuiop",
        "QWERTYUIOP",
        "password123",
        "Password123",
        "iloveyou12",
        "ILoveYou12",
        "1q2w3e4r5t",
        "1qaz2wsx3edc",
        "qwerty1234",
        "password1234",
    ] {
        let m = message(check_policy(password, "a@example.com").unwrap_err());
        assert!(m.contains("commonly used"), "{password}: {m}");
    }
}

#[test]
fn the_bundled_list_is_what_the_readme_says() {
    let text = include_str!("../../../data/common-passwords.txt");
    let entries: Vec<&str> = text.lines().filter(|l| !l.starts_with('#')).collect();
    assert!(entries.len() > 50_000, "{} entries", entries.len());
    assert!(text.len() < 1_000_000, "{} bytes", text.len());
    assert_eq!(entries.len(), COMMON.len());
    for pair in entries.windows(2) {
        assert!(pair[0] < pair[1], "not sorted and unique: {pair:?}");
    }
    for e in &entries {
        assert!(e.len() >= MIN_CHARS, "{e}");
        assert_eq!(*e, e.to_lowercase(), "{e}");
        assert!(e.bytes().all(|b| (b' '..=b'~').contains(&b)), "{e}");
    }
}
