//! Authorization: [`authorize`] is the one function that decides whether an actor may do
//! something. The API and the dashboard reach it through the loaders of apex-core
//! ([`crate::domain::load`], [`crate::domain::lock`]) and the account and platform
//! functions; no handler checks permissions by itself.
//!
//! The answers follow one rule, so that nothing leaks: someone who may not see a domain is
//! told it does not exist (404); someone who may see it but not do this is told why (403);
//! someone without a valid credential never gets this far (401, in authentication).

use crate::CoreError;
use crate::actor::{Actor, Credential, KeyScope, Permission, PlatformRoles, RecordScope, Role};
use crate::ids::DomainId;

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

/// A change to a domain's members.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MemberChange {
    /// Someone is added (or invited) at `role`.
    Add {
        /// The role given.
        role: Role,
    },
    /// A member's role goes from `from` to `to` (`to` owner: ownership handed on).
    Change {
        /// Their role now.
        from: Role,
        /// Their role after.
        to: Role,
        /// The member is the actor.
        own: bool,
    },
    /// A member at `role` is removed (`own`: the actor leaves).
    Remove {
        /// Their role.
        role: Role,
        /// The member is the actor.
        own: bool,
    },
}

/// A key about to be made or changed: its limits, and the domain it belongs to for a domain
/// key.
#[derive(Debug, Clone, Copy)]
pub struct KeyGrant<'a> {
    /// `None`: one of the actor's own keys.
    pub domain: Option<DomainAccess<'a>>,
    /// Its limits.
    pub scope: &'a KeyScope,
}

/// What is being asked.
#[derive(Debug, Clone, Copy)]
pub enum Request<'a> {
    /// An action on a domain.
    Domain(DomainAccess<'a>, Action<'a>),
    /// A change to a domain's members.
    Member(DomainAccess<'a>, MemberChange),
    /// An action on the actor's own account.
    Account(AccountAction),
    /// A platform-wide action.
    Platform(Permission),
    /// Changing another user's account as an administrator (`target`: their platform roles;
    /// `grants`: the change gives or takes platform roles).
    AdminUser {
        /// The target's platform roles.
        target: &'a PlatformRoles,
        /// Platform roles are given or taken.
        grants: bool,
    },
    /// Acting as another user, whose platform roles are `target`.
    Impersonate {
        /// The target's platform roles.
        target: &'a PlatformRoles,
    },
    /// Making or changing a key.
    GrantKey(KeyGrant<'a>),
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

/// May the actor's platform roles be used through this credential? Through a session, the
/// command line, or a key allowed to use them that has no domain, role or record limits;
/// never through a domain key, nor while impersonating (the impersonated user's roles are
/// theirs, not the administrator's).
fn roles_usable(actor: &Actor) -> bool {
    let through = match &actor.credential {
        Credential::Session(_) | Credential::Cli => true,
        Credential::UserKey { scope, .. } => scope.platform_roles && !scope.limited(),
        Credential::DomainKey { .. } | Credential::TsigKey { .. } => false,
    };
    through && !actor.needs_2fa && actor.impersonator.is_none()
}

/// Does the actor hold `p` through this credential?
pub fn holds(actor: &Actor, p: Permission) -> bool {
    roles_usable(actor) && actor.roles.has(p)
}

/// Is the actor a platform administrator through this credential?
fn is_admin(actor: &Actor) -> bool {
    roles_usable(actor) && actor.roles.admin
}

/// The role the actor may use on a domain through this credential: the membership role,
/// capped by the key; a domain key's own role on its domain; owner for holders of
/// `manage_domains`. A credential limited to some records acts at most as `write`.
/// `None`: the domain is not theirs to see.
pub fn effective_role(actor: &Actor, domain: &DomainAccess<'_>) -> Option<Role> {
    if holds(actor, Permission::ManageDomains) {
        return Some(Role::Owner);
    }
    let role = match &actor.credential {
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
        Credential::TsigKey {
            domain: own,
            may_update,
            ..
        } => (*own == domain.id).then_some(if *may_update { Role::Write } else { Role::Read }),
    }?;
    Some(if record_limits(actor).is_some() {
        role.min(Role::Write)
    } else {
        role
    })
}

/// The record limits of the credential, if it has any.
fn record_limits(actor: &Actor) -> Option<&[RecordScope]> {
    match &actor.credential {
        Credential::UserKey { scope, .. } => scope.records.as_deref(),
        Credential::DomainKey { records, .. } | Credential::TsigKey { records, .. } => {
            records.as_deref()
        }
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
    match request {
        Request::Domain(domain, action) => domain_action(actor, domain, action),
        Request::Member(domain, change) => member_change(actor, domain, change),
        Request::Account(what) => account_action(actor, what),
        Request::Platform(p) => {
            required_2fa(actor)?;
            if holds(actor, p) {
                Ok(())
            } else if matches!(actor.credential, Credential::UserKey { .. }) && actor.roles.has(p) {
                Err(forbidden(format!(
                    "this key may not use its user's platform roles; {} needs a key that may, without domain, role or record limits",
                    p.as_str()
                )))
            } else {
                Err(forbidden(format!(
                    "this needs the platform role {}",
                    p.as_str()
                )))
            }
        }
        Request::AdminUser { target, grants } => {
            authorize(actor, Request::Platform(Permission::ManageUsers))?;
            if grants && !is_admin(actor) {
                return Err(forbidden(
                    "only a platform administrator may grant or take platform roles",
                ));
            }
            if target.any() && !is_admin(actor) {
                return Err(forbidden(
                    "this account holds platform roles: only a platform administrator may change it",
                ));
            }
            Ok(())
        }
        Request::Impersonate { target } => {
            authorize(actor, Request::Platform(Permission::Impersonate))?;
            if actor.impersonator.is_some() {
                return Err(forbidden("impersonation does not nest"));
            }
            if target.any() && !is_admin(actor) {
                return Err(forbidden(
                    "this user holds platform roles: only a platform administrator may act as them",
                ));
            }
            Ok(())
        }
        Request::GrantKey(grant) => key_grant(actor, grant),
        Request::CreateDomain => {
            required_2fa(actor)?;
            match &actor.credential {
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
                Credential::DomainKey { .. } | Credential::TsigKey { .. } => {
                    Err(forbidden("a domain key may not create domains"))
                }
            }
        }
    }
}

/// A user the platform requires a second factor of, without one yet, may only see and change
/// their own account (to turn it on).
fn required_2fa(actor: &Actor) -> Result<(), CoreError> {
    if actor.needs_2fa {
        Err(forbidden(
            "this platform requires two-factor authentication: turn it on (POST /api/v1/account/2fa/totp) before anything else",
        ))
    } else {
        Ok(())
    }
}

fn domain_action(
    actor: &Actor,
    domain: DomainAccess<'_>,
    action: Action<'_>,
) -> Result<(), CoreError> {
    let Some(role) = effective_role(actor, &domain) else {
        // A key kept away from one of its user's domains: the user knows the domain exists,
        // so say why.
        if let Credential::UserKey { .. } = &actor.credential
            && domain.member.is_some()
            && !actor.needs_2fa
        {
            return Err(forbidden(format!(
                "this key may act only on the domains it lists; {} is not one of them",
                domain.name
            )));
        }
        return Err(hidden(domain.name));
    };
    required_2fa(actor)?;
    if role < action.needs() {
        let through = match &actor.credential {
            Credential::UserKey { scope, .. } if scope.max_role < action.needs() => {
                format!(" (this key is limited to {})", scope.max_role.as_str())
            }
            _ if record_limits(actor).is_some() => {
                " (this key may write only some records, which is at most write)".to_string()
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
    if actor.impersonator.is_some() {
        match action {
            Action::AdministerSecret | Action::ManageKeys => {
                return Err(forbidden(
                    "impersonation cannot be used to create or read secrets",
                ));
            }
            Action::ManageMembers | Action::Leave => {
                return Err(forbidden(
                    "impersonation cannot change who has access to a domain",
                ));
            }
            _ => {}
        }
    }
    Ok(())
}

fn member_change(
    actor: &Actor,
    domain: DomainAccess<'_>,
    change: MemberChange,
) -> Result<(), CoreError> {
    if let MemberChange::Remove { own: true, .. } = change {
        return domain_action(actor, domain, Action::Leave);
    }
    domain_action(actor, domain, Action::ManageMembers)?;
    if holds(actor, Permission::ManageDomains) {
        return Ok(());
    }
    let mine = effective_role(actor, &domain).unwrap_or(Role::Read);
    let below = |role: Role, what: &str| {
        if role >= mine {
            Err(forbidden(format!(
                "your role on {} is {}: {what}",
                domain.name,
                mine.as_str()
            )))
        } else {
            Ok(())
        }
    };
    match change {
        MemberChange::Add { role } => below(role, "you can grant only roles below it"),
        MemberChange::Change { from, to, own } => {
            if own {
                return Err(forbidden(
                    "you cannot change your own role; a member above you can",
                ));
            }
            if to == Role::Owner {
                return if mine == Role::Owner {
                    Ok(())
                } else {
                    Err(forbidden(format!(
                        "only the owner of {} hands ownership on",
                        domain.name
                    )))
                };
            }
            below(from, "you can change only members below it")?;
            below(to, "you can grant only roles below it")
        }
        MemberChange::Remove { role, .. } => below(role, "you can remove only members below it"),
    }
}

fn account_action(actor: &Actor, what: AccountAction) -> Result<(), CoreError> {
    let allowed = match &actor.credential {
        Credential::Session(_) | Credential::Cli => true,
        Credential::UserKey { scope, .. } => match what {
            AccountAction::Read | AccountAction::Manage => scope.manage_account,
            AccountAction::ReadKeys | AccountAction::ManageKeys => scope.manage_keys,
        },
        Credential::DomainKey { .. } | Credential::TsigKey { .. } => {
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
            AccountAction::ReadKeys | AccountAction::ManageKeys => "this key may not manage keys",
        }));
    }
    if matches!(what, AccountAction::ReadKeys | AccountAction::ManageKeys) {
        required_2fa(actor)?;
    }
    if actor.impersonator.is_some()
        && matches!(what, AccountAction::Manage | AccountAction::ManageKeys)
    {
        return Err(forbidden(
            "impersonation cannot change a user's credentials or create secrets",
        ));
    }
    Ok(())
}

/// A key made by a key fits inside it (domains, role, records, networks, expiry,
/// permissions); a domain key is not above its maker's role there.
fn key_grant(actor: &Actor, grant: KeyGrant<'_>) -> Result<(), CoreError> {
    let new = grant.scope;
    match grant.domain {
        None => account_action(actor, AccountAction::ManageKeys)?,
        Some(domain) => {
            domain_action(actor, domain, Action::ManageKeys)?;
            let mine = effective_role(actor, &domain).unwrap_or(Role::Read);
            if new.max_role > mine {
                return Err(forbidden(format!(
                    "your role on {} is {}; a key you make cannot have more ({})",
                    domain.name,
                    mine.as_str(),
                    new.max_role.as_str()
                )));
            }
        }
    }
    let Credential::UserKey { id, scope: parent } = &actor.credential else {
        return Ok(());
    };
    let outside = |what: &str| {
        Err(forbidden(format!(
            "a key made with key {id} cannot have more power than it: {what}"
        )))
    };
    if grant.domain.is_none() {
        if let Some(mine) = &parent.domains {
            match &new.domains {
                None => return outside("it is limited to some domains"),
                Some(list) if list.iter().any(|d| !mine.contains(d)) => {
                    return outside("a domain outside its domains");
                }
                _ => {}
            }
        }
        if new.max_role > parent.max_role {
            return outside("a higher role");
        }
    }
    if parent.records.is_some() && new.records != parent.records {
        return outside("it may write only some records; give the new key the same limits");
    }
    if let Some(nets) = &parent.networks {
        let inside = new
            .networks
            .as_ref()
            .is_some_and(|list| list.iter().all(|n| nets.iter().any(|p| p.contains(n))));
        if !inside {
            return outside(
                "it may be used only from some networks; the new key's must lie inside them",
            );
        }
    }
    if let Some(end) = parent.expires_at
        && new.expires_at.is_none_or(|e| e > end)
    {
        return outside("it expires; the new key must expire no later");
    }
    if (new.manage_keys && !parent.manage_keys)
        || (new.manage_members && !parent.manage_members)
        || (new.manage_account && !parent.manage_account)
        || (new.platform_roles && !parent.platform_roles)
    {
        return outside("a permission it does not have");
    }
    Ok(())
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
    use crate::actor::{Impersonator, KeyScope, PlatformRoles};
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

    #[test]
    fn second_factor_required_hides_no_less() {
        let mut a = session();
        a.needs_2fa = true;
        // Someone else's domain is still not found (not 403, which would tell it exists).
        assert_eq!(status(domain(&a, on(None), Action::Read)), 404);
        assert_eq!(
            status(authorize(&a, Request::Account(AccountAction::ManageKeys))),
            403
        );
    }

    #[test]
    fn platform_roles_need_an_unlimited_key() {
        // A limited key with platform_roles set (as if stored before the rule) uses none.
        let mut scope = KeyScope::full();
        scope.domains = Some(vec![DomainId(8)]);
        scope.max_role = Role::Read;
        let mut a = keyed(scope);
        a.roles.admin = true;
        assert_eq!(status(domain(&a, on(None), Action::Delete)), 404);
        assert_eq!(status(platform(&a, Permission::ManageUsers)), 403);
        let other = DomainAccess {
            id: DomainId(8),
            name: "b.example",
            member: Some(Role::Owner),
        };
        assert_eq!(status(domain(&a, other, Action::Read)), 200);
        assert_eq!(status(domain(&a, other, Action::Administer)), 403);
    }

    #[test]
    fn record_limited_keys_act_at_most_as_write() {
        let mut scope = KeyScope::full();
        scope.records = Some(vec![RecordScope {
            name: "_acme-challenge.*".into(),
            types: vec!["TXT".into()],
        }]);
        let a = keyed(scope);
        for action in [Action::Delete, Action::Administer, Action::AdministerSecret] {
            assert_eq!(
                status(domain(&a, on(Some(Role::Owner)), action)),
                403,
                "{action:?}"
            );
        }
    }

    #[test]
    fn impersonation_changes_no_access() {
        let mut a = session();
        a.impersonator = Some(Impersonator {
            user_id: UserId(2),
            email: "support@example.net".into(),
        });
        a.roles.admin = true;
        let owner = on(Some(Role::Owner));
        assert_eq!(
            status(authorize(
                &a,
                Request::Member(owner, MemberChange::Add { role: Role::Read })
            )),
            403
        );
        // The impersonated user's platform roles do not come along either.
        assert_eq!(status(platform(&a, Permission::ManageUsers)), 403);
    }

    #[test]
    fn members_are_granted_below_your_role() {
        let a = session();
        let admin = on(Some(Role::Admin));
        let member = |change| status(authorize(&a, Request::Member(admin, change)));
        assert_eq!(member(MemberChange::Add { role: Role::Write }), 200);
        assert_eq!(member(MemberChange::Add { role: Role::Admin }), 403);
        assert_eq!(
            member(MemberChange::Change {
                from: Role::Read,
                to: Role::Write,
                own: false
            }),
            200
        );
        assert_eq!(
            member(MemberChange::Change {
                from: Role::Admin,
                to: Role::Read,
                own: false
            }),
            403
        );
        assert_eq!(
            member(MemberChange::Change {
                from: Role::Write,
                to: Role::Owner,
                own: false
            }),
            403
        );
        assert_eq!(
            member(MemberChange::Change {
                from: Role::Admin,
                to: Role::Write,
                own: true
            }),
            403
        );
        assert_eq!(
            member(MemberChange::Remove {
                role: Role::Admin,
                own: false
            }),
            403
        );
        assert_eq!(
            member(MemberChange::Remove {
                role: Role::Admin,
                own: true
            }),
            200
        );
        let owner = on(Some(Role::Owner));
        assert_eq!(
            status(authorize(
                &a,
                Request::Member(
                    owner,
                    MemberChange::Change {
                        from: Role::Write,
                        to: Role::Owner,
                        own: false
                    }
                )
            )),
            200
        );
    }

    #[test]
    fn keys_made_by_keys_fit_inside_them() {
        let mut parent = KeyScope::full();
        parent.networks = Some(vec!["192.0.2.0/24".parse().unwrap()]);
        parent.expires_at = Some(chrono::Utc::now() + chrono::TimeDelta::days(1));
        let a = keyed(parent.clone());
        let grant = |scope: &KeyScope| {
            status(authorize(
                &a,
                Request::GrantKey(KeyGrant {
                    domain: None,
                    scope,
                }),
            ))
        };
        let mut child = parent.clone();
        assert_eq!(grant(&child), 200);
        child.networks = None;
        assert_eq!(grant(&child), 403, "anywhere is wider than its networks");
        child.networks = Some(vec!["192.0.2.128/25".parse().unwrap()]);
        assert_eq!(grant(&child), 200);
        child.networks = Some(vec!["198.51.100.0/24".parse().unwrap()]);
        assert_eq!(grant(&child), 403);
        child.networks = parent.networks.clone();
        child.expires_at = None;
        assert_eq!(grant(&child), 403, "never is later than tomorrow");
        // A domain key made with a record-limited key keeps the limits.
        let mut limited = KeyScope::full();
        limited.records = Some(vec![RecordScope {
            name: "_acme-challenge.*".into(),
            types: vec![],
        }]);
        let b = keyed(limited.clone());
        let mut dk = KeyScope::full();
        dk.max_role = Role::Write;
        let d = on(Some(Role::Owner));
        let dgrant = |scope: &KeyScope| {
            status(authorize(
                &b,
                Request::GrantKey(KeyGrant {
                    domain: Some(d),
                    scope,
                }),
            ))
        };
        assert_eq!(
            dgrant(&dk),
            403,
            "a record-limited key acts as write: no key management"
        );
    }
}
