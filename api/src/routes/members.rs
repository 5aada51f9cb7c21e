//! `/api/v1/domains/{name}/members` and `/invitations`: sharing a domain.

use apex_core::ids::{InvitationId, UserId};
use apex_core::members::{self, Added, MemberPatch, MemberView, Members, NewMember};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;

use crate::AppState;
use crate::error::ApiError;
use crate::extract::{Authenticated, JsonBody, QueryParams};
use crate::openapi::problem;
use crate::page::{self, PageQuery};

/// A member by user id, or `me`.
fn member_id(actor: &apex_core::actor::Actor, id: &str) -> Result<UserId, ApiError> {
    if id == "me" {
        return Ok(actor.user()?);
    }
    id.parse::<i64>()
        .map(UserId)
        .map_err(|_| ApiError::NotFound(format!("member {id} not found")))
}

#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct MemberPage {
    #[serde(flatten)]
    members: Members,
    /// The next page, when there is one.
    next: Option<String>,
}

/// `GET /domains/{name}/members?cursor=&limit=`: by e-mail address; pending invitations come
/// with the first page.
#[utoipa::path(
    get,
    path = "/domains/{name}/members",
    tag = "members",
    operation_id = "members_list",
    params(
        ("name" = String, Path, description = "The domain: `example.com`, in Unicode or A-labels"),
        PageQuery,
    ),
    responses(
        (status = 200, description = "A page of members by e-mail address; pending invitations with the first page", body = MemberPage),
        problem::BadRequest,
        problem::Unauthenticated,
        problem::Forbidden,
        problem::NotFound,
        problem::Invalid,
        problem::Internal,
    ),
    security(("api_key" = [])),
)]
pub async fn list(
    State(s): State<AppState>,
    Authenticated(actor): Authenticated,
    Path(name): Path<String>,
    QueryParams(q): QueryParams<PageQuery>,
) -> Result<Response, ApiError> {
    let (window, limit) = q.by_text()?;
    let mut members = members::list(&s.core, &actor, &name, &window).await?;
    let next = page::cut(
        &mut members.members,
        limit,
        &format!("/api/v1/domains/{name}/members"),
        |m| vec![m.email.clone()],
    );
    Ok(page::linked(
        next.clone(),
        Json(MemberPage { members, next }),
    ))
}

/// `POST /domains/{name}/members`: adds an account, or invites an address.
#[utoipa::path(
    post,
    path = "/domains/{name}/members",
    tag = "members",
    operation_id = "members_add",
    params(
        ("name" = String, Path, description = "The domain: `example.com`, in Unicode or A-labels"),
    ),
    request_body(content = NewMember, example = json!({"email": "bob@example.com", "role": "read"})),
    responses(
        (status = 201, description = "An account, added (`status`: `added`)", body = Added),
        (status = 202, description = "An address without an account, invited (`status`: `invited`)", body = Added),
        problem::BadRequest,
        problem::Unauthenticated,
        problem::Forbidden,
        problem::NotFound,
        problem::Conflict,
        problem::UnsupportedMediaType,
        problem::Invalid,
        problem::Internal,
    ),
    security(("api_key" = [])),
)]
pub async fn add(
    State(s): State<AppState>,
    Authenticated(actor): Authenticated,
    Path(name): Path<String>,
    JsonBody(body): JsonBody<NewMember>,
) -> Result<(StatusCode, Json<Added>), ApiError> {
    let added = members::add(&s.core, &actor, &name, &body).await?;
    let status = match added {
        Added::Added { .. } => StatusCode::CREATED,
        Added::Invited { .. } => StatusCode::ACCEPTED,
    };
    Ok((status, Json(added)))
}

/// `PATCH /domains/{name}/members/{user}`.
#[utoipa::path(
    patch,
    path = "/domains/{name}/members/{user}",
    tag = "members",
    operation_id = "members_update",
    params(
        ("name" = String, Path, description = "The domain: `example.com`, in Unicode or A-labels"),
        ("user" = String, Path, description = "The member's user id, or `me`"),
    ),
    request_body(content = MemberPatch, example = json!({"role": "write"})),
    responses(
        (status = 200, description = "The member", body = MemberView),
        problem::BadRequest,
        problem::Unauthenticated,
        problem::Forbidden,
        problem::NotFound,
        problem::Conflict,
        problem::UnsupportedMediaType,
        problem::Invalid,
        problem::Internal,
    ),
    security(("api_key" = [])),
)]
pub async fn update(
    State(s): State<AppState>,
    Authenticated(actor): Authenticated,
    Path((name, user)): Path<(String, String)>,
    JsonBody(body): JsonBody<MemberPatch>,
) -> Result<Json<MemberView>, ApiError> {
    let user = member_id(&actor, &user)?;
    Ok(Json(
        members::update(&s.core, &actor, &name, user, &body).await?,
    ))
}

/// `DELETE /domains/{name}/members/{user}` (`me`: leave).
#[utoipa::path(
    delete,
    path = "/domains/{name}/members/{user}",
    tag = "members",
    operation_id = "members_remove",
    params(
        ("name" = String, Path, description = "The domain: `example.com`, in Unicode or A-labels"),
        ("user" = String, Path, description = "The member's user id, or `me`"),
    ),
    responses(
        (status = 204, description = "The member is gone"),
        problem::Unauthenticated,
        problem::Forbidden,
        problem::NotFound,
        problem::Conflict,
        problem::Internal,
    ),
    security(("api_key" = [])),
)]
pub async fn remove(
    State(s): State<AppState>,
    Authenticated(actor): Authenticated,
    Path((name, user)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    let user = member_id(&actor, &user)?;
    members::remove(&s.core, &actor, &name, user).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `DELETE /domains/{name}/invitations/{id}`.
#[utoipa::path(
    delete,
    path = "/domains/{name}/invitations/{id}",
    tag = "members",
    operation_id = "members_revoke_invitation",
    params(
        ("name" = String, Path, description = "The domain: `example.com`, in Unicode or A-labels"),
        ("id" = i64, Path, description = "The invitation's id"),
    ),
    responses(
        (status = 204, description = "The invitation is revoked"),
        problem::Unauthenticated,
        problem::Forbidden,
        problem::NotFound,
        problem::Internal,
    ),
    security(("api_key" = [])),
)]
pub async fn revoke_invitation(
    State(s): State<AppState>,
    Authenticated(actor): Authenticated,
    Path((name, id)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    let id = id
        .parse::<i64>()
        .map_err(|_| ApiError::NotFound(format!("invitation {id} not found")))?;
    members::revoke_invitation(&s.core, &actor, &name, InvitationId(id)).await?;
    Ok(StatusCode::NO_CONTENT)
}
