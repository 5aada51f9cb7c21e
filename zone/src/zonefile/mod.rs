//! Zone files (RFC 1035 section 5 master files, as BIND writes them): reading, with every
//! error given its line and column, and writing in one canonical form.
//!
//! Reading understands `$ORIGIN`, `$TTL`, `$GENERATE`, parentheses over several lines,
//! comments (a `;` comment on a record's lines, or on the line just above it, becomes that
//! record's comment; `;;` lines are commentary about the file), a blank owner meaning "the
//! previous owner", `@`, relative and absolute names, TTL units (`1h30m`, `2d`, `1w`), an
//! optional class (IN), `\DDD` and `\X` escapes, quoted strings and RFC 3597 generic data.
//! `$INCLUDE` is refused: an upload must not read the server's files. Records a signer
//! generates (RRSIG, NSEC, NSEC3, NSEC3PARAM and the apex DNSKEYs) are dropped with a warning.

mod generate;
mod reader;
mod writer;

pub use reader::{ParseOptions, ParsedZone, parse};
pub use writer::write;

use crate::dname::DName;
use crate::validate::Warning;

#[cfg(test)]
mod tests;

/// A zone file checked as a zone: its canonical text and the warnings.
#[derive(Debug, Clone)]
pub struct Checked {
    /// The zone in canonical form (empty unless asked for).
    pub canonical: String,
    /// Number of records (the SOA included).
    pub records: usize,
    /// Remarks.
    pub warnings: Vec<Warning>,
}

/// Reads and checks a zone file with every rule (`apex zone check`), writing it in canonical
/// form if `canonical`. Errors carry line and column (column 1 for rules between records).
pub fn check(
    text: &[u8],
    origin: &DName,
    options: ParseOptions,
    canonical: bool,
) -> Result<Checked, Vec<crate::presentation::SyntaxError>> {
    let mut parsed = parse(text, origin, options)?;
    let (problems, warnings) = crate::validate::check_zone(origin, &mut parsed.records);
    if !problems.is_empty() {
        return Err(problems
            .into_iter()
            .map(|p| crate::presentation::SyntaxError {
                line: p.line,
                column: 1,
                message: p.message,
            })
            .collect());
    }
    let mut all_warnings = parsed.warnings;
    all_warnings.extend(warnings);
    let canonical = if canonical {
        write(origin, parsed.soa.as_ref(), &mut parsed.records).map_err(|e| {
            vec![crate::presentation::SyntaxError {
                line: 0,
                column: 0,
                message: e.to_string(),
            }]
        })?
    } else {
        String::new()
    };
    Ok(Checked {
        canonical,
        records: parsed.records.len() + usize::from(parsed.soa.is_some()),
        warnings: all_warnings,
    })
}
