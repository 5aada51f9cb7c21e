//! The zone-file presentation form of record data (RFC 1035 section 5.1): words separated by
//! blanks, `"quoted strings"`, and the escapes `\X` and `\DDD`.

use std::fmt::Write;

/// One word of record data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    /// The bytes after escapes are resolved.
    pub bytes: Vec<u8>,
    /// Whether it was written in double quotes.
    pub quoted: bool,
    /// 1-based column of its first character.
    pub column: usize,
}

impl Token {
    /// The token as text (escapes resolved; invalid UTF-8 replaced).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.bytes).into_owned()
    }
}

/// A syntax error in presentation form, with its 1-based column.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("column {column}: {message}")]
pub struct SyntaxError {
    /// 1-based column.
    pub column: usize,
    /// What is wrong.
    pub message: String,
}

/// Splits record data into tokens.
pub fn tokenize(input: &str) -> Result<Vec<Token>, SyntaxError> {
    let bytes = input.as_bytes();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        if c == b' ' || c == b'\t' || c == b'\r' || c == b'\n' {
            i += 1;
            continue;
        }
        let start = i;
        let mut out = Vec::new();
        if c == b'"' {
            i += 1;
            loop {
                match bytes.get(i) {
                    None => {
                        return Err(SyntaxError {
                            column: start + 1,
                            message: "unterminated quoted string".into(),
                        });
                    }
                    Some(b'"') => {
                        i += 1;
                        break;
                    }
                    Some(b'\\') => i = unescape(bytes, i, &mut out)?,
                    Some(&b) => {
                        out.push(b);
                        i += 1;
                    }
                }
            }
            tokens.push(Token {
                bytes: out,
                quoted: true,
                column: start + 1,
            });
        } else {
            while let Some(&b) = bytes.get(i) {
                match b {
                    b' ' | b'\t' | b'\r' | b'\n' => break,
                    b'"' => {
                        return Err(SyntaxError {
                            column: i + 1,
                            message: "quote in the middle of a word".into(),
                        });
                    }
                    b'\\' => i = unescape(bytes, i, &mut out)?,
                    _ => {
                        out.push(b);
                        i += 1;
                    }
                }
            }
            tokens.push(Token {
                bytes: out,
                quoted: false,
                column: start + 1,
            });
        }
    }
    Ok(tokens)
}

/// Resolves the escape at `bytes[i] == b'\\'`, returns the index after it.
fn unescape(bytes: &[u8], i: usize, out: &mut Vec<u8>) -> Result<usize, SyntaxError> {
    let err = |message: &str| SyntaxError {
        column: i + 1,
        message: message.into(),
    };
    match bytes.get(i + 1) {
        None => Err(err("backslash at the end of the data")),
        Some(d) if d.is_ascii_digit() => {
            let digits = bytes
                .get(i + 1..i + 4)
                .filter(|d| d.iter().all(u8::is_ascii_digit))
                .ok_or_else(|| err("\\DDD escape needs exactly three digits"))?;
            let value = digits
                .iter()
                .fold(0u32, |acc, d| acc * 10 + u32::from(d - b'0'));
            let byte = u8::try_from(value).map_err(|_| err("\\DDD escape above 255"))?;
            out.push(byte);
            Ok(i + 4)
        }
        Some(&b) => {
            out.push(b);
            Ok(i + 2)
        }
    }
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

    #[test]
    fn words_and_strings() {
        let t = tokenize(r#"10 mail.example.com. "a b" "say \"hi\"" x\032y \255"#).unwrap();
        let texts: Vec<Vec<u8>> = t.iter().map(|t| t.bytes.clone()).collect();
        assert_eq!(
            texts,
            vec![
                b"10".to_vec(),
                b"mail.example.com.".to_vec(),
                b"a b".to_vec(),
                b"say \"hi\"".to_vec(),
                b"x y".to_vec(),
                vec![255]
            ]
        );
        assert!(t[2].quoted && !t[0].quoted);
        assert_eq!(t[1].column, 4);
    }

    #[test]
    fn errors() {
        assert_eq!(tokenize(r#""abc"#).unwrap_err().column, 1);
        assert!(tokenize(r"\25").is_err());
        assert!(tokenize(r"\256").is_err());
        assert!(tokenize("ab\\").is_err());
        assert!(tokenize("a\"b").is_err());
    }

    #[test]
    fn quoting_round_trips() {
        let data = b"v=spf1 \"x\" \\ \x01\xff";
        let mut s = String::new();
        quote(data, &mut s);
        assert_eq!(s, r#""v=spf1 \"x\" \\ \001\255""#);
        assert_eq!(tokenize(&s).unwrap()[0].bytes, data.to_vec());
    }
}
