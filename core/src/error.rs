//! The error of every apex-core operation. HTTP crates map it to problem responses.

/// What went wrong, in terms a caller can act on.
#[derive(Debug, thiserror::Error)]
pub enum CoreError {
    /// No credentials, or credentials that do not match.
    #[error("authentication required")]
    Unauthenticated,
    /// Authenticated, but not allowed to do this.
    #[error("{0}")]
    Forbidden(String),
    /// The thing does not exist, or the actor may not know it does.
    #[error("{what} {name} not found")]
    NotFound {
        /// What kind of thing.
        what: &'static str,
        /// Which.
        name: String,
    },
    /// Bad input: which field, and what is wrong with it.
    #[error("{field}: {message}")]
    Invalid {
        /// The field, as a JSON path (`content`, `name`).
        field: String,
        /// What is wrong.
        message: String,
    },
    /// The input clashes with what exists (duplicate domain, duplicate record).
    #[error("{field}: {message}")]
    Conflict {
        /// The field.
        field: String,
        /// What clashes.
        message: String,
    },
    /// A quota of the account would be exceeded.
    #[error("{detail}")]
    QuotaExceeded {
        /// Which limit (`records_per_domain`, `webhooks_per_domain`).
        limit: &'static str,
        /// The counts and the limit, in a sentence.
        detail: String,
    },
    /// A zone file with problems, each at its line and column.
    #[error("the zone file has {} problem(s)", .0.len())]
    ZoneFile(Vec<LineProblem>),
    /// Too much of one kind of work is running (imports, at once): try again after this long.
    #[error("{detail}")]
    Busy {
        /// What is running, and the limit.
        detail: String,
        /// When to try again.
        retry_after: std::time::Duration,
    },
    /// Too many failed attempts (passwords, codes): try again after this long.
    #[error("too many failed attempts: try again in {} seconds", .0.as_secs().max(1))]
    Throttled(std::time::Duration),
    /// A write said which zone serial it was made against (`If-Match`), and the zone has
    /// moved on since.
    #[error("the zone is at serial {current}, not {expected}: read it again and retry")]
    PreconditionFailed {
        /// The serial the write was made against.
        expected: u32,
        /// The zone's serial now.
        current: u32,
    },
    /// A revert that cannot be done as asked: what stands in the way, in a sentence.
    #[error("{0}")]
    RevertRefused(String),
    /// The database failed.
    #[error("database error")]
    Database(#[from] sqlx::Error),
    /// Anything else internal.
    #[error("internal error: {0}")]
    Internal(String),
}

impl CoreError {
    /// Bad input in `field`.
    pub fn invalid(field: impl Into<String>, message: impl ToString) -> Self {
        Self::Invalid {
            field: field.into(),
            message: message.to_string(),
        }
    }

    /// A clash in `field`.
    pub fn conflict(field: impl Into<String>, message: impl ToString) -> Self {
        Self::Conflict {
            field: field.into(),
            message: message.to_string(),
        }
    }

    /// Maps a unique violation of `constraint` to a conflict on `field`, anything else to a
    /// database error.
    pub fn on_constraint(
        e: sqlx::Error,
        constraint: &str,
        field: &str,
        message: impl ToString,
    ) -> Self {
        match &e {
            sqlx::Error::Database(db) if db.constraint() == Some(constraint) => {
                Self::conflict(field, message)
            }
            _ => Self::Database(e),
        }
    }
}

/// A problem at a place in a zone file.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct LineProblem {
    /// 1-based line (0: the file as a whole).
    pub line: u32,
    /// 1-based column (1 for rules between records).
    pub column: u32,
    /// What is wrong.
    pub message: String,
}

impl From<apex_zone::presentation::SyntaxError> for LineProblem {
    fn from(e: apex_zone::presentation::SyntaxError) -> Self {
        Self {
            line: e.line,
            column: e.column,
            message: e.message,
        }
    }
}

impl From<apex_zone::validate::Problem> for LineProblem {
    fn from(p: apex_zone::validate::Problem) -> Self {
        Self {
            line: p.line,
            column: 1,
            message: p.message,
        }
    }
}
