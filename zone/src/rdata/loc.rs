//! LOC (RFC 1876): geographical location.
//!
//! Wire form: version (0), size, horizontal and vertical precision (each one digit times a
//! power of ten, in centimetres), latitude and longitude (thousandths of an arc-second, with
//! 2^31 at the equator and the prime meridian), and altitude (centimetres above 100,000 m
//! below the WGS 84 reference spheroid).

use std::fmt::Write;

use super::cursor::{Fields, Wire, WireError, parse_number};
use crate::presentation::{SyntaxError, Tok};

/// Thousandths of an arc-second in one degree.
const DEGREE: i64 = 3_600_000;
/// The equator and the prime meridian on the wire (2^31).
const EQUATOR: i64 = 1 << 31;
/// Altitude 0 on the wire: 100,000 m in centimetres.
const ALT_ZERO: i64 = 10_000_000;
/// Highest altitude in centimetres above 0 (the wire field is full at 42,849,672.95 m).
const ALT_MAX: i64 = u32::MAX as i64 - ALT_ZERO;
/// Largest size or precision: 90,000 km in centimetres.
const SIZE_MAX: i64 = 9_000_000_000;
/// Size bytes when left out: 1 m, 10,000 m, 10 m (1e2, 1e6 and 1e3 cm).
const SIZE_DEFAULTS: [u8; 3] = [0x12, 0x16, 0x13];
const SIZE_NAMES: [&str; 3] = [
    "LOC size",
    "LOC horizontal precision",
    "LOC vertical precision",
];

/// Parses `d1 [m1 [s1]] {N|S} d2 [m2 [s2]] {E|W} alt[m] [siz[m] [hp[m] [vp[m]]]]`.
pub fn parse(f: &mut Fields<'_, '_>, out: &mut Vec<u8>) -> Result<(), SyntaxError> {
    let lat = angle(f, "LOC latitude", 90, ["N", "S"])?;
    let long = angle(f, "LOC longitude", 180, ["E", "W"])?;
    let alt_tok = f.next("LOC altitude")?;
    let alt = fixed(&alt_tok, "LOC altitude", 2, true, true)?;
    if !(-ALT_ZERO..=ALT_MAX).contains(&alt) {
        return Err(Fields::err(
            &alt_tok,
            format!(
                "LOC altitude {} is out of range -100000.00m..42849672.95m",
                alt_tok.show()
            ),
        ));
    }
    let mut sizes = SIZE_DEFAULTS;
    for (size, what) in sizes.iter_mut().zip(SIZE_NAMES) {
        if f.is_done() {
            break;
        }
        let tok = f.next(what)?;
        let cm = fixed(&tok, what, 2, false, true)?;
        if cm > SIZE_MAX {
            return Err(Fields::err(
                &tok,
                format!("{what} {} is out of range 0..90000000.00m", tok.show()),
            ));
        }
        *size = encode_size(cm).map_err(|(down, up)| {
            Fields::err(
                &tok,
                format!(
                    "{what} {} cannot be stored: sizes are one digit times a power of ten \
                     (e.g. {} or {})",
                    tok.show(),
                    metres(down),
                    metres(up)
                ),
            )
        })?;
    }
    out.push(0);
    out.extend_from_slice(&sizes);
    out.extend_from_slice(&lat.to_be_bytes());
    out.extend_from_slice(&long.to_be_bytes());
    out.extend_from_slice(&((alt + ALT_ZERO) as u32).to_be_bytes());
    Ok(())
}

/// Reads `d [m [s]] H` (H one of `hemispheres`, the first positive) as its wire value.
fn angle(
    f: &mut Fields<'_, '_>,
    what: &str,
    max_degrees: u64,
    hemispheres: [&str; 2],
) -> Result<u32, SyntaxError> {
    let is_hemisphere = |t: &Tok<'_>| t.is(hemispheres[0]) || t.is(hemispheres[1]);
    let degrees_what = format!("{what} degrees");
    let d_tok = f.next(&degrees_what)?;
    let degrees = integer(&d_tok, &degrees_what, max_degrees)?;
    let mut minutes = 0;
    let mut millis = 0;
    if let Some(t) = f.peek().copied()
        && !is_hemisphere(&t)
    {
        let minutes_what = format!("{what} minutes");
        let t = f.next(&minutes_what)?;
        minutes = integer(&t, &minutes_what, 59)?;
        if let Some(t) = f.peek().copied()
            && !is_hemisphere(&t)
        {
            let seconds_what = format!("{what} seconds");
            let t = f.next(&seconds_what)?;
            millis = fixed(&t, &seconds_what, 3, false, false)?;
            if millis > 59_999 {
                return Err(Fields::err(
                    &t,
                    format!("{seconds_what} {} is out of range 0..59.999", t.show()),
                ));
            }
        }
    }
    let [pos, neg] = hemispheres;
    let h = f.next(&format!("{what} direction ({pos} or {neg})"))?;
    if !is_hemisphere(&h) {
        return Err(Fields::err(
            &h,
            format!(
                "{what} must be followed by {pos} or {neg}, not {:?}",
                h.show()
            ),
        ));
    }
    let total = ((degrees as i64 * 60 + minutes as i64) * 60) * 1000 + millis;
    if total > max_degrees as i64 * DEGREE {
        return Err(Fields::err(
            &d_tok,
            format!("{what} is beyond {max_degrees} degrees"),
        ));
    }
    let signed = if h.is(pos) { total } else { -total };
    Ok((EQUATOR + signed) as u32)
}

/// An unsigned integer no larger than `max`.
fn integer(tok: &Tok<'_>, what: &str, max: u64) -> Result<u64, SyntaxError> {
    let v = parse_number(tok, what, u64::MAX)?;
    if v > max {
        return Err(Fields::err(
            tok,
            format!("{what} {} is out of range 0..{max}", tok.show()),
        ));
    }
    Ok(v)
}

/// A decimal with at most `places` decimals, scaled by 10^places; `signed` allows a leading
/// `-`, `metres` an `m` after it.
fn fixed(
    tok: &Tok<'_>,
    what: &str,
    places: u32,
    signed: bool,
    metres: bool,
) -> Result<i64, SyntaxError> {
    let bad = || {
        let unit = if metres {
            " of metres (an m after it is optional)"
        } else {
            ""
        };
        Fields::err(
            tok,
            format!(
                "{what} must be a number{unit} with at most {places} decimals, not {:?}",
                tok.show()
            ),
        )
    };
    if tok.quoted {
        return Err(bad());
    }
    let mut s = tok.raw;
    if metres && let Some(rest) = s.strip_suffix(b"m").or_else(|| s.strip_suffix(b"M")) {
        s = rest;
    }
    let negative = signed && s.first() == Some(&b'-');
    if negative {
        s = &s[1..];
    }
    let (int, frac) = match s.iter().position(|&b| b == b'.') {
        Some(dot) => (&s[..dot], &s[dot + 1..]),
        None => (s, &[][..]),
    };
    let has_dot = int.len() != s.len();
    if (int.is_empty() && frac.is_empty())
        || (has_dot && frac.is_empty())
        || int.len() > 12
        || frac.len() > places as usize
        || !int.iter().chain(frac).all(u8::is_ascii_digit)
    {
        return Err(bad());
    }
    let digits = |d: &[u8]| d.iter().fold(0i64, |acc, c| acc * 10 + i64::from(c - b'0'));
    let scale = 10i64.pow(places);
    let value = digits(int) * scale + digits(frac) * 10i64.pow(places - frac.len() as u32);
    Ok(if negative { -value } else { value })
}

/// The size byte for `cm`: high nibble the digit, low nibble the power of ten; `Err` with the
/// nearest storable sizes below and above when `cm` is not one digit times a power of ten.
fn encode_size(cm: i64) -> Result<u8, (i64, i64)> {
    let (mut mantissa, mut exponent) = (cm, 0u32);
    while mantissa > 9 {
        if mantissa % 10 != 0 {
            let mut lead = cm;
            let mut power = 1;
            while lead > 9 {
                lead /= 10;
                power *= 10;
            }
            return Err((lead * power, (lead + 1) * power));
        }
        mantissa /= 10;
        exponent += 1;
    }
    Ok(((mantissa as u8) << 4) | exponent as u8)
}

/// Centimetres as metres with two decimals (`-0.50`).
fn metres(cm: i64) -> String {
    let sign = if cm < 0 { "-" } else { "" };
    let abs = cm.unsigned_abs();
    format!("{sign}{}.{:02}m", abs / 100, abs % 100)
}

/// Prints LOC data: `52 22 23.000 N 4 53 32.000 E -2.00m 0.00m 10000.00m 10.00m`.
pub fn format(w: &mut Wire<'_>, out: &mut String) -> Result<(), WireError> {
    let version = w.u8()?;
    if version != 0 {
        return Err(WireError(format!(
            "LOC version {version} is unknown (only 0 is defined)"
        )));
    }
    let mut sizes = [0i64; 3];
    for (size, what) in sizes.iter_mut().zip(SIZE_NAMES) {
        *size = decode_size(w.u8()?, what)?;
    }
    let lat = w.u32()?;
    let long = w.u32()?;
    let alt = w.u32()?;
    write_angle(lat, "LOC latitude", 90, ['N', 'S'], out)?;
    out.push(' ');
    write_angle(long, "LOC longitude", 180, ['E', 'W'], out)?;
    let _ = write!(out, " {}", metres(i64::from(alt) - ALT_ZERO));
    for size in sizes {
        let _ = write!(out, " {}", metres(size));
    }
    Ok(())
}

/// A size byte in centimetres.
fn decode_size(byte: u8, what: &str) -> Result<i64, WireError> {
    let (mantissa, exponent) = (byte >> 4, byte & 15);
    if mantissa > 9 || exponent > 9 {
        return Err(WireError(format!(
            "{what} byte {byte:#04x}: digit and exponent must be 0 to 9"
        )));
    }
    if mantissa == 0 && exponent != 0 {
        return Err(WireError(format!(
            "{what} byte {byte:#04x}: 0 must be written with exponent 0"
        )));
    }
    Ok(i64::from(mantissa) * 10i64.pow(u32::from(exponent)))
}

fn write_angle(
    raw: u32,
    what: &str,
    max_degrees: i64,
    hemispheres: [char; 2],
    out: &mut String,
) -> Result<(), WireError> {
    let v = i64::from(raw) - EQUATOR;
    let abs = v.abs();
    if abs > max_degrees * DEGREE {
        return Err(WireError(format!("{what} is beyond {max_degrees} degrees")));
    }
    let hemisphere = if v < 0 {
        hemispheres[1]
    } else {
        hemispheres[0]
    };
    let (degrees, rest) = (abs / DEGREE, abs % DEGREE);
    let (minutes, millis) = (rest / 60_000, rest % 60_000);
    let _ = write!(
        out,
        "{degrees} {minutes} {}.{:03} {hemisphere}",
        millis / 1000,
        millis % 1000
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::dname::DName;
    use crate::presentation::{Tok, tokens};
    use crate::rdata::tests::canon;
    use crate::rdata::{Ctx, RrType, decode_hex};

    fn ok(content: &str, want: &str) {
        assert_eq!(canon("LOC", content).as_deref(), Ok(want), "LOC {content}");
    }

    fn bad(content: &str, fragment: &str) {
        let e = canon("LOC", content).unwrap_err();
        assert!(
            e.contains(fragment),
            "LOC {content}: {e:?} lacks {fragment:?}"
        );
    }

    fn wire(content: &str) -> Vec<u8> {
        let toks = tokens(content).unwrap();
        let type_tok = Tok {
            raw: b"LOC",
            quoted: false,
            line: 1,
            column: 1,
        };
        let origin = DName::parse(b"example.com.", None).unwrap();
        crate::rdata::parse(
            RrType::LOC,
            &toks,
            &type_tok,
            Ctx {
                origin: Some(&origin),
            },
        )
        .unwrap()
    }

    #[test]
    fn real_locations() {
        // RFC 1876 section 4.
        ok(
            "42 21 54 N 71 06 18 W -24m 30m",
            "42 21 54.000 N 71 6 18.000 W -24.00m 30.00m 10000.00m 10.00m",
        );
        ok(
            "42 21 43.952 N 71 5 6.344 W -24m 1m 200m 10m",
            "42 21 43.952 N 71 5 6.344 W -24.00m 1.00m 200.00m 10.00m",
        );
        ok(
            "52 14 05 N 00 08 50 E 10m",
            "52 14 5.000 N 0 8 50.000 E 10.00m 1.00m 10000.00m 10.00m",
        );
        ok(
            "32 7 19 S 116 2 25 E 10m",
            "32 7 19.000 S 116 2 25.000 E 10.00m 1.00m 10000.00m 10.00m",
        );
        ok(
            "42 21 28.764 N 71 00 51.617 W -44m 2000m",
            "42 21 28.764 N 71 0 51.617 W -44.00m 2000.00m 10000.00m 10.00m",
        );
        // BIND's canonical form is accepted as is.
        ok(
            "52 22 23.000 N 4 53 32.000 E -2.00m 0.00m 10000.00m 10.00m",
            "52 22 23.000 N 4 53 32.000 E -2.00m 0.00m 10000.00m 10.00m",
        );
        // South and west, minutes and seconds left out, lower-case hemispheres.
        ok(
            "22 54 s 43 12 w 11.5",
            "22 54 0.000 S 43 12 0.000 W 11.50m 1.00m 10000.00m 10.00m",
        );
        ok(
            "33 27 S 70 40 W 520m",
            "33 27 0.000 S 70 40 0.000 W 520.00m 1.00m 10000.00m 10.00m",
        );
    }

    #[test]
    fn edges() {
        ok(
            "0 0 0 N 0 0 0 E 0m",
            "0 0 0.000 N 0 0 0.000 E 0.00m 1.00m 10000.00m 10.00m",
        );
        ok(
            "0 S 0 W 0",
            "0 0 0.000 N 0 0 0.000 E 0.00m 1.00m 10000.00m 10.00m",
        );
        ok(
            "90 S 180 W -100000m 90000000m 0m 0.01m",
            "90 0 0.000 S 180 0 0.000 W -100000.00m 90000000.00m 0.00m 0.01m",
        );
        ok(
            "90 0 0 N 180 0 0.000 E 42849672.95m 0.1m 9M",
            "90 0 0.000 N 180 0 0.000 E 42849672.95m 0.10m 9.00m 10.00m",
        );
        ok(
            "1 2 59.999 N 3 4 0.5 E -0.5m",
            "1 2 59.999 N 3 4 0.500 E -0.50m 1.00m 10000.00m 10.00m",
        );
    }

    #[test]
    fn wire_form() {
        // version, size 30 m (3e3 cm), hp 10 km (1e6 cm), vp 10 m (1e3 cm), 2^31 +/- arc
        // thousandths, altitude + 100,000 m in cm.
        assert_eq!(
            wire("42 21 54 N 71 06 18 W -24m 30m"),
            decode_hex(b"0033161389172dd070be15f000988d20").unwrap()
        );
        // Generic form decodes and prints like the text form.
        ok(
            "\\# 16 00331613 89172dd0 70be15f0 00988d20",
            "42 21 54.000 N 71 6 18.000 W -24.00m 30.00m 10000.00m 10.00m",
        );
        bad("\\# 16 01331613 89172dd0 70be15f0 00988d20", "version 1");
        bad("\\# 16 003a1613 89172dd0 70be15f0 00988d20", "0 to 9");
        bad("\\# 16 00051613 89172dd0 70be15f0 00988d20", "exponent 0");
        bad("\\# 16 00331613 ffffffff 70be15f0 00988d20", "beyond 90");
        bad("\\# 15 00331613 89172dd0 70be15f0 00988d", "truncated");
    }

    #[test]
    fn errors() {
        bad(
            "42 61 54 N 71 06 18 W -24m",
            "LOC latitude minutes 61 is out of range 0..59",
        );
        bad(
            "91 0 0 N 71 06 18 W -24m",
            "LOC latitude degrees 91 is out of range 0..90",
        );
        bad(
            "90 1 0 N 71 06 18 W -24m",
            "LOC latitude is beyond 90 degrees",
        );
        bad(
            "42 21 54 N 181 06 18 W -24m",
            "LOC longitude degrees 181 is out of range 0..180",
        );
        bad(
            "42 21 60 N 71 06 18 W -24m",
            "LOC latitude seconds 60 is out of range 0..59.999",
        );
        bad("42 21 1.2345 N 71 06 18 W -24m", "at most 3 decimals");
        bad(
            "42 21 54 71 06 18 W -24m",
            "LOC latitude must be followed by N or S, not \"71\"",
        );
        bad(
            "42 21 54 N 71 06 18 N -24m",
            "LOC longitude must be followed by E or W",
        );
        bad("42 21 54 N 71 06 18 W", "missing LOC altitude");
        bad("42 21 54 N", "missing LOC longitude degrees");
        bad(
            "42 21 54 N 71 06 18 W -100000.01m",
            "LOC altitude -100000.01m is out of range",
        );
        bad("42 21 54 N 71 06 18 W 42849672.96m", "out of range");
        bad("42 21 54 N 71 06 18 W 1.234m", "at most 2 decimals");
        bad(
            "42 21 54 N 71 06 18 W -24m 25m",
            "LOC size 25m cannot be stored",
        );
        bad("42 21 54 N 71 06 18 W -24m 1m 25m", "20.00m or 30.00m");
        bad(
            "42 21 54 N 71 06 18 W -24m 90000001m",
            "LOC size 90000001m is out of range",
        );
        bad(
            "42 21 54 N 71 06 18 W -24m big",
            "LOC size must be a number",
        );
        bad(
            "42 21 54 N 71 06 18 W -24m -1m",
            "LOC size must be a number",
        );
        bad(
            "42 21 54 N 71 06 18 W -24m 1m 1m 1m 1m",
            "unexpected \"1m\"",
        );
        bad("42 21 54 N 71 06 18 W 5.m", "LOC altitude must be a number");
        bad(
            "42 x 54 N 71 06 18 W 5m",
            "LOC latitude minutes must be a number",
        );
    }

    /// Random wire data that `format` prints reads back to the same bytes.
    #[test]
    fn random_wire_round_trips() {
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        let type_tok = Tok {
            raw: b"LOC",
            quoted: false,
            line: 1,
            column: 1,
        };
        let mut valid = 0;
        for _ in 0..20_000 {
            let r = next();
            let mut w = vec![0];
            for i in 0..3 {
                w.push(((r >> (8 * i)) % 10) as u8 * 16 + ((r >> (8 * i + 4)) % 10) as u8);
            }
            let spread = [(1u64 << 31) - 1, 90 * 3_600_000, 1000, 5][(r >> 30) as usize % 4];
            for _ in 0..2 {
                let v = (1u64 << 31) + (next() % (2 * spread + 1)) - spread;
                w.extend_from_slice(&(v as u32).to_be_bytes());
            }
            w.extend_from_slice(&(next() as u32).to_be_bytes());
            let Ok(text) = crate::rdata::format(RrType::LOC, &w) else {
                continue;
            };
            valid += 1;
            let toks = tokens(&text).unwrap();
            let again = crate::rdata::parse(RrType::LOC, &toks, &type_tok, Ctx { origin: None });
            assert_eq!(again.as_deref(), Ok(&w[..]), "{text}");
        }
        assert!(valid > 1000, "{valid}");
    }
}
