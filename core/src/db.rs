//! Connecting to Postgres and applying migrations.

use std::time::Duration;

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
