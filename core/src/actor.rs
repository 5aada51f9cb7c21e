//! Who is acting: the [`Actor`] behind every request, the [`Credential`] it presented, and
//! the roles it may hold — a platform [`Permission`] set ([`PlatformRoles`]) and a [`Role`] on
//! a shared domain, limited for an API key by its [`KeyScope`].
//!
//! Plain types with no rules of their own: what an actor may do is decided in
//! [`crate::authz`], and how one is established (sessions, keys, the command line) in
//! [`crate::auth`].

use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use crate::error::CoreError;
use crate::ids::{ApiKeyId, DomainId, SessionId, TsigKeyId, UserId};

/// A user's role on a shared domain, from least to most powerful (MyDNSHost's levels).
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    sqlx::Type,
    utoipa::ToSchema,
)]
#[sqlx(type_name = "domain_role", rename_all = "lowercase")]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// See the zone, its records, history and settings.
    Read,
    /// Change records.
    Write,
    /// Manage settings, webhooks, members and domain keys.
    Admin,
    /// Delete the domain, transfer ownership.
    Owner,
}

impl Role {
    /// Lowercase name, as in the API.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Read => "read",
            Role::Write => "write",
            Role::Admin => "admin",
            Role::Owner => "owner",
        }
    }

    /// Reads a role name.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "read" => Some(Role::Read),
            "write" => Some(Role::Write),
            "admin" => Some(Role::Admin),
            "owner" => Some(Role::Owner),
            _ => None,
        }
    }
}

/// Where a request came from, for the audit trail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Via {
    /// The REST API.
    Api,
    /// The dashboard.
    Web,
    /// The `apex` command line.
    Cli,
    /// An RFC 2136 UPDATE message, signed with a TSIG key.
    DnsUpdate,
}

impl Via {
    /// As stored in `changes.via`.
    pub fn as_str(self) -> &'static str {
        match self {
            Via::Api => "api",
            Via::Web => "web",
            Via::Cli => "cli",
            Via::DnsUpdate => "dns-update",
        }
    }
}

/// A platform role: what a user may do beyond their own domains and account.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Permission {
    /// List, create, disable and enable users, reset their second factor, set quotas.
    ManageUsers,
    /// Act on every domain as its owner; see the publishing jobs.
    ManageDomains,
    /// Create domains beyond the quota, and public suffixes.
    CreateDomains,
    /// Read everyone's audit events.
    ViewAudit,
    /// Act as another user, for support.
    Impersonate,
}

impl Permission {
    /// Every platform role.
    pub const ALL: [Permission; 5] = [
        Permission::ManageUsers,
        Permission::ManageDomains,
        Permission::CreateDomains,
        Permission::ViewAudit,
        Permission::Impersonate,
    ];

    /// As stored in `users.permissions`.
    pub fn as_str(self) -> &'static str {
        match self {
            Permission::ManageUsers => "manage_users",
            Permission::ManageDomains => "manage_domains",
            Permission::CreateDomains => "create_domains",
            Permission::ViewAudit => "view_audit",
            Permission::Impersonate => "impersonate",
        }
    }

    /// Reads a stored or submitted name.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.as_str() == s)
    }
}

/// A user's platform roles: an administrator holds them all.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PlatformRoles {
    /// A platform administrator: every permission, and granting them.
    pub admin: bool,
    /// Permissions granted one by one.
    pub granted: Vec<Permission>,
}

impl PlatformRoles {
    /// From the `users` columns.
    pub fn from_db(is_admin: bool, permissions: &[String]) -> Self {
        Self {
            admin: is_admin,
            granted: permissions
                .iter()
                .filter_map(|p| Permission::parse(p))
                .collect(),
        }
    }

    /// Holds `p`.
    pub fn has(&self, p: Permission) -> bool {
        self.admin || self.granted.contains(&p)
    }

    /// Holds anything at all beyond an ordinary user's.
    pub fn any(&self) -> bool {
        self.admin || !self.granted.is_empty()
    }
}

/// Which records a key may write: names matching a glob pattern, of some types.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RecordScope {
    /// A pattern over the absolute owner name without the final dot, case-insensitive: `*`
    /// is any run of characters (dots too), `?` one character. `_acme-challenge.*` matches
    /// `_acme-challenge.example.com` and `_acme-challenge.www.example.com`.
    pub name: String,
    /// Record types (`TXT`); empty: any type.
    #[serde(default)]
    pub types: Vec<String>,
}

impl RecordScope {
    /// Does this scope allow writing `rtype` records at `fqdn` (with or without the dot)?
    pub fn allows(&self, fqdn: &str, rtype: &str) -> bool {
        let name = fqdn.trim_end_matches('.').to_ascii_lowercase();
        wildmatch::WildMatch::new_case_insensitive(self.name.trim_end_matches('.')).matches(&name)
            && (self.types.is_empty() || self.types.iter().any(|t| t.eq_ignore_ascii_case(rtype)))
    }
}

/// What an API key may do, within what its user may (a domain key: within its domain).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyScope {
    /// The domains it may act on; `None`: all of its user's, present and future.
    pub domains: Option<Vec<DomainId>>,
    /// Source networks it may be used from; `None`: anywhere.
    pub networks: Option<Vec<ipnet::IpNet>>,
    /// When it stops working.
    pub expires_at: Option<chrono::DateTime<chrono::Utc>>,
    /// The highest role it may use on a domain.
    pub max_role: Role,
    /// The records it may write; `None`: any.
    pub records: Option<Vec<RecordScope>>,
    /// May create, change and revoke its user's keys.
    pub manage_keys: bool,
    /// May share domains (members and invitations) and leave them.
    pub manage_members: bool,
    /// May read and change its user's account (sessions, second factor, audit events).
    pub manage_account: bool,
    /// May use its user's platform roles (the admin API); only a key without domain, role
    /// or record limits may.
    pub platform_roles: bool,
}

impl KeyScope {
    /// Limited to some domains, a role below owner, or some records.
    pub fn limited(&self) -> bool {
        self.domains.is_some() || self.records.is_some() || self.max_role < Role::Owner
    }

    /// Everything its user may do: the first-start key, keys made on the command line.
    pub fn full() -> Self {
        Self {
            domains: None,
            networks: None,
            expires_at: None,
            max_role: Role::Owner,
            records: None,
            manage_keys: true,
            manage_members: true,
            manage_account: true,
            platform_roles: true,
        }
    }
}

/// How an actor proved who they are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Credential {
    /// A dashboard session.
    Session(SessionId),
    /// A user's API key.
    UserKey {
        /// The key.
        id: ApiKeyId,
        /// Its limits.
        scope: KeyScope,
    },
    /// A domain's key: acts on that domain alone, at its role, whoever made it.
    DomainKey {
        /// The key.
        id: ApiKeyId,
        /// The domain it belongs to.
        domain: DomainId,
        /// Its role there (never owner).
        role: Role,
        /// The records it may write; `None`: any.
        records: Option<Vec<RecordScope>>,
    },
    /// A domain's TSIG key, on a DNS message (UPDATE, a zone transfer).
    TsigKey {
        /// The key.
        id: TsigKeyId,
        /// Its DNS name (`certbot.example.com.`).
        name: String,
        /// The domain it belongs to.
        domain: DomainId,
        /// May send UPDATE (write records); otherwise it reads (transfers) only.
        may_update: bool,
        /// The records it may write; `None`: any.
        records: Option<Vec<RecordScope>>,
    },
    /// The operator on the `apex` command line (or a test), as the given user.
    Cli,
}

impl Credential {
    /// For the audit log and change records: `session:12`, `api_key:5`, `domain_key:7`,
    /// `tsig_key:3`, `cli`.
    pub fn label(&self) -> String {
        match self {
            Credential::Session(id) => format!("session:{id}"),
            Credential::UserKey { id, .. } => format!("api_key:{id}"),
            Credential::DomainKey { id, .. } => format!("domain_key:{id}"),
            Credential::TsigKey { id, .. } => format!("tsig_key:{id}"),
            Credential::Cli => "cli".into(),
        }
    }
}

/// Who is acting, through what, from where.
#[derive(Debug, Clone)]
pub struct Actor {
    /// The user acted as; `None` for a domain key.
    pub user_id: Option<UserId>,
    /// That user's e-mail address, for the audit log.
    pub email: Option<String>,
    /// That user's platform roles (an impersonator's own do not carry over).
    pub roles: PlatformRoles,
    /// The credential presented.
    pub credential: Credential,
    /// A platform administrator acting as this user (support), if any.
    pub impersonator: Option<Impersonator>,
    /// The platform requires a second factor of this user and they have none yet: only
    /// enrolling one is allowed.
    pub needs_2fa: bool,
    /// Through what.
    pub via: Via,
    /// The client's address, when known.
    pub source: Option<IpAddr>,
}

/// The administrator behind an impersonated request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Impersonator {
    /// Their id.
    pub user_id: UserId,
    /// Their address.
    pub email: String,
}

impl Actor {
    /// The operator on the command line acting as `user` with that user's platform roles
    /// (also what tests and tools use to act as a user directly).
    pub fn cli(user: UserId, roles: PlatformRoles) -> Self {
        Self {
            user_id: Some(user),
            email: None,
            roles,
            credential: Credential::Cli,
            impersonator: None,
            needs_2fa: false,
            via: Via::Cli,
            source: None,
        }
    }

    /// The API key used, if any (user or domain key), for change records.
    pub fn api_key_id(&self) -> Option<ApiKeyId> {
        match &self.credential {
            Credential::UserKey { id, .. } | Credential::DomainKey { id, .. } => Some(*id),
            _ => None,
        }
    }

    /// The TSIG key used, by name, if any.
    pub fn tsig_key_name(&self) -> Option<&str> {
        match &self.credential {
            Credential::TsigKey { name, .. } => Some(name),
            _ => None,
        }
    }

    /// The session used, if any.
    pub fn session_id(&self) -> Option<SessionId> {
        match &self.credential {
            Credential::Session(id) => Some(*id),
            _ => None,
        }
    }

    /// The user, or `Forbidden` for a domain key (which belongs to no one).
    pub fn user(&self) -> Result<UserId, CoreError> {
        self.user_id.ok_or_else(|| {
            CoreError::Forbidden("a domain key acts on its domain only, not on an account".into())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_scopes() {
        let acme = RecordScope {
            name: "_acme-challenge.*".into(),
            types: vec!["TXT".into()],
        };
        assert!(acme.allows("_acme-challenge.example.com.", "TXT"));
        assert!(acme.allows("_ACME-challenge.www.example.com", "txt"));
        assert!(!acme.allows("_acme-challenge.example.com.", "A"));
        assert!(!acme.allows("www.example.com.", "TXT"));
        assert!(!acme.allows("x_acme-challenge.example.com.", "TXT"));
        let any = RecordScope {
            name: "*.dev.example.com".into(),
            types: vec![],
        };
        assert!(any.allows("a.dev.example.com.", "AAAA"));
        assert!(!any.allows("dev.example.com.", "AAAA"));
    }

    #[test]
    fn platform_roles() {
        let r = PlatformRoles::from_db(false, &["view_audit".into(), "bogus".into()]);
        assert!(r.has(Permission::ViewAudit));
        assert!(!r.has(Permission::ManageUsers));
        assert!(PlatformRoles::from_db(true, &[]).has(Permission::Impersonate));
    }
}
