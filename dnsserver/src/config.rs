//! The nameserver's configuration: a small TOML file, or the same structs built in code when
//! `apex all` embeds the server.
//!
//! ```toml
//! listen = ["127.0.0.1:5300"]          # UDP and TCP on each; port 0 picks a free port
//! data_dir = "/var/lib/apex-dnsserver"  # optional
//!
//! [catalog]
//! name = "catalog.apex.invalid."
//! primaries = ["127.0.0.1:5399"]
//! tsig_key = "apex-fleet:hmac-sha256:BASE64"
//! ```
//!
//! Values are parsed into their real types (socket addresses, a [`Name`], a [`TsigKey`]) while
//! the file is read, so everything past this module works with checked values only.

use std::collections::HashSet;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use apex_net::TsigKey;
use apex_zone::name::canonical;
use hickory_proto::rr::Name;
use serde::{Deserialize, Deserializer};

/// A configuration that cannot be used. Every message names the offending field.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The config file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The file is not valid TOML or a value has the wrong form. The message gives the line and
    /// the field path but never quotes the line: it may hold the TSIG secret.
    #[error("{0}")]
    Parse(String),
    /// A value is well-formed but not acceptable.
    #[error("{field}: {reason}")]
    Invalid {
        /// Dotted path of the field, e.g. `catalog.primaries`.
        field: &'static str,
        /// What is wrong with it.
        reason: String,
    },
}

/// The whole configuration of one nameserver.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Addresses to answer on, UDP and TCP on each. Port 0 picks a free port; the real address
    /// is reported by [`crate::Running::local_addrs`].
    pub listen: Vec<SocketAddr>,
    /// Where zones will be kept on disk. Persistence comes in a later version: for now the
    /// directory is only created, and every zone is transferred afresh after a restart.
    #[serde(default)]
    pub data_dir: Option<PathBuf>,
    /// The catalog zone to follow and where to get it.
    pub catalog: CatalogConfig,
}

/// Which catalog zone to follow (RFC 9432) and the primaries serving it and its members.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CatalogConfig {
    /// The catalog zone's name, e.g. `catalog.apex.invalid.`.
    #[serde(deserialize_with = "de_name")]
    pub name: Name,
    /// The hidden primaries, tried in order: transfers fail over to the next one, and NOTIFY
    /// from these addresses is accepted even unsigned.
    pub primaries: Vec<SocketAddr>,
    /// The fleet's TSIG key (`name:algorithm:base64secret`): signs transfers and SOA queries,
    /// and authenticates NOTIFY from anywhere.
    #[serde(deserialize_with = "de_key")]
    pub tsig_key: TsigKey,
}

impl CatalogConfig {
    /// Builds the catalog section in code.
    pub fn new(name: Name, primaries: Vec<SocketAddr>, tsig_key: TsigKey) -> Self {
        Self {
            name: canonical(&name),
            primaries,
            tsig_key,
        }
    }
}

impl Config {
    /// Builds a configuration in code (no file), e.g. for `apex all`. Call
    /// [`Config::validate`] before use; [`crate::start`] does.
    pub fn new(listen: Vec<SocketAddr>, catalog: CatalogConfig) -> Self {
        Self {
            listen,
            data_dir: None,
            catalog,
        }
    }

    /// Reads, parses and validates the TOML file at `path`.
    pub fn load(path: impl AsRef<Path>) -> Result<Self, ConfigError> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Self::from_toml(&text).map_err(|e| match e {
            ConfigError::Parse(msg) => ConfigError::Parse(format!("{}: {msg}", path.display())),
            other => other,
        })
    }

    /// Parses and validates TOML text.
    pub fn from_toml(text: &str) -> Result<Self, ConfigError> {
        let parse_error = |e: &toml::de::Error, path: Option<String>| {
            let line = e
                .span()
                .map(|span| text[..span.start.min(text.len())].matches('\n').count() + 1);
            let mut msg = String::new();
            if let Some(line) = line {
                msg.push_str(&format!("line {line}: "));
            }
            if let Some(path) = path.filter(|p| p != ".") {
                msg.push_str(&format!("{path}: "));
            }
            msg.push_str(e.message().trim_end());
            ConfigError::Parse(msg)
        };
        let de = toml::Deserializer::parse(text).map_err(|e| parse_error(&e, None))?;
        let config: Self = serde_path_to_error::deserialize(de)
            .map_err(|e| parse_error(e.inner(), Some(e.path().to_string())))?;
        config.validate()?;
        Ok(config)
    }

    /// Checks what the types alone cannot: lists not empty, no duplicates, a real catalog name.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let invalid = |field, reason: &str| ConfigError::Invalid {
            field,
            reason: reason.to_string(),
        };
        if self.listen.is_empty() {
            return Err(invalid("listen", "at least one address is required"));
        }
        let mut seen = HashSet::new();
        for addr in &self.listen {
            if addr.port() != 0 && !seen.insert(addr) {
                return Err(ConfigError::Invalid {
                    field: "listen",
                    reason: format!("{addr} is listed twice"),
                });
            }
        }
        if self.catalog.name.is_root() {
            return Err(invalid("catalog.name", "the root cannot be a catalog zone"));
        }
        if self.catalog.primaries.is_empty() {
            return Err(invalid(
                "catalog.primaries",
                "at least one primary is required",
            ));
        }
        if let Some(dir) = &self.data_dir
            && dir.as_os_str().is_empty()
        {
            return Err(invalid("data_dir", "must not be empty when given"));
        }
        Ok(())
    }
}

fn de_name<'de, D: Deserializer<'de>>(d: D) -> Result<Name, D::Error> {
    let text = String::deserialize(d)?;
    let name = Name::from_ascii(text.trim())
        .map_err(|e| serde::de::Error::custom(format!("not a domain name: {e}")))?;
    Ok(canonical(&name))
}

fn de_key<'de, D: Deserializer<'de>>(d: D) -> Result<TsigKey, D::Error> {
    let text = String::deserialize(d)?;
    TsigKey::parse(&text).map_err(serde::de::Error::custom)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key_text() -> String {
        TsigKey::generate_text("apex-fleet")
    }

    fn toml_with(listen: &str, primaries: &str, key: &str) -> String {
        format!(
            "listen = {listen}\n[catalog]\nname = \"Catalog.Apex.Invalid\"\nprimaries = {primaries}\ntsig_key = \"{key}\"\n"
        )
    }

    #[test]
    fn parses_a_good_file() {
        let text = toml_with(
            r#"["127.0.0.1:0", "[::1]:5300"]"#,
            r#"["127.0.0.1:5399"]"#,
            &key_text(),
        );
        let config = Config::from_toml(&text).unwrap();
        assert_eq!(config.listen.len(), 2);
        assert_eq!(config.catalog.name.to_ascii(), "catalog.apex.invalid.");
        assert!(config.catalog.name.is_fqdn());
        assert_eq!(config.catalog.tsig_key.name().to_ascii(), "apex-fleet.");
        assert!(config.data_dir.is_none());
    }

    #[test]
    fn errors_name_the_field() {
        let secret = "c2VjcmV0LXNlY3JldC1zZWNyZXQ=";
        let bad_key = toml_with(
            r#"["127.0.0.1:0"]"#,
            r#"["127.0.0.1:1"]"#,
            &format!("k:hmac-md5:{secret}"),
        );
        let e = Config::from_toml(&bad_key).unwrap_err().to_string();
        assert!(e.starts_with("line 5: catalog.tsig_key: "), "{e}");
        assert!(!e.contains(secret), "the secret leaked into {e}");

        let bad_addr = toml_with(r#"["localhost"]"#, r#"["127.0.0.1:1"]"#, &key_text());
        let e = Config::from_toml(&bad_addr).unwrap_err().to_string();
        assert!(e.contains("listen"), "{e}");

        let no_primary = toml_with(r#"["127.0.0.1:0"]"#, "[]", &key_text());
        let e = Config::from_toml(&no_primary).unwrap_err().to_string();
        assert!(e.starts_with("catalog.primaries:"), "{e}");

        let unknown = format!(
            "{}\nsurprise = 1\n",
            toml_with(r#"["127.0.0.1:0"]"#, r#"["127.0.0.1:1"]"#, &key_text())
        );
        let e = Config::from_toml(&unknown).unwrap_err().to_string();
        assert!(e.contains("surprise"), "{e}");
    }

    #[test]
    fn built_in_code() {
        let key = TsigKey::parse(&key_text()).unwrap();
        let catalog = CatalogConfig::new(
            Name::from_ascii("CAT.example").unwrap(),
            vec!["127.0.0.1:53".parse().unwrap()],
            key,
        );
        let config = Config::new(vec!["127.0.0.1:0".parse().unwrap()], catalog);
        config.validate().unwrap();
        assert_eq!(config.catalog.name.to_ascii(), "cat.example.");
        let empty = Config::new(Vec::new(), config.catalog.clone());
        assert!(
            empty
                .validate()
                .unwrap_err()
                .to_string()
                .starts_with("listen:")
        );
    }
}
