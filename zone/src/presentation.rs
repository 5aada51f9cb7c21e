//! The zone-file presentation form (RFC 1035 section 5.1), tokenised without copying: words
//! separated by blanks, `"quoted strings"`, the escapes `\X` and `\DDD`, `;` comments, and
//! parentheses that let one entry span several lines.
//!
//! The lexer yields one [`Entry`] per logical line. Tokens borrow from the input and keep their
//! escapes; [`Tok::bytes`] resolves them only when a field needs the bytes. That keeps a
//! 300,000-record zone to a handful of allocations per record.

use std::borrow::Cow;
use std::fmt::Write;

/// One word of an entry, as written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tok<'a> {
    /// The bytes between the quotes (quoted) or of the word, escapes not yet resolved.
    pub raw: &'a [u8],
    /// Written in double quotes.
    pub quoted: bool,
    /// 1-based line.
    pub line: u32,
    /// 1-based column of its first character (the opening quote for quoted strings).
    pub column: u32,
}

/// A syntax error with its position.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{line}:{column}: {message}")]
pub struct SyntaxError {
    /// 1-based line.
    pub line: u32,
    /// 1-based column.
    pub column: u32,
    /// What is wrong.
    pub message: String,
}

impl SyntaxError {
    /// An error at `tok`.
    pub fn at(tok: &Tok<'_>, message: impl Into<String>) -> Self {
        Self {
            line: tok.line,
            column: tok.column,
            message: message.into(),
        }
    }
}

impl<'a> Tok<'a> {
    /// Whether the token holds an escape.
    pub fn has_escape(&self) -> bool {
        self.raw.contains(&b'\\')
    }

    /// The bytes with escapes resolved (borrowed when there are none).
    pub fn bytes(&self) -> Result<Cow<'a, [u8]>, SyntaxError> {
        if !self.has_escape() {
            return Ok(Cow::Borrowed(self.raw));
        }
        let mut out = Vec::with_capacity(self.raw.len());
        let mut i = 0;
        while i < self.raw.len() {
            if self.raw[i] == b'\\' {
                let (byte, used) = unescape(self.raw, i).map_err(|m| SyntaxError {
                    line: self.line,
                    column: self.column + i as u32 + u32::from(self.quoted),
                    message: m.into(),
                })?;
                out.push(byte);
                i += used;
            } else {
                out.push(self.raw[i]);
                i += 1;
            }
        }
        Ok(Cow::Owned(out))
    }

    /// The token as text; escapes resolved, invalid UTF-8 an error.
    pub fn text(&self) -> Result<Cow<'a, str>, SyntaxError> {
        match self.bytes()? {
            Cow::Borrowed(b) => std::str::from_utf8(b)
                .map(Cow::Borrowed)
                .map_err(|_| SyntaxError::at(self, "text is not valid UTF-8")),
            Cow::Owned(v) => String::from_utf8(v)
                .map(Cow::Owned)
                .map_err(|_| SyntaxError::at(self, "text is not valid UTF-8")),
        }
    }

    /// The raw token as text, for messages (lossy).
    pub fn show(&self) -> String {
        cut_text(self.raw)
    }

    /// Case-insensitive comparison of the raw token with an ASCII word.
    pub fn is(&self, word: &str) -> bool {
        !self.quoted && self.raw.eq_ignore_ascii_case(word.as_bytes())
    }
}

/// Longest piece of a file quoted in an error message; longer tokens are cut, with `…`.
pub const MAX_QUOTED: usize = 100;

/// `raw` as text for an error message: at most [`MAX_QUOTED`] bytes of it, then `…`.
pub fn cut_text(raw: &[u8]) -> String {
    if raw.len() <= MAX_QUOTED {
        return String::from_utf8_lossy(raw).into_owned();
    }
    let mut text = String::from_utf8_lossy(&raw[..MAX_QUOTED]).into_owned();
    text.push('…');
    text
}

/// Resolves the escape at `raw[i] == b'\\'`: (byte, bytes consumed).
pub fn unescape(raw: &[u8], i: usize) -> Result<(u8, usize), &'static str> {
    match raw.get(i + 1) {
        None => Err("backslash at the end of a word"),
        Some(d) if d.is_ascii_digit() => {
            let digits = raw
                .get(i + 1..i + 4)
                .filter(|d| d.iter().all(u8::is_ascii_digit))
                .ok_or("\\DDD escape needs exactly three digits")?;
            let value = digits
                .iter()
                .fold(0u32, |acc, d| acc * 10 + u32::from(d - b'0'));
            let byte = u8::try_from(value).map_err(|_| "\\DDD escape above 255")?;
            Ok((byte, 4))
        }
        Some(&b) => Ok((b, 2)),
    }
}

/// One logical line: its tokens (parentheses removed), and its comment.
#[derive(Debug, Clone, Default)]
pub struct Entry<'a> {
    /// The line it starts on.
    pub line: u32,
    /// The line began with a blank: the owner is the previous entry's.
    pub starts_blank: bool,
    /// The words.
    pub tokens: Vec<Tok<'a>>,
    /// The text of the comments on its lines, without the `;`, joined.
    pub comment: Option<String>,
    /// A comment-only line that starts with `;;` (file commentary, not a record's comment).
    pub double_semicolon: bool,
}

impl Entry<'_> {
    /// Nothing but (maybe) a comment.
    pub fn is_blank(&self) -> bool {
        self.tokens.is_empty()
    }
}

/// Longest line accepted: a bound on hostile input, far above any real record.
pub const MAX_LINE: usize = 65_536;

/// Splits presentation text into entries.
pub struct Lexer<'a> {
    input: &'a [u8],
    pos: usize,
    line: u32,
    line_start: usize,
}

impl<'a> Lexer<'a> {
    /// A lexer over `input`.
    pub fn new(input: &'a [u8]) -> Self {
        Self {
            input,
            pos: 0,
            line: 1,
            line_start: 0,
        }
    }

    fn column(&self, at: usize) -> u32 {
        (at - self.line_start + 1) as u32
    }

    fn error(&self, at: usize, message: &str) -> SyntaxError {
        SyntaxError {
            line: self.line,
            column: self.column(at),
            message: message.into(),
        }
    }

    fn newline(&mut self, at: usize) {
        self.line += 1;
        self.line_start = at + 1;
    }

    /// Fills `entry` with the next logical line; `Ok(false)` at the end of the input.
    pub fn next_entry(&mut self, entry: &mut Entry<'a>) -> Result<bool, SyntaxError> {
        entry.tokens.clear();
        entry.comment = None;
        entry.double_semicolon = false;
        if self.pos >= self.input.len() {
            return Ok(false);
        }
        entry.line = self.line;
        entry.starts_blank = matches!(self.input[self.pos], b' ' | b'\t');
        let input = self.input;
        let mut depth = 0u32;
        let mut open_at = (0u32, 0u32);
        loop {
            let Some(&c) = input.get(self.pos) else {
                if depth > 0 {
                    return Err(SyntaxError {
                        line: open_at.0,
                        column: open_at.1,
                        message: "parenthesis opened here is never closed".into(),
                    });
                }
                return Ok(true);
            };
            if self.pos - self.line_start > MAX_LINE {
                return Err(self.error(self.pos, "line longer than 65536 characters"));
            }
            match c {
                b' ' | b'\t' | b'\r' => self.pos += 1,
                b'\n' => {
                    self.newline(self.pos);
                    self.pos += 1;
                    if depth == 0 {
                        return Ok(true);
                    }
                }
                b';' => {
                    let start = self.pos;
                    let end = memchr(b'\n', &input[start..]).map_or(input.len(), |n| start + n);
                    let text = &input[start + 1..end];
                    if entry.tokens.is_empty()
                        && text.first() == Some(&b';')
                        && entry.comment.is_none()
                    {
                        entry.double_semicolon = true;
                    }
                    let text = String::from_utf8_lossy(text);
                    let text = text.trim_start_matches(';').trim();
                    // Bounded: the comment of one entry keeps at most 500 bytes.
                    if !text.is_empty() {
                        let c = entry.comment.get_or_insert_with(String::new);
                        if c.len() < 500 {
                            if !c.is_empty() {
                                c.push(' ');
                            }
                            let mut cut = text.len().min(500 - c.len().min(500));
                            while !text.is_char_boundary(cut) {
                                cut -= 1;
                            }
                            c.push_str(&text[..cut]);
                            // A cut may end in whitespace the full text had inside: drop it,
                            // as reading the written comment back would.
                            c.truncate(c.trim_end().len());
                        }
                    }
                    self.pos = end;
                }
                b'(' => {
                    if depth == 0 {
                        open_at = (self.line, self.column(self.pos));
                    }
                    depth += 1;
                    self.pos += 1;
                }
                b')' => {
                    if depth == 0 {
                        return Err(self.error(self.pos, "')' without a matching '('"));
                    }
                    depth -= 1;
                    self.pos += 1;
                }
                b'"' => {
                    let start = self.pos;
                    let (line, column) = (self.line, self.column(start));
                    let mut i = start + 1;
                    loop {
                        match input.get(i) {
                            None => {
                                return Err(SyntaxError {
                                    line,
                                    column,
                                    message: "quoted string is never closed".into(),
                                });
                            }
                            Some(b'"') => break,
                            Some(b'\\') => {
                                // An escaped newline is still a new line.
                                if input.get(i + 1) == Some(&b'\n') {
                                    self.newline(i + 1);
                                }
                                i += 2;
                            }
                            Some(b'\n') => {
                                self.newline(i);
                                i += 1;
                            }
                            Some(_) => i += 1,
                        }
                        if i - self.line_start > MAX_LINE {
                            return Err(SyntaxError {
                                line,
                                column,
                                message: "line longer than 65536 characters".into(),
                            });
                        }
                    }
                    let end = i.min(input.len());
                    entry.tokens.push(Tok {
                        raw: &input[start + 1..end],
                        quoted: true,
                        line,
                        column,
                    });
                    self.pos = end + 1;
                }
                _ => {
                    let start = self.pos;
                    let mut i = start;
                    while let Some(&b) = input.get(i) {
                        match b {
                            b' ' | b'\t' | b'\r' | b'\n' | b';' | b'(' | b')' | b'"' => break,
                            // A backslash before the end of a line does not join lines.
                            b'\\' if matches!(input.get(i + 1), Some(b'\n' | b'\r') | None) => {
                                return Err(self.error(i, "backslash at the end of a line"));
                            }
                            b'\\' => i += 2,
                            _ => i += 1,
                        }
                    }
                    let end = i.min(input.len());
                    if end - self.line_start > MAX_LINE {
                        return Err(self.error(start, "line longer than 65536 characters"));
                    }
                    // `key="value"` (SVCB parameters as BIND and Cloudflare write them): the
                    // word ends at the quote and the quoted string follows as its own token.
                    entry.tokens.push(Tok {
                        raw: &input[start..end],
                        quoted: false,
                        line: self.line,
                        column: self.column(start),
                    });
                    self.pos = end;
                }
            }
        }
    }
}

fn memchr(needle: u8, haystack: &[u8]) -> Option<usize> {
    haystack.iter().position(|&b| b == needle)
}

/// Tokenises one line of record content (API input): no comments or parentheses expected,
/// but tolerated as in a zone file.
pub fn tokens(content: &str) -> Result<Vec<Tok<'_>>, SyntaxError> {
    let mut lexer = Lexer::new(content.as_bytes());
    let mut entry = Entry::default();
    let mut out = Vec::new();
    while lexer.next_entry(&mut entry)? {
        out.append(&mut entry.tokens);
    }
    Ok(out)
}

/// Writes bytes as one quoted character-string, escaping `"`, `\` and non-printable bytes.
pub fn quote(bytes: &[u8], out: &mut String) {
    out.push('"');
    for &b in bytes {
        match b {
            b'"' | b'\\' => {
                out.push('\\');
                out.push(b as char);
            }
            0x20..=0x7e => out.push(b as char),
            _ => {
                let _ = write!(out, "\\{b:03}");
            }
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    type Seen = (u32, bool, Vec<String>, Option<String>);

    fn all(input: &str) -> Result<Vec<Seen>, SyntaxError> {
        let mut lexer = Lexer::new(input.as_bytes());
        let mut entry = Entry::default();
        let mut out = Vec::new();
        while lexer.next_entry(&mut entry)? {
            let toks = entry
                .tokens
                .iter()
                .map(|t| String::from_utf8(t.bytes().unwrap().into_owned()).unwrap())
                .collect();
            out.push((entry.line, entry.starts_blank, toks, entry.comment.clone()));
        }
        Ok(out)
    }

    #[test]
    fn words_strings_escapes() {
        let e = all(r#"www 300 IN TXT "a b" "say \"hi\"" x\032y \065"#).unwrap();
        assert_eq!(
            e[0].2,
            vec!["www", "300", "IN", "TXT", "a b", "say \"hi\"", "x y", "A"]
        );
    }

    #[test]
    fn parentheses_and_comments() {
        let z = "@ IN SOA ns. host. ( 1 ; serial\n  2 3\n  4 5 ) ; end\n\n  IN A 192.0.2.1\n";
        let e = all(z).unwrap();
        assert_eq!(e[0].0, 1);
        assert_eq!(
            e[0].2,
            vec!["@", "IN", "SOA", "ns.", "host.", "1", "2", "3", "4", "5"]
        );
        assert_eq!(e[0].3.as_deref(), Some("serial end"));
        assert!(e[1].2.is_empty());
        assert_eq!((e[2].0, e[2].1), (5, true));
    }

    #[test]
    fn errors_have_positions() {
        let err = all("a IN TXT (\n \"x\"\n").unwrap_err();
        assert_eq!((err.line, err.column), (1, 10));
        let err = all("a b )").unwrap_err();
        assert_eq!((err.line, err.column), (1, 5));
        let err = all("a \"open\n\nmore").unwrap_err();
        assert_eq!((err.line, err.column), (1, 3));
        let t = tokens(r"\25x").unwrap();
        assert!(t[0].bytes().is_err());
        assert!(all(&"x".repeat(70_000)).is_err());
    }

    #[test]
    fn quoting_round_trips() {
        let data = b"v=spf1 \"x\" \\ \x01\xff";
        let mut s = String::new();
        quote(data, &mut s);
        assert_eq!(s, r#""v=spf1 \"x\" \\ \001\255""#);
        assert_eq!(
            tokens(&s).unwrap()[0].bytes().unwrap().into_owned(),
            data.to_vec()
        );
    }
}
