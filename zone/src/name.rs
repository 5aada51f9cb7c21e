//! Zone names, record (owner) names and target host names.
//!
//! Input may be Unicode (converted label by label with UTS-46 to A-labels) or ASCII, in any
//! case; what comes out is a lowercase, fully-qualified hickory [`Name`]. The rules follow what
//! DNS hosting users need in practice: letters, digits and hyphens (LDH), underscore labels for
//! service names (`_dmarc`, `_acme-challenge`, `_sip._tcp`), `*` only as the whole leftmost
//! label, labels of at most 63 octets and names of at most 255 octets on the wire.

use std::fmt;

use hickory_proto::rr::Name;

use crate::dname::DName;

/// Why a name was refused. The message names the offending label.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NameError {
    /// Nothing was given.
    #[error("name is empty")]
    Empty,
    /// Two dots in a row, or a leading dot.
    #[error("name {0:?} has an empty label (two dots in a row or a leading dot)")]
    EmptyLabel(String),
    /// A label over 63 octets.
    #[error("label {0:?} is longer than 63 octets")]
    LabelTooLong(String),
    /// A name over 255 octets in wire form.
    #[error("name is longer than 255 octets")]
    TooLong,
    /// A character outside LDH and underscore.
    #[error("label {label:?} contains {ch:?}: only letters, digits, '-' and '_' are allowed")]
    BadChar {
        /// The label as given.
        label: String,
        /// The first character not allowed.
        ch: char,
    },
    /// A label starting or ending with a hyphen.
    #[error("label {0:?} starts or ends with '-'")]
    Hyphen(String),
    /// `*` somewhere other than the whole leftmost label.
    #[error("'*' is allowed only as the whole leftmost label")]
    Wildcard,
    /// A Unicode label that UTS-46 refuses.
    #[error("label {0:?} is not a valid internationalised label")]
    Idna(String),
    /// An absolute name outside the zone it was given for.
    #[error("{name} is not inside the zone {zone}")]
    OutsideZone {
        /// The name as given, made absolute.
        name: String,
        /// The zone.
        zone: String,
    },
    /// A target that is an address, not a host name.
    #[error("{0:?} is an address, not a host name")]
    Address(String),
    /// A host name (MX, NS target) with an underscore label.
    #[error("host name {0:?} may not contain '_' (it must be a real host)")]
    UnderscoreInHostname(String),
    /// A relative name where an absolute one is required.
    #[error("{0:?} must be fully qualified: end it with a dot, e.g. \"{0}.\"")]
    NotFullyQualified(String),
    /// A zone name with a single label.
    #[error("{0:?} is a top-level domain: a zone needs at least two labels, e.g. example.com")]
    TopLevel(String),
}

/// Which rules a label is held to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Rules {
    /// Owner names: LDH and underscore, `*` leftmost.
    Owner,
    /// Zone names and CNAME/DNAME targets: LDH and underscore, no wildcard.
    Domain,
    /// MX and NS targets: LDH only, not an address.
    Host,
}

/// Splits and checks a name written in presentation form (no escapes: the names users type
/// never need them) and returns its A-labels in lowercase, and whether it ended with a dot.
fn parse_labels(input: &str, rules: Rules) -> Result<(Vec<String>, bool), NameError> {
    let input = input.trim();
    if input.is_empty() {
        return Err(NameError::Empty);
    }
    let absolute = input.ends_with('.') && input != ".";
    let body = input.strip_suffix('.').unwrap_or(input);
    if body.is_empty() {
        return Err(NameError::Empty);
    }
    let mut labels = Vec::new();
    let mut wire_len = 1usize;
    for (i, raw) in body.split('.').enumerate() {
        if raw.is_empty() {
            return Err(NameError::EmptyLabel(input.to_string()));
        }
        let label = if raw.is_ascii() {
            raw.to_ascii_lowercase()
        } else {
            let converted = idna::domain_to_ascii(raw).map_err(|_| NameError::Idna(raw.into()))?;
            if converted.is_empty() || converted.contains('.') {
                return Err(NameError::Idna(raw.into()));
            }
            converted
        };
        check_label(label.as_bytes(), raw, i == 0, rules)?;
        wire_len += label.len() + 1;
        labels.push(label);
    }
    if wire_len > 255 {
        return Err(NameError::TooLong);
    }
    Ok((labels, absolute))
}

fn check_label(label: &[u8], raw: &str, leftmost: bool, rules: Rules) -> Result<(), NameError> {
    check_label_with(label, || raw.to_string(), leftmost, rules)
}

/// The label rules; `show` gives the label as the user wrote it, called only for an error.
fn check_label_with(
    label: &[u8],
    show: impl Fn() -> String,
    leftmost: bool,
    rules: Rules,
) -> Result<(), NameError> {
    if label.len() > 63 {
        return Err(NameError::LabelTooLong(show()));
    }
    if label == b"*" {
        return if leftmost && rules == Rules::Owner {
            Ok(())
        } else {
            Err(NameError::Wildcard)
        };
    }
    // '/' is allowed in owners for RFC 2317 classless reverse delegation (`0/26.2.0.192.in-addr.arpa`).
    let allowed = |b: u8| {
        b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || (b == b'/' && rules != Rules::Host)
    };
    if let Some(&b) = label.iter().find(|&&b| !allowed(b)) {
        return Err(if b == b'*' {
            NameError::Wildcard
        } else {
            NameError::BadChar {
                label: show(),
                ch: if b.is_ascii() {
                    b as char
                } else {
                    char::REPLACEMENT_CHARACTER
                },
            }
        });
    }
    if label.starts_with(b"-") || label.ends_with(b"-") {
        return Err(NameError::Hyphen(show()));
    }
    if rules == Rules::Host && label.contains(&b'_') {
        return Err(NameError::UnderscoreInHostname(show()));
    }
    Ok(())
}

fn check_dname(name: &DName, rules: Rules) -> Result<(), NameError> {
    for (i, label) in name.labels().enumerate() {
        check_label_with(
            label,
            || String::from_utf8_lossy(label).into_owned(),
            i == 0,
            rules,
        )?;
    }
    Ok(())
}

/// Checks an owner name read from a zone file: LDH, underscore and `/` labels, `*` only as the
/// whole leftmost label.
pub fn check_owner(name: &DName) -> Result<(), NameError> {
    check_dname(name, Rules::Owner)
}

/// Checks a target name in record data: a host (MX, NS, SRV targets) must be LDH and not an
/// address; any other domain name may have underscore labels.
pub fn check_target(name: &DName, kind: TargetKind) -> Result<(), NameError> {
    match kind {
        TargetKind::Host => {
            check_dname(name, Rules::Host)?;
            if name
                .labels()
                .last()
                .is_some_and(|l| l.iter().all(u8::is_ascii_digit))
            {
                return Err(NameError::Address(name.to_string()));
            }
            Ok(())
        }
        TargetKind::Domain => check_dname(name, Rules::Domain),
        TargetKind::Any => Ok(()),
    }
}

fn to_name(labels: &[String]) -> Result<Name, NameError> {
    let mut name =
        Name::from_labels(labels.iter().map(|l| l.as_bytes())).map_err(|_| NameError::TooLong)?;
    name.set_fqdn(true);
    Ok(name)
}

/// A name (or relative name) shown in Unicode: A-labels (`xn--…`) decoded, others as they are.
pub fn to_unicode(text: &str) -> String {
    if !text
        .split('.')
        .any(|l| l.len() > 4 && l[..4].eq_ignore_ascii_case("xn--"))
    {
        return text.to_string();
    }
    idna::domain_to_unicode(text).0
}

/// The canonical form of a name for lookups and comparison: lowercase and fully qualified.
pub fn canonical(name: &Name) -> Name {
    let mut name = name.to_lowercase();
    name.set_fqdn(true);
    name
}

/// A zone (domain) hosted on the platform: absolute, lowercase, at least two labels.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ZoneName(Name);

impl ZoneName {
    /// Parses a zone name as a user types it: `example.com`, `Example.COM.`, `bücher.example`.
    pub fn parse(input: &str) -> Result<Self, NameError> {
        let (labels, _) = parse_labels(input, Rules::Domain)?;
        if labels.len() < 2 {
            return Err(NameError::TopLevel(input.trim().to_string()));
        }
        Ok(Self(to_name(&labels)?))
    }

    /// Wraps a name that is already absolute and lowercase (from the database or the wire).
    pub fn from_name(name: Name) -> Self {
        Self(canonical(&name))
    }

    /// The hickory name.
    pub fn name(&self) -> &Name {
        &self.0
    }

    /// The name in ASCII presentation form without the trailing dot, as the API shows it
    /// and the database stores it: `example.com`.
    pub fn as_text(&self) -> String {
        let mut s = self.0.to_ascii();
        s.pop();
        s
    }

    /// The name in Unicode, for display: `bücher.example`.
    pub fn to_unicode(&self) -> String {
        let (unicode, _) = idna::domain_to_unicode(&self.as_text());
        unicode
    }

    /// Is `name` equal to or below this zone?
    pub fn contains(&self, name: &Name) -> bool {
        self.0.zone_of(name)
    }

    /// `name` relative to this zone: `@` for the apex, `www` for `www.example.com.`.
    pub fn relative(&self, name: &Name) -> String {
        if name == &self.0 {
            return "@".to_string();
        }
        if self.contains(name) {
            let keep = (name.num_labels() - self.0.num_labels()) as usize;
            let head = name.iter().take(keep);
            let labels: Vec<String> = head
                .map(|l| String::from_utf8_lossy(l).into_owned())
                .collect();
            return labels.join(".");
        }
        name.to_ascii()
    }
}

impl fmt::Display for ZoneName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.as_text())
    }
}

/// The owner name of a record: absolute, lowercase, inside its zone, `*` allowed leftmost.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RecordName(Name);

impl RecordName {
    /// Parses an owner name relative to `zone`: `@` or empty is the apex, `www` is
    /// `www.<zone>`, `www.example.com.` must lie inside the zone.
    pub fn parse(input: &str, zone: &ZoneName) -> Result<Self, NameError> {
        let trimmed = input.trim();
        if trimmed.is_empty() || trimmed == "@" {
            return Ok(Self(zone.name().clone()));
        }
        let (labels, absolute) = parse_labels(trimmed, Rules::Owner)?;
        let name = if absolute {
            to_name(&labels)?
        } else {
            to_name(&labels)?
                .append_domain(zone.name())
                .map_err(|_| NameError::TooLong)?
        };
        if name.len() > 255 {
            return Err(NameError::TooLong);
        }
        if !zone.contains(&name) {
            return Err(NameError::OutsideZone {
                name: name.to_ascii(),
                zone: zone.to_string(),
            });
        }
        Ok(Self(name))
    }

    /// Wraps a stored absolute name.
    pub fn from_name(name: Name) -> Self {
        Self(name.to_lowercase())
    }

    /// The hickory name.
    pub fn name(&self) -> &Name {
        &self.0
    }

    /// Absolute ASCII form with the trailing dot, as stored.
    pub fn to_fqdn(&self) -> String {
        // The one text form stored for names (DName's), which hickory's `to_ascii` is not for
        // labels like RFC 2317's `0/26`.
        DName::from_name(&self.0).to_string()
    }
}

impl fmt::Display for RecordName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0.to_ascii())
    }
}

/// What a target name in record content is used for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TargetKind {
    /// A real host (MX exchange, NS host): LDH only, never an address.
    Host,
    /// Any domain name (CNAME, DNAME, PTR target): underscores allowed.
    Domain,
    /// A name of any syntax (SOA names, where a mailbox may hold `\.`).
    Any,
}

/// Parses a target name in record content. With `origin`, relative names are qualified as a
/// zone file would; without it (the API), a name must end with a dot so `mail.example.com`
/// can never silently become `mail.example.com.example.com.`.
pub fn parse_target(
    input: &str,
    kind: TargetKind,
    origin: Option<&ZoneName>,
) -> Result<Name, NameError> {
    let trimmed = input.trim();
    if trimmed == "." {
        return Ok(Name::root());
    }
    if trimmed == "@" {
        return match origin {
            Some(zone) => Ok(zone.name().clone()),
            None => Err(NameError::NotFullyQualified(trimmed.to_string())),
        };
    }
    let rules = match kind {
        TargetKind::Host => Rules::Host,
        TargetKind::Domain | TargetKind::Any => Rules::Domain,
    };
    let (labels, absolute) = parse_labels(trimmed, rules)?;
    if labels
        .last()
        .is_some_and(|l| l.bytes().all(|b| b.is_ascii_digit()))
        && kind == TargetKind::Host
    {
        return Err(NameError::Address(trimmed.to_string()));
    }
    let name = to_name(&labels)?;
    if absolute {
        return Ok(name);
    }
    match origin {
        Some(zone) => {
            let full = name
                .append_domain(zone.name())
                .map_err(|_| NameError::TooLong)?;
            if full.len() > 255 {
                return Err(NameError::TooLong);
            }
            Ok(full)
        }
        None => Err(NameError::NotFullyQualified(trimmed.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn zone() -> ZoneName {
        ZoneName::parse("Example.COM").unwrap()
    }

    #[test]
    fn zone_names() {
        assert_eq!(zone().as_text(), "example.com");
        assert_eq!(ZoneName::parse("example.com.").unwrap(), zone());
        assert_eq!(
            ZoneName::parse("bücher.example").unwrap().as_text(),
            "xn--bcher-kva.example"
        );
        assert_eq!(
            ZoneName::parse("xn--bcher-kva.example")
                .unwrap()
                .to_unicode(),
            "bücher.example"
        );
        assert!(matches!(
            ZoneName::parse("com"),
            Err(NameError::TopLevel(_))
        ));
        assert!(matches!(
            ZoneName::parse("exa mple.com"),
            Err(NameError::BadChar { ch: ' ', .. })
        ));
        assert!(matches!(
            ZoneName::parse("*.example.com"),
            Err(NameError::Wildcard)
        ));
        assert!(matches!(
            ZoneName::parse("-a.example.com"),
            Err(NameError::Hyphen(_))
        ));
        assert!(matches!(
            ZoneName::parse("a..com"),
            Err(NameError::EmptyLabel(_))
        ));
        assert!(matches!(ZoneName::parse(""), Err(NameError::Empty)));
        let long = format!("{}.com", "a".repeat(64));
        assert!(matches!(
            ZoneName::parse(&long),
            Err(NameError::LabelTooLong(_))
        ));
        let huge = format!("{}com", "abcdefghi.".repeat(26));
        assert!(matches!(ZoneName::parse(&huge), Err(NameError::TooLong)));
    }

    #[test]
    fn record_names() {
        let z = zone();
        assert_eq!(
            RecordName::parse("@", &z).unwrap().to_fqdn(),
            "example.com."
        );
        assert_eq!(RecordName::parse("", &z).unwrap().to_fqdn(), "example.com.");
        assert_eq!(
            RecordName::parse("WWW", &z).unwrap().to_fqdn(),
            "www.example.com."
        );
        assert_eq!(
            RecordName::parse("_dmarc", &z).unwrap().to_fqdn(),
            "_dmarc.example.com."
        );
        assert_eq!(
            RecordName::parse("*.dev", &z).unwrap().to_fqdn(),
            "*.dev.example.com."
        );
        assert_eq!(
            RecordName::parse("a.example.com.", &z).unwrap().to_fqdn(),
            "a.example.com."
        );
        assert!(matches!(
            RecordName::parse("a.*", &z),
            Err(NameError::Wildcard)
        ));
        assert!(matches!(
            RecordName::parse("a.example.org.", &z),
            Err(NameError::OutsideZone { .. })
        ));
        assert_eq!(
            z.relative(RecordName::parse("a.b", &z).unwrap().name()),
            "a.b"
        );
        assert_eq!(z.relative(z.name()), "@");
    }

    #[test]
    fn targets() {
        let z = zone();
        assert_eq!(
            parse_target("mail.example.net.", TargetKind::Host, None)
                .unwrap()
                .to_ascii(),
            "mail.example.net."
        );
        assert!(matches!(
            parse_target("mail.example.net", TargetKind::Host, None),
            Err(NameError::NotFullyQualified(_))
        ));
        assert_eq!(
            parse_target("mail", TargetKind::Host, Some(&z))
                .unwrap()
                .to_ascii(),
            "mail.example.com."
        );
        assert!(matches!(
            parse_target("192.0.2.1.", TargetKind::Host, None),
            Err(NameError::Address(_))
        ));
        assert!(matches!(
            parse_target("_x.example.net.", TargetKind::Host, None),
            Err(NameError::UnderscoreInHostname(_))
        ));
        assert!(parse_target("_x.example.net.", TargetKind::Domain, None).is_ok());
    }
}
