//! Authorization: one function decides whether an actor may do an action on a domain. Both
//! the API and the dashboard go through it (via [`crate::domains::load`]); no handler checks
//! permissions by itself.

use serde::{Deserialize, Serialize};

use crate::CoreError;
use crate::auth::Actor;

/// A user's role on a shared domain, from least to most powerful.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, sqlx::Type,
)]
#[sqlx(type_name = "domain_role", rename_all = "lowercase")]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// See the zone and its history.
    Read,
    /// Change records.
    Write,
    /// Manage sharing, keys and settings.
    Admin,
    /// Delete the domain, transfer ownership.
    Owner,
}

/// Something an actor wants to do to a domain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Read the domain, its records and changes.
    Read,
    /// Create, change or delete records.
    EditRecords,
    /// Change settings and sharing.
    Administer,
    /// Delete the domain.
    Delete,
}

impl Action {
    fn needs(self) -> Role {
        match self {
            Action::Read => Role::Read,
            Action::EditRecords => Role::Write,
            Action::Administer => Role::Admin,
            Action::Delete => Role::Owner,
        }
    }
}

/// Decides. `role` is the actor's role on the domain, if any. Someone with no role gets
/// "not found", so domain names of other customers do not leak.
pub fn authorize(
    actor: &Actor,
    role: Option<Role>,
    action: Action,
    domain: &str,
) -> Result<(), CoreError> {
    if actor.is_admin {
        return Ok(());
    }
    match role {
        None => Err(CoreError::NotFound {
            what: "domain",
            name: domain.to_string(),
        }),
        Some(r) if r >= action.needs() => Ok(()),
        Some(r) => Err(CoreError::Forbidden(format!(
            "your role on {domain} is {r:?}; this needs {:?}",
            action.needs()
        ))),
    }
}

/// Platform-wide operations (the admin API): platform administrators only. Others are told
/// the endpoint does not exist.
pub fn require_admin(actor: &Actor) -> Result<(), CoreError> {
    if actor.is_admin {
        Ok(())
    } else {
        Err(CoreError::NotFound {
            what: "endpoint",
            name: "admin".to_string(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::Via;
    use crate::ids::UserId;

    fn actor(admin: bool) -> Actor {
        Actor {
            user_id: UserId(1),
            api_key_id: None,
            is_admin: admin,
            via: Via::Api,
        }
    }

    #[test]
    fn roles() {
        let a = actor(false);
        assert!(authorize(&a, Some(Role::Owner), Action::Delete, "x").is_ok());
        assert!(authorize(&a, Some(Role::Write), Action::EditRecords, "x").is_ok());
        assert!(matches!(
            authorize(&a, Some(Role::Read), Action::EditRecords, "x"),
            Err(CoreError::Forbidden(_))
        ));
        assert!(matches!(
            authorize(&a, Some(Role::Admin), Action::Delete, "x"),
            Err(CoreError::Forbidden(_))
        ));
        assert!(matches!(
            authorize(&a, None, Action::Read, "x"),
            Err(CoreError::NotFound { .. })
        ));
        assert!(authorize(&actor(true), None, Action::Delete, "x").is_ok());
    }
}
