//! Connecting to Postgres, applying migrations, and the conversions of plain column values
//! (serials, serial policies).

use std::time::Duration;

use apex_zone::serial::SerialPolicy;
use sqlx::PgPool;
use sqlx::postgres::PgPoolOptions;

/// The migrations under `migrations/`, embedded in the binary.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../migrations");

/// Opens a connection pool.
pub async fn connect(url: &str) -> Result<PgPool, sqlx::Error> {
    PgPoolOptions::new()
        .max_connections(20)
        .acquire_timeout(Duration::from_secs(5))
        .connect(url)
        .await
}

/// Applies pending migrations.
pub async fn migrate(pool: &PgPool) -> Result<(), sqlx::migrate::MigrateError> {
    MIGRATOR.run(pool).await
}

/// Converts a 32-bit serial to its database column type.
pub fn serial_to_db(serial: u32) -> i64 {
    i64::from(serial)
}

/// Converts a serial column back; the schema's CHECK keeps it in range.
pub fn serial_from_db(serial: i64) -> u32 {
    u32::try_from(serial).unwrap_or_default()
}

/// As stored in `domains.serial_policy`.
pub fn policy_name(p: SerialPolicy) -> &'static str {
    match p {
        SerialPolicy::DateCounter => "date",
        SerialPolicy::UnixTime => "unixtime",
    }
}

/// From `domains.serial_policy` (the column's CHECK allows only the two).
pub fn policy_from_db(s: &str) -> SerialPolicy {
    if s == "unixtime" {
        SerialPolicy::UnixTime
    } else {
        SerialPolicy::DateCounter
    }
}
