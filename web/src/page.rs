//! Rendering pages in their frame ([`Chrome`]: navigation, the impersonation banner, the CSRF
//! token of their forms), and turning apex-core's errors into words next to the right field.

use apex_core::CoreError;
use askama::Template;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};

/// The signed-in user as the frame shows them.
#[derive(Clone)]
pub(crate) struct UserBar {
    /// Their address.
    pub email: String,
    /// Whether the Administration link is shown (any platform role).
    pub admin: bool,
    /// The administrator acting as them, shown in a banner on every page.
    pub impersonator: Option<String>,
}

/// What `base.html` needs: the CSRF token for the page's forms, who is signed in, and which
/// section of the navigation is current.
#[derive(Clone, Default)]
pub(crate) struct Chrome {
    /// This browser's CSRF token.
    pub csrf: String,
    /// Signed in as.
    pub user: Option<UserBar>,
    /// `domains`, `account`, `admin`: marked current in the navigation.
    pub section: &'static str,
}

impl Chrome {
    /// The frame for someone not signed in.
    pub(crate) fn anonymous(csrf: String) -> Self {
        Self {
            csrf,
            user: None,
            section: "",
        }
    }

    /// The same frame with `section` current.
    pub(crate) fn at(&self, section: &'static str) -> Self {
        let mut c = self.clone();
        c.section = section;
        c
    }

    /// Whether `section` is current (for `aria-current`).
    pub(crate) fn current(&self, section: &str) -> bool {
        self.section == section
    }
}

/// `page` as HTML with `status`; a template that fails to render (it cannot, short of a
/// bug) is logged and answered with a bare 500.
pub(crate) fn render(status: StatusCode, page: &impl Template) -> Response {
    match page.render() {
        Ok(html) => (status, Html(html)).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "a page did not render");
            (StatusCode::INTERNAL_SERVER_ERROR, "internal error").into_response()
        }
    }
}

/// A moment as the pages show it.
pub(crate) fn when(at: &chrono::DateTime<chrono::Utc>) -> String {
    at.format("%Y-%m-%d %H:%M UTC").to_string()
}

/// An optional moment, `–` when none.
pub(crate) fn when_opt(at: Option<&chrono::DateTime<chrono::Utc>>) -> String {
    at.map_or_else(|| "–".into(), when)
}

/// A query string of the non-empty `pairs`.
pub(crate) fn query(pairs: &[(&str, &str)]) -> String {
    let mut s = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        if !v.is_empty() {
            s.append_pair(k, v);
        }
    }
    s.finish()
}

/// `value` (a domain name, a job id) as one segment of a path.
pub(crate) fn path_segment(value: &str) -> String {
    url::form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

/// A link to go on with after a notice.
pub(crate) struct Next {
    /// Where.
    pub href: String,
    /// Its text.
    pub label: &'static str,
}

/// A page that only tells what happened: a success, or why nothing did.
#[derive(Template)]
#[template(path = "notice.html")]
pub(crate) struct Notice {
    chrome: Chrome,
    title: String,
    message: String,
    ok: bool,
    next: Option<Next>,
}

impl Notice {
    /// Something worked.
    pub(crate) fn ok(title: &str, message: impl Into<String>) -> Self {
        Self {
            chrome: Chrome::default(),
            title: title.into(),
            message: message.into(),
            ok: true,
            next: None,
        }
    }

    /// Something did not.
    pub(crate) fn failed(title: &str, message: impl Into<String>) -> Self {
        Self {
            chrome: Chrome::default(),
            title: title.into(),
            message: message.into(),
            ok: false,
            next: None,
        }
    }

    /// With a link to go on.
    pub(crate) fn then(mut self, href: impl Into<String>, label: &'static str) -> Self {
        self.next = Some(Next {
            href: href.into(),
            label,
        });
        self
    }

    /// Shown in a signed-in user's frame.
    pub(crate) fn within(mut self, chrome: &Chrome) -> Self {
        self.chrome = chrome.clone();
        self
    }

    /// Rendered with `status`.
    pub(crate) fn with(self, status: StatusCode) -> Response {
        render(status, &self)
    }
}

/// A page for an apex-core error that leaves nothing to show (not found, forbidden …).
pub(crate) fn failure_page(failure: Failure, chrome: Chrome) -> Response {
    let title = match failure.status {
        StatusCode::NOT_FOUND => "Not found",
        StatusCode::FORBIDDEN => "Not allowed",
        StatusCode::TOO_MANY_REQUESTS => "Too many attempts",
        s if s.is_server_error() => "Something went wrong",
        _ => "That did not work",
    };
    let message = failure.sentence("It");
    Notice::failed(title, message)
        .within(&chrome)
        .with(failure.status)
}

/// One problem with a submitted form.
#[derive(Debug)]
pub(crate) struct Problem {
    /// The `id` of the input it is about; none: the form as a whole.
    pub field: Option<&'static str>,
    /// A sentence.
    pub text: String,
}

/// What is wrong with a submitted form, shown at the top (for screen readers, linked to the
/// fields) and next to each field.
#[derive(Debug, Default)]
pub(crate) struct Errors(Vec<Problem>);

impl Errors {
    /// Just one problem.
    pub(crate) fn one(field: Option<&'static str>, text: impl Into<String>) -> Self {
        Self(vec![Problem {
            field,
            text: text.into(),
        }])
    }

    /// Adds a problem.
    pub(crate) fn push(&mut self, field: Option<&'static str>, text: impl Into<String>) {
        self.0.push(Problem {
            field,
            text: text.into(),
        });
    }

    /// The problem with the input `id`, if any.
    pub(crate) fn field(&self, id: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|p| p.field == Some(id))
            .map(|p| p.text.as_str())
    }

    /// `aria-describedby` and `aria-invalid` for input `id` of the form: its hint
    /// (`{id}-hint`) when `hint`, its error (`{id}-error`) when it has one.
    pub(crate) fn described(&self, id: &str, hint: bool) -> String {
        let mut ids = Vec::new();
        if hint {
            ids.push(format!("{id}-hint"));
        }
        let bad = self.field(id).is_some();
        if bad {
            ids.push(format!("{id}-error"));
        }
        let mut out = String::new();
        if !ids.is_empty() {
            out.push_str(&format!(" aria-describedby=\"{}\"", ids.join(" ")));
        }
        if bad {
            out.push_str(" aria-invalid=\"true\"");
        }
        out
    }

    /// Every problem, in order.
    pub(crate) fn all(&self) -> &[Problem] {
        &self.0
    }

    /// No problem.
    pub(crate) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// An apex-core error as a page shows it: the status to answer with, the field it is about
/// (apex-core's name: `password`, `token` …) and a sentence.
pub(crate) struct Failure {
    /// The HTTP status.
    pub status: StatusCode,
    /// apex-core's field, for `Invalid` and `Conflict`.
    pub field: Option<String>,
    /// What went wrong, in words (a generic one for internal errors).
    pub message: String,
}

impl Failure {
    /// The message as a sentence about the input labelled `label`.
    pub(crate) fn sentence(&self, label: &str) -> String {
        sentence(label, &self.message)
    }
}

impl From<CoreError> for Failure {
    fn from(e: CoreError) -> Self {
        let (status, field, message) = match e {
            CoreError::Invalid { field, message } => {
                (StatusCode::UNPROCESSABLE_ENTITY, Some(field), message)
            }
            CoreError::Conflict { field, message } => (StatusCode::CONFLICT, Some(field), message),
            CoreError::Forbidden(message) => (StatusCode::FORBIDDEN, None, message),
            e @ CoreError::QuotaExceeded { .. } => (StatusCode::FORBIDDEN, None, e.to_string()),
            CoreError::Unauthenticated => (
                StatusCode::UNAUTHORIZED,
                None,
                "you need to sign in for this".into(),
            ),
            e @ CoreError::NotFound { .. } => (StatusCode::NOT_FOUND, None, e.to_string()),
            e @ CoreError::Throttled(_) => (StatusCode::TOO_MANY_REQUESTS, None, e.to_string()),
            CoreError::Busy { detail, .. } => (StatusCode::TOO_MANY_REQUESTS, None, detail),
            e @ CoreError::PreconditionFailed { .. } => {
                (StatusCode::PRECONDITION_FAILED, None, e.to_string())
            }
            CoreError::RevertRefused(message) => (StatusCode::CONFLICT, None, message),
            e @ CoreError::ZoneFile(_) => (StatusCode::UNPROCESSABLE_ENTITY, None, e.to_string()),
            e @ (CoreError::Database(_) | CoreError::Internal(_)) => {
                let mut chain = e.to_string();
                let mut source = std::error::Error::source(&e);
                while let Some(s) = source {
                    chain.push_str(": ");
                    chain.push_str(&s.to_string());
                    source = s.source();
                }
                tracing::error!(error = %chain, "page request failed");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    None,
                    "something went wrong on our side; please try again in a moment".into(),
                )
            }
        };
        Self {
            status,
            field,
            message,
        }
    }
}

/// apex-core's messages are either a predicate for the field's name (`is required`, `does not
/// match …`) or a clause of their own (`the password must be …`); either way, a sentence to
/// show.
pub(crate) fn sentence(label: &str, message: &str) -> String {
    let message = message.trim();
    let mut text = if ["is ", "are ", "must ", "does "]
        .iter()
        .any(|p| message.starts_with(p))
    {
        format!("{label} {message}")
    } else {
        let mut chars = message.chars();
        chars.next().map_or_else(String::new, |first| {
            first.to_uppercase().chain(chars).collect()
        })
    };
    if !text.ends_with(['.', '!', '?']) {
        text.push('.');
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn described_names_the_hint_and_the_error() {
        let none = Errors::default();
        assert_eq!(none.described("code", false), "");
        assert_eq!(
            none.described("code", true),
            " aria-describedby=\"code-hint\""
        );
        let bad = Errors::one(Some("code"), "Wrong.");
        assert_eq!(
            bad.described("code", true),
            " aria-describedby=\"code-hint code-error\" aria-invalid=\"true\""
        );
    }

    #[test]
    fn sentences() {
        assert_eq!(
            sentence("E-mail address", "is required"),
            "E-mail address is required."
        );
        assert_eq!(
            sentence(
                "Password",
                "the password must be at least 10 characters long"
            ),
            "The password must be at least 10 characters long."
        );
        assert_eq!(sentence("Password", "Done."), "Done.");
        assert_eq!(
            sentence("The code", "does not match the secret"),
            "The code does not match the secret."
        );
    }
}
