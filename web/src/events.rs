//! Audit events as the pages show them: the account's own (`/account/activity`) and
//! everyone's (`/admin/audit`), in one table (`audit_table.html`).

use apex_core::audit::AuditView;

/// One event, every field in words (a dash for none).
pub(crate) struct EventRow {
    pub at: String,
    pub event: String,
    pub success: bool,
    pub actor: String,
    pub impersonator: Option<String>,
    pub subject: String,
    pub domain: String,
    pub source_ip: String,
    pub credential: String,
    pub detail: String,
}

impl From<AuditView> for EventRow {
    fn from(e: AuditView) -> Self {
        let dash = || "–".to_string();
        Self {
            at: e.at.format("%Y-%m-%d %H:%M:%S UTC").to_string(),
            event: e.event,
            success: e.success,
            actor: e.actor.unwrap_or_else(dash),
            impersonator: e.impersonator,
            subject: e.subject.unwrap_or_else(dash),
            domain: e.domain.unwrap_or_else(dash),
            source_ip: e.source_ip.unwrap_or_else(dash),
            credential: e.credential.unwrap_or_else(dash),
            detail: match &e.detail {
                serde_json::Value::Object(m) if m.is_empty() => String::new(),
                d => d.to_string(),
            },
        }
    }
}
