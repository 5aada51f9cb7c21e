//! Typed ids, so a record id can never be passed where a domain id is meant.

use serde::{Deserialize, Serialize};

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, sqlx::Type, utoipa::ToSchema)]
        #[sqlx(transparent)]
        #[serde(transparent)]
        pub struct $name(pub i64);

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                write!(f, "{}", self.0)
            }
        }
    };
}

id_type!(
    /// A user account.
    UserId
);
id_type!(
    /// An API key.
    ApiKeyId
);
id_type!(
    /// A hosted domain (zone).
    DomainId
);
id_type!(
    /// A record.
    RecordId
);
id_type!(
    /// A change in the audit trail.
    ChangeId
);
id_type!(
    /// A webhook of a domain.
    WebhookId
);
id_type!(
    /// One message to one webhook, with its retries.
    DeliveryId
);
id_type!(
    /// A TSIG key of a domain.
    TsigKeyId
);
id_type!(
    /// A dashboard session.
    SessionId
);
id_type!(
    /// An invitation to a domain or to the platform.
    InvitationId
);
id_type!(
    /// A security event in the audit log.
    AuditId
);
id_type!(
    /// One mail in the outbox.
    MailId
);
