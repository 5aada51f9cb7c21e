//! Arbitrary bytes as a zone file: errors are fine, panics and hangs are not; and whatever is
//! accepted must be written and read back to the same records.
#![no_main]

use apex_zone::dname::DName;
use apex_zone::zonefile::{ParseOptions, check};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let origin = DName::parse(b"fuzz.example.", None).expect("origin");
    let options = ParseOptions { max_records: 10_000, max_generate: 1_000, max_errors: 10, ..ParseOptions::default() };
    if let Ok(checked) = check(data, &origin, options, true) {
        let again = check(checked.canonical.as_bytes(), &origin, options, true).expect("the canonical form of an accepted zone must be accepted");
        assert_eq!(again.canonical, checked.canonical, "canonical form must be a fixed point");
    }
});
