//! Reading fields: from presentation tokens ([`Fields`]) and from wire bytes ([`Wire`]).
//! Each record type's parser and formatter is written with these two, field by field.

use std::borrow::Cow;

use crate::dname::DName;
use crate::name::TargetKind;
use crate::presentation::{SyntaxError, Tok};

/// Where relative names in record data are anchored.
#[derive(Debug, Clone, Copy)]
pub struct Ctx<'a> {
    /// The origin of a zone file; `None` for API input, where names must end with a dot.
    pub origin: Option<&'a DName>,
}

/// The fields of one record's data, read left to right.
pub struct Fields<'t, 'a> {
    toks: &'t [Tok<'a>],
    pos: usize,
    /// Position for errors about missing fields (just after the last token, or the type).
    end: (u32, u32),
    ctx: Ctx<'t>,
}

impl<'t, 'a> Fields<'t, 'a> {
    /// Fields from `toks`; `after` is the token before them (the type), for error positions.
    pub fn new(toks: &'t [Tok<'a>], after: &Tok<'a>, ctx: Ctx<'t>) -> Self {
        let last = toks.last().unwrap_or(after);
        Self {
            toks,
            pos: 0,
            end: (last.line, last.column + last.raw.len() as u32 + 1),
            ctx,
        }
    }

    /// An error at a token.
    pub fn err(tok: &Tok<'_>, message: impl Into<String>) -> SyntaxError {
        SyntaxError::at(tok, message)
    }

    /// The next token, or an error naming what is missing.
    pub fn next(&mut self, what: &str) -> Result<Tok<'a>, SyntaxError> {
        let tok = *self.toks.get(self.pos).ok_or_else(|| SyntaxError {
            line: self.end.0,
            column: self.end.1,
            message: format!("missing {what}"),
        })?;
        self.pos += 1;
        Ok(tok)
    }

    /// The next token without taking it.
    pub fn peek(&self) -> Option<&Tok<'a>> {
        self.toks.get(self.pos)
    }

    /// The next token without taking it, or an error naming what is missing.
    pub fn peek_required(&self, what: &str) -> Result<Tok<'a>, SyntaxError> {
        self.toks.get(self.pos).copied().ok_or_else(|| SyntaxError {
            line: self.end.0,
            column: self.end.1,
            message: format!("missing {what}"),
        })
    }

    /// Whether all fields were read.
    pub fn is_done(&self) -> bool {
        self.pos >= self.toks.len()
    }

    /// The origin relative names are completed with, if any.
    pub fn origin(&self) -> Option<&DName> {
        self.ctx.origin
    }

    /// Errors if fields are left over.
    pub fn done(&self) -> Result<(), SyntaxError> {
        match self.toks.get(self.pos) {
            None => Ok(()),
            Some(t) => Err(Self::err(
                t,
                format!("unexpected {:?} after the last field", t.show()),
            )),
        }
    }

    /// The remaining tokens.
    pub fn rest(&mut self) -> &'t [Tok<'a>] {
        let rest = &self.toks[self.pos.min(self.toks.len())..];
        self.pos = self.toks.len();
        rest
    }

    /// An unsigned number no larger than `max`.
    pub fn number(&mut self, what: &str, max: u64) -> Result<u64, SyntaxError> {
        let tok = self.next(what)?;
        parse_number(&tok, what, max)
    }

    /// An 8-bit number.
    pub fn u8(&mut self, what: &str) -> Result<u8, SyntaxError> {
        self.number(what, 255).map(|v| v as u8)
    }

    /// A 16-bit number.
    pub fn u16(&mut self, what: &str) -> Result<u16, SyntaxError> {
        self.number(what, 65_535).map(|v| v as u16)
    }

    /// A 32-bit number.
    pub fn u32(&mut self, what: &str) -> Result<u32, SyntaxError> {
        self.number(what, u64::from(u32::MAX)).map(|v| v as u32)
    }

    /// A domain name, checked for `kind` (see [`crate::name::check_target`]); `.` allowed when
    /// `root_ok`.
    pub fn name(
        &mut self,
        what: &str,
        kind: TargetKind,
        root_ok: bool,
    ) -> Result<DName, SyntaxError> {
        let tok = self.next(what)?;
        self.name_of(&tok, what, kind, root_ok)
    }

    /// Parses `tok` as a name (see [`Fields::name`]).
    pub fn name_of(
        &self,
        tok: &Tok<'_>,
        what: &str,
        kind: TargetKind,
        root_ok: bool,
    ) -> Result<DName, SyntaxError> {
        if tok.quoted {
            return Err(Self::err(tok, format!("{what} must not be quoted")));
        }
        if kind == TargetKind::Host {
            // Checked as written, before any origin is appended: `MX 10 192.0.2.1` in a zone
            // file must not become 192.0.2.1.example.com.
            let text = String::from_utf8_lossy(tok.raw);
            let bare = text.strip_suffix('.').unwrap_or(&text);
            let numeric_last = bare
                .rsplit('.')
                .next()
                .is_some_and(|l| !l.is_empty() && l.bytes().all(|b| b.is_ascii_digit()));
            if bare.parse::<std::net::IpAddr>().is_ok() || numeric_last {
                return Err(Self::err(
                    tok,
                    format!("{what} {:?} is an address, not a host name", tok.show()),
                ));
            }
        }
        let name = DName::parse(tok.raw, self.ctx.origin).map_err(|e| {
            let message = match e {
                crate::dname::DNameError::Relative => format!(
                    "{what} {:?} must be fully qualified: end it with a dot, e.g. \"{}.\"",
                    tok.show(),
                    tok.show()
                ),
                other => format!("{what} {:?}: {other}", tok.show()),
            };
            Self::err(tok, message)
        })?;
        if name.is_root() {
            return if root_ok {
                Ok(name)
            } else {
                Err(Self::err(tok, format!("{what} cannot be the root \".\"")))
            };
        }
        crate::name::check_target(&name, kind)
            .map_err(|e| Self::err(tok, format!("{what}: {e}")))?;
        Ok(name)
    }

    /// One `<character-string>` (at most 255 bytes).
    pub fn char_string(&mut self, what: &str) -> Result<Cow<'a, [u8]>, SyntaxError> {
        let tok = self.next(what)?;
        let bytes = tok.bytes()?;
        if bytes.len() > 255 {
            return Err(Self::err(
                &tok,
                format!(
                    "{what} is {} bytes; at most 255 fit one string",
                    bytes.len()
                ),
            ));
        }
        Ok(bytes)
    }

    /// The rest of the tokens joined as hexadecimal (blanks allowed between groups).
    pub fn hex_rest(&mut self, what: &str) -> Result<Vec<u8>, SyntaxError> {
        let first = self.next(what)?;
        self.pos -= 1;
        let mut text = Vec::new();
        for t in self.rest() {
            text.extend_from_slice(t.raw);
        }
        if text == b"-" {
            return Ok(Vec::new());
        }
        decode_hex(&text).ok_or_else(|| {
            Self::err(
                &first,
                format!("{what} is not valid hexadecimal (an even number of 0-9a-f digits)"),
            )
        })
    }

    /// The rest of the tokens joined as base64.
    pub fn base64_rest(&mut self, what: &str) -> Result<Vec<u8>, SyntaxError> {
        let first = self.next(what)?;
        self.pos -= 1;
        let mut text = Vec::new();
        for t in self.rest() {
            text.extend_from_slice(t.raw);
        }
        decode_base64(&text).ok_or_else(|| Self::err(&first, format!("{what} is not valid base64")))
    }
}

/// Parses an unsigned decimal.
pub fn parse_number(tok: &Tok<'_>, what: &str, max: u64) -> Result<u64, SyntaxError> {
    if tok.quoted
        || tok.raw.is_empty()
        || tok.raw.len() > 20
        || !tok.raw.iter().all(u8::is_ascii_digit)
    {
        return Err(SyntaxError::at(
            tok,
            format!("{what} must be a number, not {:?}", tok.show()),
        ));
    }
    let value = tok.raw.iter().try_fold(0u64, |acc, d| {
        acc.checked_mul(10)?.checked_add(u64::from(d - b'0'))
    });
    match value {
        Some(v) if v <= max => Ok(v),
        _ => Err(SyntaxError::at(
            tok,
            format!("{what} {} is larger than {max}", tok.show()),
        )),
    }
}

/// Hex digits to bytes.
pub fn decode_hex(text: &[u8]) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    let digit = |c: u8| match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    };
    text.chunks(2)
        .map(|p| Some(digit(p[0])? << 4 | digit(p[1])?))
        .collect()
}

/// Bytes to uppercase hex.
pub fn encode_hex(bytes: &[u8], out: &mut String) {
    const DIGITS: &[u8; 16] = b"0123456789ABCDEF";
    out.reserve(bytes.len() * 2);
    for b in bytes {
        out.push(DIGITS[(b >> 4) as usize] as char);
        out.push(DIGITS[(b & 15) as usize] as char);
    }
}

/// Standard base64 (with padding) to bytes.
pub fn decode_base64(text: &[u8]) -> Option<Vec<u8>> {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.decode(text).ok()
}

/// Bytes to standard base64.
pub fn encode_base64(bytes: &[u8], out: &mut String) {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode_string(bytes, out);
}

/// Reading record data back from wire form, to print it.
pub struct Wire<'w> {
    data: &'w [u8],
    pos: usize,
}

/// Wire data that does not hold what its type says.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("record data is malformed: {0}")]
pub struct WireError(pub String);

impl<'w> Wire<'w> {
    /// A reader over `data`.
    pub fn new(data: &'w [u8]) -> Self {
        Self { data, pos: 0 }
    }

    fn take(&mut self, n: usize, what: &str) -> Result<&'w [u8], WireError> {
        let s = self
            .data
            .get(self.pos..self.pos + n)
            .ok_or_else(|| WireError(format!("{what} truncated")))?;
        self.pos += n;
        Ok(s)
    }

    /// An 8-bit number.
    pub fn u8(&mut self) -> Result<u8, WireError> {
        Ok(self.take(1, "8-bit field")?[0])
    }

    /// A 16-bit number.
    pub fn u16(&mut self) -> Result<u16, WireError> {
        let b = self.take(2, "16-bit field")?;
        Ok(u16::from_be_bytes([b[0], b[1]]))
    }

    /// A 32-bit number.
    pub fn u32(&mut self) -> Result<u32, WireError> {
        let b = self.take(4, "32-bit field")?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    /// Exactly `n` bytes.
    pub fn bytes(&mut self, n: usize) -> Result<&'w [u8], WireError> {
        self.take(n, "field")
    }

    /// An uncompressed name.
    pub fn name(&mut self) -> Result<DName, WireError> {
        let (name, used) =
            DName::from_wire(&self.data[self.pos..]).ok_or_else(|| WireError("bad name".into()))?;
        self.pos += used;
        Ok(name)
    }

    /// One `<character-string>`.
    pub fn char_string(&mut self) -> Result<&'w [u8], WireError> {
        let len = self.u8()? as usize;
        self.take(len, "character-string")
    }

    /// All remaining bytes.
    pub fn rest(&mut self) -> &'w [u8] {
        let r = &self.data[self.pos.min(self.data.len())..];
        self.pos = self.data.len();
        r
    }

    /// Whether everything was read.
    pub fn is_done(&self) -> bool {
        self.pos >= self.data.len()
    }

    /// Errors if bytes are left over.
    pub fn done(&self) -> Result<(), WireError> {
        if self.is_done() {
            Ok(())
        } else {
            Err(WireError("trailing bytes".into()))
        }
    }
}

/// Appends a `<character-string>`.
pub fn put_char_string(out: &mut Vec<u8>, bytes: &[u8]) {
    out.push(bytes.len() as u8);
    out.extend_from_slice(bytes);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_and_base64() {
        assert_eq!(decode_hex(b"00ff0A"), Some(vec![0, 255, 10]));
        assert_eq!(decode_hex(b"0"), None);
        assert_eq!(decode_hex(b"zz"), None);
        let mut s = String::new();
        encode_hex(&[0xab, 0x01], &mut s);
        assert_eq!(s, "AB01");
        assert_eq!(decode_base64(b"aGk="), Some(b"hi".to_vec()));
        assert_eq!(decode_base64(b"!!"), None);
    }
}
