//! `/account/keys`: the user's API keys with their limits, making one (its secret shown
//! once), and revoking one (after a confirmation).

use apex_core::Core;
use apex_core::actor::{RecordScope, Role};
use apex_core::auth::keys::{self, KeyInput, KeyPatch, KeyView};
use apex_core::ids::ApiKeyId;
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use chrono::{NaiveDate, Utc};
use serde::Deserialize;

use crate::page::{Chrome, Errors, Failure, failure_page, render, when};
use crate::request::Posted;
use crate::session::Viewer;

/// The roles a key may be capped at, highest first, in words.
const ROLES: &[(&str, &str)] = &[
    ("owner", "Your own role on each domain (no cap)"),
    ("admin", "At most admin: settings, sharing, domain keys"),
    ("write", "At most write: change records"),
    ("read", "At most read: only look"),
];

/// A key as a row of the list and the pages about one key.
pub(crate) struct KeyRow {
    pub(crate) id: ApiKeyId,
    pub(crate) description: String,
    pub(crate) prefix: String,
    pub(crate) domains: String,
    pub(crate) role: &'static str,
    pub(crate) records: String,
    pub(crate) networks: String,
    pub(crate) rights: String,
    pub(crate) created: String,
    pub(crate) last_used: String,
    pub(crate) expires: String,
    /// `active`, `expired`, `revoked`.
    pub(crate) state: &'static str,
}

impl KeyRow {
    pub(crate) fn of(k: &KeyView) -> Self {
        let state = if k.revoked_at.is_some() {
            "revoked"
        } else if k.expires_at.is_some_and(|t| t <= Utc::now()) {
            "expired"
        } else {
            "active"
        };
        let mut rights = Vec::new();
        for (on, what) in [
            (k.manage_keys, "manage keys"),
            (k.manage_members, "share domains"),
            (k.manage_account, "manage the account"),
            (k.platform_roles, "platform roles"),
        ] {
            if on {
                rights.push(what);
            }
        }
        Self {
            id: k.id,
            description: k.description.clone(),
            prefix: k.prefix.clone(),
            domains: k
                .domains
                .as_ref()
                .map_or_else(|| "all of yours".into(), |d| d.join(", ")),
            role: k.role.as_str(),
            records: k.records.as_ref().map_or_else(
                || "any".into(),
                |r| {
                    r.iter()
                        .map(|s| {
                            if s.types.is_empty() {
                                s.name.clone()
                            } else {
                                format!("{} ({})", s.name, s.types.join(", "))
                            }
                        })
                        .collect::<Vec<_>>()
                        .join(", ")
                },
            ),
            networks: k
                .networks
                .as_ref()
                .map_or_else(|| "anywhere".into(), |n| n.join(", ")),
            rights: if rights.is_empty() {
                "none".into()
            } else {
                rights.join(", ")
            },
            created: when(&k.created_at),
            last_used: k.last_used_at.as_ref().map_or_else(
                || "never".into(),
                |t| match &k.last_used_ip {
                    Some(ip) => format!("{} from {ip}", when(t)),
                    None => when(t),
                },
            ),
            expires: k.expires_at.as_ref().map_or_else(|| "never".into(), when),
            state,
        }
    }
}

#[derive(Template)]
#[template(path = "account_keys.html")]
struct KeysPage {
    chrome: Chrome,
    tab: &'static str,
    rows: Vec<KeyRow>,
    revoked: Option<String>,
}

/// `?revoked=ID` after revoking one.
#[derive(Deserialize, Default)]
pub(crate) struct KeysQuery {
    revoked: Option<i64>,
}

/// `GET /account/keys`.
pub(crate) async fn show(
    State(core): State<Core>,
    viewer: Viewer,
    Query(q): Query<KeysQuery>,
) -> Response {
    let chrome = viewer.chrome.at("account");
    let list =
        match keys::list_user_keys(&core, &viewer.actor, &apex_core::page::Window::all()).await {
            Ok(l) => l,
            Err(e) => return failure_page(Failure::from(e), chrome),
        };
    let rows: Vec<KeyRow> = list.iter().map(KeyRow::of).collect();
    let revoked = q.revoked.and_then(|id| {
        rows.iter()
            .find(|r| r.id.0 == id && r.state == "revoked")
            .map(|r| r.description.clone())
    });
    render(
        StatusCode::OK,
        &KeysPage {
            chrome,
            tab: "keys",
            rows,
            revoked,
        },
    )
}

/// The new-key form, as typed.
#[derive(Deserialize, Default)]
pub(crate) struct KeyForm {
    #[serde(default)]
    pub(crate) description: String,
    #[serde(default)]
    pub(crate) domains: String,
    #[serde(default)]
    pub(crate) role: String,
    #[serde(default)]
    pub(crate) expires_at: String,
    #[serde(default)]
    pub(crate) records: String,
    #[serde(default)]
    pub(crate) record_types: String,
    #[serde(default)]
    pub(crate) networks: String,
    /// When changing a key: the record limits and the expiry as the form showed them. The
    /// form says a key's limits more simply than the API can set them (one list of types for
    /// every name, a day for the expiry), so left as shown, they are left as they are.
    #[serde(default)]
    pub(crate) shown_records: Option<String>,
    #[serde(default)]
    pub(crate) shown_expiry: Option<String>,
    pub(crate) manage_keys: Option<String>,
    pub(crate) manage_members: Option<String>,
    pub(crate) manage_account: Option<String>,
    pub(crate) platform_roles: Option<String>,
}

/// Items of a list typed with commas, spaces or one a line; `None` when there are none.
fn items(text: &str) -> Option<Vec<String>> {
    let list: Vec<String> = text
        .split(|c: char| c == ',' || c.is_whitespace())
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect();
    (!list.is_empty()).then_some(list)
}

impl KeyForm {
    /// The form of an existing key, to change it.
    pub(crate) fn of(k: &KeyView) -> Self {
        let on = |b: bool| b.then(|| "1".to_string());
        let records = k.records.as_deref().unwrap_or_default();
        Self {
            description: k.description.clone(),
            domains: k.domains.as_ref().map(|d| d.join(", ")).unwrap_or_default(),
            role: k.role.as_str().to_string(),
            expires_at: k
                .expires_at
                .map(|t| t.format("%Y-%m-%d").to_string())
                .unwrap_or_default(),
            records: records
                .iter()
                .map(|r| r.name.clone())
                .collect::<Vec<_>>()
                .join(", "),
            record_types: records
                .first()
                .map(|r| r.types.join(", "))
                .unwrap_or_default(),
            networks: k
                .networks
                .as_ref()
                .map(|n| n.join(", "))
                .unwrap_or_default(),
            shown_records: None,
            shown_expiry: None,
            manage_keys: on(k.manage_keys),
            manage_members: on(k.manage_members),
            manage_account: on(k.manage_account),
            platform_roles: on(k.platform_roles),
        }
    }

    /// What the edit form shows of the record limits and the expiry, to tell later whether
    /// they were touched.
    pub(crate) fn shown(mut self) -> Self {
        self.shown_records = Some(self.records_shown());
        self.shown_expiry = Some(self.expires_at.clone());
        self
    }

    fn records_shown(&self) -> String {
        format!("{} ; {}", self.records, self.record_types)
    }

    /// The change to a key: every limit as the form now says (an empty list lifts it), but
    /// the record limits and the expiry only when they were changed on the form.
    pub(crate) fn patch(&self) -> Result<KeyPatch, Errors> {
        let i = self.input()?;
        let records_touched = self.shown_records.as_deref() != Some(&self.records_shown());
        let expiry_touched = self.shown_expiry.as_deref() != Some(self.expires_at.as_str());
        Ok(KeyPatch {
            description: Some(i.description),
            expires_at: expiry_touched.then_some(i.expires_at),
            domains: Some(i.domains),
            role: Some(i.role.unwrap_or(Role::Owner)),
            records: records_touched.then_some(i.records),
            networks: Some(i.networks),
            manage_keys: Some(i.manage_keys),
            manage_members: Some(i.manage_members),
            manage_account: Some(i.manage_account),
            platform_roles: Some(i.platform_roles),
        })
    }

    /// What apex-core is asked for; a field the page cannot read (a date, a role) is named.
    pub(crate) fn input(&self) -> Result<KeyInput, Errors> {
        let mut errors = Errors::default();
        let role = if self.role.is_empty() {
            None
        } else {
            let r = Role::parse(&self.role);
            if r.is_none() {
                errors.push(Some("role"), "Choose one of the roles listed.");
            }
            r
        };
        let expires_at = match self.expires_at.trim() {
            "" => None,
            day => match NaiveDate::parse_from_str(day, "%Y-%m-%d") {
                Ok(d) => d.and_hms_opt(0, 0, 0).map(|t| t.and_utc()),
                Err(_) => {
                    errors.push(
                        Some("expires_at"),
                        "The expiry date is not a date: give it as 2031-12-31.",
                    );
                    None
                }
            },
        };
        let types: Vec<String> = items(&self.record_types)
            .unwrap_or_default()
            .into_iter()
            .map(|t| t.to_ascii_uppercase())
            .collect();
        let records = items(&self.records).map(|names| {
            names
                .into_iter()
                .map(|name| RecordScope {
                    name,
                    types: types.clone(),
                })
                .collect()
        });
        if records.is_none() && !types.is_empty() {
            errors.push(
                Some("records"),
                "Record types limit the record names given here: give at least one name, such as _acme-challenge.*",
            );
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(KeyInput {
            description: self.description.clone(),
            expires_at,
            domains: items(&self.domains),
            role,
            records,
            networks: items(&self.networks),
            manage_keys: self.manage_keys.is_some(),
            manage_members: self.manage_members.is_some(),
            manage_account: self.manage_account.is_some(),
            platform_roles: self.platform_roles.is_some(),
        })
    }
}

/// The input apex-core's field `field` (`domains[2]`, `records[0].types` …) was typed in,
/// and its label.
fn field_of(field: &str) -> Option<(&'static str, &'static str)> {
    let base = field.split(['[', '.']).next().unwrap_or(field);
    Some(match base {
        "description" => ("description", "The name"),
        "domains" => ("domains", "The domain list"),
        "role" => ("role", "The role"),
        "expires_at" => ("expires_at", "The expiry date"),
        "records" if field.ends_with("types") => ("record_types", "The record types"),
        "records" => ("records", "The record names"),
        "networks" => ("networks", "The network list"),
        "platform_roles" => ("platform_roles", "Using platform roles"),
        _ => return None,
    })
}

#[derive(Template)]
#[template(path = "account_key_new.html")]
struct NewPage {
    chrome: Chrome,
    tab: &'static str,
    /// The key being changed; `None`: a new one.
    id: Option<ApiKeyId>,
    f: KeyForm,
    roles: &'static [(&'static str, &'static str)],
    errors: Errors,
}

impl NewPage {
    fn described(&self, id: &str, hint: bool) -> String {
        self.errors.described(id, hint)
    }

    /// Whether the role option `r` is the one chosen (the user's own by default).
    fn chosen(&self, r: &str) -> bool {
        if self.f.role.is_empty() {
            r == "owner"
        } else {
            self.f.role == r
        }
    }
}

fn new_page(viewer: &Viewer, f: KeyForm, errors: Errors, status: StatusCode) -> Response {
    form_page(viewer, None, f, errors, status)
}

fn form_page(
    viewer: &Viewer,
    id: Option<ApiKeyId>,
    f: KeyForm,
    errors: Errors,
    status: StatusCode,
) -> Response {
    render(
        status,
        &NewPage {
            chrome: viewer.chrome.at("account"),
            tab: "keys",
            id,
            f,
            roles: ROLES,
            errors,
        },
    )
}

/// `GET /account/keys/new`.
pub(crate) async fn new(viewer: Viewer) -> Response {
    new_page(
        &viewer,
        KeyForm::default(),
        Errors::default(),
        StatusCode::OK,
    )
}

#[derive(Template)]
#[template(path = "account_key_created.html")]
struct CreatedPage {
    chrome: Chrome,
    tab: &'static str,
    key: KeyRow,
    token: String,
}

/// `POST /account/keys`: makes the key and shows its secret, this once (never in a URL).
pub(crate) async fn create(
    State(core): State<Core>,
    viewer: Viewer,
    Posted(f): Posted<KeyForm>,
) -> Response {
    let input = match f.input() {
        Ok(i) => i,
        Err(errors) => return new_page(&viewer, f, errors, StatusCode::UNPROCESSABLE_ENTITY),
    };
    match keys::create_user_key(&core, &viewer.actor, input).await {
        Ok(created) => render(
            StatusCode::OK,
            &CreatedPage {
                chrome: viewer.chrome.at("account"),
                tab: "keys",
                key: KeyRow::of(&created.key),
                token: created.token,
            },
        ),
        Err(e) => {
            let failure = Failure::from(e);
            if failure.status.is_server_error() {
                return failure_page(failure, viewer.chrome.at("account"));
            }
            let status = failure.status;
            new_page(&viewer, f, refused(&failure), status)
        }
    }
}

/// The error of a refused key form, next to its field.
pub(crate) fn refused(failure: &Failure) -> Errors {
    let (id, label) = failure
        .field
        .as_deref()
        .and_then(field_of)
        .map_or((None, "The key"), |(id, label)| (Some(id), label));
    Errors::one(id, failure.sentence(label))
}

/// `GET /account/keys/{id}`: the form to change a key's name and limits.
pub(crate) async fn edit(
    State(core): State<Core>,
    viewer: Viewer,
    Path(id): Path<i64>,
) -> Response {
    match keys::user_key(&core, &viewer.actor, ApiKeyId(id)).await {
        Ok(k) => form_page(
            &viewer,
            Some(k.id),
            KeyForm::of(&k).shown(),
            Errors::default(),
            StatusCode::OK,
        ),
        Err(e) => failure_page(Failure::from(e), viewer.chrome.at("account")),
    }
}

/// `POST /account/keys/{id}`: changes it (the result must still fit what you may grant).
pub(crate) async fn update(
    State(core): State<Core>,
    viewer: Viewer,
    Path(id): Path<i64>,
    Posted(f): Posted<KeyForm>,
) -> Response {
    let id = ApiKeyId(id);
    let patch = match f.patch() {
        Ok(p) => p,
        Err(errors) => {
            return form_page(
                &viewer,
                Some(id),
                f,
                errors,
                StatusCode::UNPROCESSABLE_ENTITY,
            );
        }
    };
    match keys::update_user_key(&core, &viewer.actor, id, patch).await {
        Ok(_) => Redirect::to("/account/keys").into_response(),
        Err(e) => {
            let failure = Failure::from(e);
            if failure.status.is_server_error() || failure.status == StatusCode::NOT_FOUND {
                return failure_page(failure, viewer.chrome.at("account"));
            }
            let status = failure.status;
            form_page(&viewer, Some(id), f, refused(&failure), status)
        }
    }
}

/// Revoking: `confirm` once the person has seen which key goes.
#[derive(Deserialize)]
pub(crate) struct RevokeForm {
    confirm: Option<String>,
}

#[derive(Template)]
#[template(path = "account_key_revoke.html")]
struct RevokePage {
    chrome: Chrome,
    tab: &'static str,
    key: KeyRow,
}

/// `POST /account/keys/{id}/revoke`: first the confirmation, then the revocation.
pub(crate) async fn revoke(
    State(core): State<Core>,
    viewer: Viewer,
    Path(id): Path<i64>,
    Posted(f): Posted<RevokeForm>,
) -> Response {
    let chrome = viewer.chrome.at("account");
    let id = ApiKeyId(id);
    if f.confirm.is_none() {
        return match keys::user_key(&core, &viewer.actor, id).await {
            Ok(k) => render(
                StatusCode::OK,
                &RevokePage {
                    chrome,
                    tab: "keys",
                    key: KeyRow::of(&k),
                },
            ),
            Err(e) => failure_page(Failure::from(e), chrome),
        };
    }
    match keys::revoke_user_key(&core, &viewer.actor, id).await {
        Ok(k) => Redirect::to(&format!("/account/keys?revoked={}", k.id)).into_response(),
        Err(e) => failure_page(Failure::from(e), chrome),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_are_typed_loosely() {
        assert_eq!(items(" \n "), None);
        assert_eq!(
            items("a.test, b.test\nc.test"),
            Some(vec!["a.test".into(), "b.test".into(), "c.test".into()])
        );
    }

    #[test]
    fn the_form_becomes_apex_cores_input() {
        let f = KeyForm {
            description: "certbot".into(),
            role: "write".into(),
            expires_at: "2031-12-31".into(),
            records: "_acme-challenge.*".into(),
            record_types: "txt".into(),
            manage_keys: Some("1".into()),
            ..KeyForm::default()
        };
        let input = f.input().unwrap_or_default();
        assert_eq!(input.role, Some(Role::Write));
        assert_eq!(input.domains, None);
        assert_eq!(
            input.records,
            Some(vec![RecordScope {
                name: "_acme-challenge.*".into(),
                types: vec!["TXT".into()]
            }])
        );
        assert!(input.manage_keys && !input.platform_roles);
        assert_eq!(
            input.expires_at.map(|t| t.to_rfc3339()),
            Some("2031-12-31T00:00:00+00:00".into())
        );
        let bad = KeyForm {
            expires_at: "soon".into(),
            role: "god".into(),
            ..KeyForm::default()
        };
        let errors = bad.input().err().unwrap_or_default();
        assert!(errors.field("expires_at").is_some());
        assert!(errors.field("role").is_some());
    }

    #[test]
    fn core_fields_map_to_inputs() {
        assert_eq!(field_of("domains[3]").map(|f| f.0), Some("domains"));
        assert_eq!(field_of("records[0].name").map(|f| f.0), Some("records"));
        assert_eq!(
            field_of("records[0].types").map(|f| f.0),
            Some("record_types")
        );
        assert_eq!(field_of("manage_keys"), None);
    }
}
