//! apex-core: the platform's model and rules over Postgres.
//!
//! The API and the dashboard call the same functions here, so nothing is web-only and every
//! permission check happens in one place ([`authz`]). Every multi-step write is one
//! transaction; after it commits, [`queue`] wakes the workers through Redis, and if Redis is
//! down the reconciler finds the zone anyway because Postgres holds the intent
//! (`domains.wanted_serial`).
//!
//! The worker's queries live here too, next to the data they touch: the mail outbox
//! ([`mail::outbox`]), webhook deliveries ([`webhooks::delivery`]), the reconciler's scan of
//! zones behind ([`jobs::behind`]), and both sides of the Redis stream protocol ([`queue`]).

pub mod account_catalogs;
pub mod actor;
pub mod address;
pub mod audit;
pub mod auth;
pub mod authz;
pub mod catalog;
pub mod change_action;
pub mod changes;
pub mod config;
pub mod db;
pub mod dns_update;
pub mod dnssec;
pub mod domain;
pub mod domains;
pub mod error;
pub mod fleet;
pub mod idempotency;
pub mod ids;
pub mod invitations;
pub mod jobs;
pub mod mail;
pub mod members;
pub mod page;
pub mod publishing;
pub mod queue;
pub mod quotas;
pub mod ratelimit;
pub mod records;
pub mod rekey;
pub mod revert;
pub mod rrsets;
pub mod sealing;
pub mod secondaries;
pub mod settings;
pub mod stages;
pub mod templates;
pub mod tsig_keys;
pub mod users;
pub mod versions;
pub mod webhooks;
pub mod zonefiles;

pub use error::CoreError;

use std::sync::Arc;

use sqlx::PgPool;

impl Core {
    /// When and from where something happens, for a mailed notice about it.
    pub fn occasion(&self, from: Option<std::net::IpAddr>) -> mail::Occasion<'_> {
        mail::Occasion::now(&self.platform.accounts.public_url, from)
    }
}

/// What every operation needs: the database, the queue and the platform's zone settings.
#[derive(Clone)]
pub struct Core {
    /// Postgres.
    pub pool: PgPool,
    /// Worker wake-ups.
    pub queue: queue::Queue,
    /// SOA, NS, TTL bounds, catalog name.
    pub platform: Arc<config::Platform>,
}
