//! A record's form, fitted to its type: an MX has a priority and a mail server, an SRV its
//! four fields, a CAA a tag and a value, a TXT one long text (a DKIM key of any length is
//! split into 255-byte strings here). What the form holds becomes the API's `RecordInput`,
//! and apex-core's error about the content is shown next to the field it came from.

use apex_core::records::{RecordInput, RecordView};
use serde::Deserialize;

use crate::page::Errors;

/// The types offered in the "Add a record" list, with what each is for.
pub(crate) const TYPES: &[(&str, &str)] = &[
    ("A", "IPv4 address"),
    ("AAAA", "IPv6 address"),
    ("CNAME", "alias of another name"),
    ("MX", "mail server"),
    ("TXT", "text: SPF, DKIM, verification"),
    ("NS", "delegation of a subdomain"),
    ("SRV", "service location"),
    ("CAA", "certificate authorities allowed"),
    ("PTR", "reverse pointer"),
    ("HTTPS", "HTTPS service binding"),
    ("SVCB", "service binding"),
    ("TLSA", "DANE certificate association"),
    ("SSHFP", "SSH host key fingerprint"),
    ("DS", "delegation signer of a subdomain"),
    ("NAPTR", "naming authority pointer"),
    ("LOC", "location"),
    ("DNAME", "alias of a whole subtree"),
];

/// Suggested TTLs.
pub(crate) const TTL_PRESETS: &[(u32, &str)] = &[
    (60, "1 minute"),
    (300, "5 minutes"),
    (3600, "1 hour"),
    (14400, "4 hours"),
    (86400, "1 day"),
];

/// Which fields a type's form has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// A, AAAA: an address.
    Address,
    /// CNAME, NS, PTR, DNAME: a host name.
    Host,
    /// MX: priority and mail server.
    Mx,
    /// SRV: priority, weight, port, target.
    Srv,
    /// CAA: flags, tag, value.
    Caa,
    /// TXT, SPF: text.
    Text,
    /// Anything else: the content as in a zone file.
    Raw,
}

impl Kind {
    pub(crate) fn of(rtype: &str) -> Self {
        match rtype {
            "A" | "AAAA" => Self::Address,
            "CNAME" | "NS" | "PTR" | "DNAME" => Self::Host,
            "MX" => Self::Mx,
            "SRV" => Self::Srv,
            "CAA" => Self::Caa,
            "TXT" | "SPF" => Self::Text,
            _ => Self::Raw,
        }
    }

    /// For the template.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::Address => "address",
            Self::Host => "host",
            Self::Mx => "mx",
            Self::Srv => "srv",
            Self::Caa => "caa",
            Self::Text => "text",
            Self::Raw => "raw",
        }
    }

    /// The input apex-core's "content" errors are shown at.
    fn content_field(self) -> &'static str {
        match self {
            Self::Address => "address",
            Self::Host | Self::Mx | Self::Srv => "target",
            Self::Caa => "value",
            Self::Text => "text",
            Self::Raw => "content",
        }
    }
}

/// The fields of a record form, as posted (every one a string, so what was typed comes back
/// as it was when something is wrong).
#[derive(Debug, Clone, Default, Deserialize)]
pub(crate) struct RecordFields {
    #[serde(default)]
    pub name: String,
    #[serde(default, rename = "type")]
    pub rtype: String,
    #[serde(default)]
    pub ttl: String,
    #[serde(default)]
    pub comment: String,
    #[serde(default)]
    pub address: String,
    #[serde(default)]
    pub target: String,
    #[serde(default)]
    pub priority: String,
    #[serde(default)]
    pub weight: String,
    #[serde(default)]
    pub port: String,
    #[serde(default)]
    pub flags: String,
    #[serde(default)]
    pub tag: String,
    #[serde(default)]
    pub value: String,
    #[serde(default)]
    pub text: String,
    #[serde(default)]
    pub content: String,
    /// Kept, not published (the checkbox sends `true` when ticked, nothing otherwise).
    #[serde(default)]
    pub disabled: bool,
}

impl RecordFields {
    /// An empty form for `rtype`.
    pub(crate) fn blank(rtype: &str) -> Self {
        let rtype = rtype.trim().to_ascii_uppercase();
        Self {
            flags: "0".into(),
            tag: "issue".into(),
            priority: if rtype == "MX" {
                "10".into()
            } else {
                String::new()
            },
            rtype,
            ..Self::default()
        }
    }

    /// The form of a stored record.
    pub(crate) fn of(r: &RecordView) -> Self {
        let mut f = Self::blank(&r.rtype);
        f.disabled = r.disabled;
        f.name = r.name_unicode.clone().unwrap_or_else(|| r.name.clone());
        f.ttl = r.ttl.to_string();
        f.comment = r.comment.clone().unwrap_or_default();
        let parts: Vec<&str> = r.content.split_whitespace().collect();
        match f.kind() {
            Kind::Address => f.address = r.content.clone(),
            Kind::Host => f.target = r.content.clone(),
            Kind::Mx if parts.len() == 2 => {
                f.priority = parts[0].into();
                f.target = parts[1].into();
            }
            Kind::Srv if parts.len() == 4 => {
                f.priority = parts[0].into();
                f.weight = parts[1].into();
                f.port = parts[2].into();
                f.target = parts[3].into();
            }
            Kind::Caa => {
                let mut it = r.content.splitn(3, ' ');
                f.flags = it.next().unwrap_or("0").into();
                f.tag = it.next().unwrap_or_default().into();
                f.value = unquote(it.next().unwrap_or_default());
            }
            Kind::Text => f.text = r.text.clone().unwrap_or_else(|| r.content.clone()),
            _ => f.content = r.content.clone(),
        }
        f
    }

    pub(crate) fn kind(&self) -> Kind {
        Kind::of(&self.rtype)
    }

    /// The record as apex-core takes it, or what is wrong with the form. `zone` is the
    /// domain (`example.com`): a host name without a dot is taken as a name inside it.
    pub(crate) fn input(&self, zone: &str) -> Result<RecordInput, Errors> {
        let mut errors = Errors::default();
        let name = match self.name.trim() {
            "" => "@".to_string(),
            n => n.to_string(),
        };
        let ttl = match self.ttl.trim() {
            "" => None,
            t => match t.parse::<i64>() {
                Ok(v) => Some(v),
                Err(_) => {
                    errors.push(
                        Some("ttl"),
                        "TTL must be a number of seconds, such as 3600.",
                    );
                    None
                }
            },
        };
        let mut number = |field: &'static str, label: &str, value: &str, max: u32| match value
            .trim()
            .parse::<u32>()
        {
            Ok(v) if v <= max => v.to_string(),
            _ => {
                errors.push(
                    Some(field),
                    format!("{label} must be a whole number from 0 to {max}."),
                );
                String::new()
            }
        };
        let content = match self.kind() {
            Kind::Address => self.address.trim().to_string(),
            Kind::Host => host(&self.target, zone),
            Kind::Mx => {
                let p = number("priority", "Priority", &self.priority, 65535);
                format!("{p} {}", host(&self.target, zone))
            }
            Kind::Srv => {
                let p = number("priority", "Priority", &self.priority, 65535);
                let w = number("weight", "Weight", &self.weight, 65535);
                let port = number("port", "Port", &self.port, 65535);
                format!("{p} {w} {port} {}", host(&self.target, zone))
            }
            Kind::Caa => {
                let flags = number("flags", "Flags", &self.flags, 255);
                format!("{flags} {} {}", self.tag.trim(), quote(self.value.trim()))
            }
            Kind::Text => text_content(&self.text),
            Kind::Raw => self.content.trim().to_string(),
        };
        if errors.is_empty() {
            Ok(RecordInput {
                name,
                rtype: self.rtype.clone(),
                ttl,
                content,
                comment: Some(self.comment.clone()),
                disabled: self.disabled,
            })
        } else {
            Err(errors)
        }
    }

    /// The input an apex-core error about `field` (`content`, `name` …) belongs next to.
    pub(crate) fn field_of(&self, core_field: &str) -> Option<&'static str> {
        match core_field {
            "name" => Some("name"),
            "ttl" => Some("ttl"),
            "type" => Some("type"),
            "comment" => Some("comment"),
            "content" => Some(self.kind().content_field()),
            _ => None,
        }
    }

    /// The label of input `id`, to start the sentence of its error.
    pub(crate) fn label(id: &str) -> &'static str {
        match id {
            "name" => "Name",
            "ttl" => "TTL",
            "type" => "Type",
            "comment" => "Comment",
            "address" => "Address",
            "target" => "Target",
            "value" => "Value",
            "text" => "Text",
            _ => "Content",
        }
    }
}

/// A host name as typed, as the API wants it: `@` is the domain itself, a name without a dot
/// is inside the domain, anything else is absolute (a final dot is added).
pub(crate) fn host(typed: &str, zone: &str) -> String {
    let t = typed.trim();
    if t.is_empty() {
        String::new()
    } else if t == "@" {
        format!("{zone}.")
    } else if t.ends_with('.') {
        t.to_string()
    } else if t.contains('.') {
        format!("{t}.")
    } else {
        format!("{t}.{zone}.")
    }
}

/// TXT content from what was typed: text already in quotes is taken as it is; plain text is
/// quoted, and split into strings of at most 255 bytes (a 2048-bit DKIM key is longer).
pub(crate) fn text_content(typed: &str) -> String {
    let t = typed.trim();
    if t.starts_with('"') {
        return t.to_string();
    }
    let mut out = Vec::new();
    let mut chunk = String::new();
    for c in t.chars() {
        if chunk.len() + c.len_utf8() > 255 {
            out.push(quote(&chunk));
            chunk.clear();
        }
        chunk.push(c);
    }
    if !chunk.is_empty() || out.is_empty() {
        out.push(quote(&chunk));
    }
    out.join(" ")
}

/// `"…"` with `\` and `"` escaped.
fn quote(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}

/// The inside of a quoted string.
fn unquote(s: &str) -> String {
    let s = s.trim();
    let inner = s
        .strip_prefix('"')
        .and_then(|x| x.strip_suffix('"'))
        .unwrap_or(s);
    inner.replace("\\\"", "\"").replace("\\\\", "\\")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts() {
        assert_eq!(host("mail", "example.com"), "mail.example.com.");
        assert_eq!(host("@", "example.com"), "example.com.");
        assert_eq!(host("mx.other.net", "example.com"), "mx.other.net.");
        assert_eq!(host("mx.other.net.", "example.com"), "mx.other.net.");
        assert_eq!(host(" ", "example.com"), "");
    }

    #[test]
    fn long_text_is_split_at_255_bytes() {
        let key = format!("v=DKIM1; k=rsa; p={}", "A".repeat(400));
        let content = text_content(&key);
        let strings: Vec<&str> = content.split("\" \"").collect();
        assert_eq!(strings.len(), 2);
        assert_eq!(strings[0].len(), 256); // the opening quote and 255 bytes
        assert_eq!(text_content("say \"hi\""), "\"say \\\"hi\\\"\"");
        assert_eq!(
            text_content("\"already\" \"quoted\""),
            "\"already\" \"quoted\""
        );
        assert_eq!(text_content(""), "\"\"");
    }

    #[test]
    fn forms_compose_content() {
        let mut f = RecordFields::blank("mx");
        f.target = "mail".into();
        let input = f.input("example.com").unwrap();
        assert_eq!(input.content, "10 mail.example.com.");
        assert_eq!(input.name, "@");
        let mut f = RecordFields::blank("SRV");
        f.priority = "10".into();
        f.weight = "x".into();
        f.port = "70000".into();
        let errors = f.input("example.com").unwrap_err();
        assert!(errors.field("weight").is_some());
        assert!(errors.field("port").is_some());
        assert!(errors.field("priority").is_none());
        let mut f = RecordFields::blank("CAA");
        f.value = "letsencrypt.org".into();
        assert_eq!(
            f.input("example.com").unwrap().content,
            "0 issue \"letsencrypt.org\""
        );
    }

    #[test]
    fn stored_records_fill_the_form() {
        let view = RecordView {
            id: apex_core::ids::RecordId(1),
            name: "@".into(),
            fqdn: "example.com.".into(),
            rtype: "CAA".into(),
            ttl: 300,
            content: "0 issuewild \"ca.example\"".into(),
            comment: None,
            disabled: false,
            name_unicode: None,
            text: None,
        };
        let f = RecordFields::of(&view);
        assert_eq!(
            (f.flags.as_str(), f.tag.as_str(), f.value.as_str()),
            ("0", "issuewild", "ca.example")
        );
        assert_eq!(f.input("example.com").unwrap().content, view.content);
    }
}
