//! DNSSEC algorithm numbers and their mnemonics (the IANA "DNS Security Algorithm Numbers"
//! registry, as RFC 8624 lists them): the one table the record parsers (DS, DNSKEY, CERT,
//! RRSIG) and the signer ([`crate::sign::Algorithm`]) read names and numbers from.

/// Every algorithm with a mnemonic: (number, mnemonic).
pub const ALGORITHMS: &[(u8, &str)] = &[
    (1, "RSAMD5"),
    (3, "DSA"),
    (5, "RSASHA1"),
    (6, "DSA-NSEC3-SHA1"),
    (7, "RSASHA1-NSEC3-SHA1"),
    (8, "RSASHA256"),
    (10, "RSASHA512"),
    (12, "ECC-GOST"),
    (13, "ECDSAP256SHA256"),
    (14, "ECDSAP384SHA384"),
    (15, "ED25519"),
    (16, "ED448"),
    (252, "INDIRECT"),
    (253, "PRIVATEDNS"),
    (254, "PRIVATEOID"),
];

/// The mnemonic of an algorithm number, if it has one.
pub fn mnemonic(number: u8) -> Option<&'static str> {
    ALGORITHMS
        .iter()
        .find(|(n, _)| *n == number)
        .map(|(_, m)| *m)
}

/// The number of a mnemonic, in any case.
pub fn number(mnemonic: &str) -> Option<u8> {
    ALGORITHMS
        .iter()
        .find(|(_, m)| m.eq_ignore_ascii_case(mnemonic))
        .map(|(n, _)| *n)
}
