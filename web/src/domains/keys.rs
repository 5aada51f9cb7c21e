//! `/domains/{name}/keys`: the domain's own API keys (they act on this domain alone, at a
//! role below owner, and keep working whoever leaves): the list, making one (its secret shown
//! once), revoking one after a confirmation. The form reads as the account's key form does.

use apex_core::Core;
use apex_core::auth::keys;
use apex_core::ids::ApiKeyId;
use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::{DomainHead, path_segment};
use crate::account::keys::{KeyForm, KeyRow, refused};
use crate::page::{Chrome, Errors, Failure, failure_page, render};
use crate::request::Posted;
use crate::session::Viewer;

#[derive(Template)]
#[template(path = "domain_keys.html")]
struct KeysPage {
    chrome: Chrome,
    roles: &'static [(&'static str, &'static str)],
    head: DomainHead,
    /// `None` when the viewer may not manage the domain's keys.
    rows: Option<Vec<KeyRow>>,
    f: KeyForm,
    /// Just made, with its secret (shown this once).
    created: Option<(KeyRow, String)>,
    errors: Errors,
}

impl KeysPage {
    fn chosen(&self, r: &str) -> bool {
        if self.f.role.is_empty() {
            r == "write"
        } else {
            self.f.role == r
        }
    }

    fn described(&self, id: &str, hint: bool) -> String {
        self.errors.described(id, hint)
    }
}

async fn page(
    core: &Core,
    viewer: &Viewer,
    name: &str,
    f: KeyForm,
    created: Option<(KeyRow, String)>,
    errors: Errors,
    status: StatusCode,
) -> Response {
    let chrome = viewer.chrome.at("domains");
    let domain = match super::load(core, viewer, name).await {
        Ok(d) => d,
        Err(page) => return page,
    };
    let rows = keys::list_domain_keys(core, &viewer.actor, name, &apex_core::page::Window::all())
        .await
        .ok()
        .map(|list| list.iter().map(KeyRow::of).collect());
    render(
        status,
        &KeysPage {
            chrome,
            roles: ROLES,
            head: DomainHead::of(&domain, "keys"),
            rows,
            f,
            created,
            errors,
        },
    )
}

/// `GET /domains/{name}/keys`.
pub(crate) async fn show(
    State(core): State<Core>,
    viewer: Viewer,
    Path(name): Path<String>,
) -> Response {
    page(
        &core,
        &viewer,
        &name,
        KeyForm::default(),
        None,
        Errors::default(),
        StatusCode::OK,
    )
    .await
}

/// The form: the account's, without the domain list and the account rights.
#[derive(Deserialize, Default)]
pub(crate) struct DomainKeyForm {
    #[serde(default)]
    description: String,
    #[serde(default)]
    role: String,
    #[serde(default)]
    expires_at: String,
    #[serde(default)]
    records: String,
    #[serde(default)]
    record_types: String,
    #[serde(default)]
    networks: String,
    #[serde(default)]
    shown_records: Option<String>,
    #[serde(default)]
    shown_expiry: Option<String>,
}

/// `POST /domains/{name}/keys`: makes the key; the page shows its secret this once.
pub(crate) async fn create(
    State(core): State<Core>,
    viewer: Viewer,
    Path(name): Path<String>,
    Posted(d): Posted<DomainKeyForm>,
) -> Response {
    let f = d.key_form();
    let input = match f.input() {
        Ok(i) => i,
        Err(errors) => {
            return page(
                &core,
                &viewer,
                &name,
                f,
                None,
                errors,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await;
        }
    };
    match keys::create_domain_key(&core, &viewer.actor, &name, input).await {
        Ok(created) => {
            let made = (KeyRow::of(&created.key), created.token);
            page(
                &core,
                &viewer,
                &name,
                KeyForm::default(),
                Some(made),
                Errors::default(),
                StatusCode::CREATED,
            )
            .await
        }
        Err(e) => {
            let failure = Failure::from(e);
            let status = failure.status;
            page(&core, &viewer, &name, f, None, refused(&failure), status).await
        }
    }
}

impl DomainKeyForm {
    /// As the account's key form, which reads it.
    fn key_form(self) -> KeyForm {
        KeyForm {
            description: self.description,
            role: self.role,
            expires_at: self.expires_at,
            records: self.records,
            record_types: self.record_types,
            networks: self.networks,
            shown_records: self.shown_records,
            shown_expiry: self.shown_expiry,
            ..KeyForm::default()
        }
    }
}

#[derive(Template)]
#[template(path = "domain_key_edit.html")]
struct EditPage {
    chrome: Chrome,
    head: DomainHead,
    id: ApiKeyId,
    roles: &'static [(&'static str, &'static str)],
    f: KeyForm,
    errors: Errors,
}

impl EditPage {
    fn chosen(&self, r: &str) -> bool {
        self.f.role == r
    }

    fn described(&self, id: &str, hint: bool) -> String {
        self.errors.described(id, hint)
    }
}

async fn edit_page(
    core: &Core,
    viewer: &Viewer,
    name: &str,
    id: ApiKeyId,
    f: Option<KeyForm>,
    errors: Errors,
    status: StatusCode,
) -> Response {
    let chrome = viewer.chrome.at("domains");
    let domain = match super::load(core, viewer, name).await {
        Ok(d) => d,
        Err(page) => return page,
    };
    let f = match f {
        Some(f) => f,
        None => match keys::domain_key(core, &viewer.actor, name, id).await {
            Ok(k) => KeyForm::of(&k).shown(),
            Err(e) => return failure_page(Failure::from(e), chrome),
        },
    };
    render(
        status,
        &EditPage {
            chrome,
            head: DomainHead::of(&domain, "keys"),
            id,
            roles: ROLES,
            f,
            errors,
        },
    )
}

/// `GET /domains/{name}/keys/{id}`: the form to change a key's name and limits.
pub(crate) async fn edit(
    State(core): State<Core>,
    viewer: Viewer,
    Path((name, id)): Path<(String, i64)>,
) -> Response {
    edit_page(
        &core,
        &viewer,
        &name,
        ApiKeyId(id),
        None,
        Errors::default(),
        StatusCode::OK,
    )
    .await
}

/// `POST /domains/{name}/keys/{id}`: changes it.
pub(crate) async fn update(
    State(core): State<Core>,
    viewer: Viewer,
    Path((name, id)): Path<(String, i64)>,
    Posted(d): Posted<DomainKeyForm>,
) -> Response {
    let id = ApiKeyId(id);
    let f = d.key_form();
    let mut patch = match f.patch() {
        Ok(p) => p,
        Err(errors) => {
            return edit_page(
                &core,
                &viewer,
                &name,
                id,
                Some(f),
                errors,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await;
        }
    };
    // A domain key has no domain list and no account rights: leave them as they are.
    patch.domains = None;
    patch.manage_keys = None;
    patch.manage_members = None;
    patch.manage_account = None;
    patch.platform_roles = None;
    match keys::update_domain_key(&core, &viewer.actor, &name, id, patch).await {
        Ok(_) => Redirect::to(&format!("/domains/{}/keys", path_segment(&name))).into_response(),
        Err(e) => {
            let failure = Failure::from(e);
            let status = failure.status;
            edit_page(
                &core,
                &viewer,
                &name,
                id,
                Some(f),
                refused(&failure),
                status,
            )
            .await
        }
    }
}

#[derive(Deserialize)]
pub(crate) struct RevokeForm {
    confirm: Option<String>,
}

#[derive(Template)]
#[template(path = "domain_key_revoke.html")]
struct RevokePage {
    chrome: Chrome,
    head: DomainHead,
    key: KeyRow,
}

/// `POST /domains/{name}/keys/{id}/revoke`: first the confirmation, then the revocation.
pub(crate) async fn revoke(
    State(core): State<Core>,
    viewer: Viewer,
    Path((name, id)): Path<(String, i64)>,
    Posted(f): Posted<RevokeForm>,
) -> Response {
    let chrome = viewer.chrome.at("domains");
    let id = ApiKeyId(id);
    if f.confirm.is_none() {
        let domain = match super::load(&core, &viewer, &name).await {
            Ok(d) => d,
            Err(page) => return page,
        };
        return match keys::domain_key(&core, &viewer.actor, &name, id).await {
            Ok(k) => render(
                StatusCode::OK,
                &RevokePage {
                    chrome,
                    head: DomainHead::of(&domain, "keys"),
                    key: KeyRow::of(&k),
                },
            ),
            Err(e) => failure_page(Failure::from(e), chrome),
        };
    }
    match keys::revoke_domain_key(&core, &viewer.actor, &name, id).await {
        Ok(_) => Redirect::to(&format!("/domains/{}/keys", path_segment(&name))).into_response(),
        Err(e) => failure_page(Failure::from(e), chrome),
    }
}

/// The roles a domain key may have.
pub(crate) const ROLES: &[(&str, &str)] = &[
    ("read", "read: only look"),
    ("write", "write: change records"),
    ("admin", "admin: also settings, webhooks, sharing"),
];

#[cfg(test)]
mod tests {
    use super::*;
    use apex_core::actor::Role;

    #[test]
    fn domain_keys_are_offered_below_owner() {
        assert!(
            ROLES
                .iter()
                .all(|(r, _)| Role::parse(r).is_some_and(|r| r < Role::Owner))
        );
    }
}
