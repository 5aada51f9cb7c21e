//! The nameserver's configuration: a TOML file, or the same structs built in code when
//! `apex all` embeds the server. Every field is documented in `docs/CONFIGURATION.md`.
//!
//! ```toml
//! listen = ["127.0.0.1:5300"]          # UDP and TCP on each; port 0 picks a free port
//! data_dir = "/var/lib/apex-dnsserver"  # zones kept on disk, served at once after a restart
//! metrics = "127.0.0.1:9153"            # Prometheus text at /metrics (optional)
//!
//! [[zone]]                              # zones served from files, like NSD (optional)
//! name = "example.com"
//! file = "/etc/apex-dnsserver/example.com.zone"
//!
//! [catalog]                             # the fleet source (optional; [[catalog]] for several)
//! name = "catalog.apex.invalid."
//! primaries = ["127.0.0.1:5399"]
//! tsig_key = "apex-fleet:hmac-sha256:BASE64"
//!
//! [rrl]                                 # response rate limiting
//! responses_per_second = 200
//! ```
//!
//! Values are parsed into their real types (socket addresses, names, a [`TsigKey`]) while the
//! file is read, so everything past this module works with checked values only.

use std::collections::HashSet;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};

use apex_net::TsigKey;
use apex_zone::dname::DName;
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
    /// Where transferred zones are kept (one file per zone, replaced atomically). On start
    /// they are served from here at once, then refreshed from the primaries.
    #[serde(default)]
    pub data_dir: Option<PathBuf>,
    /// Threads answering UDP on each address (each with its own socket). 0: one per CPU
    /// the process may run on.
    #[serde(default)]
    pub udp_threads: usize,
    /// Where to serve Prometheus metrics (`GET /metrics`).
    #[serde(default)]
    pub metrics: Option<SocketAddr>,
    /// Zones served from zone files, signed or not.
    #[serde(default, rename = "zone")]
    pub zones: Vec<StaticZone>,
    /// Catalog zones to follow: `[catalog]` for one, `[[catalog]]` for several (a member moves
    /// between them with the `coo` property, RFC 9432 section 5.6).
    #[serde(default, rename = "catalog", deserialize_with = "de_catalogs")]
    pub catalogs: Vec<CatalogConfig>,
    /// Response rate limiting.
    #[serde(default)]
    pub rrl: RrlConfig,
    /// TCP limits.
    #[serde(default)]
    pub tcp: TcpConfig,
    /// Outgoing zone transfers (AXFR) to other servers: refused unless configured.
    #[serde(default)]
    pub transfer: TransferConfig,
    /// Where RFC 2136 UPDATE messages are forwarded, untouched (the primary's UPDATE
    /// listener, `APEX_UPDATE_LISTEN`, or its transfer server). Left out: the first primary of
    /// the first catalog; with no catalog, UPDATE is refused.
    #[serde(default)]
    pub update_forward: Option<SocketAddr>,
}

impl Config {
    /// Where UPDATE goes: [`Config::update_forward`], or the first catalog's first primary.
    pub fn update_target(&self) -> Option<SocketAddr> {
        self.update_forward.or_else(|| {
            self.catalogs
                .first()
                .and_then(|c| c.primaries.first().copied())
        })
    }
}

/// A zone served from a file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StaticZone {
    /// The zone's name.
    #[serde(deserialize_with = "de_name")]
    pub name: DName,
    /// Its zone file (RFC 1035 master file; RRSIG, NSEC, NSEC3 and DNSKEY kept as signed).
    pub file: PathBuf,
}

/// Which catalog zone to follow (RFC 9432) and the primaries serving it and its members.
#[derive(Debug, Clone, Deserialize)]
#[serde(try_from = "CatalogToml")]
pub struct CatalogConfig {
    /// The catalog zone's name, e.g. `catalog.apex.invalid.`.
    #[serde(deserialize_with = "de_name")]
    pub name: DName,
    /// The primaries, tried in order: transfers fail over to the next one, and NOTIFY from
    /// these addresses is accepted even unsigned.
    pub primaries: Vec<SocketAddr>,
    /// The TSIG key (`name:algorithm:base64secret`): signs transfers and SOA queries, and
    /// authenticates NOTIFY for the catalog and its members. In the file as `tsig_key`, or
    /// read from `tsig_key_file` (a file its owner alone may read).
    pub tsig_key: TsigKey,
    /// More keys NOTIFY may be signed with (same form): the other key of a rollover, so the
    /// primary can switch to signing with the new key before or after this server does.
    pub accept_tsig_keys: Vec<TsigKey>,
    /// NOTIFY must be signed with one of this catalog's keys (default). Off: an unsigned
    /// NOTIFY from a primary's address is accepted too, which anyone able to spoof that
    /// address can use to make this server ask for transfers.
    pub notify_requires_tsig: bool,
}

/// A `[catalog]` table as written.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CatalogToml {
    #[serde(deserialize_with = "de_name")]
    name: DName,
    primaries: Vec<SocketAddr>,
    #[serde(default)]
    tsig_key: Option<String>,
    #[serde(default)]
    tsig_key_file: Option<PathBuf>,
    #[serde(default, deserialize_with = "de_keys")]
    accept_tsig_keys: Vec<TsigKey>,
    #[serde(default = "yes")]
    notify_requires_tsig: bool,
}

impl TryFrom<CatalogToml> for CatalogConfig {
    type Error = String;

    fn try_from(t: CatalogToml) -> Result<Self, String> {
        let text = match (t.tsig_key, t.tsig_key_file) {
            (Some(_), Some(_)) => return Err("give tsig_key or tsig_key_file, not both".into()),
            (None, None) => return Err("tsig_key (or tsig_key_file) is required".into()),
            (Some(text), None) => text,
            (None, Some(path)) => secret_file(&path)?,
        };
        Ok(Self {
            name: t.name,
            primaries: t.primaries,
            tsig_key: TsigKey::parse(text.trim()).map_err(|e| format!("tsig_key: {e}"))?,
            accept_tsig_keys: t.accept_tsig_keys,
            notify_requires_tsig: t.notify_requires_tsig,
        })
    }
}

/// A secret read from `path`, which its owner alone may read.
fn secret_file(path: &Path) -> Result<String, String> {
    use std::os::unix::fs::PermissionsExt as _;
    let shown = path.display();
    let meta = std::fs::metadata(path).map_err(|e| format!("tsig_key_file {shown}: {e}"))?;
    let mode = meta.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        return Err(format!(
            "tsig_key_file {shown} may be read by its group or others (mode {mode:o}): chmod 600 it"
        ));
    }
    std::fs::read_to_string(path).map_err(|e| format!("tsig_key_file {shown}: {e}"))
}

fn yes() -> bool {
    true
}

impl CatalogConfig {
    /// Builds the catalog section in code.
    pub fn new(name: &Name, primaries: Vec<SocketAddr>, tsig_key: TsigKey) -> Self {
        Self {
            name: DName::from_name(name),
            primaries,
            tsig_key,
            accept_tsig_keys: Vec::new(),
            notify_requires_tsig: true,
        }
    }

    /// Every key of this catalog: the signing key first.
    pub fn keys(&self) -> Vec<TsigKey> {
        std::iter::once(self.tsig_key.clone())
            .chain(self.accept_tsig_keys.iter().cloned())
            .collect()
    }
}

/// Response rate limiting (the BIND/NSD scheme): identical responses to one client network
/// beyond a rate are dropped, every `slip`th one answered truncated so a real client retries
/// over TCP.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RrlConfig {
    /// Responses per second allowed per client network and response kind; 0 turns RRL off.
    pub responses_per_second: u32,
    /// Every `slip`th limited response is sent truncated (TC) instead of dropped; 0 drops all.
    pub slip: u32,
    /// IPv4 clients are grouped by this prefix length.
    pub ipv4_prefix: u8,
    /// IPv6 clients are grouped by this prefix length.
    pub ipv6_prefix: u8,
    /// Entries in each thread's table (memory is bounded by this, whatever the traffic).
    pub table_size: usize,
}

impl Default for RrlConfig {
    fn default() -> Self {
        Self {
            responses_per_second: 200,
            slip: 2,
            ipv4_prefix: 24,
            ipv6_prefix: 56,
            table_size: 65_536,
        }
    }
}

/// TCP limits.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TcpConfig {
    /// Most connections open at once.
    pub max_connections: usize,
    /// Most connections open at once from one client address.
    pub max_per_client: usize,
    /// A connection with no complete request for this many seconds is closed.
    pub idle_timeout_secs: u64,
    /// Most queries answered on one connection before it is closed.
    pub max_queries_per_connection: usize,
}

impl Default for TcpConfig {
    fn default() -> Self {
        Self {
            max_connections: 1024,
            max_per_client: 16,
            idle_timeout_secs: 10,
            max_queries_per_connection: 10_000,
        }
    }
}

/// Who may transfer zones from this server.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TransferConfig {
    /// Client networks allowed, e.g. `["192.0.2.0/24", "2001:db8::1/128"]`. Requests signed
    /// with a catalog's TSIG key are allowed from anywhere.
    #[serde(deserialize_with = "de_nets")]
    pub allow: Vec<Net>,
}

/// An address prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Net {
    /// The network address.
    pub addr: IpAddr,
    /// Prefix length.
    pub prefix: u8,
}

impl Net {
    /// Parses `addr` or `addr/len`.
    pub fn parse(text: &str) -> Result<Self, String> {
        let (a, p) = text
            .split_once('/')
            .map_or((text, None), |(a, p)| (a, Some(p)));
        let addr: IpAddr = a
            .trim()
            .parse()
            .map_err(|_| format!("{text:?} is not an address"))?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match p {
            None => max,
            Some(p) => p
                .trim()
                .parse::<u8>()
                .ok()
                .filter(|&p| p <= max)
                .ok_or_else(|| format!("{text:?}: prefix length must be 0..={max}"))?,
        };
        Ok(Self { addr, prefix })
    }

    /// Whether `ip` is inside.
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.addr, ip.to_canonical()) {
            (IpAddr::V4(n), IpAddr::V4(a)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(n) & mask == u32::from(a) & mask
            }
            (IpAddr::V6(n), IpAddr::V6(a)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(n) & mask == u128::from(a) & mask
            }
            _ => false,
        }
    }
}

impl Config {
    /// Builds a configuration in code (no file), e.g. for `apex all`: one catalog, defaults
    /// elsewhere. Call [`Config::validate`] before use; [`crate::start`] does.
    pub fn new(listen: Vec<SocketAddr>, catalog: CatalogConfig) -> Self {
        Self {
            listen,
            data_dir: None,
            udp_threads: 0,
            metrics: None,
            zones: Vec::new(),
            catalogs: vec![catalog],
            rrl: RrlConfig::default(),
            tcp: TcpConfig::default(),
            transfer: TransferConfig::default(),
            update_forward: None,
        }
    }

    /// Reads, parses and validates the TOML file at `path`.
    pub fn load(path: impl AsRef<Path>) -> Result<Self, ConfigError> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        let mut config = Self::from_toml(&text).map_err(|e| match e {
            ConfigError::Parse(msg) => ConfigError::Parse(format!("{}: {msg}", path.display())),
            other => other,
        })?;
        // Zone files are found relative to the config file.
        let base = path.parent().unwrap_or(Path::new("."));
        for zone in &mut config.zones {
            if zone.file.is_relative() {
                zone.file = base.join(&zone.file);
            }
        }
        Ok(config)
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

    /// Checks what the types alone cannot: lists not empty, no duplicates, real zone names.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let invalid = |field, reason: String| ConfigError::Invalid { field, reason };
        if self.listen.is_empty() {
            return Err(invalid("listen", "at least one address is required".into()));
        }
        let mut seen = HashSet::new();
        for addr in &self.listen {
            if addr.port() != 0 && !seen.insert(addr) {
                return Err(invalid("listen", format!("{addr} is listed twice")));
            }
        }
        if self.zones.is_empty() && self.catalogs.is_empty() {
            return Err(invalid(
                "zone",
                "nothing to serve: give [[zone]] entries, a [catalog], or both".into(),
            ));
        }
        let mut names = HashSet::new();
        for zone in &self.zones {
            if zone.name.is_root() {
                return Err(invalid("zone.name", "the root zone is not served".into()));
            }
            if !names.insert(zone.name.clone()) {
                return Err(invalid(
                    "zone.name",
                    format!("{} is listed twice", zone.name),
                ));
            }
        }
        for catalog in &self.catalogs {
            if catalog.name.is_root() {
                return Err(invalid(
                    "catalog.name",
                    "the root cannot be a catalog zone".into(),
                ));
            }
            if !names.insert(catalog.name.clone()) {
                return Err(invalid(
                    "catalog.name",
                    format!("{} is listed twice (as a zone or a catalog)", catalog.name),
                ));
            }
            if catalog.primaries.is_empty() {
                return Err(invalid(
                    "catalog.primaries",
                    format!("{}: at least one primary is required", catalog.name),
                ));
            }
        }
        if let Some(dir) = &self.data_dir
            && dir.as_os_str().is_empty()
        {
            return Err(invalid("data_dir", "must not be empty when given".into()));
        }
        if self.rrl.slip > 10 {
            return Err(invalid("rrl.slip", "must be 0 to 10".into()));
        }
        if self.rrl.ipv4_prefix > 32 || self.rrl.ipv6_prefix > 128 {
            return Err(invalid(
                "rrl",
                "prefix lengths are at most 32 (IPv4) and 128 (IPv6)".into(),
            ));
        }
        if self.rrl.table_size == 0 || self.rrl.table_size > 1 << 24 {
            return Err(invalid("rrl.table_size", "must be 1 to 16777216".into()));
        }
        if self.tcp.max_connections == 0 || self.tcp.max_per_client == 0 {
            return Err(invalid(
                "tcp",
                "connection limits must be at least 1".into(),
            ));
        }
        if self.tcp.idle_timeout_secs == 0 || self.tcp.idle_timeout_secs > 3600 {
            return Err(invalid("tcp.idle_timeout_secs", "must be 1 to 3600".into()));
        }
        if self.udp_threads > 256 {
            return Err(invalid("udp_threads", "at most 256".into()));
        }
        Ok(())
    }

    /// The UDP threads per address: as configured, or one per CPU the process may use.
    pub fn udp_thread_count(&self) -> usize {
        if self.udp_threads > 0 {
            return self.udp_threads;
        }
        std::thread::available_parallelism().map_or(1, |n| n.get())
    }
}

/// `[catalog]` (one table) or `[[catalog]]` (an array of tables), with errors that keep
/// their field path (an untagged enum would hide them).
fn de_catalogs<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<CatalogConfig>, D::Error> {
    struct Visitor;
    impl<'de> serde::de::Visitor<'de> for Visitor {
        type Value = Vec<CatalogConfig>;
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("a [catalog] table or [[catalog]] tables")
        }
        fn visit_map<A: serde::de::MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
            CatalogConfig::deserialize(serde::de::value::MapAccessDeserializer::new(map))
                .map(|c| vec![c])
        }
        fn visit_seq<A: serde::de::SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
            Vec::<CatalogConfig>::deserialize(serde::de::value::SeqAccessDeserializer::new(seq))
        }
    }
    d.deserialize_any(Visitor)
}

fn de_nets<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Net>, D::Error> {
    let texts = Vec::<String>::deserialize(d)?;
    texts
        .iter()
        .map(|t| Net::parse(t).map_err(serde::de::Error::custom))
        .collect()
}

fn de_name<'de, D: Deserializer<'de>>(d: D) -> Result<DName, D::Error> {
    let text = String::deserialize(d)?;
    let text = text.trim();
    let absolute = if text.ends_with('.') {
        text.to_string()
    } else {
        format!("{text}.")
    };
    DName::parse(absolute.as_bytes(), None)
        .map_err(|e| serde::de::Error::custom(format!("not a domain name: {e}")))
}

fn de_keys<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<TsigKey>, D::Error> {
    Vec::<String>::deserialize(d)?
        .iter()
        .map(|t| TsigKey::parse(t).map_err(serde::de::Error::custom))
        .collect()
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
        assert_eq!(config.catalogs[0].name.to_string(), "catalog.apex.invalid.");
        assert_eq!(config.catalogs[0].tsig_key.name().to_ascii(), "apex-fleet.");
        assert!(config.data_dir.is_none());
    }

    #[test]
    fn the_key_can_come_from_a_file_its_owner_alone_reads() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = std::env::temp_dir().join(format!("apex-dns-key-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("fleet.key");
        std::fs::write(&file, format!("{}\n", key_text())).unwrap();
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).unwrap();
        let toml = format!(
            "listen = [\"127.0.0.1:0\"]\n[catalog]\nname = \"catalog.apex.invalid\"\nprimaries = [\"127.0.0.1:1\"]\ntsig_key_file = \"{}\"\n",
            file.display()
        );
        let config = Config::from_toml(&toml).unwrap();
        assert_eq!(config.catalogs[0].tsig_key.name().to_ascii(), "apex-fleet.");
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
        let e = Config::from_toml(&toml).unwrap_err().to_string();
        assert!(e.contains("chmod 600"), "{e}");
        let _ = std::fs::remove_dir_all(&dir);
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
        assert!(e.contains("catalog: tsig_key: "), "{e}");
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
            &Name::from_ascii("CAT.example").unwrap(),
            vec!["127.0.0.1:53".parse().unwrap()],
            key,
        );
        let config = Config::new(vec!["127.0.0.1:0".parse().unwrap()], catalog);
        config.validate().unwrap();
        assert_eq!(config.catalogs[0].name.to_string(), "cat.example.");
        let empty = Config::new(Vec::new(), config.catalogs[0].clone());
        assert!(
            empty
                .validate()
                .unwrap_err()
                .to_string()
                .starts_with("listen:")
        );
    }

    #[test]
    fn zones_catalogs_and_limits() {
        let key = key_text();
        let text = format!(
            r#"listen = ["127.0.0.1:0"]
udp_threads = 2
metrics = "127.0.0.1:0"
[[zone]]
name = "Example.COM"
file = "example.com.zone"
[[catalog]]
name = "one.cat."
primaries = ["127.0.0.1:1"]
tsig_key = "{key}"
[[catalog]]
name = "two.cat."
primaries = ["[::1]:53"]
tsig_key = "{key}"
[rrl]
responses_per_second = 0
[transfer]
allow = ["192.0.2.0/24", "2001:db8::1"]
"#
        );
        let config = Config::from_toml(&text).unwrap();
        assert_eq!(config.zones[0].name.to_string(), "example.com.");
        assert_eq!(config.catalogs.len(), 2);
        assert_eq!(config.rrl.responses_per_second, 0);
        assert_eq!(config.udp_thread_count(), 2);
        let allow = &config.transfer.allow;
        assert!(allow[0].contains("192.0.2.77".parse().unwrap()));
        assert!(!allow[0].contains("192.0.3.1".parse().unwrap()));
        assert!(allow[1].contains("2001:db8::1".parse().unwrap()));
        assert!(!allow[1].contains("2001:db8::2".parse().unwrap()));

        let nothing = Config::from_toml("listen = [\"127.0.0.1:0\"]\n")
            .unwrap_err()
            .to_string();
        assert!(nothing.starts_with("zone: nothing to serve"), "{nothing}");
        let bad_net = format!("{text}\n").replace("192.0.2.0/24", "192.0.2.0/33");
        let e = Config::from_toml(&bad_net).unwrap_err().to_string();
        assert!(e.contains("transfer.allow"), "{e}");
        let twice = text.replace("two.cat.", "example.com");
        let e = Config::from_toml(&twice).unwrap_err().to_string();
        assert!(
            e.starts_with("catalog.name: example.com. is listed twice"),
            "{e}"
        );
    }
}
