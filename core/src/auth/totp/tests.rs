use super::*;

/// The SHA-1 seed of RFC 6238 Appendix B.
const RFC_SECRET: &[u8] = b"12345678901234567890";
/// Mid-step, so that ±30 s lands on the neighbouring steps.
const NOW: u64 = 1_700_000_015;

#[test]
fn rfc6238_appendix_b_sha1_vectors() {
    // The RFC lists 8-digit codes; a 6-digit code is the same number mod 10^6, i.e. the last
    // six digits.
    for (unix, eight) in [
        (59, "94287082"),
        (1_111_111_109, "07081804"),
        (1_111_111_111, "14050471"),
        (1_234_567_890, "89005924"),
        (2_000_000_000, "69279037"),
        (20_000_000_000, "65353130"),
    ] {
        assert_eq!(code_at(RFC_SECRET, unix), &eight[2..], "at {unix}");
    }
}

#[test]
fn new_secrets_are_20_random_bytes() {
    let a = new_secret().unwrap();
    assert_eq!(a.len(), 20);
    assert_ne!(a, new_secret().unwrap());
}

#[test]
fn base32_is_rfc4648_without_padding() {
    assert_eq!(
        secret_base32(RFC_SECRET),
        "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"
    );
    assert_eq!(secret_base32(&[0xff]), "74");
}

#[test]
fn current_code_is_accepted_once_per_step() {
    let step = (NOW / 30) as i64;
    let code = code_at(RFC_SECRET, NOW);
    assert_eq!(verify(RFC_SECRET, &code, NOW, None), Some(step));
    assert_eq!(verify(RFC_SECRET, &code, NOW, Some(step - 1)), Some(step));
    // Replay: the same step again, or anything older.
    assert_eq!(verify(RFC_SECRET, &code, NOW, Some(step)), None);
    assert_eq!(verify(RFC_SECRET, &code, NOW + 29, Some(step)), None);
    assert_eq!(verify(RFC_SECRET, &code, NOW, Some(step + 1)), None);
    assert_eq!(verify(RFC_SECRET, &code, NOW, Some(i64::MAX)), None);
    assert_eq!(verify(RFC_SECRET, &code, NOW, Some(i64::MIN)), Some(step));
}

#[test]
fn one_step_of_skew_either_way() {
    let step = (NOW / 30) as i64;
    let before = code_at(RFC_SECRET, NOW - 30);
    let after = code_at(RFC_SECRET, NOW + 30);
    assert_eq!(verify(RFC_SECRET, &before, NOW, None), Some(step - 1));
    assert_eq!(verify(RFC_SECRET, &after, NOW, None), Some(step + 1));
    // An older code after a newer one was used is a replay too.
    assert_eq!(verify(RFC_SECRET, &before, NOW, Some(step)), None);
    assert_eq!(verify(RFC_SECRET, &after, NOW, Some(step)), Some(step + 1));

    for off in [-60i64, 60, -90, 90] {
        let code = code_at(RFC_SECRET, NOW.saturating_add_signed(off));
        // Skip the (one in a million) case where a far code equals a near one.
        let near = [NOW - 30, NOW, NOW + 30].map(|t| code_at(RFC_SECRET, t));
        if !near.contains(&code) {
            assert_eq!(verify(RFC_SECRET, &code, NOW, None), None, "offset {off}");
        }
    }
}

#[test]
fn spaces_are_ignored() {
    let code = code_at(RFC_SECRET, NOW);
    let spaced = format!(" {} {} ", &code[..3], &code[3..]);
    assert!(verify(RFC_SECRET, &spaced, NOW, None).is_some());
    let tabbed = format!("{}\t{}\n", &code[..3], &code[3..]);
    assert!(verify(RFC_SECRET, &tabbed, NOW, None).is_some());
}

#[test]
fn wrong_codes_and_secrets_are_refused() {
    let code = code_at(RFC_SECRET, NOW);
    assert_eq!(verify(b"another secret of 20b", &code, NOW, None), None);
    let wrong = format!("{:06}", (code.parse::<u32>().unwrap() + 1) % 1_000_000);
    let near = [NOW - 30, NOW, NOW + 30].map(|t| code_at(RFC_SECRET, t));
    if !near.contains(&wrong) {
        assert_eq!(verify(RFC_SECRET, &wrong, NOW, None), None);
    }
}

#[test]
fn garbage_is_refused_without_panicking() {
    let code = code_at(RFC_SECRET, NOW);
    let fullwidth: String = code
        .chars()
        .map(|c| char::from_u32(c as u32 - '0' as u32 + 0xFF10).unwrap())
        .collect();
    let arabic_indic: String = code
        .chars()
        .map(|c| char::from_u32(c as u32 - '0' as u32 + 0x0660).unwrap())
        .collect();
    let long = "1".repeat(100_000);
    for input in [
        "",
        " ",
        &code[..5],
        &format!("{code}0"),
        &format!("0{code}"),
        "abcdef",
        &format!("{}a", &code[..5]),
        &format!("+{}", &code[..5]),
        &format!("-{}", &code[..5]),
        &format!("{}\0{}", &code[..3], &code[3..]),
        &fullwidth,
        &arabic_indic,
        "１２３４５６",
        "١٢٣٤٥٦",
        "12345６",
        "ééééé",
        &long,
    ] {
        assert_eq!(verify(RFC_SECRET, input, NOW, None), None, "{input:?}");
    }
    // Odd secrets and times must not panic either.
    for now in [0, 29, 30, u64::MAX - 1, u64::MAX] {
        for secret in [&b""[..], b"x", &[0u8; 200]] {
            let c = code_at(secret, now);
            assert_eq!(c.len(), 6);
            let _ = verify(secret, &c, now, None);
            let _ = verify(secret, "000000", now, Some(-1));
        }
    }
}

#[test]
fn code_matches_at_time_zero() {
    let code = code_at(RFC_SECRET, 0);
    assert_eq!(verify(RFC_SECRET, &code, 0, None), Some(0));
    assert_eq!(verify(RFC_SECRET, &code, 0, Some(0)), None);
}

#[test]
fn otpauth_uri_is_sha1_6_digits_30_s_and_encoded() {
    let secret = new_secret().unwrap();
    let uri = otpauth_uri(&secret, "Apex DNS", "a+b@example.com").unwrap();
    let b32 = secret_base32(&secret);
    assert!(
        uri.starts_with("otpauth://totp/Apex%20DNS:a%2Bb%40example.com?"),
        "{uri}"
    );
    let query = uri.split_once('?').unwrap().1;
    let mut params: Vec<&str> = query.split('&').collect();
    params.sort_unstable();
    let secret_param = format!("secret={b32}");
    let mut expected = vec![
        "algorithm=SHA1",
        "digits=6",
        "issuer=Apex%20DNS",
        "period=30",
        &secret_param,
    ];
    expected.sort_unstable();
    assert_eq!(params, expected);

    // What an app reads back is what was meant.
    let parsed = Totp::from_url(&uri).unwrap();
    assert_eq!(parsed.issuer(), Some("Apex DNS"));
    assert_eq!(parsed.account_name(), "a+b@example.com");
    assert_eq!(parsed.algorithm(), Algorithm::SHA1);
    assert_eq!(parsed.digits(), 6);
    assert_eq!(parsed.step(), 30);
    assert_eq!(parsed.secret().as_bytes(), &secret[..]);
    assert_eq!(parsed.generate(NOW).to_string(), code_at(&secret, NOW));
}

#[test]
fn otpauth_uri_refuses_what_cannot_be_labelled() {
    let secret = new_secret().unwrap();
    for (issuer, account, field) in [
        ("Apex:DNS", "a@example.com", "issuer"),
        ("", "a@example.com", "issuer"),
        ("Apex", "a:b@example.com", "account"),
        ("Apex", "", "account"),
    ] {
        match otpauth_uri(&secret, issuer, account) {
            Err(CoreError::Invalid { field: f, .. }) => assert_eq!(f, field),
            other => panic!("{issuer:?} {account:?}: {other:?}"),
        }
    }
    // A secret too short for RFC 4226 is a bug of ours, not bad input.
    assert!(matches!(
        otpauth_uri(b"short", "Apex", "a@example.com"),
        Err(CoreError::Internal(_))
    ));
}

#[test]
fn qr_code_is_a_standalone_svg() {
    let uri = otpauth_uri(&new_secret().unwrap(), "Apex DNS", "a+b@example.com").unwrap();
    let svg = qr_svg(&uri).unwrap();
    assert!(svg.starts_with("<?xml") || svg.starts_with("<svg"), "{svg}");
    assert!(svg.contains("<svg xmlns=\"http://www.w3.org/2000/svg\""));
    assert!(svg.contains("<path") || svg.contains("<rect"));
    assert!(svg.trim_end().ends_with("</svg>"));
    let width: u32 = svg
        .split("width=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .and_then(|w| w.parse().ok())
        .unwrap();
    assert!(width >= 200, "width {width}");
}

#[test]
fn qr_code_of_too_much_data_is_an_error() {
    assert!(qr_svg(&"x".repeat(10_000)).is_err());
}

#[test]
fn recovery_codes_are_grouped_distinct_and_unambiguous() {
    let codes = new_recovery_codes().unwrap();
    assert_eq!(codes.len(), RECOVERY_CODES);
    let mut unique = codes.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), RECOVERY_CODES);
    for code in &codes {
        assert_eq!(code.len(), 19, "{code}");
        for (i, c) in code.chars().enumerate() {
            if i % 5 == 4 {
                assert_eq!(c, '-', "{code}");
            } else {
                assert!(RECOVERY_ALPHABET.contains(&(c as u8)), "{code}");
                assert!(!"0o1li".contains(c), "{code}");
            }
        }
        let canonical = normalize_recovery_code(code).unwrap();
        assert_eq!(canonical, code.replace('-', ""));
        assert_eq!(canonical.len(), RECOVERY_CODE_CHARS);
    }
    assert_ne!(codes, new_recovery_codes().unwrap());
}

#[test]
fn recovery_alphabet_is_31_unambiguous_symbols() {
    assert_eq!(RECOVERY_ALPHABET.len(), 31);
    for c in b"0o1li" {
        assert!(!RECOVERY_ALPHABET.contains(c));
    }
    let mut sorted = RECOVERY_ALPHABET.to_vec();
    sorted.sort_unstable();
    sorted.dedup();
    assert_eq!(sorted.len(), 31);
}

#[test]
fn normalize_accepts_how_people_type_codes() {
    let canonical = "abcdefghjkmnpqrs";
    for typed in [
        "abcd-efgh-jkmn-pqrs",
        "ABCD-EFGH-JKMN-PQRS",
        "abcd efgh jkmn pqrs",
        " abcdefghjkmnpqrs ",
        "Ab-Cd EfGh--jkmn pqrs\n",
        "abcdefghjkmnpqrs",
    ] {
        assert_eq!(
            normalize_recovery_code(typed).as_deref(),
            Some(canonical),
            "{typed:?}"
        );
    }
}

#[test]
fn normalize_refuses_wrong_length_and_alphabet() {
    for typed in [
        "",
        "abcd-efgh-jkmn-pqr",
        "abcd-efgh-jkmn-pqrst",
        "0bcd-efgh-jkmn-pqrs",
        "obcd-efgh-jkmn-pqrs",
        "1bcd-efgh-jkmn-pqrs",
        "lbcd-efgh-jkmn-pqrs",
        "ibcd-efgh-jkmn-pqrs",
        "abcd_efgh_jkmn_pqrs",
        "abcd-efgh-jkmn-pqré",
        "ａbcd-efgh-jkmn-pqrs",
        &"abcd-".repeat(1000),
    ] {
        assert_eq!(normalize_recovery_code(typed), None, "{typed:?}");
    }
}

#[test]
fn recovery_hash_is_sha256_of_the_canonical_form() {
    let code = &new_recovery_codes().unwrap()[0];
    let canonical = normalize_recovery_code(code).unwrap();
    let typed_differently =
        normalize_recovery_code(&code.to_uppercase().replace('-', " ")).unwrap();
    let hash = recovery_code_hash(&canonical);
    assert_eq!(hash.len(), 32);
    assert_eq!(hash, recovery_code_hash(&typed_differently));
    assert_ne!(hash, recovery_code_hash("abcdefghjkmnpqrs"));
    assert_eq!(
        hex::encode(recovery_code_hash("abc")),
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    );
}
