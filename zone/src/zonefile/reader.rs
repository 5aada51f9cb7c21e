//! Reading a zone file into records.

use crate::dname::DName;
use crate::name::check_owner;
use crate::presentation::{Entry, Lexer, SyntaxError, Tok};
use crate::rdata::{self, Ctx, RrType, is_meta, ttl_value, type_name};

use super::generate;
use crate::record::ZoneRecord;
use crate::validate::Warning;

/// Limits that keep hostile files cheap.
#[derive(Debug, Clone, Copy)]
pub struct ParseOptions {
    /// Most records a file may hold.
    pub max_records: usize,
    /// Most records one `$GENERATE` may make.
    pub max_generate: u64,
    /// Most errors collected before giving up.
    pub max_errors: usize,
    /// Most bytes of records a file may make (owners, data and comments): `$GENERATE` and
    /// `\#` data can make far more than the file holds. See [`ParseOptions::for_upload`].
    pub max_bytes: usize,
    /// Keep the records a signer makes (RRSIG, NSEC, NSEC3, NSEC3PARAM, apex DNSKEY), to
    /// serve a zone signed elsewhere; by default they are dropped with a warning.
    pub keep_dnssec: bool,
    /// The apex NS set is the platform's (an import into Apex): apex NS records are left out,
    /// with one warning, before their content is read, so a provider's placeholder (a
    /// Cloudflare export's `REPLACE&ME$WITH^YOUR@NAMESERVER.`) does not refuse the file. Off by
    /// default: a file signed or served as it is keeps its apex NS set.
    pub platform_apex_ns: bool,
}

impl Default for ParseOptions {
    fn default() -> Self {
        Self {
            max_records: 2_000_000,
            max_generate: 65_536,
            max_errors: 100,
            max_bytes: MAX_BYTES,
            keep_dnssec: false,
            platform_apex_ns: false,
        }
    }
}

/// The most bytes of records any file may make.
pub const MAX_BYTES: usize = 512 * 1024 * 1024;
/// A file may make [`BYTES_PER_UPLOADED_BYTE`] times its own size in records, and at least
/// this much (a few `$GENERATE` lines make a reverse zone).
pub const MIN_BYTES: usize = 32 * 1024 * 1024;
/// How many bytes of records each byte of a file may make.
pub const BYTES_PER_UPLOADED_BYTE: usize = 8;

impl ParseOptions {
    /// The defaults, with the bytes of records a file of `len` bytes may make:
    /// [`BYTES_PER_UPLOADED_BYTE`] times its size, at least [`MIN_BYTES`], at most
    /// [`MAX_BYTES`]. An upload's memory then stays a small multiple of its size.
    pub fn for_upload(len: usize) -> Self {
        Self {
            max_bytes: len
                .saturating_mul(BYTES_PER_UPLOADED_BYTE)
                .clamp(MIN_BYTES, MAX_BYTES),
            ..Self::default()
        }
    }
}

/// A zone file, read.
#[derive(Debug, Clone, Default)]
pub struct ParsedZone {
    /// The SOA, if the file has one (at the origin).
    pub soa: Option<ZoneRecord>,
    /// Every other record, in file order.
    pub records: Vec<ZoneRecord>,
    /// Dropped records and other remarks.
    pub warnings: Vec<Warning>,
}

struct State {
    origin: DName,
    zone: DName,
    default_ttl: Option<u32>,
    last_ttl: Option<u32>,
    last_owner: Option<DName>,
    /// The owner token last parsed, to reuse its name when the next line repeats it.
    last_owner_raw: Vec<u8>,
    pending_comment: Option<String>,
    scratch: Vec<u8>,
    dropped: Vec<(RrType, u32, usize)>,
    apex_without_dot_noted: bool,
    notes: Vec<Warning>,
    keep_dnssec: bool,
    platform_apex_ns: bool,
    /// The first line and the number of the apex NS records left out (`platform_apex_ns`).
    apex_ns_left_out: Option<(u32, usize)>,
    /// Line of a second SOA, which makes the file invalid.
    second_soa: Option<u32>,
    /// Bytes of the records read so far ([`record_bytes`]), kept or not.
    bytes: usize,
}

/// Reads `text` as the zone `zone`. On failure, every error found (up to a limit), each with
/// its line and column; nothing is returned half-read.
pub fn parse(
    text: &[u8],
    zone: &DName,
    options: ParseOptions,
) -> Result<ParsedZone, Vec<SyntaxError>> {
    let mut st = State {
        origin: zone.clone(),
        zone: zone.clone(),
        default_ttl: None,
        last_ttl: None,
        last_owner: None,
        last_owner_raw: Vec::new(),
        pending_comment: None,
        scratch: Vec::with_capacity(512),
        apex_without_dot_noted: false,
        notes: Vec::new(),
        keep_dnssec: options.keep_dnssec,
        platform_apex_ns: options.platform_apex_ns,
        apex_ns_left_out: None,
        second_soa: None,
        dropped: Vec::new(),
        bytes: 0,
    };
    let mut out = ParsedZone::default();
    let mut errors: Vec<SyntaxError> = Vec::new();
    let mut lexer = Lexer::new(text);
    let mut entry = Entry::default();
    loop {
        match lexer.next_entry(&mut entry) {
            Ok(true) => {}
            Ok(false) => break,
            Err(e) => {
                // The lexer cannot resynchronise after broken quoting or parentheses.
                errors.push(e);
                break;
            }
        }
        if entry.is_blank() {
            match (&entry.comment, entry.double_semicolon) {
                (Some(c), false) => {
                    let p = st.pending_comment.get_or_insert_with(String::new);
                    append_comment(p, c);
                }
                _ => st.pending_comment = None,
            }
            continue;
        }
        let result = if !entry.starts_blank && entry.tokens[0].raw.first() == Some(&b'$') {
            st.pending_comment = None;
            directive(&mut st, &entry, &mut out, options)
        } else {
            let comment = match (st.pending_comment.take(), entry.comment.take()) {
                (Some(mut above), Some(after)) => {
                    append_comment(&mut above, &after);
                    Some(above)
                }
                (above, after) => above.or(after),
            };
            record(&mut st, &entry.tokens, entry.starts_blank, comment)
                .map(|r| push(&mut st, &mut out, r))
        };
        st.pending_comment = None;
        if let Err(e) = result {
            errors.push(e);
            if errors.len() >= options.max_errors {
                break;
            }
        }
        if let Some(message) = too_large(&st, &out, options) {
            errors.push(SyntaxError {
                line: entry.line,
                column: 1,
                message,
            });
            break;
        }
    }
    if let Some(line) = st.second_soa {
        errors.push(SyntaxError {
            line,
            column: 1,
            message: "a second SOA record: a zone has exactly one".into(),
        });
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    out.warnings.append(&mut st.notes);
    if let Some((line, count)) = st.apex_ns_left_out {
        out.warnings.push(Warning {
            line,
            message: format!(
                "{count} NS record(s) at the apex left out: the platform's nameservers serve the zone"
            ),
        });
    }
    for (rtype, first_line, count) in st.dropped {
        out.warnings.push(Warning {
            line: first_line,
            message: format!(
                "dropped {count} {} record{} (Apex signs zones itself)",
                type_name(rtype),
                if count == 1 { "" } else { "s" }
            ),
        });
    }
    Ok(out)
}

/// Why the records read so far are more than `options` allow, if they are.
fn too_large(st: &State, out: &ParsedZone, options: ParseOptions) -> Option<String> {
    if out.records.len() > options.max_records {
        return Some(format!(
            "more than {} records: the zone is too large",
            options.max_records
        ));
    }
    if st.bytes > options.max_bytes {
        return Some(format!(
            "the records read so far take more than {} bytes: the zone is too large for this file (a file may make at most {} bytes of records)",
            options.max_bytes, options.max_bytes
        ));
    }
    None
}

/// Bytes a record takes, roughly as stored: owner, data, comment, and fixed fields.
fn record_bytes(r: &ZoneRecord) -> usize {
    r.name.wire().len() + r.rdata.len() + r.comment.as_ref().map_or(0, String::len) + 16
}

/// Longest comment kept with a record (as the API allows); the rest is cut.
pub const MAX_COMMENT: usize = 500;

/// Appends comment text in place, up to [`MAX_COMMENT`] bytes (so a file of a million comment
/// lines costs linear time and bounded memory).
fn append_comment(to: &mut String, text: &str) {
    if to.len() >= MAX_COMMENT {
        return;
    }
    if !to.is_empty() {
        to.push(' ');
    }
    let room = MAX_COMMENT.saturating_sub(to.len());
    let mut cut = text.len().min(room);
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    to.push_str(&text[..cut]);
    // A cut may end in whitespace: dropped, as reading the written comment back would.
    to.truncate(to.trim_end().len());
}

fn push(st: &mut State, out: &mut ParsedZone, r: Option<ZoneRecord>) {
    let Some(r) = r else { return };
    st.bytes += record_bytes(&r);
    let signer_made = !st.keep_dnssec
        && (matches!(
            r.rtype,
            RrType::RRSIG | RrType::NSEC | RrType::NSEC3 | RrType::NSEC3PARAM | RrType::ZONEMD
        ) || (r.rtype == RrType::DNSKEY && r.name == st.zone));
    if signer_made {
        match st.dropped.iter_mut().find(|(t, _, _)| *t == r.rtype) {
            Some((_, _, n)) => *n += 1,
            None => st.dropped.push((r.rtype, r.line, 1)),
        }
        return;
    }
    if st.platform_apex_ns && r.rtype == RrType::NS && r.name == st.zone {
        st.apex_ns_left_out.get_or_insert((r.line, 0)).1 += 1;
        return;
    }
    if r.rtype == RrType::SOA {
        if out.soa.is_some() {
            st.second_soa.get_or_insert(r.line);
        } else {
            out.soa = Some(r);
        }
        return;
    }
    out.records.push(r);
}

fn directive(
    st: &mut State,
    entry: &Entry<'_>,
    out: &mut ParsedZone,
    options: ParseOptions,
) -> Result<(), SyntaxError> {
    let toks = &entry.tokens;
    let word = &toks[0];
    let arg = |i: usize, what: &str| {
        toks.get(i)
            .copied()
            .ok_or_else(|| SyntaxError::at(word, format!("{} needs {what}", word.show())))
    };
    if word.is("$ORIGIN") {
        let t = arg(1, "a domain name")?;
        let origin = DName::parse(t.raw, Some(&st.origin))
            .map_err(|e| SyntaxError::at(&t, format!("$ORIGIN {:?}: {e}", t.show())))?;
        if !origin.is_within(&st.zone) {
            return Err(SyntaxError::at(
                &t,
                format!("$ORIGIN {origin} is outside the zone {}", st.zone),
            ));
        }
        st.origin = origin;
        st.last_owner_raw.clear();
        extra(toks, 2)
    } else if word.is("$TTL") {
        let t = arg(1, "a TTL")?;
        st.default_ttl = Some(ttl_value(&t, "$TTL")?);
        extra(toks, 2)
    } else if word.is("$INCLUDE") {
        Err(SyntaxError::at(
            word,
            "$INCLUDE is not supported: paste the included file's records in its place",
        ))
    } else if word.is("$GENERATE") {
        let mut lines = generate::expand(toks, options.max_generate)?;
        // Refused before the first line is made when its lines alone would pass the bytes
        // the file may make.
        let room = options.max_bytes.saturating_sub(st.bytes) as u64;
        if lines.estimated_bytes() > room {
            return Err(SyntaxError::at(
                word,
                format!(
                    "$GENERATE would make about {} bytes of records: the zone is too large for this file (a file may make at most {} bytes of records)",
                    lines.estimated_bytes(),
                    options.max_bytes
                ),
            ));
        }
        let mut text = Vec::new();
        while let Some(made) = lines.next_into(&mut text) {
            made?;
            let text = &text;
            // An error in a produced line, said of the `$GENERATE` with (the start of) the
            // line it produced.
            let produced = |err: SyntaxError| {
                SyntaxError::at(
                    word,
                    format!(
                        "$GENERATE produced {:?}: {}",
                        crate::presentation::cut_text(text),
                        err.message
                    ),
                )
            };
            let mut lexer = Lexer::new(text);
            let mut e = Entry::default();
            lexer.next_entry(&mut e).map_err(produced)?;
            let mut e_toks = e.tokens.clone();
            for t in &mut e_toks {
                t.line = word.line;
            }
            let r = record(st, &e_toks, false, None).map_err(produced)?;
            push(st, out, r);
            if let Some(message) = too_large(st, out, options) {
                return Err(SyntaxError::at(word, message));
            }
        }
        Ok(())
    } else {
        Err(SyntaxError::at(
            word,
            format!("unknown directive {}", word.show()),
        ))
    }
}

fn extra(toks: &[Tok<'_>], used: usize) -> Result<(), SyntaxError> {
    match toks.get(used) {
        None => Ok(()),
        Some(t) => Err(SyntaxError::at(t, format!("unexpected {:?}", t.show()))),
    }
}

fn is_class(t: &Tok<'_>) -> bool {
    !t.quoted
        && (t.is("IN")
            || t.is("CH")
            || t.is("HS")
            || t.is("CS")
            || t.is("ANY")
            || t.is("NONE")
            || (t.raw.len() > 5 && t.raw[..5].eq_ignore_ascii_case(b"CLASS")))
}

fn is_ttl(t: &Tok<'_>) -> bool {
    !t.quoted && t.raw.first().is_some_and(u8::is_ascii_digit)
}

/// One record line: `[owner] [ttl] [class] type data` (ttl and class in either order).
fn record(
    st: &mut State,
    toks: &[Tok<'_>],
    blank_owner: bool,
    comment: Option<String>,
) -> Result<Option<ZoneRecord>, SyntaxError> {
    let mut i = 0;
    let owner = if blank_owner {
        st.last_owner.clone().ok_or_else(|| {
            SyntaxError::at(
                &toks[0],
                "the first record needs an owner name (the line starts with a blank)",
            )
        })?
    } else if let Some(last) = st
        .last_owner
        .clone()
        .filter(|_| toks[0].raw == st.last_owner_raw.as_slice())
    {
        i = 1;
        last
    } else {
        let t = &toks[0];
        i = 1;
        let mut name = DName::parse(t.raw, Some(&st.origin))
            .map_err(|e| SyntaxError::at(t, format!("owner {:?}: {e}", t.show())))?;
        // Cloudflare exports write the apex as "example.com" without the final dot; with no
        // $ORIGIN of their own that can only mean the apex, never example.com.example.com.
        let zone_text = st.zone.to_string();
        if st.origin == st.zone
            && t.raw.len() + 1 == zone_text.len()
            && t.raw
                .eq_ignore_ascii_case(&zone_text.as_bytes()[..t.raw.len()])
        {
            name = st.zone.clone();
            if !st.apex_without_dot_noted {
                st.apex_without_dot_noted = true;
                st.notes.push(Warning {
                    line: t.line,
                    message: format!("owner {:?} without a final dot is read as the apex {}, as Cloudflare exports mean it", t.show(), st.zone),
                });
            }
        }
        if !name.is_within(&st.zone) {
            return Err(SyntaxError::at(
                t,
                format!("owner {name} is outside the zone {}", st.zone),
            ));
        }
        check_owner(&name).map_err(|e| SyntaxError::at(t, format!("owner {name}: {e}")))?;
        st.last_owner_raw.clear();
        st.last_owner_raw.extend_from_slice(t.raw);
        name
    };
    st.last_owner = Some(owner.clone());
    let mut ttl = None;
    for _ in 0..2 {
        let Some(t) = toks.get(i) else { break };
        if ttl.is_none() && is_ttl(t) {
            ttl = Some(ttl_value(t, "TTL")?);
            i += 1;
        } else if is_class(t) {
            if !t.is("IN") {
                return Err(SyntaxError::at(
                    t,
                    format!("class {} is not supported: only IN", t.show()),
                ));
            }
            i += 1;
        }
    }
    let type_tok = *toks
        .get(i)
        .ok_or_else(|| SyntaxError::at(&toks[toks.len() - 1], "missing record type"))?;
    let rtype = RrType::parse(type_tok.raw)
        .filter(|_| !type_tok.quoted)
        .ok_or_else(|| {
            SyntaxError::at(
                &type_tok,
                format!("{:?} is not a record type", type_tok.show()),
            )
        })?;
    if is_meta(rtype) {
        return Err(SyntaxError::at(
            &type_tok,
            format!(
                "{} is not a record type that a zone can hold",
                type_name(rtype)
            ),
        ));
    }
    // A signer's records are dropped (see `push`) whatever their data says.
    let signer_made = !st.keep_dnssec
        && matches!(
            rtype,
            RrType::RRSIG | RrType::NSEC | RrType::NSEC3 | RrType::NSEC3PARAM | RrType::ZONEMD
        );
    // The apex NS set is the platform's: left out before its content is read (see `push`).
    let platform_ns = st.platform_apex_ns && rtype == RrType::NS && owner == st.zone;
    st.scratch.clear();
    if !signer_made && !platform_ns {
        rdata::parse_into(
            rtype,
            &toks[i + 1..],
            &type_tok,
            Ctx {
                origin: Some(&st.origin),
            },
            &mut st.scratch,
        )?;
    }
    if rtype == RrType::SOA && owner != st.zone {
        return Err(SyntaxError::at(
            &type_tok,
            format!(
                "SOA at {owner}: a zone's only SOA is at its apex {}",
                st.zone
            ),
        ));
    }
    let ttl = match ttl {
        Some(t) => {
            st.last_ttl = Some(t);
            t
        }
        None => match st.default_ttl.or(st.last_ttl) {
            Some(t) => t,
            // RFC 1035 and 2308: with no TTL known, an SOA's own MINIMUM is its TTL and the
            // default for the records after it.
            None if rtype == RrType::SOA && st.scratch.len() >= 4 => {
                let m = &st.scratch[st.scratch.len() - 4..];
                let minimum = u32::from_be_bytes([m[0], m[1], m[2], m[3]]);
                st.last_ttl = Some(minimum);
                minimum
            }
            None => {
                return Err(SyntaxError::at(
                    &type_tok,
                    "no TTL: give one on the record or add a $TTL line above it",
                ));
            }
        },
    };
    Ok(Some(ZoneRecord {
        name: owner,
        ttl,
        rtype,
        rdata: Box::from(st.scratch.as_slice()),
        comment,
        line: type_tok.line,
    }))
}
