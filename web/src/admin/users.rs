//! Users: search and page through them, create one or invite an address to the platform;
//! one user's details with the forms to disable or enable them, set their domain quota,
//! grant platform roles, reset their second factor and act as them.

use apex_core::Core;
use apex_core::actor::Permission;
use apex_core::ids::UserId;
use apex_core::invitations;
use apex_core::users::admin::{self, NewUser, UserPatch, UserQuery, UserView};
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::AdminHead;
use crate::page::{Chrome, Errors, Failure, failure_page, query, render, when, when_opt};
use crate::request::{Empty, Posted};
use crate::session::Viewer;

/// A user as the pages show them.
pub(crate) struct UserRow {
    id: UserId,
    email: String,
    verified: bool,
    totp: bool,
    /// `administrator`, the roles granted, or empty.
    roles: String,
    /// A platform administrator.
    admin: bool,
    /// The permissions granted one by one.
    granted: Vec<Permission>,
    disabled: Option<String>,
    domains: i64,
    /// Own quota, or none (the platform's).
    quota: Option<i32>,
    created: String,
    last_login: String,
}

impl UserRow {
    fn of(u: UserView) -> Self {
        let roles = if u.admin {
            "administrator".to_string()
        } else {
            u.permissions
                .iter()
                .map(|p| p.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        };
        Self {
            id: u.id,
            email: u.email,
            verified: u.email_verified,
            totp: u.totp,
            roles,
            admin: u.admin,
            granted: u.permissions,
            disabled: u.disabled_at.as_ref().map(when),
            domains: u.domains_owned,
            quota: u.domain_quota,
            created: when(&u.created_at),
            last_login: when_opt(u.last_login_at.as_ref()),
        }
    }
}

/// `?q=&before=&invited=`.
#[derive(Deserialize, Default)]
pub(crate) struct ListQuery {
    #[serde(default)]
    q: String,
    before: Option<i64>,
    /// The address just invited to the platform.
    #[serde(default)]
    invited: String,
    /// Its signature ([`crate::csrf::sign_note`]): without it, no notice.
    #[serde(default)]
    sig: String,
}

/// The create and invite forms as typed (after an error).
#[derive(Default)]
struct Typed {
    email: String,
    admin: bool,
    invite_email: String,
}

#[derive(Template)]
#[template(path = "admin_users.html")]
struct ListPage {
    chrome: Chrome,
    head: AdminHead,
    q: String,
    paged: bool,
    rows: Vec<UserRow>,
    next: Option<String>,
    /// The viewer is a platform administrator: may create administrators.
    can_grant: bool,
    typed: Typed,
    done: Option<String>,
    errors: Errors,
}

impl ListPage {
    fn described(&self, id: &str, hint: bool) -> String {
        self.errors.described(id, hint)
    }
}

async fn list_page(
    core: &Core,
    viewer: &Viewer,
    q: ListQuery,
    typed: Typed,
    errors: Errors,
    status: StatusCode,
) -> Response {
    let chrome = viewer.chrome.at("admin");
    let search = q.q.trim().to_string();
    let found = admin::list(
        core,
        &viewer.actor,
        &UserQuery {
            q: (!search.is_empty()).then(|| search.clone()),
            before: q.before,
            limit: None,
        },
    )
    .await;
    let found = match found {
        Ok(f) => f,
        Err(e) => return failure_page(Failure::from(e), chrome),
    };
    let next = found.next.map(|n| {
        format!(
            "/admin/users?{}",
            query(&[("q", &search), ("before", &n.to_string())])
        )
    });
    let invited = q.invited.trim();
    let invited = if crate::csrf::note_signed(&viewer.chrome.csrf, invited, &q.sig) {
        invited
    } else {
        ""
    };
    let view = ListPage {
        head: AdminHead::of(viewer, "users"),
        chrome,
        paged: q.before.is_some(),
        q: search,
        rows: found.users.into_iter().map(UserRow::of).collect(),
        next,
        can_grant: viewer.actor.roles.admin,
        typed,
        done: (!invited.is_empty())
            .then(|| format!("{invited} is invited to the platform; a mail is on its way.")),
        errors,
    };
    render(status, &view)
}

/// `GET /admin/users`.
pub(crate) async fn list(
    State(core): State<Core>,
    viewer: Viewer,
    Query(q): Query<ListQuery>,
) -> Response {
    list_page(
        &core,
        &viewer,
        q,
        Typed::default(),
        Errors::default(),
        StatusCode::OK,
    )
    .await
}

/// `email=&password=&admin=1`: a new user (no password: they are mailed a link to set one).
#[derive(Deserialize)]
pub(crate) struct CreateForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
    admin: Option<String>,
}

/// `POST /admin/users`: creates a user, then shows them.
pub(crate) async fn create(
    State(core): State<Core>,
    viewer: Viewer,
    Posted(form): Posted<CreateForm>,
) -> Response {
    let input = NewUser {
        email: form.email.clone(),
        password: (!form.password.is_empty()).then(|| form.password.clone()),
        admin: form.admin.is_some(),
    };
    match admin::create(&core, &viewer.actor, &input).await {
        Ok(u) => back(
            u.id,
            if input.password.is_some() {
                "created"
            } else {
                "created-mailed"
            },
        ),
        Err(e) => {
            let failure = Failure::from(e);
            let (id, label) = match failure.field.as_deref() {
                Some("email") => ("new_email", "E-mail address"),
                Some("password") => ("new_password", "Password"),
                _ => return failure_page(failure, viewer.chrome.at("admin")),
            };
            let typed = Typed {
                email: form.email,
                admin: input.admin,
                ..Typed::default()
            };
            let errors = Errors::one(Some(id), failure.sentence(label));
            list_page(
                &core,
                &viewer,
                ListQuery::default(),
                typed,
                errors,
                failure.status,
            )
            .await
        }
    }
}

/// `email=`: an address to invite to the platform.
#[derive(Deserialize)]
pub(crate) struct InviteForm {
    #[serde(default)]
    email: String,
}

/// `POST /admin/invitations`: invites an address to the platform (a mail with a link to
/// sign up).
pub(crate) async fn invite(
    State(core): State<Core>,
    viewer: Viewer,
    Posted(form): Posted<InviteForm>,
) -> Response {
    match invitations::invite_to_platform(&core, &viewer.actor, &form.email).await {
        Ok(v) => {
            let sig = crate::csrf::sign_note(&viewer.chrome.csrf, &v.email);
            Redirect::to(&format!(
                "/admin/users?{}",
                query(&[("invited", &v.email), ("sig", &sig)])
            ))
            .into_response()
        }
        Err(e) => {
            let failure = Failure::from(e);
            if failure.field.as_deref() != Some("email") {
                return failure_page(failure, viewer.chrome.at("admin"));
            }
            let typed = Typed {
                invite_email: form.email,
                ..Typed::default()
            };
            let errors = Errors::one(Some("invite_email"), failure.sentence("E-mail address"));
            list_page(
                &core,
                &viewer,
                ListQuery::default(),
                typed,
                errors,
                failure.status,
            )
            .await
        }
    }
}

/// `?done=…`: what was just done, shown at the top.
#[derive(Deserialize, Default)]
pub(crate) struct ShowQuery {
    #[serde(default)]
    done: String,
}

#[derive(Template)]
#[template(path = "admin_user.html")]
struct UserPage {
    chrome: Chrome,
    head: AdminHead,
    user: UserRow,
    /// The quota field as typed (after an error) or stored.
    quota: String,
    done: Option<&'static str>,
    errors: Errors,
    /// The viewer is a platform administrator: the platform roles form is shown.
    can_grant: bool,
    /// One checkbox per permission.
    permissions: Vec<RoleBox>,
}

/// A permission's checkbox.
struct RoleBox {
    /// `Permission::as_str`: the value, and the input's `id` after `role_`.
    value: &'static str,
    label: &'static str,
    checked: bool,
}

/// What a permission lets its holder do, in words.
fn permission_label(p: Permission) -> &'static str {
    match p {
        Permission::ManageUsers => "Manage users",
        Permission::ManageDomains => "Manage all domains and publishing jobs",
        Permission::CreateDomains => "Create domains beyond the quota, and public suffixes",
        Permission::ViewAudit => "Read everyone's audit log",
        Permission::Impersonate => "Act as other users (impersonate)",
    }
}

impl UserPage {
    fn described(&self, id: &str, hint: bool) -> String {
        self.errors.described(id, hint)
    }

    /// `aria-describedby` and `aria-invalid` for the quota field.
    fn quota_described(&self) -> &'static str {
        if self.errors.field("domain_quota").is_some() {
            " aria-describedby=\"domain_quota-hint domain_quota-error\" aria-invalid=\"true\""
        } else {
            " aria-describedby=\"domain_quota-hint\""
        }
    }
}

fn done_text(done: &str) -> Option<&'static str> {
    Some(match done {
        "disabled" => "The account is disabled and its sessions are ended.",
        "enabled" => "The account is enabled again.",
        "quota" => "The domain quota is saved.",
        "2fa" => "The second factor is removed; the user was told by mail.",
        "impersonation" => "You are yourself again; the impersonation session is ended.",
        "created" => "The account is created; the user can sign in with the password you gave.",
        "created-mailed" => {
            "The account is created; a mail with a link to set a password is on its way."
        }
        "roles" => "The platform roles are saved.",
        _ => return None,
    })
}

async fn user_page(
    core: &Core,
    viewer: &Viewer,
    id: UserId,
    done: Option<&'static str>,
    typed: Option<String>,
    errors: Errors,
    status: StatusCode,
) -> Response {
    let chrome = viewer.chrome.at("admin");
    let user = match admin::show(core, &viewer.actor, id).await {
        Ok(u) => UserRow::of(u),
        Err(e) => return failure_page(Failure::from(e), chrome),
    };
    let quota = typed.unwrap_or_else(|| user.quota.map(|q| q.to_string()).unwrap_or_default());
    let permissions = Permission::ALL
        .into_iter()
        .map(|p| RoleBox {
            value: p.as_str(),
            label: permission_label(p),
            checked: user.granted.contains(&p),
        })
        .collect();
    render(
        status,
        &UserPage {
            chrome,
            head: AdminHead::of(viewer, "users"),
            user,
            quota,
            done,
            errors,
            can_grant: viewer.actor.roles.admin,
            permissions,
        },
    )
}

/// `GET /admin/users/{id}`.
pub(crate) async fn show(
    State(core): State<Core>,
    viewer: Viewer,
    Path(id): Path<i64>,
    Query(q): Query<ShowQuery>,
) -> Response {
    user_page(
        &core,
        &viewer,
        UserId(id),
        done_text(&q.done),
        None,
        Errors::default(),
        StatusCode::OK,
    )
    .await
}

fn back(id: UserId, done: &str) -> Response {
    Redirect::to(&format!("/admin/users/{id}?done={done}")).into_response()
}

/// `disabled=true|false`.
#[derive(Deserialize)]
pub(crate) struct StatusForm {
    disabled: bool,
}

/// `POST /admin/users/{id}/status`: disables or enables the account.
pub(crate) async fn status(
    State(core): State<Core>,
    viewer: Viewer,
    Path(id): Path<i64>,
    Posted(form): Posted<StatusForm>,
) -> Response {
    let id = UserId(id);
    let patch = UserPatch {
        disabled: Some(form.disabled),
        ..UserPatch::default()
    };
    match admin::update(&core, &viewer.actor, id, &patch).await {
        Ok(_) => back(id, if form.disabled { "disabled" } else { "enabled" }),
        Err(e) => {
            let failure = Failure::from(e);
            if failure.field.is_some() {
                let text = failure.sentence("The account");
                user_page(
                    &core,
                    &viewer,
                    id,
                    None,
                    None,
                    Errors::one(None, text),
                    failure.status,
                )
                .await
            } else {
                failure_page(failure, viewer.chrome.at("admin"))
            }
        }
    }
}

/// `domain_quota=` (empty: the platform's).
#[derive(Deserialize)]
pub(crate) struct QuotaForm {
    #[serde(default)]
    domain_quota: String,
}

/// `POST /admin/users/{id}/quota`: sets the user's own domain quota.
pub(crate) async fn quota(
    State(core): State<Core>,
    viewer: Viewer,
    Path(id): Path<i64>,
    Posted(form): Posted<QuotaForm>,
) -> Response {
    let id = UserId(id);
    let typed = form.domain_quota.trim().to_string();
    let quota = if typed.is_empty() {
        None
    } else {
        match typed.parse::<i32>() {
            Ok(q) => Some(q),
            Err(_) => {
                return user_page(
                    &core,
                    &viewer,
                    id,
                    None,
                    Some(typed),
                    Errors::one(
                        Some("domain_quota"),
                        "Domain quota must be a whole number, or empty for the platform's.",
                    ),
                    StatusCode::UNPROCESSABLE_ENTITY,
                )
                .await;
            }
        }
    };
    let patch = UserPatch {
        domain_quota: Some(quota),
        ..UserPatch::default()
    };
    match admin::update(&core, &viewer.actor, id, &patch).await {
        Ok(_) => back(id, "quota"),
        Err(e) => {
            let failure = Failure::from(e);
            if failure.field.is_some() {
                let text = failure.sentence("Domain quota");
                user_page(
                    &core,
                    &viewer,
                    id,
                    None,
                    Some(typed),
                    Errors::one(Some("domain_quota"), text),
                    failure.status,
                )
                .await
            } else {
                failure_page(failure, viewer.chrome.at("admin"))
            }
        }
    }
}

/// `admin=1&permissions=…&permissions=…`: the whole set of platform roles.
#[derive(Deserialize)]
pub(crate) struct RolesForm {
    admin: Option<String>,
    #[serde(default)]
    permissions: Vec<String>,
}

/// `POST /admin/users/{id}/roles`: sets the user's platform roles (administrators only;
/// apex-core refuses anyone else, and the page shows why).
pub(crate) async fn roles(
    State(core): State<Core>,
    viewer: Viewer,
    Path(id): Path<i64>,
    Posted(form): Posted<RolesForm>,
) -> Response {
    let id = UserId(id);
    let patch = UserPatch {
        admin: Some(form.admin.is_some()),
        permissions: Some(form.permissions),
        ..UserPatch::default()
    };
    match admin::update(&core, &viewer.actor, id, &patch).await {
        Ok(_) => back(id, "roles"),
        Err(e) => {
            let failure = Failure::from(e);
            if failure.field.is_some() || failure.status == StatusCode::FORBIDDEN {
                // Taking away your own administration: about the administrator box.
                let field = (failure.field.as_deref() == Some("disabled")).then_some("role_admin");
                let text = failure.sentence("Platform roles");
                user_page(
                    &core,
                    &viewer,
                    id,
                    None,
                    None,
                    Errors::one(field, text),
                    failure.status,
                )
                .await
            } else {
                failure_page(failure, viewer.chrome.at("admin"))
            }
        }
    }
}

#[derive(Template)]
#[template(path = "admin_reset_2fa.html")]
struct ResetPage {
    chrome: Chrome,
    head: AdminHead,
    user: UserRow,
}

/// `GET /admin/users/{id}/reset-2fa`: asks to confirm.
pub(crate) async fn reset_2fa_confirm(
    State(core): State<Core>,
    viewer: Viewer,
    Path(id): Path<i64>,
) -> Response {
    let chrome = viewer.chrome.at("admin");
    match admin::show(&core, &viewer.actor, UserId(id)).await {
        Ok(u) => render(
            StatusCode::OK,
            &ResetPage {
                head: AdminHead::of(&viewer, "users"),
                chrome,
                user: UserRow::of(u),
            },
        ),
        Err(e) => failure_page(Failure::from(e), chrome),
    }
}

/// `POST /admin/users/{id}/reset-2fa`: removes the second factor.
pub(crate) async fn reset_2fa(
    State(core): State<Core>,
    viewer: Viewer,
    Path(id): Path<i64>,
    Posted(_): Posted<Empty>,
) -> Response {
    let id = UserId(id);
    match admin::reset_2fa(&core, &viewer.actor, id).await {
        Ok(_) => back(id, "2fa"),
        Err(e) => failure_page(Failure::from(e), viewer.chrome.at("admin")),
    }
}
