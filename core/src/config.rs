//! Configuration of the control plane (`apex serve | worker | all`): `APEX_*` environment
//! variables over an optional TOML file (`--config FILE` or `APEX_CONFIG`). Every key is
//! documented in `docs/CONFIGURATION.md`; the TOML keys are the variable names without the
//! `APEX_` prefix, in lowercase.

use std::net::SocketAddr;
use std::path::Path;

use apex_zone::Name;
use apex_zone::render::{ApexNs, SoaParams};
use apex_zone::ttl::TtlBounds;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Deserializer, Serialize};

/// The raw configuration as read.
#[derive(Debug, Clone, Deserialize)]
pub struct Config {
    /// `APEX_DATABASE_URL`: Postgres, the source of truth.
    pub database_url: Option<SecretString>,
    /// `APEX_REDIS_URL`: Redis, for worker wake-ups.
    pub redis_url: Option<SecretString>,
    /// `APEX_DATABASE_URL_FILE`, `APEX_REDIS_URL_FILE`, `APEX_TSIG_KEY_FILE`,
    /// `APEX_TSIG_KEYS_FILE`, `APEX_MASTER_KEY_FILE`, `APEX_SMTP_URL_FILE`: each secret read
    /// from a file instead (Docker and systemd credentials); the file may be read by its
    /// owner only.
    #[serde(flatten)]
    pub secret_files: SecretFiles,
    /// `APEX_REDIS_PREFIX`: prefix of every Redis key, so installations can share a Redis.
    pub redis_prefix: String,
    /// `APEX_HTTP_LISTEN`: API and dashboard.
    pub http_listen: SocketAddr,
    /// `APEX_DNS_LISTEN`: the embedded nameserver of `apex all`.
    pub dns_listen: SocketAddr,
    /// `APEX_TRANSFER_LISTEN`: the worker's transfer server (the hidden primary).
    pub transfer_listen: SocketAddr,
    /// `APEX_TRANSFER_ALLOW`: networks that may use `APEX_TRANSFER_LISTEN` (the fleet's),
    /// comma-separated (`192.0.2.0/24, 2001:db8::53`); empty: anyone.
    #[serde(deserialize_with = "list")]
    pub transfer_allow: Vec<String>,
    /// `APEX_TRANSFER_CUSTOMER_LISTEN`: a second listener of the transfer server for
    /// customers' own secondaries, with connection slots of its own; none by default.
    pub transfer_customer_listen: Option<SocketAddr>,
    /// `APEX_UPDATE_LISTEN`: a listener of the transfer server for RFC 2136 UPDATE, open to
    /// anyone (UPDATE needs a domain's TSIG key), for when `APEX_TRANSFER_ALLOW` keeps the
    /// fleet's listener to the fleet; none by default (UPDATE is accepted on every listener).
    pub update_listen: Option<SocketAddr>,
    /// `APEX_TRANSFER_UDP_PER_CLIENT`: UDP requests a second the transfer server answers per
    /// client (an IPv4 address, an IPv6 /64); 0: no limit.
    pub transfer_udp_per_client: u32,
    /// `APEX_UPDATE_PER_MINUTE_PER_KEY`: RFC 2136 UPDATE messages one TSIG key may send a
    /// minute (bursts of a quarter of that, at least 10); 0: no limit.
    pub update_per_minute_per_key: u32,
    /// `APEX_UPDATE_PER_MINUTE_PER_ZONE`: UPDATE messages one zone takes a minute, from all its
    /// keys together (same bursts); 0: no limit.
    pub update_per_minute_per_zone: u32,
    /// `APEX_TSIG_KEY`: the fleet's TSIG key, `name:hmac-sha256:base64secret`.
    pub tsig_key: Option<SecretString>,
    /// `APEX_TSIG_KEYS`: more fleet keys (comma-separated, same form): a nameserver's own key
    /// (named in its `APEX_NOTIFY` entry) and a new key during a rollover. The transfer server
    /// accepts each of them and `APEX_TSIG_KEY`.
    pub tsig_keys: Option<SecretString>,
    /// `APEX_MASTER_KEY`: 32 random bytes in base64 that seal DNSSEC private keys and webhook
    /// secrets at rest. Without it DNSSEC cannot be turned on nor webhooks created.
    pub master_key: Option<SecretString>,
    /// `APEX_DNSSEC_VALIDITY_DAYS`: how long signatures are valid.
    pub dnssec_validity_days: u32,
    /// `APEX_DNSSEC_REFRESH_DAYS`: signatures are renewed when they are this old.
    pub dnssec_refresh_days: u32,
    /// `APEX_DNSSEC_REMOVAL_HOURS`: how long a zone being turned off keeps signing with the
    /// CDS delete records before it goes unsigned.
    pub dnssec_removal_hours: u32,
    /// `APEX_NAMESERVERS`: the platform's nameserver names (comma-separated); every zone's
    /// apex NS set, and the first is the SOA MNAME.
    #[serde(deserialize_with = "list")]
    pub nameservers: Vec<String>,
    /// `APEX_HOSTMASTER`: SOA RNAME, as a mailbox (`hostmaster@example.net`) or a name.
    pub hostmaster: String,
    /// `APEX_CATALOG_ZONE`: name of the catalog zone the fleet follows.
    pub catalog_zone: String,
    /// `APEX_NOTIFY`: the fleet nameservers to NOTIFY and watch, comma-separated, each
    /// `[name=]address:port[/key-name]`: the name is what change receipts show (never the
    /// address), the key (one of `APEX_TSIG_KEYS`) signs its NOTIFYs instead of `APEX_TSIG_KEY`.
    #[serde(deserialize_with = "list")]
    pub notify: Vec<String>,
    /// `APEX_SOA_REFRESH`, seconds.
    pub soa_refresh: u32,
    /// `APEX_SOA_RETRY`, seconds.
    pub soa_retry: u32,
    /// `APEX_SOA_EXPIRE`, seconds.
    pub soa_expire: u32,
    /// `APEX_SOA_MINIMUM`: negative-caching TTL, seconds.
    pub soa_minimum: u32,
    /// `APEX_SOA_TTL`: TTL of SOA records.
    pub soa_ttl: u32,
    /// `APEX_NS_TTL`: TTL of the apex NS set.
    pub ns_ttl: u32,
    /// `APEX_TTL_MIN`: lowest TTL users may set.
    pub ttl_min: u32,
    /// `APEX_TTL_MAX`: highest TTL users may set.
    pub ttl_max: u32,
    /// `APEX_KEEP_VERSIONS`: zone versions kept per zone.
    pub keep_versions: u32,
    /// `APEX_HISTORY_DAYS`: how long changes keep their exact record diffs, so a zone can be
    /// reverted to any serial of that time or a change of it undone.
    pub history_days: u32,
    /// `APEX_RECONCILE_INTERVAL`: seconds between reconciler passes.
    pub reconcile_interval: u64,
    /// `APEX_LOG_FORMAT`: `text` or `json`.
    pub log_format: String,
    /// `APEX_WEBHOOK_ALLOW_PRIVATE`: let webhooks target loopback, private, link-local and
    /// other non-public addresses (a platform on a private network, tests). Off by default, so
    /// customers cannot make the worker call into the platform's own network.
    pub webhook_allow_private: bool,
    /// `APEX_WEBHOOK_PORTS`: ports webhooks may call besides 80 and 443 (comma-separated;
    /// `*`: any).
    #[serde(deserialize_with = "list")]
    pub webhook_ports: Vec<String>,
    /// `APEX_WEBHOOK_FIRST_RETRY`: seconds before the first retry of a failed webhook
    /// delivery; each later retry waits twice as long, up to an hour.
    pub webhook_first_retry: u64,
    /// `APEX_SECONDARY_ALLOW_PRIVATE`: let a domain's own secondaries (outside the fleet) have
    /// loopback, private and other non-public addresses. Off by default: the worker sends them
    /// NOTIFY and lets them transfer the zone without TSIG.
    pub secondary_allow_private: bool,
    /// `APEX_SECONDARY_NOTIFY_PORT`: the port a domain's own secondaries get NOTIFY on.
    pub secondary_notify_port: u16,
    /// `APEX_PUBLIC_URL`: where people reach the dashboard and API (links in mails; an
    /// `https` URL makes session cookies `Secure`).
    pub public_url: String,
    /// `APEX_SIGNUP`: `open`, `invite` (an invitation is needed) or `closed`.
    pub signup: String,
    /// `APEX_REQUIRE_2FA`: `off`, `admins` (platform administrators and holders of platform
    /// roles) or `all`.
    pub require_2fa: String,
    /// `APEX_SESSION_IDLE_MINUTES`: a session unused this long ends.
    pub session_idle_minutes: u32,
    /// `APEX_SESSION_MAX_HOURS`: a session ends this long after sign-in, used or not.
    pub session_max_hours: u32,
    /// `APEX_DOMAIN_QUOTA`: most domains a user may own unless an administrator sets another
    /// limit for them.
    pub domain_quota: u32,
    /// `APEX_INVITATION_DAYS`: how long an invitation link works.
    pub invitation_days: u32,
    /// `APEX_SMTP_URL`: the SMTP server mail goes through (`smtp://host:25`,
    /// `smtps://user:pass@host:465`, `smtp://host:587?tls=required`). Unset: mail is printed
    /// to the worker's log and kept in the outbox.
    pub smtp_url: Option<SecretString>,
    /// `APEX_MAIL_FROM`: the sender of every mail.
    pub mail_from: String,
    /// `APEX_TRUSTED_PROXIES`: networks (CIDR) of reverse proxies whose `X-Forwarded-For`
    /// and `X-Forwarded-Proto` are believed; empty: the peer address is the client.
    #[serde(deserialize_with = "list")]
    pub trusted_proxies: Vec<String>,
    /// `APEX_RATE_LIMIT`: API rate limits on (`true`) or off.
    pub rate_limit: bool,
    /// `APEX_RATE_LIMIT_CREDENTIAL_PER_MINUTE`: tokens an API key or session gets back per
    /// minute (0: no limit per credential).
    pub rate_limit_credential_per_minute: u32,
    /// `APEX_RATE_LIMIT_CREDENTIAL_BURST`: most tokens an API key or session holds.
    pub rate_limit_credential_burst: u32,
    /// `APEX_RATE_LIMIT_ADDRESS_PER_MINUTE`: tokens a client address gets back per minute for
    /// requests with a credential (0: no limit per address).
    pub rate_limit_address_per_minute: u32,
    /// `APEX_RATE_LIMIT_ADDRESS_BURST`: most tokens a client address holds.
    pub rate_limit_address_burst: u32,
    /// `APEX_RATE_LIMIT_ANONYMOUS_PER_MINUTE`: tokens a client address gets back per minute for
    /// requests without a credential (sign-up, sign-in; 0: no limit).
    pub rate_limit_anonymous_per_minute: u32,
    /// `APEX_RATE_LIMIT_ANONYMOUS_BURST`: most such tokens an address holds.
    pub rate_limit_anonymous_burst: u32,
    /// `APEX_RATE_LIMIT_EXPENSIVE_COST`: tokens an expensive request costs (zone import,
    /// DNSSEC changes, revert, domain creation).
    pub rate_limit_expensive_cost: u32,
    /// `APEX_RATE_LIMIT_REDIS_TIMEOUT_MS`: how long a check waits for Redis before it decides
    /// in this process alone.
    pub rate_limit_redis_timeout_ms: u64,
    /// `APEX_MAX_RECORDS_PER_DOMAIN`: records a domain may hold unless an administrator sets
    /// another limit for its owner (0: no limit).
    pub max_records_per_domain: u32,
    /// `APEX_MAX_WEBHOOKS_PER_DOMAIN`: webhooks a domain may have, likewise.
    pub max_webhooks_per_domain: u32,
    /// `APEX_HTTP_HEADER_TIMEOUT`: seconds a client has to send a request's headers.
    pub http_header_timeout: u64,
    /// `APEX_HTTP_BODY_TIMEOUT`: seconds a request body may stall between two chunks.
    pub http_body_timeout: u64,
    /// `APEX_HTTP_REQUEST_TIMEOUT`: seconds a request may take in all, answer included.
    pub http_request_timeout: u64,
    /// `APEX_HTTP_MAX_CONCURRENT`: requests served at once; more are answered 503.
    pub http_max_concurrent: u32,
    /// `APEX_DATABASE_MIN_CONNECTIONS`: Postgres connections each process keeps open.
    pub database_min_connections: u32,
    /// `APEX_DATABASE_MAX_CONNECTIONS`: most Postgres connections each process opens.
    pub database_max_connections: u32,
}

/// Defaults for everything but the secrets and connection URLs.
#[derive(Serialize)]
struct Defaults {
    redis_prefix: &'static str,
    http_listen: &'static str,
    dns_listen: &'static str,
    transfer_listen: &'static str,
    transfer_allow: Vec<&'static str>,
    transfer_udp_per_client: u32,
    update_per_minute_per_key: u32,
    update_per_minute_per_zone: u32,
    nameservers: Vec<&'static str>,
    hostmaster: &'static str,
    catalog_zone: &'static str,
    notify: Vec<&'static str>,
    soa_refresh: u32,
    soa_retry: u32,
    soa_expire: u32,
    soa_minimum: u32,
    soa_ttl: u32,
    ns_ttl: u32,
    ttl_min: u32,
    ttl_max: u32,
    keep_versions: u32,
    history_days: u32,
    reconcile_interval: u64,
    log_format: &'static str,
    dnssec_validity_days: u32,
    dnssec_refresh_days: u32,
    dnssec_removal_hours: u32,
    webhook_allow_private: bool,
    webhook_ports: Vec<&'static str>,
    webhook_first_retry: u64,
    secondary_allow_private: bool,
    secondary_notify_port: u16,
    public_url: &'static str,
    signup: &'static str,
    require_2fa: &'static str,
    session_idle_minutes: u32,
    session_max_hours: u32,
    domain_quota: u32,
    invitation_days: u32,
    mail_from: &'static str,
    trusted_proxies: Vec<&'static str>,
    rate_limit: bool,
    rate_limit_credential_per_minute: u32,
    rate_limit_credential_burst: u32,
    rate_limit_address_per_minute: u32,
    rate_limit_address_burst: u32,
    rate_limit_anonymous_per_minute: u32,
    rate_limit_anonymous_burst: u32,
    rate_limit_expensive_cost: u32,
    rate_limit_redis_timeout_ms: u64,
    max_records_per_domain: u32,
    max_webhooks_per_domain: u32,
    http_header_timeout: u64,
    http_body_timeout: u64,
    http_request_timeout: u64,
    http_max_concurrent: u32,
    database_min_connections: u32,
    database_max_connections: u32,
}

fn defaults() -> Defaults {
    Defaults {
        redis_prefix: "apex:",
        http_listen: "127.0.0.1:8080",
        dns_listen: "127.0.0.1:5300",
        transfer_listen: "127.0.0.1:5399",
        transfer_allow: vec![],
        transfer_udp_per_client: 1_000,
        // Two UPDATEs a second per key, five per zone: ACME clients send two per
        // certificate, external-dns and octoDNS one per sync; a loop gone wrong is stopped.
        update_per_minute_per_key: 120,
        update_per_minute_per_zone: 300,
        nameservers: vec!["ns1.apex.test.", "ns2.apex.test."],
        hostmaster: "hostmaster.apex.test.",
        catalog_zone: "catalog.apex.invalid.",
        notify: vec![],
        soa_refresh: 3600,
        soa_retry: 600,
        soa_expire: 1_209_600,
        soa_minimum: 300,
        soa_ttl: 3600,
        ns_ttl: 3600,
        ttl_min: 30,
        ttl_max: 604_800,
        keep_versions: 10,
        history_days: 90,
        reconcile_interval: 5,
        log_format: "text",
        dnssec_validity_days: 14,
        dnssec_refresh_days: 7,
        dnssec_removal_hours: 48,
        webhook_allow_private: false,
        webhook_ports: vec![],
        secondary_allow_private: false,
        secondary_notify_port: 53,
        webhook_first_retry: 5,
        public_url: "http://127.0.0.1:8080",
        signup: "invite",
        require_2fa: "off",
        session_idle_minutes: 720,
        session_max_hours: 168,
        domain_quota: 100,
        invitation_days: 7,
        mail_from: "Apex <apex@apex.test>",
        trusted_proxies: vec![],
        // Five requests a second per key or session, bursts of 30: people and scripts, not
        // floods (deSEC allows a few per second per account).
        rate_limit: true,
        rate_limit_credential_per_minute: 300,
        rate_limit_credential_burst: 30,
        // An office or a CI fleet behind one address runs several keys.
        rate_limit_address_per_minute: 1200,
        rate_limit_address_burst: 120,
        // Sign-up and sign-in: one every two seconds, bursts of 10.
        rate_limit_anonymous_per_minute: 30,
        rate_limit_anonymous_burst: 10,
        rate_limit_expensive_cost: 10,
        rate_limit_redis_timeout_ms: 50,
        max_records_per_domain: 1_000_000,
        max_webhooks_per_domain: 10,
        http_header_timeout: 10,
        http_body_timeout: 30,
        http_request_timeout: 300,
        http_max_concurrent: 1024,
        // Enough for a burst (an edit: a transfer request from each nameserver, the publish,
        // the sync checks) to find connections open: a new one costs a backend start and a
        // TLS handshake, ~90 ms on a small machine.
        database_min_connections: 16,
        database_max_connections: 20,
    }
}

/// Accepts a TOML list or a comma/space-separated string (environment variables).
fn list<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        One(String),
        Many(Vec<String>),
    }
    Ok(match Raw::deserialize(d)? {
        Raw::One(s) => s
            .split([',', ' '])
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(String::from)
            .collect(),
        Raw::Many(v) => v,
    })
}

/// RFC 2136 UPDATE limits (`APEX_UPDATE_PER_MINUTE_PER_KEY`, `..._PER_ZONE`); `None`: no limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct UpdateLimits {
    /// Per TSIG key.
    pub key: Option<crate::ratelimit::Policy>,
    /// Per zone, all its keys together.
    pub zone: Option<crate::ratelimit::Policy>,
}

/// A configuration problem, naming the variable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{var}: {message}")]
pub struct ConfigError {
    /// The environment variable concerned.
    pub var: String,
    /// What is wrong.
    pub message: String,
}

fn err(var: &str, message: impl Into<String>) -> ConfigError {
    ConfigError {
        var: var.to_string(),
        message: message.into(),
    }
}

/// The fleet's TSIG key as configured (`APEX_TSIG_KEY`, `name:algorithm:base64secret`),
/// checked but held as plain data: the transfer server and the nameservers build their
/// signer from it ([`TsigKeyData::config_text`]). The secret never appears in `Debug`.
#[derive(Clone, PartialEq, Eq)]
pub struct TsigKeyData {
    /// The key's name, as written.
    pub name: String,
    /// `hmac-sha256`, `hmac-sha384` or `hmac-sha512`.
    pub algorithm: &'static str,
    /// The shared secret (at least 16 bytes).
    pub secret: Vec<u8>,
}

impl std::fmt::Debug for TsigKeyData {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "TsigKeyData({} {} <secret>)", self.name, self.algorithm)
    }
}

impl TsigKeyData {
    /// Parses `name:algorithm:base64secret`, with the checks (and the words) of the fleet's
    /// own TSIG parser.
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut parts = text.trim().splitn(3, ':');
        let (Some(name), Some(alg), Some(secret)) = (parts.next(), parts.next(), parts.next())
        else {
            return Err("TSIG key must be written name:algorithm:base64secret".into());
        };
        let bad_name = || format!("TSIG key name {name:?} is not a valid domain name");
        let key_name = Name::from_ascii(name).map_err(|_| bad_name())?;
        if name.is_empty() || key_name.is_root() {
            return Err(bad_name());
        }
        let algorithm = match alg.to_ascii_lowercase().as_str() {
            "hmac-sha256" => "hmac-sha256",
            "hmac-sha384" => "hmac-sha384",
            "hmac-sha512" => "hmac-sha512",
            _ => {
                return Err(format!(
                    "TSIG algorithm {alg:?} is not supported (use hmac-sha256, hmac-sha384 or hmac-sha512)"
                ));
            }
        };
        let secret = B64
            .decode(secret.trim())
            .ok()
            .filter(|s| s.len() >= 16)
            .ok_or("TSIG secret is not valid base64 of at least 16 bytes")?;
        Ok(Self {
            name: name.to_string(),
            algorithm,
            secret,
        })
    }

    /// The key in config form, `name:algorithm:base64secret`, for the TSIG signer. Holds the
    /// secret.
    pub fn config_text(&self) -> String {
        format!(
            "{}:{}:{}",
            self.name,
            self.algorithm,
            B64.encode(&self.secret)
        )
    }
}

/// The ports webhooks may call: 80 and 443, and those the operator adds
/// (`APEX_WEBHOOK_PORTS`; `*` allows any).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WebhookPorts {
    /// Any port.
    pub any: bool,
    /// Ports allowed besides 80 and 443.
    pub extra: Vec<u16>,
}

/// A fleet nameserver of `APEX_NOTIFY`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FleetNameserver {
    /// What change receipts call it.
    pub name: String,
    /// Where NOTIFY and the sync watcher's SOA queries go.
    pub addr: SocketAddr,
    /// The name of the key that signs its NOTIFYs; `None`: `APEX_TSIG_KEY`.
    pub key: Option<String>,
}

/// The platform's zone-building settings, parsed.
#[derive(Debug, Clone)]
pub struct Platform {
    /// SOA of every zone.
    pub soa: SoaParams,
    /// Apex NS set of every zone.
    pub apex_ns: ApexNs,
    /// TTL bounds for user records.
    pub ttl: TtlBounds,
    /// Catalog zone name.
    pub catalog: Name,
    /// Seals DNSSEC private keys and webhook secrets; `None` when not configured (DNSSEC
    /// cannot be turned on, webhooks cannot be created).
    pub master_key: Option<crate::sealing::MasterKey>,
    /// DNSSEC signature validity and renewal, and the removal delay.
    pub dnssec: DnssecTimes,
    /// Webhooks may target non-public addresses (`APEX_WEBHOOK_ALLOW_PRIVATE`).
    pub webhook_allow_private: bool,
    /// The ports webhooks may call (`APEX_WEBHOOK_PORTS`).
    pub webhook_ports: WebhookPorts,
    /// A domain's own secondaries may have non-public addresses
    /// (`APEX_SECONDARY_ALLOW_PRIVATE`).
    pub secondary_allow_private: bool,
    /// Port of a domain's own secondaries for NOTIFY (`APEX_SECONDARY_NOTIFY_PORT`).
    pub secondary_notify_port: u16,
    /// Sign-up, sign-in, sessions and mail.
    pub accounts: Accounts,
    /// Days changes keep their exact record diffs for revert (`APEX_HISTORY_DAYS`).
    pub history_days: u32,
    /// API rate limits.
    pub rate_limits: crate::ratelimit::Settings,
    /// RFC 2136 UPDATE limits: per TSIG key, per zone.
    pub update_limits: UpdateLimits,
    /// Platform defaults of the quotas per account.
    pub quotas: QuotaDefaults,
}

/// The platform's defaults of the quotas per account (0: no limit); an administrator sets
/// others for one account (`crate::quotas`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QuotaDefaults {
    /// Records per domain.
    pub records_per_domain: u32,
    /// Webhooks per domain.
    pub webhooks_per_domain: u32,
}

/// Who may sign up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signup {
    /// Anyone.
    Open,
    /// Someone holding an invitation (to a domain, or to the platform from an administrator).
    Invite,
    /// Nobody: administrators create accounts.
    Closed,
}

/// Whom the platform requires a second factor of.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Require2fa {
    /// Nobody (each user chooses).
    Off,
    /// Platform administrators and holders of platform roles.
    Admins,
    /// Everyone.
    All,
}

/// The account settings, parsed.
#[derive(Debug, Clone)]
pub struct Accounts {
    /// Base URL of the dashboard, without a trailing slash (`https://dns.example.net`).
    pub public_url: String,
    /// Session cookies carry `Secure` (the public URL is https).
    pub secure_cookies: bool,
    /// Who may sign up.
    pub signup: Signup,
    /// Whom a second factor is required of.
    pub require_2fa: Require2fa,
    /// Idle end of a session.
    pub session_idle: chrono::TimeDelta,
    /// Absolute end of a session.
    pub session_max: chrono::TimeDelta,
    /// Default most domains a user may own.
    pub domain_quota: u32,
    /// How long invitations work.
    pub invitation_ttl: chrono::TimeDelta,
    /// Sender of every mail (`Name <address>`).
    pub mail_from: String,
    /// Proxies whose forwarding headers are believed.
    pub trusted_proxies: Vec<ipnet::IpNet>,
}

impl Accounts {
    /// A link into the dashboard: `path` starts with `/`.
    pub fn link(&self, path: &str) -> String {
        format!("{}{path}", self.public_url)
    }
}

/// Files holding secrets, one per secret setting (`APEX_…_FILE`).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct SecretFiles {
    /// `APEX_DATABASE_URL_FILE`.
    pub database_url_file: Option<std::path::PathBuf>,
    /// `APEX_REDIS_URL_FILE`.
    pub redis_url_file: Option<std::path::PathBuf>,
    /// `APEX_TSIG_KEY_FILE`.
    pub tsig_key_file: Option<std::path::PathBuf>,
    /// `APEX_TSIG_KEYS_FILE`.
    pub tsig_keys_file: Option<std::path::PathBuf>,
    /// `APEX_MASTER_KEY_FILE`.
    pub master_key_file: Option<std::path::PathBuf>,
    /// `APEX_SMTP_URL_FILE`.
    pub smtp_url_file: Option<std::path::PathBuf>,
}

/// Reads a secret from `path` for the setting `var` (`APEX_MASTER_KEY_FILE`): refused when
/// the file may be read by its group or others, or is empty. One final newline is dropped.
pub fn secret_from_file(var: &str, path: &Path) -> Result<SecretString, ConfigError> {
    let meta = std::fs::metadata(path)
        .map_err(|e| err(var, format!("cannot read {}: {e}", path.display())))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = meta.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            return Err(err(
                var,
                format!(
                    "{} may be read by its group or others (mode {mode:o}): chmod 600 it",
                    path.display()
                ),
            ));
        }
    }
    if !meta.is_file() {
        return Err(err(var, format!("{} is not a file", path.display())));
    }
    let text = std::fs::read_to_string(path)
        .map_err(|e| err(var, format!("cannot read {}: {e}", path.display())))?;
    let text = text
        .strip_suffix('\n')
        .map(|t| t.strip_suffix('\r').unwrap_or(t))
        .unwrap_or(&text);
    if text.trim().is_empty() {
        return Err(err(var, format!("{} is empty", path.display())));
    }
    Ok(SecretString::from(text.to_string()))
}

/// The HTTP server's limits against slow and greedy clients.
#[derive(Debug, Clone, Copy)]
pub struct HttpServer {
    /// A connection that has not sent a request's headers within this is closed.
    pub header_timeout: std::time::Duration,
    /// A request body that stalls this long between two chunks fails.
    pub body_timeout: std::time::Duration,
    /// A request not answered within this gets 408.
    pub request_timeout: std::time::Duration,
    /// Requests handled at once; more are answered 503 at once.
    pub max_concurrent: usize,
}

/// How long signatures last and when they are renewed.
#[derive(Debug, Clone, Copy)]
pub struct DnssecTimes {
    /// Validity of a signature, seconds.
    pub validity: u32,
    /// Age at which signatures are renewed, seconds.
    pub refresh: u32,
    /// How long a zone being turned off publishes the CDS delete records, seconds.
    pub removal: u32,
}

impl Config {
    /// Reads defaults, then the TOML file if given, then `APEX_*` variables.
    pub fn load(file: Option<&Path>) -> Result<Self, ConfigError> {
        let mut figment = Figment::from(Serialized::defaults(defaults()));
        if let Some(path) = file {
            if !path.exists() {
                return Err(err(
                    "APEX_CONFIG",
                    format!("file {} does not exist", path.display()),
                ));
            }
            figment = figment.merge(Toml::file(path));
        }
        figment = figment.merge(Env::prefixed("APEX_").ignore(&["CONFIG"]));
        let mut config: Self = figment.extract().map_err(|e| {
            let var = e
                .path
                .first()
                .map(|p| format!("APEX_{}", p.to_uppercase()))
                .unwrap_or_else(|| "config".into());
            err(&var, e.kind.to_string())
        })?;
        config.read_secret_files()?;
        Ok(config)
    }

    /// Fills each secret whose `APEX_…_FILE` is set from that file; setting both a secret and
    /// its file is an error.
    pub fn read_secret_files(&mut self) -> Result<(), ConfigError> {
        let files = self.secret_files.clone();
        let pairs: [(&str, Option<std::path::PathBuf>, &mut Option<SecretString>); 6] = [
            (
                "APEX_DATABASE_URL",
                files.database_url_file,
                &mut self.database_url,
            ),
            ("APEX_REDIS_URL", files.redis_url_file, &mut self.redis_url),
            ("APEX_TSIG_KEY", files.tsig_key_file, &mut self.tsig_key),
            ("APEX_TSIG_KEYS", files.tsig_keys_file, &mut self.tsig_keys),
            (
                "APEX_MASTER_KEY",
                files.master_key_file,
                &mut self.master_key,
            ),
            ("APEX_SMTP_URL", files.smtp_url_file, &mut self.smtp_url),
        ];
        for (var, file, value) in pairs {
            let Some(path) = file else { continue };
            let file_var = format!("{var}_FILE");
            if value
                .as_ref()
                .is_some_and(|v| !v.expose_secret().is_empty())
            {
                return Err(err(&file_var, format!("set {var} or {file_var}, not both")));
            }
            *value = Some(secret_from_file(&file_var, &path)?);
        }
        Ok(())
    }

    /// The built-in defaults alone, ignoring the environment (tests, examples).
    pub fn defaults() -> Self {
        Figment::from(Serialized::defaults(defaults()))
            .extract()
            .unwrap_or_else(|e| panic!("built-in defaults do not parse: {e}"))
    }

    /// The database URL, or an error naming the variable.
    pub fn database_url(&self) -> Result<&str, ConfigError> {
        self.database_url
            .as_ref()
            .map(|s| s.expose_secret())
            .filter(|s| !s.is_empty())
            .ok_or_else(|| err("APEX_DATABASE_URL", "is not set (postgres://user@host/db)"))
    }

    /// The Redis URL, or an error naming the variable.
    pub fn redis_url(&self) -> Result<&str, ConfigError> {
        self.redis_url
            .as_ref()
            .map(|s| s.expose_secret())
            .filter(|s| !s.is_empty())
            .ok_or_else(|| err("APEX_REDIS_URL", "is not set (redis://host:6379)"))
    }

    /// The fleet TSIG key.
    pub fn tsig(&self) -> Result<TsigKeyData, ConfigError> {
        let text = self
            .tsig_key
            .as_ref()
            .map(|s| s.expose_secret())
            .filter(|s| !s.is_empty())
            .ok_or_else(|| {
                err(
                    "APEX_TSIG_KEY",
                    "is not set (name:hmac-sha256:base64secret)",
                )
            })?;
        TsigKeyData::parse(text).map_err(|e| err("APEX_TSIG_KEY", e))
    }

    /// Every fleet key: `APEX_TSIG_KEY` first, then `APEX_TSIG_KEYS`. Names are unique.
    pub fn tsig_keys(&self) -> Result<Vec<TsigKeyData>, ConfigError> {
        let mut keys = vec![self.tsig()?];
        let more = self
            .tsig_keys
            .as_ref()
            .map(|s| s.expose_secret().to_string())
            .unwrap_or_default();
        for (i, text) in more
            .split(',')
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .enumerate()
        {
            // The error names the entry by position: its text holds a secret.
            let key = TsigKeyData::parse(text)
                .map_err(|e| err("APEX_TSIG_KEYS", format!("entry {}: {e}", i + 1)))?;
            if keys.iter().any(|k| k.name.eq_ignore_ascii_case(&key.name)) {
                return Err(err(
                    "APEX_TSIG_KEYS",
                    format!(
                        "entry {}: a key named {:?} is already configured",
                        i + 1,
                        key.name
                    ),
                ));
            }
            keys.push(key);
        }
        Ok(keys)
    }

    /// The fleet nameservers of `APEX_NOTIFY`. An entry without a name is named
    /// `nameserver-N` by its position, so receipts never show an address.
    pub fn notify_targets(&self) -> Result<Vec<FleetNameserver>, ConfigError> {
        let key_names: Vec<String> = match self.tsig_keys() {
            Ok(keys) => keys.into_iter().map(|k| k.name).collect(),
            Err(_) => Vec::new(),
        };
        let mut fleet: Vec<FleetNameserver> = Vec::new();
        for (i, entry) in self.notify.iter().enumerate() {
            let bad = |m: String| err("APEX_NOTIFY", format!("{entry:?}: {m}"));
            let (name, rest) = match entry.split_once('=') {
                Some((n, rest)) => (n.trim().to_string(), rest),
                None => (format!("nameserver-{}", i + 1), entry.as_str()),
            };
            if name.is_empty()
                || !name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
            {
                return Err(bad(
                    "the name may hold letters, digits, '.', '-' and '_'".into()
                ));
            }
            let (addr, key) = match rest.split_once('/') {
                Some((a, k)) => (a, Some(k.trim().to_string())),
                None => (rest, None),
            };
            let addr: SocketAddr = addr
                .trim()
                .parse()
                .map_err(|_| bad(format!("{addr:?} is not an address:port")))?;
            if let Some(k) = &key
                && !key_names.iter().any(|n| n.eq_ignore_ascii_case(k))
            {
                return Err(bad(format!(
                    "no key named {k:?} in APEX_TSIG_KEY or APEX_TSIG_KEYS"
                )));
            }
            if fleet.iter().any(|f| f.name == name || f.addr == addr) {
                return Err(bad("named twice (each name and address once)".into()));
            }
            fleet.push(FleetNameserver { name, addr, key });
        }
        Ok(fleet)
    }

    /// The zone-building settings.
    pub fn platform(&self) -> Result<Platform, ConfigError> {
        let fqdn = |var: &str, s: &str| -> Result<Name, ConfigError> {
            let with_dot = if s.ends_with('.') {
                s.to_string()
            } else {
                format!("{s}.")
            };
            Name::from_ascii(&with_dot)
                .map(|n| n.to_lowercase())
                .map_err(|_| err(var, format!("{s:?} is not a domain name")))
        };
        if self.nameservers.is_empty() {
            return Err(err(
                "APEX_NAMESERVERS",
                "at least one nameserver name is needed",
            ));
        }
        let hosts = self
            .nameservers
            .iter()
            .map(|n| fqdn("APEX_NAMESERVERS", n))
            .collect::<Result<Vec<_>, _>>()?;
        let hostmaster = match self.hostmaster.split_once('@') {
            Some((local, domain)) => format!("{}.{domain}", local.replace('.', "\\.")),
            None => self.hostmaster.clone(),
        };
        let rname = fqdn("APEX_HOSTMASTER", &hostmaster)?;
        if self.ttl_min > self.ttl_max {
            return Err(err("APEX_TTL_MIN", "is above APEX_TTL_MAX"));
        }
        // TTLs and SOA timers are 31-bit values on the wire (RFC 2181 section 8).
        for (var, value) in [
            ("APEX_TTL_MAX", self.ttl_max),
            ("APEX_SOA_REFRESH", self.soa_refresh),
            ("APEX_SOA_RETRY", self.soa_retry),
            ("APEX_SOA_EXPIRE", self.soa_expire),
            ("APEX_SOA_MINIMUM", self.soa_minimum),
            ("APEX_SOA_TTL", self.soa_ttl),
            ("APEX_NS_TTL", self.ns_ttl),
        ] {
            if value > 2_147_483_647 {
                return Err(err(var, "must be at most 2147483647 seconds"));
            }
        }
        Ok(Platform {
            soa: SoaParams {
                mname: hosts[0].clone(),
                rname,
                refresh: self.soa_refresh,
                retry: self.soa_retry,
                expire: self.soa_expire,
                minimum: self.soa_minimum,
                ttl: self.soa_ttl,
            },
            apex_ns: ApexNs {
                hosts,
                ttl: self.ns_ttl,
            },
            ttl: TtlBounds {
                min: self.ttl_min,
                max: self.ttl_max,
            },
            catalog: fqdn("APEX_CATALOG_ZONE", &self.catalog_zone)?,
            master_key: self.master_key()?,
            dnssec: {
                if self.dnssec_validity_days == 0
                    || self.dnssec_refresh_days >= self.dnssec_validity_days
                    || self.dnssec_validity_days > 365
                {
                    return Err(err(
                        "APEX_DNSSEC_REFRESH_DAYS",
                        "signatures must be renewed before they expire (refresh < validity <= 365 days)",
                    ));
                }
                DnssecTimes {
                    validity: self.dnssec_validity_days * 86_400,
                    refresh: self.dnssec_refresh_days * 86_400,
                    removal: self.dnssec_removal_hours.saturating_mul(3600),
                }
            },
            webhook_allow_private: self.webhook_allow_private,
            webhook_ports: self.webhook_ports()?,
            secondary_allow_private: self.secondary_allow_private,
            secondary_notify_port: self.secondary_notify_port,
            accounts: self.accounts()?,
            history_days: if self.history_days == 0 {
                return Err(err(
                    "APEX_HISTORY_DAYS",
                    "must be at least 1 (a day of history to revert within)",
                ));
            } else {
                self.history_days
            },
            rate_limits: self.rate_limits()?,
            update_limits: self.update_limits()?,
            quotas: QuotaDefaults {
                records_per_domain: self.max_records_per_domain,
                webhooks_per_domain: self.max_webhooks_per_domain,
            },
        })
    }

    /// The API rate limits.
    pub fn rate_limits(&self) -> Result<crate::ratelimit::Settings, ConfigError> {
        use crate::ratelimit::{Policy, Settings};
        let policy = |name: &'static str, var: &str, per_minute: u32, burst: u32| {
            if per_minute == 0 {
                return Ok(None);
            }
            if per_minute > 6_000_000 {
                return Err(err(var, "must be at most 6000000 (100000 a second)"));
            }
            if burst == 0 {
                return Err(err(
                    &var.replace("PER_MINUTE", "BURST"),
                    "must be at least 1",
                ));
            }
            Ok(Some(Policy {
                name,
                per_minute,
                burst,
            }))
        };
        if self.rate_limit_expensive_cost == 0 {
            return Err(err("APEX_RATE_LIMIT_EXPENSIVE_COST", "must be at least 1"));
        }
        Ok(Settings {
            enabled: self.rate_limit,
            credential: policy(
                "credential",
                "APEX_RATE_LIMIT_CREDENTIAL_PER_MINUTE",
                self.rate_limit_credential_per_minute,
                self.rate_limit_credential_burst,
            )?,
            address: policy(
                "address",
                "APEX_RATE_LIMIT_ADDRESS_PER_MINUTE",
                self.rate_limit_address_per_minute,
                self.rate_limit_address_burst,
            )?,
            anonymous: policy(
                "anonymous",
                "APEX_RATE_LIMIT_ANONYMOUS_PER_MINUTE",
                self.rate_limit_anonymous_per_minute,
                self.rate_limit_anonymous_burst,
            )?,
            expensive_cost: self.rate_limit_expensive_cost,
            redis_timeout: std::time::Duration::from_millis(self.rate_limit_redis_timeout_ms),
        })
    }

    /// The RFC 2136 UPDATE limits.
    pub fn update_limits(&self) -> Result<UpdateLimits, ConfigError> {
        let policy = |name: &'static str, var: &str, per_minute: u32| {
            if per_minute > 6_000_000 {
                return Err(err(var, "must be at most 6000000 (100000 a second)"));
            }
            Ok((per_minute > 0).then_some(crate::ratelimit::Policy {
                name,
                per_minute,
                burst: (per_minute / 4).max(10).min(per_minute),
            }))
        };
        Ok(UpdateLimits {
            key: policy(
                "update-key",
                "APEX_UPDATE_PER_MINUTE_PER_KEY",
                self.update_per_minute_per_key,
            )?,
            zone: policy(
                "update-zone",
                "APEX_UPDATE_PER_MINUTE_PER_ZONE",
                self.update_per_minute_per_zone,
            )?,
        })
    }

    /// The HTTP server's limits.
    pub fn http_server(&self) -> Result<HttpServer, ConfigError> {
        let secs = |var: &str, v: u64| {
            if v == 0 || v > 86_400 {
                Err(err(var, "must be between 1 and 86400 seconds"))
            } else {
                Ok(std::time::Duration::from_secs(v))
            }
        };
        if self.http_max_concurrent == 0 {
            return Err(err("APEX_HTTP_MAX_CONCURRENT", "must be at least 1"));
        }
        Ok(HttpServer {
            header_timeout: secs("APEX_HTTP_HEADER_TIMEOUT", self.http_header_timeout)?,
            body_timeout: secs("APEX_HTTP_BODY_TIMEOUT", self.http_body_timeout)?,
            request_timeout: secs("APEX_HTTP_REQUEST_TIMEOUT", self.http_request_timeout)?,
            max_concurrent: self.http_max_concurrent as usize,
        })
    }

    /// The size of each process's Postgres pool.
    pub fn database_pool(&self) -> Result<crate::db::PoolSize, ConfigError> {
        let (min, max) = (self.database_min_connections, self.database_max_connections);
        if max == 0 {
            return Err(err("APEX_DATABASE_MAX_CONNECTIONS", "must be at least 1"));
        }
        if min > max {
            return Err(err(
                "APEX_DATABASE_MIN_CONNECTIONS",
                format!("must not exceed APEX_DATABASE_MAX_CONNECTIONS ({max})"),
            ));
        }
        Ok(crate::db::PoolSize { min, max })
    }

    /// The ports of `APEX_WEBHOOK_PORTS`.
    pub fn webhook_ports(&self) -> Result<WebhookPorts, ConfigError> {
        let mut ports = WebhookPorts::default();
        for p in &self.webhook_ports {
            if p == "*" {
                ports.any = true;
                continue;
            }
            let port = p.parse::<u16>().ok().filter(|&n| n > 0).ok_or_else(|| {
                err(
                    "APEX_WEBHOOK_PORTS",
                    format!("{p:?} is not a port (1 to 65535) nor *"),
                )
            })?;
            ports.extra.push(port);
        }
        Ok(ports)
    }

    /// The networks of `APEX_TRANSFER_ALLOW` (an address alone is a /32 or /128).
    pub fn transfer_allow(&self) -> Result<Vec<ipnet::IpNet>, ConfigError> {
        self.transfer_allow
            .iter()
            .map(|t| {
                t.parse::<ipnet::IpNet>()
                    .or_else(|_| t.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
                    .map_err(|_| {
                        err(
                            "APEX_TRANSFER_ALLOW",
                            format!("{t:?} is not an address or network (192.0.2.0/24)"),
                        )
                    })
            })
            .collect()
    }

    /// The account settings.
    pub fn accounts(&self) -> Result<Accounts, ConfigError> {
        let url = url::Url::parse(&self.public_url)
            .ok()
            .filter(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some())
            .ok_or_else(|| {
                err(
                    "APEX_PUBLIC_URL",
                    format!("{:?} is not an http(s) URL", self.public_url),
                )
            })?;
        let signup = match self.signup.as_str() {
            "open" => Signup::Open,
            "invite" => Signup::Invite,
            "closed" => Signup::Closed,
            other => {
                return Err(err(
                    "APEX_SIGNUP",
                    format!("{other:?}: must be open, invite or closed"),
                ));
            }
        };
        let require_2fa = match self.require_2fa.as_str() {
            "off" => Require2fa::Off,
            "admins" => Require2fa::Admins,
            "all" => Require2fa::All,
            other => {
                return Err(err(
                    "APEX_REQUIRE_2FA",
                    format!("{other:?}: must be off, admins or all"),
                ));
            }
        };
        if self.session_idle_minutes == 0 {
            return Err(err("APEX_SESSION_IDLE_MINUTES", "must be at least 1"));
        }
        if self.session_max_hours == 0 || self.session_max_hours > 24 * 366 {
            return Err(err(
                "APEX_SESSION_MAX_HOURS",
                "must be between 1 and 8784 (a year)",
            ));
        }
        if self.invitation_days == 0 || self.invitation_days > 90 {
            return Err(err("APEX_INVITATION_DAYS", "must be between 1 and 90"));
        }
        if !self.mail_from.contains('@') {
            return Err(err(
                "APEX_MAIL_FROM",
                format!("{:?} is not a mail address", self.mail_from),
            ));
        }
        let trusted_proxies = self
            .trusted_proxies
            .iter()
            .map(|n| {
                n.parse::<ipnet::IpNet>()
                    .or_else(|_| n.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
                    .map_err(|_| {
                        err(
                            "APEX_TRUSTED_PROXIES",
                            format!("{n:?} is not an address or a network (CIDR)"),
                        )
                    })
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Accounts {
            public_url: url.as_str().trim_end_matches('/').to_string(),
            secure_cookies: url.scheme() == "https",
            signup,
            require_2fa,
            session_idle: chrono::TimeDelta::minutes(i64::from(self.session_idle_minutes)),
            session_max: chrono::TimeDelta::hours(i64::from(self.session_max_hours)),
            domain_quota: self.domain_quota,
            invitation_ttl: chrono::TimeDelta::days(i64::from(self.invitation_days)),
            mail_from: self.mail_from.clone(),
            trusted_proxies,
        })
    }

    /// The SMTP URL, if mail is to be sent rather than logged.
    pub fn smtp_url(&self) -> Option<&str> {
        self.smtp_url
            .as_ref()
            .map(|s| s.expose_secret())
            .filter(|s| !s.is_empty())
    }

    /// The master key, if configured.
    pub fn master_key(&self) -> Result<Option<crate::sealing::MasterKey>, ConfigError> {
        match self
            .master_key
            .as_ref()
            .map(|s| s.expose_secret())
            .filter(|s| !s.is_empty())
        {
            None => Ok(None),
            Some(text) => crate::sealing::MasterKey::parse(text)
                .map(Some)
                .map_err(|e| err("APEX_MASTER_KEY", e)),
        }
    }

    /// Checks everything a role needs; every problem found, not just the first.
    pub fn check(&self, needs_worker: bool) -> Vec<ConfigError> {
        let mut problems = Vec::new();
        if let Err(e) = self.database_url() {
            problems.push(e);
        }
        if let Err(e) = self.redis_url() {
            problems.push(e);
        }
        if let Err(e) = self.platform() {
            problems.push(e);
        }
        if let Err(e) = self.http_server() {
            problems.push(e);
        }
        if let Err(e) = self.database_pool() {
            problems.push(e);
        }
        if needs_worker {
            if let Err(e) = self.tsig_keys() {
                problems.push(e);
            }
            if let Err(e) = self.transfer_allow() {
                problems.push(e);
            }
            if let Err(e) = self.notify_targets() {
                problems.push(e);
            }
        }
        if !matches!(self.log_format.as_str(), "text" | "json") {
            problems.push(err("APEX_LOG_FORMAT", "must be text or json"));
        }
        problems
    }
}

#[cfg(test)]
// figment::Jail fixes the closures' error type; its size is not ours to choose.
#[allow(clippy::result_large_err)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_env() {
        figment::Jail::expect_with(|jail| {
            jail.set_env("APEX_DATABASE_URL", "postgres://x@localhost/apex");
            jail.set_env("APEX_REDIS_URL", "redis://localhost");
            jail.set_env("APEX_NAMESERVERS", "ns1.example.net, ns2.example.net.");
            jail.set_env("APEX_HOSTMASTER", "dns.admin@example.net");
            jail.set_env(
                "APEX_TSIG_KEY",
                "k:hmac-sha256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
            );
            let c = Config::load(None).unwrap();
            assert_eq!(c.http_listen.to_string(), "127.0.0.1:8080");
            assert_eq!(c.nameservers, vec!["ns1.example.net", "ns2.example.net."]);
            let p = c.platform().unwrap();
            assert_eq!(p.apex_ns.hosts[1].to_ascii(), "ns2.example.net.");
            assert_eq!(p.soa.rname.to_ascii(), "dns\\.admin.example.net.");
            assert!(c.check(true).is_empty());
            Ok(())
        });
    }

    #[test]
    fn secrets_come_from_files_readable_by_their_owner_only() {
        use std::os::unix::fs::PermissionsExt as _;
        figment::Jail::expect_with(|jail| {
            let key = crate::sealing::MasterKey::generate_text();
            jail.create_file("master.key", &format!("{key}\n"))?;
            jail.create_file("db.url", "postgres://apex:s3cret@db/apex\n")?;
            let dir = jail.directory().to_path_buf();
            let chmod = |name: &str, mode: u32| {
                std::fs::set_permissions(dir.join(name), std::fs::Permissions::from_mode(mode))
                    .unwrap();
            };
            chmod("master.key", 0o600);
            chmod("db.url", 0o400);
            jail.set_env("APEX_MASTER_KEY_FILE", "master.key");
            jail.set_env("APEX_DATABASE_URL_FILE", "db.url");
            let c = Config::load(None).unwrap();
            assert_eq!(c.database_url().unwrap(), "postgres://apex:s3cret@db/apex");
            assert!(c.master_key().unwrap().is_some());

            chmod("master.key", 0o640);
            let e = Config::load(None).unwrap_err();
            assert_eq!(e.var, "APEX_MASTER_KEY_FILE");
            assert!(e.message.contains("chmod 600"), "{e}");
            chmod("master.key", 0o600);

            jail.set_env("APEX_DATABASE_URL", "postgres://other");
            let e = Config::load(None).unwrap_err();
            assert!(e.message.contains("not both"), "{e}");
            Ok(())
        });
    }

    #[test]
    fn problems_name_the_variable() {
        figment::Jail::expect_with(|jail| {
            jail.set_env("APEX_TSIG_KEY", "nonsense");
            jail.set_env("APEX_NOTIFY", "not-an-address");
            let c = Config::load(None).unwrap();
            let vars: Vec<String> = c.check(true).into_iter().map(|e| e.var).collect();
            assert_eq!(
                vars,
                vec![
                    "APEX_DATABASE_URL",
                    "APEX_REDIS_URL",
                    "APEX_TSIG_KEY",
                    "APEX_NOTIFY"
                ]
            );
            jail.set_env("APEX_SOA_EXPIRE", "3000000000");
            assert_eq!(
                Config::load(None).unwrap().platform().unwrap_err().var,
                "APEX_SOA_EXPIRE"
            );
            jail.set_env("APEX_HTTP_LISTEN", "nowhere");
            assert_eq!(Config::load(None).unwrap_err().var, "APEX_HTTP_LISTEN");
            Ok(())
        });
    }

    #[test]
    fn webhook_settings() {
        figment::Jail::expect_with(|jail| {
            let c = Config::load(None).unwrap();
            assert!(!c.webhook_allow_private);
            assert_eq!(c.webhook_first_retry, 5);
            jail.set_env("APEX_WEBHOOK_ALLOW_PRIVATE", "true");
            jail.set_env("APEX_WEBHOOK_FIRST_RETRY", "1");
            let c = Config::load(None).unwrap();
            assert!(c.webhook_allow_private);
            assert_eq!(c.webhook_first_retry, 1);
            assert!(c.platform().unwrap().webhook_allow_private);
            jail.set_env("APEX_WEBHOOK_ALLOW_PRIVATE", "maybe");
            assert_eq!(
                Config::load(None).unwrap_err().var,
                "APEX_WEBHOOK_ALLOW_PRIVATE"
            );
            Ok(())
        });
    }

    #[test]
    fn limits_settings() {
        figment::Jail::expect_with(|jail| {
            let c = Config::load(None).unwrap();
            let limits = c.rate_limits().unwrap();
            assert!(limits.enabled);
            assert_eq!(
                limits.credential.map(|p| (p.per_minute, p.burst)),
                Some((300, 30))
            );
            assert_eq!(limits.anonymous.map(|p| p.burst), Some(10));
            assert_eq!(c.platform().unwrap().quotas.records_per_domain, 1_000_000);
            assert_eq!(c.http_server().unwrap().max_concurrent, 1024);
            let pool = c.database_pool().unwrap();
            assert_eq!((pool.min, pool.max), (16, 20));
            jail.set_env("APEX_DATABASE_MIN_CONNECTIONS", "30");
            let e = Config::load(None).unwrap().database_pool().unwrap_err();
            assert!(
                e.to_string().contains("APEX_DATABASE_MIN_CONNECTIONS"),
                "{e}"
            );
            jail.set_env("APEX_DATABASE_MIN_CONNECTIONS", "0");
            jail.set_env("APEX_DATABASE_MAX_CONNECTIONS", "0");
            assert!(Config::load(None).unwrap().database_pool().is_err());
            jail.set_env("APEX_DATABASE_MAX_CONNECTIONS", "20");
            jail.set_env("APEX_RATE_LIMIT", "false");
            jail.set_env("APEX_RATE_LIMIT_ADDRESS_PER_MINUTE", "0");
            let limits = Config::load(None).unwrap().rate_limits().unwrap();
            assert!(!limits.enabled);
            assert_eq!(limits.address, None);
            jail.set_env("APEX_RATE_LIMIT_CREDENTIAL_BURST", "0");
            assert_eq!(
                Config::load(None).unwrap().platform().unwrap_err().var,
                "APEX_RATE_LIMIT_CREDENTIAL_BURST"
            );
            jail.set_env("APEX_RATE_LIMIT_CREDENTIAL_BURST", "5");
            jail.set_env("APEX_HTTP_HEADER_TIMEOUT", "0");
            let vars: Vec<String> = Config::load(None)
                .unwrap()
                .check(false)
                .into_iter()
                .map(|e| e.var)
                .collect();
            assert!(
                vars.contains(&"APEX_HTTP_HEADER_TIMEOUT".to_string()),
                "{vars:?}"
            );
            Ok(())
        });
    }

    #[test]
    fn toml_file() {
        figment::Jail::expect_with(|jail| {
            jail.create_file(
                "apex.toml",
                "http_listen = \"127.0.0.1:9999\"\nnameservers = [\"a.example.\"]\n",
            )?;
            let c = Config::load(Some(Path::new("apex.toml"))).unwrap();
            assert_eq!(c.http_listen.port(), 9999);
            assert_eq!(c.nameservers, vec!["a.example."]);
            Ok(())
        });
    }

    #[test]
    fn tsig_keys_are_plain_data() {
        let text = "Apex-Fleet:HMAC-SHA512:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";
        let key = TsigKeyData::parse(text).unwrap();
        assert_eq!(
            (key.name.as_str(), key.algorithm),
            ("Apex-Fleet", "hmac-sha512")
        );
        assert_eq!(key.secret, vec![0u8; 32]);
        assert_eq!(
            key.config_text(),
            "Apex-Fleet:hmac-sha512:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="
        );
        assert!(!format!("{key:?}").contains("AAAA"));
        let fails = |t: &str| TsigKeyData::parse(t).unwrap_err();
        assert!(fails("nonsense").contains("name:algorithm:base64secret"));
        assert!(fails(":hmac-sha256:AAAA").contains("not a valid domain name"));
        assert!(fails("k:hmac-md5:AAAA").contains("not supported"));
        assert!(fails("k:hmac-sha256:AAAA").contains("at least 16 bytes"));
    }

    #[test]
    fn fleet_nameservers_have_names_and_their_own_keys() {
        let secret = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";
        let mut c = Config::defaults();
        c.tsig_key = Some(SecretString::from(format!("fleet:hmac-sha256:{secret}")));
        c.tsig_keys = Some(SecretString::from(format!(
            "ns1-2026:hmac-sha256:{secret}, ns1-2027:hmac-sha512:{secret}"
        )));
        c.notify = vec![
            "ns1.example.net=192.0.2.1:53/ns1-2027".into(),
            "[2001:db8::2]:5353".into(),
        ];
        let keys = c.tsig_keys().unwrap();
        let names: Vec<_> = keys.iter().map(|k| k.name.as_str()).collect();
        assert_eq!(names, ["fleet", "ns1-2026", "ns1-2027"]);
        let fleet = c.notify_targets().unwrap();
        assert_eq!(fleet[0].name, "ns1.example.net");
        assert_eq!(fleet[0].addr, "192.0.2.1:53".parse().unwrap());
        assert_eq!(fleet[0].key.as_deref(), Some("ns1-2027"));
        assert_eq!(fleet[1].name, "nameserver-2");
        assert_eq!(fleet[1].key, None);

        c.notify = vec!["ns1=192.0.2.1:53/nobody".into()];
        let e = c.notify_targets().unwrap_err();
        assert!(e.message.contains("no key named \"nobody\""), "{e}");
        c.notify = vec!["a=192.0.2.1:53".into(), "a=192.0.2.2:53".into()];
        assert!(c.notify_targets().unwrap_err().message.contains("twice"));
        c.tsig_keys = Some(SecretString::from(format!("fleet:hmac-sha256:{secret}")));
        let e = c.tsig_keys().unwrap_err();
        assert!(
            e.to_string()
                .starts_with("APEX_TSIG_KEYS: entry 1: a key named"),
            "{e}"
        );
        assert!(!e.to_string().contains(secret));
    }
}
