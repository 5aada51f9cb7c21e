//! `/api/v1/domains/{name}/rrsets`: the zone RRset by RRset, and batches of RRsets set or
//! deleted all or nothing.

use apex_core::rrsets::{self, Outcome, RrsetFilter, RrsetInput, RrsetView, WriteOptions};
use axum::Json;
use axum::extract::{Path, State};
use axum::response::Response;
use serde::{Deserialize, Serialize};

use crate::AppState;
use crate::error::ApiError;
use crate::etag::{IfMatch, tagged};
use crate::extract::{Authenticated, JsonBody, QueryParams};
use crate::openapi::problem;
use crate::page;

#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// Only this owner (relative or absolute). (The domain is the path's `name`.)
    #[param(rename = "name")]
    name: Option<String>,
    /// Only this type.
    #[serde(rename = "type")]
    #[param(rename = "type")]
    rtype: Option<String>,
    /// From the `next` link of the page before.
    cursor: Option<String>,
    /// RRsets per page (default 100).
    #[param(minimum = 1, maximum = 1000)]
    limit: Option<i64>,
}

#[derive(Serialize)]
struct NextQuery<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<&'a str>,
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    rtype: Option<&'a str>,
    cursor: String,
    limit: i64,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct RrsetList {
    rrsets: Vec<RrsetView>,
    /// The next page, when there is one.
    next: Option<String>,
}

/// `GET /domains/{name}/rrsets?name=&type=&cursor=&limit=`: RRsets by owner, then type.
#[utoipa::path(
    get,
    path = "/domains/{name}/rrsets",
    tag = "records",
    operation_id = "rrsets_list",
    summary = "List the zone's RRsets as served (disabled records left out), by owner then type",
    params(("name" = String, Path, description = "The domain: `example.com`, in Unicode or A-labels"), ListQuery),
    responses(
        (status = 200, description = "A page of RRsets", body = RrsetList, headers(("ETag" = String, description = "The zone's serial, quoted: send it back as `If-Match`"))),
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
    QueryParams(q): QueryParams<ListQuery>,
) -> Result<Response, ApiError> {
    let limit = page::limit(q.limit)?;
    let after = match &q.cursor {
        Some(c) => {
            let mut p = page::parts(c, 2)?;
            let rtype = p.pop().unwrap_or_default();
            Some((p.pop().unwrap_or_default(), rtype))
        }
        None => None,
    };
    let filter = RrsetFilter {
        name: q.name.clone(),
        rtype: q.rtype.clone(),
        after,
        // One more than asked: whether there is a next page.
        limit: limit + 1,
    };
    let (mut rrsets, serial) = rrsets::list(&s.core, &actor, &name, &filter).await?;
    let next = page::cut_with(
        &mut rrsets,
        limit,
        &format!("/api/v1/domains/{name}/rrsets"),
        |r| vec![r.fqdn.clone(), r.rtype.clone()],
        |cursor| NextQuery {
            name: q.name.as_deref(),
            rtype: q.rtype.as_deref(),
            cursor,
            limit,
        },
    );
    Ok(tagged(
        serial,
        page::linked(next.clone(), Json(RrsetList { rrsets, next })),
    ))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct WriteQuery {
    /// Check and show the diff, write nothing.
    dry_run: Option<bool>,
}

/// `PUT /domains/{name}/rrsets[?dry_run=true]`: set (or, with no records, delete) each RRset
/// of the body, all in one change and one serial, or none.
#[utoipa::path(
    put,
    path = "/domains/{name}/rrsets",
    tag = "records",
    operation_id = "rrsets_put",
    summary = "Set or delete many RRsets at once, all or nothing, in one change and one serial",
    params(("name" = String, Path, description = "The domain: `example.com`, in Unicode or A-labels"), WriteQuery, ("If-Match" = Option<String>, Header, description = "The zone serial the write was made against, as an entity tag (`\"2026120501\"`, from `ETag`): the write is refused with 412 when the zone has moved on")),
    request_body(content = Vec<RrsetInput>, description = "The RRsets to set; `records: []` deletes one"),
    responses(
        (status = 200, description = "The RRsets that change, the change and the serial", body = Outcome, headers(("ETag" = String, description = "The zone's serial, quoted: send it back as `If-Match`"))),
        problem::BadRequest,
        problem::Unauthenticated,
        problem::Forbidden,
        problem::NotFound,
        problem::Conflict,
        problem::PreconditionFailed,
        problem::UnsupportedMediaType,
        problem::Invalid,
        problem::Internal,
    ),
    security(("api_key" = [])),
)]
pub async fn put(
    State(s): State<AppState>,
    Authenticated(actor): Authenticated,
    Path(name): Path<String>,
    QueryParams(q): QueryParams<WriteQuery>,
    IfMatch(if_match): IfMatch,
    JsonBody(body): JsonBody<Vec<RrsetInput>>,
) -> Result<Response, ApiError> {
    let opts = WriteOptions {
        dry_run: q.dry_run.unwrap_or(false),
        if_match,
    };
    let outcome: Outcome = rrsets::put(&s.core, &actor, &name, &body, opts).await?;
    Ok(tagged(outcome.serial, Json(outcome)))
}
