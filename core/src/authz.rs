//! Authorization: [`authorize`] is the one function that decides whether an actor may do
//! something. The API and the dashboard reach it through the loaders of apex-core
//! ([`crate::domains::load`], [`crate::domains::lock`]) and the account and platform
//! functions; no handler checks permissions by itself.
//!
//! The answers follow one rule, so that nothing leaks: someone who may not see a domain is
//! told it does not exist (404); someone who may see it but not do this is told why (403);
//! someone without a valid credential never gets this far (401, in authentication).

use serde::{Deserialize, Serialize};

use crate::CoreError;
use crate::auth::{Actor, Credential, Permission, RecordScope};
use crate::ids::DomainId;

/// A user's role on a shared domain, from least to most powerful (MyDNSHost's levels).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, sqlx::Type,
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

/// Something an actor wants to do to a domain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action<'a> {
    /// Read the domain, its records, changes, settings and members.
    Read,
    /// Begin a record write: the domain is loaded for writing, and every record the write
    /// touches is then authorized as [`Action::WriteRecord`].
    WriteRecords,
    /// Write (create, change or delete) one record: `name` is the owner, absolute.
    WriteRecord {
        /// The owner name (`_acme-challenge.example.com.`).
        name: &'a str,
        /// The type (`TXT`).
        rtype: &'a str,
    },
    /// Replace or merge the whole zone (imports): needs a credential without record limits.
    WriteZone,
    /// Change settings and webhooks.
    Administer,
    /// What hands out a secret (creating a webhook): like [`Action::Administer`], but never
    /// while impersonating.
    AdministerSecret,
    /// Invite, change and remove members.
    ManageMembers,
    /// Create, change and revoke the domain's own keys.
    ManageKeys,
    /// Leave the domain yourself.
    Leave,
    /// Delete the domain.
    Delete,
}

impl Action<'_> {
    fn needs(self) -> Role {
        match self {
            Action::Read | Action::Leave => Role::Read,
            Action::WriteRecords | Action::WriteRecord { .. } | Action::WriteZone => Role::Write,
            Action::Administer
            | Action::AdministerSecret
            | Action::ManageMembers
            | Action::ManageKeys => Role::Admin,
            Action::Delete => Role::Owner,
        }
    }
}

/// Something an actor wants to do to their own account.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccountAction {
    /// See the account, its sessions and its audit events.
    Read,
    /// Change the password or the second factor, end sessions, delete the account.
    Manage,
    /// List the user's keys.
    ReadKeys,
    /// Create, change and revoke the user's keys.
    ManageKeys,
}

/// A domain as authorization sees it.
#[derive(Debug, Clone, Copy)]
pub struct DomainAccess<'a> {
    /// Its id.
    pub id: DomainId,
    /// Its name, for messages.
    pub name: &'a str,
    /// The acting user's membership role, if any.
    pub member: Option<Role>,
}

/// What is being asked.
#[derive(Debug, Clone, Copy)]
pub enum Request<'a> {
    /// An action on a domain.
    Domain(DomainAccess<'a>, Action<'a>),
    /// An action on the actor's own account.
    Account(AccountAction),
    /// A platform-wide action.
    Platform(Permission),
    /// Creating a domain (quotas and name rules are checked afterwards, by
    /// [`crate::domains::create`]).
    CreateDomain,
}

fn forbidden(message: impl Into<String>) -> CoreError {
    CoreError::Forbidden(message.into())
}

fn hidden(name: &str) -> CoreError {
    CoreError::NotFound {
        what: "domain",
        name: name.to_string(),
    }
}

/// Does the actor hold `p` through this credential? Platform roles come through a session,
/// the command line, or a user key allowed to use them; never through a domain key.
pub fn holds(actor: &Actor, p: Permission) -> bool {
    let through = match &actor.credential {
        Credential::Session(_) | Credential::Cli => true,
        Credential::UserKey { scope, .. } => scope.platform_roles,
        Credential::DomainKey { .. } => false,
    };
    through && !actor.needs_2fa && actor.roles.has(p)
}

/// The role the actor may use on a domain through this credential: the membership role,
/// capped by the key; a domain key's own role on its domain; owner for holders of
/// `manage_domains`. `None`: the domain is not theirs to see.
pub fn effective_role(actor: &Actor, domain: &DomainAccess<'_>) -> Option<Role> {
    if holds(actor, Permission::ManageDomains) {
        return Some(Role::Owner);
    }
    match &actor.credential {
        Credential::Session(_) | Credential::Cli => domain.member,
        Credential::UserKey { scope, .. } => {
            if scope
                .domains
                .as_ref()
                .is_some_and(|list| !list.contains(&domain.id))
            {
                return None;
            }
            domain.member.map(|r| r.min(scope.max_role))
        }
        Credential::DomainKey {
            domain: own, role, ..
        } => (*own == domain.id).then_some(*role),
    }
}

/// The record limits of the credential, if it has any.
fn record_limits(actor: &Actor) -> Option<&[RecordScope]> {
    match &actor.credential {
        Credential::UserKey { scope, .. } => scope.records.as_deref(),
        Credential::DomainKey { records, .. } => records.as_deref(),
        Credential::Session(_) | Credential::Cli => None,
    }
}

fn describe(scopes: &[RecordScope]) -> String {
    scopes
        .iter()
        .map(|s| {
            if s.types.is_empty() {
                format!("{} (any type)", s.name)
            } else {
                format!("{} ({})", s.name, s.types.join(", "))
            }
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// Decides. This is the only place that does.
pub fn authorize(actor: &Actor, request: Request<'_>) -> Result<(), CoreError> {
    let impersonating = actor.impersonator.is_some();
    if actor.needs_2fa
        && !matches!(
            request,
            Request::Account(AccountAction::Read | AccountAction::Manage)
        )
    {
        return Err(forbidden(
            "this platform requires two-factor authentication: turn it on (POST /api/v1/account/2fa/totp) before anything else",
        ));
    }
    match request {
        Request::Domain(domain, action) => {
            let Some(role) = effective_role(actor, &domain) else {
                // A key kept away from one of its user's domains: the user knows the domain
                // exists, so say why.
                if let Credential::UserKey { .. } = &actor.credential
                    && domain.member.is_some()
                {
                    return Err(forbidden(format!(
                        "this key may act only on the domains it lists; {} is not one of them",
                        domain.name
                    )));
                }
                return Err(hidden(domain.name));
            };
            if role < action.needs() {
                let through = match &actor.credential {
                    Credential::UserKey { scope, .. } if scope.max_role < action.needs() => {
                        format!(" (this key is limited to {})", scope.max_role.as_str())
                    }
                    Credential::DomainKey { .. } => " (through this domain key)".into(),
                    _ => String::new(),
                };
                return Err(forbidden(format!(
                    "your role on {} is {}{through}; this needs {}",
                    domain.name,
                    role.as_str(),
                    action.needs().as_str()
                )));
            }
            match action {
                Action::WriteRecord { name, rtype } => {
                    if let Some(scopes) = record_limits(actor)
                        && !scopes.iter().any(|s| s.allows(name, rtype))
                    {
                        return Err(forbidden(format!(
                            "this key may write only records matching {}; {name} {rtype} is outside that",
                            describe(scopes)
                        )));
                    }
                }
                Action::WriteZone => {
                    if let Some(scopes) = record_limits(actor) {
                        return Err(forbidden(format!(
                            "this key may write only records matching {}; replacing or merging the whole zone needs a key without record limits",
                            describe(scopes)
                        )));
                    }
                }
                Action::ManageMembers | Action::Leave => match &actor.credential {
                    Credential::UserKey { scope, .. } if !scope.manage_members => {
                        return Err(forbidden("this key may not manage members"));
                    }
                    Credential::DomainKey { .. } => {
                        return Err(forbidden("a domain key may not manage members"));
                    }
                    _ => {}
                },
                Action::ManageKeys => match &actor.credential {
                    Credential::UserKey { scope, .. } if !scope.manage_keys => {
                        return Err(forbidden("this key may not manage keys"));
                    }
                    Credential::DomainKey { .. } => {
                        return Err(forbidden("a domain key may not manage keys"));
                    }
                    _ => {}
                },
                _ => {}
            }
            if impersonating && matches!(action, Action::AdministerSecret | Action::ManageKeys) {
                return Err(forbidden(
                    "impersonation cannot be used to create or read secrets",
                ));
            }
            Ok(())
        }
        Request::Account(what) => {
            let allowed = match &actor.credential {
                Credential::Session(_) | Credential::Cli => true,
                Credential::UserKey { scope, .. } => match what {
                    AccountAction::Read | AccountAction::Manage => scope.manage_account,
                    AccountAction::ReadKeys | AccountAction::ManageKeys => scope.manage_keys,
                },
                Credential::DomainKey { .. } => {
                    return Err(forbidden(
                        "a domain key acts on its domain only, not on an account",
                    ));
                }
            };
            if !allowed {
                return Err(forbidden(match what {
                    AccountAction::Read | AccountAction::Manage => {
                        "this key may not read or change its user's account"
                    }
                    AccountAction::ReadKeys | AccountAction::ManageKeys => {
                        "this key may not manage keys"
                    }
                }));
            }
            if impersonating && matches!(what, AccountAction::Manage | AccountAction::ManageKeys) {
                return Err(forbidden(
                    "impersonation cannot change a user's credentials or create secrets",
                ));
            }
            Ok(())
        }
        Request::Platform(p) => {
            if holds(actor, p) {
                Ok(())
            } else if matches!(actor.credential, Credential::UserKey { .. }) && actor.roles.has(p) {
                Err(forbidden(format!(
                    "this key may not use its user's platform roles; {} needs one that may",
                    p.as_str()
                )))
            } else {
                Err(forbidden(format!(
                    "this needs the platform role {}",
                    p.as_str()
                )))
            }
        }
        Request::CreateDomain => match &actor.credential {
            Credential::Session(_) | Credential::Cli => Ok(()),
            Credential::UserKey { scope, .. } => {
                if scope.domains.is_some() {
                    Err(forbidden(
                        "this key is limited to certain domains and may not create new ones",
                    ))
                } else if scope.records.is_some() {
                    Err(forbidden(
                        "this key may write only some records and may not create domains",
                    ))
                } else {
                    Ok(())
                }
            }
            Credential::DomainKey { .. } => Err(forbidden("a domain key may not create domains")),
        },
    }
}

/// Shorthand: authorizes `action` on `domain`.
pub fn domain(
    actor: &Actor,
    domain: DomainAccess<'_>,
    action: Action<'_>,
) -> Result<(), CoreError> {
    authorize(actor, Request::Domain(domain, action))
}

/// Shorthand: authorizes a platform-wide action.
pub fn platform(actor: &Actor, p: Permission) -> Result<(), CoreError> {
    authorize(actor, Request::Platform(p))
}

/// Shorthand: authorizes an action on the actor's own account and returns the user.
pub fn account(actor: &Actor, what: AccountAction) -> Result<crate::ids::UserId, CoreError> {
    authorize(actor, Request::Account(what))?;
    actor.user()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::{Impersonator, KeyScope, PlatformRoles};
    use crate::ids::{ApiKeyId, SessionId, UserId};

    fn session() -> Actor {
        let mut a = Actor::cli(UserId(1), PlatformRoles::default());
        a.credential = Credential::Session(SessionId(1));
        a
    }

    fn keyed(scope: KeyScope) -> Actor {
        let mut a = session();
        a.credential = Credential::UserKey {
            id: ApiKeyId(1),
            scope,
        };
        a
    }

    fn on(member: Option<Role>) -> DomainAccess<'static> {
        DomainAccess {
            id: DomainId(7),
            name: "example.com",
            member,
        }
    }

    fn status(r: Result<(), CoreError>) -> u16 {
        match r {
            Ok(()) => 200,
            Err(CoreError::Forbidden(_)) => 403,
            Err(CoreError::NotFound { .. }) => 404,
            Err(e) => panic!("{e:?}"),
        }
    }

    #[test]
    fn roles() {
        let a = session();
        assert_eq!(
            status(domain(&a, on(Some(Role::Owner)), Action::Delete)),
            200
        );
        assert_eq!(
            status(domain(&a, on(Some(Role::Write)), Action::WriteRecords)),
            200
        );
        assert_eq!(
            status(domain(&a, on(Some(Role::Read)), Action::WriteRecords)),
            403
        );
        assert_eq!(
            status(domain(&a, on(Some(Role::Admin)), Action::Delete)),
            403
        );
        assert_eq!(status(domain(&a, on(None), Action::Read)), 404);
        let mut admin = session();
        admin.roles.admin = true;
        assert_eq!(status(domain(&admin, on(None), Action::Delete)), 200);
    }

    #[test]
    fn keys_are_capped() {
        let mut scope = KeyScope::full();
        scope.max_role = Role::Read;
        let a = keyed(scope.clone());
        assert_eq!(status(domain(&a, on(Some(Role::Owner)), Action::Read)), 200);
        assert_eq!(
            status(domain(&a, on(Some(Role::Owner)), Action::WriteRecords)),
            403
        );
        scope.max_role = Role::Owner;
        scope.domains = Some(vec![DomainId(8)]);
        assert_eq!(
            status(domain(
                &keyed(scope.clone()),
                on(Some(Role::Owner)),
                Action::Read
            )),
            403
        );
        assert_eq!(status(domain(&keyed(scope), on(None), Action::Read)), 404);
        // A key of an administrator may not use the platform roles unless allowed.
        let mut scope = KeyScope::full();
        scope.platform_roles = false;
        let mut a = keyed(scope);
        a.roles.admin = true;
        assert_eq!(status(domain(&a, on(None), Action::Read)), 404);
        assert_eq!(status(platform(&a, Permission::ManageUsers)), 403);
    }

    #[test]
    fn record_scopes() {
        let mut scope = KeyScope::full();
        scope.records = Some(vec![RecordScope {
            name: "_acme-challenge.*".into(),
            types: vec!["TXT".into()],
        }]);
        let a = keyed(scope);
        let write = |name, rtype| {
            status(domain(
                &a,
                on(Some(Role::Owner)),
                Action::WriteRecord { name, rtype },
            ))
        };
        assert_eq!(write("_acme-challenge.example.com.", "TXT"), 200);
        assert_eq!(write("_acme-challenge.example.com.", "A"), 403);
        assert_eq!(write("www.example.com.", "TXT"), 403);
        assert_eq!(
            status(domain(&a, on(Some(Role::Owner)), Action::WriteZone)),
            403
        );
        assert_eq!(status(authorize(&a, Request::CreateDomain)), 403);
    }

    #[test]
    fn domain_keys() {
        let mut a = session();
        a.user_id = None;
        a.credential = Credential::DomainKey {
            id: ApiKeyId(2),
            domain: DomainId(7),
            role: Role::Write,
            records: None,
        };
        assert_eq!(status(domain(&a, on(None), Action::WriteRecords)), 200);
        assert_eq!(status(domain(&a, on(None), Action::Administer)), 403);
        let other = DomainAccess {
            id: DomainId(9),
            name: "other.example",
            member: None,
        };
        assert_eq!(status(domain(&a, other, Action::Read)), 404);
        assert_eq!(
            status(authorize(&a, Request::Account(AccountAction::Read))),
            403
        );
    }

    #[test]
    fn impersonation_reads_no_secrets() {
        let mut a = session();
        a.impersonator = Some(Impersonator {
            user_id: UserId(2),
            email: "support@example.net".into(),
        });
        assert_eq!(
            status(domain(&a, on(Some(Role::Owner)), Action::Administer)),
            200
        );
        assert_eq!(
            status(domain(&a, on(Some(Role::Owner)), Action::AdministerSecret)),
            403
        );
        assert_eq!(
            status(authorize(&a, Request::Account(AccountAction::ManageKeys))),
            403
        );
        assert_eq!(
            status(authorize(&a, Request::Account(AccountAction::Read))),
            200
        );
    }

    #[test]
    fn second_factor_required_first() {
        let mut a = session();
        a.needs_2fa = true;
        assert_eq!(status(domain(&a, on(Some(Role::Owner)), Action::Read)), 403);
        assert_eq!(
            status(authorize(&a, Request::Account(AccountAction::Manage))),
            200
        );
    }
}
