//! `/domains/{name}/sharing`: the members and their roles, pending invitations, inviting by
//! address, changing a role (`owner` hands ownership on), removing someone, leaving.
//! apex-core decides who may do what (MyDNSHost's rules: nobody grants or touches a role at
//! or above their own; one owner, who hands ownership on rather than leaving).

use apex_core::Core;
use apex_core::actor::Role;
use apex_core::ids::{InvitationId, UserId};
use apex_core::members::{self, Added, MemberPatch, Members, NewMember};
use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::{DomainHead, path_segment, role_name};
use crate::page::{Chrome, Errors, Failure, failure_page, render};
use crate::request::{Empty, Posted};
use crate::session::Viewer;

#[derive(Template)]
#[template(path = "sharing.html")]
struct SharingPage {
    chrome: Chrome,
    head: DomainHead,
    /// `None` when the viewer may not see the members (apex-core said no).
    members: Option<Members>,
    me: Option<UserId>,
    /// The viewer may manage members (admin or owner).
    manage: bool,
    is_owner: bool,
    email: String,
    role: String,
    done: Option<String>,
    errors: Errors,
}

impl SharingPage {
    fn role_words(&self, role: &Role) -> &'static str {
        role_name(Some(*role))
    }

    /// Whether `user` is the viewer.
    fn is_me(&self, user: &UserId) -> bool {
        self.me == Some(*user)
    }

    /// Whether `role` is the owner's.
    fn owns(&self, role: &Role) -> bool {
        *role == Role::Owner
    }
}

/// `?done=` after a change: what happened, in words.
#[derive(Deserialize, Default)]
pub(crate) struct DoneQuery {
    done: Option<String>,
}

#[allow(clippy::too_many_arguments)]
async fn page(
    core: &Core,
    viewer: &Viewer,
    name: &str,
    email: String,
    role: String,
    done: Option<String>,
    errors: Errors,
    status: StatusCode,
) -> Response {
    let chrome = viewer.chrome.at("domains");
    let domain = match super::load(core, viewer, name).await {
        Ok(d) => d,
        Err(page) => return page,
    };
    let members = members::list(core, &viewer.actor, name, &apex_core::page::Window::all())
        .await
        .ok();
    let head = DomainHead::of(&domain, "sharing");
    render(
        status,
        &SharingPage {
            manage: head.role.is_some_and(|r| r >= Role::Admin),
            is_owner: head.role == Some(Role::Owner),
            head,
            chrome,
            members,
            me: viewer.actor.user_id,
            email,
            role: if role.is_empty() { "read".into() } else { role },
            done,
            errors,
        },
    )
}

/// `GET /domains/{name}/sharing`.
pub(crate) async fn show(
    State(core): State<Core>,
    viewer: Viewer,
    Path(name): Path<String>,
    axum::extract::Query(q): axum::extract::Query<DoneQuery>,
) -> Response {
    let done = q.done.map(|d| match d.as_str() {
        "added" => "Added: they can use the domain now.".to_string(),
        "invited" => "Invited: they get a mail with a link to create their account.".to_string(),
        "role" => "Role changed.".to_string(),
        "owner" => "Ownership handed on; you are an admin of the domain now.".to_string(),
        "removed" => "Removed from the domain.".to_string(),
        "revoked" => "Invitation withdrawn.".to_string(),
        _ => String::new(),
    });
    page(
        &core,
        &viewer,
        &name,
        String::new(),
        String::new(),
        done.filter(|d| !d.is_empty()),
        Errors::default(),
        StatusCode::OK,
    )
    .await
}

fn back(name: &str, done: &str) -> Response {
    Redirect::to(&format!(
        "/domains/{}/sharing?done={done}",
        path_segment(name)
    ))
    .into_response()
}

/// Inviting someone.
#[derive(Deserialize)]
pub(crate) struct InviteForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    role: String,
}

/// `POST /domains/{name}/members`: adds someone with an account, invites anyone else.
pub(crate) async fn invite(
    State(core): State<Core>,
    viewer: Viewer,
    Path(name): Path<String>,
    Posted(form): Posted<InviteForm>,
) -> Response {
    let Some(role) = Role::parse(&form.role) else {
        let errors = Errors::one(Some("role"), "Choose a role.");
        return page(
            &core,
            &viewer,
            &name,
            form.email,
            form.role,
            None,
            errors,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    };
    let input = NewMember {
        email: form.email.clone(),
        role,
    };
    match members::add(&core, &viewer.actor, &name, &input).await {
        Ok(Added::Added { .. }) => back(&name, "added"),
        Ok(Added::Invited { .. }) => back(&name, "invited"),
        Err(e) => {
            let f = Failure::from(e);
            let (field, label) = match f.field.as_deref() {
                Some("role") => (Some("role"), "Role"),
                Some("email") => (Some("email"), "E-mail address"),
                _ => (None, "Inviting"),
            };
            let errors = Errors::one(field, f.sentence(label));
            page(
                &core, &viewer, &name, form.email, form.role, None, errors, f.status,
            )
            .await
        }
    }
}

/// A new role for a member.
#[derive(Deserialize)]
pub(crate) struct RoleForm {
    #[serde(default)]
    role: String,
}

/// `POST /domains/{name}/members/{user}`: changes the role; `owner` hands ownership on.
pub(crate) async fn change(
    State(core): State<Core>,
    viewer: Viewer,
    Path((name, user)): Path<(String, i64)>,
    Posted(form): Posted<RoleForm>,
) -> Response {
    let Some(role) = Role::parse(&form.role) else {
        return failure_page(
            Failure::from(apex_core::CoreError::invalid("role", "choose a role")),
            viewer.chrome.at("domains"),
        );
    };
    match members::update(
        &core,
        &viewer.actor,
        &name,
        UserId(user),
        &MemberPatch { role },
    )
    .await
    {
        Ok(_) if role == Role::Owner => back(&name, "owner"),
        Ok(_) => back(&name, "role"),
        Err(e) => {
            let f = Failure::from(e);
            let errors = Errors::one(None, f.sentence("The role"));
            page(
                &core,
                &viewer,
                &name,
                String::new(),
                String::new(),
                None,
                errors,
                f.status,
            )
            .await
        }
    }
}

/// `POST /domains/{name}/members/{user}/remove`: removes a member, or (yourself) leaves.
pub(crate) async fn remove(
    State(core): State<Core>,
    viewer: Viewer,
    Path((name, user)): Path<(String, i64)>,
    Posted(_): Posted<Empty>,
) -> Response {
    let leaving = viewer.actor.user_id == Some(UserId(user));
    match members::remove(&core, &viewer.actor, &name, UserId(user)).await {
        Ok(()) if leaving => Redirect::to("/domains").into_response(),
        Ok(()) => back(&name, "removed"),
        Err(e) => {
            let f = Failure::from(e);
            let errors = Errors::one(None, f.sentence("Removing"));
            page(
                &core,
                &viewer,
                &name,
                String::new(),
                String::new(),
                None,
                errors,
                f.status,
            )
            .await
        }
    }
}

/// `POST /domains/{name}/invitations/{id}/revoke`.
pub(crate) async fn revoke(
    State(core): State<Core>,
    viewer: Viewer,
    Path((name, id)): Path<(String, i64)>,
    Posted(_): Posted<Empty>,
) -> Response {
    match members::revoke_invitation(&core, &viewer.actor, &name, InvitationId(id)).await {
        Ok(()) => back(&name, "revoked"),
        Err(e) => failure_page(Failure::from(e), viewer.chrome.at("domains")),
    }
}
