//! Acting as a user, for support: apex-core decides who may (`users::admin::impersonate`);
//! the dashboard starts a session of the user's with the administrator recorded as its
//! impersonator, and keeps the administrator's own session in a second cookie until they
//! stop.

use apex_core::audit::Event;
use apex_core::auth::sessions;
use apex_core::ids::UserId;
use apex_core::users::admin;
use apex_core::{Core, CoreError};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::CookieJar;
use serde::Deserialize;

use crate::page::{Failure, Notice, failure_page};
use crate::request::{ClientInfo, Empty, Posted};
use crate::session::Viewer;
use crate::session::set_cookie;

/// The administrator's own session while they act as someone else.
pub(crate) const ADMIN_COOKIE: &str = "apex_admin_session";

/// The user's address (what apex-core looks them up by).
#[derive(Deserialize)]
pub(crate) struct StartForm {
    #[serde(default)]
    email: String,
}

/// `POST /admin/users/{id}/impersonate`: the administrator's browser becomes the user's, the
/// banner on every page saying so.
pub(crate) async fn start(
    State(core): State<Core>,
    viewer: Viewer,
    ClientInfo(client): ClientInfo,
    headers: HeaderMap,
    Path(id): Path<i64>,
    Posted(form): Posted<StartForm>,
) -> Response {
    let chrome = viewer.chrome.at("admin");
    if viewer.actor.impersonator.is_some() {
        return Notice::failed(
            "Already impersonating",
            "You are acting as someone else already. Stop impersonating first.",
        )
        .within(&chrome)
        .with(StatusCode::CONFLICT);
    }
    let acting = match admin::impersonate(&core, &viewer.actor, &form.email).await {
        Ok(a) => a,
        Err(e) => {
            Event::new("impersonation.refused", false)
                .actor(&viewer.actor)
                .subject(None, form.email.clone())
                .detail(serde_json::json!({"via": "dashboard", "reason": e.to_string()}))
                .record_quietly(&core.pool)
                .await;
            return failure_page(Failure::from(e), chrome);
        }
    };
    let (Some(target), Ok(me)) = (acting.user_id, viewer.actor.user()) else {
        return failure_page(
            Failure::from(CoreError::Internal("no user to act as".into())),
            chrome,
        );
    };
    if target != UserId(id) {
        return failure_page(
            Failure::from(CoreError::NotFound {
                what: "user",
                name: id.to_string(),
            }),
            chrome,
        );
    }
    let Some(own) = CookieJar::from_headers(&headers)
        .get(sessions::COOKIE)
        .map(|c| c.value().to_string())
    else {
        return failure_page(Failure::from(CoreError::Unauthenticated), chrome);
    };
    let started = async {
        let mut tx = core.pool.begin().await?;
        let session = sessions::create(&mut *tx, &core, target, false, Some(me), &client).await?;
        Event::new("impersonation.started", true)
            .actor(&viewer.actor)
            .subject(Some(target), acting.email.clone().unwrap_or_default())
            .detail(serde_json::json!({"via": "dashboard", "session_id": session.id}))
            .record(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok::<_, CoreError>(session)
    }
    .await;
    let session = match started {
        Ok(s) => s,
        Err(e) => return failure_page(Failure::from(e), chrome),
    };
    let mut response = Redirect::to("/domains").into_response();
    set_cookie(
        &core,
        &mut response,
        sessions::COOKIE,
        &session.token,
        session.expires_at - chrono::Utc::now(),
    );
    set_cookie(
        &core,
        &mut response,
        ADMIN_COOKIE,
        &own,
        core.platform.accounts.session_max,
    );
    response
}

/// `POST /admin/stop-impersonating` (the banner's button): ends the impersonation session
/// and gives the administrator their own back.
pub(crate) async fn stop(
    State(core): State<Core>,
    viewer: Viewer,
    ClientInfo(client): ClientInfo,
    headers: HeaderMap,
    Posted(_): Posted<Empty>,
) -> Response {
    let Some(impersonator) = viewer.actor.impersonator.clone() else {
        return Notice::failed("Not impersonating", "You are acting as yourself already.")
            .within(&viewer.chrome)
            .then("/domains", "Your domains")
            .with(StatusCode::CONFLICT);
    };
    if let Err(e) = sessions::sign_out(&core, &viewer.actor).await {
        return failure_page(Failure::from(e), viewer.chrome);
    }
    // The administrator's session, if it is still theirs and still open.
    let own = CookieJar::from_headers(&headers)
        .get(ADMIN_COOKIE)
        .map(|c| c.value().to_string());
    let admin = match &own {
        Some(token) => sessions::authenticate(&core, token, &client)
            .await
            .ok()
            .filter(|a| a.user_id == Some(impersonator.user_id) && a.impersonator.is_none()),
        None => None,
    };
    let mut response = match (&admin, own) {
        (Some(admin), Some(token)) => {
            Event::new("impersonation.ended", true)
                .actor(admin)
                .subject(
                    viewer.actor.user_id,
                    viewer.actor.email.clone().unwrap_or_default(),
                )
                .detail(serde_json::json!({"via": "dashboard"}))
                .record_quietly(&core.pool)
                .await;
            let to = match viewer.actor.user_id {
                Some(u) => format!("/admin/users/{u}?done=impersonation"),
                None => "/admin".into(),
            };
            let mut r = Redirect::to(&to).into_response();
            set_cookie(
                &core,
                &mut r,
                sessions::COOKIE,
                &token,
                core.platform.accounts.session_max,
            );
            r
        }
        _ => {
            let mut r = Notice::ok(
                "Impersonation ended",
                "The impersonation session is ended. Your own session has ended too: sign in again.",
            )
            .then("/login", "Sign in")
            .with(StatusCode::OK);
            set_cookie(
                &core,
                &mut r,
                sessions::COOKIE,
                "",
                chrono::TimeDelta::zero(),
            );
            r
        }
    };
    set_cookie(
        &core,
        &mut response,
        ADMIN_COOKIE,
        "",
        chrono::TimeDelta::zero(),
    );
    response
}
