//! The signed-in user's own account: the profile, the password, the second factor, the
//! sessions and the API keys.
//!
//! | page                          | GET                               | POST                        |
//! |-------------------------------|-----------------------------------|-----------------------------|
//! | `/account`                    | profile, links to the sections    | –                           |
//! | `/account/password`           | the form                          | change it                   |
//! | `/account/2fa`                | status, and what can be done      | –                           |
//! | `/account/2fa/start`          | –                                 | QR code, secret, code field |
//! | `/account/2fa/confirm`        | –                                 | turn on, recovery codes     |
//! | `/account/2fa/disable`        | –                                 | turn off                    |
//! | `/account/2fa/codes`          | –                                 | new recovery codes          |
//! | `/account/sessions`           | the live sessions                 | –                           |
//! | `/account/sessions/{id}/revoke` | –                               | end one                     |
//! | `/account/sessions/end-all`   | –                                 | sign out everywhere         |
//! | `/account/keys`               | the keys and their limits         | create (from `/new`)        |
//! | `/account/keys/new`           | the form                          | –                           |
//! | `/account/keys/{id}`          | the form, filled                  | change name and limits      |
//! | `/account/keys/{id}/revoke`   | –                                 | confirm, then revoke        |
//! | `/account/delete`             | password (and code) form          | delete the account          |
//! | `/account/activity`           | the account's audit events        | –                           |
//!
//! A user the platform requires a second factor of, without one yet, is sent to
//! `/account/2fa` by [`Viewer`](crate::session::Viewer): those pages work for them.

mod activity;
mod delete;
pub(crate) mod keys;
mod overview;
mod password;
mod sessions;
mod twofa;

use apex_core::Core;
use axum::Router;
use axum::routing::{get, post};

/// The account routes.
pub(crate) fn routes() -> Router<Core> {
    Router::new()
        .route("/account", get(overview::show))
        .route(
            "/account/password",
            get(password::show).post(password::change),
        )
        .route("/account/2fa", get(twofa::show))
        .route("/account/2fa/start", post(twofa::start))
        .route("/account/2fa/confirm", post(twofa::confirm))
        .route("/account/2fa/disable", post(twofa::disable))
        .route("/account/2fa/codes", post(twofa::regenerate))
        .route("/account/sessions", get(sessions::show))
        .route("/account/sessions/{id}/revoke", post(sessions::revoke))
        .route("/account/sessions/end-all", post(sessions::end_all))
        .route("/account/keys", get(keys::show).post(keys::create))
        .route("/account/keys/new", get(keys::new))
        .route("/account/keys/{id}", get(keys::edit).post(keys::update))
        .route("/account/keys/{id}/revoke", post(keys::revoke))
        .route("/account/delete", get(delete::show).post(delete::delete))
        .route("/account/activity", get(activity::show))
}
