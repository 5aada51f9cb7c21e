//! `$GENERATE start-stop[/step] lhs [ttl] [class] type rhs`, as BIND has it: `$` in the owner
//! and data stands for the counter, `${offset,width,base}` formats it (base d, o, x, X, or n/N
//! for nibbles), `\$` is a plain dollar.

use std::io::Write;

use crate::presentation::{SyntaxError, Tok};

/// The record lines a `$GENERATE` stands for, made one at a time as they are read (bytes, so
/// text in any encoding passes through untouched): a range of 65,536 lines of 100 KB each
/// never exists at once, and the reader's limits stop it after the first lines too many.
pub struct Lines<'t, 'a> {
    templates: &'t [Tok<'a>],
    next: u64,
    stop: u64,
    step: u64,
}

impl Lines<'_, '_> {
    /// About how many bytes of text the lines make in all: what the templates take, times
    /// the number of lines (a counter's digits aside).
    pub fn estimated_bytes(&self) -> u64 {
        let per_line: u64 = self.templates.iter().map(|t| t.raw.len() as u64 + 1).sum();
        let count = if self.next > self.stop {
            0
        } else {
            (self.stop - self.next) / self.step + 1
        };
        count.saturating_mul(per_line)
    }

    /// Writes the next line into `line` (cleared first); its counter value, or `None` after
    /// the last.
    pub fn next_into(&mut self, line: &mut Vec<u8>) -> Option<Result<u64, SyntaxError>> {
        if self.next > self.stop {
            return None;
        }
        let value = self.next;
        self.next += self.step;
        line.clear();
        for (i, t) in self.templates.iter().enumerate() {
            if i > 0 {
                line.push(b' ');
            }
            if t.quoted {
                line.push(b'"');
            }
            if let Err(e) = substitute(t, value, line) {
                return Some(Err(e));
            }
            if t.quoted {
                line.push(b'"');
            }
        }
        Some(Ok(value))
    }
}

/// Reads a `$GENERATE` line: its range is checked (at most `max` records) and its lines are
/// made on demand by the [`Lines`] returned.
pub fn expand<'t, 'a>(toks: &'t [Tok<'a>], max: u64) -> Result<Lines<'t, 'a>, SyntaxError> {
    let word = &toks[0];
    let range = toks
        .get(1)
        .ok_or_else(|| SyntaxError::at(word, "$GENERATE needs a range (start-stop[/step])"))?;
    if toks.len() < 5 {
        return Err(SyntaxError::at(
            word,
            "$GENERATE needs a range, an owner, a type and data",
        ));
    }
    let (start, stop, step) = parse_range(range)?;
    let count = (stop - start) / step + 1;
    if count > max {
        return Err(SyntaxError::at(
            range,
            format!("$GENERATE range makes {count} records; at most {max} are allowed"),
        ));
    }
    Ok(Lines {
        templates: &toks[2..],
        next: start,
        stop,
        step,
    })
}

fn number(tok: &Tok<'_>, text: &str) -> Result<u64, SyntaxError> {
    text.parse::<u64>()
        .ok()
        .filter(|v| *v <= u64::from(u32::MAX))
        .ok_or_else(|| {
            SyntaxError::at(
                tok,
                format!(
                    "$GENERATE range {:?}: {text:?} is not a number up to 4294967295",
                    tok.show()
                ),
            )
        })
}

fn parse_range(tok: &Tok<'_>) -> Result<(u64, u64, u64), SyntaxError> {
    let text = tok.show();
    let (range, step) = match text.split_once('/') {
        Some((r, s)) => (r, number(tok, s)?),
        None => (text.as_str(), 1),
    };
    let (a, b) = range.split_once('-').ok_or_else(|| {
        SyntaxError::at(tok, format!("$GENERATE range {text:?} must be start-stop"))
    })?;
    let (start, stop) = (number(tok, a)?, number(tok, b)?);
    if stop < start {
        return Err(SyntaxError::at(
            tok,
            format!("$GENERATE range {text:?} ends before it starts"),
        ));
    }
    if step == 0 {
        return Err(SyntaxError::at(tok, "$GENERATE step must be at least 1"));
    }
    Ok((start, stop, step))
}

fn substitute(tok: &Tok<'_>, value: u64, out: &mut Vec<u8>) -> Result<(), SyntaxError> {
    let raw = tok.raw;
    let mut i = 0;
    while i < raw.len() {
        match raw[i] {
            b'\\' if raw.get(i + 1) == Some(&b'$') => {
                out.push(b'$');
                i += 2;
            }
            b'\\' => {
                // Other escapes pass through for the record parser.
                out.push(b'\\');
                if let Some(&n) = raw.get(i + 1) {
                    out.push(n);
                }
                i += 2;
            }
            b'$' if raw.get(i + 1) == Some(&b'{') => {
                let end = raw[i..]
                    .iter()
                    .position(|&b| b == b'}')
                    .ok_or_else(|| SyntaxError::at(tok, "${ without a closing }"))?;
                let spec = crate::presentation::cut_text(&raw[i + 2..i + end]);
                modified(tok, &spec, value, out)?;
                i += end + 1;
            }
            b'$' => {
                let _ = write!(out, "{value}");
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    Ok(())
}

fn modified(tok: &Tok<'_>, spec: &str, value: u64, out: &mut Vec<u8>) -> Result<(), SyntaxError> {
    let bad = || {
        SyntaxError::at(
            tok,
            format!(
                "${{{spec}}}: expected ${{offset[,width[,base]]}} with base d, o, x, X, n or N"
            ),
        )
    };
    let mut parts = spec.split(',');
    let offset: i64 = parts
        .next()
        .filter(|s| !s.is_empty())
        .map_or(Ok(0), str::parse)
        .map_err(|_| bad())?;
    let width: usize = parts.next().map_or(Ok(0), str::parse).map_err(|_| bad())?;
    let base = parts.next().unwrap_or("d");
    if parts.next().is_some() || width > 64 {
        return Err(bad());
    }
    let v = i64::try_from(value)
        .map_err(|_| bad())?
        .checked_add(offset)
        .filter(|v| *v >= 0)
        .ok_or_else(|| {
            SyntaxError::at(
                tok,
                format!("${{{spec}}}: the offset makes the counter negative"),
            )
        })? as u64;
    match base {
        "d" => write!(out, "{v:0width$}"),
        "o" => write!(out, "{v:0width$o}"),
        "x" => write!(out, "{v:0width$x}"),
        "X" => write!(out, "{v:0width$X}"),
        "n" | "N" => {
            let hex = if base == "n" {
                format!("{v:0width$x}")
            } else {
                format!("{v:0width$X}")
            };
            let nibbles: Vec<String> = hex.chars().rev().map(String::from).collect();
            write!(out, "{}", nibbles.join("."))
        }
        _ => return Err(bad()),
    }
    .map_err(|_| bad())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::presentation::tokens;

    fn lines(text: &str) -> Result<Vec<String>, String> {
        let toks = tokens(text).unwrap();
        let mut made = expand(&toks, 1000).map_err(|e| e.message)?;
        let mut out = Vec::new();
        let mut line = Vec::new();
        while let Some(r) = made.next_into(&mut line) {
            r.map_err(|e| e.message)?;
            out.push(String::from_utf8(line.clone()).unwrap());
        }
        Ok(out)
    }

    #[test]
    fn counters_and_modifiers() {
        assert_eq!(
            lines("$GENERATE 1-3 host$ A 10.0.0.$").unwrap(),
            vec!["host1 A 10.0.0.1", "host2 A 10.0.0.2", "host3 A 10.0.0.3"]
        );
        assert_eq!(
            lines("$GENERATE 0-4/2 ${10,3} CNAME x$").unwrap(),
            vec!["010 CNAME x0", "012 CNAME x2", "014 CNAME x4"]
        );
        assert_eq!(
            lines("$GENERATE 255-255 h${0,2,x} A 192.0.2.1").unwrap(),
            vec!["hff A 192.0.2.1"]
        );
        assert_eq!(
            lines("$GENERATE 18-18 ${0,4,n} PTR h").unwrap(),
            vec!["2.1.0.0 PTR h"]
        );
        assert_eq!(
            lines("$GENERATE 1-1 a\\$ TXT \"$ each\"").unwrap(),
            vec!["a$ TXT \"1 each\""]
        );
    }

    #[test]
    fn hostile_ranges_fail_fast() {
        assert!(
            lines("$GENERATE 1-2000000000 h$ A 10.0.0.1")
                .unwrap_err()
                .contains("at most 1000")
        );
        assert!(
            lines("$GENERATE 5-1 h$ A 10.0.0.1")
                .unwrap_err()
                .contains("ends before")
        );
        assert!(
            lines("$GENERATE 1-5/0 h$ A 10.0.0.1")
                .unwrap_err()
                .contains("step")
        );
        assert!(
            lines("$GENERATE 1-99999999999 h$ A 10.0.0.1")
                .unwrap_err()
                .contains("not a number")
        );
        assert!(
            lines("$GENERATE 1-2 h${x} A 10.0.0.1")
                .unwrap_err()
                .contains("offset")
        );
        assert!(lines("$GENERATE 1-2").unwrap_err().contains("needs"));
    }
}
