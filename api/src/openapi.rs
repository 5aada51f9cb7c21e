//! The OpenAPI 3.1 document of the API, and its reference page.
//!
//! Nothing here lists operations: [`crate::routes`] adds every handler with
//! `utoipa_axum::routes!`, which routes it for the methods its `#[utoipa::path]` names and
//! adds that operation to the document in the same step, so a handler cannot be routed
//! without being documented. This module holds what the operations share: the document's
//! head, the two security schemes, and the problem responses, one per status.
//!
//! The document is served at `GET /api/v1/openapi.json`; Swagger UI, compiled into the
//! binary, shows it at `GET /api/docs`.

use std::collections::BTreeMap;

use utoipa::openapi::header::HeaderBuilder;
use utoipa::openapi::response::{Response, ResponseBuilder};
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{ContentBuilder, Ref, RefOr, Type};
use utoipa::{IntoResponses, Modify, OpenApi};

use crate::error::{FieldError, LineError, Problem};

/// Where the document is served.
pub const DOCUMENT_PATH: &str = "/api/v1/openapi.json";
/// Where the reference page is served.
pub const PAGE_PATH: &str = "/api/docs";

/// The document's head; the operations are added by the router.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "Apex API",
        description = "Authoritative DNS hosting: domains, records, zone files, DNSSEC, sharing, \
            keys, webhooks. Errors are RFC 9457 problem documents (`Problem`). See docs/API.md."
    ),
    servers((url = "/", description = "This server")),
    modifiers(&Shared),
    components(schemas(Problem, FieldError, LineError)),
    tags(
        (name = "auth", description = "Signing up, in and out; mailed links"),
        (name = "account", description = "One's own account, sessions and second factor"),
        (name = "keys", description = "API keys: one's own, and a domain's"),
        (name = "audit", description = "Security events"),
        (name = "admin", description = "Platform administration"),
        (name = "domains", description = "Domains, their settings, DNSSEC and changes"),
        (name = "records", description = "Records of a domain"),
        (name = "zonefiles", description = "Zone files in and out"),
        (name = "members", description = "Sharing a domain"),
        (name = "webhooks", description = "Webhooks of a domain and their deliveries"),
        (name = "tsig-keys", description = "TSIG keys of a domain, for RFC 2136 UPDATE and zone transfers"),
        (name = "catalog", description = "One's own catalog zone (RFC 9432), for one's own secondaries to follow"),
        (name = "health", description = "Liveness and readiness"),
        (name = "meta", description = "This document"),
    )
)]
pub struct ApiDoc;

/// The security schemes and the problem responses, added to the document's components.
struct Shared;

impl Modify for Shared {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            API_KEY,
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "An API key: `Authorization: Bearer apex_…` (create one with `POST /api/v1/keys`)",
                    ))
                    .build(),
            ),
        );
        components.add_security_scheme(
            SESSION,
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::with_description(
                apex_core::auth::sessions::COOKIE,
                "A signed-in dashboard session (the account endpoints only)",
            ))),
        );
        for (name, status, description) in problem::ALL {
            components.responses.insert(
                name.to_string(),
                RefOr::T(problem_response(status, description)),
            );
        }
    }
}

/// The name of the API-key security scheme (`security(("api_key" = []))`).
pub const API_KEY: &str = "api_key";
/// The name of the session-cookie security scheme.
pub const SESSION: &str = "session";

fn problem_response(status: &str, description: &str) -> Response {
    let mut response = ResponseBuilder::new().description(description).content(
        "application/problem+json",
        ContentBuilder::new()
            .schema(Some(Ref::from_schema_name("Problem")))
            .build(),
    );
    if status == "401" {
        response = response.header(
            "WWW-Authenticate",
            HeaderBuilder::new()
                .schema(utoipa::openapi::ObjectBuilder::new().schema_type(Type::String))
                .description(Some("`Bearer`, except after a failed sign-in"))
                .build(),
        );
    }
    if status == "429" || status == "503" {
        response = response.header(
            "Retry-After",
            HeaderBuilder::new()
                .schema(utoipa::openapi::ObjectBuilder::new().schema_type(Type::Integer))
                .description(Some("Seconds to wait before trying again"))
                .build(),
        );
    }
    response.build()
}

/// Declares one marker type per problem response, each usable in an operation's
/// `responses(...)` (it stands for a reference to the shared response), and their list.
macro_rules! problems {
    ($( $(#[$doc:meta])* $name:ident = $status:literal, $description:literal; )+) => {
        $(
            $(#[$doc])*
            pub struct $name;

            impl IntoResponses for $name {
                fn responses() -> BTreeMap<String, RefOr<Response>> {
                    BTreeMap::from([(
                        $status.to_string(),
                        RefOr::Ref(Ref::from_response_name(stringify!($name))),
                    )])
                }
            }
        )+

        /// Every problem response: name, status, description.
        pub(crate) const ALL: &[(&str, &str, &str)] = &[$((stringify!($name), $status, $description)),+];
    };
}

/// The problem responses, by status. An operation lists the ones it can answer, so a client
/// (and Schemathesis) knows every status to expect.
pub mod problem {
    use super::*;

    problems! {
        /// 400.
        BadRequest = "400", "Malformed request: the body is not JSON, a field is missing, unknown or of the wrong JSON type, or a query parameter is wrong (`urn:apex:problem:malformed-body`; `errors[].pointer` names the field).";
        /// 401.
        Unauthenticated = "401", "No valid credential (`urn:apex:problem:unauthenticated`), or a sign-in that did not go through (`urn:apex:problem:sign-in-failed`).";
        /// 403.
        Forbidden = "403", "Too little power: a role, a key's limits, a platform role, a quota, a request from another site (`urn:apex:problem:forbidden`).";
        /// 404.
        NotFound = "404", "No such resource, or none the caller may see (`urn:apex:problem:not-found`).";
        /// 409.
        Conflict = "409", "The resource exists already or the change conflicts with what is there (`urn:apex:problem:conflict`; `errors[].pointer` names the field), or a revert cannot be made (`urn:apex:problem:revert-refused`).";
        /// 412.
        PreconditionFailed = "412", "`If-Match` names a serial the zone has moved on from (`urn:apex:problem:precondition-failed`): read the zone again and retry.";
        /// 415.
        UnsupportedMediaType = "415", "The body is not of a media type this endpoint takes (`urn:apex:problem:unsupported-media-type`).";
        /// 422.
        Invalid = "422", "A value breaks a rule (`urn:apex:problem:invalid`, `errors[].pointer` names the field), or an imported zone file has problems (`urn:apex:problem:invalid-zone-file`, `lines[]`).";
        /// 429.
        TooManyRequests = "429", "Too many attempts (`urn:apex:problem:too-many-requests`); `Retry-After` says when to try again.";
        /// 500.
        Internal = "500", "Something went wrong on the server; it has been logged (`urn:apex:problem:internal`).";
        /// 503.
        Overloaded = "503", "The server is at its limit of requests at once (`urn:apex:problem:overloaded`); `Retry-After` says when to try again.";
    }
}

/// Every API operation may be refused by the rate limits (429, `crate::limits`) and, like
/// every request, by the server's limit of requests at once (503): both are added to every
/// operation under `/api/v1` here rather than to each annotation.
pub(crate) fn every_operation_may_be_limited(doc: &mut utoipa::openapi::OpenApi) {
    for (path, item) in doc.paths.paths.iter_mut() {
        let limited = path.starts_with("/api/v1/");
        for op in [
            &mut item.get,
            &mut item.put,
            &mut item.post,
            &mut item.delete,
            &mut item.patch,
        ]
        .into_iter()
        .flatten()
        {
            let mut add = |status: &str, name: &str| {
                op.responses
                    .responses
                    .entry(status.to_string())
                    .or_insert_with(|| RefOr::Ref(Ref::from_response_name(name)));
            };
            if limited {
                add("429", "TooManyRequests");
            }
            add("503", "Overloaded");
        }
    }
}
